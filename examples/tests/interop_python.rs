//! Reprise and the official Python SDK (temporalio 1.35.0) sharing one server: each calls the
//! other's activities and child workflows, signals, queries and updates cross both ways, and
//! failures (type, message, details, non-retryable, cause chain) arrive unchanged.
//!
//! The Python side is `tests/python/interop_peer.py`: a worker on task queue "py" and a client
//! mode; Reprise's worker serves task queue "rs" in this process. Run on the official dev server
//! and on Reprise's bundled server.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::{Client, ClientError, ClientOptions, RetryPolicy, WorkflowOptions};
use reprise::converter::{ApplicationFailure, DataConverter, Failure, FailureKind};
use reprise::worker::Worker;
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use reprise_testing::DevServer;
use reprise_testing::server::{ServerOptions, TestServer};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A failure as plain data, the same shape as `describe` in interop_peer.py.
fn describe(failure: &Failure) -> Value {
    let converter = DataConverter::default();
    let class = match &failure.kind {
        FailureKind::Application(_) => "ApplicationError",
        FailureKind::Activity { .. } => "ActivityError",
        FailureKind::ChildWorkflow { .. } => "ChildWorkflowError",
        FailureKind::Timeout { .. } => "TimeoutError",
        FailureKind::Canceled { .. } => "CancelledError",
        _ => "Other",
    };
    let mut out = json!({"class": class, "message": failure.message});
    if let Some(app) = failure.application() {
        let details: Vec<Value> = app
            .details
            .iter()
            .map(|p| converter.from_payload(p).unwrap_or(Value::Null))
            .collect();
        out["type"] = json!(app.error_type);
        out["non_retryable"] = json!(app.non_retryable);
        out["details"] = json!(details);
    }
    out["cause"] = failure.cause().map_or(Value::Null, describe);
    out
}

/// Calls Python's activities and child workflows, then waits for a signal from a Python client.
#[derive(Default)]
pub struct RsParent {
    state: State<String>,
    signals: State<Vec<String>>,
}

#[reprise::workflow(name = "RsParent")]
impl RsParent {
    /// Runs the cross-language calls and reports what came back.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, name: String) -> WorkflowResult<Value> {
        self.state.set("started".into());
        let greeting: String = ctx
            .activity_by_name("py_greet", (name.clone(),))
            .task_queue("py")
            .start_to_close_timeout(TIMEOUT)
            .await?;
        let activity_failure = match ctx
            .activity_by_name::<String>("py_fail", (7,))
            .task_queue("py")
            .start_to_close_timeout(TIMEOUT)
            .retry_policy(RetryPolicy::new().with_maximum_attempts(1))
            .await
        {
            Ok(v) => json!({"unexpected": v}),
            Err(f) => describe(&f),
        };
        let child: String = ctx
            .child_workflow_by_name("PyChild", (name.clone(),))
            .task_queue("py")
            .await?;
        let child_failure = match ctx
            .child_workflow_by_name::<String>("PyFailingChild", (9,))
            .task_queue("py")
            .await
        {
            Ok(v) => json!({"unexpected": v}),
            Err(f) => describe(&f),
        };
        self.state.set("waiting".into());
        ctx.wait_condition(|| self.signals.with(|s| !s.is_empty()))
            .await?;
        Ok(json!({
            "greeting": greeting,
            "activity_failure": activity_failure,
            "child": child,
            "child_failure": child_failure,
            "signals": self.signals.get(),
            "state": self.state.get(),
        }))
    }

    /// A signal a Python client sends.
    #[signal]
    pub fn rs_signal(&self, _ctx: &WorkflowContext, value: String) {
        self.signals.update(|s| s.push(value));
    }

    /// Where the workflow is.
    #[query]
    pub fn rs_state(&self, _ctx: &WorkflowContext) -> String {
        self.state.get()
    }

    /// Replaces the state; returns the previous one.
    #[update]
    pub fn rs_set(
        &self,
        _ctx: &WorkflowContext,
        value: String,
    ) -> Result<String, ApplicationFailure> {
        Ok(self.state.replace(value))
    }

    /// Rejects an empty state.
    #[update_validator(rs_set)]
    pub fn check_rs_set(
        &self,
        _ctx: &WorkflowContext,
        value: &String,
    ) -> Result<(), ApplicationFailure> {
        if value.is_empty() {
            return Err(ApplicationFailure::new("empty state").with_type("InvalidState"));
        }
        Ok(())
    }
}

/// A child a Python workflow starts.
#[derive(Default)]
pub struct RsChild;

