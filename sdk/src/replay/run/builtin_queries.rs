//! Queries every SDK answers without a handler, sent by the CLI and the Web UI:
//! `__stack_trace` (`temporal workflow stack`) lists the operations the workflow awaits with
//! where its code started them; `__temporal_workflow_metadata` (`temporal workflow metadata`)
//! describes the workflow type and its signal, query and update handlers.

use crate::api::temporal::api::common::v1::Payload;
use crate::converter::Failure;
use crate::converter::encoding::{JSON_PROTOBUF, METADATA_ENCODING, METADATA_MESSAGE_TYPE};
use crate::workflow::state::{MachineKind, MachineStatus, RunState};

/// The query types answered here.
pub(crate) const STACK_TRACE: &str = "__stack_trace";
pub(crate) const METADATA: &str = "__temporal_workflow_metadata";

/// The answer to a built-in query, or `None` if `name` is not one.
pub(crate) fn answer(state: &RunState, name: &str) -> Option<Result<Vec<Payload>, Failure>> {
    let payload = match name {
        STACK_TRACE => state.converter.to_payload(&stack_trace(state)),
        METADATA => Ok(json_protobuf_payload(
            &metadata(state),
            "temporal.api.sdk.v1.WorkflowMetadata",
        )),
        _ => return None,
    };
    Some(payload.map(|p| vec![p]).map_err(Failure::from))
}

/// One line per operation the workflow has started and not seen end, with the place in
/// workflow code that started it; the wait conditions it blocks on are counted.
fn stack_trace(state: &RunState) -> String {
    let mut lines = Vec::new();
    for machine in &state.machines {
        if machine.status == MachineStatus::Resolved {
            continue;
        }
        let what = match &machine.kind {
            MachineKind::Timer { timer_id } => format!("timer {timer_id}"),
            MachineKind::Activity {
                activity_id,
                activity_type,
                ..
            } => format!("activity {activity_type} (id {activity_id})"),
            MachineKind::LocalActivity => "local activity".to_string(),
            MachineKind::Child {
                workflow_id,
                workflow_type,
                ..
            } => format!("child workflow {workflow_type} (id {workflow_id})"),
            MachineKind::SignalExternal => "signal to an external workflow".to_string(),
            MachineKind::CancelExternal => "cancellation of an external workflow".to_string(),
        };
        let place = machine.location.map_or_else(
            || "(location unknown)".to_string(),
            |l| format!("{}:{}:{}", l.file(), l.line(), l.column()),
        );
        lines.push(format!("awaiting {what}\n    at {place}"));
    }
    let conditions = state.condition_wakers.len();
    if conditions > 0 {
        lines.push(format!("awaiting {conditions} wait_condition(s)"));
    }
    if lines.is_empty() {
        lines.push("no pending operations".to_string());
    }
    format!(
        "workflow {} ({})\n{}",
        state.info.workflow_type,
        state.info.workflow_id,
        lines.join("\n")
    )
}

/// The workflow's type and handlers as a `temporal.api.sdk.v1.WorkflowMetadata` in proto3
/// JSON (sorted by name; default handlers as an empty name, as the official SDKs report dynamic
/// handlers).
fn metadata(state: &RunState) -> serde_json::Value {
    let definitions = |mut names: Vec<String>, default: bool| {
        if default {
            names.push(String::new());
        }
        names.sort();
        names
            .into_iter()
            .map(|name| serde_json::json!({ "name": name }))
            .collect::<Vec<_>>()
    };
    let mut queries: Vec<String> = state.query_handlers.keys().cloned().collect();
    queries.extend([STACK_TRACE.to_string(), METADATA.to_string()]);
    serde_json::json!({
        "definition": {
            "type": state.info.workflow_type,
            "queryDefinitions": definitions(queries, state.default_query_handler.is_some()),
            "signalDefinitions": definitions(
                state.signal_handlers.keys().cloned().collect(),
                state.default_signal_handler.is_some(),
            ),
            "updateDefinitions": definitions(
                state.update_handlers.keys().cloned().collect(),
                state.default_update_handler.is_some(),
            ),
        }
    })
}

/// `json` (proto3 JSON of `message_type`) as a `json/protobuf` payload, as the official SDKs'
/// default converter sends protobuf messages.
fn json_protobuf_payload(json: &serde_json::Value, message_type: &str) -> Payload {
    let mut payload = Payload {
        data: json.to_string().into_bytes(),
        ..Default::default()
    };
    payload.metadata.insert(
        METADATA_ENCODING.to_string(),
        JSON_PROTOBUF.as_bytes().to_vec(),
    );
    payload.metadata.insert(
        METADATA_MESSAGE_TYPE.to_string(),
        message_type.as_bytes().to_vec(),
    );
    payload
}
