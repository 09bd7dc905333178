//! The mutable state of one workflow run, and how events are appended to its history.

use crate::store::{RunKey, TaskRecord, TimerKind};
use prost::Message;
use reprise::api::google::protobuf::{Duration as PbDuration, Timestamp};
use reprise::api::temporal::api::common::v1::{
    ActivityType, Header, Memo, Payloads, RetryPolicy, SearchAttributes, WorkflowExecution,
    WorkflowType,
};
use reprise::api::temporal::api::enums::v1::{EventType, TaskQueueKind, WorkflowExecutionStatus};
use reprise::api::temporal::api::failure::v1::Failure;
use reprise::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes};
use reprise::api::temporal::api::query::v1::WorkflowQuery;
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use reprise::api::temporal::api::update::v1 as upd;
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// Task ids increase across the whole process, as the official server's do across a shard.
static TASK_IDS: AtomicI64 = AtomicI64::new(1_048_576);

/// A task queue reference as events carry it.
pub(crate) fn normal_queue(name: &str) -> TaskQueue {
    TaskQueue {
        name: name.into(),
        kind: TaskQueueKind::Normal as i32,
        normal_name: String::new(),
    }
}

/// A protobuf duration.
pub(crate) fn pb_duration(d: Duration) -> PbDuration {
    PbDuration::from(d)
}

/// The longest duration the server takes from a request (100 years): longer ones are capped, so
/// that no time computed from request data can overflow.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A protobuf duration as a std one (negative and invalid ones become zero, huge ones are capped
/// at [`MAX_DURATION`]).
pub(crate) fn std_duration(d: Option<&PbDuration>) -> Duration {
    d.and_then(|d| Duration::try_from(*d).ok())
        .unwrap_or_default()
        .min(MAX_DURATION)
}

/// The workflow task of a run, from scheduled to completed.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowTask {
    pub(crate) scheduled_event_id: i64,
    pub(crate) attempt: i32,
    pub(crate) sticky: bool,
    pub(crate) scheduled_time: SystemTime,
    pub(crate) started: Option<WorkflowTaskStarted>,
}

/// A started workflow task.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowTaskStarted {
    pub(crate) event_id: i64,
    pub(crate) time: SystemTime,
}

/// A worker's sticky queue for this run.
#[derive(Debug, Clone)]
pub(crate) struct Sticky {
    pub(crate) queue: String,
    pub(crate) schedule_to_start: Duration,
}

/// A pending activity.
#[derive(Debug, Clone)]
pub(crate) struct Activity {
    pub(crate) scheduled_event_id: i64,
    pub(crate) activity_id: String,
    pub(crate) activity_type: ActivityType,
    pub(crate) task_queue: String,
    pub(crate) header: Option<Header>,
    pub(crate) input: Option<Payloads>,
    pub(crate) schedule_to_close: Duration,
    pub(crate) schedule_to_start: Duration,
    pub(crate) start_to_close: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) retry_policy: RetryPolicy,
    pub(crate) attempt: i32,
    pub(crate) scheduled_time: SystemTime,
    pub(crate) attempt_scheduled_time: SystemTime,
    pub(crate) started: Option<ActivityStarted>,
    pub(crate) heartbeat_details: Option<Payloads>,
    pub(crate) last_heartbeat_time: Option<SystemTime>,
    pub(crate) heartbeat_seq: u64,
    pub(crate) last_failure: Option<Failure>,
    pub(crate) last_worker_identity: String,
    pub(crate) cancel_requested_event_id: Option<i64>,
}

/// A started activity attempt (its `ActivityTaskStarted` event is written when it ends, as the
/// official server does for activities with a retry policy).
#[derive(Debug, Clone)]
pub(crate) struct ActivityStarted {
    pub(crate) identity: String,
    pub(crate) request_id: String,
    pub(crate) time: SystemTime,
}

/// An update's progress.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UpdateState {
    /// Waiting to be delivered to a workflow task.
    Admitted,
    /// Delivered in the workflow task with this scheduled event id.
    Sent(i64),
    /// Accepted by the workflow (event id of the acceptance).
    Accepted(i64),
    /// Completed or rejected.
    Completed(Box<upd::Outcome>),
}

/// An update of a run.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pub(crate) seq: u64,
    pub(crate) request: upd::Request,
    pub(crate) state: UpdateState,
}

/// A worker's answer to a query: the result, or the error message and failure.
pub(crate) type QueryAnswer = Result<Option<Payloads>, (String, Option<Failure>)>;

