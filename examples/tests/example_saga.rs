//! The saga example in a TestEnv: every failing step compensates the booked ones in reverse
//! order; compensations retry; a canceled trip is compensated too.

use reprise::client::{ClientError, WorkflowOptions};
use reprise::converter::ApplicationFailure;
use reprise_examples::saga::{BookTrip, Itinerary, Step, TASK_QUEUE, TravelActivities, Trip};
use reprise_testing::TestEnv;
use std::time::Duration;

#[path = "support/record.rs"]
mod support;
use support::record;

fn trip(id: &str) -> Trip {
    Trip {
        id: id.into(),
        destination: "Oslo".into(),
    }
}

/// Books a trip where `step` is sold out; returns the failure and the compensations that ran.
async fn fail_at(
    step: Step,
) -> Result<(Box<reprise::converter::Failure>, Vec<String>), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let providers = TravelActivities::sold_out(step);
    env.worker(TASK_QUEUE)
        .workflow::<BookTrip>()
        .activities(providers.clone())
        .start()?;
    let t = trip(&format!("trip-{step:?}"));
    let handle = env
        .client()
        .start(
            BookTrip::run,
            (t.clone(),),
            WorkflowOptions::new(&t.id, TASK_QUEUE),
        )
        .await?;
    let failure = match handle.result::<Itinerary>().await {
        Err(ClientError::WorkflowFailed(f)) => f,
        other => panic!("expected TripBookingFailed, got {other:?}"),
    };
    assert_eq!(failure.application_type(), Some("TripBookingFailed"));
    let (compensated,): (Vec<String>,) = failure.details(&Default::default())?;
    assert!(
        providers.held.lock().map_err(|_| "poisoned")?.is_empty(),
        "nothing left booked"
    );
    record(
        &env,
        &t.id,
        &format!("saga/sold-out-{}.json", format!("{step:?}").to_lowercase()),
    )
    .await?;
    env.finish().await?;
    Ok((failure, compensated))
}

#[tokio::test]
async fn a_sold_out_flight_needs_no_compensation() -> Result<(), Box<dyn std::error::Error>> {
    let (_, compensated) = fail_at(Step::Flight).await?;
    assert!(compensated.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_sold_out_hotel_cancels_the_flight() -> Result<(), Box<dyn std::error::Error>> {
    let (_, compensated) = fail_at(Step::Hotel).await?;
    assert_eq!(compensated, ["Flight:flight-trip-Hotel"]);
    Ok(())
}

#[tokio::test]
async fn a_sold_out_car_cancels_hotel_then_flight() -> Result<(), Box<dyn std::error::Error>> {
    let (failure, compensated) = fail_at(Step::Car).await?;
    assert_eq!(
        compensated,
        ["Hotel:hotel-trip-Car", "Flight:flight-trip-Car"]
    );
    assert!(failure.message.contains("sold out"), "{failure}");
    Ok(())
}

#[tokio::test]
async fn a_trip_books_all_three() -> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let providers = TravelActivities::default();
    env.worker(TASK_QUEUE)
        .workflow::<BookTrip>()
        .activities(providers.clone())
        .start()?;
    let t = trip("trip-ok");
    let it: Itinerary = env
        .client()
        .execute(
            BookTrip::run,
            (t.clone(),),
            WorkflowOptions::new(&t.id, TASK_QUEUE),
        )
        .await?;
    assert_eq!(it.car, "car-trip-ok");
    assert_eq!(providers.held.lock().map_err(|_| "poisoned")?.len(), 3);
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn compensations_retry_until_they_succeed() -> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let providers = TravelActivities::sold_out(Step::Car);
    // The hotel's cancellation service is down for the first two attempts.
    let cancel_hotel = env.mock_activity(
        TravelActivities::cancel_hotel,
        |ctx, (reservation,)| async move {
            if ctx.info().attempt < 3 {
                return Err(ApplicationFailure::new("hotel service unavailable").into());
            }
            let _ = reservation;
            Ok(())
        },
    );
    env.worker(TASK_QUEUE)
        .workflow::<BookTrip>()
        .activities(providers.clone())
        .start()?;
    let t = trip("trip-retry");
    let handle = env
        .client()
        .start(
            BookTrip::run,
            (t.clone(),),
            WorkflowOptions::new(&t.id, TASK_QUEUE),
        )
        .await?;
    assert!(matches!(
        handle.result::<Itinerary>().await,
        Err(ClientError::WorkflowFailed(_))
    ));
    let attempts: Vec<u32> = cancel_hotel.calls().iter().map(|c| c.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    // Backoff 1 s then 2 s, in virtual time, between the attempts.
    let calls = cancel_hotel.calls();
    assert!(calls[2].time.duration_since(calls[0].time)? >= Duration::from_secs(3));
    env.finish().await?;
    Ok(())
}

#[tokio::test]
async fn a_trip_canceled_while_booking_is_compensated() -> Result<(), Box<dyn std::error::Error>> {
    let env = TestEnv::start().await?;
    let providers = TravelActivities::default();
    // The car rental takes a day to answer; the trip is canceled meanwhile.
    env.mock_activity(
        TravelActivities::reserve_car,
        |ctx, (t,): (Trip,)| async move {
            ctx.sleep(Duration::from_secs(86_400)).await;
            Ok(format!("car-{}", t.id))
        },
    );
    env.worker(TASK_QUEUE)
        .workflow::<BookTrip>()
        .activities(providers.clone())
        .start()?;
    let t = trip("trip-cancel");
    let handle = env
        .client()
        .start(
            BookTrip::run,
            (t.clone(),),
            WorkflowOptions::new(&t.id, TASK_QUEUE),
        )
        .await?;
    env.sleep(Duration::from_secs(60)).await;
    handle.cancel("changed my mind").await?;
    match handle.result::<Itinerary>().await {
        Err(ClientError::WorkflowFailed(f)) => {
            let (compensated,): (Vec<String>,) = f.details(&Default::default())?;
            assert_eq!(
                compensated,
                ["Hotel:hotel-trip-cancel", "Flight:flight-trip-cancel"]
            );
        }
        other => panic!("expected a compensated failure, got {other:?}"),
    }
    assert!(providers.held.lock().map_err(|_| "poisoned")?.is_empty());
    env.finish().await?;
    Ok(())
}
