//! Workflow tasks: claiming one for a poller, completing it (commands and protocol messages),
//! failing it, and its timeouts.

use super::state::{
    MutableState, QueryDelivery, Sticky, UpdateState, WorkflowTaskStarted, normal_queue,
    std_duration,
};
use super::{Engine, errors};
use crate::server::matching::{QueueKey, QueueType, Task};
use crate::server::token::Token;
use crate::store::{RunKey, TimerKind};
use prost::Message as _;
use reprise::api::google::protobuf::{Any, Timestamp};
use reprise::api::temporal::api::common::v1::WorkflowType;
use reprise::api::temporal::api::enums::v1::{EventType, TimeoutType, WorkflowTaskFailedCause};
use reprise::api::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};
use reprise::api::temporal::api::history::v1::{self as hist, History, history_event::Attributes};
use reprise::api::temporal::api::protocol::v1::{
    Message as ProtocolMessage, message::SequencingId,
};
use reprise::api::temporal::api::query::v1::WorkflowQuery;
use reprise::api::temporal::api::update::v1 as upd;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::time::{Duration, SystemTime};
use tonic::Status;

/// How many command events a discarded speculative task may have shown beyond the previous
/// task's `WorkflowTaskCompleted`, for a worker that can take events again (the official
/// server's `history.discardSpeculativeWorkflowTaskMaximumEventsCount`, default 10).
pub(crate) const DISCARD_SPECULATIVE_MAX_EVENTS: i64 = 10;

/// The rejection of an update that a workflow task was given and did not answer (the official
/// server's wording).
const UNPROCESSED_UPDATE: &str = "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.";

/// What a claimed workflow task needs to become a poll response.
#[derive(Debug)]
pub(crate) struct ClaimedTask {
    pub(crate) run: RunKey,
    pub(crate) workflow_type: String,
    pub(crate) task_queue: String,
    pub(crate) scheduled_event_id: i64,
    pub(crate) started_event_id: i64,
    pub(crate) previous_started_event_id: i64,
    pub(crate) attempt: i32,
    pub(crate) scheduled_time: SystemTime,
    pub(crate) started_time: SystemTime,
    pub(crate) partial_history: bool,
    pub(crate) messages: Vec<ProtocolMessage>,
    /// Events of a speculative task, not in the store.
    pub(crate) speculative: Vec<reprise::api::temporal::api::history::v1::HistoryEvent>,
    /// Queries that ride on this task.
    pub(crate) queries: std::collections::BTreeMap<String, WorkflowQuery>,
}

