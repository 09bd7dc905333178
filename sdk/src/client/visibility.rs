//! Listing and counting workflows with a visibility query.

use super::{Client, ClientError};
use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::enums::v1::WorkflowExecutionStatus;
use crate::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use crate::api::temporal::api::workflowservice::v1 as ws;
use futures::Stream;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// One workflow execution as visibility and describe report it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkflowExecution {
    /// Workflow id.
    pub workflow_id: String,
    /// Run id.
    pub run_id: String,
    /// Workflow type name.
    pub workflow_type: String,
    /// Running, completed, failed…
    pub status: WorkflowExecutionStatus,
    /// Task queue.
    pub task_queue: String,
    /// When the run started.
    pub start_time: Option<SystemTime>,
    /// When the run closed.
    pub close_time: Option<SystemTime>,
    /// Events in the history.
    pub history_length: i64,
    /// Memo (payloads as stored, not decoded by the codec).
    pub memo: BTreeMap<String, Payload>,
    /// Search attributes.
    pub search_attributes: BTreeMap<String, Payload>,
    /// Everything the server sent.
    pub raw: WorkflowExecutionInfo,
}

impl WorkflowExecution {
    pub(crate) fn from_proto(info: WorkflowExecutionInfo) -> Self {
        let execution = info.execution.clone().unwrap_or_default();
        WorkflowExecution {
            workflow_id: execution.workflow_id,
            run_id: execution.run_id,
            workflow_type: info
                .r#type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            status: WorkflowExecutionStatus::try_from(info.status)
                .unwrap_or(WorkflowExecutionStatus::Unspecified),
            task_queue: info.task_queue.clone(),
            start_time: info.start_time.as_ref().map(|t| t.to_system_time()),
            close_time: info.close_time.as_ref().map(|t| t.to_system_time()),
            history_length: info.history_length,
            memo: info
                .memo
                .as_ref()
                .map(|m| m.fields.clone())
                .unwrap_or_default(),
            search_attributes: info
                .search_attributes
                .as_ref()
                .map(|s| s.indexed_fields.clone())
                .unwrap_or_default(),
            raw: info,
        }
    }
}

impl Client {
    /// Lists executions matching a visibility query (`WorkflowType = 'Order' AND
    /// ExecutionStatus = 'Running'`; empty for all), fetching pages as the stream is read.
    pub fn list_workflows(
        &self,
        query: &str,
    ) -> impl Stream<Item = Result<WorkflowExecution, ClientError>> + Send + 'static {
        struct Page {
            client: Client,
            query: String,
            token: Vec<u8>,
            buffer: std::vec::IntoIter<WorkflowExecutionInfo>,
            done: bool,
        }
        let state = Page {
            client: self.clone(),
            query: query.to_string(),
            token: Vec::new(),
            buffer: Vec::new().into_iter(),
            done: false,
        };
        futures::stream::try_unfold(state, |mut state| async move {
            loop {
                if let Some(info) = state.buffer.next() {
                    return Ok(Some((WorkflowExecution::from_proto(info), state)));
                }
                if state.done {
                    return Ok(None);
                }
                let request = ws::ListWorkflowExecutionsRequest {
                    namespace: state.client.namespace().to_string(),
                    page_size: 100,
                    next_page_token: std::mem::take(&mut state.token),
                    query: state.query.clone(),
                };
                let response = state
                    .client
                    .call(
                        "",
                        request,
                        state.client.rpc_timeout(),
                        |mut s, r| async move { s.list_workflow_executions(r).await },
                    )
                    .await?;
                state.done = response.next_page_token.is_empty();
                state.token = response.next_page_token;
                state.buffer = response.executions.into_iter();
            }
        })
    }

    /// Counts executions matching a visibility query.
    pub async fn count_workflows(&self, query: &str) -> Result<u64, ClientError> {
        let request = ws::CountWorkflowExecutionsRequest {
            namespace: self.namespace().to_string(),
            query: query.to_string(),
        };
        let response = self
            .call("", request, self.rpc_timeout(), |mut s, r| async move {
                s.count_workflow_executions(r).await
            })
            .await?;
        Ok(response.count.max(0) as u64)
    }
}
