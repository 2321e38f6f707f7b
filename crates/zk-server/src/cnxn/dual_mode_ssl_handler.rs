//! `DualModeSslHandler`: with `client.portUnification=true` the plain
//! client port takes TLS and plaintext clients alike, told apart by their
//! first bytes, as 3.8's `NettyServerCnxnFactory.DualModeSslHandler` does:
//! five bytes that start a TLS record (Netty's `SslHandler.isEncrypted`)
//! make the connection TLS; a first byte that cannot start a TLS handshake
//! record makes it plaintext at once (a four-letter word is only four
//! bytes); otherwise it waits, without blocking the selector, for the
//! fifth byte, until the handshake deadline.

use std::io::{self, Read};
use std::time::Instant;

use mio::net::TcpStream;

/// How many bytes tell TLS from plaintext: one TLS record header.
const DETECTION_BYTES: usize = 5;
/// A TLS handshake record's content type (`SslUtils.SSL_CONTENT_TYPE_HANDSHAKE`).
const TLS_HANDSHAKE_RECORD_TYPE: u8 = 0x16;

/// What the first bytes say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detected {
    /// Not enough bytes yet.
    Pending,
    /// The client closed before saying anything that decides.
    Eof,
    /// A plaintext client; these bytes are its first.
    Plaintext(Vec<u8>),
    /// A TLS client; these bytes are the start of its first record.
    Tls(Vec<u8>),
}

/// The first bytes of a connection on a unified port (see the module doc).
pub(crate) struct DualModeSslHandler {
    prefix: Vec<u8>,
    /// The client must have decided by then.
    deadline: Instant,
}

impl DualModeSslHandler {
    /// A connection just accepted, to be told apart by `deadline`.
    pub fn new(deadline: Instant) -> DualModeSslHandler {
        DualModeSslHandler {
            prefix: Vec::with_capacity(DETECTION_BYTES),
            deadline,
        }
    }

    /// When the client must have sent its first bytes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Reads (no more than the detection needs) and decides if it can.
    pub fn detect(&mut self, stream: &mut TcpStream) -> io::Result<Detected> {
        loop {
            if let Some(d) = self.decide() {
                return Ok(d);
            }
            let mut buf = [0u8; DETECTION_BYTES];
            let want = DETECTION_BYTES - self.prefix.len();
            match stream.read(&mut buf[..want]) {
                Ok(0) => return Ok(Detected::Eof),
                Ok(n) => self.prefix.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Detected::Pending),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn decide(&mut self) -> Option<Detected> {
        let first = *self.prefix.first()?;
        if self.prefix.len() >= DETECTION_BYTES {
            let bytes = std::mem::take(&mut self.prefix);
            return Some(if is_encrypted(&bytes) {
                Detected::Tls(bytes)
            } else {
                Detected::Plaintext(bytes)
            });
        }
        (first != TLS_HANDSHAKE_RECORD_TYPE)
            .then(|| Detected::Plaintext(std::mem::take(&mut self.prefix)))
    }
}

/// Whether five bytes start a TLS record as Netty's `SslHandler.isEncrypted`
/// sees it: a TLS content type, major version 3, and a record longer than
/// its header's remainder. (SSLv2 hellos, which Netty also recognises, are
/// not TLS that rustls or 3.8's default protocols accept.)
pub(crate) fn is_encrypted(first: &[u8]) -> bool {
    let [kind, major, _minor, hi, lo, ..] = *first else {
        return false;
    };
    let record_len = u16::from_be_bytes([hi, lo]) as usize;
    (20..=24).contains(&kind) && major == 3 && record_len > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_records_are_told_from_zookeeper_frames() {
        assert!(is_encrypted(&[0x16, 3, 1, 0, 200]));
        assert!(is_encrypted(&[0x17, 3, 3, 0x40, 0]));
        assert!(!is_encrypted(&[0x16, 3, 1, 0, 0]), "empty record");
        assert!(!is_encrypted(&[0x16, 2, 1, 0, 10]), "not TLS 1.x");
        // A ConnectRequest's length prefix, and four-letter words.
        assert!(!is_encrypted(&[0, 0, 0, 44, 0]));
        assert!(!is_encrypted(b"ruok\0"));
        assert!(!is_encrypted(&[0x16, 3]), "too short");
    }

    fn pair() -> (TcpStream, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        (TcpStream::from_std(s), c)
    }

    /// Reads until the detection is no longer pending (the bytes are on
    /// their way through loopback).
    fn detect_until_decided(d: &mut DualModeSslHandler, s: &mut TcpStream) -> Detected {
        let until = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match d.detect(s).unwrap() {
                Detected::Pending if Instant::now() < until => std::thread::yield_now(),
                other => return other,
            }
        }
    }

    #[test]
    fn detection_waits_for_five_bytes_only_after_a_handshake_byte() {
        use std::io::Write;
        let (mut s, mut c) = pair();
        let mut d = DualModeSslHandler::new(Instant::now());
        assert_eq!(d.detect(&mut s).unwrap(), Detected::Pending);
        c.write_all(b"ru").unwrap();
        assert_eq!(
            detect_until_decided(&mut d, &mut s),
            Detected::Plaintext(b"ru".to_vec())
        );

        let (mut s, mut c) = pair();
        let mut d = DualModeSslHandler::new(Instant::now());
        c.write_all(&[0x16, 3]).unwrap();
        // Two bytes of a handshake record: nothing decides yet.
        let until = Instant::now() + std::time::Duration::from_millis(200);
        while Instant::now() < until {
            assert_eq!(d.detect(&mut s).unwrap(), Detected::Pending);
        }
        c.write_all(&[1, 0, 9, 0xff]).unwrap();
        assert_eq!(
            detect_until_decided(&mut d, &mut s),
            Detected::Tls(vec![0x16, 3, 1, 0, 9]),
            "no more than five bytes are taken"
        );

        let (mut s, c) = pair();
        let mut d = DualModeSslHandler::new(Instant::now());
        drop(c);
        assert_eq!(detect_until_decided(&mut d, &mut s), Detected::Eof);
    }
}
