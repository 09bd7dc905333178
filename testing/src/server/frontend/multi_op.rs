//! `ExecuteMultiOperation`: update-with-start. The only list the API allows is
//! `[StartWorkflow, UpdateWorkflow]` for one workflow id: the start follows its id conflict
//! policy (use-existing sends the update to the running run, terminate-existing replaces it,
//! fail refuses), then the update is admitted to the run and waited for like
//! `UpdateWorkflowExecution`. A new run takes the update with its first workflow task. A failed
//! operation fails the call with `MultiOperationExecutionFailure`: its own status, `Aborted` for
//! the other.

use super::{Frontend, StartRequest, validate};
use crate::server::errors::{invalid, type_url};
use prost::Message;
use reprise::api::google::protobuf::Any;
use reprise::api::google::rpc::Status as RpcStatus;
use reprise::api::temporal::api::enums::v1::{WorkflowExecutionStatus, WorkflowIdConflictPolicy};
use reprise::api::temporal::api::errordetails::v1::MultiOperationExecutionFailure;
use reprise::api::temporal::api::errordetails::v1::multi_operation_execution_failure::OperationStatus;
use reprise::api::temporal::api::failure::v1::MultiOperationExecutionAborted;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use tokio::time::Instant;
use tonic::Status;
use ws::execute_multi_operation_request::operation::Operation as Op;
use ws::execute_multi_operation_response::{Response as OpResponse, response::Response as R};

/// One operation's failure as `MultiOperationExecutionFailure` reports it.
fn operation_status(status: &Status) -> OperationStatus {
    let details = RpcStatus::decode(status.details())
        .map(|s| s.details)
        .unwrap_or_default();
    OperationStatus {
        code: status.code() as i32,
        message: status.message().to_string(),
        details,
    }
}

fn aborted() -> OperationStatus {
    OperationStatus {
        code: tonic::Code::Aborted as i32,
        message: "Operation was aborted.".into(),
        details: vec![Any {
            type_url: type_url::<MultiOperationExecutionAborted>(),
            value: MultiOperationExecutionAborted {}.encode_to_vec(),
        }],
    }
}

/// The call's error when operation `failed` (0: start, 1: update) failed with `status`.
fn multi_failure(failed: usize, status: &Status) -> Status {
    let mut statuses = vec![aborted(), aborted()];
    statuses[failed] = operation_status(status);
    crate::server::errors::with_detail(
        status.code(),
        "MultiOperation could not be executed.".into(),
        &MultiOperationExecutionFailure { statuses },
    )
}

impl Frontend {
    /// `ExecuteMultiOperation`.
    pub(super) async fn execute_multi_operation_impl(
        &self,
        r: ws::ExecuteMultiOperationRequest,
        deadline: Instant,
    ) -> Result<ws::ExecuteMultiOperationResponse, Status> {
        self.namespace(&r.namespace)?;
        let mut operations = r.operations.into_iter().map(|o| o.operation);
        let (
            Some(Some(Op::StartWorkflow(mut start))),
            Some(Some(Op::UpdateWorkflow(update))),
            None,
        ) = (operations.next(), operations.next(), operations.next())
        else {
            return Err(invalid("Operations have to be exactly [Start, Update]."));
        };
        if start.namespace.is_empty() {
            start.namespace = r.namespace.clone();
        }
        let (workflow_id, run_id) = validate::execution(update.workflow_execution.as_ref())
            .map_err(|e| multi_failure(1, &e))?;
        if start.namespace != r.namespace
            || update.namespace != r.namespace && !update.namespace.is_empty()
        {
            return Err(invalid(
                "Operation namespace mismatch with request namespace.",
            ));
        }
        if workflow_id != start.workflow_id {
            return Err(invalid(
                "WorkflowId is not consistent with previous operation(s).",
            ));
        }
        if !run_id.is_empty() {
            return Err(multi_failure(1, &invalid("RunId is not empty.")));
        }
        if !start.cron_schedule.is_empty() {
            return Err(multi_failure(0, &invalid("CronSchedule is not allowed.")));
        }
        if start
            .workflow_start_delay
            .is_some_and(|d| d.seconds > 0 || d.nanos > 0)
        {
            return Err(multi_failure(
                0,
                &invalid("WorkflowStartDelay is not allowed."),
            ));
        }
        if start.workflow_id_conflict_policy == WorkflowIdConflictPolicy::Unspecified as i32 {
            return Err(multi_failure(
                0,
                &invalid("WorkflowIdConflictPolicy is not set."),
            ));
        }
        let request = update
            .request
            .clone()
            .ok_or_else(|| multi_failure(1, &invalid("Request is not set on request.")))?;
        let update_id = request
            .meta
            .as_ref()
            .map(|m| m.update_id.clone())
            .unwrap_or_default();
        validate::required_id(&update_id, "UpdateId").map_err(|e| multi_failure(1, &e))?;
        let retention = self
            .validate_start(&start)
            .map_err(|e| multi_failure(0, &e))?;
        let namespace = start.namespace.clone();
        let outcome = self
            .engine
            .start(
                &namespace,
                StartRequest {
                    request: start,
                    signal: None,
                    retention: Some(retention),
                },
            )
            .map_err(|e| multi_failure(0, &e))?;
        let key = self
            .engine
            .resolve(&namespace, &workflow_id, &outcome.run_id)
            .map_err(|e| multi_failure(1, &e))?;
        let stage = update
            .wait_policy
            .map(|w| w.lifecycle_stage)
            .unwrap_or_default();
        let updated = self
            .engine
            .update(&key, request, stage, deadline)
            .await
            .map_err(|e| multi_failure(1, &e))?;
        Ok(ws::ExecuteMultiOperationResponse {
            responses: vec![
                OpResponse {
                    response: Some(R::StartWorkflow(ws::StartWorkflowExecutionResponse {
                        run_id: outcome.run_id,
                        started: outcome.started,
                        status: WorkflowExecutionStatus::Running as i32,
                        ..Default::default()
                    })),
                },
                OpResponse {
                    response: Some(R::UpdateWorkflow(updated)),
                },
            ],
        })
    }
}
