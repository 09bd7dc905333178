//! Activation: the workflow runs with the jobs collected since the last one (signals and
//! updates first, then its start, then resolutions) until nothing can progress; once the
//! workflow function returned, its closing command.

use super::jobs::Job;
use super::{WORKFLOW_RETURN, WorkflowRun};
use crate::api::temporal::api::command::v1::{self as cmd, Command, command::Attributes as C};
use crate::api::temporal::api::common::v1::{
    Memo, Payload, Payloads, SearchAttributes, WorkflowType,
};
use crate::api::temporal::api::enums::v1::{CommandType, TaskQueueKind};
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use crate::converter::{DataConverter, Failure};
use crate::replay::error::ReplayError;
use crate::workflow::WorkflowError;
use crate::workflow::interceptor::Inbound;
use crate::workflow::operations as ops;
use std::panic::AssertUnwindSafe;

impl WorkflowRun {
    /// Runs the workflow with the jobs collected since the last activation: signals and updates
    /// first (as the official SDKs order them), then the workflow's start, then resolutions.
    pub(super) fn activate(&mut self) -> Result<(), ReplayError> {
        let jobs = std::mem::take(&mut self.jobs);
        let (first, rest): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|j| matches!(j, Job::Signal { .. } | Job::Update(_)));
        for job in first {
            self.apply_job(job);
        }
        self.run_until_quiescent()?;
        if let Some(input) = self.input.take() {
            let future = (self.run_fn)(self.ctx.clone(), input);
            let outcome = self.outcome.clone();
            self.executor.spawn(async move {
                let result = future.await;
                *outcome.borrow_mut() = Some(result);
            });
        }
        for job in rest {
            self.apply_job(job);
        }
        self.run_until_quiescent()?;
        self.close_if_returned();
        Ok(())
    }

    fn apply_job(&mut self, job: Job) {
        match job {
            Job::Signal {
                name,
                input,
                headers,
            } => {
                self.intercept(Inbound::Signal, &name, &headers, &input);
                ops::deliver_signal(&self.shared, name, input)
            }
            Job::Update(update) => {
                let headers = update
                    .request
                    .input
                    .as_ref()
                    .and_then(|i| i.header.as_ref());
                let headers = headers.map_or(super::NO_HEADERS, |h| &h.fields);
                self.intercept(
                    Inbound::Update,
                    &update.input.name,
                    headers,
                    &update.input.args,
                );
                ops::deliver_update(&self.shared, *update)
            }
            Job::Cancel { reason } => {
                let mut state = self.shared.borrow_mut();
                state.cancel_requested = Some(reason);
                state.root_scope.cancel();
                state.wake_cancel_waiters();
            }
            Job::Resolve {
                machine,
                resolution,
            } => self.shared.borrow_mut().machines[machine].resolve(resolution),
            Job::ChildStarted { machine, run_id } => {
                let mut state = self.shared.borrow_mut();
                let m = &mut state.machines[machine];
                m.child_start = Some(Ok(run_id));
                if let Some(w) = m.start_waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// Polls until nothing can progress, re-checking `wait_condition`s after each round.
    pub(super) fn run_until_quiescent(&mut self) -> Result<(), ReplayError> {
        loop {
            self.poll_tasks()?;
            let wakers = std::mem::take(&mut self.shared.borrow_mut().condition_wakers);
            if wakers.is_empty() {
                return Ok(());
            }
            let before = self.shared.borrow().conditions_satisfied;
            for w in wakers {
                w.wake();
            }
            self.poll_tasks()?;
            if self.shared.borrow().conditions_satisfied == before {
                return Ok(());
            }
        }
    }

    fn poll_tasks(&mut self) -> Result<(), ReplayError> {
        let shared = &self.shared;
        let executor = &mut self.executor;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            executor.run_until_stalled(&|| shared.borrow_mut().spawn_queue.drain(..).collect())
        }));
        result.map(|_| ()).map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "workflow code panicked".into());
            let info = self.info();
            ReplayError::WorkflowTaskFailed {
                workflow_type: info.workflow_type,
                workflow_id: info.workflow_id,
                message,
            }
        })
    }

    /// Once the workflow function returned: the closing command.
    pub(super) fn close_if_returned(&mut self) {
        let Some(outcome) = self.outcome.borrow_mut().take() else {
            return;
        };
        let mut state = self.shared.borrow_mut();
        if state.closed {
            return;
        }
        state.closed = true;
        let command = match outcome {
            Ok(result) => match state.converter.encode_payloads(result) {
                Ok(payloads) => complete_command(payloads),
                Err(e) => fail_command(&state.converter, crate::workflow::conversion_failure(&e)),
            },
            Err(WorkflowError::ContinueAsNew(request)) => {
                let o = request.options;
                let input = state
                    .converter
                    .encode_payloads(request.args)
                    .unwrap_or_default();
                let name = o
                    .workflow_type
                    .clone()
                    .unwrap_or_else(|| state.info.workflow_type.clone());
                let s = &mut *state;
                let header = crate::workflow::interceptor::outbound_header(
                    &mut s.interceptor,
                    crate::workflow::interceptor::Outbound::ContinueAsNew,
                    &s.info,
                    s.replaying,
                    &name,
                    &input,
                );
                let attrs = cmd::ContinueAsNewWorkflowExecutionCommandAttributes {
                    workflow_type: Some(WorkflowType {
                        name: o
                            .workflow_type
                            .unwrap_or_else(|| state.info.workflow_type.clone()),
                    }),
                    task_queue: Some(TaskQueue {
                        name: o
                            .task_queue
                            .unwrap_or_else(|| state.info.task_queue.clone()),
                        kind: TaskQueueKind::Normal as i32,
                        ..Default::default()
                    }),
                    input: (!input.is_empty()).then_some(Payloads { payloads: input }),
                    workflow_run_timeout: o.run_timeout.map(Into::into),
                    workflow_task_timeout: o.task_timeout.map(Into::into),
                    header: Some(header),
                    memo: o.memo.map(|fields| Memo { fields }),
                    search_attributes: o
                        .search_attributes
                        .map(|indexed_fields| SearchAttributes { indexed_fields }),
                    ..Default::default()
                };
                Command {
                    command_type: CommandType::ContinueAsNewWorkflowExecution as i32,
                    attributes: Some(C::ContinueAsNewWorkflowExecutionCommandAttributes(attrs)),
                    ..Default::default()
                }
            }
            Err(e) if e.is_cancellation() && state.cancel_requested.is_some() => cancel_command(),
            Err(WorkflowError::Canceled) => cancel_command(),
            Err(WorkflowError::Failed(failure)) => fail_command(&state.converter, *failure),
        };
        state.push_command(command, None, WORKFLOW_RETURN);
    }
}

fn complete_command(payloads: Vec<Payload>) -> Command {
    Command {
        command_type: CommandType::CompleteWorkflowExecution as i32,
        attributes: Some(C::CompleteWorkflowExecutionCommandAttributes(
            cmd::CompleteWorkflowExecutionCommandAttributes {
                result: (!payloads.is_empty()).then_some(Payloads { payloads }),
            },
        )),
        ..Default::default()
    }
}

fn fail_command(converter: &DataConverter, failure: Failure) -> Command {
    let mut proto = failure.to_proto();
    let _ = converter.encode_failure(&mut proto);
    Command {
        command_type: CommandType::FailWorkflowExecution as i32,
        attributes: Some(C::FailWorkflowExecutionCommandAttributes(
            cmd::FailWorkflowExecutionCommandAttributes {
                failure: Some(proto),
            },
        )),
        ..Default::default()
    }
}

fn cancel_command() -> Command {
    Command {
        command_type: CommandType::CancelWorkflowExecution as i32,
        attributes: Some(C::CancelWorkflowExecutionCommandAttributes(
            cmd::CancelWorkflowExecutionCommandAttributes { details: None },
        )),
        ..Default::default()
    }
}
