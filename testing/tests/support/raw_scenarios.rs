//! Client scenarios driven through raw workflow-task RPCs (no worker): each test binary that
//! includes this module provides `crate::start()` — the official dev server, or the bundled one —
//! and the same assertions must hold on both. The workflow-task protocol itself (queries,
//! updates, speculative and transient tasks, sticky queues) is in `raw_task_scenarios.rs`.

use futures::TryStreamExt;
use reprise::api::temporal::api::command::v1::{
    self as cmd, Command, command::Attributes as CommandAttrs,
};
use reprise::api::temporal::api::common::v1::Payloads;
use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType, TaskQueueKind, WorkflowExecutionStatus,
};
use reprise::api::temporal::api::history::v1::history_event::Attributes as EventAttrs;
use reprise::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{
    Client, ClientError, ClientOptions, RetryOptions, TlsOptions, WorkflowOptions,
};
use reprise::converter::{ApplicationFailure, DataConverter, Failure, FailureKind};
use std::time::{Duration, Instant};

pub(crate) async fn client_for(target: &str) -> Client {
    Client::connect(ClientOptions::new(target))
        .await
        .expect("connect")
}

/// A name unique to this test run, so tests never see each other's workflows.
pub(crate) fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub(crate) async fn poll_task(
    client: &Client,
    task_queue: &str,
) -> ws::PollWorkflowTaskQueueResponse {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = client
            .workflow_service()
            .poll_workflow_task_queue(ws::PollWorkflowTaskQueueRequest {
                namespace: client.namespace().into(),
                task_queue: Some(TaskQueue {
                    name: task_queue.into(),
                    kind: TaskQueueKind::Normal as i32,
                    ..Default::default()
                }),
                identity: "raw-test-worker".into(),
                ..Default::default()
            })
            .await
            .expect("poll")
            .into_inner();
        if !response.task_token.is_empty() {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "no workflow task on {task_queue}"
        );
    }
}

pub(crate) async fn complete_task(
    client: &Client,
    token: Vec<u8>,
    commands: Vec<Command>,
    messages: Vec<ProtocolMessage>,
) {
    client
        .workflow_service()
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: token,
            commands,
            messages,
            identity: "raw-test-worker".into(),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("respond workflow task completed");
}

pub(crate) fn payloads(client: &Client, value: &impl serde::Serialize) -> Option<Payloads> {
    Some(Payloads {
        payloads: vec![
            client
                .data_converter()
                .to_payload(value)
                .expect("to payload"),
        ],
    })
}

pub(crate) fn complete_command(result: Option<Payloads>) -> Command {
    Command {
        command_type: CommandType::CompleteWorkflowExecution as i32,
        attributes: Some(CommandAttrs::CompleteWorkflowExecutionCommandAttributes(
            cmd::CompleteWorkflowExecutionCommandAttributes { result },
        )),
        ..Default::default()
    }
}

pub(crate) fn event_types(
    history: &reprise::api::temporal::api::history::v1::History,
) -> Vec<EventType> {
    history
        .events
        .iter()
        .map(|e| EventType::try_from(e.event_type).unwrap_or(EventType::Unspecified))
        .collect()
}

