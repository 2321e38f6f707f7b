//! ZooKeeper's `DatadirCleanupManager`: runs a purge
//! ([`crate::purge_txn_log::purge`]) at start and then every
//! `autopurge.purgeInterval` hours on its own thread ("PurgeTask").

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use log::{error, info, warn};

use crate::purge_txn_log::purge;

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
    use crate::data_dir::VERSION_DIR;
    use crate::purge_txn_log::tests::{fake_snapshot, names};
    use crate::test_dir::TestDir;
    use std::fs;
    use std::time::Instant;

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
