//! `Observer`: a non-voting learner's life under one leader.
//!
//! [`Observer::observe_leader`] runs on the peer's thread like
//! [`crate::follower::Follower::follow_leader`] (connect, register, check
//! the epoch, sync), then reads packets until the leader goes away or the
//! peer stops:
//!
//! | packet | observer |
//! |---|---|
//! | PING | reply with session touches |
//! | PROPOSAL, COMMIT | ignored (observers never vote) |
//! | INFORM | apply the txn it carries |
//! | SYNC | answer the oldest pending client sync |
//! | REVALIDATE | finish the reconnecting session |

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use log::{error, info, warn};

use crate::learner::{entry_of_bytes, proposal_entry, Learner};
use crate::learner_reconfig::{changes_proposed_in_reconfig, designated_leader, reconfig_config};
use crate::quorum_packet::{packet_type, QuorumPacket};
use crate::quorum_peer::QuorumPeer;
use crate::servers::LearnerZkServer;

/// An observer (`Observer`): a `Learner` whose server applies the
/// committed txns the leader INFORMs it of, and never votes.
pub struct Observer<'a> {
    learner: Learner,
    zk: &'a dyn LearnerZkServer,
}

impl<'a> Observer<'a> {
    /// `observeLeader`: observes the leader at `addr` until the
    /// connection ends; always ends in an error saying why.
    pub fn observe_leader(
        peer: &Arc<QuorumPeer>,
        zk: &'a dyn LearnerZkServer,
        addr: SocketAddr,
    ) -> io::Error {
        let learner = match Learner::connect_for(peer, zk, addr) {
            Ok(l) => l,
            Err(e) => return e,
        };
        let mut observer = Observer { learner, zk };
        let err = match observer.observe() {
            Ok(never) => match never {},
            Err(e) => e,
        };
        observer.learner.end(zk, "observing", err)
    }

    fn observe(&mut self) -> io::Result<Infallible> {
        self.learner
            .join_leader(self.zk, packet_type::OBSERVERINFO, true)?;
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
            packet_type::PROPOSAL => warn!("Ignoring proposal"),
            packet_type::COMMIT => warn!("Ignoring commit"),
            packet_type::UPTODATE => error!("Received an UPTODATE message after Observer started"),
            packet_type::REVALIDATE => Learner::revalidate(zk, qp)?,
            packet_type::SYNC => zk.sync(),
            packet_type::INFORM => {
                zk_server::server_metrics::ServerMetrics::get()
                    .learner_commit_received_count
                    .inc();
                zk.commit_request(proposal_entry(qp)?)?
            }
            packet_type::INFORMANDACTIVATE => self.inform_and_activate(qp)?,
            _ => warn!("Unknown packet type: {qp}"),
        }
        Ok(())
    }

    /// INFORMANDACTIVATE: a committed reconfig (designated leader, then
    /// the txn): its config takes effect, then the txn is applied; a
    /// change of leader or of our learner type ends observing.
    fn inform_and_activate(&mut self, qp: &QuorumPacket) -> io::Result<()> {
        let leader = designated_leader(qp.data())?;
        let entry = entry_of_bytes(&qp.data()[8..], qp.zxid)?;
        let qv = reconfig_config(&entry)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("INFORMANDACTIVATE 0x{:x} carries no reconfig txn", qp.zxid),
            )
        })?;
        info!(
            "INFORMANDACTIVATE 0x{:x}: config version 0x{:x}, designated leader {leader}",
            qp.zxid,
            qv.version()
        );
        let major_change = self
            .learner
            .peer()
            .process_reconfig(qv, Some(leader), qp.zxid, true);
        self.zk.commit_request(entry)?;
        if major_change {
            return Err(changes_proposed_in_reconfig());
        }
        Ok(())
    }
}
