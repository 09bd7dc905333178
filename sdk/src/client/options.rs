//! Connection options and workflow start options.

use crate::api::temporal::api::common::v1::Payload;
use crate::api::temporal::api::enums::v1::{WorkflowIdConflictPolicy, WorkflowIdReusePolicy};
use crate::converter::DataConverter;
use crate::definition::RetryPolicy;
use std::collections::BTreeMap;
use std::time::Duration;

/// How to reach a Temporal server. Build with [`ClientOptions::new`] and the `with_*` methods.
///
/// ```
/// # use reprise::client::{ClientOptions, TlsOptions};
/// let options = ClientOptions::new("my-ns.a1b2c.tmprl.cloud:7233")
///     .with_namespace("my-ns.a1b2c")
///     .with_api_key("secret")
///     .with_tls(TlsOptions::new());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// `host:port` or a URL (`http://…`, `https://…`).
    pub target: String,
    /// Namespace for every call of this client (default `default`).
    pub namespace: String,
    /// Identity recorded in histories (default `pid@hostname`).
    pub identity: String,
    /// TLS; `None` is plaintext.
    pub tls: Option<TlsOptions>,
    /// API key, sent as `Authorization: Bearer …`.
    pub api_key: Option<String>,
    /// Time allowed to establish the connection.
    pub connect_timeout: Duration,
    /// Deadline of ordinary calls (long polls use their own, longer deadline).
    pub rpc_timeout: Duration,
    /// Retries of transient failures (unavailable, resource exhausted).
    pub retry: RetryOptions,
    /// Extra gRPC metadata sent with every call.
    pub headers: BTreeMap<String, String>,
    /// Compress requests with gzip, as the official SDKs do (responses are always accepted
    /// compressed).
    pub compress_requests: bool,
    /// Converts arguments and results.
    pub data_converter: DataConverter,
    /// Where the client's and its workers' metrics go (default: the `metrics` crate's global
    /// recorder).
    pub metrics: crate::telemetry::Metrics,
    /// Hooks into every call, in order.
    pub(crate) interceptors: super::interceptor::Interceptors,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("target", &self.target)
            .field("namespace", &self.namespace)
            .field("identity", &self.identity)
            .field("tls", &self.tls.is_some())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("metrics", &self.metrics)
            .field("interceptors", &self.interceptors)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Options for `target` with every default.
    pub fn new(target: impl Into<String>) -> Self {
        ClientOptions {
            target: target.into(),
            namespace: "default".into(),
            identity: default_identity(),
            tls: None,
            api_key: None,
            connect_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(10),
            retry: RetryOptions::default(),
            headers: BTreeMap::new(),
            compress_requests: true,
            data_converter: DataConverter::default(),
            metrics: crate::telemetry::Metrics::global(),
            interceptors: Default::default(),
        }
    }
    /// Sets the namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }
    /// Sets the identity.
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }
    /// Enables TLS.
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }
    /// Sets an API key (Temporal Cloud).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets the deadline of ordinary calls.
    pub fn with_rpc_timeout(mut self, timeout: Duration) -> Self {
        self.rpc_timeout = timeout;
        self
    }
    /// Sets the retry options.
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.retry = retry;
        self
    }
    /// Adds a gRPC metadata header to every call.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
    /// Turns request compression on or off.
    pub fn with_request_compression(mut self, on: bool) -> Self {
        self.compress_requests = on;
        self
    }
    /// Sets the data converter (for example one with an encryption codec).
    pub fn with_data_converter(mut self, converter: DataConverter) -> Self {
        self.data_converter = converter;
        self
    }
    /// Sends the metrics of this client and its workers to `metrics` (for example a
    /// [`PrometheusEndpoint`](crate::telemetry)'s, or [`Metrics::disabled`](crate::telemetry::Metrics::disabled)).
    pub fn with_metrics(mut self, metrics: crate::telemetry::Metrics) -> Self {
        self.metrics = metrics;
        self
    }
    /// Adds an interceptor of every call (after those added before).
    pub fn with_interceptor(mut self, interceptor: impl super::ClientInterceptor) -> Self {
        self.interceptors.0.push(std::sync::Arc::new(interceptor));
        self
    }
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{}@{host}", std::process::id())
}

/// TLS material, as PEM. With nothing set, the system's root certificates verify the server.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// A CA certificate (PEM) to trust instead of the system roots.
    pub server_root_ca_pem: Option<Vec<u8>>,
    /// The client certificate chain (PEM) for mutual TLS.
    pub client_cert_pem: Option<Vec<u8>>,
    /// The client certificate's private key (PEM) for mutual TLS.
    pub client_key_pem: Option<Vec<u8>>,
    /// Overrides the name checked against the server's certificate.
    pub server_name: Option<String>,
}

