//! Timers, workflow-task timeouts and failures, buffering of events during a workflow task,
//! sticky queues, updates, markers and upserts against the bundled server, with raw worker RPCs.
//! Event sequences follow the official server's (see ../shared/histories/event-listings.txt).
//! History paging, visibility and task queue descriptions are in server_queries.rs.

mod support;

use reprise::api::temporal::api::command::v1::{self as cmd, command::Attributes as A};
use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType as E, TimeoutType, WorkflowTaskFailedCause,
};
use reprise::api::temporal::api::history::v1::history_event::Attributes as Ev;
use reprise::api::temporal::api::taskqueue::v1::StickyExecutionAttributes;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{ClientError, WorkflowOptions};
use reprise_testing::clock::{Clock, VirtualClock};
use reprise_testing::server::ServerOptions;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use support::*;

#[tokio::test]
async fn timers_fire_and_cancel() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Timers", (), WorkflowOptions::new(unique("timers"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let started = Instant::now();
    complete(
        &client,
        task.task_token,
        vec![
            start_timer("1", Duration::from_millis(200)),
            start_timer("2", Duration::from_secs(3600)),
        ],
    )
    .await;
    let task = poll_task(&client, &tq).await;
    assert!(
        started.elapsed() >= Duration::from_millis(180),
        "fired early: {:?}",
        started.elapsed()
    );
    complete(
        &client,
        task.task_token,
        vec![
            cancel_timer("2"),
            complete_workflow(payloads(&client, &"timers done")),
        ],
    )
    .await;
    assert_eq!(
        handle.result::<String>().await.expect("result"),
        "timers done"
    );
    let history = handle.fetch_history().await.expect("history");
    assert_eq!(
        types(&history),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::TimerStarted,
            E::TimerStarted,
            E::TimerFired,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::TimerCanceled,
            E::WorkflowExecutionCompleted,
        ]
    );
    let Some(Ev::TimerFiredEventAttributes(fired)) = &history.events[6].attributes else {
        panic!()
    };
    assert_eq!((fired.timer_id.as_str(), fired.started_event_id), ("1", 5));
    let Some(Ev::TimerCanceledEventAttributes(canceled)) = &history.events[10].attributes else {
        panic!()
    };
    assert_eq!(
        (
            canceled.timer_id.as_str(),
            canceled.started_event_id,
            canceled.workflow_task_completed_event_id
        ),
        ("2", 6, 10)
    );
}

#[tokio::test]
async fn a_virtual_clock_fires_a_month_long_timer_at_once() {
    let clock = Arc::new(VirtualClock::new(SystemTime::now()));
    let (_server, client) = start_with(ServerOptions::default().with_clock(clock.clone())).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Sleepy", (), WorkflowOptions::new(unique("sleepy"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete(
        &client,
        task.task_token,
        vec![start_timer("month", Duration::from_secs(30 * 86_400))],
    )
    .await;
    let before = clock.now();
    clock.advance(Duration::from_secs(30 * 86_400));
    let wall = Instant::now();
    let task = poll_task(&client, &tq).await;
    assert!(wall.elapsed() < Duration::from_secs(5));
    let history = task.history.expect("history");
    let fired = history
        .events
        .iter()
        .find(|e| e.event_type == E::TimerFired as i32)
        .expect("fired");
    let at = fired.event_time.expect("time").to_system_time();
    assert!(at.duration_since(before).expect("later") >= Duration::from_secs(30 * 86_400));
    complete(&client, task.task_token, vec![complete_workflow(None)]).await;
    handle.result::<()>().await.expect("completed");
}

