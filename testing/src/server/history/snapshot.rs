//! The durable form of a run's mutable state: what a durable store keeps next to the events so
//! that the server picks up after a crash exactly where the last committed transition left it.
//!
//! Protobuf messages defined here (tags never reused), holding the API's own messages where the
//! state holds them. Left out on purpose: pending queries (their callers are gone with the
//! connection), the scratch of a transition in progress, and what is derived at recovery (the
//! busy flag, the change channel).

use super::state::{
    Activity, ActivityStarted, MutableState, Sticky, Update, UpdateState, WorkflowTask,
    WorkflowTaskStarted,
};
use super::state::{Child, External, ParentInfo};
use crate::store::records::{corrupt, from_unix_nanos, unix_nanos};
use crate::store::{RunKey, StoreError};
use prost::Message;
use reprise::api::temporal::api::common::v1::{
    ActivityType, Header, Memo, Payloads, RetryPolicy, SearchAttributes, WorkflowExecution,
};
use reprise::api::temporal::api::enums::v1::WorkflowExecutionStatus;
use reprise::api::temporal::api::failure::v1::Failure;
use reprise::api::temporal::api::history::v1::HistoryEvent;
use reprise::api::temporal::api::update::v1 as upd;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

#[derive(Clone, PartialEq, Message)]
struct RunSnapshot {
    #[prost(string, tag = "1")]
    first_run_id: String,
    #[prost(string, tag = "2")]
    workflow_type: String,
    #[prost(string, tag = "3")]
    task_queue: String,
    #[prost(int32, tag = "4")]
    status: i32,
    #[prost(int64, tag = "5")]
    start_time: i64,
    #[prost(int64, tag = "6")]
    execution_time: i64,
    #[prost(int64, optional, tag = "7")]
    close_time: Option<i64>,
    #[prost(string, tag = "8")]
    start_request_id: String,
    #[prost(string, repeated, tag = "9")]
    request_ids: Vec<String>,
    #[prost(int64, tag = "10")]
    next_event_id: i64,
    #[prost(int64, tag = "11")]
    history_size: i64,
    #[prost(message, optional, tag = "12")]
    memo: Option<Memo>,
    #[prost(message, optional, tag = "13")]
    search_attributes: Option<SearchAttributes>,
    #[prost(uint64, tag = "14")]
    workflow_task_timeout: u64,
    #[prost(uint64, tag = "15")]
    run_timeout: u64,
    #[prost(uint64, tag = "16")]
    execution_timeout: u64,
    #[prost(string, optional, tag = "17")]
    sticky_queue: Option<String>,
    #[prost(uint64, tag = "18")]
    sticky_schedule_to_start: u64,
    #[prost(message, optional, tag = "19")]
    wft: Option<WorkflowTaskSnapshot>,
    #[prost(int64, tag = "20")]
    previous_started_event_id: i64,
    #[prost(message, repeated, tag = "21")]
    buffered: Vec<HistoryEvent>,
    #[prost(message, repeated, tag = "22")]
    activities: Vec<ActivitySnapshot>,
    #[prost(btree_map = "string, int64", tag = "23")]
    timers: BTreeMap<String, i64>,
    #[prost(message, repeated, tag = "24")]
    updates: Vec<UpdateSnapshot>,
    #[prost(uint64, tag = "25")]
    update_seq: u64,
    #[prost(bool, tag = "26")]
    cancel_requested: bool,
    #[prost(string, optional, tag = "27")]
    continued_as_new_to: Option<String>,
    #[prost(int64, tag = "28")]
    state_transitions: i64,
    #[prost(message, repeated, tag = "29")]
    children: Vec<ChildSnapshot>,
    #[prost(message, repeated, tag = "30")]
    externals: Vec<ExternalSnapshot>,
    #[prost(message, optional, tag = "31")]
    parent: Option<ParentSnapshot>,
    #[prost(message, repeated, tag = "32")]
    speculative: Vec<HistoryEvent>,
    #[prost(message, optional, tag = "33")]
    start: Option<ws::StartWorkflowExecutionRequest>,
    #[prost(uint64, tag = "34")]
    retention: u64,
    #[prost(int32, tag = "35")]
    attempt: i32,
    #[prost(string, tag = "36")]
    reset_run_id: String,
    #[prost(int64, optional, tag = "37")]
    last_reset_time: Option<i64>,
    #[prost(int64, optional, tag = "38")]
    original_start_time: Option<i64>,
}

