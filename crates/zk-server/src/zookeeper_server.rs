//! `ZooKeeperServer`: the state every thread shares (database, sessions,
//! watches, outstanding changes), session set-up, and the entry point of
//! the processor chain, [`ZooKeeperServer::submit_request`].
//!
//! It starts in three steps, so the client port can open first (as 3.8's
//! `NIOServerCnxnFactory.startup` does): [`ZooKeeperServer::load_data`]
//! restores the database, [`ZooKeeperServer::startup_without_serving`]
//! starts the session tracker and the processor chain, and
//! [`ZooKeeperServer::start_serving`] makes it RUNNING, which tells the
//! selector to serve the connections it held meanwhile.
//!
//! A replicated role (leader, follower, observer, read-only) extends the
//! server through one interface, [`ServerRole`], given to
//! [`ZooKeeperServer::with_role`] when the server is built (see
//! [`crate::server_role`] for its hooks). The one slot filled late is the
//! session tracker: it is built from the loaded database, so only at
//! startup, and its expirer holds this server.
//!
//! `globalOutstandingLimit`: [`ZooKeeperServer::should_throttle`] is 3.8's
//! `shouldThrottle`, which the selector asks after each request it submits
//! and after each reply it queues, to stop and restart reading from a
//! connection.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use zk_config::SystemProperties;
use zk_persistence::records::{Acl, Id};
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::{op_code, Code};

use crate::auth;
use crate::authentication_helper::AuthenticationHelper;
use crate::cnxn::{CnxnCommand, CnxnSink};
use crate::fatal_error::FatalError;
use crate::java_random::JavaRandom;
use crate::outstanding_changes::OutstandingChanges;
use crate::prep_request_processor::PrepRequestProcessor;
use crate::proto::{frame, AuthPacket, ConnectRequest, ConnectResponse, ReplyHeader};
use crate::request::{CnxnId, ConnectInfo, Request};
use crate::server_metrics::ServerMetrics;
use crate::server_role::{Revalidation, ServerRole, Standalone};
use crate::session_tracker::SessionTracker;
use crate::sync_request_processor::{SyncOptions, SyncRequestProcessor};
use crate::watch_manager::WatchManager;
use crate::{final_request_processor::FinalRequestProcessor, proto::reply_frame};

/// Mixed into every session's password seed (`superSecret`).
const SUPER_SECRET: i64 = 0xB341_5C00;

/// The system property bounding requests in the processor chain.
pub const GLOBAL_OUTSTANDING_LIMIT: &str = "zookeeper.globalOutstandingLimit";
/// Its default, as 3.8's.
pub const DEFAULT_GLOBAL_OUTSTANDING_LIMIT: i32 = 1000;

/// `ZooKeeperServer.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Built or starting; requests wait.
    Initial,
    /// Serving.
    Running,
    /// Shut down; requests are dropped.
    Shutdown,
    /// Stopped by an error.
    Error,
}

/// The settings the server runs with.
#[derive(Debug, Clone)]
pub struct ZooKeeperServerConfig {
    /// `tickTime`, ms.
    pub tick_time: i32,
    /// `minSessionTimeout`, ms.
    pub min_session_timeout: i32,
    /// `maxSessionTimeout`, ms.
    pub max_session_timeout: i32,
    /// `jute.maxbuffer`.
    pub max_buffer: usize,
    /// 0 standalone.
    pub server_id: i64,
    /// How SyncRequestProcessor logs and snapshots.
    pub sync: SyncOptions,
    /// The JVM-style properties (whitelist, superDigest, ...).
    pub system_properties: SystemProperties,
    /// `reconfigEnabled`: a standalone server then answers reconfig with
    /// UNIMPLEMENTED rather than RECONFIGDISABLED.
    pub reconfig_enabled: bool,
}

