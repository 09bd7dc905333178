//! Subscription billing: one workflow per subscriber, alive for as long as the subscription.
//!
//! Every 30 days it charges the plan's price. A failed payment opens a grace period: the charge
//! is tried again every 3 days, up to 3 more times, before the subscription lapses. The plan can
//! be changed by an update (validated: a known plan, not the current one) and takes effect at the
//! next cycle; a `cancel` signal ends the subscription at the end of the paid cycle. To keep its
//! history short over years, the workflow continues as new every 12 cycles, carrying its state.

use futures::FutureExt;
use reprise::activity::{ActivityContext, ActivityError};
use reprise::converter::{ApplicationFailure, Failure};
use reprise::workflow::{State, WorkflowContext, WorkflowResult, select};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Task queue of the billing worker.
pub const TASK_QUEUE: &str = "billing";
/// Length of a billing cycle.
pub const CYCLE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Time between payment attempts in the grace period.
pub const GRACE_RETRY: Duration = Duration::from_secs(3 * 24 * 3600);
/// Payment attempts in the grace period after the first failure.
pub const GRACE_ATTEMPTS: u32 = 3;
/// Cycles per run before continuing as new.
pub const CYCLES_PER_RUN: u32 = 12;

/// The plans and their monthly price in cents.
pub const PLANS: [(&str, u64); 3] = [("basic", 900), ("pro", 2900), ("team", 9900)];

fn price(plan: &str) -> Option<u64> {
    PLANS.iter().find(|(p, _)| *p == plan).map(|(_, c)| *c)
}

/// The subscription's state, carried across continue-as-new.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subscriber {
    /// Customer id.
    pub customer: String,
    /// Current plan.
    pub plan: String,
    /// Cycles billed so far (over all runs).
    pub cycles_billed: u32,
    /// Total charged, in cents.
    pub total_cents: u64,
}

/// How a subscription ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Ended {
    /// Canceled by the customer after `cycles` paid cycles.
    Canceled {
        /// The state at the end.
        subscriber: Subscriber,
    },
    /// Payment kept failing through the grace period.
    Lapsed {
        /// The state at the end.
        subscriber: Subscriber,
        /// The last payment error.
        reason: String,
    },
}

/// A subscription.
#[derive(Default)]
pub struct Subscription {
    state: State<Option<Subscriber>>,
    next_plan: State<Option<String>>,
    canceled: State<bool>,
}

#[reprise::workflow(name = "Subscription")]
impl Subscription {
    /// Bills `subscriber` every cycle until canceled or lapsed.
    #[run]
    pub async fn run(
        &self,
        ctx: &WorkflowContext,
        subscriber: Subscriber,
    ) -> WorkflowResult<Ended> {
        self.state.set(Some(subscriber));
        for _ in 0..CYCLES_PER_RUN {
            if let Some(plan) = self.next_plan.get() {
                self.next_plan.set(None);
                self.update_state(|s| s.plan = plan);
            }
            let current = self.current();
            if let Err(reason) = self.charge_with_grace(ctx, &current).await? {
                return Ok(Ended::Lapsed {
                    subscriber: self.current(),
                    reason,
                });
            }
            // Wait out the paid cycle; a cancellation takes effect at its end.
            ctx.sleep(CYCLE).await?;
            if self.canceled.get() {
                return Ok(Ended::Canceled {
                    subscriber: self.current(),
                });
            }
        }
        let mut carried = self.current();
        if let Some(plan) = self.next_plan.get() {
            carried.plan = plan;
        }
        Err(ctx.continue_as_new((carried,)))
    }

    /// Changes the plan from the next cycle on; returns the new monthly price.
    #[update]
    pub fn change_plan(
        &self,
        _ctx: &WorkflowContext,
        plan: String,
    ) -> Result<u64, ApplicationFailure> {
        let cents =
            price(&plan).ok_or_else(|| ApplicationFailure::new(format!("unknown plan {plan}")))?;
        self.next_plan.set(Some(plan));
        Ok(cents)
    }

