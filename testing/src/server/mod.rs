//! The bundled orchestration server: a Temporal-compatible `WorkflowService` (and the part of
//! `OperatorService` the CLI uses), in process or as the `reprise-server` binary.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use reprise_testing::server::{ServerOptions, TestServer};
//! let server = TestServer::start(ServerOptions::default()).await?;
//! let client = reprise::client::Client::connect(
//!     reprise::client::ClientOptions::new(server.target()),
//! ).await?;
//! # drop(client);
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Inside: `frontend` validates requests and routes them; `history` keeps one mutable state per
//! execution (sharded by workflow id) and turns every state transition into events + tasks
//! committed through the [`Store`] in one call; `matching` hands each task to
//! exactly one long-polling worker; `timers` fires user timers, timeouts and retry backoffs from
//! the server's [`Clock`]; `visibility` answers list/count queries; cross-run
//! work (child workflows, signals and cancels to other workflows, parent notification, parent
//! close policies) runs as transfer tasks after the commit, outside the shard locks.
//!
//! What it serves, with the official server's events, fields and error codes: namespaces,
//! `GetSystemInfo`/`GetClusterInfo`, start (request-id idempotency, id reuse and conflict
//! policies, start delay), signal, signal-with-start, request-cancel, terminate, describe,
//! history (pages, long poll, close-event filter, reverse), legacy query tasks, updates (protocol
//! messages, speculative workflow tasks, wait stages), list/count with the visibility query
//! language, workflow and activity task long polls with sticky queues, every workflow command
//! (activities, timers, markers, upserts, children, external signals/cancels, continue-as-new),
//! activity heartbeats and results by token or id, activity retries and every activity timeout,
//! workflow-task timeouts and failures, run timeouts, workflow retry policies, the
//! `OperatorService` search-attribute calls, cron schedules, schedules (`server::schedules`),
//! retention and deletion, reset, update-with-start, batch operations; its metrics in
//! Prometheus' format ([`ServerOptions::with_metrics_address`]). Not yet: Nexus, worker
//! versioning.
//!
//! Storage: in memory by default; on a [`crate::store::SqliteStore`] everything survives a crash
//! (kill -9 included) and a restarted server carries on where the last commit left off.
//!
//! Time: a real clock by default; [`ServerOptions::with_clock`] takes any
//! [`Clock`], and [`ServerOptions::with_time_skipping`] runs the server on a
//! virtual clock that jumps to the next timer whenever no work is in flight (lockable through
//! [`TestServer::time_skipping`]).

mod errors;
mod frontend;
pub(crate) mod fuzz_entry;
pub(crate) mod history;
mod limits;
mod matching;
pub(crate) mod metrics;
mod namespaces;
mod schedules;
mod security;
mod skipping;
mod timers;
mod token;
mod visibility;

pub use history::Recovery;
pub use security::ServerTls;
pub use skipping::{ParkGuard, TimeSkipping};

use crate::clock::{Clock, RealClock, VirtualClock};
use crate::store::{MemoryStore, NamespaceRecord, Store, StoreError};
use reprise::api::temporal::api::enums::v1::IndexedValueType;
use reprise::api::temporal::api::operatorservice::v1::operator_service_server::OperatorServiceServer;
use reprise::api::temporal::api::workflowservice::v1::workflow_service_server::WorkflowServiceServer;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tonic::codec::CompressionEncoding;

/// The version the server reports (`GetSystemInfo`, `GetClusterInfo`).
pub const SERVER_VERSION: &str = concat!("reprise-server ", env!("CARGO_PKG_VERSION"));

