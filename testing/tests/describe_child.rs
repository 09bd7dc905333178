//! `DescribeWorkflowExecution` of a parent and its child, the same scenario on the official dev
//! server and on the bundled server, compared field by field (times and generated ids left out):
//! the child's parent and root executions and parent namespace, the parent's pending child, the
//! child's pending activity, both runs' auto-reset points, the extended info.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use reprise_testing::DevServer;
use reprise_testing::server::{ServerOptions, TestServer};
use std::time::Duration;

#[derive(Default)]
struct Parent;

#[reprise::workflow]
impl Parent {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, child_id: String) -> WorkflowResult<String> {
        let out: String = ctx
            .child_workflow(Kid::run, ())
            .workflow_id(child_id)
            .await?;
        Ok(out)
    }
}

#[derive(Default)]
struct Kid;

#[reprise::workflow]
impl Kid {
    #[run]
    async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<String> {
        // No worker polls "nowhere": the activity stays scheduled.
        let out: String = ctx
            .activity(Idle::wait, ())
            .task_queue("nowhere")
            .start_to_close_timeout(Duration::from_secs(60))
            .await?;
        Ok(out)
    }
}

struct Idle;

#[reprise::activities]
impl Idle {
    async fn wait(&self, _ctx: ActivityContext) -> Result<String, ActivityError> {
        Ok(String::new())
    }
}

/// The fields compared, with ids replaced by their role.
#[derive(Debug, PartialEq)]
struct Seen {
    child_parent: Option<(String, bool)>,
    child_root: Option<(String, bool)>,
    child_parent_namespace_id_set: bool,
    parent_root_is_self: bool,
    pending_children: Vec<(String, String, i64, i32)>,
    pending_activities: Vec<(String, String, i32, i32, i32)>,
    parent_reset_points: Vec<(i64, bool, bool)>,
    child_reset_points: Vec<(i64, bool, bool)>,
    child_history_length: i64,
    extended: (bool, bool, String),
}

fn points(d: &ws::DescribeWorkflowExecutionResponse, run_id: &str) -> Vec<(i64, bool, bool)> {
    d.workflow_execution_info
        .as_ref()
        .and_then(|i| i.auto_reset_points.as_ref())
        .map(|p| {
            p.points
                .iter()
                .map(|p| {
                    (
                        p.first_workflow_task_completed_id,
                        p.resettable,
                        p.run_id == run_id,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn scenario(target: String, prefix: &str) -> Seen {
    let client = Client::connect(ClientOptions::new(target))
        .await
        .expect("connect");
    let queue = format!("{prefix}-describe");
    let worker = Worker::builder(client.clone(), &queue)
        .workflow::<Parent>()
        .workflow::<Kid>()
        .activities(Idle)
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let worker = tokio::spawn(worker.run());
    let parent_id = format!("{prefix}-parent");
    let child_id = format!("{prefix}-kid");
    let parent = client
        .start(
            Parent::run,
            (child_id.clone(),),
            WorkflowOptions::new(&parent_id, &queue),
        )
        .await
        .expect("start");
    let parent_run = parent.run_id().expect("run id").to_string();
    let child = client.workflow_handle(&child_id, None);
    // Wait until the child's activity is scheduled and the parent saw the child start.
    let mut child_description = None;
    for _ in 0..200 {
        if let Ok(d) = child.describe_raw().await
            && !d.pending_activities.is_empty()
            && d.pending_workflow_task.is_none()
        {
            child_description = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut parent_description = None;
    for _ in 0..200 {
        let d = parent.describe_raw().await.expect("describe parent");
        if d.pending_children.iter().all(|c| !c.run_id.is_empty())
            && d.pending_workflow_task.is_none()
        {
            parent_description = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let child_description = child
        .describe_raw()
        .await
        .ok()
        .or(child_description)
        .expect("child described");
    let parent_description = parent_description.expect("parent described");
    stop.shutdown();
    let _ = worker.await;
    let child_run = child_description
        .workflow_execution_info
        .as_ref()
        .and_then(|i| i.execution.as_ref())
        .map(|e| e.run_id.clone())
        .unwrap_or_default();
    let info = child_description
        .workflow_execution_info
        .clone()
        .unwrap_or_default();
    let parent_info = parent_description
        .workflow_execution_info
        .clone()
        .unwrap_or_default();
    let ext = child_description
        .workflow_extended_info
        .clone()
        .unwrap_or_default();
    let seen = Seen {
        child_parent: info
            .parent_execution
            .as_ref()
            .map(|e| (e.workflow_id.replace(prefix, "P"), e.run_id == parent_run)),
        child_root: info
            .root_execution
            .as_ref()
            .map(|e| (e.workflow_id.replace(prefix, "P"), e.run_id == parent_run)),
        child_parent_namespace_id_set: !info.parent_namespace_id.is_empty(),
        parent_root_is_self: parent_info
            .root_execution
            .as_ref()
            .is_some_and(|e| e.workflow_id == parent_id && e.run_id == parent_run),
        pending_children: parent_description
            .pending_children
            .iter()
            .map(|c| {
                (
                    c.workflow_id.replace(prefix, "P"),
                    c.workflow_type_name.clone(),
                    c.initiated_id,
                    c.parent_close_policy,
                )
            })
            .collect(),
        pending_activities: child_description
            .pending_activities
            .iter()
            .map(|a| {
                (
                    a.activity_id.clone(),
                    a.activity_type
                        .as_ref()
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                    a.state,
                    a.attempt,
                    a.maximum_attempts,
                )
            })
            .collect(),
        parent_reset_points: points(&parent_description, &parent_run),
        child_reset_points: points(&child_description, &child_run),
        child_history_length: info.history_length,
        extended: (
            ext.original_start_time.is_some(),
            ext.last_reset_time.is_some(),
            ext.reset_run_id.clone(),
        ),
    };
    parent.terminate("done", ()).await.expect("terminate");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_is_described_as_on_the_official_server() {
    let official = match DevServer::shared() {
        Ok(s) => s.address().to_string(),
        Err(e) => panic!("official dev server unavailable: {e}"),
    };
    let limit = Duration::from_secs(60);
    let expected = tokio::time::timeout(limit, scenario(official, "official"))
        .await
        .expect("official scenario in time");
    assert!(expected.child_parent.is_some() && expected.child_root.is_some());
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("bundled server");
    let actual = tokio::time::timeout(limit, scenario(server.target(), "bundled"))
        .await
        .expect("bundled scenario in time");
    assert_eq!(actual, expected);
    server.shutdown().await.expect("shutdown");
}
