//! The trace id a client call carries reaches the workflow and its activities through Temporal
//! headers, and the client's metadata hooks see every RPC.

use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::{Worker, WorkerOptions};
use reprise_examples::observability::{
    Shipment, TASK_QUEUE, TRACE_HEADER, TraceClient, TraceWorker, Warehouse,
};
use reprise_testing::server::{ServerOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_id_of_the_start_reaches_the_activities() -> Result<(), Box<dyn std::error::Error>>
{
    let server = TestServer::start(ServerOptions::default()).await?;
    let tracer = TraceClient::new("trace-42");
    let client =
        Client::connect(ClientOptions::new(server.target()).with_interceptor(tracer.clone()))
            .await?;
    let traced = TraceWorker::default();
    // No cache: later tasks replay the run, whose interceptor must find the id again.
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Shipment>()
        .activities(Warehouse)
        .options(
            WorkerOptions::new(TASK_QUEUE)
                .with_max_cached_workflows(0)
                .with_interceptor(traced.clone()),
        )
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let handle = client
        .start(
            Shipment::run,
            ("parcel-1".to_string(),),
            WorkflowOptions::new("traced-shipment", TASK_QUEUE),
        )
        .await?;
    // The pack activity answers with the id it read from its own headers.
    assert_eq!(handle.result::<String>().await?, "trace-42");
    let seen = traced.seen.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(
        seen,
        [
            ("pack".to_string(), "trace-42".to_string()),
            ("label".to_string(), "trace-42".to_string())
        ]
    );
    // The header is in the history, on the start and on both scheduled activities.
    let history = handle.fetch_history().await?;
    let json = reprise::history::to_json_string(&history)?;
    assert_eq!(
        json.matches(&format!("\"{TRACE_HEADER}\"")).count(),
        3,
        "{json}"
    );
    let responses = tracer.responses.lock().map_err(|_| "poisoned")?.clone();
    assert!(responses.iter().any(|r| r == "StartWorkflowExecution"));
    assert!(responses.iter().any(|r| r == "PollWorkflowTaskQueue"));
    shutdown.shutdown();
    running.await??;
    server.shutdown().await?;
    Ok(())
}
