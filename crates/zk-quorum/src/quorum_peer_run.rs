//! The roles [`QuorumPeer::run`] plays, one call each: LOOKING (the
//! election, with a read-only server meanwhile if enabled), LEADING and
//! FOLLOWING/OBSERVING, and what happens between them.
//!
//! The client port (`NIOServerCnxnFactory`) and the admin server belong
//! to the peer and outlive the roles: each role's server is handed to
//! them when the role starts (`setZooKeeperServer`), which closes the
//! previous role's connections; clients reconnect and are held until the
//! new server is RUNNING. Between roles a server that never starts stands
//! in, so connections wait and commands answer that the server is not
//! serving.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::{error, info, warn};
use zk_election::{ElectionError, ElectionPeer, ServerState};
use zk_server::server_role::ServerRole;
use zk_server::zookeeper_server::ZooKeeperServer;

use super::{QuorumPeer, ZabState};
use crate::follower::Follower;
use crate::leader::Leader;
use crate::leader_zookeeper_server::LeaderZooKeeperServer;
use crate::learner_zookeeper_server::{LearnerRole, LearnerZooKeeperServer};
use crate::observer::Observer;
use crate::read_only_zookeeper_server::ReadOnlyServerStarter;

/// The role being played, so that shutdown can end it.
pub(super) enum Role {
    None,
    Leading(Arc<Leader>),
    Learning(Arc<LearnerZooKeeperServer>),
}

