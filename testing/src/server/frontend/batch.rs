//! Batch operations: `StartBatchOperation` (terminate, cancel, signal, delete or reset the
//! workflows a visibility query matches, or a list of executions), `DescribeBatchOperation`,
//! `ListBatchOperations`, `StopBatchOperation`. The targets are fixed when the job starts; a
//! background task then applies the operation to each, at most `max_operations_per_second`
//! (default 50) per second, counting successes and failures. Jobs live in memory (a restarted
//! server forgets them).

use super::{Frontend, validate};
use crate::server::errors::{self, invalid};
use crate::server::history::Engine;
use crate::store::RunKey;
use reprise::api::google::protobuf::Timestamp;
use reprise::api::temporal::api::batch::v1::BatchOperationInfo;
use reprise::api::temporal::api::common::v1::reset_options::Target;
use reprise::api::temporal::api::enums::v1::{BatchOperationState, BatchOperationType, EventType};
use reprise::api::temporal::api::workflowservice::v1 as ws;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tonic::Status;
use ws::start_batch_operation_request::Operation;

/// Operations per second when the request names no limit.
const DEFAULT_RATE: f32 = 50.0;
/// The most targets one job takes from a query.
const MAX_TARGETS: usize = 1_000_000;

/// One job.
#[derive(Debug)]
struct Job {
    operation_type: BatchOperationType,
    query: String,
    executions: Vec<reprise::api::temporal::api::common::v1::Execution>,
    reason: String,
    identity: String,
    start_time: SystemTime,
    close_time: Mutex<Option<SystemTime>>,
    total: i64,
    complete: AtomicI64,
    failed: AtomicI64,
    stopped: AtomicBool,
}

impl Job {
    fn state(&self) -> BatchOperationState {
        if self.stopped.load(Ordering::SeqCst) {
            BatchOperationState::Failed
        } else if self
            .close_time
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            BatchOperationState::Completed
        } else {
            BatchOperationState::Running
        }
    }
}

/// The jobs of one server, by namespace and job id.
#[derive(Debug, Default)]
pub(crate) struct Batches {
    jobs: Mutex<BTreeMap<(String, String), Arc<Job>>>,
}

impl Batches {
    fn get(&self, namespace: &str, job_id: &str) -> Result<Arc<Job>, Status> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(namespace.to_string(), job_id.to_string()))
            .cloned()
            .ok_or_else(|| Status::not_found(format!("batch operation {job_id} not found")))
    }
}

#[allow(deprecated)]
fn operation_type(operation: &Operation) -> Result<BatchOperationType, Status> {
    Ok(match operation {
        Operation::TerminationOperation(_) => BatchOperationType::Terminate,
        Operation::CancellationOperation(_) => BatchOperationType::Cancel,
        Operation::SignalOperation(_) => BatchOperationType::Signal,
        Operation::DeletionOperation(_) => BatchOperationType::Delete,
        Operation::ResetOperation(_) => BatchOperationType::Reset,
        _ => {
            return Err(Status::unimplemented(
                "this server runs terminate, cancel, signal, delete and reset batch operations",
            ));
        }
    })
}

