//! Child workflows (start, result, parent close policy) and signals and cancellation requests
//! to other workflows. The command writes an "initiated" event; a transfer task, run after the
//! commit and outside any lock, acts on the other execution and records the outcome back.

// `namespace` and `control` are deprecated in the API but SDKs still send them; the server honours
// them as the official one does.
#![allow(deprecated)]

use super::lifecycle::{Origin, StartRequest};
use super::state::{Child, External, MutableState, ParentInfo, normal_queue};
use super::{Engine, errors};
use crate::store::{RunKey, TaskRecord, TransferKind};
use reprise::api::temporal::api::command::v1 as cmd;
use reprise::api::temporal::api::common::v1::{Header, Payloads, WorkflowExecution};
use reprise::api::temporal::api::enums::v1::{
    CancelExternalWorkflowExecutionFailedCause as CancelCause, EventType, ParentClosePolicy,
    SignalExternalWorkflowExecutionFailedCause as SignalCause,
    StartChildWorkflowExecutionFailedCause as StartCause,
};
use reprise::api::temporal::api::history::v1::{self as hist, history_event::Attributes};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use tonic::Status;

impl MutableState {
    /// `StartChildWorkflowExecution`.
    pub(crate) fn initiate_child(
        &mut self,
        completed_id: i64,
        a: &cmd::StartChildWorkflowExecutionCommandAttributes,
    ) {
        let namespace = if a.namespace.is_empty() {
            self.key.namespace.clone()
        } else {
            a.namespace.clone()
        };
        let task_queue = a
            .task_queue
            .as_ref()
            .map(|t| t.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.task_queue.clone());
        let id = self.append(
            EventType::StartChildWorkflowExecutionInitiated,
            Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(
                hist::StartChildWorkflowExecutionInitiatedEventAttributes {
                    namespace: namespace.clone(),
                    workflow_id: a.workflow_id.clone(),
                    workflow_type: a.workflow_type.clone(),
                    task_queue: Some(normal_queue(&task_queue)),
                    input: a.input.clone(),
                    workflow_execution_timeout: a.workflow_execution_timeout,
                    workflow_run_timeout: a.workflow_run_timeout,
                    workflow_task_timeout: a.workflow_task_timeout,
                    parent_close_policy: a.parent_close_policy,
                    control: a.control.clone(),
                    workflow_task_completed_event_id: completed_id,
                    workflow_id_reuse_policy: a.workflow_id_reuse_policy,
                    retry_policy: a.retry_policy.clone(),
                    cron_schedule: a.cron_schedule.clone(),
                    header: a.header.clone(),
                    memo: a.memo.clone(),
                    search_attributes: a.search_attributes.clone(),
                    priority: a.priority.clone(),
                    ..Default::default()
                },
            ),
        );
        let request = ws::StartWorkflowExecutionRequest {
            namespace,
            workflow_id: a.workflow_id.clone(),
            workflow_type: a.workflow_type.clone(),
            task_queue: Some(normal_queue(&task_queue)),
            input: a.input.clone(),
            workflow_execution_timeout: a.workflow_execution_timeout,
            workflow_run_timeout: a.workflow_run_timeout,
            workflow_task_timeout: a.workflow_task_timeout,
            identity: String::new(),
            request_id: format!("{}:{}:{id}", self.key.run_id, self.key.workflow_id),
            workflow_id_reuse_policy: a.workflow_id_reuse_policy,
            retry_policy: a.retry_policy.clone(),
            cron_schedule: a.cron_schedule.clone(),
            memo: a.memo.clone(),
            search_attributes: a.search_attributes.clone(),
            header: a.header.clone(),
            priority: a.priority.clone(),
            ..Default::default()
        };
        self.children.insert(
            id,
            Child {
                request,
                parent_close_policy: a.parent_close_policy,
                control: a.control.clone(),
                completed_event_id: completed_id,
                started: None,
            },
        );
        self.new_tasks.push(TaskRecord::Transfer {
            kind: TransferKind::StartChild {
                initiated_event_id: id,
            },
        });
    }

