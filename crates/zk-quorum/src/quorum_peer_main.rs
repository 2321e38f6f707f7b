//! `QuorumPeer.start` and `QuorumPeer.run`: a replicated server from its
//! configuration to its last role.
//!
//! [`QuorumPeerMain::run_from_config`] does 3.8's startup in order:
//! load the database (with the epoch checks), open the client port, start
//! the admin server and the leader election, then the peer's own thread
//! (`QuorumPeer[myid=N]`) loops:
//!
//! ```text
//! LOOKING   -> look_for_leader; its vote becomes the current vote
//! LEADING   -> Leader + LeaderZooKeeperServer, until leading ends
//! FOLLOWING -> follow_leader with a follower's LearnerZooKeeperServer
//! OBSERVING -> observe_leader with an observer's LearnerZooKeeperServer
//! any role ending -> LOOKING again
//! ```
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
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use log::{error, info, warn};
use zk_config::{QuorumPeerConfig, ServerConfig};
use zk_election::{ElectionError, ElectionPeer, FastLeaderElection, ServerState, Vote};
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::zk_database::ZKDatabase;
use zk_server::admin_server::{AdminServer, ServerSlot};
use zk_server::cnxn::factory::NIOServerCnxnFactory;
use zk_server::container_manager::ContainerSettings;
use zk_server::server_main;
use zk_server::zookeeper_server::{ZooKeeperServer, ZooKeeperServerConfig};

use crate::follower::Follower;
use crate::leader::Leader;
use crate::leader_zk_server::LeaderZooKeeperServer;
use crate::learner_zk_server::{LearnerRole, LearnerZooKeeperServer};
use crate::observer::Observer;
use crate::quorum_peer::{FatalError, QuorumPeer, QuorumPeerSettings, ZabState};
use crate::read_only_zk_server::ReadOnlyServerStarter;

/// The role being played, so that shutdown can end it.
enum Role {
    None,
    Leading(Arc<Leader>),
    Learning(Arc<LearnerZooKeeperServer>),
}

struct Shared {
    peer: Arc<QuorumPeer>,
    factory: Mutex<NIOServerCnxnFactory>,
    admin: Mutex<Option<AdminServer>>,
    slot: ServerSlot,
    zk_cfg: ZooKeeperServerConfig,
    containers: ContainerSettings,
    observer_sync_enabled: bool,
    /// `readonlymode.enabled` on a participant: serve read-only while
    /// LOOKING for long.
    read_only_mode: bool,
    election: OnceLock<FastLeaderElection>,
    role: Mutex<Role>,
}

/// A running replicated server; [`QuorumPeerMain::shutdown`] stops it.
pub struct QuorumPeerMain {
    shared: Arc<Shared>,
    client_addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl QuorumPeerMain {
    /// `runFromConfig` up to the start of the peer's thread.
    pub fn run_from_config(config: &QuorumPeerConfig) -> io::Result<QuorumPeerMain> {
        server_main::raise_open_file_limit();
        let props = &config.system_properties;
        server_main::apply_data_tree_options(props);
        let settings = QuorumPeerSettings::from_config(config)?;
        let my_id = settings.my_id;
        let snap_log = FileTxnSnapLog::open(&config.data_log_dir, &config.data_dir)?;
        let db = ZKDatabase::new(snap_log);
        let peer = QuorumPeer::new(settings, config.quorum_verifier.clone(), db);

        info!("Starting quorum peer, myid={my_id}");
        peer.load_data_base()?;
        // /zookeeper/config answers getConfig on every role, the leader's
        // included (learners set it again when they sync), as 3.8's
        // QuorumPeerMain does before the peer starts.
        peer.init_config_in_zk_database();

        let server_config = ServerConfig::from(config);
        let mut zk_cfg = server_main::server_config(&server_config);
        zk_cfg.server_id = my_id;
        let standby = idle_server(&zk_cfg, &peer);
        let factory = NIOServerCnxnFactory::start(
            server_main::cnxn_factory_config(&server_config),
            Arc::clone(&standby),
        )?;
        let client_addr = factory.local_addr();
        peer.set_client_address(client_addr);
        info!("Client port {client_addr} open; clients are served once this server has a role");
        let slot: ServerSlot = Arc::new(RwLock::new(standby));
        let admin = server_main::start_admin_server_with_slot(Arc::clone(&slot), props);

        let shared = Arc::new(Shared {
            peer: Arc::clone(&peer),
            factory: Mutex::new(factory),
            admin: Mutex::new(admin),
            slot,
            zk_cfg,
            containers: ContainerSettings::from_properties(props),
            observer_sync_enabled: props.get_boolean_or("zookeeper.observer.syncEnabled", true),
            read_only_mode: props.read_only_mode_enabled()
                && config.peer_type == zk_config::LearnerType::Participant,
            election: OnceLock::new(),
            role: Mutex::new(Role::None),
        });

        // startLeaderElection: the first vote is for ourselves.
        let zxid = ElectionPeer::last_logged_zxid(&*peer);
        let epoch = peer.current_epoch()?;
        peer.set_current_vote(Vote::initial(my_id, zxid, epoch));
        let election = zk_election::start_election(config, Arc::clone(&peer) as _)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let _ = shared.election.set(election);

        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("QuorumPeer[myid={my_id}]{client_addr}"))
            .spawn(move || s.run())?;
        Ok(QuorumPeerMain {
            shared,
            client_addr,
            thread: Some(thread),
        })
    }

