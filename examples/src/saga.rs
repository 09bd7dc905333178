//! Trip booking as a saga: reserve a flight, a hotel and a car; if a step fails, undo the
//! reservations already made, in reverse order, then fail the trip.
//!
//! Each compensation is an activity with its own retry policy, so a provider that is briefly
//! down while cancelling does not leave a reservation behind. A trip canceled by its client while
//! booking is compensated too: the compensations run in a [detached](WorkflowContext::detached)
//! context, which the cancellation does not reach.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::client::RetryPolicy;
use reprise::converter::{ApplicationFailure, DataConverter, Failure};
use reprise::workflow::{WorkflowContext, WorkflowResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Task queue of the travel worker.
pub const TASK_QUEUE: &str = "travel";

/// A trip to book.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Trip {
    /// Trip id (also the idempotency key of every reservation).
    pub id: String,
    /// Destination.
    pub destination: String,
}

/// The booked trip.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Itinerary {
    /// Flight reservation id.
    pub flight: String,
    /// Hotel reservation id.
    pub hotel: String,
    /// Car reservation id.
    pub car: String,
}

/// Retries of reservations and compensations: 1 s, ×2, up to 10 s apart, 5 attempts.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy::new()
        .with_initial_interval(Duration::from_secs(1))
        .with_backoff_coefficient(2.0)
        .with_maximum_interval(Duration::from_secs(10))
        .with_maximum_attempts(5)
        .with_non_retryable_error_type("SoldOut")
}

/// Books a trip, compensating on failure.
#[derive(Default)]
pub struct BookTrip;

#[reprise::workflow(name = "BookTrip")]
impl BookTrip {
    /// The workflow. Fails with `TripBookingFailed` (details: the compensations that ran, in
    /// order) when a reservation fails.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext, trip: Trip) -> WorkflowResult<Itinerary> {
        // (undo activity, reservation id), in booking order.
        let mut booked: Vec<(Step, String)> = Vec::new();
        let mut steps = [Step::Flight, Step::Hotel, Step::Car].into_iter();
        let failure = loop {
            let Some(step) = steps.next() else {
                break None;
            };
            match reserve(ctx, step, &trip).await {
                Ok(reservation) => booked.push((step, reservation)),
                Err(e) => break Some(e),
            }
        };
        let Some(failure) = failure else {
            let id = |s: Step| {
                booked
                    .iter()
                    .find(|(b, _)| *b == s)
                    .map(|(_, r)| r.clone())
                    .unwrap_or_default()
            };
            return Ok(Itinerary {
                flight: id(Step::Flight),
                hotel: id(Step::Hotel),
                car: id(Step::Car),
            });
        };
        // Undo in reverse order; out of reach of a cancellation of the trip.
        let cleanup = ctx.detached();
        let mut compensated = Vec::new();
        for (step, reservation) in booked.iter().rev() {
            cancel(&cleanup, *step, reservation).await?;
            compensated.push(format!("{step:?}:{reservation}"));
        }
        let message = format!(
            "trip {} failed at {}; compensated {}",
            trip.id,
            failure.root_cause().message,
            if compensated.is_empty() {
                "nothing".to_string()
            } else {
                compensated.join(", ")
            }
        );
        let error = ApplicationFailure::new(message)
            .with_type("TripBookingFailed")
            .non_retryable()
            .with_details(&(compensated,), &DataConverter::default())?
            .with_cause(failure);
        Err(error.into())
    }
}

/// One step of the trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Step {
    /// The flight.
    Flight,
    /// The hotel.
    Hotel,
    /// The rental car.
    Car,
}

async fn reserve(ctx: &WorkflowContext, step: Step, trip: &Trip) -> Result<String, Failure> {
    let call = match step {
        Step::Flight => ctx.activity(TravelActivities::reserve_flight, (trip.clone(),)),
        Step::Hotel => ctx.activity(TravelActivities::reserve_hotel, (trip.clone(),)),
        Step::Car => ctx.activity(TravelActivities::reserve_car, (trip.clone(),)),
    };
    call.start_to_close_timeout(Duration::from_secs(10))
        .retry_policy(retry_policy())
        .await
}