/// A query waiting for a worker's answer.
#[derive(Debug, Clone)]
pub(crate) struct PendingQuery {
    pub(crate) query: WorkflowQuery,
    pub(crate) answer: Option<QueryAnswer>,
    pub(crate) delivery: QueryDelivery,
}

/// How a query reaches a worker. Queries are consistent, as on the official server: one that
/// arrives while a workflow task is pending rides on that task (answered after the task's new
/// events), one that arrives while a task runs waits for it to finish; otherwise a query task
/// of its own carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryDelivery {
    /// Not given to any worker yet.
    Waiting,
    /// Attached to the workflow task with this scheduled event id.
    Attached(i64),
    /// Sent as a query task of its own.
    Dispatched,
}

/// The parent of a child run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParentInfo {
    pub(crate) namespace: String,
    pub(crate) workflow_id: String,
    pub(crate) run_id: String,
    pub(crate) initiated_event_id: i64,
}

/// A child this run initiated.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub(crate) request: ws::StartWorkflowExecutionRequest,
    pub(crate) parent_close_policy: i32,
    pub(crate) control: String,
    pub(crate) completed_event_id: i64,
    /// Set once started: run id and `ChildWorkflowExecutionStarted` event id.
    pub(crate) started: Option<(String, i64)>,
}

/// A signal or cancellation request to another workflow, not yet delivered.
#[derive(Debug, Clone)]
pub(crate) struct External {
    pub(crate) namespace: String,
    pub(crate) execution: WorkflowExecution,
    pub(crate) control: String,
    pub(crate) completed_event_id: i64,
    /// For signals: name, input, header.
    pub(crate) signal: Option<(String, Option<Payloads>, Option<Header>)>,
    pub(crate) reason: String,
}

/// The mutable state of one run.
#[derive(Debug)]
pub(crate) struct MutableState {
    pub(crate) key: RunKey,
    pub(crate) version: u64,
    pub(crate) first_run_id: String,
    pub(crate) workflow_type: String,
    pub(crate) task_queue: String,
    pub(crate) status: WorkflowExecutionStatus,
    pub(crate) start_time: SystemTime,
    pub(crate) execution_time: SystemTime,
    pub(crate) close_time: Option<SystemTime>,
    pub(crate) start_request_id: String,
    pub(crate) request_ids: HashSet<String>,
    pub(crate) next_event_id: i64,
    pub(crate) history_size: i64,
    pub(crate) memo: Option<Memo>,
    pub(crate) search_attributes: Option<SearchAttributes>,
    pub(crate) workflow_task_timeout: Duration,
    pub(crate) run_timeout: Duration,
    pub(crate) execution_timeout: Duration,
    pub(crate) sticky: Option<Sticky>,
    pub(crate) wft: Option<WorkflowTask>,
    /// `startedEventId` of the last completed workflow task.
    pub(crate) previous_started_event_id: i64,
    /// Events that arrived while a workflow task was running; written after its completion.
    pub(crate) buffered: Vec<HistoryEvent>,
    pub(crate) activities: BTreeMap<i64, Activity>,
    pub(crate) timers: BTreeMap<String, i64>,
    pub(crate) updates: HashMap<String, Update>,
    pub(crate) update_seq: u64,
    pub(crate) queries: HashMap<String, PendingQuery>,
    pub(crate) cancel_requested: bool,
    pub(crate) continued_as_new_to: Option<String>,
    pub(crate) state_transitions: i64,
    /// Signalled after every committed transition (long polls wait on it).
    pub(crate) changed: watch::Sender<u64>,
    // Scratch of the transition in progress.
    pub(crate) now: SystemTime,
    pub(crate) new_events: Vec<HistoryEvent>,
    pub(crate) new_tasks: Vec<TaskRecord>,
    pub(crate) visibility_dirty: bool,
    pub(crate) touched: bool,
    /// Children initiated by this run, by initiated event id.
    pub(crate) children: BTreeMap<i64, Child>,
    /// Signals and cancellation requests to other workflows not yet delivered.
    pub(crate) externals: BTreeMap<i64, External>,
    /// The parent, when this run is a child.
    pub(crate) parent: Option<ParentInfo>,
    /// The not-yet-written events of a speculative workflow task (one created for an update):
    /// `WorkflowTaskScheduled` (and `WorkflowTaskStarted` once a poller took it), with their ids.
    /// They are written before any other event; if the task only rejects updates they never are.
    pub(crate) speculative: Vec<HistoryEvent>,
    /// The start request of this run (for retries of the workflow: the next run starts alike).
    pub(crate) start: ws::StartWorkflowExecutionRequest,
    /// How long the run is kept once closed (its namespace's retention).
    pub(crate) retention: Duration,
    /// Whether the run counted as busy (work in flight) at its last commit (time skipping).
    pub(crate) busy: bool,
    /// The run's attempt (1, or more for retries of a failed workflow).
    pub(crate) attempt: i32,
    /// A run this transition created (continue-as-new), inserted after the commit.
    pub(crate) pending_new_run: Option<Box<MutableState>>,
    /// The run a reset of this one created (`reset_run_id` in describe).
    pub(crate) reset_run_id: String,
    /// When this run was created by a reset.
    pub(crate) last_reset_time: Option<SystemTime>,
    /// The start time of the run this one was reset from (kept across resets).
    pub(crate) original_start_time: Option<SystemTime>,
}

