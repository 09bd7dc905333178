//! The `reprise-server` binary as an operator meets it: `--help` and `--version`, environment
//! variable fallbacks, log formats, and the Prometheus metrics endpoint after a workflow ran.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::worker::Worker;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_reprise-server");

/// The binary with its stdout read up to the ready line (and the metrics line when asked).
struct Server {
    child: Child,
    address: String,
    metrics: Option<String>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)], metrics: bool) -> Server {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in [
            "REPRISE_ADDRESS",
            "REPRISE_NAMESPACES",
            "REPRISE_LOG_FORMAT",
            "REPRISE_LOG_LEVEL",
            "REPRISE_LOG_FILTER",
            "REPRISE_METRICS_ADDRESS",
            "RUST_LOG",
        ] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("spawn reprise-server");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the ready line");
        let address = line
            .trim()
            .strip_prefix("reprise-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let metrics = metrics.then(|| {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read the metrics line");
            line.trim()
                .strip_prefix("reprise-server metrics on http://")
                .and_then(|rest| rest.strip_suffix("/metrics"))
                .unwrap_or_else(|| panic!("unexpected metrics line {line:?}"))
                .to_string()
        });
        Server {
            child,
            address,
            metrics,
            stdout,
        }
    }

    /// SIGTERM, then everything the server wrote on stderr.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "stderr: {stderr}");
        stderr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temporal(server: &Server, args: &[&str]) -> String {
    let cli = std::env::var("TEMPORAL_CLI")
        .expect("TEMPORAL_CLI is not set: run `. scripts/tools.sh` (scripts/test.sh does)");
    let out = Command::new(cli)
        .args(args)
        .args(["--address", &server.address])
        .output()
        .expect("run temporal");
    assert!(
        out.status.success(),
        "temporal {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `GET /metrics` over a plain TCP connection.
fn scrape(address: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect to metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    (head.to_string(), body.to_string())
}

/// The value of the sample `name{labels}` (labels exactly as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn help_lists_every_flag_with_its_variable_and_version_prints() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for (flag, variable) in [
        ("--address", Some("REPRISE_ADDRESS")),
        ("--memory", Some("REPRISE_MEMORY")),
        ("--db ", Some("REPRISE_DB")),
        ("--db-sync", Some("REPRISE_DB_SYNC")),
        ("--namespace", Some("REPRISE_NAMESPACES")),
        ("--search-attribute", Some("REPRISE_SEARCH_ATTRIBUTES")),
        ("--time-skipping", Some("REPRISE_TIME_SKIPPING")),
        ("--enable-time-skipping", None),
        ("--log-level", Some("REPRISE_LOG_LEVEL")),
        ("--log-filter", Some("REPRISE_LOG_FILTER")),
        ("--log-format", Some("REPRISE_LOG_FORMAT")),
        ("--metrics-address", Some("REPRISE_METRICS_ADDRESS")),
        ("[PORT]", None),
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} missing from --help:\n{help}"));
        // Each flag has a sentence of help after its name.
        assert!(line.len() > flag.len() + 30, "{flag} has no help: {line:?}");
        if let Some(variable) = variable {
            assert!(line.contains(&format!("[env: {variable}=")), "{line}");
        }
    }
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("reprise-server {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn variables_stand_in_for_flags_and_flags_win() {
    let server = Server::start(
        &[],
        &[
            ("REPRISE_ADDRESS", "127.0.0.1:0"),
            ("REPRISE_NAMESPACES", "from-env-1,from-env-2"),
            ("REPRISE_LOG_FORMAT", "json"),
        ],
        false,
    );
    let namespaces = temporal(&server, &["operator", "namespace", "list"]);
    assert!(namespaces.contains("from-env-1") && namespaces.contains("from-env-2"));
    let stderr = server.stop();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "SIGTERM: shutting down"),
        "{stderr}"
    );

    // A flag on the command line wins over its variable (which is then not even parsed).
    let server = Server::start(
        &["--address", "127.0.0.1:0", "--log-level", "warn"],
        &[("REPRISE_ADDRESS", "not an address"), ("RUST_LOG", "debug")],
        false,
    );
    let stderr = server.stop();
    assert!(
        !stderr.contains("shutting down"),
        "--log-level warn wins over RUST_LOG: {stderr}"
    );
    // RUST_LOG applies when no flag says otherwise; a bad filter is a usage error.
    let server = Server::start(
        &["--address", "127.0.0.1:0"],
        &[("RUST_LOG", "warn")],
        false,
    );
    assert!(!server.stop().contains("shutting down"));
    let out = Command::new(BIN)
        .args(["--address", "127.0.0.1:0", "--log-filter", "=[bad"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .env("REPRISE_DB_SYNC", "sometimes")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sometimes"));
}

#[derive(Default)]
struct Greeting;

#[reprise::workflow]
impl Greeting {
    #[run]
    async fn run(&self, ctx: &WorkflowContext, name: String) -> WorkflowResult<String> {
        let greeting: String = ctx
            .activity(Greeter::greet, (name,))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        Ok(greeting)
    }
}

struct Greeter;

#[reprise::activities]
impl Greeter {
    async fn greet(&self, _ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
        Ok(format!("hello {name}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_after_a_workflow_ran() {
    let server = Server::start(
        &["--address", "127.0.0.1:0"],
        &[("REPRISE_METRICS_ADDRESS", "127.0.0.1:0")],
        true,
    );
    let metrics = server.metrics.clone().expect("metrics address");
    let client = Client::connect(ClientOptions::new(server.address.clone()))
        .await
        .expect("connect");
    let worker = Worker::builder(client.clone(), "metrics")
        .workflow::<Greeting>()
        .activities(Greeter)
        .build()
        .expect("worker");
    let stop = worker.shutdown_handle();
    let worker = tokio::spawn(worker.run());
    let result = client
        .execute(
            Greeting::run,
            ("ops".to_string(),),
            WorkflowOptions::new("metrics-1", "metrics"),
        )
        .await
        .expect("workflow");
    assert_eq!(result, "hello ops");
    // A call that fails: counted under its status.
    assert!(
        client
            .workflow_handle("no-such-workflow", None)
            .describe()
            .await
            .is_err()
    );
    stop.shutdown();
    let _ = worker.await;

    let (head, text) = tokio::task::spawn_blocking(move || scrape(&metrics, "/metrics"))
        .await
        .expect("scrape");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let requests = |method: &str, status: &str| {
        sample(
            &text,
            &format!(
                "reprise_server_requests_total{{service=\"WorkflowService\",method=\"{method}\",status=\"{status}\"}}"
            ),
        )
        .unwrap_or(0.0)
    };
    assert_eq!(requests("StartWorkflowExecution", "OK"), 1.0, "{text}");
    assert!(
        requests("RespondWorkflowTaskCompleted", "OK") >= 2.0,
        "{text}"
    );
    assert_eq!(
        requests("RespondActivityTaskCompleted", "OK"),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests("DescribeWorkflowExecution", "NotFound"),
        1.0,
        "{text}"
    );
    let count = |series: &str| sample(&text, series).unwrap_or(0.0);
    assert_eq!(
        count(
            "reprise_server_request_duration_seconds_count{service=\"WorkflowService\",method=\"StartWorkflowExecution\"}"
        ),
        1.0
    );
    assert!(
        count("reprise_server_poll_wait_seconds_count{queue_type=\"activity\",outcome=\"task\"}")
            >= 1.0,
        "{text}"
    );
    assert!(
        count("reprise_server_poll_wait_seconds_count{queue_type=\"workflow\",outcome=\"task\"}")
            >= 2.0,
        "{text}"
    );
    // Start, task started/completed, activity scheduled/started/completed, ...: several commits.
    assert!(
        count("reprise_server_store_commits_total{result=\"ok\"}") >= 6.0,
        "{text}"
    );
    assert!(count("reprise_server_store_commit_duration_seconds_count") >= 6.0);
    assert_eq!(
        sample(&text, "reprise_server_open_runs{namespace=\"default\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "reprise_server_task_queue_backlog{namespace=\"default\",task_queue=\"metrics\",queue_type=\"activity\"}"
        ),
        Some(0.0),
        "{text}"
    );
    let metrics = server.metrics.clone().expect("metrics address");
    let (head, _) = tokio::task::spawn_blocking(move || scrape(&metrics, "/other"))
        .await
        .expect("scrape");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    server.stop();
}
