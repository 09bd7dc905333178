//! Helpers for driving the bundled server through raw worker RPCs.
#![allow(dead_code)]

use reprise::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes as A};
use reprise::api::temporal::api::common::v1::{ActivityType, Payloads, RetryPolicy};
use reprise::api::temporal::api::enums::v1::{CommandType, EventType, TaskQueueKind};
use reprise::api::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};
use reprise::api::temporal::api::history::v1::History;
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{Client, ClientOptions};
use reprise_testing::server::{ServerOptions, TestServer};
use std::time::Duration;

pub(crate) async fn start_with(options: ServerOptions) -> (TestServer, Client) {
    let server = TestServer::start(options).await.expect("start server");
    let client = Client::connect(ClientOptions::new(server.target()))
        .await
        .expect("connect");
    (server, client)
}

pub(crate) async fn start() -> (TestServer, Client) {
    start_with(ServerOptions::default()).await
}

/// An application failure of type `TestError`, as a worker reports it.
pub(crate) fn app_failure(message: &str, non_retryable: bool) -> Failure {
    Failure {
        message: message.into(),
        failure_info: Some(FailureInfo::ApplicationFailureInfo(
            ApplicationFailureInfo {
                r#type: "TestError".into(),
                non_retryable,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

pub(crate) fn queue(name: &str) -> Option<TaskQueue> {
    Some(TaskQueue {
        name: name.into(),
        kind: TaskQueueKind::Normal as i32,
        ..Default::default()
    })
}

pub(crate) fn sticky_queue(name: &str, normal: &str) -> Option<TaskQueue> {
    Some(TaskQueue {
        name: name.into(),
        kind: TaskQueueKind::Sticky as i32,
        normal_name: normal.into(),
    })
}

/// Polls a workflow task queue once (the server answers empty after its long-poll timeout).
pub(crate) async fn poll_once(
    client: &Client,
    task_queue: Option<TaskQueue>,
) -> ws::PollWorkflowTaskQueueResponse {
    client
        .workflow_service()
        .poll_workflow_task_queue(ws::PollWorkflowTaskQueueRequest {
            namespace: client.namespace().into(),
            task_queue,
            identity: "test-worker".into(),
            ..Default::default()
        })
        .await
        .expect("poll workflow task")
        .into_inner()
}

/// Polls until a workflow task arrives.
pub(crate) async fn poll_task(client: &Client, tq: &str) -> ws::PollWorkflowTaskQueueResponse {
    for _ in 0..50 {
        let r = poll_once(client, queue(tq)).await;
        if !r.task_token.is_empty() {
            return r;
        }
    }
    panic!("no workflow task on {tq}");
}

/// Polls until an activity task arrives.
pub(crate) async fn poll_activity(client: &Client, tq: &str) -> ws::PollActivityTaskQueueResponse {
    for _ in 0..50 {
        let r = client
            .workflow_service()
            .poll_activity_task_queue(ws::PollActivityTaskQueueRequest {
                namespace: client.namespace().into(),
                task_queue: queue(tq),
                identity: "test-activity-worker".into(),
                ..Default::default()
            })
            .await
            .expect("poll activity task")
            .into_inner();
        if !r.task_token.is_empty() {
            return r;
        }
    }
    panic!("no activity task on {tq}");
}

pub(crate) async fn respond(
    client: &Client,
    token: Vec<u8>,
    commands: Vec<Command>,
) -> Result<ws::RespondWorkflowTaskCompletedResponse, tonic::Status> {
    client
        .workflow_service()
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: token,
            commands,
            identity: "test-worker".into(),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

pub(crate) async fn complete(client: &Client, token: Vec<u8>, commands: Vec<Command>) {
    respond(client, token, commands)
        .await
        .expect("respond workflow task completed");
}

pub(crate) fn payloads(client: &Client, value: &impl serde::Serialize) -> Option<Payloads> {
    Some(Payloads {
        payloads: vec![client.data_converter().to_payload(value).expect("payload")],
    })
}

pub(crate) fn command(kind: CommandType, attributes: A) -> Command {
    Command {
        command_type: kind as i32,
        attributes: Some(attributes),
        ..Default::default()
    }
}

pub(crate) fn complete_workflow(result: Option<Payloads>) -> Command {
    command(
        CommandType::CompleteWorkflowExecution,
        A::CompleteWorkflowExecutionCommandAttributes(
            cmd::CompleteWorkflowExecutionCommandAttributes { result },
        ),
    )
}

pub(crate) fn start_timer(id: &str, after: Duration) -> Command {
    command(
        CommandType::StartTimer,
        A::StartTimerCommandAttributes(cmd::StartTimerCommandAttributes {
            timer_id: id.into(),
            start_to_fire_timeout: Some(after.into()),
        }),
    )
}

pub(crate) fn cancel_timer(id: &str) -> Command {
    command(
        CommandType::CancelTimer,
        A::CancelTimerCommandAttributes(cmd::CancelTimerCommandAttributes {
            timer_id: id.into(),
        }),
    )
}

/// `ScheduleActivityTask` with a start-to-close timeout and a retry policy.
pub(crate) fn schedule_activity(
    id: &str,
    kind: &str,
    tq: &str,
    start_to_close: Duration,
    retry: Option<RetryPolicy>,
) -> cmd::ScheduleActivityTaskCommandAttributes {
    cmd::ScheduleActivityTaskCommandAttributes {
        activity_id: id.into(),
        activity_type: Some(ActivityType { name: kind.into() }),
        task_queue: queue(tq),
        start_to_close_timeout: Some(start_to_close.into()),
        retry_policy: retry,
        ..Default::default()
    }
}

pub(crate) fn activity_command(a: cmd::ScheduleActivityTaskCommandAttributes) -> Command {
    command(
        CommandType::ScheduleActivityTask,
        A::ScheduleActivityTaskCommandAttributes(a),
    )
}

pub(crate) fn retry(initial: Duration, max_attempts: i32) -> Option<RetryPolicy> {
    Some(RetryPolicy {
        initial_interval: Some(initial.into()),
        backoff_coefficient: 2.0,
        maximum_attempts: max_attempts,
        ..Default::default()
    })
}

pub(crate) fn types(history: &History) -> Vec<EventType> {
    history
        .events
        .iter()
        .map(|e| EventType::try_from(e.event_type).unwrap_or(EventType::Unspecified))
        .collect()
}

/// A name unique to this process.
pub(crate) fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
}
