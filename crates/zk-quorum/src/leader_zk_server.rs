//! `LeaderZooKeeperServer`: the leader's client-facing server, zk-server's
//! `ZooKeeperServer` with the leader's processor chain:
//!
//! ```text
//! Prep -> ProposalRequestProcessor -+-> SyncRequestProcessor -> AckRequestProcessor
//!                                   |     (log, then Leader::process_ack(myid, zxid))
//!                                   +-> CommitProcessor -> FinalRequestProcessor
//!                                         (holds each txn until Leader commits it;
//!                                          Final then calls Leader::applied, the
//!                                          ToBeApplied step)
//! ```
//!
//! Every stage is a thread fed by a channel. Proposal hands a txn to
//! Commit *before* proposing it, on the channel the commit itself later
//! arrives on, so Commit always knows the request first. Requests that
//! learners forward (REQUEST) enter at Prep like local ones, without a
//! connection to answer but with their LearnerHandler as owner; a
//! learner's `sync` goes no further than Proposal, which hands it to
//! `Leader::process_sync` in order with that learner's earlier requests.
//! Global sessions live here: the tracker expires them and answers
//! learners' PING touches and REVALIDATEs.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;

use log::{debug, error, info, warn};
use serde_json::json;
use zk_persistence::records::Id;
use zk_persistence::txn_log::{marshall_txn_entry, TxnLogEntry};
use zk_server::container_manager::{ContainerManager, ContainerSettings};
use zk_server::final_request_processor::FinalRequestProcessor;
use zk_server::prep_request_processor::PrepRequestProcessor;
use zk_server::request::{Request, RequestOwner};
use zk_server::session_tracker::SessionTracker;
use zk_server::sync_request_processor::SyncRequestProcessor;
use zk_server::zookeeper_server::{QuorumRoleInfo, State, ZooKeeperServer};

use crate::commit_processor::{self, CommitInput};
use crate::leader::Leader;
use crate::learner_handler::LearnerHandler;
use crate::pause_guard::Admission;
use crate::quorum_packet::ForwardedRequest;
use crate::servers::LeaderZkServer;

/// See the module docs.
pub struct LeaderZooKeeperServer {
    zks: Arc<ZooKeeperServer>,
    leader: OnceLock<Weak<Leader>>,
    commit_tx: Mutex<Option<Sender<CommitInput>>>,
    containers: ContainerSettings,
    container_manager: Mutex<Option<ContainerManager>>,
    shut_down: AtomicBool,
}

impl LeaderZooKeeperServer {
    pub fn new(zks: Arc<ZooKeeperServer>, containers: ContainerSettings) -> Arc<Self> {
        Arc::new(LeaderZooKeeperServer {
            zks,
            leader: OnceLock::new(),
            commit_tx: Mutex::new(None),
            containers,
            container_manager: Mutex::new(None),
            shut_down: AtomicBool::new(false),
        })
    }

    /// Ties the server to its leader: applied txns are reported to it and
    /// the admin commands show its figures.
    pub fn attach(&self, leader: &Arc<Leader>) {
        let _ = self.leader.set(Arc::downgrade(leader));
        let weak = Arc::downgrade(leader);
        self.zks.set_applied_listener(Box::new(move |zxid| {
            if let Some(l) = weak.upgrade() {
                l.applied(zxid);
            }
        }));
        self.zks.set_role_info(Arc::new(LeaderRole {
            leader: Arc::downgrade(leader),
        }));
    }

