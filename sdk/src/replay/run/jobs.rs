//! Jobs: the events that are not a command's own (signals, cancel requests, an activity's or a
//! child's outcome, a timer firing…), turned into the work the next activation delivers.

use super::WorkflowRun;
use crate::api::temporal::api::common::v1::{Payload, Payloads};
use crate::api::temporal::api::enums::v1::RetryState;
use crate::api::temporal::api::failure::v1::Failure as ProtoFailure;
use crate::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use crate::converter::{DataConverter, Failure, FailureKind};
use crate::replay::error::ReplayError;
use crate::replay::matching;
use crate::workflow::PendingUpdate;
use crate::workflow::operations as ops;
use crate::workflow::state::{MachineId, Resolution};

/// Work delivered to the workflow at an activation, in history order.
pub(super) enum Job {
    Signal {
        name: String,
        input: Vec<Payload>,
        headers: crate::workflow::interceptor::Headers,
    },
    Update(Box<PendingUpdate>),
    Cancel {
        reason: String,
    },
    Resolve {
        machine: MachineId,
        resolution: Resolution,
    },
    ChildStarted {
        machine: MachineId,
        run_id: String,
    },
}

impl WorkflowRun {
    /// An event that is not a command's own: the job it asks of the workflow, if any.
    pub(super) fn collect_job(&mut self, event: &HistoryEvent) -> Result<(), ReplayError> {
        let converter = self.shared.borrow().converter.clone();
        let decode = |p: Option<Payloads>| -> Vec<Payload> {
            let payloads = p.map(|p| p.payloads).unwrap_or_default();
            converter
                .decode_payloads(payloads.clone())
                .unwrap_or(payloads)
        };
        let missing = |what: &str, id: i64| ReplayError::InvalidHistory {
            event_id: event.event_id,
            message: format!(
                "{} refers to {what} {id}, which no command of this run scheduled",
                matching::event_type_name(event)
            ),
        };
        let scheduled = |id: i64| {
            self.activity_by_event
                .get(&id)
                .copied()
                .ok_or_else(|| missing("scheduled event", id))
        };
        let initiated = |id: i64| {
            self.initiated_by_event
                .get(&id)
                .copied()
                .ok_or_else(|| missing("initiated event", id))
        };
        let job = match event.attributes.clone() {
            Some(E::WorkflowExecutionSignaledEventAttributes(a)) => Job::Signal {
                name: a.signal_name,
                input: decode(a.input),
                headers: a.header.map(|h| h.fields).unwrap_or_default(),
            },
            Some(E::WorkflowExecutionCancelRequestedEventAttributes(a)) => {
                Job::Cancel { reason: a.cause }
            }
            Some(E::ActivityTaskCompletedEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(decode(a.result)),
                }
            }
            Some(E::ActivityTaskFailedEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                let cause = decode_failure(&converter, a.failure);
                self.activity_failed(
                    machine,
                    a.started_event_id,
                    &a.identity,
                    a.retry_state,
                    cause,
                )
            }
            Some(E::ActivityTaskTimedOutEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                let cause = decode_failure(&converter, a.failure);
                self.activity_failed(machine, a.started_event_id, "", a.retry_state, cause)
            }
            Some(E::ActivityTaskCanceledEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                let cause = Failure::new(
                    "activity canceled",
                    FailureKind::Canceled {
                        details: decode(a.details),
                        identity: a.identity.clone(),
                    },
                );
                self.activity_failed(machine, a.started_event_id, &a.identity, 0, cause)
            }
            Some(E::TimerFiredEventAttributes(a)) => {
                let machine = *self.timer_by_id.get(&a.timer_id).ok_or_else(|| {
                    ReplayError::InvalidHistory {
                        event_id: event.event_id,
                        message: format!(
                            "TimerFired for timer {:?}, which no command of this run started",
                            a.timer_id
                        ),
                    }
                })?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(Vec::new()),
                }
            }
            Some(E::ChildWorkflowExecutionStartedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::ChildStarted {
                    machine,
                    run_id: a.workflow_execution.map(|e| e.run_id).unwrap_or_default(),
                }
            }
            Some(E::StartChildWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                use crate::api::temporal::api::enums::v1::StartChildWorkflowExecutionFailedCause as Cause;
                let why = match Cause::try_from(a.cause) {
                    Ok(Cause::WorkflowAlreadyExists) => "workflow execution already started",
                    Ok(Cause::NamespaceNotFound) => "namespace not found",
                    _ => "start failed",
                };
                let failure = crate::converter::ApplicationFailure::new(format!(
                    "child workflow {} could not start: {why}",
                    a.workflow_id
                ))
                .with_type("ChildWorkflowExecutionAlreadyStartedError")
                .non_retryable();
                Job::Resolve {
                    machine,
                    resolution: Resolution::Failed(Box::new(failure.into())),
                }
            }
            Some(E::ChildWorkflowExecutionCompletedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(decode(a.result)),
                }
            }
            Some(E::ChildWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = decode_failure(&converter, a.failure);
                self.child_failed(machine, a.started_event_id, a.retry_state, cause)
            }
            Some(E::ChildWorkflowExecutionCanceledEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = Failure::new(
                    "child workflow canceled",
                    FailureKind::Canceled {
                        details: decode(a.details),
                        identity: String::new(),
                    },
                );
                self.child_failed(machine, a.started_event_id, 0, cause)
            }
            Some(E::ChildWorkflowExecutionTimedOutEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = Failure::new(
                    "child workflow timed out",
                    FailureKind::Timeout {
                        timeout_type:
                            crate::api::temporal::api::enums::v1::TimeoutType::StartToClose,
                        last_heartbeat_details: Vec::new(),
                    },
                );
                self.child_failed(machine, a.started_event_id, a.retry_state, cause)
            }
            Some(E::ChildWorkflowExecutionTerminatedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = Failure::new(
                    "child workflow terminated",
                    FailureKind::Terminated {
                        identity: String::new(),
                    },
                );
                self.child_failed(machine, a.started_event_id, 0, cause)
            }
            Some(E::ExternalWorkflowExecutionSignaledEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(Vec::new()),
                }
            }
            Some(E::SignalExternalWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let failure = crate::converter::ApplicationFailure::new(format!(
                    "signal to external workflow failed (cause {})",
                    a.cause
                ))
                .with_type("SignalExternalWorkflowExecutionFailed");
                Job::Resolve {
                    machine,
                    resolution: Resolution::Failed(Box::new(failure.into())),
                }
            }
            Some(E::ExternalWorkflowExecutionCancelRequestedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(Vec::new()),
                }
            }
            Some(E::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let failure = crate::converter::ApplicationFailure::new(format!(
                    "cancel request to external workflow failed (cause {})",
                    a.cause
                ))
                .with_type("RequestCancelExternalWorkflowExecutionFailed");
                Job::Resolve {
                    machine,
                    resolution: Resolution::Failed(Box::new(failure.into())),
                }
            }
            // Events that need no reaction from workflow code.
            _ => return Ok(()),
        };
        self.jobs.push(job);
        Ok(())
    }

    /// An activity's failure, as the job that resolves its future.
    fn activity_failed(
        &self,
        machine: MachineId,
        started_event_id: i64,
        identity: &str,
        retry_state: i32,
        cause: Failure,
    ) -> Job {
        let failure =
            self.activity_failure(machine, started_event_id, identity, retry_state, cause);
        Job::Resolve {
            machine,
            resolution: Resolution::Failed(Box::new(failure)),
        }
    }

    /// A child workflow's failure, as the job that resolves its future.
    fn child_failed(
        &self,
        machine: MachineId,
        started_event_id: i64,
        retry_state: i32,
        cause: Failure,
    ) -> Job {
        let failure = self.child_failure(machine, started_event_id, retry_state, cause);
        Job::Resolve {
            machine,
            resolution: Resolution::Failed(Box::new(failure)),
        }
    }

    fn activity_failure(
        &self,
        machine: MachineId,
        started_event_id: i64,
        identity: &str,
        retry_state: i32,
        cause: Failure,
    ) -> Failure {
        let retry_state = RetryState::try_from(retry_state).unwrap_or_default();
        ops::activity_failure(
            &self.shared.borrow(),
            machine,
            started_event_id,
            identity,
            retry_state,
            cause,
        )
    }

    fn child_failure(
        &self,
        machine: MachineId,
        started_event_id: i64,
        retry_state: i32,
        cause: Failure,
    ) -> Failure {
        let retry_state = RetryState::try_from(retry_state).unwrap_or_default();
        ops::child_failure(
            &self.shared.borrow(),
            machine,
            started_event_id,
            retry_state,
            cause,
        )
    }
}

/// A failure from history, codec-decoded.
pub(super) fn decode_failure(converter: &DataConverter, failure: Option<ProtoFailure>) -> Failure {
    let mut proto = failure.unwrap_or_default();
    let _ = converter.decode_failure(&mut proto);
    Failure::from_proto(proto)
}
