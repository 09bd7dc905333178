//! The failures operations resolve with, shaped as the official SDKs shape them, so that workflow
//! code sees the same failure whether the history or the workflow itself decided the outcome.

use crate::api::temporal::api::enums::v1::RetryState;
use crate::converter::{Failure, FailureKind};
use crate::workflow::state::{MachineId, MachineKind, RunState};

/// The failure of an operation canceled by the workflow.
pub(crate) fn canceled_failure(message: &str) -> Failure {
    Failure::new(
        message,
        FailureKind::Canceled {
            details: Vec::new(),
            identity: String::new(),
        },
    )
}

/// The failure an activity resolves with (`ActivityFailure` wrapping why), as the official SDKs
/// build it, so that workflow code sees one shape whether the activity failed, timed out or was
/// canceled.
pub(crate) fn activity_failure(
    state: &RunState,
    machine: MachineId,
    started_event_id: i64,
    identity: &str,
    retry_state: RetryState,
    cause: Failure,
) -> Failure {
    let m = &state.machines[machine];
    let (activity_type, activity_id) = match &m.kind {
        MachineKind::Activity {
            activity_type,
            activity_id,
            ..
        } => (activity_type.clone(), activity_id.clone()),
        _ => (String::new(), String::new()),
    };
    Failure::new(
        "activity task failed",
        FailureKind::Activity {
            activity_type,
            activity_id,
            scheduled_event_id: m.event_id,
            started_event_id,
            identity: identity.to_string(),
            retry_state,
        },
    )
    .with_cause(cause)
}

/// The failure a child workflow resolves with (`ChildWorkflowFailure` wrapping why).
pub(crate) fn child_failure(
    state: &RunState,
    machine: MachineId,
    started_event_id: i64,
    retry_state: RetryState,
    cause: Failure,
) -> Failure {
    let m = &state.machines[machine];
    let (workflow_id, workflow_type) = match &m.kind {
        MachineKind::Child {
            workflow_id,
            workflow_type,
            ..
        } => (workflow_id.clone(), workflow_type.clone()),
        _ => (String::new(), String::new()),
    };
    Failure::new(
        "child workflow execution failed",
        FailureKind::ChildWorkflow {
            namespace: state.info.namespace.clone(),
            workflow_id,
            run_id: m
                .child_start
                .clone()
                .and_then(Result::ok)
                .unwrap_or_default(),
            workflow_type,
            initiated_event_id: m.event_id,
            started_event_id,
            retry_state,
        },
    )
    .with_cause(cause)
}
