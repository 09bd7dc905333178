//! What workflow code sees: the [`WorkflowContext`] and the futures it hands out.
//!
//! Workflow code is ordinary async Rust run by a deterministic, single-threaded executor. It must
//! not read the clock, draw OS randomness, do I/O or spawn threads: the context supplies
//! deterministic replacements (`now`, `random`, `uuid`, `sleep`, activities for I/O, `spawn`), so
//! that replaying the recorded history rebuilds exactly the same state.
//!
//! ```
//! use reprise::workflow::{WorkflowContext, WorkflowResult};
//! use std::time::Duration;
//!
//! async fn order(ctx: WorkflowContext, (order_id, amount): (String, f64)) -> WorkflowResult<String> {
//!     let charge: String = ctx
//!         .activity_by_name("chargeCreditCard", (&order_id, amount))
//!         .start_to_close_timeout(Duration::from_secs(10))
//!         .await?;
//!     ctx.sleep(Duration::from_secs(60)).await?;
//!     Ok(format!("{order_id} charged: {charge}"))
//! }
//! ```

mod cancellation;
mod combinators;
pub(crate) mod context;
pub mod definition;
pub(crate) mod executor;
pub mod interceptor;
pub mod log;
pub(crate) mod operations;
mod options;
pub(crate) mod random;
pub(crate) mod registry;
pub mod search_attribute;
pub(crate) mod state;
mod state_cell;

pub use combinators::{TryJoinAll, try_join, try_join_all};
pub use context::WaitCondition;
pub use context::{CancellationScope, WorkflowContext};
pub use definition::WorkflowDefinition;
pub use state_cell::State;

pub use crate::definition::RegistrationError;
/// Waits for all futures of a collection, in order.
pub use futures::future::join_all;
/// Waits for several futures; deterministic (polls them in order). Re-exported from `futures`.
pub use futures::join;
/// Waits for the first of several futures; deterministic: when several are ready, the first
/// listed wins (`futures::select_biased!`). Do not use `futures::select!` in workflow code: it
/// picks among ready branches at random.
pub use futures::select_biased as select;
pub use operations::{
    ActivityCall, ActivityFuture, ChildResultFuture, ChildStartFuture, ChildWorkflowCall,
    ChildWorkflowHandle, ExternalFuture, LocalActivityCall, TimerFuture,
};
pub use options::CancellationType;
pub use options::{
    ActivityOptions, ChildWorkflowOptions, ContinueAsNewOptions, LocalActivityOptions,
    ParentClosePolicy,
};
pub use registry::WorkflowRegistry;

use crate::api::temporal::api::common::v1::Payload;
use crate::converter::{ApplicationFailure, ConversionError, Failure, FailureKind};
use std::time::SystemTime;

/// What a workflow returns.
pub type WorkflowResult<T> = Result<T, WorkflowError>;

/// How a workflow run ends other than by returning a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// Fail the workflow with this failure (an [`ApplicationFailure`], or an activity's or child's
    /// failure passed on with `?`). A cancellation failure while the workflow's cancellation was
    /// requested ends the workflow as canceled instead.
    #[error("{0}")]
    Failed(Box<Failure>),
    /// End the workflow as canceled.
    #[error("workflow canceled")]
    Canceled,
    /// Continue as a new run (see [`WorkflowContext::continue_as_new`]).
    #[error("continue as new")]
    ContinueAsNew(Box<options::ContinueAsNewRequest>),
}

impl WorkflowError {
    /// Whether this is a cancellation: a canceled failure, or an activity or child workflow
    /// failure directly caused by one (the official SDKs' rule). A workflow that returns such an
    /// error after a cancel request ends as canceled; one that wraps it in its own failure (e.g.
    /// a saga reporting what it compensated) ends as failed.
    pub fn is_cancellation(&self) -> bool {
        match self {
            WorkflowError::Canceled => true,
            WorkflowError::Failed(f) => match &f.kind {
                FailureKind::Canceled { .. } => true,
                FailureKind::Activity { .. } | FailureKind::ChildWorkflow { .. } => f
                    .cause()
                    .is_some_and(|c| matches!(c.kind, FailureKind::Canceled { .. })),
                _ => false,
            },
            WorkflowError::ContinueAsNew(_) => false,
        }
    }
}

impl From<Failure> for WorkflowError {
    fn from(f: Failure) -> Self {
        WorkflowError::Failed(Box::new(f))
    }
}

impl From<ApplicationFailure> for WorkflowError {
    fn from(f: ApplicationFailure) -> Self {
        WorkflowError::Failed(Box::new(f.into()))
    }
}

impl From<ConversionError> for WorkflowError {
    fn from(e: ConversionError) -> Self {
        WorkflowError::Failed(Box::new(conversion_failure(&e)))
    }
}

/// A value that does not convert is a non-retryable `PayloadConversionError` failure.
impl From<ConversionError> for Failure {
    fn from(e: ConversionError) -> Self {
        conversion_failure(&e)
    }
}

pub(crate) fn conversion_failure(e: &ConversionError) -> Failure {
    ApplicationFailure::new(e.to_string())
        .with_type("PayloadConversionError")
        .non_retryable()
        .into()
}

/// Facts about the running workflow, from its start event and the current task.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkflowInfo {
    /// Namespace.
    pub namespace: String,
    /// Workflow id.
    pub workflow_id: String,
    /// This run's id.
    pub run_id: String,
    /// The first run's id in a continue-as-new / retry chain.
    pub first_execution_run_id: String,
    /// Run that continued as this one, if any.
    pub continued_from_run_id: Option<String>,
    /// Workflow type name.
    pub workflow_type: String,
    /// Task queue.
    pub task_queue: String,
    /// Attempt (starts at 1; grows with workflow retries).
    pub attempt: i32,
    /// When this run started.
    pub start_time: SystemTime,
    /// Events in the history so far (at the current workflow task).
    pub history_length: i64,
    /// Bytes of history so far, as the server reports it.
    pub history_size_bytes: i64,
    /// The server suggests continuing as new (history getting large).
    pub continue_as_new_suggested: bool,
    /// Parent workflow (id, run id), for child workflows.
    pub parent: Option<(String, String)>,
    /// Cron schedule, if started by one.
    pub cron_schedule: Option<String>,
}

/// The input of an update as its validator and handler see it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UpdateInput {
    /// Update id (client-chosen).
    pub id: String,
    /// Update name.
    pub name: String,
    /// Arguments.
    pub args: Vec<Payload>,
}

impl UpdateInput {
    /// Decodes the arguments.
    pub fn decode<A: crate::converter::FromPayloads>(
        &self,
        ctx: &WorkflowContext,
    ) -> Result<A, ConversionError> {
        A::from_payloads(&ctx.shared.borrow().converter, &self.args)
    }
}

/// An update waiting for its handler.
#[derive(Clone, Debug)]
pub(crate) struct PendingUpdate {
    pub(crate) input: UpdateInput,
    pub(crate) protocol_instance_id: String,
    pub(crate) request_message_id: String,
    pub(crate) sequencing_event_id: i64,
    pub(crate) request: crate::api::temporal::api::update::v1::Request,
    pub(crate) run_validator: bool,
}
