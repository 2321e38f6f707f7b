//! # zk-server: the standalone ZooKeeperServer
//!
//! The server that answers clients, as Apache ZooKeeper 3.8 runs it
//! standalone. [`zookeeper_server_main::ZooKeeperServerMain::run`] loads the data
//! directory and starts everything below.
//!
//! ## Threads
//!
//! | thread | code | job |
//! |---|---|---|
//! | `NIOServerCxnFactory.SelectorThread` | [`cnxn::nio_server_cnxn_factory`] | accepts, reads and frames every connection; writes replies back |
//! | `ProcessThread` | [`prep_request_processor`] | checks writes, assigns zxids, builds txns |
//! | `SyncThread` | [`sync_request_processor`] | appends txns to the log, one fsync per batch; rolls the log and starts snapshots |
//! | `Snapshot Thread` | [`sync_request_processor`] | writes one snapshot, then ends |
//! | `FinalRequestProcessor` | [`final_request_processor`] | applies txns, fires watches, answers reads, builds replies |
//! | `SessionTracker` | [`session_tracker`] | expires sessions whose clients went quiet |
//! | `AdminServer-<port>` | [`admin_server`] | accepts admin HTTP connections, a short-lived thread each |
//! | `ContainerManagerTask` | [`container_manager`] | deletes emptied containers and expired TTL nodes through the chain |
//!
//! ## A request's path
//!
//! The selector reads a frame and hands a [`request::Request`] to
//! [`zookeeper_server::ZooKeeperServer::submit_request`] → Prep's channel →
//! Sync's channel (writes wait there for the commit that covers them;
//! reads pass straight on unless writes are waiting ahead of them) →
//! Final's channel → Final applies/answers and sends the reply frame, and
//! any watch events before it, to the selector as a
//! [`cnxn::CnxnCommand`] over a channel plus a `mio::Waker` → the selector
//! queues it on the connection and writes it as the socket allows.
//!
//! Connect requests and auth packets are handled on the selector thread,
//! by the connection's own `NIOServerCnxn` (the protocol state machine in
//! `cnxn::nio_server_cnxn`); a new session still goes through the chain as
//! a `createSession` txn and its connect response comes from Final. Each
//! stage decides what to do with a request by its
//! [`OpCode`](zk_persistence::zoo_defs::OpCode) and the one classification
//! of it, [`OpKind`](zk_persistence::zoo_defs::OpKind).
//!
//! ## Extension points for replicated roles
//!
//! zk-quorum's role servers (3.8's `LeaderZooKeeperServer`,
//! `FollowerZooKeeperServer`, `ObserverZooKeeperServer`,
//! `ReadOnlyZooKeeperServer`) extend [`ZooKeeperServer`] only through
//! [`server_role::ServerRole`], given to
//! [`zookeeper_server::ZooKeeperServer::with_role`] when the server is
//! built. Its hooks, each defaulting to the standalone behaviour:
//!
//! - `create_session_tracker` (`createSessionTracker`): a learner's
//!   tracker only hands out ids and records touches;
//! - `setup_request_processors` (`setupRequestProcessors`): the role's
//!   chain, built from this crate's processors and the role's own;
//! - `revalidate_session` (`revalidateSession`): a learner asks its leader
//!   and answers later through `ZooKeeperServer::finish_session_init`;
//! - `txn_applied`: called on Final's thread after each txn (the leader's
//!   `ToBeAppliedRequestProcessor`);
//! - `server_state`, `monitor_values`, `zab_state` (`getState` and the
//!   admin commands' extras);
//! - `is_read_only` (a read-only server takes only read-only clients).
//!
//! Beyond these, a role drives the server through its public methods
//! (`load_data`, `startup_without_serving`, `start_serving`,
//! `submit_request`, `set_zxid`, `shutdown`, ...).
//!
//! ## Modules
//!
//! - [`cnxn`]: the client ports — `NIOServerCnxnFactory`'s selector and
//!   one `NIOServerCnxn` per connection, plaintext or TLS (the secure
//!   client port, port unification) — and the four-letter words.
//! - [`proto`], `multi`: the client protocol records.
//! - `java_random`, `digest`: `java.util.Random` (session passwords),
//!   SHA-1 and base64 (digest auth).
//! - `auth`: auth providers and the ACL rules;
//!   [`x509_authentication_provider`]: the x509 provider TLS clients'
//!   certificates authenticate with; `path_utils`: path validation.
//! - [`zookeeper_sasl_server`]: SASL on the client port (the `sasl`
//!   request, each connection's mechanism); [`authentication_helper`]:
//!   enforced authentication (`enforce.auth.*`,
//!   `sessionRequireClientSASLAuth`).
//! - `watch_manager`: one-shot and persistent watches.
//! - `expiry_queue`, [`session_tracker`]: sessions and their expiry.
//! - `server_stats`: the counters (server-wide and per connection)
//!   that the selector, `submit_request` and Final update.
//! - [`commands`]: the admin commands, rendered as four-letter-word
//!   text or, by [`admin_server`], as JSON over HTTP.
//! - [`fatal_error`], [`start_error`]: why a running server stops and why
//!   one did not start, as types; a processor that cannot go on reports
//!   its `FatalError` to the server
//!   ([`zookeeper_server::ZooKeeperServer::report_fatal_error`]) instead of
//!   ending the process, and zk-bin alone turns both into exit codes.

#![deny(missing_docs)]
#![deny(clippy::too_many_lines)]

pub mod admin_server;
mod auth;
pub mod authentication_helper;
pub mod cnxn;
pub mod commands;
pub mod container_manager;
mod digest;
mod expiry_queue;
pub mod fatal_error;
pub mod final_request_processor;
mod java_random;
pub mod metrics;
mod multi;
mod outstanding_changes;
mod path_utils;
pub mod prep_request_processor;
pub mod proto;
pub mod read_only_request_processor;
pub mod request;
pub mod sasl_authentication_provider;
pub mod server_metrics;
pub mod server_role;
mod server_stats;
pub mod session_tracker;
pub mod start_error;
pub mod sync_request_processor;
pub mod unified_connection_factory;
mod watch_manager;
pub mod x509_authentication_provider;
pub mod zookeeper_sasl_server;
pub mod zookeeper_server;
pub mod zookeeper_server_main;
mod zookeeper_server_quota;

#[cfg(test)]
mod admin_server_tls_tests;
#[cfg(test)]
mod processor_tests;
#[cfg(test)]
mod reconfig_tests;
#[cfg(test)]
mod test_harness;

pub use server_stats::BufferStats;
pub use zookeeper_server::ZooKeeperServer;
pub use zookeeper_server_main::ZooKeeperServerMain;
