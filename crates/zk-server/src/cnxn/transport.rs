//! What a `NIOServerCnxn` reads its frames from and writes its replies to:
//! the client's socket, plaintext or through TLS. In 3.8 this is the front
//! of the Netty channel pipeline: nothing on the plain port, an
//! [`SslHandler`] on the secure port, a [`DualModeSslHandler`] that becomes
//! one or the other on a unified port. The connection above sees the same
//! plaintext bytes in every case; `read` and `write` behave as a
//! non-blocking socket's (`Ok(0)` at end of stream, `WouldBlock` when it
//! must wait for the selector).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use rustls::ServerConfig;

use super::dual_mode_ssl_handler::{Detected, DualModeSslHandler};
use super::ssl_handler::{Handshake, SslHandler};

/// The socket and what is between it and the connection.
pub(crate) struct Transport {
    stream: TcpStream,
    mode: Mode,
}

enum Mode {
    /// Plaintext, the bytes as they are.
    Plain,
    /// A unified port's connection whose first bytes have not decided
    /// yet; it becomes `Plain` or `Tls`.
    Detecting(DualModeSslHandler, Arc<ServerConfig>),
    /// TLS.
    Tls(Box<SslHandler>),
}

/// How a connection's bytes travel, for the log and the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    /// Plaintext.
    Plain,
    /// Not decided yet (unified port).
    Detecting,
    /// TLS.
    Tls,
}

impl Transport {
    /// A plaintext connection.
    pub fn plain(stream: TcpStream) -> Transport {
        Transport {
            stream,
            mode: Mode::Plain,
        }
    }

    /// A TLS connection whose handshake must finish by `deadline`.
    pub fn tls(
        stream: TcpStream,
        config: Arc<ServerConfig>,
        deadline: Instant,
    ) -> Result<Transport, rustls::Error> {
        Ok(Transport {
            stream,
            mode: Mode::Tls(Box::new(SslHandler::new(config, deadline, Vec::new())?)),
        })
    }

    /// A unified port's connection: TLS or plaintext as its first bytes
    /// say, decided (and a TLS handshake finished) by `deadline`.
    pub fn dual_mode(stream: TcpStream, config: Arc<ServerConfig>, deadline: Instant) -> Transport {
        Transport {
            stream,
            mode: Mode::Detecting(DualModeSslHandler::new(deadline), config),
        }
    }

    /// The socket, to register and deregister.
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// How its bytes travel.
    pub fn kind(&self) -> TransportKind {
        match self.mode {
            Mode::Plain => TransportKind::Plain,
            Mode::Detecting(..) => TransportKind::Detecting,
            Mode::Tls(_) => TransportKind::Tls,
        }
    }

    /// The handshake deadline (or the deadline for the first bytes), while
    /// one runs.
    pub fn handshake_deadline(&self) -> Option<Instant> {
        match &self.mode {
            Mode::Plain => None,
            Mode::Detecting(d, _) => Some(d.deadline()),
            Mode::Tls(h) => h.handshake_deadline(),
        }
    }

    /// A TLS handshake that finished since the last call, once.
    pub fn take_finished_handshake(&mut self) -> Option<Handshake> {
        match &mut self.mode {
            Mode::Tls(h) => h.take_finished_handshake(),
            _ => None,
        }
    }

    /// Reads plaintext into `buf` (see the module doc).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.mode {
                Mode::Plain => return self.stream.read(buf),
                Mode::Tls(h) => return h.read(&mut self.stream, buf),
                Mode::Detecting(d, config) => match d.detect(&mut self.stream)? {
                    Detected::Pending => return Err(io::ErrorKind::WouldBlock.into()),
                    Detected::Eof => return Ok(0),
                    Detected::Plaintext(first) => {
                        assert!(
                            buf.len() >= first.len(),
                            "a read buffer of {} bytes cannot take the {} detection bytes",
                            buf.len(),
                            first.len()
                        );
                        buf[..first.len()].copy_from_slice(&first);
                        self.mode = Mode::Plain;
                        return Ok(first.len());
                    }
                    Detected::Tls(first) => {
                        let handler = SslHandler::new(Arc::clone(config), d.deadline(), first)
                            .map_err(|e| io::Error::other(format!("TLS setup failed: {e}")))?;
                        self.mode = Mode::Tls(Box::new(handler));
                    }
                },
            }
        }
    }

    /// Writes some of `data` (see the module doc).
    pub fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.mode {
            Mode::Tls(h) => h.write(&mut self.stream, data),
            // Nothing is written to an undecided connection: it has sent
            // no request yet.
            Mode::Plain | Mode::Detecting(..) => self.stream.write(data),
        }
    }

    /// Sends what TLS has waiting (handshake messages, records).
    pub fn flush_pending(&mut self) -> io::Result<()> {
        match &mut self.mode {
            Mode::Tls(h) => h.flush(&mut self.stream),
            _ => Ok(()),
        }
    }

    /// Whether bytes wait in TLS for the socket.
    pub fn has_pending_output(&self) -> bool {
        match &self.mode {
            Mode::Tls(h) => h.has_pending_output(),
            _ => false,
        }
    }

    /// Ends the connection: TLS says goodbye as far as the socket takes it
    /// now, then the socket is shut down.
    pub fn shutdown(&mut self) {
        if let Mode::Tls(h) = &mut self.mode {
            h.close(&mut self.stream);
        }
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}
