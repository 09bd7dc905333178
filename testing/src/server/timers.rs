//! The timer queue: user timers, timeouts and retry backoffs, fired by the server's clock.

use crate::clock::Clock;
use crate::store::{RunKey, TimerKind};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::{Notify, watch};

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    fire_at: SystemTime,
    seq: u64,
    run: RunKey,
    kind: TimerKind,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.fire_at, self.seq).cmp(&(other.fire_at, other.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Pending timers of one server, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: Mutex<(u64, BinaryHeap<Reverse<Entry>>)>,
    changed: Notify,
    /// Notified after each batch of due timers has been fired (time skipping waits for it
    /// before it jumps again).
    pub(crate) fired: Notify,
    /// Timers taken off the queue and not fired yet.
    firing: std::sync::atomic::AtomicUsize,
}

impl Timers {
    /// Schedules `kind` for `run` at `fire_at`.
    pub(crate) fn add(&self, run: RunKey, fire_at: SystemTime, kind: TimerKind) {
        let mut guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        guard.0 += 1;
        let seq = guard.0;
        let earliest = guard.1.peek().map(|Reverse(e)| e.fire_at);
        guard.1.push(Reverse(Entry {
            fire_at,
            seq,
            run,
            kind,
        }));
        drop(guard);
        if earliest.is_none_or(|e| fire_at < e) {
            self.changed.notify_one();
        }
    }

    /// The earliest pending fire time.
    pub(crate) fn next_fire_time(&self) -> Option<SystemTime> {
        let guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.peek().map(|Reverse(e)| e.fire_at)
    }

    /// The earliest fire time of a timer that workflows wait for (retention deletions and
    /// timers `is_live` calls stale excluded): where time skipping may jump. `is_live` is called
    /// without the queue's lock held (it may take a run's lock, under which timers are added).
    pub(crate) fn next_workflow_fire_time(
        &self,
        is_live: impl Fn(&RunKey, &TimerKind) -> bool,
    ) -> Option<SystemTime> {
        let mut pending: Vec<(SystemTime, u64, RunKey, TimerKind)> = {
            let guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
            guard
                .1
                .iter()
                .filter(|Reverse(e)| e.kind != TimerKind::Retention)
                .map(|Reverse(e)| (e.fire_at, e.seq, e.run.clone(), e.kind.clone()))
                .collect()
        };
        pending.sort_unstable_by_key(|(at, seq, ..)| (*at, *seq));
        pending
            .into_iter()
            .find(|(_, _, run, kind)| is_live(run, kind))
            .map(|(at, ..)| at)
    }

    /// Whether a timer is due at `now` and not fired yet (time skipping holds the clock
    /// still until it is, so the timer's events carry its own time).
    pub(crate) fn due_unfired(&self, now: SystemTime) -> bool {
        let guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        self.firing.load(SeqCst) > 0 || guard.1.peek().is_some_and(|Reverse(e)| e.fire_at <= now)
    }

    /// Takes the due timers off the queue; they count as firing until [`Timers::fired_all`].
    fn pop_due(&self, now: SystemTime) -> Vec<(RunKey, SystemTime, TimerKind)> {
        let mut guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        let mut due = Vec::new();
        while guard.1.peek().is_some_and(|Reverse(e)| e.fire_at <= now) {
            if let Some(Reverse(e)) = guard.1.pop() {
                due.push((e.run, e.fire_at, e.kind));
            }
        }
        self.firing.fetch_add(due.len(), SeqCst);
        due
    }

    /// Fires due timers through `fire` until shutdown.
    pub(crate) async fn run(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        mut shutdown: watch::Receiver<bool>,
        fire: impl Fn(RunKey, SystemTime, TimerKind) + Send + Sync,
    ) {
        loop {
            let due = self.pop_due(clock.now());
            let count = due.len();
            for (run, fire_at, kind) in due {
                fire(run, fire_at, kind);
            }
            if count > 0 {
                self.firing.fetch_sub(count, SeqCst);
                self.fired.notify_one();
            }
            let next = self.next_fire_time();
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = async {
                    match next {
                        Some(t) => clock.sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                } => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}
