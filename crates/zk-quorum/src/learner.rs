//! `Learner`: a follower's or observer's connection to the leader, and the
//! three steps that make it a member of the leader's epoch:
//!
//! 1. [`Learner::connect_to_leader`]: TCP to the leader's quorum port, up
//!    to 5 tries within `connectToLearnerMasterLimit` (or `initLimit`)
//!    ticks, 100 ms apart, then quorum SASL (`authLearner`; nothing
//!    without `quorum.auth.learnerRequireSasl`);
//! 2. [`Learner::register_with_leader`]: FOLLOWERINFO/OBSERVERINFO with our
//!    accepted epoch and `LearnerInfo`; the leader answers LEADERINFO with
//!    the new epoch, which we accept (writing `acceptedEpoch`) in an
//!    ACKEPOCH carrying our current epoch and last zxid;
//! 3. [`Learner::sync_with_leader`]: DIFF, TRUNC or SNAP, then the txns
//!    and commits the leader queued, NEWLEADER (write `currentEpoch`, log
//!    what is pending, ACK), UPTODATE (ACK, serve).
//!
//! Reading happens on the caller's thread only. Writes come from several
//! threads (the packet loop, the ack path of the log, client requests
//! forwarded to the leader), so the output side is a [`LeaderWriter`]
//! behind a lock.

use std::collections::VecDeque;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use zk_election::UnifiedSocket;
use zk_persistence::file_txn_log::TxnLogEntry;
use zk_persistence::jute::{InputArchive, OutputArchive, Record};
use zk_persistence::records::TxnHeader;
use zk_server::fatal_error::FatalError;

use crate::learner_reconfig::{changes_proposed_in_reconfig, designated_leader, reconfig_config};
use crate::quorum_packet::{
    epoch_of_zxid, input_archive, int_payload, make_zxid, packet_type, parse_int_payload,
    parse_revalidate_reply, read_packet, touches_payload, LearnerInfo, QuorumPacket,
    PROTOCOL_VERSION, SNAP_SIGNATURE,
};
use crate::quorum_peer::{QuorumPeer, SyncMode, ZabState};
use crate::servers::LearnerZkServer;

/// `zookeeper.leaderConnectDelayDuringRetryMs` default.
pub(crate) const LEADER_CONNECT_DELAY_DURING_RETRY: Duration = Duration::from_millis(100);
/// Connection attempts before giving up.
pub(crate) const LEADER_CONNECT_TRIES: u32 = 5;
/// How often a follower refused by a leader that is not listening yet
/// tries again during the first retry delay.
const LEADER_CONNECT_POLL: Duration = Duration::from_millis(5);

/// The output half of the connection to the leader, shared by every thread
/// that sends to it.
pub struct LeaderWriter {
    stream: UnifiedSocket,
    oa: Mutex<OutputArchive<BufWriter<UnifiedSocket>>>,
    closed: AtomicBool,
}

impl LeaderWriter {
    /// Writes one packet, flushing when asked (`writePacket`).
    pub fn write_packet(&self, p: &QuorumPacket, flush: bool) -> io::Result<()> {
        let mut oa = self.oa.lock().unwrap();
        p.serialize(&mut *oa)?;
        if flush {
            oa.get_mut().flush()?;
        }
        Ok(())
    }

    /// Flushes what was written.
    pub fn flush(&self) -> io::Result<()> {
        self.oa.lock().unwrap().get_mut().flush()
    }

