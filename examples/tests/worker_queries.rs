//! Queries for a run the worker does not keep cached. On a sticky queue the server sends query
//! tasks without history (the worker is expected to have the run); a worker that evicted it
//! fetches the history and answers anyway (seen once as a flaky "empty history" query failure
//! in `macros.rs`'s end-to-end test).

use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::{Worker, WorkerOptions};
use reprise_examples::hello::OrderWorkflow;
use reprise_testing::server::{ServerOptions, TestServer};
use std::time::Duration;

#[tokio::test]
async fn queries_are_answered_for_runs_the_worker_does_not_keep() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("server");
    let client = Client::connect(ClientOptions::new(server.target()))
        .await
        .expect("client");
    // No cache: every run is evicted after its task, but the worker still asks for stickiness.
    let options = WorkerOptions::new("queries").with_max_cached_workflows(0);
    let worker = Worker::builder(client.clone(), "queries")
        .workflow::<OrderWorkflow>()
        .activities(reprise_examples::hello::Payments { fee: 0 })
        .options(options)
        .build()
        .expect("worker");
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let handle = client
        .start(
            OrderWorkflow::run,
            ("o-1".to_string(), 5),
            WorkflowOptions::new("evicted-query", "queries"),
        )
        .await
        .expect("start");
    handle
        .signal(OrderWorkflow::add_item, ("apple".to_string(),))
        .await
        .expect("signal");
    // Queries until the signal's task is done: each one must be answered.
    let mut answered = None;
    for _ in 0..50 {
        let (approved, items): (bool, usize) = handle
            .query(OrderWorkflow::status, ())
            .await
            .expect("query answered");
        if items == 1 {
            answered = Some(approved);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        answered,
        Some(false),
        "the signal's effect is visible to the query"
    );
    // Now nothing is in flight: the next queries are query tasks of their own, on the sticky
    // queue, without history.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        let (_, items): (bool, usize) = handle
            .query(OrderWorkflow::status, ())
            .await
            .expect("query answered");
        assert_eq!(items, 1);
    }
    shutdown.shutdown();
    let _ = running.await;
    server.shutdown().await.expect("shutdown");
}
