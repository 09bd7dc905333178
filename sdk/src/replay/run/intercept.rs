//! The run's side of the worker's interceptors: its start, signals, queries and updates go
//! through the run's [`WorkflowInterceptor`] (outbound commands do in `workflow::operations`).

use super::WorkflowRun;
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::history::v1::{HistoryEvent, history_event::Attributes as E};
use crate::workflow::interceptor::{self, Headers, Inbound, WorkflowInbound, WorkflowInterceptor};

/// The headers of a message that came without any.
pub(crate) const NO_HEADERS: &Headers = &Headers::new();

impl WorkflowRun {
    /// Gives the run its interceptor and tells it the run starts, with the headers and input of
    /// `first` (the run's `WorkflowExecutionStarted`).
    pub(crate) fn set_interceptor(
        &mut self,
        interceptor: Box<dyn WorkflowInterceptor>,
        first: &HistoryEvent,
    ) {
        self.shared.borrow_mut().interceptor = Some(interceptor);
        let Some(E::WorkflowExecutionStartedEventAttributes(started)) = &first.attributes else {
            return;
        };
        let headers = started.header.as_ref().map_or(NO_HEADERS, |h| &h.fields);
        let args = self.input.clone().unwrap_or_default();
        let name = self.shared.borrow().info.workflow_type.clone();
        self.intercept(Inbound::Execute, &name, headers, &args);
    }

    /// Calls the run's interceptor, if it has one, for an inbound message.
    pub(crate) fn intercept(
        &self,
        which: Inbound,
        name: &str,
        headers: &Headers,
        args: &[Payload],
    ) {
        let mut state = self.shared.borrow_mut();
        if state.interceptor.is_none() {
            return;
        }
        let s = &mut *state;
        let input = WorkflowInbound {
            info: &s.info,
            name,
            headers,
            args,
            is_replaying: s.replaying,
        };
        interceptor::inbound(&mut s.interceptor, which, &input);
    }
}
