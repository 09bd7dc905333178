//! The commands and protocol messages of a completed workflow task, turned into events.

use super::lifecycle::{StartRequest, continued_origin, new_run};
use super::state::{MutableState, UpdateState, normal_queue, std_duration};
use crate::server::errors::is_type;
use prost::Message as _;
use reprise::api::temporal::api::command::v1::{Command, command::Attributes as Cmd};
use reprise::api::temporal::api::common::v1::{Memo, SearchAttributes, WorkflowType};
use reprise::api::temporal::api::enums::v1::{
    EventType, RetryState, WorkflowExecutionStatus, WorkflowTaskFailedCause as Cause,
};
use reprise::api::temporal::api::history::v1::{self as hist, history_event::Attributes};
use reprise::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use reprise::api::temporal::api::update::v1 as upd;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::collections::HashSet;
use tonic::Status;

/// True for commands that close the run.
pub(crate) fn closes_workflow(command: &Command) -> bool {
    matches!(
        command.attributes,
        Some(
            Cmd::CompleteWorkflowExecutionCommandAttributes(_)
                | Cmd::FailWorkflowExecutionCommandAttributes(_)
                | Cmd::CancelWorkflowExecutionCommandAttributes(_)
                | Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(_)
        )
    )
}

type Invalid = (Cause, String);

fn bad(cause: Cause, message: impl Into<String>) -> Invalid {
    (cause, message.into())
}

