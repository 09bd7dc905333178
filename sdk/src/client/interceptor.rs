//! [`ClientInterceptor`]: hooks into every call a client sends (its gRPC metadata, both ways)
//! and into the calls that carry a Temporal header (start, signal-with-start, signal, query,
//! update): for auth headers, a trace context carried into workflows, payload-level logging.

use crate::api::temporal::api::common::v1::Payload;
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::metadata::MetadataMap;

/// The workflow call a [`OutboundCall`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallKind {
    /// `StartWorkflowExecution`.
    StartWorkflow,
    /// `SignalWithStartWorkflowExecution` (the header is the start's and the signal's).
    SignalWithStart,
    /// `SignalWorkflowExecution`.
    Signal,
    /// `QueryWorkflow`.
    Query,
    /// `UpdateWorkflowExecution`.
    Update,
}

/// A call that carries a Temporal header, before it is sent.
#[derive(Debug)]
#[non_exhaustive]
pub struct OutboundCall<'a> {
    /// Which call.
    pub kind: CallKind,
    /// The workflow it addresses.
    pub workflow_id: &'a str,
    /// The workflow type (start), or the signal's, query's or update's name.
    pub name: &'a str,
    /// Temporal headers sent with it (`Header.fields`): the workflow's interceptors see them.
    pub headers: &'a mut BTreeMap<String, Payload>,
    /// Its arguments, converted and encoded.
    pub args: &'a [Payload],
}

/// Hooks into a client's calls; every method has a default that does nothing. Add with
/// [`ClientOptions::with_interceptor`](super::ClientOptions::with_interceptor); several run in
/// the order added.
pub trait ClientInterceptor: Send + Sync + 'static {
    /// Every RPC the client sends (the workers' polls and answers too): read or add its gRPC
    /// metadata. `operation` is the RPC's name (`StartWorkflowExecution`).
    fn outbound_metadata(&self, operation: &str, metadata: &mut MetadataMap) {
        let _ = (operation, metadata);
    }
    /// The response metadata of every RPC that got a response (success or gRPC error).
    fn inbound_metadata(&self, operation: &str, metadata: &MetadataMap) {
        let _ = (operation, metadata);
    }
    /// A workflow call with a Temporal header, before it is sent: add to its headers.
    fn outbound_call(&self, call: &mut OutboundCall<'_>) {
        let _ = call;
    }
}

/// A client's interceptors, in order.
#[derive(Clone, Default)]
pub(crate) struct Interceptors(pub(crate) Vec<Arc<dyn ClientInterceptor>>);

impl std::fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} interceptor(s)", self.0.len())
    }
}

impl Interceptors {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The header of a workflow call: empty without interceptors, else what they add.
    pub(crate) fn header(
        &self,
        kind: CallKind,
        workflow_id: &str,
        name: &str,
        args: Option<&crate::api::temporal::api::common::v1::Payloads>,
    ) -> Option<crate::api::temporal::api::common::v1::Header> {
        if self.0.is_empty() {
            return None;
        }
        let mut headers = BTreeMap::new();
        let args = args.map_or(&[][..], |p| &p.payloads[..]);
        for i in &self.0 {
            i.outbound_call(&mut OutboundCall {
                kind,
                workflow_id,
                name,
                headers: &mut headers,
                args,
            });
        }
        Some(crate::api::temporal::api::common::v1::Header { fields: headers })
    }
}
