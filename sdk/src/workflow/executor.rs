//! The deterministic executor: one thread, no clock, no I/O. Tasks are polled in the order they
//! were spawned, again and again, until none can make progress; so the same inputs always give
//! the same interleaving and the same commands in the same order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Wake flag of one task. Wakers must be `Send + Sync`, so a flag is all they touch; the
/// executor looks at the flags on its own thread.
struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

struct Task {
    future: LocalFuture,
    flag: Arc<WakeFlag>,
    waker: Waker,
}

/// Tasks of one workflow run.
#[derive(Default)]
pub(crate) struct Executor {
    tasks: Vec<Option<Task>>,
    /// Tasks spawned while the executor was polling; appended after the current pass.
    spawned: Vec<Task>,
}

impl Executor {
    pub(crate) fn spawn(&mut self, future: impl Future<Output = ()> + 'static) {
        self.spawned.push(new_task(Box::pin(future)));
    }

    /// How many tasks have not finished.
    pub(crate) fn unfinished(&self) -> usize {
        self.tasks.iter().filter(|t| t.is_some()).count() + self.spawned.len()
    }

    /// Takes the tasks spawned since the last call into the run queue.
    fn adopt_spawned(&mut self) -> bool {
        if self.spawned.is_empty() {
            return false;
        }
        self.tasks.extend(self.spawned.drain(..).map(Some));
        true
    }

    /// Polls woken tasks, in spawn order, until none is woken. Returns whether any task was
    /// polled. `spawn_queue` supplies tasks spawned from inside polled futures (they cannot reach
    /// `self` while it is borrowed).
    pub(crate) fn run_until_stalled(&mut self, spawn_queue: &dyn Fn() -> Vec<LocalFuture>) -> bool {
        let mut any = false;
        loop {
            let mut progressed = false;
            for slot in self.tasks.iter_mut() {
                let Some(task) = slot else { continue };
                if !task.flag.0.swap(false, Ordering::AcqRel) {
                    continue;
                }
                progressed = true;
                let mut cx = Context::from_waker(&task.waker);
                if let Poll::Ready(()) = task.future.as_mut().poll(&mut cx) {
                    *slot = None;
                }
            }
            for future in spawn_queue() {
                self.spawned.push(new_task(future));
            }
            let adopted = self.adopt_spawned();
            if !progressed && !adopted {
                break;
            }
            any = true;
        }
        // Keep the task list from growing without bound over a long run.
        if self.tasks.len() > 64
            && self.tasks.iter().filter(|t| t.is_none()).count() > self.tasks.len() / 2
        {
            self.tasks.retain(Option::is_some);
        }
        any
    }
}

fn new_task(future: LocalFuture) -> Task {
    let flag = Arc::new(WakeFlag(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    Task {
        future,
        flag,
        waker,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn tasks_run_in_spawn_order_until_stalled() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut ex = Executor::default();
        for i in 0..3 {
            let log = log.clone();
            ex.spawn(async move { log.borrow_mut().push(i) });
        }
        assert!(ex.run_until_stalled(&Vec::new));
        assert_eq!(*log.borrow(), [0, 1, 2]);
        assert!(ex.tasks.iter().all(Option::is_none));
        assert!(!ex.run_until_stalled(&Vec::new));
    }

    #[test]
    fn a_pending_task_is_not_polled_again_until_woken() {
        let polls = Rc::new(RefCell::new(0));
        let waker_slot: Rc<RefCell<Option<Waker>>> = Rc::default();
        let mut ex = Executor::default();
        {
            let polls = polls.clone();
            let waker_slot = waker_slot.clone();
            ex.spawn(std::future::poll_fn(move |cx| {
                *polls.borrow_mut() += 1;
                *waker_slot.borrow_mut() = Some(cx.waker().clone());
                if *polls.borrow() >= 2 {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }));
        }
        ex.run_until_stalled(&Vec::new);
        ex.run_until_stalled(&Vec::new);
        assert_eq!(*polls.borrow(), 1);
        waker_slot.borrow_mut().take().expect("waker").wake();
        ex.run_until_stalled(&Vec::new);
        assert_eq!(*polls.borrow(), 2);
        assert!(ex.tasks.iter().all(Option::is_none));
    }
}
