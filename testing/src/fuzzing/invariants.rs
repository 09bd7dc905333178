//! What must hold in the store after any program of calls.

use crate::store::{MemoryStore, RunKey, Store};
use reprise::api::temporal::api::enums::v1::{EventType, WorkflowExecutionStatus};
use std::sync::Arc;

/// The store's invariants after a program: every run's history starts with
/// `WorkflowExecutionStarted`, its event ids are 1, 2, 3… without a gap, its visibility row
/// counts exactly its events, and a run is closed in visibility exactly when its last event
/// closes it.
pub(super) fn check(store: &Arc<MemoryStore>) -> Result<(), String> {
    for namespace in ["default", "other", "fresh"] {
        let rows = store
            .visibility_records(namespace)
            .map_err(|e| e.to_string())?;
        for row in rows {
            let execution = row.execution.clone().unwrap_or_default();
            let run = RunKey {
                namespace: namespace.to_string(),
                workflow_id: execution.workflow_id.clone(),
                run_id: execution.run_id.clone(),
            };
            let events = store
                .read_events(&run, 1, usize::MAX)
                .map_err(|e| e.to_string())?;
            let Some(first) = events.first() else {
                return Err(format!("{run:?}: a visibility row without events"));
            };
            if first.event_type() != EventType::WorkflowExecutionStarted {
                return Err(format!(
                    "{run:?}: the first event is {:?}",
                    first.event_type()
                ));
            }
            for (i, e) in events.iter().enumerate() {
                if e.event_id != i as i64 + 1 {
                    return Err(format!("{run:?}: event {} has id {}", i + 1, e.event_id));
                }
            }
            // Visibility counts the events of a closed run (an open run's row lags, as the
            // official server's does).
            let open = row.status == WorkflowExecutionStatus::Running as i32;
            if !open && row.history_length != events.len() as i64 {
                return Err(format!(
                    "{run:?}: visibility counts {} events, the history has {}",
                    row.history_length,
                    events.len()
                ));
            }
            let last = events.last().map(|e| e.event_type());
            let closes = matches!(
                last,
                Some(
                    EventType::WorkflowExecutionCompleted
                        | EventType::WorkflowExecutionFailed
                        | EventType::WorkflowExecutionCanceled
                        | EventType::WorkflowExecutionTerminated
                        | EventType::WorkflowExecutionTimedOut
                        | EventType::WorkflowExecutionContinuedAsNew
                )
            );
            if open == closes {
                return Err(format!(
                    "{run:?}: visibility status {:?} but the last event is {last:?}",
                    row.status()
                ));
            }
        }
    }
    Ok(())
}
