//! Failures: the Rust form of `temporal.api.failure.v1.Failure`, and [`ApplicationFailure`], the
//! error a workflow or activity returns to fail with a type.

use super::codec::read_encoded_attributes;
use super::{ConversionError, DataConverter, FromPayloads, ToPayloads};
use crate::api::temporal::api::common::v1::{
    ActivityType, Payload, Payloads, WorkflowExecution, WorkflowType,
};
use crate::api::temporal::api::enums::v1::{
    ApplicationErrorCategory, NexusHandlerErrorRetryBehavior, RetryState, TimeoutType,
};
use crate::api::temporal::api::failure::v1 as proto;
use proto::failure::FailureInfo;
use std::error::Error as StdError;
use std::fmt;
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

    /// Converts from the protobuf form. Encoded attributes in the `json/plain` convention of the
    /// official SDKs (`{"message": …, "stack_trace": …}`) replace the message and stack trace;
    /// encoded attributes that are not readable (still encoded by a codec) are kept in
    /// [`encoded_attributes`](Self::encoded_attributes).
    pub fn from_proto(failure: proto::Failure) -> Failure {
        // Iterative, so that a long cause chain cannot overflow the stack.
        let mut levels = Vec::new();
        let mut next = Some(failure);
        while let Some(mut level) = next {
            next = level.cause.take().map(|cause| *cause);
            levels.push(level);
        }
        let mut built: Option<Failure> = None;
        for level in levels.into_iter().rev() {
            let mut failure = Failure::from_proto_level(level);
            failure.cause = built.map(Box::new);
            built = Some(failure);
        }
        built.unwrap_or_else(|| Failure::new("", FailureKind::Unknown))
    }

    fn from_proto_level(p: proto::Failure) -> Failure {
        let mut failure = Failure::new(p.message, kind_from_proto(p.failure_info));
        failure.source = p.source;
        failure.stack_trace = p.stack_trace;
        if let Some(attributes) = p.encoded_attributes {
            match read_encoded_attributes(&attributes) {
                Some((message, stack_trace)) => {
                    if let Some(message) = message {
                        failure.message = message;
                    }
                    if let Some(stack_trace) = stack_trace {
                        failure.stack_trace = stack_trace;
                    }
                }
                None => failure.encoded_attributes = Some(attributes),
            }
        }
        failure
    }

    /// Converts to the protobuf form (no codec applied: see [`DataConverter::encode_failure`]).
    pub fn to_proto(&self) -> proto::Failure {
        let chain: Vec<&Failure> = self.chain().collect();
        let mut built: Option<proto::Failure> = None;
        for failure in chain.into_iter().rev() {
            built = Some(proto::Failure {
                message: failure.message.clone(),
                source: failure.source.clone(),
                stack_trace: failure.stack_trace.clone(),
                encoded_attributes: failure.encoded_attributes.clone(),
                cause: built.map(Box::new),
                failure_info: kind_to_proto(&failure.kind),
            });
        }
        built.unwrap_or_default()
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

fn payloads_to_vec(payloads: Option<Payloads>) -> Vec<Payload> {
    payloads.map(|p| p.payloads).unwrap_or_default()
}

fn vec_to_payloads(payloads: &[Payload]) -> Option<Payloads> {
    (!payloads.is_empty()).then(|| Payloads {
        payloads: payloads.to_vec(),
    })
}

fn kind_from_proto(info: Option<FailureInfo>) -> FailureKind {
    let Some(info) = info else {
        return FailureKind::Unknown;
    };
    match info {
        FailureInfo::ApplicationFailureInfo(a) => FailureKind::Application(ApplicationInfo {
            error_type: a.r#type,
            non_retryable: a.non_retryable,
            details: payloads_to_vec(a.details),
            next_retry_delay: a.next_retry_delay.and_then(|d| Duration::try_from(d).ok()),
            category: ApplicationErrorCategory::try_from(a.category).unwrap_or_default(),
        }),
        FailureInfo::TimeoutFailureInfo(t) => FailureKind::Timeout {
            timeout_type: TimeoutType::try_from(t.timeout_type).unwrap_or_default(),
            last_heartbeat_details: payloads_to_vec(t.last_heartbeat_details),
        },
        FailureInfo::CanceledFailureInfo(c) => FailureKind::Canceled {
            details: payloads_to_vec(c.details),
            identity: c.identity,
        },
        FailureInfo::TerminatedFailureInfo(t) => FailureKind::Terminated {
            identity: t.identity,
        },
        FailureInfo::ServerFailureInfo(s) => FailureKind::Server {
            non_retryable: s.non_retryable,
        },
        FailureInfo::ResetWorkflowFailureInfo(r) => FailureKind::ResetWorkflow {
            last_heartbeat_details: payloads_to_vec(r.last_heartbeat_details),
        },
        FailureInfo::ActivityFailureInfo(a) => FailureKind::Activity {
            activity_type: a.activity_type.map(|t| t.name).unwrap_or_default(),
            activity_id: a.activity_id,
            scheduled_event_id: a.scheduled_event_id,
            started_event_id: a.started_event_id,
            identity: a.identity,
            retry_state: RetryState::try_from(a.retry_state).unwrap_or_default(),
        },
        FailureInfo::ChildWorkflowExecutionFailureInfo(c) => {
            let execution = c.workflow_execution.unwrap_or_default();
            FailureKind::ChildWorkflow {
                namespace: c.namespace,
                workflow_id: execution.workflow_id,
                run_id: execution.run_id,
                workflow_type: c.workflow_type.map(|t| t.name).unwrap_or_default(),
                initiated_event_id: c.initiated_event_id,
                started_event_id: c.started_event_id,
                retry_state: RetryState::try_from(c.retry_state).unwrap_or_default(),
            }
        }
        FailureInfo::NexusOperationExecutionFailureInfo(n) => {
            #[allow(deprecated)]
            let operation_id = n.operation_id;
            FailureKind::NexusOperation {
                scheduled_event_id: n.scheduled_event_id,
                endpoint: n.endpoint,
                service: n.service,
                operation: n.operation,
                operation_token: n.operation_token,
                operation_id,
            }
        }
        FailureInfo::NexusHandlerFailureInfo(n) => FailureKind::NexusHandler {
            error_type: n.r#type,
            retry_behavior: NexusHandlerErrorRetryBehavior::try_from(n.retry_behavior)
                .unwrap_or_default(),
        },
    }
}

fn kind_to_proto(kind: &FailureKind) -> Option<FailureInfo> {
    Some(match kind {
        FailureKind::Application(a) => {
            FailureInfo::ApplicationFailureInfo(proto::ApplicationFailureInfo {
                r#type: a.error_type.clone(),
                non_retryable: a.non_retryable,
                details: vec_to_payloads(&a.details),
                next_retry_delay: a.next_retry_delay.map(Into::into),
                category: a.category.into(),
            })
        }
        FailureKind::Timeout {
            timeout_type,
            last_heartbeat_details,
        } => FailureInfo::TimeoutFailureInfo(proto::TimeoutFailureInfo {
            timeout_type: (*timeout_type).into(),
            last_heartbeat_details: vec_to_payloads(last_heartbeat_details),
        }),
        FailureKind::Canceled { details, identity } => {
            FailureInfo::CanceledFailureInfo(proto::CanceledFailureInfo {
                details: vec_to_payloads(details),
                identity: identity.clone(),
            })
        }
        FailureKind::Terminated { identity } => {
            FailureInfo::TerminatedFailureInfo(proto::TerminatedFailureInfo {
                identity: identity.clone(),
            })
        }
        FailureKind::Server { non_retryable } => {
            FailureInfo::ServerFailureInfo(proto::ServerFailureInfo {
                non_retryable: *non_retryable,
            })
        }
        FailureKind::ResetWorkflow {
            last_heartbeat_details,
        } => FailureInfo::ResetWorkflowFailureInfo(proto::ResetWorkflowFailureInfo {
            last_heartbeat_details: vec_to_payloads(last_heartbeat_details),
        }),
        FailureKind::Activity {
            activity_type,
            activity_id,
            scheduled_event_id,
            started_event_id,
            identity,
            retry_state,
        } => FailureInfo::ActivityFailureInfo(proto::ActivityFailureInfo {
            scheduled_event_id: *scheduled_event_id,
            started_event_id: *started_event_id,
            identity: identity.clone(),
            activity_type: (!activity_type.is_empty()).then(|| ActivityType {
                name: activity_type.clone(),
            }),
            activity_id: activity_id.clone(),
            retry_state: (*retry_state).into(),
        }),
        FailureKind::ChildWorkflow {
            namespace,
            workflow_id,
            run_id,
            workflow_type,
            initiated_event_id,
            started_event_id,
            retry_state,
        } => FailureInfo::ChildWorkflowExecutionFailureInfo(
            proto::ChildWorkflowExecutionFailureInfo {
                namespace: namespace.clone(),
                workflow_execution: (!workflow_id.is_empty() || !run_id.is_empty()).then(|| {
                    WorkflowExecution {
                        workflow_id: workflow_id.clone(),
                        run_id: run_id.clone(),
                    }
                }),
                workflow_type: (!workflow_type.is_empty()).then(|| WorkflowType {
                    name: workflow_type.clone(),
                }),
                initiated_event_id: *initiated_event_id,
                started_event_id: *started_event_id,
                retry_state: (*retry_state).into(),
            },
        ),
        FailureKind::NexusOperation {
            scheduled_event_id,
            endpoint,
            service,
            operation,
            operation_token,
            operation_id,
        } => {
            #[allow(deprecated)]
            let info = proto::NexusOperationFailureInfo {
                scheduled_event_id: *scheduled_event_id,
                endpoint: endpoint.clone(),
                service: service.clone(),
                operation: operation.clone(),
                operation_id: operation_id.clone(),
                operation_token: operation_token.clone(),
            };
            FailureInfo::NexusOperationExecutionFailureInfo(info)
        }
        FailureKind::NexusHandler {
            error_type,
            retry_behavior,
        } => FailureInfo::NexusHandlerFailureInfo(proto::NexusHandlerFailureInfo {
            r#type: error_type.clone(),
            retry_behavior: (*retry_behavior).into(),
        }),
        FailureKind::Unknown => return None,
    })
}

impl From<proto::Failure> for Failure {
    fn from(failure: proto::Failure) -> Self {
        Failure::from_proto(failure)
    }
}

impl From<&Failure> for proto::Failure {
    fn from(failure: &Failure) -> Self {
        failure.to_proto()
    }
}

impl From<Failure> for proto::Failure {
    fn from(failure: Failure) -> Self {
        failure.to_proto()
    }
}

// ---------------------------------------------------------------------------------------------
// Display

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

fn write_application_prefix(f: &mut fmt::Formatter<'_>, error_type: &str) -> fmt::Result {
    if error_type.is_empty() {
        f.write_str("application error")
    } else {
        write!(f, "application error ({error_type})")
    }
}

fn write_causes(f: &mut fmt::Formatter<'_>, cause: Option<&Failure>) -> fmt::Result {
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

// ---------------------------------------------------------------------------------------------
// ApplicationFailure

/// The error a workflow or activity returns to fail with a type, details or retry instructions
/// (the official SDKs' `ApplicationError`).
///
/// ```
/// # use reprise::converter::{ApplicationFailure, DataConverter};
/// # fn run() -> Result<(), reprise::converter::ConversionError> {
/// let converter = DataConverter::default();
/// let error = ApplicationFailure::new("no cars available")
///     .with_type("NoCarsAvailable")
///     .non_retryable()
///     .with_details(&("trip-11", 3), &converter)?;
/// assert_eq!(error.to_string(), "application error (NoCarsAvailable): no cars available");
/// # Ok(()) }
/// # run().unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ApplicationFailure {
    message: String,
    info: ApplicationInfo,
    cause: Option<Box<Failure>>,
}

impl ApplicationFailure {
    /// A retryable failure with a message and no type.
    pub fn new(message: impl Into<String>) -> Self {
        ApplicationFailure {
            message: message.into(),
            info: ApplicationInfo::default(),
            cause: None,
        }
    }

    /// Sets the type (what retry policies' non-retryable error types match).
    pub fn with_type(mut self, error_type: impl Into<String>) -> Self {
        self.info.error_type = error_type.into();
        self
    }

    /// Marks the failure non-retryable: no retry, whatever the retry policy says.
    pub fn non_retryable(mut self) -> Self {
        self.info.non_retryable = true;
        self
    }

    /// Sets the details, converted with `converter` (one payload per tuple element).
    pub fn with_details(
        mut self,
        details: &(impl ToPayloads + ?Sized),
        converter: &DataConverter,
    ) -> Result<Self, ConversionError> {
        self.info.details = details.to_payloads(converter)?;
        Ok(self)
    }

    /// Sets the details as payloads.
    pub fn with_details_payloads(mut self, details: Vec<Payload>) -> Self {
        self.info.details = details;
        self
    }

    /// Overrides the retry policy's next backoff interval.
    pub fn with_next_retry_delay(mut self, delay: Duration) -> Self {
        self.info.next_retry_delay = Some(delay);
        self
    }

    /// Sets the category.
    pub fn with_category(mut self, category: ApplicationErrorCategory) -> Self {
        self.info.category = category;
        self
    }

    /// Sets the cause.
    pub fn with_cause(mut self, cause: impl Into<Failure>) -> Self {
        self.cause = Some(Box::new(cause.into()));
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The type (empty if none was set).
    pub fn error_type(&self) -> &str {
        &self.info.error_type
    }

    /// Whether the failure is non-retryable.
    pub fn is_non_retryable(&self) -> bool {
        self.info.non_retryable
    }

    /// The details' payloads.
    pub fn details_payloads(&self) -> &[Payload] {
        &self.info.details
    }

    /// Decodes the details.
    pub fn details<T: FromPayloads>(
        &self,
        converter: &DataConverter,
    ) -> Result<T, ConversionError> {
        T::from_payloads(converter, &self.info.details)
    }

    /// The next retry delay, if set.
    pub fn next_retry_delay(&self) -> Option<Duration> {
        self.info.next_retry_delay
    }

    /// The category.
    pub fn category(&self) -> ApplicationErrorCategory {
        self.info.category
    }

    /// The cause, if any.
    pub fn cause(&self) -> Option<&Failure> {
        self.cause.as_deref()
    }

    /// All the application data.
    pub fn info(&self) -> &ApplicationInfo {
        &self.info
    }
}

impl From<ApplicationFailure> for Failure {
    fn from(application: ApplicationFailure) -> Self {
        Failure {
            message: application.message,
            source: FAILURE_SOURCE.to_owned(),
            stack_trace: String::new(),
            kind: FailureKind::Application(application.info),
            cause: application.cause,
            encoded_attributes: None,
        }
    }
}

impl fmt::Display for ApplicationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_application_prefix(f, &self.info.error_type)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        write_causes(f, self.cause())
    }
}

