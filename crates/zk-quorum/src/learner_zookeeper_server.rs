//! `FollowerZooKeeperServer` and `ObserverZooKeeperServer`: a learner's
//! client-facing server, zk-server's `ZooKeeperServer` with a learner's
//! processor chain, one [`LearnerZooKeeperServer`] type for both roles:
//!
//! ```text
//! Follower: FollowerRequestProcessor -> CommitProcessor -> FinalRequestProcessor
//!           PROPOSAL -> SyncRequestProcessor -> SendAckRequestProcessor (ACK to the leader)
//!           COMMIT   -> CommitProcessor (the logged txn, matched with a local request)
//! Observer: ObserverRequestProcessor -> CommitProcessor -> FinalRequestProcessor
//!           INFORM   -> CommitProcessor (and SyncRequestProcessor, to log it,
//!                       unless zookeeper.observer.syncEnabled=false)
//! ```
//!
//! The first stage passes every request to Commit and forwards those that
//! need the quorum (writes, createSession/closeSession, `sync`) to the
//! leader as REQUEST. Reads are answered from the local tree once the
//! session's earlier requests are. A `sync` waits in Commit until the
//! leader's SYNC arrives behind every commit it had sent.
//!
//! Sessions belong to the leader: the tracker here only hands out ids and
//! records touches for the PING replies; a client reconnecting here with
//! an existing session waits while the leader answers our REVALIDATE.
//!
//! Txns logged during the sync (before UPTODATE) are written through the
//! database's own log and fsynced at once, before the follower acks
//! NEWLEADER; once the server serves, the chain's SyncRequestProcessor
//! logs them (the database's log file is closed first, so the two never
//! write the same file).
//!
//! The server extends zk-server's `ZooKeeperServer` through
//! [`ServerRole`] (the learner's session tracker and chain, REVALIDATE,
//! the admin commands' mode), given when it is built. Each stage is a type
//! in the file of its name.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock, Weak};

use log::{info, warn};
use zk_persistence::file_txn_log::TxnLogEntry;
use zk_persistence::zk_database::ZKDatabase;
use zk_server::final_request_processor::FinalRequestProcessor;
use zk_server::request::{CnxnId, Request};
use zk_server::server_role::{Revalidation, ServerRole};
use zk_server::session_tracker::SessionTracker;
use zk_server::sync_request_processor::SyncRequestProcessor;
use zk_server::zookeeper_server::{Chain, ZooKeeperServer, ZooKeeperServerConfig};

use crate::commit_processor::{needs_commit, request_of_entry, CommitInput, CommitProcessor};
use crate::follower_request_processor::FollowerRequestProcessor;
use crate::learner::LeaderWriter;
use crate::observer_request_processor::ObserverRequestProcessor;
use crate::quorum_packet::{
    packet_type, revalidate_request_payload, AuthInfo, ForwardedRequest, QuorumPacket,
};
use crate::quorum_peer::QuorumPeer;
use crate::send_ack_request_processor::SendAckRequestProcessor;
use crate::servers::{apply_to_db, LearnerZkServer};

/// Which learner this server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LearnerRole {
    /// `FollowerZooKeeperServer`.
    Follower,
    /// `ObserverZooKeeperServer`.
    Observer,
}

impl LearnerRole {
    fn name(self) -> &'static str {
        match self {
            LearnerRole::Follower => "follower",
            LearnerRole::Observer => "observer",
        }
    }
}

/// A reconnect waiting for the leader's REVALIDATE answer: the
/// connection, the session timeout, the client's read-only flag.
type PendingRevalidation = (CnxnId, i32, Option<bool>);

/// See the module docs.
pub(crate) struct LearnerZooKeeperServer {
    role: LearnerRole,
    my_id: i64,
    zks: Arc<ZooKeeperServer>,
    /// Observers log INFORMs unless `zookeeper.observer.syncEnabled=false`.
    sync_enabled: bool,
    writer: Mutex<Option<Arc<LeaderWriter>>>,
    commit_tx: Mutex<Option<Sender<CommitInput>>>,
    sync_tx: Mutex<Option<Sender<Request>>>,
    /// Proposals logged and not yet committed, oldest first.
    pending_txns: Mutex<VecDeque<TxnLogEntry>>,
    /// Local `sync`s forwarded to the leader, oldest first.
    pending_syncs: Mutex<VecDeque<Request>>,
    /// Reconnecting sessions the leader is asked about: connection,
    /// timeout, the client's read-only flag.
    pending_revalidations: Mutex<HashMap<i64, PendingRevalidation>>,
    serving: AtomicBool,
    shut_down: AtomicBool,
    /// For the admin commands' `zabstate`.
    peer: Weak<QuorumPeer>,
}

