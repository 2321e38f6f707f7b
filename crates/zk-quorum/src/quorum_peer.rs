//! `QuorumPeer`: one server of an ensemble. Its state is what the leader
//! and learner code share: its id and role, the timing limits, the
//! configuration, the database, the two epochs on disk and the tick; and
//! what the election asks of it ([`ElectionPeer`]: the current vote and
//! state).
//!
//! A peer built from zoo.cfg ([`QuorumPeer::from_config`]) also serves:
//! [`QuorumPeer::start`] does 3.8's startup in order (load the database
//! with the epoch checks, open the client port, start the admin server
//! and the leader election), then starts the peer's own thread
//! (`QuorumPeer[myid=N]`), which runs [`QuorumPeer::run`]:
//!
//! ```text
//! LOOKING   -> look_for_leader; its vote becomes the current vote
//! LEADING   -> Leader + LeaderZooKeeperServer, until leading ends
//! FOLLOWING -> Follower::follow_leader with a follower's LearnerZooKeeperServer
//! OBSERVING -> Observer::observe_leader with an observer's LearnerZooKeeperServer
//! any role ending -> LOOKING again
//! ```
//!
//! The roles themselves are in quorum_peer_run.rs.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::thread::JoinHandle;

use log::{error, info, warn};
use zk_config::{LearnerType, QuorumPeerConfig, QuorumServer, QuorumVerifier, ServerConfig};
use zk_election::{
    ElectionPeer, FastLeaderElection, FleConfig, NullQuorumAuthLearner, NullQuorumAuthServer,
    QuorumAuthLearner, QuorumAuthServer, QuorumCnxConfig, QuorumTls, ServerState, Vote,
};
use zk_persistence::epoch::{
    load_epochs, read_long_from_file, write_long_to_file, ACCEPTED_EPOCH_FILENAME,
    CURRENT_EPOCH_FILENAME,
};
use zk_persistence::jute::DEFAULT_MAX_BUFFER;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::CONFIG_NODE;
use zk_server::admin_server::{AdminServer, ServerSlot};
use zk_server::container_manager::ContainerSettings;
use zk_server::fatal_error::FatalError;
use zk_server::start_error::StartError;
use zk_server::zookeeper_server::{ZooKeeperServer, ZooKeeperServerConfig};
use zk_server::zookeeper_server_main::{self, ClientPorts};

use crate::learner_zookeeper_server::LearnerRole;
use crate::sync_follower::SyncOptions;

/// Where the Zab protocol is for this peer (`QuorumPeer.ZabState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZabState {
    /// Looking for a leader.
    Election,
    /// Agreeing on the new epoch with the leader (or the learners).
    Discovery,
    /// Syncing the learners' databases with the leader's.
    Synchronization,
    /// Serving: proposals, ACKs and commits.
    Broadcast,
}

/// How this learner last synced (`QuorumPeer.SyncMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncMode {
    /// Not syncing (or synced).
    None,
    /// By the txns the learner missed.
    Diff,
    /// By the leader's snapshot.
    Snap,
    /// By truncating the learner's log first.
    Trunc,
}

/// The settings a peer runs Zab with (from zoo.cfg).
#[derive(Debug, Clone)]
pub struct QuorumPeerSettings {
    /// `myid`.
    pub my_id: i64,
    /// Participant or observer (`peerType`).
    pub learner_type: LearnerType,
    /// `tickTime` in ms.
    pub tick_time: i32,
    /// `initLimit` in ticks: how long discovery and sync may take.
    pub init_limit: i32,
    /// `syncLimit` in ticks: how long a synced learner may stay silent.
    pub sync_limit: i32,
    /// `connectToLearnerMasterLimit` in ticks; 0 means use `initLimit`.
    pub connect_to_learner_master_limit: i32,
    /// `quorumListenOnAllIPs`: the leader binds the wildcard address.
    pub quorum_listen_on_all_ips: bool,
    /// `jute.maxbuffer` for packets read from the quorum port.
    pub max_buffer: usize,
    /// Leader-side choices of the sync.
    pub sync: SyncOptions,
    /// `sslQuorum` / `portUnification` / `sslQuorumReloadCertFiles`: TLS
    /// on the quorum port (the leader's acceptor, the learner's dial) and
    /// the election port alike.
    pub quorum_tls: Arc<QuorumTls>,
    /// `authServer`: quorum SASL's accepting side (election and learners).
    pub auth_server: Arc<dyn QuorumAuthServer>,
    /// `authLearner`: its dialing side (election and the leader).
    pub auth_learner: Arc<dyn QuorumAuthLearner>,
    /// `reconfigEnabled`: whether this peer takes part in reconfiguration.
    pub reconfig_enabled: bool,
}

