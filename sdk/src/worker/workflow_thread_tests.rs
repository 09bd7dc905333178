//! The run cache across speculative workflow tasks that only reject updates: rolled back when
//! the server discards such a task, kept when it does not, replayed when rejecting changed
//! the workflow.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::api::google::protobuf::Any;
use crate::api::temporal::api::common::v1::WorkflowExecution;
use crate::api::temporal::api::common::v1::WorkflowType;
use crate::api::temporal::api::history::v1::history_event::Attributes;
use crate::api::temporal::api::history::v1::{self as h};
use crate::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use crate::converter::ApplicationFailure;
use crate::converter::Failure;
use crate::history::HistoryBuilder;
use crate::workflow::{WorkflowContext, WorkflowResult};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Adds the updates it accepts; rejects negative amounts. The validator of `-99` misbehaves:
/// it changes the workflow, which then moves on without issuing a command.
async fn counter(ctx: WorkflowContext, (): ()) -> WorkflowResult<i64> {
    let total = Rc::new(Cell::new(0i64));
    let poked = Rc::new(Cell::new(false));
    let (t, p) = (total.clone(), poked.clone());
    ctx.on_update_validated(
        "add",
        move |(n,): &(i64,)| {
            if *n == -99 {
                p.set(true);
            }
            if *n < 0 {
                Err(ApplicationFailure::new("negative"))
            } else {
                Ok(())
            }
        },
        move |(n,): (i64,)| {
            let t = t.clone();
            async move {
                t.set(t.get() + n);
                Ok::<_, Failure>(t.get())
            }
        },
    );
    let poked_seen = async {
        ctx.wait_condition(move || poked.get()).await?;
        ctx.wait_condition(|| false).await
    };
    let (slept, _) = futures::join!(ctx.sleep(Duration::from_secs(3600)), poked_seen);
    slept?;
    Ok(total.get())
}

fn thread_state() -> ThreadState {
    let mut registry = WorkflowRegistry::new();
    registry.register("Counter", counter).unwrap();
    ThreadState::new(registry, DataConverter::default(), "default".into(), 10)
}

