//! Interceptors, in one place: hooks into what a client sends, what a run receives and sends,
//! and each activity attempt — enough to carry a trace context through Temporal headers, add
//! auth metadata, or log payloads.
//!
//! - [`ClientInterceptor`]: every RPC's gRPC metadata, out and in; the Temporal header of starts,
//!   signals, queries and updates ([`ClientOptions::with_interceptor`]).
//! - [`WorkerInterceptor`]: makes a [`WorkflowInterceptor`] for each run (inbound: start,
//!   signals, queries, updates; outbound: activities, children, external signals,
//!   continue-as-new, whose headers it can add to) and sees each activity attempt with its
//!   headers ([`WorkerOptions::with_interceptor`]).
//!
//! Activity code reads its headers with [`ActivityContext::headers`].
//!
//! [`ClientOptions::with_interceptor`]: crate::client::ClientOptions::with_interceptor
//! [`WorkerOptions::with_interceptor`]: crate::worker::WorkerOptions::with_interceptor
//! [`ActivityContext::headers`]: crate::activity::ActivityContext::headers

pub use crate::client::{CallKind, ClientInterceptor, OutboundCall};
pub use crate::worker::{ActivityInbound, WorkerInterceptor};
pub use crate::workflow::interceptor::{
    Headers, WorkflowInbound, WorkflowInterceptor, WorkflowOutbound,
};
/// gRPC metadata, as [`ClientInterceptor`] sees it (tonic's).
pub use tonic::metadata::MetadataMap;
