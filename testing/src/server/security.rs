//! Securing a server: TLS, mutual TLS, an API key, and the refusal to listen beyond loopback
//! in plaintext.

use super::ServerError;
use std::net::SocketAddr;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic::{Request, Status};

/// TLS for the server: its certificate chain and key (PEM), and, for mutual TLS, the CA that
/// client certificates must chain to.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerTls {
    /// The server's certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// The server's private key (PEM).
    pub key_pem: Vec<u8>,
    /// With a CA (PEM), every client must present a certificate it signed (mutual TLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mutual", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// TLS with this certificate chain and key (PEM).
    pub fn new(cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        ServerTls {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            client_ca_pem: None,
        }
    }

    /// Requires client certificates signed by this CA (PEM): mutual TLS.
    pub fn with_client_ca(mut self, ca_pem: impl Into<Vec<u8>>) -> Self {
        self.client_ca_pem = Some(ca_pem.into());
        self
    }

    pub(crate) fn config(&self) -> ServerTlsConfig {
        let config =
            ServerTlsConfig::new().identity(Identity::from_pem(&self.cert_pem, &self.key_pem));
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }
}

/// Refuses a plaintext server on an address other machines can reach, unless told it is
/// meant (`insecure`).
pub(crate) fn check_exposure(
    address: SocketAddr,
    tls: bool,
    insecure: bool,
) -> Result<(), ServerError> {
    if address.ip().is_loopback() || tls || insecure {
        return Ok(());
    }
    Err(ServerError::InvalidOption(format!(
        "refusing to listen on {address} without TLS: anyone who reaches it could read and \
         change every workflow; configure TLS, or allow plaintext explicitly (--insecure)"
    )))
}

/// Checks the `authorization: Bearer <key>` header of every call when the server requires an
/// API key.
#[derive(Clone)]
pub(crate) struct ApiKeyCheck {
    expected: Option<std::sync::Arc<str>>,
}

impl ApiKeyCheck {
    pub(crate) fn new(key: Option<&str>) -> Self {
        ApiKeyCheck {
            expected: key.map(std::sync::Arc::from),
        }
    }

    fn allows(&self, header: Option<&[u8]>) -> bool {
        let Some(expected) = &self.expected else {
            return true;
        };
        let Some(token) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return false;
        };
        // Same time whatever the first difference: the key cannot be guessed byte by byte.
        token.len() == expected.len()
            && token
                .iter()
                .zip(expected.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl tonic::service::Interceptor for ApiKeyCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes());
        if self.allows(header) {
            Ok(request)
        } else {
            Err(Status::unauthenticated(
                "Request unauthorized: a valid API key is required (authorization: Bearer <key>)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_must_match_exactly() {
        let check = ApiKeyCheck::new(Some("s3cret"));
        assert!(check.allows(Some(b"Bearer s3cret")));
        for bad in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"s3cret",
            b"bearer s3cret",
            b"",
        ] {
            assert!(!check.allows(Some(bad)), "{bad:?}");
        }
        assert!(!check.allows(None));
        assert!(ApiKeyCheck::new(None).allows(None));
    }

    #[test]
    fn plaintext_beyond_loopback_needs_consent() {
        let public: SocketAddr = "10.1.2.3:7233".parse().expect("address");
        let local: SocketAddr = "127.0.0.1:7233".parse().expect("address");
        assert!(check_exposure(public, false, false).is_err());
        assert!(check_exposure(public, true, false).is_ok());
        assert!(check_exposure(public, false, true).is_ok());
        assert!(check_exposure(local, false, false).is_ok());
    }
}
