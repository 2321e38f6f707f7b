//! `LearnerHandler`: the leader's side of one learner connection.
//!
//! Two threads per learner:
//!
//! - `LearnerHandler-<addr>` reads. It runs quorum SASL (`authServer`),
//!   then the handshake (FOLLOWERINFO or
//!   OBSERVERINFO → LEADERINFO → ACKEPOCH), chooses and queues the sync
//!   ([`sync_follower`]), writes a
//!   snapshot itself when one is needed, queues NEWLEADER, waits for its
//!   ACK and for the leader's server to start, queues UPTODATE, and then
//!   reads ACK, PING, REVALIDATE and REQUEST packets until the connection
//!   ends.
//! - `Sender-<addr>` writes everything queued, flushing whenever the queue
//!   runs dry, until the connection closes or the handler shuts down.
//!
//! Before the sender starts, the reader thread owns the output stream
//! (LEADERINFO, SNAP and the snapshot); afterwards only the sender writes.

use std::collections::VecDeque;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use zk_election::{PeekableReader, UnifiedSocket};

use log::{debug, error, info, warn};
use zk_config::LearnerType;
use zk_persistence::jute::{InputArchive, OutputArchive, Record};
use zk_persistence::zoo_defs::op_code;
use zk_server::request::Request;

use crate::leader::Leader;
use crate::quorum_packet::{
    epoch_of_zxid, input_archive, int_payload, make_zxid, packet_type, parse_int_payload,
    parse_learner_info, parse_revalidate_request, parse_touches, read_packet,
    revalidate_reply_payload, ForwardedRequest, QuorumPacket, StateSummary, PROTOCOL_VERSION,
    SNAP_SIGNATURE,
};
use crate::sync_follower::sync_follower;

type Output = OutputArchive<BufWriter<UnifiedSocket>>;
type Input = InputArchive<PeekableReader<BufReader<UnifiedSocket>>>;

/// What the sender thread takes from the queue.
#[derive(Default)]
struct Queue {
    packets: VecDeque<QuorumPacket>,
    /// The "proposal of death": stop after what is already written.
    dead: bool,
    /// COMMITs held back between NEWLEADER and UPTODATE (see
    /// [`Queue::hold_commits_from`]); `None` outside that window.
    held_commits: Option<Vec<QuorumPacket>>,
}

impl Queue {
    fn push(&mut self, p: QuorumPacket) {
        let is_commit = matches!(
            p.packet_type,
            packet_type::COMMIT | packet_type::COMMITANDACTIVATE
        );
        match &mut self.held_commits {
            Some(held) if is_commit => held.push(p),
            _ => self.packets.push_back(p),
        }
    }

    /// Queues `newleader` and holds back every COMMIT queued after it
    /// until [`Queue::release_commits_after`].
    ///
    /// A 3.8 learner hands the proposals it has received to its log when
    /// NEWLEADER arrives and forgets them (`packetsNotCommitted.clear()`
    /// in `Learner.syncWithLeader`); a COMMIT that then arrives before
    /// UPTODATE, with no newer PROPOSAL in between, finds nothing and the
    /// learner dies of a NullPointerException (ZOOKEEPER-4394), to sync
    /// again. Held until UPTODATE, the same COMMITs reach it once it
    /// serves, where it commits its logged proposals in order. Any learner
    /// takes them the same way; nothing waits on them meanwhile.
    fn hold_commits_from(&mut self, newleader: QuorumPacket) {
        assert!(
            self.held_commits.is_none(),
            "COMMITs already held when queueing NEWLEADER 0x{:x}",
            newleader.zxid
        );
        self.packets.push_back(newleader);
        self.held_commits = Some(Vec::new());
    }

    /// Queues `uptodate`, then the COMMITs held since NEWLEADER, in order.
    fn release_commits_after(&mut self, uptodate: QuorumPacket) {
        self.packets.push_back(uptodate);
        let held = self.held_commits.take().unwrap_or_default();
        self.packets.extend(held);
    }
}

/// Tracks how long the oldest unacknowledged proposal to this learner has
/// waited (`SyncLimitCheck`); only two are tracked, as in 3.8.
#[derive(Default)]
struct SyncLimitCheck {
    started: bool,
    current: Option<(i64, Instant)>,
    next: Option<(i64, Instant)>,
}

