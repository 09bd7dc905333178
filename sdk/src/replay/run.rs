//! One workflow run driven by history: walks events, matches recorded commands against the
//! commands the code issues, resolves operations, and activates the workflow at each workflow
//! task. The same code serves replay (all tasks in history) and a live worker (the last task is
//! new: its commands are returned to be sent).

use super::error::{NondeterminismError, ReplayError};
use super::matching;
use crate::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes as C};
use crate::api::temporal::api::common::v1::{
    Header, Memo, Payload, Payloads, SearchAttributes, WorkflowType,
};
use crate::api::temporal::api::enums::v1::RetryState;
use crate::api::temporal::api::enums::v1::{CommandType, TaskQueueKind};
use crate::api::temporal::api::failure::v1::Failure as ProtoFailure;
use crate::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use crate::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use crate::converter::{DataConverter, Failure, FailureKind};
use crate::workflow::executor::Executor;
use crate::workflow::registry::RunFn;
use crate::workflow::state::{
    MachineId, MachineStatus, RecordedLocalActivity, Resolution, RunState, Shared,
};
use crate::workflow::{
    PendingUpdate, UpdateInput, WorkflowContext, WorkflowError, WorkflowInfo, operations as ops,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, Location};
use std::rc::Rc;

/// What the workflow function returned.
type RunOutcome = Result<Vec<Payload>, WorkflowError>;

/// Work delivered to the workflow at an activation, in history order.
enum Job {
    Signal {
        name: String,
        input: Vec<Payload>,
    },
    Update(Box<PendingUpdate>),
    Cancel {
        reason: String,
    },
    Resolve {
        machine: MachineId,
        resolution: Resolution,
    },
    ChildStarted {
        machine: MachineId,
        run_id: String,
    },
}

/// What the last (new) workflow task produced, to send to the server.
#[derive(Debug, Default)]
pub(crate) struct Activation {
    pub(crate) commands: Vec<Command>,
    pub(crate) messages: Vec<ProtocolMessage>,
}

/// What workflow code, through its context, can have changed in a run: compared before and after
/// the activation of a task whose completion only rejects updates, which must have changed nothing
/// (rejecting runs validators only, and they must not touch the workflow).
#[derive(PartialEq)]
struct Footprint {
    seq: crate::workflow::state::Seqs,
    rng: crate::workflow::random::Rng,
    machines: Vec<(MachineStatus, bool, bool)>,
    commands: usize,
    side_effect_seq: u32,
    buffered_signals: usize,
    buffered_updates: usize,
    running_handlers: usize,
    conditions_satisfied: u64,
    handlers: (usize, usize, usize, bool, bool, bool),
    patches: (usize, usize),
    local_activity_requests: usize,
    memo: usize,
    search_attributes: usize,
    cancel_requested: bool,
    closed: bool,
    returned: bool,
    unfinished_tasks: usize,
}

/// The run just before activating a new task that carried update requests: its footprint, and
/// the task-specific values the activation sets (the workflow clock and history info), to put
/// back if the server discards the task.
struct BeforeLiveTask {
    footprint: Footprint,
    now: std::time::SystemTime,
    replaying: bool,
    history_length: i64,
    history_size_bytes: i64,
    continue_as_new_suggested: bool,
}

pub(crate) struct WorkflowRun {
    shared: Shared,
    ctx: WorkflowContext,
    executor: Executor,
    run_fn: RunFn,
    input: Option<Vec<Payload>>,
    outcome: Rc<RefCell<Option<RunOutcome>>>,
    jobs: Vec<Job>,
    /// Update requests that came with the new task (not from history): delivered in that
    /// task's activation, after any replayed ones.
    live_updates: Vec<PendingUpdate>,
    activity_by_event: HashMap<i64, MachineId>,
    timer_by_id: HashMap<String, MachineId>,
    initiated_by_event: HashMap<i64, MachineId>,
    /// Set when the last activation was a new task that carried update requests.
    before_live_task: Option<BeforeLiveTask>,
}

static WORKFLOW_RETURN: &Location<'static> = Location::caller();

