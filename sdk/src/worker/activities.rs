//! Activity tasks (polled from the server) and local activities (asked for by a workflow task),
//! run on the tokio runtime.

use super::{WorkerError, WorkerOptions};
use crate::activity::{ActivityContext, ActivityError, ActivityInfo, ActivityRegistry};
use crate::api::temporal::api::common::v1::{Payload, Payloads, WorkflowExecution};
use crate::api::temporal::api::enums::v1::{RetryState, TaskQueueKind};
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::client::{Client, ClientError};
use crate::converter::{ApplicationFailure, Failure, FailureKind};
use crate::workflow::state::{LocalActivityRequest, MachineId, Resolution};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

#[derive(Clone)]
pub(crate) struct ActivityPoller {
    client: Client,
    options: WorkerOptions,
    activities: Arc<ActivityRegistry>,
    slots: Arc<Semaphore>,
}

fn not_registered(activity_type: &str, registry: &ActivityRegistry) -> ActivityError {
    let known = registry.activity_types().collect::<Vec<_>>().join(", ");
    ActivityError::Failed(Box::new(
        ApplicationFailure::new(format!(
            "activity type {activity_type:?} is not registered on this worker (registered: {known})"
        ))
        .with_type("NotFoundError")
        .into(),
    ))
}

/// Runs an activity function, turning a panic into a failure.
async fn invoke(
    registry: &ActivityRegistry,
    activity_type: &str,
    ctx: ActivityContext,
    input: Vec<Payload>,
) -> Result<Vec<Payload>, ActivityError> {
    let Some(activity) = registry.get(activity_type) else {
        return Err(not_registered(activity_type, registry));
    };
    match AssertUnwindSafe(activity(ctx, input)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "activity panicked".into());
            Err(ActivityError::Failed(Box::new(
                ApplicationFailure::new(message).with_type("Panic").into(),
            )))
        }
    }
}

