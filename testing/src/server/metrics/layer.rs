//! A tower layer around the gRPC router: counts each call by service, method and status and
//! times it until its response headers. Unary handlers answer an error as a trailers-only
//! response (`grpc-status` in the headers) and success with `grpc-status: 0` in the trailers, so
//! the headers tell the status without looking at the body.

use super::Metrics;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// Wraps a service in [`RequestMetrics`].
#[derive(Debug, Clone)]
pub(crate) struct RequestMetricsLayer {
    pub(crate) metrics: Arc<Metrics>,
}

impl<S> tower_layer::Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> RequestMetrics<S> {
        RequestMetrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`RequestMetricsLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct RequestMetrics<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower_service::Service<http::Request<B>> for RequestMetrics<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    R: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = names(request.uri().path());
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let status = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                // The router failed outside any handler.
                Err(_) => 2,
            };
            metrics.request(service, &method, status, started.elapsed());
            result
        })
    }
}

/// `/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution` →
/// (`WorkflowService`, `StartWorkflowExecution`). A client chooses the path: anything but a
/// known service and a plain method name is labelled `other`, so labels stay few.
fn names(path: &str) -> (&'static str, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    let service = match service.rsplit('.').next().unwrap_or_default() {
        "WorkflowService" => "WorkflowService",
        "OperatorService" => "OperatorService",
        "TestService" => "TestService",
        _ => return ("other", "other".to_string()),
    };
    let plain = !method.is_empty()
        && method.len() <= 64
        && method.bytes().all(|b| b.is_ascii_alphanumeric());
    (
        service,
        if plain {
            method.to_string()
        } else {
            "other".to_string()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn paths_become_few_labels() {
        assert_eq!(
            names("/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution"),
            ("WorkflowService", "StartWorkflowExecution".to_string())
        );
        assert_eq!(names("/x.Y/Z"), ("other", "other".to_string()));
        assert_eq!(
            names("/temporal.api.operatorservice.v1.OperatorService/a/b"),
            ("OperatorService", "other".to_string())
        );
    }
}
