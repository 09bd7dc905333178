//! TestEnv: one-call setup, per-env virtual time, time skipping only while a result is awaited.

mod env_support;

use env_support::*;
use reprise::client::WorkflowOptions;
use reprise_testing::{TestEnv, TestEnvError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_day_timer_and_three_activities_complete() -> Result<(), TestEnvError> {
    let env = TestEnv::start().await?;
    env.worker("orders")
        .workflow::<Subscription>()
        .activities(Payments)
        .start()?;
    let started = env.now();
    let handle = env
        .client()
        .start(
            Subscription::run,
            ("o-1".into(),),
            WorkflowOptions::new("sub-1", "orders"),
        )
        .await?;
    let result: Vec<String> = handle.result().await?;
    assert_eq!(result, ["reserved-o-1", "charged-o-1-4200", "shipped-o-1"]);
    let elapsed = env.now().duration_since(started).unwrap_or_default();
    assert!(elapsed >= 30 * DAY, "virtual time moved {elapsed:?}");
    assert!(
        elapsed < 30 * DAY + Duration::from_secs(60),
        "virtual time moved {elapsed:?}"
    );
    let report = env.finish().await?;
    assert_eq!(report.runs, 1);
    // The whole history plus one replay per workflow task (4 tasks: start, 3 activity results
    // and the timer interleaved).
    assert!(report.replays >= 5, "{report:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_stands_still_until_the_test_sleeps_or_waits() -> Result<(), TestEnvError> {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let env = TestEnv::builder().start_time(start).start().await?;
    env.worker("approvals").workflow::<Approval>().start()?;
    let handle = env
        .client()
        .start(
            Approval::run,
            (),
            WorkflowOptions::new("approval-1", "approvals"),
        )
        .await?;
    // Real time passes, virtual time does not; the one-day timer does not fire.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(env.now(), start);
    env.sleep(10 * DAY).await;
    assert_eq!(
        env.now(),
        start + 10 * DAY,
        "sleep moves time by exactly the duration"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        env.now(),
        start + 10 * DAY,
        "and time stands still afterwards"
    );
    handle.signal(Approval::approve, ()).await?;
    let approved_at: u64 = handle.result().await?;
    assert_eq!(approved_at, secs(start + 10 * DAY));
    // The history shows the timer fired one day in.
    let history = env.history("approval-1").await?;
    let fired = history
        .events
        .iter()
        .find(|e| {
            matches!(
                e.attributes,
                Some(reprise::api::temporal::api::history::v1::history_event::Attributes::TimerFiredEventAttributes(_))
            )
        })
        .and_then(|e| e.event_time)
        .map(|t| t.to_system_time());
    assert_eq!(fired, Some(start + DAY));
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleep_fires_timers_in_order_at_their_own_times() -> Result<(), TestEnvError> {
    let start = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let env = TestEnv::builder().start_time(start).start().await?;
    env.worker("sleepers").workflow::<Sleeper>().start()?;
    let mut handles = Vec::new();
    for days in [3u64, 1, 2] {
        handles.push((
            days,
            env.client()
                .start(
                    Sleeper::run,
                    (days,),
                    WorkflowOptions::new(format!("s-{days}"), "sleepers"),
                )
                .await?,
        ));
    }
    env.sleep(5 * DAY).await;
    assert_eq!(env.now(), start + 5 * DAY);
    for (days, handle) in handles {
        let woke: u64 = handle.result().await?;
        assert_eq!(woke, secs(start + days as u32 * DAY));
    }
    assert_eq!(
        env.now(),
        start + 5 * DAY,
        "waiting for closed workflows moves nothing"
    );
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_skipping_off_moves_only_with_sleep() -> Result<(), TestEnvError> {
    let start = UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let env = TestEnv::builder()
        .start_time(start)
        .time_skipping(false)
        .start()
        .await?;
    env.worker("sleepers").workflow::<Sleeper>().start()?;
    let handle = env
        .client()
        .start(Sleeper::run, (2u64,), WorkflowOptions::new("s", "sleepers"))
        .await?;
    let waited = tokio::time::timeout(Duration::from_millis(300), handle.result::<u64>()).await;
    assert!(
        waited.is_err(),
        "without skipping the 2-day timer must not fire by itself"
    );
    assert_eq!(env.now(), start);
    env.sleep(2 * DAY).await;
    assert_eq!(handle.result::<u64>().await?, secs(start + 2 * DAY));
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_envs_in_parallel_keep_their_own_time() -> Result<(), TestEnvError> {
    let base = UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100u64 {
        tasks.spawn(async move {
            let start = base + Duration::from_secs(i * 1_000_000);
            let env = TestEnv::builder().start_time(start).start().await?;
            env.worker("sleepers").workflow::<Sleeper>().start()?;
            let days = i % 7 + 1;
            let woke: u64 = env
                .client()
                .start(Sleeper::run, (days,), WorkflowOptions::new("s", "sleepers"))
                .await?
                .result()
                .await?;
            let now = env.now();
            env.finish().await?;
            Ok::<_, TestEnvError>((start, days, woke, now))
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (start, days, woke, now) = joined.expect("env task")?;
        assert_eq!(woke, secs(start + Duration::from_secs(days * 86_400)));
        let moved = now.duration_since(start).unwrap_or_default();
        assert!(moved >= Duration::from_secs(days * 86_400));
        assert!(moved < Duration::from_secs(days * 86_400 + 60), "{moved:?}");
        seen.insert(woke);
    }
    assert_eq!(seen.len(), 100, "every env had its own time");
    let _ = SystemTime::now();
    Ok(())
}