impl SyncLimitCheck {
    fn update_proposal(&mut self, zxid: i64, at: Instant) {
        if !self.started {
            return;
        }
        if self.current.is_none() {
            self.current = Some((zxid, at));
        } else {
            self.next = Some((zxid, at));
        }
    }

    fn update_ack(&mut self, zxid: i64) {
        if self.current.is_some_and(|(z, _)| z == zxid) {
            self.current = self.next.take();
        } else if self.next.is_some_and(|(z, _)| z == zxid) {
            let cur = self.current.map_or(0, |(z, _)| z);
            warn!("ACK for 0x{zxid:x} received before ACK for 0x{cur:x}");
            self.next = None;
        }
    }

    fn check(&self, now: Instant, limit: Duration) -> bool {
        self.current
            .is_none_or(|(_, t)| now.saturating_duration_since(t) < limit)
    }
}

/// See the module docs.
pub struct LearnerHandler {
    leader: Arc<Leader>,
    stream: TcpStream,
    remote: String,
    sid: AtomicI64,
    version: AtomicI32,
    is_observer: AtomicBool,
    queue: Mutex<Queue>,
    queued: Condvar,
    sending_started: AtomicBool,
    alive: AtomicBool,
    closed: AtomicBool,
    tick_of_next_ack_deadline: AtomicI32,
    sync_limit_check: Mutex<SyncLimitCheck>,
    packets_received: AtomicU64,
    packets_sent: AtomicU64,
    /// PINGs queued to the learner, and PINGs it sent back. A learner
    /// sends a PING only to answer one, in order, and skips those that
    /// reach it mid-sync, so its n-th answer is to our n-th PING or a
    /// later one.
    pings_sent: AtomicU64,
    pings_answered: AtomicU64,
    /// `pings_sent` when the leader last found it had been paused.
    pings_sent_before_pause: AtomicU64,
    last_zxid: AtomicI64,
    /// DIFF, TRUNC or SNAP once the sync is chosen (0 before).
    sync_type: AtomicI32,
    /// REQUEST packets read (the `observers` command's `requests`).
    pub(crate) requests_received: AtomicU64,
    /// When the connection was accepted (the `observers` command's
    /// `established`).
    pub(crate) established: std::time::SystemTime,
}

impl LearnerHandler {
    /// Starts the reader thread for an accepted connection.
    pub(crate) fn start(leader: Arc<Leader>, stream: TcpStream) -> io::Result<()> {
        let remote = stream
            .peer_addr()
            .map_or_else(|_| "<unknown>".to_string(), |a: SocketAddr| a.to_string());
        let h = Arc::new(LearnerHandler {
            leader: leader.clone(),
            stream,
            remote: remote.clone(),
            sid: AtomicI64::new(0),
            version: AtomicI32::new(1),
            is_observer: AtomicBool::new(false),
            queue: Mutex::new(Queue::default()),
            queued: Condvar::new(),
            sending_started: AtomicBool::new(false),
            alive: AtomicBool::new(true),
            closed: AtomicBool::new(false),
            tick_of_next_ack_deadline: AtomicI32::new(0),
            sync_limit_check: Mutex::new(SyncLimitCheck::default()),
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            pings_sent: AtomicU64::new(0),
            pings_answered: AtomicU64::new(0),
            pings_sent_before_pause: AtomicU64::new(0),
            last_zxid: AtomicI64::new(-1),
            sync_type: AtomicI32::new(0),
            requests_received: AtomicU64::new(0),
            established: std::time::SystemTime::now(),
        });
        leader.add_learner_handler(&h);
        let h2 = h.clone();
        let spawned = thread::Builder::new()
            .name(format!("LearnerHandler-{remote}"))
            .spawn(move || h2.run());
        if let Err(e) = spawned {
            h.shutdown();
            return Err(e);
        }
        Ok(())
    }

    /// The learner's server id (negative for one that sent none).
    pub fn sid(&self) -> i64 {
        self.sid.load(Ordering::SeqCst)
    }

    /// The Zab protocol version the learner speaks.
    pub fn version(&self) -> i32 {
        self.version.load(Ordering::SeqCst)
    }

