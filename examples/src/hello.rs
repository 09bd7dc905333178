//! The hello world of the authoring API: a workflow with a signal, a query and an update, an
//! activity group with shared state, typed calls everywhere.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::converter::ApplicationFailure;
use reprise::workflow::{State, WorkflowContext, WorkflowResult};
use std::time::Duration;

/// Activities sharing one piece of state (here a fee; in real code a connection pool).
pub struct Payments {
    /// Added to every charge.
    pub fee: i64,
}

#[reprise::activities]
impl Payments {
    /// Charges an order; registered under the name a Python worker would use.
    #[activity(name = "chargeCreditCard")]
    pub async fn charge(
        &self,
        _ctx: ActivityContext,
        order: String,
        amount: i64,
    ) -> Result<String, ActivityError> {
        Ok(format!("charge-{order}-{}", amount + self.fee))
    }

    /// A blocking activity: runs on the blocking thread pool.
    pub fn audit(&self, _ctx: ActivityContext, line: String) -> Result<usize, ActivityError> {
        Ok(line.len())
    }
}

/// Waits for approval, charges, greets through a child workflow.
#[derive(Default)]
pub struct OrderWorkflow {
    approved: State<bool>,
    items: State<Vec<String>>,
    total: State<i64>,
}

#[reprise::workflow]
impl OrderWorkflow {
    /// The workflow.
    #[run]
    pub async fn run(
        &self,
        ctx: &WorkflowContext,
        order: String,
        amount: i64,
    ) -> WorkflowResult<String> {
        ctx.wait_condition(|| self.approved.get()).await?;
        let charge: String = ctx
            .activity(Payments::charge, (order, amount))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        let audited: usize = ctx
            .activity(Payments::audit, (charge.clone(),))
            .start_to_close_timeout(Duration::from_secs(10))
            .await?;
        let greeting: String = ctx
            .child_workflow(Greeter::run, ("bob".to_string(),))
            .await?;
        Ok(format!(
            "{charge} ({audited}) {greeting} items={:?} total={}",
            self.items.get(),
            self.total.get()
        ))
    }

    /// Approves the order.
    #[signal]
    pub fn approve(&self, _ctx: &WorkflowContext) {
        self.approved.set(true);
    }

    /// Adds an item, after a short durable pause (an async signal handler).
    #[signal(name = "addItem")]
    pub async fn add_item(&self, ctx: &WorkflowContext, item: String) {
        let _ = ctx.sleep(Duration::from_millis(10)).await;
        self.items.update(|items| items.push(item));
    }

    /// Whether approved, and how many items.
    #[query]
    pub fn status(&self, _ctx: &WorkflowContext) -> (bool, usize) {
        (self.approved.get(), self.items.with(Vec::len))
    }

    /// Adds to the total and returns it.
    #[update]
    pub fn add_total(
        &self,
        _ctx: &WorkflowContext,
        amount: i64,
    ) -> Result<i64, ApplicationFailure> {
        Ok(self.total.update(|t| {
            *t += amount;
            *t
        }))
    }

    /// Rejects negative amounts before they reach the history.
    #[update_validator(add_total)]
    pub fn check_total(
        &self,
        _ctx: &WorkflowContext,
        amount: &i64,
    ) -> Result<(), ApplicationFailure> {
        if *amount < 0 {
            Err(ApplicationFailure::new(format!("negative amount {amount}")))
        } else {
            Ok(())
        }
    }
}

/// A child workflow, registered under another name.
#[derive(Default)]
pub struct Greeter;

#[reprise::workflow(name = "GreeterWorkflow")]
impl Greeter {
    /// Greets.
    #[run]
    pub async fn run(&self, _ctx: &WorkflowContext, name: String) -> WorkflowResult<String> {
        Ok(format!("Hello, {name}!"))
    }
}
