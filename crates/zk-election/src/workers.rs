//! `SendWorker` and `RecvWorker`: the two threads of one live connection.
//!
//! The `SendWorker` owns the connection's lifetime: `finish` closes the
//! socket (which also ends the `RecvWorker`'s blocking read), wakes the
//! send-queue wait and removes the worker from `senderWorkerMap` (only if
//! it is still the registered one: a replacement may already be there).

use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use log::{debug, warn};

use crate::quorum_cnx_manager::{lock, ElectionReader, Inner, Message};
use crate::unified_server_socket::UnifiedSocket;
use crate::wire::{frame, read_frame};

/// How long a `SendWorker` waits on its queue before rechecking `running`.
const SEND_POLL: Duration = Duration::from_millis(1000);

/// 3.8's `QuorumCnxManager.SendWorker`: the writing half of one
/// connection, and the entry of `senderWorkerMap` for its sid. Its thread
/// is [`SendWorker::run`]; the `RecvWorker` of the same connection shares
/// it to stop both.
pub(crate) struct SendWorker {
    /// Distinguishes this worker from a later one for the same sid.
    id: u64,
    pub(crate) sid: i64,
    stream: UnifiedSocket,
    running: AtomicBool,
    recv_running: AtomicBool,
    remote: String,
}

impl SendWorker {
    /// `finish`: idempotent; closes the connection and unregisters.
    pub(crate) fn finish(&self, mgr: &Inner) -> bool {
        debug!(
            "Calling SendWorker.finish for {} ({})",
            self.sid, self.remote
        );
        if !self.running.swap(false, Ordering::SeqCst) {
            return false;
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        mgr.send_queue(self.sid).interrupt();
        self.recv_running.store(false, Ordering::SeqCst);
        let mut map = lock(&mgr.sender_worker_map);
        if map.get(&self.sid).is_some_and(|w| w.id == self.id) {
            debug!("Removing entry from senderWorkerMap sid={}", self.sid);
            map.remove(&self.sid);
        }
        false
    }

    fn send(&self, msg: &[u8]) -> std::io::Result<()> {
        (&self.stream).write_all(&frame(msg))?;
        (&self.stream).flush()
    }

    fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

impl Inner {
    /// Registers a new connection for `sid` (replacing any older one) and
    /// starts its two threads.
    pub(crate) fn start_workers(
        self: &Arc<Self>,
        stream: UnifiedSocket,
        reader: ElectionReader,
        sid: i64,
    ) {
        // The RecvWorker blocks in read until the socket closes.
        if let Err(e) = stream.set_read_timeout(None) {
            warn!("Error while accessing socket for {sid}: {e}");
            return;
        }
        let remote = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".to_string());
        let sw = Arc::new(SendWorker {
            id: self.next_worker_id.fetch_add(1, Ordering::Relaxed),
            sid,
            stream,
            running: AtomicBool::new(true),
            recv_running: AtomicBool::new(true),
            remote,
        });
        let old = lock(&self.sender_worker_map).insert(sid, Arc::clone(&sw));
        if let Some(old) = old {
            old.finish(self);
        }
        self.send_queue(sid);
        debug!(
            "server {} connected to server {sid} at {}",
            self.my_sid, sw.remote
        );

        let (inner, worker) = (Arc::clone(self), Arc::clone(&sw));
        let sender_started = self.spawn(format!("SendWorker:{sid}"), move || worker.run(&inner));
        let recv_worker = RecvWorker {
            mgr: Arc::clone(self),
            sw: Arc::clone(&sw),
            reader,
        };
        let receiver_started = self.spawn(format!("RecvWorker:{sid}"), move || recv_worker.run());
        if !(sender_started && receiver_started) {
            sw.finish(self);
        }
    }
}

impl SendWorker {
    /// The thread body: first the last message the previous connection
    /// may have lost, then the sid's send queue until the connection or the
    /// manager stops; `finish` on the way out.
    pub(crate) fn run(&self, mgr: &Inner) {
        mgr.thread_cnt.fetch_add(1, Ordering::SeqCst);
        let sid = self.sid;
        let queue = mgr.send_queue(sid);
        // The previous connection may have died with this message unsent.
        if queue.is_empty() {
            let last = lock(&mgr.last_message_sent).get(&sid).cloned();
            if let Some(b) = last {
                debug!("Attempting to send lastMessage to sid={sid}");
                if let Err(e) = self.send(&b) {
                    warn!(
                        "Failed to send last message to server {sid} at {}: {e}",
                        self.remote
                    );
                    self.finish(mgr);
                }
            }
        }
        debug!(
            "SendWorker thread started towards {sid}. myId: {}",
            mgr.my_sid
        );
        while self.is_running() && !mgr.shutdown.is_set() {
            let Some(b) = queue.poll(SEND_POLL) else {
                continue;
            };
            lock(&mgr.last_message_sent).insert(sid, Arc::clone(&b));
            if let Err(e) = self.send(&b) {
                warn!(
                    "Exception when using channel: for id {sid} my id = {} ({}): {e}",
                    mgr.my_sid, self.remote
                );
                break;
            }
        }
        self.finish(mgr);
        mgr.thread_cnt.fetch_sub(1, Ordering::SeqCst);
        debug!("Send worker leaving thread id {sid} my id = {}", mgr.my_sid);
    }
}

/// 3.8's `QuorumCnxManager.RecvWorker`: the reading half of one connection.
pub(crate) struct RecvWorker {
    mgr: Arc<Inner>,
    sw: Arc<SendWorker>,
    reader: ElectionReader,
}

impl RecvWorker {
    /// The thread body: each frame read goes to the manager's `recvQueue`
    /// until the socket fails or closes, then the `SendWorker` is finished.
    pub(crate) fn run(mut self) {
        let (mgr, sw) = (&*self.mgr, &*self.sw);
        mgr.thread_cnt.fetch_add(1, Ordering::SeqCst);
        let sid = sw.sid;
        debug!(
            "RecvWorker thread towards {sid} started. myId: {}",
            mgr.my_sid
        );
        while sw.recv_running.load(Ordering::SeqCst) && !mgr.shutdown.is_set() {
            match read_frame(&mut self.reader) {
                Ok(buffer) => {
                    mgr.recv_queue.offer(Message { sid, buffer });
                }
                Err(e) => {
                    if sw.is_running() && !mgr.shutdown.is_set() {
                        warn!(
                            "Connection broken for id {sid} ({}), my id = {}: {e}",
                            sw.remote, mgr.my_sid
                        );
                    }
                    break;
                }
            }
        }
        debug!(
            "Interrupting SendWorker thread from RecvWorker. sid: {sid}. myId: {}",
            mgr.my_sid
        );
        sw.finish(mgr);
        mgr.thread_cnt.fetch_sub(1, Ordering::SeqCst);
    }
}
