//! The order example in a TestEnv: transient provider errors are retried, a declined card is
//! not, and a charge whose reply was lost is retried without charging twice.

use reprise::activity::ActivityError;
use reprise::client::{ClientError, WorkflowOptions};
use reprise_examples::order::{
    Order, OrderActivities, OrderResult, PaymentService, ProcessOrder, TASK_QUEUE,
};
use reprise_testing::TestEnv;
use std::time::Duration;

#[path = "support/record.rs"]
mod support;
use support::record;

fn order(id: &str, card: &str) -> Order {
    Order {
        id: id.into(),
        amount_cents: 1999,
        card: card.into(),
    }
}

#[tokio::test]
async fn transient_provider_errors_are_retried_with_backoff()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let payments = PaymentService::in_memory();
    env.worker(TASK_QUEUE)
        .workflow::<ProcessOrder>()
        .activities(OrderActivities::new(payments.clone()))
        .start()?;
    let started = env.now();
    let o = order("o-flaky", "flaky-2");
    let handle = env
        .client()
        .start(
            ProcessOrder::run,
            (o.clone(),),
            WorkflowOptions::new(&o.id, TASK_QUEUE),
        )
        .await?;
    let result: OrderResult = handle.result().await?;
    assert!(result.paid);
    assert_eq!(payments.charges()?.len(), 1);
    // Attempts 1 and 2 failed: backoff 2 s then 4 s of virtual time.
    let waited = env.now().duration_since(started)?;
    assert!(waited >= Duration::from_secs(6), "{waited:?}");
    let history = env.history(&o.id).await?;
    let attempts = history.events.iter().find_map(|e| match &e.attributes {
        Some(reprise::api::temporal::api::history::v1::history_event::Attributes::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
        _ => None,
    });
    assert_eq!(attempts, Some(3));
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn a_declined_card_is_not_retried() -> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let payments = PaymentService::in_memory();
    let charge = env.mock_activity(OrderActivities::charge, {
        let payments = payments.clone();
        move |ctx, (id, cents, card)| {
            let payments = payments.clone();
            async move { payments.charge(&id, cents, &card, ctx.info().attempt).await }
        }
    });
    env.worker(TASK_QUEUE)
        .workflow::<ProcessOrder>()
        .activities(OrderActivities::new(payments.clone()))
        .start()?;
    let o = order("o-declined", "declined-amex");
    let handle = env
        .client()
        .start(
            ProcessOrder::run,
            (o.clone(),),
            WorkflowOptions::new(&o.id, TASK_QUEUE),
        )
        .await?;
    match handle.result::<OrderResult>().await {
        Err(ClientError::WorkflowFailed(failure)) => {
            let root = failure.root_cause();
            assert_eq!(root.application_type(), Some("CardDeclined"), "{failure}");
        }
        other => panic!("expected the order to fail, got {other:?}"),
    }
    assert_eq!(
        charge.call_count(),
        1,
        "a declined card is charged once, not retried"
    );
    assert!(payments.charges()?.is_empty());
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn a_charge_whose_reply_was_lost_is_not_charged_twice()
-> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let payments = PaymentService::in_memory();
    // Attempt 1 charges the card, then its worker "crashes": the reply never comes and the
    // attempt times out. Attempt 2 sends the same idempotency key.
    let charge = env.mock_activity(OrderActivities::charge, {
        let payments = payments.clone();
        move |ctx, (id, cents, card)| {
            let payments = payments.clone();
            async move {
                let receipt = payments
                    .charge(&id, cents, &card, ctx.info().attempt)
                    .await?;
                if ctx.info().attempt == 1 {
                    ctx.sleep(Duration::from_secs(3600)).await; // never answers in time
                    return Err(ActivityError::non_retryable(
                        "unreachable: timed out before",
                    ));
                }
                Ok(receipt)
            }
        }
    });
    env.worker(TASK_QUEUE)
        .workflow::<ProcessOrder>()
        .activities(OrderActivities::new(payments.clone()))
        .start()?;
    let o = order("o-crash", "tok_visa");
    let handle = env
        .client()
        .start(
            ProcessOrder::run,
            (o.clone(),),
            WorkflowOptions::new(&o.id, TASK_QUEUE),
        )
        .await?;
    let result: OrderResult = handle.result().await?;
    assert_eq!(charge.call_count(), 2);
    let charges = payments.charges()?;
    assert_eq!(charges.len(), 1, "charged once: {charges:?}");
    assert_eq!(result.receipt, charges[0]);
    record(&env, &o.id, "order/charge-retried-after-lost-reply.json").await?;
    env.finish().await?;
    Ok(())
}
