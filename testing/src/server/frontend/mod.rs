//! The frontend: gRPC handlers of `WorkflowService`, validating requests and routing them to
//! history and matching.

mod activity_limits;
mod batch;
mod counting;
mod handlers;
mod history;
mod multi_op;
mod operator;
mod reset;
mod schedules;
mod testservice;
pub(crate) mod validate;

pub(crate) use operator::Operator;
pub(crate) use testservice::TestControl;

use super::errors::{self, invalid};
use super::history::{ActivityOutcome, ActivityRef, Engine, StartRequest};
use super::namespaces::{self, Namespaces};
use super::visibility;
use crate::store::NamespaceRecord;
use reprise::api::temporal::api::enums::v1::{QueryResultType, WorkflowExecutionStatus};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::api::temporal::api::workflowservice::v1::workflow_service_server::WorkflowService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

type Rpc<T> = Result<Response<T>, Status>;

/// The `WorkflowService` of one server.
pub(crate) struct Frontend {
    pub(crate) engine: Arc<Engine>,
    pub(crate) namespaces: Arc<Namespaces>,
    pub(crate) long_poll: Duration,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Unlocked while a client waits for a result (time for tests).
    pub(crate) result_waits: Option<super::TimeSkipping>,
    pub(crate) schedules: Arc<super::schedules::Schedules>,
    /// Batch operations (`frontend/batch.rs`).
    pub(crate) batches: Arc<batch::Batches>,
}

fn ok<T>(t: T) -> Rpc<T> {
    Ok(Response::new(t))
}

#[tonic::async_trait]
impl WorkflowService for Frontend {
    async fn register_namespace(
        &self,
        request: Request<ws::RegisterNamespaceRequest>,
    ) -> Rpc<ws::RegisterNamespaceResponse> {
        let r = request.into_inner();
        validate::required_id(&r.namespace, "Namespace")?;
        let retention = r
            .workflow_execution_retention_period
            .and_then(|d| Duration::try_from(d).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(86_400));
        self.namespaces.register(NamespaceRecord {
            name: r.namespace,
            id: super::history::new_id(),
            description: r.description,
            owner_email: r.owner_email,
            retention,
            search_attributes: Default::default(),
            data: r.data.into_iter().collect(),
        })?;
        ok(ws::RegisterNamespaceResponse {})
    }

    async fn describe_namespace(
        &self,
        request: Request<ws::DescribeNamespaceRequest>,
    ) -> Rpc<ws::DescribeNamespaceResponse> {
        let r = request.into_inner();
        let record = if r.namespace.is_empty() && !r.id.is_empty() {
            self.namespaces
                .list()?
                .into_iter()
                .find(|n| n.id == r.id)
                .ok_or_else(|| errors::namespace_not_found(&r.id))?
        } else {
            self.namespace(&r.namespace)?
        };
        ok(namespaces::describe(&record))
    }

    async fn list_namespaces(
        &self,
        _request: Request<ws::ListNamespacesRequest>,
    ) -> Rpc<ws::ListNamespacesResponse> {
        ok(ws::ListNamespacesResponse {
            namespaces: self
                .namespaces
                .list()?
                .iter()
                .map(namespaces::describe)
                .collect(),
            next_page_token: Vec::new(),
        })
    }

    async fn start_workflow_execution(
        &self,
        request: Request<ws::StartWorkflowExecutionRequest>,
    ) -> Rpc<ws::StartWorkflowExecutionResponse> {
        let r = request.into_inner();
        let retention = self.validate_start(&r)?;
        let namespace = r.namespace.clone();
        let outcome = self.engine.start(
            &namespace,
            StartRequest {
                request: r,
                signal: None,
                retention: Some(retention),
            },
        )?;
        ok(ws::StartWorkflowExecutionResponse {
            run_id: outcome.run_id,
            started: outcome.started,
            status: WorkflowExecutionStatus::Running as i32,
            ..Default::default()
        })
    }

