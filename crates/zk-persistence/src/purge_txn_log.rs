//! Removing old snapshots and logs (ZooKeeper's `PurgeTxnLog`).
//!
//! Purging keeps the N newest valid snapshots and every log file needed to
//! replay from the oldest of them: that is the newest log starting at or
//! before the oldest kept snapshot (it may hold txns after the snapshot)
//! and every later log. Everything older goes. N is at least 3, so a
//! damaged newest snapshot still leaves two to fall back to.
//!
//! [`DatadirCleanupManager`](crate::datadir_cleanup_manager::DatadirCleanupManager)
//! runs [`purge`] on a timer.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use log::{error, info};

use crate::data_dir::{self, zxid_from_path, LOG_FILE_PREFIX, SNAPSHOT_FILE_PREFIX, VERSION_DIR};
use crate::file_snap::find_n_valid_snapshots;
use crate::file_txn_log::get_log_files;

/// The fewest snapshots a purge may keep.
pub const MIN_SNAP_RETAIN_COUNT: usize = 3;

/// Purges `data_log_dir` and `snap_dir` (the configured `dataLogDir` and
/// `dataDir`; their `version-2` subdirectories hold the files), keeping the
/// `num` newest snapshots and the logs they need. Returns the files
/// deleted. Nothing is deleted when there is no valid snapshot.
pub fn purge(data_log_dir: &Path, snap_dir: &Path, num: usize) -> io::Result<Vec<PathBuf>> {
    if num < MIN_SNAP_RETAIN_COUNT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "count should be greater than or equal to {} (got {})",
                MIN_SNAP_RETAIN_COUNT, num
            ),
        ));
    }
    let log_dir = data_log_dir.join(VERSION_DIR);
    let snap_dir = snap_dir.join(VERSION_DIR);
    let snaps = find_n_valid_snapshots(&snap_dir, num)?;
    match snaps.last() {
        Some(oldest_kept) => purge_older_snapshots(&log_dir, &snap_dir, oldest_kept),
        None => Ok(Vec::new()),
    }
}

/// Deletes the snapshots older than `oldest_kept` and the logs not needed
/// to replay from it (directories are the `version-2` ones).
pub fn purge_older_snapshots(
    log_dir: &Path,
    snap_dir: &Path,
    oldest_kept: &Path,
) -> io::Result<Vec<PathBuf>> {
    let least_zxid = zxid_from_path(oldest_kept, SNAPSHOT_FILE_PREFIX);
    let retained_logs: HashSet<PathBuf> = get_log_files(data_dir::list_dir(log_dir)?, least_zxid)
        .into_iter()
        .collect();
    // A name with the prefix but no parsable zxid counts as -1 and goes,
    // as in ZooKeeper.
    let older = |files: Vec<PathBuf>, prefix: &str| -> Vec<PathBuf> {
        let dotted = format!("{}.", prefix);
        files
            .into_iter()
            .filter(|f| {
                f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&dotted))
                    && !retained_logs.contains(f)
                    && zxid_from_path(f, prefix) < least_zxid
            })
            .collect()
    };
    let mut doomed = older(data_dir::list_dir(log_dir)?, LOG_FILE_PREFIX);
    doomed.extend(older(data_dir::list_dir(snap_dir)?, SNAPSHOT_FILE_PREFIX));

    let mut deleted = Vec::new();
    for f in doomed {
        let modified = fs::metadata(&f)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        info!(
            "Removing file: {} (modified {}s after the epoch)",
            f.display(),
            modified
        );
        match fs::remove_file(&f) {
            Ok(()) => deleted.push(f),
            Err(e) => error!("Failed to remove {}: {}", f.display(), e),
        }
    }
    Ok(deleted)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    /// A file that passes the snapshot validity check.
    pub(crate) fn fake_snapshot(dir: &Path, zxid: i64) {
        let mut b = vec![0u8; 20];
        b.extend_from_slice(&[0, 0, 0, 1, b'/']);
        fs::write(dir.join(data_dir::make_snapshot_name(zxid)), b).unwrap();
    }

    pub(crate) fn fake_log(dir: &Path, zxid: i64) {
        fs::write(dir.join(data_dir::make_log_name(zxid)), b"ZKLG").unwrap();
    }

    pub(crate) fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn keeps_n_snapshots_and_the_logs_to_replay_them() {
        let root = TestDir::new("purge");
        let v2 = root.path().join(VERSION_DIR);
        fs::create_dir_all(&v2).unwrap();
        for z in [0x10, 0x20, 0x30, 0x40, 0x50] {
            fake_snapshot(&v2, z);
        }
        for z in [0x1, 0x18, 0x25, 0x2f, 0x45] {
            fake_log(&v2, z);
        }
        // Not a valid snapshot: ignored when counting, deleted when older.
        fs::write(v2.join("snapshot.5"), b"torn").unwrap();
        fs::write(v2.join("currentEpoch"), b"1").unwrap();
        let deleted = purge(root.path(), root.path(), 3).unwrap();
        assert_eq!(deleted.len(), 6);
        // Kept: snapshots 30, 40, 50; log.2f may hold txns after 0x30.
        assert_eq!(
            names(&v2),
            [
                "currentEpoch",
                "log.2f",
                "log.45",
                "snapshot.30",
                "snapshot.40",
                "snapshot.50"
            ]
        );
        // A second purge finds nothing more to do.
        assert!(purge(root.path(), root.path(), 3).unwrap().is_empty());
    }

    #[test]
    fn separate_log_dir_and_a_log_starting_at_the_snapshot() {
        let data = TestDir::new("purge-data");
        let logs = TestDir::new("purge-logs");
        let (sv2, lv2) = (data.path().join(VERSION_DIR), logs.path().join(VERSION_DIR));
        fs::create_dir_all(&sv2).unwrap();
        fs::create_dir_all(&lv2).unwrap();
        for z in [1, 2, 3, 4] {
            fake_snapshot(&sv2, z);
            fake_log(&lv2, z);
        }
        purge(logs.path(), data.path(), 3).unwrap();
        assert_eq!(names(&sv2), ["snapshot.2", "snapshot.3", "snapshot.4"]);
        assert_eq!(names(&lv2), ["log.2", "log.3", "log.4"]);
    }

    #[test]
    fn refuses_fewer_than_three_and_spares_dirs_without_snapshots() {
        let root = TestDir::new("purge-few");
        let err = purge(root.path(), root.path(), 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let v2 = root.path().join(VERSION_DIR);
        fs::create_dir_all(&v2).unwrap();
        fake_log(&v2, 1);
        assert!(purge(root.path(), root.path(), 3).unwrap().is_empty());
        assert_eq!(names(&v2), ["log.1"]);
    }
}
