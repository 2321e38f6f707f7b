//! `LeaderZooKeeperServer`: the leader's client-facing server, zk-server's
//! `ZooKeeperServer` with the leader's processor chain:
//!
//! ```text
//! Prep -> ProposalRequestProcessor -+-> SyncRequestProcessor -> AckRequestProcessor
//!                                   |     (log, then Leader::process_ack(myid, zxid))
//!                                   +-> CommitProcessor -> FinalRequestProcessor -> ToBeAppliedRequestProcessor
//!                                         (Commit holds each txn until Leader commits it;
//!                                          ToBeApplied then calls Leader::applied)
//! ```
//!
//! Every stage but ToBeApplied is a thread fed by a channel; each is a
//! type in the file of its name. Requests that learners forward (REQUEST)
//! enter at Prep like local ones, without a connection to answer but with
//! their LearnerHandler as owner; a learner's `sync` goes no further than
//! Proposal, which hands it to `Leader::process_sync` in order with that
//! learner's earlier requests. Global sessions live here: the tracker
//! expires them and answers learners' PING touches and REVALIDATEs.
//!
//! The server extends zk-server's `ZooKeeperServer` through
//! [`ServerRole`] (the chain above, `toBeApplied`, the admin commands'
//! figures), given when it is built.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use log::{info, warn};
use serde_json::json;
use zk_persistence::records::Id;
use zk_persistence::zk_database::ZKDatabase;
use zk_server::container_manager::{ContainerManager, ContainerSettings};
use zk_server::final_request_processor::FinalRequestProcessor;
use zk_server::prep_request_processor::PrepRequestProcessor;
use zk_server::request::{Request, RequestOwner};
use zk_server::server_role::ReconfigContext;
use zk_server::server_role::ServerRole;
use zk_server::sync_request_processor::SyncRequestProcessor;
use zk_server::zookeeper_server::{Chain, State, ZooKeeperServer, ZooKeeperServerConfig};

use crate::ack_request_processor::AckRequestProcessor;
use crate::commit_processor::{CommitInput, CommitProcessor};
use crate::leader::Leader;
use crate::learner_handler::LearnerHandler;
use crate::proposal_request_processor::ProposalRequestProcessor;
use crate::quorum_packet::ForwardedRequest;
use crate::servers::LeaderZkServer;
use crate::to_be_applied_request_processor::ToBeAppliedRequestProcessor;

/// See the module docs.
pub(crate) struct LeaderZooKeeperServer {
    zks: Arc<ZooKeeperServer>,
    /// Set by [`Self::attach`]: the `Leader` is built from this server
    /// (`Leader::new` takes it), so the link back can only come after.
    leader: OnceLock<Weak<Leader>>,
    /// Built with the chain, once the leader is known.
    to_be_applied: OnceLock<ToBeAppliedRequestProcessor>,
    commit_tx: Mutex<Option<Sender<CommitInput>>>,
    containers: ContainerSettings,
    container_manager: Mutex<Option<ContainerManager>>,
    shut_down: AtomicBool,
}

