//! Failures: the Rust form of `temporal.api.failure.v1.Failure`, and [`ApplicationFailure`], the
//! error a workflow or activity returns to fail with a type.
//!
//! The type and its accessors live here; the protobuf form, the `Display` form and
//! `ApplicationFailure` each have their own file.

mod application;
mod display;
mod protobuf;
#[cfg(test)]
mod tests;

pub use application::ApplicationFailure;

use super::{ConversionError, DataConverter, FromPayloads};
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::enums::v1::{
    ApplicationErrorCategory, NexusHandlerErrorRetryBehavior, RetryState, TimeoutType,
};
use std::error::Error as StdError;
use std::time::Duration;

/// The `source` this SDK writes in the failures it creates (the official SDKs write `GoSDK`,
/// `JavaSDK`, `TypeScriptSDK`, …).
pub const FAILURE_SOURCE: &str = "RepriseSDK";

/// Longest `source()` chain [`Failure::from_error`] follows (a guard against cyclic chains).
const MAX_ERROR_CHAIN: usize = 64;

/// A failure as Temporal records it: a message, what kind of failure it is, and what caused it.
///
/// What a workflow sees when an activity or child workflow fails (an
/// [`Activity`](FailureKind::Activity) failure caused by the activity's
/// [`Application`](FailureKind::Application) failure, say), and what a failed workflow's result
/// is. Converts losslessly to and from the protobuf form ([`from_proto`](Self::from_proto),
/// [`to_proto`](Self::to_proto)), except for what this representation cannot hold: enum values
/// unknown to this API version (read as `Unspecified`), a negative `next_retry_delay` (dropped),
/// an empty-but-present details list or activity/workflow type message (written back as absent),
/// and readable encoded attributes (moved into `message` and `stack_trace`).
///
/// `Display` shows the whole chain:
/// `activity error (type: bookCar, id: 3, retry state: maximum attempts reached): Activity task
/// failed, caused by: application error (NoCarsAvailable): no cars available`. `source()` returns
/// the cause too, so error reporters that walk sources repeat the causes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Failure {
    /// Human-readable message.
    pub message: String,
    /// Which SDK or component produced the failure (`GoSDK`, `Server`, [`FAILURE_SOURCE`], …);
    /// often empty.
    pub source: String,
    /// Stack trace in the producer's language, if it sent one.
    pub stack_trace: String,
    /// What kind of failure this is, with its kind-specific data.
    pub kind: FailureKind,
    /// The failure that caused this one.
    pub cause: Option<Box<Failure>>,
    /// Encoded attributes that could not be read (they were not a `json/plain` object, e.g.
    /// because they are still encoded by a codec: see [`DataConverter::decode_failure`]). Kept so
    /// that [`to_proto`](Self::to_proto) gives them back. Readable attributes are moved into
    /// `message` and `stack_trace` and this is `None`.
    pub encoded_attributes: Option<Payload>,
}

