//! Update-with-start: one request that starts a workflow if needed (by the options' id conflict
//! policy: `UseExisting` sends the update to the running workflow) and runs an update on it —
//! the lazy-initialization pattern (a shopping cart created by its first "add item").
//!
//! ```no_run
//! # use reprise::workflow::{WorkflowContext, WorkflowResult, State};
//! # #[derive(Default)] struct Cart { items: State<u32> }
//! # #[reprise::workflow]
//! # impl Cart {
//! #     #[run] async fn run(&self, ctx: &WorkflowContext) -> WorkflowResult<u32> { Ok(0) }
//! #     #[update] fn add(&self, _ctx: &WorkflowContext, n: u32) -> Result<u32, reprise::converter::ApplicationFailure> { Ok(n) }
//! # }
//! # async fn demo(client: reprise::client::Client) -> Result<(), reprise::client::ClientError> {
//! use reprise::api::temporal::api::enums::v1::WorkflowIdConflictPolicy;
//! use reprise::client::WorkflowOptions;
//! let options = WorkflowOptions::new("cart-7", "carts")
//!     .with_id_conflict_policy(WorkflowIdConflictPolicy::UseExisting);
//! let (cart, items) = client
//!     .update_with_start(Cart::run, (), options, Cart::add, (3,))
//!     .await?;
//! # drop((cart, items));
//! # Ok(()) }
//! ```

use super::{Client, ClientError, WorkflowHandle, WorkflowOptions};
use crate::api::temporal::api::common::v1::{Payloads, WorkflowExecution, WorkflowType};
use crate::api::temporal::api::enums::v1::{
    UpdateWorkflowExecutionLifecycleStage as Stage, WorkflowIdConflictPolicy,
};
use crate::api::temporal::api::update::v1 as upd;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::converter::{Failure, FromPayloads};
use crate::definition::{RunMethod, UpdateMethod, WorkflowDefinition, handler_name};
use std::time::Duration;
use ws::execute_multi_operation_request::{Operation, operation::Operation as Op};
use ws::execute_multi_operation_response::response::Response as R;

/// How long one call waits for the update's completion before polling again.
const LONG_POLL_TIMEOUT: Duration = Duration::from_secs(70);

