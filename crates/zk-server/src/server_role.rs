//! [`ServerRole`]: the one way a replicated role's server extends
//! [`ZooKeeperServer`].
//!
//! 3.8 has `LeaderZooKeeperServer`, `FollowerZooKeeperServer`,
//! `ObserverZooKeeperServer` and `ReadOnlyZooKeeperServer` subclass
//! `ZooKeeperServer` and override a handful of its methods. Here a role
//! implements this trait and hands it to
//! [`ZooKeeperServer::with_role`] when the server is built; the server
//! calls it at the points 3.8 overrides:
//!
//! | hook | 3.8 method | called |
//! |---|---|---|
//! | [`ServerRole::create_session_tracker`] | `createSessionTracker` | by `startup_without_serving`, after the database is loaded |
//! | [`ServerRole::setup_request_processors`] | `setupRequestProcessors` | by `startup_without_serving`, after the session tracker started |
//! | [`ServerRole::revalidate_session`] | `revalidateSession` | on the selector thread, for a reconnect with a valid password |
//! | [`ServerRole::txn_applied`] | (the leader's `ToBeAppliedRequestProcessor`) | on Final's thread, after each txn is applied |
//! | [`ServerRole::server_state`] | `getState` | by `srvr`, `stat`, `mntr`, the admin server |
//! | [`ServerRole::monitor_values`], [`ServerRole::zab_state`] | the role's `mntr` / `zabstate` extras | by the admin commands |
//! | [`ServerRole::is_read_only`] | `instanceof ReadOnlyZooKeeperServer` | by connect handling and Final's connect response |
//! | [`ServerRole::reconfig_context`] | `instanceof LeaderZooKeeperServer` and what the reconfig checks read from its peer and leader | by Prep, for each reconfig |
//! | [`ServerRole::leader_report`], [`ServerRole::voting_view`], [`ServerRole::observers_report`], [`ServerRole::reset_observer_connection_stats`], [`ServerRole::proposal_stats`], [`ServerRole::dump_conf`] | the `instanceof QuorumZooKeeperServer` / `LeaderZooKeeperServer` branches of the `leader`, `voting_view`, `observers`, `orst`, `stat` and `conf` commands | by the admin commands |
//!
//! Every method has the standalone server's behaviour as its default, so
//! [`Standalone`] is an empty implementation.

use std::collections::BTreeSet;
use std::sync::Arc;

use zk_config::QuorumVerifier;

use crate::request::CnxnId;
use crate::session_tracker::SessionTracker;
use crate::zookeeper_server::{Chain, ZooKeeperServer};

/// What [`ServerRole::revalidate_session`] did with a reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revalidation {
    /// The server checks the session in its own tracker and answers at
    /// once (a standalone server, the leader, a read-only server).
    Local,
    /// The role asked elsewhere (a learner asks its leader); the answer
    /// comes later through [`ZooKeeperServer::finish_session_init`].
    Pending,
}

/// What Prep checks a reconfig against, read from the leader in one go
/// (3.8's `pRequest2TxnReconfig` reads the same from the leader's
/// `QuorumPeer` and `Leader`).
#[derive(Debug, Clone)]
pub struct ReconfigContext {
    /// The leader's own sid.
    pub my_id: i64,
    /// The committed config (`getQuorumVerifier`).
    pub quorum_verifier: QuorumVerifier,
    /// The newest config proposed (`getLastSeenQuorumVerifier`); a
    /// version differing from the committed one is a reconfig in progress.
    pub last_seen_quorum_verifier: QuorumVerifier,
    /// Sids of the forwarding followers that are synced and within their
    /// ack deadline (`LearnerHandler.synced`), for `isQuorumSynced`.
    pub synced_learners: BTreeSet<i64>,
    /// `standaloneEnabled`: then a new config needs two voters, not one.
    pub standalone_enabled: bool,
    /// `zookeeper.multiAddress.enabled`, for parsing the new server lines.
    pub multi_address_enabled: bool,
}