    /// Rejects unknown plans and the current one, before anything is recorded.
    #[update_validator(change_plan)]
    pub fn validate_plan(
        &self,
        _ctx: &WorkflowContext,
        plan: &String,
    ) -> Result<(), ApplicationFailure> {
        if price(plan).is_none() {
            return Err(
                ApplicationFailure::new(format!("unknown plan {plan}")).with_type("InvalidPlan")
            );
        }
        if self
            .state
            .with(|s| s.as_ref().is_some_and(|s| &s.plan == plan))
        {
            return Err(
                ApplicationFailure::new(format!("already on plan {plan}")).with_type("InvalidPlan")
            );
        }
        Ok(())
    }

    /// Ends the subscription at the end of the paid cycle.
    #[signal]
    pub fn cancel(&self, _ctx: &WorkflowContext) {
        self.canceled.set(true);
    }

    /// The subscription as it stands.
    #[query]
    pub fn status(&self, _ctx: &WorkflowContext) -> Option<Subscriber> {
        self.state.get()
    }
}

impl Subscription {
    fn current(&self) -> Subscriber {
        self.state.get().unwrap_or(Subscriber {
            customer: String::new(),
            plan: String::new(),
            cycles_billed: 0,
            total_cents: 0,
        })
    }

    fn update_state(&self, f: impl FnOnce(&mut Subscriber)) {
        self.state.update(|s| {
            if let Some(s) = s {
                f(s)
            }
        });
    }

    /// Charges this cycle; on failure retries every [`GRACE_RETRY`] up to [`GRACE_ATTEMPTS`]
    /// times (or until canceled). `Ok(Err(reason))` when the grace period ran out.
    async fn charge_with_grace(
        &self,
        ctx: &WorkflowContext,
        subscriber: &Subscriber,
    ) -> Result<Result<(), String>, Failure> {
        let cents = price(&subscriber.plan).unwrap_or(0);
        let cycle = subscriber.cycles_billed + 1;
        let mut attempt = 0;
        loop {
            let charge = ctx
                .activity(
                    BillingActivities::charge_subscription,
                    (subscriber.customer.clone(), cycle, cents),
                )
                .start_to_close_timeout(Duration::from_secs(30))
                .retry_policy(
                    reprise::client::RetryPolicy::new()
                        .with_maximum_attempts(3)
                        .with_non_retryable_error_type("PaymentDeclined"),
                )
                .await;
            match charge {
                Ok(()) => {
                    self.update_state(|s| {
                        s.cycles_billed = cycle;
                        s.total_cents += cents;
                    });
                    return Ok(Ok(()));
                }
                Err(e) if attempt < GRACE_ATTEMPTS => {
                    attempt += 1;
                    let _ = e;
                    // The grace period: try again in a few days, unless canceled meanwhile.
                    let mut canceled = ctx.wait_condition(|| self.canceled.get()).fuse();
                    let mut retry = ctx.sleep(GRACE_RETRY).fuse();
                    select! {
                        r = retry => r?,
                        r = canceled => {
                            r?;
                            return Ok(Err("canceled during the grace period".into()));
                        },
                    }
                }
                Err(e) => return Ok(Err(e.root_cause().message.clone())),
            }
        }
    }
}

/// The billing system (a stand-in that records charges in memory).
#[derive(Clone, Default)]
pub struct BillingActivities {
    /// Charges made: (customer, cycle, cents).
    pub charges: Arc<Mutex<Vec<(String, u32, u64)>>>,
    /// Charges to decline, by cycle number (each entry declines one attempt).
    pub declines: Arc<Mutex<Vec<u32>>>,
}

#[reprise::activities]
impl BillingActivities {
    /// Charges the customer for a cycle; idempotent per (customer, cycle).
    pub async fn charge_subscription(
        &self,
        _ctx: ActivityContext,
        customer: String,
        cycle: u32,
        cents: u64,
    ) -> Result<(), ActivityError> {
        let poisoned = || ActivityError::non_retryable("billing state poisoned");
        {
            let mut declines = self.declines.lock().map_err(|_| poisoned())?;
            if let Some(i) = declines.iter().position(|c| *c == cycle) {
                declines.remove(i);
                return Err(
                    ApplicationFailure::new(format!("card of {customer} declined"))
                        .with_type("PaymentDeclined")
                        .non_retryable()
                        .into(),
                );
            }
        }
        let mut charges = self.charges.lock().map_err(|_| poisoned())?;
        if !charges
            .iter()
            .any(|(c, n, _)| *c == customer && *n == cycle)
        {
            charges.push((customer, cycle, cents));
        }
        Ok(())
    }
}
