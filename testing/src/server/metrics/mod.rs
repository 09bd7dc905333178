//! The server's own figures in Prometheus' text format: requests by method and status and their
//! latencies (recorded by [`layer::RequestMetricsLayer`] around every gRPC call), task-queue poll
//! waits, store commit latencies; task-queue backlogs and open runs are read from matching and
//! the history engine when scraped. [`http`] serves them at `/metrics`.
//!
//! Counters and histograms are plain maps behind a mutex (a handful of label sets, updated once
//! per request): no metrics library, nothing to configure.

pub(crate) mod http;
pub(crate) mod layer;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// One histogram: counts per bucket (not cumulative), sum and count.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += secs;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("{{{s}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {}", braces(labels), self.sum);
        let _ = writeln!(out, "{name}_count{} {}", braces(labels), self.count);
    }
}

#[derive(Debug, Default)]
struct Figures {
    /// (service, method, gRPC status name) → count.
    requests: BTreeMap<(String, String, &'static str), u64>,
    /// (service, method) → latency.
    latency: BTreeMap<(String, String), Histogram>,
    /// (queue type, outcome) → how long a poll waited.
    poll_waits: BTreeMap<(&'static str, &'static str), Histogram>,
    /// Store commits (`commit_all` calls) by outcome, and their latency.
    commits: BTreeMap<&'static str, u64>,
    commit_latency: Histogram,
}

/// The figures one server records.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    figures: Mutex<Figures>,
}

/// A gauge sample read at scrape time: labels (name, value) and the value.
pub(crate) type Sample = (Vec<(&'static str, String)>, u64);

impl Metrics {
    fn figures(&self) -> std::sync::MutexGuard<'_, Figures> {
        self.figures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A gRPC call ended with `status` after `elapsed`.
    pub(crate) fn request(&self, service: &str, method: &str, status: i32, elapsed: Duration) {
        let mut f = self.figures();
        *f.requests
            .entry((service.to_string(), method.to_string(), status_name(status)))
            .or_default() += 1;
        f.latency
            .entry((service.to_string(), method.to_string()))
            .or_default()
            .observe(elapsed);
    }

    /// A task-queue long poll waited `elapsed` and got a task or not.
    pub(crate) fn poll_wait(&self, queue_type: &'static str, got_task: bool, elapsed: Duration) {
        let outcome = if got_task { "task" } else { "empty" };
        self.figures()
            .poll_waits
            .entry((queue_type, outcome))
            .or_default()
            .observe(elapsed);
    }

    /// One `Store::commit_all` call took `elapsed`.
    pub(crate) fn commit(&self, ok: bool, elapsed: Duration) {
        let mut f = self.figures();
        *f.commits
            .entry(if ok { "ok" } else { "error" })
            .or_default() += 1;
        f.commit_latency.observe(elapsed);
    }

    /// The text exposition (format 0.0.4) of the recorded figures and of the gauges given.
    pub(crate) fn render(&self, backlogs: &[Sample], open_runs: &[Sample]) -> String {
        let mut out = String::new();
        let f = self.figures();
        header(
            &mut out,
            "reprise_server_requests_total",
            "counter",
            "gRPC requests answered, by service, method and status code.",
        );
        for ((service, method, status), n) in &f.requests {
            let _ = writeln!(
                out,
                "reprise_server_requests_total{{service=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(service),
                escape(method)
            );
        }
        header(
            &mut out,
            "reprise_server_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response headers (a long poll's wait included).",
        );
        for ((service, method), h) in &f.latency {
            let labels = format!(
                "service=\"{}\",method=\"{}\"",
                escape(service),
                escape(method)
            );
            h.render(&mut out, "reprise_server_request_duration_seconds", &labels);
        }
        header(
            &mut out,
            "reprise_server_poll_wait_seconds",
            "histogram",
            "How long task-queue long polls waited, by queue type and outcome (task or empty).",
        );
        for ((queue_type, outcome), h) in &f.poll_waits {
            let labels = format!("queue_type=\"{queue_type}\",outcome=\"{outcome}\"");
            h.render(&mut out, "reprise_server_poll_wait_seconds", &labels);
        }
        header(
            &mut out,
            "reprise_server_store_commits_total",
            "counter",
            "Store commits (one per state transition), by result.",
        );
        for (result, n) in &f.commits {
            let _ = writeln!(
                out,
                "reprise_server_store_commits_total{{result=\"{result}\"}} {n}"
            );
        }
        header(
            &mut out,
            "reprise_server_store_commit_duration_seconds",
            "histogram",
            "Latency of store commits.",
        );
        f.commit_latency
            .render(&mut out, "reprise_server_store_commit_duration_seconds", "");
        drop(f);
        gauge(
            &mut out,
            "reprise_server_task_queue_backlog",
            "Tasks waiting in a task queue for a poller.",
            backlogs,
        );
        gauge(
            &mut out,
            "reprise_server_open_runs",
            "Workflow runs not closed, by namespace.",
            open_runs,
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[Sample]) {
    header(out, name, "gauge", help);
    for (labels, value) in samples {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// A label value as the text format wants it (backslash, quote and newline escaped).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// gRPC's name of a status code, as the official server's metrics label it.
fn status_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "Canceled",
        2 => "Unknown",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.request("svc", "M\"x", 0, Duration::from_millis(3));
        m.request("svc", "M\"x", 5, Duration::from_secs(100));
        let text = m.render(&[(vec![("task_queue", "q".into())], 4)], &[]);
        assert!(text.contains(
            "reprise_server_requests_total{service=\"svc\",method=\"M\\\"x\",status=\"NotFound\"} 1"
        ));
        assert!(text.contains(
            "reprise_server_request_duration_seconds_bucket{service=\"svc\",method=\"M\\\"x\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "reprise_server_request_duration_seconds_bucket{service=\"svc\",method=\"M\\\"x\",le=\"60\"} 1"
        ));
        assert!(text.contains(
            "reprise_server_request_duration_seconds_bucket{service=\"svc\",method=\"M\\\"x\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("reprise_server_task_queue_backlog{task_queue=\"q\"} 4"));
    }
}
