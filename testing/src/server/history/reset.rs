//! `ResetWorkflowExecution`: a new run whose history is the base run's up to a workflow task,
//! that task failed with cause `ResetWorkflow`, then the signals and updates the base run got
//! after that point re-applied (by the request's policy), then a new workflow task. The current
//! run, if open, is terminated (reason: the request's, identity `history-resetter`) in the same
//! store commit. As the official server: the reset event must be the one right after a workflow
//! task's started event (its `WorkflowTaskCompleted`, `Failed` or `TimedOut`) or after its
//! scheduled event; pending child workflows at that point refuse the reset; activities pending
//! at that point are scheduled again; the new run keeps the base's first run id and original
//! start time, the base gets `reset_run_id`.

use super::state::{Activity, MutableState, Update, UpdateState, std_duration};
use super::{Engine, errors};
use crate::store::{RunKey, TimerKind};
use reprise::api::temporal::api::enums::v1::{
    EventType, ResetReapplyExcludeType, ResetReapplyType, UpdateAdmittedEventOrigin,
    WorkflowTaskFailedCause,
};
use reprise::api::temporal::api::failure::v1::{Failure, ResetWorkflowFailureInfo, failure};
use reprise::api::temporal::api::history::v1::{self as hist, HistoryEvent};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::collections::{BTreeMap, HashSet};
use std::time::SystemTime;
use tonic::Status;

use hist::history_event::Attributes as A;

/// The identity the official server gives the events it writes for a reset.
const HISTORY_SERVICE: &str = "history-service";
/// The identity of the termination of the run a reset replaces.
const RESETTER: &str = "history-resetter";

/// What the reset re-applies from after the reset point.
#[derive(Debug, Clone, Copy)]
struct Reapply {
    signals: bool,
    updates: bool,
}

impl Reapply {
    fn of(request: &ws::ResetWorkflowExecutionRequest) -> Reapply {
        let mut reapply = Reapply {
            signals: true,
            updates: true,
        };
        #[allow(deprecated)]
        match ResetReapplyType::try_from(request.reset_reapply_type) {
            Ok(ResetReapplyType::None) => {
                reapply.signals = false;
                reapply.updates = false;
            }
            Ok(ResetReapplyType::Signal) => reapply.updates = false,
            _ => {}
        }
        for exclude in &request.reset_reapply_exclude_types {
            match ResetReapplyExcludeType::try_from(*exclude) {
                Ok(ResetReapplyExcludeType::Signal) => reapply.signals = false,
                Ok(ResetReapplyExcludeType::Update) => reapply.updates = false,
                _ => {}
            }
        }
        reapply
    }
}

/// The pending work a history prefix leaves, found by walking its events.
#[derive(Debug, Default)]
struct Pending {
    /// Scheduled event id → its attributes, for activities not closed.
    activities: BTreeMap<i64, hist::ActivityTaskScheduledEventAttributes>,
    cancel_requested: BTreeMap<i64, i64>,
    /// Timer id → (started event id, fire time).
    timers: BTreeMap<String, (i64, SystemTime)>,
    children: HashSet<i64>,
    externals: HashSet<i64>,
    /// Update id → (request, accepted event id, outcome).
    updates: BTreeMap<
        String,
        (
            Option<reprise::api::temporal::api::update::v1::Request>,
            i64,
        ),
    >,
    completed_updates: BTreeMap<String, reprise::api::temporal::api::update::v1::Outcome>,
    /// The last workflow task: scheduled event id and started event id (0 = not started).
    wft: Option<(i64, i64)>,
    previous_started: i64,
    cancel_requested_run: bool,
}

fn time_of(event: &HistoryEvent) -> SystemTime {
    let Some(t) = event.event_time else {
        return SystemTime::UNIX_EPOCH;
    };
    let since = std::time::Duration::new(
        u64::try_from(t.seconds).unwrap_or(0),
        u32::try_from(t.nanos).unwrap_or(0),
    );
    SystemTime::UNIX_EPOCH + since
}

