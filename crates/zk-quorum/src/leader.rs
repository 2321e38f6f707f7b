//! The `Leader`: the quorum port, the learners connected to it, the three
//! rendezvous of Zab's discovery and synchronization phases, and the tick
//! loop that pings learners and gives up leadership when a quorum is lost.
//!
//! `lead` runs on the peer's own thread:
//!
//! 1. load the database (`loadData`: a clean snapshot) and start the
//!    `LearnerCnxAcceptor` thread, which spawns a
//!    [`LearnerHandler`] per
//!    connection;
//! 2. `getEpochToPropose`: wait (at most initLimit ticks) until a quorum of
//!    participants, this peer included, has reported its accepted epoch;
//!    the new epoch is one more than the highest;
//! 3. `waitForEpochAck`: wait for a quorum of ACKEPOCHs, refusing a
//!    learner that is ahead of this leader; write `currentEpoch`;
//! 4. `waitForNewLeaderAck`: wait for a quorum of ACKs of NEWLEADER, each
//!    sent once that learner's sync is queued;
//! 5. start the server (the new epoch's zxid becomes the last processed
//!    one, and the new epoch that of the vote answered to LOOKING peers),
//!    then every half tick count ticks, check that a quorum of
//!    learners is still synced (acked within syncLimit ticks), and ping
//!    everyone. Unlike 3.8, a gap of about the sync limit between two
//!    iterations (the process was paused) holds every request until a
//!    quorum answers a PING sent after it ([`crate::pause_guard`]).
//!
//! Steps 2–4 are the same calls the learner handlers make; all three wait
//! on one condition variable (leader_negotiation.rs).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use log::{error, info, warn};
use socket2::{Domain, Protocol, Socket, Type};
use zk_config::{LearnerType, QuorumVerifier};
use zk_election::{ElectionPeer, SyncedLearnerTracker};

use crate::learner_handler::LearnerHandler;
use crate::pause_guard::{Admission, PauseGuard, TickVerdict};

use crate::quorum_packet::{epoch_of_zxid, make_zxid, packet_type, QuorumPacket, StateSummary};
use crate::quorum_peer::{QuorumPeer, ZabState};
use crate::servers::LeaderZkServer;

/// A proposal waiting for (or past) its quorum of ACKs.
pub(crate) struct Proposal {
    /// The PROPOSAL sent to the followers (with the txn in logged form).
    pub packet: QuorumPacket,
    /// Who has acked it, per configuration it needs a quorum of.
    pub(crate) acks: SyncedLearnerTracker,
    /// The configurations `acks` tracks, in its order (the committed one,
    /// then the one being proposed if any): `getDesignatedLeader` needs
    /// each one's ack set.
    pub(crate) qvs: Vec<Arc<QuorumVerifier>>,
    /// Every sid that acked.
    pub(crate) acked: BTreeSet<i64>,
    /// For a reconfig txn, the configuration it proposes.
    pub(crate) reconfig: Option<Arc<QuorumVerifier>>,
}

impl Proposal {
    /// The sids of `qv`'s voters that acked (3.8's per-configuration ack set).
    pub(crate) fn ack_set(&self, qv: &QuorumVerifier) -> BTreeSet<i64> {
        let voters = qv.voting_members();
        self.acked
            .iter()
            .copied()
            .filter(|sid| voters.contains_key(sid))
            .collect()
    }
}

/// The three waits of discovery and sync, under one lock.
struct Negotiation {
    epoch: i64,
    waiting_for_new_epoch: bool,
    connecting_followers: BTreeSet<i64>,
    leader_state_summary: Option<StateSummary>,
    electing_followers: BTreeSet<i64>,
    election_finished: bool,
    new_leader_zxid: i64,
    new_leader_acks: SyncedLearnerTracker,
    quorum_formed: bool,
    /// When the NEWLEADER ACKs made a quorum: the last time a quorum is
    /// known to have followed us before we serve.
    quorum_formed_at: Option<Instant>,
    /// Set by shutdown so that no one waits out a timeout for nothing.
    abandoned: bool,
}