/// What kind of failure a [`Failure`] is (the protobuf `failure_info`), with its data.
///
/// Enumerations hold the API's enum types; a value this version does not know reads as
/// `Unspecified`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FailureKind {
    /// Raised by workflow or activity code (an [`ApplicationFailure`], a Python
    /// `ApplicationError`, a Go `ApplicationError`, …).
    Application(ApplicationInfo),
    /// A timeout (activity start-to-close, heartbeat, workflow execution, …).
    Timeout {
        /// Which timeout.
        timeout_type: TimeoutType,
        /// Details of the last heartbeat before a heartbeat timeout.
        last_heartbeat_details: Vec<Payload>,
    },
    /// Cancellation.
    Canceled {
        /// Details given with the cancellation.
        details: Vec<Payload>,
        /// Identity of the worker or client that requested the cancellation.
        identity: String,
    },
    /// The workflow was terminated.
    Terminated {
        /// Identity of the worker or client that requested the termination.
        identity: String,
    },
    /// Produced by the server.
    Server {
        /// Whether retrying cannot help.
        non_retryable: bool,
    },
    /// The workflow was reset.
    ResetWorkflow {
        /// Details of the last heartbeat of the activity that was running.
        last_heartbeat_details: Vec<Payload>,
    },
    /// An activity failed; the cause says why.
    Activity {
        /// Activity type name.
        activity_type: String,
        /// Activity id.
        activity_id: String,
        /// Id of the ActivityTaskScheduled event.
        scheduled_event_id: i64,
        /// Id of the ActivityTaskStarted event.
        started_event_id: i64,
        /// Identity of the worker that ran the last attempt.
        identity: String,
        /// Why the activity is not retried any more.
        retry_state: RetryState,
    },
    /// A child workflow failed; the cause says why.
    ChildWorkflow {
        /// The child's namespace.
        namespace: String,
        /// The child's workflow id.
        workflow_id: String,
        /// The child's run id.
        run_id: String,
        /// The child's workflow type name.
        workflow_type: String,
        /// Id of the StartChildWorkflowExecutionInitiated event.
        initiated_event_id: i64,
        /// Id of the ChildWorkflowExecutionStarted event.
        started_event_id: i64,
        /// Why the child is not retried any more.
        retry_state: RetryState,
    },
    /// A Nexus operation failed; the cause says why.
    NexusOperation {
        /// Id of the NexusOperationScheduled event.
        scheduled_event_id: i64,
        /// Endpoint name.
        endpoint: String,
        /// Service name.
        service: String,
        /// Operation name.
        operation: String,
        /// Operation token (empty if the operation completed synchronously).
        operation_token: String,
        /// The deprecated former name of `operation_token`, as received.
        operation_id: String,
    },
    /// A Nexus handler failed.
    NexusHandler {
        /// The Nexus error type.
        error_type: String,
        /// Whether the handler error is retryable.
        retry_behavior: NexusHandlerErrorRetryBehavior,
    },
    /// No `failure_info`: only the message and the cause say what happened.
    Unknown,
}

/// The data of an [application failure](FailureKind::Application).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApplicationInfo {
    /// The failure's type, matched by retry policies' non-retryable error types
    /// (`"NoCarsAvailable"`; for errors of other SDKs, often the exception or error class).
    pub error_type: String,
    /// Whether the activity or workflow must not be retried, whatever the retry policy says.
    pub non_retryable: bool,
    /// Details, as payloads (see [`Failure::details`]).
    pub details: Vec<Payload>,
    /// Overrides the retry policy's next backoff interval.
    pub next_retry_delay: Option<Duration>,
    /// Category (benign failures are logged and counted less loudly).
    pub category: ApplicationErrorCategory,
}

impl Failure {
    /// A failure with a message and a kind, no source, no stack trace, no cause.
    pub fn new(message: impl Into<String>, kind: FailureKind) -> Self {
        Failure {
            message: message.into(),
            source: String::new(),
            stack_trace: String::new(),
            kind,
            cause: None,
            encoded_attributes: None,
        }
    }

    /// Sets the cause.
    pub fn with_cause(mut self, cause: impl Into<Failure>) -> Self {
        self.cause = Some(Box::new(cause.into()));
        self
    }

    /// Sets the source.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Sets the stack trace.
    pub fn with_stack_trace(mut self, stack_trace: impl Into<String>) -> Self {
        self.stack_trace = stack_trace.into();
        self
    }

