#![doc = include_str!("../../docs/testing.md")]

mod activity_env;
mod check;
mod histories;
mod mocks;
mod worker;

pub use activity_env::ActivityEnv;
pub use check::{CheckReport, DeterminismFailure, RunFailure};
pub use histories::{HistoryTest, history_tests, run_history_tests};
pub use mocks::{MockCall, MockContext, MockHandle};
pub use worker::EnvWorkerBuilder;

use crate::clock::Clock as _;
use crate::server::{ServerError, ServerOptions, TestServer, TimeSkipping};
use crate::store::{MemoryStore, Store, StoreError};
use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise::api::temporal::api::history::v1::History;
use reprise::client::{Client, ClientError, ClientOptions};
use reprise::worker::{ShutdownHandle, WorkerError};
use reprise::workflow::{RegistrationError, WorkflowRegistry};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why a [`TestEnv`] call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestEnvError {
    /// The env's server did not start or stop cleanly.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A call through the env's client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A workflow or activity could not be registered (a duplicate or empty name).
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// The server's store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The automatic determinism check failed.
    #[error(transparent)]
    Nondeterminism(#[from] DeterminismFailure),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What the env's workers, mocks and check share.
pub(crate) struct Shared {
    pub(crate) skipping: TimeSkipping,
    pub(crate) mocks: mocks::Mocks,
    /// Every workflow registered on the env's workers: the code the check replays.
    pub(crate) registry: Mutex<WorkflowRegistry>,
    /// Turns true when the env stops (mocks sleeping in virtual time wake up).
    pub(crate) stopped: watch::Sender<bool>,
}

/// Options of a [`TestEnv`]; start one with [`TestEnvBuilder::start`].
#[derive(Clone)]
#[must_use = "call start() to get the env"]
pub struct TestEnvBuilder {
    store: Option<Arc<dyn Store>>,
    namespace: String,
    search_attributes: Vec<(String, IndexedValueType)>,
    time_skipping: bool,
    start_time: Option<SystemTime>,
    determinism_check: bool,
}

impl std::fmt::Debug for TestEnvBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnvBuilder")
            .field("namespace", &self.namespace)
            .field("search_attributes", &self.search_attributes)
            .field("time_skipping", &self.time_skipping)
            .field("start_time", &self.start_time)
            .field("determinism_check", &self.determinism_check)
            .finish_non_exhaustive()
    }
}

impl Default for TestEnvBuilder {
    fn default() -> Self {
        TestEnvBuilder {
            store: None,
            namespace: "default".into(),
            search_attributes: Vec::new(),
            time_skipping: true,
            start_time: None,
            determinism_check: true,
        }
    }
}

impl TestEnvBuilder {
    /// Keep the server's data in `store` (default: a fresh [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The namespace the env's client and workers use (registered on the server; default
    /// `default`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Registers a custom search attribute.
    pub fn search_attribute(mut self, name: impl Into<String>, kind: IndexedValueType) -> Self {
        self.search_attributes.push((name.into(), kind));
        self
    }

    /// Whether time skips to the next timer while the test waits for a workflow result
    /// (default true). Off, virtual time moves only through [`TestEnv::sleep`].
    pub fn time_skipping(mut self, on: bool) -> Self {
        self.time_skipping = on;
        self
    }

    /// The virtual time the env starts at (default: the real time at start).
    pub fn start_time(mut self, at: SystemTime) -> Self {
        self.start_time = Some(at);
        self
    }

    /// Whether [`TestEnv::finish`] and drop run the automatic determinism check (default true).
    pub fn determinism_check(mut self, on: bool) -> Self {
        self.determinism_check = on;
        self
    }

    /// Starts the env: its server, its clock and a connected client.
    pub async fn start(self) -> Result<TestEnv, TestEnvError> {
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>);
        let start = self.start_time.unwrap_or_else(SystemTime::now);
        let mut options = ServerOptions::default()
            .with_store(store)
            .with_time_skipping_on_wait(start)
            // Closed runs stay (for the test and the check) however far time moves.
            .with_retention(Duration::from_secs(100 * 365 * 86_400));
        options.time_skipping_on_result_wait = self.time_skipping;
        if self.namespace != "default" {
            options = options.with_namespace(self.namespace.clone());
        }
        for (name, kind) in self.search_attributes {
            options = options.with_search_attribute(name, kind);
        }
        let store = options.store.clone();
        let server = TestServer::start(options).await?;
        let skipping = server
            .time_skipping()
            .cloned()
            .ok_or_else(|| ServerError::InvalidOption("the env's server has no clock".into()))?;
        let client = Client::connect(
            ClientOptions::new(server.target()).with_namespace(self.namespace.clone()),
        )
        .await?;
        Ok(TestEnv {
            shared: Arc::new(Shared {
                skipping,
                mocks: mocks::Mocks::default(),
                registry: Mutex::new(WorkflowRegistry::new()),
                stopped: watch::Sender::new(false),
            }),
            server: Some(server),
            store,
            client,
            namespace: self.namespace,
            workers: Mutex::new(Vec::new()),
            determinism_check: self.determinism_check,
            done: false,
        })
    }
}

