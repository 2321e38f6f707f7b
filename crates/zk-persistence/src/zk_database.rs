//! The in-memory database of a server (ZooKeeper's `ZKDatabase`).
//!
//! It holds the tree, the sessions with their timeouts, and the committed
//! log: the last `commitLogCount` (500) txns, kept in their logged form so
//! that a leader can bring a slightly lagging follower up to date with a
//! DIFF instead of a whole snapshot. It is filled from disk by
//! [`ZKDatabase::load_database`] (snapshot + replay, every replayed txn
//! also entering the committed log) and fed afterwards by the request
//! pipeline: the log through the database's one txn log (the
//! `SyncRequestProcessor` through [`ZKDatabase::txn_log_writer`], a
//! learner syncing with its leader through [`ZKDatabase::append_entry`]
//! and [`ZKDatabase::commit`]), memory through
//! [`ZKDatabase::add_committed_proposal`].
//!
//! It knows nothing of connections or threads: a server shares it behind
//! whatever lock its pipeline needs; its txn log has a lock of its own
//! (the crate docs draw both).

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Read, Write};
use std::time::Instant;

use log::{debug, info, warn};

use crate::data_tree::DataTree;
use crate::file_snap::{deserialize_sessions, serialize_sessions, SessionMap};
use crate::file_txn_log::{marshall_txn_entry, TxnIterator, TxnLogEntry};
use crate::file_txn_snap_log::{FileTxnSnapLog, FileTxnSnapLogOptions, ReplayTree, TxnLogWriter};
use crate::jute::{InputArchive, OutputArchive};
use crate::records::{TxnDigest, TxnHeader};
use crate::txn::Txn;

/// `zookeeper.commitLogCount` default, and its minimum.
pub const DEFAULT_COMMIT_LOG_COUNT: usize = 500;
/// `zookeeper.snapshotSizeFactor` default: a leader sends txns from the log
/// rather than a snapshot while they total under a third of the snapshot.
pub const DEFAULT_SNAPSHOT_SIZE_FACTOR: f64 = 0.33;

/// The in-memory database over one [`FileTxnSnapLog`]. The tree type is
/// [`DataTree`]; tests of the persistence machinery plug in smaller ones.
pub struct ZKDatabase<T: ReplayTree = DataTree> {
    data_tree: T,
    sessions_with_timeouts: SessionMap,
    snap_log: FileTxnSnapLog,
    committed: CommittedLog,
    snapshot_size_factor: f64,
    initialized: bool,
}

impl<T: ReplayTree> ZKDatabase<T> {
    /// A server's database over the data directories `data_log_dir` (txn
    /// logs) and `data_dir` (snapshots), not yet loaded: the only way
    /// non-test code opens a txn log for writing.
    pub fn open(
        data_log_dir: &std::path::Path,
        data_dir: &std::path::Path,
        options: FileTxnSnapLogOptions,
    ) -> io::Result<Self> {
        Ok(Self::new(FileTxnSnapLog::open_with(
            data_log_dir,
            data_dir,
            options,
        )?))
    }

    /// A database over `snap_log`, not yet loaded.
    pub fn new(snap_log: FileTxnSnapLog) -> Self {
        ZKDatabase {
            data_tree: T::default(),
            sessions_with_timeouts: SessionMap::new(),
            snap_log,
            committed: CommittedLog {
                entries: VecDeque::new(),
                min: 0,
                max: 0,
                limit: DEFAULT_COMMIT_LOG_COUNT,
            },
            snapshot_size_factor: DEFAULT_SNAPSHOT_SIZE_FACTOR,
            initialized: false,
        }
    }

    /// `zookeeper.commitLogCount`; values under 500 are raised to 500, as
    /// ZooKeeper does.
    pub fn set_commit_log_count(&mut self, count: usize) {
        if count < DEFAULT_COMMIT_LOG_COUNT {
            warn!(
                "The configured commitLogCount {} is less than the recommended {}, going to use the recommended one",
                count, DEFAULT_COMMIT_LOG_COUNT
            );
            self.committed.limit = DEFAULT_COMMIT_LOG_COUNT;
        } else {
            self.committed.limit = count;
        }
    }

    /// How many committed txns are kept for DIFF syncs
    /// (`zookeeper.commitLogCount`).
    pub fn commit_log_count(&self) -> usize {
        self.committed.limit
    }

