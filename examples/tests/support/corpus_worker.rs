//! The corpus workflows and activities run by Reprise's worker, with the scenarios shared by the
//! test binaries for the official dev server and for the bundled server (each provides
//! `crate::server_target()`): results as the Python SDK got them, event sequences equal to the
//! recorded corpus where the scenario is deterministic, and every produced history replays.

use reprise::api::temporal::api::enums::v1::{EventType, WorkflowExecutionStatus};
use reprise::api::temporal::api::history::v1::History;
use reprise::client::{
    Client, ClientError, ClientOptions, UpdateStage, WorkflowHandle, WorkflowOptions,
};
use reprise::replay::Replayer;
use reprise::worker::{ShutdownHandle, Worker, WorkerOptions};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Env {
    _server: crate::ServerGuard,
    client: Client,
    task_queue: String,
    shutdown: ShutdownHandle,
    worker: tokio::task::JoinHandle<()>,
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

async fn env() -> Env {
    env_with(|options| options).await
}

async fn env_with(options: impl FnOnce(WorkerOptions) -> WorkerOptions) -> Env {
    let (server, target, sticky) = crate::server_target().await;
    let client = Client::connect(ClientOptions::new(target))
        .await
        .expect("connect");
    let task_queue = unique("corpus");
    let worker = Worker::new(
        client.clone(),
        options(WorkerOptions::new(&task_queue).with_sticky(sticky)),
        reprise_examples::corpus::registry(),
        reprise_examples::corpus_activities::registry(),
    );
    let shutdown = worker.shutdown_handle();
    let worker = tokio::spawn(async move {
        if let Err(e) = worker.run().await {
            panic!("worker failed: {e}");
        }
    });
    Env {
        _server: server,
        client,
        task_queue,
        shutdown,
        worker,
    }
}

impl Env {
    async fn start(
        &self,
        workflow_type: &str,
        args: impl reprise::converter::ToPayloads,
    ) -> WorkflowHandle {
        self.client
            .start_workflow(
                workflow_type,
                args,
                WorkflowOptions::new(unique(workflow_type), &self.task_queue),
            )
            .await
            .expect("start")
    }

    async fn stop(self) {
        self.shutdown.shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(15), self.worker).await;
    }
}

fn fixture_types(name: &str) -> Vec<i32> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/histories")
        .join(name);
    reprise::history::load_file(path)
        .expect("fixture")
        .events
        .iter()
        .map(|e| e.event_type)
        .collect()
}

/// The closed run's history replays against the same code (the worker's own history).
async fn history_replays(handle: &WorkflowHandle) -> History {
    let history = handle.fetch_history().await.expect("history");
    Replayer::new(reprise_examples::corpus::registry())
        .replay(&history)
        .expect("our own history replays");
    history
}

fn types(h: &History) -> Vec<i32> {
    h.events.iter().map(|e| e.event_type).collect()
}

