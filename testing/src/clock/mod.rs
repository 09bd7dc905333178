//! Time for the server: a real clock, or a virtual one that only moves when told to.
//!
//! Every server instance owns its clock, so many servers in one test process never share time.
//! Timers (user timers, activity and workflow-task timeouts, retry backoff) are driven by
//! [`Clock::sleep_until`], so a virtual clock makes a 30-day timer fire as soon as the clock is
//! moved past it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// A boxed future that completes when a clock reaches a time.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The source of time of one server.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Completes once [`Clock::now`] is at or past `deadline`.
    fn sleep_until(&self, deadline: SystemTime) -> Sleep<'_>;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: SystemTime) -> Sleep<'_> {
        Box::pin(async move {
            // Re-check after each sleep: the wall clock may be adjusted while we sleep.
            loop {
                let now = SystemTime::now();
                match deadline.duration_since(now) {
                    Ok(d) if !d.is_zero() => tokio::time::sleep(d).await,
                    _ => return,
                }
            }
        })
    }
}

/// A clock that stands still until [`VirtualClock::advance`] or [`VirtualClock::set`] moves it.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<SystemTime>,
    changed: watch::Sender<SystemTime>,
}

impl VirtualClock {
    /// A virtual clock starting at `start`.
    pub fn new(start: SystemTime) -> Self {
        VirtualClock {
            now: Mutex::new(start),
            changed: watch::Sender::new(start),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
        self.changed.send_replace(*now);
    }

    /// Moves the clock to `to` if that is later than its current time (time never goes back).
    pub fn set(&self, to: SystemTime) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if to > *now {
            *now = to;
            self.changed.send_replace(to);
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, deadline: SystemTime) -> Sleep<'_> {
        let mut rx = self.changed.subscribe();
        Box::pin(async move {
            // `wait_for` checks the current value first, then every change.
            let _ = rx.wait_for(|now| *now >= deadline).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_clock_wakes_sleepers_only_when_moved() {
        let clock = std::sync::Arc::new(VirtualClock::new(SystemTime::UNIX_EPOCH));
        let target = SystemTime::UNIX_EPOCH + Duration::from_secs(30 * 86_400);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(target).await })
        };
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(86_400));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.set(target);
        sleeper.await.expect("sleeper");
        assert_eq!(clock.now(), target);
    }
}