/// How to start a [`TestServer`].
#[derive(Clone)]
pub struct ServerOptions {
    /// Where to listen; `None` = `127.0.0.1` on a free port.
    pub address: Option<SocketAddr>,
    /// Namespaces to register besides `default`.
    pub namespaces: Vec<String>,
    /// Custom search attributes registered in every namespace at start.
    pub search_attributes: Vec<(String, IndexedValueType)>,
    /// The clock (default: real time).
    pub clock: Arc<dyn Clock>,
    /// The store (default: a fresh [`MemoryStore`]).
    pub store: Arc<dyn Store>,
    /// The longest a long poll waits before answering empty (default 60 s, as the official
    /// server; a caller's shorter deadline wins).
    pub long_poll_timeout: Duration,
    /// Time skipping: the server runs on this virtual clock and, whenever no work is in flight
    /// (no workflow task, no activity waiting for or held by a worker), moves it to the next
    /// timer. `None` (the default): the clock in [`ServerOptions::clock`] moves by itself.
    pub time_skipping: Option<Arc<VirtualClock>>,
    /// Start with time skipping locked (lock counter 1), as Temporal's test server does: time
    /// then moves at the real pace until a client unlocks skipping (the official SDKs'
    /// time-skipping test environments unlock it while they wait for a result).
    pub time_skipping_locked: bool,
    /// While skipping is locked, the virtual clock stands still (instead of following real
    /// time): nothing fires until a client sleeps or waits for a result. Set by
    /// [`ServerOptions::with_time_skipping_on_wait`].
    pub time_skipping_frozen: bool,
    /// Skipping is unlocked while a client waits for a workflow's result (a
    /// `GetWorkflowExecutionHistory` long poll for the close event). Set by
    /// [`ServerOptions::with_time_skipping_on_wait`].
    pub time_skipping_on_result_wait: bool,
    /// How long closed runs are kept in the namespaces registered at start (default one day,
    /// as the dev server).
    pub retention: Duration,
    /// TLS (and mutual TLS); `None` serves plaintext.
    pub tls: Option<ServerTls>,
    /// Every call must carry `authorization: Bearer <this key>`; `None` requires nothing.
    pub api_key: Option<String>,
    /// Allows plaintext on an address other than loopback (refused otherwise).
    pub insecure: bool,
    /// Where to serve the server's metrics in Prometheus' text format (`GET /metrics`); `None`
    /// (the default): no endpoint ([`TestServer::metrics`] still renders them).
    pub metrics_address: Option<SocketAddr>,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("address", &self.address)
            .field("namespaces", &self.namespaces)
            .field("search_attributes", &self.search_attributes)
            .field("long_poll_timeout", &self.long_poll_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            address: None,
            namespaces: Vec::new(),
            search_attributes: Vec::new(),
            clock: Arc::new(RealClock),
            store: Arc::new(MemoryStore::new()),
            long_poll_timeout: Duration::from_secs(60),
            time_skipping: None,
            time_skipping_locked: false,
            time_skipping_frozen: false,
            time_skipping_on_result_wait: false,
            retention: Duration::from_secs(86_400),
            tls: None,
            api_key: None,
            insecure: false,
            metrics_address: None,
        }
    }
}