impl TlsOptions {
    /// TLS verified against the system roots, no client certificate.
    pub fn new() -> Self {
        Self::default()
    }
    /// Trusts this CA certificate (PEM).
    pub fn with_server_root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.server_root_ca_pem = Some(pem.into());
        self
    }
    /// Presents this client certificate and key (PEM) for mutual TLS.
    pub fn with_client_cert_pem(
        mut self,
        cert: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_cert_pem = Some(cert.into());
        self.client_key_pem = Some(key.into());
        self
    }
    /// Checks the server's certificate against this name.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }
}

/// Exponential backoff for transient failures of client calls.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RetryOptions {
    /// First delay.
    pub initial_interval: Duration,
    /// Growth per attempt.
    pub multiplier: f64,
    /// Longest delay.
    pub max_interval: Duration,
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            initial_interval: Duration::from_millis(100),
            multiplier: 1.7,
            max_interval: Duration::from_secs(5),
            max_attempts: 10,
        }
    }
}

impl RetryOptions {
    /// No retries.
    pub fn none() -> Self {
        RetryOptions {
            max_attempts: 1,
            ..Self::default()
        }
    }
    /// Sets the number of attempts.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.powi(attempt.saturating_sub(1) as i32);
        self.initial_interval.mul_f64(factor).min(self.max_interval)
    }
}

/// Options to start a workflow. `id` and `task_queue` are required; the rest defaults as the
/// server does.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkflowOptions {
    /// Workflow id, unique among running workflows of the namespace.
    pub id: String,
    /// Task queue its workers poll.
    pub task_queue: String,
    /// Limit for the whole execution, continue-as-new and retries included.
    pub execution_timeout: Option<Duration>,
    /// Limit for one run.
    pub run_timeout: Option<Duration>,
    /// Limit for one workflow task (server default 10 s).
    pub task_timeout: Option<Duration>,
    /// What may happen when a closed workflow with the same id exists.
    pub id_reuse_policy: WorkflowIdReusePolicy,
    /// What happens when a running workflow with the same id exists.
    pub id_conflict_policy: WorkflowIdConflictPolicy,
    /// Retries of the whole workflow.
    pub retry_policy: Option<RetryPolicy>,
    /// Cron schedule, e.g. `"0 * * * *"`.
    pub cron_schedule: Option<String>,
    /// Memo: unindexed data shown with the workflow.
    pub memo: BTreeMap<String, Payload>,
    /// Search attributes (payloads carry their type in `metadata.type`).
    pub search_attributes: BTreeMap<String, Payload>,
    /// Delay before the first workflow task.
    pub start_delay: Option<Duration>,
    /// Idempotency key of the start request (random when `None`).
    pub request_id: Option<String>,
}

impl WorkflowOptions {
    /// Options with the two required fields.
    pub fn new(id: impl Into<String>, task_queue: impl Into<String>) -> Self {
        WorkflowOptions {
            id: id.into(),
            task_queue: task_queue.into(),
            execution_timeout: None,
            run_timeout: None,
            task_timeout: None,
            id_reuse_policy: WorkflowIdReusePolicy::Unspecified,
            id_conflict_policy: WorkflowIdConflictPolicy::Unspecified,
            retry_policy: None,
            cron_schedule: None,
            memo: BTreeMap::new(),
            search_attributes: BTreeMap::new(),
            start_delay: None,
            request_id: None,
        }
    }
    /// Sets the execution timeout.
    pub fn with_execution_timeout(mut self, d: Duration) -> Self {
        self.execution_timeout = Some(d);
        self
    }
    /// Sets the run timeout.
    pub fn with_run_timeout(mut self, d: Duration) -> Self {
        self.run_timeout = Some(d);
        self
    }
    /// Sets the workflow task timeout.
    pub fn with_task_timeout(mut self, d: Duration) -> Self {
        self.task_timeout = Some(d);
        self
    }
    /// Sets the id reuse policy.
    pub fn with_id_reuse_policy(mut self, p: WorkflowIdReusePolicy) -> Self {
        self.id_reuse_policy = p;
        self
    }
    /// Sets the id conflict policy.
    pub fn with_id_conflict_policy(mut self, p: WorkflowIdConflictPolicy) -> Self {
        self.id_conflict_policy = p;
        self
    }
    /// Sets the workflow retry policy.
    pub fn with_retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry_policy = Some(p);
        self
    }
    /// Sets a cron schedule.
    pub fn with_cron_schedule(mut self, s: impl Into<String>) -> Self {
        self.cron_schedule = Some(s.into());
        self
    }
    /// Adds a memo entry.
    pub fn with_memo(mut self, key: impl Into<String>, value: Payload) -> Self {
        self.memo.insert(key.into(), value);
        self
    }
    /// Adds a search attribute.
    pub fn with_search_attribute(mut self, name: impl Into<String>, value: Payload) -> Self {
        self.search_attributes.insert(name.into(), value);
        self
    }
    /// Delays the first workflow task.
    pub fn with_start_delay(mut self, d: Duration) -> Self {
        self.start_delay = Some(d);
        self
    }
    /// Sets the idempotency key of the start request.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}
