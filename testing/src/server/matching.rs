//! Matching: task queues and long polls.
//!
//! A queue holds tasks waiting for a poller and pollers waiting for a task. Handing a task to a
//! poller happens under the matching lock, into that poller's own slot, so a task goes to exactly
//! one poller; a poller that goes away (its client hung up) puts an undelivered task back.
//! Tasks are references (run + event id); the history engine checks, when a poller claims one,
//! that it is still current, so stale tasks are simply dropped.

use crate::store::RunKey;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Which kind of poller a queue serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum QueueType {
    Workflow,
    Activity,
}

/// A queue: namespace, name, type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct QueueKey {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) queue_type: QueueType,
}

/// A task waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Task {
    Workflow {
        run: RunKey,
        scheduled_event_id: i64,
    },
    Activity {
        run: RunKey,
        scheduled_event_id: i64,
        attempt: i32,
    },
    Query {
        run: RunKey,
        query_id: String,
    },
}

#[derive(Debug, Default)]
struct Waiter {
    slot: Mutex<Option<Task>>,
    notify: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    tasks: VecDeque<Task>,
    waiters: VecDeque<(u64, Arc<Waiter>)>,
}

/// All task queues of one server.
#[derive(Debug, Default)]
pub(crate) struct Matching {
    queues: Mutex<(u64, HashMap<QueueKey, Queue>)>,
    /// Who polled each queue, and when last (for `DescribeTaskQueue`).
    pollers: Mutex<HashMap<QueueKey, HashMap<String, std::time::SystemTime>>>,
    /// Sticky queues whose worker shut down (`ShutdownWorker`): their tasks go to the normal queue.
    unloaded: Mutex<std::collections::HashSet<(String, String)>>,
}

impl Matching {
    /// Adds a task: straight to a waiting poller if there is one.
    pub(crate) fn add(&self, key: QueueKey, task: Task) {
        let mut guard = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let queue = guard.1.entry(key).or_default();
        Self::deliver(queue, task, false);
    }

    fn deliver(queue: &mut Queue, task: Task, front: bool) {
        if let Some((_, waiter)) = queue.waiters.pop_front() {
            *waiter.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
            waiter.notify.notify_one();
        } else if front {
            queue.tasks.push_front(task);
        } else {
            queue.tasks.push_back(task);
        }
    }

    /// Marks a sticky queue as gone and returns the tasks that waited in it.
    pub(crate) fn unload(&self, namespace: &str, name: &str) -> Vec<Task> {
        self.unloaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((namespace.to_string(), name.to_string()));
        let mut guard = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let key = QueueKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
            queue_type: QueueType::Workflow,
        };
        guard
            .1
            .get_mut(&key)
            .map(|q| q.tasks.drain(..).collect())
            .unwrap_or_default()
    }

    /// True if a sticky queue's worker shut down.
    pub(crate) fn is_unloaded(&self, namespace: &str, name: &str) -> bool {
        self.unloaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(namespace.to_string(), name.to_string()))
    }

    /// Notes that `identity` polls `key` now.
    pub(crate) fn record_poller(&self, key: &QueueKey, identity: &str) {
        let mut pollers = self.pollers.lock().unwrap_or_else(|e| e.into_inner());
        // Every worker polls a sticky queue of its own: forget those not seen for five minutes
        // (nothing reads older entries) so that the map does not grow with each worker started.
        if pollers.len() > 1024 && !pollers.contains_key(key) {
            let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(300);
            pollers.retain(|_, seen| {
                seen.retain(|_, t| *t >= cutoff);
                !seen.is_empty()
            });
        }
        pollers
            .entry(key.clone())
            .or_default()
            .insert(identity.to_string(), std::time::SystemTime::now());
    }

    /// Whether a worker still polls the sticky queue `name`: one waits on it now, or one polled
    /// it in the last 10 seconds (the official server's window). Tasks for a sticky queue nobody
    /// polls go to the normal queue at once instead of waiting out the schedule-to-start timeout.
    pub(crate) fn is_sticky_alive(&self, namespace: &str, name: &str) -> bool {
        let key = QueueKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
            queue_type: QueueType::Workflow,
        };
        let waiting = {
            let guard = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            guard.1.get(&key).is_some_and(|q| !q.waiters.is_empty())
        };
        if waiting {
            return true;
        }
        let pollers = self.pollers.lock().unwrap_or_else(|e| e.into_inner());
        let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
        pollers
            .get(&key)
            .is_some_and(|m| m.values().any(|t| *t >= cutoff))
    }

    /// The pollers of `key` seen in the last five minutes (as the official server reports them).
    pub(crate) fn pollers(&self, key: &QueueKey) -> Vec<(String, std::time::SystemTime)> {
        let pollers = self.pollers.lock().unwrap_or_else(|e| e.into_inner());
        let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(300);
        let mut seen: Vec<_> = pollers
            .get(key)
            .map(|m| {
                m.iter()
                    .filter(|(_, t)| **t >= cutoff)
                    .map(|(i, t)| (i.clone(), *t))
                    .collect()
            })
            .unwrap_or_default();
        seen.sort();
        seen
    }

    /// Number of tasks waiting in a queue.
    pub(crate) fn backlog(&self, key: &QueueKey) -> usize {
        let guard = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.get(key).map_or(0, |q| q.tasks.len())
    }

    /// Tasks waiting per queue, for the metrics (queues that ever had a task or poller).
    pub(crate) fn backlogs(&self) -> Vec<(QueueKey, usize)> {
        let guard = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .1
            .iter()
            .map(|(key, queue)| (key.clone(), queue.tasks.len()))
            .collect()
    }

    /// Waits for a task until `deadline` or shutdown; `None` when none came.
    pub(crate) async fn poll(
        self: &Arc<Self>,
        key: &QueueKey,
        deadline: Instant,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<Task> {
        if key.queue_type == QueueType::Workflow {
            // A poller on a queue revives it.
            self.unloaded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(key.namespace.clone(), key.name.clone()));
        }
        let (id, waiter) = {
            let mut guard = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            guard.0 += 1;
            let id = guard.0;
            let queue = guard.1.entry(key.clone()).or_default();
            if let Some(task) = queue.tasks.pop_front() {
                return Some(task);
            }
            let waiter = Arc::new(Waiter::default());
            queue.waiters.push_back((id, waiter.clone()));
            (id, waiter)
        };
        let guard = PollGuard {
            matching: self.clone(),
            key: key.clone(),
            id,
            waiter: waiter.clone(),
        };
        tokio::select! {
            _ = waiter.notify.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
        guard.finish()
    }
}

