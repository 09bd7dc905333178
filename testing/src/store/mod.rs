//! Storage for the bundled server.
//!
//! The [`Store`] trait is the boundary between the server's logic and where its data lives. One
//! call, [`Store::commit`], carries everything a state transition produces — the new history
//! events, the tasks it creates (workflow tasks, activity tasks, timers) and the execution's
//! visibility record — so that a durable backend writes them in **one transaction**, with
//! optimistic concurrency on the execution's version (`expected_version`).
//!
//! [`MemoryStore`] keeps everything in process memory: the default for tests. The engine keeps
//! each execution's mutable state in its shard cache.
//!
//! A durable backend ([`SqliteStore`]) also receives the run's mutable state, encoded by the
//! server ([`Transition::state`], opaque to the store), and writes it with the events, the timer
//! and transfer tasks and the visibility row in one transaction checked against the run's
//! version. After a crash, [`Store::recover`] hands back every run's last committed state and
//! the timer and transfer tasks not yet done; the server rebuilds its caches from them and
//! re-queues the workflow and activity tasks that the states say are waiting for a poller (those
//! are derived, not stored: a task a poller already took is recorded as started in the state, so
//! it is never handed out twice).

mod memory;
pub(crate) mod records;
mod sqlite;
mod visibility_index;

pub use memory::MemoryStore;
pub use sqlite::{SqliteStore, Synchronous};

use reprise::api::temporal::api::history::v1::HistoryEvent;
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// Identifies one run of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunKey {
    /// Namespace name.
    pub namespace: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Run id.
    pub run_id: String,
}

/// A task that a state transition creates. Durable backends persist these with the transition
/// so that none is lost in a crash; the server dispatches them once the commit succeeded.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskRecord {
    /// A workflow task to hand to a poller of `task_queue`.
    Workflow {
        /// The task queue (normal or sticky) the task goes to.
        task_queue: String,
        /// The `WorkflowTaskScheduled` event id (or the id it will have).
        scheduled_event_id: i64,
    },
    /// An activity task attempt to hand to a poller of `task_queue`.
    Activity {
        /// The task queue.
        task_queue: String,
        /// The `ActivityTaskScheduled` event id.
        scheduled_event_id: i64,
        /// The attempt number.
        attempt: i32,
    },
    /// Something to do to another execution once this transition is committed (start a child,
    /// signal or cancel another workflow, tell a parent that its child closed).
    Transfer {
        /// What.
        kind: TransferKind,
    },
    /// Something to do at a time.
    Timer {
        /// When.
        fire_at: SystemTime,
        /// What.
        kind: TimerKind,
    },
}

/// What a timer task does when it fires. Every kind carries what is needed to recognise a stale
/// timer (one whose subject has moved on), which then does nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerKind {
    /// A user timer (`StartTimer` command).
    User {
        /// The timer id given by the workflow.
        timer_id: String,
        /// Its `TimerStarted` event id.
        started_event_id: i64,
    },
    /// An activity attempt's timeout.
    ActivityTimeout {
        /// The activity's scheduled event id.
        scheduled_event_id: i64,
        /// The attempt it applies to.
        attempt: i32,
        /// Which timeout (a `TimeoutType` value).
        timeout_type: i32,
        /// For heartbeat timeouts: the heartbeat sequence this deadline belongs to.
        heartbeat_seq: u64,
    },
    /// The backoff before an activity's next attempt is over.
    ActivityRetry {
        /// The activity's scheduled event id.
        scheduled_event_id: i64,
        /// The attempt to start.
        attempt: i32,
    },
    /// A workflow task's timeout (start-to-close, or schedule-to-start on a sticky queue).
    WorkflowTaskTimeout {
        /// The task's scheduled event id.
        scheduled_event_id: i64,
        /// Its attempt.
        attempt: i32,
        /// Which timeout (a `TimeoutType` value).
        timeout_type: i32,
    },
    /// The delay before the first workflow task (start delay) is over.
    WorkflowStartBackoff,
    /// The backoff before retrying a repeatedly failing workflow task is over.
    WorkflowTaskBackoff {
        /// The attempt to schedule.
        attempt: i32,
    },
    /// The run timeout (or the execution timeout) of the run expired.
    WorkflowRunTimeout,
    /// The closed run's retention period is over: delete it.
    Retention,
}

/// Work across executions, done after the transition that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferKind {
    /// Start the child initiated by event `initiated_event_id`.
    StartChild {
        /// Its `StartChildWorkflowExecutionInitiated` event id.
        initiated_event_id: i64,
    },
    /// Deliver the signal initiated by event `initiated_event_id`.
    SignalExternal {
        /// Its `SignalExternalWorkflowExecutionInitiated` event id.
        initiated_event_id: i64,
    },
    /// Deliver the cancellation request initiated by event `initiated_event_id`.
    CancelExternal {
        /// Its `RequestCancelExternalWorkflowExecutionInitiated` event id.
        initiated_event_id: i64,
    },
    /// The run (a child) closed: record it in its parent.
    NotifyParent,
    /// The run closed: apply the parent close policy of its open children.
    ParentClosePolicy,
}

/// The output of one state transition of one execution, written atomically.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Transition<'a> {
    /// The run.
    pub run: &'a RunKey,
    /// The version the run had when the transition began (0 for a new run). A backend rejects
    /// the transition with [`StoreError::Conflict`] if the stored version differs.
    pub expected_version: u64,
    /// The version after the transition.
    pub new_version: u64,
    /// New history events, in event-id order, continuing the run's history.
    pub events: &'a [HistoryEvent],
    /// Tasks created by the transition.
    pub tasks: &'a [TaskRecord],
    /// The events waiting for the running workflow task to finish (signals, activity results…
    /// that arrived meanwhile): the whole buffer after the transition, replacing the stored one.
    pub buffered: &'a [HistoryEvent],
    /// The run's visibility record after the transition, when it changed.
    pub visibility: Option<&'a WorkflowExecutionInfo>,
    /// The run's whole mutable state after the transition, encoded by the server, for stores
    /// that are [durable](Store::is_durable) (`None` for the others).
    pub state: Option<&'a [u8]>,
}

