//! Activities: scheduling, dispatch to pollers, results, retries with backoff, timeouts,
//! heartbeats and cancellation.

use super::state::{
    Activity, ActivityStarted, MutableState, normal_queue, pb_duration, std_duration,
};
use super::{Engine, errors};
use crate::server::token::Token;
use crate::store::{RunKey, TaskRecord, TimerKind};
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::command::v1::ScheduleActivityTaskCommandAttributes;
use reprise::api::temporal::api::common::v1::{Payloads, Priority, RetryPolicy, WorkflowType};
use reprise::api::temporal::api::enums::v1::{EventType, RetryState, TimeoutType};
use reprise::api::temporal::api::failure::v1::{Failure, TimeoutFailureInfo, failure::FailureInfo};
use reprise::api::temporal::api::history::v1::{
    self as hist, HistoryEvent, history_event::Attributes,
};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::time::Duration;
use tonic::Status;

/// How an activity attempt ended, as reported by a worker.
#[derive(Debug, Clone)]
pub(crate) enum ActivityOutcome {
    Completed(Option<Payloads>),
    Failed(Box<Failure>),
    Canceled(Option<Payloads>),
}

/// Fills in the retry policy the way the official server does.
fn default_retry_policy(given: Option<&RetryPolicy>) -> RetryPolicy {
    let mut p = given.cloned().unwrap_or_default();
    if std_duration(p.initial_interval.as_ref()).is_zero() {
        p.initial_interval = Some(pb_duration(Duration::from_secs(1)));
    }
    if p.backoff_coefficient < 1.0 {
        p.backoff_coefficient = 2.0;
    }
    if std_duration(p.maximum_interval.as_ref()).is_zero() {
        p.maximum_interval = Some(pb_duration(std_duration(p.initial_interval.as_ref()) * 100));
    }
    p
}

fn timeout_name(timeout_type: i32) -> &'static str {
    match TimeoutType::try_from(timeout_type) {
        Ok(TimeoutType::StartToClose) => "StartToClose",
        Ok(TimeoutType::ScheduleToStart) => "ScheduleToStart",
        Ok(TimeoutType::ScheduleToClose) => "ScheduleToClose",
        Ok(TimeoutType::Heartbeat) => "Heartbeat",
        _ => "Unspecified",
    }
}

impl MutableState {
    /// `ScheduleActivityTask`: the event, the pending activity, its task and timers.
    pub(crate) fn schedule_activity(
        &mut self,
        completed_id: i64,
        a: &ScheduleActivityTaskCommandAttributes,
    ) {
        let schedule_to_close = std_duration(a.schedule_to_close_timeout.as_ref());
        let mut start_to_close = std_duration(a.start_to_close_timeout.as_ref());
        let mut schedule_to_start = std_duration(a.schedule_to_start_timeout.as_ref());
        if !schedule_to_close.is_zero() {
            if start_to_close.is_zero() || start_to_close > schedule_to_close {
                start_to_close = schedule_to_close;
            }
            if schedule_to_start.is_zero() || schedule_to_start > schedule_to_close {
                schedule_to_start = schedule_to_close;
            }
        }
        let heartbeat = std_duration(a.heartbeat_timeout.as_ref()).min(start_to_close);
        let retry_policy = default_retry_policy(a.retry_policy.as_ref());
        let task_queue = a
            .task_queue
            .as_ref()
            .map(|t| t.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.task_queue.clone());
        let activity_type = a.activity_type.clone().unwrap_or_default();
        #[allow(deprecated)]
        let id = self.append(
            EventType::ActivityTaskScheduled,
            Attributes::ActivityTaskScheduledEventAttributes(
                hist::ActivityTaskScheduledEventAttributes {
                    activity_id: a.activity_id.clone(),
                    activity_type: Some(activity_type.clone()),
                    task_queue: Some(normal_queue(&task_queue)),
                    header: Some(a.header.clone().unwrap_or_default()),
                    input: a.input.clone(),
                    schedule_to_close_timeout: Some(pb_duration(schedule_to_close)),
                    schedule_to_start_timeout: Some(pb_duration(schedule_to_start)),
                    start_to_close_timeout: Some(pb_duration(start_to_close)),
                    heartbeat_timeout: Some(pb_duration(heartbeat)),
                    workflow_task_completed_event_id: completed_id,
                    retry_policy: Some(retry_policy.clone()),
                    use_workflow_build_id: a.use_workflow_build_id,
                    priority: Some(a.priority.clone().unwrap_or_default()),
                },
            ),
        );
        self.activities.insert(
            id,
            Activity {
                scheduled_event_id: id,
                activity_id: a.activity_id.clone(),
                activity_type,
                task_queue,
                header: a.header.clone(),
                input: a.input.clone(),
                schedule_to_close,
                schedule_to_start,
                start_to_close,
                heartbeat,
                retry_policy,
                attempt: 1,
                scheduled_time: self.now,
                attempt_scheduled_time: self.now,
                started: None,
                heartbeat_details: None,
                last_heartbeat_time: None,
                heartbeat_seq: 0,
                last_failure: None,
                last_worker_identity: String::new(),
                cancel_requested_event_id: None,
            },
        );
        if !schedule_to_close.is_zero() {
            let fire_at = self.now + schedule_to_close;
            self.add_timer(
                fire_at,
                TimerKind::ActivityTimeout {
                    scheduled_event_id: id,
                    attempt: 0,
                    timeout_type: TimeoutType::ScheduleToClose as i32,
                    heartbeat_seq: 0,
                },
            );
        }
        self.dispatch_activity(id);
    }

