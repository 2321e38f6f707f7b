//! What Zab needs from the ZooKeeper server running beside it, as two
//! traits: [`LeaderZkServer`] (3.8's `LeaderZooKeeperServer` seen from the
//! `Leader`) and [`LearnerZkServer`] (`FollowerZooKeeperServer` /
//! `ObserverZooKeeperServer` seen from the `Learner`).
//!
//! The servers with client connections and processor chains implement them
//! on top of zk-server. [`DirectLeaderServer`] and [`DirectLearnerServer`]
//! implement them with no clients and no processor threads: txns are
//! logged and applied on the calling thread. They serve the tests and
//! spell out the contract.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use log::{error, info, warn};
use zk_persistence::file_txn_snap_log::process_transaction;
use zk_persistence::records::{Id, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::txn_log::{marshall_txn_entry, TxnLogEntry};
use zk_persistence::zk_database::ZKDatabase;

use crate::leader::Leader;
use crate::learner_handler::LearnerHandler;
use crate::quorum_packet::ForwardedRequest;

/// The leader's server, as the `Leader` drives it.
pub trait LeaderZkServer: Send + Sync {
    /// `loadData`: the database loaded (if it is not), sessions without a
    /// timeout dropped, and a clean snapshot taken. Returns the last
    /// processed zxid.
    fn load_data(&self) -> io::Result<i64>;
    /// `startup`: the processor chain and session tracker run; from here
    /// on proposals may be made.
    fn startup(&self) -> io::Result<()>;
    fn is_running(&self) -> bool;
    /// A quorum acked `zxid`: apply it (`commitProcessor.commit`). Called in
    /// zxid order, never with the leader's locks held; once applied the
    /// server calls [`Leader::applied`](crate::leader::Leader::applied).
    fn commit(&self, zxid: i64);
    /// A learner's PING reported this session alive. False when the
    /// session is unknown or expired.
    fn touch(&self, session_id: i64, timeout: i32) -> bool;
    /// Whether a reconnecting client's session is still valid
    /// (REVALIDATE), touching it if so.
    fn revalidate_session(&self, session_id: i64, timeout: i32) -> bool {
        self.touch(session_id, timeout)
    }
    /// A client request a learner forwarded (REQUEST) through `handler`,
    /// to go through this server's processor chain as if a local client
    /// sent it. A `sync` goes that way too, and the chain hands it to
    /// `Leader::process_sync` in order with the learner's earlier
    /// requests (3.8's ProposalRequestProcessor and `LearnerSyncRequest`).
    fn submit_learner_request(
        &self,
        handler: &Arc<LearnerHandler>,
        req: ForwardedRequest,
        _authinfo: Vec<Id>,
    ) {
        warn!(
            "dropping request 0x{:x}:{} (type {}) forwarded by learner {}: this server takes no requests",
            req.session_id, req.cxid, req.op_type, handler.sid()
        );
    }
    fn shutdown(&self);
}

/// A learner's server, as `Learner.syncWithLeader` and the follower's
/// packet loop drive it.
pub trait LearnerZkServer: Send + Sync {
    fn db(&self) -> &Arc<RwLock<ZKDatabase>>;
    /// The connection to the leader, once made: a server with processor
    /// threads sends its ACKs, REQUESTs and REVALIDATEs through it.
    fn set_leader_writer(&self, _writer: Arc<crate::learner::LeaderWriter>) {}
    /// Applies a txn straight to memory (a SNAP or TRUNC sync, before
    /// NEWLEADER: the snapshot taken at NEWLEADER makes it durable).
    fn process_txn(&self, entry: &TxnLogEntry) -> io::Result<()>;
    fn take_snapshot(&self, sync_snap: bool) -> io::Result<()>;
    /// NEWLEADER arrived: start logging, but do not serve clients yet.
    fn startup_without_serving(&self) -> io::Result<()>;
    /// UPTODATE arrived: serve clients.
    fn start_serving(&self) -> io::Result<()>;
    /// Appends a proposal to the txn log (`logRequest`). A follower's
    /// server acknowledges it to the leader once durable, unless
    /// [`Self::acks_logged_txns`] says the caller does.
    fn log_request(&self, entry: TxnLogEntry) -> io::Result<()>;
    /// True when [`Self::log_request`] arranges the ACK itself (a
    /// processor chain ending in SendAckRequestProcessor); false when it
    /// returns only once the txn is durable and the caller acks.
    fn acks_logged_txns(&self) -> bool {
        false
    }
    /// Applies the oldest logged proposal, which must be `zxid`.
    fn commit(&self, zxid: i64) -> io::Result<()>;
    /// Applies a committed txn that was never logged here through
    /// `log_request` (an observer's INFORM).
    fn commit_request(&self, entry: TxnLogEntry) -> io::Result<()>;
    /// The sessions touched since the last call, for the PING reply.
    fn touch_snapshot(&self) -> Vec<(i64, i32)> {
        Vec::new()
    }
    /// A SYNC came back from the leader: answer the oldest pending sync.
    fn sync(&self) {}
    /// The leader answered a REVALIDATE.
    fn finish_session_init(&self, _session_id: i64, _valid: bool) {}
    /// `fully`: a SNAP sync did not finish, so the in-memory database must
    /// not be trusted (it is cleared).
    fn shutdown(&self, fully: bool);
}

/// `Learner` COMMIT: the oldest pending (logged, uncommitted) txn, which
/// must be `zxid`; commits come in proposal order, so anything else means
/// the leader and this learner disagree.
pub fn pop_committed(pending: &mut VecDeque<TxnLogEntry>, zxid: i64) -> io::Result<TxnLogEntry> {
    let err = |msg: String| Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    match pending.front() {
        None => err(format!("Committing zxid 0x{zxid:x} but no txn is pending")),
        Some(first) if first.zxid() != zxid => err(format!(
            "Committing zxid 0x{:x} but next pending txn 0x{:x}",
            zxid,
            first.zxid()
        )),
        Some(_) => Ok(pending.pop_front().expect("front exists")),
    }
}

/// After a role's server stopped: txns it logged but never applied (its
/// proposals without a commit) are applied from the log, so that the
/// next election votes with, and the next role starts from, everything
/// this server logged (3.8's `ZooKeeperServer.shutdown` does the same).
/// If that fails the database is cleared, to be reloaded from disk.
pub fn fast_forward_from_log(db: &RwLock<ZKDatabase>) {
    let mut db = db.write().unwrap();
    if !db.is_initialized() {
        return;
    }
    match db.fast_forward_database() {
        Ok(zxid) => info!("Database fast-forwarded from the txn log to 0x{zxid:x}"),
        Err(e) => {
            error!("Error updating the database from the txn log, clearing it: {e}");
            db.clear();
        }
    }
}

/// Applies one logged txn to the tree and the session table.
pub fn apply_to_db(db: &mut ZKDatabase, entry: &TxnLogEntry) -> io::Result<()> {
    let mut sessions = std::mem::take(db.sessions_with_timeouts_mut());
    let r = process_transaction(entry, db.data_tree_mut(), &mut sessions);
    *db.sessions_with_timeouts_mut() = sessions;
    r
}

/// A leader server with no clients: it loads and snapshots the database,
/// logs and acks its own proposals on the caller's thread, and applies
/// commits as they come.
pub struct DirectLeaderServer {
    db: Arc<RwLock<ZKDatabase>>,
    running: AtomicBool,
    leader: OnceLock<Weak<Leader>>,
    /// Logged here, awaiting their commit.
    proposed: Mutex<BTreeMap<i64, TxnLogEntry>>,
    last_applied: AtomicI64,
    touched: Mutex<Vec<(i64, i32)>>,
}

impl DirectLeaderServer {
    pub fn new(db: Arc<RwLock<ZKDatabase>>) -> Arc<Self> {
        Arc::new(DirectLeaderServer {
            db,
            running: AtomicBool::new(false),
            leader: OnceLock::new(),
            proposed: Mutex::new(BTreeMap::new()),
            last_applied: AtomicI64::new(0),
            touched: Mutex::new(Vec::new()),
        })
    }

    /// Ties the server to the leader it proposes through.
    pub fn attach(&self, leader: &Arc<Leader>) {
        let _ = self.leader.set(Arc::downgrade(leader));
    }

    fn leader(&self) -> io::Result<Arc<Leader>> {
        self.leader
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no leader attached"))
    }

    /// Proposes the txn `build` makes for the next zxid: sends it to the
    /// followers, logs it here and acks it as this leader (the path of
    /// ProposalRequestProcessor → SyncRequestProcessor →
    /// AckRequestProcessor). Returns the zxid.
    pub fn propose(&self, build: impl FnOnce(i64) -> (TxnHeader, Txn)) -> io::Result<i64> {
        let leader = self.leader()?;
        if !self.is_running() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the leader's server is not running",
            ));
        }
        let zxid = leader.next_zxid();
        let (hdr, txn) = build(zxid);
        let entry = TxnLogEntry {
            bytes: marshall_txn_entry(&hdr, &txn.to_bytes(), None),
            header: hdr,
        };
        self.proposed.lock().unwrap().insert(zxid, entry.clone());
        leader.propose(&entry)?;
        {
            let mut db = self.db.write().unwrap();
            db.append_entry(&entry.bytes)?;
            db.commit()?;
        }
        leader.process_ack(leader.peer().my_id(), zxid);
        Ok(zxid)
    }

    /// The zxid of the last txn applied here.
    pub fn last_applied(&self) -> i64 {
        self.last_applied.load(Ordering::SeqCst)
    }

    /// Sessions learners reported alive in their PINGs.
    pub fn touched(&self) -> Vec<(i64, i32)> {
        self.touched.lock().unwrap().clone()
    }
}

