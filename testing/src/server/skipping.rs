//! Time skipping: a server's virtual clock jumps to the next timer whenever no work is in
//! flight, unless skipping is locked.

use super::history::InFlight;
use super::timers::Timers;
use crate::clock::{Clock as _, VirtualClock};
use crate::store::RunKey;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, watch};

pub(crate) use super::history::Attempt;

/// Control of a time-skipping server's clock.
#[derive(Debug, Clone)]
pub struct TimeSkipping {
    clock: Arc<VirtualClock>,
    locks: Arc<AtomicI64>,
    /// Whether the clock stands still while locked (else it follows real time).
    frozen: bool,
    /// Times a client sleeps until (`TestService.Sleep`): skipping stops there too.
    skip_points: Arc<Mutex<BTreeSet<SystemTime>>>,
    /// Activity attempts (run, activity id, attempt) whose worker said they wait on this
    /// clock: they do not hold time.
    parked: Arc<Mutex<HashMap<Attempt, usize>>>,
    /// Wakes the skipper when locks, skip points or parked activities change.
    changed: Arc<Notify>,
}

/// Returned by [`TimeSkipping::park`]: the activity counts as waiting on the virtual clock until
/// this is dropped.
#[derive(Debug)]
#[must_use = "the activity is parked only while the guard lives"]
pub struct ParkGuard {
    skipping: TimeSkipping,
    attempt: Attempt,
}

impl Drop for ParkGuard {
    fn drop(&mut self) {
        let mut parked = self
            .skipping
            .parked
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = parked.get_mut(&self.attempt) {
            *n -= 1;
            if *n == 0 {
                parked.remove(&self.attempt);
            }
        }
        drop(parked);
        self.skipping.changed.notify_one();
    }
}

/// Returned by [`TimeSkipping::unlocked`]: skipping stays unlocked (by one level) until this is
/// dropped.
#[derive(Debug)]
pub(crate) struct UnlockGuard(TimeSkipping);

impl Drop for UnlockGuard {
    fn drop(&mut self) {
        self.0.lock();
    }
}

impl TimeSkipping {
    pub(crate) fn new(clock: Arc<VirtualClock>, locked: bool, frozen: bool) -> Self {
        TimeSkipping {
            clock,
            locks: Arc::new(AtomicI64::new(i64::from(locked))),
            frozen,
            skip_points: Arc::default(),
            parked: Arc::default(),
            changed: Arc::default(),
        }
    }

    /// The server's virtual clock (read it, or move it by hand with `advance`).
    pub fn clock(&self) -> &Arc<VirtualClock> {
        &self.clock
    }

    /// Stops automatic skipping until a matching [`TimeSkipping::unlock`] (locks nest).
    pub fn lock(&self) {
        self.locks.fetch_add(1, SeqCst);
        self.changed.notify_one();
    }

    /// Undoes one [`TimeSkipping::lock`].
    pub fn unlock(&self) {
        self.locks.fetch_sub(1, SeqCst);
        self.changed.notify_one();
    }

    /// Unlocks skipping (by one level) until the guard is dropped.
    pub(crate) fn unlocked(&self) -> UnlockGuard {
        self.unlock();
        UnlockGuard(self.clone())
    }

    /// Undoes one lock if there is one; false (and nothing changes) when skipping is unlocked.
    pub(crate) fn try_unlock(&self) -> bool {
        let done = self
            .locks
            .fetch_update(SeqCst, SeqCst, |n| (n > 0).then(|| n - 1))
            .is_ok();
        self.changed.notify_one();
        done
    }

    fn is_locked(&self) -> bool {
        self.locks.load(SeqCst) > 0
    }

    /// A time skipping may jump to even with no timer due then.
    pub(crate) fn add_skip_point(&self, at: SystemTime) {
        self.skip_points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(at);
        self.changed.notify_one();
    }

    /// The earliest skip point still ahead of `now` (passed ones are forgotten).
    fn next_skip_point(&self, now: SystemTime) -> Option<SystemTime> {
        let mut points = self.skip_points.lock().unwrap_or_else(|e| e.into_inner());
        while points.first().is_some_and(|p| *p <= now) {
            points.pop_first();
        }
        points.first().copied()
    }

    /// Moves the clock by exactly `by`, skipping through the timers that fall due on the way
    /// (each fires at its time, and the work it causes is done before time moves on), then
    /// locks it again. Completes early if the server stops.
    pub async fn sleep(&self, by: Duration) {
        let deadline = self.clock.now() + by;
        let _unlocked = self.unlocked();
        self.add_skip_point(deadline);
        self.clock.sleep_until(deadline).await;
    }

    /// Marks attempt `attempt` of activity `activity_id` of `run` as waiting on the virtual
    /// clock (a test's mock that takes virtual time): while every started activity attempt of
    /// a run is parked, that run does not stop time skipping. Lasts until the guard is dropped.
    pub fn park(&self, run: RunKey, activity_id: &str, attempt: u32) -> ParkGuard {
        let key = (run, activity_id.to_string(), attempt);
        *self
            .parked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default() += 1;
        self.changed.notify_one();
        ParkGuard {
            skipping: self.clone(),
            attempt: key,
        }
    }

    fn idle(&self, in_flight: &InFlight) -> bool {
        if in_flight.idle() {
            return true;
        }
        let parked = self.parked.lock().unwrap_or_else(|e| e.into_inner());
        !parked.is_empty() && in_flight.idle_but(&parked)
    }
}

/// The skipper of one server: moves the clock with real time between jumps (unless it is
/// frozen while locked), and jumps to the next timer or skip point when nothing is in flight.
pub(crate) async fn run_skipper(
    skipping: TimeSkipping,
    in_flight: Arc<InFlight>,
    timers: Arc<Timers>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = in_flight.changed.notified() => {}
            _ = skipping.changed.notified() => {}
            _ = timers.fired.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let real = tokio::time::Instant::now();
        let locked = skipping.is_locked();
        if !(skipping.frozen && locked) {
            // Real pace, but never past a point a client sleeps until.
            let now = skipping.clock.now();
            let mut to = now + (real - last);
            if let Some(point) = skipping.next_skip_point(now) {
                to = to.min(point);
            }
            skipping.clock.set(to);
        }
        last = real;
        if locked || !skipping.idle(&in_flight) {
            continue;
        }
        let now = skipping.clock.now();
        if timers.next_fire_time().is_some_and(|t| t <= now) {
            // Due timers not fired yet: what they cause must happen before time moves on.
            continue;
        }
        let next = [
            timers.next_workflow_fire_time(),
            skipping.next_skip_point(now),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(next) = next
            && next > now
        {
            skipping.clock.set(next);
        }
    }
}