/// Proposals and the learners that receive them (Java's `synchronized
/// (this)` state of the leader).
struct Broadcast {
    last_proposed: i64,
    last_committed: i64,
    outstanding: BTreeMap<i64, Proposal>,
    to_be_applied: VecDeque<Proposal>,
    forwarding_followers: Vec<Arc<LearnerHandler>>,
    observing_learners: Vec<Arc<LearnerHandler>>,
    /// Learners' `sync()`s waiting for the commit of the proposal that was
    /// last when they reached ProposalRequestProcessor (so after every
    /// earlier request of the same learner was proposed).
    pending_syncs: BTreeMap<i64, Vec<Arc<LearnerHandler>>>,
    /// `allowedToCommit`: false once a committed reconfig designated
    /// another leader; from then on that leader commits, and this one
    /// ignores ACKs until its followers leave it and it stops.
    allowed_to_commit: bool,
}

/// See the module docs.
pub struct Leader {
    /// `getProposalStats`: sizes of the proposals sent (`stat`, `srvr`,
    /// `server_stats`, the `*_proposal_size` gauges).
    pub(crate) proposal_stats: zk_server::BufferStats,
    /// When this leader was made (`leader_uptime`).
    pub(crate) started: Instant,
    peer: Arc<QuorumPeer>,
    zk: Arc<dyn LeaderZkServer>,
    listener: Socket,
    local_addr: SocketAddr,
    learners: Mutex<Vec<Arc<LearnerHandler>>>,
    negotiation: Mutex<Negotiation>,
    negotiated: Condvar,
    broadcast: Mutex<Broadcast>,
    /// Committed zxids not yet handed to the server, in commit order.
    to_commit: Mutex<VecDeque<i64>>,
    /// Committed reconfigs not yet activated on this peer, by zxid: the
    /// new configuration and the designated leader. Activated just before
    /// their zxid is handed to the server (as 3.8's `tryToCommit` calls
    /// `processReconfig` before `commitProcessor.commit`), outside the
    /// broadcast lock, since activation takes the database lock, which a
    /// learner's sync holds while it takes the broadcast lock.
    activations: Mutex<BTreeMap<i64, (Arc<QuorumVerifier>, i64)>>,
    /// Held while handing commits to the server, so they arrive in order
    /// even when ACKs are processed on several handler threads.
    committing: Mutex<()>,
    /// The server's zxid (`zk.getZxid()`): the new epoch's zero zxid once
    /// the epoch is known.
    zxid: AtomicI64,
    follower_counter: AtomicI64,
    stop: AtomicBool,
    /// Wakes the tick loop on shutdown.
    ticker: (Mutex<()>, Condvar),
    shutdown_reason: Mutex<Option<String>>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
    /// Holds requests after a pause until a quorum is heard from again.
    pause_guard: PauseGuard,
}