    /// The failure a Rust error becomes.
    ///
    /// An [`ApplicationFailure`] or a `Failure` is used as is. Any other error becomes an
    /// application failure of type `"Error"` (Rust cannot name the type behind a `dyn Error`;
    /// see [`from_error_with_type`](Self::from_error_with_type)) with the error's `Display` as
    /// message, and its `source()` chain as causes (up to 64 levels).
    pub fn from_error(error: &(dyn StdError + 'static)) -> Failure {
        Self::from_error_with_type(error, "Error")
    }

    /// Like [`from_error`](Self::from_error), with the type of the outermost failure given by the
    /// caller (causes from `source()` get type `"Error"`).
    pub fn from_error_with_type(
        error: &(dyn StdError + 'static),
        error_type: impl Into<String>,
    ) -> Failure {
        let mut levels: Vec<Failure> = Vec::new();
        let mut tail: Option<Failure> = None;
        let mut error_type = error_type.into();
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(failure) = known_failure(error) {
                tail = Some(failure);
                break;
            }
            if levels.len() == MAX_ERROR_CHAIN {
                break;
            }
            let info = ApplicationInfo {
                error_type: std::mem::replace(&mut error_type, "Error".to_owned()),
                ..ApplicationInfo::default()
            };
            levels.push(
                Failure::new(error.to_string(), FailureKind::Application(info))
                    .with_source(FAILURE_SOURCE),
            );
            next = error.source();
        }
        for mut failure in levels.into_iter().rev() {
            failure.cause = tail.map(Box::new);
            tail = Some(failure);
        }
        tail.unwrap_or_else(|| Failure::new("", FailureKind::Unknown))
    }

    /// This failure, then its cause, its cause's cause, and so on.
    pub fn chain(&self) -> impl Iterator<Item = &Failure> {
        std::iter::successors(Some(self), |failure| failure.cause.as_deref())
    }

    /// The last failure of the chain (this one if it has no cause).
    pub fn root_cause(&self) -> &Failure {
        self.chain().last().unwrap_or(self)
    }

    /// The cause, if any.
    pub fn cause(&self) -> Option<&Failure> {
        self.cause.as_deref()
    }

    /// Whether this failure (not its causes) says retrying cannot help: a non-retryable
    /// application failure, or a non-retryable server failure.
    pub fn is_non_retryable(&self) -> bool {
        match &self.kind {
            FailureKind::Application(info) => info.non_retryable,
            FailureKind::Server { non_retryable } => *non_retryable,
            _ => false,
        }
    }

    /// The application data, if this is an application failure.
    pub fn application(&self) -> Option<&ApplicationInfo> {
        match &self.kind {
            FailureKind::Application(info) => Some(info),
            _ => None,
        }
    }

    /// The type, if this is an application failure. To find the application failure behind an
    /// activity failure: `failure.chain().find_map(Failure::application_type)`.
    pub fn application_type(&self) -> Option<&str> {
        self.application().map(|info| info.error_type.as_str())
    }

    /// The payloads of this failure's details: an application failure's details, a
    /// cancellation's details, the last heartbeat details of a timeout or reset; empty for other
    /// kinds.
    pub fn details_payloads(&self) -> &[Payload] {
        match &self.kind {
            FailureKind::Application(info) => &info.details,
            FailureKind::Timeout {
                last_heartbeat_details: details,
                ..
            }
            | FailureKind::Canceled { details, .. }
            | FailureKind::ResetWorkflow {
                last_heartbeat_details: details,
            } => details,
            _ => &[],
        }
    }

    /// Decodes this failure's details (see [`details_payloads`](Self::details_payloads)), e.g.
    /// `failure.details::<(Order,)>(&converter)`. The payloads must already be decoded by the
    /// codecs ([`DataConverter::decode_failure`]).
    pub fn details<T: FromPayloads>(
        &self,
        converter: &DataConverter,
    ) -> Result<T, ConversionError> {
        T::from_payloads(converter, self.details_payloads())
    }
}

/// The failure an error already is, if it is one of ours.
fn known_failure(error: &(dyn StdError + 'static)) -> Option<Failure> {
    if let Some(failure) = error.downcast_ref::<Failure>() {
        return Some(failure.clone());
    }
    error
        .downcast_ref::<ApplicationFailure>()
        .map(|application| application.clone().into())
}
