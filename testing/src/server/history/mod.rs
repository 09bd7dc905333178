//! History: one mutable state per execution, and every state transition of it.
//!
//! Executions live in shards by workflow id. A transition runs under its shard's lock: it
//! appends events, updates the mutable state and creates tasks, then [`Engine::commit`] writes
//! all of it through the store in one call and hands the new tasks to matching and the timer
//! queue. Long polls (history, updates, queries) wait on the run's `changed` channel.

mod activity;
mod children;
mod commands;
pub(crate) mod cron;
mod describe;
mod gauges;
mod lifecycle;
mod limits;
mod liveness;
mod recovery;
mod reset;
mod snapshot;
pub(crate) mod state;
mod updates;
mod workflow_task;

use super::errors;
use super::matching::{Matching, QueueKey, QueueType, Task};
use super::timers::Timers;
use crate::clock::Clock;
use crate::store::{RunKey, Store, TaskRecord, TimerKind, Transition};
use state::MutableState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tonic::Status;

pub(crate) use activity::{ActivityOutcome, ActivityRef};
pub(crate) use lifecycle::{Origin, StartRequest, new_run_id as new_id};
pub use recovery::Recovery;

/// Number of execution shards.
const SHARDS: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct Shard {
    runs: HashMap<RunKey, MutableState>,
    /// (namespace, workflow id) → current (latest) run id.
    current: HashMap<(String, String), String>,
}

/// How much work is in flight across the server: time skipping waits for zero.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    pub(crate) busy_runs: std::sync::atomic::AtomicI64,
    pub(crate) pending_transfers: std::sync::atomic::AtomicI64,
    pub(crate) changed: tokio::sync::Notify,
    /// Busy runs whose only work in flight is started activities, with their ids and attempts.
    pub(crate) activity_only: Mutex<HashMap<RunKey, Vec<(String, u32)>>>,
}

/// One activity attempt: its run, activity id and attempt number (what time skipping parks).
pub(crate) type Attempt = (RunKey, String, u32);

impl InFlight {
    /// True when nothing is in flight.
    pub(crate) fn idle(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        self.busy_runs.load(SeqCst) <= 0 && self.pending_transfers.load(SeqCst) <= 0
    }

    /// True when the only work in flight is started activity attempts that are all `parked`.
    pub(crate) fn idle_but(&self, parked: &HashMap<Attempt, usize>) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let only = self.activity_only.lock().unwrap_or_else(|e| e.into_inner());
        self.pending_transfers.load(SeqCst) <= 0
            && self.busy_runs.load(SeqCst) <= only.len() as i64
            && only.iter().all(|(run, started)| {
                started
                    .iter()
                    .all(|(id, attempt)| parked.contains_key(&(run.clone(), id.clone(), *attempt)))
            })
    }
}

/// The history service of one server.
pub(crate) struct Engine {
    shards: Vec<Mutex<Shard>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) matching: Arc<Matching>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
    /// Work in flight (for time skipping).
    pub(crate) in_flight: Arc<InFlight>,
    /// Transfer tasks go to a worker that runs them outside the shard locks, in order.
    transfers: tokio::sync::mpsc::UnboundedSender<(RunKey, crate::store::TransferKind)>,
    /// Whether the store outlives the process (it then gets each run's encoded state).
    durable: bool,
    /// Called under the run's shard lock after a commit that closed a run (schedules watch the
    /// runs they started with it); must not block nor take a server lock.
    pub(crate) on_closed: std::sync::OnceLock<ClosedHook>,
    /// The server's figures (store commit latency here; requests and polls in the frontend).
    pub(crate) metrics: Arc<crate::server::metrics::Metrics>,
}

