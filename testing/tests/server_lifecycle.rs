//! Workflow lifecycle against the bundled server: start delay, run timeout, id reuse and
//! conflict policies, workflow retry policies, absurd durations, start-up time and shutdown
//! with pollers waiting.

mod support;

use reprise::api::temporal::api::enums::v1::{EventType as E, WorkflowExecutionStatus};
use reprise::api::temporal::api::history::v1::history_event::Attributes as Ev;
use reprise::client::{ClientError, WorkflowOptions};
use reprise_testing::clock::Clock as _;
use reprise_testing::server::{ServerOptions, TestServer};
use std::time::{Duration, Instant};
use support::*;

#[tokio::test]
async fn run_timeout_and_id_policies() {
    use reprise::api::temporal::api::enums::v1::{WorkflowIdConflictPolicy, WorkflowIdReusePolicy};
    let (_server, client) = start().await;
    let id = unique("timed");
    let handle = client
        .start_workflow(
            "Timed",
            (),
            WorkflowOptions::new(&id, "nowhere").with_run_timeout(Duration::from_millis(300)),
        )
        .await
        .expect("start");
    match handle.result::<()>().await {
        Err(ClientError::WorkflowTimedOut) => {}
        other => panic!("expected timed out, got {other:?}"),
    }
    // Reject duplicate: a closed id cannot be reused.
    let err = client
        .start_workflow(
            "Timed",
            (),
            WorkflowOptions::new(&id, "nowhere")
                .with_id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate),
        )
        .await;
    assert!(
        matches!(err, Err(ClientError::AlreadyStarted { .. })),
        "{err:?}"
    );
    // Allow duplicate (the default) starts a new run.
    let second = client
        .start_workflow("Timed", (), WorkflowOptions::new(&id, "nowhere"))
        .await
        .expect("new run");
    assert_ne!(second.run_id(), handle.run_id());
    // Use existing returns the running run; terminate existing replaces it.
    let same = client
        .start_workflow(
            "Timed",
            (),
            WorkflowOptions::new(&id, "nowhere")
                .with_id_conflict_policy(WorkflowIdConflictPolicy::UseExisting),
        )
        .await
        .expect("use existing");
    assert_eq!(same.run_id(), second.run_id());
    let third = client
        .start_workflow(
            "Timed",
            (),
            WorkflowOptions::new(&id, "nowhere")
                .with_id_conflict_policy(WorkflowIdConflictPolicy::TerminateExisting),
        )
        .await
        .expect("terminate existing");
    assert_ne!(third.run_id(), second.run_id());
    // A start handle targets the latest run; the second run is described by its id.
    let second_run = client.workflow_handle(&id, second.run_id().map(str::to_string));
    assert_eq!(
        second_run.describe().await.expect("describe").status,
        WorkflowExecutionStatus::Terminated
    );
    assert_eq!(
        third.describe().await.expect("describe").status,
        WorkflowExecutionStatus::Running
    );
}

