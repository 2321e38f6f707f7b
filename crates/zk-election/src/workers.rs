//! `SendWorker` and `RecvWorker`: the two threads of one live connection.
//!
//! The `SendWorker` owns the connection's lifetime: `finish` closes the
//! socket (which also ends the `RecvWorker`'s blocking read), wakes the
//! send-queue wait and removes the worker from `senderWorkerMap` (only if
//! it is still the registered one: a replacement may already be there).

use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use log::{debug, warn};

use crate::quorum_cnx_manager::{lock, Inner, Message};
use crate::wire::{frame, read_frame};

/// How long a `SendWorker` waits on its queue before rechecking `running`.
const SEND_POLL: Duration = Duration::from_millis(1000);

pub(crate) struct SendWorker {
    /// Distinguishes this worker from a later one for the same sid.
    id: u64,
    pub(crate) sid: i64,
    stream: TcpStream,
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
        stream: TcpStream,
        reader: BufReader<TcpStream>,
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
        let sender_started = self.spawn(format!("SendWorker:{sid}"), move || {
            inner.run_send_worker(&worker)
        });
        let (inner, worker) = (Arc::clone(self), Arc::clone(&sw));
        let receiver_started = self.spawn(format!("RecvWorker:{sid}"), move || {
            inner.run_recv_worker(&worker, reader)
        });
        if !(sender_started && receiver_started) {
            sw.finish(self);
        }
    }

    fn run_send_worker(&self, sw: &SendWorker) {
        self.thread_cnt.fetch_add(1, Ordering::SeqCst);
        let sid = sw.sid;
        let queue = self.send_queue(sid);
        // The previous connection may have died with this message unsent.
        if queue.is_empty() {
            let last = lock(&self.last_message_sent).get(&sid).cloned();
            if let Some(b) = last {
                debug!("Attempting to send lastMessage to sid={sid}");
                if let Err(e) = sw.send(&b) {
                    warn!(
                        "Failed to send last message to server {sid} at {}: {e}",
                        sw.remote
                    );
                    sw.finish(self);
                }
            }
        }
        debug!(
            "SendWorker thread started towards {sid}. myId: {}",
            self.my_sid
        );
        while sw.is_running() && !self.shutdown.is_set() {
            let Some(b) = queue.poll(SEND_POLL) else {
                continue;
            };
            lock(&self.last_message_sent).insert(sid, Arc::clone(&b));
            if let Err(e) = sw.send(&b) {
                warn!(
                    "Exception when using channel: for id {sid} my id = {} ({}): {e}",
                    self.my_sid, sw.remote
                );
                break;
            }
        }
        sw.finish(self);
        self.thread_cnt.fetch_sub(1, Ordering::SeqCst);
        debug!(
            "Send worker leaving thread id {sid} my id = {}",
            self.my_sid
        );
    }

    fn run_recv_worker(&self, sw: &SendWorker, mut reader: BufReader<TcpStream>) {
        self.thread_cnt.fetch_add(1, Ordering::SeqCst);
        let sid = sw.sid;
        debug!(
            "RecvWorker thread towards {sid} started. myId: {}",
            self.my_sid
        );
        while sw.recv_running.load(Ordering::SeqCst) && !self.shutdown.is_set() {
            match read_frame(&mut reader) {
                Ok(buffer) => {
                    self.recv_queue.offer(Message { sid, buffer });
                }
                Err(e) => {
                    if sw.is_running() && !self.shutdown.is_set() {
                        warn!(
                            "Connection broken for id {sid} ({}), my id = {}: {e}",
                            sw.remote, self.my_sid
                        );
                    }
                    break;
                }
            }
        }
        debug!(
            "Interrupting SendWorker thread from RecvWorker. sid: {sid}. myId: {}",
            self.my_sid
        );
        sw.finish(self);
        self.thread_cnt.fetch_sub(1, Ordering::SeqCst);
    }
}
