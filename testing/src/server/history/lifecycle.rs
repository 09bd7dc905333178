//! Starting, signalling, cancelling, terminating and describing runs; continue-as-new and the
//! run timeout.

use super::state::{MutableState, normal_queue, pb_duration, std_duration};
use super::{Engine, Shard, errors};
use crate::store::{RunKey, TimerKind};
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::common::v1::{Header, Payloads, WorkflowType};
use reprise::api::temporal::api::enums::v1::{
    ContinueAsNewInitiator, EventType, PendingActivityState, PendingWorkflowTaskState, RetryState,
    WorkflowExecutionStatus, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
};
use reprise::api::temporal::api::history::v1::{self as hist, history_event::Attributes};
use reprise::api::temporal::api::workflow::v1 as wf;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::time::{Duration, SystemTime};
use tonic::Status;

/// The most a workflow task may run (the official server's cap).
const MAX_WORKFLOW_TASK_TIMEOUT: Duration = Duration::from_secs(120);

/// A start, possibly with a signal (signal-with-start).
#[derive(Debug, Clone, Default)]
pub(crate) struct StartRequest {
    pub(crate) request: ws::StartWorkflowExecutionRequest,
    /// Signal name, input, header for signal-with-start.
    pub(crate) signal: Option<(String, Option<Payloads>, Option<Header>)>,
    /// How long the run is kept once closed (the namespace's retention); `None`: one day.
    pub(crate) retention: Option<Duration>,
}

/// What a start did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StartOutcome {
    pub(crate) run_id: String,
    pub(crate) started: bool,
}

/// Where a new run comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub(crate) continued_from: Option<String>,
    pub(crate) first_run_id: Option<String>,
    pub(crate) initiator: i32,
    pub(crate) parent: Option<super::state::ParentInfo>,
    /// For retries: the attempt of the new run and the failure of the previous one.
    pub(crate) attempt: i32,
    pub(crate) continued_failure: Option<reprise::api::temporal::api::failure::v1::Failure>,
    /// For cron runs: the result of the previous run.
    pub(crate) last_completion_result: Option<Payloads>,
}

