//! Rust versions of the workflows that recorded `fixtures/histories` (the official Python SDK's
//! corpus). Each follows the scenario's logic — loops, branches on inputs, signal counts — not a
//! recorded event list, so a history of the same workflow with other inputs replays too.

use reprise::client::RetryPolicy;
use reprise::converter::{ApplicationFailure, Failure, FailureKind};
use reprise::workflow::{
    ActivityFuture, CancellationType, WorkflowContext, WorkflowError, WorkflowRegistry,
    WorkflowResult, search_attribute, try_join_all,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

const STC: Duration = Duration::from_secs(10);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy::new()
        .with_initial_interval(Duration::from_millis(100))
        .with_backoff_coefficient(2.0)
        .with_maximum_interval(Duration::from_secs(1))
        .with_maximum_attempts(5)
}

/// Every corpus workflow, by the type names in the histories (`PatchWorkflow` is v2).
pub fn registry() -> WorkflowRegistry {
    let mut r = WorkflowRegistry::new();
    let results = [
        r.register("OrderWorkflow", order).map(|_| ()),
        r.register("TimerWorkflow", timers).map(|_| ()),
        r.register("SignalWorkflow", signals).map(|_| ()),
        r.register("ExternalSignalerWorkflow", external_signaler)
            .map(|_| ()),
        r.register("QueryWorkflow", queries).map(|_| ()),
        r.register("UpdateWorkflow", updates).map(|_| ()),
        r.register("ChildWorkflow", child).map(|_| ()),
        r.register("FailingChildWorkflow", failing_child)
            .map(|_| ()),
        r.register("ParentWorkflow", parent).map(|_| ()),
        r.register("ContinueAsNewWorkflow", continue_as_new)
            .map(|_| ()),
        r.register("CancelDuringTimerWorkflow", cancel_during_timer)
            .map(|_| ()),
        r.register("CancelDuringActivityWorkflow", cancel_during_activity)
            .map(|_| ()),
        r.register("HeartbeatWorkflow", heartbeat).map(|_| ()),
        r.register("LocalActivityWorkflow", local_activities)
            .map(|_| ()),
        r.register("BookTripWorkflow", book_trip).map(|_| ()),
        r.register("FailingWorkflow", failing).map(|_| ()),
        r.register("PatchWorkflow", patch_v2).map(|_| ()),
        r.register("DeterminismHelpersWorkflow", determinism_helpers)
            .map(|_| ()),
        r.register("ParallelActivitiesWorkflow", parallel_activities)
            .map(|_| ()),
        r.register("LargeSequentialWorkflow", large_sequential)
            .map(|_| ()),
        r.register("LargeTimerWorkflow", large_timers).map(|_| ()),
        r.register("SearchAttributesWorkflow", search_attributes)
            .map(|_| ()),
        r.register("WaitForeverWorkflow", wait_forever).map(|_| ()),
        r.register("WorkflowTaskFailureWorkflow", workflow_task_failure)
            .map(|_| ()),
    ];
    for result in results {
        if let Err(e) = result {
            // The names above are distinct literals; this cannot happen.
            unreachable!("corpus registration: {e}");
        }
    }
    r
}

/// 01: charge, then store.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Order id.
    pub order_id: String,
    /// Amount.
    pub amount: f64,
}

async fn order(ctx: WorkflowContext, (order,): (Order,)) -> WorkflowResult<Value> {
    let charge_id: String = ctx
        .activity_by_name("chargeCreditCard", (&order.order_id, order.amount))
        .start_to_close_timeout(STC)
        .retry_policy(fast_retry())
        .await?;
    let db: String = ctx
        .activity_by_name("updateDatabase", (&order.order_id, &charge_id))
        .start_to_close_timeout(STC)
        .retry_policy(fast_retry())
        .await?;
    Ok(json!({"orderId": order.order_id, "chargeId": charge_id, "db": db}))
}

/// 02: sequential, parallel and canceled timers.
async fn timers(ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    ctx.sleep(secs(1.0)).await?;
    ctx.sleep(secs(2.0)).await?;
    let (a, b) = futures::join!(ctx.sleep(secs(0.5)), ctx.sleep(secs(1.5)));
    a?;
    b?;
    let short = ctx.sleep(secs(0.2));
    let long = ctx.sleep(secs(3600.0));
    short.await?;
    drop(long); // cancels the one-hour timer
    Ok("timers done".into())
}

