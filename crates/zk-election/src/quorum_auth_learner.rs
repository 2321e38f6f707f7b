//! `QuorumAuthLearner`: the dialing side of quorum authentication, run on
//! every election connection this server dials (after the initial
//! message) and on a learner's connection to its leader (before
//! FOLLOWERINFO/OBSERVERINFO).

use std::fmt;
use std::io;

use crate::unified_server_socket::UnifiedSocket;

/// 3.8's `QuorumAuthLearner` interface.
pub trait QuorumAuthLearner: Send + Sync + fmt::Debug {
    /// Authenticates this server to the peer at the other end of `sock`,
    /// whose `server.N` line names `hostname` (for a Kerberos service
    /// principal's `_HOST`). Reads unbuffered from `sock`, so nothing the
    /// peer sends after the exchange is taken. `Err` says why the
    /// connection cannot be used; the caller closes it. The socket's read
    /// timeout bounds the whole exchange.
    fn authenticate(&self, sock: &UnifiedSocket, hostname: &str) -> io::Result<()>;
}
