//! State-machine transitions, one by one, on hand-built histories: what each event does to the
//! workflow, and which commands (or messages) each step issues.
#![allow(clippy::unwrap_used)]

use super::RunFn;
use super::run::{Activation, WorkflowRun};
use super::{ReplayError, Replayer};
use crate::api::temporal::api::command::v1::command::Attributes as C;
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::enums::v1::CommandType;
use crate::api::temporal::api::history::v1::History;
use crate::converter::{ApplicationFailure, DataConverter, Failure, FailureKind};
use crate::history::HistoryBuilder;
use crate::workflow::{CancellationType, WorkflowContext, WorkflowRegistry, WorkflowResult};
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Children, queries, updates, markers (side effects, local activities), continue-as-new and
/// determinism: the second half of the engine's tests.
mod children_updates_markers;

fn p<T: serde::Serialize>(v: T) -> Payload {
    DataConverter::default().to_payload(&v).unwrap()
}

fn run_fn<F, Fut>(f: F) -> RunFn
where
    F: Fn(WorkflowContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = WorkflowResult<serde_json::Value>> + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |ctx, _input| {
        let f = f.clone();
        Box::pin(async move { Ok(vec![DataConverter::default().to_payload(&f(ctx).await?)?]) })
    })
}

/// Runs `history` (ending with a started, not completed task) and returns that task's output.
fn activate(history: &History, f: RunFn) -> (WorkflowRun, Result<Option<Activation>, ReplayError>) {
    let mut run =
        WorkflowRun::new(f, &history.events[0], DataConverter::default(), "default").unwrap();
    let result = run
        .apply_events(&history.events)
        .map(|live| live.then(|| run.take_activation()));
    (run, result)
}

fn types(a: &Activation) -> Vec<CommandType> {
    a.commands
        .iter()
        .map(|c| CommandType::try_from(c.command_type).unwrap())
        .collect()
}

fn completion_value(a: &Activation) -> serde_json::Value {
    for c in &a.commands {
        if let Some(C::CompleteWorkflowExecutionCommandAttributes(attrs)) = &c.attributes {
            return DataConverter::default()
                .from_payload(&attrs.result.as_ref().unwrap().payloads[0])
                .unwrap();
        }
    }
    panic!("no completion in {:?}", types(a));
}

fn app_failure(kind: &str) -> crate::api::temporal::api::failure::v1::Failure {
    Failure::from(ApplicationFailure::new("boom").with_type(kind)).to_proto()
}

#[test]
fn first_task_issues_the_timer_and_a_fired_timer_completes() {
    let wf = || {
        run_fn(|ctx| async move {
            ctx.sleep(Duration::from_secs(5)).await?;
            Ok(serde_json::json!("woke"))
        })
    };
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), wf());
    let a = a.unwrap().unwrap();
    assert_eq!(types(&a), [CommandType::StartTimer]);

    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let t = b.timer_started("1", Duration::from_secs(5));
    b.timer_fired(t, "1");
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), wf());
    let a = a.unwrap().unwrap();
    assert_eq!(types(&a), [CommandType::CompleteWorkflowExecution]);
    assert_eq!(completion_value(&a), "woke");
}

#[test]
fn a_timer_dropped_in_the_task_that_started_it_is_withdrawn() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let (_, a) = activate(
        &b.build(),
        run_fn(|ctx| async move {
            let t = ctx.sleep(Duration::from_secs(5));
            drop(t);
            ctx.sleep(Duration::from_secs(1)).await?;
            Ok(serde_json::Value::Null)
        }),
    );
    let a = a.unwrap().unwrap();
    assert_eq!(types(&a), [CommandType::StartTimer]);
    let Some(C::StartTimerCommandAttributes(t)) = &a.commands[0].attributes else {
        panic!()
    };
    assert_eq!(t.timer_id, "2", "sequence numbers are not reused");
}

