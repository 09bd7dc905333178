//! The workflow side of the worker: a dedicated thread owning the cache of workflow runs (the
//! async pollers that feed it tasks are in `workflow_poller.rs`).

use super::WorkerError;
use super::interceptor::Interceptor;
use super::telemetry::Telemetry;
use crate::api::temporal::api::common::v1::Payloads;
use crate::api::temporal::api::enums::v1::{EventType, QueryResultType, WorkflowTaskFailedCause};
use crate::api::temporal::api::history::v1::{History, HistoryEvent};
use crate::api::temporal::api::protocol::v1::message::SequencingId;
use crate::api::temporal::api::query::v1::WorkflowQueryResult;
use crate::api::temporal::api::update::v1 as upd;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::converter::DataConverter;
use crate::replay::ReplayError;
use crate::replay::run::{Activation, WorkflowRun};
use crate::telemetry::names;
use crate::workflow::interceptor::Inbound;
use crate::workflow::state::{LocalActivityRequest, MachineId, Resolution};
use crate::workflow::{PendingUpdate, UpdateInput, WorkflowRegistry};
use prost::{Message as _, Name};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// What the workflow thread answers for a task.
pub(crate) enum Outcome {
    Complete {
        activation: Activation,
        query_results: BTreeMap<String, WorkflowQueryResult>,
    },
    NeedLocalActivities {
        run_id: String,
        requests: Vec<LocalActivityRequest>,
    },
    NeedFullHistory,
    Fail {
        message: String,
        cause: WorkflowTaskFailedCause,
    },
    QueryAnswer(Result<Vec<crate::api::temporal::api::common::v1::Payload>, String>),
}

pub(crate) enum Request {
    Task(
        Box<ws::PollWorkflowTaskQueueResponse>,
        oneshot::Sender<Outcome>,
    ),
    LocalActivities {
        run_id: String,
        results: Vec<(MachineId, Resolution, u32)>,
        reply: oneshot::Sender<Outcome>,
    },
    Stop,
}

/// Handle to the workflow thread.
#[derive(Clone)]
pub(crate) struct WorkflowThread {
    /// Each request with the span it was asked in (the workflow task's), entered on the thread.
    tx: mpsc::Sender<(Request, tracing::Span)>,
    has_workflows: bool,
}

impl WorkflowThread {
    pub(crate) fn start(
        registry: WorkflowRegistry,
        converter: DataConverter,
        namespace: String,
        max_cached: usize,
        telemetry: Telemetry,
        interceptor: Interceptor,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<(Request, tracing::Span)>();
        let has_workflows = registry.workflow_types().next().is_some();
        let spawned = std::thread::Builder::new()
            .name("reprise-workflows".into())
            .spawn(move || {
                let mut state = ThreadState::new(registry, converter, namespace, max_cached);
                state.telemetry = Some(telemetry);
                state.interceptor = interceptor;
                while let Ok((request, span)) = rx.recv() {
                    let _entered = span.enter();
                    match request {
                        Request::Task(task, reply) => {
                            let _ = reply.send(state.task(*task));
                        }
                        Request::LocalActivities {
                            run_id,
                            results,
                            reply,
                        } => {
                            let _ = reply.send(state.local_activities(&run_id, results));
                        }
                        Request::Stop => break,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the workflow thread");
        }
        WorkflowThread { tx, has_workflows }
    }

    pub(crate) fn has_workflows(&self) -> bool {
        self.has_workflows
    }

    pub(crate) fn stop(&self) {
        let _ = self.tx.send((Request::Stop, tracing::Span::none()));
    }

    pub(crate) async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Outcome>) -> Request,
    ) -> Result<Outcome, WorkerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((make(reply), tracing::Span::current()))
            .map_err(|_| WorkerError::WorkflowThread)?;
        rx.await.map_err(|_| WorkerError::WorkflowThread)
    }
}

struct CachedRun {
    run: WorkflowRun,
    last_event_id: i64,
    /// Set when the last task only rejected updates and may be discarded by the server.
    discardable: Option<Discardable>,
}

/// A speculative workflow task (one the server created for updates) that only rejects them leaves
/// no trace in the history: the server discards its `WorkflowTaskScheduled` and
/// `WorkflowTaskStarted` and tells the worker to roll back to the previous task's
/// `WorkflowTaskStarted`, so the next task's history starts right after that one again and shows
/// again the events in between (that task's `WorkflowTaskCompleted` and the events of its
/// commands), which the run processed already. Whether the server discards the task is its own
/// choice, so the run keeps both possibilities until the next task shows which one it was.
#[derive(Debug, PartialEq)]
struct Discardable {
    /// The previous task's `WorkflowTaskStarted`: where the history resumes if the task is gone.
    resume_after: i64,
    /// Ids and types of the events between that and the discarded task's own events.
    shown_again: Vec<(i64, i32)>,
}

