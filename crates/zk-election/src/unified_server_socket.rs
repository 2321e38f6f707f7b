//! `UnifiedServerSocket` and `UnifiedSocket`: one connection on the
//! election or quorum port that is either plaintext or TLS, and, with
//! `portUnification`, the detection of which one a peer speaks from its
//! first byte (a TLS handshake record starts with 0x16; a plaintext
//! election initial message or Zab packet starts with 0xff or 0x00).
//!
//! The quorum code reads a connection on one thread and writes it from
//! others (a `SendWorker` beside its `RecvWorker`; the learner's packet
//! loop beside the threads that send to the leader), as it does a
//! `TcpStream` and its `try_clone`. A rustls connection is one state
//! machine, so a TLS `UnifiedSocket` shares it between its clones behind
//! a lock that is never held across a blocking socket call: a reader
//! blocks on the TCP socket with the lock released, then takes it to
//! decrypt; a writer encrypts under it, then writes the records to the
//! socket under a second lock that keeps them in order. So a writer stuck
//! on a full socket buffer never stops the reader from draining ours.
//!
//! `shutdown` acts on the TCP socket, as before: another thread's blocked
//! read or write ends at once. Read and write timeouts are the TCP
//! socket's, shared by every clone as `TcpStream`'s are.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use zk_config::rustls;
use zk_config::rustls::pki_types::CertificateDer;

use crate::quorum_tls::{handshake_failed, QuorumTls};

/// The first byte of a TLS record carrying a handshake message.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// The most plaintext encrypted at once: one TLS record's worth.
const PLAINTEXT_CHUNK: usize = 16 * 1024;
/// What one raw read takes from the socket at most (a TLS record and its
/// header fit).
const RAW_READ: usize = 17 * 1024;

/// The rustls state of one TLS connection and the ciphertext read from
/// the socket but not yet given to it.
struct TlsState {
    conn: rustls::Connection,
    pending: Vec<u8>,
}

/// What the clones of one TLS `UnifiedSocket` share.
struct TlsShared {
    state: Mutex<TlsState>,
    /// Held while records go to the socket, so that two writers' records
    /// reach it in the order rustls produced them.
    write_order: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, describe(&e))
}

/// rustls' error and what an operator should check.
fn describe(e: &rustls::Error) -> String {
    zk_config::describe_tls_error(e)
}

/// A handshake's io::Error, with the rustls error inside it described.
fn described(e: io::Error) -> io::Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(tls) => io::Error::new(e.kind(), describe(tls)),
        None => e,
    }
}

/// 3.8's `UnifiedServerSocket.UnifiedSocket` (and the `SSLSocket` of a
/// dialed connection): a quorum or election connection, plaintext or TLS.
/// Reads and writes as a `TcpStream` does; clones share the TLS session.
pub struct UnifiedSocket {
    tcp: TcpStream,
    tls: Option<Arc<TlsShared>>,
}