impl ServerOptions {
    /// Serves TLS (mutual TLS when `tls` has a client CA).
    pub fn with_tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Requires every call to carry `authorization: Bearer <key>`.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Allows plaintext on an address other than loopback (refused by default: anyone who
    /// reaches it could read and change every workflow).
    pub fn with_insecure(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Listen on `address`.
    pub fn with_address(mut self, address: SocketAddr) -> Self {
        self.address = Some(address);
        self
    }

    /// Also register namespace `name`.
    pub fn with_namespace(mut self, name: impl Into<String>) -> Self {
        self.namespaces.push(name.into());
        self
    }

    /// Register a custom search attribute in every namespace.
    pub fn with_search_attribute(
        mut self,
        name: impl Into<String>,
        kind: IndexedValueType,
    ) -> Self {
        self.search_attributes.push((name.into(), kind));
        self
    }

    /// Keep the server's data in `store` (for example a [`crate::store::SqliteStore`], which
    /// survives restarts: a server started on it carries on where the last one stopped).
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// Use `clock` (for example a [`VirtualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Skip time: a virtual clock starting now that jumps to the next timer whenever nothing is
    /// in flight, so a workflow sleeping 30 days finishes at once.
    pub fn with_time_skipping(mut self) -> Self {
        let clock = Arc::new(VirtualClock::new(std::time::SystemTime::now()));
        self.clock = clock.clone();
        self.time_skipping = Some(clock);
        self
    }

    /// [`ServerOptions::with_time_skipping`], starting locked as Temporal's test server does
    /// (see [`ServerOptions::time_skipping_locked`]): for the official SDKs' time-skipping test
    /// environments.
    pub fn with_time_skipping_locked(self) -> Self {
        let mut options = self.with_time_skipping();
        options.time_skipping_locked = true;
        options
    }

    /// Time for tests ([`crate::TestEnv`] uses it): a virtual clock starting at `start` that
    /// stands still, except while a client waits for a workflow's result (a
    /// `GetWorkflowExecutionHistory` long poll for the close event) or sleeps through the
    /// `TestService` (or [`TimeSkipping::sleep`]). Then it skips to the next timer whenever no
    /// work is in flight, and follows real time while work is in flight (so that timeouts of
    /// stuck work still fire). Skipping starts locked; waits unlock it for their duration.
    pub fn with_time_skipping_on_wait(mut self, start: std::time::SystemTime) -> Self {
        let clock = Arc::new(VirtualClock::new(start));
        self.clock = clock.clone();
        self.time_skipping = Some(clock);
        self.time_skipping_locked = true;
        self.time_skipping_frozen = true;
        self.time_skipping_on_result_wait = true;
        self
    }

    /// Keep closed runs for `retention` in the namespaces registered at start.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Serve the metrics at `http://ADDRESS/metrics` (port 0: a free port, see
    /// [`TestServer::metrics_address`]).
    pub fn with_metrics_address(mut self, address: SocketAddr) -> Self {
        self.metrics_address = Some(address);
        self
    }

    /// Cap long polls at `timeout`.
    pub fn with_long_poll_timeout(mut self, timeout: Duration) -> Self {
        self.long_poll_timeout = timeout;
        self
    }
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An option is invalid.
    #[error("invalid server option: {0}")]
    InvalidOption(String),
    /// The gRPC server failed.
    #[error("server failed: {0}")]
    Serve(String),
}

/// A running server. Dropping it without [`TestServer::shutdown`] stops it too (abruptly).
#[derive(Debug)]
pub struct TestServer {
    address: SocketAddr,
    shutdown: watch::Sender<bool>,
    serve: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
    timers: Option<tokio::task::JoinHandle<()>>,
    transfers: Option<tokio::task::JoinHandle<()>>,
    skipper: Option<tokio::task::JoinHandle<()>>,
    skipping: Option<TimeSkipping>,
    recovery: Recovery,
    engine: Arc<history::Engine>,
    metrics_address: Option<SocketAddr>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server: binds, registers namespaces, and serves in the background.
    pub async fn start(options: ServerOptions) -> Result<TestServer, ServerError> {
        let address = options
            .address
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        security::check_exposure(address, options.tls.is_some(), options.insecure)?;
        if options.api_key.as_deref().is_some_and(str::is_empty) {
            return Err(ServerError::InvalidOption("empty API key".into()));
        }
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = &options.tls {
            builder = builder
                .tls_config(tls.config())
                .map_err(|e| ServerError::InvalidOption(format!("TLS: {e}")))?;
        }
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { address, source })?;
        let store = options.store.clone();
        let custom: BTreeMap<String, i32> = options
            .search_attributes
            .iter()
            .map(|(n, t)| (n.clone(), *t as i32))
            .collect();
        let existing: Vec<String> = store.namespaces()?.into_iter().map(|n| n.name).collect();
        let mut names = vec!["default".to_string()];
        names.extend(options.namespaces.iter().cloned());
        for name in names {
            if name.is_empty() {
                return Err(ServerError::InvalidOption("empty namespace name".into()));
            }
            if existing.contains(&name) {
                continue;
            }
            store.put_namespace(NamespaceRecord {
                name,
                id: history::new_id(),
                description: String::new(),
                owner_email: String::new(),
                retention: options.retention,
                search_attributes: custom.clone(),
                data: BTreeMap::new(),
            })?;
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (transfer_tx, mut transfer_rx) = tokio::sync::mpsc::unbounded_channel();
        let matching = Arc::new(matching::Matching::default());
        let timer_queue = Arc::new(timers::Timers::default());
        let engine = Arc::new(history::Engine::new(
            store.clone(),
            matching,
            timer_queue.clone(),
            options.clock.clone(),
            shutdown_rx.clone(),
            transfer_tx,
        ));
        let recovered = engine.recover()?;
        if recovered.runs > 0 {
            tracing::info!(
                "recovered {} runs ({} open): {} tasks queued again, {} timers, {} transfers",
                recovered.runs,
                recovered.open,
                recovered.tasks,
                recovered.timers,
                recovered.transfers
            );
        }
        let transfers = {
            let engine = engine.clone();
            let mut stop = shutdown_rx.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        next = transfer_rx.recv() => match next {
                            Some((run, kind)) => {
                                engine.process_transfer(run.clone(), kind.clone());
                                engine.transfer_done(&run, &kind);
                                engine
                                    .in_flight
                                    .pending_transfers
                                    .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                                engine.in_flight.changed.notify_one();
                            }
                            None => return,
                        },
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            })
        };
        let namespaces = Arc::new(namespaces::Namespaces::new(store));
        let schedules = schedules::Schedules::new(engine.clone(), namespaces.clone());
        let recovered_schedules = schedules.recover()?;
        if recovered_schedules > 0 {
            tracing::info!("recovered {recovered_schedules} schedules");
        }
        let skipping = options.time_skipping.clone().map(|clock| {
            TimeSkipping::new(
                clock,
                options.time_skipping_locked,
                options.time_skipping_frozen,
            )
        });
        let skipper = skipping.clone().map(|skipping| {
            let engine = engine.clone();
            let schedules = schedules.clone();
            tokio::spawn(skipping::run_skipper(
                skipping,
                engine.in_flight.clone(),
                timer_queue.clone(),
                move |run, kind| {
                    if schedules::is_timer(run) {
                        schedules.timer_is_live(run, kind)
                    } else {
                        engine.timer_is_live(run, kind)
                    }
                },
                shutdown_rx.clone(),
            ))
        });
        let timers = {
            let engine = engine.clone();
            let schedules = schedules.clone();
            tokio::spawn(timer_queue.run(
                options.clock.clone(),
                shutdown_rx.clone(),
                move |run, fire_at, kind| {
                    if schedules::is_timer(&run) {
                        schedules.fire(&run, &kind)
                    } else {
                        engine.fire_timer(run, fire_at, kind)
                    }
                },
            ))
        };
        let metrics_layer = metrics::layer::RequestMetricsLayer {
            metrics: engine.metrics.clone(),
        };
        let (metrics_address, metrics_task) = match options.metrics_address {
            Some(address) => {
                let engine = engine.clone();
                let render: metrics::http::Render = Arc::new(move || {
                    engine
                        .metrics
                        .render(&engine.backlogs(), &engine.open_runs())
                });
                let (bound, task) = metrics::http::serve(address, render, shutdown_rx.clone())
                    .await
                    .map_err(|source| ServerError::Bind { address, source })?;
                (Some(bound), Some(task))
            }
            None => (None, None),
        };
        let workflow_service = WorkflowServiceServer::new(frontend::Frontend {
            engine: engine.clone(),
            namespaces: namespaces.clone(),
            long_poll: options.long_poll_timeout,
            shutdown: shutdown_rx.clone(),
            result_waits: skipping
                .clone()
                .filter(|_| options.time_skipping_on_result_wait),
            schedules,
            batches: Arc::default(),
        })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        // Requests as large as the official frontend takes (RESOURCE_EXHAUSTED beyond).
        .max_decoding_message_size(limits::MAX_REQUEST_MESSAGE_SIZE)
        .max_encoding_message_size(128 * 1024 * 1024);
        let operator_service = OperatorServiceServer::new(frontend::Operator { namespaces })
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(limits::MAX_REQUEST_MESSAGE_SIZE);
        let test_service = skipping.clone().map(|skipping| {
            reprise::api::temporal::api::testservice::v1::test_service_server::TestServiceServer::new(
                frontend::TestControl {
                    skipping,
                    shutdown: shutdown_rx.clone(),
                },
            )
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
        });
        let mut stop = shutdown_rx;
        let serve = tokio::spawn(
            builder
                // As the official server (gRPC-Go's default): no cap on concurrent streams per
                // connection. hyper's default of 200 made a client's 200 waiting result long
                // polls hold back the polls of a worker sharing its connection.
                .max_concurrent_streams(Some(u32::MAX))
                .layer(tonic::service::InterceptorLayer::new(
                    security::ApiKeyCheck::new(options.api_key.as_deref()),
                ))
                .layer(metrics_layer)
                .layer(tower::util::MapResponseLayer::new(
                    limits::oversized_request_status,
                ))
                .add_service(workflow_service)
                .add_service(operator_service)
                .add_optional_service(test_service)
                .serve_with_incoming_shutdown(
                    // Nagle's algorithm off, as gRPC servers do: with it, a small response
                    // waits for the client's delayed ACK (~40 ms on Linux) before leaving.
                    tokio_stream::StreamExt::map(
                        tokio_stream::wrappers::TcpListenerStream::new(listener),
                        |accepted| {
                            if let Ok(stream) = &accepted {
                                let _ = stream.set_nodelay(true);
                            }
                            accepted
                        },
                    ),
                    async move {
                        let _ = stop.wait_for(|s| *s).await;
                    },
                ),
        );
        Ok(TestServer {
            address,
            shutdown,
            serve: Some(serve),
            timers: Some(timers),
            transfers: Some(transfers),
            skipper,
            skipping,
            recovery: recovered,
            engine,
            metrics_address,
            metrics_task,
        })
    }

