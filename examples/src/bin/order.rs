//! Processes three orders: one paid at once, one after transient provider errors (retried with
//! backoff), one with a declined card (not retried). `cargo run -p reprise-examples --bin order
//! [-- --address HOST:PORT]`
#![allow(clippy::print_stdout)]

use reprise::client::WorkflowOptions;
use reprise::worker::Worker;
use reprise_examples::order::{
    Order, OrderActivities, OrderResult, PaymentService, ProcessOrder, TASK_QUEUE,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _server) = reprise_examples::runner::connect().await?;
    let payments = PaymentService::in_memory();
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<ProcessOrder>()
        .activities(OrderActivities::new(payments.clone()))
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let suffix = std::process::id();
    for (id, card) in [("A", "tok_visa"), ("B", "flaky-2"), ("C", "declined-visa")] {
        let order = Order {
            id: format!("order-{id}-{suffix}"),
            amount_cents: 1999,
            card: card.into(),
        };
        let handle = client
            .start(
                ProcessOrder::run,
                (order.clone(),),
                WorkflowOptions::new(order.id.clone(), TASK_QUEUE),
            )
            .await?;
        match handle.result::<OrderResult>().await {
            Ok(r) => println!(
                "{} ({card}): paid, charge {}",
                r.order_id, r.receipt.charge_id
            ),
            Err(e) => println!("{} ({card}): failed: {e}", order.id),
        }
    }
    println!("charges at the provider: {}", payments.charges()?.len());
    shutdown.shutdown();
    running.await??;
    Ok(())
}
