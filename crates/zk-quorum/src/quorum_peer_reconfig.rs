//! The reconfiguration half of `QuorumPeer`: setting the committed and the
//! last seen configuration (`setQuorumVerifier`,
//! `setLastSeenQuorumVerifier`) and adopting a committed reconfig
//! (`processReconfig`), which the leader calls on commit and a learner on
//! COMMITANDACTIVATE / INFORMANDACTIVATE or during sync.
//!
//! The files are 3.8's (zk_config::dynamic_config): a committed config is
//! written to `zoo.cfg.dynamic.<hex version>` and zoo.cfg edited to point
//! at it, so a restarted node comes back in the new membership; a
//! proposed one goes to `zoo.cfg.dynamic.next`, removed once committed.
//!
//! A committed config that differs from the last one restarts the leader
//! election (`restartLeaderElection`): the old FastLeaderElection and its
//! QuorumCnxManager halt (every election connection closes, the Listener
//! lets go of its port) and new ones start on the new view, so peers the
//! config removed are no longer connected to and our own election
//! address, if the config moved it, is the one listened on. The peer
//! keeps its own entry of the last config that had one (`myAddrs`), so a
//! server removed from the ensemble keeps listening where it was.
//!
//! A client address in the new config other than ours moves the client
//! port (`cnxnFactory.reconfigure`); the peer thread keeps its name (Rust
//! cannot rename a running thread, 3.8's `updateThreadName`).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use log::{error, info, warn};
use zk_config::dynamic_config;
use zk_config::{LearnerType, QuorumVerifier};
use zk_election::{ElectionPeer, FastLeaderElection, Vote};

use super::QuorumPeer;

// The leader's commit calls some of these as R1's work lands.
#[allow(dead_code)]
impl QuorumPeer {
    /// `isReconfigEnabled()`: `reconfigEnabled` in zoo.cfg (3.8's default
    /// false).
    pub(crate) fn is_reconfig_enabled(&self) -> bool {
        self.settings.reconfig_enabled
    }

    /// `getLearnerType`: participant or observer, as the last committed
    /// reconfig made us.
    pub(crate) fn learner_type(&self) -> LearnerType {
        *self.learner_type.lock().unwrap()
    }

    /// `configFilename`: zoo.cfg's path (none for a peer built without
    /// one, as in tests: then nothing is written).
    fn config_filename(&self) -> Option<PathBuf> {
        self.serving.as_ref()?.config.config_file.clone()
    }

    /// `needEraseClientInfoFromStaticConfig`: our server line carries the
    /// client address itself, so zoo.cfg's clientPort lines go.
    fn need_erase_client_info_from_static_config(&self, qv: &QuorumVerifier) -> bool {
        qv.all_members()
            .get(&self.my_id())
            .is_some_and(|s| s.client_addr.is_some() && !s.client_addr_from_static)
    }

    /// `setQuorumVerifier`: `qv` becomes the committed configuration unless
    /// ours is already at its version or newer; returns the previous one.
    /// A last seen configuration older than `qv` is dropped with it.
    /// `write_to_disk` writes the dynamic file and edits zoo.cfg.
    pub(crate) fn set_quorum_verifier(
        &self,
        qv: QuorumVerifier,
        write_to_disk: bool,
    ) -> Arc<QuorumVerifier> {
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
        if let Some(me) = qv.all_members().get(&self.my_id()) {
            *self.my_addrs.lock().unwrap() = Some(me.clone());
        }
        let mut seen = self.last_seen_quorum_verifier.write().unwrap();
        if seen.as_ref().is_some_and(|s| s.version() <= qv.version()) {
            *seen = None;
        }
        let Some(config_file) = self.config_filename() else {
            if write_to_disk {
                info!("writeToDisk == true but configFilename == null");
            }
            return prev;
        };
        // The same version again (the initial config, version 0) is not a
        // new file.
        if write_to_disk && qv.version() != prev.version() {
            let dynamic = dynamic_config::make_dynamic_config_filename(&config_file, qv.version());
            let erase = self.need_erase_client_info_from_static_config(&qv);
            let written = dynamic_config::write_dynamic_config(&dynamic, &qv, false)
                .and_then(|()| dynamic_config::edit_static_config(&config_file, &dynamic, erase));
            match written {
                Ok(()) => info!(
                    "Wrote the dynamic config file {} (version 0x{:x}) and pointed {} at it",
                    dynamic.display(),
                    qv.version(),
                    config_file.display()
                ),
                Err(e) => error!(
                    "Error writing the dynamic config file {} for version 0x{:x}: {e}",
                    dynamic.display(),
                    qv.version()
                ),
            }
        }
        // The committed config is the last one seen: no proposal pending.
        if seen.is_none() {
            let next = dynamic_config::next_dynamic_config_filename(&config_file);
            if next.exists() {
                if let Err(e) = std::fs::remove_file(&next) {
                    warn!("deleting {} failed: {e}", next.display());
                }
            }
        }
        prev
    }

