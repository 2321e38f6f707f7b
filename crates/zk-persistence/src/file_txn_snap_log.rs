//! Snapshots and txn logs together (ZooKeeper's `FileTxnSnapLog`).
//!
//! This is where a server's data directories come alive: opening checks
//! and creates `dataLogDir/version-2` and `dataDir/version-2`; `restore`
//! loads the newest intact snapshot and replays every later txn from the
//! logs; `save` writes a snapshot; `append`/`commit` feed the log.
//!
//! Replay applies txns through [`ReplayTree`], the few things restore needs
//! from the tree, plus the session bookkeeping ZooKeeper does on the side:
//! `createSession` adds the session and its timeout, `closeSession` removes
//! it. A txn that fails when replayed (say a create that finds its node
//! already there) is not an error: a snapshot is fuzzy, taken while txns
//! kept being applied, so replay may redo some it already holds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use log::{debug, error, info, warn};

use crate::data_dir::{self, is_log_file_name, is_snapshot_file_name, VERSION_DIR};
use crate::data_tree::DataTree;
use crate::file_snap::{
    self, is_snapshot_tmp_name, FileSnap, SessionMap, SnapshotInfo, SnapshotTree,
};
use crate::file_txn_log::{
    get_log_files, FileTxnLog, TxnIterator, TxnLogEntry, TxnLogReader, DEFAULT_PREALLOC_SIZE,
};
use crate::jute::Record;
use crate::records::{CreateSessionTxn, TxnDigest, TxnHeader};
use crate::txn::Txn;
use crate::zoo_defs::op_code;

/// A file in the log's parent directory whose presence tells restore that
/// an empty database is expected (ZooKeeper's `initialize`, created by
/// `zkServer-initialize.sh`); it is deleted once seen.
pub const INITIALIZE_FILE_NAME: &str = "initialize";

/// What restore needs from the tree it rebuilds (`DataTree` provides it).
pub trait ReplayTree: SnapshotTree + Default {
    /// The zxid of the last txn applied.
    fn last_processed_zxid(&self) -> i64;
    /// Sets it (to the snapshot's zxid, then to each replayed txn's).
    fn set_last_processed_zxid(&mut self, zxid: i64);
    /// Applies one logged txn (`processTxn`), checking the tree digest
    /// logged with it. Txns that fail as their request would have (no
    /// node, node exists) are expected during replay and are not errors;
    /// return `Err` only when the entry cannot be applied at all (e.g. it
    /// does not decode).
    fn replay_txn(&mut self, entry: &TxnLogEntry) -> io::Result<()>;
    /// Called once a snapshot of `snapshot_zxid` is loaded: a digest the
    /// snapshot stored for that very zxid can be compared right away.
    fn snapshot_loaded(&mut self, snapshot_zxid: i64);
    /// The zxid of a snapshot digest that replay has not reached, if any.
    fn pending_snapshot_digest_zxid(&self) -> Option<i64>;
}

impl ReplayTree for DataTree {
    fn last_processed_zxid(&self) -> i64 {
        DataTree::last_processed_zxid(self)
    }

    fn set_last_processed_zxid(&mut self, zxid: i64) {
        DataTree::set_last_processed_zxid(self, zxid)
    }

    fn replay_txn(&mut self, entry: &TxnLogEntry) -> io::Result<()> {
        let hdr = &entry.header;
        let decoded = entry.decode().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "cannot decode {} txn 0x{:x}: {}",
                    op_code::op2string(hdr.txn_type),
                    hdr.zxid,
                    e
                ),
            )
        })?;
        let rc =
            self.process_txn_with_digest(&decoded.header, &decoded.txn, decoded.digest.as_ref());
        if rc.err != 0 {
            debug!(
                "Ignoring processTxn failure hdr: {}, error: {}, path: {}",
                hdr.txn_type, rc.err, rc.path
            );
        }
        Ok(())
    }

    fn snapshot_loaded(&mut self, snapshot_zxid: i64) {
        if self.digest_from_loaded_snapshot().is_some() {
            self.compare_snapshot_digests(snapshot_zxid);
        }
    }

    fn pending_snapshot_digest_zxid(&self) -> Option<i64> {
        self.digest_from_loaded_snapshot().map(|d| d.zxid)
    }
}

