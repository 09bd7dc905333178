//! Matching: each command event in the history (activity scheduled, timer started, marker…)
//! against the next command the workflow code issued; a mismatch is a nondeterminism error.

use super::{WORKFLOW_RETURN, WorkflowRun};
use crate::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use crate::replay::error::{NondeterminismError, ReplayError};
use crate::replay::matching;
use crate::workflow::state::{IssuedCommand, MachineId, MachineStatus};

impl WorkflowRun {
    /// At a new workflow task: every command the code issued before it must have had its event.
    pub(super) fn check_all_matched(&self, at: &HistoryEvent) -> Result<(), ReplayError> {
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

    pub(super) fn nondeterminism_at(
        &self,
        event: Option<&HistoryEvent>,
        history: &str,
        command: Option<&IssuedCommand>,
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

    /// A command event of the history: it must match the next command the code issued.
    pub(super) fn match_command_event(&mut self, event: &HistoryEvent) -> Result<(), ReplayError> {
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
}
