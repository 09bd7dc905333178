//! The operations workflow code starts — timers, activities, local activities, child workflows,
//! external signals and cancels — as futures over their state machines, plus delivery of signals
//! and updates to handlers. A future dropped before it resolves cancels its operation (so the
//! loser of a `select` is canceled, as Rust code expects); an operation whose command was not
//! yet sent is simply withdrawn.
//!
//! An operation is given the run's state and the cancellation scope it belongs to by the
//! `WorkflowContext` that starts it, and never reaches back into the context: the context is
//! the face workflow code sees, the operations are what it starts.

use super::state::{MachineId, MachineKind, Resolution, RunState, Shared};
use crate::api::temporal::api::command::v1::{Command, command::Attributes};
use crate::api::temporal::api::common::v1::{Payload, Payloads};
use crate::api::temporal::api::enums::v1::{CommandType, TaskQueueKind};
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use crate::converter::Failure;
use serde::de::DeserializeOwned;
use std::panic::Location;
use std::task::{Context, Poll};

/// Builder methods of the calls (`ActivityCall`, `LocalActivityCall`, `ChildWorkflowCall`): each
/// sets one field of the call's `options` and returns the call. The calls' options differ, the
/// setters' shape does not, so it is written once here; each call lists its own setters with
/// their documentation.
macro_rules! option_setters {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($value:ident: $type:ty) => $field:ident = $set:expr;
    )*) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(mut self, $value: $type) -> Self {
                self.options.$field = $set;
                self
            }
        )*
    };
}

mod activity;
mod child;
mod external;
mod failures;
mod handler_delivery;
mod local_activity;
mod timer;

pub use activity::{ActivityCall, ActivityFuture};
pub use child::{ChildResultFuture, ChildStartFuture, ChildWorkflowCall, ChildWorkflowHandle};
pub use external::ExternalFuture;
pub(crate) use external::{cancel_external, signal_external};
pub(crate) use failures::{activity_failure, canceled_failure, child_failure};
pub(crate) use handler_delivery::{deliver_buffered_updates, deliver_signal, deliver_update};
pub use local_activity::LocalActivityCall;
pub(crate) use local_activity::{
    LOCAL_ACTIVITY_MARKER, LocalActivityMarkerData, local_activity_marker,
};
pub use timer::TimerFuture;
pub(crate) use timer::start_timer;

/// Where in workflow code an operation was started (for nondeterminism errors).
type Loc = &'static Location<'static>;

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
        .map_err(|e| crate::workflow::conversion_failure(&e))?;
    Ok(Some(Payloads { payloads }))
}

/// The Temporal header of an outbound command: what the run's interceptor adds, if it has one.
fn outbound_header(
    state: &mut RunState,
    which: super::interceptor::Outbound,
    name: &str,
    input: &Option<Payloads>,
) -> crate::api::temporal::api::common::v1::Header {
    let s = state;
    let args = input.as_ref().map_or(&[][..], |p| &p.payloads[..]);
    super::interceptor::outbound_header(&mut s.interceptor, which, &s.info, s.replaying, name, args)
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
            result.map_err(|e| crate::workflow::conversion_failure(&e))
        }
        Resolution::Failed(f) => Err(*f),
    }
}