#[tokio::test]
async fn workflow_task_timeout_and_failure_schedule_a_new_attempt() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Slow",
            (),
            WorkflowOptions::new(unique("slow"), &tq).with_task_timeout(Duration::from_millis(500)),
        )
        .await
        .expect("start");
    let first = poll_task(&client, &tq).await;
    assert_eq!(first.attempt, 1);
    // No answer: the task times out and comes back as attempt 2.
    let second = poll_task(&client, &tq).await;
    assert_eq!(second.attempt, 2);
    // The late answer to the first attempt is refused.
    let late = respond(&client, first.task_token, vec![])
        .await
        .expect_err("stale token");
    assert_eq!(late.code(), tonic::Code::NotFound);
    client
        .workflow_service()
        .respond_workflow_task_failed(ws::RespondWorkflowTaskFailedRequest {
            task_token: second.task_token,
            cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure as i32,
            failure: Some(app_failure("bug", false)),
            identity: "test-worker".into(),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("fail task");
    let third = poll_task(&client, &tq).await;
    assert_eq!(third.attempt, 3);
    complete(&client, third.task_token, vec![complete_workflow(None)]).await;
    handle.result::<()>().await.expect("completed");
    let history = handle.fetch_history().await.expect("history");
    // The timeout of attempt 1 is written; attempts 2 and 3 are transient retries, and only the
    // one that completed (3) left its events (as on the official server).
    assert_eq!(
        types(&history),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskTimedOut,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::WorkflowExecutionCompleted,
        ]
    );
    let Some(Ev::WorkflowTaskTimedOutEventAttributes(t)) = &history.events[3].attributes else {
        panic!()
    };
    assert_eq!(t.timeout_type, TimeoutType::StartToClose as i32);
    let Some(Ev::WorkflowTaskScheduledEventAttributes(s)) = &history.events[4].attributes else {
        panic!()
    };
    assert_eq!(s.attempt, 3);
}

#[tokio::test]
async fn a_signal_during_a_workflow_task_is_buffered_and_blocks_completion() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Buffered",
            (),
            WorkflowOptions::new(unique("buffered"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    handle.signal_by_name("late", ("x",)).await.expect("signal");
    // The signal is not in the history while the task runs.
    let mid = handle.fetch_history().await.expect("history");
    assert_eq!(types(&mid).last(), Some(&E::WorkflowTaskStarted));
    // Completing now would lose the signal: the server refuses the completion.
    complete(&client, task.task_token, vec![complete_workflow(None)]).await;
    let task = poll_task(&client, &tq).await;
    assert!(
        task.history
            .as_ref()
            .expect("h")
            .events
            .iter()
            .any(|e| e.event_type == E::WorkflowExecutionSignaled as i32)
    );
    complete(&client, task.task_token, vec![complete_workflow(None)]).await;
    handle.result::<()>().await.expect("completed");
    let history = handle.fetch_history().await.expect("history");
    assert_eq!(
        types(&history),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskFailed,
            E::WorkflowExecutionSignaled,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::WorkflowExecutionCompleted,
        ]
    );
    let Some(Ev::WorkflowTaskFailedEventAttributes(f)) = &history.events[3].attributes else {
        panic!()
    };
    assert_eq!(f.cause, WorkflowTaskFailedCause::UnhandledCommand as i32);
}

