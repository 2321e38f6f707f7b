//! `QuorumPeer`: what one server of an ensemble knows about itself that the
//! leader and learner code share: its id and role, the timing limits, the
//! configuration, the database, the two epochs on disk and the tick.
//!
//! This is the state part of 3.8's `QuorumPeer`, and what the election
//! asks of it ([`ElectionPeer`]: the current vote and state); the main
//! loop over LOOKING/LEADING/FOLLOWING/OBSERVING is in
//! [`crate::quorum_peer_main`].

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use log::{error, info};
use zk_config::{LearnerType, QuorumPeerConfig, QuorumVerifier};
use zk_election::{ElectionPeer, ServerState, Vote};
use zk_persistence::epoch::{
    load_epochs, read_long_from_file, write_long_to_file, ACCEPTED_EPOCH_FILENAME,
    CURRENT_EPOCH_FILENAME,
};
use zk_persistence::jute::DEFAULT_MAX_BUFFER;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::CONFIG_NODE;
use zk_server::fatal_error::FatalError;

use crate::sync_follower::SyncOptions;

/// Where the Zab protocol is for this peer (`QuorumPeer.ZabState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZabState {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

/// How this learner last synced (`QuorumPeer.SyncMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    None,
    Diff,
    Snap,
    Trunc,
}

/// The settings a peer runs Zab with (from zoo.cfg).
#[derive(Debug, Clone)]
pub struct QuorumPeerSettings {
    pub my_id: i64,
    pub learner_type: LearnerType,
    pub tick_time: i32,
    pub init_limit: i32,
    pub sync_limit: i32,
    /// `connectToLearnerMasterLimit` in ticks; 0 means use `initLimit`.
    pub connect_to_learner_master_limit: i32,
    pub quorum_listen_on_all_ips: bool,
    /// `jute.maxbuffer` for packets read from the quorum port.
    pub max_buffer: usize,
    pub sync: SyncOptions,
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
        }
    }

    pub fn from_config(cfg: &QuorumPeerConfig) -> io::Result<Self> {
        let my_id = cfg.server_id.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a replicated server needs a myid file in its dataDir",
            )
        })?;
        let sp = &cfg.system_properties;
        Ok(QuorumPeerSettings {
            my_id: my_id as i64,
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
        })
    }
}

/// See the module docs.
pub struct QuorumPeer {
    settings: QuorumPeerSettings,
    quorum_verifier: RwLock<Arc<QuorumVerifier>>,
    last_seen_quorum_verifier: RwLock<Option<Arc<QuorumVerifier>>>,
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
    client_addr: OnceLock<SocketAddr>,
}

impl QuorumPeer {
    pub fn new(settings: QuorumPeerSettings, qv: QuorumVerifier, db: ZKDatabase) -> Arc<Self> {
        let snap_dir = db.snap_log().snap_dir().to_path_buf();
        let first_vote = Vote::initial(settings.my_id, 0, 0);
        Arc::new(QuorumPeer {
            settings,
            quorum_verifier: RwLock::new(Arc::new(qv)),
            last_seen_quorum_verifier: RwLock::new(None),
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
            client_addr: OnceLock::new(),
        })
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
    pub fn update_election_vote(&self, new_epoch: i64) {
        let mut vote = self.current_vote.lock().unwrap();
        if vote.peer_epoch != new_epoch {
            info!(
                "Election vote for leader {} now in epoch 0x{new_epoch:x} (was 0x{:x})",
                vote.id, vote.peer_epoch
            );
        }
        vote.peer_epoch = new_epoch;
    }

    pub fn state(&self) -> ServerState {
        *self.peer_state.lock().unwrap()
    }

    /// Why the peer had to stop, if it did on its own.
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.fatal.lock().unwrap().clone()
    }

    /// Stops the peer for `e` (the first such error is kept): whoever runs
    /// the peer sees it in [`Self::fatal_error`] and ends the process.
    pub fn stop_with_fatal_error(&self, e: FatalError) {
        error!("{e}");
        self.fatal.lock().unwrap().get_or_insert(e);
        self.stop_running();
    }

    pub fn settings(&self) -> &QuorumPeerSettings {
        &self.settings
    }

    pub fn my_id(&self) -> i64 {
        self.settings.my_id
    }

    pub fn tick_time(&self) -> i32 {
        self.settings.tick_time
    }

    pub fn init_limit(&self) -> i32 {
        self.settings.init_limit
    }

    pub fn sync_limit(&self) -> i32 {
        self.settings.sync_limit
    }

    /// `tickTime * initLimit` in ms: how long discovery and sync may take.
    pub fn init_timeout_ms(&self) -> u64 {
        (self.settings.tick_time.max(0) as u64) * (self.settings.init_limit.max(0) as u64)
    }

    /// `tickTime * syncLimit` in ms: how long a synced learner may stay
    /// silent.
    pub fn sync_timeout_ms(&self) -> u64 {
        (self.settings.tick_time.max(0) as u64) * (self.settings.sync_limit.max(0) as u64)
    }

