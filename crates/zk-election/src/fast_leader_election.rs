//! `FastLeaderElection`: the election algorithm 3 of ZooKeeper 3.8 (the only
//! one it still runs).
//!
//! Every LOOKING server proposes a leader, starting with itself, and tells
//! every voter. On hearing a better proposal (`totalOrderPredicate`: higher
//! peer epoch, then higher zxid, then higher sid) it adopts it and tells
//! everyone again. A round (`logicalclock`) ends when the votes that match
//! ours form a quorum in every configuration in force (`termPredicate`,
//! through the `QuorumVerifier`), and no better vote arrives within
//! `finalizeWait`. Servers that have already settled (FOLLOWING, LEADING)
//! answer with the leader they follow; enough of those answers, including
//! the leader's own, end the election too ("out of election" votes).
//!
//! The `Messenger` threads (messenger.rs) sit between this loop and the
//! `QuorumCnxManager`.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use zk_config::{LearnerType, QuorumPeerConfig};

use crate::circular_queue::CircularBlockingQueue;
use crate::messenger::Messenger;
use crate::notification::{Notification, ToSend};
use crate::peer::{ElectionPeer, ElectionPeerExt};
use crate::quorum_cnx_manager::{lock, QuorumCnxConfig, QuorumCnxManager};
use crate::synced_learner_tracker::{vote_tracker, SyncedLearnerTracker};
use crate::vote::{total_order_predicate, ServerState, Vote};

/// `finalizeWait`: once a quorum agrees, how long to wait for a better vote.
pub(crate) const FINALIZE_WAIT: Duration = Duration::from_millis(200);
/// Default `zookeeper.fastleader.maxNotificationInterval`.
pub(crate) const MAX_NOTIFICATION_INTERVAL: Duration = Duration::from_millis(60_000);
/// `zookeeper.fastleader.minNotificationInterval`'s default is
/// `finalizeWait`.
pub(crate) const MIN_NOTIFICATION_INTERVAL: Duration = FINALIZE_WAIT;
/// How old a vote heard while settled may be to count in the next
/// election (see `FleInner::heard_while_settled`).
const HEARD_WHILE_SETTLED_MAX_AGE: Duration = Duration::from_secs(2);

/// Timing of the election loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleConfig {
    /// First wait for a notification; doubled after every silent wait.
    pub min_notification_interval: Duration,
    /// Cap of that doubling.
    pub max_notification_interval: Duration,
    /// How long a quorum's agreement waits for a better vote (`finalizeWait`).
    pub finalize_wait: Duration,
}

impl Default for FleConfig {
    fn default() -> Self {
        FleConfig {
            min_notification_interval: MIN_NOTIFICATION_INTERVAL,
            max_notification_interval: MAX_NOTIFICATION_INTERVAL,
            finalize_wait: FINALIZE_WAIT,
        }
    }
}

impl FleConfig {
    /// The two `zookeeper.fastleader.*` system properties (milliseconds).
    pub fn from_config(config: &QuorumPeerConfig) -> Self {
        let sys = &config.system_properties;
        let ms = |name: &str, default: Duration| {
            let v = sys.get_integer(name, default.as_millis() as i32);
            Duration::from_millis(v.max(0) as u64)
        };
        FleConfig {
            min_notification_interval: ms(
                "zookeeper.fastleader.minNotificationInterval",
                MIN_NOTIFICATION_INTERVAL,
            ),
            max_notification_interval: ms(
                "zookeeper.fastleader.maxNotificationInterval",
                MAX_NOTIFICATION_INTERVAL,
            ),
            finalize_wait: FINALIZE_WAIT,
        }
    }
}

/// Why `look_for_leader` (or starting an election) gave no leader.
#[derive(Debug)]
pub enum ElectionError {
    /// `electionAlg` 1 and 2 were removed from ZooKeeper; anything but 3
    /// is refused.
    UnsupportedAlgorithm(i32),
    /// The election was shut down while looking.
    Shutdown,
    /// The peer was not (or stopped being) LOOKING: `look_for_leader`
    /// runs only while the peer looks (3.8 returns null then).
    NotLooking(ServerState),
    /// The `currentEpoch` file could not be read (3.8 aborts the round
    /// with a RuntimeException; the peer stays LOOKING and retries).
    CurrentEpoch(io::Error),
}

