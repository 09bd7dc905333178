//! The raw-RPC client scenarios of `support/raw_scenarios.rs` against the bundled server on its
//! SQLite store (one fresh file per test): every feature the scenarios touch goes through the
//! durable store's encoding of run state, timers and transfers.

use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::SqliteStore;

#[path = "support/raw_scenarios.rs"]
mod raw_scenarios;
#[path = "support/raw_task_scenarios.rs"]
mod raw_task_scenarios;

/// Keeps the test's server alive and removes its database file afterwards.
struct ServerGuard {
    server: Option<TestServer>,
    path: std::path::PathBuf,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        // The store (and its file lock) goes with the server.
        drop(self.server.take());
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

async fn start() -> (ServerGuard, String) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "reprise-conformance-{}-{}.db",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let store = match SqliteStore::open(&path) {
        Ok(s) => s,
        Err(e) => panic!("SQLite store: {e}"),
    };
    let options = ServerOptions::default().with_store(std::sync::Arc::new(store));
    let server = match TestServer::start(options).await {
        Ok(s) => s,
        Err(e) => panic!("bundled server: {e}"),
    };
    let target = server.target();
    (
        ServerGuard {
            server: Some(server),
            path,
        },
        target,
    )
}