#[derive(Clone, PartialEq, Message)]
struct WorkflowTaskSnapshot {
    #[prost(int64, tag = "1")]
    scheduled_event_id: i64,
    #[prost(int32, tag = "2")]
    attempt: i32,
    #[prost(bool, tag = "3")]
    sticky: bool,
    #[prost(int64, tag = "4")]
    scheduled_time: i64,
    #[prost(int64, optional, tag = "5")]
    started_event_id: Option<i64>,
    #[prost(int64, tag = "6")]
    started_time: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ActivitySnapshot {
    #[prost(int64, tag = "1")]
    scheduled_event_id: i64,
    #[prost(string, tag = "2")]
    activity_id: String,
    #[prost(message, optional, tag = "3")]
    activity_type: Option<ActivityType>,
    #[prost(string, tag = "4")]
    task_queue: String,
    #[prost(message, optional, tag = "5")]
    header: Option<Header>,
    #[prost(message, optional, tag = "6")]
    input: Option<Payloads>,
    #[prost(uint64, tag = "7")]
    schedule_to_close: u64,
    #[prost(uint64, tag = "8")]
    schedule_to_start: u64,
    #[prost(uint64, tag = "9")]
    start_to_close: u64,
    #[prost(uint64, tag = "10")]
    heartbeat: u64,
    #[prost(message, optional, tag = "11")]
    retry_policy: Option<RetryPolicy>,
    #[prost(int32, tag = "12")]
    attempt: i32,
    #[prost(int64, tag = "13")]
    scheduled_time: i64,
    #[prost(int64, tag = "14")]
    attempt_scheduled_time: i64,
    #[prost(bool, tag = "15")]
    started: bool,
    #[prost(string, tag = "16")]
    started_identity: String,
    #[prost(string, tag = "17")]
    started_request_id: String,
    #[prost(int64, tag = "18")]
    started_time: i64,
    #[prost(message, optional, tag = "19")]
    heartbeat_details: Option<Payloads>,
    #[prost(int64, optional, tag = "20")]
    last_heartbeat_time: Option<i64>,
    #[prost(uint64, tag = "21")]
    heartbeat_seq: u64,
    #[prost(message, optional, tag = "22")]
    last_failure: Option<Failure>,
    #[prost(string, tag = "23")]
    last_worker_identity: String,
    #[prost(int64, optional, tag = "24")]
    cancel_requested_event_id: Option<i64>,
}

#[derive(Clone, PartialEq, Message)]
struct UpdateSnapshot {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(uint64, tag = "2")]
    seq: u64,
    #[prost(message, optional, tag = "3")]
    request: Option<upd::Request>,
    /// 1 admitted, 2 sent, 3 accepted, 4 completed.
    #[prost(int32, tag = "4")]
    state: i32,
    #[prost(int64, tag = "5")]
    event_id: i64,
    #[prost(message, optional, tag = "6")]
    outcome: Option<upd::Outcome>,
}