    /// `SignalExternalWorkflowExecution`.
    pub(crate) fn initiate_signal(
        &mut self,
        completed_id: i64,
        a: &cmd::SignalExternalWorkflowExecutionCommandAttributes,
    ) {
        let namespace = if a.namespace.is_empty() {
            self.key.namespace.clone()
        } else {
            a.namespace.clone()
        };
        let execution = a.execution.clone().unwrap_or_default();
        let id = self.append(
            EventType::SignalExternalWorkflowExecutionInitiated,
            Attributes::SignalExternalWorkflowExecutionInitiatedEventAttributes(
                hist::SignalExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_task_completed_event_id: completed_id,
                    namespace: namespace.clone(),
                    workflow_execution: Some(execution.clone()),
                    signal_name: a.signal_name.clone(),
                    input: a.input.clone(),
                    control: a.control.clone(),
                    child_workflow_only: a.child_workflow_only,
                    header: a.header.clone(),
                    ..Default::default()
                },
            ),
        );
        self.externals.insert(
            id,
            External {
                namespace,
                execution,
                control: a.control.clone(),
                completed_event_id: completed_id,
                signal: Some((a.signal_name.clone(), a.input.clone(), a.header.clone())),
                reason: String::new(),
            },
        );
        self.new_tasks.push(TaskRecord::Transfer {
            kind: TransferKind::SignalExternal {
                initiated_event_id: id,
            },
        });
    }

    /// `RequestCancelExternalWorkflowExecution`.
    pub(crate) fn initiate_cancel(
        &mut self,
        completed_id: i64,
        a: &cmd::RequestCancelExternalWorkflowExecutionCommandAttributes,
    ) {
        let namespace = if a.namespace.is_empty() {
            self.key.namespace.clone()
        } else {
            a.namespace.clone()
        };
        let execution = WorkflowExecution {
            workflow_id: a.workflow_id.clone(),
            run_id: a.run_id.clone(),
        };
        let id = self.append(
            EventType::RequestCancelExternalWorkflowExecutionInitiated,
            Attributes::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
                hist::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_task_completed_event_id: completed_id,
                    namespace: namespace.clone(),
                    workflow_execution: Some(execution.clone()),
                    control: a.control.clone(),
                    child_workflow_only: a.child_workflow_only,
                    reason: a.reason.clone(),
                    ..Default::default()
                },
            ),
        );
        self.externals.insert(
            id,
            External {
                namespace,
                execution,
                control: a.control.clone(),
                completed_event_id: completed_id,
                signal: None,
                reason: a.reason.clone(),
            },
        );
        self.new_tasks.push(TaskRecord::Transfer {
            kind: TransferKind::CancelExternal {
                initiated_event_id: id,
            },
        });
    }

    /// Transfers owed when the run closes.
    pub(crate) fn close_transfers(&mut self) {
        // A run that continues (as new, or as a retry) reports when its chain ends.
        if self.parent.is_some()
            && self.continued_as_new_to.is_none()
            && self.status
                != reprise::api::temporal::api::enums::v1::WorkflowExecutionStatus::ContinuedAsNew
        {
            self.new_tasks.push(TaskRecord::Transfer {
                kind: TransferKind::NotifyParent,
            });
        }
        if !self.children.is_empty() {
            self.new_tasks.push(TaskRecord::Transfer {
                kind: TransferKind::ParentClosePolicy,
            });
        }
    }

    /// Records a child's close event (from the child's history) in this parent.
    fn child_closed(&mut self, initiated_event_id: i64, close: Option<Attributes>) {
        let Some(child) = self.children.remove(&initiated_event_id) else {
            return;
        };
        let Some((run_id, started_event_id)) = child.started else {
            return;
        };
        let namespace = child.request.namespace.clone();
        let workflow_execution = Some(WorkflowExecution {
            workflow_id: child.request.workflow_id.clone(),
            run_id,
        });
        let workflow_type = child.request.workflow_type.clone();
        let event = match close {
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => (
                EventType::ChildWorkflowExecutionCompleted,
                Attributes::ChildWorkflowExecutionCompletedEventAttributes(
                    hist::ChildWorkflowExecutionCompletedEventAttributes {
                        result: a.result,
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                ),
            ),
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => (
                EventType::ChildWorkflowExecutionFailed,
                Attributes::ChildWorkflowExecutionFailedEventAttributes(
                    hist::ChildWorkflowExecutionFailedEventAttributes {
                        failure: a.failure,
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        retry_state: a.retry_state,
                        ..Default::default()
                    },
                ),
            ),
            Some(Attributes::WorkflowExecutionCanceledEventAttributes(a)) => (
                EventType::ChildWorkflowExecutionCanceled,
                Attributes::ChildWorkflowExecutionCanceledEventAttributes(
                    hist::ChildWorkflowExecutionCanceledEventAttributes {
                        details: a.details,
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                ),
            ),
            Some(Attributes::WorkflowExecutionTimedOutEventAttributes(a)) => (
                EventType::ChildWorkflowExecutionTimedOut,
                Attributes::ChildWorkflowExecutionTimedOutEventAttributes(
                    hist::ChildWorkflowExecutionTimedOutEventAttributes {
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        retry_state: a.retry_state,
                        ..Default::default()
                    },
                ),
            ),
            _ => (
                EventType::ChildWorkflowExecutionTerminated,
                Attributes::ChildWorkflowExecutionTerminatedEventAttributes(
                    hist::ChildWorkflowExecutionTerminatedEventAttributes {
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                ),
            ),
        };
        self.append_external(event.0, event.1);
    }
}

impl Engine {
    /// Runs one transfer task.
    pub(crate) fn process_transfer(&self, run: RunKey, kind: TransferKind) {
        let result = match kind {
            TransferKind::StartChild { initiated_event_id } => {
                self.start_child(&run, initiated_event_id)
            }
            TransferKind::SignalExternal { initiated_event_id }
            | TransferKind::CancelExternal { initiated_event_id } => {
                self.deliver_external(&run, initiated_event_id)
            }
            TransferKind::NotifyParent => self.notify_parent(&run),
            TransferKind::ParentClosePolicy => self.apply_parent_close_policy(&run),
        };
        if let Err(e) = result {
            tracing::debug!("transfer for {}/{}: {e}", run.workflow_id, run.run_id);
        }
    }

    fn start_child(&self, parent: &RunKey, initiated_event_id: i64) -> Result<(), Status> {
        let Some(child) =
            self.read_run(parent, |ms| ms.children.get(&initiated_event_id).cloned())?
        else {
            return Ok(());
        };
        // Carried out again after a crash: the child already started.
        if child.started.is_some() {
            return Ok(());
        }
        let origin = Origin {
            parent: Some(ParentInfo {
                namespace: parent.namespace.clone(),
                workflow_id: parent.workflow_id.clone(),
                run_id: parent.run_id.clone(),
                initiated_event_id,
            }),
            ..Default::default()
        };
        let namespace = child.request.namespace.clone();
        let started = self.start_with_origin(
            &namespace,
            StartRequest {
                request: child.request.clone(),
                signal: None,
                retention: self.read_run(parent, |ms| ms.retention).ok(),
            },
            origin,
        );
        self.with_run(parent, |ms| {
            if !ms.is_open()
                || ms
                    .children
                    .get(&initiated_event_id)
                    .is_none_or(|c| c.started.is_some())
            {
                return Ok(());
            }
            match &started {
                Ok(outcome) => {
                    // The started event id is filled in when the event is written (`write`).
                    if let Some(c) = ms.children.get_mut(&initiated_event_id) {
                        c.started = Some((outcome.run_id.clone(), 0));
                    }
                    ms.append_external(
                        EventType::ChildWorkflowExecutionStarted,
                        Attributes::ChildWorkflowExecutionStartedEventAttributes(
                            hist::ChildWorkflowExecutionStartedEventAttributes {
                                namespace: namespace.clone(),
                                initiated_event_id,
                                workflow_execution: Some(WorkflowExecution {
                                    workflow_id: child.request.workflow_id.clone(),
                                    run_id: outcome.run_id.clone(),
                                }),
                                workflow_type: child.request.workflow_type.clone(),
                                header: child.request.header.clone(),
                                ..Default::default()
                            },
                        ),
                    );
                }
                Err(status) => {
                    let cause = if status.code() == tonic::Code::NotFound {
                        StartCause::NamespaceNotFound
                    } else {
                        StartCause::WorkflowAlreadyExists
                    };
                    ms.children.remove(&initiated_event_id);
                    ms.append_external(
                        EventType::StartChildWorkflowExecutionFailed,
                        Attributes::StartChildWorkflowExecutionFailedEventAttributes(
                            hist::StartChildWorkflowExecutionFailedEventAttributes {
                                namespace: namespace.clone(),
                                workflow_id: child.request.workflow_id.clone(),
                                workflow_type: child.request.workflow_type.clone(),
                                cause: cause as i32,
                                control: child.control.clone(),
                                initiated_event_id,
                                workflow_task_completed_event_id: child.completed_event_id,
                                ..Default::default()
                            },
                        ),
                    );
                }
            }
            Ok(())
        })
    }

    fn deliver_external(&self, source: &RunKey, initiated_event_id: i64) -> Result<(), Status> {
        let Some(ext) =
            self.read_run(source, |ms| ms.externals.get(&initiated_event_id).cloned())?
        else {
            return Ok(());
        };
        let from = WorkflowExecution {
            workflow_id: source.workflow_id.clone(),
            run_id: source.run_id.clone(),
        };
        let delivered = self
            .resolve(
                &ext.namespace,
                &ext.execution.workflow_id,
                &ext.execution.run_id,
            )
            .and_then(|target| {
                self.with_run(&target, |ms| match &ext.signal {
                    Some((name, input, header)) => ms.signal_from(
                        name,
                        input.clone(),
                        header.clone(),
                        &from,
                        &format!("{}:{initiated_event_id}", source.run_id),
                    ),
                    None => ms.cancel_from(&ext.reason, &from, initiated_event_id),
                })
            });
        self.with_run(source, |ms| {
            if !ms.is_open() || ms.externals.remove(&initiated_event_id).is_none() {
                return Ok(());
            }
            let execution = Some(ext.execution.clone());
            let (event_type, attributes) = match (&ext.signal, delivered.is_ok()) {
                (Some(_), true) => (
                    EventType::ExternalWorkflowExecutionSignaled,
                    Attributes::ExternalWorkflowExecutionSignaledEventAttributes(
                        hist::ExternalWorkflowExecutionSignaledEventAttributes {
                            initiated_event_id,
                            namespace: ext.namespace.clone(),
                            workflow_execution: execution,
                            control: ext.control.clone(),
                            ..Default::default()
                        },
                    ),
                ),
                (Some(_), false) => (
                    EventType::SignalExternalWorkflowExecutionFailed,
                    Attributes::SignalExternalWorkflowExecutionFailedEventAttributes(
                        hist::SignalExternalWorkflowExecutionFailedEventAttributes {
                            cause: SignalCause::ExternalWorkflowExecutionNotFound as i32,
                            workflow_task_completed_event_id: ext.completed_event_id,
                            namespace: ext.namespace.clone(),
                            workflow_execution: execution,
                            initiated_event_id,
                            control: ext.control.clone(),
                            ..Default::default()
                        },
                    ),
                ),
                (None, true) => (
                    EventType::ExternalWorkflowExecutionCancelRequested,
                    Attributes::ExternalWorkflowExecutionCancelRequestedEventAttributes(
                        hist::ExternalWorkflowExecutionCancelRequestedEventAttributes {
                            initiated_event_id,
                            namespace: ext.namespace.clone(),
                            workflow_execution: execution,
                            ..Default::default()
                        },
                    ),
                ),
                (None, false) => (
                    EventType::RequestCancelExternalWorkflowExecutionFailed,
                    Attributes::RequestCancelExternalWorkflowExecutionFailedEventAttributes(
                        hist::RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                            cause: CancelCause::ExternalWorkflowExecutionNotFound as i32,
                            workflow_task_completed_event_id: ext.completed_event_id,
                            namespace: ext.namespace.clone(),
                            workflow_execution: execution,
                            initiated_event_id,
                            control: ext.control.clone(),
                            ..Default::default()
                        },
                    ),
                ),
            };
            ms.append_external(event_type, attributes);
            Ok(())
        })
    }

    fn notify_parent(&self, child: &RunKey) -> Result<(), Status> {
        let (parent, last) =
            self.read_run(child, |ms| (ms.parent.clone(), ms.next_event_id - 1))?;
        let Some(parent) = parent else { return Ok(()) };
        let close = self
            .read_events(child, last, 1)?
            .into_iter()
            .next()
            .and_then(|e| e.attributes);
        let key = RunKey {
            namespace: parent.namespace,
            workflow_id: parent.workflow_id,
            run_id: parent.run_id,
        };
        self.with_run(&key, |ms| {
            if ms.is_open() {
                ms.child_closed(parent.initiated_event_id, close);
            }
            Ok(())
        })
    }

    fn apply_parent_close_policy(&self, parent: &RunKey) -> Result<(), Status> {
        let children: Vec<Child> =
            self.read_run(parent, |ms| ms.children.values().cloned().collect())?;
        for child in children {
            let Some((run_id, _)) = &child.started else {
                continue;
            };
            let Ok(key) =
                self.resolve(&child.request.namespace, &child.request.workflow_id, run_id)
            else {
                continue;
            };
            let policy = ParentClosePolicy::try_from(child.parent_close_policy)
                .unwrap_or(ParentClosePolicy::Terminate);
            let _ = self.with_run(&key, |ms| {
                if !ms.is_open() {
                    return Ok(());
                }
                match policy {
                    ParentClosePolicy::Abandon => Ok(()),
                    ParentClosePolicy::RequestCancel => {
                        ms.request_cancel("by parent close policy", "history-service")
                    }
                    _ => {
                        ms.terminate("by parent close policy", None, "history-service");
                        Ok(())
                    }
                }
            });
        }
        Ok(())
    }
}

impl MutableState {
    /// A signal from another workflow.
    fn signal_from(
        &mut self,
        name: &str,
        input: Option<Payloads>,
        header: Option<Header>,
        from: &WorkflowExecution,
        request_id: &str,
    ) -> Result<(), Status> {
        if !self.is_open() {
            return Err(errors::execution_completed());
        }
        if !self.request_ids.insert(request_id.to_string()) {
            return Ok(());
        }
        self.append_external(
            EventType::WorkflowExecutionSignaled,
            Attributes::WorkflowExecutionSignaledEventAttributes(
                hist::WorkflowExecutionSignaledEventAttributes {
                    signal_name: name.into(),
                    input,
                    header,
                    external_workflow_execution: Some(from.clone()),
                    ..Default::default()
                },
            ),
        );
        Ok(())
    }

    /// A cancellation request from another workflow.
    fn cancel_from(
        &mut self,
        reason: &str,
        from: &WorkflowExecution,
        initiated_event_id: i64,
    ) -> Result<(), Status> {
        if !self.is_open() {
            return Err(errors::execution_completed());
        }
        if self.cancel_requested {
            return Ok(());
        }
        self.cancel_requested = true;
        self.append_external(
            EventType::WorkflowExecutionCancelRequested,
            Attributes::WorkflowExecutionCancelRequestedEventAttributes(
                hist::WorkflowExecutionCancelRequestedEventAttributes {
                    cause: reason.into(),
                    external_initiated_event_id: initiated_event_id,
                    external_workflow_execution: Some(from.clone()),
                    identity: String::new(),
                },
            ),
        );
        Ok(())
    }
}

/// Validation of the cross-execution commands.
pub(crate) fn validate_child(
    a: &cmd::StartChildWorkflowExecutionCommandAttributes,
) -> Result<(), String> {
    if a.workflow_id.is_empty() {
        return Err(
            "Required field WorkflowId is not set on StartChildWorkflowExecutionCommand.".into(),
        );
    }
    if a.workflow_type.as_ref().is_none_or(|t| t.name.is_empty()) {
        return Err(
            "Required field WorkflowType is not set on StartChildWorkflowExecutionCommand.".into(),
        );
    }
    for d in [
        &a.workflow_execution_timeout,
        &a.workflow_run_timeout,
        &a.workflow_task_timeout,
    ] {
        if d.is_some_and(|d| d.seconds < 0 || d.nanos < 0) {
            return Err("StartChildWorkflowExecutionCommand has a negative timeout.".into());
        }
    }
    Ok(())
}
