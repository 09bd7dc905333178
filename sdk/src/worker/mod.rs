//! The worker: polls a task queue for workflow and activity tasks and runs them.
//!
//! Workflow runs live on one dedicated thread (they are deterministic, single-threaded and not
//! `Send`), kept in a cache between tasks so that a sticky task replays nothing; activities and
//! local activities run on the tokio runtime, up to a configured concurrency.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use reprise::activity::ActivityRegistry;
//! use reprise::client::{Client, ClientOptions};
//! use reprise::worker::{Worker, WorkerOptions};
//! use reprise::workflow::WorkflowRegistry;
//!
//! let client = Client::connect(ClientOptions::new("127.0.0.1:7233")).await?;
//! let worker = Worker::new(client, WorkerOptions::new("orders"), WorkflowRegistry::new(), ActivityRegistry::new());
//! let shutdown = worker.shutdown_handle();
//! tokio::spawn(async move {
//!     // e.g. on SIGTERM; here after a minute.
//!     tokio::time::sleep(std::time::Duration::from_secs(60)).await;
//!     shutdown.shutdown();
//! });
//! worker.run().await?;
//! # Ok(()) }
//! ```

mod activities;
mod interceptor;
mod running;
mod telemetry;
mod workflow_poller;
mod workflow_thread;

pub use interceptor::{ActivityInbound, WorkerInterceptor};

use crate::activity::ActivityRegistry;
use crate::client::{Client, ClientError};
use crate::workflow::WorkflowRegistry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Worker settings. Build with [`WorkerOptions::new`] and the `with_*` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// The task queue to poll.
    pub task_queue: String,
    /// Activities (and local activities) running at once.
    pub max_concurrent_activities: usize,
    /// Workflow runs kept in memory between tasks.
    pub max_cached_workflows: usize,
    /// Workflow tasks processed at once (each waits on the server while it is answered; the
    /// workflow code itself runs on one thread).
    pub max_concurrent_workflow_tasks: usize,
    /// Concurrent workflow task polls (per queue: normal and sticky).
    pub workflow_pollers: usize,
    /// Concurrent activity task polls.
    pub activity_pollers: usize,
    /// Ask the server to send a run's next tasks to this worker only (sticky queue).
    pub sticky: bool,
    /// After this long undelivered, a sticky task goes back to the normal queue.
    pub sticky_schedule_to_start_timeout: Duration,
    /// How long shutdown waits for running activities to finish; past it they are canceled
    /// (their [`ActivityContext`](crate::activity::ActivityContext) reports the cancellation)
    /// and get as long again to return. An attempt that ends canceled this way is reported as a
    /// retryable `WorkerShutdown` failure, so the server retries it on another worker.
    pub graceful_shutdown_timeout: Duration,
    /// Hooks into runs and activity attempts.
    pub(crate) interceptor: interceptor::Interceptor,
}

impl WorkerOptions {
    /// Defaults for `task_queue`.
    pub fn new(task_queue: impl Into<String>) -> Self {
        WorkerOptions {
            task_queue: task_queue.into(),
            max_concurrent_activities: 100,
            max_cached_workflows: 1000,
            max_concurrent_workflow_tasks: 100,
            workflow_pollers: 2,
            activity_pollers: 2,
            sticky: true,
            sticky_schedule_to_start_timeout: Duration::from_secs(10),
            graceful_shutdown_timeout: Duration::from_secs(10),
            interceptor: interceptor::Interceptor::default(),
        }
    }
    /// Sets the worker's interceptor (see [`crate::interceptor`]).
    pub fn with_interceptor(mut self, interceptor: impl WorkerInterceptor) -> Self {
        self.interceptor = interceptor::Interceptor(Some(Arc::new(interceptor)));
        self
    }
    /// Sets the activity concurrency.
    pub fn with_max_concurrent_activities(mut self, n: usize) -> Self {
        self.max_concurrent_activities = n.max(1);
        self
    }
    /// Sets how many workflow tasks are processed at once.
    pub fn with_max_concurrent_workflow_tasks(mut self, n: usize) -> Self {
        self.max_concurrent_workflow_tasks = n.max(1);
        self
    }
    /// Sets the workflow cache size (0 disables caching and sticky queues).
    pub fn with_max_cached_workflows(mut self, n: usize) -> Self {
        self.max_cached_workflows = n;
        if n == 0 {
            self.sticky = false;
        }
        self
    }
    /// Turns sticky queues on or off.
    pub fn with_sticky(mut self, sticky: bool) -> Self {
        self.sticky = sticky;
        self
    }
    /// Sets how long shutdown waits for running activities before canceling them (see
    /// [`WorkerOptions::graceful_shutdown_timeout`]).
    pub fn with_graceful_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.graceful_shutdown_timeout = timeout;
        self
    }
}

