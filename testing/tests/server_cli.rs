//! The official `temporal` CLI ($TEMPORAL_CLI, pinned in scripts/tools.sh) against the
//! `reprise-server` binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// The binary, started on a free port; killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        Self::start_on(&["--memory"], extra)
    }

    /// Starts the binary with `storage` (`--memory` or `--db PATH`).
    fn start_on(storage: &[&str], extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reprise-server"))
            .args(["--address", "127.0.0.1:0"])
            .args(storage)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn reprise-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let address = line
            .trim()
            .strip_prefix("reprise-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, address }
    }

    fn cli(&self, args: &[&str]) -> Output {
        let cli = std::env::var("TEMPORAL_CLI")
            .expect("TEMPORAL_CLI is not set: run `. scripts/tools.sh` (scripts/test.sh does)");
        Command::new(cli)
            .args(args)
            .args(["--address", &self.address])
            .output()
            .expect("run temporal")
    }

    /// Runs the CLI, asserts success, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "temporal {args:?} failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the CLI, asserts failure, returns stdout + stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(!out.status.success(), "temporal {args:?} should fail");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_id(start_output: &str) -> String {
    start_output
        .lines()
        .find_map(|l| l.trim().strip_prefix("RunId"))
        .map(|r| r.trim().to_string())
        .unwrap_or_else(|| panic!("no RunId in {start_output}"))
}

