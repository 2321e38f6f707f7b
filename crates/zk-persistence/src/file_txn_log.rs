//! The write-ahead txn log (ZooKeeper's `FileTxnLog`).
//!
//! A log directory (`dataLogDir/version-2`) holds files `log.<zxid>`, each
//! named after its first txn. A file is:
//!
//! ```text
//! FileHeader { magic "ZKLG", version 2, dbid 0 }
//! entry*                  entry = checksum:long  length:int  bytes  'B'
//! zeros to the end        (preallocated space)
//! ```
//!
//! `bytes` is a `TxnHeader`, the txn record, and (3.8's default) a
//! `TxnDigest`; the checksum is Adler32 over `bytes` alone. Files grow in
//! preallocated blocks (64 MB by default) so that an fsync rarely has to
//! update file metadata, which is why a log ends in zeros rather than at EOF.
//!
//! Writing is group commit: [`FileTxnLog::append`] buffers entries, and
//! [`FileTxnLog::commit`] flushes and fsyncs them all at once. Rolling
//! ([`FileTxnLog::roll_log`]) makes the next append start a new file.
//!
//! A server has exactly one [`FileTxnLog`]: the one its `ZKDatabase` owns
//! (see the crate docs for who writes through it). Everything that only
//! reads a log directory (the tools, restore, a leader preparing a DIFF,
//! tests looking at a data directory) uses a [`TxnLogReader`], which
//! cannot write.
//!
//! Reading ([`TxnIterator`]) walks the files in zxid order. How a file ends
//! follows ZooKeeper: a zero length, an entry cut short by EOF, or a missing
//! end-of-record byte all mean "no more entries here" (a torn write or the
//! zero-filled preallocation), and reading goes on with the next file. A
//! complete entry whose checksum does not match, or a length no writer could
//! have produced, is damage, reported as a [`CorruptLog`] naming the file
//! and byte offset.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use log::{debug, info, warn};

use crate::data_dir::{self, make_log_name, sort_data_dir, zxid_from_path, LOG_FILE_PREFIX};
use crate::jute::{JuteResult, OutputArchive, Record, DEFAULT_MAX_BUFFER};
use crate::records::{FileHeader, TxnDigest, TxnHeader};
use crate::txn::{Txn, TxnEntry};
use crate::txn_iterator::LogFileReader;
pub use crate::txn_iterator::{CorruptLog, TxnIterator};

/// "ZKLG" read as a big-endian int.
pub const TXNLOG_MAGIC: i32 = 0x5a4b_4c47;
/// The only log format version ZooKeeper has written since 3.0.
pub const TXNLOG_VERSION: i32 = 2;
/// `zookeeper.preAllocSize` default: 65536 KB.
pub const DEFAULT_PREALLOC_SIZE: u64 = 65536 * 1024;
/// An fsync slower than this is logged as a warning
/// (`zookeeper.fsync.warningthresholdms`).
pub const DEFAULT_FSYNC_WARNING_THRESHOLD_MS: u64 = 1000;
/// The end-of-record marker after each entry.
pub(crate) const END_OF_RECORD: u8 = b'B';
pub(crate) const FILE_HEADER_LEN: u64 = 16;
pub(crate) const TXN_HEADER_LEN: usize = 32;

/// One txn as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLogEntry {
    /// The txn's header, decoded.
    pub header: TxnHeader,
    /// The logged bytes: `TxnHeader`, the txn record, optional `TxnDigest`.
    /// This is also exactly what a leader sends in a PROPOSAL.
    pub bytes: Vec<u8>,
}

impl TxnLogEntry {
    /// The txn's zxid.
    pub fn zxid(&self) -> i64 {
        self.header.zxid
    }

    /// The bytes after the txn header: the txn record and, if present, the
    /// digest.
    pub fn body(&self) -> &[u8] {
        &self.bytes[TXN_HEADER_LEN.min(self.bytes.len())..]
    }

