//! What a worker and a client tell about themselves: Temporal's SDK metrics, through the
//! [`metrics`] facade so that the exporter is yours to pick, and the spans they trace.
//!
//! # Metrics
//!
//! The names, types and tags are those of Temporal's *SDK metrics reference*, so the dashboards
//! made for the official SDKs chart a Reprise worker too. Every name starts with `temporal_`;
//! durations are histograms in **seconds** (as the Go and Java SDKs report them; Core-based SDKs
//! default to milliseconds). The list is in [`names`].
//!
//! By default ([`Metrics::global`]) they go to the recorder installed with
//! [`metrics::set_global_recorder`] — none installed, nothing is recorded. A client made with
//! [`ClientOptions::with_metrics`](crate::client::ClientOptions::with_metrics) sends them to the
//! recorder you give (a [`PrometheusEndpoint`]'s with the `prometheus` feature), and its workers
//! do too; [`Metrics::disabled`] turns them off.
//!
//! # Spans
//!
//! With a `tracing` subscriber installed, the worker opens an `INFO` span for each workflow task
//! (`workflow_task`), activity attempt (`activity`) and local activity attempt
//! (`local_activity`), and `DEBUG` spans for each poll (`temporal_poll`) and RPC attempt
//! (`temporal_rpc`), with the fields `namespace`, `task_queue`, `workflow_type`, `workflow_id`,
//! `run_id`, `activity_type`, `activity_id`, `attempt`, `operation` and `poller_type` where they
//! apply. Workflow code logs through [`workflow_info!`](crate::workflow_info) and its siblings,
//! which stay silent while the run replays.

pub mod names;
#[cfg(feature = "prometheus")]
mod prometheus;

#[cfg(feature = "prometheus")]
pub use prometheus::PrometheusEndpoint;

use metrics::{Key, Label, Level, Metadata, Recorder, SharedString, Unit};
use std::sync::Arc;
use std::time::Duration;

static METADATA: Metadata<'static> = Metadata::new("reprise", Level::INFO, Some("reprise"));

/// Where metrics go. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    sink: Sink,
}

#[derive(Clone, Default)]
enum Sink {
    /// The `metrics` crate's global (or thread-local) recorder.
    #[default]
    Global,
    Disabled,
    Recorder(Arc<dyn Recorder + Send + Sync>),
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.sink {
            Sink::Global => "Metrics(global recorder)",
            Sink::Disabled => "Metrics(disabled)",
            Sink::Recorder(_) => "Metrics(recorder)",
        })
    }
}

impl Metrics {
    /// The recorder installed with [`metrics::set_global_recorder`] (the default).
    pub fn global() -> Self {
        Metrics { sink: Sink::Global }
    }

    /// No metrics at all.
    pub fn disabled() -> Self {
        Metrics {
            sink: Sink::Disabled,
        }
    }

    /// A recorder of your own (any `metrics` exporter's), for this client and its workers only.
    pub fn with_recorder(recorder: Arc<dyn Recorder + Send + Sync>) -> Self {
        let metrics = Metrics {
            sink: Sink::Recorder(recorder),
        };
        metrics.describe();
        metrics
    }

    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.sink, Sink::Disabled)
    }

    fn with<T: Default>(&self, f: impl FnOnce(&dyn Recorder) -> T) -> T {
        match &self.sink {
            Sink::Global => metrics::with_recorder(f),
            Sink::Disabled => T::default(),
            Sink::Recorder(r) => f(r.as_ref()),
        }
    }

    /// Describes every metric (units, help text) to the recorder.
    pub(crate) fn describe(&self) {
        self.with(|r| {
            for (name, kind, help) in names::ALL {
                let help = SharedString::const_str(help);
                let name = metrics::KeyName::from_const_str(name);
                match kind {
                    names::Kind::Counter => r.describe_counter(name, None, help),
                    names::Kind::Gauge => r.describe_gauge(name, None, help),
                    names::Kind::Histogram => r.describe_histogram(name, Some(Unit::Seconds), help),
                }
            }
        })
    }

    /// Adds `n` to a counter.
    pub(crate) fn count(&self, name: &'static str, tags: &Tags, n: u64) {
        if self.is_enabled() {
            self.with(|r| {
                r.register_counter(&tags.key(name), &METADATA).increment(n);
            })
        }
    }

    /// Sets a gauge.
    pub(crate) fn gauge(&self, name: &'static str, tags: &Tags, value: f64) {
        if self.is_enabled() {
            self.with(|r| r.register_gauge(&tags.key(name), &METADATA).set(value))
        }
    }

    /// A counter's handle, to record into again and again without looking it up.
    pub(crate) fn counter(&self, name: &'static str, tags: &Tags) -> metrics::Counter {
        match &self.sink {
            Sink::Disabled => metrics::Counter::noop(),
            Sink::Global => {
                metrics::with_recorder(|r| r.register_counter(&tags.key(name), &METADATA))
            }
            Sink::Recorder(r) => r.register_counter(&tags.key(name), &METADATA),
        }
    }

    /// A histogram's handle (values in seconds).
    pub(crate) fn histogram(&self, name: &'static str, tags: &Tags) -> metrics::Histogram {
        match &self.sink {
            Sink::Disabled => metrics::Histogram::noop(),
            Sink::Global => {
                metrics::with_recorder(|r| r.register_histogram(&tags.key(name), &METADATA))
            }
            Sink::Recorder(r) => r.register_histogram(&tags.key(name), &METADATA),
        }
    }

    /// Records a duration, in seconds.
    pub(crate) fn latency(&self, name: &'static str, tags: &Tags, duration: Duration) {
        if self.is_enabled() {
            self.with(|r| {
                r.register_histogram(&tags.key(name), &METADATA)
                    .record(duration.as_secs_f64())
            })
        }
    }
}

/// The tags of a metric, built once and shared (cloning one costs reference counts only).
#[derive(Clone, Debug, Default)]
pub(crate) struct Tags(Vec<Label>);

impl Tags {
    /// `namespace` (every metric has it).
    pub(crate) fn namespace(namespace: &str) -> Self {
        Tags(vec![label("namespace", namespace)])
    }

    /// The same tags and one more.
    pub(crate) fn with(&self, key: &'static str, value: &str) -> Self {
        let mut labels = self.0.clone();
        labels.push(label(key, value));
        Tags(labels)
    }

    /// The same tags and one more, with a static value (no allocation).
    pub(crate) fn with_static(&self, key: &'static str, value: &'static str) -> Self {
        let mut labels = self.0.clone();
        labels.push(Label::from_static_parts(key, value));
        Tags(labels)
    }

    fn key(&self, name: &'static str) -> Key {
        Key::from_parts(name, self.0.clone())
    }
}

fn label(key: &'static str, value: &str) -> Label {
    Label::new(key, SharedString::from_shared(Arc::<str>::from(value)))
}
