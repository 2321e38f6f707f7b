//! HTTPS on the admin port, as 3.8's `JettyAdminServer` sets it up:
//! `zookeeper.admin.forceHttps=true` serves HTTPS only (Jetty's
//! `SslConnectionFactory`), `zookeeper.admin.portUnification=true` serves
//! HTTPS and HTTP on the one port (`UnifiedConnectionFactory`), told apart
//! by the first byte a client sends: 0x16, a TLS handshake record, means
//! TLS, anything else plain HTTP. forceHttps wins when both are set.
//!
//! The key comes from `QuorumX509Util`'s key store
//! (`ssl.quorum.keyStore.*`), as in 3.8, loaded by zk-config's
//! [`X509Util`] (JKS, PKCS12, PEM). Only the store settings are taken from
//! there: 3.8 hands the stores to Jetty's `SslContextFactory`, which asks
//! for no client certificate and offers its own protocols (TLS 1.3 and 1.2
//! on the JDKs 3.8 runs on) and suites, whatever `ssl.quorum.clientAuth`,
//! `.protocol`, `.enabledProtocols` or `.ciphersuites` say (those are the
//! quorum's). 3.8 also insists on a trust store it then never uses (no
//! trust store: no admin server at all); here none is needed.
//!
//! [`UnifiedConnectionFactory`] makes each accepted socket an
//! [`AdminConnection`]: the socket, with a rustls server connection over it
//! for HTTPS. Every socket read it makes is bounded by
//! the caller's deadline, the handshake's included, so a client that
//! stalls a handshake holds up only its own connection thread, and only
//! until the request head's deadline.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use zk_config::rustls::{ServerConfig, ServerConnection};
use zk_config::{SystemProperties, X509Exception, X509Util};

/// The first byte of a TLS record carrying a handshake (3.8 tells TLS
/// from plaintext by it too, and supports nothing older than TLS).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// `Strict-Transport-Security` on every HTTPS answer, as 3.8's
/// `SecureRequestCustomizer` sends it (a day, subdomains included).
pub(crate) const STS_HEADER: &str = "max-age=86400; includeSubDomains";

/// How the admin port speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminHttps {
    /// Plain HTTP (neither setting on: 3.8's default).
    Off,
    /// `zookeeper.admin.forceHttps=true`: HTTPS only.
    ForceHttps,
    /// `zookeeper.admin.portUnification=true`: HTTPS and HTTP on one port.
    PortUnification,
}

impl AdminHttps {
    /// The setting that chose it, for messages.
    pub fn setting(self) -> &'static str {
        match self {
            AdminHttps::Off => "plain HTTP",
            AdminHttps::ForceHttps => "admin.forceHttps=true",
            AdminHttps::PortUnification => "admin.portUnification=true",
        }
    }

    /// The choice the system properties make (`Boolean.getBoolean`).
    pub fn from_properties(props: &SystemProperties) -> AdminHttps {
        if props.get_boolean("zookeeper.admin.forceHttps") {
            AdminHttps::ForceHttps
        } else if props.get_boolean("zookeeper.admin.portUnification") {
            AdminHttps::PortUnification
        } else {
            AdminHttps::Off
        }
    }
}

/// The admin server's TLS context: `QuorumX509Util`'s key store, no
/// client certificate asked for, TLS 1.3 and 1.2 with the default suites.
pub fn admin_tls_context(props: &SystemProperties) -> Result<Arc<ServerConfig>, X509Exception> {
    let prefix = "zookeeper.ssl.quorum.";
    let mut admin = SystemProperties::new();
    for setting in zk_config::store_settings() {
        let name = format!("{prefix}{setting}");
        if let Some(value) = props.get(&name) {
            admin.set(name, value);
        }
    }
    admin.set(format!("{prefix}clientAuth"), "none");
    admin.set(format!("{prefix}enabledProtocols"), "TLSv1.3,TLSv1.2");
    X509Util::quorum(&admin).create_ssl_server_config()
}

/// 3.8's `UnifiedConnectionFactory` (and, for forceHttps, Jetty's
/// `SslConnectionFactory`): what each accepted admin socket becomes.
pub struct UnifiedConnectionFactory {
    https: AdminHttps,
    tls: Option<Arc<ServerConfig>>,
}

impl UnifiedConnectionFactory {
    /// The factory for `https`; HTTPS needs the TLS context `tls`.
    pub fn new(https: AdminHttps, tls: Option<Arc<ServerConfig>>) -> UnifiedConnectionFactory {
        assert!(
            https == AdminHttps::Off || tls.is_some(),
            "AdminServer: {} without a TLS context",
            https.setting()
        );
        UnifiedConnectionFactory { https, tls }
    }