impl WorkflowRun {
    /// Starts a run from its `WorkflowExecutionStarted` event.
    pub(crate) fn new(
        run_fn: RunFn,
        first: &HistoryEvent,
        converter: DataConverter,
        namespace: &str,
    ) -> Result<Self, ReplayError> {
        let Some(E::WorkflowExecutionStartedEventAttributes(started)) = &first.attributes else {
            return Err(ReplayError::InvalidHistory {
                event_id: first.event_id,
                message: "the first event is not WorkflowExecutionStarted".into(),
            });
        };
        let start_time = first
            .event_time
            .as_ref()
            .map(|t| t.to_system_time())
            .unwrap_or(std::time::UNIX_EPOCH);
        let info = WorkflowInfo {
            namespace: namespace.to_string(),
            workflow_id: started.workflow_id.clone(),
            run_id: started.original_execution_run_id.clone(),
            first_execution_run_id: started.first_execution_run_id.clone(),
            continued_from_run_id: (!started.continued_execution_run_id.is_empty())
                .then(|| started.continued_execution_run_id.clone()),
            workflow_type: started
                .workflow_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            task_queue: started
                .task_queue
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            attempt: started.attempt.max(1),
            start_time,
            history_length: 1,
            history_size_bytes: 0,
            continue_as_new_suggested: false,
            parent: started
                .parent_workflow_execution
                .as_ref()
                .map(|p| (p.workflow_id.clone(), p.run_id.clone())),
            cron_schedule: (!started.cron_schedule.is_empty())
                .then(|| started.cron_schedule.clone()),
        };
        let seed = crate::workflow::random::seed_from(if info.run_id.is_empty() {
            &info.workflow_id
        } else {
            &info.run_id
        });
        let input = converter
            .decode_payloads(
                started
                    .input
                    .clone()
                    .map(|p| p.payloads)
                    .unwrap_or_default(),
            )
            .map_err(|e| ReplayError::InvalidHistory {
                event_id: 1,
                message: format!("workflow input: {e}"),
            })?;
        let mut state = RunState::new(converter, info, seed);
        state.memo = started.memo.clone().map(|m| m.fields).unwrap_or_default();
        state.search_attributes = started
            .search_attributes
            .clone()
            .map(|s| s.indexed_fields)
            .unwrap_or_default();
        let shared = Rc::new(RefCell::new(state));
        Ok(WorkflowRun {
            ctx: WorkflowContext::new(shared.clone()),
            shared,
            executor: Executor::default(),
            run_fn,
            input: Some(input),
            outcome: Rc::default(),
            jobs: Vec::new(),
            live_updates: Vec::new(),
            activity_by_event: HashMap::new(),
            timer_by_id: HashMap::new(),
            initiated_by_event: HashMap::new(),
            before_live_task: None,
        })
    }

    pub(crate) fn info(&self) -> WorkflowInfo {
        self.shared.borrow().info.clone()
    }

    /// Walks `events` (the whole history, or the part after the last task this run processed).
    /// Returns true when the last event started a workflow task that the history does not
    /// complete: that task was activated and its output awaits [`take_activation`] (after any
    /// local activities it asked for are resolved).
    ///
    /// [`take_activation`]: Self::take_activation
    pub(crate) fn apply_events(&mut self, events: &[HistoryEvent]) -> Result<bool, ReplayError> {
        let mut i = 0;
        while i < events.len() {
            let event = &events[i];
            match &event.attributes {
                Some(E::WorkflowExecutionStartedEventAttributes(_))
                | Some(E::WorkflowTaskScheduledEventAttributes(_)) => {}
                Some(E::WorkflowTaskCompletedEventAttributes(_))
                | Some(E::WorkflowTaskFailedEventAttributes(_))
                | Some(E::WorkflowTaskTimedOutEventAttributes(_)) => {}
                Some(E::WorkflowTaskStartedEventAttributes(started)) => {
                    let next = events.get(i + 1);
                    let failed = matches!(
                        next.and_then(|e| e.attributes.as_ref()),
                        Some(E::WorkflowTaskFailedEventAttributes(_))
                            | Some(E::WorkflowTaskTimedOutEventAttributes(_))
                    );
                    if failed {
                        i += 1;
                        continue;
                    }
                    self.check_all_matched(event)?;
                    let last = next.is_none();
                    self.before_live_task = (last && !self.live_updates.is_empty()).then(|| {
                        let state = self.shared.borrow();
                        BeforeLiveTask {
                            footprint: self.footprint(),
                            now: state.now,
                            replaying: state.replaying,
                            history_length: state.info.history_length,
                            history_size_bytes: state.info.history_size_bytes,
                            continue_as_new_suggested: state.info.continue_as_new_suggested,
                        }
                    });
                    {
                        let mut state = self.shared.borrow_mut();
                        state.replaying = !last;
                        if let Some(t) = &event.event_time {
                            state.now = t.to_system_time();
                        }
                        state.info.history_length = event.event_id;
                        state.info.history_size_bytes = started.history_size_bytes;
                        state.info.continue_as_new_suggested = started.suggest_continue_as_new;
                    }
                    if last {
                        let live = std::mem::take(&mut self.live_updates);
                        self.jobs
                            .extend(live.into_iter().map(|u| Job::Update(Box::new(u))));
                    } else {
                        self.read_ahead(&events[i + 1..]);
                    }
                    self.activate()?;
                    if last {
                        return Ok(true);
                    }
                }
                _ if matching::is_command_event(event) => self.match_command_event(event)?,
                _ => self.collect_job(event)?,
            }
            i += 1;
        }
        Ok(false)
    }

