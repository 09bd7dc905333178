//! Replaying histories: one, a directory of files, an iterator, or what a visibility query finds
//! on a server; in parallel, one result per history.

use super::error::ReplayError;
use super::run::WorkflowRun;
use crate::api::temporal::api::history::v1::History;
use crate::client::Client;
use crate::converter::DataConverter;
use crate::workflow::WorkflowRegistry;
use futures::TryStreamExt;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Replays histories against registered workflow code.
#[derive(Debug, Clone)]
pub struct Replayer {
    registry: WorkflowRegistry,
    converter: DataConverter,
    namespace: String,
    parallelism: usize,
}

/// The outcome of one history.
#[derive(Debug)]
#[non_exhaustive]
pub struct ReplayResult {
    /// The file name, or another label of the history.
    pub name: String,
    /// Workflow id from the history.
    pub workflow_id: String,
    /// Workflow type from the history.
    pub workflow_type: String,
    /// Events replayed.
    pub events: usize,
    /// `Ok` when code and history agree.
    pub outcome: Result<(), ReplayError>,
}

/// The outcomes of many histories.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ReplaySummary {
    /// One result per history, in input order.
    pub results: Vec<ReplayResult>,
}

impl ReplaySummary {
    /// Histories that replayed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_ok()).count()
    }
    /// Histories that did not.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
    /// Whether every history replayed.
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }
}

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            match &r.outcome {
                Ok(()) => writeln!(
                    f,
                    "ok    {} ({}, {} events)",
                    r.name, r.workflow_type, r.events
                )?,
                Err(e) => writeln!(
                    f,
                    "FAIL  {} ({}): {}",
                    r.name,
                    r.workflow_type,
                    e.to_string().replace('\n', "\n      ")
                )?,
            }
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

impl Replayer {
    /// A replayer for the workflows in `registry`.
    pub fn new(registry: WorkflowRegistry) -> Self {
        let parallelism = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Replayer {
            registry,
            converter: DataConverter::default(),
            namespace: "default".into(),
            parallelism,
        }
    }

    /// Uses this data converter (it must decode what the histories hold, codec included).
    pub fn with_data_converter(mut self, converter: DataConverter) -> Self {
        self.converter = converter;
        self
    }

    /// The namespace workflow code sees in its info.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Histories replayed at once (default: the machine's cores).
    pub fn with_parallelism(mut self, threads: usize) -> Self {
        self.parallelism = threads.max(1);
        self
    }

    /// Replays one history.
    pub fn replay(&self, history: &History) -> Result<(), ReplayError> {
        let mut run = self.new_run(history)?;
        if run.apply_events(&history.events)? {
            // The history ends with a task in progress: what the code does in it is new.
            return Ok(());
        }
        run.finish_replay()
    }

