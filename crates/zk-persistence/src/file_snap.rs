//! Snapshots (ZooKeeper's `FileSnap` and `SnapStream`).
//!
//! A snapshot `snapshot.<zxid>` in `dataDir/version-2` is a fuzzy image of
//! the database taken while txns kept flowing; `<zxid>` is the last txn
//! applied when it started, and replaying the logs from there makes it
//! exact. Its layout:
//!
//! ```text
//! FileHeader { magic "ZKSN", version 2, dbid -1 }
//! session count:int, (session id:long, timeout:int)*
//! DataTree                       (ACL cache, then nodes, ending at path "/")
//! checksum:long  "/":ustring     Adler32 of every byte before the checksum
//! ZxidDigest { zxid:long, digest version:int, digest:long }   (3.6+)
//! checksum:long  "/":ustring     Adler32 of every byte before this checksum
//! ```
//!
//! The second seal came with 3.6's digests; a snapshot from an older server
//! ends after the first one, and that is still a good snapshot.
//!
//! A snapshot counts as a candidate when its name parses and its last five
//! bytes are the `"/"` seal (`isValidSnapshot`); restore then tries
//! candidates newest first and falls back to older ones when one turns out
//! damaged. We write to `snapshot-<zxid>.tmp` and rename once the file is
//! complete, so a crash mid-write never leaves a `snapshot.<zxid>` at all.
//!
//! [`FileSnap::serialize`] writes a tree nobody changes meanwhile (the
//! caller holds it); the server's snapshot thread uses
//! [`FileSnap::serialize_fuzzy`] instead, which looks at the tree a slice
//! at a time so that txns keep being applied (see `fuzzy_snapshot.rs`).
//!
//! Compressed snapshots (`.gz`, `.snappy`, from
//! `zookeeper.snapshot.compression.method`) are recognised but not read:
//! restoring from one is an error naming the file.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use log::{info, warn};

use crate::data_dir::{
    self, make_snapshot_name, sort_data_dir, sync_dir, zxid_from_path, SNAPSHOT_FILE_PREFIX,
};
use crate::data_tree::DataTree;
use crate::jute::{InputArchive, OutputArchive, Record};
use crate::records::FileHeader;

/// "ZKSN" read as a big-endian int.
pub const SNAP_MAGIC: i32 = 0x5a4b_534e;
/// The snapshot format version in its `FileHeader`.
pub const SNAP_VERSION: i32 = 2;
/// The dbid every snapshot header carries.
pub const SNAP_DB_ID: i64 = -1;
/// Restore gives up after this many candidate snapshots.
pub const MAX_SNAPSHOTS_TRIED: usize = 100;
/// The seal's trailing string: `int 1, '/'`.
const SEAL_TAIL: [u8; 5] = [0, 0, 0, 1, b'/'];

/// How a snapshot file is encoded, from its name's last extension
/// (`SnapStream.StreamMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// Plain bytes with Adler32 seals: the default, and all we read.
    Checked,
    /// `.gz`: gzip (recognised, not read).
    Gzip,
    /// `.snappy`: Snappy (recognised, not read).
    Snappy,
}

impl StreamMode {
    /// The mode a file name implies: `.gz` or `.snappy` as the last
    /// extension (any case), otherwise plain.
    pub fn of_file_name(name: &str) -> StreamMode {
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some(ext) if ext.eq_ignore_ascii_case("gz") => StreamMode::Gzip,
            Some(ext) if ext.eq_ignore_ascii_case("snappy") => StreamMode::Snappy,
            _ => StreamMode::Checked,
        }
    }

    /// [`Self::of_file_name`] of the path's file name.
    pub fn of_path(path: &Path) -> StreamMode {
        path.file_name()
            .and_then(|n| n.to_str())
            .map_or(StreamMode::Checked, StreamMode::of_file_name)
    }
}

/// The name a snapshot of `zxid` is written to before it is complete.
/// Neither ZooKeeper nor we take it for a snapshot (`snapshot-`, not
/// `snapshot.`).
pub fn make_snapshot_tmp_name(zxid: i64) -> String {
    format!("{}-{:x}.tmp", SNAPSHOT_FILE_PREFIX, zxid)
}

/// True for a leftover of an interrupted snapshot write.
pub fn is_snapshot_tmp_name(name: &str) -> bool {
    name.starts_with("snapshot-") && name.ends_with(".tmp")
}