#[reprise::workflow(name = "RsChild")]
impl RsChild {
    /// Answers with a greeting.
    #[run]
    pub async fn run(&self, _ctx: &WorkflowContext, name: String) -> WorkflowResult<String> {
        Ok(format!("rust child of {name}"))
    }
}

/// A child that fails, started by a Python workflow.
#[derive(Default)]
pub struct RsFailingChild;

#[reprise::workflow(name = "RsFailingChild")]
impl RsFailingChild {
    /// Fails with a typed, non-retryable failure with details.
    #[run]
    pub async fn run(&self, _ctx: &WorkflowContext, code: u32) -> WorkflowResult<String> {
        Err(ApplicationFailure::new("rust child failed")
            .with_type("RsChildFailure")
            .non_retryable()
            .with_details(&(code,), &DataConverter::default())?
            .into())
    }
}

/// Activities a Python workflow calls.
pub struct RsActivities;

#[reprise::activities]
impl RsActivities {
    /// A greeting.
    pub async fn rs_greet(
        &self,
        _ctx: ActivityContext,
        name: String,
    ) -> Result<String, ActivityError> {
        Ok(format!("hello {name} from rust"))
    }

    /// Fails with a typed, non-retryable failure with details and a cause.
    pub async fn rs_fail(&self, _ctx: ActivityContext, code: u32) -> Result<String, ActivityError> {
        let root = ApplicationFailure::new("rust root cause").with_type("RsRoot");
        let failure = ApplicationFailure::new("rust activity failed")
            .with_type("RsFailure")
            .non_retryable()
            .with_details(&(code, "rs-detail"), &DataConverter::default())
            .map_err(|e| ActivityError::non_retryable(e.to_string()))?
            .with_cause(root);
        Err(ActivityError::Failed(Box::new(failure.into())))
    }
}

fn python() -> String {
    std::env::var("REPRISE_PYTHON")
        .unwrap_or_else(|_| panic!("REPRISE_PYTHON is not set: run `. scripts/tools.sh`"))
}