    async fn get_workflow_execution_history(
        &self,
        request: Request<ws::GetWorkflowExecutionHistoryRequest>,
    ) -> Rpc<ws::GetWorkflowExecutionHistoryResponse> {
        let deadline = self.deadline(request.metadata());
        // The official server's CLI and UI see only the stored events.
        let stored_only = request
            .metadata()
            .get("client-name")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|name| matches!(name, "temporal-cli" | "temporal-ui"));
        ok(self
            .history(request.into_inner(), deadline, stored_only)
            .await?)
    }

    async fn get_workflow_execution_history_reverse(
        &self,
        request: Request<ws::GetWorkflowExecutionHistoryReverseRequest>,
    ) -> Rpc<ws::GetWorkflowExecutionHistoryReverseResponse> {
        ok(self.history_reverse(request.into_inner())?)
    }

    async fn poll_workflow_task_queue(
        &self,
        request: Request<ws::PollWorkflowTaskQueueRequest>,
    ) -> Rpc<ws::PollWorkflowTaskQueueResponse> {
        self.poll_workflow_task(request).await
    }

    async fn respond_workflow_task_completed(
        &self,
        request: Request<ws::RespondWorkflowTaskCompletedRequest>,
    ) -> Rpc<ws::RespondWorkflowTaskCompletedResponse> {
        let r = request.into_inner();
        ok(self.engine.respond_workflow_task_completed(&r)?)
    }

    async fn respond_workflow_task_failed(
        &self,
        request: Request<ws::RespondWorkflowTaskFailedRequest>,
    ) -> Rpc<ws::RespondWorkflowTaskFailedResponse> {
        self.engine
            .respond_workflow_task_failed(&request.into_inner())?;
        ok(ws::RespondWorkflowTaskFailedResponse {})
    }

    async fn poll_activity_task_queue(
        &self,
        request: Request<ws::PollActivityTaskQueueRequest>,
    ) -> Rpc<ws::PollActivityTaskQueueResponse> {
        self.poll_activity_task(request).await
    }

    async fn record_activity_task_heartbeat(
        &self,
        request: Request<ws::RecordActivityTaskHeartbeatRequest>,
    ) -> Rpc<ws::RecordActivityTaskHeartbeatResponse> {
        let r = request.into_inner();
        if let Some(outcome) = activity_limits::heartbeat(r.details.as_ref()) {
            self.activity_by_token(&r.namespace, &r.task_token, outcome, &r.identity)?;
            return ok(ws::RecordActivityTaskHeartbeatResponse::default());
        }
        let (run, scheduled_event_id, attempt) =
            Engine::activity_by_token(&r.namespace, &r.task_token)?;
        let cancel_requested = self.engine.heartbeat(
            &run,
            ActivityRef::Token {
                scheduled_event_id,
                attempt,
            },
            r.details,
        )?;
        ok(ws::RecordActivityTaskHeartbeatResponse {
            cancel_requested,
            ..Default::default()
        })
    }

    async fn record_activity_task_heartbeat_by_id(
        &self,
        request: Request<ws::RecordActivityTaskHeartbeatByIdRequest>,
    ) -> Rpc<ws::RecordActivityTaskHeartbeatByIdResponse> {
        let r = request.into_inner();
        validate::required_id(&r.workflow_id, "WorkflowId")?;
        validate::required_id(&r.activity_id, "ActivityId")?;
        if let Some(outcome) = activity_limits::heartbeat(r.details.as_ref()) {
            self.activity_by_id(
                &r.namespace,
                &r.workflow_id,
                &r.run_id,
                &r.activity_id,
                outcome,
                &r.identity,
            )?;
            return ok(ws::RecordActivityTaskHeartbeatByIdResponse::default());
        }
        let run = self.run_key(&r.namespace, &r.workflow_id, &r.run_id)?;
        let cancel_requested =
            self.engine
                .heartbeat(&run, ActivityRef::Id(&r.activity_id), r.details)?;
        ok(ws::RecordActivityTaskHeartbeatByIdResponse {
            cancel_requested,
            ..Default::default()
        })
    }

    async fn respond_activity_task_completed(
        &self,
        request: Request<ws::RespondActivityTaskCompletedRequest>,
    ) -> Rpc<ws::RespondActivityTaskCompletedResponse> {
        let r = request.into_inner();
        self.activity_by_token(
            &r.namespace,
            &r.task_token,
            ActivityOutcome::Completed(r.result),
            &r.identity,
        )?;
        ok(ws::RespondActivityTaskCompletedResponse {})
    }

    async fn respond_activity_task_completed_by_id(
        &self,
        request: Request<ws::RespondActivityTaskCompletedByIdRequest>,
    ) -> Rpc<ws::RespondActivityTaskCompletedByIdResponse> {
        let r = request.into_inner();
        self.activity_by_id(
            &r.namespace,
            &r.workflow_id,
            &r.run_id,
            &r.activity_id,
            ActivityOutcome::Completed(r.result),
            &r.identity,
        )?;
        ok(ws::RespondActivityTaskCompletedByIdResponse {})
    }

    async fn respond_activity_task_failed(
        &self,
        request: Request<ws::RespondActivityTaskFailedRequest>,
    ) -> Rpc<ws::RespondActivityTaskFailedResponse> {
        let r = request.into_inner();
        let failure = r
            .failure
            .ok_or_else(|| invalid("Failure is not set on request."))?;
        let (failure, failures) = activity_limits::failure(failure)?;
        let last_heartbeat_details = activity_limits::last_heartbeat(r.last_heartbeat_details);
        if last_heartbeat_details.is_some() {
            // As the official server: the failing attempt's last heartbeat details are kept for
            // the next attempt (the worker's last heartbeat may not have been sent yet).
            let (run, scheduled_event_id, attempt) =
                Engine::activity_by_token(&r.namespace, &r.task_token)?;
            self.engine.heartbeat(
                &run,
                ActivityRef::Token {
                    scheduled_event_id,
                    attempt,
                },
                last_heartbeat_details,
            )?;
        }
        self.activity_by_token(
            &r.namespace,
            &r.task_token,
            ActivityOutcome::Failed(Box::new(failure)),
            &r.identity,
        )?;
        ok(ws::RespondActivityTaskFailedResponse { failures })
    }

    async fn respond_activity_task_failed_by_id(
        &self,
        request: Request<ws::RespondActivityTaskFailedByIdRequest>,
    ) -> Rpc<ws::RespondActivityTaskFailedByIdResponse> {
        let r = request.into_inner();
        let failure = r
            .failure
            .ok_or_else(|| invalid("Failure is not set on request."))?;
        let (failure, failures) = activity_limits::failure(failure)?;
        self.activity_by_id(
            &r.namespace,
            &r.workflow_id,
            &r.run_id,
            &r.activity_id,
            ActivityOutcome::Failed(Box::new(failure)),
            &r.identity,
        )?;
        ok(ws::RespondActivityTaskFailedByIdResponse { failures })
    }

    async fn respond_activity_task_canceled(
        &self,
        request: Request<ws::RespondActivityTaskCanceledRequest>,
    ) -> Rpc<ws::RespondActivityTaskCanceledResponse> {
        let r = request.into_inner();
        self.activity_by_token(
            &r.namespace,
            &r.task_token,
            ActivityOutcome::Canceled(r.details),
            &r.identity,
        )?;
        ok(ws::RespondActivityTaskCanceledResponse {})
    }

    async fn respond_activity_task_canceled_by_id(
        &self,
        request: Request<ws::RespondActivityTaskCanceledByIdRequest>,
    ) -> Rpc<ws::RespondActivityTaskCanceledByIdResponse> {
        let r = request.into_inner();
        self.activity_by_id(
            &r.namespace,
            &r.workflow_id,
            &r.run_id,
            &r.activity_id,
            ActivityOutcome::Canceled(r.details),
            &r.identity,
        )?;
        ok(ws::RespondActivityTaskCanceledByIdResponse {})
    }

    async fn request_cancel_workflow_execution(
        &self,
        request: Request<ws::RequestCancelWorkflowExecutionRequest>,
    ) -> Rpc<ws::RequestCancelWorkflowExecutionResponse> {
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.workflow_execution.as_ref())?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        self.engine
            .with_run(&key, |ms| ms.request_cancel(&r.reason, &r.identity))?;
        ok(ws::RequestCancelWorkflowExecutionResponse {})
    }

    async fn signal_workflow_execution(
        &self,
        request: Request<ws::SignalWorkflowExecutionRequest>,
    ) -> Rpc<ws::SignalWorkflowExecutionResponse> {
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.workflow_execution.as_ref())?;
        validate::required_id(&r.signal_name, "SignalName")?;
        validate::blob(r.input.as_ref())?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        self.engine.with_run(&key, |ms| {
            ms.signal(
                &r.signal_name,
                r.input.clone(),
                r.header.clone(),
                &r.identity,
                &r.request_id,
            )
        })?;
        ok(ws::SignalWorkflowExecutionResponse::default())
    }

    async fn signal_with_start_workflow_execution(
        &self,
        request: Request<ws::SignalWithStartWorkflowExecutionRequest>,
    ) -> Rpc<ws::SignalWithStartWorkflowExecutionResponse> {
        let r = request.into_inner();
        validate::required_id(&r.signal_name, "SignalName")?;
        validate::blob(r.signal_input.as_ref())?;
        let start = ws::StartWorkflowExecutionRequest {
            namespace: r.namespace.clone(),
            workflow_id: r.workflow_id,
            workflow_type: r.workflow_type,
            task_queue: r.task_queue,
            input: r.input,
            workflow_execution_timeout: r.workflow_execution_timeout,
            workflow_run_timeout: r.workflow_run_timeout,
            workflow_task_timeout: r.workflow_task_timeout,
            identity: r.identity,
            request_id: r.request_id,
            workflow_id_reuse_policy: r.workflow_id_reuse_policy,
            workflow_id_conflict_policy: r.workflow_id_conflict_policy,
            retry_policy: r.retry_policy,
            cron_schedule: r.cron_schedule,
            memo: r.memo,
            search_attributes: r.search_attributes,
            header: r.header.clone(),
            workflow_start_delay: r.workflow_start_delay,
            priority: r.priority,
            ..Default::default()
        };
        let retention = self.validate_start(&start)?;
        let outcome = self.engine.start(
            &r.namespace,
            StartRequest {
                request: start,
                signal: Some((r.signal_name, r.signal_input, r.header)),
                retention: Some(retention),
            },
        )?;
        ok(ws::SignalWithStartWorkflowExecutionResponse {
            run_id: outcome.run_id,
            started: outcome.started,
            ..Default::default()
        })
    }

    async fn terminate_workflow_execution(
        &self,
        request: Request<ws::TerminateWorkflowExecutionRequest>,
    ) -> Rpc<ws::TerminateWorkflowExecutionResponse> {
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.workflow_execution.as_ref())?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        self.engine.with_run(&key, |ms| {
            if !ms.is_open() {
                return Err(errors::execution_completed());
            }
            ms.terminate(&r.reason, r.details.clone(), &r.identity);
            Ok(())
        })?;
        ok(ws::TerminateWorkflowExecutionResponse {})
    }

    async fn list_workflow_executions(
        &self,
        request: Request<ws::ListWorkflowExecutionsRequest>,
    ) -> Rpc<ws::ListWorkflowExecutionsResponse> {
        let r = request.into_inner();
        let (executions, next_page_token) =
            self.list(&r.namespace, &r.query, r.page_size, &r.next_page_token)?;
        ok(ws::ListWorkflowExecutionsResponse {
            executions,
            next_page_token,
        })
    }

    async fn scan_workflow_executions(
        &self,
        request: Request<ws::ScanWorkflowExecutionsRequest>,
    ) -> Rpc<ws::ScanWorkflowExecutionsResponse> {
        let r = request.into_inner();
        let (executions, next_page_token) =
            self.list(&r.namespace, &r.query, r.page_size, &r.next_page_token)?;
        ok(ws::ScanWorkflowExecutionsResponse {
            executions,
            next_page_token,
        })
    }

    async fn count_workflow_executions(
        &self,
        request: Request<ws::CountWorkflowExecutionsRequest>,
    ) -> Rpc<ws::CountWorkflowExecutionsResponse> {
        ok(self.count_rpc(request.into_inner())?)
    }

    async fn get_search_attributes(
        &self,
        _request: Request<ws::GetSearchAttributesRequest>,
    ) -> Rpc<ws::GetSearchAttributesResponse> {
        let types = self.namespaces.search_attribute_types("default")?;
        ok(ws::GetSearchAttributesResponse {
            keys: types.into_iter().map(|(k, v)| (k, v as i32)).collect(),
        })
    }

    async fn respond_query_task_completed(
        &self,
        request: Request<ws::RespondQueryTaskCompletedRequest>,
    ) -> Rpc<ws::RespondQueryTaskCompletedResponse> {
        let r = request.into_inner();
        let answer = if r.completed_type == QueryResultType::Answered as i32 {
            Ok(r.query_result)
        } else {
            let message = if r.error_message.is_empty() {
                r.failure
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| "query failed".into())
            } else {
                r.error_message
            };
            Err((message, r.failure))
        };
        self.engine
            .answer_query(&r.namespace, &r.task_token, answer)?;
        ok(ws::RespondQueryTaskCompletedResponse {})
    }

    async fn reset_sticky_task_queue(
        &self,
        request: Request<ws::ResetStickyTaskQueueRequest>,
    ) -> Rpc<ws::ResetStickyTaskQueueResponse> {
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.execution.as_ref())?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        self.engine.reset_sticky(&key)?;
        ok(ws::ResetStickyTaskQueueResponse {})
    }

    async fn shutdown_worker(
        &self,
        request: Request<ws::ShutdownWorkerRequest>,
    ) -> Rpc<ws::ShutdownWorkerResponse> {
        let r = request.into_inner();
        self.namespace(&r.namespace)?;
        if !r.sticky_task_queue.is_empty() {
            self.engine
                .unload_sticky_queue(&r.namespace, &r.sticky_task_queue);
        }
        ok(ws::ShutdownWorkerResponse::default())
    }

    async fn query_workflow(
        &self,
        request: Request<ws::QueryWorkflowRequest>,
    ) -> Rpc<ws::QueryWorkflowResponse> {
        let deadline = self.deadline(request.metadata());
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.execution.as_ref())?;
        let query = r
            .query
            .ok_or_else(|| invalid("Query is not set on request."))?;
        validate::required_id(&query.query_type, "QueryType")?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        ok(self
            .engine
            .query(&key, query, r.query_reject_condition, deadline)
            .await?)
    }

    async fn describe_workflow_execution(
        &self,
        request: Request<ws::DescribeWorkflowExecutionRequest>,
    ) -> Rpc<ws::DescribeWorkflowExecutionResponse> {
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.execution.as_ref())?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        ok(self.describe(&key)?)
    }

    async fn execute_multi_operation(
        &self,
        request: Request<ws::ExecuteMultiOperationRequest>,
    ) -> Rpc<ws::ExecuteMultiOperationResponse> {
        let deadline = self.deadline(request.metadata());
        ok(self
            .execute_multi_operation_impl(request.into_inner(), deadline)
            .await?)
    }

    async fn start_batch_operation(
        &self,
        request: Request<ws::StartBatchOperationRequest>,
    ) -> Rpc<ws::StartBatchOperationResponse> {
        ok(self.start_batch(request.into_inner())?)
    }

    async fn describe_batch_operation(
        &self,
        request: Request<ws::DescribeBatchOperationRequest>,
    ) -> Rpc<ws::DescribeBatchOperationResponse> {
        ok(self.describe_batch(request.into_inner())?)
    }

    async fn list_batch_operations(
        &self,
        request: Request<ws::ListBatchOperationsRequest>,
    ) -> Rpc<ws::ListBatchOperationsResponse> {
        ok(self.list_batches(request.into_inner())?)
    }

    async fn stop_batch_operation(
        &self,
        request: Request<ws::StopBatchOperationRequest>,
    ) -> Rpc<ws::StopBatchOperationResponse> {
        ok(self.stop_batch(request.into_inner())?)
    }

    async fn reset_workflow_execution(
        &self,
        request: Request<ws::ResetWorkflowExecutionRequest>,
    ) -> Rpc<ws::ResetWorkflowExecutionResponse> {
        ok(self.reset(request.into_inner())?)
    }

    async fn delete_workflow_execution(
        &self,
        request: Request<ws::DeleteWorkflowExecutionRequest>,
    ) -> Rpc<ws::DeleteWorkflowExecutionResponse> {
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.workflow_execution.as_ref())?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        self.engine.delete_run(&key)?;
        ok(ws::DeleteWorkflowExecutionResponse {})
    }

    async fn describe_task_queue(
        &self,
        request: Request<ws::DescribeTaskQueueRequest>,
    ) -> Rpc<ws::DescribeTaskQueueResponse> {
        ok(self.describe_task_queue_rpc(request.into_inner())?)
    }

    async fn get_cluster_info(
        &self,
        _request: Request<ws::GetClusterInfoRequest>,
    ) -> Rpc<ws::GetClusterInfoResponse> {
        ok(ws::GetClusterInfoResponse {
            server_version: super::SERVER_VERSION.into(),
            cluster_id: "reprise".into(),
            cluster_name: "active".into(),
            history_shard_count: 1,
            persistence_store: "memory".into(),
            visibility_store: "memory".into(),
            ..Default::default()
        })
    }

    async fn get_system_info(
        &self,
        _request: Request<ws::GetSystemInfoRequest>,
    ) -> Rpc<ws::GetSystemInfoResponse> {
        ok(ws::GetSystemInfoResponse {
            server_version: super::SERVER_VERSION.into(),
            capabilities: Some(ws::get_system_info_response::Capabilities {
                signal_and_query_header: true,
                internal_error_differentiation: true,
                activity_failure_include_heartbeat: true,
                supports_schedules: true,
                encoded_failure_attributes: true,
                build_id_based_versioning: false,
                upsert_memo: true,
                eager_workflow_start: false,
                sdk_metadata: true,
                count_group_by_execution_status: true,
                nexus: false,
                ..Default::default()
            }),
        })
    }

    async fn update_workflow_execution(
        &self,
        request: Request<ws::UpdateWorkflowExecutionRequest>,
    ) -> Rpc<ws::UpdateWorkflowExecutionResponse> {
        let deadline = self.deadline(request.metadata());
        let r = request.into_inner();
        let (workflow_id, run_id) = validate::execution(r.workflow_execution.as_ref())?;
        let update = r
            .request
            .ok_or_else(|| invalid("Request is not set on request."))?;
        let update_id = update
            .meta
            .as_ref()
            .map(|m| m.update_id.as_str())
            .unwrap_or_default();
        validate::required_id(update_id, "UpdateId")?;
        let name = update
            .input
            .as_ref()
            .map(|i| i.name.as_str())
            .unwrap_or_default();
        validate::required_id(name, "Update name")?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        let stage = r.wait_policy.map(|w| w.lifecycle_stage).unwrap_or_default();
        ok(self.engine.update(&key, update, stage, deadline).await?)
    }

    async fn poll_workflow_execution_update(
        &self,
        request: Request<ws::PollWorkflowExecutionUpdateRequest>,
    ) -> Rpc<ws::PollWorkflowExecutionUpdateResponse> {
        let deadline = self.deadline(request.metadata());
        let r = request.into_inner();
        let update_ref = r
            .update_ref
            .ok_or_else(|| invalid("UpdateRef is not set on request."))?;
        let (workflow_id, run_id) = validate::execution(update_ref.workflow_execution.as_ref())?;
        validate::required_id(&update_ref.update_id, "UpdateId")?;
        let key = self.run_key(&r.namespace, &workflow_id, &run_id)?;
        let stage = r.wait_policy.map(|w| w.lifecycle_stage).unwrap_or_default();
        let response = self
            .engine
            .wait_update(&key, &update_ref.update_id, stage, deadline)
            .await?;
        ok(ws::PollWorkflowExecutionUpdateResponse {
            outcome: response.outcome,
            stage: response.stage,
            update_ref: response.update_ref,
        })
    }

    async fn create_schedule(
        &self,
        request: Request<ws::CreateScheduleRequest>,
    ) -> Rpc<ws::CreateScheduleResponse> {
        ok(self.create_schedule_rpc(request.into_inner())?)
    }

    async fn describe_schedule(
        &self,
        request: Request<ws::DescribeScheduleRequest>,
    ) -> Rpc<ws::DescribeScheduleResponse> {
        ok(self.describe_schedule_rpc(request.into_inner())?)
    }

    async fn update_schedule(
        &self,
        request: Request<ws::UpdateScheduleRequest>,
    ) -> Rpc<ws::UpdateScheduleResponse> {
        ok(self.update_schedule_rpc(request.into_inner())?)
    }

    async fn patch_schedule(
        &self,
        request: Request<ws::PatchScheduleRequest>,
    ) -> Rpc<ws::PatchScheduleResponse> {
        ok(self.patch_schedule_rpc(request.into_inner())?)
    }

    async fn list_schedule_matching_times(
        &self,
        request: Request<ws::ListScheduleMatchingTimesRequest>,
    ) -> Rpc<ws::ListScheduleMatchingTimesResponse> {
        ok(self.list_schedule_matching_times_rpc(request.into_inner())?)
    }

    async fn delete_schedule(
        &self,
        request: Request<ws::DeleteScheduleRequest>,
    ) -> Rpc<ws::DeleteScheduleResponse> {
        ok(self.delete_schedule_rpc(request.into_inner())?)
    }

    async fn list_schedules(
        &self,
        request: Request<ws::ListSchedulesRequest>,
    ) -> Rpc<ws::ListSchedulesResponse> {
        ok(self.list_schedules_rpc(request.into_inner())?)
    }
}