/// Applies the operation to one run.
fn apply(engine: &Engine, key: &RunKey, operation: &Operation, reason: &str) -> Result<(), Status> {
    match operation {
        Operation::TerminationOperation(t) => engine.with_run(key, |ms| {
            if !ms.is_open() {
                return Err(errors::execution_completed());
            }
            ms.terminate(reason, t.details.clone(), &t.identity);
            Ok(())
        }),
        Operation::CancellationOperation(c) => {
            engine.with_run(key, |ms| ms.request_cancel(reason, &c.identity))
        }
        Operation::SignalOperation(s) => engine.with_run(key, |ms| {
            ms.signal(
                &s.signal,
                s.input.clone(),
                s.header.clone(),
                &s.identity,
                "",
            )
        }),
        Operation::DeletionOperation(_) => engine.delete_run(key),
        Operation::ResetOperation(r) => {
            let options = r.options.clone().unwrap_or_default();
            let events = engine.read_events(key, 1, usize::MAX)?;
            let completed = events
                .iter()
                .filter(|e| e.event_type == EventType::WorkflowTaskCompleted as i32)
                .map(|e| e.event_id);
            let event_id = match &options.target {
                Some(Target::FirstWorkflowTask(_)) => completed.min(),
                Some(Target::LastWorkflowTask(_)) => completed.max(),
                Some(Target::WorkflowTaskId(id)) => Some(*id),
                _ => {
                    return Err(Status::unimplemented(
                        "batch reset by build id is not supported by this server",
                    ));
                }
            }
            .ok_or_else(|| invalid("no workflow task to reset to"))?;
            #[allow(deprecated)]
            let request = ws::ResetWorkflowExecutionRequest {
                namespace: key.namespace.clone(),
                workflow_execution: Some(
                    reprise::api::temporal::api::common::v1::WorkflowExecution {
                        workflow_id: key.workflow_id.clone(),
                        run_id: key.run_id.clone(),
                    },
                ),
                reason: reason.to_string(),
                workflow_task_finish_event_id: event_id,
                request_id: crate::server::history::new_id(),
                reset_reapply_type: if options.reset_reapply_type != 0 {
                    options.reset_reapply_type
                } else {
                    r.reset_reapply_type
                },
                reset_reapply_exclude_types: options.reset_reapply_exclude_types.clone(),
                ..Default::default()
            };
            engine.reset_workflow(&key.namespace, &request).map(|_| ())
        }
        _ => Err(Status::unimplemented("batch operation")),
    }
}

fn info(job_id: &str, job: &Job) -> BatchOperationInfo {
    BatchOperationInfo {
        job_id: job_id.to_string(),
        operation_type: job.operation_type as i32,
        state: job.state() as i32,
        start_time: Some(Timestamp::from(job.start_time)),
        close_time: job
            .close_time
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(Timestamp::from),
    }
}