    /// Queues the current attempt of an activity, with its schedule-to-start timer.
    pub(crate) fn dispatch_activity(&mut self, scheduled_event_id: i64) {
        let Some(a) = self.activities.get(&scheduled_event_id) else {
            return;
        };
        let (queue, attempt, s2s) = (a.task_queue.clone(), a.attempt, a.schedule_to_start);
        self.new_tasks.push(TaskRecord::Activity {
            task_queue: queue,
            scheduled_event_id,
            attempt,
        });
        if !s2s.is_zero() {
            let fire_at = self.now + s2s;
            self.add_timer(
                fire_at,
                TimerKind::ActivityTimeout {
                    scheduled_event_id,
                    attempt,
                    timeout_type: TimeoutType::ScheduleToStart as i32,
                    heartbeat_seq: 0,
                },
            );
        }
    }

    /// `RequestCancelActivityTask`; true when the activity was canceled at once (not started).
    pub(crate) fn request_cancel_activity(
        &mut self,
        completed_id: i64,
        scheduled_event_id: i64,
        identity: &str,
    ) -> bool {
        let Some(started) = self
            .activities
            .get(&scheduled_event_id)
            .map(|a| a.started.is_some())
        else {
            return false;
        };
        let requested = self.append(
            EventType::ActivityTaskCancelRequested,
            Attributes::ActivityTaskCancelRequestedEventAttributes(
                hist::ActivityTaskCancelRequestedEventAttributes {
                    scheduled_event_id,
                    workflow_task_completed_event_id: completed_id,
                },
            ),
        );
        if started {
            if let Some(a) = self.activities.get_mut(&scheduled_event_id) {
                a.cancel_requested_event_id = Some(requested);
            }
            return false;
        }
        self.activities.remove(&scheduled_event_id);
        self.append(
            EventType::ActivityTaskCanceled,
            Attributes::ActivityTaskCanceledEventAttributes(
                hist::ActivityTaskCanceledEventAttributes {
                    latest_cancel_requested_event_id: requested,
                    scheduled_event_id,
                    identity: identity.into(),
                    ..Default::default()
                },
            ),
        );
        true
    }