/// Whether `path` may be a complete snapshot (`SnapStream.isValidSnapshot`):
/// its name carries a zxid, and a plain snapshot is at least 10 bytes and
/// ends with the `"/"` seal; a compressed one starts with its format's
/// magic bytes. This is cheap and not a guarantee: restore still checks
/// the checksums.
pub fn is_valid_snapshot(path: &Path) -> io::Result<bool> {
    if zxid_from_path(path, SNAPSHOT_FILE_PREFIX) == -1 {
        return Ok(false);
    }
    let mut f = File::open(path)?;
    match StreamMode::of_path(path) {
        StreamMode::Gzip => Ok(starts_with(&mut f, &[0x1f, 0x8b])?),
        StreamMode::Snappy => Ok(starts_with(
            &mut f,
            &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0],
        )?),
        StreamMode::Checked => {
            let len = f.metadata()?.len();
            if len < 10 {
                return Ok(false);
            }
            f.seek(SeekFrom::Start(len - 5))?;
            let mut tail = [0u8; 5];
            f.read_exact(&mut tail)?;
            if tail != SEAL_TAIL {
                info!(
                    "Invalid snapshot {}: it does not end with the \"/\" seal (last bytes {:02x?})",
                    path.display(),
                    tail
                );
                return Ok(false);
            }
            Ok(true)
        }
    }
}

fn starts_with(f: &mut File, magic: &[u8]) -> io::Result<bool> {
    let mut b = vec![0u8; magic.len()];
    let mut got = 0;
    while got < b.len() {
        match f.read(&mut b[got..])? {
            0 => return Ok(false),
            n => got += n,
        }
    }
    Ok(b == magic)
}

/// Up to `n` snapshots in `snap_dir` that pass [`is_valid_snapshot`],
/// newest first. Files that cannot be checked are logged and skipped.
pub fn find_n_valid_snapshots(snap_dir: &Path, n: usize) -> io::Result<Vec<PathBuf>> {
    let files = sort_data_dir(data_dir::list_dir(snap_dir)?, SNAPSHOT_FILE_PREFIX, false);
    let mut out = Vec::new();
    for f in files {
        if out.len() >= n {
            break;
        }
        match is_valid_snapshot(&f) {
            Ok(true) => out.push(f),
            Ok(false) => {}
            Err(e) => warn!("invalid snapshot {}: {}", f.display(), e),
        }
    }
    Ok(out)
}

/// Up to `n` files named like snapshots, newest first, without checking
/// them (`findNRecentSnapshots`).
pub fn find_n_recent_snapshots(snap_dir: &Path, n: usize) -> io::Result<Vec<PathBuf>> {
    let files = sort_data_dir(data_dir::list_dir(snap_dir)?, SNAPSHOT_FILE_PREFIX, false);
    Ok(files
        .into_iter()
        .filter(|f| zxid_from_path(f, SNAPSHOT_FILE_PREFIX) != -1)
        .take(n)
        .collect())
}

/// The newest snapshot that passes [`is_valid_snapshot`].
pub fn find_most_recent_snapshot(snap_dir: &Path) -> io::Result<Option<PathBuf>> {
    Ok(find_n_valid_snapshots(snap_dir, 1)?.into_iter().next())
}

/// Session id -> session timeout (ms), as snapshots and `ZKDatabase` keep
/// them.
pub type SessionMap = HashMap<i64, i32>;

/// What a snapshot needs from the tree it stores (`DataTree` provides it).
pub trait SnapshotTree: Sized {
    /// Writes the tree: ACL cache, then every node, then the `"/"` end
    /// marker.
    fn serialize_tree<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()>;
    /// Reads what [`Self::serialize_tree`] wrote.
    fn deserialize_tree<R: Read>(ia: &mut InputArchive<R>) -> io::Result<Self>;
    /// Writes the zxid digest that follows the first seal; returns false,
    /// writing nothing, when digests are off (the second seal is then left
    /// out too).
    fn serialize_zxid_digest<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<bool>;
    /// Reads that digest back, keeping it for comparison during replay;
    /// false when there is none (digests off, or a snapshot from before
    /// 3.6 that ends at its first seal).
    fn deserialize_zxid_digest<R: Read>(
        &mut self,
        ia: &mut InputArchive<R>,
        snapshot_zxid: i64,
    ) -> io::Result<bool>;
}

impl SnapshotTree for DataTree {
    fn serialize_tree<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        DataTree::serialize(self, oa)
    }

    fn deserialize_tree<R: Read>(ia: &mut InputArchive<R>) -> io::Result<Self> {
        Ok(DataTree::deserialize(ia)?)
    }

    fn serialize_zxid_digest<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<bool> {
        DataTree::serialize_zxid_digest(self, oa)
    }

    fn deserialize_zxid_digest<R: Read>(
        &mut self,
        ia: &mut InputArchive<R>,
        snapshot_zxid: i64,
    ) -> io::Result<bool> {
        Ok(DataTree::deserialize_zxid_digest(self, ia, snapshot_zxid)?)
    }
}

/// The zxid and modification time (seconds) of the snapshot last written
/// or restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The zxid in its name: the last txn it is known to contain.
    pub zxid: i64,
    /// The file's modification time, seconds since the epoch.
    pub timestamp: u64,
    /// The snapshot file.
    pub path: PathBuf,
}

