//! [`ApplicationFailure`], the error a workflow or activity returns to fail with a type.

use super::display::{write_application_prefix, write_causes};
use super::{ApplicationInfo, FAILURE_SOURCE, Failure, FailureKind};
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::enums::v1::ApplicationErrorCategory;
use crate::converter::{ConversionError, DataConverter, FromPayloads, ToPayloads};
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

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