    /// The entry split into header, decoded txn and digest.
    pub fn decode(&self) -> JuteResult<TxnEntry> {
        TxnEntry::from_bytes(&self.bytes)
    }
}

/// The bytes a txn is logged as (`Util.marshallTxnEntry`): header, txn
/// record (already serialized; empty for txns without one), digest.
pub fn marshall_txn_entry(hdr: &TxnHeader, txn: &[u8], digest: Option<&TxnDigest>) -> Vec<u8> {
    let mut oa = OutputArchive::new(Vec::with_capacity(TXN_HEADER_LEN + txn.len() + 12));
    // Writing into a Vec cannot fail.
    let _ = hdr.serialize(&mut oa);
    let _ = oa.write_raw(txn);
    if let Some(d) = digest {
        let _ = d.serialize(&mut oa);
    }
    oa.into_inner()
}
pub(crate) fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{} {}: {}", what, path.display(), e))
}

/// The size a log file should be padded to (`FilePadding`'s rule): once
/// the write position comes within 4 KB of the padded size, grow by one
/// `prealloc` block; if writes already ran past it, round up to a block
/// boundary past the position. Returns `file_size` unchanged when no
/// padding is due or preallocation is off (`prealloc` 0).
pub fn padded_file_size(position: u64, file_size: u64, prealloc: u64) -> u64 {
    if prealloc > 0 && position + 4096 >= file_size {
        if position > file_size {
            let size = position + prealloc;
            size - size % prealloc
        } else {
            file_size + prealloc
        }
    } else {
        file_size
    }
}

/// The log files needed to read every txn after `snapshot_zxid`, oldest
/// first: the newest file starting at or before that zxid, and every file
/// after it (`FileTxnLog.getLogFiles`). Entries not named `log.<hex>` are
/// dropped.
pub fn get_log_files(files: Vec<PathBuf>, snapshot_zxid: i64) -> Vec<PathBuf> {
    let files = sort_data_dir(files, LOG_FILE_PREFIX, true);
    let mut log_zxid = 0;
    for f in &files {
        let z = zxid_from_path(f, LOG_FILE_PREFIX);
        if z > snapshot_zxid {
            break;
        }
        log_zxid = log_zxid.max(z);
    }
    files
        .into_iter()
        .filter(|f| zxid_from_path(f, LOG_FILE_PREFIX) >= log_zxid)
        .collect()
}

/// The file being appended to.
struct ActiveLog {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes written so far, buffered or not: where the next entry starts.
    position: u64,
    /// The size the file has been padded to.
    padded_size: u64,
}

/// Reads the logs of one directory and never writes them: what tools,
/// restore and DIFF preparation use, so that only the server's one
/// [`FileTxnLog`] ever opens a log file for writing.
#[derive(Debug, Clone)]
pub struct TxnLogReader {
    log_dir: PathBuf,
    max_entry_len: usize,
}