impl LearnerZooKeeperServer {
    /// `peer`'s server for `role` over its database; observers log
    /// INFORMs if `sync_enabled`.
    pub(crate) fn new(
        role: LearnerRole,
        peer: &Arc<QuorumPeer>,
        cfg: ZooKeeperServerConfig,
        sync_enabled: bool,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me: &Weak<LearnerZooKeeperServer>| {
            let hooks = Arc::new(LearnerServerRole {
                server: me.clone(),
                role,
                my_id: peer.my_id(),
            });
            LearnerZooKeeperServer {
                role,
                my_id: peer.my_id(),
                zks: ZooKeeperServer::with_role(cfg, Arc::clone(peer.db()), hooks),
                sync_enabled,
                writer: Mutex::new(None),
                commit_tx: Mutex::new(None),
                sync_tx: Mutex::new(None),
                pending_txns: Mutex::new(VecDeque::new()),
                pending_syncs: Mutex::new(VecDeque::new()),
                pending_revalidations: Mutex::new(HashMap::new()),
                serving: AtomicBool::new(false),
                shut_down: AtomicBool::new(false),
                peer: Arc::downgrade(peer),
            }
        })
    }

    /// The client-facing server.
    pub(crate) fn zks(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    /// Closes the connection to the leader, which ends the learner's
    /// packet loop (peer shutdown).
    pub(crate) fn close_leader_connection(&self) {
        if let Some(w) = self.writer.lock().unwrap().as_ref() {
            w.close();
        }
    }

    /// Sends `qp` to the leader (SendAckRequestProcessor's ACKs, the first
    /// stage's REQUESTs, REVALIDATEs).
    pub(crate) fn write_to_leader(&self, qp: &QuorumPacket) {
        let writer = self.writer.lock().unwrap().clone();
        match writer {
            Some(w) => {
                if let Err(e) = w.write_packet(qp, true) {
                    warn!("Cannot send {qp} to the leader: {e}");
                }
            }
            None => warn!("No connection to the leader; dropping {qp}"),
        }
    }

    /// `validateSession`: asks the leader whether a reconnecting client's
    /// session still lives.
    fn revalidate(&self, cnxn: CnxnId, session: i64, timeout: i32, read_only: Option<bool>) {
        self.pending_revalidations
            .lock()
            .unwrap()
            .insert(session, (cnxn, timeout, read_only));
        let qp = QuorumPacket::new(
            packet_type::REVALIDATE,
            -1,
            Some(revalidate_request_payload(session, timeout)),
        );
        self.write_to_leader(&qp);
    }

    /// The first stage's work for one request (`FollowerRequestProcessor`
    /// / `ObserverRequestProcessor`): to Commit, and to the leader if it
    /// needs the quorum. False once Commit is gone.
    pub(crate) fn forward_request(&self, r: Request, commit: &Sender<CommitInput>) -> bool {
        let to_leader = needs_commit(&r, true);
        let packet = to_leader.then(|| {
            let mut qp = QuorumPacket::new(
                packet_type::REQUEST,
                -1,
                Some(
                    ForwardedRequest {
                        session_id: r.session_id,
                        cxid: r.cxid,
                        op_type: r.op,
                        body: r.body.clone(),
                    }
                    .to_bytes(),
                ),
            );
            qp.authinfo = AuthInfo(Some(r.auth_info.to_vec()));
            qp
        });
        if to_leader && r.op == zk_persistence::zoo_defs::op_code::SYNC {
            self.pending_syncs.lock().unwrap().push_back(r.clone());
        }
        // Commit hears of it before the leader can answer.
        if commit.send(CommitInput::Local(r)).is_err() {
            return false;
        }
        if let Some(qp) = packet {
            self.write_to_leader(&qp);
        }
        true
    }

    fn send_commit(&self, input: CommitInput) -> io::Result<()> {
        match self.commit_tx.lock().unwrap().as_ref() {
            Some(tx) => tx.send(input).map_err(|_| {
                io::Error::new(io::ErrorKind::BrokenPipe, "the CommitProcessor has stopped")
            }),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the learner's processors are not running",
            )),
        }
    }

    fn send_to_log(&self, entry: &TxnLogEntry) -> io::Result<()> {
        let r = request_of_entry(entry)?;
        match self.sync_tx.lock().unwrap().as_ref() {
            Some(tx) => tx.send(r).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the SyncRequestProcessor has stopped",
                )
            }),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the learner's processors are not running",
            )),
        }
    }

    /// `setupRequestProcessors`: the chain of the module docs.
    fn setup_request_processors(self: &Arc<Self>, zks: &Arc<ZooKeeperServer>) -> io::Result<Chain> {
        let (commit_tx, commit_rx) = mpsc::channel();
        let logs = self.role == LearnerRole::Follower || self.sync_enabled;
        let (sync_tx, sync_rx) = mpsc::channel();
        *self.commit_tx.lock().unwrap() = Some(commit_tx.clone());
        if logs {
            *self.sync_tx.lock().unwrap() = Some(sync_tx);
        }
        let me = Arc::downgrade(self);
        let (final_tx, final_rx) = mpsc::channel();
        let (ack_tx, ack_rx) = mpsc::channel();
        let (first_tx, first_rx) = mpsc::channel();
        let mut threads = vec![
            FinalRequestProcessor::start(Arc::clone(zks), final_rx)?,
            CommitProcessor::start(self.my_id, true, commit_rx, final_tx)?,
        ];
        if logs {
            let acks = self.role == LearnerRole::Follower;
            threads.push(SendAckRequestProcessor::start(me.clone(), acks, ack_rx)?);
            threads.push(SyncRequestProcessor::start(
                Arc::clone(zks),
                zks.config().sync.clone(),
                sync_rx,
                ack_tx,
            )?);
        }
        threads.push(match self.role {
            LearnerRole::Follower => {
                FollowerRequestProcessor::start(self.my_id, me, first_rx, commit_tx)?
            }
            LearnerRole::Observer => {
                ObserverRequestProcessor::start(self.my_id, me, first_rx, commit_tx)?
            }
        });
        info!(
            "{} request processors started",
            match self.role {
                LearnerRole::Follower => "Follower: FollowerRequestProcessor -> CommitProcessor -> FinalRequestProcessor; SyncRequestProcessor -> SendAckRequestProcessor",
                LearnerRole::Observer => "Observer: ObserverRequestProcessor -> CommitProcessor -> FinalRequestProcessor",
            }
        );
        Ok((first_tx, threads))
    }

    fn db_ref(&self) -> &Arc<RwLock<ZKDatabase>> {
        self.zks.db()
    }
}

