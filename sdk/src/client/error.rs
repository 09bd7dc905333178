//! The one error type of the client.

use crate::api::google::rpc::Status as RpcStatus;
use crate::api::temporal::api::errordetails::v1 as details;
use crate::converter::{ConversionError, Failure};
use prost::{Message, Name};

/// Everything a client call can fail with.
///
/// The variants that describe a workflow's outcome (`WorkflowFailed`, `WorkflowCanceled`,
/// `WorkflowTerminated`, `WorkflowTimedOut`) come from [`WorkflowHandle::result`]; the others
/// from any call.
///
/// [`WorkflowHandle::result`]: crate::client::WorkflowHandle::result
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The workflow execution (or namespace, or update) does not exist.
    #[error("not found: {message}")]
    NotFound {
        /// The server's message.
        message: String,
    },
    /// A workflow with this id is already running (or the id reuse policy forbids a new run).
    #[error("workflow already started: id {workflow_id:?}, run {run_id:?}")]
    AlreadyStarted {
        /// The workflow id asked for.
        workflow_id: String,
        /// The run that holds the id.
        run_id: String,
    },
    /// The server rejected the request as invalid.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// The server's message.
        message: String,
    },
    /// The client's own configuration is wrong (TLS material, address, options).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The connection could not be made or broke, after retries.
    #[error("transport error: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server answered with another gRPC error.
    #[error("server error {code:?}: {message}")]
    Rpc {
        /// gRPC status code.
        code: tonic::Code,
        /// The server's message.
        message: String,
    },
    /// The workflow failed; the failure is decoded, causes included.
    #[error("workflow failed: {0}")]
    WorkflowFailed(Box<Failure>),
    /// The workflow was canceled.
    #[error("workflow canceled")]
    WorkflowCanceled {
        /// Details the workflow recorded with its cancellation.
        details: Vec<crate::api::temporal::api::common::v1::Payload>,
    },
    /// The workflow was terminated.
    #[error("workflow terminated: {reason}")]
    WorkflowTerminated {
        /// The reason given to terminate.
        reason: String,
        /// Details given to terminate.
        details: Vec<crate::api::temporal::api::common::v1::Payload>,
    },
    /// The workflow hit its run or execution timeout.
    #[error("workflow timed out")]
    WorkflowTimedOut,
    /// The workflow continued as new and the handle was asked not to follow runs.
    #[error("workflow continued as new as run {new_run_id}")]
    WorkflowContinuedAsNew {
        /// The run that continues the workflow.
        new_run_id: String,
    },
    /// A query was rejected by the workflow (its status did not match the reject condition) or
    /// failed in the workflow's handler.
    #[error("query failed: {message}")]
    QueryFailed {
        /// Why.
        message: String,
    },
    /// An update was rejected by its validator or failed in its handler.
    #[error("update failed: {0}")]
    UpdateFailed(Box<Failure>),
    /// A value could not be converted to or from a payload.
    #[error(transparent)]
    Conversion(#[from] ConversionError),
    /// The server's answer lacked something it must contain.
    #[error("unexpected response from server: {0}")]
    UnexpectedResponse(String),
}

impl ClientError {
    /// True for errors worth retrying the same call for (server busy, connection lost).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::Rpc { code, .. } => is_transient_code(*code),
            _ => false,
        }
    }

    /// Maps a gRPC status from the server, decoding Temporal's typed error details.
    pub(crate) fn from_status(status: tonic::Status, workflow_id: &str) -> Self {
        if is_local_transport_failure(&status) {
            return ClientError::Transport(Box::new(status));
        }
        let message = status.message().to_string();
        match status.code() {
            tonic::Code::NotFound => ClientError::NotFound { message },
            tonic::Code::InvalidArgument => ClientError::InvalidArgument { message },
            tonic::Code::AlreadyExists => {
                match decode_detail::<details::WorkflowExecutionAlreadyStartedFailure>(&status) {
                    Some(d) => ClientError::AlreadyStarted {
                        workflow_id: workflow_id.to_string(),
                        run_id: d.run_id,
                    },
                    None => ClientError::Rpc {
                        code: tonic::Code::AlreadyExists,
                        message,
                    },
                }
            }
            code => ClientError::Rpc { code, message },
        }
    }
}

/// gRPC codes that mean "try again" for a non-long-poll call.
pub(crate) fn is_transient_code(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable | tonic::Code::ResourceExhausted | tonic::Code::Aborted
    )
}

/// Whether a failed call is worth retrying: a transient code from the server, or a connection
/// that broke under the call (a server killed or restarted mid-request).
pub(crate) fn is_transient_status(status: &tonic::Status) -> bool {
    is_transient_code(status.code()) || is_local_transport_failure(status)
}

/// A status made on this side from a transport error (tonic reports a connection reset as
/// `Unknown: transport error` and keeps the cause as its source), not one the server sent.
fn is_local_transport_failure(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unknown | tonic::Code::Internal | tonic::Code::Cancelled
    ) && std::error::Error::source(status).is_some()
}

/// Decodes the first `google.rpc.Status` detail of type `T`, if the server sent one.
pub(crate) fn decode_detail<T: Message + Name + Default>(status: &tonic::Status) -> Option<T> {
    let rpc = RpcStatus::decode(status.details()).ok()?;
    let url = T::type_url();
    rpc.details
        .iter()
        .find(|any| any.type_url == url || any.type_url.ends_with(&format!("/{}", T::full_name())))
        .and_then(|any| T::decode(any.value.as_slice()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_broken_under_a_call_is_transient_but_a_server_error_is_not() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let local = tonic::Status::from_error(Box::new(reset));
        assert_eq!(local.code(), tonic::Code::Unknown);
        assert!(is_transient_status(&local));
        assert!(ClientError::from_status(local, "wf").is_transient());

        let from_server = tonic::Status::unknown("workflow type not registered");
        assert!(!is_transient_status(&from_server));
        assert!(!ClientError::from_status(from_server, "wf").is_transient());
        assert!(is_transient_status(&tonic::Status::unavailable(
            "restarting"
        )));
    }
}
