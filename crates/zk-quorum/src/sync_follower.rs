//! How the leader brings one learner up to date: DIFF, TRUNC or SNAP,
//! decided from the learner's last zxid and the leader's committed log
//! exactly as 3.8's `LearnerHandler.syncFollower` decides.
//!
//! The decision is a pure function of the database (taken under the
//! database's read lock by the caller) and returns the packets to queue
//! before NEWLEADER; the snapshot itself, when one is needed, is written
//! by the [`LearnerHandler`](crate::learner_handler).
//!
//! The cases, in the order they are tried:
//!
//! 1. `zookeeper.forceSnapshotSync`: SNAP.
//! 2. The learner is exactly where the leader is: an empty DIFF.
//! 3. The learner is past the committed log (an old leader with txns no
//!    one else logged) and its zxid is not a bare new-epoch zxid:
//!    TRUNC to the end of the committed log.
//! 4. The learner's zxid falls inside the committed log: DIFF with the
//!    txns after it (each PROPOSAL followed by its COMMIT), or TRUNC to
//!    the last txn both have followed by the rest, when the learner holds
//!    a txn the leader does not. A TRUNC may not cross an epoch: then
//!    SNAP.
//! 5. The learner is older than the committed log: the txn log on disk
//!    followed by the committed log, provided the log reaches back far
//!    enough, is not larger than `snapshotSizeFactor` of the snapshot,
//!    and joins the committed log without a gap. Otherwise SNAP.
//!
//! A learner whose last zxid is a new epoch's zero-counter zxid (it synced
//! by SNAP or DIFF at an epoch start and logged nothing since) has no txn
//! with that zxid, so it is never truncated: it gets a DIFF from the first
//! txn after it.

use log::{debug, info, warn};
use zk_persistence::file_txn_log::TxnLogEntry;
use zk_persistence::zk_database::ZKDatabase;

use crate::quorum_packet::{counter_of_zxid, epoch_of_zxid, packet_type, QuorumPacket};

/// What the leader sends a learner before NEWLEADER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncDecision {
    /// DIFF or TRUNC first, then PROPOSAL/COMMIT pairs. Empty when a
    /// snapshot is needed.
    pub packets: Vec<QuorumPacket>,
    /// A SNAP of the whole database follows instead.
    pub need_snap: bool,
    /// The last zxid the learner will have once these packets (or the
    /// snapshot) are applied: forwarding of newer proposals starts after it.
    pub current_zxid: i64,
}

/// The leader-side settings that bear on the choice.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SyncOptions {
    /// `zookeeper.forceSnapshotSync` (for tests in 3.8).
    pub force_snap_sync: bool,
}

