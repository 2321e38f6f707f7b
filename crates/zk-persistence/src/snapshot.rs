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
//! ZxidDigest { zxid:long, digest version:int, digest:long }
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
//! Compressed snapshots (`.gz`, `.snappy`, from
//! `zookeeper.snapshot.compression.method`) are recognised but not read:
//! restoring from one is an error naming the file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use log::{info, warn};

use crate::data_dir::{self, sort_data_dir, zxid_from_path, SNAPSHOT_FILE_PREFIX};

/// "ZKSN" read as a big-endian int.
pub const SNAP_MAGIC: i32 = 0x5a4b_534e;
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
    Gzip,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;
    use std::fs;

    #[test]
    fn stream_mode_comes_from_the_last_extension() {
        assert_eq!(StreamMode::of_file_name("snapshot.1a"), StreamMode::Checked);
        assert_eq!(StreamMode::of_file_name("snapshot.1a.gz"), StreamMode::Gzip);
        assert_eq!(StreamMode::of_file_name("snapshot.1a.GZ"), StreamMode::Gzip);
        assert_eq!(
            StreamMode::of_file_name("snapshot.1a.snappy"),
            StreamMode::Snappy
        );
        assert_eq!(StreamMode::of_file_name("snapshot"), StreamMode::Checked);
        assert!(is_snapshot_tmp_name(&make_snapshot_tmp_name(0x1a)));
        assert_eq!(
            zxid_from_path(Path::new(&make_snapshot_tmp_name(5)), SNAPSHOT_FILE_PREFIX),
            -1
        );
    }

    #[test]
    fn validity_is_the_seal_at_the_end() {
        let dir = TestDir::new("snap-valid");
        let p = |n: &str| dir.path().join(n);
        let mut good = vec![7u8; 30];
        good.extend_from_slice(&SEAL_TAIL);
        fs::write(p("snapshot.10"), &good).unwrap();
        fs::write(p("snapshot.20"), &good[..good.len() - 1]).unwrap();
        fs::write(p("snapshot.30"), SEAL_TAIL).unwrap(); // under 10 bytes
        fs::write(p("snapshot.40.gz"), [0x1f, 0x8b, 8, 0]).unwrap();
        fs::write(p("snapshot.50.snappy"), b"nope").unwrap();
        fs::write(p("snapshot-60.tmp"), &good).unwrap();
        fs::write(p("snapshot.xyz"), &good).unwrap();
        assert!(is_valid_snapshot(&p("snapshot.10")).unwrap());
        assert!(!is_valid_snapshot(&p("snapshot.20")).unwrap());
        assert!(!is_valid_snapshot(&p("snapshot.30")).unwrap());
        assert!(is_valid_snapshot(&p("snapshot.40.gz")).unwrap());
        assert!(!is_valid_snapshot(&p("snapshot.50.snappy")).unwrap());
        assert!(!is_valid_snapshot(&p("snapshot-60.tmp")).unwrap());
        assert!(!is_valid_snapshot(&p("snapshot.xyz")).unwrap());
        assert_eq!(
            find_n_valid_snapshots(dir.path(), 5).unwrap(),
            vec![p("snapshot.40.gz"), p("snapshot.10")]
        );
        assert_eq!(
            find_most_recent_snapshot(dir.path()).unwrap(),
            Some(p("snapshot.40.gz"))
        );
        assert_eq!(
            find_n_recent_snapshots(dir.path(), 2).unwrap(),
            vec![p("snapshot.50.snappy"), p("snapshot.40.gz")]
        );
        assert!(find_n_valid_snapshots(&p("missing"), 3).unwrap().is_empty());
    }
}