    /// `setLastSeenQuorumVerifier`: a proposed configuration (a reconfig in
    /// flight), kept while it is newer than the last one seen, and written
    /// to `zoo.cfg.dynamic.next` (with its version) if `write_to_disk`.
    pub(crate) fn set_last_seen_quorum_verifier(&self, qv: QuorumVerifier, write_to_disk: bool) {
        if !self.is_reconfig_enabled() {
            info!("Dynamic reconfig is disabled, we don't store the last seen config.");
            return;
        }
        let mut seen = self.last_seen_quorum_verifier.write().unwrap();
        let last = seen
            .as_ref()
            .map_or_else(|| self.quorum_verifier().version(), |s| s.version());
        if last > qv.version() {
            error!(
                "setLastSeenQuorumVerifier called with stale config 0x{:x}. Current version: 0x{:x}",
                qv.version(),
                last
            );
        }
        if last == qv.version() {
            return;
        }
        if write_to_disk {
            if let Some(config_file) = self.config_filename() {
                let next = dynamic_config::next_dynamic_config_filename(&config_file);
                if let Err(e) = dynamic_config::write_dynamic_config(&next, &qv, true) {
                    error!(
                        "Error writing next dynamic config file {}: {e}",
                        next.display()
                    );
                }
            }
        }
        let qv = Arc::new(qv);
        *seen = Some(qv.clone());
        drop(seen);
        self.connect_new_peers(&qv);
    }

    /// `connectNewPeers`: the election dials the members a proposed config
    /// adds (the dial reads both configs, so the locks are released first).
    fn connect_new_peers(&self, next: &QuorumVerifier) {
        let Some(election) = self.election() else {
            return;
        };
        let committed = self.quorum_verifier();
        for &sid in next.all_members().keys() {
            if sid != self.my_id() && !committed.all_members().contains_key(&sid) {
                info!(
                    "myid={}: dialing server {sid}, new in config 0x{:x}",
                    self.my_id(),
                    next.version()
                );
                election.cnx_manager().connect_one(sid);
            }
        }
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
        if !self.is_reconfig_enabled() {
            info!("Reconfig feature is disabled, skip reconfig processing.");
            return false;
        }
        let new_version = qv.version();
        let prev = self.set_quorum_verifier(qv, true);
        // /zookeeper/config gets the config even when no txn carried it
        // here (the initial one after a sync, one learnt in the election).
        self.init_config_in_zk_database();
        let now = self.quorum_verifier();
        if prev.version() >= new_version || same_config(&prev, &now) {
            return false;
        }
        info!(
            "myid={} adopted config version 0x{:x} (was 0x{:x})",
            self.my_id(),
            now.version(),
            prev.version()
        );
        if restart_le {
            self.restart_leader_election(&prev, &now);
        }
        self.reconfigure_client_port(&now);
        let role_change = self.update_learner_type(&now);
        let leader_change = match suggested_leader_id {
            Some(designated) => self.update_vote(designated, zxid),
            None => {
                let leader = self.current_vote().id;
                let was = prev.voting_members().get(&leader).map(|s| s.addr().clone());
                let is = now.voting_members().get(&leader).map(|s| s.addr().clone());
                // No designated leader: an election decides.
                self.reconfig_flag.store(false, Ordering::SeqCst);
                was.is_none() || was != is
            }
        };
        role_change || leader_change
    }