impl TxnLogReader {
    /// A reader of `log_dir` (the `version-2` directory itself).
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        TxnLogReader {
            log_dir: log_dir.into(),
            max_entry_len: 2 * DEFAULT_MAX_BUFFER,
        }
    }

    /// The directory read.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The longest entry accepted. Java's default is twice
    /// `jute.maxbuffer` (the buffer plus an equal "extra" allowance).
    pub fn set_max_entry_len(&mut self, bytes: usize) {
        self.max_entry_len = bytes;
    }

    /// The zxid of the last txn in the logs on disk, or -1 when there are
    /// no logs. Damage is logged and ends the scan, as in Java.
    pub fn last_logged_zxid(&self) -> i64 {
        let files = match data_dir::list_dir(&self.log_dir) {
            Ok(f) => get_log_files(f, 0),
            Err(e) => {
                warn!("{}", e);
                return -1;
            }
        };
        let max_log = files
            .last()
            .map_or(-1, |f| zxid_from_path(f, LOG_FILE_PREFIX));
        let mut zxid = max_log;
        match self.read(max_log) {
            Ok(iter) => {
                for entry in iter {
                    match entry {
                        Ok(e) => zxid = e.zxid(),
                        Err(e) => {
                            warn!("Unexpected exception reading the txn log: {}", e);
                            break;
                        }
                    }
                }
            }
            Err(e) => warn!("Unexpected exception reading the txn log: {}", e),
        }
        zxid
    }

    /// Txns from `zxid` on (those below it are skipped).
    pub fn read(&self, zxid: i64) -> io::Result<TxnIterator> {
        self.read_from(zxid, true)
    }

    /// Txns from `zxid` on, or with `fast_forward` false, from the start of
    /// the file that holds `zxid`.
    pub fn read_from(&self, zxid: i64, fast_forward: bool) -> io::Result<TxnIterator> {
        TxnIterator::open(&self.log_dir, zxid, fast_forward, self.max_entry_len)
    }

    /// The dbid in the header of the oldest log file.
    pub fn db_id(&self) -> io::Result<i64> {
        let files = get_log_files(data_dir::list_dir(&self.log_dir)?, 0);
        let Some(first) = files.first() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no txn log files in {}", self.log_dir.display()),
            ));
        };
        let mut f = File::open(first).map_err(|e| with_path(e, "cannot open", first))?;
        let mut b = [0u8; FILE_HEADER_LEN as usize];
        f.read_exact(&mut b)
            .map_err(|e| with_path(e, "cannot read header of", first))?;
        let hdr = FileHeader::from_bytes(&b).map_err(io::Error::from)?;
        Ok(hdr.dbid)
    }
}

/// Appends txns to, and reads them back from, one log directory. Outside
/// tests only `FileTxnSnapLog::open_with` constructs one (see the module
/// docs); readers use [`TxnLogReader`].
pub struct FileTxnLog {
    reader: TxnLogReader,
    /// The highest zxid appended since this log was opened.
    last_zxid_seen: i64,
    active: Option<ActiveLog>,
    /// Files rolled away from whose last entries have not been fsynced
    /// yet; the next commit syncs them, as it does the active file.
    rolled_unsynced: Vec<(PathBuf, File)>,
    force_sync: bool,
    prealloc_size: u64,
    size_limit: Option<u64>,
    fsync_warning_threshold_ms: u64,
    db_id: i64,
    /// Bytes in the files rolled away from since the last reset.
    prev_logs_running_total: u64,
    /// Txns appended since the last reset ([`Self::reset_counts`]).
    txn_count: u64,
    last_sync_elapsed_ms: Option<u64>,
}

