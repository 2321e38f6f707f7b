//! # zk-election: QuorumCnxManager and FastLeaderElection
//!
//! The leader election of a replicated ensemble, as Apache ZooKeeper 3.8
//! runs it and byte-compatible with it on the election port, so our peers
//! and Apache's can elect a leader together.
//!
//! ## Using it
//!
//! zk-quorum's `QuorumPeer` implements [`ElectionPeer`] (its id, last
//! zxid, current epoch, current vote, state and configuration), then:
//!
//! ```text
//! let fle = start_election(&quorum_peer_config, peer)?;  // refuses electionAlg != 3
//! loop {                                                 // QuorumPeer.run
//!     peer.set_peer_state(LOOKING);
//!     let vote = fle.look_for_leader()?;                 // blocks; sets LEADING/FOLLOWING/OBSERVING
//!     peer.set_current_vote(vote);                       // answered to LOOKING peers from now on
//!     ... lead / follow / observe until that ends ...    // its new epoch becomes the vote's peer epoch
//! }
//! fle.shutdown();
//! ```
//!
//! ## Threads
//!
//! - `QuorumPeerListener` (+ one `ListenerHandler-<addr>` per election
//!   address): accepts election connections, reads the initial message and
//!   applies the rule that only a connection dialed by the larger sid
//!   survives (`Listener::run` and `ListenerHandler::run` in listener.rs,
//!   `receive_connection` in quorum_cnx_manager.rs).
//! - `QuorumConnectionThread-[myid=N]-i`: short-lived, dials one peer
//!   within `cnxTimeout` and sends our initial message.
//! - `SendWorker:<sid>` and `RecvWorker:<sid>`: one pair per live
//!   connection (`SendWorker::run`, `RecvWorker::run` in workers.rs).
//! - `WorkerSender[myid=N]` and `WorkerReceiver[myid=N]`: the
//!   FastLeaderElection `Messenger` (`WorkerSender::run`,
//!   `WorkerReceiver::run` in messenger.rs).
//! - The caller's thread runs `look_for_leader` (fast_leader_election.rs).
//!
//! ## How a notification flows
//!
//! ```text
//! sender:   look_for_leader --ToSend--> sendqueue --> WorkerSender --encode-->
//!           queueSendMap[sid] (keeps the newest 1) --> SendWorker --frame--> TCP
//! receiver: TCP --> (Listener accepted it / we dialed it) --> RecvWorker
//!           --Message--> recvQueue (newest 100) --> WorkerReceiver --decode-->
//!           recvqueue --> look_for_leader
//! ```
//!
//! The WorkerReceiver also answers on its own: a non-voter (an observer)
//! gets our current vote, and while we are not LOOKING a LOOKING peer gets
//! the vote we settled on, which is how late peers and observers learn an
//! established leader.
//!
//! ## Modules
//!
//! - [`wire`]: the byte layouts (initial message, frames, notifications).
//! - vote.rs: [`Vote`], [`ServerState`], `total_order_predicate`.
//! - notification.rs: [`Notification`], `ToSend`, received configs.
//! - synced_learner_tracker.rs: [`SyncedLearnerTracker`], the quorum test
//!   (`termPredicate`) over every configuration in force.
//! - circular_queue.rs: `CircularBlockingQueue`, the drop-oldest queue.
//! - peer.rs: [`ElectionPeer`].
//! - quorum_tls.rs: [`QuorumTls`], `sslQuorum` / `portUnification` /
//!   `sslQuorumReloadCertFiles` over `X509Util::quorum`, also used by
//!   zk-quorum's leader and learners on the quorum port.
//! - quorum_auth.rs and its neighbours: quorum SASL ([`QuorumAuth`], the
//!   [`QuorumAuthServer`] / [`QuorumAuthLearner`] traits, their `Null` and
//!   `Sasl` implementations, [`quorum_auth_packet`]), run on the election
//!   connections here and on zk-quorum's learner connections.
//! - unified_server_socket.rs: [`UnifiedServerSocket`] (TLS or plaintext
//!   by the first byte) and [`UnifiedSocket`] (a connection either way,
//!   its TLS session shared by the reader and writer threads).

#![deny(missing_docs)]
#![deny(clippy::too_many_lines)]

mod circular_queue;
mod fast_leader_election;
mod listener;
mod messenger;
mod notification;
mod null_quorum_auth_learner;
mod null_quorum_auth_server;
mod peer;
mod quorum_auth;
mod quorum_auth_initialize;
mod quorum_auth_learner;
pub mod quorum_auth_packet;
mod quorum_auth_server;
#[cfg(test)]
mod quorum_auth_tests;
mod quorum_cnx_manager;
mod quorum_tls;
mod sasl_quorum_auth_learner;
mod sasl_quorum_auth_server;
mod synced_learner_tracker;
mod unified_server_socket;
mod vote;
pub mod wire;
mod workers;

pub use fast_leader_election::{
    create_election_algorithm, start_election, ElectionError, FastLeaderElection, FleConfig,
};
pub use notification::{config_from_string, ConfigParseError, Notification};
pub use null_quorum_auth_learner::NullQuorumAuthLearner;
pub use null_quorum_auth_server::NullQuorumAuthServer;
pub use peer::ElectionPeer;
pub use quorum_auth::{next_packet_is_auth, PeekRead, PeekableReader, QuorumAuth, Status};
pub use quorum_auth_initialize::{initialize_quorum_auth, QuorumAuthPair};
pub use quorum_auth_learner::QuorumAuthLearner;
pub use quorum_auth_server::QuorumAuthServer;
pub use quorum_cnx_manager::{Message, QuorumCnxConfig, QuorumCnxManager};
pub use quorum_tls::QuorumTls;
pub use sasl_quorum_auth_learner::{SaslClientFactory, SaslQuorumAuthLearner};
pub use sasl_quorum_auth_server::{SaslQuorumAuthServer, SaslServerFactory};
pub use synced_learner_tracker::SyncedLearnerTracker;
pub use unified_server_socket::{UnifiedServerSocket, UnifiedSocket};
pub use vote::{ServerState, Vote};
