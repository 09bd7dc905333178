//! A CI/CD pipeline: build, test in parallel shards, wait for a human approval, deploy.
//!
//! Each stage is a child workflow ([`Stage`]), so each has its own history and can be inspected,
//! retried or cancelled on its own; the test stage runs its shards as parallel activities and
//! fails at the first failing shard (the others are cancelled). Deployment waits for an
//! `approve` signal, at most [`APPROVAL_TIMEOUT`]. Cancelling the pipeline cancels the stage
//! that is running: the child is asked to cancel, its activities with it, and the pipeline waits
//! until it has.

use futures::FutureExt;
use reprise::activity::{ActivityContext, ActivityError};
use reprise::converter::ApplicationFailure;
use reprise::workflow::{State, WorkflowContext, WorkflowResult, select, try_join_all};
use serde::{Deserialize, Serialize};
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Task queue of the pipeline worker.
pub const TASK_QUEUE: &str = "ci";
/// How long the pipeline waits for an approval before giving up.
pub const APPROVAL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// What to build and ship.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Release {
    /// Commit to build.
    pub commit: String,
    /// Number of test shards.
    pub shards: u32,
}

/// One stage to run as a child workflow.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StageRequest {
    /// Stage name (`build`, `test`, `deploy`).
    pub name: String,
    /// Commit.
    pub commit: String,
    /// Steps run in parallel (one per test shard; one for the other stages).
    pub steps: Vec<String>,
}

/// The pipeline.
#[derive(Default)]
pub struct Pipeline {
    approved_by: State<Option<String>>,
    stage: State<String>,
}

#[reprise::workflow(name = "Pipeline")]
impl Pipeline {
    /// Builds, tests, waits for approval and deploys `release`; returns the deployment log.
    #[run]
    pub async fn run(
        &self,
        ctx: &WorkflowContext,
        release: Release,
    ) -> WorkflowResult<Vec<String>> {
        let wid = ctx.info().workflow_id;
        let mut log = Vec::new();
        let shards = (1..=release.shards.max(1))
            .map(|i| format!("shard-{i}"))
            .collect();
        for (name, steps) in [("build", vec!["compile".to_string()]), ("test", shards)] {
            self.stage.set(name.to_string());
            let outputs = ctx
                .child_workflow(
                    Stage::run,
                    (StageRequest {
                        name: name.into(),
                        commit: release.commit.clone(),
                        steps,
                    },),
                )
                .workflow_id(format!("{wid}-{name}"))
                .await?;
            log.extend(outputs);
        }

        self.stage.set("awaiting approval".into());
        let mut approved = ctx
            .wait_condition(|| self.approved_by.with(Option::is_some))
            .fuse();
        let mut timeout = ctx.sleep(APPROVAL_TIMEOUT).fuse();
        select! {
            r = approved => r?,
            r = timeout => {
                r?;
                return Err(ApplicationFailure::new("no approval within 24 hours")
                    .with_type("ApprovalTimedOut")
                    .non_retryable()
                    .into());
            },
        }
        log.push(format!(
            "approved by {}",
            self.approved_by.get().unwrap_or_default()
        ));

        self.stage.set("deploy".into());
        let outputs = ctx
            .child_workflow(
                Stage::run,
                (StageRequest {
                    name: "deploy".into(),
                    commit: release.commit.clone(),
                    steps: vec!["rollout".into()],
                },),
            )
            .workflow_id(format!("{wid}-deploy"))
            .await?;
        log.extend(outputs);
        self.stage.set("done".into());
        Ok(log)
    }

    /// Approves the deployment.
    #[signal]
    pub fn approve(&self, _ctx: &WorkflowContext, approver: String) {
        self.approved_by.set(Some(approver));
    }

    /// The stage the pipeline is in.
    #[query]
    pub fn stage(&self, _ctx: &WorkflowContext) -> String {
        self.stage.get()
    }
}

/// One stage: its steps as parallel activities, failing at the first failing step.
#[derive(Default)]
pub struct Stage;

#[reprise::workflow(name = "PipelineStage")]
impl Stage {
    /// Runs the stage's steps; returns their outputs in order.
    #[run]
    pub async fn run(
        &self,
        ctx: &WorkflowContext,
        request: StageRequest,
    ) -> WorkflowResult<Vec<String>> {
        let steps = request.steps.iter().map(|step| {
            ctx.activity(
                PipelineActivities::run_step,
                (request.name.clone(), step.clone(), request.commit.clone()),
            )
            .start_to_close_timeout(Duration::from_secs(30 * 60))
            .heartbeat_timeout(Duration::from_secs(60))
            .retry_policy(reprise::client::RetryPolicy::new().with_maximum_attempts(2))
            .into_future()
        });
        Ok(try_join_all(steps).await?)
    }
}

/// The build machines (a stand-in: steps succeed unless listed in `failing`).
#[derive(Clone, Default)]
pub struct PipelineActivities {
    /// Steps that fail for good, as `stage/step`.
    pub failing: Arc<Mutex<Vec<String>>>,
    /// Steps that ran to the end, as `stage/step`.
    pub ran: Arc<Mutex<Vec<String>>>,
}

#[reprise::activities]
impl PipelineActivities {
    /// Runs one step of a stage.
    pub async fn run_step(
        &self,
        _ctx: ActivityContext,
        stage: String,
        step: String,
        commit: String,
    ) -> Result<String, ActivityError> {
        let key = format!("{stage}/{step}");
        let poisoned = || ActivityError::non_retryable("build machine state poisoned");
        if self.failing.lock().map_err(|_| poisoned())?.contains(&key) {
            return Err(ApplicationFailure::new(format!("{key} failed on {commit}"))
                .with_type("StepFailed")
                .non_retryable()
                .into());
        }
        self.ran.lock().map_err(|_| poisoned())?.push(key.clone());
        Ok(format!("{key} ok ({commit})"))
    }
}
