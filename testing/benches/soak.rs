//! Soak: a long stream of workflows (an activity and a timer each) through `reprise-server
//! --db` with a short retention, reporting throughput over time, the server's RSS and the
//! database's size, so growth that the retention window does not bound shows up.
//!
//! ```text
//! cargo bench -p reprise-testing --bench soak -- [--workflows 100000] [--concurrency 400]
//!     [--retention 60s] [--report-every 10]
//! ```
//!
//! Not run in CI (minutes to hours). One Reprise worker and the starter run in this process;
//! the server is the `reprise-server` binary on a fresh SQLite file under the target directory.
//! Each line: elapsed s, workflows completed, workflows/s over the last window, server RSS MiB,
//! database size MiB (file + WAL), runs the server reports open; errors are counted and the run
//! fails at the end if any occurred.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Soak;

#[reprise::workflow]
impl Soak {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, n: u64) -> WorkflowResult<u64> {
        let out: u64 = ctx
            .activity(SoakActivities::echo, (n,))
            .start_to_close_timeout(Duration::from_secs(30))
            .await?;
        ctx.sleep(Duration::from_secs(1)).await?;
        Ok(out)
    }
}

struct SoakActivities;

#[reprise::activities]
impl SoakActivities {
    async fn echo(&self, _ctx: ActivityContext, n: u64) -> Result<u64, ActivityError> {
        Ok(n)
    }
}

struct Args {
    workflows: u64,
    concurrency: u64,
    retention: String,
    report_every: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        workflows: 100_000,
        concurrency: 400,
        retention: "60s".into(),
        report_every: 10,
    };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--workflows" => args.workflows = value.parse().expect("--workflows N"),
            "--concurrency" => args.concurrency = value.parse().expect("--concurrency N"),
            "--retention" => args.retention = value,
            "--report-every" => args.report_every = value.parse().expect("--report-every S"),
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(-1.0, |kib| kib / 1024.0)
}

fn db_mib(db: &Path) -> f64 {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let wal = db.with_extension("db-wal");
    (size(db) + size(&wal)) as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target_dir.join("reprise-soak");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("soak.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_reprise-server"))
        .args(["--address", &address, "--db"])
        .arg(&db)
        .args(["--retention", &args.retention, "--log-level", "warn"])
        .spawn()
        .expect("start reprise-server");
    let server_pid = server.id();
    let client = loop {
        match Client::connect(ClientOptions::new(address.clone())).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let worker = Worker::builder(client.clone(), "soak")
        .workflow::<Soak>()
        .activities(SoakActivities)
        .build()
        .unwrap();
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(async move { worker.run().await });

    println!(
        "soak: {} workflows (activity + 1 s timer), {} in flight, retention {}, server pid {server_pid}",
        args.workflows, args.concurrency, args.retention
    );
    println!("| elapsed s | completed | wf/s (window) | server RSS MiB | db MiB |");
    println!("|---|---|---|---|---|");
    let completed = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut starters = Vec::new();
    for _ in 0..args.concurrency {
        let (client, completed, errors, next) = (
            client.clone(),
            completed.clone(),
            errors.clone(),
            next.clone(),
        );
        let total = args.workflows;
        starters.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return;
                }
                let options = WorkflowOptions::new(format!("soak-{i}"), "soak");
                match client.execute(Soak::run, (i,), options).await {
                    Ok(v) if v == i => {
                        completed.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(v) => {
                        eprintln!("soak-{i} returned {v}");
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("soak-{i}: {e}");
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    let mut last = (Instant::now(), 0u64);
    let report = |last: &mut (Instant, u64)| {
        let done = completed.load(Ordering::SeqCst);
        let window = last.0.elapsed().as_secs_f64().max(0.001);
        println!(
            "| {:.0} | {} | {:.0} | {:.1} | {:.1} |",
            started.elapsed().as_secs_f64(),
            done,
            (done - last.1) as f64 / window,
            rss_mib(server_pid),
            db_mib(&db)
        );
        *last = (Instant::now(), done);
    };
    while completed.load(Ordering::SeqCst) + errors.load(Ordering::SeqCst) < args.workflows {
        tokio::time::sleep(Duration::from_secs(args.report_every)).await;
        report(&mut last);
    }
    for s in starters {
        let _ = s.await;
    }
    report(&mut last);
    let total = started.elapsed().as_secs_f64();
    println!(
        "done: {} workflows in {total:.0} s ({:.0}/s), {} errors",
        completed.load(Ordering::SeqCst),
        completed.load(Ordering::SeqCst) as f64 / total,
        errors.load(Ordering::SeqCst)
    );
    stop.shutdown();
    let _ = running.await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(errors.load(Ordering::SeqCst), 0, "errors during the soak");
}
