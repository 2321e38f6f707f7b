//! Names of the files in a data directory, and how they sort (ZooKeeper's
//! `persistence.Util`).
//!
//! Txn logs and snapshots are named `<prefix>.<zxid in hex>`, where the zxid
//! is the first txn of the log or the last txn in the snapshot. The name is
//! the only index ZooKeeper keeps: restore, truncation and purge all decide
//! which files matter by parsing the zxid back out of the name, so these
//! functions must agree with Java's parsing to the letter.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// `dataDir` and `dataLogDir` each keep their files in this subdirectory.
pub const VERSION_DIR: &str = "version-2";
/// File name prefix of txn logs.
pub const LOG_FILE_PREFIX: &str = "log";
/// File name prefix of snapshots.
pub const SNAPSHOT_FILE_PREFIX: &str = "snapshot";

/// `log.<zxid>`: lowercase hex, no padding, negative zxids as their
/// two's-complement bits (Java's `Long.toHexString`).
pub fn make_log_name(zxid: i64) -> String {
    format!("{}.{:x}", LOG_FILE_PREFIX, zxid)
}

/// `snapshot.<zxid>` (uncompressed, the only format we write).
pub fn make_snapshot_name(zxid: i64) -> String {
    format!("{}.{:x}", SNAPSHOT_FILE_PREFIX, zxid)
}

/// The zxid in a file name `<prefix>.<hex>[.anything]`, or -1 when the name
/// does not have that shape. Like Java's `Long.parseLong(s, 16)`, a sign is
/// accepted and values beyond `i64` are refused (so `ffffffffffffffff` is
/// not a zxid: Java never writes one, as zxids are positive).
pub fn zxid_from_name(name: &str, prefix: &str) -> i64 {
    let mut parts = name.split('.');
    if parts.next() != Some(prefix) {
        return -1;
    }
    match parts.next() {
        Some(hex) => i64::from_str_radix(hex, 16).unwrap_or(-1),
        None => -1,
    }
}

/// The zxid in the name of `path` (see [`zxid_from_name`]).
pub fn zxid_from_path(path: &Path, prefix: &str) -> i64 {
    path.file_name()
        .and_then(|n| n.to_str())
        .map_or(-1, |n| zxid_from_name(n, prefix))
}

/// True for any name starting `log.` (what Java tests when it checks a
/// snapshot directory for stray logs).
pub fn is_log_file_name(name: &str) -> bool {
    name.starts_with("log.")
}

/// True for any name starting `snapshot.`.
pub fn is_snapshot_file_name(name: &str) -> bool {
    name.starts_with("snapshot.")
}

/// Every entry of `dir` (files and anything else, as Java's `listFiles`).
/// A missing directory lists as empty.
pub fn list_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot list {}: {}", dir.display(), e),
            ))
        }
    };
    let mut out = Vec::new();
    for entry in rd {
        out.push(entry?.path());
    }
    Ok(out)
}

/// Fsyncs a directory so that a rename or delete in it survives a crash.
/// Failure is only logged: some filesystems refuse to sync directories, and
/// the file operation itself already succeeded.
pub fn sync_dir(dir: &Path) {
    if let Err(e) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        log::debug!("cannot fsync directory {}: {}", dir.display(), e);
    }
}

/// Sorts `files` by the zxid in their names; names without one sort as -1.
/// The sort is stable, as Java's is.
pub fn sort_data_dir(mut files: Vec<PathBuf>, prefix: &str, ascending: bool) -> Vec<PathBuf> {
    // Both sorts are stable, so files with equal keys keep their listed
    // order, as with Java's comparator.
    if ascending {
        files.sort_by_key(|f| zxid_from_path(f, prefix));
    } else {
        files.sort_by_key(|f| std::cmp::Reverse(zxid_from_path(f, prefix)));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_like_java() {
        assert_eq!(make_log_name(0x100000001), "log.100000001");
        assert_eq!(make_snapshot_name(0), "snapshot.0");
        assert_eq!(make_log_name(-1), "log.ffffffffffffffff");
        assert_eq!(zxid_from_name("log.100000001", "log"), 0x100000001);
        assert_eq!(zxid_from_name("snapshot.1a.gz", "snapshot"), 0x1a);
        assert_eq!(zxid_from_name("snapshot.1A", "snapshot"), 0x1a);
        assert_eq!(zxid_from_name("log.", "log"), -1);
        assert_eq!(zxid_from_name("log", "log"), -1);
        assert_eq!(zxid_from_name("log.xyz", "log"), -1);
        assert_eq!(zxid_from_name("snapshot.5", "log"), -1);
        assert_eq!(zxid_from_name("log.ffffffffffffffff", "log"), -1);
        assert_eq!(zxid_from_name("log.-1", "log"), -1);
        assert!(is_log_file_name("log.1"));
        assert!(!is_log_file_name("logs"));
        assert!(is_snapshot_file_name("snapshot.1"));
    }

    #[test]
    fn sorting_follows_the_zxid_not_the_text() {
        let files: Vec<PathBuf> = ["log.a", "log.9", "other", "log.100"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let asc = sort_data_dir(files.clone(), "log", true);
        let names: Vec<_> = asc.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(names, ["other", "log.9", "log.a", "log.100"]);
        let desc = sort_data_dir(files, "log", false);
        let names: Vec<_> = desc.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(names, ["log.100", "log.a", "log.9", "other"]);
    }
}
