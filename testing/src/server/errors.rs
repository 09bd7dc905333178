//! gRPC errors as the official server sends them, with Temporal's typed details attached so
//! the official clients decode them.

use prost::{Message, Name};
use reprise::api::google::protobuf::Any;
use reprise::api::google::rpc::Status as RpcStatus;
use reprise::api::temporal::api::errordetails::v1 as details;
use tonic::{Code, Status};

/// The `Any` type URL of a message as the official server and SDKs write it. (`Name::type_url`
/// of the generated types has no domain: `/temporal.api…`.)
pub(crate) fn type_url<T: Name>() -> String {
    format!("type.googleapis.com/{}", T::full_name())
}

/// True if an `Any` type URL names message `T`, whatever its domain.
pub(crate) fn is_type<T: Name>(url: &str) -> bool {
    url.rsplit('/').next() == Some(T::full_name().as_str())
}

/// A status with one typed detail.
pub(crate) fn with_detail<T: Message + Name>(code: Code, message: String, detail: &T) -> Status {
    let rpc = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: vec![Any {
            type_url: type_url::<T>(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(code, message, rpc.encode_to_vec().into())
}

/// `InvalidArgument` with a message.
pub(crate) fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message)
}

/// The execution does not exist.
pub(crate) fn execution_not_found(workflow_id: &str, run_id: &str) -> Status {
    let message = if run_id.is_empty() {
        format!("workflow not found for ID: {workflow_id}")
    } else {
        format!(
            "workflow execution not found for workflow ID {workflow_id:?} and run ID {run_id:?}"
        )
    };
    with_detail(
        Code::NotFound,
        message,
        &details::NotFoundFailure {
            current_cluster: "active".into(),
            active_cluster: "active".into(),
        },
    )
}

/// The execution exists but is closed, for operations that need an open one.
pub(crate) fn execution_completed() -> Status {
    with_detail(
        Code::NotFound,
        "workflow execution already completed".into(),
        &details::NotFoundFailure {
            current_cluster: "active".into(),
            active_cluster: "active".into(),
        },
    )
}

/// The namespace does not exist.
pub(crate) fn namespace_not_found(namespace: &str) -> Status {
    with_detail(
        Code::NotFound,
        format!("namespace {namespace:?} not found"),
        &details::NamespaceNotFoundFailure {
            namespace: namespace.into(),
        },
    )
}

/// A start was refused because the id is taken.
pub(crate) fn already_started(workflow_id: &str, request_id: &str, run_id: &str) -> Status {
    with_detail(
        Code::AlreadyExists,
        format!(
            "Workflow execution is already running. WorkflowId: {workflow_id}, RunId: {run_id}."
        ),
        &details::WorkflowExecutionAlreadyStartedFailure {
            start_request_id: request_id.into(),
            run_id: run_id.into(),
            ..Default::default()
        },
    )
}

/// A task token that no longer refers to a live task.
pub(crate) fn task_not_found() -> Status {
    with_detail(
        Code::NotFound,
        "workflow task or activity task not found (it may have timed out or completed)".into(),
        &details::NotFoundFailure {
            current_cluster: "active".into(),
            active_cluster: "active".into(),
        },
    )
}

/// The store failed.
/// A store failure. Nothing of the failed transition stays (the run is reloaded from the
/// store), so the call may be retried: `Unavailable`, which clients retry by themselves.
pub(crate) fn store(e: crate::store::StoreError) -> Status {
    match e {
        crate::store::StoreError::Backend(_) => Status::unavailable(e.to_string()),
        crate::store::StoreError::Full(_) => Status::resource_exhausted(e.to_string()),
        _ => Status::internal(e.to_string()),
    }
}