async fn wait_until<F: Fn(&History) -> bool>(handle: &WorkflowHandle, what: &str, cond: F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = handle.fetch_history().await.expect("history");
        if cond(&h) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Without workflow-task events, whose batching depends on timing (what completed while a task
/// was running), not on the code.
fn significant(types: Vec<i32>) -> Vec<i32> {
    let task_events = [
        EventType::WorkflowTaskScheduled as i32,
        EventType::WorkflowTaskStarted as i32,
        EventType::WorkflowTaskCompleted as i32,
    ];
    types
        .into_iter()
        .filter(|t| !task_events.contains(t))
        .collect()
}

fn count(h: &History, t: EventType) -> usize {
    h.events.iter().filter(|e| e.event_type == t as i32).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_retries_its_activity_and_matches_the_recorded_history() {
    let env = env().await;
    let h = env
        .start(
            "OrderWorkflow",
            (json!({"orderId": "order-1", "amount": 42.5}),),
        )
        .await;
    let result: Value = h.result().await.expect("result");
    assert_eq!(
        result,
        json!({"chargeId": "charge-order-1-4250", "db": "order order-1 stored with charge-order-1-4250", "orderId": "order-1"})
    );
    let history = history_replays(&h).await;
    assert_eq!(types(&history), fixture_types("01-order.json"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_queries_and_updates() {
    let env = env().await;
    let s = env.start("SignalWorkflow", ()).await;
    for item in ["apple", "banana", "cherry"] {
        s.signal_by_name("addItem", (item,)).await.expect("signal");
    }
    s.signal_by_name("checkout", ()).await.expect("signal");
    assert_eq!(
        s.result::<Vec<String>>().await.expect("result"),
        ["apple", "banana", "cherry"]
    );
    history_replays(&s).await;

    let q = env.start("QueryWorkflow", ()).await;
    wait_until(&q, "first task", |h| {
        count(h, EventType::WorkflowTaskCompleted) >= 1
    })
    .await;
    assert_eq!(
        q.query_by_name::<Value>("getState", ())
            .await
            .expect("query"),
        json!({"advances": 0, "state": "waiting-1"})
    );
    q.signal_by_name("advance", ()).await.expect("signal");
    wait_until(&q, "second task", |h| {
        count(h, EventType::WorkflowTaskCompleted) >= 2
    })
    .await;
    assert_eq!(
        q.query_by_name::<Value>("getState", ())
            .await
            .expect("query"),
        json!({"advances": 1, "state": "waiting-2"})
    );
    q.signal_by_name("advance", ()).await.expect("signal");
    assert_eq!(
        q.result::<Value>().await.expect("result"),
        json!({"advances": 2, "state": "done"})
    );
    assert_eq!(
        q.query_by_name::<Value>("getState", ())
            .await
            .expect("query after close"),
        json!({"advances": 2, "state": "done"})
    );
    history_replays(&q).await;

    let u = env.start("UpdateWorkflow", ()).await;
    // As the recorded run did: the first task completes before the first update.
    wait_until(&u, "first task", |h| {
        count(h, EventType::WorkflowTaskCompleted) >= 1
    })
    .await;
    assert_eq!(
        u.update_by_name::<i64>("addAmount", (10,))
            .await
            .expect("update"),
        10
    );
    assert_eq!(
        u.update_by_name::<i64>("addAmount", (5,))
            .await
            .expect("update"),
        15
    );
    match u.update_by_name::<i64>("addAmount", (-1,)).await {
        Err(ClientError::UpdateFailed(f)) => assert!(
            f.message.contains("amount must be non-negative, got -1"),
            "{f}"
        ),
        other => panic!("expected rejection, got {other:?}"),
    }
    let slowly = u
        .start_update_by_name("addAmountSlowly", (7,), UpdateStage::Accepted)
        .await
        .expect("accepted");
    assert_eq!(slowly.result::<i64>().await.expect("slow update"), 22);
    assert_eq!(
        u.update_by_name::<i64>("finish", ()).await.expect("finish"),
        22
    );
    assert_eq!(u.result::<i64>().await.expect("result"), 22);
    let history = history_replays(&u).await;
    // A rejected update may leave an empty workflow task depending on timing; the rest matches.
    assert_eq!(
        significant(types(&history)),
        significant(fixture_types("05-updates.json"))
    );
    env.stop().await;
}

/// Updates rejected by speculative workflow tasks on a sticky queue, each followed by more
/// updates. A task that only rejects updates leaves no trace in the history, so the next task
/// shows again what the rejecting one showed: the worker rolls its cached run back and goes on,
/// neither stalling until the task times out nor replaying. Rejections come right after a task
/// without commands (a rejecting task the server always discards) and after tasks whose commands
/// recorded events (discarded for a worker that says it can take events again, as ours does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_after_rejected_updates_on_a_sticky_queue() {
    let env = env().await;
    let u = env.start("UpdateWorkflow", ()).await;
    wait_until(&u, "first task", |h| {
        count(h, EventType::WorkflowTaskCompleted) >= 1
    })
    .await;
    // Well within the 10 s workflow task timeout: a task stuck in the worker fails the test.
    let update = |n: i64| {
        let u = &u;
        async move {
            match tokio::time::timeout(
                Duration::from_secs(8),
                u.update_by_name::<i64>("addAmount", (n,)),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => panic!("update addAmount({n}) stalled"),
            }
        }
    };
    let rejected = |result: Result<i64, ClientError>, n: i64| match result {
        Err(ClientError::UpdateFailed(f)) => assert!(
            f.message
                .contains(&format!("amount must be non-negative, got {n}")),
            "{f}"
        ),
        other => panic!("expected a rejection of {n}, got {other:?}"),
    };
    rejected(update(-1).await, -1);
    assert_eq!(update(10).await.expect("update"), 10);
    rejected(update(-2).await, -2);
    assert_eq!(update(5).await.expect("update"), 15);
    rejected(update(-3).await, -3);
    rejected(update(-4).await, -4);
    assert_eq!(update(7).await.expect("update"), 22);
    assert_eq!(
        u.update_by_name::<i64>("finish", ()).await.expect("finish"),
        22
    );
    assert_eq!(u.result::<i64>().await.expect("result"), 22);
    let history = history_replays(&u).await;
    assert_eq!(count(&history, EventType::WorkflowTaskTimedOut), 0);
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    // Rejected updates leave nothing: only the accepted ones are in the history.
    assert_eq!(
        count(&history, EventType::WorkflowExecutionUpdateAccepted),
        4
    );
    assert_eq!(
        count(&history, EventType::WorkflowExecutionUpdateCompleted),
        4
    );
    env.stop().await;
}

/// With room for one run in its cache, the worker loses each run to the other between their
/// updates: every update's task comes on the sticky queue with only the latest events, for a run
/// the worker must replay from the whole history, which the server's stored events (without the
/// speculative task's own) and the task's history make up together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_for_runs_the_worker_no_longer_has_cached() {
    let env = env_with(|options| options.with_max_cached_workflows(1)).await;
    let a = env.start("UpdateWorkflow", ()).await;
    let b = env.start("UpdateWorkflow", ()).await;
    for h in [&a, &b] {
        wait_until(h, "first task", |h| {
            count(h, EventType::WorkflowTaskCompleted) >= 1
        })
        .await;
    }
    let update = |h: &WorkflowHandle, n: i64| {
        let h = h.clone();
        async move {
            match tokio::time::timeout(
                Duration::from_secs(8),
                h.update_by_name::<i64>("addAmount", (n,)),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => panic!("update addAmount({n}) stalled"),
            }
        }
    };
    assert_eq!(update(&a, 1).await.expect("update"), 1);
    assert_eq!(update(&b, 10).await.expect("update"), 10);
    assert!(update(&a, -1).await.is_err());
    assert!(update(&b, -1).await.is_err());
    assert_eq!(update(&a, 2).await.expect("update"), 3);
    assert_eq!(update(&b, 20).await.expect("update"), 30);
    for (h, total) in [(&a, 3), (&b, 30)] {
        assert_eq!(
            h.update_by_name::<i64>("finish", ()).await.expect("finish"),
            total
        );
        assert_eq!(h.result::<i64>().await.expect("result"), total);
        let history = history_replays(h).await;
        assert_eq!(count(&history, EventType::WorkflowTaskTimedOut), 0);
        assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_continue_as_new_saga_failure_and_local_activities() {
    let env = env().await;
    let parent = env
        .start("ParentWorkflow", (vec!["alice", "bob", "carol"],))
        .await;
    let result: Value = parent.result().await.expect("parent result");
    assert_eq!(
        result["greetings"],
        json!(["Hello, alice!", "Hello, bob!", "Hello, carol!"])
    );
    assert_eq!(result["failedChild"], "ChildRefused: child mallory refuses");
    assert_eq!(
        significant(types(&history_replays(&parent).await)),
        significant(fixture_types("06-parent.json"))
    );

    let can = env.start("ContinueAsNewWorkflow", (0, 3)).await;
    assert_eq!(
        can.result::<String>().await.expect("chain result"),
        "finished after 3 runs"
    );

    let saga = env.start("BookTripWorkflow", ("trip-11",)).await;
    match saga.result::<Value>().await {
        Err(ClientError::WorkflowFailed(f)) => {
            assert_eq!(f.application_type(), Some("TripBookingFailed"));
            assert!(f.is_non_retryable());
            let (details,): (Value,) = f.details(env.client.data_converter()).expect("details");
            assert_eq!(
                details,
                json!({"compensations": ["cancelled hotel-trip-11", "cancelled flight-trip-11"]})
            );
        }
        other => panic!("expected failure, got {other:?}"),
    }
    assert_eq!(
        types(&history_replays(&saga).await),
        fixture_types("11-saga-compensation.json")
    );

    let la = env.start("LocalActivityWorkflow", ()).await;
    let result: Vec<String> = la.result().await.expect("local activities");
    assert_eq!(
        result,
        [
            "Hello from local activity, world!",
            "flaky local succeeded for x on attempt 2",
            "Hello from local activity, again!"
        ]
    );
    assert_eq!(
        types(&history_replays(&la).await),
        fixture_types("10-local-activities.json")
    );

    let par = env.start("ParallelActivitiesWorkflow", (10,)).await;
    assert_eq!(par.result::<i64>().await.expect("parallel"), 285);
    history_replays(&par).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_waits_for_the_activity_then_cleans_up() {
    let env = env().await;
    let h = env.start("CancelDuringActivityWorkflow", ()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = h.describe_raw().await.expect("describe");
        if d.pending_activities.iter().any(|a| a.state == 2) {
            break;
        }
        assert!(Instant::now() < deadline, "activity never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.cancel("test").await.expect("cancel");
    match h.result::<String>().await {
        Err(ClientError::WorkflowCanceled { .. }) => {}
        other => panic!("expected canceled, got {other:?}"),
    }
    let history = history_replays(&h).await;
    assert_eq!(count(&history, EventType::ActivityTaskCanceled), 1);
    assert_eq!(
        count(&history, EventType::ActivityTaskCompleted),
        1,
        "the cleanup activity ran"
    );
    assert_eq!(
        h.describe().await.expect("describe").status,
        WorkflowExecutionStatus::Canceled
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_search_attributes_and_determinism_helpers() {
    let env = env().await;
    let p = env.start("PatchWorkflow", ("c",)).await;
    wait_until(&p, "first activity", |h| {
        count(h, EventType::ActivityTaskCompleted) >= 1
            && count(h, EventType::WorkflowTaskCompleted) >= 2
    })
    .await;
    p.signal_by_name("proceed", ()).await.expect("signal");
    assert_eq!(
        p.result::<Vec<String>>().await.expect("patched"),
        ["new step 1 for c", "new step 2 for c"]
    );
    assert_eq!(
        types(&history_replays(&p).await),
        fixture_types("13c-patch-v2-only.json")
    );

    let converter = reprise::converter::DataConverter::default();
    let options = WorkflowOptions::new(unique("sa"), &env.task_queue)
        .with_search_attribute(
            "CorpusCustomerId",
            reprise::workflow::search_attribute::keyword("cust-17").expect("sa"),
        )
        .with_memo("source", converter.to_payload(&"corpus").expect("memo"))
        .with_memo("priority", converter.to_payload(&1).expect("memo"));
    let sa = env
        .client
        .start_workflow("SearchAttributesWorkflow", (), options)
        .await
        .expect("start");
    let result: Value = sa.result().await.expect("sa result");
    assert_eq!(
        result,
        json!({"customerAtStart": "cust-17", "memoKeys": ["note", "source"], "stage": "done"})
    );
    assert_eq!(
        types(&history_replays(&sa).await),
        fixture_types("17-search-attributes-memo.json")
    );
    let described = sa.describe().await.expect("describe");
    let stage: String = converter
        .from_payload(&described.search_attributes["CorpusStage"])
        .expect("stage");
    assert_eq!(stage, "done");

    let d = env.start("DeterminismHelpersWorkflow", ()).await;
    let result: Value = d.result().await.expect("helpers");
    assert_eq!(result["values"], result["echoed"]);
    assert_ne!(result["values"]["now1"], result["values"]["now2"]);
    assert_eq!(
        types(&history_replays(&d).await),
        fixture_types("14-determinism-helpers.json")
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_timeout_then_retry_with_details() {
    let env = env().await;
    let h = env.start("HeartbeatWorkflow", ()).await;
    assert_eq!(
        h.result::<String>().await.expect("result"),
        "completed steps 1..4 on attempt 2"
    );
    assert_eq!(
        types(&history_replays(&h).await),
        fixture_types("09-heartbeat-timeout-retry.json")
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replayer_fetches_histories_by_visibility_query() {
    let env = env().await;
    let workflow_id = unique("replay-me");
    let h = env
        .client
        .start_workflow(
            "LargeSequentialWorkflow",
            (7,),
            WorkflowOptions::new(&workflow_id, &env.task_queue),
        )
        .await
        .expect("start");
    assert_eq!(h.result::<i64>().await.expect("result"), 7);
    let query = format!("WorkflowId = '{workflow_id}'");
    let deadline = Instant::now() + Duration::from_secs(20);
    while env.client.count_workflows(&query).await.expect("count") < 1 {
        assert!(Instant::now() < deadline, "not visible");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let summary = Replayer::new(reprise_examples::corpus::registry())
        .replay_from_server(&env.client, &query, 10)
        .await
        .expect("replay");
    assert_eq!(summary.results.len(), 1);
    assert!(summary.is_success(), "{summary}");
    assert_eq!(summary.results[0].workflow_id, workflow_id);
    // The same history against changed code: 6 activities instead of 7.
    let mut changed = reprise::workflow::WorkflowRegistry::new();
    changed
        .register(
            "LargeSequentialWorkflow",
            |ctx: reprise::workflow::WorkflowContext, (_n,): (u32,)| async move {
                let mut acc = 0i64;
                for _ in 0..6 {
                    acc = ctx
                        .activity_by_name("increment", (acc,))
                        .start_to_close_timeout(Duration::from_secs(10))
                        .await?;
                }
                Ok(acc)
            },
        )
        .expect("register");
    let summary = Replayer::new(changed)
        .replay_from_server(&env.client, &query, 10)
        .await
        .expect("replay");
    assert_eq!(summary.failed(), 1, "{summary}");
    env.stop().await;
}
