//! The official `temporal` CLI's `schedule` commands ($TEMPORAL_CLI, pinned in
//! scripts/tools.sh) against the `reprise-server` binary: create, list, describe, trigger,
//! backfill, update, toggle, delete.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// The binary, started in memory on a free port; killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reprise-server"))
            .args(["--address", "127.0.0.1:0", "--memory"])
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

    /// `temporal schedule describe -o json`, parsed.
    fn describe(&self, id: &str) -> serde_json::Value {
        let out = self.ok(&["schedule", "describe", "--schedule-id", id, "-o", "json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("describe JSON ({e}): {out}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn action_count(describe: &serde_json::Value) -> i64 {
    describe["info"]["actionCount"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| describe["info"]["actionCount"].as_i64())
        .unwrap_or(0)
}

#[test]
fn schedule_commands() {
    let server = Server::start();
    server.ok(&[
        "schedule",
        "create",
        "--schedule-id",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--interval",
        "45m/5m",
        "--time-zone",
        "Europe/Paris",
        "--workflow-id",
        "report",
        "--task-queue",
        "reports",
        "--type",
        "Report",
        "--input",
        "\"full\"",
        "--overlap-policy",
        "AllowAll",
        "--notes",
        "from the CLI",
        "--schedule-memo",
        "team=\"ops\"",
    ]);
    let d = server.describe("nightly");
    let spec = &d["schedule"]["spec"];
    assert_eq!(spec["timezoneName"], "Europe/Paris");
    assert_eq!(spec["structuredCalendar"][0]["hour"][0]["start"], 3);
    assert_eq!(spec["interval"][0]["interval"], "2700s");
    assert_eq!(spec["interval"][0]["phase"], "300s");
    assert_eq!(d["schedule"]["state"]["notes"], "from the CLI");
    assert_eq!(
        d["schedule"]["policies"]["overlapPolicy"],
        "SCHEDULE_OVERLAP_POLICY_ALLOW_ALL"
    );
    assert_eq!(
        d["schedule"]["action"]["startWorkflow"]["workflowType"]["name"],
        "Report"
    );
    assert_eq!(
        d["info"]["futureActionTimes"].as_array().map(Vec::len),
        Some(10)
    );

    let list = server.ok(&["schedule", "list"]);
    assert!(list.contains("nightly"), "{list}");
    let list = server.ok(&["schedule", "list", "-o", "json"]);
    assert!(
        list.contains("\"nightly\"") && list.contains("Report"),
        "{list}"
    );

    server.ok(&["schedule", "trigger", "--schedule-id", "nightly"]);
    let d = server.describe("nightly");
    assert_eq!(action_count(&d), 1);
    let started = d["info"]["recentActions"][0]["startWorkflowResult"]["workflowId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(started.starts_with("report-20"), "{started}");
    let shown = server.ok(&["workflow", "describe", "--workflow-id", &started]);
    assert!(shown.contains("Report"), "{shown}");

    // 3:00 in Paris (02:00 UTC) and the 45-minute time at 01:35 UTC.
    server.ok(&[
        "schedule",
        "backfill",
        "--schedule-id",
        "nightly",
        "--start-time",
        "2026-01-05T01:35:00Z",
        "--end-time",
        "2026-01-05T02:00:00Z",
        "--overlap-policy",
        "AllowAll",
    ]);
    let d = server.describe("nightly");
    assert_eq!(action_count(&d), 3);
    let ids: Vec<String> = d["info"]["recentActions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    x["startWorkflowResult"]["workflowId"]
                        .as_str()
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        ids.contains(&"report-2026-01-05T02:00:00Z".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"report-2026-01-05T01:35:00Z".to_string()),
        "{ids:?}"
    );

    server.ok(&[
        "schedule",
        "update",
        "--schedule-id",
        "nightly",
        "--interval",
        "1h",
        "--workflow-id",
        "report",
        "--task-queue",
        "reports",
        "--type",
        "Report",
        "--overlap-policy",
        "BufferOne",
    ]);
    let d = server.describe("nightly");
    assert_eq!(d["schedule"]["spec"]["interval"][0]["interval"], "3600s");
    assert!(d["schedule"]["spec"]["structuredCalendar"].is_null());
    assert_eq!(
        d["schedule"]["policies"]["overlapPolicy"],
        "SCHEDULE_OVERLAP_POLICY_BUFFER_ONE"
    );
    assert_eq!(action_count(&d), 3, "an update keeps the counters");
    server.ok(&[
        "schedule",
        "toggle",
        "--schedule-id",
        "nightly",
        "--pause",
        "--reason",
        "deploy",
    ]);
    let d = server.describe("nightly");
    assert_eq!(d["schedule"]["state"]["paused"], true);
    assert_eq!(d["schedule"]["state"]["notes"], "deploy");
    server.ok(&[
        "schedule",
        "toggle",
        "--schedule-id",
        "nightly",
        "--unpause",
        "--reason",
        "done",
    ]);
    let d = server.describe("nightly");
    assert_ne!(d["schedule"]["state"]["paused"], true);

    server.ok(&["schedule", "delete", "--schedule-id", "nightly"]);
    let out = server.cli(&["schedule", "describe", "--schedule-id", "nightly"]);
    assert!(!out.status.success());
    assert!(!server.ok(&["schedule", "list"]).contains("nightly"));
}