impl ZooKeeperServerConfig {
    /// The defaults ZooKeeper derives from a tick time: sessions between 2
    /// and 20 ticks.
    pub fn with_tick_time(tick_time: i32) -> Self {
        ZooKeeperServerConfig {
            tick_time,
            min_session_timeout: tick_time * 2,
            max_session_timeout: tick_time * 20,
            max_buffer: zk_persistence::jute::DEFAULT_MAX_BUFFER,
            server_id: 0,
            sync: SyncOptions::default(),
            system_properties: SystemProperties::new(),
            reconfig_enabled: false,
        }
    }
}

/// How `process_connect_request` went.
#[derive(Debug)]
pub enum ConnectOutcome {
    /// A new session: the connect response comes once the createSession
    /// txn is through the chain.
    Pending {
        /// The session: a new one, or the one a learner's leader is
        /// revalidating.
        session_id: i64,
        /// The negotiated timeout, ms.
        timeout: i32,
    },
    /// A reconnect: answered at once; `valid` false means the session is
    /// gone or the password was wrong, and the connection must close
    /// after `frame` is sent.
    Reply {
        /// The session the client asked to reconnect to.
        session_id: i64,
        /// The negotiated timeout, ms (the frame says 0 when not valid).
        timeout: i32,
        /// Whether the session is alive and the password matched.
        valid: bool,
        /// The connect response, ready to send.
        frame: Vec<u8>,
    },
}

/// The data and child watch tables, as `DataTree` keeps them.
#[derive(Debug, Default)]
pub struct Watches {
    /// Watches on a node's data (and existence).
    pub data: WatchManager,
    /// Watches on a node's children.
    pub child: WatchManager,
}

pub(crate) use crate::server_stats::ServerStats;

/// Told of the [`FatalError`] that stopped the server: the server's owner
/// (`ZooKeeperServerMain`, or the `QuorumPeer` for a role's server) registers
/// it, as 3.8's owners call `registerServerShutdownHandler`.
pub type FatalErrorListener = Box<dyn Fn(&FatalError) + Send + Sync>;

/// A processor chain as [`ServerRole::setup_request_processors`] builds
/// it: the first stage, and the threads to join at shutdown.
pub type Chain = (Sender<Request>, Vec<JoinHandle<()>>);

/// See the module docs.
pub struct ZooKeeperServer {
    cfg: ZooKeeperServerConfig,
    state: Mutex<State>,
    state_changed: Condvar,
    db: Arc<RwLock<ZKDatabase>>,
    /// Prep and Final (this crate's own stages) lock these directly.
    pub(crate) watches: Mutex<Watches>,
    /// See `watches`.
    pub(crate) outstanding: Mutex<OutstandingChanges>,
    /// Set once, at startup: the tracker is built from the loaded
    /// database ([`ServerRole::create_session_tracker`]) and its expirer
    /// holds this server, so it cannot exist at construction.
    session_tracker: OnceLock<Arc<SessionTracker>>,
    first_processor: Mutex<Option<Sender<Request>>>,
    sink: RwLock<Option<CnxnSink>>,
    /// The last zxid handed out.
    hzxid: AtomicI64,
    whitelist: HashSet<String>,
    /// `zookeeper.globalOutstandingLimit`, read once (3.8 reads the
    /// system property on every call; it does not change at run time).
    global_outstanding_limit: i64,
    /// `zookeeper.enforceQuota`, read once, as 3.8 reads it at
    /// construction.
    pub(crate) enforce_quota: bool,
    /// The server-wide counters the admin commands show.
    pub stats: ServerStats,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The first fatal error a processor reported, and who hears of it.
    fatal: OnceLock<FatalError>,
    fatal_listener: OnceLock<FatalErrorListener>,
    /// The role's hooks, given at construction.
    role: Arc<dyn ServerRole>,
    /// Enforced authentication (3.8's `authHelper`).
    auth_helper: AuthenticationHelper,
}

