//! The metrics a client and a worker emit: the names of Temporal's SDK metrics reference.
//!
//! Tags: every metric has `namespace`. Request metrics add `operation` (the RPC's name, e.g.
//! `StartWorkflowExecution`) and their failures `status_code` (e.g. `NOT_FOUND`); worker metrics
//! add `task_queue`, and where they apply `workflow_type`, `activity_type` and `worker_type`
//! (`WorkflowWorker`, `ActivityWorker`); `temporal_num_pollers` has
//! `poller_type` (`workflow_task`, `sticky_workflow_task`, `activity_task`) and
//! `temporal_workflow_task_execution_failed` `failure_reason` (`NonDeterminismError`,
//! `Workflow`).

/// The kind of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution of durations, in seconds.
    Histogram,
}

macro_rules! metrics {
    ($($(#[doc = $doc:literal])* $ident:ident = $name:literal, $kind:ident;)*) => {
        $( $(#[doc = $doc])* pub const $ident: &str = $name; )*
        /// Every metric: name, kind, description.
        pub const ALL: &[(&str, Kind, &str)] = &[$(($name, Kind::$kind, concat!($($doc),*))),*];
    };
}

metrics! {
    /// RPCs the client sent (long polls not included).
    REQUEST = "temporal_request", Counter;
    /// RPCs that failed.
    REQUEST_FAILURE = "temporal_request_failure", Counter;
    /// How long RPCs took.
    REQUEST_LATENCY = "temporal_request_latency", Histogram;
    /// Long polls the client sent.
    LONG_REQUEST = "temporal_long_request", Counter;
    /// Long polls that failed.
    LONG_REQUEST_FAILURE = "temporal_long_request_failure", Counter;
    /// How long long polls took.
    LONG_REQUEST_LATENCY = "temporal_long_request_latency", Histogram;
    /// Workers started.
    WORKER_START = "temporal_worker_start", Counter;
    /// Pollers polling.
    NUM_POLLERS = "temporal_num_pollers", Gauge;
    /// Task slots free.
    WORKER_TASK_SLOTS_AVAILABLE = "temporal_worker_task_slots_available", Gauge;
    /// Task slots taken.
    WORKER_TASK_SLOTS_USED = "temporal_worker_task_slots_used", Gauge;
    /// Workflows completed.
    WORKFLOW_COMPLETED = "temporal_workflow_completed", Counter;
    /// Workflows failed.
    WORKFLOW_FAILED = "temporal_workflow_failed", Counter;
    /// Workflows canceled.
    WORKFLOW_CANCELED = "temporal_workflow_canceled", Counter;
    /// Workflows continued as new.
    WORKFLOW_CONTINUE_AS_NEW = "temporal_workflow_continue_as_new", Counter;
    /// From a workflow's start to its close.
    WORKFLOW_ENDTOEND_LATENCY = "temporal_workflow_endtoend_latency", Histogram;
    /// Workflow task polls that got a task.
    WORKFLOW_TASK_QUEUE_POLL_SUCCEED = "temporal_workflow_task_queue_poll_succeed", Counter;
    /// Workflow task polls that expired empty.
    WORKFLOW_TASK_QUEUE_POLL_EMPTY = "temporal_workflow_task_queue_poll_empty", Counter;
    /// From a workflow task's schedule to its start.
    WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY = "temporal_workflow_task_schedule_to_start_latency", Histogram;
    /// From a workflow task's poll to its answer.
    WORKFLOW_TASK_EXECUTION_LATENCY = "temporal_workflow_task_execution_latency", Histogram;
    /// Replaying a run's history (a run not in the cache).
    WORKFLOW_TASK_REPLAY_LATENCY = "temporal_workflow_task_replay_latency", Histogram;
    /// Workflow tasks that failed.
    WORKFLOW_TASK_EXECUTION_FAILED = "temporal_workflow_task_execution_failed", Counter;
    /// Activity task polls that expired empty.
    ACTIVITY_POLL_NO_TASK = "temporal_activity_poll_no_task", Counter;
    /// From an activity's schedule to its attempt's start.
    ACTIVITY_SCHEDULE_TO_START_LATENCY = "temporal_activity_schedule_to_start_latency", Histogram;
    /// How long activity attempts ran.
    ACTIVITY_EXECUTION_LATENCY = "temporal_activity_execution_latency", Histogram;
    /// From an activity's schedule to its successful completion.
    ACTIVITY_SUCCEED_ENDTOEND_LATENCY = "temporal_activity_succeed_endtoend_latency", Histogram;
    /// Activity attempts that failed.
    ACTIVITY_EXECUTION_FAILED = "temporal_activity_execution_failed", Counter;
    /// Activity attempts canceled.
    ACTIVITY_EXECUTION_CANCELLED = "temporal_activity_execution_cancelled", Counter;
    /// Local activities run (each, once whatever its attempts).
    LOCAL_ACTIVITY_TOTAL = "temporal_local_activity_total", Counter;
    /// How long local activity attempts ran.
    LOCAL_ACTIVITY_EXECUTION_LATENCY = "temporal_local_activity_execution_latency", Histogram;
    /// From a local activity's schedule to its successful completion.
    LOCAL_ACTIVITY_SUCCEED_ENDTOEND_LATENCY = "temporal_local_activity_succeed_endtoend_latency", Histogram;
    /// Local activity attempts that failed.
    LOCAL_ACTIVITY_EXECUTION_FAILED = "temporal_local_activity_execution_failed", Counter;
    /// Local activity attempts canceled.
    LOCAL_ACTIVITY_EXECUTION_CANCELLED = "temporal_local_activity_execution_cancelled", Counter;
    /// Runs in the worker's cache.
    STICKY_CACHE_SIZE = "temporal_sticky_cache_size", Gauge;
    /// Workflow tasks whose run was in the cache.
    STICKY_CACHE_HIT = "temporal_sticky_cache_hit", Counter;
    /// Workflow tasks whose run was not in the cache (replayed from history).
    STICKY_CACHE_MISS = "temporal_sticky_cache_miss", Counter;
    /// Runs evicted from the full cache.
    STICKY_CACHE_TOTAL_FORCED_EVICTION = "temporal_sticky_cache_total_forced_eviction", Counter;
}