impl QuorumPeerSettings {
    /// 3.8's defaults around a given id, for tests and tools.
    pub fn new(my_id: i64) -> Self {
        QuorumPeerSettings {
            my_id,
            learner_type: LearnerType::Participant,
            tick_time: 2000,
            init_limit: 10,
            sync_limit: 5,
            connect_to_learner_master_limit: 0,
            quorum_listen_on_all_ips: false,
            max_buffer: DEFAULT_MAX_BUFFER,
            sync: SyncOptions::default(),
            quorum_tls: Arc::new(QuorumTls::plaintext()),
            auth_server: Arc::new(NullQuorumAuthServer),
            auth_learner: Arc::new(NullQuorumAuthLearner),
            reconfig_enabled: false,
        }
    }

    /// The settings of zoo.cfg; refuses a config without `myid`.
    pub fn from_config(cfg: &QuorumPeerConfig) -> io::Result<Self> {
        let my_id = cfg.server_id.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a replicated server needs a myid file in its dataDir",
            )
        })?;
        let sp = &cfg.system_properties;
        // QuorumPeer.initialize: a missing JAAS section stops startup here.
        let (auth_server, auth_learner) = zk_election::initialize_quorum_auth(cfg)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(QuorumPeerSettings {
            my_id,
            learner_type: cfg.peer_type,
            tick_time: cfg.tick_time,
            init_limit: cfg.init_limit,
            sync_limit: cfg.sync_limit,
            connect_to_learner_master_limit: cfg.connect_to_learner_master_limit,
            quorum_listen_on_all_ips: cfg.quorum_listen_on_all_ips,
            max_buffer: usize::try_from(sp.jute_max_buffer()).unwrap_or(DEFAULT_MAX_BUFFER),
            sync: SyncOptions {
                force_snap_sync: sp.get_boolean("zookeeper.forceSnapshotSync"),
            },
            // The stores load here, so a bad one stops startup (exit 2)
            // before the client, quorum or election port is bound.
            quorum_tls: Arc::new(QuorumTls::from_config(cfg).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("quorum TLS: {e}"))
            })?),
            auth_server,
            auth_learner,
            reconfig_enabled: cfg.reconfig_enabled,
        })
    }
}

