//! Test doubles of the two server traits of [`crate::servers`]:
//! [`DirectLeaderServer`] and [`DirectLearnerServer`] implement them with
//! no clients and no processor threads: txns are logged and applied on
//! the calling thread. They serve the tests (this crate's, and others'
//! through the `test-support` feature) and spell out the contract; no
//! production code uses them.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use log::{error, info, warn};
use zk_persistence::file_txn_log::{marshall_txn_entry, TxnLogEntry};
use zk_persistence::records::{Id, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::zk_database::ZKDatabase;

use crate::leader::Leader;
use crate::learner_handler::LearnerHandler;
use crate::quorum_packet::ForwardedRequest;
use crate::servers::{apply_to_db, pop_committed, LeaderZkServer, LearnerZkServer};

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
    /// A server over the peer's database.
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
        if let Err(e) = leader.propose(&entry) {
            // As ProposalRequestProcessor does: the leader steps down.
            leader.shutdown(&format!("Cannot propose txn 0x{zxid:x}: {e}"));
            return Err(e);
        }
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
    /// A server over the peer's database.
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

    /// Whether UPTODATE arrived (and no shutdown since).
    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::SeqCst)
    }

    /// The zxid of the last txn applied through `commit`/`commit_request`.
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