    /// A poller claims an activity attempt; `None` if it went stale.
    fn start_activity(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        identity: &str,
        request_id: String,
    ) -> Option<ws::PollActivityTaskQueueResponse> {
        if !self.is_open() {
            return None;
        }
        let now = self.now;
        let a = self.activities.get_mut(&scheduled_event_id)?;
        if a.attempt != attempt || a.started.is_some() {
            return None;
        }
        a.started = Some(ActivityStarted {
            identity: identity.into(),
            request_id,
            time: now,
        });
        a.last_worker_identity = identity.into();
        a.heartbeat_seq += 1;
        let a = a.clone();
        if !a.start_to_close.is_zero() {
            self.add_timer(
                now + a.start_to_close,
                TimerKind::ActivityTimeout {
                    scheduled_event_id,
                    attempt,
                    timeout_type: TimeoutType::StartToClose as i32,
                    heartbeat_seq: 0,
                },
            );
        }
        self.arm_heartbeat_timer(&a);
        self.touched = true;
        Some(ws::PollActivityTaskQueueResponse {
            task_token: Token::Activity {
                run: self.key.clone(),
                scheduled_event_id,
                attempt,
            }
            .encode(),
            workflow_namespace: self.key.namespace.clone(),
            workflow_type: Some(WorkflowType {
                name: self.workflow_type.clone(),
            }),
            workflow_execution: Some(self.execution()),
            activity_type: Some(a.activity_type.clone()),
            activity_id: a.activity_id.clone(),
            header: a.header.clone(),
            input: a.input.clone(),
            heartbeat_details: a.heartbeat_details.clone(),
            scheduled_time: Some(Timestamp::from(a.scheduled_time)),
            current_attempt_scheduled_time: Some(Timestamp::from(a.attempt_scheduled_time)),
            started_time: Some(Timestamp::from(now)),
            attempt,
            schedule_to_close_timeout: Some(pb_duration(a.schedule_to_close)),
            start_to_close_timeout: Some(pb_duration(a.start_to_close)),
            heartbeat_timeout: Some(pb_duration(a.heartbeat)),
            retry_policy: Some(a.retry_policy.clone()),
            priority: Some(Priority::default()),
            ..Default::default()
        })
    }

    fn arm_heartbeat_timer(&mut self, a: &Activity) {
        if !a.heartbeat.is_zero() {
            let fire_at = self.now + a.heartbeat;
            self.add_timer(
                fire_at,
                TimerKind::ActivityTimeout {
                    scheduled_event_id: a.scheduled_event_id,
                    attempt: a.attempt,
                    timeout_type: TimeoutType::Heartbeat as i32,
                    heartbeat_seq: a.heartbeat_seq,
                },
            );
        }
    }

    /// Finds the started attempt a token or id names.
    fn live_activity(
        &self,
        scheduled_event_id: i64,
        attempt: Option<i32>,
    ) -> Result<&Activity, Status> {
        if !self.is_open() {
            return Err(errors::execution_completed());
        }
        match self.activities.get(&scheduled_event_id) {
            Some(a)
                if attempt.is_none_or(|n| n == a.attempt)
                    && (a.started.is_some() || attempt.is_none()) =>
            {
                Ok(a)
            }
            _ => Err(errors::task_not_found()),
        }
    }

    /// The scheduled event id of the pending activity with this activity id.
    pub(crate) fn activity_by_id(&self, activity_id: &str) -> Result<i64, Status> {
        self.activities
            .values()
            .find(|a| a.activity_id == activity_id)
            .map(|a| a.scheduled_event_id)
            .ok_or_else(errors::task_not_found)
    }

    /// The `ActivityTaskStarted` event of the attempt that is ending.
    fn started_event(&mut self, a: &Activity, identity: &str) -> HistoryEvent {
        let started = a.started.clone().unwrap_or(ActivityStarted {
            identity: identity.into(),
            request_id: super::lifecycle::new_run_id(),
            time: self.now,
        });
        let mut event = self.make_event(
            EventType::ActivityTaskStarted,
            Attributes::ActivityTaskStartedEventAttributes(
                hist::ActivityTaskStartedEventAttributes {
                    scheduled_event_id: a.scheduled_event_id,
                    identity: started.identity,
                    request_id: started.request_id,
                    attempt: a.attempt,
                    last_failure: a.last_failure.clone(),
                    ..Default::default()
                },
            ),
        );
        event.event_time = Some(reprise::api::google::protobuf::Timestamp::from(
            started.time,
        ));
        event
    }