impl MutableState {
    /// Starts workflow task `scheduled_event_id` for a poller; `None` if it is not current.
    pub(crate) fn start_workflow_task(
        &mut self,
        scheduled_event_id: i64,
        identity: &str,
        request_id: &str,
    ) -> Option<ClaimedTask> {
        if !self.is_open() {
            return None;
        }
        let task = self.wft.as_ref()?;
        if task.scheduled_event_id != scheduled_event_id || task.started.is_some() {
            return None;
        }
        let (attempt, scheduled_time, sticky) = (task.attempt, task.scheduled_time, task.sticky);
        let history_size = self.history_size;
        let attributes = Attributes::WorkflowTaskStartedEventAttributes(
            hist::WorkflowTaskStartedEventAttributes {
                scheduled_event_id,
                identity: identity.into(),
                request_id: request_id.into(),
                history_size_bytes: history_size,
                suggest_continue_as_new: crate::server::limits::suggest_continue_as_new(
                    self.next_event_id - 1,
                    history_size,
                ),
                ..Default::default()
            },
        );
        let started_event_id = if self.speculative.is_empty() {
            self.append(EventType::WorkflowTaskStarted, attributes)
        } else {
            // Speculative: the poller sees the events, the history gets them only if the task
            // does more than reject updates.
            let mut event = self.make_event(EventType::WorkflowTaskStarted, attributes);
            event.event_id = scheduled_event_id + 1;
            self.speculative.push(event);
            scheduled_event_id + 1
        };
        if let Some(task) = self.wft.as_mut() {
            task.started = Some(WorkflowTaskStarted {
                event_id: started_event_id,
                time: self.now,
            });
        }
        let fire_at = self.now + self.workflow_task_timeout;
        self.add_timer(
            fire_at,
            TimerKind::WorkflowTaskTimeout {
                scheduled_event_id,
                attempt,
                timeout_type: TimeoutType::StartToClose as i32,
            },
        );
        // Deliver admitted updates with this task.
        let mut pending: Vec<_> = self
            .updates
            .iter_mut()
            .filter(|(_, u)| u.state == UpdateState::Admitted)
            .collect();
        pending.sort_by_key(|(_, u)| u.seq);
        let messages = pending
            .into_iter()
            .map(|(id, u)| {
                u.state = UpdateState::Sent(scheduled_event_id);
                ProtocolMessage {
                    id: format!("{id}/request"),
                    protocol_instance_id: id.clone(),
                    sequencing_id: Some(SequencingId::EventId(started_event_id - 1)),
                    body: Some(Any {
                        type_url: errors::type_url::<upd::Request>(),
                        value: u.request.encode_to_vec(),
                    }),
                }
            })
            .collect();
        let queries = self
            .queries
            .iter_mut()
            .filter(|(_, q)| q.answer.is_none() && q.delivery == QueryDelivery::Waiting)
            .map(|(id, q)| {
                q.delivery = QueryDelivery::Attached(scheduled_event_id);
                (id.clone(), q.query.clone())
            })
            .collect();
        Some(ClaimedTask {
            queries,
            run: self.key.clone(),
            workflow_type: self.workflow_type.clone(),
            task_queue: self.task_queue.clone(),
            scheduled_event_id,
            started_event_id,
            previous_started_event_id: self.previous_started_event_id,
            attempt,
            scheduled_time,
            started_time: self.now,
            partial_history: sticky && self.previous_started_event_id > 0,
            messages,
            speculative: self.speculative.clone(),
        })
    }

    /// Checks that a token names the started workflow task; returns its started event id.
    pub(crate) fn check_workflow_task(
        &self,
        scheduled_event_id: i64,
        attempt: i32,
    ) -> Result<i64, Status> {
        if !self.is_open() {
            return Err(errors::execution_completed());
        }
        match &self.wft {
            Some(t) if t.scheduled_event_id == scheduled_event_id && t.attempt == attempt => t
                .started
                .as_ref()
                .map(|s| s.event_id)
                .ok_or_else(errors::task_not_found),
            _ => Err(errors::task_not_found()),
        }
    }

    /// Fails the started workflow task (if any): `WorkflowTaskFailed` when `write`, then the
    /// updates it carried go back to waiting for delivery.
    pub(crate) fn fail_started_workflow_task(
        &mut self,
        cause: WorkflowTaskFailedCause,
        write: bool,
    ) {
        let Some(task) = self.wft.clone() else { return };
        let Some(started) = task.started else {
            if self.is_transient_task() {
                // A transient retry no worker took leaves no events when the run closes (as on
                // the official server).
                self.speculative.clear();
                self.wft = None;
            }
            return;
        };
        if write {
            self.append(
                EventType::WorkflowTaskFailed,
                Attributes::WorkflowTaskFailedEventAttributes(
                    hist::WorkflowTaskFailedEventAttributes {
                        scheduled_event_id: task.scheduled_event_id,
                        started_event_id: started.event_id,
                        cause: cause as i32,
                        ..Default::default()
                    },
                ),
            );
        }
        self.wft = None;
        self.requeue_sent_updates();
    }

    /// Answers to the queries that rode on a workflow task.
    fn record_query_results(
        &mut self,
        results: &std::collections::BTreeMap<
            String,
            reprise::api::temporal::api::query::v1::WorkflowQueryResult,
        >,
    ) {
        use reprise::api::temporal::api::enums::v1::QueryResultType;
        for (id, result) in results {
            if let Some(q) = self.queries.get_mut(id) {
                q.answer = Some(if result.result_type == QueryResultType::Answered as i32 {
                    Ok(result.answer.clone())
                } else {
                    Err((result.error_message.clone(), result.failure.clone()))
                });
            }
        }
        if !results.is_empty() {
            self.changed.send_modify(|_| {});
        }
    }

