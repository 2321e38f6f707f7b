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

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use log::{info, warn};
use zk_persistence::file_txn_snap_log::process_transaction;
use zk_persistence::txn_log::TxnLogEntry;
use zk_persistence::zk_database::ZKDatabase;

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
    /// A learner's PING reported this session alive. False when the
    /// session is unknown or expired.
    fn touch(&self, session_id: i64, timeout: i32) -> bool;
    /// Whether a reconnecting client's session is still valid
    /// (REVALIDATE), touching it if so.
    fn revalidate_session(&self, session_id: i64, timeout: i32) -> bool {
        self.touch(session_id, timeout)
    }
    fn shutdown(&self);
}

/// A learner's server, as `Learner.syncWithLeader` and the follower's
/// packet loop drive it.
pub trait LearnerZkServer: Send + Sync {
    fn db(&self) -> &Arc<RwLock<ZKDatabase>>;
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

/// Applies one logged txn to the tree and the session table.
pub fn apply_to_db(db: &mut ZKDatabase, entry: &TxnLogEntry) -> io::Result<()> {
    let mut sessions = std::mem::take(db.sessions_with_timeouts_mut());
    let r = process_transaction(entry, db.data_tree_mut(), &mut sessions);
    *db.sessions_with_timeouts_mut() = sessions;
    r
}

/// A leader server with no clients: it loads and snapshots the database
/// and counts as running once started.
pub struct DirectLeaderServer {
    db: Arc<RwLock<ZKDatabase>>,
    running: AtomicBool,
}

impl DirectLeaderServer {
    pub fn new(db: Arc<RwLock<ZKDatabase>>) -> Arc<Self> {
        Arc::new(DirectLeaderServer {
            db,
            running: AtomicBool::new(false),
        })
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

    fn touch(&self, session_id: i64, _timeout: i32) -> bool {
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
}

impl DirectLearnerServer {
    pub fn new(db: Arc<RwLock<ZKDatabase>>) -> Arc<Self> {
        Arc::new(DirectLearnerServer {
            db,
            pending: Mutex::new(VecDeque::new()),
            serving: AtomicBool::new(false),
            last_committed: AtomicI64::new(0),
        })
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
        let entry = {
            let mut pending = self.pending.lock().unwrap();
            match pending.front() {
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("Committing zxid 0x{zxid:x} but no txn is pending"),
                    ))
                }
                Some(first) if first.zxid() != zxid => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "Committing zxid 0x{:x} but next pending txn 0x{:x}",
                            zxid,
                            first.zxid()
                        ),
                    ))
                }
                Some(_) => pending.pop_front().expect("front exists"),
            }
        };
        self.apply_committed(entry)
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
