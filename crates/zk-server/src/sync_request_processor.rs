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
//!
//! The log is the database's own ([`ZKDatabase::txn_log_writer`]): this
//! thread takes its lock once per batch, for the appends and the commit,
//! and never takes the database's lock. A log that cannot be written ends
//! the thread with [`FatalError::TxnLogError`], reported to the server.
//!
//! [`ZKDatabase::txn_log_writer`]: zk_persistence::zk_database::ZKDatabase::txn_log_writer

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use log::{error, info, warn};
use zk_persistence::data_tree::SliceLimits;
use zk_persistence::file_txn_snap_log::TxnLogWriter;
use zk_persistence::snapshot::FileSnap;
use zk_persistence::txn_log::FileTxnLog;
use zk_persistence::zk_database::SnapshotTrigger;

use crate::fatal_error::FatalError;
use crate::request::Request;
use crate::zookeeper_server::ZooKeeperServer;

/// When to snapshot and how to batch.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Whether txns go to the database's txn log and snapshots are
    /// taken; false keeps everything in memory (tests of the other
    /// stages).
    pub persist: bool,
    /// `zookeeper.snapCount`.
    pub snap_count: u64,
    /// `zookeeper.snapSizeLimitInKb` in bytes (0: off).
    pub snap_size_bytes: u64,
    /// `zookeeper.maxBatchSize`.
    pub max_batch: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            persist: false,
            snap_count: 100_000,
            snap_size_bytes: 4_194_304 * 1024,
            max_batch: 1000,
        }
    }
}

/// See the module docs.
pub struct SyncRequestProcessor {
    zks: Arc<ZooKeeperServer>,
    opts: SyncOptions,
    /// The database's txn log (`None`: in memory).
    log: Option<TxnLogWriter>,
    /// Where the snapshot thread writes (`dataDir/version-2`).
    snap_dir: PathBuf,
    next: Sender<Request>,
    to_flush: Vec<Request>,
    trigger: SnapshotTrigger,
    snapshotting: Arc<AtomicBool>,
}

impl SyncRequestProcessor {
    /// Starts the `SyncThread`, taking requests from `rx` and passing each
    /// to `next` once the commit that covers it is done.
    pub fn start(
        zks: Arc<ZooKeeperServer>,
        opts: SyncOptions,
        rx: Receiver<Request>,
        next: Sender<Request>,
    ) -> std::io::Result<JoinHandle<()>> {
        let (log, snap_dir) = {
            let db = zks.db().read().unwrap_or_else(|e| e.into_inner());
            let log = opts.persist.then(|| db.txn_log_writer());
            (log, db.snap_log().snap_dir().to_path_buf())
        };
        if let Some(writer) = &log {
            // The snapshot counts start with this processor, as they did
            // when each one had a log of its own.
            writer.lock().reset_counts();
        }
        let seed = crate::prep_request_processor::wall_time_ms() as u64;
        let mut p = SyncRequestProcessor {
            zks,
            trigger: SnapshotTrigger::new(opts.snap_count, opts.snap_size_bytes, seed),
            opts,
            log,
            snap_dir,
            next,
            to_flush: Vec::new(),
            snapshotting: Arc::new(AtomicBool::new(false)),
        };
        std::thread::Builder::new()
            .name("SyncThread:0".into())
            .spawn(move || {
                if let Err(e) = p.run(rx) {
                    p.zks.report_fatal_error(e);
                }
            })
    }

    fn run(&mut self, rx: Receiver<Request>) -> Result<(), FatalError> {
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
                        if !self.flush()? {
                            return Ok(());
                        }
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            };
            if !has_txn(&r) && self.to_flush.is_empty() {
                // A read with nothing waiting ahead of it.
                if self.next.send(r).is_err() {
                    return Ok(());
                }
                continue;
            }
            self.to_flush.push(r);
            if self.to_flush.len() >= self.opts.max_batch && !self.flush()? {
                return Ok(());
            }
        }
        self.flush()?;
        if let Some(writer) = &self.log {
            let _ = writer.lock().close();
        }
        info!("SyncRequestProcessor exited!");
        Ok(())
    }

    /// Logs the waiting requests' txns and commits them (one fsync), under
    /// one hold of the log's lock, then passes the requests on. False when
    /// the next processor is gone.
    fn flush(&mut self) -> Result<bool, FatalError> {
        if self.to_flush.is_empty() {
            return Ok(true);
        }
        let mut batch = std::mem::take(&mut self.to_flush);
        // A clone of the handle (an Arc), so that the guard does not
        // borrow `self`.
        if let Some(writer) = self.log.clone() {
            let mut log = writer.lock();
            for r in &batch {
                self.append(&mut log, r)?;
            }
            log.commit().map_err(|e| {
                fatal(format!(
                    "Severe unrecoverable error, exiting: cannot commit the txn log: {e}"
                ))
            })?;
            if let Some(ms) = log.last_sync_elapsed_ms() {
                self.zks.stats.fsync_done(ms);
            }
        }
        for r in batch.drain(..) {
            if self.next.send(r).is_err() {
                return Ok(false);
            }
        }
        // Kept for its capacity.
        self.to_flush = batch;
        Ok(true)
    }

    /// Appends the request's txn, if it has one; every `snapCount` txns
    /// (randomised) rolls the log and starts a snapshot.
    fn append(&mut self, log: &mut FileTxnLog, r: &Request) -> Result<(), FatalError> {
        let (Some(hdr), Some(txn)) = (&r.hdr, &r.txn) else {
            return Ok(());
        };
        log.append_txn(hdr, txn, r.txn_digest.as_ref())
            .map_err(|e| {
                fatal(format!(
                    "Severe unrecoverable error, exiting: cannot log txn 0x{:x}: {e}",
                    hdr.zxid
                ))
            })?;
        if self
            .trigger
            .should_snapshot(log.txn_count(), log.total_log_size())
        {
            self.trigger.reset_thresholds();
            if let Err(e) = log.roll_log() {
                error!("Cannot roll the txn log: {}", e);
            }
            log.reset_counts();
            self.snapshot(self.snap_dir.clone());
        }
        Ok(())
    }

    /// Starts a snapshot on its own thread unless one is running.
    fn snapshot(&self, snap_dir: PathBuf) {
        if self.snapshotting.swap(true, Ordering::SeqCst) {
            warn!("Too busy to snap, skipping");
            return;
        }
        let busy = Arc::clone(&self.snapshotting);
        let db = Arc::clone(self.zks.db());
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
                    // 3.8's takeSnapshot ends the process here
                    // (TXNLOG_ERROR_TAKING_SNAPSHOT); this server goes on
                    // as it always has: the log still holds every txn, and
                    // the next roll tries again.
                    error!("Unexpected exception while taking a snapshot: {}", e);
                }
                busy.store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.snapshotting.store(false, Ordering::SeqCst);
        }
    }
}

/// Whether `r` carries a txn to log (reads do not).
fn has_txn(r: &Request) -> bool {
    r.hdr.is_some() && r.txn.is_some()
}

/// Logs a txn log failure as it is found and wraps it for the server.
fn fatal(message: String) -> FatalError {
    error!("{message}");
    FatalError::TxnLogError(message)
}