    pub fn client_addr(&self) -> SocketAddr {
        self.client_addr
    }

    pub fn peer(&self) -> &Arc<QuorumPeer> {
        &self.shared.peer
    }

    /// The server of the current role (or the idle stand-in).
    pub fn server(&self) -> Arc<ZooKeeperServer> {
        Arc::clone(&self.shared.slot.read().unwrap())
    }

    /// Whether the peer's thread ended on its own (a fatal error).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().map_or(true, JoinHandle::is_finished)
    }

    /// Stops the role, the election, the client port and the admin server.
    pub fn shutdown(mut self) {
        info!("Shutting down the quorum peer");
        let s = &self.shared;
        s.peer.stop_running();
        if let Some(e) = s.election.get() {
            e.shutdown();
        }
        s.end_role("the peer is shutting down");
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        s.factory.lock().unwrap().shutdown();
        if let Some(mut a) = s.admin.lock().unwrap().take() {
            a.shutdown();
        }
        if let Err(e) = s.peer.db().write().unwrap().close() {
            warn!("Error closing the txn log: {e}");
        }
        info!("Quorum peer stopped");
    }

    /// Why the peer stopped on its own, if it did.
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.shared.peer.fatal_error()
    }
}

impl Drop for QuorumPeerMain {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shared.peer.stop_running();
            if let Some(e) = self.shared.election.get() {
                e.shutdown();
            }
            self.shared.end_role("dropped");
        }
    }
}

/// A server that never starts: connections wait on it, and commands say
/// it is not serving.
fn idle_server(cfg: &ZooKeeperServerConfig, peer: &Arc<QuorumPeer>) -> Arc<ZooKeeperServer> {
    ZooKeeperServer::with_database(cfg.clone(), Arc::clone(peer.db()))
}

impl Shared {
    /// `QuorumPeer.run`.
    fn run(self: &Arc<Self>) {
        let peer = &self.peer;
        while peer.is_running() {
            match peer.state() {
                ServerState::Looking => self.look(),
                ServerState::Leading => {
                    self.lead();
                    self.back_to_looking();
                }
                ServerState::Following => {
                    self.learn(LearnerRole::Follower);
                    self.back_to_looking();
                }
                ServerState::Observing => {
                    self.learn(LearnerRole::Observer);
                    self.back_to_looking();
                }
            }
        }
        info!("QuorumPeer main thread exited");
    }

