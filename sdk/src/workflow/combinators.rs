//! Deterministic fail-fast joins for workflow code.
//!
//! `futures::future::try_join_all` switches to a ready-queue (`FuturesOrdered`) for large
//! collections, so which error it reports first would depend on wake-up order. These poll every
//! pending branch in the order given, so the first error *by position among those ready in the
//! same activation* wins, on every replay.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Waits for all futures of a collection and returns their results in order, or the first error
/// at once. The other branches are then dropped, which cancels what they were waiting on
/// (activities and timers are canceled by their cancellation type; see
/// [`ActivityFuture::detach`](super::ActivityFuture::detach) to leave an activity running). This
/// is the behaviour of Python's `asyncio.gather` and JavaScript's `Promise.all` on the first
/// error, except that those leave the other branches running.
///
/// ```
/// use reprise::workflow::{try_join_all, WorkflowContext, WorkflowResult};
/// use std::time::Duration;
///
/// async fn squares(ctx: WorkflowContext, (n,): (u32,)) -> WorkflowResult<i64> {
///     let calls = (0..n).map(|i| {
///         ctx.activity_by_name::<i64>("square", (i,))
///             .start_to_close_timeout(Duration::from_secs(10))
///             .into_future()
///     });
///     Ok(try_join_all(calls).await?.into_iter().sum())
/// }
/// # use std::future::IntoFuture;
/// ```
pub fn try_join_all<I, F, T, E>(futures: I) -> TryJoinAll<F>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>>,
{
    let branches: Vec<Branch<F>> = futures
        .into_iter()
        .map(|f| Branch::Pending(Box::pin(f)))
        .collect();
    TryJoinAll { branches }
}

enum Branch<F: Future> {
    Pending(Pin<Box<F>>),
    Done(Option<<F as Future>::Output>),
}

/// The future of [`try_join_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryJoinAll<F: Future> {
    branches: Vec<Branch<F>>,
}

// The branches are boxed and pinned there; the finished outputs are never pinned.
impl<F: Future> Unpin for TryJoinAll<F> {}

impl<F, T, E> Future for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut all_done = true;
        for branch in self.branches.iter_mut() {
            if let Branch::Pending(f) = branch {
                match f.as_mut().poll(cx) {
                    Poll::Ready(Err(e)) => {
                        // Drop the other branches now, in the order given, so that what they
                        // cancel is issued in that order.
                        self.branches.clear();
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(Ok(v)) => *branch = Branch::Done(Some(Ok(v))),
                    Poll::Pending => all_done = false,
                }
            }
        }
        if !all_done {
            return Poll::Pending;
        }
        let mut results = Vec::with_capacity(self.branches.len());
        for branch in self.branches.drain(..) {
            if let Branch::Done(Some(Ok(v))) = branch {
                results.push(v);
            }
        }
        Poll::Ready(Ok(results))
    }
}

/// Waits for two futures that return `Result`s; the first error returns at once and the other
/// branch is dropped (canceled). Deterministic: the first is polled first.
pub async fn try_join<A, B, T1, T2, E>(a: A, b: B) -> Result<(T1, T2), E>
where
    A: Future<Output = Result<T1, E>>,
    B: Future<Output = Result<T2, E>>,
{
    futures::try_join!(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::{pending, ready};
    use std::task::Waker;

    type Branch<E> = Pin<Box<dyn Future<Output = Result<u32, E>>>>;

    fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
        let mut f = Box::pin(f);
        f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn all_ok_in_order() {
        let r: Poll<Result<Vec<u32>, ()>> = poll_once(try_join_all((0..40).map(|i| ready(Ok(i)))));
        assert_eq!(r, Poll::Ready(Ok((0..40).collect())));
    }

    #[test]
    fn waits_while_a_branch_is_pending() {
        let futures: Vec<Branch<()>> = vec![Box::pin(ready(Ok(1))), Box::pin(pending())];
        assert_eq!(poll_once(try_join_all(futures)), Poll::Pending);
    }

    #[test]
    fn the_first_error_by_position_returns_while_others_are_pending() {
        let futures: Vec<Branch<&str>> = vec![
            Box::pin(pending()),
            Box::pin(ready(Err("second"))),
            Box::pin(ready(Err("third"))),
        ];
        assert_eq!(poll_once(try_join_all(futures)), Poll::Ready(Err("second")));
    }

    #[test]
    fn try_join_returns_the_first_error() {
        let r = poll_once(try_join(
            pending::<Result<u8, &str>>(),
            ready(Err::<u8, _>("b")),
        ));
        assert_eq!(r, Poll::Ready(Err("b")));
    }
}
