//! The `Messenger` of `FastLeaderElection`: two threads between the
//! election loop and the `QuorumCnxManager`.
//!
//! - `WorkerSender` takes `ToSend` votes from `sendqueue`, encodes them
//!   (version 2 layout, wire.rs) and hands them to `QuorumCnxManager::to_send`.
//! - `WorkerReceiver` takes raw frames from the manager's `recvQueue`,
//!   decodes them, and either queues the notification for `lookForLeader`
//!   (we are LOOKING) or answers the sender itself: a non-voter always gets
//!   our current vote, and a LOOKING voter gets it while we are settled
//!   (or our proposal, when it is behind our round while we look too).

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use log::{debug, error, info, warn};
use zk_config::QuorumVerifier;

use crate::fast_leader_election::FleInner;
use crate::notification::{config_from_string, Notification, ToSend};
use crate::quorum_cnx_manager::lock;
use crate::vote::ServerState;
use crate::wire::{NotificationError, NotificationMessage};

/// How long each worker waits on its queue before rechecking `stop`.
const POLL: Duration = Duration::from_millis(3000);

/// 3.8's `FastLeaderElection.Messenger`: owns the election's two message
/// threads. They stop when `FastLeaderElection::shutdown` sets
/// `messenger_stop` (3.8's `Messenger.halt`).
pub(crate) struct Messenger {
    fle: Arc<FleInner>,
}

impl Messenger {
    pub(crate) fn new(fle: Arc<FleInner>) -> Messenger {
        Messenger { fle }
    }

    /// 3.8's `Messenger.start`: the `WorkerSender[myid=N]` and
    /// `WorkerReceiver[myid=N]` threads; their handles go to the election's
    /// `threads` so that shutdown can join them.
    pub(crate) fn start(&self) {
        let id = self.fle.peer.my_id();
        let mut threads = lock(&self.fle.threads);
        let sender = WorkerSender {
            fle: Arc::clone(&self.fle),
        };
        match std::thread::Builder::new()
            .name(format!("WorkerSender[myid={id}]"))
            .spawn(move || sender.run())
        {
            Ok(h) => threads.push(h),
            Err(e) => log::error!("cannot start WorkerSender of server {id}: {e}"),
        }
        let receiver = WorkerReceiver {
            fle: Arc::clone(&self.fle),
        };
        match std::thread::Builder::new()
            .name(format!("WorkerReceiver[myid={id}]"))
            .spawn(move || receiver.run())
        {
            Ok(h) => threads.push(h),
            Err(e) => log::error!("cannot start WorkerReceiver of server {id}: {e}"),
        }
    }
}

/// 3.8's `Messenger.WorkerSender`: encodes each queued vote and hands it
/// to the manager.
pub(crate) struct WorkerSender {
    fle: Arc<FleInner>,
}

impl WorkerSender {
    /// The thread body: until `messenger_stop`, each `ToSend` from
    /// `sendqueue` is encoded in the version 2 layout and given to
    /// `QuorumCnxManager::to_send`.
    pub(crate) fn run(&self) {
        let fle = &self.fle;
        while !fle.messenger_stop.load(Ordering::SeqCst) {
            let Some(m) = fle.sendqueue.poll(POLL) else {
                continue;
            };
            let bytes = NotificationMessage::build(
                m.state,
                m.leader,
                m.zxid,
                m.election_epoch,
                m.peer_epoch,
                &m.config_data,
            );
            fle.manager.to_send(m.sid, bytes);
        }
        info!("WorkerSender is down");
    }
}

/// 3.8's `Messenger.WorkerReceiver`: decodes each frame from the manager,
/// answers non-voters itself and hands voters' notifications on.
pub(crate) struct WorkerReceiver {
    fle: Arc<FleInner>,
}

impl WorkerReceiver {
    /// The thread body: until `messenger_stop` (or a newer configuration
    /// the peer took), each frame from the manager's `recvQueue`.
    pub(crate) fn run(&self) {
        let fle = &self.fle;
        while !fle.messenger_stop.load(Ordering::SeqCst) {
            let Some(response) = fle.manager.poll_recv_queue(POLL) else {
                continue;
            };
            let sid = response.sid;
            let Some(m) = decode_response(sid, &response.buffer) else {
                continue;
            };
            let ControlFlow::Continue(rqv) = fle.message_config(sid, &m) else {
                break;
            };
            if !fle.valid_voter(sid) {
                // Observers (and servers of no config of ours) learn the
                // leader from our answer; their votes never count.
                let current = fle.peer.current_vote();
                fle.sendqueue.offer(ToSend {
                    leader: current.id,
                    zxid: current.zxid,
                    election_epoch: fle.logicalclock.load(Ordering::SeqCst),
                    state: fle.peer.peer_state(),
                    sid,
                    peer_epoch: current.peer_epoch,
                    config_data: fle.config_bytes(),
                });
                continue;
            }
            debug!(
                "Receive new notification message. My id = {}",
                fle.peer.my_id()
            );
            let Some(state) = ServerState::from_wire(m.state) else {
                continue;
            };
            fle.received_notification(Notification {
                version: m.version,
                leader: m.leader,
                zxid: m.zxid,
                election_epoch: m.election_epoch,
                state,
                sid,
                peer_epoch: m.peer_epoch,
                qv: rqv,
            });
        }
        info!("WorkerReceiver is down");
    }
}