/// Chooses how to sync a learner whose last logged zxid is
/// `peer_last_zxid`. `sid` only names the learner in logs.
pub(crate) fn sync_follower(
    db: &ZKDatabase,
    peer_last_zxid: i64,
    sid: i64,
    opts: SyncOptions,
) -> SyncDecision {
    let is_peer_new_epoch_zxid = counter_of_zxid(peer_last_zxid) == 0;
    let mut planner = Planner {
        packets: Vec::new(),
        need_op_packet: true,
        sid,
    };
    let mut current_zxid = peer_last_zxid;
    let mut need_snap = true;
    let txn_log_sync_enabled = db.is_txn_log_sync_enabled();
    let mut max_committed_log = db.max_committed_log();
    let mut min_committed_log = db.min_committed_log();
    let last_processed_zxid = db.data_tree_last_processed_zxid();

    info!(
        "Synchronizing with Learner sid: {} maxCommittedLog=0x{:x} minCommittedLog=0x{:x} lastProcessedZxid=0x{:x} peerLastZxid=0x{:x}",
        sid, max_committed_log, min_committed_log, last_processed_zxid, peer_last_zxid
    );

    if db.committed_log().is_empty() {
        // With nothing in memory the leader's own position stands in for
        // both ends, which routes the three possible orders of
        // (lastProcessed, peer) into cases 2, 3 and 5.
        min_committed_log = last_processed_zxid;
        max_committed_log = last_processed_zxid;
    }

    if opts.force_snap_sync {
        warn!("Forcing snapshot sync - should not see this in production");
    } else if last_processed_zxid == peer_last_zxid {
        info!(
            "Sending DIFF zxid=0x{:x} for peer sid: {}",
            peer_last_zxid, sid
        );
        planner.queue_op(packet_type::DIFF, peer_last_zxid);
        planner.need_op_packet = false;
        need_snap = false;
    } else if peer_last_zxid > max_committed_log && !is_peer_new_epoch_zxid {
        debug!(
            "Sending TRUNC to follower zxidToSend=0x{:x} for peer sid:{}",
            max_committed_log, sid
        );
        planner.queue_op(packet_type::TRUNC, max_committed_log);
        current_zxid = max_committed_log;
        planner.need_op_packet = false;
        need_snap = false;
    } else if max_committed_log >= peer_last_zxid && min_committed_log <= peer_last_zxid {
        info!("Using committedLog for peer sid: {}", sid);
        current_zxid = planner.queue_committed_proposals(
            db.committed_log().iter().cloned(),
            peer_last_zxid,
            None,
            max_committed_log,
        );
        need_snap = false;
    } else if peer_last_zxid < min_committed_log && txn_log_sync_enabled {
        if let Some(z) =
            planner.queue_txn_log(db, peer_last_zxid, min_committed_log, max_committed_log)
        {
            current_zxid = z;
            need_snap = false;
        }
    } else {
        warn!(
            "Unhandled scenario for peer sid: {} maxCommittedLog=0x{:x} minCommittedLog=0x{:x} lastProcessedZxid=0x{:x} peerLastZxid=0x{:x} txnLogSyncEnabled={}",
            sid, max_committed_log, min_committed_log, last_processed_zxid, peer_last_zxid, txn_log_sync_enabled
        );
    }

    if planner.need_op_packet && !need_snap {
        // Every branch that clears need_snap queued an op; this is the
        // safety net 3.8 keeps too.
        log::error!(
            "Unhandled scenario for peer sid: {} fall back to use snapshot",
            sid
        );
        need_snap = true;
    }
    if need_snap {
        planner.packets.clear();
        current_zxid = last_processed_zxid;
    }
    SyncDecision {
        packets: planner.packets,
        need_snap,
        current_zxid,
    }
}

struct Planner {
    packets: Vec<QuorumPacket>,
    /// Still owes the learner its DIFF or TRUNC.
    need_op_packet: bool,
    sid: i64,
}

impl Planner {
    fn queue_op(&mut self, t: i32, zxid: i64) {
        self.packets.push(QuorumPacket::new(t, zxid, None));
    }

    /// Case 5: the txn log on disk from `peer_last_zxid`, then the
    /// committed log. Returns the zxid the learner will reach, or `None`
    /// (nothing queued) when the log does not serve: too large, not
    /// reaching back, or leaving a gap before the committed log.
    fn queue_txn_log(
        &mut self,
        db: &ZKDatabase,
        peer_last_zxid: i64,
        min_committed_log: i64,
        max_committed_log: i64,
    ) -> Option<i64> {
        let size_limit = db.calculate_txn_log_size_limit() as i64;
        let mut from_disk = db
            .get_proposals_from_txn_log(peer_last_zxid, size_limit)
            .map(|it| it.map_while(|r| r.map_err(|e| warn!("Reading txnlog for sync: {e}")).ok()))?
            .peekable();
        from_disk.peek()?;
        info!("Use txnlog and committedLog for peer sid: {}", self.sid);
        let current_zxid = self.queue_committed_proposals(
            from_disk,
            peer_last_zxid,
            Some(min_committed_log),
            max_committed_log,
        );
        if current_zxid < min_committed_log {
            info!(
                "Detected gap between end of txnlog: 0x{:x} and start of committedLog: 0x{:x}",
                current_zxid, min_committed_log
            );
            self.packets.clear();
            self.need_op_packet = true;
            return None;
        }
        debug!("Queueing committedLog 0x{:x}", current_zxid);
        Some(self.queue_committed_proposals(
            db.committed_log().iter().cloned(),
            current_zxid,
            None,
            max_committed_log,
        ))
    }

