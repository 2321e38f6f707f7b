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
//!   the tick.
//! - [`servers`]: what Zab needs from the ZooKeeper server beside it
//!   ([`servers::LeaderZkServer`], [`servers::LearnerZkServer`]) and
//!   implementations with no clients or processor threads.
//! - [`leader`]: `Leader`: the quorum port, discovery and sync rendezvous,
//!   the tick loop that pings and steps down without a quorum; its
//!   broadcast phase (propose, ACK, commit, INFORM) in leader_broadcast.rs.
//! - [`learner_handler`]: `LearnerHandler`, the leader's side of one
//!   learner.
//! - [`sync_follower`]: the DIFF/TRUNC/SNAP choice.
//! - [`learner`]: `Learner`: connect, register, sync.
//! - [`follower`]: `follow_leader`/`observe_leader`, a learner's packet
//!   loop.
//!
//! ## Threads
//!
//! | thread | code | job |
//! |---|---|---|
//! | the peer's own | `Leader::lead` | discovery, sync, then the half-tick loop: count ticks, check that a quorum is synced, PING every learner |
//! | `LearnerCnxAcceptor-<addr>` | `Leader::accept_connections` | accepts learners, one handler each |
//! | `LearnerHandler-<addr>` | `LearnerHandler::serve` | reads from one learner: handshake, sync, then ACK/PING/REVALIDATE |
//! | `Sender-<addr>` | `LearnerHandler::send_packets` | writes that learner's queue, flushing when it runs dry |
//! | the peer's own | `follow_leader` / `observe_leader` | a learner: connect, register, sync, then read the leader's packets |
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
//! ## Processor chains on zk-server (design; not wired yet)
//!
//! The roles reuse zk-server's processors, each a thread fed by an mpsc
//! channel (`PrepRequestProcessor::start(zks, rx, next)`,
//! `SyncRequestProcessor::start(zks, opts, rx, next)`,
//! `FinalRequestProcessor::start(zks, rx)`), and add their own threads
//! here:
//!
//! ```text
//! Leader:   Prep -> Proposal -+-> Sync -> AckRequest (leader.process_ack(myid, zxid))
//!                             +-> Commit -> ToBeApplied -> Final (then leader.applied(zxid))
//!           Proposal: txns to Leader::propose then Sync; learner syncs to
//!           Leader::process_sync; reads straight to Commit.
//!           Commit: holds each local request until LeaderZkServer::commit(zxid).
//! Follower: FollowerRequest -> Commit -> Final
//!           FollowerRequest: writes and createSession/closeSession go to the
//!           leader as REQUEST (LeaderWriter), reads wait in Commit behind
//!           this session's pending writes; sync() as REQUEST(type sync).
//!           PROPOSAL -> Sync -> SendAck (ACK via LeaderWriter; acks_logged_txns = true)
//!           COMMIT(zxid) -> Commit (matched with the local request, if any)
//! Observer: ObserverRequest -> Commit -> Final; INFORM -> Commit (and Sync if syncEnabled)
//! ```
//!
//! What zk-server must expose for this (all additive):
//!
//! 1. Starting a server with a chain built by the caller:
//!    `ZooKeeperServer::startup_with_chain(|zks| -> io::Result<(Sender<Request>,
//!    Vec<JoinHandle<()>>)>)`, splitting the session-tracker start out of
//!    `startup_without_serving` so that each role brings its own tracker.
//! 2. `set_zxid(zxid)` (the leader starts its epoch at `epoch << 32`) and
//!    `pub` `touch(session, timeout)` (PINGs from learners).
//! 3. A hook after Final applied a txn and added it to the committed log
//!    (`set_applied_listener(Fn(i64))`): the leader's ToBeApplied step and
//!    the follower's commit bookkeeping need "applied", not "handed to
//!    Final".
//! 4. Session trackers by role: the leader's expires and answers
//!    REVALIDATE (`LeaderZkServer::revalidate_session`); a learner's only
//!    records touches for the next PING (`touch_snapshot`) and never
//!    expires.
//! 5. SyncRequestProcessor (owned by another helper) opens its own
//!    `FileTxnSnapLog` from `SyncOptions::dirs`; a follower also logs from
//!    `Learner::sync_with_leader` before its chain runs, so it needs either
//!    a `log_entry(TxnLogEntry)` entry point on the running processor or
//!    a way to take the log from the `ZKDatabase`.
//! 6. FinalRequestProcessor must accept requests whose txn came from the
//!    leader (hdr/txn/digest set, `cnxn` None or a local client's).
//!
//! ## Differences from 3.8
//!
//! - The leader holds the database read lock while it writes a SNAP, so
//!   the snapshot is exact (3.8's is fuzzy and relies on replaying
//!   overlapping txns); commits wait meanwhile.
//! - Leader and learner wait on one condition and are woken by shutdown
//!   instead of sitting out their timeouts.
//! - A learner connects to the first address of the leader's server line
//!   (3.8 races all of them); quorum SASL/TLS are not supported.
//! - The configuration in NEWLEADER is ignored by learners (reconfig is
//!   off, as 3.8's default).
//! - A REQUEST of type sync from a learner goes straight to
//!   `Leader::process_sync` (3.8 routes it through Prep and Proposal first).
//! - A follower logs the txns of a DIFF synchronously before it acks
//!   NEWLEADER and sends no ACK for them (3.8 acks them afterwards, and
//!   its leader ignores those ACKs).

pub mod commit_processor;
pub mod follower;
pub mod leader;
pub mod leader_zk_server;
pub mod learner;
pub mod learner_handler;
pub mod learner_zk_server;
pub mod quorum_packet;
pub mod quorum_peer;
pub mod quorum_peer_main;
pub mod servers;
pub mod sync_follower;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod zab_tests;
