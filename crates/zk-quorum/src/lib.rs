//! # zk-quorum: QuorumPeer and Zab
//!
//! The replicated server's atomic broadcast, Zab, as Apache ZooKeeper 3.8
//! speaks it on the quorum port (byte-compatible: a 3.8 follower can sync
//! from our leader and the other way round).
//!
//! ## Modules
//!
//! - [`quorum_packet`]: `QuorumPacket`, `LearnerInfo`, the packet types and
//!   the raw payloads (LEADERINFO, ACKEPOCH, PING touches, REQUEST,
//!   REVALIDATE).
//! - [`quorum_peer`]: `QuorumPeer`, the state leader and learners share:
//!   id, limits, configuration, database, `currentEpoch`/`acceptedEpoch`,
//!   the tick; and for a peer from zoo.cfg `QuorumPeer::start` (database,
//!   client port, admin server, election, then the peer's thread) and
//!   `QuorumPeer::run`, the loop over LOOKING/LEADING/FOLLOWING/OBSERVING
//!   (the roles in quorum_peer_run.rs).
//! - `servers`: what Zab needs from the ZooKeeper server beside it
//!   (`servers::LeaderZkServer`, `servers::LearnerZkServer`) and
//!   implementations with no clients or processor threads.
//! - `leader`: `Leader`: the quorum port and the tick loop that pings
//!   and steps down without a quorum; the discovery and sync rendezvous in
//!   leader_negotiation.rs, the broadcast phase (propose, ACK, commit,
//!   INFORM) in leader_broadcast.rs.
//! - `learner_handler`: `LearnerHandler`, the leader's side of one
//!   learner.
//! - `pause_guard`: `PauseGuard`, which holds the leader's requests after
//!   a pause of about its sync limit until a quorum answers a PING sent
//!   after it (3.8 serves stale reads and syncs then).
//! - `sync_follower`: the DIFF/TRUNC/SNAP choice.
//! - `learner`: `Learner`: connect, register, sync.
//! - `follower`: `Follower` (`follow_leader`, `process_packet`) and
//!   `observer`: `Observer` (`observe_leader`, `process_packet`), each a
//!   `Learner` and its packet loop.
//! - the role servers and the main loop: see "Processor chains" below.
//!
//! Only `quorum_packet` (the wire, for tests and the fault-injection
//! proxy) and `quorum_peer` (what zk-bin starts) are public modules, with
//! [`Leader`], [`Follower`] and [`Observer`] at the root for tests that
//! drive Zab directly; the rest is this crate's own.
//!
//! ## Threads
//!
//! | thread | code | job |
//! |---|---|---|
//! | the peer's own | `Leader::lead` | discovery, sync, then the half-tick loop: count ticks, check that a quorum is synced, PING every learner |
//! | `LearnerCnxAcceptor-<addr>` | `Leader::accept_connections` | accepts learners, one handler each |
//! | `LearnerHandler-<addr>` | `LearnerHandler::serve` | reads from one learner: handshake, sync, then ACK/PING/REVALIDATE |
//! | `Sender-<addr>` | `LearnerHandler::send_packets` | writes that learner's queue, flushing when it runs dry |
//! | the peer's own | `Follower::follow_leader` / `Observer::observe_leader` | a learner: connect, register, sync, then read the leader's packets |
//! | `QuorumPeer[myid=N]<addr>` | `QuorumPeer::run` | the peer's own thread: election, then the role |
//! | `ProposalRequestProcessor`, `AckRequestProcessor` | proposal_request_processor.rs, ack_request_processor.rs (chain built in leader_zookeeper_server.rs) | the leader's chain beside zk-server's ProcessThread, SyncThread and FinalRequestProcessor |
//! | `CommitProcessor:N` | commit_processor.rs | holds requests until committed, per-session order |
//! | `FollowerRequestProcessor:N` / `ObserverRequestProcessor:N`, `SendAckRequestProcessor` | follower_request_processor.rs, observer_request_processor.rs, send_ack_request_processor.rs (chain built in learner_zookeeper_server.rs) | a learner's first stage (forwarding to the leader) and ACKs |
//!
//! ## How a learner joins (Zab 1.0, protocol 0x10000)
//!
//! ```text
//! learner                                   leader (LearnerHandler)
//!   FOLLOWERINFO(acceptedEpoch<<32, LearnerInfo) -->
//!                                           getEpochToPropose: wait for a quorum
//!   <-- LEADERINFO(newEpoch<<32, 0x10000)
//!   write acceptedEpoch
//!   ACKEPOCH(lastZxid, currentEpoch) -->
//!                                           waitForEpochAck: wait for a quorum
//!                                           under the db read lock: choose the sync,
//!                                           queue it, startForwarding; a SNAP is
//!                                           written at once (packet, sessions,
//!                                           tree, "BenWasHere")
//!   <-- DIFF | TRUNC | SNAP, PROPOSAL/COMMIT..., proposals forwarded since
//!   <-- NEWLEADER(newEpoch<<32, config text)
//!   snapshot if SNAP/TRUNC; write currentEpoch;
//!   log pending proposals
//!   ACK(newEpoch<<32) -->
//!                                           waitForNewLeaderAck: wait for a quorum;
//!                                           wait for the server to start
//!   <-- UPTODATE
//!   ACK -->; serve; commit what arrived
//!   <-- PING / PROPOSAL / COMMIT / SYNC / REVALIDATE ...
//! ```
//!
//! Before NEWLEADER a learner that got SNAP or TRUNC applies committed txns
//! straight to memory (the NEWLEADER snapshot makes them durable); after
//! it, and for a DIFF throughout, txns go through the log first.
//!
//! ## Broadcast
//!
//! `Leader::propose` records a proposal (a `SyncedLearnerTracker` over the
//! committed and any proposed configuration) and queues PROPOSAL to every
//! forwarding follower; ACKs (the leader's own from its log path) go to
//! `Leader::process_ack`, which commits in zxid order once a quorum acked:
//! COMMIT to followers, INFORM (with the txn) to observers, the proposal
//! moves to `toBeApplied`, pending learner SYNCs are answered, and the
//! zxid is handed to `LeaderZkServer::commit` outside the leader's locks
//! (in order, under a separate lock). The server calls `Leader::applied`
//! once the txn is in the tree and the committed log. Lock order:
//! database → leader broadcast state; the commit hand-off takes the
//! database only after releasing the broadcast state.
//!
//! ## Processor chains on zk-server
//!
//! The roles' servers are zk-server's `ZooKeeperServer` extended through
//! its one interface, `zk_server::server_role::ServerRole`, given when the
//! server is built: each role supplies its chain (reusing zk-server's
//! Prep, Sync and Final), its session tracker, how reconnects are
//! revalidated, and what the admin commands show. Each stage is a type in
//! the file of its name, on a thread fed by an mpsc channel (except
//! ToBeApplied, which runs on Final's thread as in 3.8):
//!
//! ```text
//! Leader:   Prep -> Proposal -+-> Sync -> AckRequest (leader.process_ack(myid, zxid))
//!                             +-> Commit -> Final -> ToBeApplied (leader.applied(zxid))
//!           Proposal: each txn to Commit first, then Leader::propose, then Sync;
//!           a learner's sync (it came through Prep, behind that
//!           learner's earlier requests) to Leader::process_sync;
//!           anything else straight to Commit.
//!           Commit: holds each txn until LeaderZkServer::commit(zxid).
//! Follower: FollowerRequest -> Commit -> Final
//!           FollowerRequest: every request to Commit; writes, createSession,
//!           closeSession and sync() also to the leader as REQUEST.
//!           PROPOSAL -> Sync -> SendAck (ACK through the LeaderWriter)
//!           COMMIT(zxid) -> Commit (matched with the local request, if any)
//!           SYNC -> Commit (the oldest pending local sync)
//! Observer: ObserverRequest -> Commit -> Final; INFORM -> Commit (and Sync
//!           unless zookeeper.observer.syncEnabled=false)
//! ```
//!
//! - `commit_processor`: `CommitProcessor`, per-session ordering and the
//!   match of committed txns with local requests.
//! - `proposal_request_processor`, `ack_request_processor`,
//!   `to_be_applied_request_processor`: the leader's own stages;
//!   `follower_request_processor`, `observer_request_processor`,
//!   `send_ack_request_processor`: the learners'.
//! - `leader_zookeeper_server`: `LeaderZooKeeperServer` (global sessions:
//!   expiry, PING touches, REVALIDATE).
//! - `learner_zookeeper_server`: `LearnerZooKeeperServer` for followers and
//!   observers (a learner session tracker that records touches; a
//!   reconnect asks the leader with REVALIDATE).
//! - [`quorum_peer`]: `QuorumPeer::run`, the peer's main loop over
//!   LOOKING/LEADING/FOLLOWING/OBSERVING; the client port and admin
//!   server outlive roles, and each role change closes the clients'
//!   connections (they reconnect), as 3.8 does.
//! - `read_only_zookeeper_server`: `ReadOnlyZooKeeperServer`, served while a
//!   participant with `readonlymode.enabled` stays LOOKING for
//!   `max(2 s, tickTime)`: reads from the local database, writes refused
//!   with NOTREADONLY, sessions local (no txn).
//!
//! A follower logs the txns of its sync (before UPTODATE) synchronously
//! through the database's own txn log, then closes that file; from
//! UPTODATE on the chain's SyncRequestProcessor logs. When a role ends,
//! txns logged but never committed are applied from the log
//! (`fastForwardDataBase`), so the next election sees them.
//!
//! ## Differences from 3.8
//!
//! - The leader holds the database read lock while it writes a SNAP, so
//!   the snapshot is exact (3.8's is fuzzy and relies on replaying
//!   overlapping txns); commits wait meanwhile.
//! - Leader and learner wait on one condition and are woken by shutdown
//!   instead of sitting out their timeouts.
//! - A learner connects to the first address of the leader's server line
//!   (3.8 races all of them).
//! - The leader runs quorum SASL (and the TLS handshake) for a learner on
//!   that learner's `LearnerHandler` thread; 3.8 authenticates in the
//!   acceptor, so one slow learner holds up the others.
//! - The configuration in NEWLEADER is ignored by learners (reconfig is
//!   off, as 3.8's default).
//! - A follower logs the txns of a DIFF synchronously before it acks
//!   NEWLEADER and sends no ACK for them (3.8 acks them afterwards, and
//!   its leader ignores those ACKs).
//! - A learner writes `currentEpoch` only once the sync's txns of earlier
//!   epochs are durable (3.8.4 writes it first: ZOOKEEPER-4643, where a
//!   learner dying in between later wins on epoch and truncates committed
//!   txns).
//! - A leader holds a learner's COMMITs between NEWLEADER and UPTODATE and
//!   sends them after UPTODATE, so that a 3.8 learner, which hands its
//!   received proposals to its log at NEWLEADER and forgets them, never
//!   meets a COMMIT it cannot match (ZOOKEEPER-4394).
//! - A leader that was paused for about its sync limit (the clock jumped
//!   past syncLimit − 1 ticks between tick-loop iterations) holds every
//!   request until a quorum answers a PING sent after the pause, or steps
//!   down within syncLimit (`pause_guard`); 3.8 serves stale data then.
//! - A read-only server's new sessions are always local; 3.8 makes them
//!   local only with `localSessionsEnabled=true` and otherwise answers a
//!   read-only client's connect with a NOTREADONLY reply. Its chain has
//!   no PrepRequestProcessor (3.8: ReadOnly -> Prep -> Final): nothing it
//!   lets through needs one. Sessions it knew from the database expire
//!   there without a txn (3.8's learner tracker keeps them).

#![deny(missing_docs)]
#![deny(clippy::too_many_lines)]

mod ack_request_processor;
mod commit_processor;
#[cfg(any(test, feature = "test-support"))]
pub mod direct_servers;
mod follower;
mod follower_request_processor;
mod leader;
mod leader_zookeeper_server;
mod learner;
mod learner_handler;
mod learner_reconfig;
mod learner_zookeeper_server;
mod observer;
mod observer_request_processor;
mod pause_guard;
mod proposal_request_processor;
mod proposal_stats;
pub mod quorum_packet;
pub mod quorum_peer;
mod read_only_zookeeper_server;
mod send_ack_request_processor;
mod servers;
mod sync_follower;
mod to_be_applied_request_processor;

pub use follower::Follower;
pub use leader::Leader;
pub use observer::Observer;

#[cfg(test)]
mod leader_reconfig_tests;
#[cfg(test)]
mod pause_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod zab_sasl_tests;
#[cfg(test)]
mod zab_tests;