impl Pending {
    fn walk(&mut self, event: &HistoryEvent, ms: &mut MutableState) {
        let Some(attributes) = &event.attributes else {
            return;
        };
        let id = event.event_id;
        match attributes {
            A::WorkflowExecutionStartedEventAttributes(a) => {
                ms.memo = a.memo.clone();
                ms.search_attributes = a.search_attributes.clone();
            }
            A::UpsertWorkflowSearchAttributesEventAttributes(a) => {
                if let Some(sa) = &a.search_attributes {
                    super::commands::merge_search_attributes(&mut ms.search_attributes, sa);
                }
            }
            A::WorkflowPropertiesModifiedEventAttributes(a) => {
                if let Some(memo) = &a.upserted_memo {
                    super::commands::merge_memo(&mut ms.memo, memo);
                }
            }
            A::WorkflowTaskScheduledEventAttributes(_) => self.wft = Some((id, 0)),
            A::WorkflowTaskStartedEventAttributes(a) => {
                self.wft = Some((a.scheduled_event_id, id));
            }
            A::WorkflowTaskCompletedEventAttributes(a) => {
                self.previous_started = a.started_event_id;
                self.wft = None;
            }
            A::WorkflowTaskFailedEventAttributes(_) | A::WorkflowTaskTimedOutEventAttributes(_) => {
                self.wft = None;
            }
            A::ActivityTaskScheduledEventAttributes(a) => {
                self.activities.insert(id, a.clone());
            }
            A::ActivityTaskCancelRequestedEventAttributes(a) => {
                self.cancel_requested.insert(a.scheduled_event_id, id);
            }
            A::ActivityTaskCompletedEventAttributes(a) => {
                self.activities.remove(&a.scheduled_event_id);
            }
            A::ActivityTaskFailedEventAttributes(a) => {
                self.activities.remove(&a.scheduled_event_id);
            }
            A::ActivityTaskTimedOutEventAttributes(a) => {
                self.activities.remove(&a.scheduled_event_id);
            }
            A::ActivityTaskCanceledEventAttributes(a) => {
                self.activities.remove(&a.scheduled_event_id);
            }
            A::TimerStartedEventAttributes(a) => {
                let fire_at = time_of(event) + std_duration(a.start_to_fire_timeout.as_ref());
                self.timers.insert(a.timer_id.clone(), (id, fire_at));
            }
            A::TimerFiredEventAttributes(a) => {
                self.timers.remove(&a.timer_id);
            }
            A::TimerCanceledEventAttributes(a) => {
                self.timers.remove(&a.timer_id);
            }
            A::StartChildWorkflowExecutionInitiatedEventAttributes(_) => {
                self.children.insert(id);
            }
            A::StartChildWorkflowExecutionFailedEventAttributes(a) => {
                self.children.remove(&a.initiated_event_id);
            }
            A::ChildWorkflowExecutionCompletedEventAttributes(a) => {
                self.children.remove(&a.initiated_event_id);
            }
            A::ChildWorkflowExecutionFailedEventAttributes(a) => {
                self.children.remove(&a.initiated_event_id);
            }
            A::ChildWorkflowExecutionCanceledEventAttributes(a) => {
                self.children.remove(&a.initiated_event_id);
            }
            A::ChildWorkflowExecutionTimedOutEventAttributes(a) => {
                self.children.remove(&a.initiated_event_id);
            }
            A::ChildWorkflowExecutionTerminatedEventAttributes(a) => {
                self.children.remove(&a.initiated_event_id);
            }
            A::SignalExternalWorkflowExecutionInitiatedEventAttributes(_)
            | A::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(_) => {
                self.externals.insert(id);
            }
            A::ExternalWorkflowExecutionSignaledEventAttributes(a) => {
                self.externals.remove(&a.initiated_event_id);
            }
            A::SignalExternalWorkflowExecutionFailedEventAttributes(a) => {
                self.externals.remove(&a.initiated_event_id);
            }
            A::ExternalWorkflowExecutionCancelRequestedEventAttributes(a) => {
                self.externals.remove(&a.initiated_event_id);
            }
            A::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a) => {
                self.externals.remove(&a.initiated_event_id);
            }
            A::WorkflowExecutionCancelRequestedEventAttributes(_) => {
                self.cancel_requested_run = true;
            }
            A::WorkflowExecutionUpdateAdmittedEventAttributes(a) => {
                if let Some(request) = &a.request {
                    let update_id = request
                        .meta
                        .as_ref()
                        .map(|m| m.update_id.clone())
                        .unwrap_or_default();
                    self.updates.insert(update_id, (Some(request.clone()), 0));
                }
            }
            A::WorkflowExecutionUpdateAcceptedEventAttributes(a) => {
                let entry = self
                    .updates
                    .entry(a.protocol_instance_id.clone())
                    .or_insert((None, 0));
                if a.accepted_request.is_some() {
                    entry.0 = a.accepted_request.clone();
                }
                entry.1 = id;
            }
            A::WorkflowExecutionUpdateCompletedEventAttributes(a) => {
                let update_id = a
                    .meta
                    .as_ref()
                    .map(|m| m.update_id.clone())
                    .unwrap_or_default();
                if let Some(outcome) = &a.outcome {
                    self.completed_updates.insert(update_id, outcome.clone());
                }
            }
            _ => {}
        }
    }
}

