//! Graceful shutdown: a worker asked to stop waits for its running activities up to the
//! graceful shutdown timeout, then cancels them; an attempt canceled this way is reported as a
//! retryable failure, and another worker runs the next attempt.

use reprise::activity::{ActivityContext, ActivityError};
use reprise::api::temporal::api::enums::v1::EventType;
use reprise::api::temporal::api::history::v1::history_event::Attributes;
use reprise::client::{Client, ClientOptions, RetryPolicy, WorkflowOptions};
use reprise::worker::{Worker, WorkerOptions};
use reprise::workflow::{WorkflowContext, WorkflowResult};
use reprise_testing::server::{ServerOptions, TestServer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Runs one patient activity.
#[derive(Default)]
pub struct OneStep;

#[reprise::workflow(name = "OneStep")]
impl OneStep {
    /// The activity, retried quickly.
    #[run]
    pub async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<String> {
        Ok(ctx
            .activity(Patient::wait, ())
            .start_to_close_timeout(Duration::from_secs(60))
            .retry_policy(RetryPolicy::new().with_initial_interval(Duration::from_millis(100)))
            .await?)
    }
}

/// The first attempt runs until canceled; later ones return at once.
#[derive(Clone, Default)]
pub struct Patient {
    started: Arc<Notify>,
    saw_cancel: Arc<AtomicBool>,
}

#[reprise::activities]
impl Patient {
    /// Waits for cancellation on attempt 1.
    pub async fn wait(&self, ctx: ActivityContext) -> Result<String, ActivityError> {
        let attempt = ctx.info().attempt;
        if attempt == 1 {
            self.started.notify_one();
            ctx.canceled().await;
            self.saw_cancel.store(true, Ordering::SeqCst);
            return Err(ActivityError::canceled());
        }
        Ok(format!("attempt {attempt}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_activities_past_the_grace_period_and_they_are_retried() {
    let server = TestServer::start(ServerOptions::default())
        .await
        .expect("server");
    let client = Client::connect(ClientOptions::new(server.target()))
        .await
        .expect("connect");
    let patient = Patient::default();
    let first = Worker::builder(client.clone(), "shutdown")
        .options(
            WorkerOptions::new("shutdown")
                .with_graceful_shutdown_timeout(Duration::from_millis(300)),
        )
        .workflow::<OneStep>()
        .activities(patient.clone())
        .build()
        .expect("worker");
    let stop = first.shutdown_handle();
    let running = tokio::spawn(async move { first.run().await });
    let handle = client
        .start(
            OneStep::run,
            (),
            WorkflowOptions::new("one-step", "shutdown"),
        )
        .await
        .expect("start");
    tokio::time::timeout(Duration::from_secs(30), patient.started.notified())
        .await
        .expect("attempt 1 started");

    stop.shutdown();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the worker stopped after its grace period")
        .expect("join")
        .expect("worker result");
    assert!(
        patient.saw_cancel.load(Ordering::SeqCst),
        "the running activity was told to stop"
    );

    let second = Worker::builder(client.clone(), "shutdown")
        .workflow::<OneStep>()
        .activities(patient.clone())
        .build()
        .expect("worker");
    let stop = second.shutdown_handle();
    let running = tokio::spawn(async move { second.run().await });
    let result: String = tokio::time::timeout(Duration::from_secs(30), handle.result())
        .await
        .expect("finished")
        .expect("result");
    assert_eq!(result, "attempt 2");
    // The canceled attempt was reported as a retryable WorkerShutdown failure: the activity
    // completed on its second attempt, not canceled.
    let history = handle.fetch_history().await.expect("history");
    let started_attempt = history.events.iter().find_map(|e| match &e.attributes {
        Some(Attributes::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
        _ => None,
    });
    assert_eq!(started_attempt, Some(2));
    assert!(
        history
            .events
            .iter()
            .all(|e| e.event_type() != EventType::ActivityTaskCanceled)
    );
    stop.shutdown();
    let _ = running.await;
}
