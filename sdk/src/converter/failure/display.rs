//! How a failure reads: one level per cause, `<kind description>: <message>`, joined by
//! `, caused by: `.

use super::{Failure, FailureKind};
use crate::api::temporal::api::enums::v1::RetryState;
use std::error::Error as StdError;
use std::fmt;

/// `TIMEOUT_TYPE_START_TO_CLOSE` → `start to close`.
struct EnumName<'a>(&'a str, &'a str);

impl fmt::Display for EnumName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0.strip_prefix(self.1).unwrap_or(self.0);
        for (i, word) in name.split('_').enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&word.to_ascii_lowercase())?;
        }
        Ok(())
    }
}

fn retry_state(state: RetryState) -> EnumName<'static> {
    EnumName(state.as_str_name(), "RETRY_STATE_")
}

/// Writes one level: `<kind description>: <message>`.
fn write_level(f: &mut fmt::Formatter<'_>, failure: &Failure) -> fmt::Result {
    let described = match &failure.kind {
        FailureKind::Application(info) => {
            write_application_prefix(f, &info.error_type)?;
            true
        }
        FailureKind::Timeout { timeout_type, .. } => {
            write!(
                f,
                "timeout ({})",
                EnumName(timeout_type.as_str_name(), "TIMEOUT_TYPE_")
            )?;
            true
        }
        FailureKind::Canceled { .. } => {
            f.write_str("canceled")?;
            true
        }
        FailureKind::Terminated { .. } => {
            f.write_str("terminated")?;
            true
        }
        FailureKind::Server { .. } => {
            f.write_str("server error")?;
            true
        }
        FailureKind::ResetWorkflow { .. } => {
            f.write_str("workflow reset")?;
            true
        }
        FailureKind::Activity {
            activity_type,
            activity_id,
            retry_state: state,
            ..
        } => {
            write!(
                f,
                "activity error (type: {activity_type}, id: {activity_id}, retry state: {})",
                retry_state(*state)
            )?;
            true
        }
        FailureKind::ChildWorkflow {
            workflow_type,
            workflow_id,
            run_id,
            retry_state: state,
            ..
        } => {
            write!(
                f,
                "child workflow error (type: {workflow_type}, workflow id: {workflow_id}, \
                 run id: {run_id}, retry state: {})",
                retry_state(*state)
            )?;
            true
        }
        FailureKind::NexusOperation {
            endpoint,
            service,
            operation,
            ..
        } => {
            write!(
                f,
                "nexus operation error (endpoint: {endpoint}, service: {service}, \
                 operation: {operation})"
            )?;
            true
        }
        FailureKind::NexusHandler { error_type, .. } => {
            write!(f, "nexus handler error ({error_type})")?;
            true
        }
        FailureKind::Unknown => false,
    };
    match (described, failure.message.is_empty()) {
        (true, false) => write!(f, ": {}", failure.message),
        (false, false) => f.write_str(&failure.message),
        (true, true) => Ok(()),
        (false, true) => f.write_str("failure"),
    }
}

pub(super) fn write_application_prefix(
    f: &mut fmt::Formatter<'_>,
    error_type: &str,
) -> fmt::Result {
    if error_type.is_empty() {
        f.write_str("application error")
    } else {
        write!(f, "application error ({error_type})")
    }
}

pub(super) fn write_causes(f: &mut fmt::Formatter<'_>, cause: Option<&Failure>) -> fmt::Result {
    for failure in cause.into_iter().flat_map(Failure::chain) {
        f.write_str(", caused by: ")?;
        write_level(f, failure)?;
    }
    Ok(())
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_level(f, self)?;
        write_causes(f, self.cause())
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn StdError + 'static))
    }
}
