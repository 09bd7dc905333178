//! The official CLI's operator commands against the bundled server: `temporal workflow reset`
//! (by type and by event id) and `temporal workflow execute-update-with-start` (a new run, then
//! the running one with `UseExisting`), with a Reprise worker running the workflow.

use reprise::api::temporal::api::enums::v1::{EventType, WorkflowExecutionStatus};
use reprise::client::{Client, ClientOptions};
use reprise::worker::Worker;
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use reprise_testing::server::{ServerOptions, TestServer};
use std::process::Command;
use std::time::Duration;

#[derive(Default)]
struct Counter {
    total: State<i64>,
}

#[reprise::workflow(name = "Counter")]
impl Counter {
    #[run]
    async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<i64> {
        ctx.wait_condition(|| self.total.get() >= 100).await?;
        Ok(self.total.get())
    }

    #[update(name = "add")]
    fn add(
        &self,
        _ctx: &WorkflowContext,
        n: i64,
    ) -> Result<i64, reprise::converter::ApplicationFailure> {
        self.total.update(|t| *t += n);
        Ok(self.total.get())
    }
}

fn temporal(address: &str, args: &[&str]) -> String {
    let cli = std::env::var("TEMPORAL_CLI")
        .expect("TEMPORAL_CLI is not set: run `. scripts/tools.sh` (scripts/test.sh does)");
    let out = Command::new(cli)
        .args(args)
        .args(["--address", address])
        .output()
        .expect("run temporal");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "temporal {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn cli(address: &str, args: &[&str]) -> String {
    let address = address.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        temporal(&address, &args)
    })
    .await
    .expect("cli task")
}

fn update_with_start(value: &str) -> Vec<String> {
    [
        "workflow",
        "execute-update-with-start",
        "--workflow-id",
        "counter",
        "--type",
        "Counter",
        "--task-queue",
        "cli-ops",
        "--id-conflict-policy",
        "UseExisting",
        "--update-name",
        "add",
        "--update-input",
        value,
        "-o",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_update_with_start_from_the_cli() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("server");
    let address = server.target();
    let client = Client::connect(ClientOptions::new(address.clone()))
        .await
        .expect("connect");
    let worker = Worker::builder(client.clone(), "cli-ops")
        .workflow::<Counter>()
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let worker = tokio::spawn(worker.run());

    // Update-with-start: the first call starts the run, the second reuses it.
    let args = update_with_start("5");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first: serde_json::Value =
        serde_json::from_str(&cli(&address, &args).await).expect("json output");
    let args = update_with_start("7");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let second: serde_json::Value =
        serde_json::from_str(&cli(&address, &args).await).expect("json output");
    assert_eq!(first["updateResult"], 5, "{first}");
    assert_eq!(second["updateResult"], 12, "{second}");
    assert_eq!(first["runId"], second["runId"], "{first} {second}");
    let first_run = first["runId"].as_str().expect("run id").to_string();

    // Reset by type: the running run is terminated and a new one takes over from the last
    // completed workflow task (the updates after it are re-applied as events).
    cli(
        &address,
        &[
            "workflow",
            "reset",
            "--workflow-id",
            "counter",
            "--type",
            "LastWorkflowTask",
            "--reason",
            "from the cli",
        ],
    )
    .await;
    let old = client.workflow_handle("counter", Some(first_run.clone()));
    let description = old.describe_raw().await.expect("describe the old run");
    let info = description.workflow_execution_info.unwrap_or_default();
    assert_eq!(info.status, WorkflowExecutionStatus::Terminated as i32);
    let reset_run = description
        .workflow_extended_info
        .unwrap_or_default()
        .reset_run_id;
    assert!(!reset_run.is_empty());
    let current = client.workflow_handle("counter", None);
    let current_info = current
        .describe_raw()
        .await
        .expect("describe")
        .workflow_execution_info
        .unwrap_or_default();
    assert_eq!(
        current_info.execution.map(|e| e.run_id),
        Some(reset_run.clone())
    );

    // Reset by event id: back to the first workflow task of the reset run.
    let history = current.fetch_history().await.expect("history");
    let failed = history
        .events
        .iter()
        .find(|e| e.event_type == EventType::WorkflowTaskFailed as i32)
        .map(|e| e.event_id)
        .expect("the reset's failed workflow task");
    cli(
        &address,
        &[
            "workflow",
            "reset",
            "--workflow-id",
            "counter",
            "--event-id",
            &failed.to_string(),
            "--reason",
            "again",
        ],
    )
    .await;
    let again = client.workflow_handle("counter", None);
    let again_info = again
        .describe_raw()
        .await
        .expect("describe")
        .workflow_execution_info
        .unwrap_or_default();
    let again_run = again_info.execution.map(|e| e.run_id).unwrap_or_default();
    assert_ne!(again_run, reset_run);

    // The workflow still takes updates and completes.
    let args = update_with_start("100");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let last: serde_json::Value =
        serde_json::from_str(&cli(&address, &args).await).expect("json output");
    assert_eq!(
        last["runId"],
        again_run.as_str(),
        "the running run took the update: {last}"
    );
    let total: i64 = tokio::time::timeout(Duration::from_secs(20), again.result())
        .await
        .expect("the workflow completes")
        .expect("result");
    assert!(total >= 100, "{total}");
    stop.shutdown();
    let _ = worker.await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_by_query_from_the_cli_runs_a_batch_operation() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("server");
    let address = server.target();
    let client = Client::connect(ClientOptions::new(address.clone()))
        .await
        .expect("connect");
    for n in 0..5 {
        client
            .start(
                Counter::run,
                (),
                reprise::client::WorkflowOptions::new(format!("bulk-{n}"), "no-worker"),
            )
            .await
            .expect("start");
    }
    let started: serde_json::Value = serde_json::from_str(
        &cli(
            &address,
            &[
                "workflow",
                "terminate",
                "--query",
                "WorkflowId STARTS_WITH 'bulk-'",
                "--reason",
                "bulk stop",
                "--yes",
                "-o",
                "json",
            ],
        )
        .await,
    )
    .expect("json output");
    let job_id = started["batchJobId"].as_str().expect("job id").to_string();
    let mut described = serde_json::Value::Null;
    for _ in 0..100 {
        described = serde_json::from_str(
            &cli(
                &address,
                &["batch", "describe", "--job-id", &job_id, "-o", "json"],
            )
            .await,
        )
        .expect("json output");
        if described["state"] == "BATCH_OPERATION_STATE_COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        described["state"], "BATCH_OPERATION_STATE_COMPLETED",
        "{described}"
    );
    assert_eq!(described["totalOperationCount"], "5", "{described}");
    assert_eq!(described["completeOperationCount"], "5", "{described}");
    let terminated = client
        .count_workflows("ExecutionStatus = 'Terminated'")
        .await
        .expect("count");
    assert_eq!(terminated, 5);
    let listed = cli(&address, &["batch", "list"]).await;
    assert!(listed.contains(&job_id), "{listed}");
    server.shutdown().await.expect("shutdown");
}