/// 03: collects `addItem` signals until `checkout`.
async fn signals(ctx: WorkflowContext, (): ()) -> WorkflowResult<Vec<String>> {
    let items = Rc::new(RefCell::new(Vec::new()));
    let checked_out = Rc::new(Cell::new(false));
    {
        let items = items.clone();
        ctx.on_signal("addItem", move |(item,): (String,)| {
            items.borrow_mut().push(item)
        });
    }
    {
        let checked_out = checked_out.clone();
        ctx.on_signal("checkout", move |()| checked_out.set(true));
    }
    ctx.wait_condition(move || checked_out.get()).await?;
    let result = items.borrow().clone();
    Ok(result)
}

/// 03c: signals another workflow twice.
async fn external_signaler(ctx: WorkflowContext, (target,): (String,)) -> WorkflowResult<String> {
    ctx.signal_external(&target, None, "addItem", ("from-external",))
        .await?;
    ctx.signal_external(&target, None, "checkout", ()).await?;
    Ok(format!("signalled {target}"))
}

/// 04: state readable by the `getState` query, advanced by signals.
async fn queries(ctx: WorkflowContext, (): ()) -> WorkflowResult<Value> {
    let state = Rc::new(RefCell::new(String::from("created")));
    let advances = Rc::new(Cell::new(0u32));
    {
        let (state, advances) = (state.clone(), advances.clone());
        ctx.on_query(
            "getState",
            move |()| json!({"state": *state.borrow(), "advances": advances.get()}),
        );
    }
    {
        let advances = advances.clone();
        ctx.on_signal("advance", move |()| advances.set(advances.get() + 1));
    }
    *state.borrow_mut() = "waiting-1".into();
    let a = advances.clone();
    ctx.wait_condition(move || a.get() >= 1).await?;
    *state.borrow_mut() = "waiting-2".into();
    let a = advances.clone();
    ctx.wait_condition(move || a.get() >= 2).await?;
    *state.borrow_mut() = "done".into();
    let result = json!({"state": *state.borrow(), "advances": advances.get()});
    Ok(result)
}

/// 05: updates with a validator, a timer inside a handler, and a finishing update.
async fn updates(ctx: WorkflowContext, (): ()) -> WorkflowResult<i64> {
    let total = Rc::new(Cell::new(0i64));
    let done = Rc::new(Cell::new(false));
    {
        let total = total.clone();
        ctx.on_update_validated(
            "addAmount",
            |(amount,): &(i64,)| {
                if *amount < 0 {
                    Err(ApplicationFailure::new(format!(
                        "amount must be non-negative, got {amount}"
                    ))
                    .with_type("ValueError"))
                } else {
                    Ok(())
                }
            },
            move |(amount,): (i64,)| {
                let total = total.clone();
                async move {
                    total.set(total.get() + amount);
                    Ok::<_, Failure>(total.get())
                }
            },
        );
    }
    {
        let (total, ctx2) = (total.clone(), ctx.clone());
        ctx.on_update("addAmountSlowly", move |(amount,): (i64,)| {
            let (total, ctx) = (total.clone(), ctx2.clone());
            async move {
                ctx.sleep(secs(0.1)).await?;
                total.set(total.get() + amount);
                Ok::<_, Failure>(total.get())
            }
        });
    }
    {
        let (total, done) = (total.clone(), done.clone());
        ctx.on_update("finish", move |()| {
            let (total, done) = (total.clone(), done.clone());
            async move {
                done.set(true);
                Ok::<_, Failure>(total.get())
            }
        });
    }
    let c = ctx.clone();
    ctx.wait_condition(move || done.get() && c.all_handlers_finished())
        .await?;
    Ok(total.get())
}

/// 06: a child that asks an activity for a greeting.
async fn child(ctx: WorkflowContext, (name,): (String,)) -> WorkflowResult<String> {
    Ok(ctx
        .activity_by_name("composeGreeting", (name,))
        .start_to_close_timeout(STC)
        .await?)
}

