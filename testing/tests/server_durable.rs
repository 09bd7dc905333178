//! The bundled server on its SQLite store: stopped at chosen moments of a run's life and started
//! again on the same file, it carries on — pending activities and timers, tasks a poller
//! already holds, continue-as-new chains, namespaces — and a file serves one server at a time.
//! (`server_crash.rs` does the same with SIGKILL on the binary, at random moments.)

mod support;

use reprise::api::temporal::api::command::v1::{self as cmd, command::Attributes as A};
use reprise::api::temporal::api::enums::v1::{
    CommandType, EventType as E, WorkflowExecutionStatus,
};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{Client, WorkflowOptions};
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::{
    NamespaceRecord, Recovered, RecoveredRun, RunKey, SqliteStore, Store, StoreError, TimerKind,
    TransferKind, Transition,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// A fresh database path, removed (with its WAL files) when dropped.
struct DbFile(PathBuf);

impl DbFile {
    fn new(name: &str) -> DbFile {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        DbFile(
            std::env::temp_dir().join(format!("reprise-{name}-{}-{nanos}.db", std::process::id())),
        )
    }
}

impl Drop for DbFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn options(path: &Path) -> ServerOptions {
    let store = SqliteStore::open(path).expect("open store");
    ServerOptions::default()
        .with_store(Arc::new(store))
        .with_long_poll_timeout(Duration::from_millis(400))
}

async fn restart(server: TestServer, client: Client, path: &Path) -> (TestServer, Client) {
    drop(client);
    server.shutdown().await.expect("shutdown");
    start_with(options(path)).await
}

fn has(history: &reprise::api::temporal::api::history::v1::History, kind: E) -> bool {
    types(history).contains(&kind)
}

/// Event ids run 1, 2, 3… with no gap or repeat.
fn assert_contiguous(history: &reprise::api::temporal::api::history::v1::History) {
    for (i, e) in history.events.iter().enumerate() {
        assert_eq!(e.event_id, i as i64 + 1, "event ids are contiguous");
    }
}

#[tokio::test]
async fn pending_activity_and_timer_carry_on_after_a_restart() {
    let db = DbFile::new("pending");
    let (server, client) = start_with(options(&db.0).with_namespace("orders")).await;
    let tq = unique("tq");
    let id = unique("durable");
    client
        .start_workflow("Durable", ("input",), WorkflowOptions::new(&id, &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let schedule = schedule_activity("1", "charge", &tq, Duration::from_secs(30), None);
    complete(
        &client,
        task.task_token,
        vec![
            activity_command(schedule),
            start_timer("wait", Duration::from_millis(300)),
        ],
    )
    .await;

    let (server, client) = restart(server, client, &db.0).await;
    let recovery = server.recovery();
    assert_eq!((recovery.runs, recovery.open), (1, 1));
    assert_eq!(recovery.tasks, 1, "the scheduled activity is queued again");
    assert!(recovery.timers >= 1, "the user timer is re-armed");

    let activity = poll_activity(&client, &tq).await;
    assert_eq!((activity.activity_id.as_str(), activity.attempt), ("1", 1));
    client
        .workflow_service()
        .respond_activity_task_completed(ws::RespondActivityTaskCompletedRequest {
            task_token: activity.task_token,
            result: payloads(&client, &"charged"),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("complete activity");

    // Workflow tasks until the history holds both the activity result and the fired timer.
    let mut done = false;
    for _ in 0..10 {
        let task = poll_task(&client, &tq).await;
        let history = client
            .workflow_handle(&id, None)
            .fetch_history()
            .await
            .expect("history");
        let commands = if has(&history, E::TimerFired) && has(&history, E::ActivityTaskCompleted) {
            done = true;
            vec![complete_workflow(payloads(&client, &"shipped"))]
        } else {
            Vec::new()
        };
        complete(&client, task.task_token, commands).await;
        if done {
            break;
        }
    }
    assert!(done, "activity result and timer both reached the workflow");

    let (server, client) = restart(server, client, &db.0).await;
    assert_eq!(server.recovery().open, 0);
    let handle = client.workflow_handle(&id, None);
    assert_eq!(handle.result::<String>().await.expect("result"), "shipped");
    let history = handle.fetch_history().await.expect("history");
    assert_contiguous(&history);
    let kinds = types(&history);
    for kind in [
        E::ActivityTaskScheduled,
        E::ActivityTaskStarted,
        E::ActivityTaskCompleted,
        E::TimerStarted,
        E::TimerFired,
        E::WorkflowExecutionCompleted,
    ] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            1,
            "{kind:?} once in {kinds:?}"
        );
    }
    let listed = client
        .count_workflows(&format!(
            "WorkflowId = '{id}' AND ExecutionStatus = 'Completed'"
        ))
        .await
        .expect("count");
    assert_eq!(listed, 1, "visibility survived the restarts");
    let namespaces = client
        .workflow_service()
        .list_namespaces(ws::ListNamespacesRequest::default())
        .await
        .expect("list namespaces")
        .into_inner();
    assert!(
        namespaces.namespaces.iter().any(|n| n
            .namespace_info
            .as_ref()
            .is_some_and(|i| i.name == "orders")),
        "a namespace registered before the restart is still there"
    );
    drop(client);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn tasks_held_by_pollers_across_a_restart_are_not_handed_out_again() {
    let db = DbFile::new("held");
    let (server, client) = start_with(options(&db.0)).await;
    let tq = unique("tq");
    let id = unique("held");
    client
        .start_workflow("Held", (), WorkflowOptions::new(&id, &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    let schedule = schedule_activity("1", "slow", &tq, Duration::from_secs(30), None);
    complete(&client, task.task_token, vec![activity_command(schedule)]).await;
    let held_activity = poll_activity(&client, &tq).await;

    let (server, client) = restart(server, client, &db.0).await;
    assert_eq!(
        server.recovery().tasks,
        0,
        "the started activity is not queued"
    );
    let again = client
        .workflow_service()
        .poll_activity_task_queue(ws::PollActivityTaskQueueRequest {
            namespace: client.namespace().into(),
            task_queue: queue(&tq),
            identity: "second-worker".into(),
            ..Default::default()
        })
        .await
        .expect("poll")
        .into_inner();
    assert!(again.task_token.is_empty(), "no second delivery");
    // The worker that held it answers through the restarted server.
    client
        .workflow_service()
        .respond_activity_task_completed(ws::RespondActivityTaskCompletedRequest {
            task_token: held_activity.task_token,
            result: payloads(&client, &1),
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect("complete with the token from before the restart");

    // Same for a workflow task: taken before the restart, completed after it.
    let held_task = poll_task(&client, &tq).await;
    let (server, client) = restart(server, client, &db.0).await;
    assert!(
        poll_once(&client, queue(&tq)).await.task_token.is_empty(),
        "the started workflow task is not queued again"
    );
    complete(
        &client,
        held_task.task_token,
        vec![complete_workflow(payloads(&client, &"ok"))],
    )
    .await;
    let handle = client.workflow_handle(&id, None);
    assert_eq!(handle.result::<String>().await.expect("result"), "ok");
    assert_contiguous(&handle.fetch_history().await.expect("history"));
    drop(client);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn buffered_signals_and_continue_as_new_chains_survive_restarts() {
    let db = DbFile::new("chain");
    let (server, client) = start_with(options(&db.0)).await;
    let tq = unique("tq");
    let id = unique("chain");
    let first = client
        .start_workflow("Chain", (1,), WorkflowOptions::new(&id, &tq))
        .await
        .expect("start");
    let first_run = first.run_id().map(str::to_string);
    let task = poll_task(&client, &tq).await;
    // A signal arrives while the task runs: buffered until the task completes, across a restart.
    first
        .signal_by_name("poke", ("while running",))
        .await
        .expect("signal");
    let (server, client) = restart(server, client, &db.0).await;
    complete(&client, task.task_token, Vec::new()).await;
    let task = poll_task(&client, &tq).await;
    let history = client
        .workflow_handle(&id, first_run.clone())
        .fetch_history()
        .await
        .expect("history");
    assert!(
        has(&history, E::WorkflowExecutionSignaled),
        "the buffered signal was written after the restart: {:?}",
        types(&history)
    );
    let continue_as_new = command(
        CommandType::ContinueAsNewWorkflowExecution,
        A::ContinueAsNewWorkflowExecutionCommandAttributes(
            cmd::ContinueAsNewWorkflowExecutionCommandAttributes {
                workflow_type: task.workflow_type.clone(),
                task_queue: queue(&tq),
                input: payloads(&client, &2),
                ..Default::default()
            },
        ),
    );
    complete(&client, task.task_token, vec![continue_as_new]).await;

    let (server, client) = restart(server, client, &db.0).await;
    let current = client
        .workflow_handle(&id, None)
        .describe()
        .await
        .expect("describe current run");
    assert_eq!(current.status, WorkflowExecutionStatus::Running);
    assert_ne!(
        Some(current.run_id.clone()),
        first_run,
        "the continued run is current"
    );
    let closed = client
        .workflow_handle(&id, first_run.clone())
        .describe()
        .await
        .expect("describe first run");
    assert_eq!(closed.status, WorkflowExecutionStatus::ContinuedAsNew);

    // The new run's first task is waiting for a poller after the restart.
    client
        .workflow_handle(&id, None)
        .signal_by_name("poke", ("after restart",))
        .await
        .expect("signal the continued run");
    let task = poll_task(&client, &tq).await;
    let history = client
        .workflow_handle(&id, Some(current.run_id.clone()))
        .fetch_history()
        .await
        .expect("history");
    assert!(has(&history, E::WorkflowExecutionSignaled));
    complete(
        &client,
        task.task_token,
        vec![complete_workflow(payloads(&client, &"end"))],
    )
    .await;
    let handle = client.workflow_handle(&id, None);
    assert_eq!(handle.result::<String>().await.expect("result"), "end");
    drop(client);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_store_file_serves_one_server_at_a_time_and_bad_files_are_refused() {
    let db = DbFile::new("exclusive");
    let first = SqliteStore::open(&db.0).expect("open");
    let second = SqliteStore::open(&db.0);
    let message = second.expect_err("second open must fail").to_string();
    assert!(message.contains("in use"), "{message}");
    drop(first);
    SqliteStore::open(&db.0).expect("free again once the first store is gone");

    let garbage = DbFile::new("garbage");
    std::fs::write(
        &garbage.0,
        b"this is not a database, just some bytes long enough to matter",
    )
    .expect("write");
    let message = SqliteStore::open(&garbage.0)
        .expect_err("garbage must be refused")
        .to_string();
    assert!(message.contains("not a database"), "{message}");
    let content = std::fs::read(&garbage.0).expect("read");
    assert!(
        content.starts_with(b"this is not a database"),
        "the file is left as it was"
    );
}

/// A SQLite store whose commits fail while `fail` is set (a full disk, say).
struct FailingStore {
    inner: SqliteStore,
    fail: std::sync::atomic::AtomicBool,
}

impl FailingStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            Err(StoreError::Backend("disk full (injected)".into()))
        } else {
            Ok(())
        }
    }
}

impl Store for FailingStore {
    fn commit(&self, t: Transition<'_>) -> Result<(), StoreError> {
        self.check()?;
        self.inner.commit(t)
    }
    fn commit_all(&self, transitions: &[Transition<'_>]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.commit_all(transitions)
    }
    fn read_events(
        &self,
        run: &RunKey,
        first: i64,
        max: usize,
    ) -> Result<Vec<reprise::api::temporal::api::history::v1::HistoryEvent>, StoreError> {
        self.inner.read_events(run, first, max)
    }
    fn visibility_records(
        &self,
        namespace: &str,
    ) -> Result<Vec<reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo>, StoreError>
    {
        self.inner.visibility_records(namespace)
    }
    fn delete_run(&self, run: &RunKey) -> Result<(), StoreError> {
        self.inner.delete_run(run)
    }
    fn put_namespace(&self, ns: NamespaceRecord) -> Result<(), StoreError> {
        self.inner.put_namespace(ns)
    }
    fn namespaces(&self) -> Result<Vec<NamespaceRecord>, StoreError> {
        self.inner.namespaces()
    }
    fn is_durable(&self) -> bool {
        true
    }
    fn recover(&self) -> Result<Recovered, StoreError> {
        self.inner.recover()
    }
    fn load_run(&self, run: &RunKey) -> Result<Option<RecoveredRun>, StoreError> {
        self.inner.load_run(run)
    }
    fn timer_done(
        &self,
        run: &RunKey,
        at: std::time::SystemTime,
        kind: &TimerKind,
    ) -> Result<(), StoreError> {
        self.inner.timer_done(run, at, kind)
    }
    fn transfer_done(&self, run: &RunKey, kind: &TransferKind) -> Result<(), StoreError> {
        self.inner.transfer_done(run, kind)
    }
}

#[tokio::test]
async fn a_failed_commit_leaves_nothing_behind_and_the_call_can_be_retried() {
    let db = DbFile::new("failing");
    let store = Arc::new(FailingStore {
        inner: SqliteStore::open(&db.0).expect("open"),
        fail: Default::default(),
    });
    let (server, client) = start_with(ServerOptions::default().with_store(store.clone())).await;
    let tq = unique("tq");
    let id = unique("failing");
    client
        .start_workflow("Failing", (), WorkflowOptions::new(&id, &tq))
        .await
        .expect("start");
    let task = poll_task(&client, &tq).await;
    store.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = client
        .workflow_service()
        .respond_workflow_task_completed(ws::RespondWorkflowTaskCompletedRequest {
            task_token: task.task_token.clone(),
            commands: vec![complete_workflow(payloads(&client, &"done"))],
            namespace: client.namespace().into(),
            ..Default::default()
        })
        .await
        .expect_err("the store is failing");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused}");
    assert!(refused.message().contains("disk full"), "{refused}");
    // Nothing of the failed completion is visible: the run is as the store has it.
    let handle = client.workflow_handle(&id, None);
    assert_eq!(
        handle.describe().await.expect("describe").status,
        WorkflowExecutionStatus::Running
    );
    assert_eq!(
        types(&handle.fetch_history().await.expect("history")),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted
        ]
    );
    // The disk recovers: the same completion goes through.
    store.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    complete(
        &client,
        task.task_token,
        vec![complete_workflow(payloads(&client, &"done"))],
    )
    .await;
    assert_eq!(handle.result::<String>().await.expect("result"), "done");
    let history = handle.fetch_history().await.expect("history");
    assert_contiguous(&history);
    assert_eq!(
        types(&history),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::WorkflowExecutionCompleted
        ]
    );
    drop(client);
    server.shutdown().await.expect("shutdown");
}
