//! Removing old snapshots and logs (ZooKeeper's `PurgeTxnLog` and
//! `DatadirCleanupManager`).
//!
//! Purging keeps the N newest valid snapshots and every log file needed to
//! replay from the oldest of them: that is the newest log starting at or
//! before the oldest kept snapshot (it may hold txns after the snapshot)
//! and every later log. Everything older goes. N is at least 3, so a
//! damaged newest snapshot still leaves two to fall back to.
//!
//! [`DatadirCleanupManager`] runs a purge at start and then every
//! `autopurge.purgeInterval` hours on its own thread ("PurgeTask").

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use log::{error, info, warn};

use crate::data_dir::{self, zxid_from_path, LOG_FILE_PREFIX, SNAPSHOT_FILE_PREFIX, VERSION_DIR};
use crate::snapshot::find_n_valid_snapshots;
use crate::txn_log::get_log_files;

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

/// The life cycle of the purge thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeTaskStatus {
    /// `start` not called yet.
    NotStarted,
    /// The purge thread runs.
    Started,
    /// Shut down.
    Completed,
}

/// Shared between the manager and its thread: the stop flag the thread
/// sleeps on, and a count of finished purges.
struct PurgeSignal {
    stop: Mutex<bool>,
    wake: Condvar,
    runs: AtomicU64,
}

/// Purges the data directories periodically, on a thread of its own.
pub struct DatadirCleanupManager {
    snap_dir: PathBuf,
    data_log_dir: PathBuf,
    snap_retain_count: usize,
    purge_interval_hours: i32,
    period: Option<Duration>,
    status: PurgeTaskStatus,
    signal: Arc<PurgeSignal>,
    thread: Option<JoinHandle<()>>,
}

impl DatadirCleanupManager {
    /// `snap_dir` and `data_log_dir` are the configured `dataDir` and
    /// `dataLogDir`; `purge_interval_hours` is `autopurge.purgeInterval`
    /// (0 or less: never purge).
    pub fn new(
        snap_dir: impl Into<PathBuf>,
        data_log_dir: impl Into<PathBuf>,
        snap_retain_count: usize,
        purge_interval_hours: i32,
    ) -> Self {
        info!("autopurge.snapRetainCount set to {}", snap_retain_count);
        info!("autopurge.purgeInterval set to {}", purge_interval_hours);
        let period = (purge_interval_hours > 0)
            .then(|| Duration::from_secs(purge_interval_hours as u64 * 3600));
        DatadirCleanupManager {
            snap_dir: snap_dir.into(),
            data_log_dir: data_log_dir.into(),
            snap_retain_count,
            purge_interval_hours,
            period,
            status: PurgeTaskStatus::NotStarted,
            signal: Arc::new(PurgeSignal {
                stop: Mutex::new(false),
                wake: Condvar::new(),
                runs: AtomicU64::new(0),
            }),
            thread: None,
        }
    }

    /// Replaces the hourly period (tests use milliseconds).
    pub fn set_period(&mut self, period: Duration) {
        self.period = Some(period);
    }

    /// Starts the purge thread, which purges at once and then every
    /// period. Does nothing when the interval is 0 or the thread runs.
    pub fn start(&mut self) -> io::Result<()> {
        if self.status == PurgeTaskStatus::Started {
            warn!("Purge task is already running.");
            return Ok(());
        }
        let Some(period) = self.period else {
            info!("Purge task is not scheduled.");
            return Ok(());
        };
        *self.signal.stop.lock().unwrap_or_else(|e| e.into_inner()) = false;
        let signal = Arc::clone(&self.signal);
        let (logs, snaps, count) = (
            self.data_log_dir.clone(),
            self.snap_dir.clone(),
            self.snap_retain_count,
        );
        let handle = std::thread::Builder::new()
            .name("PurgeTask".into())
            .spawn(move || purge_loop(&signal, &logs, &snaps, count, period))?;
        self.thread = Some(handle);
        self.status = PurgeTaskStatus::Started;
        Ok(())
    }