    /// Updates delivered with the completed task `scheduled_event_id` that the worker neither
    /// accepted nor rejected are rejected, as the official server does (a worker that does not
    /// handle updates would otherwise be handed them forever); updates delivered with an
    /// earlier task go back to waiting.
    fn reject_unprocessed_updates(&mut self, scheduled_event_id: i64) {
        for u in self.updates.values_mut() {
            match u.state {
                UpdateState::Sent(id) if id == scheduled_event_id => {
                    u.state = UpdateState::Completed(Box::new(upd::Outcome {
                        value: Some(upd::outcome::Value::Failure(Failure {
                            message: UNPROCESSED_UPDATE.into(),
                            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                                ApplicationFailureInfo::default(),
                            )),
                            ..Default::default()
                        })),
                    }));
                    self.touched = true;
                }
                // `Sent(-1)`: re-applied by a reset, read by the worker from its event.
                UpdateState::Sent(id) if id >= 0 => u.state = UpdateState::Admitted,
                _ => {}
            }
        }
    }

    fn requeue_sent_updates(&mut self) {
        for u in self.updates.values_mut() {
            if matches!(u.state, UpdateState::Sent(id) if id >= 0) {
                u.state = UpdateState::Admitted;
            }
        }
    }

    /// After a failed or timed-out task: flush what arrived meanwhile and schedule the next
    /// attempt, a transient one: at once up to the fourth attempt (as the official server was
    /// seen to do), then after a backoff growing from 1 s to 60 s.
    fn retry_workflow_task(&mut self, attempt: i32) {
        self.flush_buffered();
        let next = attempt.saturating_add(1);
        if next <= 4 {
            self.schedule_transient_workflow_task(next);
        } else {
            let exp = u32::try_from(next - 5).unwrap_or(0).min(6);
            let delay = Duration::from_secs(1u64 << exp).min(Duration::from_secs(60));
            let fire_at = self.now + delay;
            self.add_timer(fire_at, TimerKind::WorkflowTaskBackoff { attempt: next });
        }
    }

    /// `RespondWorkflowTaskFailed`.
    pub(crate) fn workflow_task_failed(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        request: &ws::RespondWorkflowTaskFailedRequest,
    ) -> Result<(), Status> {
        let started = self.check_workflow_task(scheduled_event_id, attempt)?;
        self.fail_workflow_task_with(
            scheduled_event_id,
            started,
            request.cause,
            request.failure.clone(),
            &request.identity,
        );
        Ok(())
    }

    /// Writes `WorkflowTaskFailed` for the started task and schedules a retry.
    pub(crate) fn fail_workflow_task_with(
        &mut self,
        scheduled_event_id: i64,
        started_event_id: i64,
        cause: i32,
        failure: Option<Failure>,
        identity: &str,
    ) {
        let attempt = self.wft.as_ref().map_or(1, |t| t.attempt);
        if self.is_transient_task() {
            // A transient retry fails without a trace (its events were never written).
            self.speculative.clear();
            self.wft = None;
            self.touched = true;
            self.requeue_sent_updates();
            self.retry_workflow_task(attempt);
            return;
        }
        self.append(
            EventType::WorkflowTaskFailed,
            Attributes::WorkflowTaskFailedEventAttributes(
                hist::WorkflowTaskFailedEventAttributes {
                    scheduled_event_id,
                    started_event_id,
                    cause,
                    failure,
                    identity: identity.into(),
                    ..Default::default()
                },
            ),
        );
        self.wft = None;
        self.requeue_sent_updates();
        self.retry_workflow_task(attempt);
    }

    /// A workflow task timer fired.
    pub(crate) fn workflow_task_timeout(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        timeout_type: i32,
    ) {
        let Some(task) = self.wft.clone() else { return };
        if task.scheduled_event_id != scheduled_event_id || task.attempt != attempt {
            return;
        }
        if timeout_type == TimeoutType::StartToClose as i32 {
            let Some(started) = task.started else { return };
            if self.is_transient_task() {
                self.speculative.clear();
                self.wft = None;
                self.sticky = None;
                self.touched = true;
                self.requeue_sent_updates();
                self.retry_workflow_task(attempt);
                return;
            }
            self.append(
                EventType::WorkflowTaskTimedOut,
                Attributes::WorkflowTaskTimedOutEventAttributes(
                    hist::WorkflowTaskTimedOutEventAttributes {
                        scheduled_event_id,
                        started_event_id: started.event_id,
                        timeout_type,
                    },
                ),
            );
            self.wft = None;
            self.sticky = None;
            self.requeue_sent_updates();
            self.retry_workflow_task(attempt);
        } else if timeout_type == TimeoutType::ScheduleToStart as i32
            && task.started.is_none()
            && task.sticky
        {
            // Nobody took the task from the sticky queue: go back to the normal queue.
            self.append(
                EventType::WorkflowTaskTimedOut,
                Attributes::WorkflowTaskTimedOutEventAttributes(
                    hist::WorkflowTaskTimedOutEventAttributes {
                        scheduled_event_id,
                        started_event_id: 0,
                        timeout_type,
                    },
                ),
            );
            self.wft = None;
            self.sticky = None;
            self.schedule_workflow_task(attempt);
        }
    }

    /// Whether completing the started speculative task with `request` leaves no trace, as the
    /// official server decides: no commands, no heartbeat, nothing that arrived meanwhile, only
    /// update rejections, and the events the task showed besides its own (the previous task's
    /// `WorkflowTaskCompleted` and the events of its commands, which the next task shows again)
    /// are few: none but that `WorkflowTaskCompleted` unless the worker says it can take events
    /// again, and at most [`DISCARD_SPECULATIVE_MAX_EVENTS`] more if it does.
    fn may_discard_speculative(&self, request: &ws::RespondWorkflowTaskCompletedRequest) -> bool {
        if self.speculative.is_empty()
            || self.is_transient_task()
            || !request.commands.is_empty()
            || request.force_create_new_workflow_task
            || !self.buffered.is_empty()
        {
            return false;
        }
        let repeats_events = request
            .capabilities
            .is_some_and(|c| c.discard_speculative_workflow_task_with_events);
        let allowed = if repeats_events {
            DISCARD_SPECULATIVE_MAX_EVENTS
        } else {
            0
        };
        // Stored events after the last completed task's `WorkflowTaskStarted`: its
        // `WorkflowTaskCompleted`, then any events of its commands.
        let shown = self.next_event_id - 1 - self.previous_started_event_id;
        if shown > 1 + allowed {
            return false;
        }
        request.messages.iter().all(|m| {
            m.body
                .as_ref()
                .is_some_and(|b| errors::is_type::<upd::Rejection>(&b.type_url))
        })
    }

    /// `RespondWorkflowTaskCompleted`: the task's commands and messages become events. Returns
    /// true when the task was a speculative one that left no trace (the worker must roll back).
    pub(crate) fn complete_workflow_task(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        request: &ws::RespondWorkflowTaskCompletedRequest,
    ) -> Result<bool, Status> {
        let started = self.check_workflow_task(scheduled_event_id, attempt)?;
        self.record_query_results(&request.query_results);
        // Validate every command before writing anything.
        let refusal = match self.validate_commands(&request.commands, &request.messages) {
            Err((cause, message)) => Some(super::limits::Refusal {
                cause,
                message,
                terminate: false,
            }),
            Ok(()) => super::limits::check_commands(self, &request.commands).err(),
        };
        if let Some(refusal) = refusal {
            let message = super::limits::cause_message(refusal.cause, &refusal.message);
            self.fail_workflow_task_with(
                scheduled_event_id,
                started,
                refusal.cause as i32,
                Some(Failure {
                    message: message.clone(),
                    ..Default::default()
                }),
                &request.identity,
            );
            if refusal.terminate {
                self.terminate(
                    &message,
                    None,
                    crate::server::limits::HISTORY_SERVICE_IDENTITY,
                );
            }
            return Err(errors::invalid(message));
        }
        if self.may_discard_speculative(request) {
            // A speculative task that only rejected updates leaves no trace in the history.
            self.speculative.clear();
            self.wft = None;
            self.apply_rejections(&request.messages);
            self.reject_unprocessed_updates(scheduled_event_id);
            if self
                .updates
                .values()
                .any(|u| u.state == UpdateState::Admitted)
            {
                self.schedule_speculative_workflow_task();
            }
            self.touched = true;
            return Ok(true);
        }
        let closes = request
            .commands
            .iter()
            .any(super::commands::closes_workflow);
        if closes && !self.buffered.is_empty() {
            // New events arrived while the worker decided to close: it must see them first.
            self.fail_workflow_task_with(
                scheduled_event_id,
                started,
                WorkflowTaskFailedCause::UnhandledCommand as i32,
                Some(Failure {
                    message:
                        "UnhandledCommand: new events arrived while the workflow task was running"
                            .into(),
                    ..Default::default()
                }),
                &request.identity,
            );
            return Ok(false);
        }
        let completed_id = self.append(
            EventType::WorkflowTaskCompleted,
            Attributes::WorkflowTaskCompletedEventAttributes(
                hist::WorkflowTaskCompletedEventAttributes {
                    scheduled_event_id,
                    started_event_id: started,
                    identity: request.identity.clone(),
                    sdk_metadata: Some(request.sdk_metadata.clone().unwrap_or_default()),
                    metering_metadata: Some(request.metering_metadata.unwrap_or_default()),
                    ..Default::default()
                },
            ),
        );
        self.wft = None;
        self.previous_started_event_id = started;
        self.sticky = request.sticky_attributes.as_ref().and_then(|s| {
            let queue = s.worker_task_queue.as_ref()?.name.clone();
            (!queue.is_empty()).then(|| Sticky {
                queue,
                schedule_to_start: {
                    let d = std_duration(s.schedule_to_start_timeout.as_ref());
                    if d.is_zero() {
                        Duration::from_secs(5)
                    } else {
                        d
                    }
                },
            })
        });
        let needs_task = self.apply_commands(completed_id, request)?;
        self.reject_unprocessed_updates(scheduled_event_id);
        if self.is_open() {
            let flushed = self.flush_buffered();
            let admitted = self
                .updates
                .values()
                .any(|u| u.state == UpdateState::Admitted);
            if flushed || needs_task || request.force_create_new_workflow_task {
                self.schedule_workflow_task_if_needed();
            } else if admitted {
                self.schedule_speculative_workflow_task();
            }
        }
        Ok(false)
    }
}

