//! `NullQuorumAuthServer`: quorum SASL off (`quorum.auth.enableSasl`
//! false, the default).

use std::io;

use crate::quorum_auth::PeekRead;
use crate::quorum_auth_server::QuorumAuthServer;
use crate::unified_server_socket::UnifiedSocket;

/// Lets every peer in without reading anything: a peer that sends an
/// auth packet anyway has it read as election or Zab traffic, which
/// fails, as with 3.8.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullQuorumAuthServer;

impl QuorumAuthServer for NullQuorumAuthServer {
    fn authenticate(&self, _sock: &UnifiedSocket, _din: &mut dyn PeekRead) -> io::Result<()> {
        Ok(())
    }
}
