//! A subscription billed every 30 days for 14 months of (skipped) time: a plan change by update
//! after two months, a declined payment recovered in the grace period, a continue-as-new after
//! 12 cycles, then a cancellation. `cargo run -p reprise-examples --bin subscription`
//! (needs time skipping: the embedded server, or `reprise-server --time-skipping`).
#![allow(clippy::print_stdout)]

use reprise::client::WorkflowOptions;
use reprise::worker::Worker;
use reprise_examples::subscription::{
    BillingActivities, Ended, Subscriber, Subscription, TASK_QUEUE,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _server) = reprise_examples::runner::connect().await?;
    let billing = BillingActivities::default();
    billing.declines.lock().map_err(|_| "poisoned")?.push(5);
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<Subscription>()
        .activities(billing.clone())
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let id = format!("subscription-{}", std::process::id());
    let subscriber = Subscriber {
        customer: "cus_42".into(),
        plan: "basic".into(),
        cycles_billed: 0,
        total_cents: 0,
    };
    let handle = client
        .start(
            Subscription::run,
            (subscriber,),
            WorkflowOptions::new(id, TASK_QUEUE),
        )
        .await?;
    let price: u64 = handle
        .update(Subscription::change_plan, ("pro".to_string(),))
        .await?;
    println!("plan changed to pro ({price} cents a month from the next cycle)");
    // Let a year and a bit of billing go by, then cancel.
    loop {
        let status: Option<Subscriber> = handle.query(Subscription::status, ()).await?;
        if status.as_ref().is_some_and(|s| s.cycles_billed >= 14) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    handle.signal(Subscription::cancel, ()).await?;
    // The runs before the last continue-as-new may be gone (the namespace's retention passed
    // in workflow time): wait on the latest run.
    let latest = client.workflow_handle(handle.workflow_id(), None);
    match latest.result::<Ended>().await? {
        Ended::Canceled { subscriber } => println!(
            "canceled after {} cycles, {} cents billed in all",
            subscriber.cycles_billed, subscriber.total_cents
        ),
        Ended::Lapsed { reason, .. } => println!("lapsed: {reason}"),
    }
    println!(
        "charges: {:?}",
        billing.charges.lock().map_err(|_| "poisoned")?
    );
    shutdown.shutdown();
    running.await??;
    Ok(())
}