    /// Closes the connection; a blocked read on the other half returns.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

/// A proposal received during sync and not yet applied or logged
/// (`PacketInFlight`).
struct PacketInFlight {
    entry: TxnLogEntry,
}

/// Where a sync is between its first packet and UPTODATE.
struct SyncState {
    /// SNAP or TRUNC (or an upgrade's DIFF): NEWLEADER snapshots.
    snapshot_needed: bool,
    /// Whether that snapshot is written synchronously.
    sync_snapshot: bool,
    /// From NEWLEADER on (from the start for a DIFF) txns go through the
    /// log; before it a committed txn goes straight to memory.
    write_to_txn_log: bool,
    /// A pre-1.0 leader sends no NEWLEADER here: UPTODATE then does its
    /// work.
    is_pre_zab1_0: bool,
    packets_committed: VecDeque<i64>,
    packets_not_committed: VecDeque<PacketInFlight>,
}

impl SyncState {
    /// A COMMIT during sync: applied to memory before NEWLEADER (it must
    /// match the oldest pending proposal), kept for after UPTODATE once
    /// txns go through the log.
    fn on_commit(&mut self, zxid: i64, zk: &dyn LearnerZkServer) -> io::Result<()> {
        if self.write_to_txn_log {
            self.packets_committed.push_back(zxid);
            return Ok(());
        }
        match self.packets_not_committed.front() {
            Some(p) if p.entry.zxid() == zxid => {
                zk.process_txn(&p.entry)?;
                self.packets_not_committed.pop_front();
            }
            Some(p) => warn!(
                "Committing 0x{:x}, but next proposal is 0x{:x}",
                zxid,
                p.entry.zxid()
            ),
            None => warn!("Committing 0x{:x}, but no proposal is pending", zxid),
        }
        Ok(())
    }

