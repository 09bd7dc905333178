//! Reprise: durable execution for Rust on Temporal's protocol.
//!
//! - [`client`]: connect to any Temporal server (the bundled one, the official dev server, a
//!   cluster, Temporal Cloud), start workflows and act on them through handles.
//! - [`converter`]: how values become Temporal payloads and errors become Temporal failures,
//!   compatible with the official SDKs' default converters.
//! - [`history`]: workflow histories in the proto3-JSON form that `temporal workflow show --output
//!   json` and the Web UI write, and in protobuf binary.
//! - [`api`]: Temporal's raw API types and gRPC clients, for what the typed layers do not cover.
#![warn(missing_docs)]

pub use reprise_api as api;
pub use reprise_macros::{activities, workflow};

pub mod activity;
pub mod client;
pub mod converter;
pub mod history;
pub mod replay;
mod util;
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod worker;
pub mod workflow;