#[tokio::test]
async fn absurd_durations_do_not_break_the_server() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Absurd",
            (),
            WorkflowOptions::new(unique("absurd"), &tq)
                .with_run_timeout(Duration::from_secs(u64::MAX / 4))
                .with_start_delay(Duration::from_secs(i64::MAX as u64 / 2)),
        )
        .await
        .expect("start with huge timeouts");
    handle.terminate("enough", ()).await.expect("terminate");
    let handle = client
        .start_workflow("Absurd", (), WorkflowOptions::new(unique("absurd"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete(
        &client,
        task.task_token,
        vec![start_timer("forever", Duration::from_secs(i64::MAX as u64))],
    )
    .await;
    assert_eq!(
        handle.describe().await.expect("still serving").status,
        WorkflowExecutionStatus::Running
    );
}

#[tokio::test]
async fn a_failed_workflow_is_retried_by_its_retry_policy() {
    use reprise::client::RetryPolicy;
    let (_server, client) = start().await;
    let tq = unique("tq");
    let mut policy = RetryPolicy::default();
    policy.initial_interval = Some(Duration::from_millis(200));
    policy.maximum_attempts = 2;
    let handle = client
        .start_workflow(
            "Retried",
            ("in",),
            WorkflowOptions::new(unique("retried"), &tq).with_retry_policy(policy),
        )
        .await
        .expect("start");
    let fail = |message: &str| {
        command(
            reprise::api::temporal::api::enums::v1::CommandType::FailWorkflowExecution,
            reprise::api::temporal::api::command::v1::command::Attributes::FailWorkflowExecutionCommandAttributes(
                reprise::api::temporal::api::command::v1::FailWorkflowExecutionCommandAttributes {
                    failure: Some(app_failure(message, false)),
                },
            ),
        )
    };
    let first = poll_task(&client, &tq).await;
    let failed_at = Instant::now();
    complete(&client, first.task_token, vec![fail("first attempt")]).await;
    let second = poll_task(&client, &tq).await;
    assert!(
        failed_at.elapsed() >= Duration::from_millis(150),
        "{:?}",
        failed_at.elapsed()
    );
    assert_ne!(second.workflow_execution, first.workflow_execution);
    let Some(Ev::WorkflowExecutionStartedEventAttributes(started)) =
        &second.history.as_ref().expect("history").events[0].attributes
    else {
        panic!("no started event");
    };
    assert_eq!(started.attempt, 2);
    assert_eq!(
        started
            .continued_failure
            .as_ref()
            .map(|f| f.message.as_str()),
        Some("first attempt")
    );
    assert_eq!(
        started.input.as_ref().map(|p| p.payloads.len()),
        Some(1),
        "same input"
    );
    complete(&client, second.task_token, vec![fail("second attempt")]).await;
    match handle.result::<()>().await {
        Err(ClientError::WorkflowFailed(f)) => assert_eq!(f.message, "second attempt"),
        other => panic!("expected the last attempt's failure, got {other:?}"),
    }
    let first_run = client
        .workflow_handle(
            handle.workflow_id(),
            first.workflow_execution.map(|e| e.run_id),
        )
        .fetch_history()
        .await
        .expect("first run history");
    let Some(Ev::WorkflowExecutionFailedEventAttributes(failed)) =
        &first_run.events.last().expect("events").attributes
    else {
        panic!("first run did not fail");
    };
    assert_eq!(
        failed.retry_state,
        reprise::api::temporal::api::enums::v1::RetryState::InProgress as i32
    );
    assert!(!failed.new_execution_run_id.is_empty());
}
#[tokio::test]
async fn in_process_start_up_is_fast() {
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let server = TestServer::start(ServerOptions::default())
            .await
            .expect("start");
        times.push(t.elapsed());
        server.shutdown().await.expect("shutdown");
    }
    times.sort();
    let median = times[times.len() / 2];
    eprintln!(
        "TestServer::start: min {:?}, median {:?}, max {:?}",
        times[0],
        median,
        times[times.len() - 1]
    );
    assert!(
        median < Duration::from_millis(10),
        "median start-up {median:?}"
    );
}

#[tokio::test]
async fn start_delay_holds_the_first_workflow_task_back() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let started = Instant::now();
    client
        .start_workflow(
            "Delayed",
            (),
            WorkflowOptions::new(unique("delayed"), &tq)
                .with_start_delay(Duration::from_millis(400)),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
    let history = task.history.expect("history");
    assert_eq!(
        types(&history)[..3],
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted
        ]
    );
    let Some(Ev::WorkflowExecutionStartedEventAttributes(s)) = &history.events[0].attributes else {
        panic!("no started event");
    };
    assert_eq!(
        s.first_workflow_task_backoff,
        Some(Duration::from_millis(400).into())
    );
}