    fn new_run(&self, history: &History) -> Result<WorkflowRun, ReplayError> {
        let first = history
            .events
            .first()
            .ok_or_else(|| ReplayError::InvalidHistory {
                event_id: 0,
                message: "the history is empty".into(),
            })?;
        let workflow_type = crate::history::workflow_type(history).unwrap_or_default();
        let run_fn =
            self.registry
                .get(workflow_type)
                .ok_or_else(|| ReplayError::UnknownWorkflowType {
                    workflow_type: workflow_type.to_string(),
                    registered: self
                        .registry
                        .workflow_types()
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        WorkflowRun::new(
            run_fn.clone(),
            first,
            self.converter.clone(),
            &self.namespace,
        )
    }

    /// Whether `history`'s workflow type is registered with this replayer.
    pub fn knows(&self, history: &History) -> bool {
        crate::history::workflow_type(history).is_some_and(|t| self.registry.get(t).is_some())
    }

    /// The workflow-task boundaries of `history`: the event ids of its `WorkflowTaskStarted`
    /// events whose task was not failed or timed out (the tasks a worker processed), in order.
    /// Each is a point where a worker may lose its cached run; see
    /// [`Replayer::replay_from_task`].
    pub fn task_boundaries(history: &History) -> Vec<i64> {
        task_boundaries(&history.events)
            .map(|i| history.events[i].event_id)
            .collect()
    }

    /// Replays `history` as a worker that lost its cached run just before the workflow task
    /// started at event `started_event_id` (one of [`Replayer::task_boundaries`]): the run is
    /// rebuilt by replaying the history up to that event, then that task and every later one
    /// are processed as new (live) tasks, as a worker with the run in its cache does: the
    /// commands each issues must be the ones the history recorded next, and the history must
    /// end with nothing left over. A live task that asks for local activities ends the check
    /// there (their results are not re-run), as does a history ending with a task in progress.
    pub fn replay_from_task(
        &self,
        history: &History,
        started_event_id: i64,
    ) -> Result<(), ReplayError> {
        let events = &history.events;
        let boundaries: Vec<usize> = task_boundaries(events).collect();
        let Some(first) = boundaries
            .iter()
            .position(|&i| events[i].event_id == started_event_id)
        else {
            return Err(ReplayError::InvalidHistory {
                event_id: started_event_id,
                message: "not a workflow task boundary of this history (a started workflow \
                          task that did not fail or time out)"
                    .into(),
            });
        };
        let mut run = self.new_run(history)?;
        let mut from = 0;
        for &end in &boundaries[first..] {
            // A live task receives its updates as protocol messages, not as events: deliver the
            // ones its completion accepted, as the server did.
            for update in self.updates_accepted_after(&events[end + 1..]) {
                run.push_update(update);
            }
            if !run.apply_events(&events[from..=end])? {
                return Err(ReplayError::InvalidHistory {
                    event_id: events[end].event_id,
                    message: "the workflow task did not start a new task".into(),
                });
            }
            from = end + 1;
            if !run.pending_local_activities().is_empty() {
                return Ok(());
            }
            // What a worker would send; the commands stay issued and are matched against the
            // events the server recorded for them.
            let _ = run.take_activation();
        }
        if from >= events.len() {
            return Ok(());
        }
        if run.apply_events(&events[from..])? {
            return Ok(());
        }
        run.finish_replay()
    }

    /// The updates accepted by the completion of the task that starts right before `rest`, as
    /// the requests the server delivered with that task.
    fn updates_accepted_after(
        &self,
        rest: &[crate::api::temporal::api::history::v1::HistoryEvent],
    ) -> Vec<crate::workflow::PendingUpdate> {
        use crate::api::temporal::api::history::v1::history_event::Attributes as E;
        let mut updates = Vec::new();
        for event in rest {
            match &event.attributes {
                Some(E::WorkflowTaskScheduledEventAttributes(_))
                | Some(E::WorkflowTaskStartedEventAttributes(_)) => break,
                Some(E::WorkflowExecutionUpdateAcceptedEventAttributes(a)) => {
                    updates.push(super::run::read_ahead::accepted_update(
                        a,
                        &self.converter,
                        true,
                    ));
                }
                _ => {}
            }
        }
        updates
    }

    /// Replays labelled histories in parallel; results keep the input order.
    pub fn replay_all(
        &self,
        histories: impl IntoIterator<Item = (String, History)>,
    ) -> ReplaySummary {
        let items: Vec<(String, History)> = histories.into_iter().collect();
        self.replay_loaded(items.into_iter().map(|(name, h)| (name, Ok(h))).collect())
    }

    fn replay_loaded(&self, items: Vec<(String, Result<History, ReplayError>)>) -> ReplaySummary {
        let results: Vec<Mutex<Option<ReplayResult>>> =
            items.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let threads = self.parallelism.min(items.len()).max(1);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, loaded)) = items.get(i) else {
                            break;
                        };
                        let result = match loaded {
                            Ok(history) => ReplayResult {
                                name: name.clone(),
                                workflow_id: crate::history::workflow_id(history)
                                    .unwrap_or_default()
                                    .to_string(),
                                workflow_type: crate::history::workflow_type(history)
                                    .unwrap_or_default()
                                    .to_string(),
                                events: history.events.len(),
                                outcome: self.replay(history),
                            },
                            Err(e) => ReplayResult {
                                name: name.clone(),
                                workflow_id: String::new(),
                                workflow_type: String::new(),
                                events: 0,
                                outcome: Err(ReplayError::InvalidHistory {
                                    event_id: 0,
                                    message: e.to_string(),
                                }),
                            },
                        };
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(result);
                        }
                    }
                });
            }
        });
        ReplaySummary {
            results: results
                .into_iter()
                .filter_map(|m| m.into_inner().ok().flatten())
                .collect(),
        }
    }

    /// Replays one history file (CLI/Web UI JSON or protobuf binary).
    pub fn replay_file(&self, path: impl AsRef<Path>) -> Result<(), ReplayError> {
        let history = crate::history::load_file(path)?;
        self.replay(&history)
    }

    /// Replays every `*.json` file in `dir` (sorted by name). A file that does not load is a
    /// failed result, not an error of the whole call.
    pub fn replay_dir(&self, dir: impl AsRef<Path>) -> Result<ReplaySummary, ReplayError> {
        let dir = dir.as_ref();
        let entries =
            std::fs::read_dir(dir).map_err(|source| crate::history::HistoryError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let items = paths
            .iter()
            .map(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    name,
                    crate::history::load_file(p).map_err(ReplayError::from),
                )
            })
            .collect();
        Ok(self.replay_loaded(items))
    }

    /// Replays the histories of the workflows a visibility query finds on a server (e.g.
    /// `WorkflowType = 'Order' AND StartTime > '2026-11-01T00:00:00Z'`), at most `limit` of them.
    pub async fn replay_from_server(
        &self,
        client: &Client,
        query: &str,
        limit: usize,
    ) -> Result<ReplaySummary, ReplayError> {
        let executions: Vec<_> = client.list_workflows(query).try_collect().await?;
        let mut items = Vec::new();
        for execution in executions.into_iter().take(limit) {
            let handle = client.workflow_handle(
                execution.workflow_id.clone(),
                Some(execution.run_id.clone()),
            );
            let name = format!("{}/{}", execution.workflow_id, execution.run_id);
            items.push((
                name,
                handle.fetch_history().await.map_err(ReplayError::from),
            ));
        }
        Ok(self.replay_loaded(items))
    }
}

/// Indexes of the `WorkflowTaskStarted` events not followed by a failure or timeout of the task.
fn task_boundaries(
    events: &[crate::api::temporal::api::history::v1::HistoryEvent],
) -> impl Iterator<Item = usize> + '_ {
    use crate::api::temporal::api::history::v1::history_event::Attributes as E;
    events.iter().enumerate().filter_map(move |(i, e)| {
        let started = matches!(e.attributes, Some(E::WorkflowTaskStartedEventAttributes(_)));
        let failed = matches!(
            events.get(i + 1).and_then(|n| n.attributes.as_ref()),
            Some(E::WorkflowTaskFailedEventAttributes(_))
                | Some(E::WorkflowTaskTimedOutEventAttributes(_))
        );
        (started && !failed).then_some(i)
    })
}