impl QuorumPeer {
    /// LOOKING: one round of the leader election; its vote becomes the
    /// current vote (and the peer's state the role it chose).
    pub(super) fn look(self: &Arc<Self>) {
        info!("LOOKING");
        zk_server::server_metrics::ServerMetrics::get()
            .looking_count
            .inc();
        self.set_zab_state(ZabState::Election);
        self.restart_election_if_shut_down_by_reconfig();
        let Some(election) = self.election() else {
            self.stop_running();
            return;
        };
        let read_only = if self.serving().read_only_mode {
            let (for_server, for_serve) = (Arc::clone(self), Arc::clone(self));
            ReadOnlyServerStarter::start(
                Arc::clone(self),
                move |role| for_server.new_server(role),
                move |zks| for_serve.serve_with(zks),
            )
            .map_err(|e| warn!("Cannot start the read-only server's starter: {e}"))
            .ok()
        } else {
            None
        };
        let election_started = std::time::Instant::now();
        let outcome = election.look_for_leader();
        if let Some(zks) = read_only.and_then(ReadOnlyServerStarter::finish) {
            info!("Shutting down the read-only server");
            zks.shutdown();
            self.serve_with(&self.idle_server());
        }
        match outcome {
            Ok(v) => {
                zk_server::server_metrics::ServerMetrics::get()
                    .election_time
                    .add(election_started.elapsed().as_millis() as i64);
                info!(
                    "Election done: leader {} (zxid 0x{:x}, epoch 0x{:x}); this server is {}",
                    v.id,
                    v.zxid,
                    v.peer_epoch,
                    self.state()
                );
                self.set_current_vote(v);
            }
            Err(ElectionError::Shutdown) if election.is_shutting_down_le() => {
                info!("The leader election gave way to a new configuration");
            }
            Err(ElectionError::Shutdown) => {
                if self.is_running() {
                    error!("The leader election stopped under a running peer");
                    self.stop_running();
                }
            }
            Err(e) => {
                warn!("Unexpected exception in the leader election: {e}");
                ElectionPeer::set_peer_state(&**self, ServerState::Looking);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Hands `zks` to the client port and the admin server.
    fn serve_with(&self, zks: &Arc<ZooKeeperServer>) {
        if let Some(ports) = self.cnxn_factory.lock().unwrap().as_ref() {
            ports.set_zookeeper_server(zks);
        }
        if let Some(slot) = self.slot.get() {
            *slot.write().unwrap() = Arc::clone(zks);
        }
    }

    /// A role's server over this peer's database, whose fatal error
    /// stops the peer.
    fn new_server(self: &Arc<Self>, role: Arc<dyn ServerRole>) -> Arc<ZooKeeperServer> {
        let zks =
            ZooKeeperServer::with_role(self.serving().zk_cfg.clone(), Arc::clone(self.db()), role);
        self.stop_on_fatal_error(&zks);
        zks
    }

    /// `zks`'s fatal error (a txn log that cannot be written) stops the
    /// peer, which then ends the process with it.
    fn stop_on_fatal_error(self: &Arc<Self>, zks: &ZooKeeperServer) {
        let peer = Arc::clone(self);
        zks.set_fatal_error_listener(Box::new(move |e| peer.stop_with_fatal_error(e.clone())));
    }

    /// A server that never starts: connections wait on it, and commands
    /// say it is not serving.
    pub(super) fn idle_server(&self) -> Arc<ZooKeeperServer> {
        ZooKeeperServer::with_database(self.serving().zk_cfg.clone(), Arc::clone(self.db()))
    }

    /// LEADING: a `Leader` with a `LeaderZooKeeperServer`, until leading
    /// ends.
    pub(super) fn lead(self: &Arc<Self>) {
        info!("LEADING");
        // The leader's Prep answers reconfigs as the peer's reconfigEnabled says.
        let mut zk_cfg = self.serving().zk_cfg.clone();
        zk_cfg.reconfig_enabled = self.is_reconfig_enabled();
        let lzk =
            LeaderZooKeeperServer::new(zk_cfg, Arc::clone(self.db()), self.serving().containers);
        let zks = Arc::clone(lzk.zks());
        self.stop_on_fatal_error(&zks);
        let leader = match Leader::new(Arc::clone(self), lzk.clone()) {
            Ok(l) => l,
            Err(e) => {
                warn!("Unable to lead: {e}");
                return;
            }
        };
        lzk.attach(&leader);
        *self.role.lock().unwrap() = Role::Leading(Arc::clone(&leader));
        self.serve_with(&zks);
        if !self.is_running() {
            leader.shutdown("the peer is shutting down");
        }
        match leader.lead() {
            Ok(()) => info!(
                "Stopped leading: {}",
                leader
                    .shutdown_reason()
                    .unwrap_or_else(|| "no reason given".into())
            ),
            Err(e) => warn!("Unexpected exception while leading: {e}"),
        }
        leader.shutdown("end of leadership");
        *self.role.lock().unwrap() = Role::None;
    }

    /// FOLLOWING or OBSERVING: a `Follower` or `Observer` with a learner's
    /// `LearnerZooKeeperServer`, until the connection to the leader ends.
    pub(super) fn learn(self: &Arc<Self>, role: LearnerRole) {
        let (state, doing) = if role == LearnerRole::Follower {
            ("FOLLOWING", "following")
        } else {
            ("OBSERVING", "observing")
        };
        info!("{state}");
        let vote = ElectionPeer::current_vote(&**self);
        let addr = match self.leader_address(vote.id) {
            Ok(a) => a,
            Err(e) => {
                warn!("Cannot find the leader {}: {e}", vote.id);
                return;
            }
        };
        let lzk = LearnerZooKeeperServer::new(
            role,
            self,
            self.serving().zk_cfg.clone(),
            self.serving().observer_sync_enabled,
        );
        let zks = Arc::clone(lzk.zks());
        self.stop_on_fatal_error(&zks);
        *self.role.lock().unwrap() = Role::Learning(Arc::clone(&lzk));
        self.serve_with(&zks);
        let err = if !self.is_running() {
            io::Error::new(io::ErrorKind::Interrupted, "the peer is shutting down")
        } else if role == LearnerRole::Follower {
            Follower::follow_leader(self, &*lzk, addr)
        } else {
            Observer::observe_leader(self, &*lzk, addr)
        };
        info!("Stopped {doing}: {err}");
        crate::servers::LearnerZkServer::shutdown(&*lzk, false);
        *self.role.lock().unwrap() = Role::None;
    }

    /// `findLeader`: the quorum address of the leader's server line.
    fn leader_address(&self, sid: i64) -> io::Result<SocketAddr> {
        let qv = self.quorum_verifier();
        let server = qv.all_members().get(&sid).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("server {sid} is not in the configuration"),
            )
        })?;
        server.addr().resolve()
    }

    /// A role ended: the client port waits for the next one, with every
    /// connection of this one closed.
    pub(super) fn back_to_looking(&self) {
        self.serve_with(&self.idle_server());
        if self.is_running() {
            let next = self.server_state_after_role();
            if next != ServerState::Looking {
                info!("After the reconfig, {next:?} without an election");
            }
            ElectionPeer::set_peer_state(self, next);
        }
    }

    /// Ends the current role from another thread (shutdown).
    pub(super) fn end_role(&self, why: &str) {
        match &*self.role.lock().unwrap() {
            Role::None => {}
            Role::Leading(l) => l.shutdown(why),
            Role::Learning(l) => l.close_leader_connection(),
        }
    }
}
