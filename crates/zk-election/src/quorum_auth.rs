//! `QuorumAuth`: the names and numbers of quorum SASL (3.8's
//! `server/quorum/auth/QuorumAuth.java`), and the look-ahead its server
//! side needs to tell an authenticating peer from one that is not.
//!
//! Quorum SASL runs on every election connection (after the initial
//! message) and every learner's quorum (Zab) connection (before
//! FOLLOWERINFO/OBSERVERINFO): the dialing peer is the *learner*
//! ([`crate::QuorumAuthLearner`]), the accepting one the *server*
//! ([`crate::QuorumAuthServer`]). The switches, as 3.8 combines them:
//!
//! | `enableSasl` | `learnerRequireSasl` | `serverRequireSasl` | dials | accepts |
//! |---|---|---|---|---|
//! | false | – | – | no auth | no auth (an auth packet is taken for traffic and fails) |
//! | true | false | false | no auth | auth if the peer starts it; a peer that fails or does not try is let in |
//! | true | true | false | auth, refused peer = failed connection | as above |
//! | true | true | true | auth | auth required |
//!
//! so a running ensemble turns SASL on by three rolling restarts, one
//! switch at a time (3.8 refuses the other combinations at startup).

use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::unified_server_socket::UnifiedSocket;

/// The constants of 3.8's `QuorumAuth`.
pub struct QuorumAuth;

impl QuorumAuth {
    /// zoo.cfg: turn quorum SASL on.
    pub const QUORUM_SASL_AUTH_ENABLED: &'static str = "quorum.auth.enableSasl";
    /// zoo.cfg: refuse learners that do not authenticate.
    pub const QUORUM_SERVER_SASL_AUTH_REQUIRED: &'static str = "quorum.auth.serverRequireSasl";
    /// zoo.cfg: authenticate when dialing.
    pub const QUORUM_LEARNER_SASL_AUTH_REQUIRED: &'static str = "quorum.auth.learnerRequireSasl";
    /// zoo.cfg: the Kerberos principal learners ask for (`_HOST` is the
    /// server's host name).
    pub const QUORUM_KERBEROS_SERVICE_PRINCIPAL: &'static str =
        "quorum.auth.kerberos.servicePrincipal";
    /// Its default.
    pub const QUORUM_KERBEROS_SERVICE_PRINCIPAL_DEFAULT_VALUE: &'static str = "zkquorum/localhost";
    /// zoo.cfg: the JAAS section a learner logs in with.
    pub const QUORUM_LEARNER_SASL_LOGIN_CONTEXT: &'static str =
        "quorum.auth.learner.saslLoginContext";
    /// Its default.
    pub const QUORUM_LEARNER_SASL_LOGIN_CONTEXT_DEFAULT_VALUE: &'static str = "QuorumLearner";
    /// zoo.cfg: the JAAS section a server logs in with (and, for
    /// DIGEST-MD5, takes its `user_NAME` passwords from).
    pub const QUORUM_SERVER_SASL_LOGIN_CONTEXT: &'static str =
        "quorum.auth.server.saslLoginContext";
    /// Its default.
    pub const QUORUM_SERVER_SASL_LOGIN_CONTEXT_DEFAULT_VALUE: &'static str = "QuorumServer";
    /// The SASL protocol name (DIGEST-MD5's digest-uri service).
    pub const QUORUM_SERVER_PROTOCOL_NAME: &'static str = "zookeeper-quorum";
    /// The SASL server name for DIGEST-MD5 (and so its realm).
    pub const QUORUM_SERVER_SASL_DIGEST: &'static str = "zk-quorum-sasl-md5";
    /// The first long of every `QuorumAuthPacket` (Java's
    /// `-0xa0dbcafecafe1234L`, which is positive).
    pub const QUORUM_AUTH_MAGIC_NUMBER: i64 = -(0xa0db_cafe_cafe_1234_u64 as i64);
    /// zoo.cfg: the most connection threads (3.8's connection executor);
    /// only a value above the default counts.
    pub const QUORUM_CNXN_THREADS_SIZE: &'static str = "quorum.cnxn.threads.size";
    /// Its default, and floor.
    pub const QUORUM_CNXN_THREADS_SIZE_DEFAULT_VALUE: usize = 20;

    /// `quorum.cnxn.threads.size` as 3.8's `setQuorumCnxnThreadsSize`
    /// takes it: raised to the default when lower.
    pub fn cnxn_threads_size(configured: i32) -> usize {
        usize::try_from(configured)
            .unwrap_or(0)
            .max(Self::QUORUM_CNXN_THREADS_SIZE_DEFAULT_VALUE)
    }
}

/// `QuorumAuth.Status`: where the sender of a packet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// More tokens follow (0).
    InProgress,
    /// The server is done and the learner is authenticated (1).
    Success,
    /// The exchange failed (-1).
    Error,
}

impl Status {
    /// The value on the wire.
    pub fn status(self) -> i32 {
        match self {
            Status::InProgress => 0,
            Status::Success => 1,
            Status::Error => -1,
        }
    }