    /// `zookeeper.snapshotSizeFactor`; above 1 falls back to the default,
    /// negative turns syncing from the txn log off.
    pub fn set_snapshot_size_factor(&mut self, factor: f64) {
        if factor > 1.0 || factor.is_nan() {
            warn!(
                "The configured zookeeper.snapshotSizeFactor {} is invalid, going to use the default {}",
                factor, DEFAULT_SNAPSHOT_SIZE_FACTOR
            );
            self.snapshot_size_factor = DEFAULT_SNAPSHOT_SIZE_FACTOR;
        } else {
            self.snapshot_size_factor = factor;
        }
    }

    /// Whether the database has been loaded (`isInitialized`).
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// Forgets everything in memory (the files stay): a fresh tree, no
    /// sessions, an empty committed log.
    pub fn clear(&mut self) {
        self.committed.min = 0;
        self.committed.max = 0;
        self.committed.entries.clear();
        self.data_tree = T::default();
        self.sessions_with_timeouts.clear();
        self.initialized = false;
    }

    /// The tree.
    pub fn data_tree(&self) -> &T {
        &self.data_tree
    }

    /// The tree, mutably.
    pub fn data_tree_mut(&mut self) -> &mut T {
        &mut self.data_tree
    }

    /// The data directories: txn log and snapshots.
    pub fn snap_log(&self) -> &FileTxnSnapLog {
        &self.snap_log
    }

    /// The data directories, mutably.
    pub fn snap_log_mut(&mut self) -> &mut FileTxnSnapLog {
        &mut self.snap_log
    }

    /// Zxid of the newest txn in the committed log (0 when empty).
    pub fn max_committed_log(&self) -> i64 {
        self.committed.max
    }

    /// Zxid of the oldest txn in the committed log (0 when empty).
    pub fn min_committed_log(&self) -> i64 {
        self.committed.min
    }

    /// The recent committed txns, oldest first.
    pub fn committed_log(&self) -> &VecDeque<TxnLogEntry> {
        &self.committed.entries
    }

    /// The zxid of the last txn the tree applied
    /// (`getDataTreeLastProcessedZxid`).
    pub fn data_tree_last_processed_zxid(&self) -> i64 {
        self.data_tree.last_processed_zxid()
    }

    /// Sets the tree's last processed zxid.
    pub fn set_last_processed_zxid(&mut self, zxid: i64) {
        self.data_tree.set_last_processed_zxid(zxid);
    }

    /// How many sessions the database holds.
    pub fn session_count(&self) -> usize {
        self.sessions_with_timeouts.len()
    }

    /// Every session and its timeout, ms (`getSessionWithTimeOuts`).
    pub fn sessions_with_timeouts(&self) -> &SessionMap {
        &self.sessions_with_timeouts
    }

    /// The sessions, mutably.
    pub fn sessions_with_timeouts_mut(&mut self) -> &mut SessionMap {
        &mut self.sessions_with_timeouts
    }

    /// Restores from disk; every txn replayed also enters the committed
    /// log. Returns the highest zxid on disk (see
    /// [`FileTxnSnapLog::restore`]).
    pub fn load_database(&mut self) -> io::Result<i64> {
        let started = Instant::now();
        let committed = &mut self.committed;
        let zxid =
            self.snap_log
                .restore(&mut self.data_tree, &mut self.sessions_with_timeouts, |e| {
                    committed.add(e.clone())
                })?;
        self.initialized = true;
        info!(
            "Snapshot loaded in {} ms, highest zxid is 0x{:x}",
            started.elapsed().as_millis(),
            zxid
        );
        Ok(zxid)
    }

    /// Applies logged txns newer than the tree (a follower catching up on
    /// its own log before syncing with a leader).
    pub fn fast_forward_database(&mut self) -> io::Result<i64> {
        let committed = &mut self.committed;
        let zxid = self.snap_log.fast_forward_from_edits(
            &mut self.data_tree,
            &mut self.sessions_with_timeouts,
            &mut |e: &TxnLogEntry| committed.add(e.clone()),
        )?;
        self.initialized = true;
        Ok(zxid)
    }

    /// Remembers a committed txn for DIFF syncs, dropping the oldest beyond
    /// the limit. (Like ZooKeeper, the check comes before the add, so the
    /// log holds up to `commitLogCount + 1` txns.)
    pub fn add_committed_proposal(&mut self, entry: TxnLogEntry) {
        self.committed.add(entry);
    }

    /// [`Self::add_committed_proposal`] for a txn given as its parts.
    pub fn add_committed_txn(&mut self, hdr: &TxnHeader, txn: &Txn, digest: Option<&TxnDigest>) {
        let bytes = marshall_txn_entry(hdr, &txn.to_bytes(), digest);
        self.add_committed_proposal(TxnLogEntry {
            header: hdr.clone(),
            bytes,
        });
    }