    fn footprint(&self) -> Footprint {
        let state = self.shared.borrow();
        Footprint {
            seq: state.seq.clone(),
            rng: state.rng.clone(),
            machines: state
                .machines
                .iter()
                .map(|m| (m.status, m.cancel_requested, m.child_start.is_some()))
                .collect(),
            commands: state.commands.len(),
            side_effect_seq: state.side_effect_seq,
            buffered_signals: state.signal_buffer.len(),
            buffered_updates: state.update_buffer.len(),
            running_handlers: state.running_handlers,
            conditions_satisfied: state.conditions_satisfied,
            handlers: (
                state.signal_handlers.len(),
                state.query_handlers.len(),
                state.update_handlers.len(),
                state.default_signal_handler.is_some(),
                state.default_query_handler.is_some(),
                state.default_update_handler.is_some(),
            ),
            patches: (state.patch_memo.len(), state.change_versions.len()),
            local_activity_requests: state.local_activity_requests.len(),
            memo: state.memo.len(),
            search_attributes: state.search_attributes.len(),
            cancel_requested: state.cancel_requested.is_some(),
            closed: state.closed,
            returned: self.outcome.borrow().is_some(),
            unfinished_tasks: self.executor.unfinished(),
        }
    }

    /// Whether the last activation was a new task that carried update requests and left the
    /// workflow as it found it (its validators rejected them and nothing else ran): then the
    /// task can be undone with [`undo_live_task`] if the server discards it.
    ///
    /// [`undo_live_task`]: Self::undo_live_task
    pub(crate) fn live_task_changed_nothing(&self) -> bool {
        self.before_live_task
            .as_ref()
            .is_some_and(|before| before.footprint == self.footprint())
    }

    /// Whether the last activation was a new task that carried update requests.
    pub(crate) fn had_live_updates(&self) -> bool {
        self.before_live_task.is_some()
    }

    /// The server discarded the last task (it only rejected updates, so it leaves no trace in the
    /// history): puts back the workflow clock and history info it set. Only meaningful when
    /// [`live_task_changed_nothing`] said so.
    ///
    /// [`live_task_changed_nothing`]: Self::live_task_changed_nothing
    pub(crate) fn undo_live_task(&mut self) {
        let Some(before) = self.before_live_task.take() else {
            return;
        };
        let mut state = self.shared.borrow_mut();
        state.now = before.now;
        state.replaying = before.replaying;
        state.info.history_length = before.history_length;
        state.info.history_size_bytes = before.history_size_bytes;
        state.info.continue_as_new_suggested = before.continue_as_new_suggested;
    }

    /// At the end of a replayed history: every command the code issued must be in it.
    pub(crate) fn finish_replay(&mut self) -> Result<(), ReplayError> {
        let state = self.shared.borrow();
        if let Some(c) = state.commands.iter().find(|c| !c.optional) {
            return Err(self.nondeterminism_at(
                None,
                "nothing more (the history ends here)",
                Some(c),
            ));
        }
        Ok(())
    }

    fn check_all_matched(&self, at: &HistoryEvent) -> Result<(), ReplayError> {
        let state = self.shared.borrow();
        if let Some(c) = state.commands.iter().find(|c| !c.optional) {
            let history = format!(
                "no further command before {} (event {})",
                matching::event_type_name(at),
                at.event_id
            );
            return Err(self.nondeterminism_at(Some(at), &history, Some(c)));
        }
        drop(state);
        self.shared.borrow_mut().commands.clear();
        Ok(())
    }

    fn nondeterminism_at(
        &self,
        event: Option<&HistoryEvent>,
        history: &str,
        command: Option<&crate::workflow::state::IssuedCommand>,
    ) -> ReplayError {
        let state = self.shared.borrow();
        let info = &state.info;
        let (code, location) = match command {
            Some(c) => {
                let location =
                    (!std::ptr::eq(c.location, WORKFLOW_RETURN)).then(|| c.location.to_string());
                let code = if std::ptr::eq(c.location, WORKFLOW_RETURN) {
                    format!(
                        "{} (the workflow function returned)",
                        matching::describe_command(c)
                    )
                } else {
                    matching::describe_command(c)
                };
                (code, location)
            }
            None => (
                "no command (the workflow is waiting for something else)".to_string(),
                None,
            ),
        };
        ReplayError::Nondeterminism(Box::new(NondeterminismError {
            workflow_type: info.workflow_type.clone(),
            workflow_id: info.workflow_id.clone(),
            run_id: info.run_id.clone(),
            event_id: event.map(|e| e.event_id).unwrap_or(0),
            event_type: event.map(matching::event_type_name).unwrap_or_default(),
            history: history.to_string(),
            code,
            location,
        }))
    }