impl fmt::Display for ElectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElectionError::UnsupportedAlgorithm(n @ (1 | 2)) => {
                write!(f, "Election Algorithm {n} is not supported.")
            }
            ElectionError::UnsupportedAlgorithm(n) => write!(
                f,
                "electionAlg={n} is not a known election algorithm (only 3 is supported)"
            ),
            ElectionError::Shutdown => f.write_str("leader election was shut down"),
            ElectionError::NotLooking(state) => {
                write!(f, "the peer is {state}, not LOOKING: no election to run")
            }
            ElectionError::CurrentEpoch(e) => write!(f, "cannot read the current epoch: {e}"),
        }
    }
}

impl std::error::Error for ElectionError {}

/// The proposal of this server in the current round.
#[derive(Debug, Clone, Copy)]
struct Proposal {
    leader: i64,
    zxid: i64,
    epoch: i64,
}

/// State shared by the election handle and the Messenger threads.
pub(crate) struct FleInner {
    pub(crate) peer: Arc<dyn ElectionPeer>,
    pub(crate) manager: QuorumCnxManager,
    config: FleConfig,
    /// The election round; also what we answer LOOKING peers with.
    pub(crate) logicalclock: AtomicI64,
    /// Java synchronizes `updateProposal`/`getVote` and the clock bumps on
    /// the election object; this lock plays that part.
    proposal: Mutex<Proposal>,
    /// `sendqueue`: votes for the WorkerSender.
    pub(crate) sendqueue: CircularBlockingQueue<ToSend>,
    /// `recvqueue`: notifications from voters, for `lookForLeader`.
    pub(crate) recvqueue: CircularBlockingQueue<Notification>,
    /// The last vote of each LOOKING peer heard while we were settled
    /// (answered, as 3.8 answers it, then kept), handed to our next
    /// election. Both followers of a leader that died learn it within a
    /// millisecond of each other: the one that starts looking first tells
    /// the other while it still follows, and 3.8 drops that vote. If it
    /// is the better one, the other proposes itself, hears nothing it
    /// must act on, and the election waits out a whole notification
    /// timeout (200 ms, then twice that) before the votes are resent.
    /// The lock also orders a kept vote before any later one from the
    /// same peer (see [`FleInner::take_heard_while_settled`]).
    pub(crate) heard_while_settled: Mutex<HashMap<i64, (Instant, Notification)>>,
    /// `stop`: ends `lookForLeader`.
    stop: AtomicBool,
    /// `Messenger.halt`: ends the WorkerSender and WorkerReceiver.
    pub(crate) messenger_stop: AtomicBool,
    /// Set when a received configuration made the election restart
    /// (3.8's `shuttingDownLE`).
    pub(crate) shutting_down_le: AtomicBool,
    /// The votes that made us leader, kept for the leader.
    leading_vote_set: Mutex<Option<SyncedLearnerTracker>>,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
}

/// One server's leader election: the connection manager, the Messenger
/// threads and the election loop. Cheap to clone (a handle).
#[derive(Clone)]
pub struct FastLeaderElection {
    pub(crate) inner: Arc<FleInner>,
}

impl fmt::Debug for FastLeaderElection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastLeaderElection")
            .field("my_id", &self.inner.peer.my_id())
            .field("logicalclock", &self.logical_clock())
            .finish_non_exhaustive()
    }
}

/// `QuorumPeer.createElectionAlgorithm`: refuses algorithms 1 and 2 (and
/// anything but 3), else creates the `QuorumCnxManager`, starts its
/// Listener, and starts a `FastLeaderElection` on it.
///
/// zk-config already refuses such an `electionAlg` when it parses zoo.cfg,
/// as 3.8's `QuorumPeerConfig` does; this is the second check 3.8 makes
/// where the algorithm is built.
pub fn create_election_algorithm(
    election_alg: i32,
    peer: Arc<dyn ElectionPeer>,
    cnx_config: QuorumCnxConfig,
    fle_config: FleConfig,
) -> Result<FastLeaderElection, ElectionError> {
    if election_alg != 3 {
        return Err(ElectionError::UnsupportedAlgorithm(election_alg));
    }
    let manager = QuorumCnxManager::new(Arc::clone(&peer), cnx_config);
    manager.start_listener();
    let fle = FastLeaderElection::with_config(peer, manager, fle_config);
    fle.start();
    Ok(fle)
}