async fn cancel(ctx: &WorkflowContext, step: Step, reservation: &str) -> Result<(), Failure> {
    let call = match step {
        Step::Flight => ctx.activity(TravelActivities::cancel_flight, (reservation.to_string(),)),
        Step::Hotel => ctx.activity(TravelActivities::cancel_hotel, (reservation.to_string(),)),
        Step::Car => ctx.activity(TravelActivities::cancel_car, (reservation.to_string(),)),
    };
    call.start_to_close_timeout(Duration::from_secs(10))
        .retry_policy(retry_policy())
        .await
}

/// The travel providers (a stand-in that keeps its reservations in memory).
#[derive(Clone, Default)]
pub struct TravelActivities {
    /// Reservations currently held, as `Step:id`.
    pub held: Arc<Mutex<BTreeSet<String>>>,
    /// Steps whose provider is sold out (a non-retryable failure).
    pub sold_out: Arc<Mutex<BTreeSet<Step>>>,
}

impl TravelActivities {
    /// Providers where `step` is sold out.
    pub fn sold_out(step: Step) -> Self {
        let providers = TravelActivities::default();
        if let Ok(mut s) = providers.sold_out.lock() {
            s.insert(step);
        }
        providers
    }

    fn book(&self, step: Step, trip: &Trip) -> Result<String, ActivityError> {
        let sold_out = self
            .sold_out
            .lock()
            .map_err(|_| ActivityError::non_retryable("provider state poisoned"))?
            .contains(&step);
        if sold_out {
            return Err(ApplicationFailure::new(format!(
                "{step:?} to {} is sold out",
                trip.destination
            ))
            .with_type("SoldOut")
            .non_retryable()
            .into());
        }
        let id = format!("{}-{}", format!("{step:?}").to_lowercase(), trip.id);
        self.held
            .lock()
            .map_err(|_| ActivityError::non_retryable("provider state poisoned"))?
            .insert(format!("{step:?}:{id}"));
        Ok(id)
    }

    fn release(&self, step: Step, reservation: &str) -> Result<(), ActivityError> {
        self.held
            .lock()
            .map_err(|_| ActivityError::non_retryable("provider state poisoned"))?
            .remove(&format!("{step:?}:{reservation}"));
        Ok(())
    }
}

#[reprise::activities]
impl TravelActivities {
    /// Reserves a flight.
    pub async fn reserve_flight(
        &self,
        _ctx: ActivityContext,
        trip: Trip,
    ) -> Result<String, ActivityError> {
        self.book(Step::Flight, &trip)
    }
    /// Reserves a hotel room.
    pub async fn reserve_hotel(
        &self,
        _ctx: ActivityContext,
        trip: Trip,
    ) -> Result<String, ActivityError> {
        self.book(Step::Hotel, &trip)
    }
    /// Reserves a car.
    pub async fn reserve_car(
        &self,
        _ctx: ActivityContext,
        trip: Trip,
    ) -> Result<String, ActivityError> {
        self.book(Step::Car, &trip)
    }
    /// Cancels a flight reservation.
    pub async fn cancel_flight(
        &self,
        _ctx: ActivityContext,
        reservation: String,
    ) -> Result<(), ActivityError> {
        self.release(Step::Flight, &reservation)
    }
    /// Cancels a hotel reservation.
    pub async fn cancel_hotel(
        &self,
        _ctx: ActivityContext,
        reservation: String,
    ) -> Result<(), ActivityError> {
        self.release(Step::Hotel, &reservation)
    }
    /// Cancels a car reservation.
    pub async fn cancel_car(
        &self,
        _ctx: ActivityContext,
        reservation: String,
    ) -> Result<(), ActivityError> {
        self.release(Step::Car, &reservation)
    }
}
