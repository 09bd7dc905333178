//! The queries the CLI (and Web UI) send to any SDK's worker: `temporal workflow stack` shows
//! what a Reprise workflow awaits and where its code started it; `temporal workflow metadata`
//! shows its type and handlers.

use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::converter::ApplicationFailure;
use reprise::worker::Worker;
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use reprise_testing::server::{ServerOptions, TestServer};
use std::future::IntoFuture;
use std::process::Command;
use std::time::Duration;

/// Waits on a long timer and an activity nobody runs.
#[derive(Default)]
pub struct Waiting {
    limit: State<u32>,
}

#[reprise::workflow(name = "Waiting")]
impl Waiting {
    /// Awaits both forever (the test terminates it).
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<()> {
        let timer = ctx.sleep(Duration::from_secs(3600));
        let activity = ctx
            .activity_by_name::<()>("NobodyRuns", ())
            .task_queue("nowhere")
            .start_to_close_timeout(Duration::from_secs(3600))
            .into_future();
        let (slept, ran) = futures::join!(timer, activity);
        slept?;
        ran?;
        Ok(())
    }

    /// A signal.
    #[signal]
    pub fn approve(&self, _ctx: &WorkflowContext) {}

    /// A query.
    #[query]
    pub fn progress(&self, _ctx: &WorkflowContext) -> u32 {
        self.limit.get()
    }

    /// An update.
    #[update]
    pub fn set_limit(&self, _ctx: &WorkflowContext, limit: u32) -> Result<u32, ApplicationFailure> {
        Ok(self.limit.replace(limit))
    }
}

fn cli(target: &str, args: &[&str]) -> String {
    let cli =
        std::env::var("TEMPORAL_CLI").expect("TEMPORAL_CLI is not set: run `. scripts/tools.sh`");
    let output = Command::new(cli)
        .args(args)
        .args(["--address", target])
        .output()
        .expect("run the CLI");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "temporal {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_a_reprise_workflows_stack_and_metadata() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("server");
    let target = server.target();
    let client = Client::connect(ClientOptions::new(target.clone()))
        .await
        .expect("connect");
    let worker = Worker::builder(client.clone(), "waiting")
        .workflow::<Waiting>()
        .build()
        .expect("worker");
    let running = tokio::spawn(async move { worker.run().await });
    let handle = client
        .start(
            Waiting::run,
            (),
            WorkflowOptions::new("waiting-1", "waiting"),
        )
        .await
        .expect("start");
    // Wait until the first workflow task has run (the timer is in history).
    for _ in 0..100 {
        let history = handle.fetch_history().await.expect("history");
        if history.events.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let stack = cli(
        &target,
        &["workflow", "stack", "--workflow-id", "waiting-1"],
    );
    assert!(stack.contains("awaiting timer 1"), "{stack}");
    assert!(stack.contains("awaiting activity NobodyRuns"), "{stack}");
    assert!(
        stack.contains("cli_queries.rs:"),
        "the workflow's own source lines: {stack}"
    );

    let text = cli(
        &target,
        &["workflow", "metadata", "--workflow-id", "waiting-1"],
    );
    assert!(
        text.contains("set_limit") && text.contains("approve"),
        "{text}"
    );
    let metadata = cli(
        &target,
        &[
            "workflow",
            "metadata",
            "--workflow-id",
            "waiting-1",
            "--output",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&metadata).expect("metadata JSON");
    let definition = &json["queryResult"][0]["definition"];
    assert_eq!(definition["type"], "Waiting", "{json}");
    let names = |key: &str| -> Vec<String> {
        definition[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        names("queryDefinitions").contains(&"progress".to_string()),
        "{json}"
    );
    assert!(
        names("queryDefinitions").contains(&"__stack_trace".to_string()),
        "{json}"
    );
    assert_eq!(names("signalDefinitions"), ["approve"], "{json}");
    assert_eq!(names("updateDefinitions"), ["set_limit"], "{json}");

    handle.terminate("done", ()).await.expect("terminate");
    running.abort();
}
