//! Temporal's public API for Reprise.
//!
//! Messages of every `temporal.api.*` package, gRPC clients (feature `client`) and servers
//! (feature `server`) for `WorkflowService` and `OperatorService`, and proto3-JSON (serde) impls for
//! everything a workflow history contains. Generated at build time from the descriptor set of the
//! pinned `temporalio-protos` crate; see `build.rs`.
//!
//! Most users never import this crate directly: `reprise` re-exports it as `reprise::api`.
#![allow(missing_docs, unreachable_pub, rust_2018_idioms)]
#![allow(clippy::all, rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/_all.rs"));

mod wkt;
pub use wkt::TimestampError;

/// The encoded `FileDescriptorSet` the types were generated from (Temporal's API and its imports).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/temporal_api_descriptor.bin"));
