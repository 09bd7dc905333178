//! Child workflows, parent close policies, and signals and cancellation requests to other
//! workflows, through raw worker RPCs against the bundled server.

mod support;

use reprise::api::temporal::api::command::v1::{self as cmd, command::Attributes as A};
use reprise::api::temporal::api::common::v1::{WorkflowExecution, WorkflowType};
use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType as E, ParentClosePolicy, WorkflowExecutionStatus,
};
use reprise::api::temporal::api::history::v1::history_event::Attributes as Ev;
use reprise::client::WorkflowOptions;
use std::time::Duration;
use support::*;

fn start_child(
    id: &str,
    tq: &str,
    policy: ParentClosePolicy,
) -> reprise::api::temporal::api::command::v1::Command {
    command(
        CommandType::StartChildWorkflowExecution,
        A::StartChildWorkflowExecutionCommandAttributes(
            cmd::StartChildWorkflowExecutionCommandAttributes {
                workflow_id: id.into(),
                workflow_type: Some(WorkflowType {
                    name: "Child".into(),
                }),
                task_queue: queue(tq),
                parent_close_policy: policy as i32,
                ..Default::default()
            },
        ),
    )
}

#[tokio::test]
async fn a_child_runs_and_reports_to_its_parent() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let child_tq = format!("{tq}-children");
    let parent = client
        .start_workflow("Parent", (), WorkflowOptions::new(unique("parent"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let child_id = unique("child");
    complete(
        &client,
        task.task_token,
        vec![start_child(
            &child_id,
            &child_tq,
            ParentClosePolicy::Terminate,
        )],
    )
    .await;

    let child_task = poll_task(&client, &child_tq).await;
    let child_history = child_task.history.clone().expect("history");
    let Some(Ev::WorkflowExecutionStartedEventAttributes(started)) =
        &child_history.events[0].attributes
    else {
        panic!()
    };
    assert_eq!(
        started
            .parent_workflow_execution
            .as_ref()
            .map(|e| e.workflow_id.as_str()),
        Some(parent.workflow_id())
    );
    assert_eq!(started.parent_initiated_event_id, 5);
    complete(
        &client,
        child_task.task_token,
        vec![complete_workflow(payloads(&client, &"from child"))],
    )
    .await;

    // The parent sees the child start, then complete.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let task = poll_task(&client, &tq).await;
        seen = types(task.history.as_ref().expect("h"));
        if seen.contains(&E::ChildWorkflowExecutionCompleted) {
            complete(&client, task.task_token, vec![complete_workflow(None)]).await;
            break;
        }
        complete(&client, task.task_token, vec![]).await;
    }
    assert!(
        seen.contains(&E::StartChildWorkflowExecutionInitiated),
        "{seen:?}"
    );
    assert!(seen.contains(&E::ChildWorkflowExecutionStarted), "{seen:?}");
    parent.result::<()>().await.expect("parent completed");
    let history = parent.fetch_history().await.expect("history");
    let completed = history.events.iter().find_map(|e| match &e.attributes {
        Some(Ev::ChildWorkflowExecutionCompletedEventAttributes(c)) => Some(c.clone()),
        _ => None,
    });
    let completed = completed.expect("ChildWorkflowExecutionCompleted");
    assert_eq!(completed.initiated_event_id, 5);
    let started_event = history
        .events
        .iter()
        .find(|e| e.event_id == completed.started_event_id)
        .expect("started");
    assert_eq!(
        started_event.event_type,
        E::ChildWorkflowExecutionStarted as i32
    );
    let result: String = client
        .data_converter()
        .from_payload(&completed.result.expect("result").payloads[0])
        .expect("decode");
    assert_eq!(result, "from child");
}

#[tokio::test]
async fn parent_close_policy_terminates_or_abandons_children() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let child_tq = format!("{tq}-children");
    let parent = client
        .start_workflow("Parent", (), WorkflowOptions::new(unique("parent"), &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let (doomed, abandoned) = (unique("doomed"), unique("abandoned"));
    complete(
        &client,
        task.task_token,
        vec![
            start_child(&doomed, &child_tq, ParentClosePolicy::Terminate),
            start_child(&abandoned, &child_tq, ParentClosePolicy::Abandon),
        ],
    )
    .await;
    // Wait until both children started, then close the parent.
    for _ in 0..100 {
        let d = parent.describe_raw().await.expect("describe");
        if d.pending_children.len() == 2 && d.pending_children.iter().all(|c| !c.run_id.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    parent
        .terminate("done", ())
        .await
        .expect("terminate parent");
    let status = |id: String| {
        let client = client.clone();
        async move {
            client
                .workflow_handle(id, None)
                .describe()
                .await
                .expect("describe")
                .status
        }
    };
    for _ in 0..100 {
        if status(doomed.clone()).await == WorkflowExecutionStatus::Terminated {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status(doomed).await, WorkflowExecutionStatus::Terminated);
    assert_eq!(status(abandoned).await, WorkflowExecutionStatus::Running);
}

#[tokio::test]
async fn signals_and_cancellation_requests_to_other_workflows() {
    let (_server, client) = start().await;
    let tq = unique("tq");
    let target_tq = format!("{tq}-target");
    let target = client
        .start_workflow(
            "Target",
            (),
            WorkflowOptions::new(unique("target"), &target_tq),
        )
        .await
        .expect("start target");
    let sender = client
        .start_workflow("Sender", (), WorkflowOptions::new(unique("sender"), &tq))
        .await
        .expect("start sender");
    let task = poll_task(&client, &tq).await;
    let signal = |id: &str| {
        command(
            CommandType::SignalExternalWorkflowExecution,
            A::SignalExternalWorkflowExecutionCommandAttributes(
                cmd::SignalExternalWorkflowExecutionCommandAttributes {
                    execution: Some(WorkflowExecution {
                        workflow_id: id.into(),
                        run_id: String::new(),
                    }),
                    signal_name: "poke".into(),
                    input: payloads(&client, &"hi"),
                    ..Default::default()
                },
            ),
        )
    };
    let cancel = command(
        CommandType::RequestCancelExternalWorkflowExecution,
        A::RequestCancelExternalWorkflowExecutionCommandAttributes(
            cmd::RequestCancelExternalWorkflowExecutionCommandAttributes {
                workflow_id: target.workflow_id().into(),
                reason: "enough".into(),
                ..Default::default()
            },
        ),
    );
    complete(
        &client,
        task.task_token,
        vec![
            signal(target.workflow_id()),
            signal("nobody-has-this-id"),
            cancel,
        ],
    )
    .await;

    let mut sender_types = Vec::new();
    for _ in 0..3 {
        let task = poll_task(&client, &tq).await;
        sender_types = types(task.history.as_ref().expect("h"));
        let done = sender_types.contains(&E::ExternalWorkflowExecutionSignaled)
            && sender_types.contains(&E::SignalExternalWorkflowExecutionFailed)
            && sender_types.contains(&E::ExternalWorkflowExecutionCancelRequested);
        complete(
            &client,
            task.task_token,
            if done {
                vec![complete_workflow(None)]
            } else {
                vec![]
            },
        )
        .await;
        if done {
            break;
        }
    }
    assert!(
        sender_types.contains(&E::ExternalWorkflowExecutionSignaled),
        "{sender_types:?}"
    );
    assert!(
        sender_types.contains(&E::SignalExternalWorkflowExecutionFailed),
        "{sender_types:?}"
    );
    assert!(
        sender_types.contains(&E::ExternalWorkflowExecutionCancelRequested),
        "{sender_types:?}"
    );
    sender.result::<()>().await.expect("sender completed");

    let history = target.fetch_history().await.expect("target history");
    let signaled = history.events.iter().find_map(|e| match &e.attributes {
        Some(Ev::WorkflowExecutionSignaledEventAttributes(s)) => Some(s.clone()),
        _ => None,
    });
    let signaled = signaled.expect("signaled");
    assert_eq!(signaled.signal_name, "poke");
    assert_eq!(
        signaled.external_workflow_execution.map(|e| e.workflow_id),
        Some(sender.workflow_id().to_string())
    );
    let cancel_requested = history.events.iter().find_map(|e| match &e.attributes {
        Some(Ev::WorkflowExecutionCancelRequestedEventAttributes(c)) => Some(c.clone()),
        _ => None,
    });
    let cancel_requested = cancel_requested.expect("cancel requested");
    assert_eq!(cancel_requested.cause, "enough");
    assert!(cancel_requested.external_initiated_event_id > 0);
}