/// [`create_election_algorithm`] with everything taken from the parsed
/// configuration (`electionAlg`, timeouts, `quorumListenOnAllIPs`,
/// `multiAddress.enabled`, `zookeeper.*` system properties).
pub fn start_election(
    config: &QuorumPeerConfig,
    peer: Arc<dyn ElectionPeer>,
) -> Result<FastLeaderElection, ElectionError> {
    create_election_algorithm(
        config.election_alg,
        peer,
        QuorumCnxConfig::from_config(config),
        FleConfig::from_config(config),
    )
}

impl FastLeaderElection {
    /// An election over `manager`, with the default timing. Nothing runs
    /// until [`start`](FastLeaderElection::start).
    pub fn new(peer: Arc<dyn ElectionPeer>, manager: QuorumCnxManager) -> Self {
        Self::with_config(peer, manager, FleConfig::default())
    }

    /// An election over `manager` with the timing `config`.
    pub(crate) fn with_config(
        peer: Arc<dyn ElectionPeer>,
        manager: QuorumCnxManager,
        config: FleConfig,
    ) -> Self {
        FastLeaderElection {
            inner: Arc::new(FleInner {
                peer,
                manager,
                config,
                logicalclock: AtomicI64::new(0),
                proposal: Mutex::new(Proposal {
                    leader: -1,
                    zxid: -1,
                    epoch: 0,
                }),
                sendqueue: CircularBlockingQueue::unbounded(),
                recvqueue: CircularBlockingQueue::unbounded(),
                heard_while_settled: Mutex::new(HashMap::new()),
                stop: AtomicBool::new(false),
                messenger_stop: AtomicBool::new(false),
                shutting_down_le: AtomicBool::new(false),
                leading_vote_set: Mutex::new(None),
                threads: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Starts the Messenger (WorkerSender and WorkerReceiver threads).
    pub fn start(&self) {
        Messenger::new(Arc::clone(&self.inner)).start();
    }

    /// The connection manager the election talks through.
    pub fn cnx_manager(&self) -> &QuorumCnxManager {
        &self.inner.manager
    }

    /// `getLogicalClock`: the current election round.
    pub fn logical_clock(&self) -> i64 {
        self.inner.logicalclock.load(Ordering::SeqCst)
    }

    /// `getVote`: our current proposal (no round, LOOKING).
    pub fn vote(&self) -> Vote {
        self.inner.get_vote()
    }

    /// True once a newer configuration received from a peer made this
    /// election shut itself down; the peer must start a new one.
    pub fn is_shutting_down_le(&self) -> bool {
        self.inner.shutting_down_le.load(Ordering::SeqCst)
    }

    /// The votes that made this server leader in the last round it won
    /// (3.8 hands them to its `Leader`), taken out.
    pub fn take_leading_vote_set(&self) -> Option<SyncedLearnerTracker> {
        lock(&self.inner.leading_vote_set).take()
    }

    /// `shutdown`: ends `look_for_leader`, halts the connection manager
    /// and the Messenger, and waits for their threads. Idempotent.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// `lookForLeader`: runs one election to its end (blocking). The peer
    /// must be LOOKING. On success the peer's state has been set (LEADING,
    /// FOLLOWING or OBSERVING) and the returned vote names the leader; the
    /// caller keeps it as the peer's current vote, which the WorkerReceiver
    /// then answers to LOOKING peers.
    pub fn look_for_leader(&self) -> Result<Vote, ElectionError> {
        self.inner.look_for_leader()
    }
}

impl FleInner {
    pub(crate) fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        {
            let mut p = lock(&self.proposal);
            p.leader = -1;
            p.zxid = -1;
        }
        *lock(&self.leading_vote_set) = None;
        self.messenger_stop.store(true, Ordering::SeqCst);
        debug!("Shutting down connection manager");
        self.manager.halt();
        debug!("Shutting down messenger");
        self.sendqueue.close();
        self.recvqueue.close();
        let handles: Vec<JoinHandle<()>> = std::mem::take(&mut *lock(&self.threads));
        for h in handles {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
        debug!("FLE is down");
    }

    pub(crate) fn get_vote(&self) -> Vote {
        let p = lock(&self.proposal);
        Vote::initial(p.leader, p.zxid, p.epoch)
    }

    fn proposal(&self) -> Proposal {
        *lock(&self.proposal)
    }

    fn update_proposal(&self, leader: i64, zxid: i64, epoch: i64) {
        let mut p = lock(&self.proposal);
        debug!(
            "Updating proposal: {leader} (newleader), 0x{zxid:x} (newzxid), {} (oldleader), 0x{:x} (oldzxid)",
            p.leader, p.zxid
        );
        *p = Proposal {
            leader,
            zxid,
            epoch,
        };
    }

    /// `validVoter`: a voting member of the committed or proposed config.
    pub(crate) fn valid_voter(&self, sid: i64) -> bool {
        self.peer.current_and_next_config_voters().contains(&sid)
    }

    pub(crate) fn config_bytes(&self) -> Vec<u8> {
        self.peer.quorum_verifier().to_string().into_bytes()
    }

    fn is_participant(&self) -> bool {
        self.peer.learner_type() == LearnerType::Participant
    }

    /// `getInitId`: ourselves if we vote, else `Long.MIN_VALUE` (nobody).
    fn init_id(&self) -> i64 {
        let me = self.peer.my_id();
        let votes = self
            .peer
            .quorum_verifier()
            .voting_members()
            .contains_key(&me);
        if votes {
            me
        } else {
            i64::MIN
        }
    }

    fn init_last_logged_zxid(&self) -> i64 {
        if self.is_participant() {
            self.peer.last_logged_zxid()
        } else {
            i64::MIN
        }
    }

    fn peer_epoch(&self) -> Result<i64, ElectionError> {
        if self.is_participant() {
            self.peer
                .current_epoch()
                .map_err(ElectionError::CurrentEpoch)
        } else {
            Ok(i64::MIN)
        }
    }

    /// `totalOrderPredicate` with the weight from our committed config.
    fn total_order(&self, new: (i64, i64, i64), cur: (i64, i64, i64)) -> bool {
        let (new_id, new_zxid, new_epoch) = new;
        let (cur_id, cur_zxid, cur_epoch) = cur;
        debug!(
            "id: {new_id}, proposed id: {cur_id}, zxid: 0x{new_zxid:x}, proposed zxid: 0x{cur_zxid:x}"
        );
        // No server has a negative id (zk-config refuses them), so such a
        // proposal has no weight and is never adopted.
        let weight = if new_id < 0 {
            None
        } else {
            self.peer.quorum_verifier().weight(new_id)
        };
        total_order_predicate(
            new_id, new_zxid, new_epoch, cur_id, cur_zxid, cur_epoch, weight,
        )
    }

    fn vote_tracker(&self, votes: &HashMap<i64, Vote>, vote: &Vote) -> SyncedLearnerTracker {
        vote_tracker(
            self.peer.quorum_verifier(),
            self.peer.last_seen_quorum_verifier(),
            votes,
            vote,
        )
    }

    /// `sendNotifications`: our proposal to every voter (ourselves too).
    fn send_notifications(&self) {
        let p = self.proposal();
        let round = self.logicalclock.load(Ordering::SeqCst);
        let config = self.config_bytes();
        for sid in self.peer.current_and_next_config_voters() {
            debug!(
                "Sending Notification: {} (n.leader), 0x{:x} (n.zxid), 0x{round:x} (n.round), {sid} (recipient), {} (myid), 0x{:x} (n.peerEpoch)",
                p.leader,
                p.zxid,
                self.peer.my_id(),
                p.epoch
            );
            self.sendqueue.offer(ToSend {
                leader: p.leader,
                zxid: p.zxid,
                election_epoch: round,
                state: ServerState::Looking,
                sid,
                peer_epoch: p.epoch,
                config_data: config.clone(),
            });
        }
    }

    /// `checkLeader`: a leader other than us must itself say LEADING; if
    /// it is us, the votes must be of our current round.
    fn check_leader(&self, votes: &HashMap<i64, Vote>, leader: i64, election_epoch: i64) -> bool {
        if leader != self.peer.my_id() {
            votes
                .get(&leader)
                .is_some_and(|v| v.state == ServerState::Leading)
        } else {
            self.logicalclock.load(Ordering::SeqCst) == election_epoch
        }
    }

    fn learning_state(&self) -> ServerState {
        if self.is_participant() {
            ServerState::Following
        } else {
            ServerState::Observing
        }
    }

    fn set_peer_state(&self, leader: i64, vote_set: Option<SyncedLearnerTracker>) {
        let state = if leader == self.peer.my_id() {
            ServerState::Leading
        } else {
            self.learning_state()
        };
        self.peer.set_peer_state(state);
        if state == ServerState::Leading {
            *lock(&self.leading_vote_set) = vote_set;
        }
    }

    /// Queues the votes LOOKING peers sent while we were settled, those
    /// recent enough to belong to this election (an older round is
    /// ignored by the loop anyway). Called once the peer looks: from then
    /// on the WorkerReceiver queues votes itself and drops any kept one
    /// of the same sender, under the same lock, so a kept vote never
    /// lands behind a newer one.
    pub(crate) fn take_heard_while_settled(&self) {
        let mut heard = lock(&self.heard_while_settled);
        for (_, (at, n)) in heard.drain() {
            if at.elapsed() <= HEARD_WHILE_SETTLED_MAX_AGE {
                debug!("Vote of LOOKING server {} heard while settled: {n}", n.sid);
                self.recvqueue.offer(n);
            }
        }
    }

    fn leave_instance(&self, v: &Vote) {
        debug!(
            "About to leave FLE instance: leader={}, zxid=0x{:x}, my id={}, my state={}",
            v.id,
            v.zxid,
            self.peer.my_id(),
            self.peer.peer_state()
        );
        self.recvqueue.clear();
    }

    fn finish(&self, leader: i64, zxid: i64, round: i64, epoch: i64) -> Vote {
        let end = Vote::new(leader, zxid, round, epoch);
        self.leave_instance(&end);
        info!(
            "Leader election of server {} ended: leader {leader}, zxid 0x{zxid:x}, election epoch 0x{round:x}, peer epoch 0x{epoch:x}, my state {}",
            self.peer.my_id(),
            self.peer.peer_state()
        );
        end
    }

    /// `lookForLeader`: a new round with our own vote, then notifications
    /// until a quorum agrees on a leader (a LOOKING one in our round, or
    /// settled servers of an established ensemble).
    fn look_for_leader(&self) -> Result<Vote, ElectionError> {
        let mut recvset: HashMap<i64, Vote> = HashMap::new();
        let mut outofelection: HashMap<i64, Vote> = HashMap::new();
        let mut not_timeout = self.config.min_notification_interval;
        let epoch = self.peer_epoch()?;
        self.logicalclock.fetch_add(1, Ordering::SeqCst);
        self.update_proposal(self.init_id(), self.init_last_logged_zxid(), epoch);
        info!(
            "New election. My id = {}, proposed zxid=0x{:x}, election epoch 0x{:x}",
            self.peer.my_id(),
            self.proposal().zxid,
            self.logicalclock.load(Ordering::SeqCst)
        );
        self.send_notifications();
        self.take_heard_while_settled();

        while self.peer.peer_state() == ServerState::Looking && !self.stop.load(Ordering::SeqCst) {
            let Some(n) = self.recvqueue.poll(not_timeout) else {
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                not_timeout = self.notification_timed_out(not_timeout);
                continue;
            };
            if !self.is_valid_notification(&n) {
                continue;
            }
            let elected = match n.state {
                ServerState::Looking => self.received_looking_notification(&mut recvset, &n)?,
                ServerState::Observing => {
                    debug!("Notification from observer: {}", n.sid);
                    None
                }
                // 3.8 asks an oracle here for LEADING notifications
                // under QuorumOracleMaj, which zk-config has not.
                ServerState::Following | ServerState::Leading => {
                    self.received_settled_notification(&mut recvset, &mut outofelection, &n)
                }
            };
            if let Some(v) = elected {
                return Ok(v);
            }
        }
        if self.stop.load(Ordering::SeqCst) {
            Err(ElectionError::Shutdown)
        } else {
            Err(ElectionError::NotLooking(self.peer.peer_state()))
        }
    }

    /// Nothing heard for `not_timeout`: resend if the queues drained, else
    /// the connections are missing. Returns the next (doubled, capped)
    /// wait.
    fn notification_timed_out(&self, not_timeout: Duration) -> Duration {
        if self.manager.have_delivered() {
            self.send_notifications();
        } else {
            self.manager.connect_all();
        }
        let next = (not_timeout * 2).min(self.config.max_notification_interval);
        info!("Notification time out: {} ms", next.as_millis());
        next
    }

    /// `validVoter` for both the sender and its candidate, warning about
    /// the one that is not.
    fn is_valid_notification(&self, n: &Notification) -> bool {
        if self.valid_voter(n.sid) && self.valid_voter(n.leader) {
            return true;
        }
        if !self.valid_voter(n.leader) {
            warn!(
                "Ignoring notification for non-cluster member sid {} from sid {}",
                n.leader, n.sid
            );
        }
        if !self.valid_voter(n.sid) {
            warn!(
                "Ignoring notification for sid {} from non-quorum member sid {}",
                n.leader, n.sid
            );
        }
        false
    }

    /// A LOOKING server's vote: a newer round restarts ours, an older one
    /// is ignored, ours takes the better vote; then the vote is counted,
    /// and a quorum for our proposal ends the election unless a better
    /// vote arrives within `finalizeWait`.
    fn received_looking_notification(
        &self,
        recvset: &mut HashMap<i64, Vote>,
        n: &Notification,
    ) -> Result<Option<Vote>, ElectionError> {
        if self.init_last_logged_zxid() == -1 {
            debug!("Ignoring notification as our zxid is -1");
            return Ok(None);
        }
        if n.zxid == -1 {
            debug!("Ignoring notification from member with -1 zxid {}", n.sid);
            return Ok(None);
        }
        let clock = self.logicalclock.load(Ordering::SeqCst);
        if n.election_epoch > clock {
            self.logicalclock.store(n.election_epoch, Ordering::SeqCst);
            recvset.clear();
            let mine = (
                self.init_id(),
                self.init_last_logged_zxid(),
                self.peer_epoch()?,
            );
            if self.total_order((n.leader, n.zxid, n.peer_epoch), mine) {
                self.update_proposal(n.leader, n.zxid, n.peer_epoch);
            } else {
                self.update_proposal(mine.0, mine.1, mine.2);
            }
            self.send_notifications();
        } else if n.election_epoch < clock {
            debug!(
                "Notification election epoch is smaller than logicalclock. n.electionEpoch = 0x{:x}, logicalclock=0x{clock:x}",
                n.election_epoch
            );
            return Ok(None);
        } else {
            let p = self.proposal();
            if self.total_order(
                (n.leader, n.zxid, n.peer_epoch),
                (p.leader, p.zxid, p.epoch),
            ) {
                self.update_proposal(n.leader, n.zxid, n.peer_epoch);
                self.send_notifications();
            }
        }
        debug!(
            "Adding vote: from={}, proposed leader={}, proposed zxid=0x{:x}, proposed election epoch=0x{:x}",
            n.sid, n.leader, n.zxid, n.election_epoch
        );
        recvset.insert(
            n.sid,
            Vote::new(n.leader, n.zxid, n.election_epoch, n.peer_epoch),
        );
        let p = self.proposal();
        let round = self.logicalclock.load(Ordering::SeqCst);
        let tracker = self.vote_tracker(recvset, &Vote::new(p.leader, p.zxid, round, p.epoch));
        if !tracker.has_all_quorums() {
            return Ok(None);
        }
        Ok(self.finalize_unless_better(tracker, round))
    }

    /// A quorum agrees with our proposal; any better vote still in flight
    /// (within `finalizeWait`) reopens the round, else the election ends.
    fn finalize_unless_better(&self, tracker: SyncedLearnerTracker, round: i64) -> Option<Vote> {
        while let Some(m) = self.recvqueue.poll(self.config.finalize_wait) {
            let p = self.proposal();
            if self.total_order(
                (m.leader, m.zxid, m.peer_epoch),
                (p.leader, p.zxid, p.epoch),
            ) {
                self.recvqueue.offer(m);
                return None;
            }
        }
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let p = self.proposal();
        self.set_peer_state(p.leader, Some(tracker));
        Some(self.finish(p.leader, p.zxid, round, p.epoch))
    }

    /// `receivedFollowingNotification` (and the LEADING case, which adds
    /// only the oracle): a settled server tells us whom it follows.
    fn received_settled_notification(
        &self,
        recvset: &mut HashMap<i64, Vote>,
        outofelection: &mut HashMap<i64, Vote>,
        n: &Notification,
    ) -> Option<Vote> {
        let theirs = Vote::new(n.leader, n.zxid, n.election_epoch, n.peer_epoch)
            .with_state(n.state)
            .with_version(n.version);
        // Same round as ours: it counts with the LOOKING votes.
        if n.election_epoch == self.logicalclock.load(Ordering::SeqCst) {
            recvset.insert(
                n.sid,
                Vote::new(n.leader, n.zxid, n.election_epoch, n.peer_epoch).with_state(n.state),
            );
            let tracker = self.vote_tracker(recvset, &theirs);
            if tracker.has_all_quorums() && self.check_leader(recvset, n.leader, n.election_epoch) {
                self.set_peer_state(n.leader, Some(tracker));
                return Some(self.finish(n.leader, n.zxid, n.election_epoch, n.peer_epoch));
            }
        }
        // Whatever the round: a quorum following the same leader, which
        // itself says LEADING, is an established ensemble to join.
        outofelection.insert(n.sid, theirs);
        let tracker = self.vote_tracker(outofelection, &theirs);
        if tracker.has_all_quorums() && self.check_leader(outofelection, n.leader, n.election_epoch)
        {
            self.logicalclock.store(n.election_epoch, Ordering::SeqCst);
            self.set_peer_state(n.leader, Some(tracker));
            return Some(self.finish(n.leader, n.zxid, n.election_epoch, n.peer_epoch));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_config::{Properties, SystemProperties};

    #[test]
    fn notification_intervals_come_from_system_properties() {
        let props = Properties::parse("dataDir=/tmp/x\n").unwrap();
        let config = QuorumPeerConfig::from_properties(&props).unwrap();
        assert_eq!(FleConfig::from_config(&config), FleConfig::default());
        assert_eq!(
            FleConfig::default().max_notification_interval,
            Duration::from_secs(60)
        );
        assert_eq!(
            FleConfig::default().min_notification_interval,
            Duration::from_millis(200)
        );

        let mut sys = SystemProperties::new();
        sys.set("zookeeper.fastleader.minNotificationInterval", "50");
        sys.set("zookeeper.fastleader.maxNotificationInterval", "5000");
        let config = QuorumPeerConfig::from_properties_with(&props, sys).unwrap();
        let fle = FleConfig::from_config(&config);
        assert_eq!(fle.min_notification_interval, Duration::from_millis(50));
        assert_eq!(fle.max_notification_interval, Duration::from_millis(5000));
        assert_eq!(fle.finalize_wait, Duration::from_millis(200));
    }

    #[test]
    fn refusal_messages() {
        assert_eq!(
            ElectionError::UnsupportedAlgorithm(1).to_string(),
            "Election Algorithm 1 is not supported."
        );
        assert!(ElectionError::UnsupportedAlgorithm(0)
            .to_string()
            .contains("electionAlg=0"));
    }
}
