//! `QuorumTls`: how this peer's election and quorum connections use TLS,
//! from zoo.cfg's `sslQuorum`, `portUnification` and
//! `sslQuorumReloadCertFiles` and the `ssl.quorum.*` settings (3.8's
//! `QuorumX509Util`, which is `X509Util::quorum`). Not a 3.8 class: 3.8
//! spreads this over `QuorumPeer` (the flags, `getX509Util`) and
//! `X509Util` (the cached `SSLContext`, reset by its file watcher).
//!
//! - Dialing (election `initiateConnection`, `Learner.connectToLeader`):
//!   TLS iff `sslQuorum`, the peer's certificate checked against the
//!   trust store and the address dialed, ours presented.
//! - Accepting (election `Listener`, `LearnerCnxAcceptor`): with
//!   `portUnification` TLS or plaintext as the peer opens
//!   (`UnifiedServerSocket`); else TLS iff `sslQuorum`. The client
//!   certificate is required as `ssl.quorum.clientAuth` says (need by
//!   default) and, with hostname verification on, must name the peer's
//!   address (3.8 verifies quorum clients' host names).
//! - With `sslQuorumReloadCertFiles`, the key and trust store files'
//!   modification times are compared on every accept and dial and the
//!   TLS configurations rebuilt when one changed (3.8 watches the files;
//!   polling at each connection gives the same result: new connections
//!   use the new certificates, live ones keep theirs). A store that no
//!   longer loads is logged and the previous certificates stay in use.

use std::fmt;
use std::io;
use std::net::{IpAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use log::{debug, error, info};
use zk_config::rustls;
use zk_config::rustls::pki_types::ServerName;
use zk_config::{QuorumPeerConfig, X509Exception, X509Util};

use crate::unified_server_socket::{UnifiedServerSocket, UnifiedSocket};

/// The zoo.cfg keys (as system properties) of the quorum's stores.
const STORE_KEYS: [&str; 2] = [
    "zookeeper.ssl.quorum.keyStore.location",
    "zookeeper.ssl.quorum.trustStore.location",
];

#[derive(Default)]
struct Contexts {
    stamps: Vec<Option<SystemTime>>,
    server: Option<Arc<rustls::ServerConfig>>,
    client: Option<Arc<rustls::ClientConfig>>,
}

/// See the module docs.
pub struct QuorumTls {
    ssl_quorum: bool,
    port_unification: bool,
    reload_cert_files: bool,
    x509: Option<X509Util>,
    files: Vec<PathBuf>,
    detection_timeout: Duration,
    contexts: Mutex<Contexts>,
}

impl fmt::Debug for QuorumTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuorumTls")
            .field("ssl_quorum", &self.ssl_quorum)
            .field("port_unification", &self.port_unification)
            .field("reload_cert_files", &self.reload_cert_files)
            .finish_non_exhaustive()
    }
}

impl Default for QuorumTls {
    fn default() -> Self {
        QuorumTls::plaintext()
    }
}

impl QuorumTls {
    /// Plaintext only (`sslQuorum=false`, `portUnification=false`).
    pub fn plaintext() -> QuorumTls {
        QuorumTls {
            ssl_quorum: false,
            port_unification: false,
            reload_cert_files: false,
            x509: None,
            files: Vec::new(),
            detection_timeout: Duration::from_millis(5000),
            contexts: Mutex::new(Contexts::default()),
        }
    }

    /// From the peer's configuration. With TLS in use at all, the stores
    /// are loaded now, so that a bad one stops startup before any
    /// quorum or election port is bound.
    pub fn from_config(config: &QuorumPeerConfig) -> Result<QuorumTls, X509Exception> {
        if !config.ssl_quorum && !config.port_unification {
            return Ok(QuorumTls::plaintext());
        }
        let sys = &config.system_properties;
        let x509 = X509Util::quorum(sys);
        let files = STORE_KEYS
            .iter()
            .filter_map(|k| sys.get(k))
            .map(|v| PathBuf::from(v.trim()))
            .collect();
        let tls = QuorumTls {
            ssl_quorum: config.ssl_quorum,
            port_unification: config.port_unification,
            reload_cert_files: config.ssl_quorum_reload_cert_files,
            detection_timeout: x509.handshake_detection_timeout(),
            x509: Some(x509),
            files,
            contexts: Mutex::new(Contexts::default()),
        };
        let built = tls.build()?;
        *tls.contexts.lock().unwrap_or_else(|e| e.into_inner()) = built;
        info!(
            "Quorum TLS: sslQuorum={} portUnification={} sslQuorumReloadCertFiles={}",
            tls.ssl_quorum, tls.port_unification, tls.reload_cert_files
        );
        Ok(tls)
    }

