//! `zk-bench load --tls`: both servers serve a `secureClientPort` from the
//! same PEM key and trust stores (3.8 reads PEM stores too, so one set of
//! files serves both), and the benchmark's sessions connect to it through
//! one rustls client, so the only difference measured is the server's.
//!
//! ```text
//! integration::tls (at start): a CA, node 1's server identity (SAN
//!                  127.0.0.1, localhost), a client identity
//! both servers: secureClientPort, ssl.keyStore = node 1's PEM store (key,
//!               cert, CA), ssl.trustStore = the CA (PEM), ssl.clientAuth
//!               left at 3.8's default (need), so each session shows the
//!               client certificate
//! Apache also:  -Dzookeeper.serverCnxnFactory=NettyServerCnxnFactory
//!               (its NIO factory has no TLS)
//! each session: TcpStream -> rustls ClientConnection (handshake done at
//!               connect, before the measured window) -> the same frames
//! ```
//!
//! The client port stays open on both (plaintext) for the harness's
//! `srvr` readiness check and the memory fill; the load uses only the
//! secure port.

use std::io::{self, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zk_config::rustls::pki_types::pem::PemObject;
use zk_config::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use zk_config::rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::ports::TempDir;
use crate::tls::{StoreType, TlsFixture};

/// Apache's TLS-capable client connection factory.
pub const NETTY_FACTORY: &str = "org.apache.zookeeper.server.NettyServerCnxnFactory";

/// The certificates of one benchmark run and the client's TLS context;
/// the files go when it is dropped.
pub struct BenchTls {
    /// The servers' key store: private key and certificate, PEM.
    pub server_key_store: PathBuf,
    /// What every benchmark session connects with.
    pub client: Arc<ClientConfig>,
    fixture: TlsFixture,
    _dir: TempDir,
}

impl BenchTls {
    /// The test certificates ([`crate::tls`]) and the client's context
    /// (trusting the CA, showing the client certificate).
    pub fn generate() -> Result<BenchTls, String> {
        let dir =
            TempDir::new("zk-bench-tls").map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let fixture = TlsFixture::generate(dir.path())
            .map_err(|e| format!("cannot make the certificates: {e}"))?;
        let client = client_config(
            &fixture.ca_pem,
            &fixture.client.cert_pem,
            &fixture.client.key_pem,
        )?;
        Ok(BenchTls {
            server_key_store: fixture.server(1).keystore(StoreType::Pem).to_path_buf(),
            client,
            fixture,
            _dir: dir,
        })
    }

    /// The zoo.cfg lines both servers get besides `secureClientPort`.
    pub fn server_cfg(&self) -> Vec<(String, String)> {
        self.fixture
            .store_settings("ssl.", Some(self.fixture.server(1)), StoreType::Pem)
    }
}

/// Trusts `ca`, shows `cert`/`key` when the server asks.
fn client_config(ca: &Path, cert: &Path, key: &Path) -> Result<Arc<ClientConfig>, String> {
    let pem_err =
        |p: &Path, e: zk_config::rustls::pki_types::pem::Error| format!("{}: {e}", p.display());
    let mut roots = zk_config::rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).map_err(|e| pem_err(ca, e))?)
        .map_err(|e| format!("{}: {e}", ca.display()))?;
    let chain = vec![CertificateDer::from_pem_file(cert).map_err(|e| pem_err(cert, e))?];
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e))?;
    let provider = Arc::new(zk_config::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("client certificate: {e}"))?;
    Ok(Arc::new(config))
}

/// A TLS session over `sock`, the server's certificate checked against
/// the address it is connected to, its handshake completed (so that no
/// measured request pays for it).
pub fn connect(
    sock: TcpStream,
    config: &Arc<ClientConfig>,
) -> io::Result<StreamOwned<ClientConnection, TcpStream>> {
    let name = ServerName::IpAddress(sock.peer_addr()?.ip().into());
    let conn = ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    tls.flush()?;
    Ok(tls)
}

/// The protocol and cipher suite a session agreed on, for the report.
pub fn negotiated(tls: &ClientConnection) -> String {
    let protocol = tls
        .protocol_version()
        .map_or("no protocol".to_string(), |v| format!("{v:?}"));
    let suite = tls
        .negotiated_cipher_suite()
        .map_or("no cipher suite".to_string(), |s| {
            format!("{:?}", s.suite())
        });
    format!("{protocol} {suite}")
}