impl std::fmt::Debug for UnifiedSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnifiedSocket")
            .field("peer", &self.tcp.peer_addr().ok())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl UnifiedSocket {
    /// A plaintext connection.
    pub fn plain(tcp: TcpStream) -> UnifiedSocket {
        UnifiedSocket { tcp, tls: None }
    }

    /// Runs the TLS handshake of `conn` over `tcp` to its end, within
    /// `timeout` as a whole (each read and write gets what is left of
    /// it, so a peer that trickles bytes cannot hold us longer). The
    /// socket's read timeout is restored afterwards; writes have none.
    pub(crate) fn handshake(
        tcp: TcpStream,
        conn: impl Into<rustls::Connection>,
        timeout: Duration,
    ) -> io::Result<UnifiedSocket> {
        let mut conn: rustls::Connection = conn.into();
        let read_timeout = tcp.read_timeout()?;
        let deadline = Instant::now() + timeout;
        let mut io = &tcp;
        while conn.is_handshaking() || conn.wants_write() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("TLS handshake not done within {} ms", timeout.as_millis()),
                ));
            }
            tcp.set_read_timeout(Some(left))?;
            tcp.set_write_timeout(Some(left))?;
            match conn.complete_io(&mut io) {
                Ok((0, 0)) if conn.is_handshaking() => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "peer closed the connection during the TLS handshake",
                    ))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("TLS handshake not done within {} ms", timeout.as_millis()),
                    ))
                }
                Err(e) => {
                    // The alert rustls queued tells the peer why.
                    if conn.wants_write() {
                        let _ = conn.write_tls(&mut io);
                    }
                    return Err(described(e));
                }
            }
        }
        tcp.set_read_timeout(read_timeout)?;
        tcp.set_write_timeout(None)?;
        Ok(UnifiedSocket {
            tcp,
            tls: Some(Arc::new(TlsShared {
                state: Mutex::new(TlsState {
                    conn,
                    pending: Vec::new(),
                }),
                write_order: Mutex::new(()),
            })),
        })
    }

    /// A second handle on the same connection (and TLS session).
    pub fn try_clone(&self) -> io::Result<UnifiedSocket> {
        Ok(UnifiedSocket {
            tcp: self.tcp.try_clone()?,
            tls: self.tls.clone(),
        })
    }

    /// The TCP socket underneath (timeouts, options; never for I/O).
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Shuts the TCP socket down, waking every clone's blocked call.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.tcp.shutdown(how)
    }

    /// The read timeout of the TCP socket (every clone's).
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(d)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The certificate chain the peer presented (TLS only).
    pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
        let tls = self.tls.as_ref()?;
        let st = lock(&tls.state);
        st.conn.peer_certificates().map(<[_]>::to_vec)
    }

    /// The protocol and cipher suite, for the log.
    pub fn tls_description(&self) -> String {
        let Some(tls) = &self.tls else {
            return "plaintext".to_string();
        };
        let st = lock(&tls.state);
        format!(
            "{:?} {:?}",
            st.conn.protocol_version(),
            st.conn.negotiated_cipher_suite().map(|s| s.suite())
        )
    }

    /// Writes what rustls has to send, in order with every other writer.
    fn flush_tls(&self, tls: &TlsShared) -> io::Result<()> {
        let _order = lock(&tls.write_order);
        let mut out = Vec::new();
        {
            let mut st = lock(&tls.state);
            while st.conn.wants_write() {
                st.conn.write_tls(&mut out)?;
            }
        }
        (&self.tcp).write_all(&out)
    }

    fn read_tls(&self, tls: &TlsShared, buf: &mut [u8]) -> io::Result<usize> {
        let mut raw = [0u8; RAW_READ];
        loop {
            let mut needs_flush = false;
            let mut fed = false;
            {
                let mut st = lock(&tls.state);
                match st.conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                // Records rustls took in but has not decrypted yet (the
                // handshake's last read may have brought the first data
                // with it): decrypt them before waiting for more.
                st.conn.process_new_packets().map_err(tls_error)?;
                match st.conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if !st.pending.is_empty() {
                    let TlsState { conn, pending } = &mut *st;
                    let mut slice: &[u8] = pending;
                    let n = conn.read_tls(&mut slice)?;
                    pending.drain(..n);
                    fed = true;
                    let processed = conn.process_new_packets();
                    needs_flush = conn.wants_write();
                    if let Err(e) = processed {
                        drop(st);
                        // The alert rustls queued tells the peer why.
                        let _ = self.flush_tls(tls);
                        return Err(tls_error(e));
                    }
                }
            }
            if needs_flush {
                self.flush_tls(tls)?;
                continue;
            }
            if fed {
                // What was just decrypted is returned first.
                continue;
            }
            // Blocking, with no lock held.
            let n = (&self.tcp).read(&mut raw)?;
            let mut st = lock(&tls.state);
            if n == 0 {
                // End of stream: rustls then reports a clean close_notify
                // as Ok(0), a bare close as UnexpectedEof.
                st.conn.read_tls(&mut &[][..])?;
                st.conn.process_new_packets().map_err(tls_error)?;
            } else {
                st.pending.extend_from_slice(&raw[..n]);
            }
        }
    }

    fn write_tls(&self, tls: &TlsShared, buf: &[u8]) -> io::Result<usize> {
        let _order = lock(&tls.write_order);
        let mut out = Vec::with_capacity(buf.len().min(PLAINTEXT_CHUNK) + 64);
        // rustls holds only so much ciphertext (64 KiB) before it is
        // written out, so a large write (a snapshot, a big znode) goes in
        // record-sized pieces, the state lock released between them.
        for chunk in buf.chunks(PLAINTEXT_CHUNK) {
            {
                let mut st = lock(&tls.state);
                st.conn.writer().write_all(chunk)?;
                while st.conn.wants_write() {
                    st.conn.write_tls(&mut out)?;
                }
            }
            (&self.tcp).write_all(&out)?;
            out.clear();
        }
        Ok(buf.len())
    }
}

