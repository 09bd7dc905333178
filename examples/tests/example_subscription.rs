//! The subscription example in a TestEnv: a year of billing in virtual time, with a plan change
//! by a validated update, a payment recovered in the grace period, continue-as-new after 12
//! cycles and a cancellation by signal; and a subscription that lapses.

use reprise::client::{ClientError, WorkflowOptions};
use reprise_examples::subscription::{
    BillingActivities, CYCLE, Ended, Subscriber, Subscription, TASK_QUEUE,
};
use reprise_testing::TestEnv;
use std::time::Duration;

#[path = "support/record.rs"]
mod support;
use support::record;

const DAY: Duration = Duration::from_secs(86_400);

fn subscriber() -> Subscriber {
    Subscriber {
        customer: "cus_1".into(),
        plan: "basic".into(),
        cycles_billed: 0,
        total_cents: 0,
    }
}

#[tokio::test]
async fn a_year_of_billing() -> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let billing = BillingActivities::default();
    billing.declines.lock().map_err(|_| "poisoned")?.push(5); // cycle 5: one declined attempt
    env.worker(TASK_QUEUE)
        .workflow::<Subscription>()
        .activities(billing.clone())
        .start()?;
    let handle = env
        .client()
        .start(
            Subscription::run,
            (subscriber(),),
            WorkflowOptions::new("sub-year", TASK_QUEUE),
        )
        .await?;
    env.sleep(DAY).await; // cycle 1 billed on the basic plan

    // The validator rejects an unknown plan and the current one; nothing is recorded for them.
    for bad in ["gold", "basic"] {
        match handle
            .update(Subscription::change_plan, (bad.to_string(),))
            .await
        {
            Err(ClientError::UpdateFailed(f)) => {
                assert_eq!(f.application_type(), Some("InvalidPlan"))
            }
            other => panic!("{bad}: expected a rejection, got {other:?}"),
        }
    }
    let price = handle
        .update(Subscription::change_plan, ("pro".to_string(),))
        .await?;
    assert_eq!(price, 2900);

    env.sleep(364 * DAY).await;
    let status = handle
        .query(Subscription::status, ())
        .await?
        .ok_or("no state")?;
    // Cycles at days 0, 30, …; cycle 5 paid 3 days late (grace period): 13 cycles by day 365,
    // the 13th in the second run (continue-as-new after 12).
    assert_eq!(status.cycles_billed, 13, "{status:?}");
    assert_eq!(status.plan, "pro");
    assert_eq!(status.total_cents, 900 + 12 * 2900);
    let history = env.history("sub-year").await?;
    let continued = history.events.iter().any(|e| {
        matches!(
            e.attributes,
            Some(reprise::api::temporal::api::history::v1::history_event::Attributes::WorkflowExecutionStartedEventAttributes(ref a)) if !a.continued_execution_run_id.is_empty()
        )
    });
    assert!(continued, "the latest run was continued as new");

    handle.signal(Subscription::cancel, ()).await?;
    let latest = env.client().workflow_handle("sub-year", None);
    let before = env.now();
    match latest.result::<Ended>().await? {
        Ended::Canceled { subscriber } => assert_eq!(subscriber.cycles_billed, 13),
        other => panic!("expected a cancellation, got {other:?}"),
    }
    // The cancellation took effect at the end of the paid cycle, not at once.
    assert!(env.now().duration_since(before)? > Duration::ZERO);
    assert!(env.now().duration_since(before)? <= CYCLE);
    let charges = billing.charges.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(charges.len(), 13);
    record(&env, "sub-year", "subscription/second-run-canceled.json").await?;
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn a_subscription_lapses_when_the_grace_period_runs_out()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let billing = BillingActivities::default();
    billing
        .declines
        .lock()
        .map_err(|_| "poisoned")?
        .extend([2, 2, 2, 2]);
    env.worker(TASK_QUEUE)
        .workflow::<Subscription>()
        .activities(billing.clone())
        .start()?;
    let start = env.now();
    let ended: Ended = env
        .client()
        .execute(
            Subscription::run,
            (subscriber(),),
            WorkflowOptions::new("sub-lapse", TASK_QUEUE),
        )
        .await?;
    match ended {
        Ended::Lapsed { subscriber, reason } => {
            assert_eq!(subscriber.cycles_billed, 1);
            assert!(reason.contains("declined"), "{reason}");
        }
        other => panic!("expected a lapse, got {other:?}"),
    }
    // Cycle 2 at day 30, then three retries 3 days apart: the run closed 39 days after it
    // started, in virtual time.
    let history = env.history("sub-lapse").await?;
    let time = |e: &reprise::api::temporal::api::history::v1::HistoryEvent| {
        e.event_time.map(|t| t.seconds).unwrap_or_default()
    };
    let (first, last) = (
        history.events.first().map(time).unwrap_or_default(),
        history.events.last().map(time).unwrap_or_default(),
    );
    // Virtual time stands still only between steps: the steps themselves (activities,
    // workflow tasks) take their real time, so allow for a few seconds of it.
    let lasted = Duration::from_secs(u64::try_from(last - first)?);
    assert!(
        lasted >= CYCLE + 3 * 3 * DAY && lasted < CYCLE + 3 * 3 * DAY + Duration::from_secs(60),
        "{lasted:?}"
    );
    assert!(env.now().duration_since(start)? >= CYCLE + 3 * 3 * DAY);
    env.finish().await?;
    Ok(())
}