/// Why a worker stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// Polling failed for good (not a transient error).
    #[error("worker for task queue {task_queue:?} stopped: {source}")]
    Poll {
        /// The task queue.
        task_queue: String,
        /// The client error.
        source: ClientError,
    },
    /// The workflow thread died.
    #[error("the workflow thread stopped unexpectedly")]
    WorkflowThread,
}

/// What one long poll gave.
pub(crate) enum Polled<T> {
    Task(T),
    /// Nothing this time (the poll expired, or failed transiently and was waited out).
    Nothing,
    Shutdown,
}

/// One long poll, with shutdown, expiry and transient failures (exponential backoff kept in
/// `backoff`) handled the same way for workflow and activity tasks.
pub(crate) async fn poll_once<T>(
    poll: impl std::future::Future<Output = Result<T, ClientError>>,
    shutdown: &mut watch::Receiver<bool>,
    backoff: &mut Duration,
    task_queue: &str,
) -> Result<Polled<T>, WorkerError> {
    if *shutdown.borrow() {
        return Ok(Polled::Shutdown);
    }
    let result = tokio::select! {
        _ = shutdown.changed() => return Ok(Polled::Shutdown),
        result = poll => result,
    };
    match result {
        Ok(task) => {
            *backoff = Duration::from_millis(100);
            Ok(Polled::Task(task))
        }
        Err(ClientError::Rpc {
            code: tonic::Code::DeadlineExceeded,
            ..
        }) => Ok(Polled::Nothing),
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, task_queue, "poll failed; retrying");
            tokio::time::sleep(*backoff).await;
            *backoff = (*backoff * 2).min(Duration::from_secs(10));
            Ok(Polled::Nothing)
        }
        Err(source) => Err(WorkerError::Poll {
            task_queue: task_queue.to_string(),
            source,
        }),
    }
}

/// Asks a running worker to stop.
#[derive(Clone, Debug)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Stops polling, lets running activities finish (up to the graceful timeout) and makes
    /// [`Worker::run`] return.
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

/// Polls one task queue and runs what it gets.
#[derive(Debug)]
pub struct Worker {
    client: Client,
    options: WorkerOptions,
    workflows: WorkflowRegistry,
    activities: ActivityRegistry,
    shutdown: Arc<watch::Sender<bool>>,
}

/// Builds a [`Worker`] from `#[workflow]` types and `#[activities]` groups.
///
/// ```no_run
/// # async fn demo(client: reprise::client::Client) -> Result<(), reprise::workflow::RegistrationError> {
/// # #[derive(Default)] struct Hello;
/// # #[reprise::workflow] impl Hello { #[run] async fn run(&self, _ctx: &reprise::workflow::WorkflowContext) -> reprise::workflow::WorkflowResult<()> { Ok(()) } }
/// let worker = reprise::worker::Worker::builder(client, "hello-tq").workflow::<Hello>().build()?;
/// tokio::spawn(worker.run());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "call build() to get the worker"]
pub struct WorkerBuilder {
    client: Client,
    options: WorkerOptions,
    workflows: WorkflowRegistry,
    activities: ActivityRegistry,
    error: Option<crate::workflow::RegistrationError>,
}

