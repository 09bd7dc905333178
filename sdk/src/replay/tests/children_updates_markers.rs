//! Replay engine tests: children, queries, updates, markers (side effects, local activities),
//! continue-as-new, invalid event orders, time and randomness, select.

use super::*;

fn child_wf() -> RunFn {
    run_fn(|ctx| async move {
        match ctx
            .child_workflow_by_name::<String>("Child", ("x",))
            .workflow_id("child-1")
            .await
        {
            Ok(v) => Ok(serde_json::json!({"ok": v})),
            Err(f) => Ok(serde_json::json!({"err": f.message})),
        }
    })
}

#[test]
fn child_workflow_started_then_completed() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), child_wf());
    assert_eq!(
        types(&a.unwrap().unwrap()),
        [CommandType::StartChildWorkflowExecution]
    );

    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let i = b.child_initiated("child-1", "Child");
    let s = b.child_started(i, "child-1");
    b.workflow_task();
    b.child_completed(i, s, vec![p("done")]);
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), child_wf());
    assert_eq!(
        completion_value(&a.unwrap().unwrap()),
        serde_json::json!({"ok": "done"})
    );
}

#[test]
fn child_workflow_that_cannot_start_fails_its_future() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let i = b.child_initiated("child-1", "Child");
    b.child_start_failed(i, "child-1");
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), child_wf());
    let v = completion_value(&a.unwrap().unwrap());
    assert!(
        v["err"].as_str().unwrap().contains("could not start"),
        "{v}"
    );
}

#[test]
fn a_failed_workflow_task_in_history_is_skipped() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.failed_workflow_task();
    b.workflow_task();
    let t = b.timer_started("1", Duration::from_secs(1));
    b.timer_fired(t, "1");
    b.workflow_task();
    b.workflow_completed(vec![p("woke")]);
    let mut r = WorkflowRegistry::new();
    r.register("W", |ctx: WorkflowContext, (): ()| async move {
        ctx.sleep(Duration::from_secs(1)).await?;
        Ok("woke")
    })
    .unwrap();
    Replayer::new(r).replay(&b.build()).unwrap();
}

#[test]
fn queries_read_state_and_cannot_start_operations() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let (mut run, a) = activate(
        &b.build(),
        run_fn(|ctx| async move {
            let stage = Rc::new(RefCell::new("waiting"));
            let s = stage.clone();
            ctx.on_query("stage", move |()| *s.borrow());
            let c = ctx.clone();
            ctx.on_query("bad", move |()| {
                drop(c.sleep(Duration::from_secs(1)));
                1
            });
            ctx.sleep(Duration::from_secs(60)).await?;
            Ok(serde_json::Value::Null)
        }),
    );
    assert_eq!(types(&a.unwrap().unwrap()), [CommandType::StartTimer]);
    let answer = run.query("stage", vec![]).unwrap();
    assert_eq!(answer[0].data, b"\"waiting\"");
    let err = run.query("bad", vec![]).unwrap_err();
    assert_eq!(err.application_type(), Some("QueryFailed"));
    let err = run.query("nope", vec![]).unwrap_err();
    assert_eq!(err.application_type(), Some("QueryNotFound"));
    assert_eq!(
        types(&run.take_activation()),
        [CommandType::StartTimer],
        "a query leaves no command behind"
    );
}

#[test]
fn live_updates_are_validated_accepted_and_completed_through_messages() {
    use crate::api::temporal::api::update::v1 as upd;
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let wf = run_fn(|ctx| async move {
        let total = Rc::new(RefCell::new(0i64));
        let t = total.clone();
        ctx.on_update_validated(
            "add",
            |(n,): &(i64,)| {
                if *n < 0 {
                    Err(ApplicationFailure::new("negative"))
                } else {
                    Ok(())
                }
            },
            move |(n,): (i64,)| {
                let t = t.clone();
                async move {
                    *t.borrow_mut() += n;
                    Ok::<_, Failure>(*t.borrow())
                }
            },
        );
        ctx.sleep(Duration::from_secs(3600)).await?;
        Ok(serde_json::Value::Null)
    });
    let mut run = WorkflowRun::new(
        wf,
        &b.build().events[0],
        DataConverter::default(),
        "default",
    )
    .unwrap();
    let update = |id: &str, n: i64| crate::workflow::PendingUpdate {
        input: crate::workflow::UpdateInput {
            id: id.into(),
            name: "add".into(),
            args: vec![p(n)],
        },
        protocol_instance_id: id.into(),
        request_message_id: format!("{id}/request"),
        sequencing_event_id: 2,
        request: upd::Request::default(),
        run_validator: true,
    };
    run.push_update(update("u1", 5));
    run.push_update(update("u2", -1));
    assert!(run.apply_events(&b.build().events).unwrap());
    let a = run.take_activation();
    // The updates wait for the handler the workflow registers when it starts; the handler task
    // then runs after the main task's first step (the timer).
    assert_eq!(
        types(&a),
        [
            CommandType::ProtocolMessage,
            CommandType::StartTimer,
            CommandType::ProtocolMessage
        ]
    );
    let ids: Vec<&str> = a.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["u1/accept", "u1/complete", "u2/reject"]);
}

