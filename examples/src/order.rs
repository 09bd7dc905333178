//! Order processing: charge a card exactly once, then mark the order paid.
//!
//! The charge is the classic step that must not happen twice. The activity passes the order id
//! as the payment provider's **idempotency key**: if a worker crashes after the provider charged
//! the card but before the result reached Temporal, the retried attempt sends the same key and
//! the provider answers with the original receipt instead of charging again. Transient provider
//! errors are retried with exponential backoff (2 s, ×2, at most 5 attempts); a declined card is
//! not retried (`CardDeclined` is a non-retryable failure).
//!
//! [`PaymentService`] is a stand-in for the provider: in memory for tests, or in a directory
//! (one file per idempotency key, created atomically) so that several processes — the worker
//! that crashed and the one that took over — share it, as they would share a real provider.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::RetryPolicy;
use reprise::converter::ApplicationFailure;
use reprise::workflow::{WorkflowContext, WorkflowResult};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Task queue of the order worker.
pub const TASK_QUEUE: &str = "orders";

/// An order to process.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Order {
    /// Order id; also the payment's idempotency key.
    pub id: String,
    /// Amount in cents.
    pub amount_cents: u64,
    /// Card token.
    pub card: String,
}

/// What the payment provider returns for a charge.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    /// The provider's charge id.
    pub charge_id: String,
    /// The idempotency key it was charged under.
    pub idempotency_key: String,
    /// Amount charged, in cents.
    pub amount_cents: u64,
}

/// The outcome of an order workflow.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderResult {
    /// Order id.
    pub order_id: String,
    /// The charge.
    pub receipt: Receipt,
    /// Set when the order was marked paid.
    pub paid: bool,
}

/// The retry policy of the charge: 2 s, ×2, 5 attempts, declined cards not retried.
pub fn charge_retry_policy() -> RetryPolicy {
    RetryPolicy::new()
        .with_initial_interval(Duration::from_secs(2))
        .with_backoff_coefficient(2.0)
        .with_maximum_attempts(5)
        .with_non_retryable_error_type("CardDeclined")
}

/// Processes one order: charge (idempotent, retried), then mark paid.
#[derive(Default)]
pub struct ProcessOrder;

#[reprise::workflow(name = "ProcessOrder")]
impl ProcessOrder {
    /// The workflow.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, order: Order) -> WorkflowResult<OrderResult> {
        let receipt: Receipt = ctx
            .activity(
                OrderActivities::charge,
                (order.id.clone(), order.amount_cents, order.card.clone()),
            )
            .start_to_close_timeout(Duration::from_secs(5))
            .retry_policy(charge_retry_policy())
            .await?;
        ctx.activity(
            OrderActivities::mark_paid,
            (order.id.clone(), receipt.charge_id.clone()),
        )
        .start_to_close_timeout(Duration::from_secs(5))
        .await?;
        Ok(OrderResult {
            order_id: order.id,
            receipt,
            paid: true,
        })
    }
}

/// The order activities, talking to the payment provider and the order database.
pub struct OrderActivities {
    /// The payment provider.
    pub payments: PaymentService,
    /// Orders marked paid (the "order database").
    pub paid: Arc<Mutex<Vec<String>>>,
}

impl OrderActivities {
    /// Activities on `payments`, with an empty order database.
    pub fn new(payments: PaymentService) -> Self {
        OrderActivities {
            payments,
            paid: Arc::default(),
        }
    }
}

#[reprise::activities]
impl OrderActivities {
    /// Charges the card, with the order id as idempotency key.
    pub async fn charge(
        &self,
        ctx: ActivityContext,
        order_id: String,
        amount_cents: u64,
        card: String,
    ) -> Result<Receipt, ActivityError> {
        let attempt = ctx.info().attempt;
        self.payments
            .charge(&order_id, amount_cents, &card, attempt)
            .await
    }

    /// Marks the order paid in the order database.
    pub async fn mark_paid(
        &self,
        _ctx: ActivityContext,
        order_id: String,
        charge_id: String,
    ) -> Result<(), ActivityError> {
        let mut paid = self
            .paid
            .lock()
            .map_err(|_| ActivityError::non_retryable("order database lock poisoned"))?;
        paid.push(format!("{order_id}:{charge_id}"));
        Ok(())
    }
}