/// The owner name of the servers' gauges in the metrics context.
const METRICS_OWNER: &str = "ZooKeeperServer";

/// `generatePasswd`: 16 bytes of `java.util.Random` seeded with the
/// session id, so that any server can check a password without storing
/// it.
pub fn generate_passwd(session_id: i64) -> Vec<u8> {
    let mut p = vec![0u8; 16];
    JavaRandom::new(session_id ^ SUPER_SECRET).next_bytes(&mut p);
    p
}

impl ZooKeeperServer {
    /// A server over `db`, loaded or not ([`ZooKeeperServer::load_data`]
    /// loads it if not).
    pub fn new(cfg: ZooKeeperServerConfig, db: ZKDatabase) -> Arc<ZooKeeperServer> {
        Self::with_database(cfg, Arc::new(RwLock::new(db)))
    }

    /// A standalone server over a database shared with others (a quorum
    /// peer keeps one database across the servers of its successive
    /// roles; between roles it serves with one that never starts).
    pub fn with_database(
        cfg: ZooKeeperServerConfig,
        db: Arc<RwLock<ZKDatabase>>,
    ) -> Arc<ZooKeeperServer> {
        Self::with_role(cfg, db, Arc::new(Standalone))
    }

    /// A server playing `role` (see [`crate::server_role`]) over `db`.
    pub fn with_role(
        cfg: ZooKeeperServerConfig,
        db: Arc<RwLock<ZKDatabase>>,
        role: Arc<dyn ServerRole>,
    ) -> Arc<ZooKeeperServer> {
        let zxid = db.read().unwrap().data_tree_last_processed_zxid();
        let whitelist = crate::cnxn::four_letter::whitelist(&cfg.system_properties);
        let global_outstanding_limit = cfg
            .system_properties
            .get_integer(GLOBAL_OUTSTANDING_LIMIT, DEFAULT_GLOBAL_OUTSTANDING_LIMIT)
            as i64;
        let auth_helper = AuthenticationHelper::new(&cfg.system_properties);
        let enforce_quota = cfg.system_properties.enforce_quota();
        Arc::new(ZooKeeperServer {
            cfg,
            state: Mutex::new(State::Initial),
            state_changed: Condvar::new(),
            db,
            watches: Mutex::new(Watches::default()),
            outstanding: Mutex::new(OutstandingChanges::default()),
            session_tracker: OnceLock::new(),
            first_processor: Mutex::new(None),
            sink: RwLock::new(None),
            hzxid: AtomicI64::new(zxid),
            whitelist,
            global_outstanding_limit,
            enforce_quota,
            stats: ServerStats::default(),
            threads: Mutex::new(Vec::new()),
            fatal: OnceLock::new(),
            fatal_listener: OnceLock::new(),
            role,
            auth_helper,
        })
    }

    /// Final applied `zxid`: the role hears of it
    /// ([`ServerRole::txn_applied`]).
    pub(crate) fn notify_applied(&self, zxid: i64) {
        self.role.txn_applied(zxid);
    }

    /// Told of the fatal error that stops this server. Set once, before
    /// startup.
    pub fn set_fatal_error_listener(&self, f: FatalErrorListener) {
        if self.fatal_listener.set(f).is_err() {
            warn!("fatal error listener already set; ignoring another");
        }
    }

    /// A processor cannot go on (3.8's `ZooKeeperServerListener.notifyStopping`):
    /// the server is in ERROR, so no further request enters the chain, and
    /// the error goes to the listener. Only the first error counts.
    pub fn report_fatal_error(&self, e: FatalError) {
        if self.fatal.set(e.clone()).is_err() {
            debug!("Already stopping for a fatal error; also: {}", e);
            return;
        }
        self.set_state(State::Error);
        if let Some(f) = self.fatal_listener.get() {
            f(&e);
        }
    }

    /// The fatal error that stopped the server, if one did.
    pub fn fatal_error(&self) -> Option<&FatalError> {
        self.fatal.get()
    }

