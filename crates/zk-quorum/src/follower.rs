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

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use log::{error, info, warn};
use zk_config::QuorumVerifier;

use crate::learner::{proposal_entry, Learner};
use crate::learner_reconfig::{changes_proposed_in_reconfig, designated_leader, reconfig_config};
use crate::quorum_packet::{packet_type, QuorumPacket};
use crate::quorum_peer::QuorumPeer;
use crate::servers::LearnerZkServer;

/// A follower (`Follower`): a `Learner` whose server logs and ACKs the
/// leader's proposals and applies them on COMMIT.
pub struct Follower<'a> {
    learner: Learner,
    zk: &'a dyn LearnerZkServer,
    /// The configs of reconfig proposals not yet committed, by zxid (3.8
    /// reads the one to activate from the head of `pendingTxns`).
    pending_reconfigs: BTreeMap<i64, QuorumVerifier>,
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
        let mut follower = Follower {
            learner,
            zk,
            pending_reconfigs: BTreeMap::new(),
        };
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
                zk_server::server_metrics::ServerMetrics::get()
                    .learner_proposal_received_count
                    .inc();
                let entry = proposal_entry(qp)?;
                let zxid = entry.zxid();
                if let Some(qv) = reconfig_config(&entry)? {
                    // Proposed, not committed: zoo.cfg.dynamic.next.
                    self.learner
                        .peer()
                        .set_last_seen_quorum_verifier(qv.clone(), true);
                    self.pending_reconfigs.insert(zxid, qv);
                }
                zk.log_request(entry)?;
                if !zk.acks_logged_txns() {
                    self.learner
                        .write_packet(&QuorumPacket::new(packet_type::ACK, zxid, None), true)?;
                }
            }
            packet_type::COMMIT => {
                zk_server::server_metrics::ServerMetrics::get()
                    .learner_commit_received_count
                    .inc();
                self.pending_reconfigs.remove(&qp.zxid);
                zk.commit(qp.zxid)?
            }
            packet_type::COMMITANDACTIVATE => self.commit_and_activate(qp)?,
            packet_type::UPTODATE => error!("Received an UPTODATE message after Follower started"),
            packet_type::REVALIDATE => Learner::revalidate(zk, qp)?,
            packet_type::SYNC => zk.sync(),
            _ => warn!("Unknown packet type: {qp}"),
        }
        Ok(())
    }

    /// COMMITANDACTIVATE: the reconfig proposal at `qp.zxid` is committed
    /// and its config takes effect (with the leader the old one
    /// designated) before the txn is applied; a change of leader or of our
    /// learner type ends following.
    fn commit_and_activate(&mut self, qp: &QuorumPacket) -> io::Result<()> {
        let zxid = qp.zxid;
        let leader = designated_leader(qp.data())?;
        let qv = self.pending_reconfigs.remove(&zxid).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("COMMITANDACTIVATE 0x{zxid:x} without its reconfig proposal"),
            )
        })?;
        // Older ones can no longer commit.
        self.pending_reconfigs.retain(|&z, _| z > zxid);
        info!(
            "COMMITANDACTIVATE 0x{zxid:x}: config version 0x{:x}, designated leader {leader}",
            qv.version()
        );
        let major_change = self
            .learner
            .peer()
            .process_reconfig(qv, Some(leader), zxid, true);
        self.zk.commit(zxid)?;
        if major_change {
            return Err(changes_proposed_in_reconfig());
        }
        Ok(())
    }
}