impl Discardable {
    /// The shape of a task the server may discard: after the previous task's `WorkflowTaskStarted`
    /// come only its `WorkflowTaskCompleted` and command events, then this task's
    /// `WorkflowTaskScheduled` and `WorkflowTaskStarted`.
    fn of(events: &[HistoryEvent], previous_started: i64, started: i64) -> Option<Self> {
        let [before @ .., scheduled, start] = events else {
            return None;
        };
        if start.event_id != started
            || start.event_type != EventType::WorkflowTaskStarted as i32
            || scheduled.event_id != started - 1
            || scheduled.event_type != EventType::WorkflowTaskScheduled as i32
        {
            return None;
        }
        let shown_again: Vec<(i64, i32)> = before
            .iter()
            .filter(|e| e.event_id > previous_started)
            .map(|e| (e.event_id, e.event_type))
            .collect();
        let complete = shown_again
            .iter()
            .zip(previous_started + 1..)
            .all(|((id, _), expected)| *id == expected)
            && shown_again.len() as i64 == started - 2 - previous_started;
        let only_task_and_command_events = before
            .iter()
            .filter(|e| e.event_id > previous_started)
            .all(|e| {
                e.event_type == EventType::WorkflowTaskCompleted as i32
                    || crate::replay::is_command_event(e)
            });
        (previous_started > 0 && complete && only_task_and_command_events).then_some(Discardable {
            resume_after: previous_started,
            shown_again,
        })
    }
}

impl CachedRun {
    /// How many of `events` (a task's history) the run processed already: none when they follow
    /// the last task; when the server discarded the last task, the ones shown again, and the run's
    /// clock and history info go back to before that task. `None` when the history does not
    /// continue this run's.
    fn resume(&mut self, events: &[HistoryEvent]) -> Option<usize> {
        let first = events.first()?.event_id;
        let discardable = self.discardable.take();
        if first == self.last_event_id + 1 {
            return Some(0);
        }
        let d = discardable?;
        let n = d.shown_again.len();
        let same = first == d.resume_after + 1
            && events.len() > n
            && events
                .iter()
                .zip(&d.shown_again)
                .all(|(e, (id, t))| e.event_id == *id && e.event_type == *t);
        if !same {
            return None;
        }
        self.run.undo_live_task();
        self.last_event_id = d.resume_after + n as i64;
        Some(n)
    }
}

/// A task being processed (waiting for local activities, or about to complete).
struct InProgress {
    cached: CachedRun,
    queries: BTreeMap<String, crate::api::temporal::api::query::v1::WorkflowQuery>,
    dispatched: HashSet<MachineId>,
    /// What the server may discard of this task, if it only rejects updates.
    discardable: Option<Discardable>,
}

struct ThreadState {
    registry: WorkflowRegistry,
    converter: DataConverter,
    namespace: String,
    max_cached: usize,
    cache: HashMap<String, CachedRun>,
    lru: VecDeque<String>,
    in_progress: HashMap<String, InProgress>,
    /// The worker's metrics (`None` in unit tests).
    telemetry: Option<Telemetry>,
    interceptor: Interceptor,
}

fn fail(e: &ReplayError) -> Outcome {
    let cause = match e {
        ReplayError::Nondeterminism(_) => WorkflowTaskFailedCause::NonDeterministicError,
        _ => WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
    };
    Outcome::Fail {
        message: e.to_string(),
        cause,
    }
}

impl ThreadState {
    fn new(
        registry: WorkflowRegistry,
        converter: DataConverter,
        namespace: String,
        max_cached: usize,
    ) -> Self {
        ThreadState {
            registry,
            converter,
            namespace,
            max_cached,
            cache: HashMap::new(),
            lru: VecDeque::new(),
            in_progress: HashMap::new(),
            telemetry: None,
            interceptor: Interceptor::default(),
        }
    }

    /// Records through the worker's telemetry, if metrics are on.
    fn record(&self, f: impl FnOnce(&Telemetry)) {
        if let Some(t) = self.telemetry.as_ref().filter(|t| t.enabled()) {
            f(t);
        }
    }

