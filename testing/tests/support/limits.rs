//! Shared by `server_limits.rs` and `server_limits_runs.rs`: the official dev server and the
//! bundled server side by side, raw gRPC clients, request builders, and the comparison of
//! their answers.
#![allow(dead_code, unused_imports)]

pub(crate) use reprise::api::temporal::api::command::v1::{
    self as cmd, Command, command::Attributes as A,
};
pub(crate) use reprise::api::temporal::api::common::v1::{
    ActivityType, Memo, Payload, Payloads, RetryPolicy, SearchAttributes, WorkflowExecution,
    WorkflowType,
};
pub(crate) use reprise::api::temporal::api::enums::v1::IndexedValueType;
pub(crate) use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType, TaskQueueKind, WorkflowExecutionStatus,
};
pub(crate) use reprise::api::temporal::api::history::v1::history_event::Attributes as EventAttrs;
pub(crate) use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
pub(crate) use reprise::api::temporal::api::workflowservice::v1 as ws;
pub(crate) use reprise::api::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
pub(crate) use reprise_testing::server::{ServerOptions, TestServer};
pub(crate) use reprise_testing::{DevServer, DevServerOptions};
pub(crate) use std::time::{Duration, Instant};
pub(crate) use tonic::transport::Channel;

pub(crate) type Service = WorkflowServiceClient<Channel>;

pub(crate) const MIB: usize = 1024 * 1024;

pub(crate) struct Pair {
    pub(crate) official: Service,
    pub(crate) bundled: Service,
    _dev: DevServer,
    _server: TestServer,
}

