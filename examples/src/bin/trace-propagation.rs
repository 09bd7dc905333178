//! A trace id carried from a client call into the workflow and its activities through Temporal
//! headers, by the interceptors of `reprise_examples::observability`; logs (with their spans)
//! printed to stderr.
//! `cargo run -p reprise-examples --bin trace-propagation [-- --address HOST:PORT]`
#![allow(clippy::print_stdout)]

use reprise::client::{Client, WorkflowOptions};
use reprise::worker::{Worker, WorkerOptions};
use reprise_examples::observability::{Shipment, TASK_QUEUE, TraceClient, TraceWorker, Warehouse};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(true)
        .init();
    let (plain, _server) = reprise_examples::runner::connect().await?;
    let trace_id = format!("trace-{}", std::process::id());
    let options = plain
        .options()
        .clone()
        .with_interceptor(TraceClient::new(trace_id.clone()));
    let client = Client::connect(options).await?;
    let traced = TraceWorker::default();
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Shipment>()
        .activities(Warehouse)
        .options(WorkerOptions::new(TASK_QUEUE).with_interceptor(traced.clone()))
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let handle = client
        .start(
            Shipment::run,
            ("parcel-1".to_string(),),
            WorkflowOptions::new(format!("shipment-{trace_id}"), TASK_QUEUE),
        )
        .await?;
    let seen_by_activity: String = handle.result().await?;
    println!("client sent {trace_id}; the pack activity saw {seen_by_activity:?}");
    let seen = traced.seen.lock().map_err(|_| "poisoned")?.clone();
    println!("activity attempts under a trace: {seen:?}");
    shutdown.shutdown();
    running.await??;
    Ok(())
}