/// Checks the reset point against the base history: the event right after a workflow task's
/// started (or scheduled) event.
fn check_point(events: &[HistoryEvent], finish_id: i64) -> Result<(), Status> {
    let range = || {
        errors::invalid(format!(
            "Can only reset workflow to event ID in range [WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: {finish_id}"
        ))
    };
    if finish_id < 2 || finish_id as usize > events.len() + 1 {
        return Err(range());
    }
    let before = &events[finish_id as usize - 2];
    let ok = before.event_type == EventType::WorkflowTaskStarted as i32
        || before.event_type == EventType::WorkflowTaskScheduled as i32;
    if ok { Ok(()) } else { Err(range()) }
}

/// The new run of a reset: `base`'s settings, `prefix` as its first events, the pending work
/// of that prefix, the failed workflow task.
fn rebuild(
    base: &MutableState,
    prefix: &[HistoryEvent],
    new_run_id: &str,
    reason: &str,
    now: SystemTime,
) -> Result<MutableState, Status> {
    let key = RunKey {
        namespace: base.key.namespace.clone(),
        workflow_id: base.key.workflow_id.clone(),
        run_id: new_run_id.to_string(),
    };
    let mut ms = MutableState::new(
        key,
        base.workflow_type.clone(),
        base.task_queue.clone(),
        now,
    );
    ms.first_run_id = base.first_run_id.clone();
    ms.start = base.start.clone();
    ms.start_request_id = base.start_request_id.clone();
    ms.workflow_task_timeout = base.workflow_task_timeout;
    ms.run_timeout = base.run_timeout;
    ms.execution_timeout = base.execution_timeout;
    ms.parent = base.parent.clone();
    ms.retention = base.retention;
    ms.attempt = base.attempt;
    ms.original_start_time = Some(base.original_start_time.unwrap_or(base.start_time));
    ms.last_reset_time = Some(now);
    let mut pending = Pending::default();
    for event in prefix {
        pending.walk(event, &mut ms);
        ms.next_event_id = event.event_id + 1;
        ms.history_size += prost::Message::encoded_len(event) as i64;
        ms.new_events.push(event.clone());
    }
    if !pending.children.is_empty() {
        return Err(errors::invalid(
            "WorkflowResetter encountered pending child workflows.",
        ));
    }
    if !pending.externals.is_empty() {
        return Err(Status::unimplemented(
            "this server cannot reset to a point with a signal or cancellation request to \
             another workflow in flight",
        ));
    }
    let Some((scheduled, started)) = pending.wft else {
        return Err(errors::invalid(format!(
            "Can only reset workflow to event ID in range [WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: {}",
            ms.next_event_id
        )));
    };
    ms.previous_started_event_id = pending.previous_started;
    ms.cancel_requested = pending.cancel_requested_run;
    let started = if started > 0 {
        started
    } else {
        ms.append(
            EventType::WorkflowTaskStarted,
            A::WorkflowTaskStartedEventAttributes(hist::WorkflowTaskStartedEventAttributes {
                scheduled_event_id: scheduled,
                identity: HISTORY_SERVICE.into(),
                request_id: super::new_id(),
                ..Default::default()
            }),
        )
    };
    ms.append(
        EventType::WorkflowTaskFailed,
        A::WorkflowTaskFailedEventAttributes(hist::WorkflowTaskFailedEventAttributes {
            scheduled_event_id: scheduled,
            started_event_id: started,
            cause: WorkflowTaskFailedCause::ResetWorkflow as i32,
            failure: Some(Failure {
                message: reason.to_string(),
                failure_info: Some(failure::FailureInfo::ResetWorkflowFailureInfo(
                    ResetWorkflowFailureInfo::default(),
                )),
                ..Default::default()
            }),
            identity: HISTORY_SERVICE.into(),
            base_run_id: base.key.run_id.clone(),
            new_run_id: new_run_id.to_string(),
            ..Default::default()
        }),
    );
    for (timer_id, (started_event_id, fire_at)) in pending.timers {
        ms.timers.insert(timer_id.clone(), started_event_id);
        ms.add_timer(
            fire_at,
            TimerKind::User {
                timer_id,
                started_event_id,
            },
        );
    }
    // Activities pending at the reset point are scheduled again, from now.
    for (id, a) in pending.activities {
        let schedule_to_close = std_duration(a.schedule_to_close_timeout.as_ref());
        ms.activities.insert(
            id,
            Activity {
                scheduled_event_id: id,
                activity_id: a.activity_id.clone(),
                activity_type: a.activity_type.clone().unwrap_or_default(),
                task_queue: a
                    .task_queue
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| ms.task_queue.clone()),
                header: a.header.clone(),
                input: a.input.clone(),
                schedule_to_close,
                schedule_to_start: std_duration(a.schedule_to_start_timeout.as_ref()),
                start_to_close: std_duration(a.start_to_close_timeout.as_ref()),
                heartbeat: std_duration(a.heartbeat_timeout.as_ref()),
                retry_policy: a.retry_policy.clone().unwrap_or_default(),
                attempt: 1,
                scheduled_time: now,
                attempt_scheduled_time: now,
                started: None,
                heartbeat_details: None,
                last_heartbeat_time: None,
                heartbeat_seq: 0,
                last_failure: None,
                last_worker_identity: String::new(),
                cancel_requested_event_id: pending.cancel_requested.get(&id).copied(),
            },
        );
        if !schedule_to_close.is_zero() {
            ms.add_timer(
                now + schedule_to_close,
                TimerKind::ActivityTimeout {
                    scheduled_event_id: id,
                    attempt: 0,
                    timeout_type:
                        reprise::api::temporal::api::enums::v1::TimeoutType::ScheduleToClose as i32,
                    heartbeat_seq: 0,
                },
            );
        }
        ms.dispatch_activity(id);
    }
    for (update_id, (request, accepted)) in pending.updates {
        let Some(request) = request else { continue };
        let state = match pending.completed_updates.remove(&update_id) {
            Some(outcome) => UpdateState::Completed(Box::new(outcome)),
            None if accepted > 0 => UpdateState::Accepted(accepted),
            None => UpdateState::Admitted,
        };
        ms.update_seq += 1;
        ms.updates.insert(
            update_id,
            Update {
                seq: ms.update_seq,
                request,
                state,
            },
        );
    }
    if !ms.run_timeout.is_zero() {
        let fire_at = now + ms.run_timeout;
        ms.add_timer(fire_at, TimerKind::WorkflowRunTimeout);
    }
    Ok(ms)
}