#[tokio::test]
async fn shutdown_ends_waiting_long_polls() {
    let (server, client) = start().await;
    let tq = unique("tq");
    let poller = {
        let client = client.clone();
        tokio::spawn(async move { poll_once(&client, queue(&tq)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    server.shutdown().await.expect("shutdown");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        t.elapsed()
    );
    let polled = tokio::time::timeout(Duration::from_secs(3), poller)
        .await
        .expect("the poll ended");
    // The poll ends with an empty answer or a transport error; it does not hang.
    if let Ok(response) = polled {
        assert!(response.task_token.is_empty());
    }
}

#[tokio::test]
async fn time_skipping_fires_timers_when_nothing_is_in_flight() {
    let options = ServerOptions::default()
        .with_time_skipping()
        .with_long_poll_timeout(Duration::from_millis(500));
    let (server, client) = start_with(options).await;
    let skipping = server.time_skipping().expect("time skipping").clone();
    let tq = unique("tq");
    let handle = client
        .start_workflow("Sleeper", (), WorkflowOptions::new(unique("sleeper"), &tq))
        .await
        .expect("start");
    let t0 = skipping.clock().now();
    let task = poll_task(&client, &tq).await;
    complete(
        &client,
        task.task_token,
        vec![start_timer("month", Duration::from_secs(30 * 86_400))],
    )
    .await;
    let wall = Instant::now();
    let task = poll_task(&client, &tq).await;
    assert!(
        wall.elapsed() < Duration::from_secs(5),
        "{:?}",
        wall.elapsed()
    );
    assert!(types(task.history.as_ref().expect("h")).contains(&E::TimerFired));
    let skipped = skipping.clock().now().duration_since(t0).expect("forward");
    assert!(skipped >= Duration::from_secs(30 * 86_400), "{skipped:?}");
    // Locked: time stands still while nothing is in flight.
    skipping.lock();
    complete(
        &client,
        task.task_token,
        vec![start_timer("day", Duration::from_secs(86_400))],
    )
    .await;
    let nothing = poll_once(&client, queue(&tq)).await;
    assert!(nothing.task_token.is_empty(), "no skip while locked");
    skipping.unlock();
    let task = poll_task(&client, &tq).await;
    let fired = types(task.history.as_ref().expect("h"))
        .iter()
        .filter(|t| **t == E::TimerFired)
        .count();
    assert_eq!(fired, 2);
    complete(&client, task.task_token, vec![complete_workflow(None)]).await;
    handle.result::<()>().await.expect("completed");
}

#[tokio::test]
async fn closed_workflows_signal_with_start_and_query_reject_conditions() {
    use reprise::api::temporal::api::enums::v1::QueryRejectCondition;
    use reprise::api::temporal::api::query::v1::WorkflowQuery;
    use reprise::api::temporal::api::workflowservice::v1 as ws;
    let (_server, client) = start().await;
    let tq = unique("tq");
    let id = unique("closed");
    let first = client
        .start_workflow("Closing", (), WorkflowOptions::new(&id, &tq))
        .await
        .expect("start");
    first.terminate("closed", ()).await.expect("terminate");
    // Signalling and cancelling a closed run is NotFound, as on the official server.
    match first.signal_by_name("late", ()).await {
        Err(ClientError::NotFound { message }) => {
            assert!(message.contains("completed"), "{message}")
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        first.cancel("late").await,
        Err(ClientError::NotFound { .. })
    ));
    // A query that rejects closed workflows answers with the status instead of asking a worker.
    let rejected = client
        .workflow_service()
        .query_workflow(ws::QueryWorkflowRequest {
            namespace: "default".into(),
            execution: Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
                workflow_id: id.clone(),
                run_id: String::new(),
            }),
            query: Some(WorkflowQuery {
                query_type: "state".into(),
                ..Default::default()
            }),
            query_reject_condition: QueryRejectCondition::NotOpen as i32,
        })
        .await
        .expect("query")
        .into_inner();
    assert_eq!(
        rejected.query_rejected.map(|r| r.status),
        Some(WorkflowExecutionStatus::Terminated as i32)
    );
    // Signal-with-start on a closed workflow starts a new run that has the signal.
    let second = client
        .signal_with_start(
            "Closing",
            (),
            WorkflowOptions::new(&id, &tq),
            "wake",
            ("up",),
        )
        .await
        .expect("signal with start");
    assert_ne!(second.run_id(), first.run_id());
    let history = second.fetch_history().await.expect("history");
    assert_eq!(
        types(&history),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowExecutionSignaled,
            E::WorkflowTaskScheduled
        ]
    );
}

