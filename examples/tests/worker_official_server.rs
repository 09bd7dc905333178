//! The corpus scenarios (tests/support/corpus_worker.rs) on the official Temporal dev server.

use reprise_testing::{DevServer, DevServerOptions};
use std::sync::OnceLock;

#[path = "support/corpus_worker.rs"]
mod corpus_worker;

/// Keeps a per-test server alive (the shared dev server needs nothing).
type ServerGuard = ();

async fn server_target() -> (ServerGuard, String, bool) {
    static SERVER: OnceLock<DevServer> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        let options = DevServerOptions::default()
            .with_search_attribute("CorpusCustomerId", "Keyword")
            .with_search_attribute("CorpusOrderTotal", "Double")
            .with_search_attribute("CorpusStage", "Keyword")
            .with_search_attribute("CorpusItemCount", "Int");
        match DevServer::start_with(options) {
            Ok(s) => s,
            Err(e) => panic!("official dev server unavailable: {e}"),
        }
    });
    ((), server.address().to_string(), true)
}