    /// The status a wire value stands for, if any.
    pub fn from_status(v: i32) -> Option<Status> {
        match v {
            0 => Some(Status::InProgress),
            1 => Some(Status::Success),
            -1 => Some(Status::Error),
            _ => None,
        }
    }
}

/// A reader that can look at the next bytes without taking them, as 3.8
/// uses `mark`/`reset` on a `BufferedInputStream`: the server side peeks
/// at a connection's next long to see whether the peer authenticates.
pub trait PeekRead: Read + Send {
    /// The next `n` bytes, left to be read again; fewer only at the end
    /// of the stream.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]>;
}

/// [`PeekRead`] over any reader: what was peeked is read first.
#[derive(Debug)]
pub struct PeekableReader<R> {
    peeked: Vec<u8>,
    inner: R,
}

impl<R: Read> PeekableReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        PeekableReader {
            peeked: Vec::new(),
            inner,
        }
    }

    /// The wrapped reader (bytes already peeked stay here).
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for PeekableReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.peeked.is_empty() {
            return self.inner.read(buf);
        }
        let n = buf.len().min(self.peeked.len());
        buf[..n].copy_from_slice(&self.peeked[..n]);
        self.peeked.drain(..n);
        Ok(n)
    }
}

impl<R: Read + Send> PeekRead for PeekableReader<R> {
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        let mut chunk = [0u8; 64];
        while self.peeked.len() < n {
            let want = (n - self.peeked.len()).min(chunk.len());
            match self.inner.read(&mut chunk[..want]) {
                Ok(0) => break,
                Ok(k) => self.peeked.extend_from_slice(&chunk[..k]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(&self.peeked[..n.min(self.peeked.len())])
    }
}

/// `QuorumAuth.nextPacketIsAuth`: whether the next long is the auth
/// magic, consuming nothing. A stream that ends first is an error
/// (3.8's `readLong` throws `EOFException`).
pub fn next_packet_is_auth(din: &mut dyn PeekRead) -> io::Result<bool> {
    let head = din.peek(8)?;
    let head: [u8; 8] = head.try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before its first packet",
        )
    })?;
    Ok(i64::from_be_bytes(head) == QuorumAuth::QUORUM_AUTH_MAGIC_NUMBER)
}

/// The time a whole exchange may take: the socket's read timeout when it
/// began (3.8 bounds each read by it; here a peer that trickles its
/// tokens cannot stretch the exchange either). Each read gets what is
/// left; [`ExchangeDeadline::restore`] puts the timeout back.
pub(crate) struct ExchangeDeadline<'a> {
    sock: &'a UnifiedSocket,
    original: Option<Duration>,
    until: Option<Instant>,
}

impl<'a> ExchangeDeadline<'a> {
    pub(crate) fn start(sock: &'a UnifiedSocket) -> io::Result<Self> {
        let original = sock.tcp().read_timeout()?;
        Ok(ExchangeDeadline {
            sock,
            original,
            until: original.map(|t| Instant::now() + t),
        })
    }

    /// Sets the read timeout to what is left; `TimedOut` once none is.
    pub(crate) fn arm(&self) -> io::Result<()> {
        let Some(until) = self.until else {
            return Ok(());
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "quorum authentication not done within {} ms",
                    self.original.unwrap_or_default().as_millis()
                ),
            ));
        }
        self.sock.set_read_timeout(Some(left))
    }

    pub(crate) fn restore(&self) -> io::Result<()> {
        self.sock.set_read_timeout(self.original)
    }
}

/// The peer's address as logs show it.
pub(crate) fn remote_of(sock: &UnifiedSocket) -> String {
    sock.peer_addr()
        .map_or_else(|_| "<unknown>".to_string(), |a| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values_are_38s() {
        for s in [Status::InProgress, Status::Success, Status::Error] {
            assert_eq!(Status::from_status(s.status()), Some(s));
        }
        assert_eq!(Status::Success.status(), 1);
        assert_eq!(Status::Error.status(), -1);
        assert_eq!(Status::from_status(2), None);
    }

    #[test]
    fn peeking_leaves_the_bytes_to_read() {
        let data: Vec<u8> = (0..100).collect();
        // A reader that hands out 3 bytes at a time.
        struct Trickle(Vec<u8>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(3).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let mut r = PeekableReader::new(Trickle(data.clone()));
        assert_eq!(r.peek(8).unwrap(), &data[..8]);
        assert!(!next_packet_is_auth(&mut r).unwrap());
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
    }

    #[test]
    fn magic_is_seen_and_a_short_stream_is_an_error() {
        let magic = QuorumAuth::QUORUM_AUTH_MAGIC_NUMBER.to_be_bytes();
        let mut r = PeekableReader::new(&magic[..]);
        assert!(next_packet_is_auth(&mut r).unwrap());
        let mut short = PeekableReader::new(&[1u8, 2, 3][..]);
        let e = next_packet_is_auth(&mut short).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn threads_size_has_a_floor() {
        assert_eq!(QuorumAuth::cnxn_threads_size(0), 20);
        assert_eq!(QuorumAuth::cnxn_threads_size(-5), 20);
        assert_eq!(QuorumAuth::cnxn_threads_size(5), 20);
        assert_eq!(QuorumAuth::cnxn_threads_size(50), 50);
    }
}
