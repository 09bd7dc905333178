//! The README's main command runs end to end: the worker process is killed between the charge
//! and its reply, another one finishes the workflow, the card is charged once, the history
//! replays.

use std::process::Command;

#[test]
fn the_demo_survives_the_worker_crash_and_charges_once() {
    let dir = std::env::temp_dir().join(format!("reprise-demo-test-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("REPRISE_DEMO_DIR", &dir)
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("SIGKILL worker 1"), "{stdout}");
    assert!(stdout.contains("worker 2 started"), "{stdout}");
    assert!(
        stdout.contains("card charged exactly once: 1 charge for order-1001"),
        "{stdout}"
    );
    assert!(stdout.contains("after 2 attempts"), "{stdout}");
    assert!(stdout.contains("WorkflowExecutionCompleted"), "{stdout}");
    assert!(
        stdout.contains("against the workflow code: no difference"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