impl WorkerBuilder {
    /// Registers a `#[workflow]` type with its handlers.
    pub fn workflow<W: crate::workflow::WorkflowDefinition>(mut self) -> Self {
        if let Err(e) = self.workflows.register_workflow::<W>() {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Registers every activity of an `#[activities]` group.
    pub fn activities<G: crate::workflow::definition::ActivityDefinitions>(
        mut self,
        group: G,
    ) -> Self {
        if let Err(e) = self.activities.register_activities(group) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Sets the worker's interceptor (see [`crate::interceptor`]).
    pub fn interceptor(mut self, interceptor: impl WorkerInterceptor) -> Self {
        self.options = self.options.with_interceptor(interceptor);
        self
    }

    /// Replaces the options (the task queue included).
    pub fn options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    /// The worker, or the first registration error (a duplicate name).
    pub fn build(self) -> Result<Worker, crate::workflow::RegistrationError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(Worker::new(
                self.client,
                self.options,
                self.workflows,
                self.activities,
            )),
        }
    }
}

impl Worker {
    /// A builder for a worker polling `task_queue`.
    pub fn builder(client: Client, task_queue: &str) -> WorkerBuilder {
        WorkerBuilder {
            client,
            options: WorkerOptions::new(task_queue),
            workflows: WorkflowRegistry::new(),
            activities: ActivityRegistry::new(),
            error: None,
        }
    }

    /// A worker for `options.task_queue`.
    pub fn new(
        client: Client,
        options: WorkerOptions,
        workflows: WorkflowRegistry,
        activities: ActivityRegistry,
    ) -> Self {
        let (shutdown, _) = watch::channel(false);
        Worker {
            client,
            options,
            workflows,
            activities,
            shutdown: Arc::new(shutdown),
        }
    }

    /// A handle to stop [`run`](Self::run) from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Runs until shut down. Needs a multi-threaded tokio runtime or at least one that keeps
    /// running while the workflow thread works.
    pub async fn run(self) -> Result<(), WorkerError> {
        let shutdown = self.shutdown.subscribe();
        let activities = Arc::new(self.activities);
        let telemetry = telemetry::Telemetry::new(
            self.client.metrics().clone(),
            self.client.namespace(),
            &self.options.task_queue,
        );
        if telemetry.enabled() {
            telemetry.metrics.describe();
            telemetry.count(crate::telemetry::names::WORKER_START, 1);
        }
        let thread = workflow_thread::WorkflowThread::start(
            self.workflows,
            self.client.data_converter().clone(),
            self.client.namespace().to_string(),
            self.options.max_cached_workflows,
            telemetry.clone(),
            self.options.interceptor.clone(),
        );
        let sticky_queue = self
            .options
            .sticky
            .then(|| format!("{}-{}", self.client.identity(), crate::util::random_uuid()));
        let mut tasks = tokio::task::JoinSet::new();
        let wf = workflow_poller::Poller {
            client: self.client.clone(),
            thread: thread.clone(),
            task_queue: self.options.task_queue.clone(),
            sticky_queue: sticky_queue.clone(),
            sticky_timeout: self.options.sticky_schedule_to_start_timeout,
            activities: activities.clone(),
            slots: telemetry::Slots::new(
                self.options.max_concurrent_workflow_tasks.max(1),
                telemetry::WorkerType::Workflow,
            ),
            telemetry: telemetry.clone(),
            interceptor: self.options.interceptor.clone(),
        };
        let has_workflows = thread.has_workflows();
        if has_workflows {
            let pollers = self.options.workflow_pollers.max(1);
            telemetry.pollers("workflow_task", pollers);
            telemetry.pollers("sticky_workflow_task", usize::from(sticky_queue.is_some()));
            wf.slots.report(&telemetry);
        }
        for i in 0..self.options.workflow_pollers.max(1) {
            if !has_workflows {
                break;
            }
            tasks.spawn(wf.clone().run(None, shutdown.clone()));
            if let Some(sticky) = &sticky_queue
                && i == 0
            {
                tasks.spawn(wf.clone().run(Some(sticky.clone()), shutdown.clone()));
            }
        }
        let activity_runner = activities::ActivityPoller::new(
            self.client.clone(),
            self.options.clone(),
            activities.clone(),
            telemetry.clone(),
        );
        if activities.activity_types().next().is_some() {
            telemetry.pollers("activity_task", self.options.activity_pollers.max(1));
            activity_runner.slots.report(&telemetry);
            for _ in 0..self.options.activity_pollers.max(1) {
                tasks.spawn(activity_runner.clone().run(shutdown.clone()));
            }
        }
        let mut result = Ok(());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.shutdown.send_replace(true);
                    result = Err(e);
                }
                Err(_) => {
                    self.shutdown.send_replace(true);
                    result = Err(WorkerError::WorkflowThread);
                }
            }
        }
        activity_runner
            .drain(self.options.graceful_shutdown_timeout)
            .await;
        thread.stop();
        result
    }
}