#[test]
fn a_recorded_timer_dropped_later_is_canceled_with_a_command() {
    // Task 1 starts timers 1 (1 s) and 2 (1 h); timer 1 fires; task 2 drops timer 2.
    let wf = || {
        run_fn(|ctx| async move {
            let short = ctx.sleep(Duration::from_secs(1));
            let long = ctx.sleep(Duration::from_secs(3600));
            short.await?;
            drop(long);
            Ok(serde_json::Value::Null)
        })
    };
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let t1 = b.timer_started("1", Duration::from_secs(1));
    let t2 = b.timer_started("2", Duration::from_secs(3600));
    b.timer_fired(t1, "1");
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), wf());
    assert_eq!(
        types(&a.unwrap().unwrap()),
        [
            CommandType::CancelTimer,
            CommandType::CompleteWorkflowExecution
        ]
    );
    // And the recorded cancellation replays.
    let mut b2 = HistoryBuilder::new("W", vec![]);
    b2.workflow_task();
    let t1 = b2.timer_started("1", Duration::from_secs(1));
    b2.timer_started("2", Duration::from_secs(3600));
    b2.timer_fired(t1, "1");
    b2.workflow_task();
    b2.timer_canceled(t2, "2");
    b2.workflow_completed(vec![p(())]);
    let (mut run, r) = activate(&b2.build(), wf());
    assert!(r.unwrap().is_none());
    run.finish_replay().unwrap();
}

fn activity_wf(cancel: Option<CancellationType>) -> RunFn {
    run_fn(move |ctx| async move {
        let (scope, child) = ctx.cancellation_scope();
        let call = child
            .activity_by_name::<String>("charge", ("order-1",))
            .start_to_close_timeout(Duration::from_secs(10));
        let call = match cancel {
            Some(t) => call.cancellation_type(t),
            None => call,
        };
        let fut = std::future::IntoFuture::into_future(call);
        if cancel.is_some() {
            // Cancel once the activity is recorded (second task).
            let c = ctx.clone();
            ctx.spawn(async move {
                let _ = c.sleep(Duration::from_secs(1)).await;
                scope.cancel();
            });
        }
        match fut.await {
            Ok(v) => Ok(serde_json::json!({"ok": v})),
            Err(f) => Ok(serde_json::json!({
                "err": f.message,
                "cause": f.cause().map(|c| c.message.clone()),
                "canceled": f.chain().any(|f| matches!(f.kind, FailureKind::Canceled { .. })),
                "type": f.root_cause().application_type(),
            })),
        }
    })
}

#[test]
fn activity_completion_failure_and_timeout_resolve_the_future() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let s = b.activity_scheduled("1", "charge");
    b.activity_completed(s, vec![p("charged")]);
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), activity_wf(None));
    assert_eq!(
        completion_value(&a.unwrap().unwrap()),
        serde_json::json!({"ok": "charged"})
    );

    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let s = b.activity_scheduled("1", "charge");
    b.activity_failed(s, app_failure("CardDeclined"));
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), activity_wf(None));
    let v = completion_value(&a.unwrap().unwrap());
    assert_eq!(v["err"], "activity task failed");
    assert_eq!(v["type"], "CardDeclined");

    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let s = b.activity_scheduled("1", "charge");
    let timeout = Failure::new(
        "activity timeout",
        FailureKind::Timeout {
            timeout_type: crate::api::temporal::api::enums::v1::TimeoutType::StartToClose,
            last_heartbeat_details: vec![],
        },
    );
    b.activity_timed_out(s, timeout.to_proto());
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), activity_wf(None));
    assert_eq!(
        completion_value(&a.unwrap().unwrap())["cause"],
        "activity timeout"
    );
}

fn history_until_cancel(b: &mut HistoryBuilder) -> i64 {
    b.workflow_task();
    let s = b.activity_scheduled("1", "charge");
    let t = b.timer_started("1", Duration::from_secs(1));
    b.timer_fired(t, "1");
    s
}

#[test]
fn try_cancel_requests_cancellation_and_resolves_at_once() {
    let mut b = HistoryBuilder::new("W", vec![]);
    history_until_cancel(&mut b);
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), activity_wf(Some(CancellationType::TryCancel)));
    let a = a.unwrap().unwrap();
    assert_eq!(
        types(&a),
        [
            CommandType::RequestCancelActivityTask,
            CommandType::CompleteWorkflowExecution
        ]
    );
    assert_eq!(completion_value(&a)["canceled"], true);
}

