//! The workflow side of the worker: a dedicated thread owning the cache of workflow runs, and
//! the async pollers that feed it tasks and send its answers to the server.

use super::WorkerError;
use super::activities::run_local_activity;
use crate::activity::ActivityRegistry;
use crate::api::temporal::api::common::v1::{Payloads, WorkflowExecution};
use crate::api::temporal::api::enums::v1::{
    QueryResultType, TaskQueueKind, WorkflowTaskFailedCause,
};
use crate::api::temporal::api::history::v1::History;
use crate::api::temporal::api::protocol::v1::message::SequencingId;
use crate::api::temporal::api::query::v1::WorkflowQueryResult;
use crate::api::temporal::api::taskqueue::v1::{StickyExecutionAttributes, TaskQueue};
use crate::api::temporal::api::update::v1 as upd;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::client::{Client, ClientError};
use crate::converter::{DataConverter, Failure};
use crate::replay::ReplayError;
use crate::replay::run::{Activation, WorkflowRun};
use crate::workflow::state::{LocalActivityRequest, MachineId, Resolution};
use crate::workflow::{PendingUpdate, UpdateInput, WorkflowRegistry};
use prost::{Message as _, Name};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// What the workflow thread answers for a task.
pub(crate) enum Outcome {
    Complete {
        activation: Activation,
        query_results: BTreeMap<String, WorkflowQueryResult>,
    },
    NeedLocalActivities {
        run_id: String,
        requests: Vec<LocalActivityRequest>,
    },
    NeedFullHistory,
    Fail {
        message: String,
        cause: WorkflowTaskFailedCause,
    },
    QueryAnswer(Result<Vec<crate::api::temporal::api::common::v1::Payload>, String>),
}

enum Request {
    Task(
        Box<ws::PollWorkflowTaskQueueResponse>,
        oneshot::Sender<Outcome>,
    ),
    LocalActivities {
        run_id: String,
        results: Vec<(MachineId, Resolution, u32)>,
        reply: oneshot::Sender<Outcome>,
    },
    Stop,
}

/// Handle to the workflow thread.
#[derive(Clone)]
pub(crate) struct WorkflowThread {
    tx: mpsc::Sender<Request>,
    has_workflows: bool,
}

impl WorkflowThread {
    pub(crate) fn start(
        registry: WorkflowRegistry,
        converter: DataConverter,
        namespace: String,
        max_cached: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel();
        let has_workflows = registry.workflow_types().next().is_some();
        let spawned = std::thread::Builder::new()
            .name("reprise-workflows".into())
            .spawn(move || {
                let mut state = ThreadState {
                    registry,
                    converter,
                    namespace,
                    max_cached,
                    cache: HashMap::new(),
                    lru: VecDeque::new(),
                    in_progress: HashMap::new(),
                };
                while let Ok(request) = rx.recv() {
                    match request {
                        Request::Task(task, reply) => {
                            let _ = reply.send(state.task(*task));
                        }
                        Request::LocalActivities {
                            run_id,
                            results,
                            reply,
                        } => {
                            let _ = reply.send(state.local_activities(&run_id, results));
                        }
                        Request::Stop => break,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the workflow thread");
        }
        WorkflowThread { tx, has_workflows }
    }

    pub(crate) fn has_workflows(&self) -> bool {
        self.has_workflows
    }

    pub(crate) fn stop(&self) {
        let _ = self.tx.send(Request::Stop);
    }

    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Outcome>) -> Request,
    ) -> Result<Outcome, WorkerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| WorkerError::WorkflowThread)?;
        rx.await.map_err(|_| WorkerError::WorkflowThread)
    }
}

struct CachedRun {
    run: WorkflowRun,
    last_event_id: i64,
}

/// A task waiting for local activities.
struct InProgress {
    cached: CachedRun,
    queries: BTreeMap<String, crate::api::temporal::api::query::v1::WorkflowQuery>,
    dispatched: HashSet<MachineId>,
}

struct ThreadState {
    registry: WorkflowRegistry,
    converter: DataConverter,
    namespace: String,
    max_cached: usize,
    cache: HashMap<String, CachedRun>,
    lru: VecDeque<String>,
    in_progress: HashMap<String, InProgress>,
}

