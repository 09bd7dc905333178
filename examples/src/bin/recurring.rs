//! A report job on a cron schedule (every hour); shows five runs and terminates the schedule.
//! `cargo run -p reprise-examples --bin recurring` (time skipping makes the hours pass at once).
#![allow(clippy::print_stdout)]

use reprise::client::WorkflowOptions;
use reprise::worker::Worker;
use reprise_examples::recurring::{JobActivities, ReportJob, TASK_QUEUE};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _server) = reprise_examples::runner::connect().await?;
    let jobs = JobActivities::default();
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<ReportJob>()
        .activities(jobs.clone())
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let id = format!("hourly-report-{}", std::process::id());
    let handle = client
        .start(
            ReportJob::run,
            ("sales".to_string(),),
            WorkflowOptions::new(id, TASK_QUEUE).with_cron_schedule("0 * * * *"),
        )
        .await?;
    while jobs.log.lock().map_err(|_| "poisoned")?.len() < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    handle.terminate("example done", ()).await?;
    for run in jobs.log.lock().map_err(|_| "poisoned")?.iter() {
        println!("run {} at {}: {}", run.run_id, run.started_at, run.output);
    }
    shutdown.shutdown();
    running.await??;
    Ok(())
}
