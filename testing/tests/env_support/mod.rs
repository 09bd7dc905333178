//! Workflows and activities shared by the TestEnv tests and the recorded-history tests.
#![allow(dead_code, unreachable_pub)]

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::RetryPolicy;
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch of a time (workflows return times this way).
pub fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub struct Payments;

#[reprise::activities]
impl Payments {
    pub async fn charge(
        &self,
        _ctx: ActivityContext,
        order: String,
        cents: u64,
    ) -> Result<String, ActivityError> {
        Ok(format!("charged-{order}-{cents}"))
    }

    pub async fn reserve(
        &self,
        _ctx: ActivityContext,
        order: String,
    ) -> Result<String, ActivityError> {
        Ok(format!("reserved-{order}"))
    }

    pub async fn ship(
        &self,
        _ctx: ActivityContext,
        order: String,
    ) -> Result<String, ActivityError> {
        Ok(format!("shipped-{order}"))
    }
}

/// Reserve, wait 30 days, charge, ship.
#[derive(Default)]
pub struct Subscription;

#[reprise::workflow]
impl Subscription {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, order: String) -> WorkflowResult<Vec<String>> {
        let timeout = Duration::from_secs(60);
        let reserved = ctx
            .activity(Payments::reserve, (order.clone(),))
            .start_to_close_timeout(timeout)
            .await?;
        ctx.sleep(Duration::from_secs(30 * 86_400)).await?;
        let charged = ctx
            .activity(Payments::charge, (order.clone(), 4200))
            .start_to_close_timeout(timeout)
            .retry_policy(
                RetryPolicy::new()
                    .with_initial_interval(Duration::from_secs(1))
                    .with_maximum_attempts(5),
            )
            .await?;
        let shipped = ctx
            .activity(Payments::ship, (order,))
            .start_to_close_timeout(timeout)
            .await?;
        Ok(vec![reserved, charged, shipped])
    }
}

/// Sleeps one day, waits for `approve`, and returns when (virtual seconds) it was approved.
#[derive(Default)]
pub struct Approval {
    approved: State<bool>,
}

#[reprise::workflow]
impl Approval {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<u64> {
        ctx.sleep(Duration::from_secs(86_400)).await?;
        ctx.wait_condition(|| self.approved.get()).await?;
        Ok(secs(ctx.now()))
    }

    #[signal]
    pub fn approve(&self, _ctx: &WorkflowContext) {
        self.approved.set(true);
    }
}

/// Sleeps `days` days, returns the virtual time it woke at.
#[derive(Default)]
pub struct Sleeper;

#[reprise::workflow]
impl Sleeper {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, days: u64) -> WorkflowResult<u64> {
        ctx.sleep(Duration::from_secs(days * 86_400)).await?;
        Ok(secs(ctx.now()))
    }
}

/// Charges through an activity called by name (as one written in another language).
#[derive(Default)]
pub struct ByName;

#[reprise::workflow]
impl ByName {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, order: String) -> WorkflowResult<String> {
        Ok(ctx
            .activity_by_name::<String>("chargeCreditCard", (order, 12.5))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?)
    }
}

/// One charge with a 10-minute start-to-close timeout, a 1-minute heartbeat timeout and three
/// attempts one second apart.
#[derive(Default)]
pub struct ChargeOnce;

#[reprise::workflow]
impl ChargeOnce {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, order: String) -> WorkflowResult<String> {
        Ok(ctx
            .activity(Payments::charge, (order, 100))
            .start_to_close_timeout(Duration::from_secs(600))
            .retry_policy(
                RetryPolicy::new()
                    .with_initial_interval(Duration::from_secs(1))
                    .with_backoff_coefficient(1.0)
                    .with_maximum_attempts(3),
            )
            .await?)
    }
}

static PROCESS_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How many times this process asked (a process-global counter: not part of any history).
fn next_count() -> usize {
    PROCESS_COUNTER.fetch_add(1, Ordering::SeqCst)
}

/// Chooses its second activity from a process-global counter: fine on the first run of the
/// process, different on any replay.
#[derive(Default)]
pub struct CounterWorkflow;

#[reprise::workflow]
impl CounterWorkflow {
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, order: String) -> WorkflowResult<String> {
        let timeout = Duration::from_secs(10);
        ctx.activity(Payments::reserve, (order.clone(),))
            .start_to_close_timeout(timeout)
            .await?;
        if next_count() == 0 {
            Ok(ctx
                .activity(Payments::charge, (order, 1))
                .start_to_close_timeout(timeout)
                .await?)
        } else {
            Ok(ctx
                .activity(Payments::ship, (order,))
                .start_to_close_timeout(timeout)
                .await?)
        }
    }
}
