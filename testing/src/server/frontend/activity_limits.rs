//! What the official frontend does with an activity's answer before history sees it: a failure
//! must carry `ApplicationFailureInfo`; a result, failure, heartbeat or cancellation over the
//! blob limit fails the activity, non-retryably, with the official server failure instead.

use super::super::errors::invalid;
use super::super::history::ActivityOutcome;
use super::super::limits;
use prost::Message as _;
use reprise::api::temporal::api::common::v1::Payloads;
use reprise::api::temporal::api::failure::v1::{Failure, ServerFailureInfo, failure::FailureInfo};
use tonic::Status;

const COMPLETE_RESULT_EXCEEDED: &str = "Complete result exceeds size limit.";
const FAILURE_EXCEEDED: &str = "Failure exceeds size limit.";
const CANCEL_DETAILS_EXCEEDED: &str = "Cancel details exceed size limit.";
const HEARTBEAT_EXCEEDED: &str = "Heartbeat details exceed size limit.";
/// `limit.blobSize.warn`: how much of an oversized failure is kept as the cause.
const BLOB_SIZE_WARN: usize = 512 * 1024;

/// A non-retryable server failure, as the official server writes the ones it decides.
fn server_failure(message: &str) -> Failure {
    Failure {
        message: message.into(),
        failure_info: Some(FailureInfo::ServerFailureInfo(ServerFailureInfo {
            non_retryable: true,
        })),
        ..Default::default()
    }
}

/// A failure an activity reports: it must carry `ApplicationFailureInfo`; over the blob limit
/// it becomes the official server failure (with the original, truncated, as its cause), which
/// the response lists.
pub(crate) fn failure(failure: Failure) -> Result<(Failure, Vec<Failure>), Status> {
    if !matches!(
        failure.failure_info,
        Some(FailureInfo::ApplicationFailureInfo(_))
    ) {
        return Err(invalid("Failure must have ApplicationFailureInfo."));
    }
    if failure.encoded_len() <= limits::BLOB_SIZE_LIMIT {
        return Ok((failure, Vec::new()));
    }
    let mut server = server_failure(FAILURE_EXCEEDED);
    server.cause = Some(Box::new(truncated(failure)));
    Ok((server.clone(), vec![server]))
}

/// The outcome a completion or cancellation records (failures go through [`failure`]).
pub(crate) fn outcome(outcome: ActivityOutcome) -> Result<ActivityOutcome, Status> {
    let too_big = |p: Option<&Payloads>| limits::blob(p).is_err();
    Ok(match outcome {
        ActivityOutcome::Completed(result) if too_big(result.as_ref()) => {
            ActivityOutcome::Failed(Box::new(server_failure(COMPLETE_RESULT_EXCEEDED)))
        }
        ActivityOutcome::Canceled(details) if too_big(details.as_ref()) => {
            ActivityOutcome::Failed(Box::new(server_failure(CANCEL_DETAILS_EXCEEDED)))
        }
        other => other,
    })
}

/// A failure cut to what the official server keeps of an oversized one: its message (at most
/// the warning size), type and flags, without payloads, stack trace or causes.
fn truncated(failure: Failure) -> Failure {
    let mut message = failure.message;
    if message.len() > BLOB_SIZE_WARN {
        let mut end = BLOB_SIZE_WARN;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let failure_info = match failure.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(mut info)) => {
            info.details = None;
            Some(FailureInfo::ApplicationFailureInfo(info))
        }
        other => other,
    };
    Failure {
        message,
        source: failure.source,
        failure_info,
        ..Default::default()
    }
}

/// Heartbeat details over the blob limit: the activity fails with this instead.
pub(crate) fn heartbeat(details: Option<&Payloads>) -> Option<ActivityOutcome> {
    limits::blob(details)
        .is_err()
        .then(|| ActivityOutcome::Failed(Box::new(server_failure(HEARTBEAT_EXCEEDED))))
}

/// Last heartbeat details sent with a failure: dropped when over the blob limit.
pub(crate) fn last_heartbeat(details: Option<Payloads>) -> Option<Payloads> {
    details.filter(|d| limits::blob(Some(d)).is_ok())
}
