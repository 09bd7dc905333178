//! Spans and workflow logs, captured by a small `tracing` layer: the worker's and client's spans
//! carry the run's fields, and a workflow's log lines are emitted once although a worker without
//! a cache replays the run's history at every task, and not at all by the Replayer.

use reprise::client::{Client, ClientOptions, WorkflowOptions};
use reprise::replay::Replayer;
use reprise::worker::{Worker, WorkerOptions};
use reprise::workflow::WorkflowRegistry;
use reprise_examples::observability::{Shipment, TASK_QUEUE, Warehouse};
use reprise_testing::server::{ServerOptions, TestServer};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

/// What the layer saw: spans (name, fields) and events (target, fields, fields of its spans).
#[derive(Default)]
struct Seen {
    spans: Vec<(String, Fields)>,
    events: Vec<(String, Fields, Fields)>,
}

#[derive(Default)]
struct Capture(Arc<Mutex<Seen>>);

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields.clone());
        }
        if let Ok(mut seen) = self.0.lock() {
            seen.spans
                .push((attrs.metadata().name().to_string(), fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        let mut scope_fields = Fields::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<Fields>() {
                    scope_fields.extend(f.clone());
                }
                scope_fields.insert(format!("span:{}", span.name()), String::new());
            }
        }
        if let Ok(mut seen) = self.0.lock() {
            let target = event.metadata().target().to_string();
            seen.events.push((target, fields, scope_fields));
        }
    }
}

/// The process-wide capture (the worker logs from its own threads, so a thread-local
/// subscriber would miss them).
fn seen() -> Arc<Mutex<Seen>> {
    static SEEN: OnceLock<Arc<Mutex<Seen>>> = OnceLock::new();
    SEEN.get_or_init(|| {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let _ = tracing_subscriber::registry()
            .with(Capture(seen.clone()))
            .try_init();
        seen
    })
    .clone()
}