#[tokio::test]
async fn cron_workflows_run_at_each_scheduled_time() {
    use reprise::api::temporal::api::enums::v1::ContinueAsNewInitiator;
    let options = ServerOptions::default().with_time_skipping();
    let (server, client) = start_with(options).await;
    let clock = server.time_skipping().expect("skipping").clock().clone();
    let tq = unique("tq");
    let err = client
        .start_workflow(
            "Cron",
            (),
            WorkflowOptions::new(unique("bad-cron"), &tq).with_cron_schedule("61 * * * *"),
        )
        .await;
    assert!(
        matches!(err, Err(ClientError::InvalidArgument { .. })),
        "{err:?}"
    );
    let handle = client
        .start_workflow(
            "Cron",
            (),
            WorkflowOptions::new(unique("cron"), &tq).with_cron_schedule("0 * * * *"),
        )
        .await
        .expect("start");
    let first = poll_task(&client, &tq).await;
    // The first run waited for the top of an hour.
    let started_at = first.started_time.expect("started time").to_system_time();
    let secs = started_at
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs();
    assert_eq!(secs % 3600, 0, "runs at minute 0");
    complete(
        &client,
        first.task_token,
        vec![complete_workflow(payloads(&client, &"run 1"))],
    )
    .await;
    let second = poll_task(&client, &tq).await;
    assert_ne!(second.workflow_execution, first.workflow_execution);
    let Some(Ev::WorkflowExecutionStartedEventAttributes(s)) =
        &second.history.as_ref().expect("history").events[0].attributes
    else {
        panic!("no started event");
    };
    assert_eq!(s.initiator, ContinueAsNewInitiator::CronSchedule as i32);
    assert_eq!(s.cron_schedule, "0 * * * *");
    let last: String = client
        .data_converter()
        .from_payload(
            &s.last_completion_result
                .as_ref()
                .expect("last result")
                .payloads[0],
        )
        .expect("decode");
    assert_eq!(last, "run 1");
    // The next run starts at the next top of the hour (the first one started a little after
    // its own, by the time its task took to be picked up).
    let top_of_hour = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    assert!(clock.now() >= top_of_hour + Duration::from_secs(3600));
    let first_run = client.workflow_handle(
        handle.workflow_id(),
        first.workflow_execution.map(|e| e.run_id),
    );
    assert_eq!(
        first_run.describe().await.expect("describe").status,
        WorkflowExecutionStatus::Completed
    );
    // The handle from the start names the first run, which is closed now: act on the latest.
    let latest = client.workflow_handle(handle.workflow_id(), None);
    latest
        .terminate("stop the schedule", ())
        .await
        .expect("terminate");
    assert!(matches!(
        handle.result::<String>().await,
        Err(ClientError::WorkflowTerminated { .. })
    ));
}