    /// Observer for an OBSERVERINFO, participant otherwise.
    pub fn learner_type(&self) -> LearnerType {
        if self.is_observer.load(Ordering::SeqCst) {
            LearnerType::Observer
        } else {
            LearnerType::Participant
        }
    }

    /// The learner's address, as the socket reports it.
    pub fn remote_address(&self) -> &str {
        &self.remote
    }

    /// Packets read from the learner.
    pub fn packets_received(&self) -> u64 {
        self.packets_received.load(Ordering::Relaxed)
    }

    /// Packets written to the learner.
    pub fn packets_sent(&self) -> u64 {
        self.packets_sent.load(Ordering::Relaxed)
    }

    /// The zxid of the last zxid-bearing packet sent.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::Relaxed)
    }

    /// How this learner was synced: [`packet_type::DIFF`],
    /// [`packet_type::TRUNC`] or [`packet_type::SNAP`]; `None` before the
    /// choice.
    pub fn sync_type(&self) -> Option<i32> {
        match self.sync_type.load(Ordering::SeqCst) {
            0 => None,
            t => Some(t),
        }
    }

    /// Packets waiting for the sender thread.
    pub fn queued_packets(&self) -> usize {
        self.queue.lock().unwrap().packets.len()
    }

    /// Packets waiting for the sender thread and their approximate size
    /// in bytes, as 3.8's `packetSize` counts it (28 bytes of packet
    /// overhead plus the payload).
    pub(crate) fn queued_packets_and_size(&self) -> (usize, u64) {
        let q = self.queue.lock().unwrap();
        let bytes = q.packets.iter().map(|p| 28 + p.data().len() as u64).sum();
        (q.packets.len(), bytes)
    }

    /// `resetObserverConnectionStats`: the counters `orst` zeroes.
    pub(crate) fn reset_observer_connection_stats(&self) {
        self.packets_received.store(0, Ordering::Relaxed);
        self.packets_sent.store(0, Ordering::Relaxed);
        self.requests_received.store(0, Ordering::Relaxed);
        self.last_zxid.store(-1, Ordering::Relaxed);
    }

    /// Alive and heard from within its ack deadline.
    pub fn synced(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
            && self.leader.peer().tick() <= self.tick_of_next_ack_deadline.load(Ordering::SeqCst)
    }

    /// False once the handler shut down.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    pub(crate) fn queue_packet(&self, p: QuorumPacket) {
        let mut q = self.queue.lock().unwrap();
        if q.dead {
            return;
        }
        q.push(p);
        self.queued.notify_one();
    }

    /// Queues a PING carrying the last proposed zxid, or drops the learner
    /// when its oldest proposal has waited longer than syncLimit.
    pub(crate) fn ping(&self) {
        if !self.sending_started.load(Ordering::SeqCst) {
            // A learner mid-sync would take a PING for a sync packet.
            return;
        }
        let limit = Duration::from_millis(self.leader.peer().sync_timeout_ms());
        if self
            .sync_limit_check
            .lock()
            .unwrap()
            .check(Instant::now(), limit)
        {
            let id = self.leader.last_proposed();
            // Counted before it is queued, so an answer never outruns
            // the count.
            self.pings_sent.fetch_add(1, Ordering::SeqCst);
            self.queue_packet(QuorumPacket::new(packet_type::PING, id, None));
        } else {
            warn!(
                "Closing connection to peer {} due to transaction timeout.",
                self.sid()
            );
            self.shutdown();
        }
    }

    /// The leader found it had been paused: only answers to PINGs sent
    /// from now on show that this learner still follows it. (Called on
    /// the tick loop's thread, the one that sends PINGs.)
    pub(crate) fn note_pings_before_pause(&self) {
        self.pings_sent_before_pause
            .store(self.pings_sent.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Whether the learner has answered a PING sent after the pause the
    /// leader last noted. What the socket held from before the pause
    /// answers older PINGs, so it does not count.
    pub(crate) fn answered_ping_after_pause(&self) -> bool {
        let answered = self.pings_answered.load(Ordering::SeqCst);
        let sent = self.pings_sent.load(Ordering::SeqCst);
        if answered > sent {
            // Outside the protocol (a PING it was never sent): its
            // answers cannot be matched with our PINGs.
            warn!(
                "Learner {} sent {answered} PINGs, more than the {sent} it was sent",
                self.sid()
            );
            return false;
        }
        answered > self.pings_sent_before_pause.load(Ordering::SeqCst)
    }

    /// Stops both threads: the queue ends with the proposal of death and
    /// the socket is closed.
    pub fn shutdown(&self) {
        {
            let mut q = self.queue.lock().unwrap();
            q.packets.clear();
            q.dead = true;
            self.queued.notify_all();
        }
        self.close_socket();
        self.alive.store(false, Ordering::SeqCst);
        self.leader.remove_learner_handler(self);
    }

    fn close_socket(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            info!("Closing socket to learner {} ({})", self.sid(), self.remote);
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }

    fn run(self: Arc<Self>) {
        if let Err(e) = self.clone().serve() {
            if self.closed.load(Ordering::SeqCst) || self.leader.is_shut_down() {
                info!("LearnerHandler for sid {} ended: {}", self.sid(), e);
            } else {
                error!(
                    "Unexpected exception in LearnerHandler for sid {} ({}): {}",
                    self.sid(),
                    self.remote,
                    e
                );
            }
        }
        warn!("******* GOODBYE {} ********", self.remote);
        self.shutdown();
    }

    /// The three Zab phases with this learner, each returning what the
    /// next needs; the broadcast phase ends only with the connection.
    fn serve(self: Arc<Self>) -> io::Result<()> {
        let peer = self.leader.peer().clone();
        self.tick_of_next_ack_deadline
            .store(self.leader.tick_of_initial_ack_deadline(), Ordering::SeqCst);
        // sslQuorum / portUnification: the handshake runs here, on the
        // handler's thread, so a slow or hostile peer holds up only its
        // own connection, within initLimit (the read timeout set on
        // accept).
        let init_timeout = Duration::from_millis(peer.init_timeout_ms().max(1));
        let sock = peer
            .quorum_tls()
            .accept(self.stream.try_clone()?, init_timeout)
            .map_err(|e| io::Error::new(e.kind(), format!("learner at {}: {e}", self.remote)))?;
        if sock.is_tls() {
            info!(
                "TLS handshake complete with learner at {}: {}",
                self.remote,
                sock.tls_description()
            );
        }
        // Quorum SASL, here too on the handler's thread (3.8 runs it in
        // the acceptor, holding up every other learner).
        let mut din = PeekableReader::new(BufReader::new(sock.try_clone()?));
        if let Err(e) = peer.settings().auth_server.authenticate(&sock, &mut din) {
            error!(
                "Server failed to authenticate quorum learner, addr: {}, closing connection: {e}",
                self.remote
            );
            return Err(io::Error::new(
                e.kind(),
                format!("Authentication failure of learner at {}: {e}", self.remote),
            ));
        }
        let mut ia = input_archive(din, peer.settings().max_buffer);
        let mut oa: Output = OutputArchive::new(BufWriter::new(sock));
        let (new_leader_zxid, ss) = self.discovery(&mut ia, &mut oa)?;
        self.synchronization(&mut ia, oa, new_leader_zxid, ss.last_zxid)?;
        self.broadcast(&mut ia)
    }

    /// Discovery: FOLLOWERINFO/OBSERVERINFO in, the epoch to propose
    /// agreed with a quorum, LEADERINFO out and ACKEPOCH in (a pre-1.0
    /// learner skips the last two). Returns the new epoch's zero zxid and
    /// what the learner says it holds.
    fn discovery(
        self: &Arc<Self>,
        ia: &mut Input,
        oa: &mut Output,
    ) -> io::Result<(i64, StateSummary)> {
        let leader = &self.leader;
        let qp = read_packet(ia, &self.remote)?;
        if qp.packet_type != packet_type::FOLLOWERINFO
            && qp.packet_type != packet_type::OBSERVERINFO
        {
            return Err(invalid(format!(
                "First packet {qp} from {} is not FOLLOWERINFO or OBSERVERINFO!",
                self.remote
            )));
        }
        self.read_learner_info(&qp)?;
        let sid = self.sid();
        let last_accepted_epoch = epoch_of_zxid(qp.zxid);
        let new_epoch = leader.get_epoch_to_propose(sid, last_accepted_epoch)?;
        let new_leader_zxid = make_zxid(new_epoch, 0);

        let ss = if self.version() < PROTOCOL_VERSION {
            // A pre-1.0 learner never sends ACKEPOCH: its FOLLOWERINFO zxid
            // stands for both.
            StateSummary {
                current_epoch: epoch_of_zxid(qp.zxid),
                last_zxid: qp.zxid,
            }
        } else {
            let li = QuorumPacket::new(
                packet_type::LEADERINFO,
                new_leader_zxid,
                Some(int_payload(PROTOCOL_VERSION)),
            );
            li.serialize(&mut *oa)?;
            oa.get_mut().flush()?;
            let ack = read_packet(ia, &self.remote)?;
            if ack.packet_type != packet_type::ACKEPOCH {
                return Err(invalid(format!("{ack} from sid {sid} is not ACKEPOCH")));
            }
            StateSummary {
                current_epoch: parse_int_payload(ack.data(), "ACKEPOCH")? as i64,
                last_zxid: ack.zxid,
            }
        };
        leader.wait_for_epoch_ack(sid, ss)?;
        Ok((new_leader_zxid, ss))
    }

    /// Takes the learner's id, protocol version and role from its
    /// FOLLOWERINFO/OBSERVERINFO; refuses one with a newer configuration.
    fn read_learner_info(&self, qp: &QuorumPacket) -> io::Result<()> {
        let peer = self.leader.peer();
        let info = parse_learner_info(qp.data());
        if qp.data.is_some() {
            if let Some(sid) = info.sid {
                self.sid.store(sid, Ordering::SeqCst);
            }
            if let Some(v) = info.protocol_version {
                self.version.store(v, Ordering::SeqCst);
            }
            if let Some(cv) = info.config_version {
                if cv > peer.quorum_verifier().version() {
                    return Err(invalid(
                        "Follower is ahead of the leader (has a later activated configuration)"
                            .into(),
                    ));
                }
            }
        } else {
            self.sid
                .store(self.leader.next_anonymous_sid(), Ordering::SeqCst);
        }
        let sid = self.sid();
        match peer.quorum_verifier().all_members().get(&sid).cloned() {
            Some(s) => info!("Follower sid: {} : info : {}", sid, s),
            None => info!(
                "Follower sid: {} not in the current config {:x}",
                sid,
                peer.quorum_verifier().version()
            ),
        }
        if qp.packet_type == packet_type::OBSERVERINFO {
            self.is_observer.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Synchronization: DIFF, TRUNC or SNAP with what forwarding started
    /// from, NEWLEADER, the learner's ACK of it with a quorum's, then
    /// UPTODATE once the leader's server runs. From here on the sender
    /// thread owns `oa`.
    fn synchronization(
        self: &Arc<Self>,
        ia: &mut Input,
        mut oa: Output,
        new_leader_zxid: i64,
        peer_last_zxid: i64,
    ) -> io::Result<()> {
        let leader = &self.leader;
        let peer = leader.peer();
        let sid = self.sid();
        let need_snap = self.queue_sync(&mut oa, peer_last_zxid)?;

        debug!("Sending NEWLEADER message to {sid}");
        let new_leader = QuorumPacket::new(
            packet_type::NEWLEADER,
            new_leader_zxid,
            (self.version() >= PROTOCOL_VERSION).then(|| peer.quorum_verifier_bytes()),
        );
        if self.version() < PROTOCOL_VERSION {
            new_leader.serialize(&mut oa)?;
        } else {
            self.queue.lock().unwrap().hold_commits_from(new_leader);
        }
        oa.get_mut().flush()?;
        self.start_sending(oa)?;

        let ack = read_packet(ia, &self.remote)?;
        if ack.packet_type != packet_type::ACK {
            return Err(invalid(format!(
                "Next packet from sid {sid} was supposed to be an ACK, but received packet: {ack}"
            )));
        }
        debug!("Received NEWLEADER-ACK message from {sid}");
        leader.wait_for_new_leader_ack(sid, ack.zxid)?;
        self.sync_limit_check.lock().unwrap().started = true;
        info!(
            "Learner sid {} synced by {} (peer last zxid 0x{:x})",
            sid,
            if need_snap { "SNAP" } else { "DIFF/TRUNC" },
            peer_last_zxid
        );
        self.stream
            .set_read_timeout(Some(Duration::from_millis(peer.sync_timeout_ms().max(1))))?;
        leader.wait_for_startup()?;
        debug!("Sending UPTODATE message to {sid}");
        let mut q = self.queue.lock().unwrap();
        q.release_commits_after(QuorumPacket::new(packet_type::UPTODATE, -1, None));
        self.queued.notify_one();
        Ok(())
    }

    /// Chooses the sync (`syncFollower`), queues it and starts forwarding;
    /// a SNAP is written to `oa` at once. Returns whether it was a SNAP.
    fn queue_sync(self: &Arc<Self>, oa: &mut Output, peer_last_zxid: i64) -> io::Result<bool> {
        let peer = self.leader.peer();
        let sid = self.sid();
        // The read lock spans the choice, start_forwarding and (for a
        // SNAP) the snapshot, so the learner gets exactly the txns up
        // to the point forwarding starts from.
        let db = peer.db().read().unwrap();
        let decision = sync_follower(&db, peer_last_zxid, sid, peer.settings().sync);
        let kind = match decision.packets.first() {
            _ if decision.need_snap => packet_type::SNAP,
            Some(p) => p.packet_type,
            None => packet_type::DIFF,
        };
        self.sync_type.store(kind, Ordering::SeqCst);
        zk_server::server_metrics::ServerMetrics::get()
            .sync_count(decision.need_snap)
            .inc();
        for p in decision.packets {
            self.queue_packet(p);
        }
        debug!(
            "Start forwarding 0x{:x} for peer sid: {}",
            decision.current_zxid, sid
        );
        let leader_last_zxid = self.leader.start_forwarding(self, decision.current_zxid);
        if decision.need_snap {
            let zxid_to_send = db.data_tree_last_processed_zxid();
            QuorumPacket::new(packet_type::SNAP, zxid_to_send, None).serialize(&mut *oa)?;
            oa.get_mut().flush()?;
            info!(
                "Sending snapshot last zxid of peer is 0x{:x}, zxid of leader is 0x{:x}, send zxid of db as 0x{:x}",
                peer_last_zxid, leader_last_zxid, zxid_to_send
            );
            db.serialize_snapshot(&mut *oa)?;
            oa.write_string(SNAP_SIGNATURE)?;
            oa.get_mut().flush()?;
        }
        Ok(decision.need_snap)
    }

    /// Broadcast: reads ACK, PING, REVALIDATE and REQUEST until the
    /// connection ends.
    fn broadcast(self: &Arc<Self>, ia: &mut Input) -> io::Result<()> {
        loop {
            let qp = read_packet(ia, &self.remote)?;
            self.tick_of_next_ack_deadline
                .store(self.leader.tick_of_next_ack_deadline(), Ordering::SeqCst);
            self.packets_received.fetch_add(1, Ordering::Relaxed);
            self.process_packet(qp)?;
        }
    }

    /// One packet of the broadcast phase.
    fn process_packet(self: &Arc<Self>, qp: QuorumPacket) -> io::Result<()> {
        let leader = &self.leader;
        let sid = self.sid();
        match qp.packet_type {
            packet_type::ACK => {
                if self.learner_type() == LearnerType::Observer {
                    debug!("Received ACK from Observer {sid}");
                }
                self.sync_limit_check.lock().unwrap().update_ack(qp.zxid);
                leader.process_ack(sid, qp.zxid);
            }
            packet_type::PING => {
                for (session, timeout) in parse_touches(qp.data())? {
                    leader.touch(session, timeout);
                }
                self.pings_answered.fetch_add(1, Ordering::SeqCst);
                leader.ping_answered();
            }
            packet_type::REVALIDATE => {
                let (session, timeout) = parse_revalidate_request(qp.data())?;
                let valid = leader.revalidate_session(session, timeout);
                info!(
                    "Session 0x{session:x} of learner {sid} revalidated: {}",
                    if valid { "valid" } else { "invalid" }
                );
                self.queue_packet(QuorumPacket::new(
                    packet_type::REVALIDATE,
                    -1,
                    Some(revalidate_reply_payload(session, valid)),
                ));
            }
            packet_type::REQUEST => {
                // A `sync` too goes through the leader's chain, behind
                // this learner's earlier requests: answered here at
                // once, its SYNC could overtake the COMMIT of a write
                // the learner sent just before it, and a 3.8 follower
                // then waits for that sync forever.
                let req = ForwardedRequest::parse(qp.data())?;
                self.requests_received.fetch_add(1, Ordering::Relaxed);
                leader.submit_learner_request(self, req, qp.authinfo.0.unwrap_or_default());
            }
            _ => warn!("unexpected quorum packet from sid {sid}, type: {qp}"),
        }
        Ok(())
    }

    /// The handler a learner's `sync` came through, when `r` is one (3.8's
    /// `LearnerSyncRequest`): its SYNC answer goes back that way.
    pub(crate) fn of_learner_sync(r: &Request) -> Option<Arc<LearnerHandler>> {
        if r.op != op_code::SYNC {
            return None;
        }
        r.owner.clone()?.downcast::<LearnerHandler>().ok()
    }

    fn start_sending(self: &Arc<Self>, oa: Output) -> io::Result<()> {
        let me = self.clone();
        thread::Builder::new()
            .name(format!("Sender-{}", self.remote))
            .spawn(move || {
                if let Err(e) = me.send_packets(oa) {
                    if !me.closed.load(Ordering::SeqCst) {
                        error!("Exception while sending packets in LearnerHandler: {e}");
                    }
                    me.close_socket();
                }
            })?;
        self.sending_started.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn send_packets(&self, mut oa: Output) -> io::Result<()> {
        loop {
            let p = {
                let mut q = self.queue.lock().unwrap();
                if q.packets.is_empty() && !q.dead {
                    drop(q);
                    oa.get_mut().flush()?;
                    q = self.queue.lock().unwrap();
                    while q.packets.is_empty() && !q.dead {
                        q = self.queued.wait(q).unwrap();
                    }
                }
                if q.dead {
                    return Ok(());
                }
                q.packets.pop_front().expect("queue is not empty")
            };
            if p.packet_type == packet_type::PROPOSAL {
                self.sync_limit_check
                    .lock()
                    .unwrap()
                    .update_proposal(p.zxid, Instant::now());
            }
            if p.zxid > 0 {
                self.last_zxid.store(p.zxid, Ordering::Relaxed);
            }
            p.serialize(&mut oa)?;
            self.packets_sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(q: &Queue) -> Vec<(i32, i64)> {
        q.packets.iter().map(|p| (p.packet_type, p.zxid)).collect()
    }

    /// A COMMIT queued between NEWLEADER and UPTODATE reaches the learner
    /// after UPTODATE, in order; PROPOSALs and everything else keep their
    /// place (ZOOKEEPER-4394 in 3.8 learners).
    #[test]
    fn commits_between_newleader_and_uptodate_follow_uptodate() {
        use packet_type::{COMMIT, NEWLEADER, PROPOSAL, UPTODATE};
        let mut q = Queue::default();
        q.push(QuorumPacket::new(PROPOSAL, 0x105, None));
        q.push(QuorumPacket::new(COMMIT, 0x104, None));
        q.hold_commits_from(QuorumPacket::new(NEWLEADER, 0x200000000, None));
        q.push(QuorumPacket::new(COMMIT, 0x105, None));
        q.push(QuorumPacket::new(PROPOSAL, 0x106, None));
        q.push(QuorumPacket::new(COMMIT, 0x106, None));
        q.release_commits_after(QuorumPacket::new(UPTODATE, -1, None));
        q.push(QuorumPacket::new(COMMIT, 0x107, None));
        assert_eq!(
            types(&q),
            vec![
                (PROPOSAL, 0x105),
                (COMMIT, 0x104),
                (NEWLEADER, 0x200000000),
                (PROPOSAL, 0x106),
                (UPTODATE, -1),
                (COMMIT, 0x105),
                (COMMIT, 0x106),
                (COMMIT, 0x107),
            ]
        );
        assert!(q.held_commits.is_none());
    }

    #[test]
    fn without_newleader_nothing_is_held() {
        let mut q = Queue::default();
        q.push(QuorumPacket::new(packet_type::COMMIT, 1, None));
        q.release_commits_after(QuorumPacket::new(packet_type::UPTODATE, -1, None));
        assert_eq!(
            types(&q),
            vec![(packet_type::COMMIT, 1), (packet_type::UPTODATE, -1)]
        );
    }
}
