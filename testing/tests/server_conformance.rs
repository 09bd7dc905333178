//! The raw-RPC client scenarios of `support/raw_scenarios.rs` (the same ones `official_server.rs`
//! runs against the official dev server) against the bundled server, one in-process `TestServer`
//! per test. Activities, timers and timeouts are in `server_tasks.rs`, `server_activities.rs`
//! and `server_children.rs`.

use reprise_testing::server::{ServerOptions, TestServer};

#[path = "support/raw_scenarios.rs"]
mod raw_scenarios;
#[path = "support/raw_task_scenarios.rs"]
mod raw_task_scenarios;

/// Keeps the test's server alive.
type ServerGuard = TestServer;

async fn start() -> (ServerGuard, String) {
    let server = match TestServer::start(ServerOptions::default()).await {
        Ok(s) => s,
        Err(e) => panic!("bundled server: {e}"),
    };
    let target = server.target();
    (server, target)
}
