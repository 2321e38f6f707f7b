//! `SyncRequestProcessor`: makes writes durable before they are applied.
//!
//! Txns are appended to the log as they arrive and committed (one fsync)
//! when no more requests are waiting or a batch reaches `max_batch`: group
//! commit. Requests are passed on only after the commit that covers them;
//! a read that arrives while writes wait for a commit waits with them, so
//! that a session's replies stay in order. Every `snapCount` txns (with
//! 3.8's randomisation) the log is rolled and a snapshot is written on a
//! background thread. That snapshot is fuzzy, as 3.8's are: the thread
//! holds the database's read lock for about a millisecond at a time
//! (`FileSnap::serialize_fuzzy`), so applying txns, which needs the write
//! lock, never waits for the whole tree to be written.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use log::{error, info, warn};
use zk_persistence::data_tree::SliceLimits;
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::snapshot::FileSnap;
use zk_persistence::zk_database::SnapshotTrigger;

use crate::request::Request;
use crate::zookeeper_server::ZooKeeperServer;

/// The status a txn log that cannot be written or synced ends the process
/// with: 3.8's `ExitCode.UNEXPECTED_ERROR`, which its SyncThread reports
/// as it stops. Nothing after the failed write is acknowledged; the log
/// holds every txn acknowledged before it.
const UNEXPECTED_ERROR_EXIT: i32 = 1;

/// Where and how to log.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// `dataDir` and `dataLogDir`; `None` keeps everything in memory
    /// (tests of the other stages).
    pub dirs: Option<(PathBuf, PathBuf)>,
    /// `zookeeper.snapCount`.
    pub snap_count: u64,
    /// `zookeeper.snapSizeLimitInKb` in bytes (0: off).
    pub snap_size_bytes: u64,
    /// `zookeeper.forceSync`.
    pub force_sync: bool,
    /// `zookeeper.preAllocSize` in bytes.
    pub prealloc_bytes: u64,
    /// `zookeeper.maxBatchSize`.
    pub max_batch: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dirs: None,
            snap_count: 100_000,
            snap_size_bytes: 4_194_304 * 1024,
            force_sync: true,
            prealloc_bytes: 64 * 1024 * 1024,
            max_batch: 1000,
        }
    }
}

pub struct SyncRequestProcessor {
    zks: Arc<ZooKeeperServer>,
    opts: SyncOptions,
    log: Option<FileTxnSnapLog>,
    next: Sender<Request>,
    to_flush: Vec<Request>,
    trigger: SnapshotTrigger,
    txn_count: u64,
    snapshotting: Arc<AtomicBool>,
}

impl SyncRequestProcessor {
    pub fn start(
        zks: Arc<ZooKeeperServer>,
        opts: SyncOptions,
        rx: Receiver<Request>,
        next: Sender<Request>,
    ) -> std::io::Result<JoinHandle<()>> {
        let log = match &opts.dirs {
            Some((data_dir, log_dir)) => {
                let mut l = FileTxnSnapLog::open(log_dir, data_dir)?;
                l.txn_log().set_force_sync(opts.force_sync);
                l.txn_log().set_prealloc_size(opts.prealloc_bytes);
                Some(l)
            }
            None => None,
        };
        let seed = crate::prep_request_processor::wall_time_ms() as u64;
        let mut p = SyncRequestProcessor {
            zks,
            trigger: SnapshotTrigger::new(opts.snap_count, opts.snap_size_bytes, seed),
            opts,
            log,
            next,
            to_flush: Vec::new(),
            txn_count: 0,
            snapshotting: Arc::new(AtomicBool::new(false)),
        };
        std::thread::Builder::new()
            .name("SyncThread:0".into())
            .spawn(move || p.run(rx))
    }

    fn run(&mut self, rx: Receiver<Request>) {
        loop {
            let r = if self.to_flush.is_empty() {
                match rx.recv() {
                    Ok(r) => r,
                    Err(_) => break,
                }
            } else {
                match rx.try_recv() {
                    Ok(r) => r,
                    Err(TryRecvError::Empty) => {
                        self.flush();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            };
            if !self.append(&r) && self.to_flush.is_empty() {
                // A read with nothing waiting ahead of it.
                if self.next.send(r).is_err() {
                    return;
                }
                continue;
            }
            self.to_flush.push(r);
            if self.to_flush.len() >= self.opts.max_batch {
                self.flush();
            }
        }
        self.flush();
        if let Some(l) = self.log.as_mut() {
            let _ = l.close();
        }
        info!("SyncRequestProcessor exited!");
    }

    /// Logs the request's txn, if it has one; false for reads.
    fn append(&mut self, r: &Request) -> bool {
        let (Some(hdr), Some(txn)) = (&r.hdr, &r.txn) else {
            return false;
        };
        let Some(log) = self.log.as_mut() else {
            return true;
        };
        if let Err(e) = log.append_txn(hdr, txn, r.txn_digest.as_ref()) {
            error!(
                "Severe unrecoverable error, exiting: cannot log txn 0x{:x}: {}",
                hdr.zxid, e
            );
            std::process::exit(UNEXPECTED_ERROR_EXIT);
        }
        self.txn_count += 1;
        if self
            .trigger
            .should_snapshot(self.txn_count, log.total_log_size())
        {
            self.trigger.reset_thresholds();
            self.txn_count = 0;
            if let Err(e) = log.roll_log() {
                error!("Cannot roll the txn log: {}", e);
            }
            log.set_total_log_size(0);
            self.snapshot();
        }
        true
    }

    /// Starts a snapshot on its own thread unless one is running.
    fn snapshot(&self) {
        let Some((data_dir, _)) = &self.opts.dirs else {
            return;
        };
        if self.snapshotting.swap(true, Ordering::SeqCst) {
            warn!("Too busy to snap, skipping");
            return;
        }
        let busy = Arc::clone(&self.snapshotting);
        let db = Arc::clone(self.zks.db());
        let snap_dir = data_dir.join("version-2");
        let spawned = std::thread::Builder::new()
            .name("Snapshot Thread".into())
            .spawn(move || {
                // The name's zxid and the sessions are read together; the
                // tree is then walked a slice at a time while
                // FinalRequestProcessor goes on applying txns, and restore
                // replays the txns after that zxid over the result.
                let (zxid, sessions) = {
                    let db = db.read().unwrap_or_else(|e| e.into_inner());
                    (
                        db.data_tree_last_processed_zxid(),
                        db.sessions_with_timeouts().clone(),
                    )
                };
                info!("Snapshotting: 0x{:x} to {}", zxid, snap_dir.display());
                let mut snap = FileSnap::new(snap_dir);
                if let Err(e) =
                    snap.serialize_fuzzy(&*db, &sessions, zxid, false, SliceLimits::default())
                {
                    error!("Unexpected exception while taking a snapshot: {}", e);
                }
                busy.store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.snapshotting.store(false, Ordering::SeqCst);
        }
    }

    /// Commits what is appended and passes the waiting requests on.
    fn flush(&mut self) {
        if self.to_flush.is_empty() {
            return;
        }
        if let Some(log) = self.log.as_mut() {
            if let Err(e) = log.commit() {
                error!(
                    "Severe unrecoverable error, exiting: cannot commit the txn log: {}",
                    e
                );
                std::process::exit(UNEXPECTED_ERROR_EXIT);
            }
            if let Some(ms) = log.txn_log().last_sync_elapsed_ms() {
                self.zks.stats.fsync_done(ms);
            }
        }
        for r in self.to_flush.drain(..) {
            if self.next.send(r).is_err() {
                return;
            }
        }
    }
}
