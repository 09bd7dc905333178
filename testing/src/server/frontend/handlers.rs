//! The frontend's shared steps: namespace and deadline checks, start validation, long polls
//! for tasks, activity results by token or id, and visibility listing.

use super::Frontend;
use super::validate;
use crate::server::errors::{self, invalid};
use crate::server::history::{ActivityOutcome, ActivityRef, Engine};
use crate::server::matching::{QueueKey, QueueType, Task};
use crate::server::visibility;
use crate::store::{NamespaceRecord, RunKey};
use reprise::api::temporal::api::common::v1::Payload;
use reprise::api::temporal::api::enums::v1::TaskQueueKind;
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::time::Duration;
use tokio::time::Instant;
use tonic::{Request, Response, Status};

type Rpc<T> = Result<Response<T>, Status>;

impl Frontend {
    pub(super) fn namespace(&self, name: &str) -> Result<NamespaceRecord, Status> {
        self.namespaces.get(name)
    }

    /// When a long poll must answer: before the caller's deadline, at most `long_poll` away.
    pub(super) fn deadline(&self, metadata: &tonic::metadata::MetadataMap) -> Instant {
        let budget = validate::grpc_timeout(metadata)
            .map(|t| t.saturating_sub(Duration::from_secs(1)).max(t / 2))
            .unwrap_or(self.long_poll)
            .min(self.long_poll);
        Instant::now() + budget
    }

