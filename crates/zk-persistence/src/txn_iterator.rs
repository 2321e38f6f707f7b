//! Reading txn logs back (ZooKeeper's `FileTxnLog.FileTxnIterator`).
//!
//! [`TxnIterator`] walks the log files of a directory in zxid order,
//! starting with the file that may hold the zxid asked for. Within a file,
//! how the entries end follows ZooKeeper: a zero length (the preallocated
//! zeros), an entry cut short by EOF, or a missing end-of-record byte all
//! mean "no more entries here" (a torn write), and reading goes on with the
//! next file. A complete entry whose checksum does not match, a length no
//! writer could produce, or a bad magic number is damage, reported as a
//! [`CorruptLog`] naming the file and byte offset.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use log::{debug, error, warn};

use crate::data_dir::{self, zxid_from_path, LOG_FILE_PREFIX};
use crate::file_txn_log::{
    get_log_files, with_path, TxnLogEntry, END_OF_RECORD, FILE_HEADER_LEN, TXNLOG_MAGIC,
    TXN_HEADER_LEN,
};
use crate::jute::{InputArchive, Record};
use crate::records::{FileHeader, TxnHeader};

/// How far past the end of a log's entries we look for stray non-zero
/// bytes, to warn about damage that ZooKeeper would silently skip.
const TAIL_SCAN_LIMIT: u64 = 1 << 20;

/// Damage found in a txn log before its tail. Carried inside an
/// `io::Error` of kind `InvalidData`; get it back with
/// `err.get_ref().and_then(|e| e.downcast_ref::<CorruptLog>())`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptLog {
    /// The damaged log file.
    pub file: PathBuf,
    /// Offset of the start of the damaged entry (or header) in the file.
    pub offset: u64,
    /// What was wrong (a bad checksum, a length out of range, ...).
    pub reason: String,
}

impl fmt::Display for CorruptLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "txn log {} is corrupt at offset {}: {}",
            self.file.display(),
            self.offset,
            self.reason
        )
    }
}

impl std::error::Error for CorruptLog {}

fn corrupt(file: &Path, offset: u64, reason: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        CorruptLog {
            file: file.to_path_buf(),
            offset,
            reason: reason.into(),
        },
    )
}

/// Reads one log file entry by entry, tracking the byte offset.
pub(crate) struct LogFileReader {
    path: PathBuf,
    input: BufReader<File>,
    /// Offset of the next unread byte.
    pub(crate) pos: u64,
    max_entry_len: usize,
}

/// What a read of a fixed number of bytes found.
enum Fill {
    Full,
    /// The file ended first (a torn write).
    Eof,
}

impl LogFileReader {
    /// Opens `path` and checks its header. `None` for a file too short to
    /// hold a header, or whose header is all zeros: a file created by a
    /// write that never reached the disk, which holds no txns.
    pub(crate) fn open(path: &Path, max_entry_len: usize) -> io::Result<Option<LogFileReader>> {
        let file = File::open(path).map_err(|e| with_path(e, "cannot open txn log", path))?;
        debug!("Reading txn log {}", path.display());
        let mut r = LogFileReader {
            path: path.to_path_buf(),
            input: BufReader::with_capacity(64 * 1024, file),
            pos: 0,
            max_entry_len,
        };
        let mut b = [0u8; FILE_HEADER_LEN as usize];
        if let Fill::Eof = r.fill(&mut b)? {
            warn!(
                "Txn log {} is shorter than its header; treating it as empty",
                path.display()
            );
            return Ok(None);
        }
        if b.iter().all(|&x| x == 0) {
            warn!(
                "Txn log {} has an all-zero header; treating it as empty",
                path.display()
            );
            return Ok(None);
        }
        let hdr = FileHeader::from_bytes(&b).map_err(io::Error::from)?;
        if hdr.magic != TXNLOG_MAGIC {
            return Err(corrupt(
                path,
                0,
                format!(
                    "invalid magic number 0x{:08x} != 0x{:08x} (\"ZKLG\")",
                    hdr.magic, TXNLOG_MAGIC
                ),
            ));
        }
        Ok(Some(r))
    }

    /// Reads exactly `buf.len()` bytes, or reports that the file ended.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<Fill> {
        let mut got = 0;
        while got < buf.len() {
            match self.input.read(&mut buf[got..]) {
                Ok(0) => {
                    self.pos += got as u64;
                    return Ok(Fill::Eof);
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(with_path(e, "cannot read txn log", &self.path)),
            }
        }
        self.pos += got as u64;
        Ok(Fill::Full)
    }