impl ActivityPoller {
    pub(crate) fn new(
        client: Client,
        options: WorkerOptions,
        activities: Arc<ActivityRegistry>,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(options.max_concurrent_activities));
        ActivityPoller {
            client,
            options,
            activities,
            slots,
        }
    }

    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let request = ws::PollActivityTaskQueueRequest {
                namespace: self.client.namespace().to_string(),
                task_queue: Some(TaskQueue {
                    name: self.options.task_queue.clone(),
                    kind: TaskQueueKind::Normal as i32,
                    ..Default::default()
                }),
                identity: self.client.identity().to_string(),
                ..Default::default()
            };
            let poll = self.client.call(
                "",
                request,
                Duration::from_secs(70),
                |mut s, r| async move { s.poll_activity_task_queue(r).await },
            );
            let task =
                match super::poll_once(poll, &mut shutdown, &mut backoff, &self.options.task_queue)
                    .await?
                {
                    super::Polled::Task(task) => task,
                    super::Polled::Nothing => continue,
                    super::Polled::Shutdown => return Ok(()),
                };
            if task.task_token.is_empty() {
                continue;
            }
            let this = self.clone();
            tokio::spawn(async move {
                this.execute(task).await;
                drop(permit);
            });
        }
    }

    /// Waits (up to `timeout`) for running activities to finish.
    pub(crate) async fn drain(&self, timeout: Duration) {
        let all = self.options.max_concurrent_activities as u32;
        let _ = tokio::time::timeout(timeout, self.slots.acquire_many(all)).await;
    }

    async fn execute(&self, task: ws::PollActivityTaskQueueResponse) {
        let converter = self.client.data_converter().clone();
        let execution = task.workflow_execution.clone().unwrap_or_default();
        let activity_type = task
            .activity_type
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let info = ActivityInfo {
            activity_id: task.activity_id.clone(),
            activity_type: activity_type.clone(),
            attempt: task.attempt.max(1) as u32,
            workflow_id: execution.workflow_id.clone(),
            run_id: execution.run_id.clone(),
            workflow_type: task
                .workflow_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            namespace: self.client.namespace().to_string(),
            task_queue: self.options.task_queue.clone(),
            start_to_close_timeout: task.start_to_close_timeout.and_then(|d| d.try_into().ok()),
            heartbeat_timeout: task.heartbeat_timeout.and_then(|d| d.try_into().ok()),
            scheduled_time: task.scheduled_time.as_ref().map(|t| t.to_system_time()),
            is_local: false,
        };
        let details = converter
            .decode_payloads(
                task.heartbeat_details
                    .map(|p| p.payloads)
                    .unwrap_or_default(),
            )
            .unwrap_or_default();
        let ctx = ActivityContext::new(info, converter.clone(), details);
        ctx.set_heartbeat_sink(heartbeat_sink(&self.client, &ctx, task.task_token.clone()));
        let result =
            match converter.decode_payloads(task.input.map(|p| p.payloads).unwrap_or_default()) {
                Ok(input) => invoke(&self.activities, &activity_type, ctx.clone(), input).await,
                Err(e) => Err(e.into()),
            };
        let namespace = self.client.namespace().to_string();
        let identity = self.client.identity().to_string();
        let token = task.task_token;
        let outcome = match result {
            Ok(payloads) => {
                let result = converter.encode_payloads(payloads).unwrap_or_default();
                let request = ws::RespondActivityTaskCompletedRequest {
                    task_token: token,
                    result: (!result.is_empty()).then_some(Payloads { payloads: result }),
                    identity,
                    namespace,
                    ..Default::default()
                };
                self.client
                    .call(
                        &execution.workflow_id,
                        request,
                        self.client.rpc_timeout(),
                        |mut s, r| async move { s.respond_activity_task_completed(r).await },
                    )
                    .await
                    .map(|_| ())
            }
            Err(ActivityError::Canceled { details }) => {
                let details = converter.encode_payloads(details).unwrap_or_default();
                let request = ws::RespondActivityTaskCanceledRequest {
                    task_token: token,
                    details: (!details.is_empty()).then_some(Payloads { payloads: details }),
                    identity,
                    namespace,
                    ..Default::default()
                };
                self.client
                    .call(
                        &execution.workflow_id,
                        request,
                        self.client.rpc_timeout(),
                        |mut s, r| async move { s.respond_activity_task_canceled(r).await },
                    )
                    .await
                    .map(|_| ())
            }
            Err(ActivityError::Failed(failure)) => {
                let mut proto = failure.to_proto();
                let _ = converter.encode_failure(&mut proto);
                let last = converter
                    .encode_payloads(ctx.last_heartbeat())
                    .unwrap_or_default();
                let request = ws::RespondActivityTaskFailedRequest {
                    task_token: token,
                    failure: Some(proto),
                    identity,
                    namespace,
                    last_heartbeat_details: (!last.is_empty())
                        .then_some(Payloads { payloads: last }),
                    ..Default::default()
                };
                self.client
                    .call(
                        &execution.workflow_id,
                        request,
                        self.client.rpc_timeout(),
                        |mut s, r| async move { s.respond_activity_task_failed(r).await },
                    )
                    .await
                    .map(|_| ())
            }
        };
        if let Err(e) = outcome {
            // Typically NotFound: the attempt timed out or the workflow closed meanwhile.
            tracing::debug!(error = %e, activity_type, "activity result not accepted");
        }
    }
}

/// Sends heartbeats, one at a time, always the latest details; a reply asking for cancellation
/// cancels the context.
fn heartbeat_sink(
    client: &Client,
    ctx: &ActivityContext,
    token: Vec<u8>,
) -> crate::activity::HeartbeatSink {
    struct Beat {
        pending: Mutex<Option<Vec<Payload>>>,
        in_flight: AtomicBool,
    }
    let beat = Arc::new(Beat {
        pending: Mutex::new(None),
        in_flight: AtomicBool::new(false),
    });
    let client = client.clone();
    let weak = Arc::downgrade(&ctx.inner);
    Arc::new(move |details: Vec<Payload>| {
        if let Ok(mut p) = beat.pending.lock() {
            *p = Some(details);
        }
        if beat.in_flight.swap(true, Ordering::AcqRel) {
            return;
        }
        let (beat, client, weak, token) =
            (beat.clone(), client.clone(), weak.clone(), token.clone());
        tokio::spawn(async move {
            loop {
                let next = beat.pending.lock().ok().and_then(|mut p| p.take());
                let Some(details) = next else { break };
                let details = client
                    .data_converter()
                    .encode_payloads(details)
                    .unwrap_or_default();
                let request = ws::RecordActivityTaskHeartbeatRequest {
                    task_token: token.clone(),
                    details: (!details.is_empty()).then_some(Payloads { payloads: details }),
                    identity: client.identity().to_string(),
                    namespace: client.namespace().to_string(),
                    ..Default::default()
                };
                let reply = client
                    .call("", request, client.rpc_timeout(), |mut s, r| async move {
                        s.record_activity_task_heartbeat(r).await
                    })
                    .await;
                let cancel = match reply {
                    Ok(r) => r.cancel_requested,
                    // The attempt is gone (timed out, workflow closed): stop the activity.
                    Err(ClientError::NotFound { .. }) => true,
                    Err(_) => false,
                };
                if cancel && let Some(inner) = weak.upgrade() {
                    (ActivityContext { inner }).cancel();
                }
            }
            beat.in_flight.store(false, Ordering::Release);
        });
    })
}

