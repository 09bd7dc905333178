//! Activities: `WorkflowContext::activity` and `activity_by_name`, scheduled on a task queue and
//! run by any worker polling it. `ActivityFuture` also carries local activities' results.

use super::failures::{activity_failure, canceled_failure};
use super::{Loc, command, decode_result, encode_input, failed_machine, poll_machine, task_queue};
use crate::api::temporal::api::command::v1::{self as cmd, command::Attributes};
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::enums::v1::{CommandType, RetryState};
use crate::converter::{ConversionError, Failure};
use crate::definition::RetryPolicy;
use crate::workflow::cancellation::ScopeRef;
use crate::workflow::options::{ActivityOptions, CancellationType};
use crate::workflow::state::{MachineId, MachineKind, MachineStatus, Resolution, RunState, Shared};
use serde::de::DeserializeOwned;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// An activity call being configured; await it to schedule the activity and get its result.
#[must_use = "an activity call does nothing unless awaited"]
pub struct ActivityCall<T> {
    shared: Shared,
    scope: ScopeRef,
    activity_type: String,
    args: Result<Vec<Payload>, ConversionError>,
    options: ActivityOptions,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> ActivityCall<T> {
    pub(crate) fn new(
        shared: Shared,
        scope: ScopeRef,
        activity_type: &str,
        args: Result<Vec<Payload>, ConversionError>,
        location: Loc,
    ) -> Self {
        ActivityCall {
            shared,
            scope,
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
    option_setters! {
        /// Limit for one attempt.
        fn start_to_close_timeout(d: Duration) => start_to_close_timeout = Some(d);
        /// Limit for all attempts.
        fn schedule_to_close_timeout(d: Duration) => schedule_to_close_timeout = Some(d);
        /// Limit for waiting in the queue.
        fn schedule_to_start_timeout(d: Duration) => schedule_to_start_timeout = Some(d);
        /// The activity must heartbeat at least this often.
        fn heartbeat_timeout(d: Duration) => heartbeat_timeout = Some(d);
        /// Retry policy.
        fn retry_policy(p: RetryPolicy) => retry_policy = Some(p);
        /// Task queue.
        fn task_queue(q: impl Into<String>) => task_queue = Some(q.into());
        /// What canceling does.
        fn cancellation_type(t: CancellationType) => cancellation_type = t;
        /// Explicit activity id.
        fn activity_id(id: impl Into<String>) => activity_id = Some(id.into());
    }
}

impl<T: DeserializeOwned> IntoFuture for ActivityCall<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = ActivityFuture<T>;
    fn into_future(self) -> ActivityFuture<T> {
        let mut state = self.shared.borrow_mut();
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
            .map_err(|e| crate::workflow::conversion_failure(&e))
            .and_then(|a| encode_input(&state, a));
        let machine = match prepared {
            Err(f) => failed_machine(&mut state, kind, f),
            Ok(_) if self.scope.is_canceled() => failed_machine(
                &mut state,
                kind,
                canceled_failure("activity canceled before it was scheduled"),
            ),
            Ok(input) => {
                let machine = state.add_machine(kind);
                let o = &self.options;
                let header = super::outbound_header(
                    &mut state,
                    crate::workflow::interceptor::Outbound::Activity,
                    &self.activity_type,
                    &input,
                );
                let attrs = cmd::ScheduleActivityTaskCommandAttributes {
                    activity_id,
                    activity_type: Some(crate::api::temporal::api::common::v1::ActivityType {
                        name: self.activity_type.clone(),
                    }),
                    task_queue: Some(task_queue(
                        o.task_queue.as_deref().unwrap_or(&state.info.task_queue),
                    )),
                    header: Some(header),
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
            shared: self.shared.clone(),
            scope: self.scope.clone(),
            machine,
            location: self.location,
            done: false,
            _result: PhantomData,
        }
    }
}

/// A scheduled activity (see [`WorkflowContext::activity`]).
///
/// [`WorkflowContext::activity`]: crate::workflow::WorkflowContext::activity
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
    /// The future of a local activity. Dropping it cancels nothing: a local activity has no
    /// command to cancel, the worker runs it to its recorded result.
    pub(super) fn of_local_activity(
        shared: Shared,
        scope: ScopeRef,
        machine: MachineId,
        location: Loc,
    ) -> Self {
        ActivityFuture {
            shared,
            scope,
            machine,
            location,
            done: true,
            _result: PhantomData,
        }
    }
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
