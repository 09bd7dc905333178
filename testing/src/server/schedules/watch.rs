//! Which schedule started which running workflow, and the engine's close hook: when one of them
//! closes, its schedule is woken (a buffered start may begin) before time skipping may move on.

use crate::server::history::InFlight;
use crate::store::RunKey;
use std::collections::HashMap;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// The running workflows of all schedules.
pub(super) struct Watch {
    /// (namespace, workflow id) → schedule id.
    tracked: Mutex<HashMap<(String, String), String>>,
    /// Wakes a schedule: (namespace, schedule id).
    wake: UnboundedSender<(String, String)>,
    in_flight: Arc<InFlight>,
}

impl Watch {
    pub(super) fn new(wake: UnboundedSender<(String, String)>, in_flight: Arc<InFlight>) -> Self {
        Watch {
            tracked: Mutex::default(),
            wake,
            in_flight,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        self.tracked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `schedule_id` started `workflow_id` and counts it as running.
    pub(super) fn track(&self, namespace: &str, workflow_id: &str, schedule_id: &str) {
        self.lock().insert(
            (namespace.to_string(), workflow_id.to_string()),
            schedule_id.to_string(),
        );
    }

    /// The workflow no longer counts as running.
    pub(super) fn untrack(&self, namespace: &str, workflow_id: &str) {
        self.lock()
            .remove(&(namespace.to_string(), workflow_id.to_string()));
    }

    /// The engine's hook (called under the run's shard lock): a tracked run closed. The wake-up
    /// counts as work in flight until the schedule has handled it.
    pub(super) fn closed(&self, run: &RunKey) {
        let schedule = self
            .lock()
            .get(&(run.namespace.clone(), run.workflow_id.clone()))
            .cloned();
        if let Some(schedule_id) = schedule {
            self.in_flight.pending_transfers.fetch_add(1, SeqCst);
            if self
                .wake
                .send((run.namespace.clone(), schedule_id))
                .is_err()
            {
                self.in_flight.pending_transfers.fetch_sub(1, SeqCst);
            }
        }
    }
}
