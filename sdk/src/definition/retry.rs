//! The retry policy of workflows and activities, shared by the client (workflow retries) and
//! workflow code (activity and child workflow retries).

use crate::api::temporal::api::common::v1::RetryPolicy as ApiRetryPolicy;
use std::time::Duration;

/// A retry policy for workflows and activities (Temporal's `RetryPolicy`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// First retry delay (server default 1 s).
    pub initial_interval: Option<Duration>,
    /// Growth of the delay per attempt (server default 2.0).
    pub backoff_coefficient: Option<f64>,
    /// Longest delay (server default 100 × initial interval).
    pub maximum_interval: Option<Duration>,
    /// Attempts in all; 0 means unlimited.
    pub maximum_attempts: u32,
    /// Application failure types that are never retried.
    pub non_retryable_error_types: Vec<String>,
}

impl RetryPolicy {
    /// The server's defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the first retry delay.
    pub fn with_initial_interval(mut self, d: Duration) -> Self {
        self.initial_interval = Some(d);
        self
    }
    /// Sets the backoff coefficient.
    pub fn with_backoff_coefficient(mut self, c: f64) -> Self {
        self.backoff_coefficient = Some(c);
        self
    }
    /// Sets the longest delay.
    pub fn with_maximum_interval(mut self, d: Duration) -> Self {
        self.maximum_interval = Some(d);
        self
    }
    /// Sets the attempts in all (0 = unlimited).
    pub fn with_maximum_attempts(mut self, n: u32) -> Self {
        self.maximum_attempts = n;
        self
    }
    /// Adds an application failure type that is never retried.
    pub fn with_non_retryable_error_type(mut self, t: impl Into<String>) -> Self {
        self.non_retryable_error_types.push(t.into());
        self
    }
    /// The API form.
    pub fn to_proto(&self) -> ApiRetryPolicy {
        ApiRetryPolicy {
            initial_interval: self.initial_interval.map(Into::into),
            backoff_coefficient: self.backoff_coefficient.unwrap_or(0.0),
            maximum_interval: self.maximum_interval.map(Into::into),
            maximum_attempts: self.maximum_attempts as i32,
            non_retryable_error_types: self.non_retryable_error_types.clone(),
        }
    }
}
