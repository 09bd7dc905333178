//! Hostile requests side by side: the official dev server and the bundled server get the same
//! requests (bad retry policies, oversized payloads, memos and messages, too-long ids and names,
//! search attributes of the wrong type, size or count, page sizes) and must answer with the same
//! gRPC status code and, where the official message is stable, the same message. After every
//! refused request the run that was already stored is still there, unchanged.

use reprise::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes as A};
use reprise::api::temporal::api::common::v1::{
    ActivityType, Memo, Payload, Payloads, RetryPolicy, SearchAttributes, WorkflowExecution,
    WorkflowType,
};
use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType, TaskQueueKind, WorkflowExecutionStatus,
};
use reprise::api::temporal::api::history::v1::history_event::Attributes as EventAttrs;
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::api::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::{DevServer, DevServerOptions};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

type Service = WorkflowServiceClient<Channel>;

const MIB: usize = 1024 * 1024;

struct Pair {
    official: Service,
    bundled: Service,
    _dev: DevServer,
    _server: TestServer,
}

async fn connect(target: &str) -> Service {
    let channel = Channel::from_shared(format!("http://{target}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    WorkflowServiceClient::new(channel)
        .max_decoding_message_size(64 * MIB)
        .max_encoding_message_size(64 * MIB)
}

async fn pair() -> Pair {
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

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn queue(name: &str) -> Option<TaskQueue> {
    Some(TaskQueue {
        name: name.into(),
        kind: TaskQueueKind::Normal as i32,
        ..Default::default()
    })
}

fn json(value: &str) -> Payload {
    Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn big_payloads(bytes: usize) -> Option<Payloads> {
    Some(Payloads {
        payloads: vec![Payload {
            metadata: [("encoding".to_string(), b"binary/plain".to_vec())].into(),
            data: vec![b'x'; bytes],
            ..Default::default()
        }],
    })
}

fn start_request(id: &str, tq: &str) -> ws::StartWorkflowExecutionRequest {
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

fn prost_types_duration(seconds: i64) -> reprise::api::google::protobuf::Duration {
    reprise::api::google::protobuf::Duration { seconds, nanos: 0 }
}

fn retry(initial: i64, backoff: f64, max_interval: i64, attempts: i32) -> Option<RetryPolicy> {
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
enum Answer {
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
enum Match {
    /// Same code and the same message.
    Exact,
    /// Same code; the official message starts with this text, the bundled one too.
    Prefix(&'static str),
    /// Same code only (the official message comes from the gRPC library or names internals).
    Code,
}

/// Whether the bundled answer follows the official one; a description of the difference if not.
fn differs(official: &Answer, bundled: &Answer, how: Match) -> Option<String> {
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
struct Differences(Vec<String>);

impl Differences {
    fn compare(&mut self, case: &str, official: &Answer, bundled: &Answer, how: Match) {
        eprintln!("{case}:\n  official: {official:?}\n  bundled:  {bundled:?}");
        if let Some(d) = differs(official, bundled, how) {
            self.0.push(format!(
                "{case}: {d}\n  official: {official:?}\n  bundled:  {bundled:?}"
            ));
        }
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "{}", self.0.join("\n"));
    }
}

/// Runs one start request against both servers (the workflow id made unique per server run).
async fn start_both(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_start_requests_get_the_official_answers() {
    let mut p = pair().await;
    let tq = unique("tq");
    let base = || start_request(&unique("wf"), &tq);

    let cases: Vec<(&str, Match, ws::StartWorkflowExecutionRequest)> = vec![
        (
            "negative initial interval",
            Match::Code,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(-1, 2.0, 10, 3),
                ..base()
            },
        ),
        (
            "backoff below 1",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(1, 0.5, 10, 3),
                ..base()
            },
        ),
        (
            "negative maximum attempts",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(1, 2.0, 10, -1),
                ..base()
            },
        ),
        (
            "maximum interval below initial",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                retry_policy: retry(10, 2.0, 5, 3),
                ..base()
            },
        ),
        (
            "search attribute of the wrong type",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: [("CustomInt".to_string(), json("\"not a number\""))].into(),
                }),
                ..base()
            },
        ),
        (
            "undefined search attribute",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: [("NoSuchAttribute".to_string(), json("1"))].into(),
                }),
                ..base()
            },
        ),
        (
            "too many search attributes",
            // The official server checks them in Go's map order.
            Match::Prefix("Namespace default has no mapping defined for search attribute Attr"),
            ws::StartWorkflowExecutionRequest {
                search_attributes: Some(SearchAttributes {
                    indexed_fields: (0..101).map(|i| (format!("Attr{i}"), json("1"))).collect(),
                }),
                ..base()
            },
        ),
        (
            "3 MiB input",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                input: big_payloads(3 * MIB),
                ..base()
            },
        ),
        (
            "8 MiB input",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                input: big_payloads(8 * MIB),
                ..base()
            },
        ),
        (
            "4 MiB memo",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                memo: Some(Memo {
                    fields: [("m".to_string(), json(&"x".repeat(4 * MIB)))].into(),
                }),
                ..base()
            },
        ),
        (
            "2.5 MiB memo",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                memo: Some(Memo {
                    fields: [("m".to_string(), json(&"x".repeat(5 * MIB / 2)))].into(),
                }),
                ..base()
            },
        ),
        (
            "workflow id too long",
            Match::Exact,
            start_request(&"w".repeat(1001), &tq),
        ),
        (
            "workflow type too long",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                workflow_type: Some(WorkflowType {
                    name: "t".repeat(1001),
                }),
                ..base()
            },
        ),
        (
            "task queue too long",
            Match::Exact,
            start_request(&unique("wf"), &"q".repeat(1001)),
        ),
        (
            "request id too long",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                request_id: "r".repeat(1001),
                ..base()
            },
        ),
        (
            "identity too long",
            Match::Exact,
            ws::StartWorkflowExecutionRequest {
                identity: "i".repeat(1001),
                ..base()
            },
        ),
    ];
    let mut d = Differences::default();
    for (case, how, request) in cases {
        start_both(&mut p, &mut d, case, how, request).await;
    }
    d.assert_none();
}