impl LeaderZkServer for DirectLeaderServer {
    fn load_data(&self) -> io::Result<i64> {
        let mut db = self.db.write().unwrap();
        if !db.is_initialized() {
            db.load_database()?;
        }
        db.take_snapshot(false)?;
        Ok(db.data_tree_last_processed_zxid())
    }

    fn startup(&self) -> io::Result<()> {
        self.running.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    fn commit(&self, zxid: i64) {
        let Some(entry) = self.proposed.lock().unwrap().remove(&zxid) else {
            error!("Committed zxid 0x{zxid:x} was never proposed here");
            return;
        };
        {
            let mut db = self.db.write().unwrap();
            if let Err(e) = apply_to_db(&mut db, &entry) {
                error!("Cannot apply committed txn 0x{zxid:x}: {e}");
                return;
            }
            db.add_committed_proposal(entry);
        }
        self.last_applied.store(zxid, Ordering::SeqCst);
        if let Ok(leader) = self.leader() {
            leader.applied(zxid);
        }
    }

    /// Takes no client requests, but answers a learner's `sync`: with no
    /// chain here, no request of that learner can be ahead of it.
    fn submit_learner_request(
        &self,
        handler: &Arc<LearnerHandler>,
        req: ForwardedRequest,
        _authinfo: Vec<Id>,
    ) {
        if req.op_type == zk_persistence::zoo_defs::op_code::SYNC {
            match self.leader() {
                Ok(leader) => leader.process_sync(handler),
                Err(e) => warn!("dropping the sync of learner {}: {e}", handler.sid()),
            }
        } else {
            warn!(
                "dropping request 0x{:x}:{} (type {}) forwarded by learner {}: this server takes no requests",
                req.session_id, req.cxid, req.op_type, handler.sid()
            );
        }
    }

    fn touch(&self, session_id: i64, timeout: i32) -> bool {
        self.touched.lock().unwrap().push((session_id, timeout));
        self.db
            .read()
            .unwrap()
            .sessions_with_timeouts()
            .contains_key(&session_id)
    }

    fn shutdown(&self) {
        self.running.store(false, Ordering::SeqCst);
    }
}

/// A learner server with no clients and no processor threads: a proposal
/// is logged and fsynced before `log_request` returns, a commit applies it
/// at once.
pub struct DirectLearnerServer {
    db: Arc<RwLock<ZKDatabase>>,
    pending: Mutex<VecDeque<TxnLogEntry>>,
    serving: AtomicBool,
    /// The zxid of the last txn applied through `commit`/`commit_request`.
    last_committed: AtomicI64,
    touches: Mutex<Vec<(i64, i32)>>,
}

impl DirectLearnerServer {
    pub fn new(db: Arc<RwLock<ZKDatabase>>) -> Arc<Self> {
        Arc::new(DirectLearnerServer {
            db,
            pending: Mutex::new(VecDeque::new()),
            serving: AtomicBool::new(false),
            last_committed: AtomicI64::new(0),
            touches: Mutex::new(Vec::new()),
        })
    }

