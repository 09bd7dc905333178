//! Handles on one workflow execution: result, signal, query, update, cancel, terminate,
//! describe, history.

use super::CallKind;
use super::{Client, ClientError, WorkflowExecution};
use crate::api::temporal::api::common::v1::{Payload, Payloads, WorkflowExecution as ApiExecution};
use crate::api::temporal::api::enums::v1::{
    HistoryEventFilterType, UpdateWorkflowExecutionLifecycleStage,
};
use crate::api::temporal::api::errordetails::v1::QueryFailedFailure;
use crate::api::temporal::api::history::v1::{History, history_event::Attributes};
use crate::api::temporal::api::query::v1::WorkflowQuery;
use crate::api::temporal::api::update::v1 as upd;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::converter::{Failure, FromPayloads, ToPayloads};
use crate::definition::{QueryMethod, SignalMethod, UpdateMethod, handler_name};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Server-side deadline of one long poll; the call is simply repeated when it expires.
const LONG_POLL_TIMEOUT: Duration = Duration::from_secs(70);

/// A handle on a workflow execution.
///
/// A handle made by [`Client::workflow_handle`] with a run id targets that run; one from a start
/// (or without a run id) targets the workflow's latest run, so that signals, queries, updates,
/// cancels and terminations reach a workflow that continued as new, retried or ran on a cron
/// schedule. [`result`](Self::result) starts from the run the handle knows and follows the chain.
#[derive(Clone, Debug)]
pub struct WorkflowHandle {
    client: Client,
    workflow_id: String,
    /// The run that calls target (`None`: the latest).
    target_run_id: Option<String>,
    /// The run `result` starts from.
    result_run_id: Option<String>,
    /// The first run of the chain, when known: cancel and terminate stay within it.
    first_execution_run_id: Option<String>,
    follow_runs: bool,
}

/// How far an update must have gone before [`WorkflowHandle::start_update`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateStage {
    /// The workflow's validator accepted it (or rejected it: then the call fails).
    Accepted,
    /// The handler finished.
    Completed,
}

impl WorkflowHandle {
    pub(super) fn new(client: Client, workflow_id: String, run_id: Option<String>) -> Self {
        WorkflowHandle {
            client,
            workflow_id,
            target_run_id: run_id.clone(),
            result_run_id: run_id,
            first_execution_run_id: None,
            follow_runs: true,
        }
    }

    /// A handle on a run this client just started (`first_run`: whether it begins a chain).
    pub(super) fn started(
        client: Client,
        workflow_id: String,
        run_id: String,
        first_run: bool,
    ) -> Self {
        WorkflowHandle {
            client,
            workflow_id,
            target_run_id: None,
            first_execution_run_id: first_run.then(|| run_id.clone()),
            result_run_id: Some(run_id),
            follow_runs: true,
        }
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The run this handle was made with (the run a start created), if any.
    pub fn run_id(&self) -> Option<&str> {
        self.result_run_id.as_deref()
    }

    /// Whether [`result`](Self::result) follows continue-as-new (and retry and cron) runs (the
    /// default), or reports [`ClientError::WorkflowContinuedAsNew`].
    pub fn follow_runs(mut self, follow: bool) -> Self {
        self.follow_runs = follow;
        self
    }

    /// The client this handle calls through.
    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    fn execution(&self) -> ApiExecution {
        ApiExecution {
            workflow_id: self.workflow_id.clone(),
            run_id: self.target_run_id.clone().unwrap_or_default(),
        }
    }

    /// Waits for the workflow to close and returns its result, following continue-as-new runs.
    /// A failed, canceled, terminated or timed-out workflow is an error carrying the details.
    pub async fn result<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        let payloads = self.result_payloads().await?;
        let converter = self.client.data_converter();
        match payloads.first() {
            Some(p) => Ok(converter.from_payload(p)?),
            None => Ok(converter.from_payload(&converter.to_payload(&())?)?),
        }
    }