    /// Whether a leader may sync followers from the txn log on disk.
    pub fn is_txn_log_sync_enabled(&self) -> bool {
        let enabled = self.snapshot_size_factor >= 0.0;
        if enabled {
            info!(
                "On disk txn sync enabled with snapshotSizeFactor {}",
                self.snapshot_size_factor
            );
        } else {
            info!("On disk txn sync disabled");
        }
        enabled
    }

    /// How many bytes of txn log a leader may send instead of a snapshot:
    /// the newest snapshot's size times the snapshot size factor.
    pub fn calculate_txn_log_size_limit(&self) -> u64 {
        let snap_size = match self.snap_log.find_most_recent_snapshot() {
            Ok(Some(p)) => fs::metadata(&p).map_or(0, |m| m.len()),
            Ok(None) => 0,
            Err(e) => {
                warn!("Unable to get size of most recent snapshot: {}", e);
                0
            }
        };
        (snap_size as f64 * self.snapshot_size_factor) as u64
    }

    /// Txns from the log on disk for syncing a follower whose last zxid is
    /// `start_zxid`, starting with the log file that holds it. `None` when
    /// disk sync is off (`size_limit` < 0), the logs do not reach back to
    /// `start_zxid`, or they exceed `size_limit` bytes (0 = no limit).
    pub fn get_proposals_from_txn_log(
        &self,
        start_zxid: i64,
        size_limit: i64,
    ) -> Option<ProposalsFromTxnLog> {
        if size_limit < 0 {
            debug!("Negative size limit - retrieving proposal via txnlog is disabled");
            return None;
        }
        let mut iter = match self.snap_log.read_txn_log(start_zxid, false) {
            Ok(i) => i,
            Err(e) => {
                warn!("Unable to read txnlog from disk: {}", e);
                return None;
            }
        };
        if size_limit > 0 && iter.storage_size() > size_limit as u64 {
            info!(
                "Txnlog size: {} exceeds sizeLimit: {}",
                iter.storage_size(),
                size_limit
            );
            return None;
        }
        let first = match iter.next_entry() {
            Ok(first) => first,
            Err(e) => {
                warn!("Unable to read txnlog from disk: {}", e);
                return None;
            }
        };
        if first.as_ref().is_some_and(|e| e.zxid() > start_zxid) {
            warn!(
                "Unable to find proposals from txnlog for zxid: 0x{:x}",
                start_zxid
            );
            return None;
        }
        Some(ProposalsFromTxnLog { first, rest: iter })
    }

    /// Throws away every txn after `zxid` on disk and reloads (TRUNC from a
    /// leader).
    pub fn truncate_log(&mut self, zxid: i64) -> io::Result<()> {
        self.clear();
        self.snap_log.truncate_log(zxid)?;
        self.load_database()?;
        Ok(())
    }

    /// Replaces the database with a snapshot received from a leader: the
    /// sessions and the tree, without file header or checksums
    /// (`SerializeUtils.deserializeSnapshot`).
    pub fn deserialize_snapshot<R: Read>(&mut self, ia: &mut InputArchive<R>) -> io::Result<()> {
        self.clear();
        self.sessions_with_timeouts = deserialize_sessions(ia)?;
        crate::fail_point_io!("learner_snap_recv_mid");
        self.data_tree = T::deserialize_tree(ia)?;
        self.initialized = true;
        Ok(())
    }

