//! Resetting a workflow: a new run that replays the old one's history up to a workflow task and
//! carries on from there (the fix for a bad deploy), with the old run's later signals and
//! updates re-applied unless excluded.
//!
//! ```no_run
//! # async fn demo(client: reprise::client::Client) -> Result<(), reprise::client::ClientError> {
//! use reprise::client::{ResetOptions, ResetTarget};
//! let handle = client.workflow_handle("order-42", None);
//! let new_run = handle
//!     .reset(ResetOptions::new(ResetTarget::LastWorkflowTask).reason("bad deploy 1.4.2"))
//!     .await?;
//! # drop(new_run);
//! # Ok(()) }
//! ```

use super::{ClientError, WorkflowHandle};
use crate::api::temporal::api::common::v1::WorkflowExecution;
use crate::api::temporal::api::enums::v1::{EventType, ResetReapplyExcludeType};
use crate::api::temporal::api::workflowservice::v1 as ws;

/// The point a reset goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetTarget {
    /// The first completed workflow task (the run starts over, keeping its input).
    FirstWorkflowTask,
    /// The last completed workflow task.
    LastWorkflowTask,
    /// The event right after a workflow task started: its `WorkflowTaskCompleted` (or
    /// `Failed`/`TimedOut`) event id.
    EventId(i64),
}

/// How to reset: where to, why, and what to re-apply. Built with [`ResetOptions::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResetOptions {
    /// Where to.
    pub target: ResetTarget,
    /// Why (recorded in the new run's failed workflow task and the old run's termination).
    pub reason: String,
    /// Do not re-apply the signals the old run received after the reset point.
    pub exclude_signals: bool,
    /// Do not re-apply the updates the old run received after the reset point.
    pub exclude_updates: bool,
    /// Makes the call idempotent (default: a fresh id).
    pub request_id: Option<String>,
}

impl ResetOptions {
    /// Reset to `target`, re-applying signals and updates.
    pub fn new(target: ResetTarget) -> Self {
        ResetOptions {
            target,
            reason: String::new(),
            exclude_signals: false,
            exclude_updates: false,
            request_id: None,
        }
    }

    /// Why.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Do not re-apply signals received after the reset point.
    pub fn exclude_signals(mut self) -> Self {
        self.exclude_signals = true;
        self
    }

    /// Do not re-apply updates received after the reset point.
    pub fn exclude_updates(mut self) -> Self {
        self.exclude_updates = true;
        self
    }

    /// An idempotency key: a repeated call with it returns the same new run.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

impl WorkflowHandle {
    /// Resets the run this handle targets (the latest when it names none) and returns a handle
    /// on the new run. The old run, if still open, is terminated.
    pub async fn reset(&self, options: ResetOptions) -> Result<WorkflowHandle, ClientError> {
        let client = self.client();
        let event_id = match options.target {
            ResetTarget::EventId(id) => id,
            ResetTarget::FirstWorkflowTask | ResetTarget::LastWorkflowTask => {
                let history = self.fetch_history().await?;
                let completed = history
                    .events
                    .iter()
                    .filter(|e| e.event_type == EventType::WorkflowTaskCompleted as i32)
                    .map(|e| e.event_id);
                let found = if options.target == ResetTarget::FirstWorkflowTask {
                    completed.min()
                } else {
                    completed.max()
                };
                found.ok_or_else(|| ClientError::InvalidArgument {
                    message: "the run has no completed workflow task to reset to".into(),
                })?
            }
        };
        let mut exclude = Vec::new();
        if options.exclude_signals {
            exclude.push(ResetReapplyExcludeType::Signal as i32);
        }
        if options.exclude_updates {
            exclude.push(ResetReapplyExcludeType::Update as i32);
        }
        let request = ws::ResetWorkflowExecutionRequest {
            namespace: client.namespace().to_string(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: self.workflow_id().to_string(),
                run_id: self.run_id().unwrap_or_default().to_string(),
            }),
            reason: options.reason,
            workflow_task_finish_event_id: event_id,
            request_id: options.request_id.unwrap_or_else(crate::util::random_uuid),
            reset_reapply_exclude_types: exclude,
            ..Default::default()
        };
        let response = client
            .call(
                self.workflow_id(),
                request,
                client.rpc_timeout(),
                |mut s, r| async move { s.reset_workflow_execution(r).await },
            )
            .await?;
        Ok(client.workflow_handle(self.workflow_id(), Some(response.run_id)))
    }
}