/// A hermetic test environment: an in-process server with its own virtual clock, a connected
/// client, workers that stop with it, activity mocks, and an automatic determinism check when
/// it finishes. See the [module docs](self) for the guide.
pub struct TestEnv {
    shared: Arc<Shared>,
    server: Option<TestServer>,
    store: Arc<dyn Store>,
    client: Client,
    namespace: String,
    workers: Mutex<Vec<EnvWorker>>,
    determinism_check: bool,
    done: bool,
}

/// A worker the env started: how to stop it, and its task.
type EnvWorker = (ShutdownHandle, JoinHandle<Result<(), WorkerError>>);

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("target", &self.server.as_ref().map(|s| s.target()))
            .field("namespace", &self.namespace)
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

impl TestEnv {
    /// Starts an env with the defaults: memory store, namespace `default`, virtual time from
    /// now with skipping while results are awaited, determinism check on.
    pub async fn start() -> Result<TestEnv, TestEnvError> {
        TestEnvBuilder::default().start().await
    }

    /// Options for the rest (store, namespace, search attributes, time, the check).
    pub fn builder() -> TestEnvBuilder {
        TestEnvBuilder::default()
    }

    /// The env's client (connected to its server, in its namespace).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The env's server (its address in [`TestServer::target`]).
    pub fn server(&self) -> &TestServer {
        #[allow(clippy::expect_used)] // set from start until drop
        self.server
            .as_ref()
            .expect("the server lives as long as the env")
    }

    /// A worker polling `task_queue`, started with [`EnvWorkerBuilder::start`] and stopped when
    /// the env finishes. The same builder words as [`reprise::worker::Worker::builder`].
    pub fn worker(&self, task_queue: &str) -> EnvWorkerBuilder<'_> {
        EnvWorkerBuilder::new(self, task_queue)
    }

    /// The env's virtual time.
    pub fn now(&self) -> SystemTime {
        self.shared.skipping.clock().now()
    }

    /// Moves the env's virtual time forward by exactly `by`, firing what falls due on the way
    /// (each timer at its own time, the work it causes done before time moves on).
    pub async fn sleep(&self, by: Duration) {
        self.shared.skipping.sleep(by).await;
    }

    /// The history of `workflow_id`'s latest run.
    pub async fn history(&self, workflow_id: &str) -> Result<History, TestEnvError> {
        Ok(self
            .client
            .workflow_handle(workflow_id, None)
            .fetch_history()
            .await?)
    }

    /// Writes the history of `workflow_id`'s latest run to `path` as `temporal workflow show
    /// --output json` writes it: a fixture for [`crate::replay_histories!`].
    pub async fn save_history(
        &self,
        workflow_id: &str,
        path: impl AsRef<Path>,
    ) -> Result<(), TestEnvError> {
        let json = self
            .client
            .workflow_handle(workflow_id, None)
            .export_history_json()
            .await?;
        let path = path.as_ref();
        // Fixture folders are often new: create what is missing.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| TestEnvError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, json).map_err(|source| TestEnvError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Runs the determinism check now (also done by [`TestEnv::finish`] and on drop): every
    /// run of the env whose workflow type a worker of the env registered is replayed from its
    /// whole history and from every workflow-task boundary as if the worker had lost its
    /// cache there.
    pub fn check_determinism(&self) -> Result<CheckReport, TestEnvError> {
        let registry = self
            .shared
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        check::check(
            self.store.as_ref(),
            &self.namespace,
            registry,
            self.client.data_converter().clone(),
        )
    }

    /// Stops the workers and the server and runs the determinism check (unless turned off
    /// with [`TestEnvBuilder::determinism_check`]). Returns what the check replayed, or the
    /// replay engine's error for the first nondeterministic runs.
    pub async fn finish(mut self) -> Result<CheckReport, TestEnvError> {
        self.done = true;
        self.stop_workers().await;
        let report = if self.determinism_check {
            self.check_determinism()
        } else {
            Ok(CheckReport::default())
        };
        if let Some(server) = self.server.take() {
            server.shutdown().await?;
        }
        report
    }

    async fn stop_workers(&self) {
        self.shared.stopped.send_replace(true);
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for (handle, _) in &workers {
            handle.shutdown();
        }
        for (_, join) in workers {
            let abort = join.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), join)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn add_worker(
        &self,
        handle: ShutdownHandle,
        join: JoinHandle<Result<(), WorkerError>>,
    ) {
        self.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((handle, join));
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.shared.stopped.send_replace(true);
        // The workers see the shutdown and stop by themselves (a worker's run cannot be
        // awaited here; aborting it would leave its workflow thread behind).
        for (handle, _) in self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            handle.shutdown();
        }
        if !self.determinism_check || std::thread::panicking() {
            return;
        }
        if let Err(e) = self.check_determinism() {
            panic!("{e}");
        }
    }
}
