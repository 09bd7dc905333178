//! The observing layer around the gRPC channel: every RPC attempt gets a `temporal_rpc` span, the
//! request metrics (`temporal_request`, `temporal_long_request` and their failures and
//! latencies, tagged with the RPC's name as `operation`), and the interceptors' metadata hooks.

use super::interceptor::Interceptors;
use crate::telemetry::{Metrics, Tags, names};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tracing::Instrument;

/// The channel with the client's telemetry and interceptors around each RPC.
#[derive(Clone, Debug)]
pub struct ObservedChannel {
    inner: Channel,
    observer: Arc<Observer>,
}

#[derive(Debug)]
struct Observer {
    namespace: String,
    metrics: Metrics,
    tags: Tags,
    interceptors: Interceptors,
    /// The count and latency handles of each operation, registered once.
    handles: Mutex<HashMap<Arc<str>, (metrics::Counter, metrics::Histogram)>>,
}

impl ObservedChannel {
    pub(super) fn new(
        inner: Channel,
        namespace: &str,
        metrics: Metrics,
        interceptors: Interceptors,
    ) -> Self {
        ObservedChannel {
            inner,
            observer: Arc::new(Observer {
                namespace: namespace.to_string(),
                metrics,
                tags: Tags::namespace(namespace),
                interceptors,
                handles: Mutex::default(),
            }),
        }
    }
}

/// Long polls: their latency is the server's wait, counted apart from ordinary calls.
fn is_long_poll(operation: &str) -> bool {
    matches!(
        operation,
        "PollWorkflowTaskQueue" | "PollActivityTaskQueue" | "PollNexusTaskQueue"
    )
}

impl Observer {
    fn record(&self, operation: &Arc<str>, failure: Option<&str>, elapsed: Duration) {
        if !self.metrics.is_enabled() {
            return;
        }
        let (count, failed, latency) = if is_long_poll(operation) {
            (
                names::LONG_REQUEST,
                names::LONG_REQUEST_FAILURE,
                names::LONG_REQUEST_LATENCY,
            )
        } else {
            (
                names::REQUEST,
                names::REQUEST_FAILURE,
                names::REQUEST_LATENCY,
            )
        };
        let tags = || self.tags.with("operation", operation);
        if let Ok(mut handles) = self.handles.lock() {
            let (counter, histogram) = handles.entry(operation.clone()).or_insert_with(|| {
                let tags = tags();
                (
                    self.metrics.counter(count, &tags),
                    self.metrics.histogram(latency, &tags),
                )
            });
            counter.increment(1);
            histogram.record(elapsed.as_secs_f64());
        }
        if let Some(code) = failure {
            let tags = tags();
            self.metrics
                .count(failed, &tags.with("status_code", code), 1);
        }
    }
}

/// `NotFound` → `NOT_FOUND`, as gRPC names its codes.
fn code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, tonic::transport::Error>> + Send>>;

impl tower_service::Service<http::Request<Body>> for ObservedChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The channel that was polled ready serves this call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let observer = self.observer.clone();
        let operation: Arc<str> = request.uri().path().rsplit('/').next().unwrap_or("").into();
        if !observer.interceptors.is_empty() {
            let mut metadata = MetadataMap::from_headers(std::mem::take(request.headers_mut()));
            for i in &observer.interceptors.0 {
                i.outbound_metadata(&operation, &mut metadata);
            }
            *request.headers_mut() = metadata.into_headers();
        }
        let span = tracing::debug_span!(
            "temporal_rpc",
            namespace = %observer.namespace,
            operation = %operation,
        );
        let started = Instant::now();
        let call = tower_service::Service::call(&mut inner, request);
        Box::pin(
            async move {
                let result = call.await;
                let failure = match &result {
                    Ok(response) => {
                        if !observer.interceptors.is_empty() {
                            let metadata = MetadataMap::from_headers(response.headers().clone());
                            for i in &observer.interceptors.0 {
                                i.inbound_metadata(&operation, &metadata);
                            }
                        }
                        // A gRPC error comes as a response with the status in its headers.
                        response
                            .headers()
                            .get("grpc-status")
                            .and_then(|s| s.to_str().ok())
                            .and_then(|s| s.parse::<i32>().ok())
                            .filter(|code| *code != 0)
                            .map(|code| code_name(tonic::Code::from(code)))
                    }
                    Err(_) => Some(code_name(tonic::Code::Unavailable)),
                };
                if let Some(code) = &failure {
                    tracing::debug!(code = %code, "request failed");
                }
                observer.record(&operation, failure.as_deref(), started.elapsed());
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_as_grpc_names_them() {
        assert_eq!(code_name(tonic::Code::NotFound), "NOT_FOUND");
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(
            code_name(tonic::Code::DeadlineExceeded),
            "DEADLINE_EXCEEDED"
        );
    }
}
