//! Request validation: clear `InvalidArgument` errors, with the official server's messages,
//! before anything changes. The limits themselves are in `server::limits`.

use super::super::errors::invalid;
use super::super::limits;
use reprise::api::google::protobuf::Duration as PbDuration;
use reprise::api::temporal::api::common::v1::{SearchAttributes, WorkflowExecution};
use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise::api::temporal::api::taskqueue::v1::TaskQueue;
use std::collections::BTreeMap;
use tonic::Status;

/// The longest id or name the server accepts (the official server's default limit).
pub(crate) const MAX_ID_LENGTH: usize = limits::MAX_ID_LENGTH;

/// A required identifier: non-empty, not too long.
pub(crate) fn required_id(value: &str, what: &str) -> Result<(), Status> {
    if value.is_empty() {
        return Err(invalid(format!("{what} is not set on request.")));
    }
    id_length(value, what)
}

/// An optional identifier: not too long (the official messages differ by field).
pub(crate) fn id_length(value: &str, what: &str) -> Result<(), Status> {
    if value.len() <= MAX_ID_LENGTH {
        return Ok(());
    }
    Err(invalid(match what {
        "WorkflowId" => format!(
            "WorkflowId exceeds maximum allowed length ({}/{MAX_ID_LENGTH})",
            value.len()
        ),
        "TaskQueue" => "taskQueue length exceeds limit".to_string(),
        _ => format!("{what} length exceeds limit."),
    }))
}

/// A retry policy of a request (`InvalidArgument` with the official message).
pub(crate) fn retry_policy(
    policy: Option<&reprise::api::temporal::api::common::v1::RetryPolicy>,
) -> Result<(), Status> {
    limits::retry_policy(policy).map_err(invalid)
}

/// The payload fields of a start request: input within the blob limit, memo within its limit.
pub(crate) fn start_payloads(
    input: Option<&reprise::api::temporal::api::common::v1::Payloads>,
    memo: Option<&reprise::api::temporal::api::common::v1::Memo>,
) -> Result<(), Status> {
    limits::blob(input).map_err(invalid)?;
    limits::memo(memo).map_err(invalid)
}

/// A payload field (signal input, update input, query arguments…) within the blob limit.
pub(crate) fn blob(
    p: Option<&reprise::api::temporal::api::common::v1::Payloads>,
) -> Result<(), Status> {
    limits::blob(p).map_err(invalid)
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

/// Search attributes must be registered custom attributes of the namespace, with values of
/// their registered types, within the official count and size limits.
pub(crate) fn search_attributes(
    namespace: &str,
    attributes: Option<&SearchAttributes>,
    types: &BTreeMap<String, IndexedValueType>,
    custom: &BTreeMap<String, i32>,
) -> Result<(), Status> {
    let Some(attributes) = attributes else {
        return Ok(());
    };
    search_attribute_errors(namespace, attributes, types, custom).map_err(invalid)
}

/// The first problem of search attributes, as the official message (shared with the
/// `UpsertWorkflowSearchAttributes` command's check).
pub(crate) fn search_attribute_errors(
    namespace: &str,
    attributes: &SearchAttributes,
    types: &BTreeMap<String, IndexedValueType>,
    custom: &BTreeMap<String, i32>,
) -> Result<(), String> {
    for (name, value) in &attributes.indexed_fields {
        match custom.get(name) {
            Some(kind) => {
                let kind = IndexedValueType::try_from(*kind).unwrap_or_default();
                limits::search_attribute_value(name, kind, value)?;
            }
            None if types.contains_key(name) => {
                return Err(format!("{name} attribute can't be set in SearchAttributes"));
            }
            None => {
                return Err(format!(
                    "Namespace {namespace} has no mapping defined for search attribute {name}"
                ));
            }
        }
    }
    limits::search_attribute_sizes(attributes)
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
