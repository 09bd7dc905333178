//! The official Python SDK's schedule client (`temporalio`, pinned in scripts/tools.sh) against
//! the bundled server: `tests/python/schedules.py` creates, describes, triggers (a Python
//! worker runs the started workflow), backfills, pauses, updates, lists and deletes a schedule.

use reprise_testing::server::{ServerOptions, TestServer};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_schedule_client_works_against_the_bundled_server() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("start server");
    let python = std::env::var("REPRISE_PYTHON")
        .expect("REPRISE_PYTHON is not set: run `. scripts/tools.sh` (scripts/test.sh does)");
    let script = format!("{}/tests/python/schedules.py", env!("CARGO_MANIFEST_DIR"));
    let child = tokio::process::Command::new(&python)
        .arg(script)
        .arg(server.target())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the Python program finished within 2 minutes")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("OK"),
        "python failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    server.shutdown().await.expect("shutdown");
}