    /// The server's metrics now, in Prometheus' text format: requests by service, method and
    /// status with their latencies, task-queue poll waits and backlogs, store commit latency,
    /// open runs.
    pub fn metrics(&self) -> String {
        self.engine
            .metrics
            .render(&self.engine.backlogs(), &self.engine.open_runs())
    }

    /// Where the metrics endpoint listens, when [`ServerOptions::with_metrics_address`] asked
    /// for one.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// What the server picked up from its store at start.
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The time-skipping control, when the server was started with
    /// [`ServerOptions::with_time_skipping`].
    pub fn time_skipping(&self) -> Option<&TimeSkipping> {
        self.skipping.as_ref()
    }

    /// The address as a client target (`127.0.0.1:PORT`).
    pub fn target(&self) -> String {
        self.address.to_string()
    }

    /// Stops accepting, ends long polls, and waits (up to 5 s) for in-flight calls to finish.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        self.shutdown.send_replace(true);
        if let Some(timers) = self.timers.take() {
            let _ = timers.await;
        }
        if let Some(transfers) = self.transfers.take() {
            let _ = transfers.await;
        }
        if let Some(skipper) = self.skipper.take() {
            let _ = skipper.await;
        }
        if let Some(task) = self.metrics_task.take() {
            let _ = task.await;
        }
        if let Some(mut serve) = self.serve.take() {
            match tokio::time::timeout(Duration::from_secs(5), &mut serve).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => return Err(ServerError::Serve(e.to_string())),
                Ok(Err(e)) => return Err(ServerError::Serve(e.to_string())),
                Err(_) => serve.abort(),
            }
        }
        Ok(())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(serve) = self.serve.take() {
            serve.abort();
        }
        if let Some(timers) = self.timers.take() {
            timers.abort();
        }
        if let Some(transfers) = self.transfers.take() {
            transfers.abort();
        }
        if let Some(skipper) = self.skipper.take() {
            skipper.abort();
        }
        if let Some(task) = self.metrics_task.take() {
            task.abort();
        }
    }
}