/// Polls one workflow task of `tq` (the run was just started, so it comes at once).
async fn poll(s: &mut Service, tq: &str) -> ws::PollWorkflowTaskQueueResponse {
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

fn activity(id: &str, retry_policy: Option<RetryPolicy>, input: Option<Payloads>) -> Command {
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
async fn complete_with(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_commands_and_requests_on_a_run_get_the_official_answers() {
    let mut p = pair().await;
    let mut d = Differences::default();
    let cases: Vec<(&str, Vec<Command>)> = vec![
        (
            "activity with backoff below 1",
            vec![activity("a", retry(1, 0.5, 10, 3), None)],
        ),
        (
            "activity with negative maximum attempts",
            vec![activity("a", retry(1, 2.0, 10, -2), None)],
        ),
        (
            "activity with maximum interval below initial",
            vec![activity("a", retry(10, 2.0, 5, 3), None)],
        ),
        (
            "activity with negative initial interval",
            vec![activity("a", retry(-5, 2.0, 10, 3), None)],
        ),
        (
            "activity with a 3 MiB input",
            vec![activity("a", None, big_payloads(3 * MIB))],
        ),
        (
            "2001 activities",
            (0..2001)
                .map(|i| activity(&format!("a{i}"), None, None))
                .collect(),
        ),
    ];
    for (case, commands) in cases {
        // A queue per case: a failed task is retried on its queue.
        let tq = unique("tq");
        let official = complete_with(&mut p.official, &tq, commands.clone()).await;
        let bundled = complete_with(&mut p.bundled, &tq, commands).await;
        d.compare(
            &format!("{case} (answer)"),
            &official.0,
            &bundled.0,
            Match::Exact,
        );
        let events = |r: &(Answer, i32, Vec<String>)| {
            Answer::Err(
                tonic::Code::Ok,
                format!("{:?} {:?}", WorkflowExecutionStatus::try_from(r.1), r.2),
            )
        };
        d.compare(
            &format!("{case} (run)"),
            &events(&official),
            &events(&bundled),
            Match::Exact,
        );
    }

    // Requests on a stored run: refused, and the run is as it was.
    let tq = unique("tq");
    let id = unique("wf");
    let mut answers = Vec::new();
    for s in [&mut p.official, &mut p.bundled] {
        s.start_workflow_execution(start_request(&id, &tq))
            .await
            .expect("start");
        let execution = Some(WorkflowExecution {
            workflow_id: id.clone(),
            run_id: String::new(),
        });
        let signal = |input: Option<Payloads>, name: String| ws::SignalWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_execution: execution.clone(),
            signal_name: name,
            input,
            identity: "limits-test".into(),
            ..Default::default()
        };
        let a: Answer = s
            .signal_workflow_execution(signal(big_payloads(3 * MIB), "sig".into()))
            .await
            .into();
        let b: Answer = s
            .signal_workflow_execution(signal(big_payloads(5 * MIB), "sig".into()))
            .await
            .into();
        let c: Answer = s
            .signal_workflow_execution(signal(None, "s".repeat(1001)))
            .await
            .into();
        let list: Answer = s
            .list_workflow_executions(ws::ListWorkflowExecutionsRequest {
                namespace: "default".into(),
                page_size: 5000,
                ..Default::default()
            })
            .await
            .into();
        let history = s
            .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: execution.clone(),
                ..Default::default()
            })
            .await
            .expect("history")
            .into_inner();
        let types: Vec<EventType> = history
            .history
            .unwrap_or_default()
            .events
            .iter()
            .map(|e| e.event_type())
            .collect();
        answers.push((a, b, c, list, types));
    }
    let (o, b) = (&answers[0], &answers[1]);
    d.compare("3 MiB signal", &o.0, &b.0, Match::Exact);
    d.compare("5 MiB signal", &o.1, &b.1, Match::Code);
    d.compare("signal name too long", &o.2, &b.2, Match::Exact);
    d.compare("list page size 5000", &o.3, &b.3, Match::Exact);
    assert_eq!(
        o.4,
        vec![
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled
        ],
        "official: the refused signals left the run as it was"
    );
    assert_eq!(
        o.4, b.4,
        "bundled: the refused signals left the run as it was"
    );
    d.assert_none();
}

