//! What tracing and metrics cost a worker: runs N shipments (two activities, a timer, three
//! workflow log lines each) with telemetry `on` (a Prometheus recorder, and a `tracing` fmt
//! subscriber at INFO writing to a sink, so every span and event is built and formatted) or
//! `off` (metrics disabled, no subscriber), and prints the process's user+sys CPU per workflow.
//! Run it against a server in another process so that only the client and worker are measured:
//! `cargo run --release -p reprise-examples --bin telemetry-bench -- --address HOST:PORT --mode on --workflows 300`
#![allow(clippy::print_stdout)]

use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::telemetry::{Metrics, PrometheusEndpoint};
use reprise::worker::Worker;
use reprise_examples::observability::{Shipment, TASK_QUEUE, Warehouse};
use std::time::Instant;

/// User+sys CPU of this process so far, in seconds (from `/proc/self/stat`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = arg("--address").ok_or("--address HOST:PORT is required")?;
    let on = arg("--mode").as_deref() != Some("off");
    let workflows: usize = arg("--workflows")
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let prometheus = PrometheusEndpoint::bind("127.0.0.1:0").await?;
    let metrics = if on {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .init();
        prometheus.metrics()
    } else {
        Metrics::disabled()
    };
    let client = Client::connect(ClientOptions::new(address).with_metrics(metrics)).await?;
    let queue = format!("{TASK_QUEUE}-bench-{}", std::process::id());
    let worker = Worker::builder(client.clone(), &queue)
        .workflow::<Shipment>()
        .activities(Warehouse)
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let cpu_before = cpu_seconds().ok_or("no /proc/self/stat")?;
    let started = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for i in 0..workflows {
        let client = client.clone();
        let queue = queue.clone();
        runs.spawn(async move {
            let options = WorkflowOptions::new(format!("{queue}-{i}"), &queue);
            let handle = client
                .start(Shipment::run, (format!("parcel-{i}"),), options)
                .await?;
            handle.result::<String>().await
        });
    }
    while let Some(done) = runs.join_next().await {
        done??;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().ok_or("no /proc/self/stat")? - cpu_before;
    println!(
        "telemetry {}: {workflows} workflows in {wall:.2} s ({:.1}/s), CPU {cpu:.2} s = {:.3} ms per workflow",
        if on { "on" } else { "off" },
        workflows as f64 / wall,
        cpu * 1000.0 / workflows as f64
    );
    if on {
        let scraped = prometheus.render();
        let completed = scraped
            .lines()
            .find(|l| l.starts_with("temporal_workflow_completed"))
            .unwrap_or("temporal_workflow_completed missing");
        println!("{completed}");
    }
    shutdown.shutdown();
    running.await??;
    Ok(())
}