/// How a data directory may be opened and restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileTxnSnapLogOptions {
    /// Create missing `version-2` directories
    /// (`zookeeper.datadir.autocreate`, default true).
    pub autocreate_dirs: bool,
    /// Start from the logs alone when there is no snapshot
    /// (`zookeeper.snapshot.trust.empty`, default false: for upgrades
    /// from 3.4 only).
    pub trust_empty_snapshot: bool,
    /// With neither snapshot nor logs, start an empty database at zxid 0
    /// (`zookeeper.db.autocreate`, default true); otherwise report zxid -1
    /// so that the peer does not vote with data it may be missing.
    pub autocreate_db: bool,
    /// fsync at each commit (`zookeeper.forceSync`, default true).
    pub force_sync: bool,
    /// The txn log's preallocation block in bytes (`zookeeper.preAllocSize`
    /// is in KB; default 64 MB).
    pub prealloc_bytes: u64,
}

impl Default for FileTxnSnapLogOptions {
    fn default() -> Self {
        FileTxnSnapLogOptions {
            autocreate_dirs: true,
            trust_empty_snapshot: false,
            autocreate_db: true,
            force_sync: true,
            prealloc_bytes: DEFAULT_PREALLOC_SIZE,
        }
    }
}

/// The one txn log of a [`FileTxnSnapLog`], shared with the thread that
/// writes it while the database is in use (`SyncRequestProcessor`): that
/// thread must not need the database's lock, which applying txns holds.
/// Every append, commit, roll, close and truncate of the log goes through
/// this mutex; the crate docs say who takes it when.
#[derive(Clone)]
pub struct TxnLogWriter {
    log: Arc<Mutex<FileTxnLog>>,
}

impl TxnLogWriter {
    fn new(log: FileTxnLog) -> Self {
        TxnLogWriter {
            log: Arc::new(Mutex::new(log)),
        }
    }

