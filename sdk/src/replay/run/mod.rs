//! One workflow run driven by history: walks events, matches recorded commands against the
//! commands the code issues, resolves operations, and activates the workflow at each workflow
//! task. The same code serves replay (all tasks in history) and a live worker (the last task is
//! new: its commands are returned to be sent).
//!
//! This file is the run's face to the worker and the replayer: creating it, feeding it events
//! (`apply_events`), taking a new task's commands, resolving local activities, answering
//! queries. The steps of the walk have a file each: `command_events` (a recorded command's event
//! against the command the code issued), `read_ahead` (what a task's completion recorded that
//! the code asks about before issuing the command: markers, accepted updates), `jobs` (the other
//! events, as work for the workflow), `activation` (running the workflow with that work, and its
//! closing command), `live_task` (undoing a new task that only rejected updates).

mod activation;
mod builtin_queries;
mod command_events;
mod intercept;
mod jobs;
mod live_task;
pub(crate) use intercept::NO_HEADERS;
pub(crate) mod read_ahead;

use super::error::ReplayError;
use super::matching;
use crate::api::temporal::api::command::v1::Command;
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use crate::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use crate::converter::{DataConverter, Failure};
use crate::workflow::executor::Executor;
use crate::workflow::registry::RunFn;
use crate::workflow::state::{MachineId, MachineStatus, Resolution, RunState, Shared};
use crate::workflow::{
    PendingUpdate, WorkflowContext, WorkflowError, WorkflowInfo, operations as ops,
};
use jobs::Job;
use live_task::BeforeLiveTask;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::Location;
use std::rc::Rc;

/// What the workflow function returned.
type RunOutcome = Result<Vec<Payload>, WorkflowError>;

/// What the last (new) workflow task produced, to send to the server.
#[derive(Debug, Default)]
pub(crate) struct Activation {
    pub(crate) commands: Vec<Command>,
    pub(crate) messages: Vec<ProtocolMessage>,
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

/// The location recorded for the closing command: it comes from the workflow function's return,
/// not from a line of workflow code, and nondeterminism errors say so.
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
                    self.before_live_task = (last && !self.live_updates.is_empty())
                        .then(|| self.state_before_live_task());
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

    /// Delivers a live update request (from a poll response's protocol messages).
    pub(crate) fn push_update(&mut self, update: PendingUpdate) {
        self.live_updates.push(update);
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
        if let Some(answer) = builtin_queries::answer(&self.shared.borrow(), name) {
            return answer;
        }
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
