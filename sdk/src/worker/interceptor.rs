//! [`WorkerInterceptor`]: a worker's hooks into the runs it hosts (through a
//! [`WorkflowInterceptor`] per run) and into each activity attempt it runs.

use crate::activity::ActivityInfo;
use crate::api::temporal::api::common::v1::Payload;
use crate::workflow::WorkflowInfo;
use crate::workflow::interceptor::{Headers, WorkflowInterceptor};
use std::sync::Arc;

/// An activity attempt (or local activity attempt), before the activity function runs.
#[derive(Debug)]
#[non_exhaustive]
pub struct ActivityInbound<'a> {
    /// The attempt.
    pub info: &'a ActivityInfo,
    /// The headers the workflow scheduled it with (none for a local activity).
    pub headers: &'a Headers,
    /// Its arguments (decoded by the codec, not yet converted).
    pub args: &'a [Payload],
}

/// Hooks a worker calls; every method has a default that does nothing. Set with
/// [`WorkerOptions::with_interceptor`](super::WorkerOptions::with_interceptor).
///
/// The activity hook runs inside the attempt's `activity` span, so what it logs (a trace id
/// found in the headers, say) is attached to the attempt.
pub trait WorkerInterceptor: Send + Sync + 'static {
    /// The interceptor of a run this worker creates (from its first event, also when it replays
    /// it after an eviction or on another worker): `None` for none.
    fn workflow_interceptor(&self, info: &WorkflowInfo) -> Option<Box<dyn WorkflowInterceptor>> {
        let _ = info;
        None
    }
    /// An activity attempt or local activity attempt starts.
    fn execute_activity(&self, input: &ActivityInbound<'_>) {
        let _ = input;
    }
}

/// A worker's interceptor, if it has one.
#[derive(Clone, Default)]
pub(crate) struct Interceptor(pub(crate) Option<Arc<dyn WorkerInterceptor>>);

impl std::fmt::Debug for Interceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}
