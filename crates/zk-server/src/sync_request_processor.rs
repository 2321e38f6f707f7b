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
use zk_persistence::file_snap::FileSnap;
use zk_persistence::file_txn_log::FileTxnLog;
use zk_persistence::file_txn_snap_log::TxnLogWriter;
use zk_persistence::zk_database::SnapshotTrigger;

use crate::fatal_error::FatalError;
use crate::request::Request;
use crate::server_metrics::ServerMetrics;
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
        ServerMetrics::get().batch_size.add(batch.len() as i64);
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
                let started = std::time::Instant::now();
                let written =
                    snap.serialize_fuzzy(&*db, &sessions, zxid, false, SliceLimits::default());
                ServerMetrics::get()
                    .snapshot_time
                    .add(started.elapsed().as_millis() as i64);
                if let Err(e) = written {
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
    use zk_persistence::records::{DeleteTxn, TxnHeader};
    use zk_persistence::txn::Txn;
    use zk_persistence::zk_database::ZKDatabase;
    use zk_persistence::zoo_defs::op_code;

    use super::*;
    use crate::test_harness::TempDir;
    use crate::zookeeper_server::ZooKeeperServerConfig;

    fn delete(zxid: i64) -> Request {
        let mut r = Request::new(1, zxid as i32, op_code::DELETE, Vec::new());
        r.hdr = Some(TxnHeader {
            client_id: 1,
            cxid: zxid as i32,
            zxid,
            time: 0,
            txn_type: op_code::DELETE,
        });
        r.txn = Some(Txn::Delete(DeleteTxn {
            path: format!("/n{zxid}"),
        }));
        r
    }

    /// Txns go to the database's own log: what the processor logged is
    /// what the database reads back, and the requests pass on.
    #[test]
    fn txns_are_logged_through_the_database_log() {
        let dir = TempDir::new("sync-log");
        let db = ZKDatabase::new(FileTxnSnapLog::open(&dir.0, &dir.0).unwrap());
        db.snap_log().txn_log().set_prealloc_size(4096);
        let zks = ZooKeeperServer::new(ZooKeeperServerConfig::with_tick_time(2000), db);
        let opts = SyncOptions {
            persist: true,
            ..SyncOptions::default()
        };
        let (tx, rx) = mpsc::channel();
        let (next, passed) = mpsc::channel();
        let t = SyncRequestProcessor::start(Arc::clone(&zks), opts, rx, next).unwrap();
        for z in 1..=3 {
            tx.send(delete(z)).unwrap();
        }
        for z in 1..=3 {
            let r = passed.recv_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(r.hdr.map(|h| h.zxid), Some(z));
        }
        drop(tx);
        t.join().unwrap();
        let db = zks.db().read().unwrap();
        assert_eq!(db.snap_log().get_last_logged_zxid(), 3);
        assert_eq!(db.txn_count(), 3);
        assert!(zks.fatal_error().is_none());
    }

    /// A log that cannot be written stops the processor with a
    /// TxnLogError reported to the server, which is then in ERROR; the
    /// request is not passed on (so never acknowledged).
    #[test]
    fn a_txn_log_failure_is_reported_to_the_server() {
        let dir = TempDir::new("sync-fatal");
        let db = ZKDatabase::new(FileTxnSnapLog::open(&dir.0, &dir.0).unwrap());
        // No directory to create the log file in.
        std::fs::remove_dir_all(dir.0.join("version-2")).unwrap();
        let zks = ZooKeeperServer::new(ZooKeeperServerConfig::with_tick_time(2000), db);
        let opts = SyncOptions {
            persist: true,
            ..SyncOptions::default()
        };
        let (tx, rx) = mpsc::channel();
        let (next, passed) = mpsc::channel();
        let t = SyncRequestProcessor::start(Arc::clone(&zks), opts, rx, next).unwrap();
        tx.send(delete(1)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while zks.fatal_error().is_none() {
            assert!(Instant::now() < deadline, "no fatal error reported");
            std::thread::sleep(Duration::from_millis(10));
        }
        t.join().unwrap();
        match zks.fatal_error() {
            Some(FatalError::TxnLogError(m)) => {
                assert!(m.contains("Severe unrecoverable error"), "{m}")
            }
            other => panic!("expected a TxnLogError, got {other:?}"),
        }
        assert_eq!(zks.state(), crate::zookeeper_server::State::Error);
        assert!(passed.try_recv().is_err(), "a request passed a failed log");
    }
}
