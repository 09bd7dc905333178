//! The async side of the workflow worker: pollers that take workflow tasks from the server
//! (normal or sticky queue), fetch missing history, hand them to the workflow thread, run the
//! local activities it asks for, and send its answers back.

use super::WorkerError;
use super::activities::run_local_activity;
use super::interceptor::Interceptor;
use super::telemetry::{Slots, Telemetry};
use super::workflow_thread::{Outcome, Request, WorkflowThread};
use crate::activity::ActivityRegistry;
use crate::api::temporal::api::common::v1::{Payload, Payloads, WorkflowExecution};
use crate::api::temporal::api::enums::v1::{
    QueryResultType, TaskQueueKind, WorkflowTaskFailedCause,
};
use crate::api::temporal::api::history::v1::History;
use crate::api::temporal::api::query::v1::WorkflowQueryResult;
use crate::api::temporal::api::taskqueue::v1::{StickyExecutionAttributes, TaskQueue};
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::client::{Client, ClientError, WorkflowServiceClient};
use crate::converter::Failure;
use crate::replay::run::Activation;
use crate::telemetry::names;
use crate::workflow::state::LocalActivityRequest;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// Polls one workflow task queue (normal or sticky) and processes its tasks.
#[derive(Clone)]
pub(crate) struct Poller {
    pub(crate) client: Client,
    pub(crate) thread: WorkflowThread,
    pub(crate) task_queue: String,
    pub(crate) sticky_queue: Option<String>,
    pub(crate) sticky_timeout: Duration,
    pub(crate) activities: Arc<ActivityRegistry>,
    /// Workflow tasks being processed at once, across this worker's pollers.
    pub(crate) slots: Slots,
    pub(crate) telemetry: Telemetry,
    /// For the local activities.
    pub(crate) interceptor: Interceptor,
}

impl Poller {
    /// Polls until shutdown. A task is processed in its own tokio task (the server hands out one
    /// workflow task per run at a time, so runs never race), and the poller polls again at once;
    /// `slots` caps how many are in flight. Returns after the tasks it started are answered.
    pub(crate) async fn run(
        self,
        sticky: Option<String>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), WorkerError> {
        let mut running = tokio::task::JoinSet::new();
        let result = self.poll_loop(sticky, shutdown, &mut running).await;
        let mut outcome = result;
        while let Some(done) = running.join_next().await {
            if let Err(e) = Self::answered(done)
                && outcome.is_ok()
            {
                outcome = Err(e);
            }
        }
        outcome
    }