    pub(super) fn run_key(
        &self,
        namespace: &str,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<RunKey, Status> {
        self.namespace(namespace)?;
        self.engine.resolve(namespace, workflow_id, run_id)
    }

    pub(super) fn validate_start(
        &self,
        r: &ws::StartWorkflowExecutionRequest,
    ) -> Result<Duration, Status> {
        let ns = self.namespace(&r.namespace)?;
        validate::required_id(&r.workflow_id, "WorkflowId")?;
        validate::retry_policy(r.retry_policy.as_ref())?;
        let workflow_type = r
            .workflow_type
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or_default();
        validate::required_id(workflow_type, "WorkflowType")?;
        validate::task_queue(r.task_queue.as_ref())?;
        validate::id_length(&r.request_id, "RequestId")?;
        validate::non_negative(
            r.workflow_execution_timeout.as_ref(),
            "WorkflowExecutionTimeout",
        )?;
        validate::non_negative(r.workflow_run_timeout.as_ref(), "WorkflowRunTimeout")?;
        validate::non_negative(r.workflow_task_timeout.as_ref(), "WorkflowTaskTimeout")?;
        validate::non_negative(r.workflow_start_delay.as_ref(), "WorkflowStartDelay")?;
        if !r.cron_schedule.is_empty() {
            crate::server::history::cron::parse(&r.cron_schedule)
                .map_err(|e| invalid(format!("Invalid CronSchedule {:?}: {e}", r.cron_schedule)))?;
        }
        let types = self.namespaces.search_attribute_types(&r.namespace)?;
        validate::search_attributes(
            &r.namespace,
            r.search_attributes.as_ref(),
            &types,
            &ns.search_attributes,
        )?;
        validate::start_payloads(r.input.as_ref(), r.memo.as_ref())?;
        Ok(ns.retention)
    }

    pub(super) async fn poll_workflow_task(
        &self,
        request: Request<ws::PollWorkflowTaskQueueRequest>,
    ) -> Rpc<ws::PollWorkflowTaskQueueResponse> {
        let deadline = self.deadline(request.metadata());
        let r = request.into_inner();
        self.namespace(&r.namespace)?;
        let name = validate::task_queue(r.task_queue.as_ref())?;
        let sticky = r
            .task_queue
            .as_ref()
            .is_some_and(|q| q.kind == TaskQueueKind::Sticky as i32);
        // Sticky queues too: whether their worker still polls decides where tasks go.
        self.engine.matching.record_poller(
            &QueueKey {
                namespace: r.namespace.clone(),
                name: name.clone(),
                queue_type: QueueType::Workflow,
            },
            &r.identity,
        );
        let key = QueueKey {
            namespace: r.namespace.clone(),
            name,
            queue_type: QueueType::Workflow,
        };
        let mut shutdown = self.shutdown.clone();
        loop {
            let started = std::time::Instant::now();
            let task = self
                .engine
                .matching
                .poll(&key, deadline, &mut shutdown)
                .await;
            self.engine
                .metrics
                .poll_wait("workflow", task.is_some(), started.elapsed());
            let Some(task) = task else {
                return Ok(Response::new(ws::PollWorkflowTaskQueueResponse::default()));
            };
            if let Some(response) = self.engine.claim_workflow_task(task, &r.identity, sticky)? {
                return Ok(Response::new(response));
            }
        }
    }

    pub(super) async fn poll_activity_task(
        &self,
        request: Request<ws::PollActivityTaskQueueRequest>,
    ) -> Rpc<ws::PollActivityTaskQueueResponse> {
        let deadline = self.deadline(request.metadata());
        let r = request.into_inner();
        self.namespace(&r.namespace)?;
        let key = QueueKey {
            namespace: r.namespace.clone(),
            name: validate::task_queue(r.task_queue.as_ref())?,
            queue_type: QueueType::Activity,
        };
        self.engine.matching.record_poller(&key, &r.identity);
        let mut shutdown = self.shutdown.clone();
        loop {
            let started = std::time::Instant::now();
            let task = self
                .engine
                .matching
                .poll(&key, deadline, &mut shutdown)
                .await;
            self.engine
                .metrics
                .poll_wait("activity", task.is_some(), started.elapsed());
            let Some(task) = task else {
                return Ok(Response::new(ws::PollActivityTaskQueueResponse::default()));
            };
            if let Task::Activity {
                run,
                scheduled_event_id,
                attempt,
            } = task
                && let Some(response) =
                    self.engine
                        .claim_activity_task(&run, scheduled_event_id, attempt, &r.identity)
            {
                return Ok(Response::new(response));
            }
        }
    }

    pub(super) fn activity_by_token(
        &self,
        namespace: &str,
        token: &[u8],
        outcome: ActivityOutcome,
        identity: &str,
    ) -> Result<(), Status> {
        let outcome = super::activity_limits::outcome(outcome)?;
        let (run, scheduled_event_id, attempt) = Engine::activity_by_token(namespace, token)?;
        self.engine.activity_outcome(
            &run,
            ActivityRef::Token {
                scheduled_event_id,
                attempt,
            },
            outcome,
            identity,
        )
    }

    pub(super) fn activity_by_id(
        &self,
        namespace: &str,
        workflow_id: &str,
        run_id: &str,
        activity_id: &str,
        outcome: ActivityOutcome,
        identity: &str,
    ) -> Result<(), Status> {
        validate::required_id(workflow_id, "WorkflowId")?;
        validate::required_id(activity_id, "ActivityId")?;
        let outcome = super::activity_limits::outcome(outcome)?;
        let run = self.run_key(namespace, workflow_id, run_id)?;
        self.engine
            .activity_outcome(&run, ActivityRef::Id(activity_id), outcome, identity)
    }
}

impl Frontend {
    pub(super) fn list(
        &self,
        namespace: &str,
        query: &str,
        page_size: i32,
        token: &[u8],
    ) -> Result<
        (
            Vec<reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo>,
            Vec<u8>,
        ),
        Status,
    > {
        self.namespace(namespace)?;
        let types = self.namespaces.search_attribute_types(namespace)?;
        let records = self
            .engine
            .store
            .visibility_records(namespace)
            .map_err(errors::store)?;
        let matched = visibility::select(records, query, &types)?;
        if matched.group_by_status {
            return Err(invalid(
                "GROUP BY is only allowed in CountWorkflowExecutions",
            ));
        }
        let offset = if token.is_empty() {
            0
        } else {
            let bytes: [u8; 8] = token
                .try_into()
                .map_err(|_| invalid("next_page_token is not a list page token of this server"))?;
            usize::try_from(u64::from_le_bytes(bytes)).unwrap_or(usize::MAX)
        };
        let size = usize::try_from(page_size)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(crate::server::limits::VISIBILITY_MAX_PAGE_SIZE)
            .min(crate::server::limits::VISIBILITY_MAX_PAGE_SIZE);
        let total = matched.executions.len();
        let page: Vec<_> = matched
            .executions
            .into_iter()
            .skip(offset)
            .take(size)
            .collect();
        let next = offset + page.len();
        let token = if next < total {
            (next as u64).to_le_bytes().to_vec()
        } else {
            Vec::new()
        };
        Ok((page, token))
    }
}

/// A `json/plain` payload of a JSON text.
pub(super) fn json_payload(json: &str) -> Payload {
    Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())]
            .into_iter()
            .collect(),
        data: json.as_bytes().to_vec(),
        ..Default::default()
    }
}