impl Read for &UnifiedSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.tls {
            None => (&self.tcp).read(buf),
            Some(tls) => self.read_tls(tls, buf),
        }
    }
}

impl Read for UnifiedSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for &UnifiedSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &self.tls {
            None => (&self.tcp).write(buf),
            Some(tls) => self.write_tls(tls, buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        (&self.tcp).flush()
    }
}

impl Write for UnifiedSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

/// 3.8's `UnifiedServerSocket` (and its `SSLServerSocket` case): turns an
/// accepted TCP connection into the [`UnifiedSocket`] the quorum's TLS
/// settings call for.
pub struct UnifiedServerSocket<'a> {
    tls: &'a QuorumTls,
}

impl<'a> UnifiedServerSocket<'a> {
    /// For the listener of a peer with these settings.
    pub fn new(tls: &'a QuorumTls) -> Self {
        UnifiedServerSocket { tls }
    }

    /// With `portUnification` TLS or plaintext as the peer opens, else
    /// TLS iff `sslQuorum`; a TLS handshake done within `timeout`, then
    /// the client's certificate checked against its address.
    pub fn accept(&self, tcp: TcpStream, timeout: Duration) -> io::Result<UnifiedSocket> {
        let tls = self.tls;
        let use_tls = if tls.port_unification() {
            peer_speaks_tls(&tcp, tls.detection_timeout())?
        } else {
            tls.is_ssl_quorum()
        };
        if !use_tls {
            return Ok(UnifiedSocket::plain(tcp));
        }
        let conn = rustls::ServerConnection::new(tls.server_config()?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let peer = tcp.peer_addr()?;
        let sock = UnifiedSocket::handshake(tcp, conn, timeout).map_err(handshake_failed)?;
        if let (Some(x509), Some(certs)) = (tls.x509(), sock.peer_certificates()) {
            x509.verify_client_hostname(&certs, peer.ip())
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!("TLS peer refused after the handshake: {e}"),
                    )
                })?;
        }
        Ok(sock)
    }
}

/// 3.8's `UnifiedServerSocket`'s mode detection: whether the peer on an
/// accepted connection opens with a TLS handshake. Waits up to `timeout`
/// for its first byte without consuming it; a peer that sends nothing
/// in that time is taken as plaintext, as 3.8 does.
fn peer_speaks_tls(tcp: &TcpStream, timeout: Duration) -> io::Result<bool> {
    let previous = tcp.read_timeout()?;
    tcp.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
    let mut first = [0u8; 1];
    let peeked = tcp.peek(&mut first);
    tcp.set_read_timeout(previous)?;
    match peeked {
        Ok(0) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "peer closed the connection before sending anything",
        )),
        Ok(_) => Ok(first[0] == TLS_HANDSHAKE_RECORD),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "unified_server_socket_tests.rs"]
mod tests;