impl MutableState {
    /// A run with no events yet.
    pub(crate) fn new(
        key: RunKey,
        workflow_type: String,
        task_queue: String,
        now: SystemTime,
    ) -> Self {
        MutableState {
            first_run_id: key.run_id.clone(),
            key,
            version: 0,
            workflow_type,
            task_queue,
            status: WorkflowExecutionStatus::Running,
            start_time: now,
            execution_time: now,
            close_time: None,
            start_request_id: String::new(),
            request_ids: HashSet::new(),
            next_event_id: 1,
            history_size: 0,
            memo: None,
            search_attributes: None,
            workflow_task_timeout: Duration::from_secs(10),
            run_timeout: Duration::ZERO,
            execution_timeout: Duration::ZERO,
            sticky: None,
            wft: None,
            previous_started_event_id: 0,
            buffered: Vec::new(),
            activities: BTreeMap::new(),
            timers: BTreeMap::new(),
            updates: HashMap::new(),
            update_seq: 0,
            queries: HashMap::new(),
            cancel_requested: false,
            continued_as_new_to: None,
            state_transitions: 0,
            changed: watch::Sender::new(0),
            now,
            new_events: Vec::new(),
            new_tasks: Vec::new(),
            visibility_dirty: true,
            touched: true,
            children: BTreeMap::new(),
            externals: BTreeMap::new(),
            parent: None,
            speculative: Vec::new(),
            start: ws::StartWorkflowExecutionRequest::default(),
            attempt: 1,
            busy: false,
            retention: Duration::from_secs(86_400),
            pending_new_run: None,
            reset_run_id: String::new(),
            last_reset_time: None,
            original_start_time: None,
        }
    }

    /// True while the run has work in flight: a workflow task, an activity waiting for or held
    /// by a worker (not one waiting out a retry backoff), a child or external call underway.
    /// Time skipping only moves the clock when no run is busy.
    pub(crate) fn is_busy(&self) -> bool {
        self.is_open()
            && (self.wft.is_some()
                || self
                    .activities
                    .values()
                    .any(|a| a.started.is_some() || a.attempt_scheduled_time <= self.now)
                || !self.externals.is_empty()
                || self.children.values().any(|c| c.started.is_none()))
    }

    /// When the run's only work in flight is started activities: their ids and attempts.
    pub(crate) fn started_activities_only(&self) -> Option<Vec<(String, u32)>> {
        let other = self.wft.is_some()
            || !self.externals.is_empty()
            || self.children.values().any(|c| c.started.is_none())
            || self
                .activities
                .values()
                .any(|a| a.started.is_none() && a.attempt_scheduled_time <= self.now);
        (!other).then(|| {
            self.activities
                .values()
                .filter(|a| a.started.is_some())
                .map(|a| (a.activity_id.clone(), u32::try_from(a.attempt).unwrap_or(0)))
                .collect()
        })
    }

    /// True while the run can still change.
    pub(crate) fn is_open(&self) -> bool {
        self.status == WorkflowExecutionStatus::Running
    }

    /// The execution (workflow id + run id).
    pub(crate) fn execution(&self) -> WorkflowExecution {
        WorkflowExecution {
            workflow_id: self.key.workflow_id.clone(),
            run_id: self.key.run_id.clone(),
        }
    }

    pub(crate) fn make_event(
        &mut self,
        event_type: EventType,
        attributes: Attributes,
    ) -> HistoryEvent {
        HistoryEvent {
            event_id: 0,
            event_time: Some(Timestamp::from(self.now)),
            event_type: event_type as i32,
            task_id: TASK_IDS.fetch_add(1, Ordering::Relaxed),
            attributes: Some(attributes),
            ..Default::default()
        }
    }

    fn write(&mut self, event: HistoryEvent) -> i64 {
        self.materialize_speculative();
        self.write_now(event)
    }

