//! The recurring-job example in a TestEnv: an hourly cron runs and records each run; a run that
//! overruns the hour makes the next tick be skipped, not run alongside.

use reprise::client::WorkflowOptions;
use reprise_examples::recurring::{JobActivities, ReportJob, TASK_QUEUE};
use reprise_testing::TestEnv;
use std::time::{Duration, UNIX_EPOCH};

#[path = "support/record.rs"]
mod support;
use support::record;

const HOUR: u64 = 3600;
/// 2026-01-01T00:30:00Z: half past, so the hourly ticks fall at 01:00, 02:00, …
const START: u64 = 1_767_225_600 + 1800;

async fn run_for_five_hours(
    overrun_second_run: bool,
) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let env = TestEnv::builder()
        .start_time(UNIX_EPOCH + Duration::from_secs(START))
        .start()
        .await?;
    let jobs = JobActivities::default();
    if overrun_second_run {
        // The second run's report takes 90 minutes.
        env.mock_activity(
            JobActivities::build_report,
            |ctx, (name,): (String,)| async move {
                let now = ctx
                    .now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                if now == START + 1800 + HOUR {
                    ctx.sleep(Duration::from_secs(90 * 60)).await;
                }
                Ok(format!("report {name}"))
            },
        );
    }
    env.worker(TASK_QUEUE)
        .workflow::<ReportJob>()
        .activities(jobs.clone())
        .start()?;
    let handle = env
        .client()
        .start(
            ReportJob::run,
            ("sales".to_string(),),
            WorkflowOptions::new("hourly", TASK_QUEUE).with_cron_schedule("0 * * * *"),
        )
        .await?;
    env.sleep(Duration::from_secs(5 * HOUR)).await;
    handle.terminate("test over", ()).await?;
    let started: Vec<u64> = jobs
        .log
        .lock()
        .map_err(|_| "poisoned")?
        .iter()
        .map(|r| r.started_at)
        .collect();
    if overrun_second_run {
        record(&env, "hourly", "recurring/terminated-run.json").await?;
    }
    env.finish().await?;
    Ok(started)
}

#[tokio::test]
async fn every_tick_runs_once_and_records_its_result() -> Result<(), Box<dyn std::error::Error>> {
    let started = run_for_five_hours(false).await?;
    let ticks: Vec<u64> = (1..=5).map(|h| START + 1800 + (h - 1) * HOUR).collect();
    assert_eq!(started, ticks);
    Ok(())
}

#[tokio::test]
async fn a_run_that_overruns_its_hour_skips_the_next_tick() -> Result<(), Box<dyn std::error::Error>>
{
    let started = run_for_five_hours(true).await?;
    let first = START + 1800;
    // 01:00, 02:00 (runs until 03:30), then 04:00 and 05:00: 03:00 was skipped.
    assert_eq!(
        started,
        [first, first + HOUR, first + 3 * HOUR, first + 4 * HOUR]
    );
    Ok(())
}
