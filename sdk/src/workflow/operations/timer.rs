//! Durable timers: `WorkflowContext::sleep`.

use super::failures::canceled_failure;
use super::{Loc, command, poll_machine};
use crate::api::temporal::api::command::v1::{self as cmd, command::Attributes};
use crate::api::temporal::api::enums::v1::CommandType;
use crate::converter::Failure;
use crate::workflow::cancellation::ScopeRef;
use crate::workflow::state::{MachineId, MachineKind, MachineStatus, Resolution, RunState, Shared};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A durable timer (see [`WorkflowContext::sleep`]).
///
/// [`WorkflowContext::sleep`]: crate::workflow::WorkflowContext::sleep
#[must_use = "a timer does nothing unless awaited; dropping it cancels it"]
pub struct TimerFuture {
    shared: Shared,
    scope: ScopeRef,
    machine: MachineId,
    location: Loc,
    done: bool,
}

/// Starts a timer in `scope` (already canceled if the scope is).
pub(crate) fn start_timer(
    shared: &Shared,
    scope: &ScopeRef,
    duration: Duration,
    location: Loc,
) -> TimerFuture {
    let mut state = shared.borrow_mut();
    state.seq.timer += 1;
    let timer_id = state.seq.timer.to_string();
    let machine = state.add_machine(MachineKind::Timer {
        timer_id: timer_id.clone(),
    });
    if scope.is_canceled() {
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
        shared: shared.clone(),
        scope: scope.clone(),
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
