//! Signals and cancel requests sent to other workflows (and to children by their handles).

use super::{Loc, command, encode_input, failed_machine, poll_machine};
use crate::api::temporal::api::command::v1::{self as cmd, command::Attributes};
use crate::api::temporal::api::common::v1::{Payload, WorkflowExecution};
use crate::api::temporal::api::enums::v1::CommandType;
use crate::converter::{ConversionError, Failure};
use crate::workflow::state::{MachineId, MachineKind, Resolution, Shared};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

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

/// Signals another workflow (`child_workflow_only`: only if it is a child of this one).
pub(crate) fn signal_external(
    shared: &Shared,
    workflow_id: &str,
    run_id: Option<&str>,
    signal_name: &str,
    args: Result<Vec<Payload>, ConversionError>,
    child_workflow_only: bool,
    location: Loc,
) -> ExternalFuture {
    let mut state = shared.borrow_mut();
    state.seq.external_signal += 1;
    let kind = MachineKind::SignalExternal;
    let prepared = args
        .map_err(|e| crate::workflow::conversion_failure(&e))
        .and_then(|a| encode_input(&state, a));
    let machine = match prepared {
        Err(f) => failed_machine(&mut state, kind, f),
        Ok(input) => {
            let machine = state.add_machine(kind);
            let header = super::outbound_header(
                &mut state,
                crate::workflow::interceptor::Outbound::SignalExternal,
                signal_name,
                &input,
            );
            let attrs = cmd::SignalExternalWorkflowExecutionCommandAttributes {
                execution: Some(WorkflowExecution {
                    workflow_id: workflow_id.to_string(),
                    run_id: run_id.unwrap_or_default().to_string(),
                }),
                signal_name: signal_name.to_string(),
                input,
                child_workflow_only,
                header: Some(header),
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
        shared: shared.clone(),
        machine,
    }
}

/// Asks another workflow to cancel (`child_workflow_only`: only if it is a child of this one).
pub(crate) fn cancel_external(
    shared: &Shared,
    workflow_id: &str,
    run_id: Option<&str>,
    child_workflow_only: bool,
    location: Loc,
) -> ExternalFuture {
    let mut state = shared.borrow_mut();
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
        shared: shared.clone(),
        machine,
    }
}