/// Unregisters a poller; if a task reached it that it will not return, puts the task back.
struct PollGuard {
    matching: Arc<Matching>,
    key: QueueKey,
    id: u64,
    waiter: Arc<Waiter>,
}

impl PollGuard {
    fn take(&self) -> Option<Task> {
        let mut guard = self
            .matching
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = guard.1.get_mut(&self.key) {
            queue.waiters.retain(|(id, _)| *id != self.id);
        }
        self.waiter
            .slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn finish(self) -> Option<Task> {
        let task = self.take();
        std::mem::forget(self);
        task
    }
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if let Some(task) = self.take() {
            let mut guard = self
                .matching
                .queues
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let queue = guard.1.entry(self.key.clone()).or_default();
            Matching::deliver(queue, task, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key() -> QueueKey {
        QueueKey {
            namespace: "default".into(),
            name: "tq".into(),
            queue_type: QueueType::Workflow,
        }
    }

    fn task(n: i64) -> Task {
        Task::Workflow {
            run: RunKey {
                namespace: "default".into(),
                workflow_id: "w".into(),
                run_id: "r".into(),
            },
            scheduled_event_id: n,
        }
    }

    #[tokio::test]
    async fn each_task_goes_to_exactly_one_poller() {
        let matching = Arc::new(Matching::default());
        let (_tx, rx) = watch::channel(false);
        let mut pollers = Vec::new();
        for _ in 0..8 {
            let m = matching.clone();
            let mut rx = rx.clone();
            pollers.push(tokio::spawn(async move {
                m.poll(&key(), Instant::now() + Duration::from_millis(300), &mut rx)
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        for n in 0..5 {
            matching.add(key(), task(n));
        }
        let mut got = Vec::new();
        for p in pollers {
            if let Some(Task::Workflow {
                scheduled_event_id, ..
            }) = p.await.expect("poller")
            {
                got.push(scheduled_event_id);
            }
        }
        got.sort();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert_eq!(matching.backlog(&key()), 0);
    }

    #[tokio::test]
    async fn an_abandoned_poll_returns_its_task() {
        let matching = Arc::new(Matching::default());
        let (_tx, mut rx) = watch::channel(false);
        let k = key();
        {
            let poll = matching.poll(&k, Instant::now() + Duration::from_secs(5), &mut rx);
            tokio::pin!(poll);
            // Register the poller, deliver to it, then drop the poll before it observes the task.
            assert!(futures_poll_once(poll.as_mut()).await.is_none());
            matching.add(key(), task(7));
        }
        assert_eq!(matching.backlog(&key()), 1);
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            v = f => Some(v),
            _ = std::future::ready(()) => None,
        }
    }
}
