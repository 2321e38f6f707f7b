//! What the election needs from its `QuorumPeer`: the few getters and
//! setters of 3.8's `QuorumPeer` that `QuorumCnxManager` and
//! `FastLeaderElection` call. zk-quorum's `QuorumPeer` implements
//! [`ElectionPeer`]; the tests implement it with a plain struct.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;

use zk_config::{HostPort, LearnerType, QuorumServer, QuorumVerifier};

use crate::vote::{ServerState, Vote};

/// The peer an election runs for. Sids are Java `long`s here (negative
/// values appear: `Long.MIN_VALUE` is an observer's "no candidate", and
/// connections from unnamed observers get negative ids).
pub trait ElectionPeer: Send + Sync + 'static {
    /// `getId()`: this server's sid (myid).
    fn my_id(&self) -> i64;

    /// `getLearnerType()`: participants vote, observers only learn the
    /// leader.
    fn learner_type(&self) -> LearnerType;

    /// `getLastLoggedZxid()`: the last zxid in the database (loading it if
    /// need be).
    fn last_logged_zxid(&self) -> i64;

    /// `getCurrentEpoch()`: the `currentEpoch` file. An error aborts the
    /// election (3.8 throws).
    fn current_epoch(&self) -> io::Result<i64>;

    /// `getCurrentVote()`: who this server thinks leads, answered to
    /// LOOKING peers while this server is not looking.
    fn current_vote(&self) -> Vote;

    /// `getPeerState()`: LOOKING, FOLLOWING, LEADING or OBSERVING.
    fn peer_state(&self) -> ServerState;

    /// Called once when `lookForLeader` decides (LEADING, FOLLOWING or
    /// OBSERVING).
    fn set_peer_state(&self, state: ServerState);

    /// The last committed configuration.
    fn quorum_verifier(&self) -> Arc<QuorumVerifier>;

    /// The last proposed configuration (a reconfig in flight), if any.
    fn last_seen_quorum_verifier(&self) -> Option<Arc<QuorumVerifier>> {
        None
    }

    /// A LOOKING peer sent a config newer than ours while we are LOOKING
    /// (`processReconfig`). Return true when the configuration changed and
    /// the election must restart: the `FastLeaderElection` then shuts
    /// itself down (3.8's `shuttingDownLE`) and the peer starts a new one.
    fn process_reconfig(&self, _new: QuorumVerifier) -> bool {
        log::warn!("reconfig through leader election is not supported by this peer; ignored");
        false
    }

    /// `myAddrs`: this server's own entry as the last committed config
    /// that named it had it, for a server a reconfig removed (it keeps
    /// listening where it did). `None`: only the configs are asked.
    fn my_addrs(&self) -> Option<QuorumServer> {
        None
    }

    /// A LOOKING peer contacted us while we lead (`Leader.reportLookingSid`).
    fn report_looking_sid(&self, _sid: i64) {}

    /// The Listener gave up binding the election port. 3.8 exits the
    /// process (`ExitCode.UNABLE_TO_BIND_QUORUM_PORT`); the peer
    /// decides.
    fn election_port_bind_failed(&self) {
        log::error!("unable to bind the election port; this server cannot take part in elections");
    }
}

/// Helpers over the peer's configurations.
pub(crate) trait ElectionPeerExt: ElectionPeer {
    /// `getCurrentAndNextConfigVoters()`.
    fn current_and_next_config_voters(&self) -> BTreeSet<i64> {
        let mut voters: BTreeSet<i64> = self
            .quorum_verifier()
            .voting_members()
            .keys()
            .copied()
            .collect();
        if let Some(qv) = self.last_seen_quorum_verifier() {
            voters.extend(qv.voting_members().keys().copied());
        }
        voters
    }

    /// Where `sid` listens for elections: the committed view first, then
    /// the proposed one when it knows the sid at a different address
    /// (the order of 3.8's `connectOne(sid)`).
    fn election_addresses(&self, sid: i64) -> Vec<Vec<HostPort>> {
        let committed = self.quorum_verifier();
        let mut out = Vec::new();
        let first = committed
            .all_members()
            .get(&sid)
            .map(|s| s.election_addrs.clone());
        if let Some(a) = &first {
            out.push(a.clone());
        }
        if let Some(seen) = self.last_seen_quorum_verifier() {
            if let Some(s) = seen.all_members().get(&sid) {
                if first.as_ref() != Some(&s.election_addrs) {
                    out.push(s.election_addrs.clone());
                }
            }
        }
        out
    }

    /// This server's own entry, from the committed view or the proposed one.
    fn my_server(&self) -> Option<QuorumServer> {
        let me = self.my_id();
        if let Some(s) = self.quorum_verifier().all_members().get(&me) {
            return Some(s.clone());
        }
        self.last_seen_quorum_verifier()
            .and_then(|qv| qv.all_members().get(&me).cloned())
            .or_else(|| self.my_addrs())
    }
}

impl<T: ElectionPeer + ?Sized> ElectionPeerExt for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::config_from_string;

    /// A server the committed config no longer names, with the entry it
    /// last had.
    struct Removed {
        qv: Arc<QuorumVerifier>,
        mine: Option<QuorumServer>,
    }

    impl ElectionPeer for Removed {
        fn my_id(&self) -> i64 {
            1
        }
        fn learner_type(&self) -> LearnerType {
            LearnerType::Participant
        }
        fn last_logged_zxid(&self) -> i64 {
            0
        }
        fn current_epoch(&self) -> io::Result<i64> {
            Ok(0)
        }
        fn current_vote(&self) -> Vote {
            Vote::initial(1, 0, 0)
        }
        fn peer_state(&self) -> ServerState {
            ServerState::Following
        }
        fn set_peer_state(&self, _: ServerState) {}
        fn quorum_verifier(&self) -> Arc<QuorumVerifier> {
            Arc::clone(&self.qv)
        }
        fn my_addrs(&self) -> Option<QuorumServer> {
            self.mine.clone()
        }
    }

    #[test]
    fn a_removed_server_announces_and_listens_where_it_was() {
        let old = config_from_string(
            "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\n\
             version=0",
        )
        .unwrap();
        let new = config_from_string(
            "server.2=127.0.0.1:2889:3889:participant\nserver.3=127.0.0.1:2890:3890:participant\n\
             version=100000001",
        )
        .unwrap();
        let mine = old.all_members().get(&1).cloned();
        let p = Removed {
            qv: Arc::new(new),
            mine,
        };
        assert_eq!(p.my_server().map(|s| s.election_addr().port), Some(3888));
        let p = Removed { mine: None, ..p };
        assert!(p.my_server().is_none());
        // Voters are the new config's.
        assert_eq!(
            p.current_and_next_config_voters()
                .into_iter()
                .collect::<Vec<_>>(),
            vec![2, 3]
        );
    }
}