    fn match_command_event(&mut self, event: &HistoryEvent) -> Result<(), ReplayError> {
        loop {
            let mut state = self.shared.borrow_mut();
            let Some(first) = state.commands.first() else {
                drop(state);
                if matching::is_skippable_event(event) {
                    return Ok(());
                }
                return Err(self.nondeterminism_at(
                    Some(event),
                    &matching::describe_event(event),
                    None,
                ));
            };
            if matching::matches(first, event) {
                let issued = state.commands.remove(0);
                drop(state);
                self.record(issued.machine, event);
                return Ok(());
            }
            if first.optional {
                state.commands.remove(0);
                continue;
            }
            drop(state);
            if matching::is_skippable_event(event) {
                return Ok(());
            }
            let state = self.shared.borrow();
            let first = state.commands.first();
            return Err(self.nondeterminism_at(
                Some(event),
                &matching::describe_event(event),
                first,
            ));
        }
    }

    /// A command's event is in history: remember the ids later events refer to.
    fn record(&mut self, machine: Option<MachineId>, event: &HistoryEvent) {
        match &event.attributes {
            Some(E::ActivityTaskScheduledEventAttributes(_)) => {
                if let Some(m) = machine {
                    self.activity_by_event.insert(event.event_id, m);
                }
            }
            Some(E::TimerStartedEventAttributes(e)) => {
                if let Some(m) = machine {
                    self.timer_by_id.insert(e.timer_id.clone(), m);
                }
            }
            Some(E::StartChildWorkflowExecutionInitiatedEventAttributes(_))
            | Some(E::SignalExternalWorkflowExecutionInitiatedEventAttributes(_))
            | Some(E::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(_)) => {
                if let Some(m) = machine {
                    self.initiated_by_event.insert(event.event_id, m);
                }
            }
            _ => {}
        }
        if let Some(m) = machine {
            let mut state = self.shared.borrow_mut();
            let machine = &mut state.machines[m];
            if machine.status == MachineStatus::Issued {
                machine.status = MachineStatus::Recorded;
            }
            if machine.event_id == 0 {
                machine.event_id = event.event_id;
            }
        }
    }

    /// Replay only: what the current task's completion recorded that the code will ask about
    /// before issuing the matching command (patches, local activity results, side effects,
    /// accepted updates).
    fn read_ahead(&mut self, rest: &[HistoryEvent]) {
        let mut state = self.shared.borrow_mut();
        state.patches_in_history.clear();
        state.recorded_local_activities.clear();
        state.recorded_side_effects.clear();
        for event in rest.iter().skip_while(|e| {
            matches!(
                e.attributes,
                Some(E::WorkflowTaskCompletedEventAttributes(_))
            )
        }) {
            match &event.attributes {
                Some(E::WorkflowTaskScheduledEventAttributes(_))
                | Some(E::WorkflowTaskStartedEventAttributes(_)) => break,
                Some(E::MarkerRecordedEventAttributes(m)) => {
                    if m.marker_name == crate::workflow::context::PATCH_MARKER {
                        if let Some(id) = matching::patch_id(&m.details) {
                            state.patches_in_history.insert(id);
                        }
                    } else if m.marker_name == crate::workflow::context::SIDE_EFFECT_MARKER {
                        if let Some(seq) = matching::marker_seq(&m.marker_name, &m.details) {
                            let data = m
                                .details
                                .get("data")
                                .map(|p| p.payloads.clone())
                                .unwrap_or_default();
                            let data = state
                                .converter
                                .decode_payloads(data.clone())
                                .unwrap_or(data);
                            state.recorded_side_effects.insert(seq, data);
                        }
                    } else if m.marker_name == ops::LOCAL_ACTIVITY_MARKER
                        && let Some(payload) =
                            m.details.get("data").and_then(|p| p.payloads.first())
                        && let Ok(data) =
                            serde_json::from_slice::<ops::LocalActivityMarkerData>(&payload.data)
                    {
                        let resolution = match &m.failure {
                            Some(f) => Resolution::Failed(Box::new(decode_failure(
                                &state.converter,
                                Some(f.clone()),
                            ))),
                            None => {
                                let result = m
                                    .details
                                    .get("result")
                                    .map(|p| p.payloads.clone())
                                    .unwrap_or_default();
                                Resolution::Completed(
                                    state
                                        .converter
                                        .decode_payloads(result.clone())
                                        .unwrap_or(result),
                                )
                            }
                        };
                        state
                            .recorded_local_activities
                            .insert(data.seq, RecordedLocalActivity { resolution });
                    }
                }
                Some(E::WorkflowExecutionUpdateAcceptedEventAttributes(a)) => {
                    let request = a.accepted_request.clone().unwrap_or_default();
                    let input = request.input.clone().unwrap_or_default();
                    let args = input.args.map(|p| p.payloads).unwrap_or_default();
                    let args = state
                        .converter
                        .decode_payloads(args.clone())
                        .unwrap_or(args);
                    self.jobs.push(Job::Update(Box::new(PendingUpdate {
                        input: UpdateInput {
                            id: request
                                .meta
                                .as_ref()
                                .map(|m| m.update_id.clone())
                                .unwrap_or_default(),
                            name: input.name,
                            args,
                        },
                        protocol_instance_id: a.protocol_instance_id.clone(),
                        request_message_id: a.accepted_request_message_id.clone(),
                        sequencing_event_id: a.accepted_request_sequencing_event_id,
                        request,
                        run_validator: false,
                    })));
                }
                _ => {}
            }
        }
    }

