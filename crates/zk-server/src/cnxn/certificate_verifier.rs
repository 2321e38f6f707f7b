//! TLS for a client port: its settings ([`CnxnTls`], from the `ssl.*`
//! properties through `X509Util`) and 3.8's
//! `NettyServerCnxnFactory.CertificateVerifier`, which runs once a
//! connection's handshake has finished and before any of its requests is
//! read: when the server asked for a client certificate (`ssl.clientAuth`
//! need or want) and got one, the client's host name is verified if
//! configured, then the `ssl.authProvider` provider (x509) turns the
//! certificate into the session's auth ids. A missing provider or a failed
//! authentication closes the connection, as in 3.8; a client that was
//! asked (want) and sent no certificate stays, with its `ip` id only.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::{debug, info};
use zk_config::rustls::ServerConfig;
use zk_config::{ClientAuth, SystemProperties, X509Util};
use zk_persistence::records::Id;

use super::ssl_handler::Handshake;
use crate::x509_authentication_provider::X509AuthenticationProvider;

/// How a client port speaks TLS.
#[derive(Clone)]
pub struct CnxnTls {
    /// The TLS configuration every connection's handshake uses.
    pub server_config: Arc<ServerConfig>,
    /// `client.portUnification` on the plain port: TLS and plaintext
    /// clients alike, told apart by their first bytes. False on the
    /// secure port, which takes TLS only.
    pub port_unification: bool,
    /// `ssl.handshakeDetectionTimeoutMillis`: a connection's handshake
    /// (and, unified, its first bytes) must be done this long after it
    /// is accepted.
    pub handshake_timeout: Duration,
    /// `ssl.clientAuth`.
    pub client_auth: ClientAuth,
    /// `ssl.authProvider` (only `x509` is served).
    pub ssl_auth_provider: String,
    x509: Arc<X509Util>,
}

impl fmt::Debug for CnxnTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CnxnTls")
            .field("port_unification", &self.port_unification)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("client_auth", &self.client_auth)
            .field("ssl_auth_provider", &self.ssl_auth_provider)
            .finish_non_exhaustive()
    }
}

impl CnxnTls {
    /// The client TLS settings of `props` (`zookeeper.ssl.*`): `Err` is
    /// the `X509Exception`'s message (a key store that cannot be read, a
    /// wrong password), for the server to stop with before any port
    /// opens.
    pub fn from_properties(
        props: &SystemProperties,
        port_unification: bool,
    ) -> Result<CnxnTls, String> {
        let x509 = X509Util::client(props);
        let server_config = x509.create_ssl_server_config().map_err(|e| e.to_string())?;
        Ok(CnxnTls {
            server_config,
            port_unification,
            handshake_timeout: x509.handshake_detection_timeout(),
            client_auth: x509.client_auth(),
            ssl_auth_provider: x509.ssl_auth_provider(),
            x509: Arc::new(x509),
        })
    }

    /// `CertificateVerifier.operationComplete` for a successful handshake:
    /// the ids the client's certificate proves, to add to its `ip` id;
    /// `Err` is why the connection must close.
    pub(crate) fn verify(
        &self,
        handshake: &Handshake,
        peer: SocketAddr,
        props: &SystemProperties,
    ) -> Result<Vec<Id>, String> {
        debug!(
            "Successful TLS handshake with {} ({})",
            peer, handshake.summary
        );
        if self.client_auth == ClientAuth::None {
            return Ok(Vec::new());
        }
        if handshake.peer_certs.is_empty() {
            return match self.client_auth {
                ClientAuth::Need => Err(format!(
                    "the client {peer} presented no certificate (ssl.clientAuth=need)"
                )),
                _ => Ok(Vec::new()),
            };
        }
        self.x509
            .verify_client_hostname(&handshake.peer_certs, peer.ip())
            .map_err(|e| format!("client host name verification failed for {peer}: {e}"))?;
        let provider = (self.ssl_auth_provider == X509AuthenticationProvider::SCHEME)
            .then(|| X509AuthenticationProvider::registered(props))
            .flatten()
            .ok_or_else(|| format!("X509 Auth provider not found: {}", self.ssl_auth_provider))?;
        let ids = provider
            .handle_authentication(&handshake.peer_certs)
            .map_err(|e| format!("Authentication failed for the TLS client {peer}: {e}"))?;
        info!(
            "TLS client {} authenticated as {}",
            peer,
            ids.iter()
                .map(|i| format!("{}:{}", i.scheme, i.id))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(ids)
    }
}
