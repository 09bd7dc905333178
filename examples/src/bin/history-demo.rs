//! Starts the official Temporal dev server, runs one workflow through it without a worker (the
//! demo answers the workflow task with a raw `CompleteWorkflowExecution` command, as a worker
//! would), and prints the recorded history in the CLI's JSON format.
//!
//! Run it with `./scripts/demo.sh` (which installs the pinned `temporal` CLI when missing).
#![allow(clippy::print_stdout)]

use reprise::api::temporal::api::command::v1::{
    Command, CompleteWorkflowExecutionCommandAttributes, command::Attributes,
};
use reprise::api::temporal::api::common::v1::Payloads;
use reprise::api::temporal::api::enums::v1::{CommandType, TaskQueueKind};
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise_testing::DevServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    eprintln!("starting the official Temporal dev server…");
    let server = DevServer::start()?;
    eprintln!("dev server listening on {}", server.address());
    let client = Client::connect(ClientOptions::new(server.address())).await?;

    let task_queue = "demo";
    let handle = client
        .start_workflow(
            "GreetingWorkflow",
            ("World",),
            WorkflowOptions::new("demo-greeting", task_queue),
        )
        .await?;
    handle
        .signal_by_name("nudge", ("hello from the client",))
        .await?;

    // Play the worker: take the workflow task and complete the workflow.
    let mut service = client.workflow_service();
    let task = loop {
        let task = service
            .poll_workflow_task_queue(ws::PollWorkflowTaskQueueRequest {
                namespace: client.namespace().into(),
                task_queue: Some(TaskQueue {
                    name: task_queue.into(),
                    kind: TaskQueueKind::Normal as i32,
                    ..Default::default()
                }),
                identity: client.identity().into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        if !task.task_token.is_empty() {
            break task;
        }
    };
    let result = client.data_converter().to_payload(&"Hello, World!")?;
    service
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: task.task_token,
            commands: vec![Command {
                command_type: CommandType::CompleteWorkflowExecution as i32,
                attributes: Some(Attributes::CompleteWorkflowExecutionCommandAttributes(
                    CompleteWorkflowExecutionCommandAttributes {
                        result: Some(Payloads {
                            payloads: vec![result],
                        }),
                    },
                )),
                ..Default::default()
            }],
            identity: client.identity().into(),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await?;

    let greeting: String = handle.result().await?;
    eprintln!("workflow result: {greeting}");
    print!("{}", handle.export_history_json().await?);
    Ok(())
}