impl LearnerZkServer for LearnerZooKeeperServer {
    fn db(&self) -> &Arc<RwLock<ZKDatabase>> {
        self.db_ref()
    }

    fn set_leader_writer(&self, writer: Arc<LeaderWriter>) {
        *self.writer.lock().unwrap() = Some(writer);
    }

    fn process_txn(&self, entry: &TxnLogEntry) -> io::Result<()> {
        apply_to_db(&mut self.zks.db().write().unwrap(), entry)
    }

    fn take_snapshot(&self, sync_snap: bool) -> io::Result<()> {
        let path = self.zks.db().write().unwrap().take_snapshot(sync_snap)?;
        info!("Snapshot taken: {}", path.display());
        Ok(())
    }

    fn startup_without_serving(&self) -> io::Result<()> {
        if self.zks.try_session_tracker().is_some() {
            return Err(io::Error::other("the learner's server was started twice"));
        }
        // LearnerServerRole's session tracker and chain.
        self.zks.startup_without_serving()
    }

    fn start_serving(&self) -> io::Result<()> {
        {
            // From here on the chain's SyncRequestProcessor appends
            // (through the same log). The sync's txns are made durable and
            // their file closed, so the chain's first txn starts a new
            // log.<zxid>: the files a learner leaves stay as they were
            // when Sync had a log of its own.
            let mut db = self.zks.db().write().unwrap();
            db.commit()?;
            db.close()?;
        }
        self.serving.store(true, Ordering::SeqCst);
        self.zks.start_serving();
        Ok(())
    }

    fn log_request(&self, entry: TxnLogEntry) -> io::Result<()> {
        if !self.serving.load(Ordering::SeqCst) {
            {
                let mut db = self.zks.db().write().unwrap();
                db.append_entry(&entry.bytes)?;
                db.commit()?;
            }
            self.pending_txns.lock().unwrap().push_back(entry);
            return Ok(());
        }
        self.pending_txns.lock().unwrap().push_back(entry.clone());
        self.send_to_log(&entry)
    }

    fn acks_logged_txns(&self) -> bool {
        true
    }

