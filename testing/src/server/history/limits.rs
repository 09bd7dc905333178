//! The official server's limits on a completed workflow task's commands (retry policies, payload
//! sizes, pending activities/children/signals/cancels per run) and on a run's history (the
//! count and size past which it is terminated). The numbers are in `server::limits`.

use super::state::MutableState;
use crate::server::limits;
use reprise::api::temporal::api::command::v1::{Command, command::Attributes as Cmd};
use reprise::api::temporal::api::enums::v1::WorkflowTaskFailedCause as Cause;

/// A completion the official server refuses: the workflow task fails with `cause`; when
/// `terminate`, the run is terminated as well (payloads over the blob limit).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) cause: Cause,
    pub(crate) message: String,
    pub(crate) terminate: bool,
}

fn fail(cause: Cause, message: impl Into<String>) -> Refusal {
    Refusal {
        cause,
        message: message.into(),
        terminate: false,
    }
}

fn terminate(cause: Cause, message: impl Into<String>) -> Refusal {
    Refusal {
        cause,
        message: message.into(),
        terminate: true,
    }
}

/// Checks a completion's commands against the limits, counting what each command adds to the
/// run's pending activities, children, signals and cancel requests.
pub(crate) fn check_commands(ms: &MutableState, commands: &[Command]) -> Result<(), Refusal> {
    let mut activities = ms.activities.len();
    let mut children = ms.children.len();
    let mut signals = ms.externals.values().filter(|e| e.signal.is_some()).count();
    let mut cancels = ms.externals.len() - signals;
    let blob = |p, cause, what: &str| {
        limits::blob(p).map_err(|_| terminate(cause, format!("{what} exceeds size limit.")))
    };
    for command in commands {
        match &command.attributes {
            Some(Cmd::ScheduleActivityTaskCommandAttributes(a)) => {
                let cause = Cause::BadScheduleActivityAttributes;
                limits::retry_policy(a.retry_policy.as_ref()).map_err(|m| fail(cause, m))?;
                blob(
                    a.input.as_ref(),
                    cause,
                    "ScheduleActivityTaskCommandAttributes.Input",
                )?;
                limits::pending(activities, "pending activities")
                    .map_err(|m| fail(Cause::PendingActivitiesLimitExceeded, m))?;
                activities += 1;
            }
            Some(Cmd::StartChildWorkflowExecutionCommandAttributes(a)) => {
                let cause = Cause::BadStartChildExecutionAttributes;
                limits::retry_policy(a.retry_policy.as_ref()).map_err(|m| fail(cause, m))?;
                blob(
                    a.input.as_ref(),
                    cause,
                    "StartChildWorkflowExecutionCommandAttributes.Input",
                )?;
                limits::memo(a.memo.as_ref()).map_err(|_| {
                    terminate(
                        cause,
                        "StartChildWorkflowExecutionCommandAttributes.Memo exceeds size limit.",
                    )
                })?;
                limits::pending(children, "pending child workflow executions")
                    .map_err(|m| fail(Cause::PendingChildWorkflowsLimitExceeded, m))?;
                children += 1;
            }
            Some(Cmd::SignalExternalWorkflowExecutionCommandAttributes(a)) => {
                blob(
                    a.input.as_ref(),
                    Cause::BadSignalInputSize,
                    "SignalExternalWorkflowExecutionCommandAttributes.Input",
                )?;
                limits::pending(signals, "pending signals to external workflows")
                    .map_err(|m| fail(Cause::PendingSignalsLimitExceeded, m))?;
                signals += 1;
            }
            Some(Cmd::RequestCancelExternalWorkflowExecutionCommandAttributes(_)) => {
                limits::pending(cancels, "pending requests to cancel external workflows")
                    .map_err(|m| fail(Cause::PendingRequestCancelLimitExceeded, m))?;
                cancels += 1;
            }
            Some(Cmd::CompleteWorkflowExecutionCommandAttributes(a)) => {
                limits::blob(a.result.as_ref()).map_err(|_| {
                    terminate(
                        Cause::BadCompleteWorkflowExecutionAttributes,
                        "CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.",
                    )
                })?;
            }
            Some(Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(a)) => {
                let cause = Cause::BadContinueAsNewAttributes;
                limits::retry_policy(a.retry_policy.as_ref()).map_err(|m| fail(cause, m))?;
                blob(
                    a.input.as_ref(),
                    cause,
                    "ContinueAsNewWorkflowExecutionCommandAttributes.Input",
                )?;
            }
            Some(Cmd::RecordMarkerCommandAttributes(a)) => {
                let size: usize = a
                    .details
                    .values()
                    .map(|p| limits::payloads_size(Some(p)))
                    .sum();
                if size > limits::BLOB_SIZE_LIMIT {
                    return Err(terminate(
                        Cause::BadRecordMarkerAttributes,
                        "RecordMarkerCommandAttributes.Details exceeds size limit.",
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The official message of a refused completion: the cause's name, then the reason.
pub(crate) fn cause_message(cause: Cause, message: &str) -> String {
    format!("{cause:?}: {message}")
}

impl MutableState {
    /// After a transition: an open run whose history passed the official count or size limit
    /// is terminated, as the official server does (reason "Workflow history count/size exceeds
    /// limit.", identity "history-service"). Nothing already written is lost.
    pub(crate) fn enforce_history_limits(&mut self) {
        if !self.is_open() {
            return;
        }
        if let Some(reason) = limits::history_exceeded(self.next_event_id - 1, self.history_size) {
            self.terminate(reason, None, limits::HISTORY_SERVICE_IDENTITY);
        }
    }
}