/// A fake payment provider with idempotency keys.
///
/// Cards starting with `declined` are declined (non-retryable `CardDeclined`); cards starting
/// with `flaky-N` fail the first N attempts with a transient `ProviderUnavailable` error.
#[derive(Clone)]
pub struct PaymentService {
    backend: Backend,
    /// Delay after charging, before answering: a window in which a worker can crash between the
    /// charge and the reply (the demo uses it).
    reply_delay: Duration,
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<Mutex<HashMap<String, Receipt>>>),
    Directory(PathBuf),
}

impl PaymentService {
    /// A provider that keeps its charges in memory.
    pub fn in_memory() -> Self {
        PaymentService {
            backend: Backend::Memory(Arc::default()),
            reply_delay: Duration::ZERO,
        }
    }

    /// A provider that keeps its charges in `dir` (created if missing), one file per key,
    /// shared by every process that opens it.
    pub fn in_directory(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(PaymentService {
            backend: Backend::Directory(dir),
            reply_delay: Duration::ZERO,
        })
    }

    /// Waits `delay` between charging and answering.
    pub fn with_reply_delay(mut self, delay: Duration) -> Self {
        self.reply_delay = delay;
        self
    }

    /// Charges `amount_cents` under `key`, or returns the receipt already issued for `key`.
    pub async fn charge(
        &self,
        key: &str,
        amount_cents: u64,
        card: &str,
        attempt: u32,
    ) -> Result<Receipt, ActivityError> {
        if card.starts_with("declined") {
            return Err(ApplicationFailure::new(format!("card {card} was declined"))
                .with_type("CardDeclined")
                .non_retryable()
                .into());
        }
        if let Some(n) = card
            .strip_prefix("flaky-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|n| n.parse::<u32>().ok())
            && attempt <= n
        {
            return Err(ApplicationFailure::new(format!(
                "payment provider unavailable (attempt {attempt})"
            ))
            .with_type("ProviderUnavailable")
            .into());
        }
        let receipt = Receipt {
            charge_id: format!("ch_{key}"),
            idempotency_key: key.to_string(),
            amount_cents,
        };
        let receipt = self.record(key, receipt).map_err(|e| {
            ActivityError::from(ApplicationFailure::new(format!("payment provider: {e}")))
        })?;
        if !self.reply_delay.is_zero() {
            tokio::time::sleep(self.reply_delay).await;
        }
        Ok(receipt)
    }

    /// Stores `receipt` under `key` unless a charge exists for it; returns the stored one.
    fn record(&self, key: &str, receipt: Receipt) -> std::io::Result<Receipt> {
        match &self.backend {
            Backend::Memory(charges) => {
                let mut charges = charges
                    .lock()
                    .map_err(|_| std::io::Error::other("payment ledger lock poisoned"))?;
                Ok(charges.entry(key.to_string()).or_insert(receipt).clone())
            }
            Backend::Directory(dir) => {
                // Written whole to a private file, then linked under the key: the link is the
                // atomic "create if absent", and a crash leaves no half-written charge.
                let path = dir.join(format!("{}.json", sanitize(key)));
                let tmp = dir.join(format!(".{}.{}.tmp", sanitize(key), std::process::id()));
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(&serde_json::to_vec(&receipt)?)?;
                file.sync_all()?;
                let linked = std::fs::hard_link(&tmp, &path);
                std::fs::remove_file(&tmp)?;
                match linked {
                    Ok(()) => Ok(receipt),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let bytes = std::fs::read(&path)?;
                        Ok(serde_json::from_slice(&bytes)?)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Every charge the provider made (one per idempotency key).
    pub fn charges(&self) -> std::io::Result<Vec<Receipt>> {
        match &self.backend {
            Backend::Memory(charges) => {
                let charges = charges
                    .lock()
                    .map_err(|_| std::io::Error::other("payment ledger lock poisoned"))?;
                let mut all: Vec<Receipt> = charges.values().cloned().collect();
                all.sort_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
                Ok(all)
            }
            Backend::Directory(dir) => {
                let mut all = Vec::new();
                for entry in std::fs::read_dir(dir)? {
                    let path = entry?.path();
                    if path.extension().is_some_and(|e| e == "json") {
                        all.push(serde_json::from_slice::<Receipt>(&std::fs::read(path)?)?);
                    }
                }
                all.sort_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
                Ok(all)
            }
        }
    }
}

fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