    pub fn db(&self) -> &Arc<RwLock<ZKDatabase>> {
        &self.db
    }

    pub fn quorum_verifier(&self) -> Arc<QuorumVerifier> {
        self.quorum_verifier.read().unwrap().clone()
    }

    /// The newest configuration seen (a reconfig in flight), or the
    /// committed one.
    pub fn last_seen_quorum_verifier(&self) -> Arc<QuorumVerifier> {
        self.last_seen_quorum_verifier
            .read()
            .unwrap()
            .clone()
            .unwrap_or_else(|| self.quorum_verifier())
    }

    pub fn is_participant(&self, sid: i64) -> bool {
        u64::try_from(sid).is_ok_and(|s| self.quorum_verifier().voting_members().contains_key(&s))
    }

    pub fn tick(&self) -> i32 {
        self.tick.load(Ordering::SeqCst)
    }

    pub fn set_tick(&self, t: i32) {
        self.tick.store(t, Ordering::SeqCst)
    }

    pub fn increment_tick(&self) {
        self.tick.fetch_add(1, Ordering::SeqCst);
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Marks the peer as stopping; loops that check `is_running` end.
    pub fn stop_running(&self) {
        self.running.store(false, Ordering::SeqCst)
    }

    pub fn zab_state(&self) -> ZabState {
        *self.zab_state.lock().unwrap()
    }

    pub fn set_zab_state(&self, s: ZabState) {
        *self.zab_state.lock().unwrap() = s;
    }

    /// Where clients connect, once the port is open.
    pub fn set_client_address(&self, addr: SocketAddr) {
        let _ = self.client_addr.set(addr);
    }

    /// The fields of the `zabstate` admin command for a role's server
    /// (3.8's `ZabStateCommand`): who this peer is, whether it votes, the
    /// server's last zxid split into epoch and counter, and the Zab phase
    /// in lower case.
    pub fn zab_state_report(&self, is_leader: bool) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let qv = self.quorum_verifier();
        let me = u64::try_from(self.my_id())
            .ok()
            .and_then(|id| qv.all_members().get(&id).cloned());
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
            json!(me.as_ref().map(|s| s.addr().to_string())),
        );
        m.insert(
            "election_address".into(),
            json!(me.as_ref().map(|s| s.election_addr().to_string())),
        );
        m.insert(
            "client_address".into(),
            json!(self.client_addr.get().map(|a| a.to_string())),
        );
        m.insert("voting".into(), json!(voting));
        m.insert("last_zxid".into(), json!(format!("0x{zxid:x}")));
        m.insert("zab_epoch".into(), json!(zxid >> 32));
        m.insert("zab_counter".into(), json!(zxid & 0xffff_ffff));
        m.insert("zabstate".into(), json!(state));
        m
    }

    pub fn sync_mode(&self) -> SyncMode {
        *self.sync_mode.lock().unwrap()
    }

    pub fn set_sync_mode(&self, m: SyncMode) {
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
    pub fn current_epoch(&self) -> io::Result<i64> {
        self.read_epoch(&self.current_epoch, CURRENT_EPOCH_FILENAME)
    }

    pub fn set_current_epoch(&self, e: i64) -> io::Result<()> {
        info!("Setting current epoch to {}", e);
        self.write_epoch(&self.current_epoch, CURRENT_EPOCH_FILENAME, e)?;
        zk_persistence::fail_point_io!("after_current_epoch_write");
        Ok(())
    }

    /// The newest epoch this peer agreed to follow.
    pub fn accepted_epoch(&self) -> io::Result<i64> {
        self.read_epoch(&self.accepted_epoch, ACCEPTED_EPOCH_FILENAME)
    }

    pub fn set_accepted_epoch(&self, e: i64) -> io::Result<()> {
        info!("Setting accepted epoch to {}", e);
        self.write_epoch(&self.accepted_epoch, ACCEPTED_EPOCH_FILENAME, e)?;
        zk_persistence::fail_point_io!("after_accepted_epoch_write");
        Ok(())
    }

    /// The configuration text NEWLEADER carries (`getQuorumVerifierBytes`).
    pub fn quorum_verifier_bytes(&self) -> Vec<u8> {
        self.last_seen_quorum_verifier().to_string().into_bytes()
    }

    /// `initConfigInZKDatabase`: `/zookeeper/config` holds the committed
    /// configuration, with the configuration's version as its mzxid.
    pub fn init_config_in_zk_database(&self) {
        init_config_in_zk_database(&mut self.db.write().unwrap(), &self.quorum_verifier());
    }
}

impl ElectionPeer for QuorumPeer {
    fn my_id(&self) -> i64 {
        self.settings.my_id
    }

    fn learner_type(&self) -> LearnerType {
        self.settings.learner_type
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

    fn election_port_bind_failed(&self) {
        let addrs = self
            .quorum_verifier()
            .all_members()
            .get(&(self.my_id() as u64))
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
pub fn init_config_in_zk_database(db: &mut ZKDatabase, qv: &QuorumVerifier) {
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