#[test]
fn side_effects_run_once_and_replay_from_the_marker() {
    let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let c = calls.clone();
    let wf = move || {
        let c = c.clone();
        run_fn(move |ctx| {
            let c = c.clone();
            async move {
                let v: u32 =
                    ctx.side_effect(|| c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 100)?;
                Ok(serde_json::json!(v))
            }
        })
    };
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), wf());
    let a = a.unwrap().unwrap();
    assert_eq!(
        types(&a),
        [
            CommandType::RecordMarker,
            CommandType::CompleteWorkflowExecution
        ]
    );
    assert_eq!(completion_value(&a), 100);
    // Replay: the marker says 7; the closure must not run.
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let details = std::collections::BTreeMap::from([
        (
            "data".to_string(),
            crate::api::temporal::api::common::v1::Payloads {
                payloads: vec![p(7u32)],
            },
        ),
        (
            "side-effect-id".to_string(),
            crate::api::temporal::api::common::v1::Payloads {
                payloads: vec![p(1u32)],
            },
        ),
    ]);
    b.marker("SideEffect", details);
    b.workflow_completed(vec![p(7)]);
    let before = calls.load(std::sync::atomic::Ordering::SeqCst);
    let (mut run, r) = activate(&b.build(), wf());
    assert!(r.unwrap().is_none());
    run.finish_replay().unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), before);
}

#[test]
fn continue_as_new_keeps_type_and_queue_by_default() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let (_, a) = activate(
        &b.build(),
        run_fn(|ctx| async move { Err(ctx.continue_as_new((2, "x"))) }),
    );
    let a = a.unwrap().unwrap();
    let Some(C::ContinueAsNewWorkflowExecutionCommandAttributes(c)) = &a.commands[0].attributes
    else {
        panic!()
    };
    assert_eq!(c.workflow_type.as_ref().unwrap().name, "W");
    assert_eq!(c.task_queue.as_ref().unwrap().name, "test");
    assert_eq!(c.input.as_ref().unwrap().payloads.len(), 2);
}