/// Runs one local activity with its retry policy; returns how it ended and the attempt count.
pub(crate) async fn run_local_activity(
    client: &Client,
    registry: &ActivityRegistry,
    (execution, workflow_type): &(WorkflowExecution, String),
    request: LocalActivityRequest,
) -> (MachineId, Resolution, u32) {
    let converter = client.data_converter().clone();
    let policy = request.options.retry_policy.clone().unwrap_or_default();
    let initial = policy.initial_interval.unwrap_or(Duration::from_secs(1));
    let coefficient = policy
        .backoff_coefficient
        .filter(|c| *c >= 1.0)
        .unwrap_or(2.0);
    let maximum = policy.maximum_interval.unwrap_or(initial * 100);
    let timeout = request
        .options
        .start_to_close_timeout
        .or(request.options.schedule_to_close_timeout)
        .unwrap_or(Duration::from_secs(60));
    let mut attempt: u32 = 1;
    loop {
        let info = ActivityInfo {
            activity_id: request.options.activity_id_or(request.seq),
            activity_type: request.activity_type.clone(),
            attempt,
            workflow_id: execution.workflow_id.clone(),
            run_id: execution.run_id.clone(),
            workflow_type: workflow_type.clone(),
            namespace: client.namespace().to_string(),
            start_to_close_timeout: Some(timeout),
            is_local: true,
            ..Default::default()
        };
        let ctx = ActivityContext::new(info, converter.clone(), Vec::new());
        let result = match tokio::time::timeout(
            timeout,
            invoke(registry, &request.activity_type, ctx, request.input.clone()),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ActivityError::Failed(Box::new(Failure::new(
                "local activity timed out",
                FailureKind::Timeout {
                    timeout_type: crate::api::temporal::api::enums::v1::TimeoutType::StartToClose,
                    last_heartbeat_details: vec![],
                },
            )))),
        };
        let failure = match result {
            Ok(payloads) => return (request.machine, Resolution::Completed(payloads), attempt),
            Err(ActivityError::Canceled { details }) => Failure::new(
                "local activity canceled",
                FailureKind::Canceled {
                    details,
                    identity: String::new(),
                },
            ),
            Err(ActivityError::Failed(f)) => *f,
        };
        let non_retryable = failure.is_non_retryable()
            || failure
                .application_type()
                .is_some_and(|t| policy.non_retryable_error_types.iter().any(|n| n == t));
        let exhausted = policy.maximum_attempts > 0 && attempt >= policy.maximum_attempts;
        if non_retryable || exhausted {
            let retry_state = if non_retryable {
                RetryState::NonRetryableFailure
            } else {
                RetryState::MaximumAttemptsReached
            };
            let wrapped = Failure::new(
                "local activity failed",
                FailureKind::Activity {
                    activity_type: request.activity_type.clone(),
                    activity_id: request.options.activity_id_or(request.seq),
                    scheduled_event_id: 0,
                    started_event_id: 0,
                    identity: client.identity().to_string(),
                    retry_state,
                },
            )
            .with_cause(failure);
            return (
                request.machine,
                Resolution::Failed(Box::new(wrapped)),
                attempt,
            );
        }
        let delay = initial
            .mul_f64(coefficient.powi(attempt as i32 - 1))
            .min(maximum);
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}