    /// `cnxnFactory.reconfigure`: the new config gives us a client
    /// address other than the one we accept on, so the client port moves
    /// there (connections already open stay). A port that cannot be bound
    /// leaves the old one open.
    fn reconfigure_client_port(&self, qv: &QuorumVerifier) {
        let Some(wanted) = qv
            .all_members()
            .get(&self.my_id())
            .and_then(|s| s.client_addr.as_ref())
        else {
            return;
        };
        let Ok(addr) = wanted.resolve() else {
            warn!(
                "myid={}: client address {wanted} does not resolve",
                self.my_id()
            );
            return;
        };
        if self.client_address() == Some(addr) {
            return;
        }
        let mut ports = self.cnxn_factory.lock().unwrap();
        let Some(ports) = ports.as_mut() else {
            return;
        };
        match ports.reconfigure(addr) {
            Ok(()) => {
                info!(
                    "myid={}: client port moved to {addr} by config 0x{:x}",
                    self.my_id(),
                    qv.version()
                );
                self.set_client_address(ports.client_addr());
            }
            Err(e) => error!(
                "myid={}: cannot move the client port to {addr}: {e}",
                self.my_id()
            ),
        }
    }

    /// The election running now, if any (a handle).
    pub(super) fn election(&self) -> Option<FastLeaderElection> {
        self.election.lock().unwrap().clone()
    }

    /// `restartLeaderElection`: when the configuration changed, the
    /// election and its connections start over on the new view. Runs
    /// under the election's lock, so a LOOKING peer picks up the new one
    /// and a shutdown takes whichever is current.
    pub(crate) fn restart_leader_election(&self, old: &QuorumVerifier, new: &QuorumVerifier) {
        if same_config(old, new) {
            return;
        }
        let mut slot = self.election.lock().unwrap();
        if !self.is_running() {
            return;
        }
        let Some(old_election) = slot.take() else {
            // A peer without an election (built for Zab alone) has none
            // to restart.
            return;
        };
        warn!(
            "myid={}: Restarting Leader Election (config 0x{:x} -> 0x{:x})",
            self.my_id(),
            old.version(),
            new.version()
        );
        old_election.shutdown();
        self.start_leader_election_locked(&mut slot);
    }

    /// `shuttingDownLE`: a newer config heard while LOOKING made the
    /// election shut itself down; a new one starts before we look again.
    pub(super) fn restart_election_if_shut_down_by_reconfig(&self) {
        let mut slot = self.election.lock().unwrap();
        if !self.is_running() || !slot.as_ref().is_some_and(|e| e.is_shutting_down_le()) {
            return;
        }
        info!(
            "myid={}: the election gave way to config 0x{:x}; starting a new one",
            self.my_id(),
            self.quorum_verifier().version()
        );
        if let Some(e) = slot.take() {
            e.shutdown();
        }
        self.start_leader_election_locked(&mut slot);
    }

    /// `startLeaderElection` after a restart: a LOOKING peer votes for
    /// itself again; the new election goes into `slot`. A failure leaves
    /// no election, and the peer stops (as 3.8's throws out of run).
    fn start_leader_election_locked(&self, slot: &mut Option<FastLeaderElection>) {
        if self.state() == zk_election::ServerState::Looking {
            let zxid = ElectionPeer::last_logged_zxid(self);
            match self.current_epoch() {
                Ok(epoch) => self.set_current_vote(Vote::initial(self.my_id(), zxid, epoch)),
                Err(e) => error!("cannot read the current epoch for the new election: {e}"),
            }
        }
        match self.create_election_algorithm() {
            Ok(e) => *slot = Some(e),
            Err(e) => {
                error!(
                    "myid={}: cannot restart the leader election: {e}",
                    self.my_id()
                );
                self.stop_running();
            }
        }
    }