#[tokio::test]
async fn start_describe_signal_list_count_terminate_and_history() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let id = unique("lifecycle");
    let workflow_type = unique("LifecycleWorkflow");
    let handle = client
        .start_workflow(
            &workflow_type,
            ("order-1", 42.5),
            WorkflowOptions::new(&id, unique("tq")),
        )
        .await
        .expect("start");
    assert!(handle.run_id().is_some_and(|r| !r.is_empty()));

    let described = handle.describe().await.expect("describe");
    assert_eq!(described.workflow_id, id);
    assert_eq!(described.workflow_type, workflow_type);
    assert_eq!(described.status, WorkflowExecutionStatus::Running);
    assert_eq!(Some(described.run_id.as_str()), handle.run_id());

    handle
        .signal_by_name("approve", ("alice", 3))
        .await
        .expect("signal");

    // Visibility is eventually consistent: wait until the workflow shows up.
    let query = format!("WorkflowType = '{workflow_type}'");
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.count_workflows(&query).await.expect("count") != 1 {
        assert!(Instant::now() < deadline, "workflow never became visible");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed: Vec<_> = client
        .list_workflows(&query)
        .try_collect()
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].workflow_id, id);
    assert_eq!(listed[0].status, WorkflowExecutionStatus::Running);

    handle
        .terminate("done testing", ("term-detail",))
        .await
        .expect("terminate");
    match handle.result::<String>().await {
        Err(ClientError::WorkflowTerminated { reason, details }) => {
            assert_eq!(reason, "done testing");
            let detail: String = client
                .data_converter()
                .from_payload(&details[0])
                .expect("detail");
            assert_eq!(detail, "term-detail");
        }
        other => panic!("expected terminated, got {other:?}"),
    }
    assert_eq!(
        handle.describe().await.expect("describe").status,
        WorkflowExecutionStatus::Terminated
    );

    let history = handle.fetch_history().await.expect("history");
    assert_eq!(
        event_types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowExecutionSignaled,
            EventType::WorkflowExecutionTerminated
        ]
    );
    let Some(EventAttrs::WorkflowExecutionStartedEventAttributes(started)) =
        &history.events[0].attributes
    else {
        panic!("first event is not WorkflowExecutionStarted");
    };
    let input = &started.input.as_ref().expect("input").payloads;
    assert_eq!(input.len(), 2, "one payload per argument");
    assert_eq!(input[0].data, b"\"order-1\"");
    assert_eq!(input[1].data, b"42.5");
    let Some(EventAttrs::WorkflowExecutionSignaledEventAttributes(signaled)) =
        &history.events[2].attributes
    else {
        panic!("third event is not the signal");
    };
    assert_eq!(signaled.signal_name, "approve");
    let (who, n): (String, i32) = reprise::converter::FromPayloads::from_payloads(
        client.data_converter(),
        &signaled.input.as_ref().expect("input").payloads,
    )
    .expect("decode signal");
    assert_eq!((who.as_str(), n), ("alice", 3));

    // The JSON export reads back to the same history.
    let json = handle.export_history_json().await.expect("export");
    assert!(json.contains("\"eventType\": \"EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED\""));
    assert_eq!(
        reprise::history::from_json_str(&json).expect("reparse"),
        history
    );
}