    /// Stops the purge thread and waits for it (a purge under way
    /// finishes first).
    pub fn shutdown(&mut self) {
        if self.status != PurgeTaskStatus::Started {
            warn!("Purge task not started. Ignoring shutdown!");
            return;
        }
        info!("Shutting down purge task.");
        *self.signal.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.signal.wake.notify_all();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                error!("Purge task panicked");
            }
        }
        self.status = PurgeTaskStatus::Completed;
    }

    /// Where the task is in its life (`getPurgeTaskStatus`).
    pub fn status(&self) -> PurgeTaskStatus {
        self.status
    }

    /// How many purges have finished.
    pub fn purge_runs(&self) -> u64 {
        self.signal.runs.load(Ordering::SeqCst)
    }

    /// The snapshot directory it purges.
    pub fn snap_dir(&self) -> &Path {
        &self.snap_dir
    }

    /// The txn log directory it purges.
    pub fn data_log_dir(&self) -> &Path {
        &self.data_log_dir
    }

    /// `autopurge.purgeInterval`, hours (0: purging off).
    pub fn purge_interval(&self) -> i32 {
        self.purge_interval_hours
    }

    /// `autopurge.snapRetainCount`: how many snapshots are kept.
    pub fn snap_retain_count(&self) -> usize {
        self.snap_retain_count
    }
}

impl Drop for DatadirCleanupManager {
    fn drop(&mut self) {
        if self.status == PurgeTaskStatus::Started {
            self.shutdown();
        }
    }
}

fn purge_loop(signal: &PurgeSignal, logs: &Path, snaps: &Path, count: usize, period: Duration) {
    loop {
        info!("Purge task started.");
        match purge(logs, snaps, count) {
            Ok(deleted) => info!("Purge task completed: {} files removed.", deleted.len()),
            Err(e) => error!("Error occurred while purging: {}", e),
        }
        signal.runs.fetch_add(1, Ordering::SeqCst);
        let stop = signal.stop.lock().unwrap_or_else(|e| e.into_inner());
        let (stop, _) = signal
            .wake
            .wait_timeout_while(stop, period, |stop| !*stop)
            .unwrap_or_else(|e| e.into_inner());
        if *stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;
    use std::time::Instant;

    /// A file that passes the snapshot validity check.
    fn fake_snapshot(dir: &Path, zxid: i64) {
        let mut b = vec![0u8; 20];
        b.extend_from_slice(&[0, 0, 0, 1, b'/']);
        fs::write(dir.join(data_dir::make_snapshot_name(zxid)), b).unwrap();
    }

    fn fake_log(dir: &Path, zxid: i64) {
        fs::write(dir.join(data_dir::make_log_name(zxid)), b"ZKLG").unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
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

    #[test]
    fn cleanup_manager_purges_on_start_and_stops_on_shutdown() {
        let root = TestDir::new("purge-mgr");
        let v2 = root.path().join(VERSION_DIR);
        fs::create_dir_all(&v2).unwrap();
        for z in 1..=5 {
            fake_snapshot(&v2, z);
        }
        let mut off = DatadirCleanupManager::new(root.path(), root.path(), 3, 0);
        off.start().unwrap();
        assert_eq!(off.status(), PurgeTaskStatus::NotStarted);

        let mut mgr = DatadirCleanupManager::new(root.path(), root.path(), 3, 1);
        mgr.set_period(Duration::from_millis(20));
        mgr.start().unwrap();
        assert_eq!(mgr.status(), PurgeTaskStatus::Started);
        let deadline = Instant::now() + Duration::from_secs(10);
        while mgr.purge_runs() < 2 {
            assert!(Instant::now() < deadline, "purge thread did not run twice");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(names(&v2), ["snapshot.3", "snapshot.4", "snapshot.5"]);
        mgr.shutdown();
        assert_eq!(mgr.status(), PurgeTaskStatus::Completed);
        // shutdown joined the thread: nothing can purge any more.
        assert!(mgr.thread.is_none());
        mgr.shutdown(); // a second shutdown only warns
        assert_eq!(mgr.status(), PurgeTaskStatus::Completed);
    }
}