impl LeaderZooKeeperServer {
    /// A leader's server over the peer's database `db`.
    pub(crate) fn new(
        cfg: ZooKeeperServerConfig,
        db: Arc<RwLock<ZKDatabase>>,
        containers: ContainerSettings,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me: &Weak<LeaderZooKeeperServer>| {
            let role = Arc::new(LeaderRole { server: me.clone() });
            LeaderZooKeeperServer {
                zks: ZooKeeperServer::with_role(cfg, db, role),
                leader: OnceLock::new(),
                to_be_applied: OnceLock::new(),
                commit_tx: Mutex::new(None),
                containers,
                container_manager: Mutex::new(None),
                shut_down: AtomicBool::new(false),
            }
        })
    }

    /// Ties the server to its leader: its chain proposes through it,
    /// applied txns are reported to it and the admin commands show its
    /// figures.
    pub(crate) fn attach(&self, leader: &Arc<Leader>) {
        if self.leader.set(Arc::downgrade(leader)).is_err() {
            warn!("The leader's server is attached already; keeping the first leader");
        }
    }

    /// The client-facing server.
    pub(crate) fn zks(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    fn leader(&self) -> io::Result<Arc<Leader>> {
        self.leader
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no leader attached"))
    }

    /// `setupRequestProcessors`: the chain of the module docs.
    fn setup_request_processors(&self, zks: &Arc<ZooKeeperServer>) -> io::Result<Chain> {
        let leader = self.leader()?;
        let (commit_tx, commit_rx) = mpsc::channel();
        *self.commit_tx.lock().unwrap() = Some(commit_tx.clone());
        let _ = self
            .to_be_applied
            .set(ToBeAppliedRequestProcessor::new(&leader));
        let my_id = leader.peer().my_id();
        let weak = Arc::downgrade(&leader);
        let (final_tx, final_rx) = mpsc::channel();
        let (sync_tx, sync_rx) = mpsc::channel();
        let (ack_tx, ack_rx) = mpsc::channel();
        let (proposal_tx, proposal_rx) = mpsc::channel();
        let (prep_tx, prep_rx) = mpsc::channel();
        let threads = vec![
            FinalRequestProcessor::start(Arc::clone(zks), final_rx)?,
            CommitProcessor::start(my_id, false, commit_rx, final_tx)?,
            AckRequestProcessor::start(weak.clone(), my_id, ack_rx)?,
            SyncRequestProcessor::start(
                Arc::clone(zks),
                zks.config().sync.clone(),
                sync_rx,
                ack_tx,
            )?,
            ProposalRequestProcessor::start(weak, proposal_rx, commit_tx, sync_tx)?,
            PrepRequestProcessor::start(Arc::clone(zks), prep_rx, proposal_tx)?,
        ];
        info!("Leader request processors started: PrepRequestProcessor -> ProposalRequestProcessor -> (SyncRequestProcessor -> AckRequestProcessor) and CommitProcessor -> FinalRequestProcessor -> ToBeAppliedRequestProcessor");
        Ok((prep_tx, threads))
    }
}

impl LeaderZkServer for LeaderZooKeeperServer {
    fn load_data(&self) -> io::Result<i64> {
        let zxid = self.zks.load_data()?;
        // 3.8's loadData ends with a clean snapshot, so that what this
        // leader syncs learners from is on disk.
        let path = self.zks.db().write().unwrap().take_snapshot(false)?;
        info!("Snapshot taken: {}", path.display());
        Ok(zxid)
    }

    fn startup(&self) -> io::Result<()> {
        let leader = self.leader()?;
        self.zks.set_zxid(leader.zxid());
        // The standalone session tracker (global sessions) and
        // LeaderRole's chain.
        self.zks.startup_without_serving()?;
        self.zks.start_serving();
        match ContainerManager::start(Arc::clone(&self.zks), self.containers) {
            Ok(c) => *self.container_manager.lock().unwrap() = Some(c),
            Err(e) => warn!("ContainerManager not started: {e}"),
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.zks.state() == State::Running
    }

    fn commit(&self, zxid: i64) {
        if let Some(tx) = self.commit_tx.lock().unwrap().as_ref() {
            let _ = tx.send(CommitInput::CommittedZxid(zxid));
        }
    }

    fn touch(&self, session_id: i64, timeout: i32) -> bool {
        self.zks
            .try_session_tracker()
            .is_some_and(|t| t.touch_session(session_id, timeout))
    }

    fn submit_learner_request(
        &self,
        handler: &Arc<LearnerHandler>,
        req: ForwardedRequest,
        authinfo: Vec<Id>,
    ) {
        let mut r = Request::new(req.session_id, req.cxid, req.op_type, req.body);
        r.auth_info = Arc::new(authinfo);
        // The owner marks a learner's request; for a `sync` it is where
        // ProposalRequestProcessor sends the answer.
        let owner: RequestOwner = handler.clone();
        r.owner = Some(owner);
        self.zks.submit_request(r);
    }

    fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(mut c) = self.container_manager.lock().unwrap().take() {
            c.stop();
        }
        // The chain ends once its inputs close: ours goes first.
        self.commit_tx.lock().unwrap().take();
        self.zks.shutdown();
        crate::servers::fast_forward_from_log(self.zks.db());
    }
}

