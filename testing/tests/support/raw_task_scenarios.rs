//! The workflow-task protocol driven through raw RPCs, as a worker would: query tasks and
//! queries riding on workflow tasks, updates through protocol messages, speculative tasks that
//! are discarded or kept, unanswered updates, sticky queues, transient retries. Included next to
//! `raw_scenarios.rs` (whose helpers it uses) by every test binary that runs the shared
//! scenarios; the same assertions must hold on the official dev server and on the bundled one.

use crate::raw_scenarios::{
    client_for, complete_command, complete_task, event_types, payloads, poll_task, unique,
};
use prost::{Message as _, Name};
use reprise::api::google::protobuf::Any;
use reprise::api::temporal::api::command::v1::{
    self as cmd, Command, command::Attributes as CommandAttrs,
};
use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType, QueryResultType, TaskQueueKind,
};
use reprise::api::temporal::api::history::v1::history_event::Attributes as EventAttrs;
use reprise::api::temporal::api::protocol::v1::{
    Message as ProtocolMessage, message::SequencingId,
};
use reprise::api::temporal::api::taskqueue::v1::{StickyExecutionAttributes, TaskQueue};
use reprise::api::temporal::api::update::v1 as upd;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{Client, ClientError, UpdateStage, WorkflowOptions};
use reprise::converter::{ApplicationFailure, Failure};
use std::time::{Duration, Instant};

#[tokio::test]
async fn query_answered_by_a_raw_query_task() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Queried", (), WorkflowOptions::new(unique("query"), &tq))
        .await
        .expect("start");
    // Finish the first workflow task without closing the workflow, so queries get their own task.
    let task = poll_task(&client, &tq).await;
    complete_task(&client, task.task_token, vec![], vec![]).await;

    let answering = {
        let client = client.clone();
        let tq = tq.clone();
        tokio::spawn(async move {
            let task = poll_task(&client, &tq).await;
            let query = task.query.expect("a legacy query task");
            assert_eq!(query.query_type, "stage");
            let (arg,): (String,) = reprise::converter::FromPayloads::from_payloads(
                client.data_converter(),
                &query.query_args.expect("args").payloads,
            )
            .expect("decode query args");
            client
                .workflow_service()
                .respond_query_task_completed(ws::RespondQueryTaskCompletedRequest {
                    task_token: task.task_token,
                    completed_type: QueryResultType::Answered as i32,
                    query_result: payloads(&client, &format!("stage for {arg}")),
                    namespace: client.namespace().into(),
                    ..Default::default()
                })
                .await
                .expect("respond query");
        })
    };
    let answer: String = handle
        .query_by_name("stage", ("bob",))
        .await
        .expect("query");
    answering.await.expect("query task");
    assert_eq!(answer, "stage for bob");
    handle.terminate("cleanup", ()).await.expect("terminate");
}

