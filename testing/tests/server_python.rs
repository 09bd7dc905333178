//! The official Python SDK (`temporalio`, pinned in scripts/tools.sh) drives the bundled server:
//! a real Python worker and client run `tests/python/interop.py` (an activity retried after a
//! failure, a timer, a signal, queries, an accepted and a rejected update, a non-retryable
//! activity failure failing its workflow); and `tests/python/time_skipping.py` against a
//! time-skipping server (37 days of workflow time in well under a second); and
//! `tests/python/test_environment.py`: the SDK's own time-skipping test environment
//! (`WorkflowEnvironment.start_time_skipping`) running the `reprise-server` binary in place of
//! Temporal's Java test server.

use reprise_testing::server::{ServerOptions, TestServer};
use std::time::Duration;

/// Runs `tests/python/<script>` against `server`; returns its stdout after checking it ended
/// with `OK`.
async fn run_python(script: &str, server: &TestServer) -> String {
    run_python_with(script, &server.target()).await
}

/// Runs `tests/python/<script> <argument>`; returns its stdout after checking it ended with `OK`.
async fn run_python_with(script: &str, argument: &str) -> String {
    let python = std::env::var("REPRISE_PYTHON")
        .expect("REPRISE_PYTHON is not set: run `. scripts/tools.sh` (scripts/test.sh does)");
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let child = tokio::process::Command::new(&python)
        .arg(script)
        .arg(argument)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the Python program finished within 2 minutes")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("OK"),
        "python failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_worker_and_client_run_a_workflow_end_to_end() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("start server");
    let stdout = run_python("interop.py", &server).await;
    // The history the Python client fetched has the official server's shape.
    let events: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("EVENT_TYPE_"))
        .collect();
    assert_eq!(
        events.first(),
        Some(&"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED")
    );
    assert_eq!(
        events.last(),
        Some(&"EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED")
    );
    let activity: Vec<&str> = events
        .iter()
        .copied()
        .skip_while(|e| *e != "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED")
        .take(3)
        .collect();
    assert_eq!(
        activity,
        [
            "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
            "EVENT_TYPE_ACTIVITY_TASK_STARTED",
            "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"
        ],
        "the retried attempt's ActivityTaskStarted is written with its completion"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_workflows_sleep_for_weeks_on_a_time_skipping_server() {
    let server = TestServer::start(ServerOptions::default().with_time_skipping())
        .await
        .expect("start server");
    let stdout = run_python("time_skipping.py", &server).await;
    assert!(stdout.contains("workflow days 37"), "{stdout}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_test_environment_runs_on_reprise_server_instead_of_the_java_test_server() {
    let stdout = run_python_with("test_environment.py", env!("CARGO_BIN_EXE_reprise-server")).await;
    assert!(stdout.contains("workflow slept 10 days"), "{stdout}");
}