#[tokio::test]
async fn closed_runs_are_deleted_after_the_retention_period_or_on_request() {
    use reprise::api::temporal::api::workflowservice::v1 as ws;
    use reprise::client::ClientOptions;
    use reprise_testing::clock::VirtualClock;
    let clock = std::sync::Arc::new(VirtualClock::new(std::time::SystemTime::now()));
    let (_server, client) = start_with(ServerOptions::default().with_clock(clock.clone())).await;
    client
        .workflow_service()
        .register_namespace(ws::RegisterNamespaceRequest {
            namespace: "short-lived".into(),
            workflow_execution_retention_period: Some(Duration::from_secs(3600).into()),
            ..Default::default()
        })
        .await
        .expect("register namespace");
    let short = reprise::client::Client::connect(
        ClientOptions::new(_server.target()).with_namespace("short-lived"),
    )
    .await
    .expect("connect");
    let id = unique("retained");
    let handle = short
        .start_workflow("Kept", (), WorkflowOptions::new(&id, "nowhere"))
        .await
        .expect("start");
    handle.terminate("done", ()).await.expect("terminate");
    clock.advance(Duration::from_secs(1800));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        short.count_workflows("").await.expect("count"),
        1,
        "kept within retention"
    );
    clock.advance(Duration::from_secs(3600));
    let mut gone = false;
    for _ in 0..100 {
        if matches!(handle.describe().await, Err(ClientError::NotFound { .. })) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "deleted after retention");
    assert_eq!(short.count_workflows("").await.expect("count"), 0);

    // DeleteWorkflowExecution removes a run at once (terminating it if it runs).
    let running = client
        .start_workflow(
            "Doomed",
            (),
            WorkflowOptions::new(unique("doomed"), "nowhere"),
        )
        .await
        .expect("start");
    client
        .workflow_service()
        .delete_workflow_execution(ws::DeleteWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_execution: Some(reprise::api::temporal::api::common::v1::WorkflowExecution {
                workflow_id: running.workflow_id().into(),
                run_id: String::new(),
            }),
        })
        .await
        .expect("delete");
    assert!(matches!(
        running.describe().await,
        Err(ClientError::NotFound { .. })
    ));
}

#[tokio::test]
async fn test_service_drives_the_clock_of_a_locked_time_skipping_server() {
    use reprise::api::google::protobuf::Empty;
    use reprise::api::temporal::api::testservice::v1 as ts;
    use reprise::api::temporal::api::testservice::v1::test_service_client::TestServiceClient;
    let server = TestServer::start(ServerOptions::default().with_time_skipping_locked())
        .await
        .expect("start");
    let mut control = TestServiceClient::connect(format!("http://{}", server.target()))
        .await
        .expect("connect");
    let now = |r: tonic::Response<ts::GetCurrentTimeResponse>| {
        r.into_inner().time.expect("time").to_system_time()
    };
    let t0 = now(control.get_current_time(Empty {}).await.expect("time"));
    // Started locked: one unlock balances it, a second one is refused.
    control
        .unlock_time_skipping(ts::UnlockTimeSkippingRequest {})
        .await
        .expect("unlock");
    let unbalanced = control
        .unlock_time_skipping(ts::UnlockTimeSkippingRequest {})
        .await
        .expect_err("unbalanced unlock");
    assert_eq!(unbalanced.code(), tonic::Code::FailedPrecondition);
    control
        .lock_time_skipping(ts::LockTimeSkippingRequest {})
        .await
        .expect("lock");
    // Locked, the clock moves at the real pace only.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t1 = now(control.get_current_time(Empty {}).await.expect("time"));
    assert!(t1 >= t0 + Duration::from_millis(40) && t1 < t0 + Duration::from_secs(60));
    // Unlocked for a sleep of a day: the clock jumps a day, and skipping is locked again.
    let started = Instant::now();
    control
        .unlock_time_skipping_with_sleep(ts::SleepRequest {
            duration: Some(Duration::from_secs(86_400).into()),
        })
        .await
        .expect("sleep a day");
    assert!(started.elapsed() < Duration::from_secs(5));
    let t2 = now(control.get_current_time(Empty {}).await.expect("time"));
    assert!(t2 >= t1 + Duration::from_secs(86_400), "{t1:?} → {t2:?}");
    assert!(
        control
            .unlock_time_skipping(ts::UnlockTimeSkippingRequest {})
            .await
            .is_ok(),
        "locked again after the sleep"
    );
    let missing = control
        .sleep(ts::SleepRequest { duration: None })
        .await
        .expect_err("no duration");
    assert_eq!(missing.code(), tonic::Code::InvalidArgument);
    server.shutdown().await.expect("shutdown");
}