/// 06: a child that always fails.
async fn failing_child(_ctx: WorkflowContext, (name,): (String,)) -> WorkflowResult<String> {
    Err(ApplicationFailure::new(format!("child {name} refuses"))
        .with_type("ChildRefused")
        .non_retryable()
        .into())
}

/// 06: one child, then the rest in parallel, then a failing child whose failure is caught.
async fn parent(ctx: WorkflowContext, (names,): (Vec<String>,)) -> WorkflowResult<Value> {
    let wid = ctx.info().workflow_id;
    let mut greetings: Vec<String> = Vec::new();
    if let Some(first) = names.first() {
        greetings.push(
            ctx.child_workflow_by_name("ChildWorkflow", (first,))
                .workflow_id(format!("{wid}-child-{first}"))
                .await?,
        );
    }
    let rest: Vec<_> = names[1.min(names.len())..]
        .iter()
        .map(|n| {
            ctx.child_workflow_by_name::<String>("ChildWorkflow", (n,))
                .workflow_id(format!("{wid}-child-{n}"))
                .into_future()
        })
        .collect();
    // `asyncio.gather` in the original: the first child that fails (to start, or to finish)
    // fails the parent at once; children still running are not canceled by it (dropping a child
    // future does not cancel the child; the server applies the parent-close policy).
    greetings.extend(try_join_all(rest).await?);
    // The original catches `ChildWorkflowError` only (the child ran and failed): a child that
    // cannot start, or the parent's own cancellation, still fails the parent.
    let failed = match ctx
        .child_workflow_by_name::<Value>("FailingChildWorkflow", ("mallory",))
        .workflow_id(format!("{wid}-child-mallory"))
        .await
    {
        Ok(_) => String::new(),
        Err(f) if !matches!(f.kind, FailureKind::ChildWorkflow { .. }) => return Err(f.into()),
        Err(f) => {
            let cause = f.cause().unwrap_or(&f);
            format!(
                "{}: {}",
                cause.application_type().unwrap_or_default(),
                cause.message
            )
        }
    };
    Ok(json!({"greetings": greetings, "failedChild": failed}))
}

use std::future::IntoFuture;

/// 07: an activity and a timer per run, then continue-as-new until the last run.
async fn continue_as_new(
    ctx: WorkflowContext,
    (iteration, total_runs): (u32, u32),
) -> WorkflowResult<String> {
    let _: String = ctx
        .activity_by_name("recordIteration", (iteration,))
        .start_to_close_timeout(STC)
        .await?;
    ctx.sleep(secs(0.1)).await?;
    if iteration + 1 < total_runs {
        return Err(ctx.continue_as_new((iteration + 1, total_runs)));
    }
    Ok(format!("finished after {total_runs} runs"))
}

/// 08a: a one-hour timer; canceled by the client.
async fn cancel_during_timer(ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    ctx.sleep(Duration::from_secs(3600)).await?;
    Ok("timer fired (should not happen in corpus)".into())
}