fn update(id: &str, n: i64, sequencing_event_id: i64) -> ProtocolMessage {
    let converter = DataConverter::default();
    let request = upd::Request {
        meta: Some(upd::Meta {
            update_id: id.into(),
            identity: "test".into(),
        }),
        input: Some(upd::Input {
            name: "add".into(),
            args: Some(Payloads {
                payloads: vec![converter.to_payload(&n).unwrap()],
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    ProtocolMessage {
        id: format!("{id}/request"),
        protocol_instance_id: id.into(),
        sequencing_id: Some(SequencingId::EventId(sequencing_event_id)),
        body: Some(Any {
            type_url: format!("type.googleapis.com/{}", upd::Request::full_name()),
            value: request.encode_to_vec(),
        }),
    }
}

/// A task as a sticky poller gets it: the events after `previous_started`.
fn task(
    b: &HistoryBuilder,
    previous_started: i64,
    messages: Vec<ProtocolMessage>,
) -> ws::PollWorkflowTaskQueueResponse {
    let events: Vec<_> = b
        .build()
        .events
        .into_iter()
        .filter(|e| e.event_id > previous_started)
        .collect();
    ws::PollWorkflowTaskQueueResponse {
        task_token: vec![1],
        workflow_execution: Some(WorkflowExecution {
            workflow_id: "wf-1".into(),
            run_id: "run-1".into(),
        }),
        workflow_type: Some(WorkflowType {
            name: "Counter".into(),
        }),
        previous_started_event_id: previous_started,
        started_event_id: events.last().unwrap().event_id,
        history: Some(History { events }),
        messages,
        ..Default::default()
    }
}

fn completed(outcome: Outcome) -> Activation {
    match outcome {
        Outcome::Complete { activation, .. } => activation,
        Outcome::NeedFullHistory => panic!("the run needs its full history"),
        Outcome::Fail { message, .. } => panic!("task failed: {message}"),
        _ => panic!("unexpected outcome"),
    }
}

fn message_ids(a: &Activation) -> Vec<&str> {
    a.messages.iter().map(|m| m.id.as_str()).collect()
}

fn update_result(a: &Activation) -> i64 {
    a.messages
        .iter()
        .find_map(|m| {
            let body = m.body.as_ref()?;
            let response = upd::Response::decode(body.value.as_slice()).ok()?;
            match response.outcome?.value? {
                upd::outcome::Value::Success(p) => {
                    DataConverter::default().from_payload(&p.payloads[0]).ok()
                }
                _ => None,
            }
        })
        .unwrap()
}

fn workflow_task_completed(b: &mut HistoryBuilder, started: i64) {
    b.push(
        EventType::WorkflowTaskCompleted,
        Attributes::WorkflowTaskCompletedEventAttributes(h::WorkflowTaskCompletedEventAttributes {
            scheduled_event_id: started - 1,
            started_event_id: started,
            ..Default::default()
        }),
    );
}

/// Task 1 starts the timer; task 2 (speculative: the previous task's completion and its
/// timer, then its own two events) rejects update `n`. Returns the history up to task 1's
/// completion and timer, and task 2's.
fn rejected_after_a_timer(state: &mut ThreadState, n: i64) -> (HistoryBuilder, HistoryBuilder) {
    let mut b = HistoryBuilder::new("Counter", vec![]);
    let started = b.workflow_task_started();
    let first = completed(state.task(task(&b, 0, vec![])));
    assert_eq!(first.commands.len(), 1, "the timer");
    workflow_task_completed(&mut b, started);
    b.timer_started("1", Duration::from_secs(3600));
    let mut speculative = b.clone();
    let started = speculative.workflow_task_started();
    let second = completed(state.task(task(&speculative, 3, vec![update("u1", n, started - 1)])));
    assert!(second.commands.is_empty());
    assert_eq!(message_ids(&second), ["u1/reject"]);
    (b, speculative)
}

#[test]
fn a_discarded_rejecting_task_rolls_the_cached_run_back() {
    let mut state = thread_state();
    let (mut b, _) = rejected_after_a_timer(&mut state, -1);
    // The server discarded task 2: task 3 shows task 1's completion and timer again, then
    // its own events with the ids task 2 had.
    b.advance(Duration::from_secs(5));
    let started = b.workflow_task_started();
    let third = completed(state.task(task(&b, 3, vec![update("u2", 2, started - 1)])));
    assert_eq!(message_ids(&third), ["u2/accept", "u2/complete"]);
    assert_eq!(update_result(&third), 2);
    // The run follows the server's history on from there.
    workflow_task_completed(&mut b, started);
    b.push(
        EventType::WorkflowExecutionUpdateAccepted,
        Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(
            h::WorkflowExecutionUpdateAcceptedEventAttributes {
                protocol_instance_id: "u2".into(),
                ..Default::default()
            },
        ),
    );
    b.push(
        EventType::WorkflowExecutionUpdateCompleted,
        Attributes::WorkflowExecutionUpdateCompletedEventAttributes(
            h::WorkflowExecutionUpdateCompletedEventAttributes {
                meta: Some(upd::Meta {
                    update_id: "u2".into(),
                    identity: String::new(),
                }),
                ..Default::default()
            },
        ),
    );
    let started_again = b.workflow_task_started();
    let fourth = completed(state.task(task(&b, started, vec![update("u3", 3, started_again - 1)])));
    assert_eq!(update_result(&fourth), 5);
}

#[test]
fn a_kept_rejecting_task_is_followed_as_usual() {
    let mut state = thread_state();
    let (_, mut speculative) = rejected_after_a_timer(&mut state, -1);
    // The server wrote task 2 (as the official one does for a worker that cannot take
    // events again): task 3 follows it.
    workflow_task_completed(&mut speculative, 7);
    let started = speculative.workflow_task_started();
    let third = completed(state.task(task(&speculative, 7, vec![update("u2", 2, started - 1)])));
    assert_eq!(update_result(&third), 2);
}

#[test]
fn a_rejection_that_changed_the_workflow_sends_the_run_to_replay() {
    let mut state = thread_state();
    let (mut b, _) = rejected_after_a_timer(&mut state, -99);
    assert!(state.cache.is_empty(), "the run left the cache");
    let started = b.workflow_task_started();
    let sticky = task(&b, 3, vec![update("u2", 2, started - 1)]);
    assert!(matches!(
        state.task(sticky.clone()),
        Outcome::NeedFullHistory
    ));
    // From the whole history (where the rejected update left no trace) the state is right.
    let mut full = sticky;
    full.history = Some(b.build());
    let third = completed(state.task(full));
    assert_eq!(update_result(&third), 2);
}

#[test]
fn only_a_task_after_task_and_command_events_may_be_discarded() {
    let mut b = HistoryBuilder::new("Counter", vec![]);
    b.workflow_task();
    b.timer_started("1", Duration::from_secs(3600));
    let mut with_signal = b.clone();
    let started = b.workflow_task_started();
    assert_eq!(
        Discardable::of(&b.build().events, 3, started),
        Some(Discardable {
            resume_after: 3,
            shown_again: vec![
                (4, EventType::WorkflowTaskCompleted as i32),
                (5, EventType::TimerStarted as i32)
            ],
        })
    );
    with_signal.signal("s", vec![]);
    let started = with_signal.workflow_task_started();
    assert_eq!(
        Discardable::of(&with_signal.build().events, 3, started),
        None
    );
    // The first task never is.
    let mut first = HistoryBuilder::new("Counter", vec![]);
    let started = first.workflow_task_started();
    assert_eq!(Discardable::of(&first.build().events, 0, started), None);
}