impl Frontend {
    /// `StartBatchOperation`.
    pub(super) fn start_batch(
        &self,
        r: ws::StartBatchOperationRequest,
    ) -> Result<ws::StartBatchOperationResponse, Status> {
        self.namespace(&r.namespace)?;
        validate::required_id(&r.job_id, "JobId")?;
        let operation = r
            .operation
            .ok_or_else(|| invalid("Batch operation is not set on request."))?;
        let operation_type = operation_type(&operation)?;
        let by_query = !r.visibility_query.is_empty();
        #[allow(deprecated)]
        let listed: Vec<(String, String)> = r
            .executions
            .iter()
            .map(|e| (e.workflow_id.clone(), e.run_id.clone()))
            .chain(
                r.target_executions
                    .iter()
                    .map(|e| (e.business_id.clone(), e.run_id.clone())),
            )
            .collect();
        if by_query != listed.is_empty() {
            return Err(invalid(
                "Exactly one of VisibilityQuery and Executions must be set on request.",
            ));
        }
        let mut targets: Vec<RunKey> = Vec::new();
        if by_query {
            let mut token = Vec::new();
            loop {
                let (page, next) = self.list(&r.namespace, &r.visibility_query, 1000, &token)?;
                for info in page {
                    if let Some(e) = info.execution {
                        targets.push(RunKey {
                            namespace: r.namespace.clone(),
                            workflow_id: e.workflow_id,
                            run_id: e.run_id,
                        });
                    }
                }
                if next.is_empty() || targets.len() >= MAX_TARGETS {
                    break;
                }
                token = next;
            }
        } else {
            for (workflow_id, run_id) in &listed {
                targets.push(RunKey {
                    namespace: r.namespace.clone(),
                    workflow_id: workflow_id.clone(),
                    run_id: run_id.clone(),
                });
            }
        }
        let identity = match &operation {
            Operation::TerminationOperation(o) => o.identity.clone(),
            Operation::CancellationOperation(o) => o.identity.clone(),
            Operation::SignalOperation(o) => o.identity.clone(),
            Operation::DeletionOperation(o) => o.identity.clone(),
            Operation::ResetOperation(o) => o.identity.clone(),
            _ => String::new(),
        };
        let job = Arc::new(Job {
            operation_type,
            query: r.visibility_query.clone(),
            executions: targets
                .iter()
                .filter(|_| !by_query)
                .map(|k| reprise::api::temporal::api::common::v1::Execution {
                    business_id: k.workflow_id.clone(),
                    run_id: k.run_id.clone(),
                    ..Default::default()
                })
                .collect(),
            reason: r.reason.clone(),
            identity,
            start_time: self.engine.clock.now(),
            close_time: Mutex::new(None),
            total: targets.len() as i64,
            complete: AtomicI64::new(0),
            failed: AtomicI64::new(0),
            stopped: AtomicBool::new(false),
        });
        {
            let mut jobs = self.batches.jobs.lock().unwrap_or_else(|e| e.into_inner());
            let key = (r.namespace.clone(), r.job_id.clone());
            if jobs.contains_key(&key) {
                return Err(Status::already_exists(format!(
                    "batch operation {} already exists",
                    r.job_id
                )));
            }
            jobs.insert(key, job.clone());
        }
        let rate = if r.max_operations_per_second > 0.0 {
            r.max_operations_per_second
        } else {
            DEFAULT_RATE
        };
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
        let engine = self.engine.clone();
        let mut shutdown = self.shutdown.clone();
        let reason = r.reason;
        tokio::spawn(async move {
            let mut next = tokio::time::Instant::now();
            for key in targets {
                if job.stopped.load(Ordering::SeqCst) || *shutdown.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    _ = shutdown.changed() => break,
                }
                next += interval;
                let key = match engine.resolve(&key.namespace, &key.workflow_id, &key.run_id) {
                    Ok(key) => key,
                    Err(_) => {
                        job.failed.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                };
                match apply(&engine, &key, &operation, &reason) {
                    Ok(()) => job.complete.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        tracing::debug!(
                            "batch operation on {}/{}: {e}",
                            key.workflow_id,
                            key.run_id
                        );
                        job.failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
            *job.close_time.lock().unwrap_or_else(|e| e.into_inner()) = Some(engine.clock.now());
        });
        Ok(ws::StartBatchOperationResponse {})
    }

    /// `DescribeBatchOperation`.
    pub(super) fn describe_batch(
        &self,
        r: ws::DescribeBatchOperationRequest,
    ) -> Result<ws::DescribeBatchOperationResponse, Status> {
        self.namespace(&r.namespace)?;
        validate::required_id(&r.job_id, "JobId")?;
        let job = self.batches.get(&r.namespace, &r.job_id)?;
        let info = info(&r.job_id, &job);
        Ok(ws::DescribeBatchOperationResponse {
            operation_type: job.operation_type as i32,
            job_id: r.job_id,
            state: info.state,
            start_time: info.start_time,
            close_time: info.close_time,
            total_operation_count: job.total,
            complete_operation_count: job.complete.load(Ordering::SeqCst),
            failure_operation_count: job.failed.load(Ordering::SeqCst),
            identity: job.identity.clone(),
            reason: job.reason.clone(),
            query: job.query.clone(),
            executions: job.executions.clone(),
        })
    }

    /// `ListBatchOperations` (one page holds them all).
    pub(super) fn list_batches(
        &self,
        r: ws::ListBatchOperationsRequest,
    ) -> Result<ws::ListBatchOperationsResponse, Status> {
        self.namespace(&r.namespace)?;
        let jobs = self.batches.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let operation_info = jobs
            .iter()
            .filter(|((ns, _), _)| *ns == r.namespace)
            .map(|((_, id), job)| info(id, job))
            .collect();
        Ok(ws::ListBatchOperationsResponse {
            operation_info,
            next_page_token: Vec::new(),
        })
    }

    /// `StopBatchOperation`: no further operations; the job ends as failed.
    pub(super) fn stop_batch(
        &self,
        r: ws::StopBatchOperationRequest,
    ) -> Result<ws::StopBatchOperationResponse, Status> {
        self.namespace(&r.namespace)?;
        validate::required_id(&r.job_id, "JobId")?;
        let job = self.batches.get(&r.namespace, &r.job_id)?;
        job.stopped.store(true, Ordering::SeqCst);
        let mut close = job.close_time.lock().unwrap_or_else(|e| e.into_inner());
        if close.is_none() {
            *close = Some(self.engine.clock.now());
        }
        Ok(ws::StopBatchOperationResponse {})
    }
}
