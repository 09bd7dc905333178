//! Worker throughput bench with the shapes of the official Rust SDK's anchor harness, so the
//! two can be run side by side against the same server (`scripts/bench-vs-official.py` does).
//!
//! ```text
//! cargo build --release -p reprise-examples --bin worker-bench
//! target/release/worker-bench throughput --n 300 --address 127.0.0.1:7233
//! target/release/worker-bench throughput-noact --n 300 --address 127.0.0.1:7233
//! ```
//!
//! Worker and client run in this process with default worker settings. One untimed warm-up
//! workflow, then `n` workflows started at once (one task each: start, then wait for the
//! result); the wall time runs from the first start to the last result. `throughput`: the
//! workflow calls one trivial activity (10 s start-to-close) and returns its result;
//! `throughput-noact`: it returns its input. Prints one JSON line: mode, n, wall time,
//! workflows/s, peak RSS (`VmHWM`) and the process's user+sys CPU.
#![allow(clippy::print_stdout)]

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Trivial activities.
pub struct BenchActivities;

#[reprise::activities]
impl BenchActivities {
    /// Echoes its input.
    pub async fn noop(&self, _ctx: ActivityContext, x: u32) -> Result<u32, ActivityError> {
        Ok(x)
    }
}

/// Calls one trivial activity and returns its result.
#[derive(Default)]
pub struct OneActivityWorkflow;

#[reprise::workflow]
impl OneActivityWorkflow {
    /// The workflow.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, x: u32) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(BenchActivities::noop, (x,))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?)
    }
}

/// Returns its input immediately.
#[derive(Default)]
pub struct NoActivityWorkflow;

#[reprise::workflow]
impl NoActivityWorkflow {
    /// The workflow.
    #[run]
    pub async fn run(&self, _ctx: &WorkflowContext, x: u32) -> WorkflowResult<u32> {
        Ok(x)
    }
}

struct Args {
    mode: String,
    n: u32,
    address: String,
    namespace: String,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = std::env::args().skip(1);
    let mode = args
        .next()
        .ok_or("usage: worker-bench throughput|throughput-noact [--n N] [--address HOST:PORT] [--namespace NS]")?;
    if mode != "throughput" && mode != "throughput-noact" {
        return Err(format!("unknown mode {mode:?}").into());
    }
    let mut parsed = Args {
        mode,
        n: 300,
        address: "127.0.0.1:7233".into(),
        namespace: "default".into(),
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--n" => parsed.n = value.parse()?,
            "--address" => parsed.address = value,
            "--namespace" => parsed.namespace = value,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(parsed)
}

/// A field of /proc/self/status in kB.
fn status_kib(field: &str) -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// User+sys CPU of this process so far, seconds (clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

async fn run_one(
    client: &Client,
    with_activity: bool,
    x: u32,
    options: WorkflowOptions,
) -> Result<u32, Error> {
    let result = if with_activity {
        client
            .execute(OneActivityWorkflow::run, (x,), options)
            .await?
    } else {
        client
            .execute(NoActivityWorkflow::run, (x,), options)
            .await?
    };
    if result != x {
        return Err(format!("workflow {x} returned {result}").into());
    }
    Ok(result)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let with_activity = args.mode == "throughput";
    let client = Client::connect(
        ClientOptions::new(args.address.clone()).with_namespace(args.namespace.clone()),
    )
    .await?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tq = format!("reprise-tp-{}-{nanos}", std::process::id());
    let mut builder = Worker::builder(client.clone(), &tq).activities(BenchActivities);
    builder = if with_activity {
        builder.workflow::<OneActivityWorkflow>()
    } else {
        builder.workflow::<NoActivityWorkflow>()
    };
    let worker = builder.build()?;
    let stop = worker.shutdown_handle();
    let running = tokio::spawn(async move { worker.run().await });

    run_one(
        &client,
        with_activity,
        0,
        WorkflowOptions::new(format!("{tq}-warmup"), &tq),
    )
    .await?;
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..args.n {
        let client = client.clone();
        let options = WorkflowOptions::new(format!("{tq}-{i}"), &tq);
        set.spawn(async move { run_one(&client, with_activity, i, options).await });
    }
    while let Some(done) = set.join_next().await {
        done??;
    }
    let wall = started.elapsed().as_secs_f64();
    stop.shutdown();
    running.await??;
    println!(
        r#"{{"sdk":"reprise","mode":"{}","n":{},"wall_s":{:.4},"wf_per_s":{:.2},"vm_hwm_kib":{},"cpu_s":{:.2}}}"#,
        args.mode,
        args.n,
        wall,
        f64::from(args.n) / wall,
        status_kib("VmHWM:"),
        cpu_seconds()
    );
    Ok(())
}