    fn collect_job(&mut self, event: &HistoryEvent) -> Result<(), ReplayError> {
        let converter = self.shared.borrow().converter.clone();
        let decode = |p: Option<Payloads>| -> Vec<Payload> {
            let payloads = p.map(|p| p.payloads).unwrap_or_default();
            converter
                .decode_payloads(payloads.clone())
                .unwrap_or(payloads)
        };
        let missing = |what: &str, id: i64| ReplayError::InvalidHistory {
            event_id: event.event_id,
            message: format!(
                "{} refers to {what} {id}, which no command of this run scheduled",
                matching::event_type_name(event)
            ),
        };
        let scheduled = |id: i64| {
            self.activity_by_event
                .get(&id)
                .copied()
                .ok_or_else(|| missing("scheduled event", id))
        };
        let initiated = |id: i64| {
            self.initiated_by_event
                .get(&id)
                .copied()
                .ok_or_else(|| missing("initiated event", id))
        };
        let job = match event.attributes.clone() {
            Some(E::WorkflowExecutionSignaledEventAttributes(a)) => Job::Signal {
                name: a.signal_name,
                input: decode(a.input),
            },
            Some(E::WorkflowExecutionCancelRequestedEventAttributes(a)) => {
                Job::Cancel { reason: a.cause }
            }
            Some(E::ActivityTaskCompletedEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(decode(a.result)),
                }
            }
            Some(E::ActivityTaskFailedEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                let cause = decode_failure(&converter, a.failure);
                self.activity_failed(
                    machine,
                    a.started_event_id,
                    &a.identity,
                    a.retry_state,
                    cause,
                )
            }
            Some(E::ActivityTaskTimedOutEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                let cause = decode_failure(&converter, a.failure);
                self.activity_failed(machine, a.started_event_id, "", a.retry_state, cause)
            }
            Some(E::ActivityTaskCanceledEventAttributes(a)) => {
                let machine = scheduled(a.scheduled_event_id)?;
                let cause = Failure::new(
                    "activity canceled",
                    FailureKind::Canceled {
                        details: decode(a.details),
                        identity: a.identity.clone(),
                    },
                );
                self.activity_failed(machine, a.started_event_id, &a.identity, 0, cause)
            }
            Some(E::TimerFiredEventAttributes(a)) => {
                let machine = *self.timer_by_id.get(&a.timer_id).ok_or_else(|| {
                    ReplayError::InvalidHistory {
                        event_id: event.event_id,
                        message: format!(
                            "TimerFired for timer {:?}, which no command of this run started",
                            a.timer_id
                        ),
                    }
                })?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(Vec::new()),
                }
            }
            Some(E::ChildWorkflowExecutionStartedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::ChildStarted {
                    machine,
                    run_id: a.workflow_execution.map(|e| e.run_id).unwrap_or_default(),
                }
            }
            Some(E::StartChildWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                use crate::api::temporal::api::enums::v1::StartChildWorkflowExecutionFailedCause as Cause;
                let why = match Cause::try_from(a.cause) {
                    Ok(Cause::WorkflowAlreadyExists) => "workflow execution already started",
                    Ok(Cause::NamespaceNotFound) => "namespace not found",
                    _ => "start failed",
                };
                let failure = crate::converter::ApplicationFailure::new(format!(
                    "child workflow {} could not start: {why}",
                    a.workflow_id
                ))
                .with_type("ChildWorkflowExecutionAlreadyStartedError")
                .non_retryable();
                Job::Resolve {
                    machine,
                    resolution: Resolution::Failed(Box::new(failure.into())),
                }
            }
            Some(E::ChildWorkflowExecutionCompletedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(decode(a.result)),
                }
            }
            Some(E::ChildWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = decode_failure(&converter, a.failure);
                self.child_failed(machine, a.started_event_id, a.retry_state, cause)
            }
            Some(E::ChildWorkflowExecutionCanceledEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = Failure::new(
                    "child workflow canceled",
                    FailureKind::Canceled {
                        details: decode(a.details),
                        identity: String::new(),
                    },
                );
                self.child_failed(machine, a.started_event_id, 0, cause)
            }
            Some(E::ChildWorkflowExecutionTimedOutEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = Failure::new(
                    "child workflow timed out",
                    FailureKind::Timeout {
                        timeout_type:
                            crate::api::temporal::api::enums::v1::TimeoutType::StartToClose,
                        last_heartbeat_details: Vec::new(),
                    },
                );
                self.child_failed(machine, a.started_event_id, a.retry_state, cause)
            }
            Some(E::ChildWorkflowExecutionTerminatedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let cause = Failure::new(
                    "child workflow terminated",
                    FailureKind::Terminated {
                        identity: String::new(),
                    },
                );
                self.child_failed(machine, a.started_event_id, 0, cause)
            }
            Some(E::ExternalWorkflowExecutionSignaledEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(Vec::new()),
                }
            }
            Some(E::SignalExternalWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let failure = crate::converter::ApplicationFailure::new(format!(
                    "signal to external workflow failed (cause {})",
                    a.cause
                ))
                .with_type("SignalExternalWorkflowExecutionFailed");
                Job::Resolve {
                    machine,
                    resolution: Resolution::Failed(Box::new(failure.into())),
                }
            }
            Some(E::ExternalWorkflowExecutionCancelRequestedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                Job::Resolve {
                    machine,
                    resolution: Resolution::Completed(Vec::new()),
                }
            }
            Some(E::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a)) => {
                let machine = initiated(a.initiated_event_id)?;
                let failure = crate::converter::ApplicationFailure::new(format!(
                    "cancel request to external workflow failed (cause {})",
                    a.cause
                ))
                .with_type("RequestCancelExternalWorkflowExecutionFailed");
                Job::Resolve {
                    machine,
                    resolution: Resolution::Failed(Box::new(failure.into())),
                }
            }
            // Events that need no reaction from workflow code.
            _ => return Ok(()),
        };
        self.jobs.push(job);
        Ok(())
    }

    /// An activity's failure, as the job that resolves its future.
    fn activity_failed(
        &self,
        machine: MachineId,
        started_event_id: i64,
        identity: &str,
        retry_state: i32,
        cause: Failure,
    ) -> Job {
        let failure =
            self.activity_failure(machine, started_event_id, identity, retry_state, cause);
        Job::Resolve {
            machine,
            resolution: Resolution::Failed(Box::new(failure)),
        }
    }

    /// A child workflow's failure, as the job that resolves its future.
    fn child_failed(
        &self,
        machine: MachineId,
        started_event_id: i64,
        retry_state: i32,
        cause: Failure,
    ) -> Job {
        let failure = self.child_failure(machine, started_event_id, retry_state, cause);
        Job::Resolve {
            machine,
            resolution: Resolution::Failed(Box::new(failure)),
        }
    }

    fn activity_failure(
        &self,
        machine: MachineId,
        started_event_id: i64,
        identity: &str,
        retry_state: i32,
        cause: Failure,
    ) -> Failure {
        let retry_state = RetryState::try_from(retry_state).unwrap_or_default();
        ops::activity_failure(
            &self.shared.borrow(),
            machine,
            started_event_id,
            identity,
            retry_state,
            cause,
        )
    }

    fn child_failure(
        &self,
        machine: MachineId,
        started_event_id: i64,
        retry_state: i32,
        cause: Failure,
    ) -> Failure {
        let retry_state = RetryState::try_from(retry_state).unwrap_or_default();
        ops::child_failure(
            &self.shared.borrow(),
            machine,
            started_event_id,
            retry_state,
            cause,
        )
    }

    /// Delivers a live update request (from a poll response's protocol messages).
    pub(crate) fn push_update(&mut self, update: PendingUpdate) {
        self.live_updates.push(update);
    }

    /// Runs the workflow with the jobs collected since the last activation: signals and updates
    /// first (as the official SDKs order them), then the workflow's start, then resolutions.
    fn activate(&mut self) -> Result<(), ReplayError> {
        let jobs = std::mem::take(&mut self.jobs);
        let (first, rest): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|j| matches!(j, Job::Signal { .. } | Job::Update(_)));
        for job in first {
            self.apply_job(job);
        }
        self.run_until_quiescent()?;
        if let Some(input) = self.input.take() {
            let future = (self.run_fn)(self.ctx.clone(), input);
            let outcome = self.outcome.clone();
            self.executor.spawn(async move {
                let result = future.await;
                *outcome.borrow_mut() = Some(result);
            });
        }
        for job in rest {
            self.apply_job(job);
        }
        self.run_until_quiescent()?;
        self.close_if_returned();
        Ok(())
    }

    fn apply_job(&mut self, job: Job) {
        match job {
            Job::Signal { name, input } => ops::deliver_signal(&self.shared, name, input),
            Job::Update(update) => ops::deliver_update(&self.shared, *update),
            Job::Cancel { reason } => {
                let mut state = self.shared.borrow_mut();
                state.cancel_requested = Some(reason);
                state.root_scope.cancel();
                state.wake_cancel_waiters();
            }
            Job::Resolve {
                machine,
                resolution,
            } => self.shared.borrow_mut().machines[machine].resolve(resolution),
            Job::ChildStarted { machine, run_id } => {
                let mut state = self.shared.borrow_mut();
                let m = &mut state.machines[machine];
                m.child_start = Some(Ok(run_id));
                if let Some(w) = m.start_waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// Polls until nothing can progress, re-checking `wait_condition`s after each round.
    fn run_until_quiescent(&mut self) -> Result<(), ReplayError> {
        loop {
            self.poll_tasks()?;
            let wakers = std::mem::take(&mut self.shared.borrow_mut().condition_wakers);
            if wakers.is_empty() {
                return Ok(());
            }
            let before = self.shared.borrow().conditions_satisfied;
            for w in wakers {
                w.wake();
            }
            self.poll_tasks()?;
            if self.shared.borrow().conditions_satisfied == before {
                return Ok(());
            }
        }
    }

    fn poll_tasks(&mut self) -> Result<(), ReplayError> {
        let shared = &self.shared;
        let executor = &mut self.executor;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            executor.run_until_stalled(&|| shared.borrow_mut().spawn_queue.drain(..).collect())
        }));
        result.map(|_| ()).map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "workflow code panicked".into());
            let info = self.info();
            ReplayError::WorkflowTaskFailed {
                workflow_type: info.workflow_type,
                workflow_id: info.workflow_id,
                message,
            }
        })
    }

    /// Once the workflow function returned: the closing command.
    fn close_if_returned(&mut self) {
        let Some(outcome) = self.outcome.borrow_mut().take() else {
            return;
        };
        let mut state = self.shared.borrow_mut();
        if state.closed {
            return;
        }
        state.closed = true;
        let command = match outcome {
            Ok(result) => match state.converter.encode_payloads(result) {
                Ok(payloads) => complete_command(payloads),
                Err(e) => fail_command(&state.converter, crate::workflow::conversion_failure(&e)),
            },
            Err(WorkflowError::ContinueAsNew(request)) => {
                let o = request.options;
                let input = state
                    .converter
                    .encode_payloads(request.args)
                    .unwrap_or_default();
                let attrs = cmd::ContinueAsNewWorkflowExecutionCommandAttributes {
                    workflow_type: Some(WorkflowType {
                        name: o
                            .workflow_type
                            .unwrap_or_else(|| state.info.workflow_type.clone()),
                    }),
                    task_queue: Some(TaskQueue {
                        name: o
                            .task_queue
                            .unwrap_or_else(|| state.info.task_queue.clone()),
                        kind: TaskQueueKind::Normal as i32,
                        ..Default::default()
                    }),
                    input: (!input.is_empty()).then_some(Payloads { payloads: input }),
                    workflow_run_timeout: o.run_timeout.map(Into::into),
                    workflow_task_timeout: o.task_timeout.map(Into::into),
                    header: Some(Header::default()),
                    memo: o.memo.map(|fields| Memo { fields }),
                    search_attributes: o
                        .search_attributes
                        .map(|indexed_fields| SearchAttributes { indexed_fields }),
                    ..Default::default()
                };
                Command {
                    command_type: CommandType::ContinueAsNewWorkflowExecution as i32,
                    attributes: Some(C::ContinueAsNewWorkflowExecutionCommandAttributes(attrs)),
                    ..Default::default()
                }
            }
            Err(e) if e.is_cancellation() && state.cancel_requested.is_some() => cancel_command(),
            Err(WorkflowError::Canceled) => cancel_command(),
            Err(WorkflowError::Failed(failure)) => fail_command(&state.converter, *failure),
        };
        state.push_command(command, None, WORKFLOW_RETURN);
    }

    /// The commands and messages of the current (new) task, to send. The commands stay issued:
    /// the server records them as the events that open the next task's history, where they are
    /// matched as in a replay.
    pub(crate) fn take_activation(&mut self) -> Activation {
        let mut state = self.shared.borrow_mut();
        let mut activation = Activation::default();
        for c in &state.commands {
            if let Some(m) = &c.message {
                activation.messages.push(m.clone());
            }
            activation.commands.push(c.command.clone());
        }
        let rejections: Vec<ProtocolMessage> = state.outgoing_messages.drain(..).collect();
        activation.messages.extend(rejections);
        activation
    }

    /// Resolves a local activity the worker ran, putting its marker in the place the code
    /// scheduled it, and lets the workflow continue.
    pub(crate) fn resolve_local_activity(
        &mut self,
        machine: MachineId,
        resolution: Resolution,
        attempt: u32,
    ) -> Result<(), ReplayError> {
        {
            let mut state = self.shared.borrow_mut();
            let Some(request) = state
                .local_activity_requests
                .iter()
                .position(|r| r.machine == machine)
            else {
                return Ok(());
            };
            let request = state.local_activity_requests.remove(request);
            let marker = ops::local_activity_marker(
                &state,
                request.seq,
                &request.options.activity_id_or(request.seq),
                &request.activity_type,
                attempt,
                &resolution,
            );
            if let Some(issued) = state
                .commands
                .iter_mut()
                .find(|c| c.machine == Some(machine))
            {
                issued.command = marker;
            }
            state.machines[machine].status = MachineStatus::Recorded;
            state.machines[machine].resolve(resolution);
        }
        self.run_until_quiescent()?;
        self.close_if_returned();
        Ok(())
    }

    /// Answers a query from the workflow's state. Whatever the handler does to the run's
    /// bookkeeping (sequence numbers, randomness, started operations) is undone, so a query can
    /// never change what the workflow does next; starting an operation is reported as an error.
    pub(crate) fn query(
        &mut self,
        name: &str,
        args: Vec<Payload>,
    ) -> Result<Vec<Payload>, Failure> {
        let (handler, default) = {
            let state = self.shared.borrow();
            (
                state.query_handlers.get(name).cloned(),
                state.default_query_handler.clone(),
            )
        };
        let (seq, rng, machines, commands, side_effects) = {
            let state = self.shared.borrow();
            (
                state.seq.clone(),
                state.rng.clone(),
                state.machines.len(),
                state.commands.len(),
                state.side_effect_seq,
            )
        };
        let result = match (handler, default) {
            (Some(h), _) => h(args),
            (None, Some(d)) => d(name.to_string(), args),
            (None, None) => Err(crate::converter::ApplicationFailure::new(format!(
                "no query handler for {name:?}"
            ))
            .with_type("QueryNotFound")
            .into()),
        };
        let mut state = self.shared.borrow_mut();
        let started_operations = state.machines.len() != machines
            || state.commands.len() != commands
            || state.side_effect_seq != side_effects;
        state.seq = seq;
        state.rng = rng;
        state.machines.truncate(machines);
        state.commands.truncate(commands);
        state.side_effect_seq = side_effects;
        if started_operations {
            return Err(crate::converter::ApplicationFailure::new(
                "a query handler must not start operations",
            )
            .with_type("QueryFailed")
            .into());
        }
        result
    }

    /// Local activities the worker must run before the current task can complete.
    pub(crate) fn pending_local_activities(
        &self,
    ) -> Vec<crate::workflow::state::LocalActivityRequest> {
        self.shared.borrow().local_activity_requests.clone()
    }

    /// Whether the workflow issued its closing command.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.borrow().closed
    }
}

