//! ActivityEnv: one activity run directly, with chosen info, heartbeats and cancellation.

use reprise::activity::{ActivityContext, ActivityError};
use reprise_testing::ActivityEnv;
use std::time::Duration;

struct Files;

#[reprise::activities]
impl Files {
    /// Uploads `chunks` chunks, heartbeating the index of each, resuming after the last
    /// recorded one; stops when canceled.
    async fn upload(&self, ctx: ActivityContext, chunks: u32) -> Result<u32, ActivityError> {
        let (mut next,): (u32,) = ctx.heartbeat_details().unwrap_or((0,));
        while next < chunks {
            if ctx.is_canceled() {
                return Err(ActivityError::canceled());
            }
            ctx.heartbeat((next,));
            next += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(next + ctx.info().attempt * 1000)
    }
}

#[tokio::test]
async fn heartbeats_are_recorded_and_info_is_chosen() {
    let env = ActivityEnv::new()
        .with_attempt(3)
        .with_heartbeat_details((7u32,));
    let done = env.run(|ctx| Files.upload(ctx, 10)).await.expect("upload");
    assert_eq!(done, 3010, "resumed at 7, attempt 3");
    assert_eq!(env.heartbeats::<(u32,)>(), vec![(7,), (8,), (9,)]);
    assert_eq!(env.info().attempt, 3);
}

#[tokio::test]
async fn cancellation_requested_while_running_stops_the_activity() {
    let env = ActivityEnv::new();
    let watcher = env.clone();
    let (result, ()) = tokio::join!(env.run(|ctx| Files.upload(ctx, 1_000_000)), async move {
        watcher.wait_for_heartbeats(3).await;
        watcher.cancel();
    });
    assert!(
        matches!(result, Err(ActivityError::Canceled { .. })),
        "{result:?}"
    );
    let beats = env.heartbeat_count();
    assert!((3..100).contains(&beats), "{beats} heartbeats");
}

#[tokio::test]
async fn cancellation_requested_before_the_run_is_delivered_at_once() {
    let env = ActivityEnv::new();
    env.cancel();
    let result = env
        .run(|ctx| async move {
            ctx.canceled().await;
            Err::<(), _>(ActivityError::canceled())
        })
        .await;
    assert!(matches!(result, Err(ActivityError::Canceled { .. })));
    assert_eq!(env.heartbeat_count(), 0);
}
