//! Child workflows: started by this workflow, their result (or failure) reported back to it.

use super::external::{ExternalFuture, signal_external};
use super::failures::{canceled_failure, child_failure};
use super::{Loc, command, decode_result, encode_input, failed_machine, poll_machine, task_queue};
use crate::api::temporal::api::command::v1::{self as cmd, command::Attributes};
use crate::api::temporal::api::common::v1::{Memo, Payload, SearchAttributes, WorkflowType};
use crate::api::temporal::api::enums::v1::{CommandType, RetryState, WorkflowIdReusePolicy};
use crate::converter::{ConversionError, Failure};
use crate::definition::RetryPolicy;
use crate::workflow::cancellation::ScopeRef;
use crate::workflow::options::{CancellationType, ChildWorkflowOptions, ParentClosePolicy};
use crate::workflow::state::{MachineId, MachineKind, MachineStatus, Resolution, RunState, Shared};
use serde::de::DeserializeOwned;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A child workflow call being configured. Await it for the child's result, or [`start`] it.
///
/// [`start`]: ChildWorkflowCall::start
#[must_use = "a child workflow call does nothing unless awaited or started"]
pub struct ChildWorkflowCall<T> {
    shared: Shared,
    scope: ScopeRef,
    workflow_type: String,
    args: Result<Vec<Payload>, ConversionError>,
    options: ChildWorkflowOptions,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + 'static> ChildWorkflowCall<T> {
    pub(crate) fn new(
        shared: Shared,
        scope: ScopeRef,
        workflow_type: &str,
        args: Result<Vec<Payload>, ConversionError>,
        location: Loc,
    ) -> Self {
        ChildWorkflowCall {
            shared,
            scope,
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
    option_setters! {
        /// The child's workflow id.
        fn workflow_id(id: impl Into<String>) => workflow_id = Some(id.into());
        /// The child's task queue.
        fn task_queue(q: impl Into<String>) => task_queue = Some(q.into());
        /// What happens to the child when this workflow closes.
        fn parent_close_policy(p: ParentClosePolicy) => parent_close_policy = p;
        /// What canceling the child does (default: wait until the child confirms it ended).
        fn cancellation_type(t: CancellationType) => cancellation_type = t;
    }

    /// Starts the child; resolves once the server started it (or refused to).
    pub fn start(self) -> ChildStartFuture<T> {
        let mut state = self.shared.borrow_mut();
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
            .map_err(|e| crate::workflow::conversion_failure(&e))
            .and_then(|a| encode_input(&state, a));
        let machine = match prepared {
            Err(f) => failed_machine(&mut state, kind, f),
            Ok(_) if self.scope.is_canceled() => failed_machine(
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
                let header = super::outbound_header(
                    &mut state,
                    crate::workflow::interceptor::Outbound::Child,
                    &self.workflow_type,
                    &input,
                );
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
                    header: Some(header),
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
            shared: self.shared.clone(),
            scope: self.scope.clone(),
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
    shared: Shared,
    scope: ScopeRef,
    machine: MachineId,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T> Future for ChildStartFuture<T> {
    type Output = Result<ChildWorkflowHandle<T>, Failure>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.scope.is_canceled() {
            cancel_child(&mut self.shared.borrow_mut(), self.machine, self.location);
        }
        let mut state = self.shared.borrow_mut();
        let m = &mut state.machines[self.machine];
        let handle = || ChildWorkflowHandle {
            shared: self.shared.clone(),
            scope: self.scope.clone(),
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
    shared: Shared,
    scope: ScopeRef,
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
        match &self.shared.borrow().machines[self.machine].kind {
            MachineKind::Child { workflow_id, .. } => workflow_id.clone(),
            _ => String::new(),
        }
    }
    /// The child's first run id.
    pub fn run_id(&self) -> Option<String> {
        self.shared.borrow().machines[self.machine]
            .child_start
            .clone()
            .and_then(Result::ok)
    }
}

impl<T: DeserializeOwned> ChildWorkflowHandle<T> {
    /// Waits for the child's result.
    pub fn result(self) -> ChildResultFuture<T> {
        ChildResultFuture {
            shared: self.shared.clone(),
            scope: self.scope.clone(),
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
        let payloads = args.to_payloads(&self.shared.borrow().converter);
        let (id, run) = (self.workflow_id(), self.run_id());
        signal_external(
            &self.shared,
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
        cancel_child(&mut self.shared.borrow_mut(), self.machine, self.location);
    }
}

/// Resolves with a child workflow's result.
#[must_use = "a child result does nothing unless awaited"]
pub struct ChildResultFuture<T> {
    shared: Shared,
    scope: ScopeRef,
    machine: MachineId,
    location: Loc,
    _result: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Future for ChildResultFuture<T> {
    type Output = Result<T, Failure>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.scope.is_canceled() {
            cancel_child(&mut self.shared.borrow_mut(), self.machine, self.location);
        }
        let resolution = std::task::ready!(poll_machine(&self.shared, self.machine, cx));
        Poll::Ready(decode_result(&self.shared, resolution))
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