    /// `sslQuorum`: connections we dial are TLS.
    pub fn is_ssl_quorum(&self) -> bool {
        self.ssl_quorum
    }

    /// `portUnification`: accepted connections may be either.
    pub fn port_unification(&self) -> bool {
        self.port_unification
    }

    fn stamps(&self) -> Vec<Option<SystemTime>> {
        self.files
            .iter()
            .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .collect()
    }

    fn build(&self) -> Result<Contexts, X509Exception> {
        let x509 = self
            .x509
            .as_ref()
            .ok_or_else(|| X509Exception::new("quorum TLS is not configured"))?;
        let stamps = self.stamps();
        Ok(Contexts {
            server: Some(x509.create_ssl_server_config()?),
            client: Some(x509.create_ssl_client_config()?),
            stamps,
        })
    }

    /// The current contexts, rebuilt first if a store file changed and
    /// reloading is on.
    fn contexts(&self) -> io::Result<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>)> {
        let mut c = self.contexts.lock().unwrap_or_else(|e| e.into_inner());
        if self.reload_cert_files && c.stamps != self.stamps() {
            match self.build() {
                Ok(built) => {
                    info!("Quorum key or trust store changed: new connections use the new certificates");
                    *c = built;
                }
                Err(e) => {
                    error!("Quorum key or trust store changed but cannot be loaded, keeping the previous certificates: {e}");
                    c.stamps = self.stamps();
                }
            }
        }
        match (&c.server, &c.client) {
            (Some(s), Some(cl)) => Ok((Arc::clone(s), Arc::clone(cl))),
            _ => Err(io::Error::other("quorum TLS is not configured")),
        }
    }

    /// Dials side: `tcp` is connected to `peer`; TLS iff `sslQuorum`, the
    /// handshake done within `timeout`.
    pub fn connect(
        &self,
        tcp: TcpStream,
        peer: IpAddr,
        timeout: Duration,
    ) -> io::Result<UnifiedSocket> {
        if !self.ssl_quorum {
            return Ok(UnifiedSocket::plain(tcp));
        }
        self.client_handshake(tcp, ServerName::IpAddress(peer.into()), timeout)
    }

    fn client_handshake(
        &self,
        tcp: TcpStream,
        name: ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<UnifiedSocket> {
        let (_, client) = self.contexts()?;
        let conn = rustls::ClientConnection::new(client, name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        UnifiedSocket::handshake(tcp, conn, timeout).map_err(handshake_failed)
    }

    /// [`connect`](Self::connect) to a peer configured as `host` (its
    /// server.N line), dialing with `dial`. 3.8 accepts a peer certificate
    /// that names the address dialed or, failing that, the host name the
    /// address resolves back to; rustls checks one name per handshake, so
    /// when `host` is a name and the certificate does not name the
    /// address, a second connection checks `host`.
    pub fn connect_to_host(
        &self,
        dial: &mut dyn FnMut() -> io::Result<TcpStream>,
        peer: IpAddr,
        host: &str,
        timeout: Duration,
    ) -> io::Result<UnifiedSocket> {
        let first = self.connect(dial()?, peer, timeout);
        let by_name = self.ssl_quorum && host.parse::<IpAddr>().is_err();
        let name = match ServerName::try_from(host.to_string()) {
            Ok(name) if by_name => name,
            _ => return first,
        };
        let Err(by_address) = first else {
            return first;
        };
        debug!("TLS with {host} ({peer}) refused by address ({by_address}); trying by host name");
        self.client_handshake(dial()?, name, timeout)
            .map_err(|by_name| {
                io::Error::new(
                    by_name.kind(),
                    format!("by address {peer}: {by_address}; by host name {host}: {by_name}"),
                )
            })
    }

    /// Accepting side: TLS, plaintext, or (`portUnification`) whichever
    /// the peer opens with; a TLS handshake done within `timeout` and the
    /// client's certificate checked against its address.
    pub fn accept(&self, tcp: TcpStream, timeout: Duration) -> io::Result<UnifiedSocket> {
        UnifiedServerSocket::new(self).accept(tcp, timeout)
    }

    #[cfg(test)]
    pub(crate) fn reload_for_tests(&mut self, on: bool) {
        self.reload_cert_files = on;
    }

    pub(crate) fn detection_timeout(&self) -> Duration {
        self.detection_timeout
    }

    pub(crate) fn server_config(&self) -> io::Result<Arc<rustls::ServerConfig>> {
        Ok(self.contexts()?.0)
    }

    pub(crate) fn x509(&self) -> Option<&X509Util> {
        self.x509.as_ref()
    }
}

/// A handshake's error, saying so (the election and learner logs print it
/// after the peer's sid and address).
pub(crate) fn handshake_failed(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("TLS handshake failed: {e}"))
}
