//! What Zab needs from the ZooKeeper server running beside it, as two
//! traits: [`LeaderZkServer`] (3.8's `LeaderZooKeeperServer` seen from the
//! `Leader`) and [`LearnerZkServer`] (`FollowerZooKeeperServer` /
//! `ObserverZooKeeperServer` seen from the `Learner`).
//!
//! The servers with client connections and processor chains implement them
//! on top of zk-server (`leader_zookeeper_server`, `learner_zookeeper_server`). The test
//! doubles in `direct_servers` (built for this crate's tests and with the
//! `test-support` feature) implement them with no clients and no
//! processor threads.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, RwLock};

use log::{error, info, warn};
use zk_persistence::file_txn_log::TxnLogEntry;
use zk_persistence::file_txn_snap_log::process_transaction;
use zk_persistence::records::Id;
use zk_persistence::zk_database::ZKDatabase;
use zk_server::fatal_error::FatalError;

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
    /// Whether the server serves (RUNNING).
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
    /// Stops the server (its chain, sessions, container manager).
    fn shutdown(&self);
}

/// A learner's server, as `Learner.syncWithLeader` and the follower's
/// packet loop drive it.
pub trait LearnerZkServer: Send + Sync {
    /// The peer's database.
    fn db(&self) -> &Arc<RwLock<ZKDatabase>>;
    /// The connection to the leader, once made: a server with processor
    /// threads sends its ACKs, REQUESTs and REVALIDATEs through it.
    fn set_leader_writer(&self, _writer: Arc<crate::learner::LeaderWriter>) {}
    /// Applies a txn straight to memory (a SNAP or TRUNC sync, before
    /// NEWLEADER: the snapshot taken at NEWLEADER makes it durable).
    fn process_txn(&self, entry: &TxnLogEntry) -> io::Result<()>;
    /// Snapshots the database (`sync_snap`: fsync it).
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
/// must be `zxid`. None pending is an error (the learner stops and
/// syncs again). Another zxid is fatal, as in 3.8's
/// `FollowerZooKeeperServer.commit` (`ExitCode.UNMATCHED_TXN_COMMIT`):
/// commits come in proposal order, so the leader and this learner
/// disagree on the history, and serving on could diverge.
pub(crate) fn pop_committed(
    pending: &mut VecDeque<TxnLogEntry>,
    zxid: i64,
) -> Result<TxnLogEntry, CommitError> {
    let Some(first) = pending.front() else {
        return Err(CommitError::NothingPending(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Committing zxid 0x{zxid:x} but no txn is pending"),
        )));
    };
    if first.zxid() != zxid {
        return Err(CommitError::Unmatched(FatalError::UnmatchedTxnCommit(
            format!(
                "Committing zxid 0x{:x} but next pending txn 0x{:x}",
                zxid,
                first.zxid()
            ),
        )));
    }
    Ok(pending.pop_front().expect("front exists"))
}

/// Why [`pop_committed`] found no txn to commit.
#[derive(Debug)]
pub(crate) enum CommitError {
    /// No txn is pending: the learner stops following and syncs again.
    NothingPending(io::Error),
    /// The COMMIT is for another txn than the next pending one: the
    /// server must stop.
    Unmatched(FatalError),
}

impl From<CommitError> for io::Error {
    fn from(e: CommitError) -> io::Error {
        match e {
            CommitError::NothingPending(e) => e,
            CommitError::Unmatched(f) => io::Error::new(io::ErrorKind::InvalidData, f.to_string()),
        }
    }
}

/// After a role's server stopped: txns it logged but never applied (its
/// proposals without a commit) are applied from the log, so that the
/// next election votes with, and the next role starts from, everything
/// this server logged (3.8's `ZooKeeperServer.shutdown` does the same).
/// If that fails the database is cleared, to be reloaded from disk.
pub(crate) fn fast_forward_from_log(db: &RwLock<ZKDatabase>) {
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
pub(crate) fn apply_to_db(db: &mut ZKDatabase, entry: &TxnLogEntry) -> io::Result<()> {
    let mut sessions = std::mem::take(db.sessions_with_timeouts_mut());
    let r = process_transaction(entry, db.data_tree_mut(), &mut sessions);
    *db.sessions_with_timeouts_mut() = sessions;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::records::TxnHeader;

    fn entry(zxid: i64) -> TxnLogEntry {
        TxnLogEntry {
            header: TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid,
                time: 0,
                txn_type: zk_persistence::zoo_defs::op_code::SET_DATA,
            },
            bytes: Vec::new(),
        }
    }

    #[test]
    fn a_commit_takes_the_oldest_pending_txn() {
        let mut pending = VecDeque::from([entry(5), entry(6)]);
        assert_eq!(pop_committed(&mut pending, 5).unwrap().zxid(), 5);
        assert_eq!(pop_committed(&mut pending, 6).unwrap().zxid(), 6);
        assert!(pop_committed(&mut pending, 7).is_err(), "nothing pending");
    }

    #[test]
    fn a_commit_of_another_zxid_is_fatal() {
        let mut pending = VecDeque::from([entry(5), entry(6)]);
        match pop_committed(&mut pending, 6) {
            Err(CommitError::Unmatched(FatalError::UnmatchedTxnCommit(m))) => {
                assert_eq!(m, "Committing zxid 0x6 but next pending txn 0x5")
            }
            other => panic!("expected an unmatched commit, got {other:?}"),
        }
        assert_eq!(pending.len(), 2, "nothing is taken");
    }
}