fn peer_script() -> String {
    format!(
        "{}/tests/python/interop_peer.py",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Starts the Python worker and waits until it polls.
async fn python_worker(target: &str) -> Child {
    let mut child = Command::new(python())
        .arg(peer_script())
        .args(["worker", target])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the Python worker: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
    match ready {
        Ok(Ok(Some(line))) if line == "READY" => child,
        other => panic!("the Python worker did not start: {other:?}"),
    }
}

/// Runs the Python client against a Reprise workflow; its JSON answer.
async fn python_client(target: &str, workflow_id: &str) -> Value {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(python())
            .arg(peer_script())
            .args(["client", target, workflow_id])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("the Python client did not finish"))
    .unwrap_or_else(|e| panic!("cannot run the Python client: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Python client failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("Python client printed {stdout:?}: {e}"))
}

async fn interop(target: String, name: &str) {
    let _python = python_worker(&target).await;
    let client = Client::connect(ClientOptions::new(target.clone()))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let worker = Worker::builder(client.clone(), "rs")
        .workflow::<RsParent>()
        .workflow::<RsChild>()
        .workflow::<RsFailingChild>()
        .activities(RsActivities)
        .build()
        .unwrap_or_else(|e| panic!("worker: {e}"));
    let worker_task = tokio::spawn(async move { worker.run().await });

    // A Reprise workflow calls Python; a Python client queries, updates and signals it.
    let rs_id = format!("rs-parent-{name}");
    let handle = client
        .start(
            RsParent::run,
            ("ada".into(),),
            WorkflowOptions::new(rs_id.clone(), "rs"),
        )
        .await
        .unwrap_or_else(|e| panic!("start RsParent: {e}"));
    let from_python = python_client(&target, &rs_id).await;
    assert_eq!(from_python["state"], "waiting", "{from_python}");
    assert_eq!(from_python["previous"], "waiting", "{from_python}");
    assert_eq!(
        from_python["rejected"],
        json!({"class": "ApplicationError", "message": "empty state", "type": "InvalidState",
               "non_retryable": false, "details": [], "cause": null}),
        "the validator's failure reaches the Python client: {from_python}"
    );
    let report: Value = tokio::time::timeout(Duration::from_secs(60), handle.result())
        .await
        .unwrap_or_else(|_| panic!("RsParent did not finish"))
        .unwrap_or_else(|e| panic!("RsParent failed: {e}"));
    assert_eq!(report["greeting"], "hello ada from python");
    assert_eq!(report["child"], "python child of ada");
    assert_eq!(report["signals"], json!(["signal from python"]));
    assert_eq!(report["state"], "set by python");
    let activity_failure = &report["activity_failure"];
    assert_eq!(activity_failure["class"], "ActivityError", "{report}");
    assert_eq!(
        activity_failure["cause"],
        json!({"class": "ApplicationError", "message": "python activity failed",
               "type": "PyFailure", "non_retryable": true, "details": [7, "py-detail"],
               "cause": {"class": "ApplicationError", "message": "python root cause",
                         "type": "PyRoot", "non_retryable": false, "details": [], "cause": null}}),
        "{report}"
    );
    let child_failure = &report["child_failure"];
    assert_eq!(child_failure["class"], "ChildWorkflowError", "{report}");
    assert_eq!(
        child_failure["cause"],
        json!({"class": "ApplicationError", "message": "python child failed",
               "type": "PyChildFailure", "non_retryable": true, "details": [9], "cause": null}),
        "{report}"
    );

    // A Python workflow calls Reprise; Reprise's client queries, updates and signals it.
    let py = client
        .start_workflow(
            "PyParent",
            ("bob".to_string(),),
            WorkflowOptions::new(format!("py-parent-{name}"), "py"),
        )
        .await
        .unwrap_or_else(|e| panic!("start PyParent: {e}"));
    let mut state = String::new();
    for _ in 0..200 {
        state = py
            .query_by_name("py_state", ())
            .await
            .unwrap_or_else(|e| panic!("query py_state: {e}"));
        if state == "waiting" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "waiting");
    let previous: String = py
        .update_by_name("py_set", ("set by rust",))
        .await
        .unwrap_or_else(|e| panic!("update py_set: {e}"));
    assert_eq!(previous, "waiting");
    let rejected = py.update_by_name::<String>("py_set", ("",)).await;
    match rejected {
        Err(ClientError::UpdateFailed(failure)) => {
            assert_eq!(failure.message, "empty state");
            assert_eq!(failure.application_type(), Some("InvalidState"));
        }
        other => panic!("the Python validator's rejection, not {other:?}"),
    }
    py.signal_by_name("py_signal", ("signal from rust",))
        .await
        .unwrap_or_else(|e| panic!("signal py_signal: {e}"));
    let report: Value = tokio::time::timeout(Duration::from_secs(60), py.result())
        .await
        .unwrap_or_else(|_| panic!("PyParent did not finish"))
        .unwrap_or_else(|e| panic!("PyParent failed: {e}"));
    assert_eq!(report["greeting"], "hello bob from rust");
    assert_eq!(report["child"], "rust child of bob");
    assert_eq!(report["signals"], json!(["signal from rust"]));
    assert_eq!(report["state"], "set by rust");
    assert_eq!(
        report["activity_failure"]["class"], "ActivityError",
        "{report}"
    );
    assert_eq!(
        report["activity_failure"]["cause"],
        json!({"class": "ApplicationError", "message": "rust activity failed",
               "type": "RsFailure", "non_retryable": true, "details": [7, "rs-detail"],
               "cause": {"class": "ApplicationError", "message": "rust root cause",
                         "type": "RsRoot", "non_retryable": false, "details": [], "cause": null}}),
        "{report}"
    );
    assert_eq!(
        report["child_failure"]["class"], "ChildWorkflowError",
        "{report}"
    );
    assert_eq!(
        report["child_failure"]["cause"],
        json!({"class": "ApplicationError", "message": "rust child failed",
               "type": "RsChildFailure", "non_retryable": true, "details": [9], "cause": null}),
        "{report}"
    );

    // A Python workflow's failure, read by Reprise's client.
    let failing = client
        .start_workflow(
            "PyFailingChild",
            (5,),
            WorkflowOptions::new(format!("py-failing-{name}"), "py"),
        )
        .await
        .unwrap_or_else(|e| panic!("start PyFailingChild: {e}"));
    match failing.result::<String>().await {
        Err(ClientError::WorkflowFailed(failure)) => assert_eq!(
            describe(&failure),
            json!({"class": "ApplicationError", "message": "python child failed",
                   "type": "PyChildFailure", "non_retryable": true, "details": [5], "cause": null})
        ),
        other => panic!("PyFailingChild's failure, not {other:?}"),
    }
    worker_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprise_and_python_share_a_task_queue_world_on_the_official_dev_server() {
    let server = DevServer::shared().unwrap_or_else(|e| panic!("official dev server: {e}"));
    interop(server.address().to_string(), "official").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprise_and_python_share_a_task_queue_world_on_the_bundled_server() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .unwrap_or_else(|e| panic!("bundled server: {e}"));
    interop(server.target(), "bundled").await;
}