/// Re-applies the signals and updates of `events` (the base run after the reset point).
fn reapply(ms: &mut MutableState, events: &[HistoryEvent], policy: Reapply) {
    for event in events {
        match &event.attributes {
            Some(A::WorkflowExecutionSignaledEventAttributes(a)) if policy.signals => {
                ms.append(
                    EventType::WorkflowExecutionSignaled,
                    A::WorkflowExecutionSignaledEventAttributes(
                        hist::WorkflowExecutionSignaledEventAttributes {
                            signal_name: a.signal_name.clone(),
                            input: a.input.clone(),
                            identity: a.identity.clone(),
                            header: a.header.clone(),
                            request_id: a.request_id.clone(),
                            ..Default::default()
                        },
                    ),
                );
            }
            Some(A::WorkflowExecutionUpdateAdmittedEventAttributes(a)) if policy.updates => {
                if let Some(request) = &a.request {
                    admit(ms, request.clone());
                }
            }
            Some(A::WorkflowExecutionUpdateAcceptedEventAttributes(a)) if policy.updates => {
                // Without a request it followed an admitted event, re-applied above.
                if let Some(request) = &a.accepted_request {
                    admit(ms, request.clone());
                }
            }
            _ => {}
        }
    }
}

fn admit(ms: &mut MutableState, request: reprise::api::temporal::api::update::v1::Request) {
    let update_id = request
        .meta
        .as_ref()
        .map(|m| m.update_id.clone())
        .unwrap_or_default();
    if ms.updates.contains_key(&update_id) {
        return;
    }
    ms.append(
        EventType::WorkflowExecutionUpdateAdmitted,
        A::WorkflowExecutionUpdateAdmittedEventAttributes(
            hist::WorkflowExecutionUpdateAdmittedEventAttributes {
                request: Some(request.clone()),
                origin: UpdateAdmittedEventOrigin::Reapply as i32,
            },
        ),
    );
    ms.update_seq += 1;
    // The worker reads a re-applied update from its `UpdateAdmitted` event, as on the official
    // server: no protocol message carries it (`Sent` keeps it from being sent as one, and lets
    // the worker accept it; -1: no workflow task carried it).
    ms.updates.insert(
        update_id,
        Update {
            seq: ms.update_seq,
            request,
            state: UpdateState::Sent(-1),
        },
    );
}