/// A new run id (a random version-4 UUID).
pub(crate) fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.finish()
    };
    let hi = (word(1) & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (word(2) & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// Builds a new run: `WorkflowExecutionStarted`, the optional signal, and the first workflow
/// task (or the start-delay timer).
pub(crate) fn new_run(
    namespace: &str,
    start: &StartRequest,
    now: SystemTime,
    origin: Origin,
) -> MutableState {
    let req = &start.request;
    let run_id = new_run_id();
    let key = RunKey {
        namespace: namespace.into(),
        workflow_id: req.workflow_id.clone(),
        run_id: run_id.clone(),
    };
    let task_queue = req
        .task_queue
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let workflow_type = req
        .workflow_type
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let mut ms = MutableState::new(key, workflow_type.clone(), task_queue.clone(), now);
    ms.now = now;
    ms.execution_timeout = std_duration(req.workflow_execution_timeout.as_ref());
    ms.run_timeout = std_duration(req.workflow_run_timeout.as_ref());
    if ms.run_timeout.is_zero()
        || (!ms.execution_timeout.is_zero() && ms.run_timeout > ms.execution_timeout)
    {
        ms.run_timeout = ms.execution_timeout;
    }
    let mut wft_timeout = std_duration(req.workflow_task_timeout.as_ref());
    if wft_timeout.is_zero() {
        wft_timeout = Duration::from_secs(10);
    }
    wft_timeout = wft_timeout.min(MAX_WORKFLOW_TASK_TIMEOUT);
    if !ms.run_timeout.is_zero() {
        wft_timeout = wft_timeout.min(ms.run_timeout);
    }
    ms.workflow_task_timeout = wft_timeout;
    ms.memo = req.memo.clone();
    ms.search_attributes = req.search_attributes.clone();
    ms.start_request_id = req.request_id.clone();
    if !req.request_id.is_empty() {
        ms.request_ids.insert(req.request_id.clone());
    }
    if let Some(first) = &origin.first_run_id {
        ms.first_run_id = first.clone();
    }
    ms.parent = origin.parent.clone();
    if let Some(retention) = start.retention {
        ms.retention = retention;
    }
    ms.start = req.clone();
    ms.attempt = origin.attempt.max(1);
    let mut delay = std_duration(req.workflow_start_delay.as_ref());
    // A cron workflow's first run waits for the first scheduled time (continuations and retries
    // carry their backoff as the start delay).
    if !req.cron_schedule.is_empty()
        && origin.initiator != ContinueAsNewInitiator::CronSchedule as i32
        && origin.initiator != ContinueAsNewInitiator::Retry as i32
        && let Ok(schedule) = super::cron::parse(&req.cron_schedule)
        && let Some(next) = schedule.next(now)
    {
        delay = next.duration_since(now).unwrap_or_default();
    }
    ms.execution_time = now + delay;
    let some_timeout =
        |d: Duration, explicit: bool| (explicit || !d.is_zero()).then(|| pb_duration(d));
    let continued = origin.continued_from.is_some();
    ms.append(
        EventType::WorkflowExecutionStarted,
        Attributes::WorkflowExecutionStartedEventAttributes(
            hist::WorkflowExecutionStartedEventAttributes {
                workflow_type: Some(WorkflowType {
                    name: workflow_type,
                }),
                task_queue: Some(normal_queue(&task_queue)),
                input: req.input.clone(),
                workflow_execution_timeout: some_timeout(ms.execution_timeout, false),
                workflow_run_timeout: some_timeout(ms.run_timeout, continued),
                workflow_task_timeout: Some(pb_duration(wft_timeout)),
                continued_execution_run_id: origin.continued_from.clone().unwrap_or_default(),
                initiator: origin.initiator,
                original_execution_run_id: run_id,
                identity: req.identity.clone(),
                first_execution_run_id: ms.first_run_id.clone(),
                retry_policy: req.retry_policy.clone(),
                attempt: origin.attempt.max(1),
                continued_failure: origin.continued_failure.clone(),
                last_completion_result: origin.last_completion_result.clone(),
                workflow_execution_expiration_time: (!ms.execution_timeout.is_zero())
                    .then(|| Timestamp::from(now + ms.execution_timeout)),
                cron_schedule: req.cron_schedule.clone(),
                first_workflow_task_backoff: (!continued
                    || origin.attempt > 1
                    || origin.initiator == ContinueAsNewInitiator::CronSchedule as i32)
                    .then(|| pb_duration(delay)),
                memo: req.memo.clone(),
                search_attributes: req.search_attributes.clone(),
                header: req.header.clone(),
                workflow_id: req.workflow_id.clone(),
                parent_workflow_namespace: origin
                    .parent
                    .as_ref()
                    .map(|p| p.namespace.clone())
                    .unwrap_or_default(),
                parent_workflow_execution: origin.parent.as_ref().map(|p| {
                    reprise::api::temporal::api::common::v1::WorkflowExecution {
                        workflow_id: p.workflow_id.clone(),
                        run_id: p.run_id.clone(),
                    }
                }),
                parent_initiated_event_id: origin
                    .parent
                    .as_ref()
                    .map_or(0, |p| p.initiated_event_id),
                priority: Some(req.priority.clone().unwrap_or_default()),
                ..Default::default()
            },
        ),
    );
    if let Some((name, input, header)) = &start.signal {
        ms.append(
            EventType::WorkflowExecutionSignaled,
            Attributes::WorkflowExecutionSignaledEventAttributes(
                hist::WorkflowExecutionSignaledEventAttributes {
                    signal_name: name.clone(),
                    input: input.clone(),
                    identity: req.identity.clone(),
                    header: header.clone(),
                    ..Default::default()
                },
            ),
        );
    }
    if delay.is_zero() {
        ms.schedule_workflow_task(1);
    } else {
        ms.add_timer(now + delay, TimerKind::WorkflowStartBackoff);
    }
    if !ms.run_timeout.is_zero() {
        ms.add_timer(now + delay + ms.run_timeout, TimerKind::WorkflowRunTimeout);
    }
    ms
}

impl MutableState {
    /// A user timer fired (ignored if it was canceled meanwhile).
    pub(crate) fn fire_user_timer(&mut self, timer_id: &str, started_event_id: i64) {
        if self.timers.get(timer_id) != Some(&started_event_id) {
            return;
        }
        self.timers.remove(timer_id);
        self.append_external(
            EventType::TimerFired,
            Attributes::TimerFiredEventAttributes(hist::TimerFiredEventAttributes {
                timer_id: timer_id.into(),
                started_event_id,
            }),
        );
    }

    /// Closes the run because its run timeout expired.
    pub(crate) fn run_timed_out(&mut self) {
        self.fail_started_workflow_task(WorkflowTaskFailedCause::Unspecified, false);
        self.flush_buffered();
        let failure = reprise::api::temporal::api::failure::v1::Failure {
            message: "workflow timeout".into(),
            ..Default::default()
        };
        let (retry_state, new_run_id) = match self.retry(&failure) {
            Ok(new_run_id) => (RetryState::InProgress, new_run_id),
            Err(_) => (
                RetryState::Timeout,
                self.cron_continue(None, Some(failure.clone()))
                    .unwrap_or_default(),
            ),
        };
        self.append(
            EventType::WorkflowExecutionTimedOut,
            Attributes::WorkflowExecutionTimedOutEventAttributes(
                hist::WorkflowExecutionTimedOutEventAttributes {
                    retry_state: retry_state as i32,
                    new_execution_run_id: new_run_id,
                },
            ),
        );
        self.close(WorkflowExecutionStatus::TimedOut);
    }

    /// For a cron workflow whose run ends (completed, failed without retry, timed out): prepares
    /// the run of the next scheduled time and returns its id.
    pub(crate) fn cron_continue(
        &mut self,
        result: Option<Payloads>,
        failure: Option<reprise::api::temporal::api::failure::v1::Failure>,
    ) -> Option<String> {
        if self.start.cron_schedule.is_empty() {
            return None;
        }
        let schedule = super::cron::parse(&self.start.cron_schedule).ok()?;
        let next = schedule.next(self.now)?;
        let mut request = self.start.clone();
        request.workflow_start_delay = Some(pb_duration(
            next.duration_since(self.now).unwrap_or_default(),
        ));
        request.request_id = String::new();
        let origin = Origin {
            continued_from: Some(self.key.run_id.clone()),
            first_run_id: Some(self.first_run_id.clone()),
            initiator: ContinueAsNewInitiator::CronSchedule as i32,
            parent: self.parent.clone(),
            attempt: 1,
            continued_failure: failure,
            last_completion_result: result,
        };
        let new = new_run(
            &self.key.namespace,
            &StartRequest {
                request,
                signal: None,
                retention: Some(self.retention),
            },
            self.now,
            origin,
        );
        let id = new.key.run_id.clone();
        self.continued_as_new_to = Some(id.clone());
        self.pending_new_run = Some(Box::new(new));
        Some(id)
    }

    /// If the run has a retry policy that allows another attempt after `failure`, prepares the
    /// next run (started after the backoff, inserted after the commit) and returns its id.
    pub(crate) fn retry(
        &mut self,
        failure: &reprise::api::temporal::api::failure::v1::Failure,
    ) -> Result<String, RetryState> {
        use reprise::api::temporal::api::failure::v1::failure::FailureInfo;
        let Some(policy) = self.start.retry_policy.clone() else {
            return Err(RetryState::RetryPolicyNotSet);
        };
        if let Some(FailureInfo::ApplicationFailureInfo(info)) = &failure.failure_info
            && (info.non_retryable || policy.non_retryable_error_types.contains(&info.r#type))
        {
            return Err(RetryState::NonRetryableFailure);
        }
        if policy.maximum_attempts > 0 && self.attempt >= policy.maximum_attempts {
            return Err(RetryState::MaximumAttemptsReached);
        }
        let initial = std_duration(policy.initial_interval.as_ref()).max(Duration::from_millis(1));
        let coefficient = if policy.backoff_coefficient < 1.0 {
            2.0
        } else {
            policy.backoff_coefficient
        };
        let maximum = std_duration(policy.maximum_interval.as_ref());
        let maximum = if maximum.is_zero() {
            initial * 100
        } else {
            maximum
        };
        let secs = initial.as_secs_f64() * coefficient.powi((self.attempt - 1).clamp(0, 64));
        let delay = Duration::try_from_secs_f64(secs.min(maximum.as_secs_f64())).unwrap_or(maximum);
        if !self.execution_timeout.is_zero()
            && self.now + delay >= self.start_time + self.execution_timeout
        {
            return Err(RetryState::Timeout);
        }
        let mut request = self.start.clone();
        request.workflow_start_delay = Some(pb_duration(delay));
        request.request_id = String::new();
        let origin = Origin {
            continued_from: Some(self.key.run_id.clone()),
            first_run_id: Some(self.first_run_id.clone()),
            initiator: ContinueAsNewInitiator::Retry as i32,
            parent: self.parent.clone(),
            attempt: self.attempt + 1,
            continued_failure: Some(failure.clone()),
            last_completion_result: None,
        };
        let new = new_run(
            &self.key.namespace,
            &StartRequest {
                request,
                signal: None,
                retention: Some(self.retention),
            },
            self.now,
            origin,
        );
        let id = new.key.run_id.clone();
        self.continued_as_new_to = Some(id.clone());
        self.pending_new_run = Some(Box::new(new));
        Ok(id)
    }

    /// Terminates the run.
    pub(crate) fn terminate(&mut self, reason: &str, details: Option<Payloads>, identity: &str) {
        self.fail_started_workflow_task(WorkflowTaskFailedCause::ForceCloseCommand, true);
        self.flush_buffered();
        self.append(
            EventType::WorkflowExecutionTerminated,
            Attributes::WorkflowExecutionTerminatedEventAttributes(
                hist::WorkflowExecutionTerminatedEventAttributes {
                    reason: reason.into(),
                    details,
                    identity: identity.into(),
                },
            ),
        );
        self.close(WorkflowExecutionStatus::Terminated);
    }

    /// Records a signal.
    pub(crate) fn signal(
        &mut self,
        name: &str,
        input: Option<Payloads>,
        header: Option<Header>,
        identity: &str,
        request_id: &str,
    ) -> Result<(), Status> {
        if !self.is_open() {
            return Err(errors::execution_completed());
        }
        if !request_id.is_empty() && !self.request_ids.insert(request_id.to_string()) {
            return Ok(());
        }
        self.append_external(
            EventType::WorkflowExecutionSignaled,
            Attributes::WorkflowExecutionSignaledEventAttributes(
                hist::WorkflowExecutionSignaledEventAttributes {
                    signal_name: name.into(),
                    input,
                    identity: identity.into(),
                    header,
                    request_id: request_id.into(),
                    ..Default::default()
                },
            ),
        );
        Ok(())
    }

    /// Records a cancellation request (idempotent).
    pub(crate) fn request_cancel(&mut self, reason: &str, identity: &str) -> Result<(), Status> {
        if !self.is_open() {
            return Err(errors::execution_completed());
        }
        if self.cancel_requested {
            return Ok(());
        }
        self.cancel_requested = true;
        self.append_external(
            EventType::WorkflowExecutionCancelRequested,
            Attributes::WorkflowExecutionCancelRequestedEventAttributes(
                hist::WorkflowExecutionCancelRequestedEventAttributes {
                    cause: reason.into(),
                    identity: identity.into(),
                    ..Default::default()
                },
            ),
        );
        Ok(())
    }

    /// The description `DescribeWorkflowExecution` returns.
    pub(crate) fn describe(&self) -> ws::DescribeWorkflowExecutionResponse {
        let ts = |t: SystemTime| Some(Timestamp::from(t));
        let pending_activities = self
            .activities
            .values()
            .map(|a| wf::PendingActivityInfo {
                activity_id: a.activity_id.clone(),
                activity_type: Some(a.activity_type.clone()),
                state: if a.cancel_requested_event_id.is_some() {
                    PendingActivityState::CancelRequested
                } else if a.started.is_some() {
                    PendingActivityState::Started
                } else {
                    PendingActivityState::Scheduled
                } as i32,
                heartbeat_details: a.heartbeat_details.clone(),
                last_heartbeat_time: a.last_heartbeat_time.map(Timestamp::from),
                last_started_time: a.started.as_ref().map(|s| Timestamp::from(s.time)),
                attempt: a.attempt,
                maximum_attempts: a.retry_policy.maximum_attempts,
                scheduled_time: ts(a.attempt_scheduled_time),
                expiration_time: (!a.schedule_to_close.is_zero())
                    .then(|| Timestamp::from(a.scheduled_time + a.schedule_to_close)),
                last_failure: a.last_failure.clone(),
                last_worker_identity: a.last_worker_identity.clone(),
                ..Default::default()
            })
            .collect();
        let pending_workflow_task = self.wft.as_ref().map(|t| wf::PendingWorkflowTaskInfo {
            state: if t.started.is_some() {
                PendingWorkflowTaskState::Started
            } else {
                PendingWorkflowTaskState::Scheduled
            } as i32,
            scheduled_time: ts(t.scheduled_time),
            original_scheduled_time: ts(t.scheduled_time),
            started_time: t.started.as_ref().map(|s| Timestamp::from(s.time)),
            attempt: t.attempt,
        });
        let pending_children = self
            .children
            .iter()
            .map(|(id, c)| wf::PendingChildExecutionInfo {
                workflow_id: c.request.workflow_id.clone(),
                run_id: c.started.as_ref().map(|s| s.0.clone()).unwrap_or_default(),
                workflow_type_name: c
                    .request
                    .workflow_type
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                initiated_id: *id,
                parent_close_policy: c.parent_close_policy,
            })
            .collect();
        let timeout = |d: Duration| Some(pb_duration(d));
        ws::DescribeWorkflowExecutionResponse {
            execution_config: Some(wf::WorkflowExecutionConfig {
                task_queue: Some(normal_queue(&self.task_queue)),
                workflow_execution_timeout: timeout(self.execution_timeout),
                workflow_run_timeout: timeout(self.run_timeout),
                default_workflow_task_timeout: timeout(self.workflow_task_timeout),
                user_metadata: None,
            }),
            workflow_execution_info: Some(self.info()),
            pending_activities,
            pending_children,
            pending_workflow_task,
            ..Default::default()
        }
    }
}

impl Engine {
    /// Starts a run (or signals the running one, for signal-with-start), applying the id reuse
    /// and id conflict policies and request-id idempotency.
    pub(crate) fn start(
        &self,
        namespace: &str,
        start: StartRequest,
    ) -> Result<StartOutcome, Status> {
        self.start_with_origin(namespace, start, Origin::default())
    }

    /// [`Engine::start`] for a run with an origin (a child's parent).
    pub(crate) fn start_with_origin(
        &self,
        namespace: &str,
        start: StartRequest,
        origin: Origin,
    ) -> Result<StartOutcome, Status> {
        let req = &start.request;
        let mut shard = self.lock(namespace, &req.workflow_id);
        let now = self.clock.now();
        let current = Engine::resolve_in(&shard, namespace, &req.workflow_id, "").ok();
        if let Some(key) = current {
            let mut terminate_existing = false;
            if let Some(ms) = shard.runs.get_mut(&key) {
                let same_request =
                    !req.request_id.is_empty() && ms.start_request_id == req.request_id;
                if ms.is_open() {
                    if let Some((name, input, header)) = &start.signal {
                        ms.now = now;
                        ms.signal(name, input.clone(), header.clone(), &req.identity, "")?;
                        self.commit(ms)?;
                        return Ok(StartOutcome {
                            run_id: key.run_id,
                            started: false,
                        });
                    }
                    if same_request {
                        return Ok(StartOutcome {
                            run_id: key.run_id,
                            started: true,
                        });
                    }
                    let conflict =
                        WorkflowIdConflictPolicy::try_from(req.workflow_id_conflict_policy)
                            .unwrap_or(WorkflowIdConflictPolicy::Unspecified);
                    #[allow(deprecated)]
                    let terminate_if_running = req.workflow_id_reuse_policy
                        == WorkflowIdReusePolicy::TerminateIfRunning as i32;
                    match conflict {
                        WorkflowIdConflictPolicy::UseExisting => {
                            return Ok(StartOutcome {
                                run_id: key.run_id,
                                started: false,
                            });
                        }
                        WorkflowIdConflictPolicy::TerminateExisting => terminate_existing = true,
                        _ if terminate_if_running => terminate_existing = true,
                        _ => {
                            return Err(errors::already_started(
                                &req.workflow_id,
                                &ms.start_request_id,
                                &key.run_id,
                            ));
                        }
                    }
                } else {
                    if same_request {
                        return Ok(StartOutcome {
                            run_id: key.run_id,
                            started: true,
                        });
                    }
                    let reuse = WorkflowIdReusePolicy::try_from(req.workflow_id_reuse_policy)
                        .unwrap_or(WorkflowIdReusePolicy::Unspecified);
                    let refused = match reuse {
                        WorkflowIdReusePolicy::RejectDuplicate => true,
                        WorkflowIdReusePolicy::AllowDuplicateFailedOnly => {
                            ms.status == WorkflowExecutionStatus::Completed
                        }
                        _ => false,
                    };
                    if refused {
                        return Err(errors::with_detail(
                            tonic::Code::AlreadyExists,
                            format!(
                                "Workflow execution already finished and its id reuse policy \
                                 {} forbids a new run. WorkflowId: {}, RunId: {}.",
                                reuse.as_str_name(),
                                req.workflow_id,
                                key.run_id
                            ),
                            &reprise::api::temporal::api::errordetails::v1::WorkflowExecutionAlreadyStartedFailure {
                                start_request_id: ms.start_request_id.clone(),
                                run_id: key.run_id.clone(),
                                ..Default::default()
                            },
                        ));
                    }
                }
                if terminate_existing {
                    ms.now = now;
                    ms.terminate(
                        "terminated by a new start (id conflict policy)",
                        None,
                        &req.identity,
                    );
                    self.commit(ms)?;
                }
            }
        }
        let ms = new_run(namespace, &start, now, origin);
        let run_id = ms.key.run_id.clone();
        self.insert_run(&mut shard, ms)?;
        Ok(StartOutcome {
            run_id,
            started: true,
        })
    }

    /// Inserts the run a transition created (continue-as-new), in the same shard.
    pub(crate) fn insert_pending_run(&self, shard: &mut Shard, key: &RunKey) -> Result<(), Status> {
        let pending = shard
            .runs
            .get_mut(key)
            .and_then(|ms| ms.pending_new_run.take());
        if let Some(new) = pending {
            self.insert_run(shard, *new)?;
        }
        Ok(())
    }
}

/// The continue-as-new origin of a run continuing `ms`.
pub(crate) fn continued_origin(ms: &MutableState) -> Origin {
    Origin {
        continued_from: Some(ms.key.run_id.clone()),
        first_run_id: Some(ms.first_run_id.clone()),
        initiator: ContinueAsNewInitiator::Workflow as i32,
        parent: ms.parent.clone(),
        attempt: 1,
        continued_failure: None,
        last_completion_result: None,
    }
}
