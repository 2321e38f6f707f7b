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

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::thread::JoinHandle;

use log::{info, warn};
use zk_persistence::txn_log::TxnLogEntry;
use zk_persistence::zk_database::ZKDatabase;
use zk_server::final_request_processor::FinalRequestProcessor;
use zk_server::request::{CnxnId, Request};
use zk_server::session_tracker::SessionTracker;
use zk_server::sync_request_processor::SyncRequestProcessor;
use zk_server::zookeeper_server::{QuorumRoleInfo, ZooKeeperServer};

use crate::commit_processor::{self, needs_commit, request_of_entry, CommitInput};
use crate::learner::LeaderWriter;
use crate::quorum_packet::{
    packet_type, revalidate_request_payload, AuthInfo, ForwardedRequest, QuorumPacket,
};
use crate::quorum_peer::QuorumPeer;
use crate::servers::{apply_to_db, LearnerZkServer};

/// Which learner this server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnerRole {
    Follower,
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
pub struct LearnerZooKeeperServer {
    /// This server, for the threads it starts (they hold it weakly).
    me: Weak<LearnerZooKeeperServer>,
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
    /// Shared with the role info the admin commands read.
    peer: Arc<OnceLock<Weak<QuorumPeer>>>,
}

impl LearnerZooKeeperServer {
    pub fn new(
        role: LearnerRole,
        my_id: i64,
        zks: Arc<ZooKeeperServer>,
        sync_enabled: bool,
    ) -> Arc<Self> {
        let me = Arc::new_cyclic(|weak: &Weak<LearnerZooKeeperServer>| {
            let w = weak.clone();
            zks.set_session_revalidator(Box::new(move |cnxn, session, timeout, ro| {
                if let Some(me) = w.upgrade() {
                    me.revalidate(cnxn, session, timeout, ro);
                }
            }));
            LearnerZooKeeperServer {
                me: weak.clone(),
                role,
                my_id,
                zks: Arc::clone(&zks),
                sync_enabled,
                writer: Mutex::new(None),
                commit_tx: Mutex::new(None),
                sync_tx: Mutex::new(None),
                pending_txns: Mutex::new(VecDeque::new()),
                pending_syncs: Mutex::new(VecDeque::new()),
                pending_revalidations: Mutex::new(HashMap::new()),
                serving: AtomicBool::new(false),
                shut_down: AtomicBool::new(false),
                peer: Arc::new(OnceLock::new()),
            }
        });
        me.zks.set_role_info(Arc::new(LearnerRoleInfo {
            role,
            peer: Arc::clone(&me.peer),
        }));
        me
    }

    /// The peer this server plays a role for, for the admin commands.
    pub fn attach_peer(&self, peer: &Arc<QuorumPeer>) {
        let _ = self.peer.set(Arc::downgrade(peer));
    }