#[derive(Clone, PartialEq, Message)]
struct ChildSnapshot {
    #[prost(int64, tag = "1")]
    initiated_event_id: i64,
    #[prost(message, optional, tag = "2")]
    request: Option<ws::StartWorkflowExecutionRequest>,
    #[prost(int32, tag = "3")]
    parent_close_policy: i32,
    #[prost(string, tag = "4")]
    control: String,
    #[prost(int64, tag = "5")]
    completed_event_id: i64,
    #[prost(string, optional, tag = "6")]
    started_run_id: Option<String>,
    #[prost(int64, tag = "7")]
    started_event_id: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ExternalSnapshot {
    #[prost(int64, tag = "1")]
    initiated_event_id: i64,
    #[prost(string, tag = "2")]
    namespace: String,
    #[prost(message, optional, tag = "3")]
    execution: Option<WorkflowExecution>,
    #[prost(string, tag = "4")]
    control: String,
    #[prost(int64, tag = "5")]
    completed_event_id: i64,
    #[prost(string, optional, tag = "6")]
    signal_name: Option<String>,
    #[prost(message, optional, tag = "7")]
    signal_input: Option<Payloads>,
    #[prost(message, optional, tag = "8")]
    signal_header: Option<Header>,
    #[prost(string, tag = "9")]
    reason: String,
}

#[derive(Clone, PartialEq, Message)]
struct ParentSnapshot {
    #[prost(string, tag = "1")]
    namespace: String,
    #[prost(string, tag = "2")]
    workflow_id: String,
    #[prost(string, tag = "3")]
    run_id: String,
    #[prost(int64, tag = "4")]
    initiated_event_id: i64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn time(t: SystemTime) -> i64 {
    unix_nanos(t)
}

/// Encodes the durable part of `ms`.
pub(crate) fn encode(ms: &MutableState) -> Vec<u8> {
    let mut updates: Vec<UpdateSnapshot> = ms
        .updates
        .iter()
        .map(|(id, u)| {
            let (state, event_id, outcome) = match &u.state {
                UpdateState::Admitted => (1, 0, None),
                UpdateState::Sent(id) => (2, *id, None),
                UpdateState::Accepted(id) => (3, *id, None),
                UpdateState::Completed(outcome) => (4, 0, Some((**outcome).clone())),
            };
            UpdateSnapshot {
                id: id.clone(),
                seq: u.seq,
                request: Some(u.request.clone()),
                state,
                event_id,
                outcome,
            }
        })
        .collect();
    updates.sort_by_key(|u| u.seq);
    RunSnapshot {
        first_run_id: ms.first_run_id.clone(),
        workflow_type: ms.workflow_type.clone(),
        task_queue: ms.task_queue.clone(),
        status: ms.status as i32,
        start_time: time(ms.start_time),
        execution_time: time(ms.execution_time),
        close_time: ms.close_time.map(time),
        start_request_id: ms.start_request_id.clone(),
        request_ids: {
            let mut ids: Vec<String> = ms.request_ids.iter().cloned().collect();
            ids.sort();
            ids
        },
        next_event_id: ms.next_event_id,
        history_size: ms.history_size,
        memo: ms.memo.clone(),
        search_attributes: ms.search_attributes.clone(),
        workflow_task_timeout: nanos(ms.workflow_task_timeout),
        run_timeout: nanos(ms.run_timeout),
        execution_timeout: nanos(ms.execution_timeout),
        sticky_queue: ms.sticky.as_ref().map(|s| s.queue.clone()),
        sticky_schedule_to_start: ms.sticky.as_ref().map_or(0, |s| nanos(s.schedule_to_start)),
        wft: ms.wft.as_ref().map(|t| WorkflowTaskSnapshot {
            scheduled_event_id: t.scheduled_event_id,
            attempt: t.attempt,
            sticky: t.sticky,
            scheduled_time: time(t.scheduled_time),
            started_event_id: t.started.as_ref().map(|s| s.event_id),
            started_time: t.started.as_ref().map_or(0, |s| time(s.time)),
        }),
        previous_started_event_id: ms.previous_started_event_id,
        buffered: ms.buffered.clone(),
        activities: ms.activities.values().map(encode_activity).collect(),
        timers: ms.timers.clone(),
        updates,
        update_seq: ms.update_seq,
        cancel_requested: ms.cancel_requested,
        continued_as_new_to: ms.continued_as_new_to.clone(),
        state_transitions: ms.state_transitions,
        children: ms
            .children
            .iter()
            .map(|(id, c)| ChildSnapshot {
                initiated_event_id: *id,
                request: Some(c.request.clone()),
                parent_close_policy: c.parent_close_policy,
                control: c.control.clone(),
                completed_event_id: c.completed_event_id,
                started_run_id: c.started.as_ref().map(|s| s.0.clone()),
                started_event_id: c.started.as_ref().map_or(0, |s| s.1),
            })
            .collect(),
        externals: ms
            .externals
            .iter()
            .map(|(id, e)| ExternalSnapshot {
                initiated_event_id: *id,
                namespace: e.namespace.clone(),
                execution: Some(e.execution.clone()),
                control: e.control.clone(),
                completed_event_id: e.completed_event_id,
                signal_name: e.signal.as_ref().map(|s| s.0.clone()),
                signal_input: e.signal.as_ref().and_then(|s| s.1.clone()),
                signal_header: e.signal.as_ref().and_then(|s| s.2.clone()),
                reason: e.reason.clone(),
            })
            .collect(),
        parent: ms.parent.as_ref().map(|p| ParentSnapshot {
            namespace: p.namespace.clone(),
            workflow_id: p.workflow_id.clone(),
            run_id: p.run_id.clone(),
            initiated_event_id: p.initiated_event_id,
        }),
        speculative: ms.speculative.clone(),
        start: Some(ms.start.clone()),
        retention: nanos(ms.retention),
        attempt: ms.attempt,
        reset_run_id: ms.reset_run_id.clone(),
        last_reset_time: ms.last_reset_time.map(time),
        original_start_time: ms.original_start_time.map(time),
    }
    .encode_to_vec()
}

fn encode_activity(a: &Activity) -> ActivitySnapshot {
    ActivitySnapshot {
        scheduled_event_id: a.scheduled_event_id,
        activity_id: a.activity_id.clone(),
        activity_type: Some(a.activity_type.clone()),
        task_queue: a.task_queue.clone(),
        header: a.header.clone(),
        input: a.input.clone(),
        schedule_to_close: nanos(a.schedule_to_close),
        schedule_to_start: nanos(a.schedule_to_start),
        start_to_close: nanos(a.start_to_close),
        heartbeat: nanos(a.heartbeat),
        retry_policy: Some(a.retry_policy.clone()),
        attempt: a.attempt,
        scheduled_time: time(a.scheduled_time),
        attempt_scheduled_time: time(a.attempt_scheduled_time),
        started: a.started.is_some(),
        started_identity: a
            .started
            .as_ref()
            .map(|s| s.identity.clone())
            .unwrap_or_default(),
        started_request_id: a
            .started
            .as_ref()
            .map(|s| s.request_id.clone())
            .unwrap_or_default(),
        started_time: a.started.as_ref().map_or(0, |s| time(s.time)),
        heartbeat_details: a.heartbeat_details.clone(),
        last_heartbeat_time: a.last_heartbeat_time.map(time),
        heartbeat_seq: a.heartbeat_seq,
        last_failure: a.last_failure.clone(),
        last_worker_identity: a.last_worker_identity.clone(),
        cancel_requested_event_id: a.cancel_requested_event_id,
    }
}

fn decode_activity(a: ActivitySnapshot) -> Activity {
    Activity {
        scheduled_event_id: a.scheduled_event_id,
        activity_id: a.activity_id,
        activity_type: a.activity_type.unwrap_or_default(),
        task_queue: a.task_queue,
        header: a.header,
        input: a.input,
        schedule_to_close: Duration::from_nanos(a.schedule_to_close),
        schedule_to_start: Duration::from_nanos(a.schedule_to_start),
        start_to_close: Duration::from_nanos(a.start_to_close),
        heartbeat: Duration::from_nanos(a.heartbeat),
        retry_policy: a.retry_policy.unwrap_or_default(),
        attempt: a.attempt,
        scheduled_time: from_unix_nanos(a.scheduled_time),
        attempt_scheduled_time: from_unix_nanos(a.attempt_scheduled_time),
        started: a.started.then(|| ActivityStarted {
            identity: a.started_identity,
            request_id: a.started_request_id,
            time: from_unix_nanos(a.started_time),
        }),
        heartbeat_details: a.heartbeat_details,
        last_heartbeat_time: a.last_heartbeat_time.map(from_unix_nanos),
        heartbeat_seq: a.heartbeat_seq,
        last_failure: a.last_failure,
        last_worker_identity: a.last_worker_identity,
        cancel_requested_event_id: a.cancel_requested_event_id,
    }
}

/// Rebuilds a run's mutable state from what [`encode`] wrote.
pub(crate) fn decode(
    key: RunKey,
    version: u64,
    bytes: &[u8],
    now: SystemTime,
) -> Result<MutableState, StoreError> {
    let s = RunSnapshot::decode(bytes).map_err(|e| corrupt("run state", e))?;
    let status = WorkflowExecutionStatus::try_from(s.status).map_err(|_| {
        StoreError::Backend(format!(
            "stored run {}/{} has unknown status {}",
            key.workflow_id, key.run_id, s.status
        ))
    })?;
    let mut ms = MutableState::new(key, s.workflow_type, s.task_queue, now);
    ms.version = version;
    ms.first_run_id = s.first_run_id;
    ms.status = status;
    ms.start_time = from_unix_nanos(s.start_time);
    ms.execution_time = from_unix_nanos(s.execution_time);
    ms.close_time = s.close_time.map(from_unix_nanos);
    ms.start_request_id = s.start_request_id;
    ms.request_ids = s.request_ids.into_iter().collect();
    ms.next_event_id = s.next_event_id;
    ms.history_size = s.history_size;
    ms.memo = s.memo;
    ms.search_attributes = s.search_attributes;
    ms.workflow_task_timeout = Duration::from_nanos(s.workflow_task_timeout);
    ms.run_timeout = Duration::from_nanos(s.run_timeout);
    ms.execution_timeout = Duration::from_nanos(s.execution_timeout);
    ms.sticky = s.sticky_queue.map(|queue| Sticky {
        queue,
        schedule_to_start: Duration::from_nanos(s.sticky_schedule_to_start),
    });
    ms.wft = s.wft.map(|t| WorkflowTask {
        scheduled_event_id: t.scheduled_event_id,
        attempt: t.attempt,
        sticky: t.sticky,
        scheduled_time: from_unix_nanos(t.scheduled_time),
        started: t.started_event_id.map(|event_id| WorkflowTaskStarted {
            event_id,
            time: from_unix_nanos(t.started_time),
        }),
    });
    ms.previous_started_event_id = s.previous_started_event_id;
    ms.buffered = s.buffered;
    ms.activities = s
        .activities
        .into_iter()
        .map(|a| (a.scheduled_event_id, decode_activity(a)))
        .collect();
    ms.timers = s.timers;
    ms.updates = s
        .updates
        .into_iter()
        .map(|u| {
            let state = match u.state {
                2 => UpdateState::Sent(u.event_id),
                3 => UpdateState::Accepted(u.event_id),
                4 => UpdateState::Completed(Box::new(u.outcome.unwrap_or_default())),
                _ => UpdateState::Admitted,
            };
            (
                u.id,
                Update {
                    seq: u.seq,
                    request: u.request.unwrap_or_default(),
                    state,
                },
            )
        })
        .collect();
    ms.update_seq = s.update_seq;
    ms.cancel_requested = s.cancel_requested;
    ms.continued_as_new_to = s.continued_as_new_to;
    ms.state_transitions = s.state_transitions;
    ms.children = s
        .children
        .into_iter()
        .map(|c| {
            (
                c.initiated_event_id,
                Child {
                    request: c.request.unwrap_or_default(),
                    parent_close_policy: c.parent_close_policy,
                    control: c.control,
                    completed_event_id: c.completed_event_id,
                    started: c.started_run_id.map(|run| (run, c.started_event_id)),
                },
            )
        })
        .collect();
    ms.externals = s
        .externals
        .into_iter()
        .map(|e| {
            (
                e.initiated_event_id,
                External {
                    namespace: e.namespace,
                    execution: e.execution.unwrap_or_default(),
                    control: e.control,
                    completed_event_id: e.completed_event_id,
                    signal: e
                        .signal_name
                        .map(|name| (name, e.signal_input, e.signal_header)),
                    reason: e.reason,
                },
            )
        })
        .collect();
    ms.parent = s.parent.map(|p| ParentInfo {
        namespace: p.namespace,
        workflow_id: p.workflow_id,
        run_id: p.run_id,
        initiated_event_id: p.initiated_event_id,
    });
    ms.speculative = s.speculative;
    ms.start = s.start.unwrap_or_default();
    ms.retention = Duration::from_nanos(s.retention);
    ms.attempt = s.attempt;
    ms.reset_run_id = s.reset_run_id;
    ms.last_reset_time = s.last_reset_time.map(from_unix_nanos);
    ms.original_start_time = s.original_start_time.map(from_unix_nanos);
    // Nothing of a transition is in progress.
    ms.visibility_dirty = false;
    ms.touched = false;
    Ok(ms)
}
