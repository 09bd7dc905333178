//! The corpus scenarios (tests/support/corpus_worker.rs) on Reprise's bundled server, one
//! in-process server per test.

use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise_testing::server::{ServerOptions, TestServer};

#[path = "support/corpus_worker.rs"]
mod corpus_worker;

/// Keeps the test's server alive.
type ServerGuard = TestServer;

async fn server_target() -> (ServerGuard, String, bool) {
    let options = ServerOptions::default()
        .with_search_attribute("CorpusCustomerId", IndexedValueType::Keyword)
        .with_search_attribute("CorpusOrderTotal", IndexedValueType::Double)
        .with_search_attribute("CorpusStage", IndexedValueType::Keyword)
        .with_search_attribute("CorpusItemCount", IndexedValueType::Int);
    let server = match TestServer::start(options).await {
        Ok(s) => s,
        Err(e) => panic!("bundled server: {e}"),
    };
    let target = server.target();
    (server, target, true)
}