fn fail(e: &ReplayError) -> Outcome {
    let cause = match e {
        ReplayError::Nondeterminism(_) => WorkflowTaskFailedCause::NonDeterministicError,
        _ => WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
    };
    Outcome::Fail {
        message: e.to_string(),
        cause,
    }
}

impl ThreadState {
    fn new_run(&self, history: &History) -> Result<WorkflowRun, ReplayError> {
        let first = history
            .events
            .first()
            .ok_or_else(|| ReplayError::InvalidHistory {
                event_id: 0,
                message: "empty history".into(),
            })?;
        let workflow_type = crate::history::workflow_type(history).unwrap_or_default();
        let run_fn =
            self.registry
                .get(workflow_type)
                .ok_or_else(|| ReplayError::UnknownWorkflowType {
                    workflow_type: workflow_type.to_string(),
                    registered: self
                        .registry
                        .workflow_types()
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        WorkflowRun::new(
            run_fn.clone(),
            first,
            self.converter.clone(),
            &self.namespace,
        )
    }

    fn task(&mut self, task: ws::PollWorkflowTaskQueueResponse) -> Outcome {
        let run_id = task
            .workflow_execution
            .as_ref()
            .map(|e| e.run_id.clone())
            .unwrap_or_default();
        let history = task.history.clone().unwrap_or_default();
        let first_id = history.events.first().map(|e| e.event_id).unwrap_or(0);
        if let Some(query) = &task.query {
            // A legacy query task: answer from the cached run, or from a replay of the history.
            let args = self
                .converter
                .decode_payloads(
                    query
                        .query_args
                        .clone()
                        .map(|p| p.payloads)
                        .unwrap_or_default(),
                )
                .unwrap_or_default();
            let answer = match self.cache.get_mut(&run_id) {
                Some(cached) => cached.run.query(&query.query_type, args),
                None => match self
                    .new_run(&history)
                    .and_then(|mut run| run.apply_events(&history.events).map(|_| run))
                {
                    Ok(mut run) => run.query(&query.query_type, args),
                    Err(e) => return Outcome::QueryAnswer(Err(e.to_string())),
                },
            };
            return Outcome::QueryAnswer(answer.map_err(|f| f.to_string()));
        }
        let cached = match self.cache.remove(&run_id) {
            Some(c) if first_id == c.last_event_id + 1 => Some(c),
            _ => None,
        };
        let mut cached = match cached {
            Some(c) => c,
            None if first_id == 1 => match self.new_run(&history) {
                Ok(run) => CachedRun {
                    run,
                    last_event_id: 0,
                },
                Err(e) => return fail(&e),
            },
            None => return Outcome::NeedFullHistory,
        };
        for message in &task.messages {
            let Some(body) = &message.body else { continue };
            if body.type_url.rsplit('/').next() != Some(upd::Request::full_name().as_str()) {
                continue;
            }
            let Ok(request) = upd::Request::decode(body.value.as_slice()) else {
                continue;
            };
            let input = request.input.clone().unwrap_or_default();
            let args = self
                .converter
                .decode_payloads(input.args.map(|p| p.payloads).unwrap_or_default())
                .unwrap_or_default();
            let sequencing_event_id = match message.sequencing_id {
                Some(SequencingId::EventId(id)) => id,
                _ => task.started_event_id - 1,
            };
            cached.run.push_update(PendingUpdate {
                input: UpdateInput {
                    id: request
                        .meta
                        .as_ref()
                        .map(|m| m.update_id.clone())
                        .unwrap_or_default(),
                    name: input.name,
                    args,
                },
                protocol_instance_id: message.protocol_instance_id.clone(),
                request_message_id: message.id.clone(),
                sequencing_event_id,
                request,
                run_validator: true,
            });
        }
        match cached.run.apply_events(&history.events) {
            Err(e) => fail(&e),
            Ok(false) => Outcome::Fail {
                message: "the task's history does not end with a started workflow task".into(),
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
            },
            Ok(true) => {
                cached.last_event_id = history
                    .events
                    .last()
                    .map(|e| e.event_id)
                    .unwrap_or(cached.last_event_id);
                self.finish(
                    run_id,
                    InProgress {
                        cached,
                        queries: task.queries,
                        dispatched: HashSet::new(),
                    },
                )
            }
        }
    }

    fn local_activities(
        &mut self,
        run_id: &str,
        results: Vec<(MachineId, Resolution, u32)>,
    ) -> Outcome {
        let Some(mut progress) = self.in_progress.remove(run_id) else {
            return Outcome::Fail {
                message: "local activity results for an unknown run".into(),
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
            };
        };
        for (machine, resolution, attempt) in results {
            if let Err(e) = progress
                .cached
                .run
                .resolve_local_activity(machine, resolution, attempt)
            {
                return fail(&e);
            }
        }
        self.finish(run_id.to_string(), progress)
    }

    /// Completes the task, unless local activities must run first.
    fn finish(&mut self, run_id: String, mut progress: InProgress) -> Outcome {
        let pending = progress.cached.run.pending_local_activities();
        if !pending.is_empty() {
            let new: Vec<_> = pending
                .into_iter()
                .filter(|r| progress.dispatched.insert(r.machine))
                .collect();
            self.in_progress.insert(run_id.clone(), progress);
            return Outcome::NeedLocalActivities {
                run_id,
                requests: new,
            };
        }
        let activation = progress.cached.run.take_activation();
        let mut query_results = BTreeMap::new();
        for (id, query) in std::mem::take(&mut progress.queries) {
            let args = self
                .converter
                .decode_payloads(query.query_args.map(|p| p.payloads).unwrap_or_default())
                .unwrap_or_default();
            let result = match progress.cached.run.query(&query.query_type, args) {
                Ok(payloads) => WorkflowQueryResult {
                    result_type: QueryResultType::Answered as i32,
                    answer: Some(Payloads {
                        payloads: self.converter.encode_payloads(payloads).unwrap_or_default(),
                    }),
                    ..Default::default()
                },
                Err(f) => WorkflowQueryResult {
                    result_type: QueryResultType::Failed as i32,
                    error_message: f.to_string(),
                    ..Default::default()
                },
            };
            query_results.insert(id, result);
        }
        if !progress.cached.run.is_closed() && self.max_cached > 0 {
            self.cache.insert(run_id.clone(), progress.cached);
            self.lru.retain(|r| r != &run_id);
            self.lru.push_back(run_id);
            while self.cache.len() > self.max_cached {
                let Some(oldest) = self.lru.pop_front() else {
                    break;
                };
                self.cache.remove(&oldest);
            }
        }
        Outcome::Complete {
            activation,
            query_results,
        }
    }
}

/// Polls one workflow task queue (normal or sticky) and processes its tasks.
#[derive(Clone)]
pub(crate) struct Poller {
    pub(crate) client: Client,
    pub(crate) thread: WorkflowThread,
    pub(crate) task_queue: String,
    pub(crate) sticky_queue: Option<String>,
    pub(crate) sticky_timeout: Duration,
    pub(crate) activities: Arc<ActivityRegistry>,
}

impl Poller {
    pub(crate) async fn run(
        self,
        sticky: Option<String>,
        mut shutdown: watch::Receiver<bool>,
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
            let task = match super::poll_once(poll, &mut shutdown, &mut backoff, &self.task_queue)
                .await?
            {
                super::Polled::Task(task) => task,
                super::Polled::Nothing => continue,
                super::Polled::Shutdown => return Ok(()),
            };
            if task.task_token.is_empty() {
                continue;
            }
            if let Err(e) = self.process(task).await {
                match e {
                    WorkerError::WorkflowThread => return Err(e),
                    other => tracing::warn!(error = %other, "workflow task could not be answered"),
                }
            }
        }
    }

    async fn full_history(
        &self,
        execution: &WorkflowExecution,
        mut history: History,
        mut token: Vec<u8>,
    ) -> Result<History, ClientError> {
        while !token.is_empty() {
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
        }
        Ok(history)
    }

    async fn process(
        &self,
        mut task: ws::PollWorkflowTaskQueueResponse,
    ) -> Result<(), WorkerError> {
        let execution = task.workflow_execution.clone().unwrap_or_default();
        let poll_error = |e: ClientError| WorkerError::Poll {
            task_queue: self.task_queue.clone(),
            source: e,
        };
        if !task.next_page_token.is_empty() {
            let history = task.history.take().unwrap_or_default();
            task.history = Some(
                self.full_history(
                    &execution,
                    history,
                    std::mem::take(&mut task.next_page_token),
                )
                .await
                .map_err(poll_error)?,
            );
        }
        let token = task.task_token.clone();
        let is_query = task.query.is_some();
        let mut outcome = self
            .thread
            .ask(|reply| Request::Task(Box::new(task.clone()), reply))
            .await?;
        loop {
            match outcome {
                Outcome::NeedFullHistory => {
                    // Not cached here (evicted, or another worker had it): replay from the start.
                    let first = self
                        .full_history(&execution, History::default(), vec![])
                        .await;
                    let history = match first {
                        Ok(h) => h,
                        Err(e) => return Err(poll_error(e)),
                    };
                    let mut full = task.clone();
                    full.history = Some(history);
                    outcome = self
                        .thread
                        .ask(|reply| Request::Task(Box::new(full), reply))
                        .await?;
                }
                Outcome::NeedLocalActivities { run_id, requests } => {
                    let info = (
                        execution.clone(),
                        task.workflow_type
                            .clone()
                            .map(|t| t.name)
                            .unwrap_or_default(),
                    );
                    let runs = requests
                        .into_iter()
                        .map(|r| run_local_activity(&self.client, &self.activities, &info, r));
                    let results = futures::future::join_all(runs).await;
                    outcome = self
                        .thread
                        .ask(|reply| Request::LocalActivities {
                            run_id,
                            results,
                            reply,
                        })
                        .await?;
                }
                Outcome::QueryAnswer(answer) => {
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
                        task_token: token.clone(),
                        completed_type: completed_type as i32,
                        query_result,
                        error_message,
                        namespace: self.client.namespace().to_string(),
                        ..Default::default()
                    };
                    self.client
                        .call(
                            &execution.workflow_id,
                            request,
                            self.client.rpc_timeout(),
                            |mut s, r| async move { s.respond_query_task_completed(r).await },
                        )
                        .await
                        .map_err(poll_error)?;
                    return Ok(());
                }
                Outcome::Fail { message, cause } => {
                    debug_assert!(!is_query);
                    tracing::warn!(workflow_id = %execution.workflow_id, %message, "workflow task failed");
                    let failure = Failure::from(
                        crate::converter::ApplicationFailure::new(message)
                            .with_type("WorkflowTaskFailure"),
                    )
                    .to_proto();
                    let request = ws::RespondWorkflowTaskFailedRequest {
                        task_token: token.clone(),
                        cause: cause as i32,
                        failure: Some(failure),
                        identity: self.client.identity().to_string(),
                        namespace: self.client.namespace().to_string(),
                        ..Default::default()
                    };
                    self.client
                        .call(
                            &execution.workflow_id,
                            request,
                            self.client.rpc_timeout(),
                            |mut s, r| async move { s.respond_workflow_task_failed(r).await },
                        )
                        .await
                        .map_err(poll_error)?;
                    return Ok(());
                }
                Outcome::Complete {
                    activation,
                    query_results,
                } => {
                    let sticky_attributes =
                        self.sticky_queue
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
                        task_token: token.clone(),
                        commands: activation.commands,
                        messages: activation.messages,
                        identity: self.client.identity().to_string(),
                        sticky_attributes,
                        query_results,
                        namespace: self.client.namespace().to_string(),
                        ..Default::default()
                    };
                    self.client
                        .call(
                            &execution.workflow_id,
                            request,
                            self.client.rpc_timeout(),
                            |mut s, r| async move { s.respond_workflow_task_completed(r).await },
                        )
                        .await
                        .map_err(poll_error)?;
                    return Ok(());
                }
            }
        }
    }
}
