//! Books two trips: one goes through, one finds the cars sold out and is compensated in
//! reverse order. `cargo run -p reprise-examples --bin saga [-- --address HOST:PORT]`
#![allow(clippy::print_stdout)]

use reprise::client::WorkflowOptions;
use reprise::worker::Worker;
use reprise_examples::saga::{BookTrip, Itinerary, Step, TASK_QUEUE, TravelActivities, Trip};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _server) = reprise_examples::runner::connect().await?;
    let providers = TravelActivities::sold_out(Step::Car);
    let worker = Worker::builder(client.clone(), TASK_QUEUE)
        .workflow::<BookTrip>()
        .activities(providers.clone())
        .build()?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::spawn(worker.run());
    let suffix = std::process::id();
    for destination in ["Lisbon", "Kyoto"] {
        let trip = Trip {
            id: format!("trip-{destination}-{suffix}"),
            destination: destination.into(),
        };
        if destination == "Lisbon" {
            providers.sold_out.lock().map_err(|_| "poisoned")?.clear();
        } else {
            providers
                .sold_out
                .lock()
                .map_err(|_| "poisoned")?
                .insert(Step::Car);
        }
        let handle = client
            .start(
                BookTrip::run,
                (trip.clone(),),
                WorkflowOptions::new(trip.id.clone(), TASK_QUEUE),
            )
            .await?;
        match handle.result::<Itinerary>().await {
            Ok(it) => println!(
                "{destination}: booked {} / {} / {}",
                it.flight, it.hotel, it.car
            ),
            Err(e) => println!("{destination}: {e}"),
        }
    }
    let held = providers.held.lock().map_err(|_| "poisoned")?.clone();
    println!("reservations still held: {held:?}");
    shutdown.shutdown();
    running.await??;
    Ok(())
}
