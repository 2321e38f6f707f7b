//! `zk-bench load --tls`: both servers serve a `secureClientPort` from the
//! same PEM key and trust stores (3.8 reads PEM stores too, so one set of
//! files serves both), and the benchmark's sessions connect to it through
//! one rustls client, so the only difference measured is the server's.
//!
//! ```text
//! openssl (at start): CA -> server cert (SAN IP:127.0.0.1, DNS:localhost)
//!                        -> client cert (SAN IP:127.0.0.1)
//! both servers: secureClientPort, ssl.keyStore = server key + chain (PEM),
//!               ssl.trustStore = CA (PEM), ssl.clientAuth left at 3.8's
//!               default (need), so each session shows its client cert
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
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::ports::TempDir;

/// Apache's TLS-capable client connection factory.
pub const NETTY_FACTORY: &str = "org.apache.zookeeper.server.NettyServerCnxnFactory";

/// The certificates of one benchmark run and the client's TLS context;
/// the files go when it is dropped.
pub struct BenchTls {
    /// The servers' key store: private key and certificate, PEM.
    pub server_key_store: PathBuf,
    /// The CA certificate both servers trust (and the client too), PEM.
    pub trust_store: PathBuf,
    /// What every benchmark session connects with.
    pub client: Arc<ClientConfig>,
    _dir: TempDir,
}

impl BenchTls {
    /// Generates a CA, a server and a client certificate with openssl, and
    /// the client's context (trusting the CA, showing the client cert).
    pub fn generate() -> Result<BenchTls, String> {
        let dir =
            TempDir::new("zk-bench-tls").map_err(|e| format!("cannot create a temp dir: {e}"))?;
        generate_certificates(dir.path())?;
        let client = client_config(
            &dir.join("ca.pem"),
            &dir.join("client.pem"),
            &dir.join("client.key"),
        )?;
        Ok(BenchTls {
            server_key_store: dir.join("server-store.pem"),
            trust_store: dir.join("ca.pem"),
            client,
            _dir: dir,
        })
    }

    /// The zoo.cfg lines both servers get besides `secureClientPort`.
    pub fn server_cfg(&self) -> Vec<(String, String)> {
        [
            (
                "ssl.keyStore.location",
                self.server_key_store.display().to_string(),
            ),
            ("ssl.keyStore.type", "PEM".to_string()),
            (
                "ssl.trustStore.location",
                self.trust_store.display().to_string(),
            ),
            ("ssl.trustStore.type", "PEM".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// Runs `openssl args` in `dir`; the error carries its stderr.
fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run openssl (is it installed?): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// ca.pem/ca.key, server.pem/server.key (+ server-store.pem, key then
/// cert, for the servers), client.pem/client.key: EC P-256, two days.
fn generate_certificates(dir: &Path) -> Result<(), String> {
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let run = |cmd: String| openssl(dir, &cmd.split(' ').collect::<Vec<_>>());
    run(format!(
        "req -x509 {ec} -days 2 -keyout ca.key -out ca.pem -subj /CN=zk-bench-CA"
    ))?;
    for (name, san) in [
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "subjectAltName=IP:127.0.0.1"),
    ] {
        run(format!(
            "req {ec} -keyout {name}.key -out {name}.csr -subj /CN=zk-bench-{name}"
        ))?;
        std::fs::write(dir.join(format!("{name}.ext")), format!("{san}\n"))
            .map_err(|e| format!("cannot write {name}.ext: {e}"))?;
        run(format!(
            "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
             -extfile {name}.ext -out {name}.pem"
        ))?;
    }
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("cannot read {f}: {e}"));
    std::fs::write(
        dir.join("server-store.pem"),
        read("server.key")? + &read("server.pem")?,
    )
    .map_err(|e| format!("cannot write server-store.pem: {e}"))
}

/// Trusts `ca`, shows `cert`/`key` when the server asks.
fn client_config(ca: &Path, cert: &Path, key: &Path) -> Result<Arc<ClientConfig>, String> {
    let pem_err = |p: &Path, e: rustls::pki_types::pem::Error| format!("{}: {e}", p.display());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).map_err(|e| pem_err(ca, e))?)
        .map_err(|e| format!("{}: {e}", ca.display()))?;
    let chain = vec![CertificateDer::from_pem_file(cert).map_err(|e| pem_err(cert, e))?];
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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