impl MutableState {
    /// Checks every command of a completion, as the official server does before applying any.
    pub(crate) fn validate_commands(
        &self,
        commands: &[Command],
        messages: &[ProtocolMessage],
    ) -> Result<(), Invalid> {
        let mut activity_ids: HashSet<&str> = self
            .activities
            .values()
            .map(|a| a.activity_id.as_str())
            .collect();
        let mut timer_ids: HashSet<&str> = self.timers.keys().map(String::as_str).collect();
        let mut closed = false;
        for (i, command) in commands.iter().enumerate() {
            if closed {
                return Err(bad(
                    Cause::UnhandledCommand,
                    format!("command {i} follows a command that closes the workflow"),
                ));
            }
            let Some(attributes) = &command.attributes else {
                return Err(bad(
                    Cause::Unspecified,
                    format!("command {i} has no attributes"),
                ));
            };
            match attributes {
                Cmd::ScheduleActivityTaskCommandAttributes(a) => {
                    let cause = Cause::BadScheduleActivityAttributes;
                    if a.activity_id.is_empty() {
                        return Err(bad(
                            cause,
                            "ActivityId is not set on ScheduleActivityTaskCommand.",
                        ));
                    }
                    if !activity_ids.insert(&a.activity_id) {
                        return Err(bad(
                            cause,
                            format!("Activity id {:?} is already in use.", a.activity_id),
                        ));
                    }
                    if a.activity_type.as_ref().is_none_or(|t| t.name.is_empty()) {
                        return Err(bad(
                            cause,
                            "ActivityType is not set on ScheduleActivityTaskCommand.",
                        ));
                    }
                    if std_duration(a.start_to_close_timeout.as_ref()).is_zero()
                        && std_duration(a.schedule_to_close_timeout.as_ref()).is_zero()
                    {
                        return Err(bad(
                            cause,
                            "A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.",
                        ));
                    }
                }
                Cmd::RequestCancelActivityTaskCommandAttributes(a) => {
                    if !self.activities.contains_key(&a.scheduled_event_id) {
                        return Err(bad(
                            Cause::BadRequestCancelActivityAttributes,
                            format!(
                                "no pending activity with scheduled event id {}",
                                a.scheduled_event_id
                            ),
                        ));
                    }
                }
                Cmd::StartTimerCommandAttributes(a) => {
                    if a.timer_id.is_empty() {
                        return Err(bad(
                            Cause::BadStartTimerAttributes,
                            "TimerId is not set on StartTimerCommand.",
                        ));
                    }
                    if std_duration(a.start_to_fire_timeout.as_ref()).is_zero() {
                        return Err(bad(
                            Cause::BadStartTimerAttributes,
                            "A valid StartToFireTimeout is not set on StartTimerCommand.",
                        ));
                    }
                    if !timer_ids.insert(&a.timer_id) {
                        return Err(bad(
                            Cause::StartTimerDuplicateId,
                            format!("Timer id {:?} is already in use.", a.timer_id),
                        ));
                    }
                }
                Cmd::CancelTimerCommandAttributes(a) => {
                    if !timer_ids.remove(a.timer_id.as_str()) {
                        return Err(bad(
                            Cause::BadCancelTimerAttributes,
                            format!("no pending timer with id {:?}", a.timer_id),
                        ));
                    }
                }
                Cmd::RecordMarkerCommandAttributes(a) => {
                    if a.marker_name.is_empty() {
                        return Err(bad(
                            Cause::BadRecordMarkerAttributes,
                            "MarkerName is not set on RecordMarkerCommand.",
                        ));
                    }
                }
                Cmd::ProtocolMessageCommandAttributes(a) => {
                    if !messages.iter().any(|m| m.id == a.message_id) {
                        return Err(bad(
                            Cause::BadUpdateWorkflowExecutionMessage,
                            format!(
                                "ProtocolMessageCommand names message {:?}, which the request lacks",
                                a.message_id
                            ),
                        ));
                    }
                }
                Cmd::CompleteWorkflowExecutionCommandAttributes(_)
                | Cmd::FailWorkflowExecutionCommandAttributes(_)
                | Cmd::CancelWorkflowExecutionCommandAttributes(_)
                | Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(_) => closed = true,
                Cmd::UpsertWorkflowSearchAttributesCommandAttributes(_)
                | Cmd::ModifyWorkflowPropertiesCommandAttributes(_) => {}
                Cmd::StartChildWorkflowExecutionCommandAttributes(a) => {
                    super::children::validate_child(a)
                        .map_err(|m| bad(Cause::BadStartChildExecutionAttributes, m))?;
                }
                Cmd::SignalExternalWorkflowExecutionCommandAttributes(a) => {
                    if a.execution
                        .as_ref()
                        .is_none_or(|e| e.workflow_id.is_empty())
                        || a.signal_name.is_empty()
                    {
                        return Err(bad(
                            Cause::BadSignalWorkflowExecutionAttributes,
                            "SignalExternalWorkflowExecutionCommand needs a workflow id and a signal name.",
                        ));
                    }
                }
                Cmd::RequestCancelExternalWorkflowExecutionCommandAttributes(a) => {
                    if a.workflow_id.is_empty() {
                        return Err(bad(
                            Cause::BadRequestCancelExternalWorkflowExecutionAttributes,
                            "RequestCancelExternalWorkflowExecutionCommand needs a workflow id.",
                        ));
                    }
                }
                other => {
                    return Err(bad(
                        Cause::UnhandledCommand,
                        format!(
                            "{} is not supported by this server yet",
                            command_name(other)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Applies validated commands, then any protocol message no command referenced. Returns true
    /// when the commands produced events the workflow has not seen (a new task is needed).
    pub(crate) fn apply_commands(
        &mut self,
        completed_id: i64,
        request: &ws::RespondWorkflowTaskCompletedRequest,
    ) -> Result<bool, Status> {
        let mut needs_task = false;
        let mut handled: HashSet<&str> = HashSet::new();
        for command in &request.commands {
            let Some(attributes) = &command.attributes else {
                continue;
            };
            match attributes {
                Cmd::ScheduleActivityTaskCommandAttributes(a) => {
                    self.schedule_activity(completed_id, a)
                }
                Cmd::RequestCancelActivityTaskCommandAttributes(a) => {
                    needs_task |= self.request_cancel_activity(
                        completed_id,
                        a.scheduled_event_id,
                        &request.identity,
                    );
                }
                Cmd::StartTimerCommandAttributes(a) => {
                    let timeout = std_duration(a.start_to_fire_timeout.as_ref());
                    let id = self.append(
                        EventType::TimerStarted,
                        Attributes::TimerStartedEventAttributes(
                            hist::TimerStartedEventAttributes {
                                timer_id: a.timer_id.clone(),
                                start_to_fire_timeout: a.start_to_fire_timeout,
                                workflow_task_completed_event_id: completed_id,
                            },
                        ),
                    );
                    self.timers.insert(a.timer_id.clone(), id);
                    let fire_at = self.now + timeout;
                    self.add_timer(
                        fire_at,
                        crate::store::TimerKind::User {
                            timer_id: a.timer_id.clone(),
                            started_event_id: id,
                        },
                    );
                }
                Cmd::CancelTimerCommandAttributes(a) => {
                    if let Some(started) = self.timers.remove(&a.timer_id) {
                        self.append(
                            EventType::TimerCanceled,
                            Attributes::TimerCanceledEventAttributes(
                                hist::TimerCanceledEventAttributes {
                                    timer_id: a.timer_id.clone(),
                                    started_event_id: started,
                                    workflow_task_completed_event_id: completed_id,
                                    identity: request.identity.clone(),
                                },
                            ),
                        );
                    }
                }
                Cmd::RecordMarkerCommandAttributes(a) => {
                    self.append(
                        EventType::MarkerRecorded,
                        Attributes::MarkerRecordedEventAttributes(
                            hist::MarkerRecordedEventAttributes {
                                marker_name: a.marker_name.clone(),
                                details: a.details.clone(),
                                workflow_task_completed_event_id: completed_id,
                                header: a.header.clone(),
                                failure: a.failure.clone(),
                            },
                        ),
                    );
                }
                Cmd::UpsertWorkflowSearchAttributesCommandAttributes(a) => {
                    let upserted = a.search_attributes.clone().unwrap_or_default();
                    merge_search_attributes(&mut self.search_attributes, &upserted);
                    self.visibility_dirty = true;
                    self.append(
                        EventType::UpsertWorkflowSearchAttributes,
                        Attributes::UpsertWorkflowSearchAttributesEventAttributes(
                            hist::UpsertWorkflowSearchAttributesEventAttributes {
                                workflow_task_completed_event_id: completed_id,
                                search_attributes: Some(upserted),
                            },
                        ),
                    );
                }
                Cmd::ModifyWorkflowPropertiesCommandAttributes(a) => {
                    let upserted = a.upserted_memo.clone().unwrap_or_default();
                    merge_memo(&mut self.memo, &upserted);
                    self.visibility_dirty = true;
                    self.append(
                        EventType::WorkflowPropertiesModified,
                        Attributes::WorkflowPropertiesModifiedEventAttributes(
                            hist::WorkflowPropertiesModifiedEventAttributes {
                                workflow_task_completed_event_id: completed_id,
                                upserted_memo: Some(upserted),
                            },
                        ),
                    );
                }
                Cmd::ProtocolMessageCommandAttributes(a) => {
                    if let Some(m) = request.messages.iter().find(|m| m.id == a.message_id) {
                        handled.insert(&m.id);
                        self.apply_message(m);
                    }
                }
                Cmd::CompleteWorkflowExecutionCommandAttributes(a) => {
                    let new_execution_run_id = self
                        .cron_continue(a.result.clone(), None)
                        .unwrap_or_default();
                    self.append(
                        EventType::WorkflowExecutionCompleted,
                        Attributes::WorkflowExecutionCompletedEventAttributes(
                            hist::WorkflowExecutionCompletedEventAttributes {
                                result: a.result.clone(),
                                workflow_task_completed_event_id: completed_id,
                                new_execution_run_id,
                            },
                        ),
                    );
                    self.close(WorkflowExecutionStatus::Completed);
                }
                Cmd::FailWorkflowExecutionCommandAttributes(a) => {
                    // With a retry policy, the next attempt is a new run of the same workflow.
                    let (retry_state, new_execution_run_id) =
                        match self.retry(&a.failure.clone().unwrap_or_default()) {
                            Ok(run_id) => (RetryState::InProgress, run_id),
                            Err(state) => (
                                state,
                                self.cron_continue(None, a.failure.clone())
                                    .unwrap_or_default(),
                            ),
                        };
                    self.append(
                        EventType::WorkflowExecutionFailed,
                        Attributes::WorkflowExecutionFailedEventAttributes(
                            hist::WorkflowExecutionFailedEventAttributes {
                                failure: a.failure.clone(),
                                retry_state: retry_state as i32,
                                workflow_task_completed_event_id: completed_id,
                                new_execution_run_id,
                            },
                        ),
                    );
                    self.close(WorkflowExecutionStatus::Failed);
                }
                Cmd::CancelWorkflowExecutionCommandAttributes(a) => {
                    self.append(
                        EventType::WorkflowExecutionCanceled,
                        Attributes::WorkflowExecutionCanceledEventAttributes(
                            hist::WorkflowExecutionCanceledEventAttributes {
                                workflow_task_completed_event_id: completed_id,
                                details: a.details.clone(),
                            },
                        ),
                    );
                    self.close(WorkflowExecutionStatus::Canceled);
                }
                Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(a) => {
                    self.continue_as_new(completed_id, a);
                }
                Cmd::StartChildWorkflowExecutionCommandAttributes(a) => {
                    self.initiate_child(completed_id, a)
                }
                Cmd::SignalExternalWorkflowExecutionCommandAttributes(a) => {
                    self.initiate_signal(completed_id, a)
                }
                Cmd::RequestCancelExternalWorkflowExecutionCommandAttributes(a) => {
                    self.initiate_cancel(completed_id, a)
                }
                _ => {}
            }
        }
        // Older SDKs send protocol messages without commands: apply them after the commands.
        for m in &request.messages {
            if !handled.contains(m.id.as_str()) {
                self.apply_message(m);
            }
        }
        Ok(needs_task)
    }

    fn continue_as_new(
        &mut self,
        completed_id: i64,
        a: &reprise::api::temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes,
    ) {
        let workflow_type = a
            .workflow_type
            .clone()
            .filter(|t| !t.name.is_empty())
            .unwrap_or(WorkflowType {
                name: self.workflow_type.clone(),
            });
        let task_queue = a
            .task_queue
            .as_ref()
            .map(|t| t.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.task_queue.clone());
        let run_timeout = a
            .workflow_run_timeout
            .filter(|d| !std_duration(Some(d)).is_zero())
            .unwrap_or_else(|| super::state::pb_duration(self.run_timeout));
        let task_timeout = a
            .workflow_task_timeout
            .filter(|d| !std_duration(Some(d)).is_zero())
            .unwrap_or_else(|| super::state::pb_duration(self.workflow_task_timeout));
        let start = StartRequest {
            request: ws::StartWorkflowExecutionRequest {
                namespace: self.key.namespace.clone(),
                workflow_id: self.key.workflow_id.clone(),
                workflow_type: Some(workflow_type.clone()),
                task_queue: Some(normal_queue(&task_queue)),
                input: a.input.clone(),
                workflow_run_timeout: Some(run_timeout),
                workflow_task_timeout: Some(task_timeout),
                workflow_start_delay: a.backoff_start_interval,
                memo: a.memo.clone().or_else(|| self.memo.clone()),
                search_attributes: a
                    .search_attributes
                    .clone()
                    .or_else(|| self.search_attributes.clone()),
                header: a.header.clone(),
                retry_policy: a.retry_policy.clone(),
                cron_schedule: a.cron_schedule.clone(),
                ..Default::default()
            },
            signal: None,
            retention: Some(self.retention),
        };
        let mut new = new_run(
            &self.key.namespace,
            &start,
            self.now,
            continued_origin(self),
        );
        let new_run_id = new.key.run_id.clone();
        self.append(
            EventType::WorkflowExecutionContinuedAsNew,
            Attributes::WorkflowExecutionContinuedAsNewEventAttributes(
                hist::WorkflowExecutionContinuedAsNewEventAttributes {
                    new_execution_run_id: new_run_id.clone(),
                    workflow_type: Some(workflow_type),
                    task_queue: Some(normal_queue(&task_queue)),
                    input: a.input.clone(),
                    workflow_run_timeout: Some(run_timeout),
                    workflow_task_timeout: Some(task_timeout),
                    workflow_task_completed_event_id: completed_id,
                    backoff_start_interval: a.backoff_start_interval,
                    initiator: a.initiator,
                    header: a.header.clone(),
                    memo: a.memo.clone(),
                    search_attributes: a.search_attributes.clone(),
                    ..Default::default()
                },
            ),
        );
        self.close(WorkflowExecutionStatus::ContinuedAsNew);
        self.continued_as_new_to = Some(new_run_id);
        new.start_request_id = String::new();
        self.pending_new_run = Some(Box::new(new));
    }

    /// Applies the rejections among `messages` (a speculative task that wrote nothing).
    pub(crate) fn apply_rejections(&mut self, messages: &[ProtocolMessage]) {
        for m in messages {
            self.apply_message(m);
        }
    }

    /// An update protocol message from the worker: acceptance, rejection or response.
    fn apply_message(&mut self, m: &ProtocolMessage) {
        let Some(body) = &m.body else { return };
        let id = m.protocol_instance_id.clone();
        if is_type::<upd::Acceptance>(&body.type_url) {
            let Ok(acceptance) = upd::Acceptance::decode(body.value.as_slice()) else {
                return;
            };
            let request = match self.updates.get(&id) {
                Some(u) if matches!(u.state, UpdateState::Admitted | UpdateState::Sent(_)) => {
                    u.request.clone()
                }
                _ => return,
            };
            let event_id = self.append(
                EventType::WorkflowExecutionUpdateAccepted,
                Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(
                    hist::WorkflowExecutionUpdateAcceptedEventAttributes {
                        protocol_instance_id: id.clone(),
                        accepted_request_message_id: acceptance.accepted_request_message_id,
                        accepted_request_sequencing_event_id: acceptance
                            .accepted_request_sequencing_event_id,
                        accepted_request: Some(acceptance.accepted_request.unwrap_or(request)),
                    },
                ),
            );
            if let Some(u) = self.updates.get_mut(&id) {
                u.state = UpdateState::Accepted(event_id);
            }
        } else if is_type::<upd::Rejection>(&body.type_url) {
            let Ok(rejection) = upd::Rejection::decode(body.value.as_slice()) else {
                return;
            };
            if let Some(u) = self.updates.get_mut(&id)
                && matches!(u.state, UpdateState::Admitted | UpdateState::Sent(_))
            {
                u.state = UpdateState::Completed(Box::new(upd::Outcome {
                    value: Some(upd::outcome::Value::Failure(
                        rejection.failure.unwrap_or_default(),
                    )),
                }));
                self.touched = true;
            }
        } else if is_type::<upd::Response>(&body.type_url) {
            let Ok(response) = upd::Response::decode(body.value.as_slice()) else {
                return;
            };
            let id = response
                .meta
                .as_ref()
                .map(|m| m.update_id.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or(id);
            let Some(UpdateState::Accepted(accepted_event_id)) =
                self.updates.get(&id).map(|u| u.state.clone())
            else {
                return;
            };
            let outcome = response.outcome.unwrap_or_default();
            self.append(
                EventType::WorkflowExecutionUpdateCompleted,
                Attributes::WorkflowExecutionUpdateCompletedEventAttributes(
                    hist::WorkflowExecutionUpdateCompletedEventAttributes {
                        meta: response.meta,
                        accepted_event_id,
                        outcome: Some(outcome.clone()),
                    },
                ),
            );
            if let Some(u) = self.updates.get_mut(&id) {
                u.state = UpdateState::Completed(Box::new(outcome));
            }
        }
    }
}

/// Upserts search attributes: a payload with no data (or `binary/null`) removes the key.
pub(crate) fn merge_search_attributes(
    target: &mut Option<SearchAttributes>,
    upserted: &SearchAttributes,
) {
    let fields = &mut target
        .get_or_insert_with(SearchAttributes::default)
        .indexed_fields;
    for (k, v) in &upserted.indexed_fields {
        let null = v.data.is_empty()
            || v.metadata
                .get("encoding")
                .is_some_and(|e| e == b"binary/null");
        if null {
            fields.remove(k);
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
}

/// Upserts memo fields the same way.
pub(crate) fn merge_memo(target: &mut Option<Memo>, upserted: &Memo) {
    let fields = &mut target.get_or_insert_with(Memo::default).fields;
    for (k, v) in &upserted.fields {
        let null = v.data.is_empty()
            || v.metadata
                .get("encoding")
                .is_some_and(|e| e == b"binary/null");
        if null {
            fields.remove(k);
        } else {
            fields.insert(k.clone(), v.clone());
        }
    }
}

fn command_name(attributes: &Cmd) -> String {
    let debug = format!("{attributes:?}");
    debug
        .split('(')
        .next()
        .unwrap_or_default()
        .trim_end_matches("Attributes")
        .to_string()
}
