//! A new workflow task that carried update requests, and whose activation only rejected them,
//! leaves no trace in the history when the server discards it: the run notes what the workflow
//! looked like before, checks that nothing changed, and puts back what the activation set.

use super::WorkflowRun;
use crate::workflow::state::MachineStatus;

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
pub(super) struct BeforeLiveTask {
    footprint: Footprint,
    now: std::time::SystemTime,
    replaying: bool,
    history_length: i64,
    history_size_bytes: i64,
    continue_as_new_suggested: bool,
}

impl WorkflowRun {
    /// The run as it is before activating a new task that carried update requests.
    pub(super) fn state_before_live_task(&self) -> BeforeLiveTask {
        let state = self.shared.borrow();
        BeforeLiveTask {
            footprint: self.footprint(),
            now: state.now,
            replaying: state.replaying,
            history_length: state.info.history_length,
            history_size_bytes: state.info.history_size_bytes,
            continue_as_new_suggested: state.info.continue_as_new_suggested,
        }
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
}