    /// `updateLearnerType`: an observer in the new config becomes one, a
    /// participant (or a server not in it) becomes a participant.
    fn update_learner_type(&self, qv: &QuorumVerifier) -> bool {
        let me = self.my_id();
        let (new_type, what) = if qv.observing_members().contains_key(&me) {
            (LearnerType::Observer, "Becoming an observer")
        } else if qv.voting_members().contains_key(&me) {
            (LearnerType::Participant, "Becoming a voting participant")
        } else {
            (
                LearnerType::Participant,
                "Becoming a non-voting participant",
            )
        };
        let mut current = self.learner_type.lock().unwrap();
        if *current == new_type {
            return false;
        }
        *current = new_type;
        info!("myid={me}: {what}");
        self.reconfig_flag.store(true, Ordering::SeqCst);
        true
    }

    /// `updateVote`: the old leader designated another one; we take it as
    /// our vote and go to it without an election.
    fn update_vote(&self, designated_leader: i64, zxid: i64) -> bool {
        if designated_leader == self.current_vote().id {
            return false;
        }
        self.set_current_vote(Vote::new(designated_leader, zxid, -1, -1));
        self.reconfig_flag.store(true, Ordering::SeqCst);
        warn!("Suggested leader: {designated_leader}");
        true
    }

    /// `updateServerState`, after a role ends: LOOKING, unless a reconfig
    /// just designated the leader (or changed our type), in which case the
    /// role the current vote gives.
    pub(super) fn server_state_after_role(&self) -> zk_election::ServerState {
        use zk_election::ServerState;
        if !self.reconfig_flag.swap(false, Ordering::SeqCst) {
            return ServerState::Looking;
        }
        if self.my_id() == self.current_vote().id {
            ServerState::Leading
        } else if self.learner_type() == LearnerType::Observer {
            ServerState::Observing
        } else {
            ServerState::Following
        }
    }
}