    fn new_run(&self, history: &History) -> Result<WorkflowRun, ReplayError> {
        let first = history
            .events
            .first()
            .ok_or_else(|| ReplayError::InvalidHistory {
                event_id: 0,
                message: "empty history".into(),
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
        let mut run = WorkflowRun::new(
            run_fn.clone(),
            first,
            self.converter.clone(),
            &self.namespace,
        )?;
        if let Some(i) = &self.interceptor.0
            && let Some(run_interceptor) = i.workflow_interceptor(&run.info())
        {
            run.set_interceptor(run_interceptor, first);
        }
        Ok(run)
    }

    fn task(&mut self, task: ws::PollWorkflowTaskQueueResponse) -> Outcome {
        let run_id = task
            .workflow_execution
            .as_ref()
            .map(|e| e.run_id.clone())
            .unwrap_or_default();
        let history = task.history.clone().unwrap_or_default();
        let first_id = history.events.first().map(|e| e.event_id).unwrap_or(0);
        if let Some(query) = &task.query {
            // A legacy query task: answer from the cached run, or from a replay of the history.
            let args = self
                .converter
                .decode_payloads(
                    query
                        .query_args
                        .clone()
                        .map(|p| p.payloads)
                        .unwrap_or_default(),
                )
                .unwrap_or_default();
            let headers = query.header.as_ref().map(|h| &h.fields);
            let headers = headers.unwrap_or(crate::replay::run::NO_HEADERS);
            let answer = match self.cache.get_mut(&run_id) {
                Some(cached) => {
                    cached
                        .run
                        .intercept(Inbound::Query, &query.query_type, headers, &args);
                    cached.run.query(&query.query_type, args)
                }
                // A query task from the sticky queue carries no history (the server expects the
                // run to be cached here); the run was evicted or is not ours: fetch it all.
                None if first_id != 1 => return Outcome::NeedFullHistory,
                None => match self
                    .new_run(&history)
                    .and_then(|mut run| run.apply_events(&history.events).map(|_| run))
                {
                    Ok(mut run) => {
                        run.intercept(Inbound::Query, &query.query_type, headers, &args);
                        run.query(&query.query_type, args)
                    }
                    Err(e) => return Outcome::QueryAnswer(Err(e.to_string())),
                },
            };
            return Outcome::QueryAnswer(answer.map_err(|f| f.to_string()));
        }
        let cached = self.cache.remove(&run_id).and_then(|mut c| {
            let skip = c.resume(&history.events)?;
            Some((c, skip))
        });
        self.record(|t| {
            let hit = if cached.is_some() {
                names::STICKY_CACHE_HIT
            } else {
                names::STICKY_CACHE_MISS
            };
            t.count(hit, 1);
        });
        // A run rebuilt from more than its first task replays: that time is measured apart.
        let replay_started =
            (cached.is_none() && task.previous_started_event_id > 0).then(std::time::Instant::now);
        let (mut cached, skip) = match cached {
            Some(c) => c,
            None if first_id == 1 => match self.new_run(&history) {
                Ok(run) => (
                    CachedRun {
                        run,
                        last_event_id: 0,
                        discardable: None,
                    },
                    0,
                ),
                Err(e) => return fail(&e),
            },
            None => return Outcome::NeedFullHistory,
        };
        for message in &task.messages {
            let Some(body) = &message.body else { continue };
            if body.type_url.rsplit('/').next() != Some(upd::Request::full_name().as_str()) {
                continue;
            }
            let Ok(request) = upd::Request::decode(body.value.as_slice()) else {
                continue;
            };
            let input = request.input.clone().unwrap_or_default();
            let args = self
                .converter
                .decode_payloads(input.args.map(|p| p.payloads).unwrap_or_default())
                .unwrap_or_default();
            let sequencing_event_id = match message.sequencing_id {
                Some(SequencingId::EventId(id)) => id,
                _ => task.started_event_id - 1,
            };
            cached.run.push_update(PendingUpdate {
                input: UpdateInput {
                    id: request
                        .meta
                        .as_ref()
                        .map(|m| m.update_id.clone())
                        .unwrap_or_default(),
                    name: input.name,
                    args,
                },
                protocol_instance_id: message.protocol_instance_id.clone(),
                request_message_id: message.id.clone(),
                sequencing_event_id,
                request,
                run_validator: true,
            });
        }
        let applied = cached.run.apply_events(&history.events[skip..]);
        if let Some(started) = replay_started {
            let workflow_type = task.workflow_type.as_ref().map_or("", |t| t.name.as_str());
            self.record(|t| {
                let name = names::WORKFLOW_TASK_REPLAY_LATENCY;
                t.latency_for(name, "workflow_type", workflow_type, started.elapsed());
            });
        }
        match applied {
            Err(e) => fail(&e),
            Ok(false) => Outcome::Fail {
                message: "the task's history does not end with a started workflow task".into(),
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
            },
            Ok(true) => {
                cached.last_event_id = history
                    .events
                    .last()
                    .map(|e| e.event_id)
                    .unwrap_or(cached.last_event_id);
                let discardable = Discardable::of(
                    &history.events,
                    task.previous_started_event_id,
                    task.started_event_id,
                );
                self.finish(
                    run_id,
                    InProgress {
                        cached,
                        queries: task.queries,
                        dispatched: HashSet::new(),
                        discardable,
                    },
                )
            }
        }
    }

    fn local_activities(
        &mut self,
        run_id: &str,
        results: Vec<(MachineId, Resolution, u32)>,
    ) -> Outcome {
        let Some(mut progress) = self.in_progress.remove(run_id) else {
            return Outcome::Fail {
                message: "local activity results for an unknown run".into(),
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
            };
        };
        for (machine, resolution, attempt) in results {
            if let Err(e) = progress
                .cached
                .run
                .resolve_local_activity(machine, resolution, attempt)
            {
                return fail(&e);
            }
        }
        self.finish(run_id.to_string(), progress)
    }

    /// Completes the task, unless local activities must run first.
    fn finish(&mut self, run_id: String, mut progress: InProgress) -> Outcome {
        let pending = progress.cached.run.pending_local_activities();
        if !pending.is_empty() {
            let new: Vec<_> = pending
                .into_iter()
                .filter(|r| progress.dispatched.insert(r.machine))
                .collect();
            self.in_progress.insert(run_id.clone(), progress);
            return Outcome::NeedLocalActivities {
                run_id,
                requests: new,
            };
        }
        let activation = progress.cached.run.take_activation();
        if let Some(t) = self.telemetry.as_ref().filter(|t| t.enabled()) {
            let info = progress.cached.run.info();
            t.run_closed(&activation.commands, &info.workflow_type, info.start_time);
        }
        log_workflow_failure(&activation);
        // A task that only rejects updates may be discarded by the server. Its validators ran,
        // and must have changed nothing: then the run can be rolled back if it is. Otherwise
        // only a replay of the history (where rejected updates leave no trace) gives the right
        // state, so the run leaves the cache.
        let mut keep = true;
        if progress.cached.run.had_live_updates() && only_rejects(&activation) {
            if progress.cached.run.live_task_changed_nothing() {
                progress.cached.discardable = progress.discardable.take();
            } else {
                tracing::warn!(
                    workflow_id = %progress.cached.run.info().workflow_id,
                    "a task that only rejected updates changed the workflow (an update validator must \
                     not); the run will be replayed from its history"
                );
                keep = false;
            }
        }
        let mut query_results = BTreeMap::new();
        for (id, query) in std::mem::take(&mut progress.queries) {
            let args = self
                .converter
                .decode_payloads(query.query_args.map(|p| p.payloads).unwrap_or_default())
                .unwrap_or_default();
            let result = match progress.cached.run.query(&query.query_type, args) {
                Ok(payloads) => WorkflowQueryResult {
                    result_type: QueryResultType::Answered as i32,
                    answer: Some(Payloads {
                        payloads: self.converter.encode_payloads(payloads).unwrap_or_default(),
                    }),
                    ..Default::default()
                },
                Err(f) => WorkflowQueryResult {
                    result_type: QueryResultType::Failed as i32,
                    error_message: f.to_string(),
                    ..Default::default()
                },
            };
            query_results.insert(id, result);
        }
        self.lru.retain(|r| r != &run_id);
        if keep && !progress.cached.run.is_closed() && self.max_cached > 0 {
            self.cache.insert(run_id.clone(), progress.cached);
            self.lru.push_back(run_id);
            while self.cache.len() > self.max_cached {
                let Some(oldest) = self.lru.pop_front() else {
                    break;
                };
                self.cache.remove(&oldest);
                self.record(|t| t.count(names::STICKY_CACHE_TOTAL_FORCED_EVICTION, 1));
            }
        }
        let size = self.cache.len() as f64;
        self.record(|t| t.metrics.gauge(names::STICKY_CACHE_SIZE, &t.tags, size));
        Outcome::Complete {
            activation,
            query_results,
        }
    }
}

/// A workflow that fails is logged once, with the failure's cause chain, when its task
/// completes (the closing command is new: replays do not repeat this).
fn log_workflow_failure(activation: &Activation) {
    use crate::api::temporal::api::command::v1::command::Attributes;
    for c in &activation.commands {
        if let Some(Attributes::FailWorkflowExecutionCommandAttributes(a)) = &c.attributes
            && let Some(failure) = &a.failure
        {
            let failure = crate::converter::Failure::from_proto(failure.clone());
            tracing::warn!(error = %failure, "workflow failed");
        }
    }
}

/// Whether a task's output only rejects updates: no commands, only rejection messages.
fn only_rejects(activation: &Activation) -> bool {
    activation.commands.is_empty()
        && activation.messages.iter().all(|m| {
            m.body.as_ref().is_some_and(|b| {
                b.type_url.rsplit('/').next() == Some(upd::Rejection::full_name().as_str())
            })
        })
}

#[cfg(test)]
#[path = "workflow_thread_tests.rs"]
mod tests;
