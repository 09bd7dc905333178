//! The operations workflow code starts — timers, activities, local activities, child workflows,
//! external signals and cancels — as futures over their state machines, plus delivery of signals
//! and updates to handlers. A future dropped before it resolves cancels its operation (so the
//! loser of a `select` is canceled, as Rust code expects); an operation whose command was not
//! yet sent is simply withdrawn.

use super::cancellation::ScopeRef;
use super::context::WorkflowContext;
use super::options::{
    ActivityOptions, CancellationType, ChildWorkflowOptions, LocalActivityOptions,
    ParentClosePolicy,
};
use super::state::{
    IssuedCommand, LocalActivityRequest, MachineId, MachineKind, MachineStatus, Resolution,
    RunState, Shared,
};
use super::{PendingUpdate, UpdateInput};
use crate::api::google::protobuf::Any;
use crate::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes};
use crate::api::temporal::api::common::v1::{
    Header, Memo, Payload, Payloads, SearchAttributes, WorkflowExecution, WorkflowType,
};
use crate::api::temporal::api::enums::v1::RetryState;
use crate::api::temporal::api::enums::v1::{CommandType, TaskQueueKind, WorkflowIdReusePolicy};
use crate::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use crate::api::temporal::api::update::v1 as upd;
use crate::converter::{ConversionError, Failure, FailureKind};
use crate::definition::RetryPolicy;
use prost::{Message as _, Name};
use serde::de::DeserializeOwned;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

type Loc = &'static Location<'static>;

pub(crate) fn canceled_failure(message: &str) -> Failure {
    Failure::new(
        message,
        FailureKind::Canceled {
            details: Vec::new(),
            identity: String::new(),
        },
    )
}

/// The failure an activity resolves with (`ActivityFailure` wrapping why), as the official SDKs
/// build it, so that workflow code sees one shape whether the activity failed, timed out or was
/// canceled.
pub(crate) fn activity_failure(
    state: &RunState,
    machine: MachineId,
    started_event_id: i64,
    identity: &str,
    retry_state: RetryState,
    cause: Failure,
) -> Failure {
    let m = &state.machines[machine];
    let (activity_type, activity_id) = match &m.kind {
        MachineKind::Activity {
            activity_type,
            activity_id,
            ..
        } => (activity_type.clone(), activity_id.clone()),
        _ => (String::new(), String::new()),
    };
    Failure::new(
        "activity task failed",
        FailureKind::Activity {
            activity_type,
            activity_id,
            scheduled_event_id: m.event_id,
            started_event_id,
            identity: identity.to_string(),
            retry_state,
        },
    )
    .with_cause(cause)
}

/// The failure a child workflow resolves with (`ChildWorkflowFailure` wrapping why).
pub(crate) fn child_failure(
    state: &RunState,
    machine: MachineId,
    started_event_id: i64,
    retry_state: RetryState,
    cause: Failure,
) -> Failure {
    let m = &state.machines[machine];
    let (workflow_id, workflow_type) = match &m.kind {
        MachineKind::Child {
            workflow_id,
            workflow_type,
            ..
        } => (workflow_id.clone(), workflow_type.clone()),
        _ => (String::new(), String::new()),
    };
    Failure::new(
        "child workflow execution failed",
        FailureKind::ChildWorkflow {
            namespace: state.info.namespace.clone(),
            workflow_id,
            run_id: m
                .child_start
                .clone()
                .and_then(Result::ok)
                .unwrap_or_default(),
            workflow_type,
            initiated_event_id: m.event_id,
            started_event_id,
            retry_state,
        },
    )
    .with_cause(cause)
}

fn command(command_type: CommandType, attributes: Attributes) -> Command {
    Command {
        command_type: command_type as i32,
        attributes: Some(attributes),
        ..Default::default()
    }
}

fn task_queue(name: &str) -> TaskQueue {
    TaskQueue {
        name: name.to_string(),
        kind: TaskQueueKind::Normal as i32,
        ..Default::default()
    }
}

/// Codec-encodes arguments for a command; `None` for no arguments.
fn encode_input(state: &RunState, args: Vec<Payload>) -> Result<Option<Payloads>, Failure> {
    if args.is_empty() {
        return Ok(None);
    }
    let payloads = state
        .converter
        .encode_payloads(args)
        .map_err(|e| super::conversion_failure(&e))?;
    Ok(Some(Payloads { payloads }))
}

/// Polls a machine's resolution; registers the waker otherwise.
fn poll_machine(shared: &Shared, machine: MachineId, cx: &mut Context<'_>) -> Poll<Resolution> {
    let mut state = shared.borrow_mut();
    let m = &mut state.machines[machine];
    if let Some(resolution) = m.resolution.take() {
        return Poll::Ready(resolution);
    }
    m.waker = Some(cx.waker().clone());
    state.cancel_wakers.push(cx.waker().clone());
    Poll::Pending
}

/// A machine that was resolved before it was ever polled (bad arguments, or canceled scope).
fn failed_machine(state: &mut RunState, kind: MachineKind, failure: Failure) -> MachineId {
    let id = state.add_machine(kind);
    state.machines[id].resolve(Resolution::Failed(Box::new(failure)));
    id
}

