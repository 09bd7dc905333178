//! The pipeline example in a TestEnv: stages as children with parallel shards, approval with a
//! timeout, a failing shard, and a cancellation that cancels the running stage.

use reprise::activity::ActivityError;
use reprise::api::temporal::api::enums::v1::WorkflowExecutionStatus;
use reprise::client::{ClientError, WorkflowOptions};
use reprise_examples::pipeline::{Pipeline, PipelineActivities, Release, Stage, TASK_QUEUE};
use reprise_testing::TestEnv;
use std::time::Duration;

#[path = "support/record.rs"]
mod support;
use support::record;

fn release() -> Release {
    Release {
        commit: "abc123".into(),
        shards: 3,
    }
}

async fn env_with(activities: PipelineActivities) -> Result<TestEnv, Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    env.worker(TASK_QUEUE)
        .workflow::<Pipeline>()
        .workflow::<Stage>()
        .activities(activities)
        .start()?;
    Ok(env)
}

#[tokio::test]
async fn build_test_approve_deploy() -> Result<(), Box<dyn std::error::Error>> {
    let activities = PipelineActivities::default();
    let env = env_with(activities.clone()).await?;
    let handle = env
        .client()
        .start(
            Pipeline::run,
            (release(),),
            WorkflowOptions::new("p-ok", TASK_QUEUE),
        )
        .await?;
    env.sleep(Duration::from_secs(3600)).await; // an hour later, someone approves
    assert_eq!(
        handle.query(Pipeline::stage, ()).await?,
        "awaiting approval"
    );
    handle
        .signal(Pipeline::approve, ("ana".to_string(),))
        .await?;
    let log: Vec<String> = handle.result().await?;
    assert_eq!(
        log.first().map(String::as_str),
        Some("build/compile ok (abc123)")
    );
    assert!(log.contains(&"approved by ana".to_string()));
    assert_eq!(
        log.last().map(String::as_str),
        Some("deploy/rollout ok (abc123)")
    );
    let ran = activities.ran.lock().map_err(|_| "poisoned")?.clone();
    for shard in 1..=3 {
        assert!(ran.contains(&format!("test/shard-{shard}")), "{ran:?}");
    }
    record(&env, "p-ok", "pipeline/approved-and-deployed.json").await?;
    record(&env, "p-ok-test", "pipeline/test-stage-three-shards.json").await?;
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn no_approval_within_a_day_fails_the_pipeline() -> Result<(), Box<dyn std::error::Error>> {
    let activities = PipelineActivities::default();
    let env = env_with(activities.clone()).await?;
    let handle = env
        .client()
        .start(
            Pipeline::run,
            (release(),),
            WorkflowOptions::new("p-timeout", TASK_QUEUE),
        )
        .await?;
    match handle.result::<Vec<String>>().await {
        Err(ClientError::WorkflowFailed(f)) => {
            assert_eq!(f.application_type(), Some("ApprovalTimedOut"))
        }
        other => panic!("expected ApprovalTimedOut, got {other:?}"),
    }
    let ran = activities.ran.lock().map_err(|_| "poisoned")?.clone();
    assert!(!ran.iter().any(|s| s.starts_with("deploy/")), "{ran:?}");
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn a_failing_shard_stops_the_pipeline() -> Result<(), Box<dyn std::error::Error>> {
    let activities = PipelineActivities::default();
    activities
        .failing
        .lock()
        .map_err(|_| "poisoned")?
        .push("test/shard-2".into());
    let env = env_with(activities.clone()).await?;
    let handle = env
        .client()
        .start(
            Pipeline::run,
            (release(),),
            WorkflowOptions::new("p-fail", TASK_QUEUE),
        )
        .await?;
    handle
        .signal(Pipeline::approve, ("ana".to_string(),))
        .await?;
    match handle.result::<Vec<String>>().await {
        Err(ClientError::WorkflowFailed(f)) => {
            assert_eq!(f.root_cause().application_type(), Some("StepFailed"), "{f}");
        }
        other => panic!("expected the test stage to fail, got {other:?}"),
    }
    let ran = activities.ran.lock().map_err(|_| "poisoned")?.clone();
    assert!(!ran.iter().any(|s| s.starts_with("deploy/")), "{ran:?}");
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn canceling_the_pipeline_cancels_the_running_stage() -> Result<(), Box<dyn std::error::Error>>
{
    let env = TestEnv::start().await?;
    // Test shards run until canceled, heartbeating (cancellation reaches an activity through
    // its heartbeats).
    let shards = env.mock_activity(
        PipelineActivities::run_step,
        |ctx, (stage, step, _commit)| async move {
            if stage == "test" {
                loop {
                    ctx.heartbeat(());
                    if ctx.is_canceled() {
                        return Err(ActivityError::canceled());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Ok(format!("{stage}/{step} ok"))
        },
    );
    env.worker(TASK_QUEUE)
        .workflow::<Pipeline>()
        .workflow::<Stage>()
        .activities(PipelineActivities::default())
        .start()?;
    let handle = env
        .client()
        .start(
            Pipeline::run,
            (release(),),
            WorkflowOptions::new("p-cancel", TASK_QUEUE),
        )
        .await?;
    // Virtual time stands still while the test is not waiting: wait (in real time) until the
    // three shards run.
    while shards.calls().iter().filter(|c| c.args.0 == "test").count() < 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(handle.query(Pipeline::stage, ()).await?, "test");
    handle.cancel("superseded by a newer commit").await?;
    assert!(matches!(
        handle.result::<Vec<String>>().await,
        Err(ClientError::WorkflowCanceled { .. })
    ));
    let child = env
        .client()
        .workflow_handle("p-cancel-test", None)
        .describe()
        .await?;
    assert_eq!(child.status, WorkflowExecutionStatus::Canceled, "{child:?}");
    let child_history = env.history("p-cancel-test").await?;
    let cancel_requests = child_history
        .events
        .iter()
        .filter(|e| matches!(e.attributes, Some(reprise::api::temporal::api::history::v1::history_event::Attributes::ActivityTaskCancelRequestedEventAttributes(_))))
        .count();
    assert_eq!(
        cancel_requests, 3,
        "every running shard was asked to cancel"
    );
    assert_eq!(
        shards.calls().iter().filter(|c| c.args.0 == "test").count(),
        3
    );
    env.finish().await?;
    Ok(())
}