/// See the module docs.
pub struct QuorumPeer {
    settings: QuorumPeerSettings,
    quorum_verifier: RwLock<Arc<QuorumVerifier>>,
    last_seen_quorum_verifier: RwLock<Option<Arc<QuorumVerifier>>>,
    /// `learnerType`: starts as zoo.cfg's `peerType`, changed by a
    /// committed reconfig (`updateLearnerType`).
    learner_type: Mutex<LearnerType>,
    /// `reconfigFlag`: a reconfig just committed with a designated leader
    /// (or a learner type change), so the next role follows from the
    /// current vote without an election (`updateServerState`).
    reconfig_flag: AtomicBool,
    db: Arc<RwLock<ZKDatabase>>,
    snap_dir: PathBuf,
    /// Cached epochs; `None` until read from (or written to) disk.
    current_epoch: Mutex<Option<i64>>,
    accepted_epoch: Mutex<Option<i64>>,
    /// Half-ticks counted by the leader; learners' ack deadlines are in
    /// ticks.
    tick: AtomicI32,
    running: AtomicBool,
    zab_state: Mutex<ZabState>,
    sync_mode: Mutex<SyncMode>,
    current_vote: Mutex<Vote>,
    peer_state: Mutex<ServerState>,
    /// Why the peer cannot go on (the election port could not be bound,
    /// a role's server met a fatal error).
    fatal: Mutex<Option<FatalError>>,
    /// The client port's address, once open (for `zabstate`).
    /// Moved by a reconfig that changes our client address.
    client_addr: Mutex<Option<SocketAddr>>,
    /// What a peer from zoo.cfg serves clients with; `None` for a peer
    /// built with [`QuorumPeer::new`] (Zab only).
    serving: Option<Serving>,
    /// `cnxnFactory` and `secureCnxnFactory`: the client ports, from
    /// `start_server_cnxn_factory`.
    cnxn_factory: Mutex<Option<ClientPorts>>,
    /// The server the admin server reports on (the current role's).
    slot: OnceLock<ServerSlot>,
    admin_server: Mutex<Option<AdminServer>>,
    /// `electionAlg`, from `start_leader_election`; replaced by a new one
    /// when a reconfig restarts the election (`restartLeaderElection`).
    election: Mutex<Option<FastLeaderElection>>,
    /// `myAddrs`: our own entry in the last committed config that had
    /// one, so a server a reconfig removed keeps its addresses (3.8's
    /// `setAddrs`).
    my_addrs: Mutex<Option<QuorumServer>>,
    /// This peer, for the election threads a restart starts.
    me: Weak<QuorumPeer>,
    role: Mutex<run::Role>,
    /// The peer's own thread, running [`QuorumPeer::run`].
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The settings of a peer from zoo.cfg that go beyond Zab: the client
/// port, the admin server, the election and the roles' servers.
struct Serving {
    config: QuorumPeerConfig,
    server_config: ServerConfig,
    zk_cfg: ZooKeeperServerConfig,
    containers: ContainerSettings,
    observer_sync_enabled: bool,
    /// `readonlymode.enabled` on a participant: serve read-only while
    /// LOOKING for long.
    read_only_mode: bool,
}

impl QuorumPeer {
    /// A peer that runs Zab over `db` with `settings` and the
    /// configuration `qv`, and serves no clients (the roles' code and
    /// tests drive it).
    pub fn new(settings: QuorumPeerSettings, qv: QuorumVerifier, db: ZKDatabase) -> Arc<Self> {
        Self::build(settings, qv, db, None)
    }

    /// The peer zoo.cfg describes, ready to [`start`](Self::start):
    /// settings, database (not yet loaded) and what it serves with.
    pub fn from_config(config: &QuorumPeerConfig) -> Result<Arc<Self>, StartError> {
        zookeeper_server_main::raise_open_file_limit();
        let props = &config.system_properties;
        zookeeper_server_main::apply_data_tree_options(props);
        let settings = QuorumPeerSettings::from_config(config)
            .map_err(|e| StartError::InvalidConfig(e.to_string()))?;
        let my_id = settings.my_id;
        let server_config = ServerConfig::from(config);
        let db = zookeeper_server_main::open_database(&server_config)?;
        let mut zk_cfg = zookeeper_server_main::server_config(&server_config);
        zk_cfg.server_id = my_id;
        let serving = Serving {
            config: config.clone(),
            server_config,
            zk_cfg,
            containers: ContainerSettings::from_properties(props),
            observer_sync_enabled: props.get_boolean_or("zookeeper.observer.syncEnabled", true),
            read_only_mode: props.read_only_mode_enabled()
                && config.peer_type == LearnerType::Participant,
        };
        let peer = Self::build(settings, config.quorum_verifier.clone(), db, Some(serving));
        // A proposed config from zoo.cfg.dynamic.next (QuorumPeerMain's
        // setLastSeenQuorumVerifier(.., false)).
        if let Some(next) = &config.last_seen_quorum_verifier {
            peer.set_last_seen_quorum_verifier(next.clone(), false);
        }
        Ok(peer)
    }