    /// After UPTODATE: an observer commits the informed txns that were
    /// committed; a follower logs what is pending and commits in order.
    fn finish(self, zk: &dyn LearnerZkServer, is_observer: bool) -> io::Result<()> {
        let mut packets_committed = self.packets_committed;
        if is_observer {
            for p in self.packets_not_committed {
                match packets_committed.front() {
                    Some(&z) if z == p.entry.zxid() => {
                        packets_committed.pop_front();
                        zk.commit_request(p.entry)?;
                    }
                    other => warn!(
                        "Committing 0x{:x}, but next proposal is 0x{:x}",
                        other.copied().unwrap_or(-1),
                        p.entry.zxid()
                    ),
                }
            }
        } else {
            for p in self.packets_not_committed {
                zk.log_request(p.entry)?;
            }
            for zxid in packets_committed {
                zk.commit(zxid)?;
            }
        }
        Ok(())
    }
}

/// See the module docs.
pub(crate) struct Learner {
    peer: Arc<QuorumPeer>,
    ia: InputArchive<BufReader<UnifiedSocket>>,
    writer: Arc<LeaderWriter>,
    leader_addr: SocketAddr,
    /// What the leader's LEADERINFO said (1 until then).
    leader_protocol_version: i32,
    /// The zxid of the last proposal received.
    last_queued: i64,
}

impl Learner {
    /// `connectToLeader`: dials `addr`, retrying as 3.8 does.
    pub(crate) fn connect_to_leader(
        peer: Arc<QuorumPeer>,
        addr: SocketAddr,
    ) -> io::Result<Learner> {
        let ticks = if peer.settings().connect_to_learner_master_limit > 0 {
            peer.settings().connect_to_learner_master_limit
        } else {
            peer.init_limit()
        };
        let connect_timeout =
            Duration::from_millis((peer.tick_time().max(0) as u64 * ticks.max(0) as u64).max(1));
        let start = Instant::now();
        let mut tries = 0;
        let stream = loop {
            let remaining = connect_timeout.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                error!("connectToLeader exceeded on retries.");
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connectToLeader {addr} exceeded on retries."),
                ));
            }
            match Self::dial(&peer, addr, remaining) {
                Ok(s) => break s,
                Err(e)
                    if e.kind() == io::ErrorKind::ConnectionRefused
                        && start.elapsed() < LEADER_CONNECT_DELAY_DURING_RETRY
                        && peer.is_running() =>
                {
                    // The leader binds its quorum port the moment its own
                    // election ends; a follower done with the same
                    // election a moment sooner is refused. Polling through
                    // the first retry delay, rather than sleeping all of
                    // it, takes up to 100 ms off every fail-over a client
                    // sees; later retries keep 3.8's count and pace.
                    debug!("Leader {addr} not listening yet ({e}); polling");
                    std::thread::sleep(LEADER_CONNECT_POLL);
                }
                Err(e) => {
                    let remaining = connect_timeout.saturating_sub(start.elapsed());
                    if remaining <= LEADER_CONNECT_DELAY_DURING_RETRY {
                        error!(
                            "Unexpected exception, connectToLeader exceeded. tries={}, remaining init limit={}, connecting to {}: {}",
                            tries, remaining.as_millis(), addr, e
                        );
                        return Err(e);
                    }
                    if tries >= LEADER_CONNECT_TRIES - 1 {
                        error!(
                            "Unexpected exception, retries exceeded. tries={}, remaining init limit={}, connecting to {}: {}",
                            tries, remaining.as_millis(), addr, e
                        );
                        return Err(e);
                    }
                    warn!(
                        "Unexpected exception, tries={}, remaining init limit={}, connecting to {}: {}",
                        tries, remaining.as_millis(), addr, e
                    );
                    tries += 1;
                    if !peer.is_running() {
                        return Err(io::Error::new(
                            io::ErrorKind::Interrupted,
                            "peer stopped while connecting to the leader",
                        ));
                    }
                    std::thread::sleep(LEADER_CONNECT_DELAY_DURING_RETRY);
                }
            }
        };
        info!("Successfully connected to leader, using address: {addr}");
        stream.set_read_timeout(Some(Duration::from_millis(peer.init_timeout_ms().max(1))))?;
        // 3.8 does not retry a failed authentication: the follower goes
        // back to LOOKING.
        peer.settings()
            .auth_learner
            .authenticate(&stream, &leader_host(&peer, addr))
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("quorum authentication with the leader at {addr} failed: {e}"),
                )
            })?;
        let max_buffer = peer.settings().max_buffer;
        Ok(Learner {
            ia: input_archive(BufReader::new(stream.try_clone()?), max_buffer),
            writer: Arc::new(LeaderWriter {
                oa: Mutex::new(OutputArchive::new(BufWriter::new(stream.try_clone()?))),
                stream,
                closed: AtomicBool::new(false),
            }),
            peer,
            leader_addr: addr,
            leader_protocol_version: 1,
            last_queued: 0,
        })
    }

    /// One attempt of `connectToLeader`: TCP within `timeout`, then (with
    /// `sslQuorum`) the TLS handshake within what is left of it, so a
    /// handshake that fails is retried as a refused connect is.
    fn dial(peer: &QuorumPeer, addr: SocketAddr, timeout: Duration) -> io::Result<UnifiedSocket> {
        let start = Instant::now();
        let mut dial = || {
            let tcp = TcpStream::connect_timeout(
                &addr,
                timeout
                    .saturating_sub(start.elapsed())
                    .max(Duration::from_millis(1)),
            )?;
            tcp.set_nodelay(true)?;
            Ok(tcp)
        };
        // For 3.8's check of the leader's certificate by name when the
        // address is not in it.
        let host = leader_host(peer, addr);
        let left = timeout
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(1));
        let sock = peer
            .quorum_tls()
            .connect_to_host(&mut dial, addr.ip(), &host, left)
            .map_err(|e| io::Error::new(e.kind(), format!("leader at {addr}: {e}")))?;
        if sock.is_tls() {
            info!(
                "TLS handshake complete with leader at {addr}: {}",
                sock.tls_description()
            );
        }
        Ok(sock)
    }

    /// The output half, for the threads that send to the leader.
    pub(crate) fn writer(&self) -> &Arc<LeaderWriter> {
        &self.writer
    }

    /// Reads the next packet from the leader.
    pub(crate) fn read_packet(&mut self) -> io::Result<QuorumPacket> {
        read_packet(&mut self.ia, &self.leader_addr.to_string())
    }

    /// Writes one packet to the leader, flushing when asked.
    pub(crate) fn write_packet(&self, p: &QuorumPacket, flush: bool) -> io::Result<()> {
        self.writer.write_packet(p, flush)
    }

    /// `registerWithLeader`: returns the new epoch's zero zxid.
    pub(crate) fn register_with_leader(&mut self, pkt_type: i32) -> io::Result<i64> {
        let peer = self.peer.clone();
        let last_logged_zxid = peer.last_logged_zxid()?;
        let info = LearnerInfo {
            serverid: peer.my_id(),
            protocol_version: PROTOCOL_VERSION,
            config_version: peer.quorum_verifier().version(),
        };
        let hello = QuorumPacket::new(
            pkt_type,
            make_zxid(peer.accepted_epoch()?, 0),
            Some(info.to_bytes()),
        );
        self.write_packet(&hello, true)?;
        let qp = self.read_packet()?;
        let new_epoch = epoch_of_zxid(qp.zxid);
        if qp.packet_type == packet_type::LEADERINFO {
            self.leader_protocol_version = parse_int_payload(qp.data(), "LEADERINFO")?;
            let accepted = peer.accepted_epoch()?;
            let epoch_field = if new_epoch > accepted {
                let current = peer.current_epoch()? as i32;
                peer.set_accepted_epoch(new_epoch)?;
                current
            } else if new_epoch == accepted {
                // Already acked this epoch once (a reconnect): -1 says this
                // reply must not count as a second ack, but the leader still
                // learns our last zxid.
                -1
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("Leaders epoch, {new_epoch} is less than accepted epoch, {accepted}"),
                ));
            };
            let ack = QuorumPacket::new(
                packet_type::ACKEPOCH,
                last_logged_zxid,
                Some(int_payload(epoch_field)),
            );
            self.write_packet(&ack, true)?;
            Ok(make_zxid(new_epoch, 0))
        } else {
            if new_epoch > peer.accepted_epoch()? {
                peer.set_accepted_epoch(new_epoch)?;
            }
            if qp.packet_type != packet_type::NEWLEADER {
                error!("First packet should have been NEWLEADER");
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("First packet should have been NEWLEADER, got {qp}"),
                ));
            }
            Ok(qp.zxid)
        }
    }

    /// `syncWithLeader`: brings the database in line with the leader's and
    /// returns once UPTODATE has been acknowledged and the server serves.
    /// `is_observer` picks the observer's way of applying what arrived
    /// between NEWLEADER and UPTODATE.
    pub(crate) fn sync_with_leader(
        &mut self,
        new_leader_zxid: i64,
        zk: &dyn LearnerZkServer,
        is_observer: bool,
    ) -> io::Result<()> {
        let peer = self.peer.clone();
        let new_epoch = epoch_of_zxid(new_leader_zxid);
        let mut sync = self.receive_sync_start(zk)?;
        peer.init_config_in_zk_database();
        // The config NEWLEADER carried, activated at UPTODATE.
        let mut new_leader_qv = None;
        loop {
            if !peer.is_running() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "peer stopped during sync",
                ));
            }
            let qp = self.read_packet()?;
            match qp.packet_type {
                packet_type::PROPOSAL => {
                    let entry = entry_of(&qp)?;
                    self.note_queued(entry.zxid());
                    if let Some(qv) = reconfig_config(&entry)? {
                        peer.set_last_seen_quorum_verifier(qv, true);
                    }
                    sync.packets_not_committed
                        .push_back(PacketInFlight { entry });
                }
                packet_type::COMMIT | packet_type::COMMITANDACTIVATE => {
                    if qp.packet_type == packet_type::COMMITANDACTIVATE {
                        self.activate_during_sync(&sync, &qp)?;
                    }
                    sync.on_commit(qp.zxid, zk)?;
                }
                packet_type::INFORM | packet_type::INFORMANDACTIVATE => {
                    self.on_sync_inform(&mut sync, &qp, zk)?;
                }
                packet_type::UPTODATE => {
                    info!("Learner received UPTODATE message");
                    if let Some(qv) = new_leader_qv.take() {
                        if peer.process_reconfig(qv, None, 0, true) {
                            return Err(changes_proposed_in_reconfig());
                        }
                    }
                    if sync.is_pre_zab1_0 {
                        zk.take_snapshot(sync.sync_snapshot)?;
                        peer.set_current_epoch(new_epoch)?;
                    }
                    break;
                }
                packet_type::NEWLEADER => {
                    if qp.data().len() > 1 {
                        match zk_election::config_from_string(&String::from_utf8_lossy(qp.data())) {
                            Ok(qv) => {
                                peer.set_last_seen_quorum_verifier(qv.clone(), true);
                                new_leader_qv = Some(qv);
                            }
                            Err(e) => warn!(
                                "NEWLEADER 0x{:x} carries an unreadable config: {e}",
                                qp.zxid
                            ),
                        }
                    }
                    self.on_new_leader(&mut sync, new_leader_zxid, zk, is_observer)?;
                }
                _ => warn!("Unexpected packet during sync: {qp}"),
            }
        }
        self.write_packet(
            &QuorumPacket::new(packet_type::ACK, make_zxid(new_epoch, 0), None),
            true,
        )?;
        zk.start_serving()?;
        // Synced into the new epoch: LOOKING peers now hear it from us, as
        // from the leader and every other learner.
        peer.update_election_vote(new_epoch);
        sync.finish(zk, is_observer)
    }

    /// The sync's first packet: DIFF (nothing to do yet), SNAP (read the
    /// leader's snapshot into the database) or TRUNC (cut the log back).
    fn receive_sync_start(&mut self, zk: &dyn LearnerZkServer) -> io::Result<SyncState> {
        let peer = self.peer.clone();
        // A DIFF replays txns on top of what is on disk; after SNAP or
        // TRUNC only a snapshot records the new state.
        let mut sync = SyncState {
            snapshot_needed: true,
            sync_snapshot: false,
            write_to_txn_log: false,
            is_pre_zab1_0: true,
            packets_committed: VecDeque::new(),
            packets_not_committed: VecDeque::new(),
        };
        let qp = self.read_packet()?;
        match qp.packet_type {
            packet_type::DIFF => {
                info!("Getting a diff from the leader 0x{:x}", qp.zxid);
                peer.set_sync_mode(SyncMode::Diff);
                let force = zk
                    .db()
                    .read()
                    .unwrap()
                    .snap_log()
                    .should_force_write_initial_snapshot_after_leader_election();
                if force {
                    info!("Forcing a snapshot write as part of upgrading from an older Zookeeper. This should only happen while upgrading.");
                    sync.sync_snapshot = true;
                } else {
                    sync.snapshot_needed = false;
                }
            }
            packet_type::SNAP => {
                peer.set_sync_mode(SyncMode::Snap);
                info!("Getting a snapshot from leader 0x{:x}", qp.zxid);
                self.receive_snapshot(zk, qp.zxid)?;
                sync.sync_snapshot = true;
            }
            packet_type::TRUNC => {
                peer.set_sync_mode(SyncMode::Trunc);
                warn!(
                    "Truncating log to get in sync with the leader 0x{:x}",
                    qp.zxid
                );
                let mut db = zk.db().write().unwrap();
                if let Err(e) = db.truncate_log(qp.zxid) {
                    error!("Not able to truncate the log 0x{:x}", qp.zxid);
                    let msg = format!("Not able to truncate the log to 0x{:x}: {e}", qp.zxid);
                    return Err(self.quorum_packet_error(msg));
                }
                db.set_last_processed_zxid(qp.zxid);
            }
            _ => {
                error!("Got unexpected packet from leader: {qp}, exiting ... ");
                let msg = format!(
                    "Got unexpected packet from leader {}: {qp}",
                    self.leader_addr
                );
                return Err(self.quorum_packet_error(msg));
            }
        }
        sync.write_to_txn_log = !sync.snapshot_needed;
        Ok(sync)
    }

    /// A sync this learner cannot go on with (3.8 exits with
    /// `ExitCode.QUORUM_PACKET_ERROR`): the peer stops with the typed
    /// error, and the returned error ends following.
    fn quorum_packet_error(&self, msg: String) -> io::Error {
        self.peer
            .stop_with_fatal_error(FatalError::QuorumPacketError(msg.clone()));
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }

    /// Reads the snapshot following SNAP and its signature; the database
    /// then stands at `zxid`.
    fn receive_snapshot(&mut self, zk: &dyn LearnerZkServer, zxid: i64) -> io::Result<()> {
        {
            let mut db = zk.db().write().unwrap();
            db.deserialize_snapshot(&mut self.ia).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("reading the snapshot from leader {}: {e}", self.leader_addr),
                )
            })?;
            // ZOOKEEPER-2819: without reconfig the local configuration
            // wins over the one in the leader's tree; with it the
            // leader's stands (until the sync's own init below it).
            if !self.peer.is_reconfig_enabled() {
                crate::quorum_peer::init_config_in_zk_database(
                    &mut db,
                    &self.peer.quorum_verifier(),
                );
            }
        }
        let signature = self.ia.read_string().map_err(io::Error::from)?;
        if signature != SNAP_SIGNATURE {
            error!("Missing signature. Got {signature}");
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "Missing signature after the snapshot from {}: got {signature:?}",
                    self.leader_addr
                ),
            ));
        }
        zk.db().write().unwrap().set_last_processed_zxid(zxid);
        Ok(())
    }

    /// Records `zxid` as the last proposal received, warning when it is
    /// not the next one.
    fn note_queued(&mut self, zxid: i64) {
        if zxid != self.last_queued + 1 {
            warn!(
                "Got zxid 0x{:x} expected 0x{:x}",
                zxid,
                self.last_queued + 1
            );
        }
        self.last_queued = zxid;
    }

    /// An INFORM during sync (to an observer): applied at once before
    /// NEWLEADER, kept for after UPTODATE from then on.
    fn on_sync_inform(
        &mut self,
        sync: &mut SyncState,
        qp: &QuorumPacket,
        zk: &dyn LearnerZkServer,
    ) -> io::Result<()> {
        let data = if qp.packet_type == packet_type::INFORMANDACTIVATE {
            // The designated leader's id comes first.
            qp.data().get(8..).unwrap_or(&[])
        } else {
            qp.data()
        };
        let entry = entry_of_bytes(data, qp.zxid)?;
        if qp.packet_type == packet_type::INFORM {
            self.note_queued(entry.zxid());
        } else {
            let leader = designated_leader(qp.data())?;
            if let Some(qv) = reconfig_config(&entry)? {
                if self.peer.process_reconfig(qv, Some(leader), qp.zxid, true) {
                    return Err(changes_proposed_in_reconfig());
                }
            }
        }
        if !sync.write_to_txn_log {
            zk.process_txn(&entry)?;
        } else {
            sync.packets_committed.push_back(qp.zxid);
            sync.packets_not_committed
                .push_back(PacketInFlight { entry });
        }
        Ok(())
    }

    /// NEWLEADER: snapshot what SNAP or TRUNC left, write `currentEpoch`
    /// with the pending txns logged around it, and ACK.
    fn on_new_leader(
        &mut self,
        sync: &mut SyncState,
        new_leader_zxid: i64,
        zk: &dyn LearnerZkServer,
        is_observer: bool,
    ) -> io::Result<()> {
        let peer = self.peer.clone();
        let new_epoch = epoch_of_zxid(new_leader_zxid);
        info!("Learner received NEWLEADER message");
        if sync.snapshot_needed {
            zk.take_snapshot(sync.sync_snapshot)?;
        }
        sync.write_to_txn_log = true;
        sync.is_pre_zab1_0 = false;
        self.writer
            .stream
            .set_read_timeout(Some(Duration::from_millis(peer.sync_timeout_ms().max(1))))?;
        peer.set_sync_mode(SyncMode::None);
        zk.startup_without_serving()?;
        let pending = &mut sync.packets_not_committed;
        if !is_observer {
            // Logged (durably) before the ACK, so that a
            // quorum that acked NEWLEADER really holds these
            // txns; and those of earlier epochs before
            // currentEpoch, so that a crash in between never
            // leaves us claiming the new epoch with an older
            // history, which would win an election and
            // truncate others' committed txns (ZOOKEEPER-4643).
            // Txns of the new epoch itself (a leader already
            // serving it) go after: logged first, they would
            // be newer than currentEpoch, which refuses start.
            while let Some(p) = pending.pop_front() {
                if epoch_of_zxid(p.entry.zxid()) >= new_epoch {
                    pending.push_front(p);
                    break;
                }
                zk.log_request(p.entry)?;
            }
        }
        peer.set_current_epoch(new_epoch)?;
        if !is_observer {
            for p in pending.drain(..) {
                zk.log_request(p.entry)?;
            }
        }
        zk_persistence::fail_point_io!("learner_before_newleader_ack");
        self.write_packet(
            &QuorumPacket::new(packet_type::ACK, new_leader_zxid, None),
            true,
        )?;
        zk_persistence::fail_point_io!("learner_after_newleader_ack");
        Ok(())
    }

    /// Connects to the leader at `addr` for `zk` (discovery starts): the
    /// first step of `followLeader` and `observeLeader`.
    pub(crate) fn connect_for(
        peer: &Arc<QuorumPeer>,
        zk: &dyn LearnerZkServer,
        addr: SocketAddr,
    ) -> io::Result<Learner> {
        peer.set_zab_state(ZabState::Discovery);
        let learner = Learner::connect_to_leader(peer.clone(), addr)?;
        zk.set_leader_writer(learner.writer().clone());
        Ok(learner)
    }

    /// Registers with `info_type` (FOLLOWERINFO or OBSERVERINFO), refuses
    /// a leader whose epoch is older than the one we accepted, and syncs:
    /// what a follower and an observer do before their packet loops.
    pub(crate) fn join_leader(
        &mut self,
        zk: &dyn LearnerZkServer,
        info_type: i32,
        is_observer: bool,
    ) -> io::Result<()> {
        let peer = self.peer.clone();
        let new_epoch_zxid = self.register_with_leader(info_type)?;
        let new_epoch = epoch_of_zxid(new_epoch_zxid);
        if new_epoch < peer.accepted_epoch()? {
            error!(
                "Proposed leader epoch 0x{:x} is less than our accepted epoch 0x{:x}",
                new_epoch_zxid,
                peer.accepted_epoch()?
            );
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "Error: Epoch of leader is lower",
            ));
        }
        peer.set_zab_state(ZabState::Synchronization);
        let sync_started = Instant::now();
        self.sync_with_leader(new_epoch_zxid, zk, is_observer)?;
        zk_server::server_metrics::ServerMetrics::get()
            .learner_sync_time(is_observer)
            .add(sync_started.elapsed().as_millis() as i64);
        peer.set_zab_state(ZabState::Broadcast);
        info!(
            "Synced with the leader {} in epoch {}",
            self.leader_addr, new_epoch
        );
        Ok(())
    }

    /// The next packet of the broadcast phase; fails once the peer stops.
    pub(crate) fn read_packet_while_running(&mut self) -> io::Result<QuorumPacket> {
        if !self.peer.is_running() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "peer stopped"));
        }
        self.read_packet()
    }

    /// The end of a follower's or observer's time under this leader (what
    /// it was `doing`): logs why, closes the connection and shuts `zk`
    /// down. Returns `err`.
    pub(crate) fn end(&self, zk: &dyn LearnerZkServer, doing: &str, err: io::Error) -> io::Error {
        warn!(
            "Exception when {} the leader {}: {}",
            doing, self.leader_addr, err
        );
        self.close();
        zk.shutdown(self.peer.sync_mode() == SyncMode::Snap);
        err
    }

    /// `revalidate`: the leader's answer about a reconnecting session.
    pub(crate) fn revalidate(zk: &dyn LearnerZkServer, qp: &QuorumPacket) -> io::Result<()> {
        let (session, valid) = parse_revalidate_reply(qp.data())?;
        info!("Session 0x{session:x} is valid: {valid}");
        zk.finish_session_init(session, valid);
        Ok(())
    }

    /// Answers a PING with our session touches.
    pub(crate) fn ping(&self, qp: &QuorumPacket, zk: &dyn LearnerZkServer) -> io::Result<()> {
        let touches = zk.touch_snapshot();
        let mut reply = QuorumPacket::new(qp.packet_type, qp.zxid, Some(touches_payload(&touches)));
        reply.authinfo = qp.authinfo.clone();
        self.write_packet(&reply, true)
    }

    /// The peer this learner works for.
    pub(crate) fn peer(&self) -> &Arc<QuorumPeer> {
        &self.peer
    }

    /// A COMMITANDACTIVATE during sync of the oldest pending proposal:
    /// its config takes effect (designated leader included) before the
    /// commit; a major change ends the sync.
    fn activate_during_sync(&self, sync: &SyncState, qp: &QuorumPacket) -> io::Result<()> {
        let Some(pif) = sync.packets_not_committed.front() else {
            return Ok(());
        };
        if pif.entry.zxid() != qp.zxid {
            return Ok(());
        }
        if let Some(qv) = reconfig_config(&pif.entry)? {
            let leader = designated_leader(qp.data())?;
            if self.peer.process_reconfig(qv, Some(leader), qp.zxid, true) {
                return Err(changes_proposed_in_reconfig());
            }
        }
        Ok(())
    }

    /// Closes the connection to the leader.
    pub(crate) fn close(&self) {
        self.writer.close();
    }
}