fn event_types(json: &str) -> Vec<String> {
    let history = reprise::history::from_json_str(json).expect("the CLI's JSON history parses");
    history
        .events
        .iter()
        .map(|e| {
            reprise::api::temporal::api::enums::v1::EventType::try_from(e.event_type)
                .map(|t| t.as_str_name().to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn workflow_commands() {
    let s = Server::start(&["--search-attribute", "CustomerId=Keyword"]);
    let out = s.ok(&[
        "workflow",
        "start",
        "--type",
        "OrderFlow",
        "--task-queue",
        "orders",
        "--workflow-id",
        "order-1",
        "--input",
        "\"abc\"",
        "--search-attribute",
        "CustomerId=\"c-1\"",
    ]);
    assert!(
        out.contains("order-1") && out.contains("OrderFlow"),
        "{out}"
    );
    // Without --fail-existing the CLI (Go SDK) answers an already-started error with the
    // existing run; with it, the error shows.
    let again = s.ok(&[
        "workflow",
        "start",
        "--type",
        "OrderFlow",
        "--task-queue",
        "orders",
        "--workflow-id",
        "order-1",
    ]);
    assert_eq!(run_id(&again), run_id(&out));
    let err = s.fails(&[
        "workflow",
        "start",
        "--type",
        "OrderFlow",
        "--task-queue",
        "orders",
        "--workflow-id",
        "order-1",
        "--fail-existing",
    ]);
    assert!(err.to_lowercase().contains("already"), "{err}");
    s.ok(&[
        "workflow",
        "start",
        "--type",
        "Other",
        "--task-queue",
        "orders",
        "--workflow-id",
        "other-1",
    ]);

    let list = s.ok(&["workflow", "list"]);
    assert!(
        list.contains("order-1") && list.contains("other-1") && list.contains("Running"),
        "{list}"
    );
    let list = s.ok(&["workflow", "list", "--query", "WorkflowType = 'OrderFlow'"]);
    assert!(
        list.contains("order-1") && !list.contains("other-1"),
        "{list}"
    );
    let list = s.ok(&["workflow", "list", "--query", "CustomerId = 'c-1'"]);
    assert!(
        list.contains("order-1") && !list.contains("other-1"),
        "{list}"
    );
    let err = s.fails(&["workflow", "list", "--query", "NoSuchAttribute = 'x'"]);
    assert!(err.contains("NoSuchAttribute"), "{err}");
    assert!(s.ok(&["workflow", "count"]).contains("Total: 2"));
    assert!(
        s.ok(&["workflow", "count", "--query", "WorkflowType = 'OrderFlow'"])
            .contains("Total: 1")
    );

    let described = s.ok(&["workflow", "describe", "--workflow-id", "order-1"]);
    assert!(
        described.contains("order-1")
            && described.contains("OrderFlow")
            && described.contains("orders"),
        "{described}"
    );
    let err = s.fails(&["workflow", "describe", "--workflow-id", "missing"]);
    assert!(err.to_lowercase().contains("not found"), "{err}");

    s.ok(&[
        "workflow",
        "signal",
        "--workflow-id",
        "order-1",
        "--name",
        "approve",
        "--input",
        "\"alice\"",
    ]);
    let shown = s.ok(&["workflow", "show", "--workflow-id", "order-1"]);
    assert!(shown.contains("WorkflowExecutionSignaled"), "{shown}");

    s.ok(&["workflow", "cancel", "--workflow-id", "order-1"]);
    s.ok(&[
        "workflow",
        "terminate",
        "--workflow-id",
        "order-1",
        "--reason",
        "done",
    ]);
    let json = s.ok(&[
        "workflow",
        "show",
        "--workflow-id",
        "order-1",
        "--output",
        "json",
    ]);
    assert_eq!(
        event_types(&json),
        [
            "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
            "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
            "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",
            "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
            "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED",
        ]
    );
    let described = s.ok(&[
        "workflow",
        "describe",
        "--workflow-id",
        "order-1",
        "--output",
        "json",
    ]);
    assert!(
        described.contains("WORKFLOW_EXECUTION_STATUS_TERMINATED"),
        "{described}"
    );
    assert!(
        described.contains("EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED"),
        "{described}"
    );
    let list = s.ok(&[
        "workflow",
        "list",
        "--query",
        "ExecutionStatus = 'Terminated'",
    ]);
    assert!(
        list.contains("order-1") && !list.contains("other-1"),
        "{list}"
    );
    let err = s.fails(&["workflow", "terminate", "--workflow-id", "order-1"]);
    assert!(err.to_lowercase().contains("completed"), "{err}");
}

#[test]
fn operator_commands() {
    let s = Server::start(&["--namespace", "extra", "--search-attribute", "Priority=Int"]);
    let list = s.ok(&["operator", "namespace", "list"]);
    assert!(list.contains("default") && list.contains("extra"), "{list}");
    let described = s.ok(&[
        "operator",
        "namespace",
        "describe",
        "--namespace",
        "default",
    ]);
    assert!(
        described.contains("default") && described.contains("Registered"),
        "{described}"
    );
    let err = s.fails(&["operator", "namespace", "describe", "--namespace", "nope"]);
    assert!(err.contains("nope"), "{err}");
    let attributes = s.ok(&["operator", "search-attribute", "list"]);
    assert!(
        attributes.contains("WorkflowId") && attributes.contains("Keyword"),
        "{attributes}"
    );
    assert!(
        attributes.contains("Priority") && attributes.contains("Int"),
        "{attributes}"
    );
    // Namespaces and search attributes made through the CLI.
    s.ok(&[
        "operator",
        "namespace",
        "create",
        "--namespace",
        "made-by-cli",
        "--retention",
        "48h",
    ]);
    let described = s.ok(&[
        "operator",
        "namespace",
        "describe",
        "--namespace",
        "made-by-cli",
    ]);
    assert!(
        described.contains("made-by-cli") && described.contains("48h"),
        "{described}"
    );
    let err = s.fails(&[
        "operator",
        "namespace",
        "create",
        "--namespace",
        "made-by-cli",
    ]);
    assert!(err.to_lowercase().contains("already exists"), "{err}");
    s.ok(&[
        "operator",
        "search-attribute",
        "create",
        "--name",
        "Region",
        "--type",
        "Keyword",
    ]);
    let attributes = s.ok(&["operator", "search-attribute", "list"]);
    assert!(attributes.contains("Region"), "{attributes}");
    s.ok(&[
        "workflow",
        "start",
        "--type",
        "T",
        "--task-queue",
        "q",
        "--workflow-id",
        "in-region",
        "--search-attribute",
        "Region=\"eu\"",
    ]);
    let list = s.ok(&["workflow", "list", "--query", "Region = 'eu'"]);
    assert!(list.contains("in-region"), "{list}");
    // A workflow in the second namespace is invisible from the first.
    s.ok(&[
        "workflow",
        "start",
        "--namespace",
        "extra",
        "--type",
        "T",
        "--task-queue",
        "q",
        "--workflow-id",
        "in-extra",
    ]);
    assert!(
        s.ok(&["workflow", "list", "--namespace", "extra"])
            .contains("in-extra")
    );
    assert!(!s.ok(&["workflow", "list"]).contains("in-extra"));
}

#[test]
fn binary_arguments_and_signals() {
    let bin = env!("CARGO_BIN_EXE_reprise-server");
    let out = Command::new(bin)
        .args(["--memory", "--db", "/nonexistent/x.db"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    let out = Command::new(bin)
        .args(["--db", "x.db", "--db-sync", "sometimes"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--db-sync"));
    let out = Command::new(bin)
        .args(["--address", "127.0.0.1:0", "--db", "/nonexistent-dir/x.db"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unopenable file is a clean failure"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/x.db"));
    let out = Command::new(bin)
        .args(["--search-attribute", "X=Nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(bin).args(["--bogus"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));

    // SIGTERM: a clean stop with exit code 0.
    let mut s = Server::start(&[]);
    s.ok(&["operator", "namespace", "list"]);
    let pid = s.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = s.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{status}");

    // A signal right after the ready line is handled too (the handlers exist before the line).
    for signal in ["-INT", "-TERM"] {
        let mut s = Server::start(&[]);
        let pid = s.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .expect("kill")
                .success()
        );
        let status = s.child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "{signal}: {status}");
    }
}

#[test]
fn a_db_file_keeps_workflows_across_restarts_of_the_binary() {
    let db = std::env::temp_dir().join(format!("reprise-cli-{}.db", std::process::id()));
    let path = db.to_string_lossy().into_owned();
    let s = Server::start_on(&["--db", &path], &["--namespace", "kept"]);
    s.ok(&[
        "workflow",
        "start",
        "--type",
        "T",
        "--task-queue",
        "q",
        "--workflow-id",
        "survivor",
    ]);
    s.ok(&[
        "workflow",
        "signal",
        "--workflow-id",
        "survivor",
        "--name",
        "poke",
    ]);
    stop(s);

    let s = Server::start_on(&["--db", &path], &[]);
    let shown = s.ok(&[
        "workflow",
        "show",
        "--workflow-id",
        "survivor",
        "--output",
        "json",
    ]);
    assert!(shown.contains("WORKFLOW_EXECUTION_SIGNALED"), "{shown}");
    assert!(s.ok(&["workflow", "list"]).contains("survivor"));
    assert!(s.ok(&["operator", "namespace", "list"]).contains("kept"));
    s.ok(&[
        "workflow",
        "terminate",
        "--workflow-id",
        "survivor",
        "--reason",
        "done",
    ]);
    stop(s);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}

/// SIGTERM, then wait for a clean exit.
fn stop(mut s: Server) {
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = s.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{status}");
}