    /// The log, for as long as the guard lives: a writer takes it once for
    /// a whole batch (its appends and the commit that makes them durable).
    /// A panic while it was held leaves nothing half-done that the next
    /// holder could trip on (an append either reached the buffer or
    /// returned an error), so a poisoned lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, FileTxnLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The txn logs and snapshots of one server.
pub struct FileTxnSnapLog {
    /// `dataLogDir/version-2`.
    log_dir: PathBuf,
    /// `dataDir/version-2`.
    snap_dir: PathBuf,
    /// The txn log, behind the lock every write takes.
    txn_log: TxnLogWriter,
    /// Reads the same directory without that lock (restore, DIFF
    /// preparation), so a reader never waits for a writer's fsync.
    reader: TxnLogReader,
    snap_log: FileSnap,
    options: FileTxnSnapLogOptions,
}

fn dir_error(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl FileTxnSnapLog {
    /// Opens the configured `dataLogDir` and `dataDir` (their `version-2`
    /// subdirectories hold the files) with default options.
    pub fn open(data_log_dir: &Path, data_dir: &Path) -> io::Result<Self> {
        Self::open_with(data_log_dir, data_dir, FileTxnSnapLogOptions::default())
    }

    /// Opens the data directories for a server: the one place outside
    /// tests where a [`FileTxnLog`] that writes is made (the crate docs
    /// explain why there is only one). Checks the directories as
    /// [`Self::check_data_dirs`] does.
    pub fn open_with(
        data_log_dir: &Path,
        data_dir: &Path,
        options: FileTxnSnapLogOptions,
    ) -> io::Result<Self> {
        let (log_dir, snap_dir) = Self::check_data_dirs(data_log_dir, data_dir, &options)?;
        remove_interrupted_snapshots(&snap_dir);
        let mut txn_log = FileTxnLog::new(&log_dir);
        txn_log.set_force_sync(options.force_sync);
        txn_log.set_prealloc_size(options.prealloc_bytes);
        Ok(FileTxnSnapLog {
            reader: txn_log.reader().clone(),
            txn_log: TxnLogWriter::new(txn_log),
            snap_log: FileSnap::new(&snap_dir),
            log_dir,
            snap_dir,
            options,
        })
    }

    /// The checks 3.8's `FileTxnSnapLog` constructor makes, without opening
    /// anything: the `version-2` directories exist (or are created, with
    /// `autocreate_dirs`) and are writable, and logs and snapshots are not
    /// mixed up. Returns the two `version-2` paths (log, snapshot).
    pub fn check_data_dirs(
        data_log_dir: &Path,
        data_dir: &Path,
        options: &FileTxnSnapLogOptions,
    ) -> io::Result<(PathBuf, PathBuf)> {
        let log_dir = data_log_dir.join(VERSION_DIR);
        let snap_dir = data_dir.join(VERSION_DIR);
        debug!(
            "Opening datadir:{} snapDir:{}",
            log_dir.display(),
            snap_dir.display()
        );
        for (dir, what) in [(&log_dir, "data"), (&snap_dir, "snap")] {
            check_dir(dir, what, options.autocreate_dirs)?;
        }
        // With separate directories, a file of the other kind means the two
        // settings were mixed up (ZOOKEEPER-2967).
        if log_dir != snap_dir {
            if has_file(&log_dir, is_snapshot_file_name)? {
                return Err(dir_error(format!(
                    "Log directory {} has snapshot files. Check if dataLogDir and dataDir configuration is correct.",
                    log_dir.display()
                )));
            }
            if has_file(&snap_dir, is_log_file_name)? {
                return Err(dir_error(format!(
                    "Snapshot directory {} has log files. Check if dataLogDir and dataDir configuration is correct.",
                    snap_dir.display()
                )));
            }
        }
        Ok((log_dir, snap_dir))
    }

    /// `dataLogDir/version-2` (Java calls it the data dir).
    pub fn data_dir(&self) -> &Path {
        &self.log_dir
    }

    /// `dataDir/version-2`.
    pub fn snap_dir(&self) -> &Path {
        &self.snap_dir
    }

    /// The txn log, locked, e.g. to set the preallocation size in a test.
    pub fn txn_log(&self) -> MutexGuard<'_, FileTxnLog> {
        self.txn_log.lock()
    }

    /// A handle on the txn log for the thread that writes it while the
    /// database is in use (see [`TxnLogWriter`]).
    pub fn txn_log_writer(&self) -> TxnLogWriter {
        self.txn_log.clone()
    }

    /// Reads the txn logs without the writer's lock.
    pub fn txn_log_reader(&self) -> &TxnLogReader {
        &self.reader
    }

    /// The snapshot last written or restored, if any.
    pub fn last_snapshot_info(&self) -> Option<&SnapshotInfo> {
        self.snap_log.last_snapshot_info()
    }

    /// After an upgrade that trusted an empty snapshot, the first leader
    /// election must be followed by a snapshot (ZOOKEEPER-3781).
    pub fn should_force_write_initial_snapshot_after_leader_election(&self) -> bool {
        self.options.trust_empty_snapshot && self.last_snapshot_info().is_none()
    }

    /// Rebuilds `tree` and `sessions` from disk: the newest intact
    /// snapshot, then every later txn, each passed to `on_txn` after it is
    /// applied. Returns the highest zxid restored, 0 for a new empty
    /// database, -1 when data may be missing (see
    /// [`FileTxnSnapLogOptions::autocreate_db`]).
    pub fn restore<T: ReplayTree>(
        &mut self,
        tree: &mut T,
        sessions: &mut SessionMap,
        mut on_txn: impl FnMut(&TxnLogEntry),
    ) -> io::Result<i64> {
        let restored = self.snap_log.deserialize::<T>()?;
        let init_file = self
            .log_dir
            .parent()
            .unwrap_or(&self.log_dir)
            .join(INITIALIZE_FILE_NAME);
        let trust_empty_db = match fs::remove_file(&init_file) {
            Ok(()) => {
                info!(
                    "Initialize file found, an empty database will not block voting participation"
                );
                true
            }
            Err(_) => self.options.autocreate_db,
        };
        match restored {
            Some(r) => {
                for (path, why) in &r.skipped {
                    warn!("Skipped snapshot {}: {}", path.display(), why);
                }
                *tree = r.tree;
                *sessions = r.sessions;
                tree.set_last_processed_zxid(r.info.zxid);
                tree.snapshot_loaded(r.info.zxid);
                info!(
                    "Restored snapshot {} (zxid 0x{:x}, {} sessions)",
                    r.info.path.display(),
                    r.info.zxid,
                    sessions.len()
                );
                self.finish_restore(tree, sessions, &mut on_txn)
            }
            None => {
                if self.reader.last_logged_zxid() != -1 {
                    if !self.options.trust_empty_snapshot {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "No snapshot found in {}, but there are log entries in {}. Something is broken!",
                                self.snap_dir.display(),
                                self.log_dir.display()
                            ),
                        ));
                    }
                    warn!("No snapshot found, but there are log entries. This should only be allowed during upgrading.");
                    return self.finish_restore(tree, sessions, &mut on_txn);
                }
                if trust_empty_db {
                    self.save(tree, sessions, false)?;
                    Ok(0)
                } else {
                    warn!("Unexpected empty data tree, setting zxid to -1");
                    tree.set_last_processed_zxid(-1);
                    Ok(-1)
                }
            }
        }
    }

    fn finish_restore<T: ReplayTree>(
        &mut self,
        tree: &mut T,
        sessions: &mut SessionMap,
        on_txn: &mut impl FnMut(&TxnLogEntry),
    ) -> io::Result<i64> {
        let highest = self.fast_forward_from_edits(tree, sessions, on_txn)?;
        if let Some(z) = tree.pending_snapshot_digest_zxid() {
            warn!(
                "Highest txn zxid 0x{:x} is not covering the snapshot digest zxid 0x{:x}, which might lead to inconsistent state",
                highest, z
            );
        }
        Ok(highest)
    }

    /// Applies every logged txn after the tree's last processed zxid
    /// (`fastForwardFromEdits`). Returns the highest zxid applied (the
    /// tree's zxid when there was nothing to apply). Damage in the logs
    /// before their tail is an error.
    pub fn fast_forward_from_edits<T: ReplayTree>(
        &mut self,
        tree: &mut T,
        sessions: &mut SessionMap,
        on_txn: &mut impl FnMut(&TxnLogEntry),
    ) -> io::Result<i64> {
        let start = tree.last_processed_zxid();
        let mut highest = start;
        let mut loaded = 0u64;
        let started = std::time::Instant::now();
        for entry in self.reader.read(start + 1)? {
            let entry = entry?;
            let hdr = &entry.header;
            if hdr.zxid < highest && highest != 0 {
                error!(
                    "0x{:x}(highestZxid) > 0x{:x}(next log) for type {}",
                    highest, hdr.zxid, hdr.txn_type
                );
            } else {
                highest = hdr.zxid;
            }
            process_transaction(&entry, tree, sessions).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "Failed to process transaction type: {} zxid 0x{:x}: {}",
                        hdr.txn_type, hdr.zxid, e
                    ),
                )
            })?;
            loaded += 1;
            on_txn(&entry);
        }
        info!(
            "{} txns loaded in {} ms",
            loaded,
            started.elapsed().as_millis()
        );
        Ok(highest)
    }

    /// Snapshots `tree` and `sessions` as of the tree's last processed
    /// zxid. With `sync_snap` the snapshot is fsynced before it is renamed
    /// into place.
    pub fn save<T: ReplayTree>(
        &mut self,
        tree: &T,
        sessions: &SessionMap,
        sync_snap: bool,
    ) -> io::Result<PathBuf> {
        let zxid = tree.last_processed_zxid();
        info!(
            "Snapshotting: 0x{:x} to {}",
            zxid,
            self.snap_dir
                .join(data_dir::make_snapshot_name(zxid))
                .display()
        );
        self.snap_log.serialize(tree, sessions, zxid, sync_snap)
    }

    /// Txns from `zxid` on (`fast_forward`), or from the start of the file
    /// that holds it.
    pub fn read_txn_log(&self, zxid: i64, fast_forward: bool) -> io::Result<TxnIterator> {
        self.reader.read_from(zxid, fast_forward)
    }

    /// The zxid of the last txn on disk (-1: no logs).
    pub fn get_last_logged_zxid(&self) -> i64 {
        self.reader.last_logged_zxid()
    }

    /// Drops every logged txn after `zxid` (TRUNC from a leader).
    pub fn truncate_log(&mut self, zxid: i64) -> io::Result<()> {
        self.txn_log.lock().truncate(zxid)
    }

    /// The newest valid snapshot in `snapDir`.
    pub fn find_most_recent_snapshot(&self) -> io::Result<Option<PathBuf>> {
        file_snap::find_most_recent_snapshot(&self.snap_dir)
    }

    /// Up to `n` snapshot files in `snapDir`, newest first, unchecked.
    pub fn find_n_recent_snapshots(&self, n: usize) -> io::Result<Vec<PathBuf>> {
        file_snap::find_n_recent_snapshots(&self.snap_dir, n)
    }

    /// Up to `n` valid snapshots in `snapDir`, newest first.
    pub fn find_n_valid_snapshots(&self, n: usize) -> io::Result<Vec<PathBuf>> {
        file_snap::find_n_valid_snapshots(&self.snap_dir, n)
    }

    /// The log files that may hold txns after `zxid`.
    pub fn get_snapshot_logs(&self, zxid: i64) -> io::Result<Vec<PathBuf>> {
        Ok(get_log_files(data_dir::list_dir(&self.log_dir)?, zxid))
    }

    /// Appends a txn (serialized record; see [`FileTxnLog::append`]).
    pub fn append(
        &mut self,
        hdr: &TxnHeader,
        txn: &[u8],
        digest: Option<&TxnDigest>,
    ) -> io::Result<()> {
        self.txn_log.lock().append(hdr, txn, digest)
    }

    /// Appends a decoded txn.
    pub fn append_txn(
        &mut self,
        hdr: &TxnHeader,
        txn: &Txn,
        digest: Option<&TxnDigest>,
    ) -> io::Result<()> {
        self.txn_log.lock().append_txn(hdr, txn, digest)
    }

    /// Appends a txn already in logged form (a PROPOSAL's data).
    pub fn append_entry(&mut self, entry: &[u8]) -> io::Result<()> {
        self.txn_log.lock().append_entry(entry)
    }

    /// Makes what was appended durable (see [`FileTxnLog::commit`]).
    pub fn commit(&mut self) -> io::Result<()> {
        self.txn_log.lock().commit()
    }

    /// The next append starts a new file.
    pub fn roll_log(&mut self) -> io::Result<()> {
        self.txn_log.lock().roll_log()
    }

    /// Closes the open log files (no fsync: commit first).
    pub fn close(&mut self) -> io::Result<()> {
        self.txn_log.lock().close()
    }

    /// How long the last fsync took, if there was one.
    pub fn txn_log_elapsed_sync_time(&self) -> Option<u64> {
        self.txn_log.lock().last_sync_elapsed_ms()
    }

    /// Bytes logged since the count was last reset.
    pub fn total_log_size(&self) -> u64 {
        self.txn_log.lock().total_log_size()
    }

    /// See [`FileTxnLog::set_total_log_size`].
    pub fn set_total_log_size(&mut self, size: u64) {
        self.txn_log.lock().set_total_log_size(size)
    }
}