    /// Writes the events of a speculative workflow task: it becomes an ordinary one.
    pub(crate) fn materialize_speculative(&mut self) {
        for event in std::mem::take(&mut self.speculative) {
            self.write_now(event);
        }
    }

    fn write_now(&mut self, mut event: HistoryEvent) -> i64 {
        event.event_id = self.next_event_id;
        link_started_event(&mut event);
        if let Some(Attributes::ChildWorkflowExecutionStartedEventAttributes(a)) = &event.attributes
            && let Some(child) = self.children.get_mut(&a.initiated_event_id)
            && let Some(started) = child.started.as_mut()
        {
            started.1 = event.event_id;
        }
        self.next_event_id += 1;
        self.history_size += event.encoded_len() as i64;
        self.new_events.push(event);
        self.touched = true;
        self.next_event_id - 1
    }

    /// Appends an event to the history now; returns its id.
    pub(crate) fn append(&mut self, event_type: EventType, attributes: Attributes) -> i64 {
        let event = self.make_event(event_type, attributes);
        self.write(event)
    }

    /// Appends an event that did not come from the running workflow task: buffered while a
    /// workflow task is started, written (and a workflow task scheduled) otherwise.
    pub(crate) fn append_external(&mut self, event_type: EventType, attributes: Attributes) {
        self.append_external_batch(vec![(event_type, attributes)]);
    }

    /// [`MutableState::append_external`] for events that must stay together.
    pub(crate) fn append_external_batch(&mut self, events: Vec<(EventType, Attributes)>) {
        let events = events
            .into_iter()
            .map(|(event_type, attributes)| self.make_event(event_type, attributes))
            .collect();
        self.append_external_events(events);
    }

    /// [`MutableState::append_external_batch`] for events already made.
    pub(crate) fn append_external_events(&mut self, events: Vec<HistoryEvent>) {
        let buffer = self.wft.as_ref().is_some_and(|t| t.started.is_some());
        for event in events {
            if buffer {
                self.buffered.push(event);
                self.touched = true;
            } else {
                self.write(event);
            }
        }
        if !buffer {
            self.schedule_workflow_task_if_needed();
        }
    }

    /// Writes the buffered events; true if there were any.
    pub(crate) fn flush_buffered(&mut self) -> bool {
        let buffered = std::mem::take(&mut self.buffered);
        let any = !buffered.is_empty();
        for mut event in buffered {
            // Buffered events take the time they are written, as the official server's do
            // (an activity's started event keeps the time the attempt started).
            if event.event_type != EventType::ActivityTaskStarted as i32 {
                event.event_time = Some(Timestamp::from(self.now));
            }
            self.write(event);
        }
        any
    }

    /// Schedules a workflow task unless one is pending or the run is closed.
    pub(crate) fn schedule_workflow_task_if_needed(&mut self) {
        if self.wft.is_none() && self.is_open() {
            self.schedule_workflow_task(1);
        }
    }

    /// Writes `WorkflowTaskScheduled` and queues the task (on the sticky queue if one is set).
    pub(crate) fn schedule_workflow_task(&mut self, attempt: i32) {
        self.schedule_workflow_task_as(attempt, false);
    }

    /// Schedules a retry (attempt 2 or later) of a failing workflow task as a *transient* task,
    /// as the official server does: its `WorkflowTaskScheduled`/`Started` events are shown to
    /// the worker but written only if it completes, so a workflow task failing over and over
    /// does not grow the history.
    pub(crate) fn schedule_transient_workflow_task(&mut self, attempt: i32) {
        if self.wft.is_none() && self.is_open() {
            self.schedule_workflow_task_as(attempt, true);
        }
    }

    /// Whether the pending workflow task is a transient retry (see
    /// [`MutableState::schedule_transient_workflow_task`]).
    pub(crate) fn is_transient_task(&self) -> bool {
        self.wft.as_ref().is_some_and(|t| t.attempt > 1) && !self.speculative.is_empty()
    }

    /// Schedules a speculative workflow task (for an update): nothing is written unless the task
    /// does more than reject updates.
    pub(crate) fn schedule_speculative_workflow_task(&mut self) {
        if self.wft.is_none() && self.is_open() && self.buffered.is_empty() {
            self.schedule_workflow_task_as(1, true);
        }
    }