impl Client {
    /// Starts the workflow of `run` unless it is running (the options must name an id conflict
    /// policy; `UseExisting` is the usual one), runs `update` on it and returns a handle on
    /// the run together with the update's result. A rejected or failed update is
    /// [`ClientError::UpdateFailed`]; a start refused by the policy is the start's error.
    pub async fn update_with_start<M, N, F, U>(
        &self,
        run: F,
        args: F::Args,
        options: WorkflowOptions,
        update: U,
        update_args: U::Args,
    ) -> Result<(WorkflowHandle, U::Output), ClientError>
    where
        F: RunMethod<M>,
        U: UpdateMethod<N, Workflow = F::Workflow>,
    {
        let _ = (run, update);
        if options.id_conflict_policy == WorkflowIdConflictPolicy::Unspecified {
            return Err(ClientError::Config(
                "update-with-start needs an id conflict policy (WorkflowOptions::with_id_conflict_policy)"
                    .into(),
            ));
        }
        let start = ws::StartWorkflowExecutionRequest {
            namespace: self.namespace().to_string(),
            workflow_id: options.id.clone(),
            workflow_type: Some(WorkflowType {
                name: <F::Workflow as WorkflowDefinition>::NAME.to_string(),
            }),
            task_queue: Some(super::task_queue(&options.task_queue)),
            input: self.encode_args(&args)?,
            workflow_execution_timeout: options.execution_timeout.map(Into::into),
            workflow_run_timeout: options.run_timeout.map(Into::into),
            workflow_task_timeout: options.task_timeout.map(Into::into),
            identity: self.identity().to_string(),
            request_id: options
                .request_id
                .clone()
                .unwrap_or_else(crate::util::random_uuid),
            workflow_id_reuse_policy: options.id_reuse_policy as i32,
            workflow_id_conflict_policy: options.id_conflict_policy as i32,
            retry_policy: options
                .retry_policy
                .as_ref()
                .map(crate::definition::RetryPolicy::to_proto),
            memo: self.memo(&options)?,
            search_attributes: super::search_attributes(&options),
            ..Default::default()
        };
        let update_id = crate::util::random_uuid();
        let update_request = ws::UpdateWorkflowExecutionRequest {
            namespace: self.namespace().to_string(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: options.id.clone(),
                run_id: String::new(),
            }),
            wait_policy: Some(upd::WaitPolicy {
                lifecycle_stage: Stage::Completed as i32,
            }),
            request: Some(upd::Request {
                meta: Some(upd::Meta {
                    update_id: update_id.clone(),
                    identity: self.identity().to_string(),
                }),
                input: Some(upd::Input {
                    header: None,
                    name: handler_name::<F::Workflow, U>().to_string(),
                    args: self.encode_args(&update_args)?,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let request = ws::ExecuteMultiOperationRequest {
            namespace: self.namespace().to_string(),
            operations: vec![
                Operation {
                    operation: Some(Op::StartWorkflow(start)),
                },
                Operation {
                    operation: Some(Op::UpdateWorkflow(update_request)),
                },
            ],
            ..Default::default()
        };
        let response = self
            .call(
                &options.id,
                request,
                LONG_POLL_TIMEOUT,
                |mut s, r| async move { s.execute_multi_operation(r).await },
            )
            .await?;
        let mut started = None;
        let mut updated = None;
        for r in response.responses {
            match r.response {
                Some(R::StartWorkflow(s)) => started = Some(s),
                Some(R::UpdateWorkflow(u)) => updated = Some(u),
                None => {}
            }
        }
        let (Some(started), Some(updated)) = (started, updated) else {
            return Err(ClientError::UnexpectedResponse(
                "update-with-start answered without both responses".into(),
            ));
        };
        let handle = WorkflowHandle::started(
            self.clone(),
            options.id.clone(),
            started.run_id.clone(),
            started.started,
        );
        let mut outcome = updated.outcome;
        let update_ref = updated.update_ref.unwrap_or_else(|| upd::UpdateRef {
            workflow_execution: Some(WorkflowExecution {
                workflow_id: options.id.clone(),
                run_id: started.run_id.clone(),
            }),
            update_id,
        });
        while outcome.is_none() {
            let request = ws::PollWorkflowExecutionUpdateRequest {
                namespace: self.namespace().to_string(),
                update_ref: Some(update_ref.clone()),
                identity: self.identity().to_string(),
                wait_policy: Some(upd::WaitPolicy {
                    lifecycle_stage: Stage::Completed as i32,
                }),
            };
            match self
                .call(
                    &options.id,
                    request,
                    LONG_POLL_TIMEOUT,
                    |mut s, r| async move { s.poll_workflow_execution_update(r).await },
                )
                .await
            {
                Ok(r) => outcome = r.outcome,
                Err(ClientError::Rpc {
                    code: tonic::Code::DeadlineExceeded,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        let converter = self.data_converter();
        let payloads = match outcome.and_then(|o| o.value) {
            Some(upd::outcome::Value::Success(Payloads { payloads })) => {
                converter.decode_payloads(payloads)?
            }
            Some(upd::outcome::Value::Failure(mut f)) => {
                converter.decode_failure(&mut f)?;
                return Err(ClientError::UpdateFailed(Box::new(Failure::from_proto(f))));
            }
            None => {
                return Err(ClientError::UnexpectedResponse(
                    "update outcome without a value".into(),
                ));
            }
        };
        let (value,) = <(U::Output,)>::from_payloads(converter, &payloads)?;
        Ok((handle, value))
    }
}