/// Applies one replayed txn, keeping the session table in step
/// (`processTransaction`).
pub fn process_transaction<T: ReplayTree>(
    entry: &TxnLogEntry,
    tree: &mut T,
    sessions: &mut SessionMap,
) -> io::Result<()> {
    let hdr = &entry.header;
    match hdr.txn_type {
        op_code::CREATE_SESSION => {
            let timeout = CreateSessionTxn::from_bytes(entry.body())
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("createSession txn 0x{:x} has no timeout: {}", hdr.zxid, e),
                    )
                })?
                .time_out;
            sessions.insert(hdr.client_id, timeout);
            debug!(
                "playLog --- create session in log: 0x{:x} with timeout: {}",
                hdr.client_id, timeout
            );
        }
        op_code::CLOSE_SESSION => {
            sessions.remove(&hdr.client_id);
            debug!("playLog --- close session in log: 0x{:x}", hdr.client_id);
        }
        _ => {}
    }
    tree.replay_txn(entry)
}

/// One `version-2` directory: present (or created when `autocreate`), a
/// directory, and writable.
fn check_dir(dir: &Path, what: &str, autocreate: bool) -> io::Result<()> {
    if !dir.exists() {
        if !autocreate {
            return Err(dir_error(format!(
                    "Missing {} directory {}, automatic data directory creation is disabled (zookeeper.datadir.autocreate is false). Please create this directory manually.",
                    what,
                    dir.display()
                )));
        }
        fs::create_dir_all(dir).map_err(|e| {
            dir_error(format!(
                "Unable to create {} directory {}: {}",
                what,
                dir.display(),
                e
            ))
        })?;
    }
    let meta = fs::metadata(dir)?;
    if !meta.is_dir() || meta.permissions().readonly() {
        return Err(dir_error(format!(
            "Cannot write to {} directory {}",
            what,
            dir.display()
        )));
    }
    Ok(())
}

fn has_file(dir: &Path, matches: fn(&str) -> bool) -> io::Result<bool> {
    Ok(data_dir::list_dir(dir)?
        .iter()
        .any(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(matches)))
}

/// Deletes `snapshot-<zxid>.tmp` files left by a snapshot write that a
/// crash interrupted; they were never renamed, so nothing relies on them.
fn remove_interrupted_snapshots(snap_dir: &Path) {
    let Ok(files) = data_dir::list_dir(snap_dir) else {
        return;
    };
    for f in files {
        if f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_snapshot_tmp_name)
        {
            info!("Removing interrupted snapshot write {}", f.display());
            if let Err(e) = fs::remove_file(&f) {
                warn!("Cannot remove {}: {}", f.display(), e);
            }
        }
    }
}

#[cfg(test)]
#[path = "file_txn_snap_log_tests.rs"]
pub(crate) mod tests;