    /// Waits for the workflow to close and returns its raw (decoded by the codec) result payloads.
    pub async fn result_payloads(&self) -> Result<Vec<Payload>, ClientError> {
        let mut run_id = self.result_run_id.clone().unwrap_or_default();
        loop {
            let event = self.wait_close_event(&run_id).await?;
            let converter = self.client.data_converter();
            let next_run = |new_run: &str| {
                (self.follow_runs && !new_run.is_empty()).then(|| new_run.to_string())
            };
            match event {
                Attributes::WorkflowExecutionCompletedEventAttributes(a) => {
                    if let Some(next) = next_run(&a.new_execution_run_id) {
                        run_id = next;
                        continue;
                    }
                    let payloads = a.result.map(|p| p.payloads).unwrap_or_default();
                    return Ok(converter.decode_payloads(payloads)?);
                }
                Attributes::WorkflowExecutionFailedEventAttributes(a) => {
                    if let Some(next) = next_run(&a.new_execution_run_id) {
                        run_id = next;
                        continue;
                    }
                    let mut failure = a.failure.unwrap_or_default();
                    converter.decode_failure(&mut failure)?;
                    return Err(ClientError::WorkflowFailed(Box::new(Failure::from_proto(
                        failure,
                    ))));
                }
                Attributes::WorkflowExecutionTimedOutEventAttributes(a) => {
                    if let Some(next) = next_run(&a.new_execution_run_id) {
                        run_id = next;
                        continue;
                    }
                    return Err(ClientError::WorkflowTimedOut);
                }
                Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a) => {
                    match next_run(&a.new_execution_run_id) {
                        Some(next) => run_id = next,
                        None => {
                            return Err(ClientError::WorkflowContinuedAsNew {
                                new_run_id: a.new_execution_run_id,
                            });
                        }
                    }
                }
                Attributes::WorkflowExecutionCanceledEventAttributes(a) => {
                    let details = converter
                        .decode_payloads(a.details.map(|p| p.payloads).unwrap_or_default())?;
                    return Err(ClientError::WorkflowCanceled { details });
                }
                Attributes::WorkflowExecutionTerminatedEventAttributes(a) => {
                    let details = converter
                        .decode_payloads(a.details.map(|p| p.payloads).unwrap_or_default())?;
                    return Err(ClientError::WorkflowTerminated {
                        reason: a.reason,
                        details,
                    });
                }
                other => {
                    return Err(ClientError::UnexpectedResponse(format!(
                        "close event expected, got {}",
                        attributes_name(&other)
                    )));
                }
            }
        }
    }

    /// Long-polls the history for the close event of `run_id` ("" = latest run).
    async fn wait_close_event(&self, run_id: &str) -> Result<Attributes, ClientError> {
        let mut token = Vec::new();
        loop {
            let request = ws::GetWorkflowExecutionHistoryRequest {
                namespace: self.client.namespace().to_string(),
                execution: Some(ApiExecution {
                    workflow_id: self.workflow_id.clone(),
                    run_id: run_id.to_string(),
                }),
                next_page_token: token.clone(),
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                skip_archival: true,
                ..Default::default()
            };
            let result = self
                .client
                .call(
                    &self.workflow_id,
                    request,
                    LONG_POLL_TIMEOUT,
                    |mut s, r| async move { s.get_workflow_execution_history(r).await },
                )
                .await;
            let response = match result {
                Ok(r) => r,
                // The long poll expired with nothing new: poll again.
                Err(ClientError::Rpc {
                    code: tonic::Code::DeadlineExceeded,
                    ..
                }) => continue,
                Err(e) => return Err(e),
            };
            if let Some(attrs) = response
                .history
                .and_then(|h| h.events.into_iter().last())
                .and_then(|e| e.attributes)
            {
                return Ok(attrs);
            }
            token = response.next_page_token;
        }
    }

    /// Sends a signal through the workflow's `#[signal]` method (`OrderWorkflow::approve`).
    pub async fn signal<M, F: SignalMethod<M>>(
        &self,
        signal: F,
        args: F::Args,
    ) -> Result<(), ClientError> {
        let _ = signal;
        self.signal_by_name(handler_name::<F::Workflow, F>(), args)
            .await
    }

    /// Queries through the workflow's `#[query]` method.
    pub async fn query<M, F: QueryMethod<M>>(
        &self,
        query: F,
        args: F::Args,
    ) -> Result<F::Output, ClientError> {
        let _ = query;
        self.query_by_name(handler_name::<F::Workflow, F>(), args)
            .await
    }

    /// Runs an update through the workflow's `#[update]` method and returns its result.
    pub async fn update<M, F: UpdateMethod<M>>(
        &self,
        update: F,
        args: F::Args,
    ) -> Result<F::Output, ClientError> {
        let _ = update;
        self.update_by_name(handler_name::<F::Workflow, F>(), args)
            .await
    }

    /// Sends an update through the workflow's `#[update]` method, returning at `stage`.
    pub async fn start_update<M, F: UpdateMethod<M>>(
        &self,
        update: F,
        args: F::Args,
        stage: UpdateStage,
    ) -> Result<UpdateHandle, ClientError> {
        let _ = update;
        self.start_update_by_name(handler_name::<F::Workflow, F>(), args, stage)
            .await
    }

    /// Sends a signal.
    pub async fn signal_by_name(
        &self,
        signal_name: &str,
        args: impl ToPayloads,
    ) -> Result<(), ClientError> {
        let input = self.client.encode_args(&args)?;
        let request = ws::SignalWorkflowExecutionRequest {
            namespace: self.client.namespace().to_string(),
            workflow_execution: Some(self.execution()),
            signal_name: signal_name.to_string(),
            header: self.client.header(
                CallKind::Signal,
                &self.workflow_id,
                signal_name,
                input.as_ref(),
            ),
            input,
            identity: self.client.identity().to_string(),
            request_id: crate::util::random_uuid(),
            ..Default::default()
        };
        self.client
            .call(
                &self.workflow_id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.signal_workflow_execution(r).await },
            )
            .await?;
        Ok(())
    }

    /// Queries the workflow's state. Queries never change the workflow and leave no history.
    pub async fn query_by_name<T: DeserializeOwned>(
        &self,
        query_type: &str,
        args: impl ToPayloads,
    ) -> Result<T, ClientError> {
        let payloads = self.query_payloads(query_type, args).await?;
        let converter = self.client.data_converter();
        match payloads.first() {
            Some(p) => Ok(converter.from_payload(p)?),
            None => Ok(converter.from_payload(&converter.to_payload(&())?)?),
        }
    }

    /// Queries and returns the raw result payloads (after the codec).
    pub async fn query_payloads(
        &self,
        query_type: &str,
        args: impl ToPayloads,
    ) -> Result<Vec<Payload>, ClientError> {
        let query_args = self.client.encode_args(&args)?;
        let header = self.client.header(
            CallKind::Query,
            &self.workflow_id,
            query_type,
            query_args.as_ref(),
        );
        let request = ws::QueryWorkflowRequest {
            namespace: self.client.namespace().to_string(),
            execution: Some(self.execution()),
            query: Some(WorkflowQuery {
                query_type: query_type.to_string(),
                query_args,
                header,
            }),
            query_reject_condition: 0,
        };
        let result = self
            .client
            .inner
            .call(request, self.client.rpc_timeout(), |mut s, r| async move {
                s.query_workflow(r).await
            })
            .await;
        let response = match result {
            Ok(r) => r,
            Err(status)
                if crate::client::error::decode_detail::<QueryFailedFailure>(&status).is_some()
                    || status.code() == tonic::Code::InvalidArgument
                        && status.message().contains("query") =>
            {
                return Err(ClientError::QueryFailed {
                    message: status.message().to_string(),
                });
            }
            Err(status) => return Err(ClientError::from_status(status, &self.workflow_id)),
        };
        if let Some(rejected) = response.query_rejected {
            return Err(ClientError::QueryFailed {
                message: format!("query rejected: workflow status {}", rejected.status),
            });
        }
        let payloads = response
            .query_result
            .map(|p| p.payloads)
            .unwrap_or_default();
        Ok(self.client.data_converter().decode_payloads(payloads)?)
    }

    /// Runs an update to completion and returns its result.
    pub async fn update_by_name<T: DeserializeOwned>(
        &self,
        update_name: &str,
        args: impl ToPayloads,
    ) -> Result<T, ClientError> {
        self.start_update_by_name(update_name, args, UpdateStage::Completed)
            .await?
            .result()
            .await
    }

    /// Sends an update and returns once it reached `stage`. A rejection by the workflow's
    /// validator is an [`ClientError::UpdateFailed`].
    pub async fn start_update_by_name(
        &self,
        update_name: &str,
        args: impl ToPayloads,
        stage: UpdateStage,
    ) -> Result<UpdateHandle, ClientError> {
        let update_id = crate::util::random_uuid();
        let lifecycle = match stage {
            UpdateStage::Accepted => UpdateWorkflowExecutionLifecycleStage::Accepted,
            UpdateStage::Completed => UpdateWorkflowExecutionLifecycleStage::Completed,
        };
        let update_args = self.client.encode_args(&args)?;
        let header = self.client.header(
            CallKind::Update,
            &self.workflow_id,
            update_name,
            update_args.as_ref(),
        );
        let request = ws::UpdateWorkflowExecutionRequest {
            namespace: self.client.namespace().to_string(),
            workflow_execution: Some(self.execution()),
            wait_policy: Some(upd::WaitPolicy {
                lifecycle_stage: lifecycle as i32,
            }),
            request: Some(upd::Request {
                meta: Some(upd::Meta {
                    update_id: update_id.clone(),
                    identity: self.client.identity().to_string(),
                }),
                input: Some(upd::Input {
                    header,
                    name: update_name.to_string(),
                    args: update_args,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        // The server answers when the stage is reached or its own long-poll deadline expires;
        // in the latter case (stage still ADMITTED) the same update id is polled again.
        let mut response = loop {
            let result = self
                .client
                .call(
                    &self.workflow_id,
                    request.clone(),
                    LONG_POLL_TIMEOUT,
                    |mut s, r| async move { s.update_workflow_execution(r).await },
                )
                .await;
            match result {
                Ok(r)
                    if r.stage >= UpdateWorkflowExecutionLifecycleStage::Accepted as i32
                        || r.outcome.is_some() =>
                {
                    break r;
                }
                Ok(_)
                | Err(ClientError::Rpc {
                    code: tonic::Code::DeadlineExceeded,
                    ..
                }) => continue,
                Err(e) => return Err(e),
            }
        };
        let update_ref = response
            .update_ref
            .take()
            .unwrap_or_else(|| upd::UpdateRef {
                workflow_execution: Some(self.execution()),
                update_id: update_id.clone(),
            });
        let handle = UpdateHandle {
            handle: self.clone(),
            update_id,
            update_ref,
            outcome: response.outcome,
        };
        // A rejection arrives as an outcome at the accepted stage: report it now.
        if let Some(upd::Outcome {
            value: Some(upd::outcome::Value::Failure(_)),
        }) = &handle.outcome
        {
            return Err(handle
                .outcome_result()
                .err()
                .unwrap_or_else(|| ClientError::UnexpectedResponse("update failed".into())));
        }
        Ok(handle)
    }

    /// Asks the workflow to cancel itself (it may clean up first).
    pub async fn cancel(&self, reason: &str) -> Result<(), ClientError> {
        let request = ws::RequestCancelWorkflowExecutionRequest {
            namespace: self.client.namespace().to_string(),
            workflow_execution: Some(self.execution()),
            identity: self.client.identity().to_string(),
            request_id: crate::util::random_uuid(),
            reason: reason.to_string(),
            first_execution_run_id: self.first_execution_run_id.clone().unwrap_or_default(),
            ..Default::default()
        };
        self.client
            .call(
                &self.workflow_id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.request_cancel_workflow_execution(r).await },
            )
            .await?;
        Ok(())
    }

    /// Ends the workflow at once; its code gets no chance to react.
    pub async fn terminate(
        &self,
        reason: &str,
        details: impl ToPayloads,
    ) -> Result<(), ClientError> {
        let request = ws::TerminateWorkflowExecutionRequest {
            namespace: self.client.namespace().to_string(),
            workflow_execution: Some(self.execution()),
            reason: reason.to_string(),
            details: self.client.encode_args(&details)?,
            identity: self.client.identity().to_string(),
            first_execution_run_id: self.first_execution_run_id.clone().unwrap_or_default(),
            ..Default::default()
        };
        self.client
            .call(
                &self.workflow_id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.terminate_workflow_execution(r).await },
            )
            .await?;
        Ok(())
    }

    /// Describes the execution: status, type, times, history length, memo, search attributes.
    pub async fn describe(&self) -> Result<WorkflowExecution, ClientError> {
        self.describe_raw()
            .await?
            .workflow_execution_info
            .map(WorkflowExecution::from_proto)
            .ok_or_else(|| {
                ClientError::UnexpectedResponse(
                    "DescribeWorkflowExecution without execution info".into(),
                )
            })
    }

    /// The server's full description (pending activities, children, workflow task…).
    pub async fn describe_raw(&self) -> Result<ws::DescribeWorkflowExecutionResponse, ClientError> {
        let request = ws::DescribeWorkflowExecutionRequest {
            namespace: self.client.namespace().to_string(),
            execution: Some(self.execution()),
        };
        self.client
            .call(
                &self.workflow_id,
                request,
                self.client.rpc_timeout(),
                |mut s, r| async move { s.describe_workflow_execution(r).await },
            )
            .await
    }

    /// Fetches the whole history of the run (all pages).
    pub async fn fetch_history(&self) -> Result<History, ClientError> {
        let mut history = History::default();
        let mut token = Vec::new();
        loop {
            let request = ws::GetWorkflowExecutionHistoryRequest {
                namespace: self.client.namespace().to_string(),
                execution: Some(self.execution()),
                next_page_token: token,
                skip_archival: true,
                ..Default::default()
            };
            let response = self
                .client
                .call(
                    &self.workflow_id,
                    request,
                    self.client.rpc_timeout(),
                    |mut s, r| async move { s.get_workflow_execution_history(r).await },
                )
                .await?;
            if let Some(page) = response.history {
                history.events.extend(page.events);
            }
            if response.next_page_token.is_empty() {
                return Ok(history);
            }
            token = response.next_page_token;
        }
    }

    /// The history as the CLI's `workflow show --output json` writes it: commit the file and
    /// replay it in CI.
    pub async fn export_history_json(&self) -> Result<String, ClientError> {
        let history = self.fetch_history().await?;
        crate::history::to_json_string(&history)
            .map_err(|e| ClientError::UnexpectedResponse(e.to_string()))
    }
}

/// An update sent to a workflow, whose result can be awaited.
#[derive(Debug)]
pub struct UpdateHandle {
    handle: WorkflowHandle,
    update_id: String,
    update_ref: upd::UpdateRef,
    outcome: Option<upd::Outcome>,
}

impl UpdateHandle {
    /// The update id.
    pub fn id(&self) -> &str {
        &self.update_id
    }

    /// Waits for the handler to finish and returns its result.
    pub async fn result<T: DeserializeOwned>(mut self) -> Result<T, ClientError> {
        while self.outcome.is_none() {
            let request = ws::PollWorkflowExecutionUpdateRequest {
                namespace: self.handle.client.namespace().to_string(),
                update_ref: Some(self.update_ref.clone()),
                identity: self.handle.client.identity().to_string(),
                wait_policy: Some(upd::WaitPolicy {
                    lifecycle_stage: UpdateWorkflowExecutionLifecycleStage::Completed as i32,
                }),
            };
            match self
                .handle
                .client
                .call(
                    &self.handle.workflow_id,
                    request,
                    LONG_POLL_TIMEOUT,
                    |mut s, r| async move { s.poll_workflow_execution_update(r).await },
                )
                .await
            {
                Ok(r) => self.outcome = r.outcome,
                Err(ClientError::Rpc {
                    code: tonic::Code::DeadlineExceeded,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        let payloads = self.outcome_result()?;
        let converter = self.handle.client.data_converter();
        let (value,) = <(T,)>::from_payloads(converter, &payloads)?;
        Ok(value)
    }

    fn outcome_result(&self) -> Result<Vec<Payload>, ClientError> {
        let converter = self.handle.client.data_converter();
        match self.outcome.as_ref().and_then(|o| o.value.clone()) {
            Some(upd::outcome::Value::Success(Payloads { payloads })) => {
                Ok(converter.decode_payloads(payloads)?)
            }
            Some(upd::outcome::Value::Failure(mut f)) => {
                converter.decode_failure(&mut f)?;
                Err(ClientError::UpdateFailed(Box::new(Failure::from_proto(f))))
            }
            None => Err(ClientError::UnexpectedResponse(
                "update outcome without a value".into(),
            )),
        }
    }
}

fn attributes_name(a: &Attributes) -> String {
    let debug = format!("{a:?}");
    debug.split('(').next().unwrap_or_default().to_string()
}
