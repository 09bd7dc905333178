//! Replay errors: nondeterminism (code and history disagree) and everything else.

use crate::history::HistoryError;
use std::fmt;

/// The workflow code did something other than what the history records: a deployed change
/// would break running workflows. Says where, what the history has, what the code did, and the
/// line of workflow code that issued the command.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NondeterminismError {
    /// Workflow type.
    pub workflow_type: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Run id.
    pub run_id: String,
    /// The event where code and history part (0 when the history ended first).
    pub event_id: i64,
    /// That event's type, e.g. `ActivityTaskScheduled` (empty when the history ended first).
    pub event_type: String,
    /// What the history records at that point.
    pub history: String,
    /// What the workflow code did instead.
    pub code: String,
    /// `file:line:column` of the workflow call that issued the command, when known.
    pub location: Option<String>,
}

impl fmt::Display for NondeterminismError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nondeterminism in workflow {} (id {}, run {})",
            self.workflow_type, self.workflow_id, self.run_id
        )?;
        if self.event_id > 0 {
            write!(f, " at event {} {}", self.event_id, self.event_type)?;
        } else {
            write!(f, " after the end of the history")?;
        }
        write!(
            f,
            "\n  history has: {}\n  code did:    {}",
            self.history, self.code
        )?;
        if let Some(location) = &self.location {
            write!(f, "\n  issued at:   {location}")?;
        }
        Ok(())
    }
}

impl std::error::Error for NondeterminismError {}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Code and history disagree.
    #[error("{0}")]
    Nondeterminism(Box<NondeterminismError>),
    /// The history itself is unusable (out of order, missing its start, dangling ids).
    #[error("invalid history at event {event_id}: {message}")]
    InvalidHistory {
        /// The offending event (0 if none).
        event_id: i64,
        /// What is wrong.
        message: String,
    },
    /// No workflow of this type is registered.
    #[error("no workflow registered for type {workflow_type:?} (registered: {registered})")]
    UnknownWorkflowType {
        /// The type in the history.
        workflow_type: String,
        /// What is registered, comma-separated.
        registered: String,
    },
    /// Workflow code panicked; a worker would fail the workflow task and retry it.
    #[error("workflow task failed in {workflow_type} (id {workflow_id}): {message}")]
    WorkflowTaskFailed {
        /// Workflow type.
        workflow_type: String,
        /// Workflow id.
        workflow_id: String,
        /// The panic message.
        message: String,
    },
    /// The history could not be loaded.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Fetching histories from a server failed.
    #[error("fetching histories: {0}")]
    Client(#[from] crate::client::ClientError),
}

impl ReplayError {
    /// The nondeterminism error, if this is one.
    pub fn nondeterminism(&self) -> Option<&NondeterminismError> {
        match self {
            ReplayError::Nondeterminism(e) => Some(e),
            _ => None,
        }
    }
}
