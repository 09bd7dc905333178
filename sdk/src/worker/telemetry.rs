//! A worker's metrics and spans: the tags every one of its metrics has (namespace, task queue)
//! and the helpers the pollers, the workflow thread and the activity runners record through.

use crate::api::google::protobuf::Timestamp;
use crate::api::temporal::api::command::v1::{Command, command::Attributes};
use crate::telemetry::{Metrics, Tags, names};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;

/// The `worker_type` tag.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WorkerType {
    Workflow,
    Activity,
}

impl WorkerType {
    fn tag(self) -> &'static str {
        match self {
            WorkerType::Workflow => "WorkflowWorker",
            WorkerType::Activity => "ActivityWorker",
        }
    }
}

/// What a worker records through; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Telemetry {
    pub(crate) metrics: Metrics,
    /// `namespace` and `task_queue`.
    pub(crate) tags: Tags,
}

impl Telemetry {
    pub(crate) fn new(metrics: Metrics, namespace: &str, task_queue: &str) -> Self {
        Telemetry {
            tags: Tags::namespace(namespace).with("task_queue", task_queue),
            metrics,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.metrics.is_enabled()
    }

    pub(crate) fn count(&self, name: &'static str, n: u64) {
        self.metrics.count(name, &self.tags, n);
    }

    pub(crate) fn latency(&self, name: &'static str, d: Duration) {
        self.metrics.latency(name, &self.tags, d);
    }

    /// `count` with one more tag (`workflow_type`, `activity_type`).
    pub(crate) fn count_for(&self, name: &'static str, key: &'static str, value: &str) {
        if self.enabled() {
            self.metrics.count(name, &self.tags.with(key, value), 1);
        }
    }

    /// `latency` with one more tag.
    pub(crate) fn latency_for(
        &self,
        name: &'static str,
        key: &'static str,
        value: &str,
        d: Duration,
    ) {
        if self.enabled() {
            self.metrics.latency(name, &self.tags.with(key, value), d);
        }
    }

    /// The latency between two server timestamps (schedule to start), when both are there.
    pub(crate) fn between(
        &self,
        name: &'static str,
        from: Option<&Timestamp>,
        to: Option<&Timestamp>,
        tag: Option<(&'static str, &str)>,
    ) {
        let (Some(from), Some(to)) = (from, to) else {
            return;
        };
        if let Ok(d) = to.to_system_time().duration_since(from.to_system_time()) {
            match tag {
                Some((k, v)) => self.latency_for(name, k, v, d),
                None => self.latency(name, d),
            }
        }
    }

    /// The pollers of one kind (`workflow_task`, `sticky_workflow_task`, `activity_task`).
    pub(crate) fn pollers(&self, poller_type: &'static str, n: usize) {
        if self.enabled() {
            let tags = self.tags.with_static("poller_type", poller_type);
            self.metrics.gauge(names::NUM_POLLERS, &tags, n as f64);
        }
    }

    /// The slots of one kind of task: free and taken.
    pub(crate) fn slots(&self, worker_type: WorkerType, slots: &Semaphore, total: usize) {
        if self.enabled() {
            let tags = self.tags.with_static("worker_type", worker_type.tag());
            let available = slots.available_permits().min(total);
            self.metrics
                .gauge(names::WORKER_TASK_SLOTS_AVAILABLE, &tags, available as f64);
            let used = (total - available) as f64;
            self.metrics
                .gauge(names::WORKER_TASK_SLOTS_USED, &tags, used);
        }
    }

    /// A live task's closing command: the workflow's completion counters and end-to-end latency.
    pub(crate) fn run_closed(
        &self,
        commands: &[Command],
        workflow_type: &str,
        started: SystemTime,
    ) {
        if !self.enabled() {
            return;
        }
        let closed = commands.iter().find_map(|c| match c.attributes.as_ref()? {
            Attributes::CompleteWorkflowExecutionCommandAttributes(_) => {
                Some(names::WORKFLOW_COMPLETED)
            }
            Attributes::FailWorkflowExecutionCommandAttributes(_) => Some(names::WORKFLOW_FAILED),
            Attributes::CancelWorkflowExecutionCommandAttributes(_) => {
                Some(names::WORKFLOW_CANCELED)
            }
            Attributes::ContinueAsNewWorkflowExecutionCommandAttributes(_) => {
                Some(names::WORKFLOW_CONTINUE_AS_NEW)
            }
            _ => None,
        });
        let Some(name) = closed else { return };
        let tags = self.tags.with("workflow_type", workflow_type);
        self.metrics.count(name, &tags, 1);
        if let Ok(d) = SystemTime::now().duration_since(started) {
            self.metrics
                .latency(names::WORKFLOW_ENDTOEND_LATENCY, &tags, d);
        }
    }
}

/// A shared slot count (a semaphore and its size), reported as slot gauges when it changes.
#[derive(Clone, Debug)]
pub(crate) struct Slots {
    pub(crate) semaphore: Arc<Semaphore>,
    pub(crate) total: usize,
    pub(crate) worker_type: WorkerType,
}

impl Slots {
    pub(crate) fn new(total: usize, worker_type: WorkerType) -> Self {
        Slots {
            semaphore: Arc::new(Semaphore::new(total)),
            total,
            worker_type,
        }
    }

    pub(crate) fn report(&self, telemetry: &Telemetry) {
        telemetry.slots(self.worker_type, &self.semaphore, self.total);
    }
}
