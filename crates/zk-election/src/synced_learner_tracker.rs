//! `SyncedLearnerTracker`: who backs a vote, checked against every
//! configuration in force. During a reconfig both the committed and the
//! proposed configuration must see a quorum.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use zk_config::QuorumVerifier;

use crate::vote::Vote;

/// `SyncedLearnerTracker`: acks (or votes) counted against each
/// configuration that must have a quorum of them.
#[derive(Debug, Clone, Default)]
pub struct SyncedLearnerTracker {
    pairs: Vec<(Arc<QuorumVerifier>, BTreeSet<i64>)>,
}

impl SyncedLearnerTracker {
    /// Tracks no configuration yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a configuration whose quorum is needed too.
    pub fn add_quorum_verifier(&mut self, qv: Arc<QuorumVerifier>) {
        self.pairs.push((qv, BTreeSet::new()));
    }

    /// Counts `sid` in every configuration where it is a voting member.
    pub fn add_ack(&mut self, sid: i64) -> bool {
        let mut changed = false;
        for (qv, acks) in &mut self.pairs {
            if qv.voting_members().contains_key(&sid) {
                acks.insert(sid);
                changed = true;
            }
        }
        changed
    }

    /// True when `sid` votes in every tracked configuration.
    pub fn has_sid(&self, sid: i64) -> bool {
        self.pairs
            .iter()
            .all(|(qv, _)| qv.voting_members().contains_key(&sid))
    }

    /// The election's termination test: a quorum in every configuration.
    pub fn has_all_quorums(&self) -> bool {
        self.pairs.iter().all(|(qv, acks)| qv.contains_quorum(acks))
    }

    /// The ack sets, as 3.8 prints them.
    pub fn ack_sets_to_string(&self) -> String {
        let sets: Vec<String> = self
            .pairs
            .iter()
            .map(|(_, acks)| {
                let ids: Vec<String> = acks.iter().map(|s| s.to_string()).collect();
                format!("[{}]", ids.join(", "))
            })
            .collect();
        sets.join(",")
    }
}

