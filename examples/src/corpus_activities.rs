//! Rust versions of the corpus activities. Failures depend only on the attempt number, so a
//! rerun produces the same event sequence as the recorded one.

use reprise::activity::{ActivityContext, ActivityError, ActivityRegistry};
use reprise::converter::ApplicationFailure;
use serde_json::Value;
use std::time::Duration;

type R<T> = Result<T, ActivityError>;

async fn charge_credit_card(ctx: ActivityContext, (order_id, amount): (String, f64)) -> R<String> {
    let attempt = ctx.info().attempt;
    if attempt < 3 {
        return Err(ApplicationFailure::new(format!(
            "card processor unavailable (attempt {attempt})"
        ))
        .with_type("CardProcessorUnavailable")
        .into());
    }
    Ok(format!("charge-{order_id}-{}", (amount * 100.0) as i64))
}

async fn long_running(ctx: ActivityContext, (seconds,): (u64,)) -> R<String> {
    for i in 0..seconds * 5 {
        ctx.heartbeat((i,));
        tokio::select! {
            _ = ctx.canceled() => return Err(ActivityError::canceled()),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    Ok("long running activity finished (should not happen in corpus)".into())
}

async fn heartbeating(ctx: ActivityContext, (steps,): (u32,)) -> R<String> {
    let start: u32 = ctx.heartbeat_details::<(u32,)>().map(|(s,)| s).unwrap_or(0);
    if ctx.info().attempt == 1 {
        ctx.heartbeat((1,));
        tokio::time::sleep(Duration::from_secs(3)).await;
        return Ok("attempt 1 finished too late (result discarded by server)".into());
    }
    for step in start..steps {
        ctx.heartbeat((step,));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(format!(
        "completed steps {start}..{} on attempt {}",
        steps - 1,
        ctx.info().attempt
    ))
}

async fn flaky_local(ctx: ActivityContext, (name,): (String,)) -> R<String> {
    let attempt = ctx.info().attempt;
    if attempt < 2 {
        return Err(
            ApplicationFailure::new(format!("flaky local failure (attempt {attempt})"))
                .with_type("Flaky")
                .into(),
        );
    }
    Ok(format!(
        "flaky local succeeded for {name} on attempt {attempt}"
    ))
}

async fn book_car(ctx: ActivityContext, (trip_id,): (String,)) -> R<String> {
    let attempt = ctx.info().attempt;
    Err(ApplicationFailure::new(format!(
        "no cars available for {trip_id} (attempt {attempt})"
    ))
    .with_type("NoCarsAvailable")
    .into())
}

fn text(
    f: fn(&str) -> String,
) -> impl Fn(ActivityContext, (String,)) -> std::future::Ready<R<String>> + Send + Sync + 'static {
    move |_ctx, (s,)| std::future::ready(Ok(f(&s)))
}

/// Every corpus activity, by the type names in the histories.
pub fn registry() -> ActivityRegistry {
    let mut r = ActivityRegistry::new();
    let results = [
        r.register("chargeCreditCard", charge_credit_card)
            .map(|_| ()),
        r.register(
            "updateDatabase",
            |_ctx, (order_id, charge_id): (String, String)| async move {
                Ok(format!("order {order_id} stored with {charge_id}"))
            },
        )
        .map(|_| ()),
        r.register("composeGreeting", text(|n| format!("Hello, {n}!")))
            .map(|_| ()),
        r.register("echo", |_ctx, (v,): (Value,)| async move { Ok(v) })
            .map(|_| ()),
        r.register("square", |_ctx, (i,): (i64,)| async move { Ok(i * i) })
            .map(|_| ()),
        r.register("increment", |_ctx, (i,): (i64,)| async move { Ok(i + 1) })
            .map(|_| ()),
        r.register("recordIteration", |_ctx, (i,): (u32,)| async move {
            Ok(format!("iteration {i} recorded"))
        })
        .map(|_| ()),
        r.register("validateOrder", text(|o| format!("{o} looks valid")))
            .map(|_| ()),
        r.register("longRunningActivity", long_running).map(|_| ()),
        r.register("cleanup", text(|r| format!("cleaned up after {r}")))
            .map(|_| ()),
        r.register("heartbeatingActivity", heartbeating).map(|_| ()),
        r.register(
            "localGreet",
            text(|n| format!("Hello from local activity, {n}!")),
        )
        .map(|_| ()),
        r.register("flakyLocal", flaky_local).map(|_| ()),
        r.register("bookFlight", text(|t| format!("flight-{t}")))
            .map(|_| ()),
        r.register("bookHotel", text(|t| format!("hotel-{t}")))
            .map(|_| ()),
        r.register("bookCar", book_car).map(|_| ()),
        r.register("cancelHotel", text(|b| format!("cancelled {b}")))
            .map(|_| ()),
        r.register("cancelFlight", text(|b| format!("cancelled {b}")))
            .map(|_| ()),
        r.register("oldStep1", text(|x| format!("old step 1 for {x}")))
            .map(|_| ()),
        r.register("newStep1", text(|x| format!("new step 1 for {x}")))
            .map(|_| ()),
        r.register("oldStep2", text(|x| format!("old step 2 for {x}")))
            .map(|_| ()),
        r.register("newStep2", text(|x| format!("new step 2 for {x}")))
            .map(|_| ()),
    ];
    for result in results {
        if let Err(e) = result {
            unreachable!("corpus activity registration: {e}");
        }
    }
    r
}