/// 08b: a long activity waited on until it confirms cancellation, then a cleanup activity.
async fn cancel_during_activity(ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    let result: Result<String, Failure> = ctx
        .activity_by_name("longRunningActivity", (60,))
        .start_to_close_timeout(Duration::from_secs(120))
        .heartbeat_timeout(Duration::from_secs(5))
        .cancellation_type(CancellationType::WaitCancellationCompleted)
        .await;
    // The original runs the cleanup when the error is a cancellation (`is_cancelled_exception`),
    // and re-raises anything else.
    let is_cancellation = |e: &Failure| {
        e.chain()
            .any(|f| matches!(f.kind, FailureKind::Canceled { .. }))
    };
    match result {
        Ok(s) => Ok(s),
        Err(e) if is_cancellation(&e) => {
            let _: String = ctx
                .detached()
                .activity_by_name("cleanup", ("cancellation",))
                .start_to_close_timeout(STC)
                .await?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// 09: an activity retried after a heartbeat timeout.
async fn heartbeat(ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    let retry = RetryPolicy::new()
        .with_initial_interval(Duration::from_millis(100))
        .with_backoff_coefficient(2.0)
        .with_maximum_attempts(3);
    Ok(ctx
        .activity_by_name("heartbeatingActivity", (5,))
        .start_to_close_timeout(Duration::from_secs(30))
        .heartbeat_timeout(Duration::from_secs(1))
        .retry_policy(retry)
        .await?)
}

/// 10: local activities around a timer.
async fn local_activities(ctx: WorkflowContext, (): ()) -> WorkflowResult<Vec<String>> {
    let a: String = ctx
        .local_activity_by_name("localGreet", ("world",))
        .start_to_close_timeout(secs(5.0))
        .await?;
    let retry = RetryPolicy::new()
        .with_initial_interval(Duration::from_millis(100))
        .with_backoff_coefficient(2.0)
        .with_maximum_attempts(3);
    let b: String = ctx
        .local_activity_by_name("flakyLocal", ("x",))
        .start_to_close_timeout(secs(5.0))
        .retry_policy(retry)
        .await?;
    ctx.sleep(secs(0.1)).await?;
    let c: String = ctx
        .local_activity_by_name("localGreet", ("again",))
        .start_to_close_timeout(secs(5.0))
        .await?;
    Ok(vec![a, b, c])
}

/// 11: a saga: book three things, compensate the booked ones in reverse on failure.
async fn book_trip(ctx: WorkflowContext, (trip_id,): (String,)) -> WorkflowResult<Value> {
    let retry = || {
        RetryPolicy::new()
            .with_initial_interval(Duration::from_millis(100))
            .with_backoff_coefficient(2.0)
            .with_maximum_attempts(2)
    };
    let mut compensations: Vec<(&str, String)> = Vec::new();
    let steps = [
        ("bookFlight", "cancelFlight"),
        ("bookHotel", "cancelHotel"),
        ("bookCar", "cancelCar"),
    ];
    for (book, cancel) in steps {
        match ctx
            .activity_by_name::<String>(book, (&trip_id,))
            .start_to_close_timeout(STC)
            .retry_policy(retry())
            .await
        {
            Ok(booking) => compensations.push((cancel, booking)),
            // The original compensates on `ActivityError` only: an activity that failed, timed
            // out or was canceled with the workflow (then compensations run too, and the trip
            // fails: `fixtures/fidelity/saga-canceled.json`).
            Err(err) if !matches!(err.kind, FailureKind::Activity { .. }) => {
                return Err(err.into());
            }
            Err(err) => {
                // Python delivers a workflow cancellation once: the compensations that follow
                // run normally. Here a canceled context cancels all it starts, so they run in a
                // detached one.
                let ctx = if ctx.is_cancel_requested() {
                    ctx.detached()
                } else {
                    ctx.clone()
                };
                let mut done = Vec::new();
                for (act, booking) in compensations.iter().rev() {
                    let r: String = ctx
                        .activity_by_name(act, (booking,))
                        .start_to_close_timeout(STC)
                        .retry_policy(retry())
                        .await?;
                    done.push(r);
                }
                let cause = err.cause().unwrap_or(&err);
                let message = format!(
                    "trip {trip_id} failed and was compensated: {}: {}",
                    cause.application_type().unwrap_or_default(),
                    cause.message
                );
                let failure = ApplicationFailure::new(message)
                    .with_type("TripBookingFailed")
                    .non_retryable()
                    .with_details(&(json!({"compensations": done}),), &Default::default())?
                    .with_cause(err);
                return Err(failure.into());
            }
        }
    }
    Ok(json!({"status": "booked"}))
}

/// 12: validates, then fails the workflow with details.
async fn failing(ctx: WorkflowContext, (order_id,): (String,)) -> WorkflowResult<String> {
    let _: String = ctx
        .activity_by_name("validateOrder", (&order_id,))
        .start_to_close_timeout(STC)
        .await?;
    let failure = ApplicationFailure::new(format!("order {order_id} is invalid"))
        .with_type("InvalidOrder")
        .non_retryable()
        .with_details(
            &(json!({"orderId": order_id, "reason": "fraud-suspected"}),),
            &Default::default(),
        )?;
    Err(failure.into())
}

async fn wait_for_proceed(ctx: &WorkflowContext) -> Result<(), Failure> {
    let proceed = Rc::new(Cell::new(false));
    let p = proceed.clone();
    ctx.on_signal("proceed", move |()| p.set(true));
    ctx.wait_condition(move || proceed.get()).await
}

/// 13 v1: old steps around a `proceed` signal.
pub async fn patch_v1(ctx: WorkflowContext, (x,): (String,)) -> WorkflowResult<Vec<String>> {
    let a: String = ctx
        .activity_by_name("oldStep1", (&x,))
        .start_to_close_timeout(STC)
        .await?;
    wait_for_proceed(&ctx).await?;
    let b: String = ctx
        .activity_by_name("oldStep2", (&x,))
        .start_to_close_timeout(STC)
        .await?;
    Ok(vec![a, b])
}

/// 13 v2: each step patched to a new activity.
pub async fn patch_v2(ctx: WorkflowContext, (x,): (String,)) -> WorkflowResult<Vec<String>> {
    let step1 = if ctx.patched("step1-v2") {
        "newStep1"
    } else {
        "oldStep1"
    };
    let a: String = ctx
        .activity_by_name(step1, (&x,))
        .start_to_close_timeout(STC)
        .await?;
    wait_for_proceed(&ctx).await?;
    let step2 = if ctx.patched("step2-v2") {
        "newStep2"
    } else {
        "oldStep2"
    };
    let b: String = ctx
        .activity_by_name(step2, (&x,))
        .start_to_close_timeout(STC)
        .await?;
    Ok(vec![a, b])
}

/// 14: uuid, random and time from the context, echoed through an activity.
async fn determinism_helpers(ctx: WorkflowContext, (): ()) -> WorkflowResult<Value> {
    let uuid = ctx.uuid();
    let random = (ctx.random() * 1_000_001.0) as u64;
    let now1 = reprise::api::google::protobuf::Timestamp::from(ctx.now()).to_rfc3339();
    ctx.sleep(secs(0.5)).await?;
    let now2 = reprise::api::google::protobuf::Timestamp::from(ctx.now()).to_rfc3339();
    let values = json!({"uuid": uuid, "random": random, "now1": now1, "now2": now2});
    let echoed: Value = ctx
        .activity_by_name("echo", (&values,))
        .start_to_close_timeout(STC)
        .await?;
    Ok(json!({"values": values, "echoed": echoed}))
}

/// 15: `n` activities in parallel.
async fn parallel_activities(ctx: WorkflowContext, (n,): (u32,)) -> WorkflowResult<i64> {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            ctx.activity_by_name::<i64>("square", (i,))
                .start_to_close_timeout(STC)
                .into_future()
        })
        .collect();
    Ok(gather(&ctx, calls).await?.into_iter().sum())
}

/// Python's `asyncio.gather` over activities, as the originals use it: results in order; the
/// first failure returns at once and leaves the other activities running (Python does not
/// cancel them); but when the workflow itself is being canceled, every branch was canceled with
/// it (the cancellation reaches all of them, in order), as Python cancels the gather's children.
async fn gather<T: serde::de::DeserializeOwned>(
    ctx: &WorkflowContext,
    calls: Vec<ActivityFuture<T>>,
) -> Result<Vec<T>, Failure> {
    let mut pending: Vec<Option<ActivityFuture<T>>> = calls.into_iter().map(Some).collect();
    let mut results: Vec<Option<T>> = pending.iter().map(|_| None).collect();
    let outcome = std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            let Some(call) = slot else { continue };
            match std::pin::Pin::new(call).poll(cx) {
                std::task::Poll::Ready(Ok(v)) => {
                    *result = Some(v);
                    *slot = None;
                }
                std::task::Poll::Ready(Err(e)) => {
                    *slot = None;
                    return std::task::Poll::Ready(Err(e));
                }
                std::task::Poll::Pending => waiting = true,
            }
        }
        if waiting {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(Ok(()))
        }
    })
    .await;
    match outcome {
        Ok(()) => Ok(results.into_iter().flatten().collect()),
        Err(e) => {
            let canceling = ctx.is_cancel_requested();
            for call in pending.into_iter().flatten() {
                if canceling {
                    drop(call); // canceled, in order
                } else {
                    call.detach();
                }
            }
            Err(e)
        }
    }
}

