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
//!   the tick loop that pings and steps down without a quorum.
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
//! - A follower logs the txns of a DIFF synchronously before it acks
//!   NEWLEADER and sends no ACK for them (3.8 acks them afterwards, and
//!   its leader ignores those ACKs).

pub mod follower;
pub mod leader;
pub mod learner;
pub mod learner_handler;
pub mod quorum_packet;
pub mod quorum_peer;
pub mod servers;
pub mod sync_follower;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod zab_tests;
