//! The gRPC channel: endpoint, TLS, headers, compression, deadlines and retries.

use super::observe::ObservedChannel;
use super::{ClientError, ClientOptions, TlsOptions};
use crate::api::temporal::api::operatorservice::v1::operator_service_client;
use crate::api::temporal::api::workflowservice::v1 as ws;
use crate::api::temporal::api::workflowservice::v1::workflow_service_client;
use std::sync::Arc;
use std::time::Duration;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Temporal's `WorkflowService` client over this crate's channel, with the client's headers,
/// telemetry and interceptors.
pub type WorkflowServiceClient = workflow_service_client::WorkflowServiceClient<
    InterceptedService<ObservedChannel, HeaderInterceptor>,
>;
/// Temporal's `OperatorService` client over this crate's channel, with the client's headers,
/// telemetry and interceptors.
pub type OperatorServiceClient = operator_service_client::OperatorServiceClient<
    InterceptedService<ObservedChannel, HeaderInterceptor>,
>;

/// Adds the client's fixed headers (API key, namespace, user metadata) to every request.
#[derive(Clone, Debug)]
pub struct HeaderInterceptor {
    headers: Arc<Vec<(AsciiMetadataKey, AsciiMetadataValue)>>,
}

impl tonic::service::Interceptor for HeaderInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        for (k, v) in self.headers.iter() {
            metadata.insert(k.clone(), v.clone());
        }
        // Temporal rejects calls without a deadline ("Context timeout is not set"). Calls made
        // through the typed API set their own; raw calls get one long enough for a long poll.
        if !metadata.contains_key("grpc-timeout") {
            metadata.insert("grpc-timeout", AsciiMetadataValue::from_static("70S"));
        }
        Ok(request)
    }
}

pub(super) struct Connection {
    pub(super) options: ClientOptions,
    pub(super) workflow_service: WorkflowServiceClient,
    pub(super) operator_service: OperatorServiceClient,
    pub(super) system_info: ws::GetSystemInfoResponse,
}

impl Connection {
    pub(super) async fn connect(options: ClientOptions) -> Result<Self, ClientError> {
        let interceptor = HeaderInterceptor {
            headers: Arc::new(headers(&options)?),
        };
        let endpoint = endpoint(&options)?;
        let channel = connect_with_retries(&endpoint, &options).await?;
        let channel = ObservedChannel::new(
            channel,
            &options.namespace,
            options.metrics.clone(),
            options.interceptors.clone(),
        );
        let max = 128 * 1024 * 1024;
        let mut workflow_service =
            workflow_service_client::WorkflowServiceClient::with_interceptor(
                channel.clone(),
                interceptor.clone(),
            )
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let mut operator_service =
            operator_service_client::OperatorServiceClient::with_interceptor(channel, interceptor)
                .accept_compressed(CompressionEncoding::Gzip);
        if options.compress_requests {
            workflow_service = workflow_service.send_compressed(CompressionEncoding::Gzip);
            operator_service = operator_service.send_compressed(CompressionEncoding::Gzip);
        }
        let mut conn = Connection {
            options,
            workflow_service,
            operator_service,
            system_info: ws::GetSystemInfoResponse::default(),
        };
        let timeout = conn.options.rpc_timeout;
        conn.system_info = conn
            .call(
                ws::GetSystemInfoRequest {},
                timeout,
                |mut s, r| async move { s.get_system_info(r).await },
            )
            .await
            .map_err(|status| match status.code() {
                tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Internal => {
                    ClientError::Transport(Box::new(status))
                }
                _ => ClientError::from_status(status, ""),
            })?;
        Ok(conn)
    }