    pub fn zks(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    fn leader(&self) -> io::Result<Arc<Leader>> {
        self.leader
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no leader attached"))
    }

    fn start_chain(&self, leader: &Arc<Leader>) -> io::Result<()> {
        let (commit_tx, commit_rx) = mpsc::channel();
        *self.commit_tx.lock().unwrap() = Some(commit_tx.clone());
        let my_id = leader.peer().my_id();
        let weak = Arc::downgrade(leader);
        self.zks.startup_with_chain(move |zks| {
            let (final_tx, final_rx) = mpsc::channel();
            let (sync_tx, sync_rx) = mpsc::channel();
            let (ack_tx, ack_rx) = mpsc::channel();
            let (proposal_tx, proposal_rx) = mpsc::channel();
            let (prep_tx, prep_rx) = mpsc::channel();
            let threads = vec![
                FinalRequestProcessor::start(Arc::clone(zks), final_rx)?,
                commit_processor::start(
                    format!("CommitProcessor:{my_id}"),
                    false,
                    commit_rx,
                    final_tx,
                )?,
                start_ack_processor(weak.clone(), my_id, ack_rx)?,
                SyncRequestProcessor::start(
                    Arc::clone(zks),
                    zks.config().sync.clone(),
                    sync_rx,
                    ack_tx,
                )?,
                start_proposal_processor(weak, proposal_rx, commit_tx, sync_tx)?,
                PrepRequestProcessor::start(Arc::clone(zks), prep_rx, proposal_tx)?,
            ];
            info!("Leader request processors started: PrepRequestProcessor -> ProposalRequestProcessor -> (SyncRequestProcessor -> AckRequestProcessor) and CommitProcessor -> FinalRequestProcessor");
            Ok((prep_tx, threads))
        })
    }
}

/// `ProposalRequestProcessor`: each txn to Commit (to wait there), to
/// the followers (`Leader::propose`) and to the local log; a learner's
/// `sync` to `Leader::process_sync`; anything else straight to Commit.
/// Every request first passes `Leader::admit_request`, which holds it
/// after a pause of the leader until a quorum has answered again.
///
/// A learner's `sync` is handled here, not when its LearnerHandler reads
/// it, because only here is every earlier request of that learner already
/// proposed: `process_sync` then holds the SYNC answer until the last
/// proposal is committed, so the learner gets the COMMIT of its own write
/// before the SYNC of the `sync` it sent after it.
fn start_proposal_processor(
    leader: Weak<Leader>,
    rx: Receiver<Request>,
    commit: Sender<CommitInput>,
    sync: Sender<Request>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ProposalRequestProcessor".into())
        .spawn(move || {
            for r in rx {
                // After a pause the tree may be stale: nothing goes on
                // until a quorum is heard from (see pause_guard).
                if let Some(l) = leader.upgrade() {
                    if l.admit_request() == Admission::Refused {
                        debug!(
                            "Dropping request 0x{:x}:{} held after a pause: the leader stopped",
                            r.session_id, r.cxid
                        );
                        continue;
                    }
                }
                if let Some(handler) = LearnerHandler::of_learner_sync(&r) {
                    // Not to Commit: this leader's clients are not waiting
                    // on it; the learner's CommitProcessor is.
                    match leader.upgrade() {
                        Some(l) => l.process_sync(&handler),
                        None => warn!("No leader to answer the sync of learner {}", handler.sid()),
                    }
                    continue;
                }
                let (Some(hdr), Some(txn)) = (r.hdr.as_ref(), r.txn.as_ref()) else {
                    if commit.send(CommitInput::Local(r)).is_err() {
                        break;
                    }
                    continue;
                };
                let entry = TxnLogEntry {
                    bytes: marshall_txn_entry(hdr, &txn.to_bytes(), r.txn_digest.as_ref()),
                    header: hdr.clone(),
                };
                if commit.send(CommitInput::Local(r.clone())).is_err() {
                    break;
                }
                match leader.upgrade() {
                    Some(l) => {
                        if let Err(e) = l.propose(&entry) {
                            error!("Cannot propose txn 0x{:x}: {e}", entry.zxid());
                        }
                    }
                    None => warn!("No leader to propose txn 0x{:x}", entry.zxid()),
                }
                if sync.send(r).is_err() {
                    break;
                }
            }
            info!("ProposalRequestProcessor exited loop!");
        })
}

/// `AckRequestProcessor`: the leader's own ACK, once a txn is logged here.
fn start_ack_processor(
    leader: Weak<Leader>,
    my_id: i64,
    rx: Receiver<Request>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("AckRequestProcessor".into())
        .spawn(move || {
            for r in rx {
                let Some(hdr) = r.hdr.as_ref() else { continue };
                match leader.upgrade() {
                    Some(l) => l.process_ack(my_id, hdr.zxid),
                    None => warn!("Keeping the ACK of 0x{:x}: no leader", hdr.zxid),
                }
            }
        })
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
        let sessions = self
            .zks
            .db()
            .read()
            .unwrap()
            .sessions_with_timeouts()
            .clone();
        let cfg = self.zks.config();
        self.zks.start_session_tracker(SessionTracker::new(
            cfg.tick_time,
            cfg.server_id,
            &sessions,
        ));
        self.start_chain(&leader)?;
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

/// What `srvr`/`mntr` show on the leader.
struct LeaderRole {
    leader: Weak<Leader>,
}

impl QuorumRoleInfo for LeaderRole {
    fn server_state(&self) -> &'static str {
        "leader"
    }

    fn monitor_values(&self) -> Vec<(&'static str, serde_json::Value)> {
        let Some(l) = self.leader.upgrade() else {
            return Vec::new();
        };
        let peer = l.peer();
        let followers = l.forwarding_followers();
        let synced_followers = followers
            .iter()
            .filter(|f| f.synced() && peer.is_participant(f.sid()))
            .count();
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
        ]
    }

    fn zab_state(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        Some(self.leader.upgrade()?.peer().zab_state_report(true))
    }
}