/// `QuorumVerifier.equals` as 3.8 has it: the same version, or the same
/// members (id, type, quorum, election and client addresses) and, for
/// groups and weights, the same of those. A version bump alone (the
/// leader's ZOOKEEPER-1783 one) changes nothing that runs.
pub(crate) fn same_config(a: &QuorumVerifier, b: &QuorumVerifier) -> bool {
    if a.version() == b.version() {
        return true;
    }
    let key = |q: &QuorumVerifier| {
        q.all_members()
            .values()
            .map(|s| {
                (
                    s.id,
                    s.learner_type,
                    s.addrs.clone(),
                    s.election_addrs.clone(),
                    s.client_addr.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    // Groups and weights, as the config text has them.
    let rules = |q: &QuorumVerifier| {
        q.to_string()
            .lines()
            .filter(|l| !l.starts_with("server.") && !l.starts_with("version="))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    key(a) == key(b) && rules(a) == rules(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum_peer::QuorumPeerSettings;
    use crate::test_support::{open_db, TestDir};
    use zk_persistence::zoo_defs::CONFIG_NODE;

    fn config(text: &str) -> QuorumVerifier {
        zk_election::config_from_string(text).unwrap()
    }

    const THREE: &str = "server.1=127.0.0.1:2888:3888:participant\n\
                         server.2=127.0.0.1:2889:3889:participant\n\
                         server.3=127.0.0.1:2890:3890:participant\nversion=0";

    fn peer(dir: &TestDir, reconfig: bool) -> Arc<QuorumPeer> {
        let mut s = QuorumPeerSettings::new(1);
        s.reconfig_enabled = reconfig;
        QuorumPeer::new(s, config(THREE), open_db(dir.path()))
    }

    #[test]
    fn a_reconfig_making_us_an_observer_changes_role() {
        let dir = TestDir::new("reconfig-observer");
        let p = peer(&dir, true);
        p.set_current_vote(Vote::new(3, 0, 1, 1));
        let next = config(
            "server.1=127.0.0.1:2888:3888:observer\nserver.2=127.0.0.1:2889:3889:participant\n\
             server.3=127.0.0.1:2890:3890:participant\nversion=100000004",
        );
        assert!(p.process_reconfig(next.clone(), Some(3), 0x100000004, true));
        assert_eq!(p.learner_type(), LearnerType::Observer);
        assert_eq!(p.quorum_verifier().version(), 0x100000004);
        // /zookeeper/config holds the new config.
        let db = p.db().read().unwrap();
        let node = db.data_tree().get_node(CONFIG_NODE).unwrap();
        assert_eq!(node.data(), Some(next.to_string().as_bytes()));
        drop(db);
        // The role after this one follows from the vote, no election.
        assert_eq!(
            p.server_state_after_role(),
            zk_election::ServerState::Observing
        );
        assert_eq!(
            p.server_state_after_role(),
            zk_election::ServerState::Looking
        );
    }

    #[test]
    fn same_leader_and_type_is_no_major_change_and_old_configs_are_ignored() {
        let dir = TestDir::new("reconfig-minor");
        let p = peer(&dir, true);
        p.set_current_vote(Vote::new(3, 0, 1, 1));
        let next = config(
            "server.1=127.0.0.1:2888:3888:participant\nserver.3=127.0.0.1:2890:3890:participant\n\
             version=100000004",
        );
        assert!(!p.process_reconfig(next.clone(), Some(3), 0x100000004, true));
        assert!(!p.process_reconfig(config(THREE), Some(2), 0x100000001, true));
        assert_eq!(*p.quorum_verifier(), next);
        let newer = config(
            "server.1=127.0.0.1:2888:3888:participant\nserver.3=127.0.0.1:2890:3890:participant\n\
             server.4=127.0.0.1:2891:3891:participant\nversion=200000001",
        );
        // From the election: adopted, and the election must give way to one
        // on the new view.
        assert!(ElectionPeer::process_reconfig(&*p, newer));
        assert_eq!(p.quorum_verifier().version(), 0x200000001);
    }

    #[test]
    fn a_version_bump_alone_is_the_same_config() {
        let bumped = config(&THREE.replace("version=0", "version=100000000"));
        assert!(same_config(&config(THREE), &bumped));
        let dir = TestDir::new("reconfig-bump");
        let p = peer(&dir, true);
        p.set_current_vote(Vote::new(3, 0, 1, 1));
        // The ZOOKEEPER-1783 bump NEWLEADER carries: adopted, nothing else.
        assert!(!p.process_reconfig(bumped, Some(3), 0x100000000, true));
        assert_eq!(p.quorum_verifier().version(), 0x100000000);
        // A moved election port, another type or a client address differ.
        for changed in [
            THREE.replace(":3889:", ":3999:"),
            THREE.replace("3889:participant", "3889:observer"),
            THREE.replace("3889:participant", "3889:participant;127.0.0.1:2181"),
        ] {
            let changed = config(&changed.replace("version=0", "version=100000001"));
            assert!(!same_config(&config(THREE), &changed), "{changed}");
        }
    }

    #[test]
    fn a_removed_server_keeps_its_own_addresses() {
        let dir = TestDir::new("reconfig-removed-addrs");
        let p = peer(&dir, true);
        let without_me = config(
            "server.2=127.0.0.1:2889:3889:participant
server.3=127.0.0.1:2890:3890:participant
             version=100000004",
        );
        p.process_reconfig(without_me, Some(3), 0x100000004, true);
        let me = ElectionPeer::my_addrs(&*p).expect("kept");
        assert_eq!(me.election_addr().port, 3888);
        let moved = config(
            "server.1=127.0.0.1:2888:3999:participant
server.3=127.0.0.1:2890:3890:participant
             version=100000005",
        );
        p.process_reconfig(moved, Some(3), 0x100000005, true);
        let me = ElectionPeer::my_addrs(&*p).expect("in the config");
        assert_eq!(me.election_addr().port, 3999);
    }

    #[test]
    fn disabled_reconfig_changes_nothing() {
        let dir = TestDir::new("reconfig-disabled");
        let p = peer(&dir, false);
        let next = config("server.1=127.0.0.1:2888:3888:participant\nversion=100000004");
        assert!(!p.process_reconfig(next, Some(2), 0x100000004, true));
        assert_eq!(p.quorum_verifier().version(), 0);
    }
}
