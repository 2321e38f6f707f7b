//! `Follower`: a voting learner's life under one leader, from connecting
//! to the connection's end.
//!
//! [`Follower::follow_leader`] runs on the peer's thread: connect,
//! register, check the epoch, sync (all [`Learner`]'s), then read packets
//! until the leader goes away or the peer stops:
//!
//! | packet | follower |
//! |---|---|
//! | PING | reply with session touches |
//! | PROPOSAL | log it; ACK once durable |
//! | COMMIT | apply the oldest logged proposal |
//! | SYNC | answer the oldest pending client sync |
//! | REVALIDATE | finish the reconnecting session |
//!
//! The caller goes back to LOOKING when it returns. The observer's
//! counterpart is [`crate::observer::Observer`].

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use log::{error, warn};

use crate::learner::{proposal_entry, Learner};
use crate::quorum_packet::{packet_type, QuorumPacket};
use crate::quorum_peer::QuorumPeer;
use crate::servers::LearnerZkServer;

/// A follower (`Follower`): a `Learner` whose server logs and ACKs the
/// leader's proposals and applies them on COMMIT.
pub struct Follower<'a> {
    learner: Learner,
    zk: &'a dyn LearnerZkServer,
}

impl<'a> Follower<'a> {
    /// `followLeader`: follows the leader at `addr` until the connection
    /// ends. Always ends in an error saying why (the leader went away,
    /// the peer stopped, a protocol violation).
    pub fn follow_leader(
        peer: &Arc<QuorumPeer>,
        zk: &'a dyn LearnerZkServer,
        addr: SocketAddr,
    ) -> io::Error {
        let learner = match Learner::connect_for(peer, zk, addr) {
            Ok(l) => l,
            Err(e) => return e,
        };
        let mut follower = Follower { learner, zk };
        let err = match follower.follow() {
            Ok(never) => match never {},
            Err(e) => e,
        };
        follower.learner.end(zk, "following", err)
    }

    fn follow(&mut self) -> io::Result<Infallible> {
        self.learner
            .join_leader(self.zk, packet_type::FOLLOWERINFO, false)?;
        loop {
            let qp = self.learner.read_packet_while_running()?;
            self.process_packet(&qp)?;
        }
    }

    /// `processPacket`: one packet from the leader after the sync.
    pub(crate) fn process_packet(&mut self, qp: &QuorumPacket) -> io::Result<()> {
        let zk = self.zk;
        match qp.packet_type {
            packet_type::PING => self.learner.ping(qp, zk)?,
            packet_type::PROPOSAL => {
                let entry = proposal_entry(qp)?;
                let zxid = entry.zxid();
                zk.log_request(entry)?;
                if !zk.acks_logged_txns() {
                    self.learner
                        .write_packet(&QuorumPacket::new(packet_type::ACK, zxid, None), true)?;
                }
            }
            packet_type::COMMIT => zk.commit(qp.zxid)?,
            packet_type::UPTODATE => error!("Received an UPTODATE message after Follower started"),
            packet_type::REVALIDATE => Learner::revalidate(zk, qp)?,
            packet_type::SYNC => zk.sync(),
            _ => warn!("Unknown packet type: {qp}"),
        }
        Ok(())
    }
}
