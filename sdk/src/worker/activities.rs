//! Activity tasks (polled from the server) and local activities (asked for by a workflow task),
//! run on the tokio runtime.

use super::interceptor::{ActivityInbound, Interceptor};
use super::telemetry::{Slots, Telemetry, WorkerType};
use super::{WorkerError, WorkerOptions};
use crate::activity::{ActivityContext, ActivityError, ActivityInfo, ActivityRegistry};
use crate::api::temporal::api::common::v1::{Payload, Payloads, WorkflowExecution};
use crate::api::temporal::api::enums::v1::{RetryState, TaskQueueKind};
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::client::{Client, ClientError};
use crate::converter::{ApplicationFailure, Failure, FailureKind};
use crate::telemetry::names;
use crate::workflow::state::{LocalActivityRequest, MachineId, Resolution};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

#[derive(Clone)]
pub(crate) struct ActivityPoller {
    client: Client,
    options: WorkerOptions,
    activities: Arc<ActivityRegistry>,
    pub(crate) slots: Slots,
    telemetry: Telemetry,
    running: super::running::RunningActivities,
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

/// Runs an activity function (after the worker's interceptor saw the attempt), turning a panic
/// into a failure.
async fn invoke(
    registry: &ActivityRegistry,
    interceptor: &Interceptor,
    activity_type: &str,
    ctx: ActivityContext,
    input: Vec<Payload>,
) -> Result<Vec<Payload>, ActivityError> {
    if let Some(i) = &interceptor.0 {
        i.execute_activity(&ActivityInbound {
            info: ctx.info(),
            headers: ctx.headers(),
            args: &input,
        });
    }
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
        telemetry: Telemetry,
    ) -> Self {
        let slots = Slots::new(options.max_concurrent_activities, WorkerType::Activity);
        ActivityPoller {
            client,
            options,
            activities,
            slots,
            telemetry,
            running: Default::default(),
        }
    }

    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let Ok(permit) = self.slots.semaphore.clone().acquire_owned().await else {
                return Ok(());
            };
            self.slots.report(&self.telemetry);
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
            let span = tracing::debug_span!(
                "temporal_poll",
                namespace = self.client.namespace(),
                task_queue = %self.options.task_queue,
                poller_type = "activity_task",
            );
            let polled =
                super::poll_once(poll, &mut shutdown, &mut backoff, &self.options.task_queue)
                    .instrument(span)
                    .await?;
            let task = match polled {
                super::Polled::Task(task) if !task.task_token.is_empty() => task,
                super::Polled::Task(_) | super::Polled::Nothing => {
                    self.telemetry.count(names::ACTIVITY_POLL_NO_TASK, 1);
                    drop(permit);
                    self.slots.report(&self.telemetry);
                    continue;
                }
                super::Polled::Shutdown => return Ok(()),
            };
            let this = self.clone();
            tokio::spawn(async move {
                this.execute(task).await;
                drop(permit);
                this.slots.report(&this.telemetry);
            });
        }
    }

    /// Waits (up to `timeout`) for running activities to finish.
    /// Past it, running activities are canceled (their contexts report it) and get as long
    /// again to report; an attempt canceled this way is reported as a retryable failure
    /// (`WorkerShutdown`), so the server retries it on another worker.
    pub(crate) async fn drain(&self, timeout: Duration) {
        let all = self.options.max_concurrent_activities as u32;
        if tokio::time::timeout(timeout, self.slots.semaphore.acquire_many(all))
            .await
            .is_ok()
        {
            return;
        }
        let canceled = self.running.cancel_all();
        tracing::warn!(
            task_queue = %self.options.task_queue,
            canceled,
            "graceful shutdown timeout passed: canceling the running activities"
        );
        let _ = tokio::time::timeout(timeout, self.slots.semaphore.acquire_many(all)).await;
    }

    async fn execute(&self, task: ws::PollActivityTaskQueueResponse) {
        let span = tracing::info_span!(
            "activity",
            namespace = self.client.namespace(),
            task_queue = %self.options.task_queue,
            workflow_type = task.workflow_type.as_ref().map_or("", |t| t.name.as_str()),
            workflow_id = task.workflow_execution.as_ref().map_or("", |e| e.workflow_id.as_str()),
            run_id = task.workflow_execution.as_ref().map_or("", |e| e.run_id.as_str()),
            activity_type = task.activity_type.as_ref().map_or("", |t| t.name.as_str()),
            activity_id = %task.activity_id,
            attempt = task.attempt,
        );
        self.attempt(task).instrument(span).await
    }

    /// One activity attempt: run it, report how it ended.
    async fn attempt(&self, task: ws::PollActivityTaskQueueResponse) {
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
        let _running = self.running.register(&ctx);
        ctx.set_heartbeat_sink(heartbeat_sink(&self.client, &ctx, task.task_token.clone()));
        if let Some(header) = task.header {
            ctx.set_headers(header.fields);
        }
        let tag = Some(("activity_type", activity_type.as_str()));
        self.telemetry.between(
            names::ACTIVITY_SCHEDULE_TO_START_LATENCY,
            task.current_attempt_scheduled_time.as_ref(),
            task.started_time.as_ref(),
            tag,
        );
        let started = std::time::Instant::now();
        let interceptor = &self.options.interceptor;
        let result =
            match converter.decode_payloads(task.input.map(|p| p.payloads).unwrap_or_default()) {
                Ok(input) => {
                    let ctx = ctx.clone();
                    invoke(&self.activities, interceptor, &activity_type, ctx, input).await
                }
                Err(e) => Err(e.into()),
            };
        let result = match result {
            // Canceled by this worker's shutdown, not by the workflow: a retryable failure, so
            // the attempt is retried (on another worker) instead of ending the activity.
            Err(ActivityError::Canceled { .. }) if self.running.shutting_down() => {
                Err(ActivityError::Failed(Box::new(
                    ApplicationFailure::new(
                        "the worker shut down: the activity was canceled after the graceful \
                         shutdown timeout",
                    )
                    .with_type("WorkerShutdown")
                    .into(),
                )))
            }
            other => other,
        };
        self.record(
            &activity_type,
            &result,
            started,
            task.scheduled_time.as_ref(),
        );
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

impl ActivityPoller {
    /// An attempt's metrics, and its failure logged once with its cause chain.
    fn record(
        &self,
        activity_type: &str,
        result: &Result<Vec<Payload>, ActivityError>,
        started: std::time::Instant,
        scheduled: Option<&crate::api::google::protobuf::Timestamp>,
    ) {
        let t = &self.telemetry;
        let key = "activity_type";
        t.latency_for(
            names::ACTIVITY_EXECUTION_LATENCY,
            key,
            activity_type,
            started.elapsed(),
        );
        match result {
            Ok(_) => {
                if let Some(since) = scheduled.and_then(|s| {
                    std::time::SystemTime::now()
                        .duration_since(s.to_system_time())
                        .ok()
                }) {
                    t.latency_for(
                        names::ACTIVITY_SUCCEED_ENDTOEND_LATENCY,
                        key,
                        activity_type,
                        since,
                    );
                }
            }
            Err(ActivityError::Canceled { .. }) => {
                t.count_for(names::ACTIVITY_EXECUTION_CANCELLED, key, activity_type);
            }
            Err(ActivityError::Failed(failure)) => {
                t.count_for(names::ACTIVITY_EXECUTION_FAILED, key, activity_type);
                tracing::warn!(error = %failure, "activity attempt failed");
            }
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
    (telemetry, interceptor): (&Telemetry, &Interceptor),
    (execution, workflow_type, task_queue): &(WorkflowExecution, String, String),
    request: LocalActivityRequest,
) -> (MachineId, Resolution, u32) {
    let scheduled = std::time::Instant::now();
    let key = "activity_type";
    let activity_type = request.activity_type.as_str();
    telemetry.count_for(names::LOCAL_ACTIVITY_TOTAL, key, activity_type);
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
            task_queue: task_queue.clone(),
            start_to_close_timeout: Some(timeout),
            is_local: true,
            ..Default::default()
        };
        let span = tracing::info_span!(
            "local_activity",
            namespace = client.namespace(),
            task_queue = %task_queue,
            workflow_type = %workflow_type,
            workflow_id = %execution.workflow_id,
            run_id = %execution.run_id,
            activity_type,
            activity_id = %info.activity_id,
            attempt,
        );
        let ctx = ActivityContext::new(info, converter.clone(), Vec::new());
        let started = std::time::Instant::now();
        let run = invoke(
            registry,
            interceptor,
            activity_type,
            ctx,
            request.input.clone(),
        );
        let result = match tokio::time::timeout(timeout, run)
            .instrument(span.clone())
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
        let elapsed = started.elapsed();
        telemetry.latency_for(
            names::LOCAL_ACTIVITY_EXECUTION_LATENCY,
            key,
            activity_type,
            elapsed,
        );
        let failure = match result {
            Ok(payloads) => {
                let since = scheduled.elapsed();
                let name = names::LOCAL_ACTIVITY_SUCCEED_ENDTOEND_LATENCY;
                telemetry.latency_for(name, key, activity_type, since);
                return (request.machine, Resolution::Completed(payloads), attempt);
            }
            Err(ActivityError::Canceled { details }) => Failure::new(
                "local activity canceled",
                FailureKind::Canceled {
                    details,
                    identity: String::new(),
                },
            ),
            Err(ActivityError::Failed(f)) => *f,
        };
        if matches!(failure.kind, FailureKind::Canceled { .. }) {
            telemetry.count_for(
                names::LOCAL_ACTIVITY_EXECUTION_CANCELLED,
                key,
                activity_type,
            );
        } else {
            telemetry.count_for(names::LOCAL_ACTIVITY_EXECUTION_FAILED, key, activity_type);
            span.in_scope(|| tracing::warn!(error = %failure, "local activity attempt failed"));
        }
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
