//! Picking up after a restart on a durable store: every run's last committed state goes back
//! into the shard caches, the timer and transfer tasks not yet done are re-armed, and the
//! workflow and activity tasks that the states say are waiting for a poller are queued again.

use super::{Engine, snapshot};
use crate::store::{StoreError, TaskRecord};

/// What a server found in its store when it started (all zero on a fresh or memory store).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Runs loaded (open and closed).
    pub runs: usize,
    /// Of which open.
    pub open: usize,
    /// Workflow and activity tasks queued again.
    pub tasks: usize,
    /// Timer tasks re-armed.
    pub timers: usize,
    /// Transfer tasks to carry out.
    pub transfers: usize,
}

impl Engine {
    /// Loads what a durable store kept; does nothing for a non-durable one.
    pub(crate) fn recover(&self) -> Result<Recovery, StoreError> {
        let mut stats = Recovery::default();
        if !self.durable {
            return Ok(stats);
        }
        let recovered = self.store.recover()?;
        let now = self.clock.now();
        for run in recovered.runs {
            let key = run.key;
            let mut ms = snapshot::decode(key.clone(), run.version, &run.state, now)?;
            let mut shard = self.lock(&key.namespace, &key.workflow_id);
            if run.current {
                shard.current.insert(
                    (key.namespace.clone(), key.workflow_id.clone()),
                    key.run_id.clone(),
                );
            }
            stats.runs += 1;
            if ms.is_open() {
                stats.open += 1;
                // A task a poller took is recorded as started and is not queued again: if that
                // poller never answers, its timeout (a stored timer) reschedules it.
                if let Some(task) = ms.wft.as_ref().filter(|t| t.started.is_none()) {
                    let task_queue = match (&ms.sticky, task.sticky) {
                        (Some(sticky), true) => sticky.queue.clone(),
                        _ => ms.task_queue.clone(),
                    };
                    let record = TaskRecord::Workflow {
                        task_queue,
                        scheduled_event_id: task.scheduled_event_id,
                    };
                    self.dispatch(&key, record, &ms.task_queue);
                    stats.tasks += 1;
                }
                // Attempts still in their retry backoff come back through their timer.
                for a in ms.activities.values() {
                    if a.started.is_none() && a.attempt_scheduled_time <= now {
                        let record = TaskRecord::Activity {
                            task_queue: a.task_queue.clone(),
                            scheduled_event_id: a.scheduled_event_id,
                            attempt: a.attempt,
                        };
                        self.dispatch(&key, record, &ms.task_queue);
                        stats.tasks += 1;
                    }
                }
            }
            self.update_busy(&mut ms);
            shard.runs.insert(key, ms);
        }
        for (run, fire_at, kind) in recovered.timers {
            self.dispatch(&run, TaskRecord::Timer { fire_at, kind }, "");
            stats.timers += 1;
        }
        for (run, kind) in recovered.transfers {
            self.dispatch(&run, TaskRecord::Transfer { kind }, "");
            stats.transfers += 1;
        }
        Ok(stats)
    }
}
