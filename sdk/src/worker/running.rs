//! The activity attempts a worker is running, so that a shutdown past its grace period can
//! cancel them (as the official SDKs do) and report them as failed for a retry elsewhere.

use crate::activity::ActivityContext;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub(crate) struct RunningActivities {
    attempts: Arc<Mutex<(u64, HashMap<u64, ActivityContext>)>>,
    shutting_down: Arc<AtomicBool>,
}

/// Keeps an attempt registered until dropped.
pub(crate) struct Registered {
    owner: RunningActivities,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut attempts = self
            .owner
            .attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        attempts.1.remove(&self.id);
    }
}

impl RunningActivities {
    /// Registers a running attempt.
    pub(crate) fn register(&self, ctx: &ActivityContext) -> Registered {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        attempts.0 += 1;
        let id = attempts.0;
        attempts.1.insert(id, ctx.clone());
        Registered {
            owner: self.clone(),
            id,
        }
    }

    /// Cancels every running attempt because the worker shuts down; returns how many.
    pub(crate) fn cancel_all(&self) -> usize {
        self.shutting_down.store(true, Ordering::Release);
        let attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        for ctx in attempts.1.values() {
            ctx.cancel();
        }
        attempts.1.len()
    }

    /// Whether running attempts were canceled by the worker's shutdown.
    pub(crate) fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}