    /// The next entry, or `None` where this file's entries end.
    pub(crate) fn read_entry(&mut self) -> io::Result<Option<TxnLogEntry>> {
        let start = self.pos;
        let mut prefix = [0u8; 12];
        if let Fill::Eof = self.fill(&mut prefix)? {
            self.torn(start, "the file ends inside an entry's checksum or length");
            return Ok(None);
        }
        let crc = i64::from_be_bytes(prefix[..8].try_into().expect("8 bytes"));
        let len = i32::from_be_bytes(prefix[8..].try_into().expect("4 bytes"));
        if len == 0 {
            // The zero-filled preallocated space: the normal end of a log.
            self.check_rest_is_zero(start);
            return Ok(None);
        }
        if len < 0 || len as usize > self.max_entry_len {
            return Err(corrupt(
                &self.path,
                start,
                format!("unreasonable entry length {}", len),
            ));
        }
        let mut bytes = vec![0u8; len as usize];
        if let Fill::Eof = self.fill(&mut bytes)? {
            self.torn(start, "the file ends inside an entry");
            return Ok(None);
        }
        let mut eor = [0u8; 1];
        if let Fill::Eof = self.fill(&mut eor)? {
            self.torn(start, "the file ends before an entry's end-of-record byte");
            return Ok(None);
        }
        if eor[0] != END_OF_RECORD {
            error!(
                "Last transaction was partial: txn log {} entry at offset {} has end-of-record byte 0x{:02x}, not 'B'",
                self.path.display(),
                start,
                eor[0]
            );
            self.check_rest_is_zero(start);
            return Ok(None);
        }
        let computed = adler2::adler32_slice(&bytes) as i64;
        if computed != crc {
            return Err(corrupt(
                &self.path,
                start,
                format!(
                    "CRC check failed: stored checksum 0x{:x}, computed 0x{:x}",
                    crc, computed
                ),
            ));
        }
        if bytes.len() < TXN_HEADER_LEN {
            return Err(corrupt(
                &self.path,
                start,
                format!(
                    "entry of {} bytes is too short for a txn header",
                    bytes.len()
                ),
            ));
        }
        let header = TxnHeader::deserialize(&mut InputArchive::new(&bytes[..]))
            .map_err(|e| corrupt(&self.path, start, format!("bad txn header: {}", e)))?;
        Ok(Some(TxnLogEntry { header, bytes }))
    }

    fn torn(&self, start: u64, why: &str) {
        warn!(
            "Txn log {} ends with a partial entry at offset {} ({}); ignoring it",
            self.path.display(),
            start,
            why
        );
    }

    /// Warns when non-zero bytes follow the point where the entries ended.
    /// ZooKeeper skips such bytes silently; they are either the remains of
    /// writes lost in a crash or damage that hid later txns, and an
    /// operator should hear about both.
    fn check_rest_is_zero(&mut self, end: u64) {
        let mut buf = [0u8; 8192];
        let mut scanned = 0u64;
        while scanned < TAIL_SCAN_LIMIT {
            match self.input.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
                        warn!(
                            "Txn log {}: entries end at offset {} but non-zero data follows at offset {}; txns after it, if any, are ignored",
                            self.path.display(),
                            end,
                            self.pos + scanned + i as u64
                        );
                        return;
                    }
                    scanned += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

/// Txns across the log files of a directory, in file order
/// (`FileTxnLog.FileTxnIterator`). Yields `io::Result<TxnLogEntry>`; after
/// an error it yields nothing more.
pub struct TxnIterator {
    /// Files still to read, oldest first.
    files: VecDeque<PathBuf>,
    current: Option<LogFileReader>,
    /// Skip entries below this zxid until the first one at or above it.
    skip_below: Option<i64>,
    storage_size: u64,
    max_entry_len: usize,
    done: bool,
}

impl TxnIterator {
    /// Txns of the logs in `log_dir`, starting with the file that may hold
    /// `zxid` (the newest starting at or before it). With `fast_forward`,
    /// entries before `zxid` are skipped.
    pub fn open(
        log_dir: &Path,
        zxid: i64,
        fast_forward: bool,
        max_entry_len: usize,
    ) -> io::Result<TxnIterator> {
        let all = get_log_files(data_dir::list_dir(log_dir)?, 0);
        let mut files = VecDeque::new();
        for f in all.into_iter().rev() {
            let start = zxid_from_path(&f, LOG_FILE_PREFIX);
            files.push_front(f);
            if start < zxid {
                break;
            }
        }
        // As 3.8 counts it: every file but the first, the one the
        // iterator opens at once. With a single (preallocated) log the
        // size is 0, so a leader sends a DIFF however big that log is.
        let storage_size = files
            .iter()
            .skip(1)
            .map(|f| fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        Ok(TxnIterator {
            files,
            current: None,
            skip_below: fast_forward.then_some(zxid),
            storage_size,
            max_entry_len,
            done: false,
        })
    }

    /// Total size of the files this iterator reads after the first (for
    /// the leader's choice between sending a DIFF from the log and a
    /// snapshot; 3.8's `getStorageSize` leaves out the file it has open).
    pub fn storage_size(&self) -> u64 {
        self.storage_size
    }

    /// The file being read, if any.
    pub fn current_file(&self) -> Option<&Path> {
        self.current.as_ref().map(|r| r.path.as_path())
    }

    /// The next txn, `Ok(None)` at the end of the last file.
    pub fn next_entry(&mut self) -> io::Result<Option<TxnLogEntry>> {
        if self.done {
            return Ok(None);
        }
        let r = self.advance();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
            self.current = None;
        }
        r
    }

    fn advance(&mut self) -> io::Result<Option<TxnLogEntry>> {
        loop {
            let Some(reader) = self.current.as_mut() else {
                let Some(path) = self.files.pop_front() else {
                    return Ok(None);
                };
                self.current = LogFileReader::open(&path, self.max_entry_len)?;
                continue;
            };
            match reader.read_entry()? {
                None => self.current = None,
                Some(entry) => {
                    if let Some(min) = self.skip_below {
                        if entry.zxid() < min {
                            continue;
                        }
                        self.skip_below = None;
                    }
                    return Ok(Some(entry));
                }
            }
        }
    }
}

impl Iterator for TxnIterator {
    type Item = io::Result<TxnLogEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}