impl FileTxnLog {
    /// A log in `log_dir` (the `version-2` directory itself), with
    /// ZooKeeper's defaults: fsync on, 64 MB preallocation, no size limit.
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        FileTxnLog {
            reader: TxnLogReader::new(log_dir),
            last_zxid_seen: 0,
            active: None,
            rolled_unsynced: Vec::new(),
            force_sync: true,
            prealloc_size: DEFAULT_PREALLOC_SIZE,
            size_limit: None,
            fsync_warning_threshold_ms: DEFAULT_FSYNC_WARNING_THRESHOLD_MS,
            db_id: 0,
            prev_logs_running_total: 0,
            txn_count: 0,
            last_sync_elapsed_ms: None,
        }
    }

    /// The directory written.
    pub fn log_dir(&self) -> &Path {
        self.reader.log_dir()
    }

    /// What [`Self::last_logged_zxid`] and [`Self::read`] read with.
    pub fn reader(&self) -> &TxnLogReader {
        &self.reader
    }

    /// `zookeeper.forceSync=no` turns the fsync in [`Self::commit`] off.
    pub fn set_force_sync(&mut self, on: bool) {
        self.force_sync = on;
    }

    /// Whether [`Self::commit`] fsyncs (`zookeeper.forceSync`).
    pub fn is_force_sync(&self) -> bool {
        self.force_sync
    }

    /// Preallocation block in bytes (`zookeeper.preAllocSize` is in KB);
    /// 0 turns preallocation off.
    pub fn set_prealloc_size(&mut self, bytes: u64) {
        self.prealloc_size = bytes;
    }

    /// Roll to a new file at the first commit after the current file's
    /// entries exceed `bytes` (`zookeeper.txnLogSizeLimitInKb`).
    pub fn set_size_limit(&mut self, bytes: Option<u64>) {
        self.size_limit = bytes.filter(|b| *b > 0);
    }

    /// An fsync slower than this many ms is logged as a warning
    /// (`zookeeper.fsync.warningthresholdms`).
    pub fn set_fsync_warning_threshold_ms(&mut self, ms: u64) {
        self.fsync_warning_threshold_ms = ms;
    }

    /// The longest entry the reader accepts. Java's default is twice
    /// `jute.maxbuffer` (the buffer plus an equal "extra" allowance).
    pub fn set_max_entry_len(&mut self, bytes: usize) {
        self.reader.set_max_entry_len(bytes);
    }

    /// The dbid written into new files' headers (always 0 in ZooKeeper).
    pub fn set_db_id(&mut self, db_id: i64) {
        self.db_id = db_id;
    }

    /// Appends one txn: `txn` is the serialized txn record (empty for a
    /// txn type without one), `digest` the tree digest after it. Nothing is
    /// durable until [`Self::commit`].
    pub fn append(
        &mut self,
        hdr: &TxnHeader,
        txn: &[u8],
        digest: Option<&TxnDigest>,
    ) -> io::Result<()> {
        let entry = marshall_txn_entry(hdr, txn, digest);
        self.append_marshalled(hdr, &entry)
    }

    /// Appends a decoded txn.
    pub fn append_txn(
        &mut self,
        hdr: &TxnHeader,
        txn: &Txn,
        digest: Option<&TxnDigest>,
    ) -> io::Result<()> {
        self.append(hdr, &txn.to_bytes(), digest)
    }

    /// Appends an entry already in logged form (header, txn, digest), e.g.
    /// the data of a PROPOSAL from the leader.
    pub fn append_entry(&mut self, entry: &[u8]) -> io::Result<()> {
        if entry.len() < TXN_HEADER_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "txn entry of {} bytes is shorter than a txn header",
                    entry.len()
                ),
            ));
        }
        let hdr = TxnHeader::from_bytes(entry).map_err(io::Error::from)?;
        self.append_marshalled(&hdr, entry)
    }

    fn append_marshalled(&mut self, hdr: &TxnHeader, entry: &[u8]) -> io::Result<()> {
        if hdr.zxid <= self.last_zxid_seen {
            warn!(
                "Current zxid 0x{:x} is <= 0x{:x} for {}",
                hdr.zxid,
                self.last_zxid_seen,
                crate::zoo_defs::op_code::op2string(hdr.txn_type)
            );
        } else {
            self.last_zxid_seen = hdr.zxid;
        }
        if self.active.is_none() {
            self.active = Some(self.create_log_file(hdr.zxid)?);
        }
        let prealloc = self.prealloc_size;
        let log = self.active.as_mut().expect("just opened");
        let size = padded_file_size(log.position, log.padded_size, prealloc);
        if size != log.padded_size {
            // Extending with set_len leaves a sparse, zero-reading region,
            // as Java's single byte written at the new end does.
            log.out
                .get_ref()
                .set_len(size)
                .map_err(|e| with_path(e, "cannot preallocate", &log.path))?;
            log.padded_size = size;
        }
        let crc = adler2::adler32_slice(entry) as i64;
        let write = |out: &mut BufWriter<File>| -> io::Result<()> {
            out.write_all(&crc.to_be_bytes())?;
            out.write_all(&(entry.len() as i32).to_be_bytes())?;
            out.write_all(entry)?;
            out.write_all(&[END_OF_RECORD])
        };
        write(&mut log.out).map_err(|e| with_path(e, "cannot write", &log.path))?;
        log.position += 8 + 4 + entry.len() as u64 + 1;
        self.txn_count += 1;
        Ok(())
    }

    fn create_log_file(&self, zxid: i64) -> io::Result<ActiveLog> {
        let path = self.log_dir().join(make_log_name(zxid));
        info!("Creating new log file: {}", path.display());
        // Like Java's FileOutputStream, this truncates a leftover file of the
        // same name: its entries were never acknowledged or were truncated.
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| with_path(e, "cannot create txn log", &path))?;
        let mut out = BufWriter::with_capacity(64 * 1024, file);
        let header = FileHeader {
            magic: TXNLOG_MAGIC,
            version: TXNLOG_VERSION,
            dbid: self.db_id,
        };
        out.write_all(&header.to_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| with_path(e, "cannot write", &path))?;
        Ok(ActiveLog {
            path,
            out,
            position: FILE_HEADER_LEN,
            padded_size: FILE_HEADER_LEN,
        })
    }

    /// Makes everything appended so far durable: flush, then (unless force
    /// sync is off) fsync the current file and any file rolled away from
    /// since the last commit. Rolls the log afterwards if it has outgrown
    /// the size limit.
    pub fn commit(&mut self) -> io::Result<()> {
        // Before the flush: a crash here loses what was appended since the
        // last commit, as a power cut before the fsync would.
        crate::fail_point_io!("txn_log_before_fsync");
        if let Some(log) = self.active.as_mut() {
            log.out
                .flush()
                .map_err(|e| with_path(e, "cannot write", &log.path))?;
        }
        if self.force_sync {
            let rolled = self.rolled_unsynced.iter().map(|(p, f)| (p, f));
            let active = self.active.iter().map(|l| (&l.path, l.out.get_ref()));
            for (path, file) in rolled.chain(active) {
                let start = Instant::now();
                file.sync_data()
                    .map_err(|e| with_path(e, "cannot fsync", path))?;
                let ms = start.elapsed().as_millis() as u64;
                self.last_sync_elapsed_ms = Some(ms);
                if ms > self.fsync_warning_threshold_ms {
                    warn!(
                        "fsync-ing the write ahead log {} took {}ms which will adversely effect operation latency. See the ZooKeeper troubleshooting guide",
                        path.display(),
                        ms
                    );
                }
            }
        }
        self.rolled_unsynced.clear();
        crate::fail_point_io!("txn_log_after_fsync");
        if let Some(limit) = self.size_limit {
            let size = self.current_log_size();
            if size > limit {
                debug!("Log size limit reached: {}", size);
                self.roll_log()?;
            }
        }
        Ok(())
    }

    /// Ends the current file: the next append starts `log.<its zxid>`. The
    /// old file is flushed now and fsynced by the next commit.
    pub fn roll_log(&mut self) -> io::Result<()> {
        if let Some(log) = self.active.take() {
            let size = log.position;
            let path = log.path;
            let file = log
                .out
                .into_inner()
                .map_err(|e| with_path(e.into_error(), "cannot write", &path))?;
            self.prev_logs_running_total += size;
            self.rolled_unsynced.push((path, file));
        }
        Ok(())
    }

    /// Flushes and closes the open files (no fsync, as in Java: call
    /// [`Self::commit`] first for durability).
    pub fn close(&mut self) -> io::Result<()> {
        self.roll_log()?;
        self.rolled_unsynced.clear();
        Ok(())
    }

    /// Bytes of entries (and header) in the file being appended to.
    pub fn current_log_size(&self) -> u64 {
        self.active.as_ref().map_or(0, |l| l.position)
    }

    /// Bytes logged since the counter was last reset (Java counts padded
    /// file lengths; we count what was written, which is what the size
    /// limits are meant to measure).
    pub fn total_log_size(&self) -> u64 {
        self.prev_logs_running_total + self.current_log_size()
    }

    /// Sets what [`Self::total_log_size`] counts from, less the current
    /// file.
    pub fn set_total_log_size(&mut self, size: u64) {
        self.prev_logs_running_total = size;
    }

    /// Txns appended since the last [`Self::reset_counts`] (3.8's
    /// `ZKDatabase.getTxnCount`).
    pub fn txn_count(&self) -> u64 {
        self.txn_count
    }

    /// Restarts the two counts that decide the next snapshot: txns
    /// appended and bytes logged (call right after [`Self::roll_log`]).
    pub fn reset_counts(&mut self) {
        self.txn_count = 0;
        self.prev_logs_running_total = 0;
    }

    /// How long the last fsync took, if there was one.
    pub fn last_sync_elapsed_ms(&self) -> Option<u64> {
        self.last_sync_elapsed_ms
    }

    /// The path of the file being appended to, if any.
    pub fn current_log_file(&self) -> Option<&Path> {
        self.active.as_ref().map(|l| l.path.as_path())
    }

    /// See [`TxnLogReader::last_logged_zxid`].
    pub fn last_logged_zxid(&self) -> i64 {
        self.reader.last_logged_zxid()
    }

    /// See [`TxnLogReader::read`].
    pub fn read(&self, zxid: i64) -> io::Result<TxnIterator> {
        self.reader.read(zxid)
    }

    /// See [`TxnLogReader::read_from`].
    pub fn read_from(&self, zxid: i64, fast_forward: bool) -> io::Result<TxnIterator> {
        self.reader.read_from(zxid, fast_forward)
    }

    /// Removes every txn after `zxid` (a TRUNC from the leader): the file
    /// holding `zxid` is cut after it, later files are deleted. Closes the
    /// current file first; the next append starts a new one.
    ///
    /// Java cuts after the first entry whose zxid is >= `zxid`, keeping one
    /// txn too many when `zxid` itself is not in the log; we cut after the
    /// last entry <= `zxid`.
    pub fn truncate(&mut self, zxid: i64) -> io::Result<()> {
        self.close()?;
        self.last_zxid_seen = 0;
        let log_dir = self.log_dir().to_path_buf();
        let files = get_log_files(data_dir::list_dir(&log_dir)?, 0);
        if files.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "No log files found to truncate in {}! This could happen if you still have snapshots from an old setup or log files were deleted accidentally or dataLogDir was changed in zoo.cfg.",
                    log_dir.display()
                ),
            ));
        }
        let holder = files
            .iter()
            .rposition(|f| zxid_from_path(f, LOG_FILE_PREFIX) <= zxid);
        let later_from = match holder {
            Some(i) => {
                self.cut_after(&files[i], zxid)?;
                i + 1
            }
            None => 0,
        };
        for f in &files[later_from..] {
            info!(
                "Truncating txn log to 0x{:x}: deleting {}",
                zxid,
                f.display()
            );
            fs::remove_file(f).map_err(|e| with_path(e, "cannot delete", f))?;
        }
        data_dir::sync_dir(&log_dir);
        Ok(())
    }

    /// Cuts `path` after its last entry with a zxid <= `zxid`, if any
    /// entry follows.
    fn cut_after(&self, path: &Path, zxid: i64) -> io::Result<()> {
        let Some(mut reader) = LogFileReader::open(path, self.reader.max_entry_len)? else {
            return Ok(());
        };
        let mut keep = reader.pos;
        while let Some(entry) = reader.read_entry()? {
            if entry.zxid() > zxid {
                info!(
                    "Truncating txn log {} at offset {} (after zxid 0x{:x})",
                    path.display(),
                    keep,
                    zxid
                );
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| with_path(e, "cannot open", path))?;
                f.set_len(keep)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| with_path(e, "cannot truncate", path))?;
                return Ok(());
            }
            keep = reader.pos;
        }
        Ok(())
    }

    /// See [`TxnLogReader::db_id`].
    pub fn db_id(&self) -> io::Result<i64> {
        self.reader.db_id()
    }
}

impl Drop for FileTxnLog {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            warn!("Error closing txn log {}: {}", self.log_dir().display(), e);
        }
    }
}

#[cfg(test)]
#[path = "file_txn_log_tests.rs"]
mod tests;