    fn build(
        settings: QuorumPeerSettings,
        qv: QuorumVerifier,
        db: ZKDatabase,
        serving: Option<Serving>,
    ) -> Arc<Self> {
        let snap_dir = db.snap_log().snap_dir().to_path_buf();
        let first_vote = Vote::initial(settings.my_id, 0, 0);
        let learner_type = settings.learner_type;
        let my_addrs = qv.all_members().get(&settings.my_id).cloned();
        Arc::new_cyclic(|me| QuorumPeer {
            settings,
            quorum_verifier: RwLock::new(Arc::new(qv)),
            last_seen_quorum_verifier: RwLock::new(None),
            learner_type: Mutex::new(learner_type),
            reconfig_flag: AtomicBool::new(false),
            db: Arc::new(RwLock::new(db)),
            snap_dir,
            current_epoch: Mutex::new(None),
            accepted_epoch: Mutex::new(None),
            tick: AtomicI32::new(0),
            running: AtomicBool::new(true),
            zab_state: Mutex::new(ZabState::Election),
            sync_mode: Mutex::new(SyncMode::None),
            current_vote: Mutex::new(first_vote),
            peer_state: Mutex::new(ServerState::Looking),
            fatal: Mutex::new(None),
            client_addr: Mutex::new(None),
            serving,
            cnxn_factory: Mutex::new(None),
            slot: OnceLock::new(),
            admin_server: Mutex::new(None),
            election: Mutex::new(None),
            my_addrs: Mutex::new(my_addrs),
            me: me.clone(),
            role: Mutex::new(run::Role::None),
            thread: Mutex::new(None),
        })
    }

    fn serving(&self) -> &Serving {
        self.serving
            .as_ref()
            .expect("only a peer from QuorumPeer::from_config serves")
    }

    /// `start`: loads the database, opens the client port, starts the
    /// admin server and the leader election, then the peer's thread
    /// (`QuorumPeer[myid=N]<client address>`) running [`Self::run`].
    pub fn start(self: &Arc<Self>) -> Result<(), StartError> {
        info!("Starting quorum peer, myid={}", self.my_id());
        self.load_data_base()?;
        // /zookeeper/config answers getConfig on every role, the leader's
        // included (learners set it again when they sync), as 3.8's
        // QuorumPeerMain does before the peer starts.
        self.init_config_in_zk_database();
        let client_addr = self.start_server_cnxn_factory()?;
        self.start_admin_server()?;
        self.start_leader_election()?;
        let me = Arc::clone(self);
        let thread = std::thread::Builder::new()
            .name(format!("QuorumPeer[myid={}]{client_addr}", self.my_id()))
            .spawn(move || me.run())?;
        *self.thread.lock().unwrap() = Some(thread);
        Ok(())
    }

    /// `startServerCnxnFactory`: opens the client ports (`clientPort`,
    /// `secureClientPort`, either or both), with a server that never
    /// starts standing in until the peer has a role. TLS settings that
    /// cannot be used stop the start before a port opens.
    fn start_server_cnxn_factory(&self) -> Result<SocketAddr, StartError> {
        let standby = self.idle_server();
        let configs = zookeeper_server_main::client_port_configs(&self.serving().server_config)?;
        let factory = ClientPorts::start(configs, &standby)?;
        let client_addr = factory.client_addr();
        self.set_client_address(client_addr);
        info!("Client port {client_addr} open; clients are served once this server has a role");
        *self.cnxn_factory.lock().unwrap() = Some(factory);
        let _ = self.slot.set(Arc::new(RwLock::new(standby)));
        Ok(client_addr)
    }

    /// `adminServer.start()`: the admin server reports on whichever
    /// server the current role has.
    fn start_admin_server(&self) -> Result<(), StartError> {
        let slot = Arc::clone(self.slot.get().expect("the client port is open"));
        let props = &self.serving().config.system_properties;
        *self.admin_server.lock().unwrap() =
            zookeeper_server_main::start_admin_server_with_slot(slot, props)?;
        Ok(())
    }

    /// `startLeaderElection`: the first vote is for ourselves, then the
    /// election's listener and workers start.
    fn start_leader_election(self: &Arc<Self>) -> Result<(), StartError> {
        let zxid = ElectionPeer::last_logged_zxid(&**self);
        let epoch = self.current_epoch()?;
        self.set_current_vote(Vote::initial(self.my_id(), zxid, epoch));
        let election = self.create_election_algorithm()?;
        *self.election.lock().unwrap() = Some(election);
        Ok(())
    }