/// The hooks a role gives its [`ZooKeeperServer`] at construction; see
/// the module docs. The server holds the role for its whole life, so a
/// role that needs to reach back to the server (or to its own role
/// object) holds it weakly.
pub trait ServerRole: Send + Sync {
    /// `createSessionTracker`: the tracker this server starts with. By
    /// default one that owns and expires the sessions the database holds.
    fn create_session_tracker(&self, zks: &Arc<ZooKeeperServer>) -> Arc<SessionTracker> {
        zks.standalone_session_tracker()
    }

    /// `setupRequestProcessors`: builds and starts the processor chain,
    /// returning its first stage and the threads to join at shutdown. By
    /// default the standalone chain, Prep → Sync → Final.
    fn setup_request_processors(&self, zks: &Arc<ZooKeeperServer>) -> std::io::Result<Chain> {
        zks.standalone_request_processors()
    }

    /// `revalidateSession`: a client reconnects with session `session` and
    /// the right password on connection `cnxn`. By default the server
    /// checks its own tracker ([`Revalidation::Local`]).
    fn revalidate_session(
        &self,
        _cnxn: CnxnId,
        _session: i64,
        _timeout: i32,
        _read_only: Option<bool>,
    ) -> Revalidation {
        Revalidation::Local
    }

    /// Final applied the txn `zxid` and added it to the committed log
    /// (the leader then drops it from `toBeApplied`). Nothing by default.
    fn txn_applied(&self, _zxid: i64) {}

    /// `ServerStats.getServerState`: "standalone", "leader", "follower",
    /// "observer", "read-only".
    fn server_state(&self) -> &'static str {
        crate::commands::server::SERVER_STATE
    }

    /// Extra `mntr` values (without the `zk_` prefix), e.g. a leader's
    /// learners and pending syncs.
    fn monitor_values(&self) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }

    /// The `zabstate` admin command's fields (None: answer as a
    /// standalone server does).
    fn zab_state(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        None
    }

    /// A read-only server: only clients that allow read-only mode get
    /// sessions, and they are told so in their connect response.
    fn is_read_only(&self) -> bool {
        false
    }

    /// The leader's state a reconfig is checked against; `None` (every
    /// role but the leader's) answers a reconfig with UNIMPLEMENTED, as a
    /// standalone 3.8 does (a learner forwards reconfigs to its leader and
    /// never prepares one).
    fn reconfig_context(&self) -> Option<ReconfigContext> {
        None
    }

    /// The `leader` command's fields (`is_leader`, `leader_id`,
    /// `leader_ip`) for a server of a quorum peer; None: answer as a
    /// standalone server does.
    fn leader_report(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        None
    }

    /// `voting_view`'s `current_config`: the voting members of the
    /// peer's committed config, by sid. None: standalone.
    fn voting_view(&self) -> Option<serde_json::Value> {
        None
    }

    /// The `observers` command's fields (`synced_observers`,
    /// `observers`) where this role has observers to report (a leader);
    /// None: none, as 3.8 answers for every other role.
    fn observers_report(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        None
    }

    /// `orst`: zero the per-observer packet counters (a leader's).
    fn reset_observer_connection_stats(&self) {}

    /// What a quorum peer's server adds to the `conf` four-letter word
    /// (3.8's `QuorumZooKeeperServer.dumpConf`): limits, ports, type and
    /// membership. None: standalone.
    fn dump_conf(&self) -> Option<String> {
        None
    }

    /// A leader's `getProposalStats` (last, min, max proposal sizes),
    /// which `stat`, `srvr` and `server_stats` add; None in other roles.
    fn proposal_stats(&self) -> Option<(i64, i64, i64)> {
        None
    }
}

/// The standalone server's role: every hook at its default.
#[derive(Debug, Default, Clone, Copy)]
pub struct Standalone;

impl ServerRole for Standalone {}
