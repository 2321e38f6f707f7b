//! `QuorumAuthServer`: the accepting side of quorum authentication, run
//! on every accepted election connection (after the initial message) and
//! every learner connection to the leader (before FOLLOWERINFO).

use std::fmt;
use std::io;

use crate::quorum_auth::PeekRead;
use crate::unified_server_socket::UnifiedSocket;

/// 3.8's `QuorumAuthServer` interface.
pub trait QuorumAuthServer: Send + Sync + fmt::Debug {
    /// Authenticates the peer at the other end of `sock`, reading its
    /// packets from `din` (the connection's reader, which may hold bytes
    /// already read from `sock`) and writing to `sock`. `Ok` lets the
    /// connection go on: the peer authenticated, or authentication is not
    /// required of it. `Err` says why the peer is refused; the caller
    /// closes the connection. The socket's read timeout bounds the whole
    /// exchange.
    fn authenticate(&self, sock: &UnifiedSocket, din: &mut dyn PeekRead) -> io::Result<()>;
}
