//! The client: connect to any Temporal server, start workflows, act on them through handles, and
//! search them with visibility queries.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reprise::client::ClientError> {
//! use reprise::client::{Client, ClientOptions, WorkflowOptions};
//! let client = Client::connect(ClientOptions::new("127.0.0.1:7233")).await?;
//! let handle = client
//!     .start_workflow("OrderWorkflow", ("order-1", 42.5), WorkflowOptions::new("order-1", "orders"))
//!     .await?;
//! let receipt: String = handle.result().await?;
//! # Ok(()) }
//! ```

mod connection;
mod envconfig;
mod error;
mod handle;
mod interceptor;
mod observe;
mod options;
mod reset;
mod schedule;
mod schedule_options;
mod update_with_start;
mod visibility;

pub use crate::definition::RetryPolicy;
pub use connection::{OperatorServiceClient, WorkflowServiceClient};
pub use envconfig::{ConfigError, ConfigSource};
pub use error::ClientError;
pub use handle::{UpdateHandle, UpdateStage, WorkflowHandle};
pub use interceptor::{CallKind, ClientInterceptor, OutboundCall};
pub use observe::ObservedChannel;
pub use options::{ClientOptions, RetryOptions, TlsOptions, WorkflowOptions};
pub use reset::{ResetOptions, ResetTarget};
pub use schedule::{ScheduleDescription, ScheduleHandle, ScheduleSummary};
pub use schedule_options::{
    ScheduleAction, ScheduleBackfill, ScheduleCalendar, ScheduleOptions, ScheduleSpec,
};
pub use visibility::WorkflowExecution;

use crate::api::temporal::api::common::v1::{Memo, Payloads, SearchAttributes, WorkflowType};
use crate::api::temporal::api::enums::v1::TaskQueueKind;
use crate::api::temporal::api::taskqueue::v1::TaskQueue;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::converter::{DataConverter, ToPayloads};
use std::sync::Arc;
use std::time::Duration;

/// A connection to a Temporal server, bound to one namespace. Cheap to clone; clones share the
/// connection.
#[derive(Clone)]
pub struct Client {
    inner: Arc<connection::Connection>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("target", &self.inner.options.target)
            .field("namespace", &self.inner.options.namespace)
            .finish()
    }
}

impl Client {
    /// Connects, and checks that the server answers (`GetSystemInfo`), as the official SDKs do.
    pub async fn connect(options: ClientOptions) -> Result<Client, ClientError> {
        let inner = connection::Connection::connect(options).await?;
        Ok(Client {
            inner: Arc::new(inner),
        })
    }

    /// The namespace of every call.
    pub fn namespace(&self) -> &str {
        &self.inner.options.namespace
    }

    /// The identity recorded in histories.
    pub fn identity(&self) -> &str {
        &self.inner.options.identity
    }

    /// The data converter for arguments and results.
    pub fn data_converter(&self) -> &DataConverter {
        &self.inner.options.data_converter
    }

    /// The options the client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The raw `WorkflowService` client, with this client's headers (API key, metadata) attached:
    /// for calls the typed API does not cover.
    pub fn workflow_service(&self) -> WorkflowServiceClient {
        self.inner.workflow_service.clone()
    }

    /// The raw `OperatorService` client (namespaces, search attributes).
    pub fn operator_service(&self) -> OperatorServiceClient {
        self.inner.operator_service.clone()
    }

    /// What the server says about itself (version, capabilities), fetched at connect.
    pub fn system_info(&self) -> &ws::GetSystemInfoResponse {
        &self.inner.system_info
    }

    /// Calls a `WorkflowService` method with this client's deadline and retries of transient
    /// errors, mapping failures to [`ClientError`]. `workflow_id` only enriches errors.
    pub(crate) async fn call<Req, Resp, F, Fut>(
        &self,
        workflow_id: &str,
        request: Req,
        timeout: Duration,
        method: F,
    ) -> Result<Resp, ClientError>
    where
        Req: Clone,
        F: Fn(WorkflowServiceClient, tonic::Request<Req>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        self.inner
            .call(request, timeout, method)
            .await
            .map_err(|status| ClientError::from_status(status, workflow_id))
    }

    /// The Temporal header of a workflow call, from the interceptors (`None` without any).
    pub(crate) fn header(
        &self,
        kind: CallKind,
        workflow_id: &str,
        name: &str,
        args: Option<&Payloads>,
    ) -> Option<crate::api::temporal::api::common::v1::Header> {
        self.inner
            .options
            .interceptors
            .header(kind, workflow_id, name, args)
    }

    /// Where this client's and its workers' metrics go.
    pub fn metrics(&self) -> &crate::telemetry::Metrics {
        &self.inner.options.metrics
    }

    pub(crate) fn rpc_timeout(&self) -> Duration {
        self.inner.options.rpc_timeout
    }

    /// Starts a workflow through its `#[run]` method (`OrderWorkflow::run`): the arguments are
    /// checked against the method's signature.
    pub async fn start<M, F: crate::definition::RunMethod<M>>(
        &self,
        run: F,
        args: F::Args,
        options: WorkflowOptions,
    ) -> Result<WorkflowHandle, ClientError> {
        let _ = run;
        self.start_workflow(
            <F::Workflow as crate::definition::WorkflowDefinition>::NAME,
            args,
            options,
        )
        .await
    }