#[tokio::test]
async fn invalid_requests_get_invalid_argument() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let svc = client.workflow_service();
    let handle = client
        .start_workflow("Bad", (), WorkflowOptions::new(unique("bad"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let mut no_id = schedule_activity("", "a", &tq, Duration::from_secs(1), None);
    no_id.activity_id.clear();
    let err = respond(&client, task.task_token, vec![activity_command(no_id)])
        .await
        .expect_err("no activity id");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("ActivityId"), "{}", err.message());
    let history = handle.fetch_history().await.expect("history");
    let failed = history.events.iter().find_map(|e| match &e.attributes {
        Some(Ev::WorkflowTaskFailedEventAttributes(f)) => Some(f.cause),
        _ => None,
    });
    assert_eq!(
        failed,
        Some(WorkflowTaskFailedCause::BadScheduleActivityAttributes as i32)
    );

    let err = respond(&client, b"garbage".to_vec(), vec![])
        .await
        .expect_err("bad token");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = svc
        .clone()
        .poll_workflow_task_queue(ws::PollWorkflowTaskQueueRequest {
            namespace: "default".into(),
            ..Default::default()
        })
        .await
        .expect_err("no task queue");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = svc
        .clone()
        .start_workflow_execution(ws::StartWorkflowExecutionRequest {
            namespace: "no-such-namespace".into(),
            workflow_id: "x".into(),
            workflow_type: Some(reprise::api::temporal::api::common::v1::WorkflowType {
                name: "T".into(),
            }),
            task_queue: queue("q"),
            ..Default::default()
        })
        .await
        .expect_err("unknown namespace");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let options = WorkflowOptions::new(unique("sa"), &tq).with_search_attribute(
        "Undefined",
        client.data_converter().to_payload(&"x").expect("p"),
    );
    match client.start_workflow("T", (), options).await {
        Err(ClientError::InvalidArgument { message }) => {
            assert!(message.contains("Undefined"), "{message}")
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    match client.count_workflows("WorkflowType = ").await {
        Err(ClientError::InvalidArgument { message }) => {
            assert!(message.contains("invalid query"), "{message}")
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    match client.count_workflows("StartTime > 'yesterday'").await {
        Err(ClientError::InvalidArgument { message }) => {
            assert!(message.contains("RFC 3339"), "{message}")
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    let err = svc
        .clone()
        .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
            namespace: "default".into(),
            execution: Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
                workflow_id: String::new(),
                run_id: String::new(),
            }),
            ..Default::default()
        })
        .await
        .expect_err("no workflow id");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn sticky_queue_gets_partial_history_and_falls_back_to_the_normal_queue() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let sticky = format!("{tq}-sticky");
    let handle = client
        .start_workflow("Sticky", (), WorkflowOptions::new(unique("sticky"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let stick = |token: Vec<u8>, timeout: Duration| ws::RespondWorkflowTaskCompletedRequest {
        task_token: token,
        identity: "test-worker".into(),
        namespace: client.namespace().into(),
        sticky_attributes: Some(StickyExecutionAttributes {
            worker_task_queue: sticky_queue(&sticky, &tq),
            schedule_to_start_timeout: Some(timeout.into()),
        }),
        ..Default::default()
    };
    client
        .workflow_service()
        .respond_workflow_task_completed(stick(task.task_token, Duration::from_secs(10)))
        .await
        .expect("complete");
    // The worker polls its sticky queue (a sticky queue nobody polls gets no tasks).
    let poll = tokio::spawn({
        let (client, sticky, tq) = (client.clone(), sticky.clone(), tq.clone());
        async move { poll_once(&client, sticky_queue(&sticky, &tq)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    handle.signal_by_name("one", ()).await.expect("signal");
    let task = poll.await.expect("sticky poll");
    assert!(
        !task.task_token.is_empty(),
        "the task went to the sticky queue"
    );
    let events = task.history.as_ref().expect("history").events.clone();
    assert_eq!(
        events.first().map(|e| e.event_id),
        Some(task.previous_started_event_id + 1),
        "partial history"
    );
    assert_eq!(
        events.last().map(|e| e.event_id),
        Some(task.started_event_id)
    );
    // Stay sticky with a short schedule-to-start timeout; the worker polled moments ago (so the
    // task goes to its sticky queue) but polls no more: the timeout moves the task.
    client
        .workflow_service()
        .respond_workflow_task_completed(stick(task.task_token, Duration::from_millis(300)))
        .await
        .expect("complete");
    handle.signal_by_name("two", ()).await.expect("signal");
    let task = poll_task(&client, &tq).await;
    assert_eq!(
        task.history
            .as_ref()
            .expect("h")
            .events
            .first()
            .map(|e| e.event_id),
        Some(1),
        "full history on the normal queue"
    );
    let history = handle.fetch_history().await.expect("history");
    let timed_out = history.events.iter().find_map(|e| match &e.attributes {
        Some(Ev::WorkflowTaskTimedOutEventAttributes(t)) => Some(t.timeout_type),
        _ => None,
    });
    assert_eq!(timed_out, Some(TimeoutType::ScheduleToStart as i32));
    let sticky_scheduled = history.events.iter().filter(|e| matches!(&e.attributes,
        Some(Ev::WorkflowTaskScheduledEventAttributes(s)) if s.task_queue.as_ref().is_some_and(|q| q.name == sticky && q.normal_name == tq))).count();
    assert_eq!(sticky_scheduled, 2);
}

#[tokio::test]
async fn a_rejected_update_leaves_no_trace_in_the_history() {
    use prost::{Message as _, Name};
    use reprise::api::google::protobuf::Any;
    use reprise::api::temporal::api::failure::v1::Failure;
    use reprise::api::temporal::api::protocol::v1::Message as ProtocolMessage;
    use reprise::api::temporal::api::update::v1 as upd;
    use reprise::client::UpdateStage;
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Updatable", (), WorkflowOptions::new(unique("upd"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete(&client, task.task_token, vec![]).await;
    let before = types(&handle.fetch_history().await.expect("history"));
    let worker = {
        let client = client.clone();
        let tq = tq.clone();
        tokio::spawn(async move {
            let task = poll_task(&client, &tq).await;
            // The poller sees the speculative task's events...
            let seen = types(task.history.as_ref().expect("history"));
            assert_eq!(
                &seen[seen.len() - 2..],
                [E::WorkflowTaskScheduled, E::WorkflowTaskStarted]
            );
            let request = &task.messages[0];
            let rejection = upd::Rejection {
                rejected_request_message_id: request.id.clone(),
                failure: Some(Failure {
                    message: "not allowed".into(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            client
                .workflow_service()
                .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
                    task_token: task.task_token,
                    messages: vec![ProtocolMessage {
                        id: format!("{}/reject", request.protocol_instance_id),
                        protocol_instance_id: request.protocol_instance_id.clone(),
                        body: Some(Any {
                            type_url: format!(
                                "type.googleapis.com/{}",
                                upd::Rejection::full_name()
                            ),
                            value: rejection.encode_to_vec(),
                        }),
                        sequencing_id: None,
                    }],
                    identity: "test-worker".into(),
                    namespace: client.namespace().into(),
                    ..Default::default()
                })
                .await
                .expect("reject");
        })
    };
    match handle
        .start_update_by_name("change", (1,), UpdateStage::Completed)
        .await
    {
        Err(ClientError::UpdateFailed(f)) => assert_eq!(f.message, "not allowed"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    worker.await.expect("worker");
    // ...but the history does not: a rejected update leaves nothing, as on the official server.
    assert_eq!(
        types(&handle.fetch_history().await.expect("history")),
        before
    );
    // The next real event gets the next id.
    handle.signal_by_name("after", ()).await.expect("signal");
    let history = handle.fetch_history().await.expect("history");
    let ids: Vec<i64> = history.events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn markers_search_attribute_upserts_and_memo() {
    use reprise::api::temporal::api::common::v1::{Memo, SearchAttributes};
    use reprise::api::temporal::api::enums::v1::IndexedValueType;
    let options =
        ServerOptions::default().with_search_attribute("Stage", IndexedValueType::Keyword);
    let (_server, client) = start_with(options).await;
    let dc = client.data_converter();
    let tq = unique("tq");
    let handle = client
        .start_workflow("Upserting", (), WorkflowOptions::new(unique("upsert"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let marker = command(
        CommandType::RecordMarker,
        A::RecordMarkerCommandAttributes(cmd::RecordMarkerCommandAttributes {
            marker_name: "core_patch".into(),
            details: [(
                "patch-data".to_string(),
                payloads(&client, &"v2").expect("p"),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        }),
    );
    let upsert = command(
        CommandType::UpsertWorkflowSearchAttributes,
        A::UpsertWorkflowSearchAttributesCommandAttributes(
            cmd::UpsertWorkflowSearchAttributesCommandAttributes {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: [("Stage".to_string(), dc.to_payload(&"shipping").expect("p"))]
                        .into_iter()
                        .collect(),
                }),
            },
        ),
    );
    let memo = command(
        CommandType::ModifyWorkflowProperties,
        A::ModifyWorkflowPropertiesCommandAttributes(
            cmd::ModifyWorkflowPropertiesCommandAttributes {
                upserted_memo: Some(Memo {
                    fields: [("note".to_string(), dc.to_payload(&"fragile").expect("p"))]
                        .into_iter()
                        .collect(),
                }),
            },
        ),
    );
    complete(&client, task.task_token, vec![marker, upsert, memo]).await;
    let history = handle.fetch_history().await.expect("history");
    assert_eq!(
        types(&history)[4..],
        [
            E::MarkerRecorded,
            E::UpsertWorkflowSearchAttributes,
            E::WorkflowPropertiesModified
        ]
    );
    let n = client
        .count_workflows("Stage = 'shipping'")
        .await
        .expect("count");
    assert_eq!(n, 1);
    let described = handle.describe_raw().await.expect("describe");
    let info = described.workflow_execution_info.expect("info");
    assert!(info.memo.expect("memo").fields.contains_key("note"));
    assert!(
        info.search_attributes
            .expect("sa")
            .indexed_fields
            .contains_key("Stage")
    );
}