impl Leader {
    /// Binds the quorum port of this peer (3.8 binds in the constructor,
    /// so a peer that cannot bind does not lead).
    pub fn new(peer: Arc<QuorumPeer>, zk: Arc<dyn LeaderZkServer>) -> io::Result<Arc<Leader>> {
        let qv = peer.quorum_verifier();
        let me = qv
            .all_members()
            .get(&peer.my_id())
            .cloned()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("server {} is not in the configuration", peer.my_id()),
                )
            })?;
        let mut addr = me.addr().resolve()?;
        if peer.settings().quorum_listen_on_all_ips {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
            });
        }
        let listener = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        listener.set_reuse_address(true)?;
        listener
            .bind(&addr.into())
            .and_then(|_| listener.listen(50))
            .map_err(|e| io::Error::new(e.kind(), format!("Couldn't bind to {addr}: {e}")))?;
        let local_addr = listener.local_addr()?.as_socket().unwrap_or(addr);
        let mut new_leader_acks = SyncedLearnerTracker::new();
        new_leader_acks.add_quorum_verifier(qv);
        let pause_guard = PauseGuard::new(
            peer.tick_time().max(0) as u64,
            peer.sync_limit().max(0) as u64,
            Instant::now(),
        );
        Ok(Arc::new(Leader {
            proposal_stats: Default::default(),
            started: Instant::now(),
            zk,
            listener,
            local_addr,
            learners: Mutex::new(Vec::new()),
            negotiation: Mutex::new(Negotiation {
                epoch: -1,
                waiting_for_new_epoch: true,
                connecting_followers: BTreeSet::new(),
                leader_state_summary: None,
                electing_followers: BTreeSet::new(),
                election_finished: false,
                new_leader_zxid: 0,
                new_leader_acks,
                quorum_formed: false,
                quorum_formed_at: None,
                abandoned: false,
            }),
            negotiated: Condvar::new(),
            broadcast: Mutex::new(Broadcast {
                last_proposed: 0,
                last_committed: 0,
                outstanding: BTreeMap::new(),
                to_be_applied: VecDeque::new(),
                forwarding_followers: Vec::new(),
                observing_learners: Vec::new(),
                pending_syncs: BTreeMap::new(),
                allowed_to_commit: true,
            }),
            to_commit: Mutex::new(VecDeque::new()),
            activations: Mutex::new(BTreeMap::new()),
            committing: Mutex::new(()),
            zxid: AtomicI64::new(0),
            follower_counter: AtomicI64::new(-1),
            stop: AtomicBool::new(false),
            ticker: (Mutex::new(()), Condvar::new()),
            shutdown_reason: Mutex::new(None),
            acceptor: Mutex::new(None),
            pause_guard,
            peer,
        }))
    }

    /// The peer this leader leads for.
    pub fn peer(&self) -> &Arc<QuorumPeer> {
        &self.peer
    }

    /// Where the quorum port listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The epoch this leader leads, once negotiated (-1 before).
    pub fn epoch(&self) -> i64 {
        let n = self.negotiation.lock().unwrap();
        if n.waiting_for_new_epoch {
            -1
        } else {
            n.epoch
        }
    }

    /// The server's zxid: the last one handed out (the new epoch's zero zxid before any).
    pub fn zxid(&self) -> i64 {
        self.zxid.load(Ordering::SeqCst)
    }

    /// The zxid of the last proposal (the new epoch's zero zxid before any).
    pub(crate) fn last_proposed(&self) -> i64 {
        self.broadcast.lock().unwrap().last_proposed
    }

    /// Whether `shutdown` has been called.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Why the leader stopped, once it has.
    pub(crate) fn shutdown_reason(&self) -> Option<String> {
        self.shutdown_reason.lock().unwrap().clone()
    }

    /// Every connected learner.
    pub fn learners(&self) -> Vec<Arc<LearnerHandler>> {
        self.learners.lock().unwrap().clone()
    }

    /// Followers that finished syncing and receive proposals.
    pub(crate) fn forwarding_followers(&self) -> Vec<Arc<LearnerHandler>> {
        self.broadcast.lock().unwrap().forwarding_followers.clone()
    }

    /// The observers receiving INFORMs.
    pub(crate) fn observing_learners(&self) -> Vec<Arc<LearnerHandler>> {
        self.broadcast.lock().unwrap().observing_learners.clone()
    }

    fn is_running(&self) -> bool {
        self.peer.is_running() && self.zk.is_running() && !self.is_shut_down()
    }

    /// Runs this peer as leader until it stops leading (lost quorum,
    /// shutdown, or a failure in discovery/sync, returned as the error).
    pub fn lead(self: &Arc<Self>) -> io::Result<()> {
        let r = self.lead_inner();
        if let Err(e) = &r {
            self.shutdown(&format!("Forcing shutdown: {e}"));
        }
        r
    }

    fn lead_inner(self: &Arc<Self>) -> io::Result<()> {
        self.peer.set_zab_state(ZabState::Discovery);
        self.peer.set_tick(0);
        let zxid = self.zk.load_data()?;
        self.zxid.store(zxid, Ordering::SeqCst);
        let summary = StateSummary {
            current_epoch: self.peer.current_epoch()?,
            last_zxid: zxid,
        };
        self.negotiation.lock().unwrap().leader_state_summary = Some(summary);

        self.start_acceptor()?;

        let epoch = self.get_epoch_to_propose(self.peer.my_id(), self.peer.accepted_epoch()?)?;
        let new_zxid = make_zxid(epoch, 0);
        self.zxid.store(new_zxid, Ordering::SeqCst);
        self.broadcast.lock().unwrap().last_proposed = new_zxid;
        // ZOOKEEPER-1783: an initial config (version 0, as zoo.cfg gives
        // it) gets the new epoch's zxid as its version once a quorum
        // agrees, so that it wins over the partial initial view of a
        // server joining later. It travels as the last seen config in
        // NEWLEADER and is activated on its quorum (`start_zk_server`);
        // before that it must be in place, as the learner handlers build
        // NEWLEADER from it after the epoch acks.
        let committed = self.peer.quorum_verifier();
        if committed.version() == 0 && self.peer.last_seen_quorum_verifier().version() == 0 {
            let mut versioned = (*committed).clone();
            versioned.set_version(new_zxid);
            self.peer.set_last_seen_quorum_verifier(versioned, true);
        }
        {
            let mut n = self.negotiation.lock().unwrap();
            n.new_leader_zxid = new_zxid;
            let last_seen = self.peer.last_seen_quorum_verifier();
            if last_seen.version() > self.peer.quorum_verifier().version() {
                n.new_leader_acks.add_quorum_verifier(last_seen);
            }
        }
        info!("NEWLEADER proposal has Zxid of 0x{:x}", new_zxid);

        self.wait_for_epoch_ack(self.peer.my_id(), summary)?;
        self.peer.set_current_epoch(epoch)?;
        self.peer.set_zab_state(ZabState::Synchronization);

        if let Err(e) = self.wait_for_new_leader_ack(self.peer.my_id(), new_zxid) {
            let acks = self
                .negotiation
                .lock()
                .unwrap()
                .new_leader_acks
                .ack_sets_to_string();
            self.shutdown(&format!(
                "Waiting for a quorum of followers, only synced with sids: [ {acks} ]"
            ));
            return Err(e);
        }

        self.start_zk_server()?;
        self.peer.set_zab_state(ZabState::Broadcast);
        self.tick_loop();
        Ok(())
    }

    fn start_acceptor(self: &Arc<Self>) -> io::Result<()> {
        let handle = LearnerCnxAcceptor::start(Arc::clone(self))?;
        *self.acceptor.lock().unwrap() = Some(handle);
        Ok(())
    }

    fn start_handler(self: &Arc<Self>, stream: std::net::TcpStream) -> io::Result<()> {
        // initLimit until the NEWLEADER ack, syncLimit after.
        stream.set_read_timeout(Some(Duration::from_millis(
            self.peer.init_timeout_ms().max(1),
        )))?;
        stream.set_nodelay(true)?;
        LearnerHandler::start(self.clone(), stream)
    }

    pub(crate) fn add_learner_handler(&self, h: &Arc<LearnerHandler>) {
        self.learners.lock().unwrap().push(h.clone());
    }

    pub(crate) fn remove_learner_handler(&self, h: &LearnerHandler) {
        {
            let mut b = self.broadcast.lock().unwrap();
            b.forwarding_followers.retain(|x| !std::ptr::eq(&**x, h));
            b.observing_learners.retain(|x| !std::ptr::eq(&**x, h));
        }
        self.learners
            .lock()
            .unwrap()
            .retain(|x| !std::ptr::eq(&**x, h));
    }

    /// A learner that sent no sid gets a negative one.
    pub(crate) fn next_anonymous_sid(&self) -> i64 {
        self.follower_counter.fetch_sub(1, Ordering::SeqCst)
    }

    /// `startZkServer`: the new epoch's zxid becomes the last committed
    /// and last processed zxid, and the server starts.
    fn start_zk_server(&self) -> io::Result<()> {
        let zxid = self.zxid();
        let (acks, quorum_formed_at) = {
            let n = self.negotiation.lock().unwrap();
            (n.new_leader_acks.ack_sets_to_string(), n.quorum_formed_at)
        };
        // A pause from the NEWLEADER quorum on counts as one once serving.
        self.pause_guard
            .start(quorum_formed_at.unwrap_or_else(Instant::now));
        self.broadcast.lock().unwrap().last_committed = zxid;
        info!(
            "Have quorum of supporters, sids: [ {} ]; starting up and setting last processed zxid: 0x{:x}",
            acks, zxid
        );
        if self.peer.is_reconfig_enabled() {
            // ZOOKEEPER-1324: the config NEWLEADER carried (a version
            // bump, or a reconfig the last leader did not finish) had its
            // quorum with the NEWLEADER acks; the leader applies it too.
            let new_qv = self.peer.last_seen_quorum_verifier();
            let designated = self.designated_leader_of_new_leader(&new_qv);
            self.peer
                .process_reconfig((*new_qv).clone(), Some(designated), zxid, true);
            if designated != self.peer.my_id() {
                warn!(
                    "This leader is not the designated leader (server {designated} is), it will be initialized with allowedToCommit = false"
                );
                self.broadcast.lock().unwrap().allowed_to_commit = false;
            }
        } else {
            info!("Dynamic reconfig feature is disabled, skip designatedLeader calculation and reconfig processing.");
        }
        self.zk.startup()?;
        // The epoch is established: answer LOOKING peers with it, as the
        // learners do once synced, so that all of us report one vote.
        let epoch = epoch_of_zxid(zxid);
        let vote = ElectionPeer::current_vote(&*self.peer);
        assert_eq!(
            vote.id,
            self.peer.my_id(),
            "server {} leads epoch 0x{epoch:x} under a vote for server {}",
            self.peer.my_id(),
            vote.id
        );
        assert!(
            epoch > vote.peer_epoch,
            "server {} starts epoch 0x{epoch:x}, not past the epoch 0x{:x} it was elected with",
            self.peer.my_id(),
            vote.peer_epoch
        );
        self.peer.update_election_vote(epoch);
        self.peer
            .db()
            .write()
            .unwrap()
            .set_last_processed_zxid(zxid);
        Ok(())
    }

    /// `getDesignatedLeader` for the NEWLEADER proposal: this leader if it
    /// votes in `qv` at the same quorum address, else a voter of `qv` that
    /// acked NEWLEADER (no proposal follows NEWLEADER, so none is lost
    /// whichever it is).
    fn designated_leader_of_new_leader(&self, qv: &QuorumVerifier) -> i64 {
        let me = self.peer.my_id();
        let my_addr = self
            .peer
            .quorum_verifier()
            .all_members()
            .get(&me)
            .map(|s| s.addr().clone());
        if let Some(s) = qv.voting_members().get(&me) {
            if Some(s.addr().clone()) == my_addr {
                return me;
            }
        }
        let n = self.negotiation.lock().unwrap();
        qv.voting_members()
            .keys()
            .copied()
            .find(|&sid| sid != me && n.new_leader_acks.has_sid(sid))
            .unwrap_or(me)
    }

    /// Blocks a learner handler until the server runs (or the leader
    /// stops).
    pub(crate) fn wait_for_startup(&self) -> io::Result<()> {
        let (lock, cv) = &self.ticker;
        let mut g = lock.lock().unwrap();
        while !self.zk.is_running() {
            if self.is_shut_down() || !self.peer.is_running() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "leader stopped before its server started",
                ));
            }
            g = cv.wait_timeout(g, Duration::from_millis(20)).unwrap().0;
        }
        Ok(())
    }

    /// `startForwarding`: queues what `handler` missed since
    /// `last_seen_zxid` (committed proposals still being applied, with
    /// their COMMITs; and, to followers, proposals still awaiting a
    /// quorum), then adds it to those that receive new proposals. Called
    /// with the database read-locked so no commit slips between the sync
    /// and this. Returns the last proposed zxid.
    pub(crate) fn start_forwarding(
        &self,
        handler: &Arc<LearnerHandler>,
        last_seen_zxid: i64,
    ) -> i64 {
        let mut b = self.broadcast.lock().unwrap();
        if b.last_proposed > last_seen_zxid {
            for p in &b.to_be_applied {
                if p.packet.zxid <= last_seen_zxid {
                    continue;
                }
                handler.queue_packet(p.packet.clone());
                handler.queue_packet(QuorumPacket::new(packet_type::COMMIT, p.packet.zxid, None));
            }
            if handler.learner_type() == LearnerType::Participant {
                for (zxid, p) in &b.outstanding {
                    if *zxid > last_seen_zxid {
                        handler.queue_packet(p.packet.clone());
                    }
                }
            }
        }
        if handler.learner_type() == LearnerType::Participant {
            b.forwarding_followers.push(handler.clone());
        } else {
            b.observing_learners.push(handler.clone());
        }
        b.last_proposed
    }

    /// `tick * initLimit + syncLimit` ticks from now.
    pub(crate) fn tick_of_initial_ack_deadline(&self) -> i32 {
        self.peer.tick() + self.peer.init_limit() + self.peer.sync_limit()
    }

    pub(crate) fn tick_of_next_ack_deadline(&self) -> i32 {
        self.peer.tick() + self.peer.sync_limit()
    }

    pub(crate) fn touch(&self, session_id: i64, timeout: i32) {
        if !self.zk.touch(session_id, timeout) {
            log::debug!("touch of unknown session 0x{session_id:x}");
        }
    }

    pub(crate) fn submit_learner_request(
        &self,
        handler: &Arc<LearnerHandler>,
        req: crate::quorum_packet::ForwardedRequest,
        authinfo: Vec<zk_persistence::records::Id>,
    ) {
        self.zk.submit_learner_request(handler, req, authinfo);
    }

    pub(crate) fn revalidate_session(&self, session_id: i64, timeout: i32) -> bool {
        self.zk.revalidate_session(session_id, timeout)
    }

    /// Called by `ProposalRequestProcessor` for every request, before it
    /// goes on: waits while a pause is being answered (see
    /// [`crate::pause_guard`]). `Refused` means the leader stopped
    /// meanwhile; the request must be dropped unanswered.
    pub(crate) fn admit_request(&self) -> Admission {
        self.pause_guard.admit()
    }

    /// As if the whole process had been stopped for `d` just now.
    #[cfg(test)]
    pub(crate) fn pretend_paused_for(&self, d: Duration) {
        self.pause_guard.pretend_paused_for(d);
    }

    /// A learner answered a PING: after a pause, this may complete the
    /// quorum that lets requests through again.
    pub(crate) fn ping_answered(&self) {
        if self.pause_guard.awaiting_answers() {
            self.release_if_quorum_answered();
        }
    }

    /// The participants, this leader included, that answered a PING sent
    /// after the pause was detected, when they make a quorum (in every
    /// configuration in force).
    fn quorum_answered_since_pause(&self) -> Option<SyncedLearnerTracker> {
        let mut heard = self.new_synced_tracker();
        heard.add_ack(self.peer.my_id());
        for f in self.learners() {
            if f.is_alive() && f.answered_ping_after_pause() {
                heard.add_ack(f.sid());
            }
        }
        heard.has_all_quorums().then_some(heard)
    }

    fn release_if_quorum_answered(&self) {
        if !self.pause_guard.awaiting_answers() {
            return;
        }
        if let Some(heard) = self.quorum_answered_since_pause() {
            if let Some(held) = self.pause_guard.release(Instant::now()) {
                info!(
                    "A quorum answered PINGs sent after the pause, sids: [ {} ]; serving again \
                     after holding requests for {held:?}",
                    heard.ack_sets_to_string()
                );
            }
        }
    }

    /// A tracker over the committed configuration and any proposed one.
    fn new_synced_tracker(&self) -> SyncedLearnerTracker {
        let mut tracker = SyncedLearnerTracker::new();
        tracker.add_quorum_verifier(self.peer.quorum_verifier());
        let last_seen = self.peer.last_seen_quorum_verifier();
        if last_seen.version() > self.peer.quorum_verifier().version() {
            tracker.add_quorum_verifier(last_seen);
        }
        tracker
    }

    /// The tick loop's answer to a pause: returns false when the leader
    /// must step down (shut down here).
    fn check_for_pause(&self) -> bool {
        match self.pause_guard.on_tick(Instant::now()) {
            TickVerdict::Serving | TickVerdict::Holding { .. } => {}
            TickVerdict::PauseDetected { gap } => {
                // What each learner was sent so far may be answered from
                // before the pause; the PINGs this iteration sends next
                // are the first whose answers count.
                for f in self.learners() {
                    f.note_pings_before_pause();
                }
                self.pause_guard.pings_noted();
                info!(
                    "Paused for {gap:?}: pinging {} learners, serving again once a quorum \
                     answers",
                    self.learners().len()
                );
            }
            TickVerdict::Expired { gap, waited } => {
                self.shutdown(&format!(
                    "No quorum answered PINGs within {waited:?} after a pause of {gap:?} \
                     (more than {:?})",
                    self.pause_guard.threshold()
                ));
                return false;
            }
        }
        self.release_if_quorum_answered();
        true
    }

    /// Half-tick loop: count ticks, check the quorum, ping learners.
    fn tick_loop(&self) {
        let half_tick = Duration::from_millis((self.peer.tick_time().max(2) / 2) as u64);
        let mut tick_skip = true;
        loop {
            {
                let (lock, cv) = &self.ticker;
                let deadline = Instant::now() + half_tick;
                let mut g = lock.lock().unwrap();
                while !self.is_shut_down() {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    g = cv.wait_timeout(g, deadline - now).unwrap().0;
                }
            }
            if self.is_shut_down() {
                return;
            }
            if !self.check_for_pause() {
                return;
            }
            if !tick_skip {
                self.peer.increment_tick();
            }
            let mut synced = self.new_synced_tracker();
            synced.add_ack(self.peer.my_id());
            for f in self.learners() {
                if f.synced() {
                    synced.add_ack(f.sid());
                }
            }
            if !self.is_running() {
                self.shutdown("Unexpected internal error");
                return;
            }
            if !tick_skip && !synced.has_all_quorums() {
                self.shutdown(&format!(
                    "Not sufficient followers synced, only synced with sids: [ {} ]",
                    synced.ack_sets_to_string()
                ));
                return;
            }
            tick_skip = !tick_skip;
            for f in self.learners() {
                f.ping();
            }
        }
    }

    /// Stops leading: the acceptor, every learner handler and the server.
    pub fn shutdown(&self, reason: &str) {
        if self.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        info!("Shutting down leader. For the reason {}", reason);
        *self.shutdown_reason.lock().unwrap() = Some(reason.to_string());
        // Before the server: its shutdown waits for the chain, which may
        // be holding a request in the guard.
        self.pause_guard.stop();
        let _ = self.listener.shutdown(Shutdown::Both);
        {
            let mut n = self.negotiation.lock().unwrap();
            n.abandoned = true;
            self.negotiated.notify_all();
        }
        self.ticker.1.notify_all();
        self.zk.shutdown();
        for h in self.learners() {
            h.shutdown();
        }
        if let Some(a) = self.acceptor.lock().unwrap().take() {
            if a.thread().id() != thread::current().id() {
                let _ = a.join();
            }
        }
    }
}

