//! TestEnv activity mocks: replace, record, fail, retry, time out, heartbeat, take virtual time.

mod env_support;

use env_support::*;
use reprise::activity::ActivityError;
use reprise::client::WorkflowOptions;
use reprise::converter::ApplicationFailure;
use reprise_testing::{TestEnv, TestEnvError};
use std::time::{Duration, UNIX_EPOCH};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_mock_replaces_the_activity_and_records_its_calls() -> Result<(), TestEnvError> {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let env = TestEnv::builder().start_time(start).start().await?;
    let charges = env.mock_activity(Payments::charge, |_ctx, (order, cents)| async move {
        Ok(format!("mocked-{order}-{cents}"))
    });
    env.worker("orders")
        .workflow::<Subscription>()
        .activities(Payments)
        .start()?;
    let result: Vec<String> = env
        .client()
        .start(
            Subscription::run,
            ("o-7".into(),),
            WorkflowOptions::new("sub-7", "orders"),
        )
        .await?
        .result()
        .await?;
    // Only charge is mocked; the other two ran for real.
    assert_eq!(result, ["reserved-o-7", "mocked-o-7-4200", "shipped-o-7"]);
    let calls = charges.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].args, ("o-7".to_string(), 4200));
    assert_eq!(calls[0].attempt, 1);
    assert_eq!(calls[0].info.workflow_id, "sub-7");
    assert_eq!(charges.activity_type(), "charge");
    // Called after the 30-day timer, in virtual time.
    let at = calls[0].time.duration_since(start).unwrap_or_default();
    assert!(at >= Duration::from_secs(30 * 86_400), "{at:?}");
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_by_name_answers_an_activity_no_worker_registers() -> Result<(), TestEnvError> {
    let env = TestEnv::start().await?;
    let mock = env.mock_activity_by_name(
        "chargeCreditCard",
        |_ctx, (order, amount): (String, f64)| async move { Ok(format!("{order}:{amount}")) },
    );
    env.worker("interop").workflow::<ByName>().start()?;
    let result: String = env
        .client()
        .start(
            ByName::run,
            ("o-1".into(),),
            WorkflowOptions::new("by-name", "interop"),
        )
        .await?
        .result()
        .await?;
    assert_eq!(result, "o-1:12.5");
    assert_eq!(mock.args(), vec![("o-1".to_string(), 12.5)]);
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_are_retried_with_virtual_backoff() -> Result<(), TestEnvError> {
    let env = TestEnv::start().await?;
    let charges = env.mock_activity(Payments::charge, |ctx, (order, _)| async move {
        if ctx.info().attempt < 3 {
            return Err(ApplicationFailure::new("card declined")
                .with_type("Declined")
                .into());
        }
        Ok(format!("paid-{order}"))
    });
    env.worker("orders")
        .workflow::<ChargeOnce>()
        .activities(Payments)
        .start()?;
    let result: String = env
        .client()
        .start(
            ChargeOnce::run,
            ("o-2".into(),),
            WorkflowOptions::new("retry", "orders"),
        )
        .await?
        .result()
        .await?;
    assert_eq!(result, "paid-o-2");
    let calls = charges.calls();
    assert_eq!(
        calls.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // One second of virtual backoff between attempts (coefficient 1).
    for pair in calls.windows(2) {
        let gap = pair[1]
            .time
            .duration_since(pair[0].time)
            .unwrap_or_default();
        assert!(
            gap >= Duration::from_secs(1) && gap < Duration::from_secs(2),
            "{gap:?}"
        );
    }
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_retryable_failure_fails_the_workflow() -> Result<(), TestEnvError> {
    let env = TestEnv::start().await?;
    let charges = env.mock_activity(Payments::charge, |_ctx, _args| async move {
        Err::<String, _>(ActivityError::non_retryable("account closed"))
    });
    env.worker("orders")
        .workflow::<ChargeOnce>()
        .activities(Payments)
        .start()?;
    let result = env
        .client()
        .start(
            ChargeOnce::run,
            ("o-3".into(),),
            WorkflowOptions::new("fatal", "orders"),
        )
        .await?
        .result::<String>()
        .await;
    let error = result.expect_err("the workflow fails");
    assert!(format!("{error:?}").contains("account closed"), "{error:?}");
    assert_eq!(charges.call_count(), 1, "not retried");
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_that_takes_too_long_times_out_and_is_retried() -> Result<(), TestEnvError> {
    let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let env = TestEnv::builder().start_time(start).start().await?;
    let charges = env.mock_activity(Payments::charge, |ctx, (order, _)| async move {
        if ctx.info().attempt == 1 {
            // Two hours of virtual time: past the 10-minute start-to-close timeout.
            ctx.sleep(Duration::from_secs(7_200)).await;
        }
        Ok(format!("paid-{order}-{}", ctx.info().attempt))
    });
    env.worker("orders")
        .workflow::<ChargeOnce>()
        .activities(Payments)
        .start()?;
    let wall = std::time::Instant::now();
    let result: String = env
        .client()
        .start(
            ChargeOnce::run,
            ("o-4".into(),),
            WorkflowOptions::new("slow", "orders"),
        )
        .await?
        .result()
        .await?;
    assert_eq!(
        result, "paid-o-4-2",
        "attempt 1 timed out, attempt 2 answered"
    );
    let calls = charges.calls();
    assert_eq!(calls.len(), 2);
    let second = calls[1].time.duration_since(start).unwrap_or_default();
    // The timeout fired 600 s in (virtual), then one second of backoff.
    assert!(
        second >= Duration::from_secs(601) && second < Duration::from_secs(700),
        "{second:?}"
    );
    assert!(wall.elapsed() < Duration::from_secs(30));
    env.finish().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_heartbeats_reach_the_next_attempt_and_sleep_takes_virtual_time()
-> Result<(), TestEnvError> {
    let start = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let env = TestEnv::builder().start_time(start).start().await?;
    let charges = env.mock_activity(Payments::charge, |ctx, (order, _)| async move {
        let (done,): (u32,) = ctx.heartbeat_details().unwrap_or((0,));
        if ctx.info().attempt == 1 {
            ctx.heartbeat((5u32,));
            ctx.sleep(Duration::from_secs(30)).await;
            return Err(ApplicationFailure::new("connection reset").into());
        }
        Ok(format!("{order} resumed at {done}"))
    });
    env.worker("orders")
        .workflow::<ChargeOnce>()
        .activities(Payments)
        .start()?;
    let result: String = env
        .client()
        .start(
            ChargeOnce::run,
            ("o-5".into(),),
            WorkflowOptions::new("beat", "orders"),
        )
        .await?
        .result()
        .await?;
    assert_eq!(result, "o-5 resumed at 5");
    let calls = charges.calls();
    let gap = calls[1]
        .time
        .duration_since(calls[0].time)
        .unwrap_or_default();
    // 30 s of mock sleep + 1 s backoff, all virtual.
    assert!(
        gap >= Duration::from_secs(31) && gap < Duration::from_secs(40),
        "{gap:?}"
    );
    env.finish().await?;
    Ok(())
}
