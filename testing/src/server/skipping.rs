//! Time skipping: a server's virtual clock jumps to the next timer whenever no work is in
//! flight, unless skipping is locked.

use super::history::InFlight;
use super::timers::Timers;
use crate::clock::{Clock as _, VirtualClock};
use crate::store::{RunKey, TimerKind};
use std::collections::{BTreeMap, HashMap};
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
    /// Times a client sleeps until (`TestService.Sleep`), with how many sleep there: skipping
    /// stops there too, and time stays there until the sleepers have seen it.
    skip_points: Arc<Mutex<BTreeMap<SystemTime, usize>>>,
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

/// Returned by [`TimeSkipping::add_skip_point`]: the point lasts until this is dropped.
#[derive(Debug)]
#[must_use = "the skip point lasts only while the guard lives"]
pub(crate) struct SkipPoint {
    skipping: TimeSkipping,
    at: SystemTime,
}

impl Drop for SkipPoint {
    fn drop(&mut self) {
        let mut points = self
            .skipping
            .skip_points
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = points.get_mut(&self.at) {
            *n -= 1;
            if *n == 0 {
                points.remove(&self.at);
            }
        }
        drop(points);
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

    /// A time skipping may jump to even with no timer due then; while the returned guard lives,
    /// the clock does not run past it on its own (the sleeper sees exactly that time).
    pub(crate) fn add_skip_point(&self, at: SystemTime) -> SkipPoint {
        *self
            .skip_points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(at)
            .or_default() += 1;
        self.changed.notify_one();
        SkipPoint {
            skipping: self.clone(),
            at,
        }
    }

    /// Whether a sleeper's point is at or before `now`: it has not seen its time yet, so time
    /// must not jump on.
    fn point_reached(&self, now: SystemTime) -> bool {
        let points = self.skip_points.lock().unwrap_or_else(|e| e.into_inner());
        points.range(..=now).next().is_some()
    }

    /// The earliest skip point at or after `from`.
    fn next_skip_point(&self, from: SystemTime) -> Option<SystemTime> {
        let points = self.skip_points.lock().unwrap_or_else(|e| e.into_inner());
        points.range(from..).next().map(|(at, _)| *at)
    }

    /// Moves the clock by exactly `by`, skipping through the timers that fall due on the way
    /// (each fires at its time, and the work it causes is done before time moves on), then
    /// locks it again. Completes early if the server stops.
    pub async fn sleep(&self, by: Duration) {
        let deadline = self.clock.now() + by;
        // Dropped in reverse order: skipping is locked again before the point goes, so the
        // clock cannot run on past the deadline in between.
        let _point = self.add_skip_point(deadline);
        let _unlocked = self.unlocked();
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
    is_live: impl Fn(&RunKey, &TimerKind) -> bool,
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
        let idle = skipping.idle(&in_flight);
        let now = skipping.clock.now();
        // Real pace while work runs (a real activity's timeouts need it) or while locked and
        // not frozen; never past a point a client sleeps until, nor on while a timer due now
        // has not fired (its events carry its own time). Unlocked with nothing in flight,
        // time either jumps (below) or stands still.
        let paced = if locked { !skipping.frozen } else { !idle };
        if paced && !timers.due_unfired(now) {
            let mut to = now + (real - last);
            if let Some(point) = skipping.next_skip_point(now) {
                to = to.min(point);
            }
            skipping.clock.set(to);
        }
        last = real;
        if locked || !idle {
            continue;
        }
        let now = skipping.clock.now();
        if timers.due_unfired(now) || skipping.point_reached(now) {
            // Due timers not fired yet, or a sleeper not woken yet: what they cause must happen
            // before time moves on.
            continue;
        }
        // Again, after the timer check: a timer that fired since `idle` was read may have
        // started work (a schedule's workflow), which must finish before time jumps.
        if !skipping.idle(&in_flight) {
            continue;
        }
        let next = [
            timers.next_workflow_fire_time(&is_live),
            skipping.next_skip_point(now + Duration::from_nanos(1)),
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