/// See [`Engine::on_closed`].
pub(crate) type ClosedHook = Box<dyn Fn(&RunKey) + Send + Sync>;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        matching: Arc<Matching>,
        timers: Arc<Timers>,
        clock: Arc<dyn Clock>,
        shutdown: tokio::sync::watch::Receiver<bool>,
        transfers: tokio::sync::mpsc::UnboundedSender<(RunKey, crate::store::TransferKind)>,
    ) -> Self {
        Engine {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            durable: store.is_durable(),
            store,
            matching,
            timers,
            clock,
            shutdown,
            transfers,
            in_flight: Arc::new(InFlight::default()),
            on_closed: std::sync::OnceLock::new(),
            metrics: Arc::default(),
        }
    }

    fn lock(&self, namespace: &str, workflow_id: &str) -> MutexGuard<'_, Shard> {
        let i = crate::store::memory_shard_index(namespace, workflow_id, self.shards.len());
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The run `run_id` of a workflow, or its current run when `run_id` is empty.
    pub(crate) fn resolve(
        &self,
        namespace: &str,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<RunKey, Status> {
        let shard = self.lock(namespace, workflow_id);
        Self::resolve_in(&shard, namespace, workflow_id, run_id)
    }

    fn resolve_in(
        shard: &Shard,
        namespace: &str,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<RunKey, Status> {
        let run_id = if run_id.is_empty() {
            shard
                .current
                .get(&(namespace.to_string(), workflow_id.to_string()))
                .cloned()
                .ok_or_else(|| errors::execution_not_found(workflow_id, run_id))?
        } else {
            run_id.to_string()
        };
        let key = RunKey {
            namespace: namespace.into(),
            workflow_id: workflow_id.into(),
            run_id,
        };
        if shard.runs.contains_key(&key) {
            Ok(key)
        } else {
            Err(errors::execution_not_found(workflow_id, &key.run_id))
        }
    }

    /// Runs `f` on a run's mutable state under its shard lock, then commits what it produced
    /// (even when `f` returns an error after recording events, e.g. a failed workflow task).
    pub(crate) fn with_run<R>(
        &self,
        key: &RunKey,
        f: impl FnOnce(&mut MutableState) -> Result<R, Status>,
    ) -> Result<R, Status> {
        let mut shard = self.lock(&key.namespace, &key.workflow_id);
        let ms = shard
            .runs
            .get_mut(key)
            .ok_or_else(|| errors::execution_not_found(&key.workflow_id, &key.run_id))?;
        ms.now = self.clock.now();
        let result = f(ms);
        self.commit(ms)?;
        if ms.pending_new_run.is_some() {
            self.insert_pending_run(&mut shard, key)?;
        }
        result
    }

    /// Reads a run's state without changing it.
    pub(crate) fn read_run<R>(
        &self,
        key: &RunKey,
        f: impl FnOnce(&MutableState) -> R,
    ) -> Result<R, Status> {
        let shard = self.lock(&key.namespace, &key.workflow_id);
        let ms = shard
            .runs
            .get(key)
            .ok_or_else(|| errors::execution_not_found(&key.workflow_id, &key.run_id))?;
        Ok(f(ms))
    }

    /// Writes a transition through the store and dispatches its tasks. A run the transition
    /// created (continue-as-new, cron, workflow retry) is written in the same store call, so a
    /// crash cannot close one run without starting the next; the caller inserts it afterwards.
    fn commit(&self, ms: &mut MutableState) -> Result<(), Status> {
        ms.enforce_history_limits();
        let mut next = ms.pending_new_run.take();
        let result = self.commit_runs(ms, next.as_deref_mut());
        if result.is_ok() {
            ms.pending_new_run = next;
        }
        result
    }

    fn commit_runs(
        &self,
        ms: &mut MutableState,
        next: Option<&mut MutableState>,
    ) -> Result<(), Status> {
        let mut runs: Vec<&mut MutableState> = std::iter::once(ms)
            .chain(next)
            .filter(|m| m.touched || !m.new_tasks.is_empty())
            .collect();
        if runs.is_empty() {
            return Ok(());
        }
        let prepared: Vec<_> = runs
            .iter_mut()
            .map(|m| {
                let info = m.visibility_dirty.then(|| m.info());
                m.state_transitions += 1;
                let state = self.durable.then(|| snapshot::encode(m));
                (info, state)
            })
            .collect();
        let transitions: Vec<Transition<'_>> = runs
            .iter()
            .zip(&prepared)
            .map(|(m, (info, state))| Transition {
                run: &m.key,
                expected_version: m.version,
                new_version: m.version + 1,
                events: &m.new_events,
                tasks: &m.new_tasks,
                buffered: &m.buffered,
                visibility: info.as_ref(),
                state: state.as_deref(),
            })
            .collect();
        let started = std::time::Instant::now();
        let committed = self.store.commit_all(&transitions);
        self.metrics.commit(committed.is_ok(), started.elapsed());
        drop(transitions);
        if let Err(e) = committed {
            for m in runs {
                m.state_transitions -= 1;
                self.roll_back(m);
            }
            return Err(errors::store(e));
        }
        for m in runs {
            self.committed(m);
        }
        Ok(())
    }

    /// After a failed commit to a durable store: the run goes back to its last committed state
    /// (read from the store), so that memory never runs ahead of what a restart would find. The
    /// caller gets the error and may retry.
    fn roll_back(&self, ms: &mut MutableState) {
        if !self.durable {
            return;
        }
        let stored = match self.store.load_run(&ms.key) {
            Ok(Some(stored)) => stored,
            // A run that never committed is not in the caches either.
            Ok(None) => return,
            Err(e) => {
                tracing::error!(
                    "{}/{}: cannot reload after a failed commit: {e}",
                    ms.key.workflow_id,
                    ms.key.run_id
                );
                return;
            }
        };
        match snapshot::decode(ms.key.clone(), stored.version, &stored.state, ms.now) {
            Ok(mut reloaded) => {
                // Keep the change channel: long polls are subscribed to it.
                std::mem::swap(&mut reloaded.changed, &mut ms.changed);
                reloaded.busy = ms.busy;
                *ms = reloaded;
                self.update_busy(ms);
            }
            Err(e) => tracing::error!(
                "{}/{}: stored state unreadable after a failed commit: {e}",
                ms.key.workflow_id,
                ms.key.run_id
            ),
        }
    }

    /// After a successful commit: clears the transition's scratch, dispatches its tasks, and
    /// wakes whoever waits on the run.
    fn committed(&self, ms: &mut MutableState) {
        ms.version += 1;
        let wrote_events = !ms.new_events.is_empty();
        ms.new_events.clear();
        ms.visibility_dirty = false;
        ms.touched = false;
        for task in std::mem::take(&mut ms.new_tasks) {
            self.dispatch(&ms.key, task, &ms.task_queue);
        }
        // Before the run stops counting as busy: what the hook starts holds time skipping.
        if wrote_events
            && !ms.is_open()
            && let Some(hook) = self.on_closed.get()
        {
            hook(&ms.key);
        }
        self.update_busy(ms);
        ms.changed.send_replace(ms.version);
    }

    /// Keeps the count of busy runs (time skipping waits for none) in step with `ms`.
    fn update_busy(&self, ms: &mut MutableState) {
        let busy = ms.is_busy();
        {
            let mut only = self
                .in_flight
                .activity_only
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match ms.started_activities_only().filter(|_| busy) {
                Some(started) => {
                    only.insert(ms.key.clone(), started);
                }
                None => {
                    only.remove(&ms.key);
                }
            }
        }
        if busy != ms.busy {
            ms.busy = busy;
            self.in_flight.busy_runs.fetch_add(
                if busy { 1 } else { -1 },
                std::sync::atomic::Ordering::SeqCst,
            );
            self.in_flight.changed.notify_one();
        }
    }

    fn dispatch(&self, run: &RunKey, task: TaskRecord, normal_queue: &str) {
        match task {
            TaskRecord::Workflow {
                mut task_queue,
                scheduled_event_id,
            } => {
                if task_queue != normal_queue
                    && (self.matching.is_unloaded(&run.namespace, &task_queue)
                        || !self.matching.is_sticky_alive(&run.namespace, &task_queue))
                {
                    task_queue = normal_queue.to_string();
                }
                self.matching.add(
                    QueueKey {
                        namespace: run.namespace.clone(),
                        name: task_queue,
                        queue_type: QueueType::Workflow,
                    },
                    Task::Workflow {
                        run: run.clone(),
                        scheduled_event_id,
                    },
                )
            }
            TaskRecord::Activity {
                task_queue,
                scheduled_event_id,
                attempt,
            } => self.matching.add(
                QueueKey {
                    namespace: run.namespace.clone(),
                    name: task_queue,
                    queue_type: QueueType::Activity,
                },
                Task::Activity {
                    run: run.clone(),
                    scheduled_event_id,
                    attempt,
                },
            ),
            TaskRecord::Timer { fire_at, kind } => self.timers.add(run.clone(), fire_at, kind),
            TaskRecord::Transfer { kind } => {
                // The receiver lives as long as the server; after shutdown nothing is owed.
                self.in_flight
                    .pending_transfers
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = self.transfers.send((run.clone(), kind));
            }
        }
    }

    /// Inserts a brand-new run (its events already appended) and commits it.
    fn insert_run(&self, shard: &mut Shard, mut ms: MutableState) -> Result<(), Status> {
        self.commit(&mut ms)?;
        shard.current.insert(
            (ms.key.namespace.clone(), ms.key.workflow_id.clone()),
            ms.key.run_id.clone(),
        );
        shard.runs.insert(ms.key.clone(), ms);
        Ok(())
    }

    /// Deletes a run (retention over, or `DeleteWorkflowExecution`): an open run is terminated
    /// first.
    pub(crate) fn delete_run(&self, run: &RunKey) -> Result<(), Status> {
        let mut shard = self.lock(&run.namespace, &run.workflow_id);
        let Some(ms) = shard.runs.get_mut(run) else {
            return Err(errors::execution_not_found(&run.workflow_id, &run.run_id));
        };
        if ms.is_open() {
            ms.now = self.clock.now();
            ms.terminate("Delete workflow execution", None, "history-service");
            self.commit(ms)?;
        }
        shard.runs.remove(run);
        let current = (run.namespace.clone(), run.workflow_id.clone());
        if shard.current.get(&current) == Some(&run.run_id) {
            shard.current.remove(&current);
        }
        self.store.delete_run(run).map_err(errors::store)
    }

    /// A fired timer: hands it to the run it belongs to (stale timers do nothing), then tells
    /// the store it is done.
    pub(crate) fn fire_timer(&self, run: RunKey, fire_at: std::time::SystemTime, kind: TimerKind) {
        self.handle_timer(&run, kind.clone());
        if self.durable
            && let Err(e) = self.store.timer_done(&run, fire_at, &kind)
        {
            tracing::warn!(
                "timer of {}/{} not marked done: {e}",
                run.workflow_id,
                run.run_id
            );
        }
    }

    /// Whether a queued timer of `run` would still change it (see `liveness`); false for a run
    /// that no longer exists.
    pub(crate) fn timer_is_live(&self, run: &RunKey, kind: &TimerKind) -> bool {
        self.read_run(run, |ms| ms.timer_is_live(kind))
            .unwrap_or(false)
    }

    /// A transfer task was carried out: the store forgets it.
    pub(crate) fn transfer_done(&self, run: &RunKey, kind: &crate::store::TransferKind) {
        if self.durable
            && let Err(e) = self.store.transfer_done(run, kind)
        {
            tracing::warn!(
                "transfer of {}/{} not marked done: {e}",
                run.workflow_id,
                run.run_id
            );
        }
    }

    fn handle_timer(&self, run: &RunKey, kind: TimerKind) {
        let run = run.clone();
        if kind == TimerKind::Retention {
            if let Err(e) = self.delete_run(&run) {
                tracing::debug!("retention of {}/{}: {e}", run.workflow_id, run.run_id);
            }
            return;
        }
        let result = self.with_run(&run, |ms| {
            if !ms.timer_is_live(&kind) {
                return Ok(());
            }
            match kind {
                TimerKind::User {
                    timer_id,
                    started_event_id,
                } => ms.fire_user_timer(&timer_id, started_event_id),
                TimerKind::ActivityTimeout {
                    scheduled_event_id,
                    attempt,
                    timeout_type,
                    heartbeat_seq,
                } => ms.activity_timeout(scheduled_event_id, attempt, timeout_type, heartbeat_seq),
                TimerKind::ActivityRetry {
                    scheduled_event_id,
                    attempt,
                } => ms.activity_retry_due(scheduled_event_id, attempt),
                TimerKind::WorkflowTaskTimeout {
                    scheduled_event_id,
                    attempt,
                    timeout_type,
                } => ms.workflow_task_timeout(scheduled_event_id, attempt, timeout_type),
                TimerKind::WorkflowStartBackoff => {
                    ms.schedule_workflow_task_if_needed();
                }
                TimerKind::WorkflowTaskBackoff { attempt } => {
                    ms.schedule_transient_workflow_task(attempt);
                }
                TimerKind::WorkflowRunTimeout => ms.run_timed_out(),
                TimerKind::Retention => {}
            }
            Ok(())
        });
        if let Err(e) = result {
            tracing::debug!("timer for {}/{}: {e}", run.workflow_id, run.run_id);
        }
    }

    /// `ShutdownWorker`: the worker's sticky queue is gone; its tasks move to normal queues.
    pub(crate) fn unload_sticky_queue(&self, namespace: &str, sticky_queue: &str) {
        for task in self.matching.unload(namespace, sticky_queue) {
            let run = match &task {
                Task::Workflow { run, .. } | Task::Query { run, .. } => run.clone(),
                Task::Activity { .. } => continue,
            };
            if let Ok(normal) = self.read_run(&run, |ms| ms.task_queue.clone()) {
                self.matching.add(
                    QueueKey {
                        namespace: namespace.to_string(),
                        name: normal,
                        queue_type: QueueType::Workflow,
                    },
                    task,
                );
            }
        }
    }

    /// Up to `max` events of a run from `first_event_id`.
    pub(crate) fn read_events(
        &self,
        key: &RunKey,
        first_event_id: i64,
        max: usize,
    ) -> Result<Vec<reprise::api::temporal::api::history::v1::HistoryEvent>, Status> {
        self.store
            .read_events(key, first_event_id, max)
            .map_err(errors::store)
    }
}