    /// The result of one processed task: only a dead workflow thread is fatal.
    fn answered(
        done: Result<Result<(), WorkerError>, tokio::task::JoinError>,
    ) -> Result<(), WorkerError> {
        match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(WorkerError::WorkflowThread)) | Err(_) => Err(WorkerError::WorkflowThread),
            Ok(Err(other)) => {
                tracing::warn!(error = %other, "workflow task could not be answered");
                Ok(())
            }
        }
    }

    async fn poll_loop(
        &self,
        sticky: Option<String>,
        mut shutdown: watch::Receiver<bool>,
        running: &mut tokio::task::JoinSet<Result<(), WorkerError>>,
    ) -> Result<(), WorkerError> {
        let queue = match &sticky {
            Some(name) => TaskQueue {
                name: name.clone(),
                kind: TaskQueueKind::Sticky as i32,
                normal_name: self.task_queue.clone(),
            },
            None => TaskQueue {
                name: self.task_queue.clone(),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            },
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            while let Some(done) = running.try_join_next() {
                Self::answered(done)?;
            }
            let permit = tokio::select! {
                permit = self.slots.semaphore.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return Ok(()),
                },
                _ = shutdown.wait_for(|s| *s) => return Ok(()),
            };
            self.slots.report(&self.telemetry);
            let request = ws::PollWorkflowTaskQueueRequest {
                namespace: self.client.namespace().to_string(),
                task_queue: Some(queue.clone()),
                identity: self.client.identity().to_string(),
                ..Default::default()
            };
            let poll = self.client.call(
                "",
                request,
                Duration::from_secs(70),
                |mut s, r| async move { s.poll_workflow_task_queue(r).await },
            );
            let span = tracing::debug_span!(
                "temporal_poll",
                namespace = self.client.namespace(),
                task_queue = %self.task_queue,
                poller_type = if sticky.is_some() { "sticky_workflow_task" } else { "workflow_task" },
            );
            let polled = super::poll_once(poll, &mut shutdown, &mut backoff, &self.task_queue)
                .instrument(span)
                .await?;
            let task = match polled {
                super::Polled::Task(task) if !task.task_token.is_empty() => task,
                super::Polled::Task(_) | super::Polled::Nothing => {
                    self.telemetry
                        .count(names::WORKFLOW_TASK_QUEUE_POLL_EMPTY, 1);
                    drop(permit);
                    self.slots.report(&self.telemetry);
                    continue;
                }
                super::Polled::Shutdown => return Ok(()),
            };
            self.telemetry
                .count(names::WORKFLOW_TASK_QUEUE_POLL_SUCCEED, 1);
            self.telemetry.between(
                names::WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY,
                task.scheduled_time.as_ref(),
                task.started_time.as_ref(),
                None,
            );
            let this = self.clone();
            let span = self.task_span(&task);
            running.spawn(
                async move {
                    let started = std::time::Instant::now();
                    let workflow_type = task.workflow_type.as_ref().map(|t| t.name.clone());
                    let answered = this.process(task).await;
                    this.telemetry.latency_for(
                        names::WORKFLOW_TASK_EXECUTION_LATENCY,
                        "workflow_type",
                        workflow_type.as_deref().unwrap_or_default(),
                        started.elapsed(),
                    );
                    drop(permit);
                    this.slots.report(&this.telemetry);
                    answered
                }
                .instrument(span),
            );
        }
    }

    /// The `workflow_task` span: the task's run, and its attempt.
    fn task_span(&self, task: &ws::PollWorkflowTaskQueueResponse) -> tracing::Span {
        let execution = task.workflow_execution.as_ref();
        tracing::info_span!(
            "workflow_task",
            namespace = self.client.namespace(),
            task_queue = %self.task_queue,
            workflow_type = task.workflow_type.as_ref().map_or("", |t| t.name.as_str()),
            workflow_id = execution.map_or("", |e| e.workflow_id.as_str()),
            run_id = execution.map_or("", |e| e.run_id.as_str()),
            attempt = task.attempt,
        )
    }

    /// Appends the pages of the run's history from `token` on (an empty token: from the start).
    async fn fetch_history(
        &self,
        execution: &WorkflowExecution,
        mut history: History,
        mut token: Vec<u8>,
    ) -> Result<History, ClientError> {
        loop {
            let request = ws::GetWorkflowExecutionHistoryRequest {
                namespace: self.client.namespace().to_string(),
                execution: Some(execution.clone()),
                next_page_token: token,
                ..Default::default()
            };
            let page = self
                .client
                .call(
                    &execution.workflow_id,
                    request,
                    self.client.rpc_timeout(),
                    |mut s, r| async move { s.get_workflow_execution_history(r).await },
                )
                .await?;
            history
                .events
                .extend(page.history.map(|h| h.events).unwrap_or_default());
            token = page.next_page_token;
            if token.is_empty() {
                return Ok(history);
            }
        }
    }

    /// The whole history up to `task`'s `WorkflowTaskStarted`, for a run this worker does not have
    /// cached. The server stores no events of a speculative workflow task (nor the official
    /// server of a transient one), so those come from the task's own history.
    async fn full_history(
        &self,
        execution: &WorkflowExecution,
        task: &ws::PollWorkflowTaskQueueResponse,
    ) -> Result<Option<History>, ClientError> {
        let mut history = self
            .fetch_history(execution, History::default(), vec![])
            .await?;
        if task.query.is_some() {
            // A query is answered from everything recorded so far.
            return Ok(Some(history));
        }
        history
            .events
            .retain(|e| e.event_id <= task.started_event_id);
        let stored = history.events.last().map_or(0, |e| e.event_id);
        let own = task.history.iter().flat_map(|h| &h.events);
        let mut own = own.filter(|e| e.event_id > stored).peekable();
        if own.peek().is_some_and(|e| e.event_id != stored + 1) {
            return Ok(None);
        }
        history.events.extend(own.cloned());
        Ok(Some(history))
    }

    /// One workflow task, from the poll's response to the answer: join up its history, let the
    /// workflow thread run it (replaying from the start if the run is not cached, running the
    /// local activities it asks for), then respond to the server.
    async fn process(
        &self,
        mut task: ws::PollWorkflowTaskQueueResponse,
    ) -> Result<(), WorkerError> {
        let execution = task.workflow_execution.clone().unwrap_or_default();
        self.complete_paged_history(&execution, &mut task).await?;
        let token = task.task_token.clone();
        let is_query = task.query.is_some();
        let mut outcome = self
            .thread
            .ask(|reply| Request::Task(Box::new(task.clone()), reply))
            .await?;
        let mut fetched_full_history = false;
        loop {
            outcome = match outcome {
                Outcome::NeedFullHistory if !fetched_full_history => {
                    fetched_full_history = true;
                    self.replay_from_start(&execution, &task).await?
                }
                Outcome::NeedFullHistory => Outcome::Fail {
                    message: "the run's history does not start with its first event".into(),
                    cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                },
                Outcome::NeedLocalActivities { run_id, requests } => {
                    self.run_local_activities(&execution, &task, run_id, requests)
                        .await?
                }
                Outcome::QueryAnswer(answer) => {
                    return self.respond_query(&execution, token, answer).await;
                }
                Outcome::Fail { message, cause } => {
                    debug_assert!(!is_query);
                    let workflow_type = task.workflow_type.as_ref().map_or("", |t| t.name.as_str());
                    let reason = match cause {
                        WorkflowTaskFailedCause::NonDeterministicError => "NonDeterminismError",
                        _ => "Workflow",
                    };
                    if self.telemetry.enabled() {
                        let tags = self.telemetry.tags.with("workflow_type", workflow_type);
                        let tags = tags.with_static("failure_reason", reason);
                        self.telemetry.metrics.count(
                            names::WORKFLOW_TASK_EXECUTION_FAILED,
                            &tags,
                            1,
                        );
                    }
                    // The server retries a failing task until the code is fixed: the first
                    // attempt's failure is logged as a warning, the retries' only at debug level.
                    if task.attempt <= 1 {
                        tracing::warn!(%message, "workflow task failed");
                    } else {
                        tracing::debug!(%message, "workflow task failed again");
                    }
                    return self.respond_failed(&execution, token, message, cause).await;
                }
                Outcome::Complete {
                    activation,
                    query_results,
                } => {
                    return self
                        .respond_completed(&execution, token, activation, query_results)
                        .await;
                }
            };
        }
    }

    /// Sends one of the task's answers to the server.
    async fn respond<Req, Resp, F, Fut>(
        &self,
        execution: &WorkflowExecution,
        request: Req,
        method: F,
    ) -> Result<Resp, WorkerError>
    where
        Req: Clone,
        F: Fn(WorkflowServiceClient, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        self.client
            .call(
                &execution.workflow_id,
                request,
                self.client.rpc_timeout(),
                method,
            )
            .await
            .map_err(|e| self.poll_error(e))
    }

    fn poll_error(&self, e: ClientError) -> WorkerError {
        WorkerError::Poll {
            task_queue: self.task_queue.clone(),
            source: e,
        }
    }

    /// A task whose history came in several pages gets the other pages before it runs.
    async fn complete_paged_history(
        &self,
        execution: &WorkflowExecution,
        task: &mut ws::PollWorkflowTaskQueueResponse,
    ) -> Result<(), WorkerError> {
        if !task.next_page_token.is_empty() {
            let history = task.history.take().unwrap_or_default();
            task.history = Some(
                self.fetch_history(
                    execution,
                    history,
                    std::mem::take(&mut task.next_page_token),
                )
                .await
                .map_err(|e| self.poll_error(e))?,
            );
        }
        Ok(())
    }

    /// The run is not cached here (evicted, or another worker had it): replay it from the start.
    async fn replay_from_start(
        &self,
        execution: &WorkflowExecution,
        task: &ws::PollWorkflowTaskQueueResponse,
    ) -> Result<Outcome, WorkerError> {
        let history = self
            .full_history(execution, task)
            .await
            .map_err(|e| self.poll_error(e))?;
        let Some(history) = history else {
            return Ok(Outcome::Fail {
                message: "the run's history and the task's do not join up".into(),
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
            });
        };
        let mut full = task.clone();
        full.history = Some(history);
        self.thread
            .ask(|reply| Request::Task(Box::new(full), reply))
            .await
    }

    /// Runs the local activities the workflow asked for, all at once, and hands their results
    /// back to it.
    async fn run_local_activities(
        &self,
        execution: &WorkflowExecution,
        task: &ws::PollWorkflowTaskQueueResponse,
        run_id: String,
        requests: Vec<LocalActivityRequest>,
    ) -> Result<Outcome, WorkerError> {
        let info = (
            execution.clone(),
            task.workflow_type
                .clone()
                .map(|t| t.name)
                .unwrap_or_default(),
            self.task_queue.clone(),
        );
        let hooks = (&self.telemetry, &self.interceptor);
        let runs = requests
            .into_iter()
            .map(|r| run_local_activity(&self.client, &self.activities, hooks, &info, r));
        let results = futures::future::join_all(runs).await;
        self.thread
            .ask(|reply| Request::LocalActivities {
                run_id,
                results,
                reply,
            })
            .await
    }

    /// `RespondQueryTaskCompleted`: the answer to a legacy query task.
    async fn respond_query(
        &self,
        execution: &WorkflowExecution,
        token: Vec<u8>,
        answer: Result<Vec<Payload>, String>,
    ) -> Result<(), WorkerError> {
        let (completed_type, query_result, error_message) = match answer {
            Ok(payloads) => (
                QueryResultType::Answered,
                Some(Payloads {
                    payloads: self
                        .client
                        .data_converter()
                        .encode_payloads(payloads)
                        .unwrap_or_default(),
                }),
                String::new(),
            ),
            Err(message) => (QueryResultType::Failed, None, message),
        };
        let request = ws::RespondQueryTaskCompletedRequest {
            task_token: token,
            completed_type: completed_type as i32,
            query_result,
            error_message,
            namespace: self.client.namespace().to_string(),
            ..Default::default()
        };
        self.respond(execution, request, |mut s, r| async move {
            s.respond_query_task_completed(r).await
        })
        .await?;
        Ok(())
    }

    /// `RespondWorkflowTaskFailed`: the task failed (the server retries it).
    async fn respond_failed(
        &self,
        execution: &WorkflowExecution,
        token: Vec<u8>,
        message: String,
        cause: WorkflowTaskFailedCause,
    ) -> Result<(), WorkerError> {
        let failure = Failure::from(
            crate::converter::ApplicationFailure::new(message).with_type("WorkflowTaskFailure"),
        )
        .to_proto();
        let request = ws::RespondWorkflowTaskFailedRequest {
            task_token: token,
            cause: cause as i32,
            failure: Some(failure),
            identity: self.client.identity().to_string(),
            namespace: self.client.namespace().to_string(),
            ..Default::default()
        };
        self.respond(execution, request, |mut s, r| async move {
            s.respond_workflow_task_failed(r).await
        })
        .await?;
        Ok(())
    }

    /// `RespondWorkflowTaskCompleted`: the commands and messages of the activation, the answers
    /// to the queries that came with the task, and the sticky queue to send the next task to.
    async fn respond_completed(
        &self,
        execution: &WorkflowExecution,
        token: Vec<u8>,
        activation: Activation,
        query_results: BTreeMap<String, WorkflowQueryResult>,
    ) -> Result<(), WorkerError> {
        let sticky_attributes = self
            .sticky_queue
            .as_ref()
            .map(|name| StickyExecutionAttributes {
                worker_task_queue: Some(TaskQueue {
                    name: name.clone(),
                    kind: TaskQueueKind::Sticky as i32,
                    normal_name: self.task_queue.clone(),
                }),
                schedule_to_start_timeout: Some(self.sticky_timeout.into()),
            });
        let request = ws::RespondWorkflowTaskCompletedRequest {
            task_token: token,
            commands: activation.commands,
            messages: activation.messages,
            identity: self.client.identity().to_string(),
            sticky_attributes,
            query_results,
            namespace: self.client.namespace().to_string(),
            // The run cache takes events shown again after a discarded task.
            capabilities: Some(ws::respond_workflow_task_completed_request::Capabilities {
                discard_speculative_workflow_task_with_events: true,
            }),
            ..Default::default()
        };
        let response = self
            .respond(execution, request, |mut s, r| async move {
                s.respond_workflow_task_completed(r).await
            })
            .await?;
        if response.reset_history_event_id > 0 {
            // The run cache expects this (see `Discardable`): the next task shows it.
            tracing::debug!(
                workflow_id = %execution.workflow_id,
                reset_to = response.reset_history_event_id,
                "the server discarded a workflow task that only rejected updates"
            );
        }
        Ok(())
    }
}