/// Starts a run whose first task schedules activity `a` on `tq`-act, and returns the run's id
/// and the activity task's token.
async fn run_with_activity(s: &mut Service, tq: &str) -> (String, Vec<u8>) {
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
async fn run_events(s: &mut Service, id: &str) -> String {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_activity_answers_get_the_official_answers() {
    let mut p = pair().await;
    let mut d = Differences::default();
    for case in [
        "completed",
        "failed",
        "failed without application info",
        "heartbeat",
        "canceled",
    ] {
        let mut results = Vec::new();
        for s in [&mut p.official, &mut p.bundled] {
            let tq = unique("tq");
            let (id, token) = run_with_activity(s, &tq).await;
            let answer: Answer = match case {
                "completed" => s
                    .respond_activity_task_completed(ws::RespondActivityTaskCompletedRequest {
                        namespace: "default".into(),
                        task_token: token,
                        result: big_payloads(3 * MIB),
                        ..Default::default()
                    })
                    .await
                    .into(),
                "failed" | "failed without application info" => {
                    use reprise::api::temporal::api::failure::v1::{
                        ApplicationFailureInfo, Failure, failure::FailureInfo,
                    };
                    let failure_info = (case == "failed").then(|| {
                        FailureInfo::ApplicationFailureInfo(ApplicationFailureInfo {
                            r#type: "Big".into(),
                            details: big_payloads(3 * MIB),
                            ..Default::default()
                        })
                    });
                    s.respond_activity_task_failed(ws::RespondActivityTaskFailedRequest {
                        namespace: "default".into(),
                        task_token: token,
                        failure: Some(Failure {
                            message: "big".into(),
                            failure_info,
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .map(|r| {
                        // The official answer lists the server failure it recorded.
                        let failures = r.get_ref().failures.len();
                        assert_eq!(failures, usize::from(case == "failed"), "{case}");
                        r
                    })
                    .into()
                }
                "heartbeat" => s
                    .record_activity_task_heartbeat(ws::RecordActivityTaskHeartbeatRequest {
                        namespace: "default".into(),
                        task_token: token,
                        details: big_payloads(3 * MIB),
                        ..Default::default()
                    })
                    .await
                    .into(),
                _ => s
                    .respond_activity_task_canceled(ws::RespondActivityTaskCanceledRequest {
                        namespace: "default".into(),
                        task_token: token,
                        details: big_payloads(3 * MIB),
                        ..Default::default()
                    })
                    .await
                    .into(),
            };
            tokio::time::sleep(Duration::from_millis(300)).await;
            results.push((answer, run_events(s, &id).await));
        }
        d.compare(
            &format!("3 MiB activity {case} (answer)"),
            &results[0].0,
            &results[1].0,
            Match::Exact,
        );
        d.compare(
            &format!("3 MiB activity {case} (events)"),
            &Answer::Err(tonic::Code::Ok, results[0].1.clone()),
            &Answer::Err(tonic::Code::Ok, results[1].1.clone()),
            Match::Exact,
        );
    }
    d.assert_none();
}

/// Sends `n` signals to a run, 32 at a time; the answers.
async fn signals(s: &mut Service, id: &str, n: usize) -> Vec<Result<(), tonic::Status>> {
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
async fn suggestion_after(s: &mut Service, n: usize) -> bool {
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
async fn full_history(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_as_new_is_suggested_past_the_official_event_count() {
    let mut p = pair().await;
    for n in [10, 4100] {
        let official = suggestion_after(&mut p.official, n).await;
        let bundled = suggestion_after(&mut p.bundled, n).await;
        assert_eq!(official, bundled, "after {n} signals");
        assert_eq!(official, n > 4000, "after {n} signals");
    }
}

/// Past 51,200 events (the dev server's `limit.historyCount.error`) a run is terminated with the
/// official reason and identity; every event written before stays. (Bundled server only: the
/// official one takes minutes for this many signals.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_past_the_count_limit_is_terminated_as_the_official_server_does() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("bundled server");
    let mut s = connect(&server.target()).await;
    let id = unique("wf");
    s.start_workflow_execution(start_request(&id, "tq"))
        .await
        .expect("start");
    let execution = Some(WorkflowExecution {
        workflow_id: id.clone(),
        run_id: String::new(),
    });
    let answers = signals(&mut s, &id, 52_000).await;
    for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    }
    // Start and the first task's schedule, then one event per signal: the signal that made
    // 51,201 events was the last one accepted.
    let accepted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(accepted, 51_199, "signals accepted before the termination");
    let mut events = Vec::new();
    let mut token = Vec::new();
    loop {
        let page = s
            .get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: execution.clone(),
                next_page_token: token,
                ..Default::default()
            })
            .await
            .expect("history")
            .into_inner();
        events.extend(page.history.unwrap_or_default().events);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(events.len(), 51_202);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.event_id == i as i64 + 1)
    );
    match events.last().and_then(|e| e.attributes.as_ref()) {
        Some(EventAttrs::WorkflowExecutionTerminatedEventAttributes(a)) => {
            assert_eq!(a.reason, "Workflow history count exceeds limit.");
            assert_eq!(a.identity, "history-service");
        }
        other => panic!("the last event is {other:?}"),
    }
    server.shutdown().await.expect("shutdown");
}