    fn look(self: &Arc<Self>) {
        info!("LOOKING");
        self.peer.set_zab_state(ZabState::Election);
        let Some(election) = self.election.get() else {
            self.peer.stop_running();
            return;
        };
        let read_only = if self.read_only_mode {
            let (for_server, for_serve) = (Arc::clone(self), Arc::clone(self));
            ReadOnlyServerStarter::start(
                Arc::clone(&self.peer),
                move || for_server.new_server(),
                move |zks| for_serve.serve_with(zks),
            )
            .map_err(|e| warn!("Cannot start the read-only server's starter: {e}"))
            .ok()
        } else {
            None
        };
        let outcome = election.look_for_leader();
        if let Some(zks) = read_only.and_then(ReadOnlyServerStarter::finish) {
            info!("Shutting down the read-only server");
            zks.shutdown();
            let idle = idle_server(&self.zk_cfg, &self.peer);
            self.serve_with(&idle);
        }
        match outcome {
            Ok(v) => {
                info!(
                    "Election done: leader {} (zxid 0x{:x}, epoch 0x{:x}); this server is {}",
                    v.id,
                    v.zxid,
                    v.peer_epoch,
                    self.peer.state()
                );
                self.peer.set_current_vote(v);
            }
            Err(ElectionError::Shutdown) => {
                if self.peer.is_running() {
                    error!("The leader election stopped under a running peer");
                    self.peer.stop_running();
                }
            }
            Err(e) => {
                warn!("Unexpected exception in the leader election: {e}");
                ElectionPeer::set_peer_state(&*self.peer, ServerState::Looking);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Hands `zks` to the client port and the admin server.
    fn serve_with(&self, zks: &Arc<ZooKeeperServer>) {
        self.factory
            .lock()
            .unwrap()
            .set_zookeeper_server(Arc::clone(zks));
        *self.slot.write().unwrap() = Arc::clone(zks);
    }

    fn new_server(&self) -> Arc<ZooKeeperServer> {
        ZooKeeperServer::with_database(self.zk_cfg.clone(), Arc::clone(self.peer.db()))
    }

    fn lead(&self) {
        info!("LEADING");
        let zks = self.new_server();
        let lzk = LeaderZooKeeperServer::new(Arc::clone(&zks), self.containers);
        let leader = match Leader::new(Arc::clone(&self.peer), lzk.clone()) {
            Ok(l) => l,
            Err(e) => {
                warn!("Unable to lead: {e}");
                return;
            }
        };
        lzk.attach(&leader);
        *self.role.lock().unwrap() = Role::Leading(Arc::clone(&leader));
        self.serve_with(&zks);
        if !self.peer.is_running() {
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

    fn learn(&self, role: LearnerRole) {
        info!(
            "{}",
            if role == LearnerRole::Follower {
                "FOLLOWING"
            } else {
                "OBSERVING"
            }
        );
        let vote = ElectionPeer::current_vote(&*self.peer);
        let addr = match self.leader_address(vote.id) {
            Ok(a) => a,
            Err(e) => {
                warn!("Cannot find the leader {}: {e}", vote.id);
                return;
            }
        };
        let zks = self.new_server();
        let lzk = LearnerZooKeeperServer::new(
            role,
            self.peer.my_id(),
            Arc::clone(&zks),
            self.observer_sync_enabled,
        );
        lzk.attach_peer(&self.peer);
        *self.role.lock().unwrap() = Role::Learning(Arc::clone(&lzk));
        self.serve_with(&zks);
        let err = if !self.peer.is_running() {
            io::Error::new(io::ErrorKind::Interrupted, "the peer is shutting down")
        } else if role == LearnerRole::Follower {
            Follower::follow_leader(&self.peer, &*lzk, addr)
        } else {
            Observer::observe_leader(&self.peer, &*lzk, addr)
        };
        info!(
            "Stopped {}: {err}",
            if role == LearnerRole::Follower {
                "following"
            } else {
                "observing"
            }
        );
        crate::servers::LearnerZkServer::shutdown(&*lzk, false);
        *self.role.lock().unwrap() = Role::None;
    }

    /// `findLeader`: the quorum address of the leader's server line.
    fn leader_address(&self, sid: i64) -> io::Result<SocketAddr> {
        let qv = self.peer.quorum_verifier();
        let server = u64::try_from(sid)
            .ok()
            .and_then(|id| qv.all_members().get(&id).cloned())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("server {sid} is not in the configuration"),
                )
            })?;
        server.addr().resolve()
    }

    /// A role ended: the client port waits for the next one, with every
    /// connection of this one closed.
    fn back_to_looking(&self) {
        let idle = idle_server(&self.zk_cfg, &self.peer);
        self.serve_with(&idle);
        if self.peer.is_running() {
            ElectionPeer::set_peer_state(&*self.peer, ServerState::Looking);
        }
    }

    /// Ends the current role from another thread (shutdown).
    fn end_role(&self, why: &str) {
        match &*self.role.lock().unwrap() {
            Role::None => {}
            Role::Leading(l) => l.shutdown(why),
            Role::Learning(l) => l.close_leader_connection(),
        }
    }
}