impl Engine {
    /// `ResetWorkflowExecution`; returns the new run's id.
    pub(crate) fn reset_workflow(
        &self,
        namespace: &str,
        request: &ws::ResetWorkflowExecutionRequest,
    ) -> Result<String, Status> {
        let execution = request
            .workflow_execution
            .as_ref()
            .ok_or_else(|| errors::invalid("WorkflowExecution is not set on request."))?;
        if execution.workflow_id.is_empty() {
            return Err(errors::invalid("WorkflowId is not set on request."));
        }
        let base_key = self.resolve(namespace, &execution.workflow_id, &execution.run_id)?;
        let events = self.read_events(&base_key, 1, usize::MAX)?;
        let finish_id = request.workflow_task_finish_event_id;
        check_point(&events, finish_id)?;
        let split = finish_id as usize - 1;
        let (prefix, after) = events.split_at(split);
        let new_run_id = super::new_id();
        let mut shard = self.lock(namespace, &execution.workflow_id);
        let current_key = Engine::resolve_in(&shard, namespace, &execution.workflow_id, "")?;
        if !request.request_id.is_empty()
            && let Some(current) = shard.runs.get(&current_key)
            && current.request_ids.contains(&request.request_id)
        {
            return Ok(current_key.run_id);
        }
        let now = self.clock.now();
        let mut new_ms = {
            let base = shard.runs.get(&base_key).ok_or_else(|| {
                errors::execution_not_found(&base_key.workflow_id, &base_key.run_id)
            })?;
            rebuild(base, prefix, &new_run_id, &request.reason, now)?
        };
        reapply(&mut new_ms, after, Reapply::of(request));
        if !request.request_id.is_empty() {
            new_ms.request_ids.insert(request.request_id.clone());
        }
        new_ms.schedule_workflow_task(1);
        if base_key != current_key
            && let Some(base) = shard.runs.get_mut(&base_key)
        {
            base.now = now;
            base.reset_run_id = new_run_id.clone();
            base.touched = true;
            self.commit(base)?;
        }
        let current = shard
            .runs
            .get_mut(&current_key)
            .ok_or_else(|| errors::execution_not_found(&current_key.workflow_id, ""))?;
        current.now = now;
        if current.is_open() {
            current.terminate(&request.reason, None, RESETTER);
        }
        if current_key == base_key {
            current.reset_run_id = new_run_id.clone();
            current.touched = true;
        }
        current.pending_new_run = Some(Box::new(new_ms));
        self.commit(current)?;
        self.insert_pending_run(&mut shard, &current_key)?;
        Ok(new_run_id)
    }
}
