//! `NullQuorumAuthLearner`: quorum SASL off (`quorum.auth.enableSasl`
//! false, the default).

use std::io;

use crate::quorum_auth_learner::QuorumAuthLearner;
use crate::unified_server_socket::UnifiedSocket;

/// Sends nothing: the connection's own traffic starts at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullQuorumAuthLearner;

impl QuorumAuthLearner for NullQuorumAuthLearner {
    fn authenticate(&self, _sock: &UnifiedSocket, _hostname: &str) -> io::Result<()> {
        Ok(())
    }
}
