//! The leader's broadcast phase: proposals, ACKs, commits in zxid order,
//! INFORM to observers, learner syncs, and the hand-off of commits to the
//! server.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use std::collections::BTreeSet;

use log::{debug, info, warn};
use zk_config::{Properties, QuorumVerifier};
use zk_election::SyncedLearnerTracker;
use zk_persistence::file_txn_log::TxnLogEntry;

use super::{Broadcast, Leader, Proposal};
use crate::learner_handler::LearnerHandler;
use crate::quorum_packet::{counter_of_zxid, packet_type, QuorumPacket};
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::op_code;

impl Leader {
    /// Hands out the next zxid of this epoch (`getNextZxid`), for a server
    /// that has no PrepRequestProcessor of its own.
    pub fn next_zxid(&self) -> i64 {
        self.zxid.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// `propose`: sends a txn (in logged form) to every forwarding follower
    /// and waits for a quorum of ACKs through [`Self::process_ack`]. The
    /// leader's own ACK comes from its server once the txn is logged here.
    /// An error (the zxid counter ran out) means the leader must stop: the
    /// caller stops it, since its chain thread cannot do so from in here
    /// (shutdown waits for the chain, which waits for this thread).
    ///
    /// # Panics
    ///
    /// If `zxid` is not past the last proposal: proposals go out in zxid
    /// order, and commits rely on it.
    pub fn propose(&self, entry: &TxnLogEntry) -> io::Result<()> {
        let zxid = entry.zxid();
        if counter_of_zxid(zxid) == 0xffff_ffff {
            let msg = "zxid lower 32 bits have rolled over, forcing re-election, and therefore new epoch start";
            return Err(io::Error::other(msg));
        }
        self.proposal_stats.record(entry.bytes.len() as i64);
        let packet = QuorumPacket::new(packet_type::PROPOSAL, zxid, Some(entry.bytes.clone()));
        zk_server::server_metrics::ServerMetrics::get()
            .proposal_count
            .inc();
        // A reconfig's new config is the last seen one from now on: this
        // and every later proposal need a quorum of it too.
        let reconfig = reconfig_of(entry).map(Arc::new);
        if let Some(qv) = &reconfig {
            info!(
                "sid {} proposing reconfig zxid 0x{zxid:x}: config version {:x}",
                self.peer.my_id(),
                qv.version()
            );
            self.peer
                .set_last_seen_quorum_verifier((**qv).clone(), true);
        }
        let mut acks = SyncedLearnerTracker::new();
        let mut qvs = vec![self.peer.quorum_verifier()];
        let last_seen = self.peer.last_seen_quorum_verifier();
        if last_seen.version() > qvs[0].version() {
            qvs.push(last_seen);
        }
        for qv in &qvs {
            acks.add_quorum_verifier(qv.clone());
        }
        let mut b = self.broadcast.lock().unwrap();
        assert!(
            zxid > b.last_proposed,
            "proposal 0x{zxid:x} is not past the last proposal 0x{:x}",
            b.last_proposed
        );
        b.last_proposed = zxid;
        for f in &b.forwarding_followers {
            f.queue_packet(packet.clone());
        }
        b.outstanding.insert(
            zxid,
            Proposal {
                packet,
                acks,
                qvs,
                acked: BTreeSet::new(),
                reconfig,
            },
        );
        Ok(())
    }

    /// A learner's (or this leader's) ACK of a proposal. Commits, in zxid
    /// order, every proposal that now has a quorum.
    pub fn process_ack(&self, sid: i64, zxid: i64) {
        if counter_of_zxid(zxid) == 0 {
            // The ACK of NEWLEADER or UPTODATE: counted elsewhere.
            return;
        }
        {
            let mut b = self.broadcast.lock().unwrap();
            if !b.allowed_to_commit {
                // A reconfig designated another leader, which commits now.
                return;
            }
            if b.outstanding.is_empty() {
                debug!("outstanding is 0, ignoring ACK of 0x{zxid:x} from {sid}");
                return;
            }
            if b.last_committed >= zxid {
                debug!(
                    "proposal has already been committed, pzxid: 0x{:x} zxid: 0x{:x}",
                    b.last_committed, zxid
                );
                return;
            }
            let Some(p) = b.outstanding.get_mut(&zxid) else {
                warn!("Trying to commit future proposal: zxid 0x{zxid:x} from {sid}");
                return;
            };
            p.acks.add_ack(sid);
            p.acked.insert(sid);
            // Commits go in zxid order: from the oldest outstanding
            // proposal, as long as each one has its quorum.
            while let Some(&oldest) = b.outstanding.keys().next() {
                if !b.allowed_to_commit {
                    break;
                }
                if !self.try_to_commit(&mut b, oldest) {
                    break;
                }
            }
        }
        self.deliver_commits();
    }

    /// `tryToCommit`: commits `zxid` if it has a quorum and every earlier
    /// proposal is committed.
    ///
    /// # Panics
    ///
    /// If `zxid` is not past the last commit: outstanding proposals are
    /// all newer than it.
    fn try_to_commit(&self, b: &mut Broadcast, zxid: i64) -> bool {
        if b.outstanding
            .keys()
            .next()
            .is_some_and(|&oldest| oldest < zxid)
        {
            return false;
        }
        assert!(
            zxid > b.last_committed,
            "proposal 0x{zxid:x} is outstanding, but 0x{:x} is already committed",
            b.last_committed
        );
        if !b
            .outstanding
            .get(&zxid)
            .is_some_and(|p| p.acks.has_all_quorums())
        {
            return false;
        }
        if zxid != b.last_committed + 1 {
            // A gap in the zxids (3.8 tolerates it the same way).
            warn!(
                "Committing zxid 0x{zxid:x} not first! First is 0x{:x}",
                b.last_committed + 1
            );
        }
        zk_persistence::fail_point!("leader_before_commit");
        let p = b.outstanding.remove(&zxid).expect("checked above");
        b.last_committed = zxid;
        zk_server::server_metrics::ServerMetrics::get()
            .commit_count
            .inc();
        let data = p.packet.data.clone().unwrap_or_default();
        let (commit, inform) = match &p.reconfig {
            None => (
                QuorumPacket::new(packet_type::COMMIT, zxid, None),
                QuorumPacket::new(packet_type::INFORM, zxid, Some(data)),
            ),
            Some(qv) => {
                let designated = self.designated_leader(b, &p, qv, zxid);
                info!(
                    "sid {} committing reconfig zxid 0x{zxid:x}: config version {:x}, designated leader {designated}",
                    self.peer.my_id(),
                    qv.version()
                );
                if designated != self.peer.my_id() {
                    info!(
                        "Committing a reconfiguration (reconfigEnabled=true); this leader is not the designated \
                         leader anymore, setting allowedToCommit=false"
                    );
                    b.allowed_to_commit = false;
                }
                self.activations
                    .lock()
                    .unwrap()
                    .insert(zxid, (qv.clone(), designated));
                // The followers learn the designated leader and, if it is
                // not this one, leave; so a quorum of them get the commit.
                let mut informed = designated.to_be_bytes().to_vec();
                informed.extend_from_slice(&data);
                (
                    QuorumPacket::new(
                        packet_type::COMMITANDACTIVATE,
                        zxid,
                        Some(designated.to_be_bytes().to_vec()),
                    ),
                    QuorumPacket::new(packet_type::INFORMANDACTIVATE, zxid, Some(informed)),
                )
            }
        };
        for f in &b.forwarding_followers {
            f.queue_packet(commit.clone());
        }
        for o in &b.observing_learners {
            o.queue_packet(inform.clone());
        }
        b.to_be_applied.push_back(p);
        self.to_commit.lock().unwrap().push_back(zxid);
        if let Some(waiting) = b.pending_syncs.remove(&zxid) {
            for h in waiting {
                h.queue_packet(QuorumPacket::new(packet_type::SYNC, 0, None));
            }
        }
        true
    }

    /// Hands committed zxids to the server (its CommitProcessor), outside
    /// the broadcast lock and in commit order.
    fn deliver_commits(&self) {
        let _order = self.committing.lock().unwrap();
        loop {
            let Some(zxid) = self.to_commit.lock().unwrap().pop_front() else {
                return;
            };
            let activation = self.activations.lock().unwrap().remove(&zxid);
            if let Some((qv, designated)) = activation {
                let last = self.broadcast.lock().unwrap().last_proposed;
                self.peer
                    .process_reconfig((*qv).clone(), Some(designated), last, true);
            }
            self.zk.commit(zxid);
        }
    }

    /// `getDesignatedLeader`: this leader if it votes in the new config
    /// at the same quorum address; else, of the new config's voters that
    /// acked the reconfig, the one that acked the most of the proposals
    /// after it (so the fewest are lost).
    fn designated_leader(
        &self,
        b: &Broadcast,
        p: &Proposal,
        qv: &QuorumVerifier,
        zxid: i64,
    ) -> i64 {
        let me = self.peer.my_id();
        let mine = self.peer.quorum_verifier();
        let my_addr = mine.all_members().get(&me).map(|s| s.addr().clone());
        if let Some(s) = qv.voting_members().get(&me) {
            if Some(s.addr().clone()) == my_addr {
                return me;
            }
        }
        let mut candidates = p.ack_set(qv);
        candidates.remove(&me);
        // A committed reconfig had a quorum of the new config's voters.
        let Some(mut current) = candidates.first().copied() else {
            return me;
        };
        let mut next = zxid + 1;
        while let Some(later) = b.outstanding.get(&next) {
            for q in &later.qvs {
                candidates = candidates
                    .intersection(&later.ack_set(q))
                    .copied()
                    .collect();
                match candidates.first() {
                    None => return current,
                    Some(&c) => current = c,
                }
                if candidates.len() == 1 {
                    return current;
                }
            }
            next += 1;
        }
        current
    }

    /// The server applied `zxid` (`ToBeAppliedRequestProcessor`): it no
    /// longer needs forwarding to learners that sync from now on.
    pub fn applied(&self, zxid: i64) {
        let mut b = self.broadcast.lock().unwrap();
        while b
            .to_be_applied
            .front()
            .is_some_and(|p| p.packet.zxid <= zxid)
        {
            b.to_be_applied.pop_front();
        }
    }

    /// A learner's `sync()` (`processSync`): its SYNC is queued to the
    /// learner once everything proposed so far is committed, i.e. behind
    /// the COMMIT of the last proposal, which [`Self::try_to_commit`]
    /// queues first.
    ///
    /// Called by ProposalRequestProcessor, in order with the learner's
    /// other requests: a write it sent before the `sync` has been proposed
    /// by now, so its COMMIT is either queued already or comes before the
    /// SYNC. (Called any earlier, the SYNC could overtake that COMMIT.)
    pub(crate) fn process_sync(&self, handler: &Arc<LearnerHandler>) {
        let mut b = self.broadcast.lock().unwrap();
        if b.outstanding.is_empty() {
            handler.queue_packet(QuorumPacket::new(packet_type::SYNC, 0, None));
        } else {
            let last = b.last_proposed;
            // Commits go in zxid order, so with anything outstanding the
            // last proposal is too: its commit is sure to come.
            assert!(
                b.outstanding.contains_key(&last),
                "sync of learner {} waits for proposal 0x{last:x}, which is not outstanding \
                 (last committed 0x{:x}, {} outstanding from 0x{:x})",
                handler.sid(),
                b.last_committed,
                b.outstanding.len(),
                b.outstanding.keys().next().copied().unwrap_or(0)
            );
            b.pending_syncs
                .entry(last)
                .or_default()
                .push(handler.clone());
        }
    }

    /// Proposals awaiting a quorum.
    pub fn outstanding_proposals(&self) -> usize {
        self.broadcast.lock().unwrap().outstanding.len()
    }

    /// Committed proposals the server has not yet applied.
    pub fn to_be_applied(&self) -> usize {
        self.broadcast.lock().unwrap().to_be_applied.len()
    }

    /// The zxid of the last proposal committed (the new epoch's zero zxid
    /// before any).
    pub fn last_committed(&self) -> i64 {
        self.broadcast.lock().unwrap().last_committed
    }

    /// Proposals that learners' `sync()`s wait on.
    pub fn pending_syncs(&self) -> usize {
        self.broadcast.lock().unwrap().pending_syncs.len()
    }
}

/// The config a reconfig txn proposes (its setData of /zookeeper/config
/// holds the text, version included), or `None` for any other txn.
fn reconfig_of(entry: &TxnLogEntry) -> Option<QuorumVerifier> {
    if entry.header.txn_type != op_code::RECONFIG {
        return None;
    }
    let decoded = match entry.decode() {
        Ok(d) => d,
        Err(e) => {
            warn!("reconfig zxid 0x{:x} does not decode: {e}", entry.zxid());
            return None;
        }
    };
    let Txn::Reconfig(t) = decoded.txn else {
        return None;
    };
    let text = String::from_utf8_lossy(t.data.as_deref().unwrap_or_default()).into_owned();
    let parsed = Properties::parse(&text)
        .map_err(|e| e.to_string())
        .and_then(|props| {
            QuorumVerifier::parse_new_members(&props, false, true).map_err(|e| format!("{e:?}"))
        });
    match parsed {
        Ok(qv) => Some(qv),
        Err(e) => {
            warn!("reconfig zxid 0x{:x} holds no config: {e}", entry.zxid());
            None
        }
    }
}