#[test]
fn wait_cancellation_completed_waits_for_the_canceled_event() {
    let mut b = HistoryBuilder::new("W", vec![]);
    let s = history_until_cancel(&mut b);
    b.workflow_task_started();
    let (_, a) = activate(
        &b.build(),
        activity_wf(Some(CancellationType::WaitCancellationCompleted)),
    );
    assert_eq!(
        types(&a.unwrap().unwrap()),
        [CommandType::RequestCancelActivityTask]
    );

    let mut b = HistoryBuilder::new("W", vec![]);
    let s2 = history_until_cancel(&mut b);
    assert_eq!(s, s2);
    b.workflow_task();
    b.activity_cancel_requested(s);
    b.activity_canceled(s);
    b.workflow_task_started();
    let (_, a) = activate(
        &b.build(),
        activity_wf(Some(CancellationType::WaitCancellationCompleted)),
    );
    let a = a.unwrap().unwrap();
    assert_eq!(types(&a), [CommandType::CompleteWorkflowExecution]);
    assert_eq!(completion_value(&a)["canceled"], true);
}

#[test]
fn abandon_resolves_without_telling_the_server() {
    let mut b = HistoryBuilder::new("W", vec![]);
    history_until_cancel(&mut b);
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), activity_wf(Some(CancellationType::Abandon)));
    let a = a.unwrap().unwrap();
    assert_eq!(types(&a), [CommandType::CompleteWorkflowExecution]);
    assert_eq!(completion_value(&a)["canceled"], true);
}

#[test]
fn signals_are_buffered_until_a_handler_exists_and_delivered_in_order() {
    let wf = || {
        run_fn(|ctx| async move {
            let got = Rc::new(RefCell::new(Vec::<String>::new()));
            ctx.sleep(Duration::from_secs(1)).await?;
            let g = got.clone();
            ctx.on_signal("add", move |(s,): (String,)| g.borrow_mut().push(s));
            let g = got.clone();
            ctx.on_default_signal(move |name, _| g.borrow_mut().push(format!("other:{name}")));
            let g = got.clone();
            ctx.wait_condition(move || g.borrow().len() >= 3).await?;
            let v = got.borrow().clone();
            Ok(serde_json::json!(v))
        })
    };
    let mut b = HistoryBuilder::new("W", vec![]);
    b.signal("add", vec![p("a")]);
    b.workflow_task();
    let t = b.timer_started("1", Duration::from_secs(1));
    b.signal("add", vec![p("b")]);
    b.signal("mystery", vec![]);
    b.timer_fired(t, "1");
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), wf());
    assert_eq!(
        completion_value(&a.unwrap().unwrap()),
        serde_json::json!(["a", "b", "other:mystery"])
    );
}

#[test]
fn workflow_cancellation_cancels_pending_work_and_ends_canceled() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    b.timer_started("1", Duration::from_secs(3600));
    b.cancel_requested();
    b.workflow_task_started();
    let (_, a) = activate(
        &b.build(),
        run_fn(|ctx| async move {
            ctx.sleep(Duration::from_secs(3600)).await?;
            Ok(serde_json::Value::Null)
        }),
    );
    assert_eq!(
        types(&a.unwrap().unwrap()),
        [
            CommandType::CancelTimer,
            CommandType::CancelWorkflowExecution
        ]
    );
}

#[test]
fn detached_work_survives_workflow_cancellation() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    b.timer_started("1", Duration::from_secs(3600));
    b.cancel_requested();
    b.workflow_task_started();
    let (_, a) = activate(
        &b.build(),
        run_fn(|ctx| async move {
            if let Err(e) = ctx.sleep(Duration::from_secs(3600)).await {
                let _: String = ctx
                    .detached()
                    .activity_by_name("cleanup", ())
                    .start_to_close_timeout(Duration::from_secs(5))
                    .await?;
                return Err(e.into());
            }
            Ok(serde_json::Value::Null)
        }),
    );
    assert_eq!(
        types(&a.unwrap().unwrap()),
        [CommandType::CancelTimer, CommandType::ScheduleActivityTask]
    );
}