#[tokio::test]
async fn already_started_and_not_found_are_distinct_errors() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let id = unique("dup");
    let first = client
        .start_workflow("Dup", (), WorkflowOptions::new(&id, "nowhere"))
        .await
        .expect("start");
    match client
        .start_workflow("Dup", (), WorkflowOptions::new(&id, "nowhere"))
        .await
    {
        Err(ClientError::AlreadyStarted {
            workflow_id,
            run_id,
        }) => {
            assert_eq!(workflow_id, id);
            assert_eq!(Some(run_id.as_str()), first.run_id());
        }
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
    // The same request id is idempotent: it returns the existing run instead of failing.
    let options =
        WorkflowOptions::new(unique("idem"), "nowhere").with_request_id("fixed-request-id-1");
    let a = client
        .start_workflow("Dup", (), options.clone())
        .await
        .expect("first start");
    let b = client
        .start_workflow("Dup", (), options)
        .await
        .expect("repeated start");
    assert_eq!(a.run_id(), b.run_id());

    match client
        .workflow_handle(unique("missing"), None)
        .describe()
        .await
    {
        Err(ClientError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client
        .start_workflow("", (), WorkflowOptions::new(unique("bad"), "nowhere"))
        .await
    {
        Err(ClientError::InvalidArgument { message }) => assert!(!message.is_empty()),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    first.terminate("cleanup", ()).await.expect("terminate");
}

#[tokio::test]
async fn worker_less_completion_through_raw_rpcs() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Echo",
            ("hello",),
            WorkflowOptions::new(unique("echo"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    assert_eq!(
        task.workflow_type.as_ref().map(|t| t.name.as_str()),
        Some("Echo")
    );
    let history = task.history.expect("task has history");
    let Some(EventAttrs::WorkflowExecutionStartedEventAttributes(started)) =
        &history.events[0].attributes
    else {
        panic!("no started event");
    };
    let (input,): (String,) = reprise::converter::FromPayloads::from_payloads(
        client.data_converter(),
        &started.input.as_ref().expect("input").payloads,
    )
    .expect("decode input");
    complete_task(
        &client,
        task.task_token,
        vec![complete_command(payloads(
            &client,
            &format!("{input}, world"),
        ))],
        vec![],
    )
    .await;
    let result: String = handle.result().await.expect("result");
    assert_eq!(result, "hello, world");
    assert_eq!(
        handle.describe().await.expect("describe").status,
        WorkflowExecutionStatus::Completed
    );
}

#[tokio::test]
async fn failed_workflow_carries_the_decoded_failure() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Failing", (), WorkflowOptions::new(unique("fail"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let failure = Failure::from(
        ApplicationFailure::new("card declined")
            .with_type("CardDeclined")
            .non_retryable(),
    );
    let command = Command {
        command_type: CommandType::FailWorkflowExecution as i32,
        attributes: Some(CommandAttrs::FailWorkflowExecutionCommandAttributes(
            cmd::FailWorkflowExecutionCommandAttributes {
                failure: Some(failure.to_proto()),
            },
        )),
        ..Default::default()
    };
    complete_task(&client, task.task_token, vec![command], vec![]).await;
    match handle.result::<()>().await {
        Err(ClientError::WorkflowFailed(failure)) => {
            assert_eq!(failure.message, "card declined");
            assert_eq!(failure.application_type(), Some("CardDeclined"));
            assert!(failure.is_non_retryable());
            assert!(matches!(failure.kind, FailureKind::Application(_)));
        }
        other => panic!("expected WorkflowFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn result_follows_continue_as_new() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Chain", (1,), WorkflowOptions::new(unique("chain"), &tq))
        .await
        .expect("start");
    let first_run = handle.run_id().map(str::to_string);
    let task = poll_task(&client, &tq).await;
    let continue_as_new = Command {
        command_type: CommandType::ContinueAsNewWorkflowExecution as i32,
        attributes: Some(
            CommandAttrs::ContinueAsNewWorkflowExecutionCommandAttributes(
                cmd::ContinueAsNewWorkflowExecutionCommandAttributes {
                    workflow_type: Some(reprise::api::temporal::api::common::v1::WorkflowType {
                        name: "Chain".into(),
                    }),
                    task_queue: Some(TaskQueue {
                        name: tq.clone(),
                        kind: TaskQueueKind::Normal as i32,
                        ..Default::default()
                    }),
                    input: payloads(&client, &2),
                    ..Default::default()
                },
            ),
        ),
        ..Default::default()
    };
    complete_task(&client, task.task_token, vec![continue_as_new], vec![]).await;
    // The start handle targets the latest run: a signal reaches the new run, not the closed one.
    handle
        .signal_by_name("poke", ())
        .await
        .expect("signal reaches the continued run");
    let latest = handle.describe().await.expect("describe").run_id;
    assert_ne!(Some(latest.clone()), first_run);
    assert_eq!(
        handle.run_id(),
        first_run.as_deref(),
        "run_id() is the run the start created"
    );
    let second = poll_task(&client, &tq).await;
    assert_eq!(
        second.workflow_execution.as_ref().map(|e| e.run_id.clone()),
        Some(latest)
    );

    complete_task(
        &client,
        second.task_token,
        vec![complete_command(payloads(&client, &"second run"))],
        vec![],
    )
    .await;
    assert_eq!(
        handle.result::<String>().await.expect("result"),
        "second run"
    );
    match handle.clone().follow_runs(false).result::<String>().await {
        Err(ClientError::WorkflowContinuedAsNew { new_run_id }) => assert!(!new_run_id.is_empty()),
        other => panic!("expected WorkflowContinuedAsNew, got {other:?}"),
    }
}

#[tokio::test]
async fn signal_with_start_and_cancel() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let id = unique("sws");
    let handle = client
        .signal_with_start(
            "Cancellable",
            ("in",),
            WorkflowOptions::new(&id, &tq),
            "wake",
            ("now",),
        )
        .await
        .expect("signal with start");
    // A second signal-with-start signals the same run.
    let again = client
        .signal_with_start(
            "Cancellable",
            ("in",),
            WorkflowOptions::new(&id, &tq),
            "wake",
            ("again",),
        )
        .await
        .expect("second signal with start");
    assert_eq!(handle.run_id(), again.run_id());

    let task = poll_task(&client, &tq).await;
    let history = task.history.expect("history");
    let signals = history
        .events
        .iter()
        .filter(|e| e.event_type == EventType::WorkflowExecutionSignaled as i32)
        .count();
    assert_eq!(signals, 2);
    complete_task(&client, task.task_token, vec![], vec![]).await;

    handle.cancel("user asked").await.expect("cancel");
    let task = poll_task(&client, &tq).await;
    let history = task.history.expect("history");
    assert!(
        history
            .events
            .iter()
            .any(|e| e.event_type == EventType::WorkflowExecutionCancelRequested as i32)
    );
    let cancel = Command {
        command_type: CommandType::CancelWorkflowExecution as i32,
        attributes: Some(CommandAttrs::CancelWorkflowExecutionCommandAttributes(
            cmd::CancelWorkflowExecutionCommandAttributes {
                details: payloads(&client, &"cleaned up"),
            },
        )),
        ..Default::default()
    };
    complete_task(&client, task.task_token, vec![cancel], vec![]).await;
    match handle.result::<()>().await {
        Err(ClientError::WorkflowCanceled { details }) => {
            let d: String = client
                .data_converter()
                .from_payload(&details[0])
                .expect("details");
            assert_eq!(d, "cleaned up");
        }
        other => panic!("expected canceled, got {other:?}"),
    }
}

#[tokio::test]
async fn list_paginates_past_one_page() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let workflow_type = unique("Many");
    for i in 0..105 {
        client
            .start_workflow(
                &workflow_type,
                (i,),
                WorkflowOptions::new(format!("{workflow_type}-{i}"), "nowhere"),
            )
            .await
            .expect("start");
    }
    let query = format!("WorkflowType = '{workflow_type}'");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.count_workflows(&query).await.expect("count") != 105 {
        assert!(
            Instant::now() < deadline,
            "not all workflows became visible"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed: Vec<_> = client
        .list_workflows(&query)
        .try_collect()
        .await
        .expect("list");
    assert_eq!(listed.len(), 105, "the stream fetched the second page");
    let mut ids: Vec<_> = listed.iter().map(|w| w.workflow_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 105);
    for w in listed {
        client
            .workflow_handle(w.workflow_id, None)
            .terminate("cleanup", ())
            .await
            .expect("terminate");
    }
}

#[tokio::test]
async fn codec_applies_to_arguments_and_results() {
    let (_server, target) = crate::start().await;
    // A codec that reverses payload data: the server sees transformed bytes, the client the values.
    struct Reverse;
    impl reprise::converter::PayloadCodec for Reverse {
        fn encode(
            &self,
            payloads: Vec<reprise::api::temporal::api::common::v1::Payload>,
        ) -> Result<
            Vec<reprise::api::temporal::api::common::v1::Payload>,
            reprise::converter::CodecError,
        > {
            Ok(payloads
                .into_iter()
                .map(|mut p| {
                    p.data.reverse();
                    p.metadata.insert("reversed".into(), b"1".to_vec());
                    p
                })
                .collect())
        }
        fn decode(
            &self,
            payloads: Vec<reprise::api::temporal::api::common::v1::Payload>,
        ) -> Result<
            Vec<reprise::api::temporal::api::common::v1::Payload>,
            reprise::converter::CodecError,
        > {
            Ok(payloads
                .into_iter()
                .map(|mut p| {
                    if p.metadata.remove("reversed").is_some() {
                        p.data.reverse();
                    }
                    p
                })
                .collect())
        }
    }
    let client = Client::connect(
        ClientOptions::new(target.as_str())
            .with_data_converter(DataConverter::default().with_codec(Reverse)),
    )
    .await
    .expect("connect");
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Coded",
            ("abc",),
            WorkflowOptions::new(unique("codec"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let Some(EventAttrs::WorkflowExecutionStartedEventAttributes(started)) =
        &task.history.as_ref().expect("history").events[0].attributes
    else {
        panic!("no started event");
    };
    assert_eq!(
        started.input.as_ref().expect("input").payloads[0].data,
        b"\"cba\"",
        "the server stores encoded data"
    );
    // The raw worker answers with an encoded result, as a worker with the same codec would.
    let encoded = client
        .data_converter()
        .encode_payloads(vec![
            client.data_converter().to_payload(&"xyz").expect("payload"),
        ])
        .expect("encode");
    complete_task(
        &client,
        task.task_token,
        vec![complete_command(Some(Payloads { payloads: encoded }))],
        vec![],
    )
    .await;
    assert_eq!(handle.result::<String>().await.expect("result"), "xyz");
}

#[tokio::test]
async fn tls_and_connection_configuration_errors_are_clear() {
    let (_server, target) = crate::start().await;
    let mut cert_only = TlsOptions::new();
    cert_only.client_cert_pem = Some(b"-----BEGIN CERTIFICATE-----\n".to_vec());
    let err = Client::connect(ClientOptions::new("127.0.0.1:1").with_tls(cert_only))
        .await
        .expect_err("cert without key");
    assert!(
        matches!(&err, ClientError::Config(m) if m.contains("without its private key")),
        "{err}"
    );

    let bad_ca = TlsOptions::new().with_server_root_ca_pem(b"not a certificate".to_vec());
    let err = Client::connect(ClientOptions::new("127.0.0.1:1").with_tls(bad_ca))
        .await
        .expect_err("bad CA");
    assert!(
        matches!(&err, ClientError::Config(m) if m.contains("server root CA") && m.contains("PEM")),
        "{err}"
    );

    let err = Client::connect(ClientOptions::new("https://127.0.0.1:1"))
        .await
        .expect_err("https without TLS");
    assert!(
        matches!(&err, ClientError::Config(m) if m.contains("no TLS options")),
        "{err}"
    );

    let err = Client::connect(ClientOptions::new(""))
        .await
        .expect_err("empty target");
    assert!(matches!(err, ClientError::Config(_)));

    let err = Client::connect(ClientOptions::new("127.0.0.1:7233").with_api_key("bad\nkey"))
        .await
        .expect_err("bad header");
    assert!(
        matches!(&err, ClientError::Config(m) if m.contains("authorization")),
        "{err}"
    );

    // TLS against the plaintext dev server fails as a transport error, not a hang or a panic.
    let options = ClientOptions::new(target.as_str())
        .with_tls(TlsOptions::new())
        .with_connect_timeout(Duration::from_secs(3))
        .with_retry(RetryOptions::none());
    let err = Client::connect(options)
        .await
        .expect_err("TLS handshake against plaintext");
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");

    // Nothing listening: a transport error after the connect retries.
    let options = ClientOptions::new("127.0.0.1:1").with_retry(RetryOptions::none());
    let err = Client::connect(options)
        .await
        .expect_err("connection refused");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn api_key_and_headers_are_sent() {
    let (_server, target) = crate::start().await;
    // The dev server ignores authorization but must accept a well-formed one.
    let client = Client::connect(
        ClientOptions::new(target.as_str())
            .with_api_key("test-key")
            .with_header("x-reprise-test", "1"),
    )
    .await
    .expect("connect with API key");
    assert!(client.system_info().capabilities.is_some());
    let n = client
        .count_workflows("WorkflowType = 'NoSuchType'")
        .await
        .expect("count");
    assert_eq!(n, 0);
}