/// What a durable store hands back at start: everything the server needs to carry on.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Recovered {
    /// Every stored run (open and closed) with its last committed state.
    pub runs: Vec<RecoveredRun>,
    /// Timer tasks not yet done, in the order they were written.
    pub timers: Vec<(RunKey, SystemTime, TimerKind)>,
    /// Transfer tasks not yet done, in the order they were written.
    pub transfers: Vec<(RunKey, TransferKind)>,
}

/// One run as a durable store recovers it.
#[derive(Debug)]
#[non_exhaustive]
pub struct RecoveredRun {
    /// The run.
    pub key: RunKey,
    /// Its version.
    pub version: u64,
    /// Its mutable state as last passed in [`Transition::state`].
    pub state: Vec<u8>,
    /// Whether it is the current (latest) run of its workflow id.
    pub current: bool,
}

impl RecoveredRun {
    /// A recovered run.
    pub fn new(key: RunKey, version: u64, state: Vec<u8>, current: bool) -> Self {
        RecoveredRun {
            key,
            version,
            state,
            current,
        }
    }
}

/// A registered namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceRecord {
    /// Its name.
    pub name: String,
    /// Its id (a UUID).
    pub id: String,
    /// Free text.
    pub description: String,
    /// Owner contact.
    pub owner_email: String,
    /// How long closed executions are kept.
    pub retention: Duration,
    /// Custom search attributes: name → `IndexedValueType` value.
    pub search_attributes: BTreeMap<String, i32>,
    /// Free-form key/values.
    pub data: BTreeMap<String, String>,
}

/// Why a store call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Someone else changed the execution first.
    #[error("conflict on {workflow_id}/{run_id}: expected version {expected}, found {found}")]
    Conflict {
        /// Workflow id.
        workflow_id: String,
        /// Run id.
        run_id: String,
        /// The version the writer expected.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// The backend failed (an I/O error, the file gone, …); the call can be retried later.
    #[error("store failure: {0}")]
    Backend(String),
    /// The disk, or the store's size limit, is full: nothing was written.
    #[error("store full: {0}")]
    Full(String),
}

/// Where the server's data lives. Implementations are shared between threads.
pub trait Store: Send + Sync + 'static {
    /// Writes one state transition atomically: events, tasks, visibility record and version.
    fn commit(&self, transition: Transition<'_>) -> Result<(), StoreError>;

    /// Writes transitions of several runs that belong together (a run closing and the run that
    /// continues it) — atomically in a durable store. The default commits them one by one.
    fn commit_all(&self, transitions: &[Transition<'_>]) -> Result<(), StoreError> {
        transitions.iter().try_for_each(|t| self.commit(*t))
    }

    /// Up to `max` events of `run` starting at `first_event_id` (1-based), in order.
    fn read_events(
        &self,
        run: &RunKey,
        first_event_id: i64,
        max: usize,
    ) -> Result<Vec<HistoryEvent>, StoreError>;

    /// The visibility records of every run of `namespace`, in no particular order. The
    /// visibility layer filters and sorts them.
    fn visibility_records(&self, namespace: &str)
    -> Result<Vec<WorkflowExecutionInfo>, StoreError>;

    /// Deletes a run: its events and its visibility record.
    fn delete_run(&self, run: &RunKey) -> Result<(), StoreError>;

    /// Creates or replaces a namespace.
    fn put_namespace(&self, namespace: NamespaceRecord) -> Result<(), StoreError>;

    /// Every namespace, sorted by name.
    fn namespaces(&self) -> Result<Vec<NamespaceRecord>, StoreError>;

    /// Whether the store outlives the process. A durable store receives each run's encoded
    /// state with every transition, keeps timer and transfer tasks until they are done, and
    /// answers [`Store::recover`].
    fn is_durable(&self) -> bool {
        false
    }

    /// Everything committed before the last stop or crash (nothing, for a non-durable store).
    fn recover(&self) -> Result<Recovered, StoreError> {
        Ok(Recovered::default())
    }

    /// One run's last committed state (`None` if the store has none): the server reloads a run
    /// from it when a commit failed.
    fn load_run(&self, _run: &RunKey) -> Result<Option<RecoveredRun>, StoreError> {
        Ok(None)
    }

    /// A timer task written by an earlier transition has fired and been handled.
    fn timer_done(
        &self,
        _run: &RunKey,
        _fire_at: SystemTime,
        _kind: &TimerKind,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// A transfer task written by an earlier transition has been carried out.
    fn transfer_done(&self, _run: &RunKey, _kind: &TransferKind) -> Result<(), StoreError> {
        Ok(())
    }

    /// Creates or replaces a schedule's state (encoded by the server, opaque to the store). A
    /// store that is not [durable](Store::is_durable) may keep nothing: the server holds every
    /// schedule in memory too.
    fn put_schedule(
        &self,
        _namespace: &str,
        _schedule_id: &str,
        _state: &[u8],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Deletes a schedule.
    fn delete_schedule(&self, _namespace: &str, _schedule_id: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every stored schedule's state, as last passed to [`Store::put_schedule`].
    fn schedules(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(Vec::new())
    }
}

/// The shard (of `shards`) that a workflow id belongs to: stable across processes, so a durable
/// backend can use it too.
pub fn memory_shard_index(namespace: &str, workflow_id: &str, shards: usize) -> usize {
    memory::shard_index(namespace, workflow_id, shards)
}