    fn commit(&self, zxid: i64) -> io::Result<()> {
        let popped = crate::servers::pop_committed(&mut self.pending_txns.lock().unwrap(), zxid);
        let entry = match popped {
            Ok(entry) => entry,
            Err(crate::servers::CommitError::Unmatched(fatal)) => {
                // The peer stops with it (its listener), then this role.
                self.zks.report_fatal_error(fatal.clone());
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    fatal.to_string(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        self.send_commit(CommitInput::Committed(request_of_entry(&entry)?))
    }

    fn commit_request(&self, entry: TxnLogEntry) -> io::Result<()> {
        if self.sync_tx.lock().unwrap().is_some() {
            self.send_to_log(&entry)?;
        }
        self.send_commit(CommitInput::Committed(request_of_entry(&entry)?))
    }

    fn touch_snapshot(&self) -> Vec<(i64, i32)> {
        self.zks
            .try_session_tracker()
            .map_or_else(Vec::new, |t| t.take_touches())
    }

    fn sync(&self) {
        let Some(r) = self.pending_syncs.lock().unwrap().pop_front() else {
            warn!("Not expecting a sync.");
            return;
        };
        if let Err(e) = self.send_commit(CommitInput::Committed(r)) {
            warn!("Cannot complete a sync: {e}");
        }
    }

    fn finish_session_init(&self, session_id: i64, valid: bool) {
        let Some((cnxn, timeout, ro)) = self
            .pending_revalidations
            .lock()
            .unwrap()
            .remove(&session_id)
        else {
            warn!("REVALIDATE reply for session 0x{session_id:x}, which nobody asked about");
            return;
        };
        self.zks
            .finish_session_init(cnxn, session_id, timeout, valid, ro);
    }

    fn shutdown(&self, fully: bool) {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return;
        }
        self.serving.store(false, Ordering::SeqCst);
        self.commit_tx.lock().unwrap().take();
        self.sync_tx.lock().unwrap().take();
        self.zks.shutdown();
        self.pending_txns.lock().unwrap().clear();
        if fully {
            warn!(
                "Learner shut down before its SNAP sync finished; clearing the in-memory database"
            );
            self.zks.db().write().unwrap().clear();
        } else {
            crate::servers::fast_forward_from_log(self.zks.db());
        }
    }
}

/// `FollowerZooKeeperServer`'s / `ObserverZooKeeperServer`'s overrides of
/// `ZooKeeperServer`: a learner's session tracker and chain, reconnects
/// checked by the leader, and the mode the admin commands show.
struct LearnerServerRole {
    server: Weak<LearnerZooKeeperServer>,
    role: LearnerRole,
    my_id: i64,
}

impl LearnerServerRole {
    fn server(&self) -> io::Result<Arc<LearnerZooKeeperServer>> {
        self.server
            .upgrade()
            .ok_or_else(|| io::Error::other("the learner's server is being dropped"))
    }
}

impl ServerRole for LearnerServerRole {
    /// Sessions belong to the leader: this one only hands out ids and
    /// records touches.
    fn create_session_tracker(&self, zks: &Arc<ZooKeeperServer>) -> Arc<SessionTracker> {
        SessionTracker::new_learner(zks.config().tick_time, self.my_id)
    }

    fn setup_request_processors(&self, zks: &Arc<ZooKeeperServer>) -> io::Result<Chain> {
        self.server()?.setup_request_processors(zks)
    }

    /// `validateSession`: the leader answers (REVALIDATE).
    fn revalidate_session(
        &self,
        cnxn: CnxnId,
        session: i64,
        timeout: i32,
        read_only: Option<bool>,
    ) -> Revalidation {
        if let Some(s) = self.server.upgrade() {
            s.revalidate(cnxn, session, timeout, read_only);
        }
        Revalidation::Pending
    }

    fn server_state(&self) -> &'static str {
        self.role.name()
    }

    fn zab_state(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let peer = self.server.upgrade()?.peer.upgrade()?;
        Some(peer.zab_state_report(false))
    }

    fn leader_report(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let peer = self.server.upgrade()?.peer.upgrade()?;
        Some(peer.leader_report(false))
    }

    fn dump_conf(&self) -> Option<String> {
        Some(self.server.upgrade()?.peer.upgrade()?.dump_conf())
    }

    fn voting_view(&self) -> Option<serde_json::Value> {
        let peer = self.server.upgrade()?.peer.upgrade()?;
        Some(peer.voting_view_report())
    }

    /// The gauges 3.8's learner servers register: `quorum_size` (every
    /// quorum server) and, on a follower, `synced_observers`, 0 here as
    /// no follower serves observers (no observer master).
    fn monitor_values(&self) -> Vec<(&'static str, serde_json::Value)> {
        let Some(peer) = self.server.upgrade().and_then(|s| s.peer.upgrade()) else {
            return Vec::new();
        };
        let quorum_size = peer.quorum_verifier().voting_members().len();
        let mut values = Vec::new();
        if self.role == LearnerRole::Follower {
            values.push(("synced_observers", serde_json::json!(0)));
        }
        values.push(("quorum_size", serde_json::json!(quorum_size)));
        values
    }
}
