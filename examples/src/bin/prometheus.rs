//! A worker with a Prometheus endpoint: runs a few shipments, then prints what a scrape of
//! `http://127.0.0.1:PORT/metrics` returns (Temporal's SDK metrics) and keeps serving it for
//! `--serve SECONDS` (default 0).
//! `cargo run -p reprise-examples --bin prometheus [-- --address HOST:PORT] [--serve 60]`
#![allow(clippy::print_stdout)]

use reprise::client::{Client, WorkflowOptions};
use reprise::telemetry::PrometheusEndpoint;
use reprise::worker::Worker;
use reprise_examples::observability::{Shipment, TASK_QUEUE, Warehouse};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prometheus = PrometheusEndpoint::bind("127.0.0.1:0").await?;
    println!("metrics at http://{}/metrics", prometheus.address());
    let (plain, _server) = reprise_examples::runner::connect().await?;
    // The same target and namespace, with the endpoint's metrics.
    let options = plain.options().clone().with_metrics(prometheus.metrics());
    let client = Client::connect(options).await?;
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Shipment>()
        .activities(Warehouse)
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let suffix = std::process::id();
    for i in 0..3 {
        let handle = client
            .start(
                Shipment::run,
                (format!("parcel-{i}"),),
                WorkflowOptions::new(format!("shipment-{suffix}-{i}"), TASK_QUEUE),
            )
            .await?;
        let _: String = handle.result().await?;
    }
    for line in prometheus.render().lines() {
        if line.starts_with("temporal_workflow_")
            || line.starts_with("temporal_activity_execution")
            || line.starts_with("temporal_sticky")
        {
            println!("{line}");
        }
    }
    let args: Vec<String> = std::env::args().collect();
    let serve = args
        .iter()
        .position(|a| a == "--serve")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(serve)).await;
    shutdown.shutdown();
    running.await??;
    Ok(())
}