impl StdError for ApplicationFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn activity_failure() -> Failure {
        Failure::new(
            "Activity task failed",
            FailureKind::Activity {
                activity_type: "bookCar".into(),
                activity_id: "3".into(),
                scheduled_event_id: 17,
                started_event_id: 18,
                identity: "23922@vm".into(),
                retry_state: RetryState::MaximumAttemptsReached,
            },
        )
        .with_cause(ApplicationFailure::new("no cars available").with_type("NoCarsAvailable"))
    }

    #[test]
    fn display_reads_the_chain() {
        assert_eq!(
            activity_failure().to_string(),
            "activity error (type: bookCar, id: 3, retry state: maximum attempts reached): \
             Activity task failed, caused by: \
             application error (NoCarsAvailable): no cars available"
        );
        let timeout = Failure::new(
            "activity Heartbeat timeout",
            FailureKind::Timeout {
                timeout_type: TimeoutType::Heartbeat,
                last_heartbeat_details: vec![],
            },
        );
        assert_eq!(
            timeout.to_string(),
            "timeout (heartbeat): activity Heartbeat timeout"
        );
        assert_eq!(
            Failure::new("boom", FailureKind::Unknown).to_string(),
            "boom"
        );
        let app = ApplicationFailure::new("x").with_cause(Failure::new("y", FailureKind::Unknown));
        assert_eq!(app.to_string(), "application error: x, caused by: y");
    }

    #[test]
    fn helpers() {
        let failure = activity_failure();
        assert_eq!(failure.application_type(), None);
        assert_eq!(
            failure.chain().find_map(Failure::application_type),
            Some("NoCarsAvailable")
        );
        assert_eq!(failure.root_cause().message, "no cars available");
        assert!(!failure.is_non_retryable());
        assert!(Failure::from(ApplicationFailure::new("x").non_retryable()).is_non_retryable());
        assert!(
            Failure::new(
                "",
                FailureKind::Server {
                    non_retryable: true
                }
            )
            .is_non_retryable()
        );
        let source = StdError::source(&failure).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("application error (NoCarsAvailable): no cars available")
        );
    }

    #[test]
    fn unknown_enum_values_read_as_unspecified() {
        let proto = proto::Failure {
            failure_info: Some(FailureInfo::TimeoutFailureInfo(proto::TimeoutFailureInfo {
                timeout_type: 999,
                last_heartbeat_details: None,
            })),
            ..Default::default()
        };
        let failure = Failure::from_proto(proto);
        assert!(matches!(
            failure.kind,
            FailureKind::Timeout {
                timeout_type: TimeoutType::Unspecified,
                ..
            }
        ));
    }

    #[test]
    fn unreadable_encoded_attributes_are_kept() {
        let mut attributes = Payload::default();
        attributes
            .metadata
            .insert("encoding".into(), b"binary/encrypted".to_vec());
        attributes.data = vec![1, 2, 3];
        let proto = proto::Failure {
            message: "Encoded failure".into(),
            encoded_attributes: Some(attributes.clone()),
            ..Default::default()
        };
        let failure = Failure::from_proto(proto.clone());
        assert_eq!(failure.message, "Encoded failure");
        assert_eq!(failure.encoded_attributes.as_ref(), Some(&attributes));
        assert_eq!(failure.to_proto(), proto);
    }

    #[test]
    fn from_error_uses_our_failures_as_is() {
        let app = ApplicationFailure::new("bad")
            .with_type("Bad")
            .non_retryable();
        let failure = Failure::from_error(&app);
        assert_eq!(failure, Failure::from(app));
        assert_eq!(failure.source, FAILURE_SOURCE);
        let inner = activity_failure();
        assert_eq!(Failure::from_error(&inner), inner);
    }
}