    /// A worker reports the end of an attempt.
    pub(crate) fn activity_outcome(
        &mut self,
        scheduled_event_id: i64,
        attempt: Option<i32>,
        outcome: ActivityOutcome,
        identity: &str,
    ) -> Result<(), Status> {
        let a = self.live_activity(scheduled_event_id, attempt)?.clone();
        if let ActivityOutcome::Failed(failure) = &outcome {
            let failure: &Failure = failure;
            match self.retry_delay(&a, failure) {
                Ok(delay) => {
                    self.retry_activity(scheduled_event_id, delay, failure.clone(), identity);
                    return Ok(());
                }
                Err(state) => {
                    return self.finish_activity(
                        &a,
                        identity,
                        Finish::Failed(failure.clone(), state),
                    );
                }
            }
        }
        let finish = match outcome {
            ActivityOutcome::Completed(result) => Finish::Completed(result),
            ActivityOutcome::Canceled(details) => Finish::Canceled(details),
            ActivityOutcome::Failed(_) => return Ok(()),
        };
        self.finish_activity(&a, identity, finish)
    }

    fn finish_activity(
        &mut self,
        a: &Activity,
        identity: &str,
        finish: Finish,
    ) -> Result<(), Status> {
        let with_started = a.started.is_some() || !matches!(finish, Finish::TimedOut(..));
        // -1: "the event just before me", resolved when the event gets its id (see `write`).
        let started_id = if with_started { -1 } else { 0 };
        let started = self.started_event(a, identity);
        let scheduled_event_id = a.scheduled_event_id;
        let end = match finish {
            Finish::Completed(result) => (
                EventType::ActivityTaskCompleted,
                Attributes::ActivityTaskCompletedEventAttributes(
                    hist::ActivityTaskCompletedEventAttributes {
                        result,
                        scheduled_event_id,
                        started_event_id: started_id,
                        identity: identity.into(),
                        ..Default::default()
                    },
                ),
            ),
            Finish::Failed(failure, retry_state) => (
                EventType::ActivityTaskFailed,
                Attributes::ActivityTaskFailedEventAttributes(
                    hist::ActivityTaskFailedEventAttributes {
                        failure: Some(failure),
                        scheduled_event_id,
                        started_event_id: started_id,
                        identity: identity.into(),
                        retry_state: retry_state as i32,
                        ..Default::default()
                    },
                ),
            ),
            Finish::Canceled(details) => (
                EventType::ActivityTaskCanceled,
                Attributes::ActivityTaskCanceledEventAttributes(
                    hist::ActivityTaskCanceledEventAttributes {
                        details,
                        latest_cancel_requested_event_id: a
                            .cancel_requested_event_id
                            .unwrap_or_default(),
                        scheduled_event_id,
                        started_event_id: started_id,
                        identity: identity.into(),
                        ..Default::default()
                    },
                ),
            ),
            Finish::TimedOut(failure, retry_state) => (
                EventType::ActivityTaskTimedOut,
                Attributes::ActivityTaskTimedOutEventAttributes(
                    hist::ActivityTaskTimedOutEventAttributes {
                        failure: Some(failure),
                        scheduled_event_id,
                        started_event_id: started_id,
                        retry_state: retry_state as i32,
                    },
                ),
            ),
        };
        self.activities.remove(&scheduled_event_id);
        let end = self.make_event(end.0, end.1);
        let events = if with_started {
            vec![started, end]
        } else {
            vec![end]
        };
        self.append_external_events(events);
        Ok(())
    }