pub(crate) async fn connect(target: &str) -> Service {
    let channel = Channel::from_shared(format!("http://{target}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    WorkflowServiceClient::new(channel)
        .max_decoding_message_size(64 * MIB)
        .max_encoding_message_size(64 * MIB)
}

pub(crate) async fn pair() -> Pair {
    let dev = tokio::task::spawn_blocking(|| {
        DevServer::start_with(DevServerOptions::default().with_search_attribute("CustomInt", "Int"))
    })
    .await
    .expect("join")
    .expect("official dev server");
    let server = TestServer::start(
        ServerOptions::default().with_search_attribute("CustomInt", IndexedValueType::Int),
    )
    .await
    .expect("bundled server");
    Pair {
        official: connect(dev.address()).await,
        bundled: connect(&server.target()).await,
        _dev: dev,
        _server: server,
    }
}

pub(crate) fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub(crate) fn queue(name: &str) -> Option<TaskQueue> {
    Some(TaskQueue {
        name: name.into(),
        kind: TaskQueueKind::Normal as i32,
        ..Default::default()
    })
}

pub(crate) fn json(value: &str) -> Payload {
    Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub(crate) fn big_payloads(bytes: usize) -> Option<Payloads> {
    Some(Payloads {
        payloads: vec![Payload {
            metadata: [("encoding".to_string(), b"binary/plain".to_vec())].into(),
            data: vec![b'x'; bytes],
            ..Default::default()
        }],
    })
}

pub(crate) fn start_request(id: &str, tq: &str) -> ws::StartWorkflowExecutionRequest {
    ws::StartWorkflowExecutionRequest {
        namespace: "default".into(),
        workflow_id: id.into(),
        workflow_type: Some(WorkflowType {
            name: "Hostile".into(),
        }),
        task_queue: queue(tq),
        identity: "limits-test".into(),
        request_id: unique("req"),
        workflow_task_timeout: Some(prost_types_duration(10)),
        ..Default::default()
    }
}

pub(crate) fn prost_types_duration(seconds: i64) -> reprise::api::google::protobuf::Duration {
    reprise::api::google::protobuf::Duration { seconds, nanos: 0 }
}

pub(crate) fn retry(
    initial: i64,
    backoff: f64,
    max_interval: i64,
    attempts: i32,
) -> Option<RetryPolicy> {
    Some(RetryPolicy {
        initial_interval: Some(prost_types_duration(initial)),
        backoff_coefficient: backoff,
        maximum_interval: Some(prost_types_duration(max_interval)),
        maximum_attempts: attempts,
        ..Default::default()
    })
}

/// What a server answered: the code and message of an error, or "ok".
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Ok,
    Err(tonic::Code, String),
}

impl<T> From<Result<tonic::Response<T>, tonic::Status>> for Answer {
    fn from(r: Result<tonic::Response<T>, tonic::Status>) -> Self {
        match r {
            Ok(_) => Answer::Ok,
            Err(s) => Answer::Err(s.code(), s.message().to_string()),
        }
    }
}

/// How closely the bundled answer must follow the official one.
#[derive(Clone, Copy)]
pub(crate) enum Match {
    /// Same code and the same message.
    Exact,
    /// Same code; the official message starts with this text, the bundled one too.
    Prefix(&'static str),
    /// Same code only (the official message comes from the gRPC library or names internals).
    Code,
}

/// Whether the bundled answer follows the official one; a description of the difference if not.
pub(crate) fn differs(official: &Answer, bundled: &Answer, how: Match) -> Option<String> {
    match (official, bundled) {
        (Answer::Ok, Answer::Ok) => None,
        (Answer::Err(oc, om), Answer::Err(bc, bm)) => {
            if oc != bc {
                return Some("codes differ".into());
            }
            match how {
                Match::Exact if om != bm => Some("messages differ".into()),
                Match::Prefix(p) if !om.starts_with(p) || !bm.starts_with(p) => {
                    Some(format!("a message does not start with {p:?}"))
                }
                _ => None,
            }
        }
        _ => Some("one refused, the other accepted".into()),
    }
}

/// Collects every difference of a test, reported together at its end.
#[derive(Default)]
pub(crate) struct Differences(Vec<String>);

impl Differences {
    pub(crate) fn compare(&mut self, case: &str, official: &Answer, bundled: &Answer, how: Match) {
        eprintln!("{case}:\n  official: {official:?}\n  bundled:  {bundled:?}");
        if let Some(d) = differs(official, bundled, how) {
            self.0.push(format!(
                "{case}: {d}\n  official: {official:?}\n  bundled:  {bundled:?}"
            ));
        }
    }

    pub(crate) fn assert_none(self) {
        assert!(self.0.is_empty(), "{}", self.0.join("\n"));
    }
}

/// Runs one start request against both servers (the workflow id made unique per server run).
pub(crate) async fn start_both(
    p: &mut Pair,
    d: &mut Differences,
    case: &str,
    how: Match,
    r: ws::StartWorkflowExecutionRequest,
) {
    let official = p.official.start_workflow_execution(r.clone()).await.into();
    let bundled = p.bundled.start_workflow_execution(r).await.into();
    d.compare(case, &official, &bundled, how);
}

/// Polls one workflow task of `tq` (the run was just started, so it comes at once).
pub(crate) async fn poll(s: &mut Service, tq: &str) -> ws::PollWorkflowTaskQueueResponse {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut request = tonic::Request::new(ws::PollWorkflowTaskQueueRequest {
            namespace: "default".into(),
            task_queue: queue(tq),
            identity: "limits-test".into(),
            ..Default::default()
        });
        // The official server refuses long polls without a deadline.
        request.set_timeout(Duration::from_secs(20));
        let r = s
            .poll_workflow_task_queue(request)
            .await
            .expect("poll")
            .into_inner();
        if !r.task_token.is_empty() {
            return r;
        }
        assert!(Instant::now() < deadline, "no workflow task on {tq}");
    }
}

pub(crate) fn activity(
    id: &str,
    retry_policy: Option<RetryPolicy>,
    input: Option<Payloads>,
) -> Command {
    Command {
        command_type: CommandType::ScheduleActivityTask as i32,
        attributes: Some(A::ScheduleActivityTaskCommandAttributes(
            cmd::ScheduleActivityTaskCommandAttributes {
                activity_id: id.into(),
                activity_type: Some(ActivityType { name: "Act".into() }),
                task_queue: queue("activities"),
                start_to_close_timeout: Some(prost_types_duration(10)),
                retry_policy,
                input,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// What a completion did: the RPC's answer, then the run's status and its last events (types,
/// and for a failed workflow task its cause and message; for a termination its reason and
/// identity).
pub(crate) async fn complete_with(
    s: &mut Service,
    tq: &str,
    commands: Vec<Command>,
) -> (Answer, i32, Vec<String>) {
    let id = unique("wf");
    s.start_workflow_execution(start_request(&id, tq))
        .await
        .expect("start");
    let task = poll(s, tq).await;
    let answer = s
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            namespace: "default".into(),
            task_token: task.task_token,
            commands,
            identity: "limits-test".into(),
            ..Default::default()
        })
        .await
        .into();
    let execution = Some(WorkflowExecution {
        workflow_id: id,
        run_id: String::new(),
    });
    let history = s
        .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
            namespace: "default".into(),
            execution: execution.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .history
        .unwrap_or_default();
    let status = s
        .describe_workflow_execution(ws::DescribeWorkflowExecutionRequest {
            namespace: "default".into(),
            execution,
        })
        .await
        .expect("describe")
        .into_inner()
        .workflow_execution_info
        .map(|i| i.status)
        .unwrap_or_default();
    let events = history
        .events
        .iter()
        .skip(3)
        .map(|e| match &e.attributes {
            Some(EventAttrs::WorkflowTaskFailedEventAttributes(a)) => format!(
                "{:?} cause={:?} message={:?}",
                e.event_type(),
                a.cause(),
                a.failure.as_ref().map(|f| f.message.as_str()).unwrap_or("")
            ),
            Some(EventAttrs::WorkflowExecutionTerminatedEventAttributes(a)) => format!(
                "{:?} reason={:?} identity={:?}",
                e.event_type(),
                a.reason,
                a.identity
            ),
            _ => format!("{:?}", e.event_type()),
        })
        .collect();
    (answer, status, events)
}

/// Starts a run whose first task schedules activity `a` on `tq`-act, and returns the run's id
/// and the activity task's token.
pub(crate) async fn run_with_activity(s: &mut Service, tq: &str) -> (String, Vec<u8>) {
    let id = unique("wf");
    s.start_workflow_execution(start_request(&id, tq))
        .await
        .expect("start");
    let task = poll(s, tq).await;
    let mut command = activity("a", None, None);
    if let Some(A::ScheduleActivityTaskCommandAttributes(a)) = &mut command.attributes {
        a.task_queue = queue(&format!("{tq}-act"));
    }
    s.respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
        namespace: "default".into(),
        task_token: task.task_token,
        commands: vec![command],
        identity: "limits-test".into(),
        ..Default::default()
    })
    .await
    .expect("schedule");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut request = tonic::Request::new(ws::PollActivityTaskQueueRequest {
            namespace: "default".into(),
            task_queue: queue(&format!("{tq}-act")),
            identity: "limits-test".into(),
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(20));
        let r = s
            .poll_activity_task_queue(request)
            .await
            .expect("poll activity")
            .into_inner();
        if !r.task_token.is_empty() {
            return (id, r.task_token);
        }
        assert!(Instant::now() < deadline, "no activity task");
    }
}

/// The events after the first three of a run, as `complete_with` shows them, and its status.
pub(crate) async fn run_events(s: &mut Service, id: &str) -> String {
    let execution = Some(WorkflowExecution {
        workflow_id: id.into(),
        run_id: String::new(),
    });
    let history = s
        .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
            namespace: "default".into(),
            execution,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .history
        .unwrap_or_default();
    let events: Vec<String> = history
        .events
        .iter()
        .skip(5)
        .map(|e| match &e.attributes {
            Some(EventAttrs::ActivityTaskFailedEventAttributes(a)) => format!(
                "{:?} failure={:?} retry_state={}",
                e.event_type(),
                a.failure.as_ref().map(|f| f.message.as_str()),
                a.retry_state
            ),
            _ => format!("{:?}", e.event_type()),
        })
        .collect();
    format!("{events:?}")
}

/// Sends `n` signals to a run, 32 at a time; the answers.
pub(crate) async fn signals(s: &mut Service, id: &str, n: usize) -> Vec<Result<(), tonic::Status>> {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .map(|_| {
            let mut s = s.clone();
            let request = ws::SignalWorkflowExecutionRequest {
                namespace: "default".into(),
                workflow_execution: Some(WorkflowExecution {
                    workflow_id: id.into(),
                    run_id: String::new(),
                }),
                signal_name: "sig".into(),
                identity: "limits-test".into(),
                ..Default::default()
            };
            async move { s.signal_workflow_execution(request).await.map(|_| ()) }
        })
        .buffer_unordered(32)
        .collect()
        .await
}

/// Sends `n` signals to a run, then polls its workflow task: whether the task's started event
/// suggests continue-as-new.
pub(crate) async fn suggestion_after(s: &mut Service, n: usize) -> bool {
    let tq = unique("tq");
    let id = unique("wf");
    s.start_workflow_execution(start_request(&id, &tq))
        .await
        .expect("start");
    let answers = signals(s, &id, n).await;
    assert!(answers.iter().all(Result::is_ok), "signals refused");
    poll(s, &tq).await;
    let events = full_history(s, &id).await;
    match events.last().and_then(|e| e.attributes.as_ref()) {
        Some(EventAttrs::WorkflowTaskStartedEventAttributes(a)) => a.suggest_continue_as_new,
        other => panic!("the last event is not WorkflowTaskStarted: {other:?}"),
    }
}

/// Every event of a run, page after page.
pub(crate) async fn full_history(
    s: &mut Service,
    id: &str,
) -> Vec<reprise::api::temporal::api::history::v1::HistoryEvent> {
    let mut events = Vec::new();
    let mut token = Vec::new();
    loop {
        let page = s
            .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: Some(WorkflowExecution {
                    workflow_id: id.into(),
                    run_id: String::new(),
                }),
                next_page_token: token,
                ..Default::default()
            })
            .await
            .expect("history")
            .into_inner();
        events.extend(page.history.unwrap_or_default().events);
        token = page.next_page_token;
        if token.is_empty() {
            return events;
        }
    }
}
