//! A recurring job on a cron schedule: the workflow is started once with a cron schedule, and
//! the server starts one run per tick (`WorkflowOptions::with_cron_schedule`).
//!
//! Each run does the job and records its result in the job log. Runs never overlap: the server
//! starts the next run at the first tick after the previous run closed, so a run that takes
//! longer than the interval makes the ticks that fell during it be skipped, not queued. (Temporal
//! Schedules offer more overlap policies; this is the cron-string form every server supports.)

use reprise::activity::{ActivityContext, ActivityError};
use reprise::workflow::{WorkflowContext, WorkflowResult};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Task queue of the job worker.
pub const TASK_QUEUE: &str = "jobs";

/// What one run of the job produced.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's workflow run id.
    pub run_id: String,
    /// When the run started (workflow time, seconds since the Unix epoch).
    pub started_at: u64,
    /// The job's output.
    pub output: String,
}

/// One run of the recurring job.
#[derive(Default)]
pub struct ReportJob;

#[reprise::workflow(name = "ReportJob")]
impl ReportJob {
    /// Builds the report for `name`, records the run, returns its record.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, name: String) -> WorkflowResult<RunRecord> {
        let info = ctx.info();
        let started_at = ctx
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let output: String = ctx
            .activity(JobActivities::build_report, (name,))
            .start_to_close_timeout(Duration::from_secs(3 * 3600))
            .await?;
        let record = RunRecord {
            run_id: info.run_id,
            started_at,
            output,
        };
        ctx.activity(JobActivities::record_run, (record.clone(),))
            .start_to_close_timeout(Duration::from_secs(60))
            .await?;
        Ok(record)
    }
}

/// The job and its log (a stand-in that keeps the log in memory).
#[derive(Clone, Default)]
pub struct JobActivities {
    /// Every recorded run, in order.
    pub log: Arc<Mutex<Vec<RunRecord>>>,
}

#[reprise::activities]
impl JobActivities {
    /// Does the job's work.
    pub async fn build_report(
        &self,
        ctx: ActivityContext,
        name: String,
    ) -> Result<String, ActivityError> {
        Ok(format!("report {name} (attempt {})", ctx.info().attempt))
    }

    /// Appends a run's record to the job log.
    pub async fn record_run(
        &self,
        _ctx: ActivityContext,
        record: RunRecord,
    ) -> Result<(), ActivityError> {
        self.log
            .lock()
            .map_err(|_| ActivityError::non_retryable("job log poisoned"))?
            .push(record);
        Ok(())
    }
}
