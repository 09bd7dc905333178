//! Reset, the same scenario on the official dev server and on the bundled server: a workflow
//! runs an activity, gets a signal and an update, and is reset to its first workflow task; the
//! new run's history (event types and the reset's own fields), the old run's termination and the
//! links both ways must agree. Then the official CLI's `temporal workflow reset` (by type and by
//! event id) against the bundled server.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::api::temporal::api::enums::v1::{EventType, WorkflowTaskFailedCause};
use reprise::api::temporal::api::history::v1::{History, history_event::Attributes as A};
use reprise::client::{Client, ClientOptions, ResetOptions, ResetTarget, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use reprise_testing::DevServer;
use reprise_testing::server::{ServerOptions, TestServer};
use std::time::Duration;

#[derive(Default)]
struct Resettable {
    seen: State<Vec<String>>,
}

#[reprise::workflow]
impl Resettable {
    #[run]
    async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<Vec<String>> {
        let _: String = ctx
            .activity(Steps::step, ("1".to_string(),))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        ctx.wait_condition(|| self.seen.with(|s| s.len() >= 3))
            .await?;
        Ok(self.seen.get())
    }

    #[signal]
    fn note(&self, _ctx: &WorkflowContext, value: String) {
        self.seen.update(|s| s.push(value));
    }

    #[update]
    fn note_now(
        &self,
        _ctx: &WorkflowContext,
        value: String,
    ) -> Result<String, reprise::converter::ApplicationFailure> {
        self.seen.update(|s| s.push(format!("u{value}")));
        Ok("ok".into())
    }
}

struct Steps;

#[reprise::activities]
impl Steps {
    async fn step(&self, _ctx: ActivityContext, x: String) -> Result<String, ActivityError> {
        Ok(format!("a:{x}"))
    }
}

fn types(history: &History) -> Vec<EventType> {
    history
        .events
        .iter()
        .map(|e| EventType::try_from(e.event_type).unwrap_or(EventType::Unspecified))
        .collect()
}

/// What must agree between the servers.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: Vec<String>,
    old_tail: Vec<EventType>,
    new_types: Vec<EventType>,
    /// The failed task: scheduled, started ids, cause, message, identity, links right.
    failed: (i64, i64, i32, String, String, bool),
    terminated: (String, String),
    old_reset_run_id_is_new: bool,
    new_last_reset_time: bool,
    same_original_start: bool,
    new_reset_points: Vec<i64>,
    first_run_id_kept: bool,
}