/// 16a/b: `n` activities in sequence.
async fn large_sequential(ctx: WorkflowContext, (n,): (u32,)) -> WorkflowResult<i64> {
    let mut acc = 0i64;
    for _ in 0..n {
        acc = ctx
            .activity_by_name("increment", (acc,))
            .start_to_close_timeout(STC)
            .await?;
    }
    Ok(acc)
}

/// 16c: rounds of parallel 1 ms timers.
async fn large_timers(
    ctx: WorkflowContext,
    (rounds, per_round): (u32, u32),
) -> WorkflowResult<u32> {
    let mut fired = 0;
    for _ in 0..rounds {
        let timers: Vec<_> = (0..per_round)
            .map(|_| ctx.sleep(Duration::from_millis(1)))
            .collect();
        for r in futures::future::join_all(timers).await {
            r?;
        }
        fired += per_round;
    }
    Ok(fired)
}

/// 17: search attributes and memo upserts.
async fn search_attributes(ctx: WorkflowContext, (): ()) -> WorkflowResult<Value> {
    let converter = reprise::converter::DataConverter::default();
    let before: Option<String> = ctx
        .search_attributes()
        .get("CorpusCustomerId")
        .and_then(|p| converter.from_payload(p).ok());
    ctx.upsert_search_attributes(BTreeMap::from([
        (
            "CorpusStage".to_string(),
            search_attribute::keyword("processing")?,
        ),
        (
            "CorpusOrderTotal".to_string(),
            search_attribute::double(99.5)?,
        ),
        ("CorpusItemCount".to_string(), search_attribute::int(3)?),
    ]));
    ctx.upsert_memo(BTreeMap::from([
        ("note".to_string(), converter.to_payload(&"upserted")?),
        ("priority".to_string(), converter.to_payload(&())?),
    ]));
    let _: String = ctx
        .activity_by_name("validateOrder", ("order-17",))
        .start_to_close_timeout(STC)
        .await?;
    ctx.upsert_search_attributes(BTreeMap::from([
        (
            "CorpusStage".to_string(),
            search_attribute::keyword("done")?,
        ),
        ("CorpusItemCount".to_string(), search_attribute::unset()),
    ]));
    let stage: Option<String> = ctx
        .search_attributes()
        .get("CorpusStage")
        .and_then(|p| converter.from_payload(p).ok());
    let memo_keys: Vec<String> = ctx.memo().keys().cloned().collect();
    Ok(json!({"customerAtStart": before, "stage": stage, "memoKeys": memo_keys}))
}

