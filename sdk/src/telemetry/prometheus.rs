//! A Prometheus scrape endpoint: `metrics-exporter-prometheus`'s recorder and text format, served
//! by a small HTTP/1.1 handler (`GET /metrics`) so that no HTTP server stack comes along.

use super::Metrics;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Histogram buckets, in seconds: from 1 ms to 10 min.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

/// Serves the metrics of the clients and workers given its [`metrics`](Self::metrics) in
/// Prometheus' text format at `http://ADDRESS/metrics`, until dropped.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use reprise::client::{Client, ClientOptions};
/// use reprise::telemetry::PrometheusEndpoint;
///
/// let prometheus = PrometheusEndpoint::bind("127.0.0.1:9464").await?;
/// let client = Client::connect(
///     ClientOptions::new("127.0.0.1:7233").with_metrics(prometheus.metrics()),
/// )
/// .await?;
/// // Workers made with this client report to the same endpoint.
/// # Ok(()) }
/// ```
pub struct PrometheusEndpoint {
    address: SocketAddr,
    handle: PrometheusHandle,
    metrics: Metrics,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PrometheusEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusEndpoint")
            .field("address", &self.address)
            .finish()
    }
}

impl PrometheusEndpoint {
    /// Listens on `address` (port 0: any free port, see [`address`](Self::address)).
    pub async fn bind(address: impl tokio::net::ToSocketAddrs) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let recorder: PrometheusRecorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .map_err(std::io::Error::other)?
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics::with_recorder(Arc::new(recorder));
        let served = handle.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let handle = served.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, &handle).await {
                        tracing::debug!(error = %e, "metrics scrape failed");
                    }
                });
            }
        });
        Ok(PrometheusEndpoint {
            address,
            handle,
            metrics,
            server,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The handle to give [`ClientOptions::with_metrics`](crate::client::ClientOptions::with_metrics).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// What a scrape returns now.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

impl Drop for PrometheusEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Answers one connection: `GET /metrics` gets the metrics, anything else a 404.
async fn serve(mut stream: TcpStream, handle: &PrometheusHandle) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    let read = async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let line = request.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let (method, path) = (parts.next(), parts.next());
    let response = if method == Some(b"GET") && path.is_some_and(|p| p.starts_with(b"/metrics")) {
        handle.run_upkeep();
        let body = handle.render();
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
    };
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
