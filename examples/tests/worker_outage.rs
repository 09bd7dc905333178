//! A worker survives its server going away for a minute: it backs off instead of spinning a
//! core, and when the server is back (same address, same SQLite file) it resumes and finishes
//! the workflow it was running, then takes new work.
//!
//! The outage lasts `$REPRISE_OUTAGE_SECS` seconds (default 60).

use reprise::activity::{ActivityContext, ActivityError};
use reprise::api::temporal::api::enums::v1::EventType;
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::SqliteStore;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Two steps with a timer between them.
#[derive(Default)]
pub struct TwoSteps;

#[reprise::workflow(name = "TwoSteps")]
impl TwoSteps {
    /// Step, wait, step.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, name: String) -> WorkflowResult<String> {
        let first: String = ctx
            .activity(Steps::step, (format!("{name}-1"),))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        ctx.sleep(Duration::from_secs(2)).await?;
        let second: String = ctx
            .activity(Steps::step, (format!("{name}-2"),))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        Ok(format!("{first} {second}"))
    }
}

/// The steps' activity.
pub struct Steps;

#[reprise::activities]
impl Steps {
    /// Echoes its step.
    pub async fn step(&self, _ctx: ActivityContext, step: String) -> Result<String, ActivityError> {
        Ok(format!("done:{step}"))
    }
}

async fn serve(db: &Path, address: Option<SocketAddr>) -> TestServer {
    let store = Arc::new(SqliteStore::open(db).expect("open store"));
    let mut options = ServerOptions::default().with_store(store);
    if let Some(address) = address {
        options = options.with_address(address);
    }
    // The port was just released by the previous server: retry binding for a moment.
    for _ in 0..50 {
        match TestServer::start(options.clone()).await {
            Ok(server) => return server,
            Err(e) => {
                eprintln!("restart: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("server did not restart");
}

/// CPU time (user + system) this process has used, from /proc (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_rides_out_a_server_outage_and_resumes() {
    let outage = Duration::from_secs(
        std::env::var("REPRISE_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let dir = std::env::temp_dir().join(format!("reprise-outage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("reprise.db");
    let server = serve(&db, None).await;
    let address = server.address();
    let client = Client::connect(ClientOptions::new(server.target()))
        .await
        .expect("connect");
    let worker = Worker::builder(client.clone(), "outage")
        .workflow::<TwoSteps>()
        .activities(Steps)
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(async move { worker.run().await });

    let handle = client
        .start(
            TwoSteps::run,
            ("w1".into(),),
            WorkflowOptions::new("w1", "outage"),
        )
        .await
        .expect("start w1");
    // Wait until the first step is recorded, then take the server away (the timer pends).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let history = handle.fetch_history().await.expect("history");
        if history
            .events
            .iter()
            .any(|e| e.event_type() == EventType::TimerStarted)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the first step did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await.expect("shutdown");

    let cpu_before = cpu_time();
    tokio::time::sleep(outage).await;
    let cpu_used = cpu_time().saturating_sub(cpu_before);
    // A worker that retried without pause would burn about a core for the whole outage.
    assert!(
        cpu_used < outage / 10,
        "the worker used {cpu_used:?} of CPU during a {outage:?} outage"
    );
    assert!(
        !running.is_finished(),
        "the worker gave up during the outage"
    );

    let _server = serve(&db, Some(address)).await;
    let result: String = tokio::time::timeout(Duration::from_secs(60), handle.result())
        .await
        .expect("w1 finished after the server came back")
        .expect("w1 result");
    assert_eq!(result, "done:w1-1 done:w1-2");
    let fresh: String = tokio::time::timeout(
        Duration::from_secs(60),
        client.execute(
            TwoSteps::run,
            ("w2".into(),),
            WorkflowOptions::new("w2", "outage"),
        ),
    )
    .await
    .expect("w2 finished")
    .expect("w2 result");
    assert_eq!(fresh, "done:w2-1 done:w2-2");
    stop.shutdown();
    let _ = running.await;
    let _ = std::fs::remove_dir_all(&dir);
}