    /// How the port speaks.
    pub fn https(&self) -> AdminHttps {
        self.https
    }

    /// `newConnection`: the connection `sock` is; for port unification
    /// its first byte is awaited (until `deadline`) and looked at, not
    /// taken.
    pub(crate) fn new_connection(
        &self,
        sock: TcpStream,
        deadline: Instant,
    ) -> io::Result<AdminConnection> {
        let secure = match self.https {
            AdminHttps::Off => false,
            AdminHttps::ForceHttps => true,
            AdminHttps::PortUnification => {
                set_read_deadline(&sock, deadline)?;
                let mut first = [0u8; 1];
                // Nothing (closed, or silent until the deadline) is plain:
                // the head reader then closes it or answers 408.
                matches!(sock.peek(&mut first), Ok(1) if first[0] == TLS_HANDSHAKE_RECORD)
            }
        };
        let tls = match (secure, &self.tls) {
            (true, Some(config)) => {
                Some(ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?)
            }
            _ => None,
        };
        Ok(AdminConnection { sock, tls })
    }
}

/// One admin connection: plain, or TLS over the socket.
pub(crate) struct AdminConnection {
    sock: TcpStream,
    tls: Option<ServerConnection>,
}

impl AdminConnection {
    /// A plain HTTP connection.
    pub(crate) fn plain(sock: TcpStream) -> AdminConnection {
        AdminConnection { sock, tls: None }
    }

    /// Whether it is HTTPS.
    pub(crate) fn is_secure(&self) -> bool {
        self.tls.is_some()
    }

    /// Completes the TLS handshake (nothing to do for plain HTTP) by the
    /// deadline; the error says why it failed, for the log.
    pub(crate) fn handshake(&mut self, deadline: Instant) -> Result<(), String> {
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        while tls.is_handshaking() {
            flush_tls(tls, &mut self.sock).map_err(|e| format!("TLS handshake: {e}"))?;
            if !tls.is_handshaking() {
                break;
            }
            set_read_deadline(&self.sock, deadline)
                .map_err(|_| "TLS handshake not completed in time".to_string())?;
            match tls.read_tls(&mut self.sock) {
                Ok(0) => return Err("closed during the TLS handshake".into()),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    return Err("TLS handshake not completed in time".into())
                }
                Err(e) => return Err(format!("TLS handshake: {e}")),
            }
            if let Err(e) = tls.process_new_packets() {
                // The alert that tells the client why.
                let _ = flush_tls(tls, &mut self.sock);
                return Err(format!("TLS handshake failed: {e}"));
            }
        }
        flush_tls(tls, &mut self.sock).map_err(|e| format!("TLS handshake: {e}"))
    }

    /// Reads some request bytes, waiting no later than `deadline` (an
    /// error of kind `TimedOut` past it); 0 when the client has closed.
    pub(crate) fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            set_read_deadline(&self.sock, deadline)?;
            return self.sock.read(buf);
        };
        loop {
            flush_tls(tls, &mut self.sock)?;
            match tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                // Closed without close_notify: for a request, just closed.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                Err(_) => {}
            }
            set_read_deadline(&self.sock, deadline)?;
            tls.read_tls(&mut self.sock)?;
            if let Err(e) = tls.process_new_packets() {
                let _ = flush_tls(tls, &mut self.sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }

    /// Writes all of `bytes` (the socket's write timeout bounds it).
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.tls.as_mut() {
            None => {
                self.sock.write_all(bytes)?;
                self.sock.flush()
            }
            Some(tls) => {
                tls.writer().write_all(bytes)?;
                flush_tls(tls, &mut self.sock)
            }
        }
    }

    /// Ends the TLS session (close_notify), leaving the socket open.
    pub(crate) fn end_tls(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            let _ = flush_tls(tls, &mut self.sock);
        }
    }

    /// The socket, for closing.
    pub(crate) fn socket(&mut self) -> &mut TcpStream {
        &mut self.sock
    }
}

/// Sends whatever TLS records are pending.
fn flush_tls(tls: &mut ServerConnection, sock: &mut TcpStream) -> io::Result<()> {
    while tls.wants_write() {
        tls.write_tls(sock)?;
    }
    sock.flush()
}

/// The socket's read timeout set to what is left until `deadline`; an
/// error of kind `TimedOut` once it has passed.
fn set_read_deadline(sock: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    sock.set_read_timeout(Some(left))
}

/// A read that ran out of time (`WouldBlock` is how Linux reports a
/// socket timeout).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
