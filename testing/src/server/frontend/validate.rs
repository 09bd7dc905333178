//! Request validation: clear `InvalidArgument` errors before anything changes.

use super::super::errors::invalid;
use reprise::api::google::protobuf::Duration as PbDuration;
use reprise::api::temporal::api::common::v1::{SearchAttributes, WorkflowExecution};
use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use std::collections::BTreeMap;
use tonic::Status;

/// The longest id or name the server accepts (the official server's default limit).
pub(crate) const MAX_ID_LENGTH: usize = 1000;

/// A required identifier: non-empty, not too long.
pub(crate) fn required_id(value: &str, what: &str) -> Result<(), Status> {
    if value.is_empty() {
        return Err(invalid(format!("{what} is not set on request.")));
    }
    if value.len() > MAX_ID_LENGTH {
        return Err(invalid(format!(
            "{what} exceeds length limit of {MAX_ID_LENGTH}."
        )));
    }
    Ok(())
}

/// The execution of a request: its workflow id is required.
pub(crate) fn execution(execution: Option<&WorkflowExecution>) -> Result<(String, String), Status> {
    let e = execution.ok_or_else(|| invalid("Execution is not set on request."))?;
    required_id(&e.workflow_id, "WorkflowId")?;
    Ok((e.workflow_id.clone(), e.run_id.clone()))
}

/// A task queue name.
pub(crate) fn task_queue(queue: Option<&TaskQueue>) -> Result<String, Status> {
    let name = queue.map(|q| q.name.as_str()).unwrap_or_default();
    required_id(name, "TaskQueue")?;
    Ok(name.to_string())
}

/// A timeout that must not be negative.
pub(crate) fn non_negative(d: Option<&PbDuration>, what: &str) -> Result<(), Status> {
    match d {
        Some(d) if d.seconds < 0 || d.nanos < 0 => {
            Err(invalid(format!("Invalid {what}: it is negative.")))
        }
        _ => Ok(()),
    }
}

/// Search attributes must be registered custom attributes of the namespace.
pub(crate) fn search_attributes(
    attributes: Option<&SearchAttributes>,
    types: &BTreeMap<String, IndexedValueType>,
    custom: &BTreeMap<String, i32>,
) -> Result<(), Status> {
    let Some(attributes) = attributes else {
        return Ok(());
    };
    for name in attributes.indexed_fields.keys() {
        if !custom.contains_key(name) {
            if types.contains_key(name) {
                return Err(invalid(format!(
                    "Search attribute {name} is reserved by the system."
                )));
            }
            return Err(invalid(format!(
                "Namespace has no mapping defined for search attribute {name}"
            )));
        }
    }
    Ok(())
}

/// The remaining budget of a call from its `grpc-timeout` header.
pub(crate) fn grpc_timeout(metadata: &tonic::metadata::MetadataMap) -> Option<std::time::Duration> {
    let text = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    use std::time::Duration;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}
