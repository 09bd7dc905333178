//! Faults of the disk under the SQLite store: a full disk (the store's size limit, a real
//! SQLITE_FULL) and the database's directory removed. Requests answer ResourceExhausted or
//! Unavailable, nothing acknowledged is lost, the file stays sound, and service resumes by
//! itself when the fault is cleared.

use reprise::api::temporal::api::common::v1::WorkflowExecution;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::client::{Client, ClientError, ClientOptions, RetryOptions, WorkflowOptions};
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::SqliteStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tonic::Code;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-disk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

async fn serve(db: &Path) -> (TestServer, Arc<SqliteStore>, Client) {
    let store = Arc::new(SqliteStore::open(db).expect("open store"));
    let server = TestServer::start(ServerOptions::default().with_store(store.clone()))
        .await
        .expect("server");
    // No client-side retries: the test wants to see each answer.
    let client =
        Client::connect(ClientOptions::new(server.target()).with_retry(RetryOptions::none()))
            .await
            .expect("connect");
    (server, store, client)
}

async fn start(client: &Client, id: &str, input: &str) -> Result<(), ClientError> {
    client
        .start_workflow("Filler", (input,), WorkflowOptions::new(id, "nobody-polls"))
        .await
        .map(drop)
}

fn code(e: &ClientError) -> Option<Code> {
    match e {
        ClientError::Rpc { code, .. } => Some(*code),
        _ => None,
    }
}

async fn exists(client: &Client, id: &str) -> bool {
    client
        .workflow_service()
        .describe_workflow_execution(ws::DescribeWorkflowExecutionRequest {
            namespace: "default".into(),
            execution: Some(WorkflowExecution {
                workflow_id: id.into(),
                run_id: String::new(),
            }),
        })
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_loses_nothing_and_recovers_when_space_returns() {
    let dir = temp_dir("full");
    let db = dir.join("reprise.db");
    let (server, store, client) = serve(&db).await;
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let id = format!("before-{i}");
        start(&client, &id, "small")
            .await
            .expect("start before the fault");
        acknowledged.push(id);
    }
    // No more growth: the limit is the current size.
    store.set_size_limit(0).expect("limit");
    let big = "x".repeat(32 * 1024);
    let mut refused = None;
    for i in 0..500 {
        let id = format!("fill-{i}");
        match start(&client, &id, &big).await {
            Ok(()) => acknowledged.push(id),
            Err(e) => {
                assert_eq!(code(&e), Some(Code::ResourceExhausted), "{e}");
                refused = Some(id);
                break;
            }
        }
    }
    let refused = refused.expect("the limit was reached");
    assert!(
        !exists(&client, &refused).await,
        "a refused start left something behind"
    );
    for id in &acknowledged {
        assert!(exists(&client, id).await, "{id} lost");
    }
    store.check_integrity().expect("sound after the fault");

    // Space returns: writes resume without a restart.
    store.set_size_limit(1 << 30).expect("raise limit");
    start(&client, &refused, &big)
        .await
        .expect("start after the fault");
    acknowledged.push(refused);

    // And everything acknowledged survives a restart.
    server.shutdown().await.expect("shutdown");
    drop(store);
    let (_server, store, client) = serve(&db).await;
    store.check_integrity().expect("sound after restart");
    for id in &acknowledged {
        assert!(exists(&client, id).await, "{id} lost across the restart");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_directory_refuses_writes_until_it_is_back_then_nothing_is_lost() {
    let dir = temp_dir("removed");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let db = data.join("reprise.db");
    let (server, store, client) = serve(&db).await;
    for i in 0..3 {
        start(&client, &format!("kept-{i}"), "v")
            .await
            .expect("start");
    }
    std::fs::remove_dir_all(&data).expect("remove the data directory");
    let refused = start(&client, "during-fault", "v").await;
    match &refused {
        Err(e) => assert_eq!(code(e), Some(Code::Unavailable), "{e}"),
        Ok(()) => panic!("a write was acknowledged into a removed file"),
    }
    // Reads still work from the open database.
    assert!(exists(&client, "kept-0").await);

    // The directory is back: the database is written out again and writes resume.
    std::fs::create_dir_all(&data).expect("recreate the data directory");
    start(&client, "after-fault", "v")
        .await
        .expect("start after the fault");
    assert!(db.exists(), "the database file is back");

    server.shutdown().await.expect("shutdown");
    drop(store);
    let (_server, store, client) = serve(&db).await;
    store.check_integrity().expect("sound");
    for id in ["kept-0", "kept-1", "kept-2", "after-fault"] {
        assert!(exists(&client, id).await, "{id} lost");
    }
    assert!(!exists(&client, "during-fault").await);
    let _ = std::fs::remove_dir_all(&dir);
}