    /// Queues the proposals in (`peer_last_zxid`, `max_zxid`], each with its
    /// COMMIT, preceded by the DIFF or TRUNC the first one calls for.
    /// `last_committed_zxid` is what a DIFF carries. Returns the zxid of
    /// the last proposal queued (or `peer_last_zxid`).
    fn queue_committed_proposals(
        &mut self,
        proposals: impl Iterator<Item = TxnLogEntry>,
        peer_last_zxid: i64,
        max_zxid: Option<i64>,
        last_committed_zxid: i64,
    ) -> i64 {
        let is_peer_new_epoch_zxid = counter_of_zxid(peer_last_zxid) == 0;
        let mut queued_zxid = peer_last_zxid;
        // The proposal before the current one: where a TRUNC cuts.
        let mut prev_proposal_zxid = -1;
        for p in proposals {
            let packet_zxid = p.zxid();
            if max_zxid.is_some_and(|m| packet_zxid > m) {
                break;
            }
            if packet_zxid < peer_last_zxid {
                prev_proposal_zxid = packet_zxid;
                continue;
            }
            if self.need_op_packet {
                if packet_zxid == peer_last_zxid {
                    info!(
                        "Sending DIFF zxid=0x{:x}  for peer sid: {}",
                        last_committed_zxid, self.sid
                    );
                    self.queue_op(packet_type::DIFF, last_committed_zxid);
                    self.need_op_packet = false;
                    continue;
                }
                if is_peer_new_epoch_zxid {
                    info!(
                        "Sending DIFF zxid=0x{:x}  for peer sid: {}",
                        last_committed_zxid, self.sid
                    );
                    self.queue_op(packet_type::DIFF, last_committed_zxid);
                    self.need_op_packet = false;
                } else if packet_zxid > peer_last_zxid {
                    // The learner logged a txn the leader never had.
                    if epoch_of_zxid(packet_zxid) != epoch_of_zxid(peer_last_zxid) {
                        // A learner asked to truncate across an epoch
                        // would fail; a snapshot is the way out.
                        warn!(
                            "Cannot send TRUNC to peer sid: {} peer zxid is from different epoch",
                            self.sid
                        );
                        return queued_zxid;
                    }
                    info!(
                        "Sending TRUNC zxid=0x{:x}  for peer sid: {}",
                        prev_proposal_zxid, self.sid
                    );
                    self.queue_op(packet_type::TRUNC, prev_proposal_zxid);
                    self.need_op_packet = false;
                }
            }
            if packet_zxid <= queued_zxid {
                // Already sent (the op packet was not due yet, or the
                // source repeats a txn).
                continue;
            }
            self.packets.push(QuorumPacket::new(
                packet_type::PROPOSAL,
                packet_zxid,
                Some(p.bytes),
            ));
            self.queue_op(packet_type::COMMIT, packet_zxid);
            queued_zxid = packet_zxid;
        }
        if self.need_op_packet && is_peer_new_epoch_zxid {
            // The leader's history ends before the learner's new-epoch
            // zxid and nothing newer exists: an empty DIFF.
            info!(
                "Sending empty DIFF zxid=0x{:x} for peer sid: {}",
                last_committed_zxid, self.sid
            );
            self.queue_op(packet_type::DIFF, last_committed_zxid);
            self.need_op_packet = false;
        }
        queued_zxid
    }
}

#[cfg(test)]
#[path = "sync_follower_tests.rs"]
mod tests;