/// The txn a PROPOSAL carries, in logged form.
/// The host name the leader's `server.N` line gives (its address when
/// no line matches): what TLS checks the certificate against and what
/// quorum SASL's Kerberos principal puts for `_HOST`.
fn leader_host(peer: &QuorumPeer, addr: SocketAddr) -> String {
    let qv = peer.quorum_verifier();
    qv.all_members()
        .values()
        .map(|s| s.addr())
        .find(|a| a.port == addr.port() && a.resolve().is_ok_and(|r| r == addr))
        .map_or_else(|| addr.ip().to_string(), |a| a.host.clone())
}

fn entry_of(qp: &QuorumPacket) -> io::Result<TxnLogEntry> {
    entry_of_bytes(qp.data(), qp.zxid)
}

pub(crate) fn entry_of_bytes(data: &[u8], zxid: i64) -> io::Result<TxnLogEntry> {
    let header = TxnHeader::from_bytes(data).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("txn in packet 0x{zxid:x} has no readable header: {e}"),
        )
    })?;
    Ok(TxnLogEntry {
        header,
        bytes: data.to_vec(),
    })
}

/// Reads the txn of a proposal packet (exposed for the packet loops).
pub(crate) fn proposal_entry(qp: &QuorumPacket) -> io::Result<TxnLogEntry> {
    entry_of(qp)
}
