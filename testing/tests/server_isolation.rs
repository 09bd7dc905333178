//! Namespace isolation: nothing of namespace A is visible or changeable from namespace B, by
//! any read or write RPC, by id or by task token (a B request with an A token is refused as the
//! official server refuses it: "Operation requested with a token from a different namespace.").

mod support;

use reprise::api::temporal::api::common::v1::WorkflowExecution;
use reprise::api::temporal::api::enums::v1::{CommandType, TaskQueueType};
use reprise::api::temporal::api::query::v1::WorkflowQuery;
use reprise::api::temporal::api::update::v1::{Input, Meta, Request as UpdateRequest};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise_testing::server::ServerOptions;
use support::*;
use tonic::Code;

fn exec(id: &str) -> Option<WorkflowExecution> {
    Some(WorkflowExecution {
        workflow_id: id.into(),
        run_id: String::new(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_one_namespace_is_visible_or_changeable_from_another() {
    let (server, _default_ns) = start_with(
        ServerOptions::default()
            .with_namespace("team-a")
            .with_namespace("team-b"),
    )
    .await;
    let connect = |ns: &str| {
        Client::connect(ClientOptions::new(server.target()).with_namespace(ns.to_string()))
    };
    let (a, b) = (
        connect("team-a").await.expect("a"),
        connect("team-b").await.expect("b"),
    );
    let mut sb = b.workflow_service();
    let tq = "shared-queue-name";

    // In A: a workflow with a pending activity (its token), and a second workflow task pending.
    let handle = a
        .start_workflow("Secret", (), WorkflowOptions::new("secret-1", tq))
        .await
        .expect("start in A");
    let task = poll_task(&a, tq).await;
    complete(
        &a,
        task.task_token,
        vec![activity_command(
            reprise::api::temporal::api::command::v1::ScheduleActivityTaskCommandAttributes {
                activity_id: "1".into(),
                activity_type: Some(reprise::api::temporal::api::common::v1::ActivityType {
                    name: "charge".into(),
                }),
                task_queue: queue(tq),
                start_to_close_timeout: Some(
                    std::time::Duration::from_secs(60)
                        .try_into()
                        .expect("duration"),
                ),
                ..Default::default()
            },
        )],
    )
    .await;
    let activity = poll_activity(&a, tq).await;
    handle
        .signal_by_name("wake", ())
        .await
        .expect("signal in A");
    let wft = poll_task(&a, tq).await;
    let before = handle.fetch_history().await.expect("history").events.len();

    let not_found = |what: &str, r: Result<(), tonic::Status>| match r {
        Err(s) if s.code() == Code::NotFound => {}
        other => panic!("{what} from B: expected NotFound, got {other:?}"),
    };
    let refused_token = |what: &str, r: Result<(), tonic::Status>| match r {
        Err(s)
            if s.code() == Code::InvalidArgument
                && s.message()
                    == "Operation requested with a token from a different namespace." => {}
        other => panic!("{what} with A's token from B: got {other:?}"),
    };
    let ns = || "team-b".to_string();

    // Reads by id.
    not_found(
        "describe",
        sb.describe_workflow_execution(ws::DescribeWorkflowExecutionRequest {
            namespace: ns(),
            execution: exec("secret-1"),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "history",
        sb.get_workflow_execution_history(ws::GetWorkflowExecutionHistoryRequest {
            namespace: ns(),
            execution: exec("secret-1"),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "reverse history",
        sb.get_workflow_execution_history_reverse(ws::GetWorkflowExecutionHistoryReverseRequest {
            namespace: ns(),
            execution: exec("secret-1"),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "query",
        sb.query_workflow(ws::QueryWorkflowRequest {
            namespace: ns(),
            execution: exec("secret-1"),
            query: Some(WorkflowQuery {
                query_type: "state".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    // Writes by id.
    not_found(
        "signal",
        sb.signal_workflow_execution(ws::SignalWorkflowExecutionRequest {
            namespace: ns(),
            workflow_execution: exec("secret-1"),
            signal_name: "x".into(),
            request_id: "r1".into(),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "cancel",
        sb.request_cancel_workflow_execution(ws::RequestCancelWorkflowExecutionRequest {
            namespace: ns(),
            workflow_execution: exec("secret-1"),
            request_id: "r2".into(),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "terminate",
        sb.terminate_workflow_execution(ws::TerminateWorkflowExecutionRequest {
            namespace: ns(),
            workflow_execution: exec("secret-1"),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "update",
        sb.update_workflow_execution(ws::UpdateWorkflowExecutionRequest {
            namespace: ns(),
            workflow_execution: exec("secret-1"),
            request: Some(UpdateRequest {
                meta: Some(Meta {
                    update_id: "u1".into(),
                    identity: "b".into(),
                }),
                input: Some(Input {
                    name: "set".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "delete",
        sb.delete_workflow_execution(ws::DeleteWorkflowExecutionRequest {
            namespace: ns(),
            workflow_execution: exec("secret-1"),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    not_found(
        "reset sticky",
        sb.reset_sticky_task_queue(ws::ResetStickyTaskQueueRequest {
            namespace: ns(),
            execution: exec("secret-1"),
        })
        .await
        .map(drop),
    );
    for (what, r) in [
        (
            "heartbeat by id",
            sb.record_activity_task_heartbeat_by_id(ws::RecordActivityTaskHeartbeatByIdRequest {
                namespace: ns(),
                workflow_id: "secret-1".into(),
                activity_id: "1".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        ),
        (
            "complete activity by id",
            sb.respond_activity_task_completed_by_id(ws::RespondActivityTaskCompletedByIdRequest {
                namespace: ns(),
                workflow_id: "secret-1".into(),
                activity_id: "1".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        ),
        (
            "cancel activity by id",
            sb.respond_activity_task_canceled_by_id(ws::RespondActivityTaskCanceledByIdRequest {
                namespace: ns(),
                workflow_id: "secret-1".into(),
                activity_id: "1".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        ),
    ] {
        not_found(what, r);
    }

    // Tokens of A used from B.
    refused_token("complete workflow task", sb.respond_workflow_task_completed(
        ws::RespondWorkflowTaskCompletedRequest {
            namespace: ns(), task_token: wft.task_token.clone(),
            commands: vec![command(CommandType::CompleteWorkflowExecution,
                reprise::api::temporal::api::command::v1::command::Attributes::CompleteWorkflowExecutionCommandAttributes(Default::default()))],
            ..Default::default()
        }).await.map(drop));
    refused_token(
        "fail workflow task",
        sb.respond_workflow_task_failed(ws::RespondWorkflowTaskFailedRequest {
            namespace: ns(),
            task_token: wft.task_token.clone(),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    refused_token(
        "heartbeat",
        sb.record_activity_task_heartbeat(ws::RecordActivityTaskHeartbeatRequest {
            namespace: ns(),
            task_token: activity.task_token.clone(),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    refused_token(
        "complete activity",
        sb.respond_activity_task_completed(ws::RespondActivityTaskCompletedRequest {
            namespace: ns(),
            task_token: activity.task_token.clone(),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    refused_token(
        "fail activity",
        sb.respond_activity_task_failed(ws::RespondActivityTaskFailedRequest {
            namespace: ns(),
            task_token: activity.task_token.clone(),
            failure: Some(app_failure("x", true)),
            ..Default::default()
        })
        .await
        .map(drop),
    );
    refused_token(
        "cancel activity",
        sb.respond_activity_task_canceled(ws::RespondActivityTaskCanceledRequest {
            namespace: ns(),
            task_token: activity.task_token.clone(),
            ..Default::default()
        })
        .await
        .map(drop),
    );

    // Lists, counts, queues: nothing of A.
    let listed = sb
        .list_workflow_executions(ws::ListWorkflowExecutionsRequest {
            namespace: ns(),
            ..Default::default()
        })
        .await
        .expect("list in B")
        .into_inner();
    assert!(listed.executions.is_empty(), "{:?}", listed.executions);
    let counted = sb
        .count_workflow_executions(ws::CountWorkflowExecutionsRequest {
            namespace: ns(),
            ..Default::default()
        })
        .await
        .expect("count in B")
        .into_inner();
    assert_eq!(counted.count, 0);
    let queue_view = sb
        .describe_task_queue(ws::DescribeTaskQueueRequest {
            namespace: ns(),
            task_queue: queue(tq),
            task_queue_type: TaskQueueType::Workflow as i32,
            ..Default::default()
        })
        .await
        .expect("describe queue in B")
        .into_inner();
    assert!(
        queue_view.pollers.is_empty(),
        "A's pollers seen from B: {:?}",
        queue_view.pollers
    );
    // A poll in B on the same queue name gets nothing of A's: a new workflow of A waits on
    // that queue, B's poll (1 s deadline) comes back empty, A's poll then gets it.
    a.start_workflow("Secret", (), WorkflowOptions::new("secret-2", tq))
        .await
        .expect("second workflow in A");
    let mut poll = tonic::Request::new(ws::PollWorkflowTaskQueueRequest {
        namespace: ns(),
        task_queue: queue(tq),
        identity: "b-worker".into(),
        ..Default::default()
    });
    poll.set_timeout(std::time::Duration::from_secs(1));
    let polled = sb
        .poll_workflow_task_queue(poll)
        .await
        .expect("poll in B")
        .into_inner();
    assert!(
        polled.task_token.is_empty(),
        "B received A's task: {:?}",
        polled.workflow_execution
    );
    let a_task = poll_task(&a, tq).await;
    assert_eq!(
        a_task.workflow_execution.map(|e| e.workflow_id).as_deref(),
        Some("secret-2")
    );
    // B may start its own workflow with the same id: a different execution.
    let b_handle = b
        .start_workflow("Other", (), WorkflowOptions::new("secret-1", "b-queue"))
        .await
        .expect("B's own workflow with the same id");
    assert_ne!(b_handle.run_id(), handle.run_id());

    // A is untouched: same history, still running, its tasks still completable by A.
    let after = handle.fetch_history().await.expect("history");
    assert_eq!(after.events.len(), before, "A's history changed");
    complete(&a, wft.task_token, vec![]).await;
    a.workflow_service()
        .respond_activity_task_completed(ws::RespondActivityTaskCompletedRequest {
            namespace: "team-a".into(),
            task_token: activity.task_token,
            ..Default::default()
        })
        .await
        .expect("A completes its own activity");
}
