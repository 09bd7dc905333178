//! The frontend side of reset and of the full describe (parent namespace id).

use super::Frontend;
use crate::store::RunKey;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use tonic::Status;

impl Frontend {
    /// `ResetWorkflowExecution`.
    pub(super) fn reset(
        &self,
        r: ws::ResetWorkflowExecutionRequest,
    ) -> Result<ws::ResetWorkflowExecutionResponse, Status> {
        self.namespace(&r.namespace)?;
        let run_id = self.engine.reset_workflow(&r.namespace, &r)?;
        Ok(ws::ResetWorkflowExecutionResponse { run_id })
    }

    /// `DescribeWorkflowExecution`, with the parent's namespace id for a child.
    pub(super) fn describe(
        &self,
        key: &RunKey,
    ) -> Result<ws::DescribeWorkflowExecutionResponse, Status> {
        let (mut response, parent_namespace) = self.engine.describe_run(key)?;
        if let (Some(name), Some(info)) =
            (parent_namespace, response.workflow_execution_info.as_mut())
        {
            info.parent_namespace_id = self.namespace(&name).map(|r| r.id).unwrap_or_default();
        }
        Ok(response)
    }
}