    /// Whether this is a read-only server ([`ServerRole::is_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.role.is_read_only()
    }

    /// "standalone", or the mode of the role.
    pub fn server_state(&self) -> &'static str {
        self.role.server_state()
    }

    /// The role's `zabstate` fields, if this server plays one.
    pub fn role_zab_state(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        self.role.zab_state()
    }

    /// What the role gives a reconfig to be checked against (`None`
    /// unless this server leads).
    pub fn role_reconfig_context(&self) -> Option<crate::server_role::ReconfigContext> {
        self.role.reconfig_context()
    }

    /// The role (for the admin commands that ask a quorum peer's role).
    pub fn role(&self) -> &dyn crate::server_role::ServerRole {
        &*self.role
    }

    /// The role's extra `mntr` values.
    pub fn role_monitor_values(&self) -> Vec<(&'static str, serde_json::Value)> {
        self.role.monitor_values()
    }

    /// The settings the server runs with.
    pub fn config(&self) -> &ZooKeeperServerConfig {
        &self.cfg
    }

    /// The database, shared with the peer in a replicated role.
    pub fn db(&self) -> &Arc<RwLock<ZKDatabase>> {
        &self.db
    }

    /// `checkACL`, unless `zookeeper.skipACL=yes`.
    pub fn check_acl(&self, acl: &[Acl], perm: i32, ids: &[Id]) -> Result<(), Code> {
        if self.cfg.system_properties.skip_acl() {
            return Ok(());
        }
        auth::check_acl(acl, perm, ids, &self.cfg.system_properties)
    }

    /// `jute.maxbuffer`.
    pub fn max_buffer(&self) -> usize {
        self.cfg.max_buffer
    }

    /// INITIAL, RUNNING, ...
    pub fn state(&self) -> State {
        *self.state.lock().unwrap()
    }

    fn set_state(&self, s: State) {
        *self.state.lock().unwrap() = s;
        self.state_changed.notify_all();
    }

    /// The session tracker; panics before startup.
    pub fn session_tracker(&self) -> &Arc<SessionTracker> {
        self.session_tracker
            .get()
            .expect("session tracker starts in startup()")
    }

    /// The session tracker, once started.
    pub fn try_session_tracker(&self) -> Option<&Arc<SessionTracker>> {
        self.session_tracker.get()
    }

    /// Replies go through `sink` from now on; a sink of another factory
    /// (the secure client port beside the plain one) is kept beside it.
    pub(crate) fn set_cnxn_sink(&self, sink: CnxnSink) {
        let mut slot = self.sink.write().unwrap();
        let merged = match slot.take() {
            Some(old) => old.merged(sink),
            None => sink,
        };
        *slot = Some(merged);
    }

    /// Sends to the selector; dropped when there is none (tests, shutdown).
    pub(crate) fn send(&self, cmd: CnxnCommand) {
        if let Some(s) = self.sink.read().unwrap().as_ref() {
            s.send(cmd);
        }
    }

    /// The last zxid applied to the tree.
    pub fn last_processed_zxid(&self) -> i64 {
        self.db.read().unwrap().data_tree_last_processed_zxid()
    }

    /// `getNextZxid`.
    pub(crate) fn next_zxid(&self) -> i64 {
        self.hzxid.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// `setZxid`: the next zxid handed out is `zxid + 1` (a leader starts
    /// its epoch at `epoch << 32`).
    pub fn set_zxid(&self, zxid: i64) {
        self.hzxid.store(zxid, Ordering::SeqCst);
    }

    /// `getZxid`: the last zxid handed out.
    pub fn zxid(&self) -> i64 {
        self.hzxid.load(Ordering::SeqCst)
    }

    /// `startdata`: restores the database from the snapshot and txn log
    /// unless it is loaded already. Returns the last zxid.
    pub fn load_data(&self) -> std::io::Result<i64> {
        let started = Instant::now();
        let mut db = self.db.write().unwrap();
        if !db.is_initialized() {
            info!("Restoring the database from the snapshot and txn log");
            db.load_database()?;
            ServerMetrics::get()
                .db_init_time
                .add(started.elapsed().as_millis() as i64);
        }
        let zxid = db.data_tree_last_processed_zxid();
        self.hzxid.store(zxid, Ordering::SeqCst);
        info!(
            "Database restored in {} ms: {} znodes, {} sessions, last zxid 0x{:x}",
            started.elapsed().as_millis(),
            db.data_tree().node_count(),
            db.session_count(),
            zxid
        );
        Ok(zxid)
    }

    /// `startup`: [`ZooKeeperServer::startup_without_serving`], then
    /// [`ZooKeeperServer::start_serving`].
    pub fn startup(self: &Arc<Self>) -> std::io::Result<()> {
        self.startup_without_serving()?;
        self.start_serving();
        Ok(())
    }

    /// The session tracker and the processor chain, as the role makes
    /// them ([`ServerRole::create_session_tracker`],
    /// [`ServerRole::setup_request_processors`]); the state stays
    /// INITIAL, so nothing is served yet.
    pub fn startup_without_serving(self: &Arc<Self>) -> std::io::Result<()> {
        let tracker = self.role.create_session_tracker(self);
        self.start_session_tracker(tracker);
        let (first, threads) = self.role.setup_request_processors(self)?;
        self.threads.lock().unwrap().extend(threads);
        *self.first_processor.lock().unwrap() = Some(first);
        self.register_metrics();
        Ok(())
    }

    /// 3.8's `registerMetrics`: this server's gauges (its `mntr` values)
    /// are what a scrape reports until a later server (the next role's)
    /// registers or this one shuts down.
    fn register_metrics(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        ServerMetrics::get().root_context().register_gauge_source(
            METRICS_OWNER,
            self.metrics_id(),
            Box::new(move || {
                me.upgrade().map_or_else(Vec::new, |zks| {
                    crate::commands::server::metric_samples(&zks)
                })
            }),
        );
    }

    fn metrics_id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Installs and starts the session tracker: an expiring one closes its
    /// expired sessions through this server's chain.
    fn start_session_tracker(self: &Arc<Self>, tracker: Arc<SessionTracker>) {
        let me = Arc::downgrade(self);
        tracker.start(move |session, timeout| {
            if let Some(zks) = me.upgrade() {
                zks.expire(session, timeout);
            }
        });
        info!(
            "SessionTracker started with {} sessions",
            tracker.session_count()
        );
        if self.session_tracker.set(tracker).is_err() {
            warn!("session tracker already started; keeping the first");
        }
    }

    /// The standalone server's session tracker: it owns the sessions the
    /// database holds and expires them (also the leader's and the
    /// read-only server's).
    pub fn standalone_session_tracker(&self) -> Arc<SessionTracker> {
        let sessions = self.db.read().unwrap().sessions_with_timeouts().clone();
        SessionTracker::new(self.cfg.tick_time, self.cfg.server_id, &sessions)
    }

    /// The standalone server's chain, a thread each: Prep → Sync → Final.
    pub fn standalone_request_processors(self: &Arc<Self>) -> std::io::Result<Chain> {
        let (final_tx, final_rx) = mpsc::channel();
        let (sync_tx, sync_rx) = mpsc::channel();
        let (prep_tx, prep_rx) = mpsc::channel();
        let threads = vec![
            FinalRequestProcessor::start(Arc::clone(self), final_rx)?,
            SyncRequestProcessor::start(
                Arc::clone(self),
                self.cfg.sync.clone(),
                sync_rx,
                final_tx,
            )?,
            PrepRequestProcessor::start(Arc::clone(self), prep_rx, sync_tx)?,
        ];
        info!("Request processors started: PrepRequestProcessor -> SyncRequestProcessor -> FinalRequestProcessor");
        Ok((prep_tx, threads))
    }

    /// RUNNING: requests flow, and the selector serves the connections
    /// that arrived while the server started.
    ///
    /// # Panics
    ///
    /// Before `startup` has started the session tracker and the chain:
    /// a RUNNING server without them would take requests it cannot serve.
    pub fn start_serving(&self) {
        assert!(
            self.session_tracker.get().is_some(),
            "ZooKeeperServer (server id {}) made RUNNING before its session tracker started",
            self.cfg.server_id
        );
        self.set_state(State::Running);
        info!(
            "ZooKeeperServer is RUNNING (globalOutstandingLimit={})",
            self.global_outstanding_limit
        );
        self.send(CnxnCommand::Serving);
    }

    /// Stops the chain (letting queued requests finish and the log flush)
    /// and the session tracker.
    pub fn shutdown(&self) {
        self.set_state(State::Shutdown);
        ServerMetrics::get()
            .root_context()
            .unregister_gauge_source(METRICS_OWNER, self.metrics_id());
        self.first_processor.lock().unwrap().take();
        let threads: Vec<JoinHandle<()>> = self.threads.lock().unwrap().drain(..).collect();
        let me = std::thread::current().id();
        for t in threads {
            // A stage may itself end the role (and so this server).
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        if let Some(t) = self.session_tracker.get() {
            t.shutdown();
        }
        if let Err(e) = self.db.write().unwrap().close() {
            warn!("Error closing the txn log: {}", e);
        }
        info!("ZooKeeperServer shut down");
    }

    /// Hands a request to the first processor, waiting while the server
    /// is still starting.
    pub fn submit_request(&self, r: Request) {
        let mut st = self.state.lock().unwrap();
        while *st == State::Initial {
            st = self
                .state_changed
                .wait_timeout(st, Duration::from_secs(1))
                .unwrap()
                .0;
        }
        if *st != State::Running {
            debug!("Dropping request {} : server is not running", r);
            return;
        }
        drop(st);
        if !Request::is_valid(r.op) {
            warn!("Received packet at server of unknown type {}", r.op);
            if let Some(c) = r.cnxn {
                let frame = reply_frame::<AuthPacket>(
                    &ReplyHeader {
                        xid: r.cxid,
                        zxid: self.zxid(),
                        err: Code::UNIMPLEMENTED as i32,
                    },
                    None,
                );
                self.send(CnxnCommand::Send(c, frame));
            }
            return;
        }
        if let Some(tx) = self.first_processor.lock().unwrap().as_ref() {
            self.stats.request_submitted(&r);
            let _ = tx.send(r);
        }
    }

    /// Hands a request the server makes itself (the `ContainerManager`'s
    /// deletions) straight to the first processor, as Java's
    /// `firstProcessor.processRequest`; false when the server is not
    /// running.
    pub fn submit_to_first_processor(&self, r: Request) -> bool {
        if self.state() != State::Running {
            return false;
        }
        match self.first_processor.lock().unwrap().as_ref() {
            Some(tx) => tx.send(r).is_ok(),
            None => false,
        }
    }

    /// `shouldThrottle`: whether a connection with `outstanding` requests
    /// of its own in the chain must stop being read, because the whole
    /// server has more than `globalOutstandingLimit` in the chain. A
    /// connection with none is never throttled, so it always gets going
    /// again once its own requests are answered.
    pub fn should_throttle(&self, outstanding: i64) -> bool {
        self.global_outstanding_limit < self.stats.outstanding_requests() && outstanding > 0
    }

    /// `zookeeper.globalOutstandingLimit`.
    pub fn global_outstanding_limit(&self) -> i64 {
        self.global_outstanding_limit
    }

    /// Every packet from a session keeps it alive (on a learner: is
    /// recorded for the next PING to the leader).
    pub fn touch(&self, session_id: i64, timeout: i32) {
        if session_id != 0 {
            if let Some(t) = self.session_tracker.get() {
                t.touch_session(session_id, timeout);
            }
        }
    }

    /// The expirer's verdict: close the session through the chain.
    fn expire(&self, session_id: i64, timeout: i32) {
        info!(
            "Expiring session 0x{:x}, timeout of {}ms exceeded",
            session_id, timeout
        );
        self.close_session(session_id);
    }

    /// Submits a closeSession for `session_id` on the server's own behalf.
    pub fn close_session(&self, session_id: i64) {
        self.submit_request(Request::new(
            session_id,
            0,
            op_code::CLOSE_SESSION,
            Vec::new(),
        ));
    }

    /// `processConnectRequest` (run on the selector thread).
    pub fn process_connect_request(
        &self,
        cnxn: CnxnId,
        peer: SocketAddr,
        body: &[u8],
    ) -> Result<ConnectOutcome, String> {
        ServerMetrics::get().connection_request_count.inc();
        let (req, read_only) = ConnectRequest::decode(body, self.cfg.max_buffer)
            .map_err(|e| format!("malformed connect request from {}: {}", peer, e))?;
        debug!(
            "Session establishment request from client {} client's lastZxid is 0x{:x}",
            peer, req.last_zxid_seen
        );
        if self.is_read_only() && read_only != Some(true) {
            let msg = format!("Refusing session request for not-read-only client {}", peer);
            info!("{}", msg);
            return Err(msg);
        }
        let last = self.last_processed_zxid();
        if req.last_zxid_seen > last {
            let msg = format!(
                "Refusing session request for client {} as it has seen zxid 0x{:x} our last zxid is 0x{:x} client must try another server",
                peer, req.last_zxid_seen, last
            );
            info!("{}", msg);
            return Err(msg);
        }
        let timeout = req
            .time_out
            .max(self.cfg.min_session_timeout)
            .min(self.cfg.max_session_timeout);
        let tracker = self.session_tracker();
        if req.session_id == 0 {
            let id = tracker.create_session(timeout);
            let mut r = Request::new(
                id,
                0,
                op_code::CREATE_SESSION,
                timeout.to_be_bytes().to_vec(),
            );
            r.cnxn = Some(cnxn);
            r.connect = Some(ConnectInfo { timeout, read_only });
            self.submit_request(r);
            return Ok(ConnectOutcome::Pending {
                session_id: id,
                timeout,
            });
        }
        let id = req.session_id;
        let password_ok = id != 0 && req.passwd == generate_passwd(id);
        if password_ok
            && self.role.revalidate_session(cnxn, id, timeout, read_only) == Revalidation::Pending
        {
            return Ok(ConnectOutcome::Pending {
                session_id: id,
                timeout,
            });
        }
        let valid = if password_ok {
            tracker.touch_session(id, timeout)
        } else {
            warn!("Incorrect password from {} for session 0x{:x}", peer, id);
            false
        };
        if !valid {
            info!(
                "Invalid session 0x{:x} for client {}, probably expired",
                id, peer
            );
        }
        Ok(ConnectOutcome::Reply {
            session_id: id,
            timeout,
            valid,
            frame: connect_response_frame(
                valid,
                id,
                timeout,
                read_only.map(|_| self.is_read_only()),
            ),
        })
    }

    /// `finishSessionInit` for a reconnect checked elsewhere (see
    /// [`ServerRole::revalidate_session`]): the connection gets
    /// its connect response, and is closed after it if `valid` is false.
    pub fn finish_session_init(
        &self,
        cnxn: CnxnId,
        session_id: i64,
        timeout: i32,
        valid: bool,
        read_only: Option<bool>,
    ) {
        let frame = connect_response_frame(
            valid,
            session_id,
            timeout,
            read_only.map(|_| self.is_read_only()),
        );
        if valid {
            self.touch(session_id, timeout);
            self.send(CnxnCommand::SessionEstablished {
                cnxn,
                session_id,
                frame,
            });
        } else {
            info!(
                "Invalid session 0x{:x} for client on connection {}, probably expired",
                session_id, cnxn
            );
            self.send(CnxnCommand::SendAndClose(cnxn, frame));
        }
    }

    /// An auth packet (run on the selector thread): adds the identity to
    /// `ids`, or says why not.
    pub fn process_auth(
        &self,
        session_id: i64,
        peer: SocketAddr,
        packet: &AuthPacket,
        ids: &mut Vec<Id>,
    ) -> Code {
        let code = auth::handle_authentication(
            &packet.scheme,
            &packet.auth,
            peer,
            ids,
            &self.cfg.system_properties,
        );
        if code == Code::OK {
            info!(
                "Session 0x{:x}: auth success for scheme {} and address {}",
                session_id, packet.scheme, peer
            );
        } else {
            warn!(
                "Authentication failed for scheme: {} (session 0x{:x}, {})",
                packet.scheme, session_id, peer
            );
        }
        code
    }

    /// Enforced authentication, as the settings ask.
    pub(crate) fn auth_helper(&self) -> &AuthenticationHelper {
        &self.auth_helper
    }

    /// A connection closed: its watches go.
    pub(crate) fn cnxn_closed(&self, cnxn: CnxnId) {
        let mut w = self.watches.lock().unwrap();
        w.data.remove_cnxn(cnxn);
        w.child.remove_cnxn(cnxn);
    }

    pub(crate) fn four_letter_enabled(&self, cmd: &str) -> bool {
        self.whitelist.contains(cmd)
    }

    /// The text answer to an enabled four-letter word, asked on the
    /// secure client port or not.
    pub(crate) fn four_letter(&self, cmd: &str, secure: bool) -> String {
        crate::commands::four_letter_on(self, cmd, secure)
    }
}

/// The connect response frame (`finishSessionInit`): an invalid session
/// gets zeros. `read_only` is the server's flag, sent only to clients
/// that sent theirs.
pub(crate) fn connect_response_frame(
    valid: bool,
    session_id: i64,
    timeout: i32,
    read_only: Option<bool>,
) -> Vec<u8> {
    let rsp = ConnectResponse {
        protocol_version: 0,
        time_out: if valid { timeout } else { 0 },
        session_id: if valid { session_id } else { 0 },
        passwd: if valid {
            generate_passwd(session_id)
        } else {
            vec![0; 16]
        },
    };
    frame(&rsp.encode(read_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_match_apache_zookeeper() {
        // From Java: new Random(0x0100017f5a3b0000L ^ 0xB3415C00L).nextBytes(16)
        assert_eq!(
            generate_passwd(0x0100_017f_5a3b_0000),
            vec![39, 121, 186, 7, 40, 209, 199, 33, 221, 201, 222, 16, 177, 201, 150, 171]
        );
    }

    #[test]
    fn invalid_connect_response_is_zeroed() {
        let f = connect_response_frame(false, 5, 4000, Some(true));
        // len, proto 0, timeout 0, session 0, passwd 16 zeros, readOnly.
        assert_eq!(f.len(), 4 + 4 + 4 + 8 + 4 + 16 + 1);
        assert!(f[4..20].iter().all(|&b| b == 0));
    }

    #[test]
    #[should_panic(expected = "made RUNNING before its session tracker started")]
    fn running_without_startup_is_refused() {
        let dir = crate::test_harness::TempDir::new("running");
        let db = ZKDatabase::new(
            zk_persistence::file_txn_snap_log::FileTxnSnapLog::open(&dir.0, &dir.0).unwrap(),
        );
        let zks = ZooKeeperServer::new(ZooKeeperServerConfig::with_tick_time(1000), db);
        zks.start_serving();
    }
}