#[path = "leader_broadcast.rs"]
mod broadcast;
#[path = "leader_negotiation.rs"]
mod negotiation;

/// 3.8's `Leader.LearnerCnxAcceptor`: the thread that accepts learners on
/// the quorum port and starts a `LearnerHandler` for each, until the
/// leader shuts down (an accept error while running shuts it down too).
struct LearnerCnxAcceptor {
    leader: Arc<Leader>,
}

impl LearnerCnxAcceptor {
    /// Starts the `LearnerCnxAcceptor-<addr>` thread.
    fn start(leader: Arc<Leader>) -> io::Result<thread::JoinHandle<()>> {
        let name = format!("LearnerCnxAcceptor-{}", leader.local_addr);
        let acceptor = LearnerCnxAcceptor { leader };
        thread::Builder::new()
            .name(name)
            .spawn(move || acceptor.run())
    }

    /// One handler thread per accepted learner.
    fn run(self) {
        let leader = &self.leader;
        while !leader.is_shut_down() {
            match leader.listener.accept() {
                Ok((sock, _)) => {
                    let stream: std::net::TcpStream = sock.into();
                    if let Err(e) = leader.start_handler(stream) {
                        warn!("Exception while accepting follower: {e}");
                    }
                }
                Err(e) => {
                    if leader.is_shut_down() {
                        info!("Exception while shutting down acceptor: {e}");
                    } else {
                        error!("Exception while accepting follower: {e}");
                        leader.shutdown(&format!("learner acceptor failed: {e}"));
                    }
                    break;
                }
            }
        }
    }
}