/// Queries are consistent: one that arrives while a workflow task is pending rides on that task
/// (so it sees the task's new events); one that arrives while a task runs waits for it.
#[tokio::test]
async fn queries_ride_on_the_pending_task_or_wait_for_the_running_one() {
    use reprise::api::temporal::api::query::v1::WorkflowQueryResult;
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Consistent",
            (),
            WorkflowOptions::new(unique("consistent"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete_task(&client, task.task_token, vec![], vec![]).await;

    // A signal schedules a task; a query asked before any worker takes it rides on it.
    handle.signal_by_name("add", (5,)).await.expect("signal");
    let query = tokio::spawn({
        let handle = handle.clone();
        async move { handle.query_by_name::<String>("total", ()).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let task = poll_task(&client, &tq).await;
    assert!(task.query.is_none(), "a workflow task, not a query task");
    assert_eq!(task.queries.len(), 1, "the query rides on the task");
    let (query_id, attached) = task.queries.iter().next().expect("query");
    assert_eq!(attached.query_type, "total");
    assert!(
        event_types(task.history.as_ref().expect("history"))
            .contains(&EventType::WorkflowExecutionSignaled),
        "the task carries the signal the query must see"
    );
    client
        .workflow_service()
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: task.task_token,
            identity: "raw-test-worker".into(),
            namespace: client.namespace().into(),
            query_results: [(
                query_id.clone(),
                WorkflowQueryResult {
                    result_type: QueryResultType::Answered as i32,
                    answer: payloads(&client, &"total 5"),
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        })
        .await
        .expect("complete with the query's answer");
    let answer = query.await.expect("query task").expect("query");
    assert_eq!(answer, "total 5");

    // A query asked while a task runs waits for that task, then comes as a query task.
    handle.signal_by_name("add", (7,)).await.expect("signal");
    let running = poll_task(&client, &tq).await;
    let query = tokio::spawn({
        let handle = handle.clone();
        async move { handle.query_by_name::<String>("total", ()).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!query.is_finished());
    complete_task(&client, running.task_token, vec![], vec![]).await;
    let task = poll_task(&client, &tq).await;
    let legacy = task
        .query
        .expect("a query task once the running task is done");
    assert_eq!(legacy.query_type, "total");
    client
        .workflow_service()
        .respond_query_task_completed(ws::RespondQueryTaskCompletedRequest {
            task_token: task.task_token,
            completed_type: QueryResultType::Answered as i32,
            query_result: payloads(&client, &"total 12"),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("respond query");
    let answer = query.await.expect("query task").expect("query");
    assert_eq!(answer, "total 12");
    handle.terminate("cleanup", ()).await.expect("terminate");
}

#[tokio::test]
async fn update_accepted_and_completed_through_protocol_messages() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Updated", (), WorkflowOptions::new(unique("update"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete_task(&client, task.task_token, vec![], vec![]).await;

    let worker = {
        let client = client.clone();
        let tq = tq.clone();
        tokio::spawn(async move {
            let task = poll_task(&client, &tq).await;
            let request_message = task
                .messages
                .first()
                .expect("an update request message")
                .clone();
            let request = upd::Request::decode(
                request_message
                    .body
                    .as_ref()
                    .expect("body")
                    .value
                    .as_slice(),
            )
            .expect("request");
            let input = request.input.clone().expect("input");
            assert_eq!(input.name, "add");
            let (n,): (i64,) = reprise::converter::FromPayloads::from_payloads(
                client.data_converter(),
                &input.args.expect("args").payloads,
            )
            .expect("args");
            let instance = request_message.protocol_instance_id.clone();
            let sequencing = match request_message.sequencing_id {
                Some(SequencingId::EventId(id)) => id,
                _ => task.started_event_id - 1,
            };
            let acceptance = upd::Acceptance {
                accepted_request_message_id: request_message.id.clone(),
                accepted_request_sequencing_event_id: sequencing,
                accepted_request: Some(request.clone()),
            };
            let response = upd::Response {
                meta: request.meta.clone(),
                outcome: Some(upd::Outcome {
                    value: Some(upd::outcome::Value::Success(
                        payloads(&client, &(n + 1)).expect("payloads"),
                    )),
                }),
            };
            let message = |id: &str, body: Vec<u8>, type_url: String| ProtocolMessage {
                id: id.into(),
                protocol_instance_id: instance.clone(),
                body: Some(Any {
                    type_url,
                    value: body,
                }),
                sequencing_id: None,
            };
            let messages = vec![
                message(
                    &format!("{instance}/accept"),
                    acceptance.encode_to_vec(),
                    upd::Acceptance::type_url(),
                ),
                message(
                    &format!("{instance}/complete"),
                    response.encode_to_vec(),
                    upd::Response::type_url(),
                ),
            ];
            let commands = messages
                .iter()
                .map(|m| Command {
                    command_type: CommandType::ProtocolMessage as i32,
                    attributes: Some(CommandAttrs::ProtocolMessageCommandAttributes(
                        cmd::ProtocolMessageCommandAttributes {
                            message_id: m.id.clone(),
                        },
                    )),
                    ..Default::default()
                })
                .collect();
            complete_task(&client, task.task_token, commands, messages).await;
        })
    };
    let update = handle
        .start_update_by_name("add", (41_i64,), UpdateStage::Accepted)
        .await
        .expect("accepted");
    assert!(!update.id().is_empty());
    assert_eq!(update.result::<i64>().await.expect("update result"), 42);
    worker.await.expect("worker");
    let history = handle.fetch_history().await.expect("history");
    let types = event_types(&history);
    assert!(types.contains(&EventType::WorkflowExecutionUpdateAccepted));
    assert!(types.contains(&EventType::WorkflowExecutionUpdateCompleted));
    handle.terminate("cleanup", ()).await.expect("terminate");
}

/// Polls `queue` until a workflow task comes.
async fn poll_queue(client: &Client, queue: TaskQueue) -> ws::PollWorkflowTaskQueueResponse {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = client
            .workflow_service()
            .poll_workflow_task_queue(ws::PollWorkflowTaskQueueRequest {
                namespace: client.namespace().into(),
                task_queue: Some(queue.clone()),
                identity: "raw-test-worker".into(),
                ..Default::default()
            })
            .await
            .expect("poll")
            .into_inner();
        if !response.task_token.is_empty() {
            return response;
        }
        assert!(Instant::now() < deadline, "no workflow task on {queue:?}");
    }
}

/// Answers a workflow task carrying one update request by rejecting it (and nothing else),
/// keeping the run on `sticky`; returns the server's `reset_history_event_id`.
async fn reject_only(
    client: &Client,
    task: ws::PollWorkflowTaskQueueResponse,
    sticky: &TaskQueue,
    takes_events_again: bool,
) -> i64 {
    let request = task.messages.first().expect("an update request").clone();
    let rejection = upd::Rejection {
        rejected_request_message_id: request.id.clone(),
        rejected_request_sequencing_event_id: match request.sequencing_id {
            Some(SequencingId::EventId(id)) => id,
            _ => task.started_event_id - 1,
        },
        rejected_request: upd::Request::decode(
            request.body.as_ref().expect("body").value.as_slice(),
        )
        .ok(),
        failure: Some(Failure::from(ApplicationFailure::new("not allowed")).to_proto()),
    };
    client
        .workflow_service()
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: task.task_token,
            messages: vec![ProtocolMessage {
                id: format!("{}/reject", request.protocol_instance_id),
                protocol_instance_id: request.protocol_instance_id.clone(),
                body: Some(Any {
                    type_url: upd::Rejection::type_url(),
                    value: rejection.encode_to_vec(),
                }),
                sequencing_id: None,
            }],
            identity: "raw-test-worker".into(),
            namespace: client.namespace().into(),
            sticky_attributes: Some(sticky_attributes(sticky)),
            capabilities: Some(ws::respond_workflow_task_completed_request::Capabilities {
                discard_speculative_workflow_task_with_events: takes_events_again,
            }),
            ..Default::default()
        })
        .await
        .expect("respond workflow task completed")
        .into_inner()
        .reset_history_event_id
}

fn sticky_attributes(queue: &TaskQueue) -> StickyExecutionAttributes {
    StickyExecutionAttributes {
        worker_task_queue: Some(queue.clone()),
        schedule_to_start_timeout: Some(Duration::from_secs(10).into()),
    }
}

fn ids_and_types(task: &ws::PollWorkflowTaskQueueResponse) -> Vec<(i64, EventType)> {
    let history = task.history.as_ref().expect("history");
    let types = event_types(history);
    history
        .events
        .iter()
        .map(|e| e.event_id)
        .zip(types)
        .collect()
}

/// A speculative workflow task (one the server made for an update) whose worker only rejects the
/// update leaves no trace in the history, unless it showed events besides the previous task's
/// `WorkflowTaskCompleted` and the worker did not say it can take those again; a discarded task's
/// completion names the event to roll back to, and the next task on the sticky queue shows the
/// same events with the same ids again.
#[tokio::test]
async fn a_speculative_task_that_only_rejects_an_update_is_discarded_or_kept() {
    use EventType as E;
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let sticky = TaskQueue {
        name: unique("sticky"),
        kind: TaskQueueKind::Sticky as i32,
        normal_name: tq.clone(),
    };
    let handle = client
        .start_workflow("Rejecting", (), WorkflowOptions::new(unique("reject"), &tq))
        .await
        .expect("start");
    // Task 1 starts a timer and moves the run to a sticky queue: events 1-5.
    let task = poll_task(&client, &tq).await;
    client
        .workflow_service()
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: task.task_token,
            commands: vec![Command {
                command_type: CommandType::StartTimer as i32,
                attributes: Some(CommandAttrs::StartTimerCommandAttributes(
                    cmd::StartTimerCommandAttributes {
                        timer_id: "1".into(),
                        start_to_fire_timeout: Some(Duration::from_secs(3600).into()),
                    },
                )),
                ..Default::default()
            }],
            identity: "raw-test-worker".into(),
            namespace: client.namespace().into(),
            sticky_attributes: Some(sticky_attributes(&sticky)),
            ..Default::default()
        })
        .await
        .expect("complete task 1");
    let history = || async { event_types(&handle.fetch_history().await.expect("history")) };
    let first_five = history().await;
    assert_eq!(first_five.len(), 5);
    // An update to be rejected, and the task that brings it on the sticky queue (polled first:
    // the official server sends a task to a sticky queue only while a worker polls it).
    let rejected_update = |n: i64| {
        let (handle, client, sticky) = (handle.clone(), client.clone(), sticky.clone());
        async move {
            let poll = tokio::spawn(async move { poll_queue(&client, sticky).await });
            tokio::time::sleep(Duration::from_millis(500)).await;
            let update = tokio::spawn(async move {
                match handle
                    .start_update_by_name("change", (n,), UpdateStage::Completed)
                    .await
                {
                    Err(ClientError::UpdateFailed(f)) => assert_eq!(f.message, "not allowed"),
                    other => panic!("expected a rejection, got {other:?}"),
                }
            });
            (update, poll.await.expect("poll"))
        }
    };
    let shown = vec![
        (4, E::WorkflowTaskCompleted),
        (5, E::TimerStarted),
        (6, E::WorkflowTaskScheduled),
        (7, E::WorkflowTaskStarted),
    ];

    // A worker that takes events again: the task is discarded, the worker rolls back to 3.
    let (update, task) = rejected_update(1).await;
    assert_eq!(
        (task.previous_started_event_id, task.started_event_id),
        (3, 7)
    );
    assert_eq!(ids_and_types(&task), shown);
    // While it runs, the history ends with the task's own events, as the task shows them...
    let mut running = first_five.clone();
    running.extend([E::WorkflowTaskScheduled, E::WorkflowTaskStarted]);
    assert_eq!(history().await, running);
    assert_eq!(reject_only(&client, task, &sticky, true).await, 3);
    // ...and once it is discarded they are gone.
    update.await.expect("update");
    assert_eq!(history().await, first_five);

    // The next task shows the same events again; a worker that cannot take them again keeps it.
    let (update, task) = rejected_update(2).await;
    assert_eq!(
        (task.previous_started_event_id, task.started_event_id),
        (3, 7)
    );
    assert_eq!(ids_and_types(&task), shown);
    assert_eq!(reject_only(&client, task, &sticky, false).await, 0);
    update.await.expect("update");
    let mut kept = first_five.clone();
    kept.extend([
        E::WorkflowTaskScheduled,
        E::WorkflowTaskStarted,
        E::WorkflowTaskCompleted,
    ]);
    assert_eq!(history().await, kept);

    // A task that shows only the previous task's completion is discarded for any worker.
    let (update, task) = rejected_update(3).await;
    assert_eq!(
        (task.previous_started_event_id, task.started_event_id),
        (7, 10)
    );
    assert_eq!(
        ids_and_types(&task),
        [
            (8, E::WorkflowTaskCompleted),
            (9, E::WorkflowTaskScheduled),
            (10, E::WorkflowTaskStarted)
        ]
    );
    assert_eq!(reject_only(&client, task, &sticky, false).await, 7);
    update.await.expect("update");
    assert_eq!(history().await, kept);
    handle.terminate("cleanup", ()).await.expect("terminate");
}

#[tokio::test]
async fn an_update_the_worker_leaves_unanswered_is_rejected() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "Unanswering",
            (),
            WorkflowOptions::new(unique("unanswered"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    complete_task(&client, task.task_token, Vec::new(), Vec::new()).await;
    let update = tokio::spawn({
        let handle = handle.clone();
        async move {
            handle
                .start_update_by_name("change", (1,), UpdateStage::Completed)
                .await
        }
    });
    // The task that brings the update; the worker answers it with neither an acceptance nor a
    // rejection.
    let task = poll_task(&client, &tq).await;
    assert_eq!(task.messages.len(), 1, "the update comes with the task");
    complete_task(&client, task.task_token, Vec::new(), Vec::new()).await;
    let outcome = tokio::time::timeout(Duration::from_secs(20), update)
        .await
        .expect("the update is answered")
        .expect("update task");
    match outcome {
        Err(ClientError::UpdateFailed(f)) => {
            assert!(
                f.message.contains("wasn't processed by worker"),
                "{}",
                f.message
            )
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let described = handle.describe().await.expect("describe");
    assert_eq!(
        described.status,
        reprise::api::temporal::api::enums::v1::WorkflowExecutionStatus::Running
    );
}

#[tokio::test]
async fn a_task_for_a_sticky_queue_nobody_polls_goes_to_the_normal_queue_at_once() {
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let sticky = TaskQueue {
        name: unique("abandoned-sticky"),
        kind: TaskQueueKind::Sticky as i32,
        normal_name: tq.clone(),
    };
    let handle = client
        .start_workflow(
            "Abandoned",
            (),
            WorkflowOptions::new(unique("abandoned"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    // The worker asks for a sticky queue (10 s schedule-to-start) and never polls it.
    client
        .workflow_service()
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: task.task_token,
            identity: "raw-test-worker".into(),
            namespace: client.namespace().into(),
            sticky_attributes: Some(sticky_attributes(&sticky)),
            ..Default::default()
        })
        .await
        .expect("complete task 1");
    handle.signal_by_name("poke", ()).await.expect("signal");
    let asked = Instant::now();
    let task = poll_task(&client, &tq).await;
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "the task reached the normal queue after {:?}",
        asked.elapsed()
    );
    assert_eq!(
        task.history
            .as_ref()
            .and_then(|h| h.events.first())
            .map(|e| e.event_id),
        Some(1),
        "a task from the normal queue carries the whole history"
    );
    assert!(
        event_types(task.history.as_ref().expect("history"))
            .contains(&EventType::WorkflowExecutionSignaled)
    );
}

/// A workflow task that keeps failing leaves one `WorkflowTaskFailed` in the history: its retries
/// are transient — their events are shown to the worker (and at the end of the history while
/// pending) but written only once one completes — and the first retries come at once.
#[tokio::test]
async fn retries_of_a_failing_workflow_task_are_transient() {
    use EventType as E;
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow("Flaky", (), WorkflowOptions::new(unique("flaky"), &tq))
        .await
        .expect("start");
    let fail = |task: ws::PollWorkflowTaskQueueResponse| {
        let client = client.clone();
        async move {
            client
                .workflow_service()
                .respond_workflow_task_failed(ws::RespondWorkflowTaskFailedRequest {
                    task_token: task.task_token,
                    cause: reprise::api::temporal::api::enums::v1::WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure as i32,
                    identity: "raw-test-worker".into(),
                    namespace: client.namespace().into(),
                    ..Default::default()
                })
                .await
                .expect("fail the task");
        }
    };
    let ids_and_kinds = |events: &[reprise::api::temporal::api::history::v1::HistoryEvent]| {
        events
            .iter()
            .map(|e| {
                (
                    e.event_id,
                    EventType::try_from(e.event_type).unwrap_or(E::Unspecified),
                )
            })
            .collect::<Vec<_>>()
    };
    let failed_once = vec![
        (1, E::WorkflowExecutionStarted),
        (2, E::WorkflowTaskScheduled),
        (3, E::WorkflowTaskStarted),
        (4, E::WorkflowTaskFailed),
    ];
    let mut pending = failed_once.clone();
    pending.push((5, E::WorkflowTaskScheduled));
    let mut shown = pending.clone();
    shown.push((6, E::WorkflowTaskStarted));

    let first = poll_task(&client, &tq).await;
    assert_eq!(first.attempt, 1);
    fail(first).await;
    let started = Instant::now();
    for attempt in 2..=3 {
        assert_eq!(
            ids_and_kinds(&handle.fetch_history().await.expect("history").events),
            pending,
            "before attempt {attempt}: one failure stored, the retry's scheduled event shown"
        );
        let task = poll_task(&client, &tq).await;
        assert_eq!(task.attempt, attempt);
        assert_eq!(
            ids_and_kinds(&task.history.as_ref().expect("history").events),
            shown
        );
        fail(task).await;
    }
    let task = poll_task(&client, &tq).await;
    assert_eq!(task.attempt, 4);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the first retries come at once"
    );
    complete_task(
        &client,
        task.task_token,
        vec![complete_command(None)],
        vec![],
    )
    .await;
    let history = handle.fetch_history().await.expect("history");
    let mut completed = shown.clone();
    completed.extend([
        (7, E::WorkflowTaskCompleted),
        (8, E::WorkflowExecutionCompleted),
    ]);
    assert_eq!(ids_and_kinds(&history.events), completed);
    let scheduled_attempt = history.events.get(4).and_then(|e| match &e.attributes {
        Some(EventAttrs::WorkflowTaskScheduledEventAttributes(a)) => Some(a.attempt),
        _ => None,
    });
    assert_eq!(
        scheduled_attempt,
        Some(4),
        "the written retry records its attempt"
    );
}

/// A run terminated while a transient retry waits for a worker: the retry leaves no events.
#[tokio::test]
async fn terminating_during_a_transient_retry_writes_no_retry_events() {
    use EventType as E;
    let (_server, target) = crate::start().await;
    let client = client_for(&target).await;
    let tq = unique("tq");
    let handle = client
        .start_workflow(
            "FlakyThenTerminated",
            (),
            WorkflowOptions::new(unique("flaky-term"), &tq),
        )
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    client
        .workflow_service()
        .respond_workflow_task_failed(ws::RespondWorkflowTaskFailedRequest {
            task_token: task.task_token,
            cause: reprise::api::temporal::api::enums::v1::WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure as i32,
            identity: "raw-test-worker".into(),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("fail the task");
    handle.terminate("enough", ()).await.expect("terminate");
    eprintln!(
        "PROBE {:?}",
        event_types(&handle.fetch_history().await.expect("history"))
    );
    assert_eq!(
        event_types(&handle.fetch_history().await.expect("history")),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskFailed,
            E::WorkflowExecutionTerminated
        ]
    );
}