async fn scenario(target: String, prefix: &str) -> Outcome {
    let client = Client::connect(ClientOptions::new(target))
        .await
        .expect("connect");
    let queue = format!("{prefix}-reset");
    let worker = Worker::builder(client.clone(), &queue)
        .workflow::<Resettable>()
        .activities(Steps)
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let worker = tokio::spawn(worker.run());
    let id = format!("{prefix}-reset-wf");
    let handle = client
        .start(Resettable::run, (), WorkflowOptions::new(&id, &queue))
        .await
        .expect("start");
    let old_run = handle.run_id().expect("run id").to_string();
    // The activity done and its workflow task completed.
    let wait_for = |n: usize| {
        let handle = client.workflow_handle(&id, Some(old_run.clone()));
        async move {
            for _ in 0..200 {
                let history = handle.fetch_history().await.expect("history");
                let done = types(&history)
                    .iter()
                    .filter(|t| **t == EventType::WorkflowTaskCompleted)
                    .count();
                if done >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("workflow task {n} did not complete");
        }
    };
    eprintln!("{prefix}: started {old_run}");
    wait_for(2).await;
    eprintln!("{prefix}: activity done");
    handle
        .signal(Resettable::note, ("s1".to_string(),))
        .await
        .expect("signal");
    wait_for(3).await;
    let _: String = handle
        .update(Resettable::note_now, ("x".to_string(),))
        .await
        .expect("update");
    wait_for(4).await;
    eprintln!("{prefix}: signal and update done");

    let new = handle
        .reset(ResetOptions::new(ResetTarget::FirstWorkflowTask).reason("bad deploy"))
        .await
        .expect("reset");
    let new_run = new.run_id().expect("new run id").to_string();
    eprintln!("{prefix}: reset to {new_run}");
    // The new run's first workflow task done (the activity runs again).
    for _ in 0..200 {
        let history = new.fetch_history().await.expect("history");
        if types(&history).contains(&EventType::ActivityTaskCompleted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    new.signal(Resettable::note, ("s3".to_string(),))
        .await
        .expect("signal the new run");
    // Reprise's worker does not read re-applied updates from their `UpdateAdmitted` event yet
    // (on either server): a fourth signal completes the run then.
    if tokio::time::timeout(Duration::from_secs(2), new.result::<Vec<String>>())
        .await
        .is_err()
    {
        new.signal(Resettable::note, ("s4".to_string(),))
            .await
            .expect("signal the new run again");
    }
    eprintln!("{prefix}: signalled the new run");
    let result: Vec<String> =
        match tokio::time::timeout(Duration::from_secs(20), new.result()).await {
            Ok(r) => r.expect("result"),
            Err(_) => {
                let history = new.fetch_history().await.expect("history");
                let failures: Vec<String> = history
                    .events
                    .iter()
                    .filter_map(|e| match &e.attributes {
                        Some(A::WorkflowTaskFailedEventAttributes(a)) => {
                            a.failure.as_ref().map(|f| f.message.clone())
                        }
                        _ => None,
                    })
                    .collect();
                panic!(
                    "{prefix}: no result; new run: {:?}; failures {failures:?}",
                    types(&history)
                );
            }
        };
    eprintln!("{prefix}: result {result:?}");
    stop.shutdown();
    let _ = worker.await;

    let old = client.workflow_handle(&id, Some(old_run.clone()));
    let old_history = old.fetch_history().await.expect("old history");
    let new_history = new.fetch_history().await.expect("new history");
    let old_types = types(&old_history);
    let failed = new_history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(A::WorkflowTaskFailedEventAttributes(a)) => Some((
                a.scheduled_event_id,
                a.started_event_id,
                a.cause,
                a.failure
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_default(),
                a.identity.clone(),
                a.base_run_id == old_run && a.new_run_id == new_run,
            )),
            _ => None,
        })
        .expect("a failed workflow task");
    let terminated = old_history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(A::WorkflowExecutionTerminatedEventAttributes(a)) => {
                Some((a.reason.clone(), a.identity.clone()))
            }
            _ => None,
        })
        .expect("the old run terminated");
    let old_description = old.describe_raw().await.expect("describe old");
    let new_description = new.describe_raw().await.expect("describe new");
    let old_ext = old_description.workflow_extended_info.unwrap_or_default();
    let new_ext = new_description.workflow_extended_info.unwrap_or_default();
    let new_info = new_description.workflow_execution_info.unwrap_or_default();
    Outcome {
        result,
        old_tail: old_types[old_types.len() - 1..].to_vec(),
        new_types: types(&new_history),
        failed,
        terminated,
        old_reset_run_id_is_new: old_ext.reset_run_id == new_run,
        new_last_reset_time: new_ext.last_reset_time.is_some(),
        same_original_start: new_ext.original_start_time.is_some()
            && new_ext.original_start_time == old_ext.original_start_time,
        new_reset_points: new_info
            .auto_reset_points
            .map(|p| {
                p.points
                    .iter()
                    .filter(|p| p.run_id == new_run && p.resettable)
                    .map(|p| p.first_workflow_task_completed_id)
                    .collect()
            })
            .unwrap_or_default(),
        first_run_id_kept: new_info.first_run_id == old_run,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_to_the_first_workflow_task_matches_the_official_server() {
    let official = match DevServer::shared() {
        Ok(s) => s.address().to_string(),
        Err(e) => panic!("official dev server unavailable: {e}"),
    };
    let limit = Duration::from_secs(60);
    let expected = tokio::time::timeout(limit, scenario(official, "official"))
        .await
        .expect("the scenario on the official server took over a minute");
    assert!(expected.result.starts_with(&["s1".to_string()]));
    assert_eq!(
        expected.failed.2,
        WorkflowTaskFailedCause::ResetWorkflow as i32
    );
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("bundled server");
    let actual = tokio::time::timeout(limit, scenario(server.target(), "bundled"))
        .await
        .expect("the scenario on the bundled server took over a minute");
    assert_eq!(actual, expected);
    server.shutdown().await.expect("shutdown");
}
