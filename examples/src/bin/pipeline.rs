//! Runs a pipeline: build, four test shards in parallel, approval, deploy.
//! `cargo run -p reprise-examples --bin pipeline [-- --address HOST:PORT]`
#![allow(clippy::print_stdout)]

use reprise::client::WorkflowOptions;
use reprise::worker::Worker;
use reprise_examples::pipeline::{Pipeline, PipelineActivities, Release, Stage, TASK_QUEUE};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _server) = reprise_examples::runner::connect().await?;
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Pipeline>()
        .workflow::<Stage>()
        .activities(PipelineActivities::default())
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let id = format!("pipeline-{}", std::process::id());
    let release = Release {
        commit: "4f2a9c1".into(),
        shards: 4,
    };
    let handle = client
        .start(
            Pipeline::run,
            (release,),
            WorkflowOptions::new(id, TASK_QUEUE),
        )
        .await?;
    loop {
        let stage: String = handle.query(Pipeline::stage, ()).await?;
        if stage == "awaiting approval" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    println!("tests passed; approving");
    handle
        .signal(Pipeline::approve, ("release-manager".to_string(),))
        .await?;
    for line in handle.result::<Vec<String>>().await? {
        println!("  {line}");
    }
    shutdown.shutdown();
    running.await??;
    Ok(())
}