impl Engine {
    /// Claims a workflow or query task taken from matching; `None` if it went stale.
    pub(crate) fn claim_workflow_task(
        &self,
        task: Task,
        identity: &str,
        from_sticky: bool,
    ) -> Result<Option<ws::PollWorkflowTaskQueueResponse>, Status> {
        match task {
            Task::Workflow {
                run,
                scheduled_event_id,
            } => {
                let request_id = super::lifecycle::new_run_id();
                let mut claimed = match self.with_run(&run, |ms| {
                    Ok(ms.start_workflow_task(scheduled_event_id, identity, &request_id))
                }) {
                    Ok(Some(c)) => c,
                    Ok(None) | Err(_) => return Ok(None),
                };
                // Only a sticky poller has the run cached: anyone else gets the whole history.
                claimed.partial_history &= from_sticky;
                self.poll_response(claimed).map(Some)
            }
            Task::Query { run, query_id } => self.claim_query_task(run, query_id, from_sticky),
            Task::Activity { .. } => Ok(None),
        }
    }

    /// Builds the poll response of a started workflow task.
    pub(crate) fn poll_response(
        &self,
        c: ClaimedTask,
    ) -> Result<ws::PollWorkflowTaskQueueResponse, Status> {
        let first = if c.partial_history {
            c.previous_started_event_id + 1
        } else {
            1
        };
        let stored_last = c.started_event_id - c.speculative.len() as i64;
        let count = usize::try_from(stored_last - first + 1).unwrap_or(0);
        let mut events = self.read_events(&c.run, first, count)?;
        events.extend(
            c.speculative
                .iter()
                .filter(|e| e.event_id >= first)
                .cloned(),
        );
        let backlog = self.matching.backlog(&QueueKey {
            namespace: c.run.namespace.clone(),
            name: c.task_queue.clone(),
            queue_type: QueueType::Workflow,
        });
        Ok(ws::PollWorkflowTaskQueueResponse {
            task_token: Token::Workflow {
                run: c.run.clone(),
                scheduled_event_id: c.scheduled_event_id,
                attempt: c.attempt,
            }
            .encode(),
            workflow_execution: Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
                workflow_id: c.run.workflow_id.clone(),
                run_id: c.run.run_id.clone(),
            }),
            workflow_type: Some(WorkflowType {
                name: c.workflow_type,
            }),
            previous_started_event_id: c.previous_started_event_id,
            started_event_id: c.started_event_id,
            attempt: c.attempt,
            backlog_count_hint: backlog as i64,
            history: Some(History { events }),
            workflow_execution_task_queue: Some(normal_queue(&c.task_queue)),
            scheduled_time: Some(Timestamp::from(c.scheduled_time)),
            started_time: Some(Timestamp::from(c.started_time)),
            messages: c.messages,
            queries: c.queries,
            ..Default::default()
        })
    }

    /// `RespondWorkflowTaskCompleted`.
    pub(crate) fn respond_workflow_task_completed(
        &self,
        request: &ws::RespondWorkflowTaskCompletedRequest,
    ) -> Result<ws::RespondWorkflowTaskCompletedResponse, Status> {
        let Some(Token::Workflow {
            run,
            scheduled_event_id,
            attempt,
        }) = Token::decode(&request.task_token)
        else {
            return Err(errors::invalid("task token is not a workflow task token"));
        };
        crate::server::token::check_namespace(&request.namespace, &run)?;
        let identity = request.identity.clone();
        let request_id = super::lifecycle::new_run_id();
        let (claimed, reset_history_event_id) = self.with_run(&run, |ms| {
            // A discarded (speculative) task tells the worker where the history really ends.
            let reset = if ms.complete_workflow_task(scheduled_event_id, attempt, request)? {
                ms.previous_started_event_id
            } else {
                0
            };
            // Eager: hand the next workflow task straight back to this worker.
            if request.return_new_workflow_task
                && let Some(next) = ms.wft.as_ref().filter(|t| t.started.is_none())
            {
                let id = next.scheduled_event_id;
                return Ok((ms.start_workflow_task(id, &identity, &request_id), reset));
            }
            Ok((None, reset))
        })?;
        let workflow_task = match claimed {
            Some(c) => Some(self.poll_response(c)?),
            None => None,
        };
        Ok(ws::RespondWorkflowTaskCompletedResponse {
            workflow_task,
            reset_history_event_id,
            ..Default::default()
        })
    }

    /// `RespondWorkflowTaskFailed`.
    pub(crate) fn respond_workflow_task_failed(
        &self,
        request: &ws::RespondWorkflowTaskFailedRequest,
    ) -> Result<(), Status> {
        let Some(Token::Workflow {
            run,
            scheduled_event_id,
            attempt,
        }) = Token::decode(&request.task_token)
        else {
            return Err(errors::invalid("task token is not a workflow task token"));
        };
        crate::server::token::check_namespace(&request.namespace, &run)?;
        self.with_run(&run, |ms| {
            ms.workflow_task_failed(scheduled_event_id, attempt, request)
        })
    }

    /// `ResetStickyTaskQueue`.
    pub(crate) fn reset_sticky(&self, run: &RunKey) -> Result<(), Status> {
        self.with_run(run, |ms| {
            ms.sticky = None;
            Ok(())
        })
    }
}