    /// One logical call: the deadline on each attempt, transient failures retried with backoff.
    pub(super) async fn call<Req, Resp, F, Fut>(
        &self,
        request: Req,
        timeout: Duration,
        method: F,
    ) -> Result<Resp, tonic::Status>
    where
        Req: Clone,
        F: Fn(super::WorkflowServiceClient, tonic::Request<Req>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let retry = &self.options.retry;
        let mut attempt = 1;
        loop {
            let mut req = tonic::Request::new(request.clone());
            req.set_timeout(timeout);
            match method(self.workflow_service.clone(), req).await {
                Ok(resp) => return Ok(resp.into_inner()),
                Err(status)
                    if attempt < retry.max_attempts
                        && super::error::is_transient_status(&status) =>
                {
                    tracing::debug!(code = ?status.code(), message = status.message(), attempt, "retrying transient error");
                    tokio::time::sleep(retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(status) => return Err(status),
            }
        }
    }
}

fn headers(
    options: &ClientOptions,
) -> Result<Vec<(AsciiMetadataKey, AsciiMetadataValue)>, ClientError> {
    let mut out = Vec::new();
    let mut push = |k: &str, v: &str| -> Result<(), ClientError> {
        let key = AsciiMetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| ClientError::Config(format!("invalid header name {k:?}")))?;
        let value = AsciiMetadataValue::try_from(v)
            .map_err(|_| ClientError::Config(format!("invalid value for header {k:?}")))?;
        out.push((key, value));
        Ok(())
    };
    push("temporal-namespace", &options.namespace)?;
    if let Some(key) = &options.api_key {
        push("authorization", &format!("Bearer {key}"))?;
    }
    for (k, v) in &options.headers {
        push(k, v)?;
    }
    Ok(out)
}

fn endpoint(options: &ClientOptions) -> Result<Endpoint, ClientError> {
    let target = options.target.trim();
    if target.is_empty() {
        return Err(ClientError::Config("empty target address".into()));
    }
    let uri = if target.contains("://") {
        target.to_string()
    } else if options.tls.is_some() {
        format!("https://{target}")
    } else {
        format!("http://{target}")
    };
    if uri.starts_with("https://") && options.tls.is_none() {
        return Err(ClientError::Config(format!(
            "target {uri} asks for https but no TLS options are set (use with_tls)"
        )));
    }
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .map_err(|e| ClientError::Config(format!("invalid target {uri:?}: {e}")))?
        .connect_timeout(options.connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(15))
        .keep_alive_while_idle(true);
    if let Some(tls) = &options.tls {
        endpoint = endpoint
            .tls_config(tls_config(tls)?)
            .map_err(|e| ClientError::Config(format!("TLS configuration rejected: {e}")))?;
    }
    Ok(endpoint)
}

fn check_pem(what: &str, pem: &[u8]) -> Result<(), ClientError> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| ClientError::Config(format!("{what} is not PEM text")))?;
    if !text.contains("-----BEGIN ") {
        return Err(ClientError::Config(format!(
            "{what} is not PEM (no -----BEGIN line)"
        )));
    }
    Ok(())
}

pub(super) fn tls_config(tls: &TlsOptions) -> Result<ClientTlsConfig, ClientError> {
    let mut config = ClientTlsConfig::new();
    match &tls.server_root_ca_pem {
        Some(ca) => {
            check_pem("server root CA certificate", ca)?;
            config = config.ca_certificate(Certificate::from_pem(ca));
        }
        None => config = config.with_native_roots(),
    }
    match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) => {
            check_pem("client certificate", cert)?;
            check_pem("client private key", key)?;
            config = config.identity(Identity::from_pem(cert, key));
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(ClientError::Config(
                "client certificate given without its private key".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(ClientError::Config(
                "client private key given without its certificate".into(),
            ));
        }
    }
    if let Some(name) = &tls.server_name {
        config = config.domain_name(name.clone());
    }
    Ok(config)
}

async fn connect_with_retries(
    endpoint: &Endpoint,
    options: &ClientOptions,
) -> Result<Channel, ClientError> {
    // Connection refused at start-up is common in tests and compose files: retry it briefly.
    let mut attempt = 1;
    loop {
        match endpoint.connect().await {
            Ok(channel) => return Ok(channel),
            Err(e) if attempt < options.retry.max_attempts.min(3) => {
                tracing::debug!(error = %e, attempt, "connect failed, retrying");
                tokio::time::sleep(options.retry.delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(ClientError::Transport(Box::new(e))),
        }
    }
}