    /// Starts a workflow through its `#[run]` method and waits for its result, typed by the
    /// method's signature.
    pub async fn execute<M, F: crate::definition::RunMethod<M>>(
        &self,
        run: F,
        args: F::Args,
        options: WorkflowOptions,
    ) -> Result<F::Output, ClientError> {
        self.start(run, args, options).await?.result().await
    }

    /// Starts a workflow by type name. Typed starts come from the `#[workflow]` macro and call
    /// this underneath.
    pub async fn start_workflow(
        &self,
        workflow_type: &str,
        args: impl ToPayloads,
        options: WorkflowOptions,
    ) -> Result<WorkflowHandle, ClientError> {
        let input = self.encode_args(&args)?;
        let header = self.header(
            CallKind::StartWorkflow,
            &options.id,
            workflow_type,
            input.as_ref(),
        );
        let request = ws::StartWorkflowExecutionRequest {
            header,
            namespace: self.namespace().to_string(),
            workflow_id: options.id.clone(),
            workflow_type: Some(WorkflowType {
                name: workflow_type.to_string(),
            }),
            task_queue: Some(task_queue(&options.task_queue)),
            input,
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
            retry_policy: options.retry_policy.as_ref().map(RetryPolicy::to_proto),
            cron_schedule: options.cron_schedule.clone().unwrap_or_default(),
            memo: self.memo(&options)?,
            search_attributes: search_attributes(&options),
            workflow_start_delay: options.start_delay.map(Into::into),
            ..Default::default()
        };
        let response = self
            .call(
                &options.id,
                request,
                self.rpc_timeout(),
                |mut s, r| async move { s.start_workflow_execution(r).await },
            )
            .await?;
        Ok(WorkflowHandle::started(
            self.clone(),
            options.id,
            response.run_id,
            response.started,
        ))
    }

    /// Sends a signal to a workflow, starting it first if it is not running.
    pub async fn signal_with_start(
        &self,
        workflow_type: &str,
        args: impl ToPayloads,
        options: WorkflowOptions,
        signal_name: &str,
        signal_args: impl ToPayloads,
    ) -> Result<WorkflowHandle, ClientError> {
        let input = self.encode_args(&args)?;
        let header = self.header(
            CallKind::SignalWithStart,
            &options.id,
            workflow_type,
            input.as_ref(),
        );
        let request = ws::SignalWithStartWorkflowExecutionRequest {
            header,
            namespace: self.namespace().to_string(),
            workflow_id: options.id.clone(),
            workflow_type: Some(WorkflowType {
                name: workflow_type.to_string(),
            }),
            task_queue: Some(task_queue(&options.task_queue)),
            input,
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
            signal_name: signal_name.to_string(),
            signal_input: self.encode_args(&signal_args)?,
            retry_policy: options.retry_policy.as_ref().map(RetryPolicy::to_proto),
            cron_schedule: options.cron_schedule.clone().unwrap_or_default(),
            memo: self.memo(&options)?,
            search_attributes: search_attributes(&options),
            workflow_start_delay: options.start_delay.map(Into::into),
            ..Default::default()
        };
        let response = self
            .call(
                &options.id,
                request,
                self.rpc_timeout(),
                |mut s, r| async move { s.signal_with_start_workflow_execution(r).await },
            )
            .await?;
        Ok(WorkflowHandle::started(
            self.clone(),
            options.id,
            response.run_id,
            response.started,
        ))
    }

    /// A handle to an existing workflow; with `run_id: None` calls target its latest run.
    pub fn workflow_handle(
        &self,
        workflow_id: impl Into<String>,
        run_id: Option<String>,
    ) -> WorkflowHandle {
        WorkflowHandle::new(self.clone(), workflow_id.into(), run_id)
    }

    /// Converts arguments and applies the codec; `None` for no arguments, as the official SDKs
    /// send no `input` at all then.
    pub(crate) fn encode_args(
        &self,
        args: &(impl ToPayloads + ?Sized),
    ) -> Result<Option<Payloads>, ClientError> {
        let converter = self.data_converter();
        let payloads = converter.encode_payloads(args.to_payloads(converter)?)?;
        Ok((!payloads.is_empty()).then_some(Payloads { payloads }))
    }

    fn memo(&self, options: &WorkflowOptions) -> Result<Option<Memo>, ClientError> {
        if options.memo.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = options.memo.keys().cloned().collect();
        let values = self
            .data_converter()
            .encode_payloads(options.memo.values().cloned().collect())?;
        Ok(Some(Memo {
            fields: keys.into_iter().zip(values).collect(),
        }))
    }
}

pub(crate) fn task_queue(name: &str) -> TaskQueue {
    TaskQueue {
        name: name.to_string(),
        kind: TaskQueueKind::Normal as i32,
        ..Default::default()
    }
}

// Search attributes are indexed by the server, so they never go through the codec.
fn search_attributes(options: &WorkflowOptions) -> Option<SearchAttributes> {
    (!options.search_attributes.is_empty()).then(|| SearchAttributes {
        indexed_fields: options.search_attributes.clone(),
    })
}