    pub fn zks(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    pub fn role(&self) -> LearnerRole {
        self.role
    }

    /// Closes the connection to the leader, which ends the learner's
    /// packet loop (peer shutdown).
    pub fn close_leader_connection(&self) {
        if let Some(w) = self.writer.lock().unwrap().as_ref() {
            w.close();
        }
    }

    fn write_to_leader(&self, qp: &QuorumPacket) {
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
    /// / `ObserverRequestProcessor`).
    fn forward(&self, r: Request, commit: &Sender<CommitInput>) -> bool {
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

    fn start_chain(self: &Arc<Self>) -> io::Result<()> {
        let (commit_tx, commit_rx) = mpsc::channel();
        let logs = self.role == LearnerRole::Follower || self.sync_enabled;
        let (sync_tx, sync_rx) = mpsc::channel();
        *self.commit_tx.lock().unwrap() = Some(commit_tx.clone());
        if logs {
            *self.sync_tx.lock().unwrap() = Some(sync_tx);
        }
        let me = Arc::downgrade(self);
        let (role, my_id) = (self.role, self.my_id);
        self.zks.startup_with_chain(move |zks| {
            let (final_tx, final_rx) = mpsc::channel();
            let (ack_tx, ack_rx) = mpsc::channel();
            let (first_tx, first_rx) = mpsc::channel();
            let mut threads = vec![
                FinalRequestProcessor::start(Arc::clone(zks), final_rx)?,
                commit_processor::start(
                    format!("CommitProcessor:{my_id}"),
                    true,
                    commit_rx,
                    final_tx,
                )?,
            ];
            if logs {
                threads.push(start_send_ack(
                    me.clone(),
                    role == LearnerRole::Follower,
                    ack_rx,
                )?);
                threads.push(SyncRequestProcessor::start(
                    Arc::clone(zks),
                    zks.config().sync.clone(),
                    sync_rx,
                    ack_tx,
                )?);
            }
            threads.push(start_first_processor(me, role, my_id, first_rx, commit_tx)?);
            info!(
                "{} request processors started",
                match role {
                    LearnerRole::Follower => "Follower: FollowerRequestProcessor -> CommitProcessor -> FinalRequestProcessor; SyncRequestProcessor -> SendAckRequestProcessor",
                    LearnerRole::Observer => "Observer: ObserverRequestProcessor -> CommitProcessor -> FinalRequestProcessor",
                }
            );
            Ok((first_tx, threads))
        })
    }

    fn db_ref(&self) -> &Arc<RwLock<ZKDatabase>> {
        self.zks.db()
    }
}

/// `FollowerRequestProcessor` / `ObserverRequestProcessor`.
fn start_first_processor(
    server: Weak<LearnerZooKeeperServer>,
    role: LearnerRole,
    my_id: i64,
    rx: Receiver<Request>,
    commit: Sender<CommitInput>,
) -> io::Result<JoinHandle<()>> {
    let name = match role {
        LearnerRole::Follower => format!("FollowerRequestProcessor:{my_id}"),
        LearnerRole::Observer => format!("ObserverRequestProcessor:{my_id}"),
    };
    std::thread::Builder::new().name(name).spawn(move || {
        for r in rx {
            let Some(s) = server.upgrade() else { break };
            if !s.forward(r, &commit) {
                break;
            }
        }
        info!("{} request processor exited loop!", role.name());
    })
}

/// `SendAckRequestProcessor`: a follower's ACK once a proposal is logged;
/// an observer's log needs no ACK and its requests end here.
fn start_send_ack(
    server: Weak<LearnerZooKeeperServer>,
    acks: bool,
    rx: Receiver<Request>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("SendAckRequestProcessor".into())
        .spawn(move || {
            for r in rx {
                let (true, Some(hdr)) = (acks, r.hdr.as_ref()) else {
                    continue;
                };
                let Some(s) = server.upgrade() else { break };
                s.write_to_leader(&QuorumPacket::new(packet_type::ACK, hdr.zxid, None));
            }
        })
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
        let this = self
            .me
            .upgrade()
            .ok_or_else(|| io::Error::other("the learner's server is being dropped"))?;
        let cfg = self.zks.config();
        self.zks
            .start_session_tracker(SessionTracker::new_learner(cfg.tick_time, self.my_id));
        this.start_chain()
    }

    fn start_serving(&self) -> io::Result<()> {
        {
            // From here on the chain's SyncRequestProcessor logs; the
            // database's own log file (written during the sync) is done.
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
        let entry = crate::servers::pop_committed(&mut self.pending_txns.lock().unwrap(), zxid)?;
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

/// What the admin commands show on a learner; the peer is known once
/// [`LearnerZooKeeperServer::attach_peer`] was called.
struct LearnerRoleInfo {
    role: LearnerRole,
    peer: Arc<OnceLock<Weak<QuorumPeer>>>,
}

impl QuorumRoleInfo for LearnerRoleInfo {
    fn server_state(&self) -> &'static str {
        self.role.name()
    }

    fn zab_state(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let peer = self.peer.get()?.upgrade()?;
        Some(peer.zab_state_report(false))
    }
}
