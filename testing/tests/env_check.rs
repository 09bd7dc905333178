//! The automatic determinism check of TestEnv, and replaying from workflow-task boundaries.

mod env_support;

use env_support::*;
use reprise::client::WorkflowOptions;
use reprise::replay::{ReplayError, Replayer};
use reprise::workflow::WorkflowRegistry;
use reprise_testing::{TestEnv, TestEnvError};

async fn run_counter_workflow(env: &TestEnv) -> Result<String, TestEnvError> {
    env.worker("orders")
        .workflow::<CounterWorkflow>()
        .activities(Payments)
        .start()?;
    Ok(env
        .client()
        .start(
            CounterWorkflow::run,
            ("o-1".into(),),
            WorkflowOptions::new("counter", "orders"),
        )
        .await?
        .result()
        .await?)
}

// The process-global counter is read once per process on the plain run, so the tests that run
// CounterWorkflow live in this one test (a test binary is one process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_reading_a_process_global_passes_a_plain_run_but_fails_the_check() {
    let env = TestEnv::start().await.expect("env");
    // The plain run works: the counter was 0, the workflow charged.
    assert_eq!(
        run_counter_workflow(&env).await.expect("run"),
        "charged-o-1-1"
    );
    let error = env.finish().await.expect_err("the check catches it");
    let TestEnvError::Nondeterminism(failure) = &error else {
        panic!("expected a determinism failure, got {error}");
    };
    assert_eq!(failure.runs.len(), 1);
    let run = &failure.runs[0];
    assert_eq!(run.workflow_id, "counter");
    assert_eq!(run.workflow_type, "CounterWorkflow");
    assert_eq!(
        run.cache_lost_at, None,
        "replaying the whole history already diverges"
    );
    assert!(
        matches!(run.error, ReplayError::Nondeterminism(_)),
        "{:?}",
        run.error
    );
    let message = error.to_string();
    assert!(message.contains("determinism check failed"), "{message}");
    assert!(
        message.contains("activity_type=charge"),
        "history side: {message}"
    );
    assert!(
        message.contains("activity_type=ship"),
        "code side: {message}"
    );
    assert!(
        message.contains("env_support/mod.rs:"),
        "the line that did it: {message}"
    );

    // Turned off, the same workflow passes.
    let env = TestEnv::builder()
        .determinism_check(false)
        .start()
        .await
        .expect("env");
    assert_eq!(
        run_counter_workflow(&env).await.expect("run"),
        "shipped-o-1"
    );
    let report = env.finish().await.expect("no check");
    assert_eq!(report.runs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deterministic_workflows_pass_from_the_history_and_every_boundary()
-> Result<(), TestEnvError> {
    let env = TestEnv::start().await?;
    env.worker("orders")
        .workflow::<Subscription>()
        .activities(Payments)
        .start()?;
    for i in 0..3 {
        let _: Vec<String> = env
            .client()
            .start(
                Subscription::run,
                (format!("o-{i}"),),
                WorkflowOptions::new(format!("s-{i}"), "orders"),
            )
            .await?
            .result()
            .await?;
    }
    // A workflow type no worker of this env registers is left alone.
    env.client()
        .start_workflow("Unknown", (), WorkflowOptions::new("nobody", "elsewhere"))
        .await?;
    let history = env.history("s-0").await?;
    let boundaries = Replayer::task_boundaries(&history);
    assert_eq!(boundaries.len(), 5, "start, reserve, timer, charge, ship");
    let report = env.check_determinism()?;
    assert_eq!(report.runs, 3);
    assert_eq!(report.replays, 3 * (1 + boundaries.len()));
    assert_eq!(report.skipped.len(), 1);
    assert!(
        report.skipped[0].starts_with("nobody/"),
        "{:?}",
        report.skipped
    );
    assert_eq!(env.finish().await?, report);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_from_task_checks_each_boundary_and_refuses_other_events() -> Result<(), TestEnvError>
{
    let env = TestEnv::start().await?;
    env.worker("orders")
        .workflow::<Subscription>()
        .activities(Payments)
        .start()?;
    let _: Vec<String> = env
        .client()
        .start(
            Subscription::run,
            ("o".into(),),
            WorkflowOptions::new("s", "orders"),
        )
        .await?
        .result()
        .await?;
    let history = env.history("s").await?;
    let mut registry = WorkflowRegistry::new();
    registry.register_workflow::<Subscription>()?;
    let replayer = Replayer::new(registry);
    for boundary in Replayer::task_boundaries(&history) {
        replayer
            .replay_from_task(&history, boundary)
            .unwrap_or_else(|e| panic!("boundary {boundary}: {e}"));
    }
    // Event 1 (the start) is no workflow task.
    assert!(matches!(
        replayer.replay_from_task(&history, 1),
        Err(ReplayError::InvalidHistory { event_id: 1, .. })
    ));
    // A truncated history (a worker that lost its cache mid-run, the rest not yet written)
    // also replays from each of its boundaries.
    let mut cut = history.clone();
    cut.events.truncate(12);
    for boundary in Replayer::task_boundaries(&cut) {
        replayer
            .replay_from_task(&cut, boundary)
            .unwrap_or_else(|e| panic!("cut at boundary {boundary}: {e}"));
    }
    env.finish().await?;
    Ok(())
}