/// What [`FileSnap::deserialize`] restored.
#[derive(Debug)]
pub struct RestoredSnapshot<T> {
    /// The tree as the snapshot holds it.
    pub tree: T,
    /// The sessions and their timeouts.
    pub sessions: SessionMap,
    /// Which snapshot it was.
    pub info: SnapshotInfo,
    /// Newer snapshots that were tried and rejected, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// A reader that keeps an Adler32 of every byte it hands out.
struct CheckedReader<R> {
    inner: R,
    adler: adler2::Adler32,
}

impl<R: Read> Read for CheckedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.adler.write_slice(&buf[..n]);
        Ok(n)
    }
}

/// A writer that keeps an Adler32 of every byte it accepts.
struct CheckedWriter<W> {
    inner: W,
    adler: adler2::Adler32,
}

impl<W: Write> Write for CheckedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.adler.write_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the checksum of everything so far, then `"/"` (`sealStream`).
fn seal<W: Write>(oa: &mut OutputArchive<CheckedWriter<W>>) -> io::Result<()> {
    let sum = oa.get_ref().adler.checksum();
    oa.write_long(sum as i64)?;
    oa.write_string("/")
}

/// Reads a seal and checks it against the checksum of everything before
/// it (`checkSealIntegrity`).
fn check_seal<R: Read>(ia: &mut InputArchive<CheckedReader<R>>) -> io::Result<()> {
    let computed = ia.get_ref().adler.checksum() as i64;
    let at = ia.position();
    let stored = ia.read_long().map_err(io::Error::from)?;
    ia.read_string().map_err(io::Error::from)?;
    if stored != computed {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "CRC corruption: checksum at offset {} is 0x{:x}, the content before it sums to 0x{:x}",
                at, stored, computed
            ),
        ));
    }
    Ok(())
}

fn modified_secs(path: &Path) -> u64 {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// The snapshots of one directory (`dataDir/version-2`).
pub struct FileSnap {
    snap_dir: PathBuf,
    last_snapshot_info: Option<SnapshotInfo>,
}

impl FileSnap {
    /// Snapshots in `snap_dir` (the `version-2` directory).
    pub fn new(snap_dir: impl Into<PathBuf>) -> Self {
        FileSnap {
            snap_dir: snap_dir.into(),
            last_snapshot_info: None,
        }
    }

    /// The `version-2` directory it reads and writes.
    pub fn snap_dir(&self) -> &Path {
        &self.snap_dir
    }

    /// The snapshot last written or restored by this `FileSnap`.
    pub fn last_snapshot_info(&self) -> Option<&SnapshotInfo> {
        self.last_snapshot_info.as_ref()
    }

    /// Writes `tree` and `sessions` as `snapshot.<zxid>`: first to a
    /// temporary name, renamed into place only once complete (and, with
    /// `fsync`, durable). Returns the snapshot's path.
    pub fn serialize<T: SnapshotTree>(
        &mut self,
        tree: &T,
        sessions: &SessionMap,
        zxid: i64,
        fsync: bool,
    ) -> io::Result<PathBuf> {
        let path = self.snap_dir.join(make_snapshot_name(zxid));
        let tmp = self.snap_dir.join(make_snapshot_tmp_name(zxid));
        let result = (|| -> io::Result<()> {
            let file = File::create(&tmp)?;
            let mut oa = OutputArchive::new(CheckedWriter {
                inner: BufWriter::with_capacity(256 * 1024, file),
                adler: adler2::Adler32::new(),
            });
            serialize_snapshot(tree, sessions, &mut oa)?;
            let out = oa.into_inner().inner;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            if fsync {
                file.sync_all()?;
            }
            drop(file);
            crate::fail_point_io!("snapshot_before_rename");
            fs::rename(&tmp, &path)?;
            if fsync {
                sync_dir(&self.snap_dir);
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(io::Error::new(
                e.kind(),
                format!("cannot write snapshot {}: {}", path.display(), e),
            ));
        }
        self.last_snapshot_info = Some(SnapshotInfo {
            zxid,
            timestamp: modified_secs(&path),
            path: path.clone(),
        });
        Ok(path)
    }

    /// Restores from the newest snapshot that reads back intact, trying up
    /// to [`MAX_SNAPSHOTS_TRIED`] candidates and logging each one skipped.
    /// `Ok(None)` when the directory holds no snapshot at all; an error
    /// when there are snapshots but none is intact, or when the newest
    /// candidate is compressed (falling back past it could silently lose
    /// txns whose logs were purged, so we stop and say so instead).
    pub fn deserialize<T: SnapshotTree>(&mut self) -> io::Result<Option<RestoredSnapshot<T>>> {
        let candidates = find_n_valid_snapshots(&self.snap_dir, MAX_SNAPSHOTS_TRIED)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let mut skipped = Vec::new();
        for snap in candidates {
            if StreamMode::of_path(&snap) != StreamMode::Checked {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "snapshot {} is compressed ({:?}); only uncompressed snapshots can be read. Restore it with a ZooKeeper whose zookeeper.snapshot.compression.method is unset, or remove it if an older snapshot and its logs suffice",
                        snap.display(),
                        StreamMode::of_path(&snap)
                    ),
                ));
            }
            info!("Reading snapshot {}", snap.display());
            let zxid = zxid_from_path(&snap, SNAPSHOT_FILE_PREFIX);
            match read_snapshot_file::<T>(&snap, zxid) {
                Ok((tree, sessions)) => {
                    let info = SnapshotInfo {
                        zxid,
                        timestamp: modified_secs(&snap),
                        path: snap,
                    };
                    self.last_snapshot_info = Some(info.clone());
                    return Ok(Some(RestoredSnapshot {
                        tree,
                        sessions,
                        info,
                        skipped,
                    }));
                }
                Err(e) => {
                    warn!(
                        "problem reading snap file {}: {}; trying an older snapshot",
                        snap.display(),
                        e
                    );
                    skipped.push((snap, e.to_string()));
                }
            }
        }
        let reasons: Vec<String> = skipped
            .iter()
            .map(|(p, why)| format!("{}: {}", p.display(), why))
            .collect();
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "Not able to find valid snapshots in {} ({})",
                self.snap_dir.display(),
                reasons.join("; ")
            ),
        ))
    }
}