    /// Records a client's activity on `session_id`, reported to the leader
    /// with the next PING.
    pub fn touch(&self, session_id: i64, timeout: i32) {
        self.touches.lock().unwrap().push((session_id, timeout));
    }

    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::SeqCst)
    }

    pub fn last_committed(&self) -> i64 {
        self.last_committed.load(Ordering::SeqCst)
    }

    /// Proposals logged and not yet committed.
    pub fn pending_count(&self) -> usize {
        self.pending.lock().unwrap().len()
    }

    fn apply_committed(&self, entry: TxnLogEntry) -> io::Result<()> {
        let zxid = entry.zxid();
        let mut db = self.db.write().unwrap();
        apply_to_db(&mut db, &entry)?;
        db.add_committed_proposal(entry);
        drop(db);
        self.last_committed.store(zxid, Ordering::SeqCst);
        Ok(())
    }
}

impl LearnerZkServer for DirectLearnerServer {
    fn db(&self) -> &Arc<RwLock<ZKDatabase>> {
        &self.db
    }

    fn process_txn(&self, entry: &TxnLogEntry) -> io::Result<()> {
        apply_to_db(&mut self.db.write().unwrap(), entry)
    }

    fn take_snapshot(&self, sync_snap: bool) -> io::Result<()> {
        let path = self.db.write().unwrap().take_snapshot(sync_snap)?;
        info!("Snapshot taken: {}", path.display());
        Ok(())
    }