    /// Writes the sessions and the tree as a leader sends them in a SNAP.
    pub fn serialize_snapshot<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        serialize_sessions(&self.sessions_with_timeouts, oa)?;
        // With failpoints the learner gets the sessions before the leader
        // stops mid-stream, so it really holds half a snapshot.
        #[cfg(feature = "failpoints")]
        oa.get_mut().flush()?;
        crate::fail_point_io!("leader_snap_send_mid");
        self.data_tree.serialize_tree(oa)
    }

    /// The handle through which the `SyncRequestProcessor` writes this
    /// database's txn log without holding the database's lock: the same
    /// log [`Self::append`] and the others below write.
    pub fn txn_log_writer(&self) -> TxnLogWriter {
        self.snap_log.txn_log_writer()
    }

    /// Appends a txn to the log (not yet durable: see [`Self::commit`]).
    pub fn append(
        &mut self,
        hdr: &TxnHeader,
        txn: &Txn,
        digest: Option<&TxnDigest>,
    ) -> io::Result<()> {
        self.snap_log.append_txn(hdr, txn, digest)
    }

    /// Appends a txn in logged form (a PROPOSAL's data).
    pub fn append_entry(&mut self, entry: &[u8]) -> io::Result<()> {
        self.snap_log.append_entry(entry)
    }

    /// Makes every appended txn durable (one fsync).
    pub fn commit(&mut self) -> io::Result<()> {
        self.snap_log.commit()
    }

    /// Starts a new log file and restarts the counts that decide the next
    /// snapshot.
    pub fn roll_log(&mut self) -> io::Result<()> {
        let mut log = self.snap_log.txn_log();
        log.roll_log()?;
        log.reset_counts();
        Ok(())
    }

    /// Closes the log's open files (no fsync: commit first).
    pub fn close(&mut self) -> io::Result<()> {
        self.snap_log.close()
    }

    /// Restarts the counts that decide the next snapshot.
    pub fn reset_txn_count(&mut self) {
        self.snap_log.txn_log().reset_counts();
    }

    /// Txns appended since the log was last rolled.
    pub fn txn_count(&self) -> u64 {
        self.snap_log.txn_log().txn_count()
    }

    /// Bytes logged since the log was last rolled.
    pub fn txn_size(&self) -> u64 {
        self.snap_log.total_log_size()
    }

    /// Writes a snapshot of the current tree and sessions.
    pub fn take_snapshot(&mut self, sync_snap: bool) -> io::Result<std::path::PathBuf> {
        self.snap_log
            .save(&self.data_tree, &self.sessions_with_timeouts, sync_snap)
    }
}

/// The recent committed txns and the zxids at their two ends.
struct CommittedLog {
    entries: VecDeque<TxnLogEntry>,
    min: i64,
    max: i64,
    limit: usize,
}

impl CommittedLog {
    fn add(&mut self, entry: TxnLogEntry) {
        if self.entries.len() > self.limit {
            self.entries.pop_front();
            if let Some(first) = self.entries.front() {
                self.min = first.zxid();
            }
        }
        if self.entries.is_empty() {
            self.min = entry.zxid();
        }
        self.max = entry.zxid();
        self.entries.push_back(entry);
    }
}

/// Txns read back from the log for a DIFF sync (`TxnLogProposalIterator`).
pub struct ProposalsFromTxnLog {
    first: Option<TxnLogEntry>,
    rest: TxnIterator,
}

impl ProposalsFromTxnLog {
    /// Total size of the log files the txns come from.
    pub fn storage_size(&self) -> u64 {
        self.rest.storage_size()
    }
}

impl Iterator for ProposalsFromTxnLog {
    type Item = io::Result<TxnLogEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.first.take() {
            Some(e) => Some(Ok(e)),
            None => self.rest.next(),
        }
    }
}

/// When to snapshot (`SyncRequestProcessor.shouldSnapshot`): after about
/// `snapCount` txns or `snapSizeLimitInKb` of log since the last roll. The
/// thresholds are randomized between half and all of the limits, so that
/// the servers of an ensemble do not all snapshot at the same moment.
#[derive(Debug, Clone)]
pub struct SnapshotTrigger {
    snap_count: u64,
    snap_size_bytes: u64,
    rand_roll: u64,
    rand_size: u64,
    rng: u64,
}

impl SnapshotTrigger {
    /// `snap_count` is `zookeeper.snapCount` (default 100000);
    /// `snap_size_bytes` is `zookeeper.snapSizeLimitInKb` in bytes (0 for
    /// no size trigger). `seed` randomizes the thresholds.
    pub fn new(snap_count: u64, snap_size_bytes: u64, seed: u64) -> Self {
        let mut t = SnapshotTrigger {
            snap_count: snap_count.max(2),
            snap_size_bytes,
            rand_roll: 0,
            rand_size: 0,
            rng: seed | 1,
        };
        t.reset_thresholds();
        t
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for spreading snapshots over time.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Draws new random offsets; call after each snapshot.
    pub fn reset_thresholds(&mut self) {
        self.rand_roll = self.next_random() % (self.snap_count / 2);
        let half_size = self.snap_size_bytes / 2;
        self.rand_size = if half_size > 0 {
            self.next_random() % half_size
        } else {
            0
        };
    }

    /// Whether `txn_count` txns / `txn_size` bytes since the last roll call
    /// for a snapshot.
    pub fn should_snapshot(&self, txn_count: u64, txn_size: u64) -> bool {
        txn_count > self.snap_count / 2 + self.rand_roll
            || (self.snap_size_bytes > 0 && txn_size > self.snap_size_bytes / 2 + self.rand_size)
    }
}

#[cfg(test)]
#[path = "zk_database_tests.rs"]
mod tests;
