//! Options of the operations a workflow starts.

use crate::api::temporal::api::common::v1::Payload;
use crate::definition::RetryPolicy;
use std::collections::BTreeMap;
use std::time::Duration;

/// Options of an activity. Temporal needs `start_to_close_timeout` or
/// `schedule_to_close_timeout`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ActivityOptions {
    /// Task queue (default: the workflow's).
    pub task_queue: Option<String>,
    /// Limit for one attempt.
    pub start_to_close_timeout: Option<Duration>,
    /// Limit for all attempts together.
    pub schedule_to_close_timeout: Option<Duration>,
    /// Limit for waiting in the task queue.
    pub schedule_to_start_timeout: Option<Duration>,
    /// The activity must heartbeat at least this often.
    pub heartbeat_timeout: Option<Duration>,
    /// Retries (server default: unlimited, 1 s initial, ×2, 100 s max).
    pub retry_policy: Option<RetryPolicy>,
    /// What canceling does.
    pub cancellation_type: CancellationType,
    /// Activity id (default: the sequence number, as the official SDKs do).
    pub activity_id: Option<String>,
}

impl ActivityOptions {
    /// Options with a start-to-close timeout, the common case.
    pub fn start_to_close(timeout: Duration) -> Self {
        ActivityOptions {
            start_to_close_timeout: Some(timeout),
            ..Default::default()
        }
    }
}

/// Options of a local activity (run by the workflow's worker, recorded as a marker).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LocalActivityOptions {
    /// Limit for one attempt.
    pub start_to_close_timeout: Option<Duration>,
    /// Limit for all attempts together.
    pub schedule_to_close_timeout: Option<Duration>,
    /// Retries, run by the worker with local backoff.
    pub retry_policy: Option<RetryPolicy>,
    /// What canceling does.
    pub cancellation_type: CancellationType,
    /// Activity id recorded in the marker (default: the sequence number, as the official SDKs
    /// do). Replay compares it with the recorded marker's, as the official SDKs do.
    pub activity_id: Option<String>,
}

impl LocalActivityOptions {
    /// The activity id the marker records: the chosen one or the sequence number.
    pub(crate) fn activity_id_or(&self, seq: u32) -> String {
        self.activity_id.clone().unwrap_or_else(|| seq.to_string())
    }
}

/// What happens to a child when its parent closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParentClosePolicy {
    /// Terminate the child (the server's default).
    #[default]
    Terminate,
    /// Leave it running.
    Abandon,
    /// Ask it to cancel.
    RequestCancel,
}

/// Options of a child workflow.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChildWorkflowOptions {
    /// Workflow id (default: derived deterministically from the parent).
    pub workflow_id: Option<String>,
    /// Task queue (default: the parent's).
    pub task_queue: Option<String>,
    /// Execution timeout.
    pub execution_timeout: Option<Duration>,
    /// Run timeout.
    pub run_timeout: Option<Duration>,
    /// Workflow task timeout (default 10 s).
    pub task_timeout: Option<Duration>,
    /// What happens to the child when the parent closes.
    pub parent_close_policy: ParentClosePolicy,
    /// What canceling the child does (default: request the cancellation and wait until the
    /// child ended, [`CancellationType::WaitCancellationCompleted`], the official SDKs' default).
    pub cancellation_type: CancellationType,
    /// Retries.
    pub retry_policy: Option<RetryPolicy>,
    /// Cron schedule.
    pub cron_schedule: Option<String>,
    /// Memo.
    pub memo: BTreeMap<String, Payload>,
    /// Search attributes.
    pub search_attributes: BTreeMap<String, Payload>,
}

impl Default for ChildWorkflowOptions {
    fn default() -> Self {
        ChildWorkflowOptions {
            workflow_id: None,
            task_queue: None,
            execution_timeout: None,
            run_timeout: None,
            task_timeout: None,
            parent_close_policy: ParentClosePolicy::default(),
            cancellation_type: CancellationType::WaitCancellationCompleted,
            retry_policy: None,
            cron_schedule: None,
            memo: BTreeMap::new(),
            search_attributes: BTreeMap::new(),
        }
    }
}

/// Options of continue-as-new; by default the new run keeps the type and task queue.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ContinueAsNewOptions {
    /// Another workflow type.
    pub workflow_type: Option<String>,
    /// Another task queue.
    pub task_queue: Option<String>,
    /// Run timeout of the new run.
    pub run_timeout: Option<Duration>,
    /// Workflow task timeout of the new run.
    pub task_timeout: Option<Duration>,
    /// Memo of the new run.
    pub memo: Option<BTreeMap<String, Payload>>,
    /// Search attributes of the new run.
    pub search_attributes: Option<BTreeMap<String, Payload>>,
}

/// A continue-as-new the workflow asked for (carried by [`WorkflowError::ContinueAsNew`]).
///
/// [`WorkflowError::ContinueAsNew`]: super::WorkflowError::ContinueAsNew
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ContinueAsNewRequest {
    /// Arguments of the new run (converted, before the codec).
    pub args: Vec<Payload>,
    /// Options.
    pub options: ContinueAsNewOptions,
}

/// How to cancel an activity or a child workflow (Temporal's `ActivityCancellationType` and
/// `ChildWorkflowCancellationType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancellationType {
    /// Ask the server to cancel and resolve at once as canceled (the default for activities).
    #[default]
    TryCancel,
    /// Ask the server to cancel and wait until the activity or child confirms it ended (the
    /// default for child workflows, as in the official SDKs).
    WaitCancellationCompleted,
    /// Resolve at once as canceled and do not tell the server.
    Abandon,
}
