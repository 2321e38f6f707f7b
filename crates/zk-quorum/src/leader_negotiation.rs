//! The leader's three rendezvous of discovery and synchronization
//! (`getEpochToPropose`, `waitForEpochAck`, `waitForNewLeaderAck`): the
//! leader's own thread and every learner handler call them, and all wait
//! on one condition variable until a quorum has reported, the init limit
//! passes, or the leader shuts down.

use std::collections::BTreeSet;
use std::io;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use log::error;

use super::{Leader, Negotiation};
use crate::quorum_packet::StateSummary;
use crate::quorum_peer::QuorumPeer;

impl Leader {
    fn init_deadline(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.peer.init_timeout_ms())
    }

    /// Waits on the negotiation lock until `done` or the deadline.
    fn wait_negotiation<'a>(
        &'a self,
        mut n: MutexGuard<'a, Negotiation>,
        deadline: Instant,
        done: impl Fn(&Negotiation) -> bool,
    ) -> MutexGuard<'a, Negotiation> {
        while !done(&n) && !n.abandoned {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            n = self.negotiated.wait_timeout(n, deadline - now).unwrap().0;
        }
        n
    }

    /// `getEpochToPropose`: records `sid`'s accepted epoch and waits until
    /// a quorum (this leader included) has reported; returns the epoch
    /// to lead.
    pub(crate) fn get_epoch_to_propose(
        &self,
        sid: i64,
        last_accepted_epoch: i64,
    ) -> io::Result<i64> {
        let deadline = self.init_deadline();
        let mut n = self.negotiation.lock().unwrap();
        if !n.waiting_for_new_epoch {
            return Ok(n.epoch);
        }
        if last_accepted_epoch >= n.epoch {
            n.epoch = last_accepted_epoch + 1;
        }
        if self.peer.is_participant(sid) {
            n.connecting_followers.insert(sid);
        }
        if n.connecting_followers.contains(&self.peer.my_id())
            && contains_quorum(&self.peer, &n.connecting_followers)
        {
            n.waiting_for_new_epoch = false;
            self.peer.set_accepted_epoch(n.epoch)?;
            self.negotiated.notify_all();
        } else {
            n = self.wait_negotiation(n, deadline, |n| !n.waiting_for_new_epoch);
            if n.waiting_for_new_epoch {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "Timeout while waiting for epoch from quorum",
                ));
            }
        }
        Ok(n.epoch)
    }

    /// `waitForEpochAck`: counts `sid`'s ACKEPOCH and waits for a quorum.
    pub(crate) fn wait_for_epoch_ack(&self, sid: i64, ss: StateSummary) -> io::Result<()> {
        let deadline = self.init_deadline();
        let mut n = self.negotiation.lock().unwrap();
        if n.election_finished {
            return Ok(());
        }
        if ss.current_epoch != -1 {
            if let Some(mine) = n.leader_state_summary {
                if ss.is_more_recent_than(&mine) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "Follower is ahead of the leader, leader summary: {} (current epoch), {} (last zxid)",
                            mine.current_epoch, mine.last_zxid
                        ),
                    ));
                }
            }
            if ss.last_zxid != -1 && self.peer.is_participant(sid) {
                n.electing_followers.insert(sid);
            }
        }
        if n.electing_followers.contains(&self.peer.my_id())
            && contains_quorum(&self.peer, &n.electing_followers)
        {
            n.election_finished = true;
            self.negotiated.notify_all();
        } else {
            n = self.wait_negotiation(n, deadline, |n| n.election_finished);
            if !n.election_finished {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "Timeout while waiting for epoch to be acked by quorum",
                ));
            }
        }
        Ok(())
    }

    /// `waitForNewLeaderAck`: counts `sid`'s ACK of NEWLEADER and waits for
    /// a quorum. An ACK for another epoch's NEWLEADER is logged and not
    /// counted (the learner carries on, as in 3.8).
    pub(crate) fn wait_for_new_leader_ack(&self, sid: i64, zxid: i64) -> io::Result<()> {
        let deadline = self.init_deadline();
        let mut n = self.negotiation.lock().unwrap();
        if n.quorum_formed {
            return Ok(());
        }
        if zxid != n.new_leader_zxid {
            error!(
                "NEWLEADER ACK from sid: {} is from a different epoch - current 0x{:x} received 0x{:x}",
                sid, n.new_leader_zxid, zxid
            );
            return Ok(());
        }
        n.new_leader_acks.add_ack(sid);
        if n.new_leader_acks.has_all_quorums() {
            n.quorum_formed = true;
            n.quorum_formed_at = Some(Instant::now());
            self.negotiated.notify_all();
        } else {
            n = self.wait_negotiation(n, deadline, |n| n.quorum_formed);
            if !n.quorum_formed {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "Timeout while waiting for NEWLEADER to be acked by quorum",
                ));
            }
        }
        Ok(())
    }
}

fn contains_quorum(peer: &QuorumPeer, sids: &BTreeSet<i64>) -> bool {
    peer.quorum_verifier().contains_quorum(sids)
}
