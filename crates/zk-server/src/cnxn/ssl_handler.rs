//! `SslHandler`: TLS between a client's socket and its `NIOServerCnxn`,
//! the part Netty's `SslHandler` plays in 3.8's `NettyServerCnxnFactory`
//! pipeline (3.8's NIO factory has no TLS). The connection above reads and
//! writes plaintext exactly as on a plaintext socket: its ZooKeeper frames
//! are the same bytes either way.
//!
//! A [`rustls::ServerConnection`] is driven by hand over the non-blocking
//! mio socket: `read_tls` takes what the socket has, `process_new_packets`
//! decrypts it (and advances the handshake), `write_tls` sends what rustls
//! has to send (handshake messages, alerts, encrypted replies). Nothing
//! here ever waits: a socket that has nothing to read, or takes no more,
//! gives `WouldBlock`, and the selector resumes on the socket's next
//! readable or writable event. The socket is registered for both from the
//! start (edge-triggered), so rustls wanting to read (`WANT_READ`) waits for
//! the readable edge and rustls wanting to write (`WANT_WRITE`) for the
//! writable edge that follows a write that would block.
//!
//! The handshake has a deadline, fixed when the connection is accepted
//! and not pushed out by traffic, so a client trickling a handshake byte
//! by byte is closed as surely as a silent one.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use zk_config::rustls::pki_types::CertificateDer;
use zk_config::rustls::{self, ServerConfig, ServerConnection};

/// The most plaintext handed to rustls in one write: one TLS record's
/// worth, so a reply queue is encrypted only as fast as the socket takes
/// it.
const MAX_PLAINTEXT_PER_WRITE: usize = 16 * 1024;

/// What a finished handshake leaves for the `CertificateVerifier`.
pub(crate) struct Handshake {
    /// The client's certificate chain, leaf first (empty when it sent
    /// none); rustls has verified it against the trust store.
    pub peer_certs: Vec<CertificateDer<'static>>,
    /// The negotiated protocol and cipher suite, for the log.
    pub summary: String,
}

/// TLS over one client socket (see the module doc).
pub(crate) struct SslHandler {
    conn: ServerConnection,
    /// TLS bytes read before this handler was chosen (by the
    /// `DualModeSslHandler`), fed to rustls before the socket's.
    replay: Vec<u8>,
    /// The handshake must be finished by then; `None` once it is.
    deadline: Option<Instant>,
    /// The finished handshake, until the selector takes it.
    finished: Option<Handshake>,
}

impl SslHandler {
    /// A handler whose handshake must finish by `deadline`, fed first with
    /// `replay` (bytes already read from the socket).
    pub fn new(
        config: Arc<ServerConfig>,
        deadline: Instant,
        replay: Vec<u8>,
    ) -> Result<SslHandler, rustls::Error> {
        Ok(SslHandler {
            conn: ServerConnection::new(config)?,
            replay,
            deadline: Some(deadline),
            finished: None,
        })
    }

    /// When the handshake must be finished, while it is not.
    pub fn handshake_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The handshake that finished since the last call, once.
    pub fn take_finished_handshake(&mut self) -> Option<Handshake> {
        self.finished.take()
    }

    /// Reads plaintext into `buf`: `Ok(0)` when the client closed,
    /// `WouldBlock` when nothing more can be read now, `InvalidData` when
    /// the client's bytes are not TLS this server accepts.
    pub fn read(&mut self, stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Closed without close_notify: ZooKeeper's frames carry
                // their own lengths, so a cut is seen as an incomplete
                // frame, not as data.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            let got = if self.replay.is_empty() {
                self.conn.read_tls(stream)
            } else {
                let mut rest = &self.replay[..];
                let got = self.conn.read_tls(&mut rest);
                let used = self.replay.len() - rest.len();
                self.replay.drain(..used);
                got
            };
            match got {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.flush(stream)?;
                    return Err(e);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.process(stream)?;
        }
    }

    /// Decrypts what was read; a finished handshake is noted, and what
    /// rustls has to say (handshake messages, an alert) is sent.
    fn process(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        if let Err(e) = self.conn.process_new_packets() {
            // The alert rustls queued tells the client why, if it listens.
            let _ = self.flush(stream);
            let what = if self.deadline.is_some() {
                "TLS handshake failed"
            } else {
                "TLS error"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{what}: {}", zk_config::describe_tls_error(&e)),
            ));
        }
        if self.deadline.is_some() && !self.conn.is_handshaking() {
            self.deadline = None;
            self.finished = Some(Handshake {
                peer_certs: self
                    .conn
                    .peer_certificates()
                    .map(<[CertificateDer<'static>]>::to_vec)
                    .unwrap_or_default(),
                summary: format!(
                    "{:?} {:?}",
                    self.conn.protocol_version(),
                    self.conn.negotiated_cipher_suite().map(|s| s.suite())
                ),
            });
        }
        self.flush(stream)
    }

    /// Encrypts some of `data` and sends what the socket takes; the bytes
    /// taken are counted as written. `WouldBlock` while earlier records
    /// still wait for the socket.
    pub fn write(&mut self, stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
        self.flush(stream)?;
        if self.conn.wants_write() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let chunk = &data[..data.len().min(MAX_PLAINTEXT_PER_WRITE)];
        let n = self.conn.writer().write(chunk)?;
        if n == 0 && !chunk.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.flush(stream)?;
        Ok(n)
    }

    /// Sends what rustls has to send, as far as the socket takes it.
    pub fn flush(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(stream) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether encrypted bytes wait for the socket.
    pub fn has_pending_output(&self) -> bool {
        self.conn.wants_write()
    }

    /// Says goodbye (close_notify), as far as the socket takes it now.
    pub fn close(&mut self, stream: &mut TcpStream) {
        self.conn.send_close_notify();
        let _ = self.flush(stream);
    }
}