    /// `createElectionAlgorithm`: a new QuorumCnxManager (its Listener on
    /// our election address in the committed config) and
    /// FastLeaderElection, with zoo.cfg's settings.
    pub(super) fn create_election_algorithm(&self) -> Result<FastLeaderElection, StartError> {
        let Some(me) = self.me.upgrade() else {
            return Err(StartError::InvalidConfig(
                "the peer is being dropped".to_string(),
            ));
        };
        let config = &self.serving().config;
        let cnx_config = QuorumCnxConfig {
            tls: Arc::clone(&self.settings.quorum_tls),
            auth_server: Arc::clone(&self.settings.auth_server),
            auth_learner: Arc::clone(&self.settings.auth_learner),
            ..QuorumCnxConfig::from_config(config)
        };
        zk_election::create_election_algorithm(
            config.election_alg,
            me as _,
            cnx_config,
            FleConfig::from_config(config),
        )
        .map_err(|e| StartError::InvalidConfig(e.to_string()))
    }

    /// `run`: the peer's thread, one role after another until the peer
    /// stops.
    pub fn run(self: &Arc<Self>) {
        while self.is_running() {
            match self.state() {
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

    /// `shutdown`: stops the role, the election, the peer's thread, the
    /// client port and the admin server, and closes the txn log.
    pub fn shutdown(&self) {
        info!("Shutting down the quorum peer");
        self.stop_running();
        // Taken out, so that no reconfig restarts it after this.
        let election = self.election.lock().unwrap().take();
        if let Some(e) = election {
            e.shutdown();
        }
        self.end_role("the peer is shutting down");
        self.join();
        if let Some(mut f) = self.cnxn_factory.lock().unwrap().take() {
            f.shutdown();
        }
        if let Some(mut a) = self.admin_server.lock().unwrap().take() {
            a.shutdown();
        }
        if let Err(e) = self.db().write().unwrap().close() {
            warn!("Error closing the txn log: {e}");
        }
        info!("Quorum peer stopped");
    }

    /// `join`: waits for the peer's thread to end (it ends once the peer
    /// stops running).
    pub fn join(&self) {
        let thread = self.thread.lock().unwrap().take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// Whether the peer's thread has ended (on its own: a fatal error), or
    /// never started.
    pub fn is_finished(&self) -> bool {
        self.thread
            .lock()
            .unwrap()
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }

    /// Where clients connect, once the client port is open.
    pub fn client_address(&self) -> Option<SocketAddr> {
        *self.client_addr.lock().unwrap()
    }

    /// The server of the current role (or the idle stand-in), once the
    /// client port is open.
    pub fn server(&self) -> Option<Arc<ZooKeeperServer>> {
        self.slot.get().map(|s| Arc::clone(&s.read().unwrap()))
    }

    /// `setCurrentVote`: who this peer now takes for the leader (answered
    /// to LOOKING peers while it is not looking).
    pub fn set_current_vote(&self, v: Vote) {
        *self.current_vote.lock().unwrap() = v;
    }

    /// `updateElectionVote` (ZOOKEEPER-1732): once a new epoch is in force
    /// here (the leader started it, a learner synced into it), the vote
    /// answered to LOOKING peers carries that epoch; leader, zxid and
    /// election round stay those the election ended with.
    ///
    /// A LOOKING peer joins an established ensemble only when a quorum of
    /// settled peers answer with the same leader *and* peer epoch (the
    /// election's `outofelection` count). 3.8 nodes update their vote at
    /// these same two points, so a server that kept the epoch it was
    /// elected with (the one before the new epoch) would disagree with its
    /// 3.8 peers, and a restarted peer that needs its answer for a quorum
    /// would stay LOOKING.
    pub(crate) fn update_election_vote(&self, new_epoch: i64) {
        let mut vote = self.current_vote.lock().unwrap();
        if vote.peer_epoch != new_epoch {
            info!(
                "Election vote for leader {} now in epoch 0x{new_epoch:x} (was 0x{:x})",
                vote.id, vote.peer_epoch
            );
        }
        vote.peer_epoch = new_epoch;
    }

    /// LOOKING, LEADING, FOLLOWING or OBSERVING.
    pub fn state(&self) -> ServerState {
        *self.peer_state.lock().unwrap()
    }

    /// Why the peer had to stop, if it did on its own.
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.fatal.lock().unwrap().clone()
    }

    /// Stops the peer for `e` (the first such error is kept): whoever runs
    /// the peer sees it in [`Self::fatal_error`] and ends the process.
    pub(crate) fn stop_with_fatal_error(&self, e: FatalError) {
        error!("{e}");
        self.fatal.lock().unwrap().get_or_insert(e);
        self.stop_running();
    }

    /// The settings this peer runs Zab with.
    pub fn settings(&self) -> &QuorumPeerSettings {
        &self.settings
    }

    /// How the quorum and election connections use TLS.
    pub(crate) fn quorum_tls(&self) -> &QuorumTls {
        &self.settings.quorum_tls
    }

    /// `myid`.
    pub(crate) fn my_id(&self) -> i64 {
        self.settings.my_id
    }

    /// `tickTime` in ms.
    pub fn tick_time(&self) -> i32 {
        self.settings.tick_time
    }

    /// `initLimit` in ticks.
    pub fn init_limit(&self) -> i32 {
        self.settings.init_limit
    }

    /// `syncLimit` in ticks.
    pub fn sync_limit(&self) -> i32 {
        self.settings.sync_limit
    }

    /// `tickTime * initLimit` in ms: how long discovery and sync may take.
    pub(crate) fn init_timeout_ms(&self) -> u64 {
        (self.settings.tick_time.max(0) as u64) * (self.settings.init_limit.max(0) as u64)
    }

    /// `tickTime * syncLimit` in ms: how long a synced learner may stay
    /// silent.
    pub(crate) fn sync_timeout_ms(&self) -> u64 {
        (self.settings.tick_time.max(0) as u64) * (self.settings.sync_limit.max(0) as u64)
    }

    /// The database, shared with the role's server.
    pub fn db(&self) -> &Arc<RwLock<ZKDatabase>> {
        &self.db
    }

    /// The committed configuration.
    pub(crate) fn quorum_verifier(&self) -> Arc<QuorumVerifier> {
        self.quorum_verifier.read().unwrap().clone()
    }

    /// The newest configuration seen (a reconfig in flight), or the
    /// committed one.
    pub(crate) fn last_seen_quorum_verifier(&self) -> Arc<QuorumVerifier> {
        self.last_seen_quorum_verifier
            .read()
            .unwrap()
            .clone()
            .unwrap_or_else(|| self.quorum_verifier())
    }

    /// Whether `sid` votes in the committed configuration.
    pub(crate) fn is_participant(&self, sid: i64) -> bool {
        self.quorum_verifier().voting_members().contains_key(&sid)
    }

    /// The tick the leader counts (half-ticks), learners' ack deadlines are in.
    pub(crate) fn tick(&self) -> i32 {
        self.tick.load(Ordering::SeqCst)
    }

    /// Sets the tick (the leader resets it to 0 when it starts).
    pub(crate) fn set_tick(&self, t: i32) {
        self.tick.store(t, Ordering::SeqCst)
    }

    /// Counts one tick.
    pub(crate) fn increment_tick(&self) {
        self.tick.fetch_add(1, Ordering::SeqCst);
    }

    /// False once the peer is stopping.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Marks the peer as stopping; loops that check `is_running` end.
    pub(crate) fn stop_running(&self) {
        self.running.store(false, Ordering::SeqCst)
    }

    /// Where Zab is for this peer.
    pub fn zab_state(&self) -> ZabState {
        *self.zab_state.lock().unwrap()
    }

    /// Records where Zab is (for `zabstate` and the roles).
    pub(crate) fn set_zab_state(&self, s: ZabState) {
        *self.zab_state.lock().unwrap() = s;
    }

    /// Where clients connect, once the port is open.
    pub(crate) fn set_client_address(&self, addr: SocketAddr) {
        *self.client_addr.lock().unwrap() = Some(addr);
    }

    /// The fields of the `zabstate` admin command for a role's server
    /// (3.8's `ZabStateCommand`): who this peer is, whether it votes, the
    /// server's last zxid split into epoch and counter, and the Zab phase
    /// in lower case.
    pub(crate) fn zab_state_report(
        &self,
        is_leader: bool,
    ) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let qv = self.quorum_verifier();
        let me = qv.all_members().get(&self.my_id()).cloned();
        // Our own addresses come from the same configuration as the voting
        // view, so voting means being one of its participants.
        let voting = self.is_participant(self.my_id());
        let zxid = self.db.read().unwrap().data_tree_last_processed_zxid();
        let state = match self.zab_state() {
            ZabState::Election => "election",
            ZabState::Discovery => "discovery",
            ZabState::Synchronization => "synchronization",
            ZabState::Broadcast => "broadcast",
        };
        let mut m = serde_json::Map::new();
        m.insert("myid".into(), json!(self.my_id()));
        m.insert("is_leader".into(), json!(is_leader));
        m.insert(
            "quorum_address".into(),
            json!(me
                .as_ref()
                .map(|s| crate::quorum_admin::multiple_addresses_json(&s.addrs))),
        );
        m.insert(
            "election_address".into(),
            json!(me
                .as_ref()
                .map(|s| crate::quorum_admin::multiple_addresses_json(&s.election_addrs))),
        );
        m.insert(
            "client_address".into(),
            json!(self.client_address().map(|a| a.to_string())),
        );
        m.insert("voting".into(), json!(voting));
        m.insert("last_zxid".into(), json!(format!("0x{zxid:x}")));
        m.insert("zab_epoch".into(), json!(zxid >> 32));
        m.insert("zab_counter".into(), json!(zxid & 0xffff_ffff));
        m.insert("zabstate".into(), json!(state));
        m
    }

    /// How this learner is syncing.
    pub(crate) fn sync_mode(&self) -> SyncMode {
        *self.sync_mode.lock().unwrap()
    }

    /// Records how this learner is syncing.
    pub(crate) fn set_sync_mode(&self, m: SyncMode) {
        *self.sync_mode.lock().unwrap() = m;
    }

    /// `loadDataBase`: restores the database and loads (creating where
    /// missing) the epoch files, with 3.8's consistency checks.
    pub fn load_data_base(&self) -> io::Result<()> {
        let zxid = {
            let mut db = self.db.write().unwrap();
            db.load_database()?;
            db.data_tree_last_processed_zxid()
        };
        let epochs = load_epochs(&self.snap_dir, zxid)?;
        *self.current_epoch.lock().unwrap() = Some(epochs.current);
        *self.accepted_epoch.lock().unwrap() = Some(epochs.accepted);
        Ok(())
    }

    /// `getLastLoggedZxid`: the last zxid in the database, loading it first
    /// if need be.
    pub fn last_logged_zxid(&self) -> io::Result<i64> {
        if !self.db.read().unwrap().is_initialized() {
            self.load_data_base()?;
        }
        Ok(self.db.read().unwrap().data_tree_last_processed_zxid())
    }

    fn read_epoch(&self, cache: &Mutex<Option<i64>>, name: &str) -> io::Result<i64> {
        let mut c = cache.lock().unwrap();
        if let Some(e) = *c {
            return Ok(e);
        }
        let e = read_long_from_file(&self.snap_dir.join(name))?;
        *c = Some(e);
        Ok(e)
    }

    fn write_epoch(&self, cache: &Mutex<Option<i64>>, name: &str, e: i64) -> io::Result<()> {
        let mut c = cache.lock().unwrap();
        write_long_to_file(&self.snap_dir.join(name), e)?;
        *c = Some(e);
        Ok(())
    }

    /// The epoch whose NEWLEADER this peer last acknowledged.
    pub(crate) fn current_epoch(&self) -> io::Result<i64> {
        self.read_epoch(&self.current_epoch, CURRENT_EPOCH_FILENAME)
    }

    /// Writes `currentEpoch` (on NEWLEADER: after the sync's txns of earlier epochs are durable).
    pub(crate) fn set_current_epoch(&self, e: i64) -> io::Result<()> {
        info!("Setting current epoch to {}", e);
        self.write_epoch(&self.current_epoch, CURRENT_EPOCH_FILENAME, e)?;
        zk_persistence::fail_point_io!("after_current_epoch_write");
        Ok(())
    }

    /// The newest epoch this peer agreed to follow.
    pub(crate) fn accepted_epoch(&self) -> io::Result<i64> {
        self.read_epoch(&self.accepted_epoch, ACCEPTED_EPOCH_FILENAME)
    }

    /// Writes `acceptedEpoch` (on LEADERINFO, before ACKEPOCH).
    pub(crate) fn set_accepted_epoch(&self, e: i64) -> io::Result<()> {
        info!("Setting accepted epoch to {}", e);
        self.write_epoch(&self.accepted_epoch, ACCEPTED_EPOCH_FILENAME, e)?;
        zk_persistence::fail_point_io!("after_accepted_epoch_write");
        Ok(())
    }

    /// The configuration text NEWLEADER carries (`getQuorumVerifierBytes`).
    pub(crate) fn quorum_verifier_bytes(&self) -> Vec<u8> {
        self.last_seen_quorum_verifier().to_string().into_bytes()
    }

    /// `initConfigInZKDatabase`: `/zookeeper/config` holds the committed
    /// configuration, with the configuration's version as its mzxid.
    pub(crate) fn init_config_in_zk_database(&self) {
        init_config_in_zk_database(&mut self.db.write().unwrap(), &self.quorum_verifier());
    }
}

impl ElectionPeer for QuorumPeer {
    fn my_id(&self) -> i64 {
        self.settings.my_id
    }

    fn learner_type(&self) -> LearnerType {
        QuorumPeer::learner_type(self)
    }

    fn last_logged_zxid(&self) -> i64 {
        match QuorumPeer::last_logged_zxid(self) {
            Ok(z) => z,
            Err(e) => {
                error!("Unable to load the database to read the last zxid: {e}");
                -1
            }
        }
    }

    fn current_epoch(&self) -> io::Result<i64> {
        QuorumPeer::current_epoch(self)
    }

    fn current_vote(&self) -> Vote {
        *self.current_vote.lock().unwrap()
    }

    fn peer_state(&self) -> ServerState {
        self.state()
    }

    fn set_peer_state(&self, state: ServerState) {
        info!("Peer state changed: {}", state.to_string().to_lowercase());
        *self.peer_state.lock().unwrap() = state;
    }

    fn quorum_verifier(&self) -> Arc<QuorumVerifier> {
        QuorumPeer::quorum_verifier(self)
    }

    fn last_seen_quorum_verifier(&self) -> Option<Arc<QuorumVerifier>> {
        self.last_seen_quorum_verifier.read().unwrap().clone()
    }

    fn my_addrs(&self) -> Option<QuorumServer> {
        self.my_addrs.lock().unwrap().clone()
    }

    /// A LOOKING peer learnt a newer config from a notification: adopt it
    /// (files, `/zookeeper/config`, learner type); when it differs from
    /// ours the election shuts itself down and [`QuorumPeer::run`]'s next
    /// LOOKING starts a new one on the new view (3.8's `shuttingDownLE`).
    fn process_reconfig(&self, new: QuorumVerifier) -> bool {
        let version = new.version();
        let before = self.quorum_verifier();
        QuorumPeer::process_reconfig(self, new, None, 0, false);
        let after = self.quorum_verifier();
        let changed = !reconfig::same_config(&before, &after);
        info!(
            "myid={} took config version 0x{version:x} from the election{}",
            self.my_id(),
            if changed {
                "; restarting leader election"
            } else {
                ""
            }
        );
        changed
    }

    fn election_port_bind_failed(&self) {
        let addrs = self
            .quorum_verifier()
            .all_members()
            .get(&self.my_id())
            .map(|s| {
                s.election_addrs
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .unwrap_or_else(|| "(not in the configuration)".into());
        let message = format!(
            "Unable to bind the election port {addrs} of server {}; this server cannot take part in elections",
            self.my_id()
        );
        self.stop_with_fatal_error(FatalError::UnableToBindQuorumPort(message));
    }
}

/// See [`QuorumPeer::init_config_in_zk_database`].
pub(crate) fn init_config_in_zk_database(db: &mut ZKDatabase, qv: &QuorumVerifier) {
    let tree = db.data_tree_mut();
    if tree.get_node(CONFIG_NODE).is_none() {
        log::warn!(
            "configuration znode missing (should only happen during upgrade), creating the node"
        );
        tree.add_config_node();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let text = qv.to_string();
    let mut changes = Vec::new();
    if tree
        .set_data(
            CONFIG_NODE,
            Some(text.as_bytes()),
            -1,
            qv.version(),
            now,
            &mut changes,
        )
        .is_err()
    {
        log::error!("configuration node {CONFIG_NODE} missing - should not happen");
    }
}

#[path = "quorum_peer_reconfig.rs"]
mod reconfig;
#[path = "quorum_peer_run.rs"]
mod run;