/// Header, sessions, tree, seal, and (with digests) digest and second
/// seal: a whole snapshot.
fn serialize_snapshot<T: SnapshotTree, W: Write>(
    tree: &T,
    sessions: &SessionMap,
    oa: &mut OutputArchive<CheckedWriter<W>>,
) -> io::Result<()> {
    FileHeader {
        magic: SNAP_MAGIC,
        version: SNAP_VERSION,
        dbid: SNAP_DB_ID,
    }
    .serialize(oa)?;
    serialize_sessions(sessions, oa)?;
    tree.serialize_tree(oa)?;
    seal(oa)?;
    if tree.serialize_zxid_digest(oa)? {
        seal(oa)?;
    }
    oa.get_mut().flush()
}

/// The session table (`SerializeUtils.serializeSnapshot`'s first part),
/// in id order so that equal databases give equal files.
pub fn serialize_sessions<W: Write>(
    sessions: &SessionMap,
    oa: &mut OutputArchive<W>,
) -> io::Result<()> {
    let mut ids: Vec<_> = sessions.iter().collect();
    ids.sort_unstable();
    oa.write_int(ids.len() as i32)?;
    for (id, timeout) in ids {
        oa.write_long(*id)?;
        oa.write_int(*timeout)?;
    }
    Ok(())
}

/// Reads a session table; a negative count reads as empty, as in Java.
pub fn deserialize_sessions<R: Read>(ia: &mut InputArchive<R>) -> io::Result<SessionMap> {
    let count = ia.read_int().map_err(io::Error::from)?;
    let mut sessions = SessionMap::new();
    for _ in 0..count.max(0) {
        let id = ia.read_long().map_err(io::Error::from)?;
        let timeout = ia.read_int().map_err(io::Error::from)?;
        sessions.insert(id, timeout);
    }
    Ok(sessions)
}

/// Reads one snapshot file, streaming; checks both seals.
pub fn read_snapshot_file<T: SnapshotTree>(path: &Path, zxid: i64) -> io::Result<(T, SessionMap)> {
    let file = File::open(path)?;
    let mut ia = InputArchive::new(CheckedReader {
        inner: BufReader::with_capacity(256 * 1024, file),
        adler: adler2::Adler32::new(),
    });
    let header = FileHeader::deserialize(&mut ia).map_err(io::Error::from)?;
    if header.magic != SNAP_MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "mismatching magic headers 0x{:08x} != 0x{:08x} (\"ZKSN\")",
                header.magic, SNAP_MAGIC
            ),
        ));
    }
    let sessions = deserialize_sessions(&mut ia)?;
    let mut tree = T::deserialize_tree(&mut ia)?;
    check_seal(&mut ia)?;
    // Snapshots from before 3.6 end here; a digest, if present, is sealed
    // again.
    if tree.deserialize_zxid_digest(&mut ia, zxid)? {
        check_seal(&mut ia)?;
    }
    Ok((tree, sessions))
}

#[path = "fuzzy_snapshot.rs"]
mod fuzzy;
pub use self::fuzzy::{make_snapshot_nodes_tmp_name, FuzzySnapshot, SharedTree};

#[cfg(test)]
#[path = "file_snap_tests.rs"]
mod tests;