    fn startup_without_serving(&self) -> io::Result<()> {
        Ok(())
    }

    fn start_serving(&self) -> io::Result<()> {
        self.serving.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn log_request(&self, entry: TxnLogEntry) -> io::Result<()> {
        {
            let mut db = self.db.write().unwrap();
            db.append_entry(&entry.bytes)?;
            db.commit()?;
        }
        self.pending.lock().unwrap().push_back(entry);
        Ok(())
    }

    fn commit(&self, zxid: i64) -> io::Result<()> {
        let entry = pop_committed(&mut self.pending.lock().unwrap(), zxid)?;
        self.apply_committed(entry)
    }

    fn touch_snapshot(&self) -> Vec<(i64, i32)> {
        std::mem::take(&mut *self.touches.lock().unwrap())
    }

    fn commit_request(&self, entry: TxnLogEntry) -> io::Result<()> {
        {
            let mut db = self.db.write().unwrap();
            db.append_entry(&entry.bytes)?;
            db.commit()?;
        }
        self.apply_committed(entry)
    }

    fn shutdown(&self, fully: bool) {
        self.serving.store(false, Ordering::SeqCst);
        self.pending.lock().unwrap().clear();
        if fully {
            warn!(
                "Learner shut down before its SNAP sync finished; clearing the in-memory database"
            );
            self.db.write().unwrap().clear();
        }
    }
}