#[test]
fn invalid_event_orders_are_clear_errors() {
    // A completion for an activity that was never scheduled.
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    b.activity_completed(42, vec![]);
    b.workflow_task_started();
    let (_, r) = activate(
        &b.build(),
        run_fn(|ctx| async move {
            ctx.sleep(Duration::from_secs(1)).await?;
            Ok(serde_json::Value::Null)
        }),
    );
    match r {
        Err(ReplayError::InvalidHistory { message, .. }) => {
            assert!(message.contains("scheduled event 42"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // A command event the code never issued.
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    b.activity_scheduled("1", "charge");
    b.workflow_task_started();
    let (_, r) = activate(&b.build(), run_fn(|_ctx| std::future::pending()));
    let e = match r {
        Err(ReplayError::Nondeterminism(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        e.history,
        "ScheduleActivityTask activity_type=charge activity_id=1"
    );
    assert!(e.code.starts_with("no command"), "{e}");
}

#[test]
fn local_activities_wait_for_the_worker_live_and_read_markers_in_replay() {
    let wf = || {
        run_fn(|ctx| async move {
            let v: String = ctx
                .local_activity_by_name("greet", ("x",))
                .start_to_close_timeout(Duration::from_secs(5))
                .await?;
            Ok(serde_json::json!(v))
        })
    };
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let (run, a) = activate(&b.build(), wf());
    assert!(a.unwrap().is_some());
    let requests = run.pending_local_activities();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].activity_type, "greet");

    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let data =
        serde_json::json!({"seq": 1, "attempt": 1, "activity_id": "1", "activity_type": "greet"});
    let details = std::collections::BTreeMap::from([
        (
            "data".to_string(),
            crate::api::temporal::api::common::v1::Payloads {
                payloads: vec![p(data)],
            },
        ),
        (
            "result".to_string(),
            crate::api::temporal::api::common::v1::Payloads {
                payloads: vec![p("hello x")],
            },
        ),
    ]);
    b.marker("core_local_activity", details);
    b.workflow_completed(vec![p("hello x")]);
    let (mut run, r) = activate(&b.build(), wf());
    assert!(r.unwrap().is_none());
    run.finish_replay().unwrap();
}

#[test]
fn time_and_randomness_come_from_the_history() {
    let wf = || {
        run_fn(|ctx| async move {
            let now = crate::api::google::protobuf::Timestamp::from(ctx.now()).to_rfc3339();
            Ok(
                serde_json::json!({"now": now, "uuid": ctx.uuid(), "r": ctx.random_u64().to_string(), "replaying": ctx.is_replaying()}),
            )
        })
    };
    let mut b = HistoryBuilder::new("W", vec![]);
    let started = b.workflow_task_started();
    let h = b.build();
    let (_, a1) = activate(&h, wf());
    let (_, a2) = activate(&h, wf());
    let (v1, v2) = (
        completion_value(&a1.unwrap().unwrap()),
        completion_value(&a2.unwrap().unwrap()),
    );
    assert_eq!(v1, v2, "same history, same values");
    let expected = h.events[started as usize - 1]
        .event_time
        .as_ref()
        .unwrap()
        .to_rfc3339();
    assert_eq!(v1["now"], expected);
    assert_eq!(v1["replaying"], false);
}

#[test]
fn a_completion_racing_a_cancel_request_in_one_task_wins() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let s = b.activity_scheduled("1", "charge");
    b.activity_completed(s, vec![p("charged")]);
    b.cancel_requested();
    b.workflow_task_started();
    let (_, a) = activate(&b.build(), activity_wf(None));
    let a = a.unwrap().unwrap();
    assert_eq!(types(&a), [CommandType::CompleteWorkflowExecution]);
    assert_eq!(completion_value(&a), serde_json::json!({"ok": "charged"}));
}

#[test]
fn select_is_deterministic_and_drops_the_loser() {
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    let t1 = b.timer_started("1", Duration::from_secs(1));
    let t2 = b.timer_started("2", Duration::from_secs(1));
    b.timer_fired(t2, "2");
    b.timer_fired(t1, "1");
    b.workflow_task_started();
    let (_, a) = activate(
        &b.build(),
        run_fn(|ctx| async move {
            let mut first = Box::pin(futures::FutureExt::fuse(ctx.sleep(Duration::from_secs(1))));
            let mut second = Box::pin(futures::FutureExt::fuse(ctx.sleep(Duration::from_secs(1))));
            // Both fired in the same task: the first listed wins, every time.
            let winner = crate::workflow::select! {
                _ = first => "first",
                _ = second => "second",
            };
            Ok(serde_json::json!(winner))
        }),
    );
    let a = a.unwrap().unwrap();
    assert_eq!(completion_value(&a), "first");
}

#[test]
fn the_default_update_handler_takes_unknown_names() {
    use crate::api::temporal::api::update::v1 as upd;
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task_started();
    let wf = run_fn(|ctx| async move {
        ctx.on_default_update(|input| async move {
            Ok(vec![DataConverter::default().to_payload(&input.name)?])
        });
        ctx.sleep(Duration::from_secs(3600)).await?;
        Ok(serde_json::Value::Null)
    });
    let mut run = WorkflowRun::new(
        wf,
        &b.build().events[0],
        DataConverter::default(),
        "default",
    )
    .unwrap();
    run.push_update(crate::workflow::PendingUpdate {
        input: crate::workflow::UpdateInput {
            id: "u1".into(),
            name: "whatever".into(),
            args: vec![],
        },
        protocol_instance_id: "u1".into(),
        request_message_id: "u1/request".into(),
        sequencing_event_id: 2,
        request: upd::Request::default(),
        run_validator: true,
    });
    assert!(run.apply_events(&b.build().events).unwrap());
    let a = run.take_activation();
    let ids: Vec<&str> = a.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["u1/accept", "u1/complete"]);
}

#[test]
fn a_live_update_waits_for_the_new_task_when_earlier_tasks_replay() {
    use crate::api::temporal::api::update::v1 as upd;
    let wf = || {
        run_fn(|ctx| async move {
            ctx.on_update("add", |(n,): (i64,)| async move { Ok::<_, Failure>(n + 1) });
            ctx.sleep(Duration::from_secs(3600)).await?;
            Ok(serde_json::Value::Null)
        })
    };
    // A full history (no cache): task 1 replays (it started the timer), task 2 is new and
    // carries the update request.
    let mut b = HistoryBuilder::new("W", vec![]);
    b.workflow_task();
    b.timer_started("1", Duration::from_secs(3600));
    b.workflow_task_started();
    let mut run = WorkflowRun::new(
        wf(),
        &b.build().events[0],
        DataConverter::default(),
        "default",
    )
    .unwrap();
    run.push_update(crate::workflow::PendingUpdate {
        input: crate::workflow::UpdateInput {
            id: "u1".into(),
            name: "add".into(),
            args: vec![p(1i64)],
        },
        protocol_instance_id: "u1".into(),
        request_message_id: "u1/request".into(),
        sequencing_event_id: 5,
        request: upd::Request::default(),
        run_validator: true,
    });
    assert!(
        run.apply_events(&b.build().events).unwrap(),
        "the replayed task matched its timer"
    );
    let a = run.take_activation();
    let ids: Vec<&str> = a.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["u1/accept", "u1/complete"]);
}
