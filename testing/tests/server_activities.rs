//! Activities against the bundled server, with raw worker RPCs: retries with backoff, retry
//! states, start-to-close / schedule-to-close / heartbeat timeouts, cancellation before start.

mod support;

use reprise::api::temporal::api::command::v1::{self as cmd, command::Attributes as A};
use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType as E, RetryState, TimeoutType,
};
use reprise::api::temporal::api::failure::v1::{Failure, failure::FailureInfo};
use reprise::api::temporal::api::history::v1::history_event::Attributes as Ev;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::WorkflowOptions;
use std::time::{Duration, Instant};
use support::*;

async fn fail_activity(client: &reprise::client::Client, token: Vec<u8>, failure: Failure) {
    client
        .workflow_service()
        .respond_activity_task_failed(ws::RespondActivityTaskFailedRequest {
            task_token: token,
            failure: Some(failure),
            identity: "test-activity-worker".into(),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("respond activity failed");
}

#[tokio::test]
async fn activity_is_retried_with_backoff_then_completes() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("WithActivity", (), WorkflowOptions::new(unique("act"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let schedule = schedule_activity(
        "1",
        "charge",
        &tq,
        Duration::from_secs(10),
        retry(Duration::from_millis(300), 3),
    );
    complete(&client, task.task_token, vec![activity_command(schedule)]).await;

    let first = poll_activity(&client, &tq).await;
    assert_eq!((first.attempt, first.activity_id.as_str()), (1, "1"));
    assert_eq!(
        first.activity_type.as_ref().map(|t| t.name.as_str()),
        Some("charge")
    );
    let failed_at = Instant::now();
    fail_activity(
        &client,
        first.task_token,
        app_failure("card processor unavailable", false),
    )
    .await;
    let second = poll_activity(&client, &tq).await;
    assert_eq!(second.attempt, 2);
    assert!(
        failed_at.elapsed() >= Duration::from_millis(250),
        "backoff honoured: {:?}",
        failed_at.elapsed()
    );
    client
        .workflow_service()
        .respond_activity_task_completed(ws::RespondActivityTaskCompletedRequest {
            task_token: second.task_token,
            result: payloads(&client, &"charged"),
            identity: "test-activity-worker".into(),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("complete activity");

    let task = poll_task(&client, &tq).await;
    let history = task.history.clone().expect("history");
    assert_eq!(
        types(&history),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::ActivityTaskScheduled,
            E::ActivityTaskStarted,
            E::ActivityTaskCompleted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
        ]
    );
    let Some(Ev::ActivityTaskScheduledEventAttributes(s)) = &history.events[4].attributes else {
        panic!()
    };
    assert_eq!(s.workflow_task_completed_event_id, 4);
    assert_eq!(s.retry_policy.as_ref().map(|p| p.maximum_attempts), Some(3));
    assert_eq!(
        s.task_queue.as_ref().map(|q| q.name.as_str()),
        Some(tq.as_str())
    );
    let Some(Ev::ActivityTaskStartedEventAttributes(started)) = &history.events[5].attributes
    else {
        panic!()
    };
    assert_eq!(started.attempt, 2);
    assert_eq!(started.scheduled_event_id, 5);
    assert_eq!(
        started.last_failure.as_ref().map(|f| f.message.as_str()),
        Some("card processor unavailable")
    );
    let Some(Ev::ActivityTaskCompletedEventAttributes(done)) = &history.events[6].attributes else {
        panic!()
    };
    assert_eq!((done.scheduled_event_id, done.started_event_id), (5, 6));
    complete(
        &client,
        task.task_token,
        vec![complete_workflow(payloads(&client, &"ok"))],
    )
    .await;
    assert_eq!(handle.result::<String>().await.expect("result"), "ok");
}

#[tokio::test]
async fn activity_failures_end_with_the_right_retry_state() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Failing", (), WorkflowOptions::new(unique("fail"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete(
        &client,
        task.task_token,
        vec![
            activity_command(schedule_activity(
                "a",
                "flaky",
                &tq,
                Duration::from_secs(10),
                retry(Duration::from_millis(50), 2),
            )),
            activity_command(schedule_activity(
                "b",
                "broken",
                &tq,
                Duration::from_secs(10),
                None,
            )),
        ],
    )
    .await;
    for _ in 0..3 {
        let t = poll_activity(&client, &tq).await;
        let non_retryable = t.activity_id == "b";
        fail_activity(
            &client,
            t.task_token,
            app_failure(&format!("{} failed", t.activity_id), non_retryable),
        )
        .await;
    }
    // Both activities are closed now: both failures are in the history.
    let mut history = handle.fetch_history().await.expect("history");
    for _ in 0..50 {
        if types(&history)
            .iter()
            .filter(|t| **t == E::ActivityTaskFailed)
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        history = handle.fetch_history().await.expect("history");
    }
    let failed: Vec<_> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Ev::ActivityTaskFailedEventAttributes(f)) => Some(f.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "{:?}", types(&history));
    let by_message = |m: &str| {
        failed
            .iter()
            .find(|f| f.failure.as_ref().is_some_and(|x| x.message == m))
            .cloned()
            .expect(m)
    };
    assert_eq!(
        by_message("a failed").retry_state,
        RetryState::MaximumAttemptsReached as i32
    );
    assert_eq!(
        by_message("b failed").retry_state,
        RetryState::NonRetryableFailure as i32
    );
    // Each failure follows its own ActivityTaskStarted.
    for f in &failed {
        let started = history
            .events
            .iter()
            .find(|e| e.event_id == f.started_event_id)
            .expect("started event");
        assert_eq!(started.event_type, E::ActivityTaskStarted as i32);
    }
}

#[tokio::test]
async fn activity_timeouts() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Timeouts",
            (),
            WorkflowOptions::new(unique("timeouts"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let mut heartbeat = schedule_activity(
        "hb",
        "beating",
        &tq,
        Duration::from_secs(30),
        retry(Duration::from_millis(10), 1),
    );
    heartbeat.heartbeat_timeout = Some(Duration::from_millis(300).into());
    let start_to_close = schedule_activity(
        "stc",
        "slow",
        &tq,
        Duration::from_millis(300),
        retry(Duration::from_millis(10), 2),
    );
    let mut schedule_to_close = schedule_activity(
        "s2c",
        "never-polled",
        &format!("{tq}-nobody"),
        Duration::ZERO,
        None,
    );
    schedule_to_close.schedule_to_close_timeout = Some(Duration::from_millis(300).into());
    complete(
        &client,
        task.task_token,
        vec![
            activity_command(heartbeat),
            activity_command(start_to_close),
            activity_command(schedule_to_close),
        ],
    )
    .await;
    let mut attempts_of_stc = 0;
    for _ in 0..3 {
        let t = poll_activity(&client, &tq).await;
        if t.activity_id == "hb" {
            let r = client
                .workflow_service()
                .record_activity_task_heartbeat(ws::RecordActivityTaskHeartbeatRequest {
                    task_token: t.task_token,
                    details: payloads(&client, &"step 1"),
                    identity: "test".into(),
                    namespace: client.namespace().into(),
                    ..Default::default()
                })
                .await
                .expect("heartbeat")
                .into_inner();
            assert!(!r.cancel_requested);
        } else {
            attempts_of_stc += 1;
            assert_eq!(t.attempt, attempts_of_stc);
        }
        // Never answer: let the timeouts fire.
    }
    assert_eq!(attempts_of_stc, 2, "start-to-close timeouts are retried");
    let mut timed_out = Vec::new();
    for _ in 0..100 {
        let history = handle.fetch_history().await.expect("history");
        timed_out = history
            .events
            .iter()
            .filter_map(|e| match &e.attributes {
                Some(Ev::ActivityTaskTimedOutEventAttributes(a)) => {
                    Some((a.clone(), history.events.clone()))
                }
                _ => None,
            })
            .collect();
        if timed_out.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(timed_out.len(), 3);
    let kind =
        |a: &reprise::api::temporal::api::history::v1::ActivityTaskTimedOutEventAttributes| match a
            .failure
            .as_ref()
            .and_then(|f| f.failure_info.clone())
        {
            Some(FailureInfo::TimeoutFailureInfo(t)) => {
                (t.timeout_type, t.last_heartbeat_details.is_some())
            }
            _ => (0, false),
        };
    let kinds: Vec<_> = timed_out.iter().map(|(a, _)| kind(a)).collect();
    assert!(
        kinds.contains(&(TimeoutType::Heartbeat as i32, true)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(TimeoutType::StartToClose as i32, false)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(TimeoutType::ScheduleToClose as i32, false)),
        "{kinds:?}"
    );
    for (a, _) in &timed_out {
        let message = a
            .failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        assert!(
            message.starts_with("activity ") && message.ends_with(" timeout"),
            "{message}"
        );
        if kind(a).0 == TimeoutType::ScheduleToClose as i32 {
            assert_eq!(
                a.started_event_id, 0,
                "never started: no ActivityTaskStarted"
            );
            assert_eq!(a.retry_state, RetryState::Timeout as i32);
        } else {
            assert_eq!(a.retry_state, RetryState::MaximumAttemptsReached as i32);
        }
    }
}

#[tokio::test]
async fn canceling_an_activity_that_has_not_started() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "CancelAct",
            (),
            WorkflowOptions::new(unique("cancel-act"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete(
        &client,
        task.task_token,
        vec![activity_command(schedule_activity(
            "1",
            "a",
            &format!("{tq}-nobody"),
            Duration::from_secs(5),
            None,
        ))],
    )
    .await;
    handle
        .signal_by_name("cancel-it", ())
        .await
        .expect("signal");
    let task = poll_task(&client, &tq).await;
    let cancel = command(
        CommandType::RequestCancelActivityTask,
        A::RequestCancelActivityTaskCommandAttributes(
            cmd::RequestCancelActivityTaskCommandAttributes {
                scheduled_event_id: 5,
            },
        ),
    );
    complete(&client, task.task_token, vec![cancel]).await;
    let task = poll_task(&client, &tq).await;
    let history = task.history.expect("history");
    let tail: Vec<_> = types(&history).into_iter().skip(9).collect();
    assert_eq!(
        tail,
        [
            E::ActivityTaskCancelRequested,
            E::ActivityTaskCanceled,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted
        ],
        "{:?}",
        types(&history)
    );
}

#[tokio::test]
async fn activities_by_id_heartbeat_cancellation_and_canceled_result() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("ById", (), WorkflowOptions::new(unique("by-id"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete(
        &client,
        task.task_token,
        vec![
            activity_command(schedule_activity(
                "done-by-id",
                "a",
                &tq,
                Duration::from_secs(30),
                None,
            )),
            activity_command(schedule_activity(
                "to-cancel",
                "b",
                &tq,
                Duration::from_secs(30),
                None,
            )),
        ],
    )
    .await;
    let svc = client.workflow_service();
    let mut to_cancel = None;
    for _ in 0..2 {
        let t = poll_activity(&client, &tq).await;
        if t.activity_id == "to-cancel" {
            to_cancel = Some(t);
        }
    }
    let to_cancel = to_cancel.expect("the second activity");
    // Complete the first one by id.
    svc.clone()
        .respond_activity_task_completed_by_id(ws::RespondActivityTaskCompletedByIdRequest {
            namespace: "default".into(),
            workflow_id: handle.workflow_id().into(),
            activity_id: "done-by-id".into(),
            result: payloads(&client, &"by id"),
            identity: "by-id-worker".into(),
            ..Default::default()
        })
        .await
        .expect("complete by id");
    let heartbeat_by_id = || {
        let mut svc = svc.clone();
        let workflow_id = handle.workflow_id().to_string();
        async move {
            svc.record_activity_task_heartbeat_by_id(ws::RecordActivityTaskHeartbeatByIdRequest {
                namespace: "default".into(),
                workflow_id,
                activity_id: "to-cancel".into(),
                details: None,
                identity: "by-id-worker".into(),
                ..Default::default()
            })
            .await
            .expect("heartbeat by id")
            .into_inner()
            .cancel_requested
        }
    };
    assert!(!heartbeat_by_id().await);
    // The workflow asks to cancel the started activity: the heartbeat says so.
    let task = poll_task(&client, &tq).await;
    let scheduled_event_id = task
        .history
        .as_ref()
        .expect("history")
        .events
        .iter()
        .find(|e| matches!(&e.attributes, Some(Ev::ActivityTaskScheduledEventAttributes(a)) if a.activity_id == "to-cancel"))
        .map(|e| e.event_id)
        .expect("scheduled");
    complete(
        &client,
        task.task_token,
        vec![command(
            CommandType::RequestCancelActivityTask,
            A::RequestCancelActivityTaskCommandAttributes(
                cmd::RequestCancelActivityTaskCommandAttributes { scheduled_event_id },
            ),
        )],
    )
    .await;
    assert!(heartbeat_by_id().await);
    svc.clone()
        .respond_activity_task_canceled(ws::RespondActivityTaskCanceledRequest {
            task_token: to_cancel.task_token,
            details: payloads(&client, &"stopped"),
            identity: "test-activity-worker".into(),
            namespace: "default".into(),
            ..Default::default()
        })
        .await
        .expect("canceled");
    let task = poll_task(&client, &tq).await;
    let history = task.history.expect("history");
    let t = types(&history);
    assert!(
        t.contains(&E::ActivityTaskCompleted) && t.contains(&E::ActivityTaskCancelRequested),
        "{t:?}"
    );
    let canceled = history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Ev::ActivityTaskCanceledEventAttributes(c)) => Some(c.clone()),
            _ => None,
        })
        .expect("ActivityTaskCanceled");
    assert_eq!(canceled.scheduled_event_id, scheduled_event_id);
    assert!(canceled.latest_cancel_requested_event_id > scheduled_event_id);
    let started = history
        .events
        .iter()
        .find(|e| e.event_id == canceled.started_event_id)
        .expect("started");
    assert_eq!(started.event_type, E::ActivityTaskStarted as i32);
    // A token of a finished attempt is refused.
    let err = svc
        .clone()
        .respond_activity_task_completed_by_id(ws::RespondActivityTaskCompletedByIdRequest {
            namespace: "default".into(),
            workflow_id: handle.workflow_id().into(),
            activity_id: "done-by-id".into(),
            ..Default::default()
        })
        .await
        .expect_err("already completed");
    assert_eq!(err.code(), tonic::Code::NotFound);
}