/// The workflow log lines (target `reprise::workflow`) of one parcel.
fn workflow_lines(seen: &Seen, parcel: &str) -> Vec<String> {
    seen.events
        .iter()
        .filter(|(target, fields, _)| {
            target == "reprise::workflow"
                && fields.get("parcel").map(|p| p.trim_matches('"')) == Some(parcel)
        })
        .map(|(_, fields, _)| fields.get("message").cloned().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_logs_once_despite_replays_and_spans_carry_the_run()
-> Result<(), Box<dyn std::error::Error>> {
    let seen = seen();
    let server = TestServer::start(ServerOptions::default()).await?;
    let client = Client::connect(ClientOptions::new(server.target())).await?;
    // No cache: every workflow task replays the run from its first event.
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Shipment>()
        .activities(Warehouse)
        .options(WorkerOptions::new(TASK_QUEUE).with_max_cached_workflows(0))
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());

    let handle = client
        .start(
            Shipment::run,
            ("parcel-7".to_string(),),
            WorkflowOptions::new("shipment-7", TASK_QUEUE),
        )
        .await?;
    let _: String = handle.result().await?;
    shutdown.shutdown();
    running.await??;

    {
        let seen = seen.lock().map_err(|_| "poisoned")?;
        assert_eq!(
            workflow_lines(&seen, "parcel-7"),
            ["shipment started", "parcel packed", "shipment done"],
            "each line once, in order, although tasks 2 and 3 replayed the run"
        );
        // The log lines are inside the workflow task's span, with the run's fields.
        let (_, _, scope) = seen
            .events
            .iter()
            .find(|(t, f, _)| {
                // This test's run only: the other test of this file logs concurrently.
                t == "reprise::workflow"
                    && f.get("message").map(String::as_str) == Some("parcel packed")
                    && f.get("parcel").map(|p| p.trim_matches('"')) == Some("parcel-7")
            })
            .ok_or("no log line")?;
        assert!(scope.contains_key("span:workflow_task"), "{scope:?}");
        assert_eq!(
            scope.get("workflow_id").map(String::as_str),
            Some("shipment-7")
        );
        assert_eq!(
            scope.get("workflow_type").map(String::as_str),
            Some("Shipment")
        );
        assert_eq!(
            scope.get("task_queue").map(String::as_str),
            Some(TASK_QUEUE)
        );
        assert_eq!(scope.get("namespace").map(String::as_str), Some("default"));
        assert!(!scope.get("run_id").is_none_or(String::is_empty));

        let span = |name: &str, key: &str, value: &str| {
            seen.spans
                .iter()
                .any(|(n, f)| n == name && f.get(key).map(String::as_str) == Some(value))
        };
        assert!(span("workflow_task", "workflow_id", "shipment-7"));
        assert!(span("activity", "activity_type", "pack"));
        assert!(span("activity", "workflow_id", "shipment-7"));
        assert!(span("activity", "attempt", "1"));
        assert!(span("activity", "activity_id", "1"));
        assert!(span("temporal_rpc", "operation", "StartWorkflowExecution"));
        assert!(span(
            "temporal_rpc",
            "operation",
            "RespondActivityTaskCompleted"
        ));
        assert!(span("temporal_poll", "poller_type", "workflow_task"));
        assert!(span("temporal_poll", "poller_type", "activity_task"));
    }

    // Replaying the whole history logs nothing.
    let before = workflow_lines(&*seen.lock().map_err(|_| "poisoned")?, "parcel-7").len();
    let history = handle.fetch_history().await?;
    let mut registry = WorkflowRegistry::new();
    registry.register_workflow::<Shipment>()?;
    Replayer::new(registry).replay(&history)?;
    let after = workflow_lines(&*seen.lock().map_err(|_| "poisoned")?, "parcel-7").len();
    assert_eq!(before, after, "the Replayer replays silently");
    server.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_activity_is_logged_with_its_cause_once_per_attempt()
-> Result<(), Box<dyn std::error::Error>> {
    let seen = seen();
    let server = TestServer::start(ServerOptions::default()).await?;
    let client = Client::connect(ClientOptions::new(server.target())).await?;
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Shipment>()
        .activities(Warehouse)
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    // An empty parcel name: the label activity fails, not retryable, and so does the workflow.
    let handle = client
        .start(
            Shipment::run,
            (String::new(),),
            WorkflowOptions::new("shipment-empty", TASK_QUEUE),
        )
        .await?;
    assert!(handle.result::<String>().await.is_err());
    shutdown.shutdown();
    running.await??;
    server.shutdown().await?;
    // Held to the end: nothing that logs may run from here on.
    let seen = seen.lock().map_err(|_| "poisoned")?;
    let failures: Vec<&Fields> = seen
        .events
        .iter()
        .filter(|(_, f, scope)| {
            f.get("message").map(String::as_str) == Some("activity attempt failed")
                && scope.get("workflow_id").map(String::as_str) == Some("shipment-empty")
        })
        .map(|(_, f, _)| f)
        .collect();
    assert_eq!(failures.len(), 1, "one attempt, logged once");
    assert!(
        failures[0]
            .get("error")
            .is_some_and(|e| e.contains("no parcel name"))
    );
    let workflow_failed: Vec<&Fields> = seen
        .events
        .iter()
        .filter(|(_, f, scope)| {
            f.get("message").map(String::as_str) == Some("workflow failed")
                && scope.get("workflow_id").map(String::as_str) == Some("shipment-empty")
        })
        .map(|(_, f, _)| f)
        .collect();
    assert_eq!(workflow_failed.len(), 1);
    // The workflow's failure prints its cause chain: the activity's failure, then its cause.
    let error = workflow_failed[0].get("error").ok_or("no error field")?;
    assert!(
        error.contains("caused by") && error.contains("no parcel name"),
        "{error}"
    );
    Ok(())
}