fn decode_result<T: DeserializeOwned>(
    shared: &Shared,
    resolution: Resolution,
) -> Result<T, Failure> {
    match resolution {
        Resolution::Completed(payloads) => {
            let state = shared.borrow();
            let result = match payloads.first() {
                Some(p) => state.converter.from_payload(p),
                None => state
                    .converter
                    .to_payload(&())
                    .and_then(|p| state.converter.from_payload(&p)),
            };
            result.map_err(|e| super::conversion_failure(&e))
        }
        Resolution::Failed(f) => Err(*f),
    }
}

// ---------------------------------------------------------------------------------------------
// Timers

/// A durable timer (see [`WorkflowContext::sleep`]).
#[must_use = "a timer does nothing unless awaited; dropping it cancels it"]
pub struct TimerFuture {
    shared: Shared,
    scope: ScopeRef,
    machine: MachineId,
    location: Loc,
    done: bool,
}

pub(crate) fn start_timer(ctx: &WorkflowContext, duration: Duration, location: Loc) -> TimerFuture {
    let mut state = ctx.shared.borrow_mut();
    state.seq.timer += 1;
    let timer_id = state.seq.timer.to_string();
    let machine = state.add_machine(MachineKind::Timer {
        timer_id: timer_id.clone(),
    });
    if ctx.scope.is_canceled() {
        state.machines[machine].resolve(Resolution::Failed(Box::new(canceled_failure(
            "timer canceled",
        ))));
    } else {
        let attrs = cmd::StartTimerCommandAttributes {
            timer_id,
            start_to_fire_timeout: Some(duration.into()),
        };
        state.push_command(
            command(
                CommandType::StartTimer,
                Attributes::StartTimerCommandAttributes(attrs),
            ),
            Some(machine),
            location,
        );
    }
    TimerFuture {
        shared: ctx.shared.clone(),
        scope: ctx.scope.clone(),
        machine,
        location,
        done: false,
    }
}

fn cancel_timer(state: &mut RunState, machine: MachineId, location: Loc) {
    let m = &state.machines[machine];
    if m.status == MachineStatus::Resolved || m.cancel_requested {
        return;
    }
    let status = m.status;
    let MachineKind::Timer { timer_id } = m.kind.clone() else {
        return;
    };
    state.machines[machine].cancel_requested = true;
    if status == MachineStatus::Issued {
        state.withdraw_command(machine);
    } else {
        let attrs = cmd::CancelTimerCommandAttributes { timer_id };
        state.push_command(
            command(
                CommandType::CancelTimer,
                Attributes::CancelTimerCommandAttributes(attrs),
            ),
            None,
            location,
        );
    }
    state.machines[machine].resolve(Resolution::Failed(Box::new(canceled_failure(
        "timer canceled",
    ))));
}

impl TimerFuture {
    /// Cancels the timer now (the future then resolves with a cancellation failure).
    pub fn cancel(&self) {
        cancel_timer(&mut self.shared.borrow_mut(), self.machine, self.location);
    }
}

impl Future for TimerFuture {
    type Output = Result<(), Failure>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.scope.is_canceled() {
            cancel_timer(&mut self.shared.borrow_mut(), self.machine, self.location);
        }
        let resolution = std::task::ready!(poll_machine(&self.shared, self.machine, cx));
        self.done = true;
        Poll::Ready(match resolution {
            Resolution::Completed(_) => Ok(()),
            Resolution::Failed(f) => Err(*f),
        })
    }
}