    fn schedule_workflow_task_as(&mut self, attempt: i32, speculative: bool) {
        let (queue, kind, normal_name) = match &self.sticky {
            Some(s) => (
                s.queue.clone(),
                TaskQueueKind::Sticky,
                self.task_queue.clone(),
            ),
            None => (
                self.task_queue.clone(),
                TaskQueueKind::Normal,
                String::new(),
            ),
        };
        let timeout = self.workflow_task_timeout;
        let attributes = Attributes::WorkflowTaskScheduledEventAttributes(
            reprise::api::temporal::api::history::v1::WorkflowTaskScheduledEventAttributes {
                task_queue: Some(TaskQueue {
                    name: queue.clone(),
                    kind: kind as i32,
                    normal_name,
                }),
                start_to_close_timeout: Some(pb_duration(timeout)),
                attempt,
            },
        );
        let id = if speculative {
            let mut event = self.make_event(EventType::WorkflowTaskScheduled, attributes);
            event.event_id = self.next_event_id;
            self.speculative.push(event);
            self.touched = true;
            self.next_event_id
        } else {
            self.append(EventType::WorkflowTaskScheduled, attributes)
        };
        self.wft = Some(WorkflowTask {
            scheduled_event_id: id,
            attempt,
            sticky: kind == TaskQueueKind::Sticky,
            scheduled_time: self.now,
            started: None,
        });
        self.new_tasks.push(TaskRecord::Workflow {
            task_queue: queue,
            scheduled_event_id: id,
        });
        if let Some(s) = &self.sticky {
            let fire_at = self.now + s.schedule_to_start;
            self.add_timer(
                fire_at,
                TimerKind::WorkflowTaskTimeout {
                    scheduled_event_id: id,
                    attempt,
                    timeout_type:
                        reprise::api::temporal::api::enums::v1::TimeoutType::ScheduleToStart as i32,
                },
            );
        }
    }

    /// Records a timer task.
    pub(crate) fn add_timer(&mut self, fire_at: SystemTime, kind: TimerKind) {
        self.new_tasks.push(TaskRecord::Timer { fire_at, kind });
        self.touched = true;
    }

    /// Closes the run: status, close time, and everything pending dropped.
    pub(crate) fn close(&mut self, status: WorkflowExecutionStatus) {
        self.status = status;
        self.close_time = Some(self.now);
        self.wft = None;
        self.sticky = None;
        self.activities.clear();
        self.timers.clear();
        self.externals.clear();
        self.close_transfers();
        let delete_at = self.now + self.retention;
        self.add_timer(delete_at, TimerKind::Retention);
        self.visibility_dirty = true;
        self.touched = true;
        for update in self.updates.values_mut() {
            if !matches!(update.state, UpdateState::Completed(_)) {
                update.state = UpdateState::Completed(Box::new(upd::Outcome {
                    value: Some(upd::outcome::Value::Failure(Failure {
                        message: "Workflow Update failed because the Workflow completed before the Update completed.".into(),
                        ..Default::default()
                    })),
                }));
            }
        }
    }

    /// The visibility record of the run.
    pub(crate) fn info(&self) -> WorkflowExecutionInfo {
        WorkflowExecutionInfo {
            execution: Some(self.execution()),
            r#type: Some(WorkflowType {
                name: self.workflow_type.clone(),
            }),
            start_time: Some(Timestamp::from(self.start_time)),
            close_time: self.close_time.map(Timestamp::from),
            status: self.status as i32,
            history_length: self.next_event_id - 1,
            execution_time: Some(Timestamp::from(self.execution_time)),
            memo: Some(self.memo.clone().unwrap_or_default()),
            search_attributes: self.search_attributes.clone(),
            task_queue: self.task_queue.clone(),
            state_transition_count: self.state_transitions,
            history_size_bytes: self.history_size,
            first_run_id: self.first_run_id.clone(),
            execution_duration: self
                .close_time
                .and_then(|c| c.duration_since(self.execution_time).ok().map(pb_duration)),
            root_execution: Some(self.execution()),
            ..Default::default()
        }
    }
}

/// An activity's end event written right after its `ActivityTaskStarted` carries
/// `started_event_id == -1` until it gets its own id: then it points at the event before it.
fn link_started_event(event: &mut HistoryEvent) {
    let previous = event.event_id - 1;
    let slot = match &mut event.attributes {
        Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => &mut a.started_event_id,
        Some(Attributes::ActivityTaskFailedEventAttributes(a)) => &mut a.started_event_id,
        Some(Attributes::ActivityTaskCanceledEventAttributes(a)) => &mut a.started_event_id,
        Some(Attributes::ActivityTaskTimedOutEventAttributes(a)) => &mut a.started_event_id,
        _ => return,
    };
    if *slot == -1 {
        *slot = previous;
    }
}