/// What `WorkerReceiver` does with one decoded message.
impl FleInner {
    /// The configuration a message carries, if readable. `Break` when it
    /// was newer, the peer took it, and this election is shutting down.
    fn message_config(
        &self,
        sid: i64,
        m: &NotificationMessage,
    ) -> ControlFlow<(), Option<Arc<QuorumVerifier>>> {
        let Some(bytes) = &m.config else {
            info!("Backward compatibility mode (before reconfig), server id: {sid}");
            return ControlFlow::Continue(None);
        };
        match config_from_string(&String::from_utf8_lossy(bytes)) {
            Ok(qv) => {
                if self.received_config(sid, &qv) {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(Some(Arc::new(qv)))
            }
            Err(e) => {
                error!("Something went wrong while processing config received from {sid}: {e}");
                ControlFlow::Continue(None)
            }
        }
    }

    /// A voter's notification: queued for `lookForLeader` while we look
    /// (pulling a LOOKING peer of an older round into ours); while we are
    /// settled, a LOOKING peer is kept and told whom we follow.
    fn received_notification(&self, n: Notification) {
        let sid = n.sid;
        let state = n.state;
        // Held while the state is read and the vote queued or kept:
        // see `heard_while_settled`.
        let mut heard = self
            .heard_while_settled
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let my_state = self.peer.peer_state();
        info!("Notification: my state:{my_state}; {n}");
        if my_state == ServerState::Looking {
            let their_round = n.election_epoch;
            heard.remove(&sid);
            self.recvqueue.offer(n);
            drop(heard);
            if state == ServerState::Looking
                && their_round < self.logicalclock.load(Ordering::SeqCst)
            {
                // Pull a LOOKING peer of an older round into ours.
                let v = self.get_vote();
                self.sendqueue.offer(ToSend {
                    leader: v.id,
                    zxid: v.zxid,
                    election_epoch: self.logicalclock.load(Ordering::SeqCst),
                    state: my_state,
                    sid,
                    peer_epoch: v.peer_epoch,
                    config_data: self.config_bytes(),
                });
            }
        } else if state == ServerState::Looking {
            heard.insert(sid, (std::time::Instant::now(), n));
            drop(heard);
            // We have settled: tell the looking peer whom we follow.
            self.peer.report_looking_sid(sid);
            let current = self.peer.current_vote();
            debug!(
                "Sending new notification. My id ={} recipient={sid} zxid=0x{:x} leader={} config version = {:x}",
                self.peer.my_id(),
                current.zxid,
                current.id,
                self.peer.quorum_verifier().version()
            );
            self.sendqueue.offer(ToSend {
                leader: current.id,
                zxid: current.zxid,
                election_epoch: current.election_epoch,
                state: my_state,
                sid,
                peer_epoch: current.peer_epoch,
                config_data: self.config_bytes(),
            });
        }
    }

    /// A sender's configuration newer than our committed one, while we
    /// look, goes to the peer; true when the peer took it and this
    /// election must give way to a new one.
    fn received_config(&self, sid: i64, qv: &QuorumVerifier) -> bool {
        let current = self.peer.quorum_verifier();
        if qv.version() <= current.version() {
            return false;
        }
        info!(
            "{} Received version: {:x} my version: {:x} (from server {sid})",
            self.peer.my_id(),
            qv.version(),
            current.version()
        );
        if self.peer.peer_state() != ServerState::Looking {
            debug!("Skip processReconfig(), state: {}", self.peer.peer_state());
            return false;
        }
        if self.peer.process_reconfig(qv.clone()) {
            info!("restarting leader election");
            self.shutting_down_le.store(true, Ordering::SeqCst);
            self.shutdown();
            return true;
        }
        false
    }
}

/// Decodes one frame from `sid`, logging a short or malformed one (then
/// `None`) and the old layouts' compatibility modes.
fn decode_response(sid: i64, buffer: &[u8]) -> Option<NotificationMessage> {
    let m = match NotificationMessage::decode(buffer) {
        Ok(m) => m,
        Err(NotificationError::TooShort(n)) => {
            error!("Got a short response from server {sid}: {n}");
            return None;
        }
        Err(e) => {
            warn!(
                "Skipping the processing of a partial / malformed response message sent by sid={sid} (message length: {}): {e}",
                buffer.len()
            );
            return None;
        }
    };
    match buffer.len() {
        28 => info!("Backward compatibility mode (28 bits), server id: {sid}"),
        40 => info!("Backward compatibility mode (36 bits), server id: {sid}"),
        _ => {}
    }
    Some(m)
}