impl Drop for TimerFuture {
    fn drop(&mut self) {
        if !self.done
            && let Ok(mut state) = self.shared.try_borrow_mut()
        {
            cancel_timer(&mut state, self.machine, self.location);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Activities

/// An activity call being configured; await it to schedule the activity and get its result.
#[must_use = "an activity call does nothing unless awaited"]
pub struct ActivityCall<T> {
    ctx: WorkflowContext,
    activity_type: String,
    args: Result<Vec<Payload>, ConversionError>,
    options: ActivityOptions,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> ActivityCall<T> {
    pub(crate) fn new(
        ctx: WorkflowContext,
        activity_type: &str,
        args: Result<Vec<Payload>, ConversionError>,
        location: Loc,
    ) -> Self {
        ActivityCall {
            ctx,
            activity_type: activity_type.to_string(),
            args,
            options: ActivityOptions::default(),
            location,
            _result: PhantomData,
        }
    }
    /// Replaces all options.
    pub fn options(mut self, options: ActivityOptions) -> Self {
        self.options = options;
        self
    }
    /// Limit for one attempt.
    pub fn start_to_close_timeout(mut self, d: Duration) -> Self {
        self.options.start_to_close_timeout = Some(d);
        self
    }
    /// Limit for all attempts.
    pub fn schedule_to_close_timeout(mut self, d: Duration) -> Self {
        self.options.schedule_to_close_timeout = Some(d);
        self
    }
    /// Limit for waiting in the queue.
    pub fn schedule_to_start_timeout(mut self, d: Duration) -> Self {
        self.options.schedule_to_start_timeout = Some(d);
        self
    }
    /// The activity must heartbeat at least this often.
    pub fn heartbeat_timeout(mut self, d: Duration) -> Self {
        self.options.heartbeat_timeout = Some(d);
        self
    }
    /// Retry policy.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.options.retry_policy = Some(p);
        self
    }
    /// Task queue.
    pub fn task_queue(mut self, q: impl Into<String>) -> Self {
        self.options.task_queue = Some(q.into());
        self
    }
    /// What canceling does.
    pub fn cancellation_type(mut self, t: CancellationType) -> Self {
        self.options.cancellation_type = t;
        self
    }
    /// Explicit activity id.
    pub fn activity_id(mut self, id: impl Into<String>) -> Self {
        self.options.activity_id = Some(id.into());
        self
    }
}

impl<T: DeserializeOwned> IntoFuture for ActivityCall<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = ActivityFuture<T>;
    fn into_future(self) -> ActivityFuture<T> {
        let ctx = self.ctx;
        let mut state = ctx.shared.borrow_mut();
        state.seq.activity += 1;
        let activity_id = self
            .options
            .activity_id
            .clone()
            .unwrap_or_else(|| state.seq.activity.to_string());
        let kind = MachineKind::Activity {
            activity_id: activity_id.clone(),
            activity_type: self.activity_type.clone(),
            cancel: self.options.cancellation_type,
        };
        let prepared = self
            .args
            .map_err(|e| super::conversion_failure(&e))
            .and_then(|a| encode_input(&state, a));
        let machine = match prepared {
            Err(f) => failed_machine(&mut state, kind, f),
            Ok(_) if ctx.scope.is_canceled() => failed_machine(
                &mut state,
                kind,
                canceled_failure("activity canceled before it was scheduled"),
            ),
            Ok(input) => {
                let machine = state.add_machine(kind);
                let o = &self.options;
                let attrs = cmd::ScheduleActivityTaskCommandAttributes {
                    activity_id,
                    activity_type: Some(crate::api::temporal::api::common::v1::ActivityType {
                        name: self.activity_type.clone(),
                    }),
                    task_queue: Some(task_queue(
                        o.task_queue.as_deref().unwrap_or(&state.info.task_queue),
                    )),
                    header: Some(Header::default()),
                    input,
                    schedule_to_close_timeout: o.schedule_to_close_timeout.map(Into::into),
                    schedule_to_start_timeout: o.schedule_to_start_timeout.map(Into::into),
                    start_to_close_timeout: o.start_to_close_timeout.map(Into::into),
                    heartbeat_timeout: o.heartbeat_timeout.map(Into::into),
                    retry_policy: o.retry_policy.as_ref().map(RetryPolicy::to_proto),
                    ..Default::default()
                };
                state.push_command(
                    command(
                        CommandType::ScheduleActivityTask,
                        Attributes::ScheduleActivityTaskCommandAttributes(attrs),
                    ),
                    Some(machine),
                    self.location,
                );
                machine
            }
        };
        drop(state);
        ActivityFuture {
            shared: ctx.shared.clone(),
            scope: ctx.scope.clone(),
            machine,
            location: self.location,
            done: false,
            _result: PhantomData,
        }
    }
}

/// A scheduled activity (see [`WorkflowContext::activity`]).
#[must_use = "dropping an activity future cancels the activity"]
pub struct ActivityFuture<T> {
    shared: Shared,
    scope: ScopeRef,
    machine: MachineId,
    location: Loc,
    done: bool,
    _result: PhantomData<fn() -> T>,
}

/// Cancels an activity according to its cancellation type.
fn cancel_activity(state: &mut RunState, machine: MachineId, location: Loc) {
    let m = &state.machines[machine];
    if m.status == MachineStatus::Resolved || m.cancel_requested {
        return;
    }
    let MachineKind::Activity { cancel, .. } = m.kind.clone() else {
        return;
    };
    let (status, scheduled_event_id) = (m.status, m.event_id);
    state.machines[machine].cancel_requested = true;
    // Canceled without waiting: an activity failure caused by the cancellation, as when the
    // server reports ActivityTaskCanceled.
    let canceled = |state: &RunState| {
        activity_failure(
            state,
            machine,
            0,
            "",
            RetryState::CancelRequested,
            canceled_failure("activity canceled"),
        )
    };
    if status == MachineStatus::Issued {
        state.withdraw_command(machine);
        let failure = canceled(state);
        state.machines[machine].resolve(Resolution::Failed(Box::new(failure)));
        return;
    }
    if cancel != CancellationType::Abandon {
        let attrs = cmd::RequestCancelActivityTaskCommandAttributes { scheduled_event_id };
        state.push_command(
            command(
                CommandType::RequestCancelActivityTask,
                Attributes::RequestCancelActivityTaskCommandAttributes(attrs),
            ),
            None,
            location,
        );
    }
    if cancel != CancellationType::WaitCancellationCompleted {
        let failure = canceled(state);
        state.machines[machine].resolve(Resolution::Failed(Box::new(failure)));
    }
}

impl<T> ActivityFuture<T> {
    /// Cancels the activity now, according to its cancellation type.
    pub fn cancel(&self) {
        cancel_activity(&mut self.shared.borrow_mut(), self.machine, self.location);
    }
    /// Stops waiting for the activity without canceling it: the activity runs on and its result
    /// is ignored. Dropping the future would cancel it; this is what the official SDKs do with an
    /// activity the workflow no longer awaits (e.g. Python's `asyncio.gather` when another branch
    /// fails first, or a workflow that returns while activities run).
    pub fn detach(mut self) {
        self.done = true;
    }
}

impl<T: DeserializeOwned> Future for ActivityFuture<T> {
    type Output = Result<T, Failure>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.scope.is_canceled() {
            cancel_activity(&mut self.shared.borrow_mut(), self.machine, self.location);
        }
        let resolution = std::task::ready!(poll_machine(&self.shared, self.machine, cx));
        self.done = true;
        Poll::Ready(decode_result(&self.shared, resolution))
    }
}

impl<T> Drop for ActivityFuture<T> {
    fn drop(&mut self) {
        if !self.done
            && let Ok(mut state) = self.shared.try_borrow_mut()
        {
            cancel_activity(&mut state, self.machine, self.location);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Local activities

/// Marker name of local activities, shared with the official SDKs.
pub(crate) const LOCAL_ACTIVITY_MARKER: &str = "core_local_activity";

/// A local activity call being configured; await it to run it.
#[must_use = "a local activity call does nothing unless awaited"]
pub struct LocalActivityCall<T> {
    ctx: WorkflowContext,
    activity_type: String,
    args: Result<Vec<Payload>, ConversionError>,
    options: LocalActivityOptions,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> LocalActivityCall<T> {
    pub(crate) fn new(
        ctx: WorkflowContext,
        activity_type: &str,
        args: Result<Vec<Payload>, ConversionError>,
        location: Loc,
    ) -> Self {
        LocalActivityCall {
            ctx,
            activity_type: activity_type.to_string(),
            args,
            options: LocalActivityOptions::default(),
            location,
            _result: PhantomData,
        }
    }
    /// Replaces all options.
    pub fn options(mut self, options: LocalActivityOptions) -> Self {
        self.options = options;
        self
    }
    /// Limit for one attempt.
    pub fn start_to_close_timeout(mut self, d: Duration) -> Self {
        self.options.start_to_close_timeout = Some(d);
        self
    }
    /// Retry policy (run locally by the worker).
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.options.retry_policy = Some(p);
        self
    }
    /// Activity id recorded in the marker (default: the sequence number).
    pub fn activity_id(mut self, id: impl Into<String>) -> Self {
        self.options.activity_id = Some(id.into());
        self
    }
}

/// The `data` detail of a local activity marker, in the official SDKs' format.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct LocalActivityMarkerData {
    pub(crate) seq: u32,
    #[serde(default)]
    pub(crate) attempt: u32,
    #[serde(default)]
    pub(crate) activity_id: String,
    #[serde(default)]
    pub(crate) activity_type: String,
}

pub(crate) fn local_activity_marker(
    state: &RunState,
    seq: u32,
    activity_id: &str,
    activity_type: &str,
    attempt: u32,
    resolution: &Resolution,
) -> Command {
    let data = LocalActivityMarkerData {
        seq,
        attempt,
        activity_id: activity_id.to_string(),
        activity_type: activity_type.to_string(),
    };
    let mut details = std::collections::BTreeMap::new();
    if let Ok(p) = state.converter.to_payload(&data) {
        details.insert("data".to_string(), Payloads { payloads: vec![p] });
    }
    let mut failure = None;
    match resolution {
        Resolution::Completed(payloads) => {
            let encoded = state
                .converter
                .encode_payloads(payloads.clone())
                .unwrap_or_else(|_| payloads.clone());
            details.insert("result".to_string(), Payloads { payloads: encoded });
        }
        Resolution::Failed(f) => failure = Some(f.to_proto()),
    }
    command(
        CommandType::RecordMarker,
        Attributes::RecordMarkerCommandAttributes(cmd::RecordMarkerCommandAttributes {
            marker_name: LOCAL_ACTIVITY_MARKER.into(),
            details,
            header: None,
            failure,
        }),
    )
}

impl<T: DeserializeOwned> IntoFuture for LocalActivityCall<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = ActivityFuture<T>;
    fn into_future(self) -> ActivityFuture<T> {
        let ctx = self.ctx;
        let mut state = ctx.shared.borrow_mut();
        state.seq.activity += 1;
        let seq = state.seq.activity;
        let kind = MachineKind::LocalActivity;
        let machine = match self.args {
            Err(e) => failed_machine(&mut state, kind, super::conversion_failure(&e)),
            Ok(input) => {
                let machine = state.add_machine(kind);
                let activity_id = self.options.activity_id_or(seq);
                if let Some(recorded) = state.recorded_local_activities.remove(&seq) {
                    // Replay: the marker in history holds the result; the code must not run it
                    // again. The command carries what the code asked for (id and type), so the
                    // matcher rejects a marker recorded for another local activity.
                    let marker = local_activity_marker(
                        &state,
                        seq,
                        &activity_id,
                        &self.activity_type,
                        1,
                        &recorded.resolution,
                    );
                    state.push_command(marker, Some(machine), self.location);
                    state.machines[machine].status = MachineStatus::Recorded;
                    state.machines[machine].resolve(recorded.resolution);
                } else {
                    // The marker's place is kept in command order; the worker fills it in.
                    let placeholder = local_activity_marker(
                        &state,
                        seq,
                        &activity_id,
                        &self.activity_type,
                        1,
                        &Resolution::Completed(Vec::new()),
                    );
                    state.push_command(placeholder, Some(machine), self.location);
                    state.local_activity_requests.push(LocalActivityRequest {
                        machine,
                        seq,
                        activity_type: self.activity_type.clone(),
                        input,
                        options: self.options.clone(),
                    });
                }
                machine
            }
        };
        drop(state);
        ActivityFuture {
            shared: ctx.shared.clone(),
            scope: ctx.scope.clone(),
            machine,
            location: self.location,
            done: true,
            _result: PhantomData,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Child workflows

/// A child workflow call being configured. Await it for the child's result, or [`start`] it.
///
/// [`start`]: ChildWorkflowCall::start
#[must_use = "a child workflow call does nothing unless awaited or started"]
pub struct ChildWorkflowCall<T> {
    ctx: WorkflowContext,
    workflow_type: String,
    args: Result<Vec<Payload>, ConversionError>,
    options: ChildWorkflowOptions,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + 'static> ChildWorkflowCall<T> {
    pub(crate) fn new(
        ctx: WorkflowContext,
        workflow_type: &str,
        args: Result<Vec<Payload>, ConversionError>,
        location: Loc,
    ) -> Self {
        ChildWorkflowCall {
            ctx,
            workflow_type: workflow_type.to_string(),
            args,
            options: ChildWorkflowOptions::default(),
            location,
            _result: PhantomData,
        }
    }
    /// Replaces all options.
    pub fn options(mut self, options: ChildWorkflowOptions) -> Self {
        self.options = options;
        self
    }
    /// The child's workflow id.
    pub fn workflow_id(mut self, id: impl Into<String>) -> Self {
        self.options.workflow_id = Some(id.into());
        self
    }
    /// The child's task queue.
    pub fn task_queue(mut self, q: impl Into<String>) -> Self {
        self.options.task_queue = Some(q.into());
        self
    }
    /// What happens to the child when this workflow closes.
    pub fn parent_close_policy(mut self, p: ParentClosePolicy) -> Self {
        self.options.parent_close_policy = p;
        self
    }
    /// What canceling the child does (default: wait until the child confirms it ended).
    pub fn cancellation_type(mut self, t: CancellationType) -> Self {
        self.options.cancellation_type = t;
        self
    }

    /// Starts the child; resolves once the server started it (or refused to).
    pub fn start(self) -> ChildStartFuture<T> {
        let ctx = self.ctx;
        let mut state = ctx.shared.borrow_mut();
        state.seq.child += 1;
        let o = self.options;
        let workflow_id = match o.workflow_id.clone() {
            Some(id) => id,
            None => {
                let (hi, lo) = (state.rng.next_u64(), state.rng.next_u64());
                crate::util::format_uuid(hi, lo)
            }
        };
        let kind = MachineKind::Child {
            workflow_id: workflow_id.clone(),
            workflow_type: self.workflow_type.clone(),
            cancel: o.cancellation_type,
        };
        let prepared = self
            .args
            .map_err(|e| super::conversion_failure(&e))
            .and_then(|a| encode_input(&state, a));
        let machine = match prepared {
            Err(f) => failed_machine(&mut state, kind, f),
            Ok(_) if ctx.scope.is_canceled() => failed_machine(
                &mut state,
                kind,
                canceled_failure("child workflow canceled before it started"),
            ),
            Ok(input) => {
                let machine = state.add_machine(kind);
                let memo = (!o.memo.is_empty()).then(|| Memo {
                    fields: o.memo.clone(),
                });
                let search_attributes =
                    (!o.search_attributes.is_empty()).then(|| SearchAttributes {
                        indexed_fields: o.search_attributes.clone(),
                    });
                let attrs = cmd::StartChildWorkflowExecutionCommandAttributes {
                    workflow_id,
                    workflow_type: Some(WorkflowType {
                        name: self.workflow_type.clone(),
                    }),
                    task_queue: Some(task_queue(
                        o.task_queue.as_deref().unwrap_or(&state.info.task_queue),
                    )),
                    input,
                    workflow_execution_timeout: o.execution_timeout.map(Into::into),
                    workflow_run_timeout: o.run_timeout.map(Into::into),
                    workflow_task_timeout: o.task_timeout.map(Into::into),
                    parent_close_policy: match o.parent_close_policy {
                        ParentClosePolicy::Terminate => 1,
                        ParentClosePolicy::Abandon => 2,
                        ParentClosePolicy::RequestCancel => 3,
                    },
                    workflow_id_reuse_policy: WorkflowIdReusePolicy::AllowDuplicate as i32,
                    retry_policy: o.retry_policy.as_ref().map(RetryPolicy::to_proto),
                    cron_schedule: o.cron_schedule.clone().unwrap_or_default(),
                    header: Some(Header::default()),
                    memo,
                    search_attributes,
                    ..Default::default()
                };
                state.push_command(
                    command(
                        CommandType::StartChildWorkflowExecution,
                        Attributes::StartChildWorkflowExecutionCommandAttributes(attrs),
                    ),
                    Some(machine),
                    self.location,
                );
                machine
            }
        };
        drop(state);
        ChildStartFuture {
            ctx: ctx.clone(),
            machine,
            location: self.location,
            _result: PhantomData,
        }
    }
}

impl<T: DeserializeOwned + 'static> IntoFuture for ChildWorkflowCall<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T, Failure>>>>;
    fn into_future(self) -> Self::IntoFuture {
        let start = self.start();
        Box::pin(async move { start.await?.result().await })
    }
}

/// Resolves when a child workflow has started.
#[must_use = "a child start does nothing unless awaited"]
pub struct ChildStartFuture<T> {
    ctx: WorkflowContext,
    machine: MachineId,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T> Future for ChildStartFuture<T> {
    type Output = Result<ChildWorkflowHandle<T>, Failure>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.ctx.scope.is_canceled() {
            cancel_child(
                &mut self.ctx.shared.borrow_mut(),
                self.machine,
                self.location,
            );
        }
        let mut state = self.ctx.shared.borrow_mut();
        let m = &mut state.machines[self.machine];
        let handle = || ChildWorkflowHandle {
            ctx: self.ctx.clone(),
            machine: self.machine,
            location: self.location,
            _result: PhantomData,
        };
        match &m.child_start {
            Some(Ok(_)) => return Poll::Ready(Ok(handle())),
            Some(Err(f)) => return Poll::Ready(Err(f.clone())),
            None => {}
        }
        if let Some(Resolution::Failed(f)) = &m.resolution {
            return Poll::Ready(Err((**f).clone()));
        }
        m.start_waker = Some(cx.waker().clone());
        state.cancel_wakers.push(cx.waker().clone());
        Poll::Pending
    }
}

/// A started child workflow.
pub struct ChildWorkflowHandle<T> {
    ctx: WorkflowContext,
    machine: MachineId,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ChildWorkflowHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildWorkflowHandle")
            .field("workflow_id", &self.workflow_id())
            .finish()
    }
}

impl<T> ChildWorkflowHandle<T> {
    /// The child's workflow id.
    pub fn workflow_id(&self) -> String {
        match &self.ctx.shared.borrow().machines[self.machine].kind {
            MachineKind::Child { workflow_id, .. } => workflow_id.clone(),
            _ => String::new(),
        }
    }
    /// The child's first run id.
    pub fn run_id(&self) -> Option<String> {
        self.ctx.shared.borrow().machines[self.machine]
            .child_start
            .clone()
            .and_then(Result::ok)
    }
}

impl<T: DeserializeOwned> ChildWorkflowHandle<T> {
    /// Waits for the child's result.
    pub fn result(self) -> ChildResultFuture<T> {
        ChildResultFuture {
            ctx: self.ctx.clone(),
            machine: self.machine,
            location: self.location,
            _result: PhantomData,
        }
    }
}

impl<T> ChildWorkflowHandle<T> {
    /// Signals the child.
    #[track_caller]
    pub fn signal(
        &self,
        signal_name: &str,
        args: impl crate::converter::ToPayloads,
    ) -> ExternalFuture {
        let payloads = args.to_payloads(&self.ctx.shared.borrow().converter);
        let (id, run) = (self.workflow_id(), self.run_id());
        signal_external(
            &self.ctx,
            &id,
            run.as_deref(),
            signal_name,
            payloads,
            true,
            Location::caller(),
        )
    }
    /// Cancels the child according to its cancellation type.
    pub fn cancel(&self) {
        cancel_child(
            &mut self.ctx.shared.borrow_mut(),
            self.machine,
            self.location,
        );
    }
}

/// Resolves with a child workflow's result.
#[must_use = "a child result does nothing unless awaited"]
pub struct ChildResultFuture<T> {
    ctx: WorkflowContext,
    machine: MachineId,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Future for ChildResultFuture<T> {
    type Output = Result<T, Failure>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.ctx.scope.is_canceled() {
            cancel_child(
                &mut self.ctx.shared.borrow_mut(),
                self.machine,
                self.location,
            );
        }
        let resolution = std::task::ready!(poll_machine(&self.ctx.shared, self.machine, cx));
        Poll::Ready(decode_result(&self.ctx.shared, resolution))
    }
}

fn cancel_child(state: &mut RunState, machine: MachineId, location: Loc) {
    let m = &state.machines[machine];
    if m.status == MachineStatus::Resolved || m.cancel_requested {
        return;
    }
    let MachineKind::Child {
        workflow_id,
        cancel,
        ..
    } = m.kind.clone()
    else {
        return;
    };
    let status = m.status;
    let run_id = m.child_start.clone().and_then(Result::ok);
    state.machines[machine].cancel_requested = true;
    let canceled = |state: &RunState| {
        child_failure(
            state,
            machine,
            0,
            RetryState::CancelRequested,
            canceled_failure("child workflow canceled"),
        )
    };
    if status == MachineStatus::Issued {
        state.withdraw_command(machine);
        let failure = canceled(state);
        state.machines[machine].resolve(Resolution::Failed(Box::new(failure)));
        return;
    }
    if cancel != CancellationType::Abandon {
        state.seq.external_cancel += 1;
        let cancel_machine = state.add_machine(MachineKind::CancelExternal);
        let attrs = cmd::RequestCancelExternalWorkflowExecutionCommandAttributes {
            workflow_id,
            run_id: run_id.unwrap_or_default(),
            child_workflow_only: true,
            ..Default::default()
        };
        state.push_command(
            command(
                CommandType::RequestCancelExternalWorkflowExecution,
                Attributes::RequestCancelExternalWorkflowExecutionCommandAttributes(attrs),
            ),
            Some(cancel_machine),
            location,
        );
    }
    if cancel != CancellationType::WaitCancellationCompleted {
        let failure = canceled(state);
        state.machines[machine].resolve(Resolution::Failed(Box::new(failure)));
    }
}

// ---------------------------------------------------------------------------------------------
// External workflows

/// Resolves when a signal or cancel request reached another workflow (or failed to).
#[must_use = "an external signal or cancel does nothing unless awaited"]
pub struct ExternalFuture {
    shared: Shared,
    machine: MachineId,
}

impl Future for ExternalFuture {
    type Output = Result<(), Failure>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let resolution = std::task::ready!(poll_machine(&self.shared, self.machine, cx));
        Poll::Ready(match resolution {
            Resolution::Completed(_) => Ok(()),
            Resolution::Failed(f) => Err(*f),
        })
    }
}

pub(crate) fn signal_external(
    ctx: &WorkflowContext,
    workflow_id: &str,
    run_id: Option<&str>,
    signal_name: &str,
    args: Result<Vec<Payload>, ConversionError>,
    child_workflow_only: bool,
    location: Loc,
) -> ExternalFuture {
    let mut state = ctx.shared.borrow_mut();
    state.seq.external_signal += 1;
    let kind = MachineKind::SignalExternal;
    let prepared = args
        .map_err(|e| super::conversion_failure(&e))
        .and_then(|a| encode_input(&state, a));
    let machine = match prepared {
        Err(f) => failed_machine(&mut state, kind, f),
        Ok(input) => {
            let machine = state.add_machine(kind);
            let attrs = cmd::SignalExternalWorkflowExecutionCommandAttributes {
                execution: Some(WorkflowExecution {
                    workflow_id: workflow_id.to_string(),
                    run_id: run_id.unwrap_or_default().to_string(),
                }),
                signal_name: signal_name.to_string(),
                input,
                child_workflow_only,
                header: Some(Header::default()),
                ..Default::default()
            };
            state.push_command(
                command(
                    CommandType::SignalExternalWorkflowExecution,
                    Attributes::SignalExternalWorkflowExecutionCommandAttributes(attrs),
                ),
                Some(machine),
                location,
            );
            machine
        }
    };
    ExternalFuture {
        shared: ctx.shared.clone(),
        machine,
    }
}

pub(crate) fn cancel_external(
    ctx: &WorkflowContext,
    workflow_id: &str,
    run_id: Option<&str>,
    child_workflow_only: bool,
    location: Loc,
) -> ExternalFuture {
    let mut state = ctx.shared.borrow_mut();
    state.seq.external_cancel += 1;
    let machine = state.add_machine(MachineKind::CancelExternal);
    let attrs = cmd::RequestCancelExternalWorkflowExecutionCommandAttributes {
        workflow_id: workflow_id.to_string(),
        run_id: run_id.unwrap_or_default().to_string(),
        child_workflow_only,
        ..Default::default()
    };
    state.push_command(
        command(
            CommandType::RequestCancelExternalWorkflowExecution,
            Attributes::RequestCancelExternalWorkflowExecutionCommandAttributes(attrs),
        ),
        Some(machine),
        location,
    );
    ExternalFuture {
        shared: ctx.shared.clone(),
        machine,
    }
}

// ---------------------------------------------------------------------------------------------
// Signals and updates

/// Hands a signal to its handler, the default handler, or the buffer.
pub(crate) fn deliver_signal(shared: &Shared, name: String, payloads: Vec<Payload>) {
    let (handler, default) = {
        let state = shared.borrow();
        (
            state.signal_handlers.get(&name).cloned(),
            state.default_signal_handler.clone(),
        )
    };
    match (handler, default) {
        (Some(h), _) => h(payloads),
        (None, Some(d)) => d(name, payloads),
        (None, None) => shared
            .borrow_mut()
            .signal_buffer
            .push_back((name, payloads)),
    }
}

fn protocol_message(instance: &str, suffix: &str, body: Any) -> ProtocolMessage {
    ProtocolMessage {
        id: format!("{instance}/{suffix}"),
        protocol_instance_id: instance.to_string(),
        body: Some(body),
        sequencing_id: None,
    }
}

fn push_message(state: &mut RunState, message: ProtocolMessage) {
    let command = command(
        CommandType::ProtocolMessage,
        Attributes::ProtocolMessageCommandAttributes(cmd::ProtocolMessageCommandAttributes {
            message_id: message.id.clone(),
        }),
    );
    state.commands.push(IssuedCommand {
        command,
        machine: None,
        location: Location::caller(),
        optional: false,
        message: Some(message),
    });
}

/// Validates (live updates only), accepts and runs an update, or buffers it until its handler is
/// registered.
pub(crate) fn deliver_update(ctx: &WorkflowContext, update: PendingUpdate) {
    let handler = {
        let state = ctx.shared.borrow();
        state
            .update_handlers
            .get(&update.input.name)
            .cloned()
            .or_else(|| state.default_update_handler.clone())
    };
    let Some(handler) = handler else {
        ctx.shared.borrow_mut().update_buffer.push_back(update);
        return;
    };
    if update.run_validator
        && let Some(validator) = &handler.validator
        && let Err(failure) = validator(&update.input)
    {
        reject_update(&mut ctx.shared.borrow_mut(), &update, failure);
        return;
    }
    let instance = update.protocol_instance_id.clone();
    {
        let mut state = ctx.shared.borrow_mut();
        let acceptance = upd::Acceptance {
            accepted_request_message_id: update.request_message_id.clone(),
            accepted_request_sequencing_event_id: update.sequencing_event_id,
            accepted_request: Some(update.request.clone()),
        };
        push_message(
            &mut state,
            protocol_message(
                &instance,
                "accept",
                Any {
                    type_url: upd::Acceptance::type_url(),
                    value: acceptance.encode_to_vec(),
                },
            ),
        );
        state.running_handlers += 1;
    }
    let shared = ctx.shared.clone();
    let meta = update.request.meta.clone();
    let future = (handler.handler)(update.input);
    ctx.spawn(async move {
        let result = future.await;
        let mut state = shared.borrow_mut();
        let outcome = match result {
            Ok(payloads) => match state.converter.encode_payloads(payloads) {
                Ok(payloads) => upd::outcome::Value::Success(Payloads { payloads }),
                Err(e) => upd::outcome::Value::Failure(super::conversion_failure(&e).to_proto()),
            },
            Err(failure) => {
                let mut proto = failure.to_proto();
                let _ = state.converter.encode_failure(&mut proto);
                upd::outcome::Value::Failure(proto)
            }
        };
        let response = upd::Response {
            meta,
            outcome: Some(upd::Outcome {
                value: Some(outcome),
            }),
        };
        push_message(
            &mut state,
            protocol_message(
                &instance,
                "complete",
                Any {
                    type_url: upd::Response::type_url(),
                    value: response.encode_to_vec(),
                },
            ),
        );
        state.running_handlers = state.running_handlers.saturating_sub(1);
    });
}

pub(crate) fn reject_update(state: &mut RunState, update: &PendingUpdate, failure: Failure) {
    let mut proto = failure.to_proto();
    let _ = state.converter.encode_failure(&mut proto);
    let rejection = upd::Rejection {
        rejected_request_message_id: update.request_message_id.clone(),
        rejected_request_sequencing_event_id: update.sequencing_event_id,
        rejected_request: Some(update.request.clone()),
        failure: Some(proto),
    };
    let message = protocol_message(
        &update.protocol_instance_id,
        "reject",
        Any {
            type_url: upd::Rejection::type_url(),
            value: rejection.encode_to_vec(),
        },
    );
    state.outgoing_messages.push(message);
}

/// After a handler is registered: delivers the updates that were waiting for it.
pub(crate) fn deliver_buffered_updates(ctx: &WorkflowContext) {
    let ready: Vec<PendingUpdate> = {
        let mut state = ctx.shared.borrow_mut();
        let buffer = std::mem::take(&mut state.update_buffer);
        let (ready, waiting): (Vec<_>, Vec<_>) = buffer.into_iter().partition(|u| {
            state.update_handlers.contains_key(&u.input.name)
                || state.default_update_handler.is_some()
        });
        state.update_buffer = waiting.into();
        ready
    };
    for update in ready {
        deliver_update(ctx, update);
    }
}

impl UpdateInput {
    /// Decodes the arguments.
    pub fn decode<A: crate::converter::FromPayloads>(
        &self,
        ctx: &WorkflowContext,
    ) -> Result<A, ConversionError> {
        A::from_payloads(&ctx.shared.borrow().converter, &self.args)
    }
}