fn complete_command(payloads: Vec<Payload>) -> Command {
    Command {
        command_type: CommandType::CompleteWorkflowExecution as i32,
        attributes: Some(C::CompleteWorkflowExecutionCommandAttributes(
            cmd::CompleteWorkflowExecutionCommandAttributes {
                result: (!payloads.is_empty()).then_some(Payloads { payloads }),
            },
        )),
        ..Default::default()
    }
}

fn fail_command(converter: &DataConverter, failure: Failure) -> Command {
    let mut proto = failure.to_proto();
    let _ = converter.encode_failure(&mut proto);
    Command {
        command_type: CommandType::FailWorkflowExecution as i32,
        attributes: Some(C::FailWorkflowExecutionCommandAttributes(
            cmd::FailWorkflowExecutionCommandAttributes {
                failure: Some(proto),
            },
        )),
        ..Default::default()
    }
}

fn cancel_command() -> Command {
    Command {
        command_type: CommandType::CancelWorkflowExecution as i32,
        attributes: Some(C::CancelWorkflowExecutionCommandAttributes(
            cmd::CancelWorkflowExecutionCommandAttributes { details: None },
        )),
        ..Default::default()
    }
}

fn decode_failure(converter: &DataConverter, failure: Option<ProtoFailure>) -> Failure {
    let mut proto = failure.unwrap_or_default();
    let _ = converter.decode_failure(&mut proto);
    Failure::from_proto(proto)
}