/// `LeaderZooKeeperServer`'s overrides of `ZooKeeperServer`: its chain,
/// `toBeApplied`, and what `srvr`/`mntr`/`zabstate` show.
struct LeaderRole {
    server: Weak<LeaderZooKeeperServer>,
}

impl LeaderRole {
    fn leader(&self) -> Option<Arc<Leader>> {
        self.server.upgrade()?.leader().ok()
    }
}

impl ServerRole for LeaderRole {
    fn setup_request_processors(&self, zks: &Arc<ZooKeeperServer>) -> io::Result<Chain> {
        self.server
            .upgrade()
            .ok_or_else(|| io::Error::other("the leader's server is being dropped"))?
            .setup_request_processors(zks)
    }

    fn txn_applied(&self, zxid: i64) {
        if let Some(t) = self
            .server
            .upgrade()
            .as_ref()
            .and_then(|s| s.to_be_applied.get())
        {
            t.process_request(zxid);
        }
    }

    fn server_state(&self) -> &'static str {
        "leader"
    }

    fn monitor_values(&self) -> Vec<(&'static str, serde_json::Value)> {
        let Some(l) = self.leader() else {
            return Vec::new();
        };
        let peer = l.peer();
        let followers = l.forwarding_followers();
        let synced_followers = followers
            .iter()
            .filter(|f| f.synced() && peer.is_participant(f.sid()))
            .count();
        let s = &l.proposal_stats;
        let (last, min, max) = (s.last(), s.min(), s.max());
        let synced_non_voting = followers
            .iter()
            .filter(|f| f.synced() && !peer.is_participant(f.sid()))
            .count();
        vec![
            ("learners", json!(l.learners().len())),
            ("synced_followers", json!(synced_followers)),
            ("synced_non_voting_followers", json!(synced_non_voting)),
            ("synced_observers", json!(l.observing_learners().len())),
            ("pending_syncs", json!(l.pending_syncs())),
            (
                "leader_uptime",
                json!(l.started.elapsed().as_millis() as u64),
            ),
            ("last_proposal_size", json!(last)),
            ("max_proposal_size", json!(max)),
            ("min_proposal_size", json!(min)),
            (
                "quorum_size",
                json!(peer.quorum_verifier().voting_members().len()),
            ),
        ]
    }

    fn zab_state(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        Some(self.leader()?.peer().zab_state_report(true))
    }

    fn leader_report(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        Some(self.leader()?.peer().leader_report(true))
    }

    fn dump_conf(&self) -> Option<String> {
        Some(self.leader()?.peer().dump_conf())
    }

    fn voting_view(&self) -> Option<serde_json::Value> {
        Some(self.leader()?.peer().voting_view_report())
    }

    fn observers_report(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        Some(self.leader()?.observers_report())
    }

    fn reset_observer_connection_stats(&self) {
        if let Some(l) = self.leader() {
            l.reset_observer_connection_stats();
        }
    }

    fn proposal_stats(&self) -> Option<(i64, i64, i64)> {
        let l = self.leader()?;
        let s = &l.proposal_stats;
        Some((s.last(), s.min(), s.max()))
    }

    /// What `pRequest2TxnReconfig` reads from `lzks.self` and
    /// `lzks.getLeader()`: both configs, and the forwarding followers
    /// that count for `isQuorumSynced`.
    fn reconfig_context(&self) -> Option<ReconfigContext> {
        let server = self.server.upgrade()?;
        let l = server.leader().ok()?;
        let peer = l.peer();
        let synced_learners = l
            .forwarding_followers()
            .iter()
            .filter(|f| f.synced())
            .map(|f| f.sid())
            .collect();
        Some(ReconfigContext {
            my_id: peer.my_id(),
            quorum_verifier: (*peer.quorum_verifier()).clone(),
            last_seen_quorum_verifier: (*peer.last_seen_quorum_verifier()).clone(),
            synced_learners,
            // The peer's settings do not carry standaloneEnabled yet; 3.8's
            // default (true) asks a new config for two voters.
            standalone_enabled: true,
            multi_address_enabled: server
                .zks
                .config()
                .system_properties
                .get_boolean_or("zookeeper.multiAddress.enabled", false),
        })
    }
}
