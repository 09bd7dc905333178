//! [`WorkflowInterceptor`]: what a run receives (its start, signals, queries, updates) and what it
//! sends (activities, child workflows, external signals, continue-as-new), with their Temporal
//! headers — the place to carry a trace context or a tenant id along a workflow's calls.
//!
//! A [`WorkerInterceptor`](crate::worker::WorkerInterceptor) makes one for each run the worker
//! creates (again when the run is replayed after an eviction or a crash: interceptors must be
//! deterministic in what they add to headers, and [`WorkflowInbound::is_replaying`] tells them
//! when to keep quiet).

use super::WorkflowInfo;
use crate::api::temporal::api::common::v1::{Header, Payload};
use std::collections::BTreeMap;

/// Temporal headers: `Header.fields` of the API, keyed by name.
pub type Headers = BTreeMap<String, Payload>;

/// What comes into a run.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkflowInbound<'a> {
    /// The run.
    pub info: &'a WorkflowInfo,
    /// The workflow type (start), or the signal's, query's or update's name.
    pub name: &'a str,
    /// The headers it came with.
    pub headers: &'a Headers,
    /// Its arguments (decoded by the codec, not yet converted).
    pub args: &'a [Payload],
    /// True while the run replays history (the input was seen before).
    pub is_replaying: bool,
}

/// What a run sends out: its headers can be changed.
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkflowOutbound<'a> {
    /// The run.
    pub info: &'a WorkflowInfo,
    /// The activity type, child workflow type, signal name, or the new run's workflow type.
    pub name: &'a str,
    /// The headers to send; add to them.
    pub headers: &'a mut Headers,
    /// Its arguments (encoded).
    pub args: &'a [Payload],
    /// True while the run replays history (the command was sent before).
    pub is_replaying: bool,
}

/// Hooks into one workflow run. Every method has a default that does nothing. They run on the
/// workflow thread inside the run's workflow task, so they must be quick and deterministic, and
/// must not block.
pub trait WorkflowInterceptor {
    /// The run starts (also when it is replayed from its first event).
    fn execute_workflow(&mut self, input: &WorkflowInbound<'_>) {
        let _ = input;
    }
    /// A signal is delivered.
    fn handle_signal(&mut self, input: &WorkflowInbound<'_>) {
        let _ = input;
    }
    /// A query is answered.
    fn handle_query(&mut self, input: &WorkflowInbound<'_>) {
        let _ = input;
    }
    /// An update is delivered (before its validator).
    fn handle_update(&mut self, input: &WorkflowInbound<'_>) {
        let _ = input;
    }
    /// An activity (not a local one) is scheduled.
    fn schedule_activity(&mut self, output: &mut WorkflowOutbound<'_>) {
        let _ = output;
    }
    /// A child workflow is started.
    fn start_child_workflow(&mut self, output: &mut WorkflowOutbound<'_>) {
        let _ = output;
    }
    /// Another workflow is signaled.
    fn signal_external_workflow(&mut self, output: &mut WorkflowOutbound<'_>) {
        let _ = output;
    }
    /// The run continues as a new one.
    fn continue_as_new(&mut self, output: &mut WorkflowOutbound<'_>) {
        let _ = output;
    }
}

/// Which inbound hook to call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Inbound {
    Execute,
    Signal,
    Query,
    Update,
}

/// Which outbound hook to call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outbound {
    Activity,
    Child,
    SignalExternal,
    ContinueAsNew,
}

/// A run's interceptor, if its worker has one.
pub(crate) type RunInterceptor = Option<Box<dyn WorkflowInterceptor>>;

/// Calls the inbound hook `which`.
pub(crate) fn inbound(
    interceptor: &mut RunInterceptor,
    which: Inbound,
    input: &WorkflowInbound<'_>,
) {
    let Some(i) = interceptor else { return };
    match which {
        Inbound::Execute => i.execute_workflow(input),
        Inbound::Signal => i.handle_signal(input),
        Inbound::Query => i.handle_query(input),
        Inbound::Update => i.handle_update(input),
    }
}

/// The header of an outbound command: empty without an interceptor, else what it adds.
pub(crate) fn outbound_header(
    interceptor: &mut RunInterceptor,
    which: Outbound,
    info: &WorkflowInfo,
    is_replaying: bool,
    name: &str,
    args: &[Payload],
) -> Header {
    let Some(i) = interceptor else {
        return Header::default();
    };
    let mut headers = Headers::new();
    let mut output = WorkflowOutbound {
        info,
        name,
        headers: &mut headers,
        args,
        is_replaying,
    };
    match which {
        Outbound::Activity => i.schedule_activity(&mut output),
        Outbound::Child => i.start_child_workflow(&mut output),
        Outbound::SignalExternal => i.signal_external_workflow(&mut output),
        Outbound::ContinueAsNew => i.continue_as_new(&mut output),
    }
    Header { fields: headers }
}