/// `getVoteTracker`: the servers in `votes` whose vote is the same as
/// `vote` (in the sense of [`Vote::same_as`]), tracked against the
/// committed configuration and, if newer, the last proposed one.
pub(crate) fn vote_tracker(
    qv: Arc<QuorumVerifier>,
    last_seen: Option<Arc<QuorumVerifier>>,
    votes: &HashMap<i64, Vote>,
    vote: &Vote,
) -> SyncedLearnerTracker {
    let mut tracker = SyncedLearnerTracker::new();
    let committed_version = qv.version();
    tracker.add_quorum_verifier(qv);
    if let Some(seen) = last_seen {
        if seen.version() > committed_version {
            tracker.add_quorum_verifier(seen);
        }
    }
    for (sid, v) in votes {
        if vote.same_as(v) {
            tracker.add_ack(*sid);
        }
    }
    tracker
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::config_from_string;
    use crate::vote::ServerState;

    fn servers(n: u64) -> String {
        (1..=n)
            .map(|i| {
                format!(
                    "server.{i}=127.0.0.1:{}:{}:participant\n",
                    2000 + i,
                    3000 + i
                )
            })
            .collect()
    }

    fn votes(pairs: &[(i64, Vote)]) -> HashMap<i64, Vote> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn term_predicate_majority() {
        let qv = Arc::new(config_from_string(&format!("{}version=0", servers(5))).unwrap());
        let mine = Vote::new(5, 0x100, 1, 1);
        let other = Vote::new(4, 0x100, 1, 1);
        let two = votes(&[(5, mine), (4, mine), (3, other)]);
        assert!(!vote_tracker(Arc::clone(&qv), None, &two, &mine).has_all_quorums());
        let three = votes(&[(5, mine), (4, mine), (3, mine), (2, other)]);
        let t = vote_tracker(Arc::clone(&qv), None, &three, &mine);
        assert!(t.has_all_quorums());
        assert_eq!(t.ack_sets_to_string(), "[3, 4, 5]");
        // A vote of another round does not count for ours.
        let stale = Vote::new(5, 0x100, 0, 1);
        let mixed = votes(&[(5, mine), (4, mine), (3, stale)]);
        assert!(!vote_tracker(qv, None, &mixed, &mine).has_all_quorums());
    }

    #[test]
    fn term_predicate_ignores_observers_and_strangers() {
        let text = format!(
            "{}server.4=127.0.0.1:2004:3004:observer\nserver.5=127.0.0.1:2005:3005:observer\nversion=0",
            servers(3)
        );
        let qv = Arc::new(config_from_string(&text).unwrap());
        let v = Vote::new(3, 0, 1, 0);
        let set = votes(&[(3, v), (4, v), (5, v), (9, v)]);
        assert!(!vote_tracker(Arc::clone(&qv), None, &set, &v).has_all_quorums());
        let set = votes(&[(3, v), (1, v)]);
        assert!(vote_tracker(qv, None, &set, &v).has_all_quorums());
    }

    #[test]
    fn term_predicate_hierarchical() {
        // Three groups; a quorum is a majority of groups, each with a
        // majority of its weight.
        let text = format!(
            "{}group.1=1:2:3\ngroup.2=4:5\ngroup.3=6:7\nversion=0",
            servers(7)
        );
        let qv = Arc::new(config_from_string(&text).unwrap());
        assert!(qv.is_hierarchical());
        let v = Vote::new(7, 0, 1, 0);
        // 4 of 7 servers, but only group 1 has its majority.
        let set = votes(&[(1, v), (2, v), (3, v), (4, v)]);
        assert!(!vote_tracker(Arc::clone(&qv), None, &set, &v).has_all_quorums());
        // Groups 1 and 2 each with a majority.
        let set = votes(&[(1, v), (2, v), (4, v), (5, v)]);
        assert!(vote_tracker(Arc::clone(&qv), None, &set, &v).has_all_quorums());

        // Weights: server 1 carries group 1 alone.
        let text = format!(
            "{}group.1=1:2:3\ngroup.2=4:5\ngroup.3=6:7\nweight.1=5\nversion=0",
            servers(7)
        );
        let qv = Arc::new(config_from_string(&text).unwrap());
        let set = votes(&[(1, v), (6, v), (7, v)]);
        assert!(vote_tracker(qv, None, &set, &v).has_all_quorums());
    }

    #[test]
    fn term_predicate_needs_both_configs_during_reconfig() {
        let old = Arc::new(config_from_string(&format!("{}version=0", servers(3))).unwrap());
        let new_text = "server.3=127.0.0.1:2003:3003:participant\n\
                        server.4=127.0.0.1:2004:3004:participant\n\
                        server.5=127.0.0.1:2005:3005:participant\nversion=100000001";
        let new = Arc::new(config_from_string(new_text).unwrap());
        let v = Vote::new(3, 0, 1, 0);
        let set = votes(&[(1, v), (2, v), (3, v)]);
        assert!(vote_tracker(Arc::clone(&old), None, &set, &v).has_all_quorums());
        let t = vote_tracker(Arc::clone(&old), Some(Arc::clone(&new)), &set, &v);
        assert!(!t.has_all_quorums());
        let set = votes(&[(1, v), (2, v), (3, v), (4, v)]);
        assert!(vote_tracker(Arc::clone(&old), Some(new), &set, &v).has_all_quorums());
        // An older proposed config is not tracked.
        let older = Arc::new(config_from_string(&format!("{}version=0", servers(9))).unwrap());
        let set = votes(&[(1, v), (2, v)]);
        assert!(vote_tracker(old, Some(older), &set, &v).has_all_quorums());
    }

    #[test]
    fn settled_votes_compare_leader_and_epoch() {
        let qv = Arc::new(config_from_string(&format!("{}version=0", servers(3))).unwrap());
        let leading = Vote::new(3, 0x200, 4, 1)
            .with_state(ServerState::Leading)
            .with_version(2);
        let following = Vote::new(3, 0x100, 2, 1).with_state(ServerState::Following);
        let set = votes(&[(3, leading), (1, following)]);
        // Different rounds and zxids; same leader and epoch.
        assert!(vote_tracker(qv, None, &set, &leading).has_all_quorums());
    }
}