/// 18: a one-day timer (terminated or timed out by the server).
async fn wait_forever(ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    ctx.sleep(Duration::from_secs(86_400)).await?;
    Ok("slept a day (should not happen in corpus)".into())
}

/// 19: the Python version failed its first task on purpose; ours just runs.
async fn workflow_task_failure(ctx: WorkflowContext, (): ()) -> WorkflowResult<String> {
    ctx.sleep(secs(0.1)).await?;
    Ok("recovered after a failed workflow task".into())
}

#[allow(dead_code)]
fn _assert_error_type(e: WorkflowError) -> WorkflowError {
    e
}

/// The official Rust SDK's benchmark workflow (`SequentialWorkflow`: `count` activities
/// `BenchActivities::noop` one after another), whose recorded history is
/// `fixtures/official-rust-sdk/seq500.json`: a history written by another SDK replays here.
pub async fn official_sequential(ctx: WorkflowContext, (count,): (u32,)) -> WorkflowResult<u32> {
    let mut done = 0;
    for i in 0..count {
        let _: u32 = ctx
            .activity_by_name("BenchActivities::noop", (i,))
            .start_to_close_timeout(STC)
            .await?;
        done += 1;
    }
    Ok(done)
}

/// Registry for the official SDK's recorded histories.
pub fn official_sdk_registry() -> WorkflowRegistry {
    let mut r = WorkflowRegistry::new();
    if let Err(e) = r.register("SequentialWorkflow", official_sequential) {
        unreachable!("{e}");
    }
    r
}
