//! Crash takeover: a worker process is SIGKILLed in the middle of a multi-step workflow, on
//! the official dev server and on the bundled server, and other worker processes finish it.
//!
//! One workflow of 5 steps and three worker processes (`src/bin/takeover-worker.rs`):
//! 1. the first is killed while a workflow task is in flight (its thread blocked after step 2);
//!    the server times the task out and the second worker replays the history and goes on;
//! 2. the second is killed while step 4's first attempt runs; after its start-to-close
//!    timeout the third worker runs attempt 2 and finishes the workflow.
//!
//! The ledger the activities write shows that no step finished before a kill ran again.

use reprise::api::temporal::api::enums::v1::EventType;
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise_testing::DevServer;
use reprise_testing::server::{ServerOptions, TestServer};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const STEPS: u32 = 5;

/// A worker process; killed (SIGKILL) and reaped when dropped.
struct WorkerProcess(Child);

impl WorkerProcess {
    fn spawn(target: &str, queue: &str, ledger: &Path, role: &str) -> WorkerProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_takeover-worker"))
            .args([target, queue])
            .arg(ledger)
            .arg(role)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start takeover-worker: {e}"));
        WorkerProcess(child)
    }

    fn kill(&mut self) {
        // SIGKILL: the process gets no chance to report anything.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn wait_for_file(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-takeover-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// `(kind, step, attempt, pid)` of each ledger line.
fn ledger(dir: &Path) -> Vec<(String, u32, u32, u32)> {
    let text = std::fs::read_to_string(dir.join("ledger")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            let number = |i: usize| -> u32 {
                parts
                    .get(i)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| panic!("bad ledger line {line:?}"))
            };
            (parts[0].to_string(), number(1), number(2), number(3))
        })
        .collect()
}

async fn takeover(target: String, name: &str) {
    let dir = fresh_dir(name);
    let queue = format!("takeover-{name}");
    let client = Client::connect(ClientOptions::new(target.clone()))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));

    let mut first = WorkerProcess::spawn(&target, &queue, &dir, "hang-workflow-task-after:2");
    let first_pid = first.0.id();
    let handle = client
        .start_workflow(
            "TakeoverSteps",
            (STEPS,),
            // A short workflow task timeout: the task in flight at the kill is retried soon.
            WorkflowOptions::new(format!("takeover-{name}"), queue.clone())
                .with_task_timeout(Duration::from_secs(2)),
        )
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));

    // Kill 1: a workflow task is in flight (its thread is blocked after step 2).
    wait_for_file(&dir.join("hung-workflow-task"), "the first worker to hang").await;
    first.kill();
    let mut second = WorkerProcess::spawn(&target, &queue, &dir, "hang-activity:4");
    let second_pid = second.0.id();

    // Kill 2: step 4's first attempt is running on the second worker.
    wait_for_file(
        &dir.join("hung-activity"),
        "step 4 to start on the second worker",
    )
    .await;
    second.kill();
    let third = WorkerProcess::spawn(&target, &queue, &dir, "finish");
    let third_pid = third.0.id();

    let result: Vec<String> = tokio::time::timeout(Duration::from_secs(60), handle.result())
        .await
        .unwrap_or_else(|_| panic!("workflow did not finish"))
        .unwrap_or_else(|e| panic!("workflow failed: {e}"));
    drop(third);
    assert_eq!(
        result,
        [
            "step 1 attempt 1",
            "step 2 attempt 1",
            "step 3 attempt 1",
            "step 4 attempt 2",
            "step 5 attempt 1"
        ]
    );

    let lines = ledger(&dir);
    let count = |kind: &str, step: u32| lines.iter().filter(|l| l.0 == kind && l.1 == step).count();
    for step in 1..=STEPS {
        assert_eq!(
            count("done", step),
            1,
            "step {step} finished once: {lines:?}"
        );
    }
    // What finished before a kill never ran again.
    for step in [1, 2] {
        assert_eq!(count("start", step), 1, "step {step} ran once: {lines:?}");
    }
    assert_eq!(count("start", 3), 1, "{lines:?}");
    let pid_of = |step: u32| {
        lines
            .iter()
            .find(|l| l.0 == "done" && l.1 == step)
            .map(|l| l.3)
    };
    assert_eq!(pid_of(2), Some(first_pid), "{lines:?}");
    assert_eq!(pid_of(3), Some(second_pid), "{lines:?}");
    // Step 4: attempt 1 started on the second worker and never finished; attempt 2 ran on the
    // third after the start-to-close timeout.
    assert!(
        lines.contains(&("start".into(), 4, 1, second_pid)),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("done".into(), 4, 2, third_pid)),
        "{lines:?}"
    );

    // The history shows the workflow task that timed out with the first worker, and step 4
    // completing on its second attempt.
    let history = handle
        .fetch_history()
        .await
        .unwrap_or_else(|e| panic!("history: {e}"));
    let types: Vec<EventType> = history.events.iter().map(|e| e.event_type()).collect();
    assert!(
        types.contains(&EventType::WorkflowTaskTimedOut),
        "no WorkflowTaskTimedOut: {types:?}"
    );
    let completed = types
        .iter()
        .filter(|t| **t == EventType::ActivityTaskCompleted)
        .count();
    assert_eq!(completed, STEPS as usize, "{types:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_taken_over_on_the_bundled_server() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .unwrap_or_else(|e| panic!("bundled server: {e}"));
    takeover(server.target(), "bundled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_taken_over_on_the_official_dev_server() {
    let server = DevServer::shared().unwrap_or_else(|e| panic!("official dev server: {e}"));
    takeover(server.address().to_string(), "official").await;
}
