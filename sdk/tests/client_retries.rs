//! The client's retries, deadlines and headers, against a WorkflowService that fails on purpose.

use reprise::api::temporal::api::workflowservice::v1 as ws;
use reprise::api::temporal::api::workflowservice::v1::workflow_service_server::{
    WorkflowService, WorkflowServiceServer,
};
use reprise::client::{Client, ClientError, ClientOptions, RetryOptions};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use tonic::codec::CompressionEncoding;

#[derive(Default)]
struct Flaky {
    count_calls: AtomicU32,
    fail_first: u32,
    code: Option<tonic::Code>,
    seen: Mutex<Vec<(String, String, bool)>>,
}

/// The service handed to tonic, sharing the counters with the test.
struct Shared(Arc<Flaky>);

impl std::ops::Deref for Shared {
    type Target = Flaky;
    fn deref(&self) -> &Flaky {
        &self.0
    }
}

#[tonic::async_trait]
impl WorkflowService for Shared {
    async fn get_system_info(
        &self,
        _r: tonic::Request<ws::GetSystemInfoRequest>,
    ) -> Result<tonic::Response<ws::GetSystemInfoResponse>, tonic::Status> {
        Ok(tonic::Response::new(ws::GetSystemInfoResponse {
            server_version: "flaky".into(),
            ..Default::default()
        }))
    }

    async fn count_workflow_executions(
        &self,
        request: tonic::Request<ws::CountWorkflowExecutionsRequest>,
    ) -> Result<tonic::Response<ws::CountWorkflowExecutionsResponse>, tonic::Status> {
        let meta = request.metadata();
        let get = |k: &str| {
            meta.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push((
            get("authorization"),
            get("temporal-namespace"),
            meta.contains_key("grpc-timeout"),
        ));
        let n = self.count_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.fail_first {
            return Err(tonic::Status::new(
                self.code.unwrap_or(tonic::Code::Unavailable),
                "try again",
            ));
        }
        Ok(tonic::Response::new(ws::CountWorkflowExecutionsResponse {
            count: i64::from(n),
            ..Default::default()
        }))
    }
}

async fn serve(flaky: Arc<Flaky>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let service = WorkflowServiceServer::new(Shared(flaky))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
    });
    address
}

fn fast_retries() -> RetryOptions {
    let mut r = RetryOptions::default().with_max_attempts(5);
    r.initial_interval = std::time::Duration::from_millis(5);
    r
}

#[tokio::test]
async fn transient_errors_are_retried_with_headers_and_deadline_each_time() {
    let flaky = Arc::new(Flaky {
        fail_first: 2,
        ..Default::default()
    });
    let address = serve(flaky.clone()).await;
    let client = Client::connect(
        ClientOptions::new(address)
            .with_namespace("ns-1")
            .with_api_key("k-1")
            .with_retry(fast_retries()),
    )
    .await
    .expect("connect");
    assert_eq!(client.system_info().server_version, "flaky");
    assert_eq!(
        client
            .count_workflows("")
            .await
            .expect("count after retries"),
        3
    );
    let seen = flaky.seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 3);
    for (auth, namespace, deadline) in seen {
        assert_eq!(auth, "Bearer k-1");
        assert_eq!(namespace, "ns-1");
        assert!(deadline, "every attempt carries a deadline");
    }
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_permanent_errors_are_not_retried() {
    let flaky = Arc::new(Flaky {
        fail_first: 100,
        ..Default::default()
    });
    let address = serve(flaky.clone()).await;
    let client = Client::connect(ClientOptions::new(address).with_retry(fast_retries()))
        .await
        .expect("connect");
    let err = client.count_workflows("").await.expect_err("keeps failing");
    assert!(
        matches!(
            err,
            ClientError::Rpc {
                code: tonic::Code::Unavailable,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(
        flaky.count_calls.load(Ordering::SeqCst),
        5,
        "max_attempts in all"
    );

    let permanent = Arc::new(Flaky {
        fail_first: 100,
        code: Some(tonic::Code::InvalidArgument),
        ..Default::default()
    });
    let address = serve(permanent.clone()).await;
    let client = Client::connect(ClientOptions::new(address).with_retry(fast_retries()))
        .await
        .expect("connect");
    match client.count_workflows("bad query").await {
        Err(ClientError::InvalidArgument { message }) => assert_eq!(message, "try again"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert_eq!(permanent.count_calls.load(Ordering::SeqCst), 1);
}
