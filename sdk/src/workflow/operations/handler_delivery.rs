//! Delivery of signals and updates to the handlers workflow code registered (or to the buffers
//! that hold them until it does), and the protocol messages that answer updates.

use super::command;
use crate::api::google::protobuf::Any;
use crate::api::temporal::api::command::v1::{self as cmd, command::Attributes};
use crate::api::temporal::api::common::v1::{Payload, Payloads};
use crate::api::temporal::api::enums::v1::CommandType;
use crate::api::temporal::api::protocol::v1::Message as ProtocolMessage;
use crate::api::temporal::api::update::v1 as upd;
use crate::converter::Failure;
use crate::workflow::PendingUpdate;
use crate::workflow::state::{IssuedCommand, RunState, Shared};
use prost::{Message as _, Name};
use std::panic::Location;

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
pub(crate) fn deliver_update(shared: &Shared, update: PendingUpdate) {
    let handler = {
        let state = shared.borrow();
        state
            .update_handlers
            .get(&update.input.name)
            .cloned()
            .or_else(|| state.default_update_handler.clone())
    };
    let Some(handler) = handler else {
        shared.borrow_mut().update_buffer.push_back(update);
        return;
    };
    if update.run_validator
        && let Some(validator) = &handler.validator
        && let Err(failure) = validator(&update.input)
    {
        reject_update(&mut shared.borrow_mut(), &update, failure);
        return;
    }
    let instance = update.protocol_instance_id.clone();
    {
        let mut state = shared.borrow_mut();
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
    let meta = update.request.meta.clone();
    let future = (handler.handler)(update.input);
    let run = shared.clone();
    let handler_task = async move {
        let result = future.await;
        let mut state = run.borrow_mut();
        let outcome = match result {
            Ok(payloads) => match state.converter.encode_payloads(payloads) {
                Ok(payloads) => upd::outcome::Value::Success(Payloads { payloads }),
                Err(e) => {
                    upd::outcome::Value::Failure(crate::workflow::conversion_failure(&e).to_proto())
                }
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
    };
    // The handler runs as a task of the workflow (what `WorkflowContext::spawn` does).
    shared.borrow_mut().spawn_queue.push(Box::pin(handler_task));
}

fn reject_update(state: &mut RunState, update: &PendingUpdate, failure: Failure) {
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
pub(crate) fn deliver_buffered_updates(shared: &Shared) {
    let ready: Vec<PendingUpdate> = {
        let mut state = shared.borrow_mut();
        let buffer = std::mem::take(&mut state.update_buffer);
        let (ready, waiting): (Vec<_>, Vec<_>) = buffer.into_iter().partition(|u| {
            state.update_handlers.contains_key(&u.input.name)
                || state.default_update_handler.is_some()
        });
        state.update_buffer = waiting.into();
        ready
    };
    for update in ready {
        deliver_update(shared, update);
    }
}