    /// The backoff before the next attempt, or why there is none.
    fn retry_delay(&self, a: &Activity, failure: &Failure) -> Result<Duration, RetryState> {
        let p = &a.retry_policy;
        if let Some(FailureInfo::ApplicationFailureInfo(info)) = &failure.failure_info
            && (info.non_retryable || p.non_retryable_error_types.contains(&info.r#type))
        {
            return Err(RetryState::NonRetryableFailure);
        }
        // The server's own failures (an answer over the blob limit) end the activity.
        if let Some(FailureInfo::ServerFailureInfo(info)) = &failure.failure_info
            && info.non_retryable
        {
            return Err(RetryState::NonRetryableFailure);
        }
        if p.maximum_attempts > 0 && a.attempt >= p.maximum_attempts {
            return Err(RetryState::MaximumAttemptsReached);
        }
        let next_retry_delay = match &failure.failure_info {
            Some(FailureInfo::ApplicationFailureInfo(info)) => {
                Some(std_duration(info.next_retry_delay.as_ref())).filter(|d| !d.is_zero())
            }
            _ => None,
        };
        let delay = next_retry_delay.unwrap_or_else(|| {
            let initial = std_duration(p.initial_interval.as_ref()).as_secs_f64();
            let exp = (a.attempt - 1).clamp(0, 64);
            let secs = initial * p.backoff_coefficient.powi(exp);
            let max = std_duration(p.maximum_interval.as_ref()).as_secs_f64();
            let secs = if max > 0.0 { secs.min(max) } else { secs };
            Duration::try_from_secs_f64(secs).unwrap_or(Duration::from_secs(1))
        });
        if !a.schedule_to_close.is_zero()
            && self.now + delay >= a.scheduled_time + a.schedule_to_close
        {
            return Err(RetryState::Timeout);
        }
        Ok(delay)
    }

    fn retry_activity(
        &mut self,
        scheduled_event_id: i64,
        delay: Duration,
        failure: Failure,
        identity: &str,
    ) {
        let now = self.now;
        let Some(a) = self.activities.get_mut(&scheduled_event_id) else {
            return;
        };
        a.attempt += 1;
        a.started = None;
        a.last_failure = Some(failure);
        a.last_worker_identity = identity.into();
        a.attempt_scheduled_time = now + delay;
        a.heartbeat_seq += 1;
        let attempt = a.attempt;
        self.touched = true;
        self.add_timer(
            now + delay,
            TimerKind::ActivityRetry {
                scheduled_event_id,
                attempt,
            },
        );
    }

    /// The backoff of an activity is over: queue its next attempt.
    pub(crate) fn activity_retry_due(&mut self, scheduled_event_id: i64, attempt: i32) {
        if self
            .activities
            .get(&scheduled_event_id)
            .is_some_and(|a| a.attempt == attempt && a.started.is_none())
        {
            self.dispatch_activity(scheduled_event_id);
        }
    }

    /// An activity timer fired.
    pub(crate) fn activity_timeout(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        timeout_type: i32,
        seq: u64,
    ) {
        let Some(a) = self.activities.get(&scheduled_event_id).cloned() else {
            return;
        };
        if !self.activity_timeout_applies(scheduled_event_id, attempt, timeout_type, seq) {
            return;
        }
        let kind = TimeoutType::try_from(timeout_type).unwrap_or(TimeoutType::Unspecified);
        let failure = Failure {
            message: format!("activity {} timeout", timeout_name(timeout_type)),
            failure_info: Some(FailureInfo::TimeoutFailureInfo(TimeoutFailureInfo {
                timeout_type,
                last_heartbeat_details: a.heartbeat_details.clone(),
            })),
            cause: match kind {
                TimeoutType::ScheduleToClose => a.last_failure.clone().map(Box::new),
                _ => None,
            },
            ..Default::default()
        };
        let retryable = matches!(kind, TimeoutType::StartToClose | TimeoutType::Heartbeat);
        let decision = if retryable {
            self.retry_delay(&a, &failure)
        } else {
            Err(RetryState::Timeout)
        };
        match decision {
            Ok(delay) => self.retry_activity(scheduled_event_id, delay, failure, ""),
            Err(state) => {
                let state = if retryable {
                    state
                } else {
                    RetryState::Timeout
                };
                let _ = self.finish_activity(&a, "", Finish::TimedOut(failure, state));
            }
        }
    }

    /// A heartbeat: details recorded, heartbeat deadline pushed back. Returns whether the
    /// workflow asked to cancel the activity.
    pub(crate) fn heartbeat(
        &mut self,
        scheduled_event_id: i64,
        attempt: Option<i32>,
        details: Option<Payloads>,
    ) -> Result<bool, Status> {
        self.live_activity(scheduled_event_id, attempt)?;
        let now = self.now;
        let Some(a) = self.activities.get_mut(&scheduled_event_id) else {
            return Err(errors::task_not_found());
        };
        if a.started.is_none() {
            return Err(errors::task_not_found());
        }
        a.heartbeat_details = details.or(a.heartbeat_details.take());
        a.last_heartbeat_time = Some(now);
        a.heartbeat_seq += 1;
        let cancel = a.cancel_requested_event_id.is_some();
        let a = a.clone();
        self.arm_heartbeat_timer(&a);
        self.touched = true;
        Ok(cancel)
    }
}

enum Finish {
    Completed(Option<Payloads>),
    Failed(Failure, RetryState),
    Canceled(Option<Payloads>),
    TimedOut(Failure, RetryState),
}

impl Engine {
    /// Claims an activity attempt taken from matching; `None` if it went stale.
    pub(crate) fn claim_activity_task(
        &self,
        run: &RunKey,
        scheduled_event_id: i64,
        attempt: i32,
        identity: &str,
    ) -> Option<ws::PollActivityTaskQueueResponse> {
        let request_id = super::lifecycle::new_run_id();
        self.with_run(run, |ms| {
            Ok(ms.start_activity(scheduled_event_id, attempt, identity, request_id))
        })
        .ok()
        .flatten()
    }

    /// Resolves an activity by token, for a request naming `namespace`.
    pub(crate) fn activity_by_token(
        namespace: &str,
        token: &[u8],
    ) -> Result<(RunKey, i64, i32), Status> {
        match Token::decode(token) {
            Some(Token::Activity {
                run,
                scheduled_event_id,
                attempt,
            }) => {
                crate::server::token::check_namespace(namespace, &run)?;
                Ok((run, scheduled_event_id, attempt))
            }
            _ => Err(errors::invalid("task token is not an activity task token")),
        }
    }

    /// Reports an attempt's end by token or by id (`attempt` None).
    pub(crate) fn activity_outcome(
        &self,
        run: &RunKey,
        by: ActivityRef<'_>,
        outcome: ActivityOutcome,
        identity: &str,
    ) -> Result<(), Status> {
        self.with_run(run, |ms| {
            let (scheduled, attempt) = by.resolve(ms)?;
            ms.activity_outcome(scheduled, attempt, outcome, identity)
        })
    }

    /// Records a heartbeat by token or by id.
    pub(crate) fn heartbeat(
        &self,
        run: &RunKey,
        by: ActivityRef<'_>,
        details: Option<Payloads>,
    ) -> Result<bool, Status> {
        self.with_run(run, |ms| {
            let (scheduled, attempt) = by.resolve(ms)?;
            ms.heartbeat(scheduled, attempt, details)
        })
    }
}

/// How a request names an activity.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ActivityRef<'a> {
    Token {
        scheduled_event_id: i64,
        attempt: i32,
    },
    Id(&'a str),
}

impl ActivityRef<'_> {
    fn resolve(self, ms: &MutableState) -> Result<(i64, Option<i32>), Status> {
        match self {
            ActivityRef::Token {
                scheduled_event_id,
                attempt,
            } => Ok((scheduled_event_id, Some(attempt))),
            ActivityRef::Id(id) => Ok((ms.activity_by_id(id)?, None)),
        }
    }
}
