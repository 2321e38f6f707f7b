//! A leader and its followers in one process, over loopback, each with its
//! own data directory: discovery, the three kinds of sync, and the state
//! every side ends in.

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use zk_config::SystemProperties;
use zk_config::{LearnerType, QuorumMaj, QuorumServer, QuorumVerifier};
use zk_persistence::epoch::{write_long_to_file, ACCEPTED_EPOCH_FILENAME, CURRENT_EPOCH_FILENAME};
use zk_persistence::file_txn_log::TxnLogEntry;
use zk_persistence::jute::Record;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::{ids, op_code};
use zk_server::container_manager::ContainerSettings;
use zk_server::proto::CreateRequest;
use zk_server::request::Request;
use zk_server::zookeeper_server::ZooKeeperServerConfig;

use crate::direct_servers::{DirectLeaderServer, DirectLearnerServer};
use crate::follower::Follower;
use crate::leader::Leader;
use crate::leader_zookeeper_server::LeaderZooKeeperServer;
use crate::learner::LeaderWriter;
use crate::observer::Observer;
use crate::quorum_packet::{make_zxid, packet_type, ForwardedRequest, QuorumPacket};
use crate::quorum_peer::{QuorumPeer, QuorumPeerSettings, ZabState};
use crate::servers::LearnerZkServer;
use crate::test_support::{commit_creates, dump_tree, open_db, txn_for, wait_for, TestDir};

const WAIT: Duration = Duration::from_secs(20);

fn z(epoch: i64, n: i64) -> i64 {
    make_zxid(epoch, n)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A three-server majority on loopback (election ports are never used
/// here).
fn three_servers() -> QuorumVerifier {
    servers(3, 0)
}

/// `voters` participants and then `observers` observers.
fn servers(voters: i64, observers: i64) -> QuorumVerifier {
    let mut all = BTreeMap::new();
    for sid in 1..=voters + observers {
        let kind = if sid > voters { ":observer" } else { "" };
        let line = format!("127.0.0.1:{}:{}{kind}", free_port(), free_port());
        all.insert(sid, QuorumServer::parse(sid, &line, false).unwrap());
    }
    QuorumVerifier::Majority(QuorumMaj::new(all))
}

fn settings(sid: i64) -> QuorumPeerSettings {
    QuorumPeerSettings {
        tick_time: 100,
        init_limit: 50,
        sync_limit: 20,
        ..QuorumPeerSettings::new(sid)
    }
}

/// Writes txns `zxids` into `dir` as a server that committed them would
/// have, and optionally sets its epoch files.
fn seed(dir: &Path, zxids: impl IntoIterator<Item = i64>, epochs: Option<(i64, i64)>) {
    let mut db = open_db(dir);
    db.load_database().unwrap();
    commit_creates(&mut db, zxids);
    db.close().unwrap();
    if let Some((current, accepted)) = epochs {
        let snap = dir.join("version-2");
        write_long_to_file(&snap.join(CURRENT_EPOCH_FILENAME), current).unwrap();
        write_long_to_file(&snap.join(ACCEPTED_EPOCH_FILENAME), accepted).unwrap();
    }
}

fn peer(dir: &Path, sid: i64, qv: &QuorumVerifier) -> Arc<QuorumPeer> {
    let mut s = settings(sid);
    if qv.observing_members().contains_key(&sid) {
        s.learner_type = LearnerType::Observer;
    }
    let p = QuorumPeer::new(s, qv.clone(), open_db(dir));
    p.load_data_base().unwrap();
    p
}

struct Running {
    leader: Arc<Leader>,
    zk: Arc<DirectLeaderServer>,
    leader_thread: JoinHandle<std::io::Result<()>>,
    followers: Vec<(
        Arc<QuorumPeer>,
        Arc<DirectLearnerServer>,
        JoinHandle<std::io::Error>,
    )>,
}

fn start(leader_peer: Arc<QuorumPeer>, followers: Vec<Arc<QuorumPeer>>) -> Running {
    let zk = DirectLeaderServer::new(leader_peer.db().clone());
    let leader = Leader::new(leader_peer, zk.clone()).unwrap();
    zk.attach(&leader);
    let l = leader.clone();
    let leader_thread = thread::spawn(move || l.lead());
    let mut run = Running {
        leader,
        zk,
        leader_thread,
        followers: Vec::new(),
    };
    for p in followers {
        run.add_learner(p);
    }
    run
}

impl Running {
    /// Starts a follower, or an observer if the peer is one.
    fn add_learner(&mut self, p: Arc<QuorumPeer>) {
        let addr: SocketAddr = self.leader.local_addr();
        let zk = DirectLearnerServer::new(p.db().clone());
        let (p2, zk2) = (p.clone(), zk.clone());
        let t = thread::spawn(move || {
            if p2.settings().learner_type == LearnerType::Observer {
                Observer::observe_leader(&p2, &*zk2, addr)
            } else {
                Follower::follow_leader(&p2, &*zk2, addr)
            }
        });
        self.followers.push((p, zk, t));
    }

    /// Proposes creates of `n` new nodes; returns the last zxid.
    fn propose(&self, n: usize) -> i64 {
        let mut last = 0;
        for _ in 0..n {
            last = self.zk.propose(|zxid| txn_for(zxid, None)).unwrap();
        }
        last
    }

    /// Waits until the leader and every learner applied `zxid`.
    fn wait_applied(&self, zxid: i64) {
        assert!(
            wait_for(WAIT, || self.zk.last_applied() >= zxid),
            "leader never applied 0x{zxid:x}"
        );
        for (p, zk, _) in &self.followers {
            assert!(
                wait_for(WAIT, || zk.last_committed() >= zxid),
                "learner {} stopped at 0x{:x}, want 0x{zxid:x}",
                p.my_id(),
                zk.last_committed()
            );
        }
    }

    fn wait_all_serving(&self) {
        for (p, zk, _) in &self.followers {
            assert!(
                wait_for(WAIT, || zk.is_serving()),
                "follower {} never got UPTODATE",
                p.my_id()
            );
        }
        assert!(wait_for(WAIT, || self.leader.peer().zab_state()
            == ZabState::Broadcast));
    }

    fn sync_type_of(&self, sid: i64) -> Option<i32> {
        self.leader
            .learners()
            .iter()
            .find(|h| h.sid() == sid)
            .and_then(|h| h.sync_type())
    }

    fn stop(self) {
        self.leader.shutdown("test over");
        let r = self.leader_thread.join().unwrap();
        assert!(r.is_ok(), "lead() failed: {r:?}");
        for (_, _, t) in self.followers {
            let e = t.join().unwrap();
            // The follower saw its leader go away.
            assert_ne!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
        }
    }
}

fn assert_same_tree(a: &QuorumPeer, b: &QuorumPeer) {
    let ta = dump_tree(a.db().read().unwrap().data_tree());
    let tb = dump_tree(b.db().read().unwrap().data_tree());
    assert_eq!(ta.len(), tb.len());
    assert_eq!(ta, tb);
}

/// The tree a data directory restores to from disk alone.
fn restored_tree(dir: &Path) -> (i64, usize) {
    let mut db = open_db(dir);
    let zxid = db.load_database().unwrap();
    assert_eq!(db.data_tree().digest_mismatches(), 0);
    (zxid, dump_tree(db.data_tree()).len())
}

#[test]
fn followers_behind_catch_up_by_diff_and_by_snap() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let (d1, d2, d3) = (
        TestDir::new("zab-l"),
        TestDir::new("zab-f2"),
        TestDir::new("zab-f3"),
    );
    seed(d1.path(), (1..=10).map(|n| z(1, n)), None);
    // Follower 2 saw the first five txns; follower 3 has nothing, which
    // the leader's log cannot serve (its first txn is after zxid 0).
    seed(d2.path(), (1..=5).map(|n| z(1, n)), None);
    let (p1, p2, p3) = (
        peer(d1.path(), 1, &qv),
        peer(d2.path(), 2, &qv),
        peer(d3.path(), 3, &qv),
    );
    let run = start(p1.clone(), vec![p2.clone(), p3.clone()]);
    run.wait_all_serving();

    assert_eq!(run.sync_type_of(2), Some(packet_type::DIFF));
    assert_eq!(run.sync_type_of(3), Some(packet_type::SNAP));
    assert_same_tree(&p1, &p2);
    assert_same_tree(&p1, &p3);
    for p in [&p1, &p2, &p3] {
        assert_eq!(p.current_epoch().unwrap(), 2, "peer {}", p.my_id());
        assert_eq!(p.accepted_epoch().unwrap(), 2, "peer {}", p.my_id());
    }
    // The leader starts epoch 2 at its zero zxid.
    assert_eq!(run.leader.zxid(), z(2, 0));
    assert_eq!(
        p1.db().read().unwrap().data_tree_last_processed_zxid(),
        z(2, 0)
    );
    assert_eq!(p2.db().read().unwrap().data_tree().digest_mismatches(), 0);
    run.stop();

    // What they synced is on disk: the DIFF in the log, the SNAP as a
    // snapshot.
    let nodes = dump_tree(p1.db().read().unwrap().data_tree()).len();
    assert_eq!(restored_tree(d2.path()), (z(1, 10), nodes));
    let (_, n3) = restored_tree(d3.path());
    assert_eq!(n3, nodes);
}

/// The names in a data directory's `version-2`, sorted.
fn version_2_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("version-2"))
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// 3.8 on fresh data directories: the leader applies its new-epoch zxid
/// only in memory once it has a quorum (Leader.startZkServer), so a
/// follower synced before then gets an empty DIFF from zxid 0 and keeps
/// zxid 0 (no snapshot: a DIFF replays on top of what is on disk), while
/// one that joins afterwards is behind and gets a SNAP at the new-epoch
/// zxid, written as snapshot.100000000. Both are what `srvr` shows and
/// what each votes with after a restart.
#[test]
fn first_epoch_zxid_of_an_on_time_and_a_late_follower() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let (d1, d2, d3) = (
        TestDir::new("zab-first-l"),
        TestDir::new("zab-first-f2"),
        TestDir::new("zab-first-f3"),
    );
    let (p1, p2, p3) = (
        peer(d1.path(), 1, &qv),
        peer(d2.path(), 2, &qv),
        peer(d3.path(), 3, &qv),
    );
    let mut run = start(p1.clone(), vec![p2.clone()]);
    run.wait_all_serving();
    run.add_learner(p3.clone());
    run.wait_all_serving();

    assert_eq!(run.sync_type_of(2), Some(packet_type::DIFF));
    assert_eq!(run.sync_type_of(3), Some(packet_type::SNAP));
    let last = |p: &QuorumPeer| p.db().read().unwrap().data_tree_last_processed_zxid();
    assert_eq!(last(&p1), z(1, 0), "leader");
    assert_eq!(last(&p2), 0, "follower synced by an empty DIFF");
    assert_eq!(last(&p3), z(1, 0), "follower synced by SNAP");
    run.stop();

    let epochs_and = |snaps: &[&str]| {
        let mut v: Vec<String> = ["acceptedEpoch", "currentEpoch"]
            .iter()
            .chain(snaps)
            .map(|s| s.to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(version_2_files(d1.path()), epochs_and(&["snapshot.0"]));
    assert_eq!(version_2_files(d2.path()), epochs_and(&["snapshot.0"]));
    assert_eq!(
        version_2_files(d3.path()),
        epochs_and(&["snapshot.0", "snapshot.100000000"])
    );
    // What each would vote with after a restart.
    assert_eq!(restored_tree(d1.path()).0, 0, "leader");
    assert_eq!(restored_tree(d2.path()).0, 0, "DIFF follower");
    assert_eq!(restored_tree(d3.path()).0, z(1, 0), "SNAP follower");
}

#[test]
fn follower_with_txns_of_an_older_epoch_is_truncated() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let (d1, d2) = (TestDir::new("zab-trunc-l"), TestDir::new("zab-trunc-f"));
    // Server 2 led epoch 1 and logged 6 and 7 alone before it failed;
    // server 1 went on to establish epoch 2 without them.
    seed(d1.path(), (1..=5).map(|n| z(1, n)), Some((2, 2)));
    seed(d2.path(), (1..=7).map(|n| z(1, n)), None);
    let (p1, p2) = (peer(d1.path(), 1, &qv), peer(d2.path(), 2, &qv));
    assert_eq!(p2.last_logged_zxid().unwrap(), z(1, 7));
    let run = start(p1.clone(), vec![p2.clone()]);
    run.wait_all_serving();

    assert_eq!(run.sync_type_of(2), Some(packet_type::TRUNC));
    assert_same_tree(&p1, &p2);
    assert!(p2
        .db()
        .read()
        .unwrap()
        .data_tree()
        .get_node(&format!("/n{:x}", z(1, 6)))
        .is_none());
    assert_eq!(p2.current_epoch().unwrap(), 3);
    assert_eq!(run.leader.zxid(), z(3, 0));
    run.stop();

    // The truncated txns are gone from disk too.
    let nodes = dump_tree(p1.db().read().unwrap().data_tree()).len();
    assert_eq!(restored_tree(d2.path()), (z(1, 5), nodes));
}

#[test]
fn follower_in_step_gets_an_empty_diff_and_leader_keeps_quorum() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let (d1, d2) = (TestDir::new("zab-eq-l"), TestDir::new("zab-eq-f"));
    seed(d1.path(), (1..=3).map(|n| z(1, n)), None);
    seed(d2.path(), (1..=3).map(|n| z(1, n)), None);
    let (p1, p2) = (peer(d1.path(), 1, &qv), peer(d2.path(), 2, &qv));
    let run = start(p1.clone(), vec![p2.clone()]);
    run.wait_all_serving();
    assert_eq!(run.sync_type_of(2), Some(packet_type::DIFF));
    assert_same_tree(&p1, &p2);
    // Several ticks pass with pings answered: the leader keeps leading.
    let t0 = p1.tick();
    assert!(wait_for(WAIT, || p1.tick() >= t0 + 5));
    assert!(
        !run.leader.is_shut_down(),
        "{:?}",
        run.leader.shutdown_reason()
    );
    run.stop();
}

#[test]
fn leader_without_a_quorum_gives_up_within_init_limit() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let d1 = TestDir::new("zab-alone");
    let mut s = settings(1);
    s.init_limit = 5;
    let p1 = QuorumPeer::new(s, qv, open_db(d1.path()));
    p1.load_data_base().unwrap();
    let zk = DirectLeaderServer::new(p1.db().clone());
    let leader = Leader::new(p1, zk).unwrap();
    let err = leader.lead().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(leader.is_shut_down());
}

#[test]
fn leader_steps_down_when_its_follower_goes_away() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let (d1, d2) = (TestDir::new("zab-lost-l"), TestDir::new("zab-lost-f"));
    let (p1, p2) = (peer(d1.path(), 1, &qv), peer(d2.path(), 2, &qv));
    let run = start(p1.clone(), vec![p2.clone()]);
    run.wait_all_serving();
    p2.stop_running();
    let Running {
        leader,
        leader_thread,
        followers,
        ..
    } = run;
    for (_, _, t) in followers {
        t.join().unwrap();
    }
    // syncLimit ticks later the leader has no quorum and stops.
    assert!(leader_thread.join().unwrap().is_ok());
    let reason = leader.shutdown_reason().unwrap();
    assert!(
        reason.contains("Not sufficient followers synced"),
        "{reason}"
    );
}

#[test]
fn proposals_reach_followers_and_observers_and_commit_on_a_quorum() {
    let _ = env_logger::builder().is_test(true).try_init();
    // Three voters and an observer; voter 3 stays down, so every commit
    // needs the follower's ACK.
    let qv = servers(3, 1);
    let (d1, d2, d4) = (
        TestDir::new("zab-bc-l"),
        TestDir::new("zab-bc-f"),
        TestDir::new("zab-bc-o"),
    );
    seed(d1.path(), (1..=4).map(|n| z(1, n)), None);
    let (p1, p2, p4) = (
        peer(d1.path(), 1, &qv),
        peer(d2.path(), 2, &qv),
        peer(d4.path(), 4, &qv),
    );
    let run = start(p1.clone(), vec![p2.clone(), p4.clone()]);
    run.wait_all_serving();
    assert_eq!(run.leader.observing_learners().len(), 1);
    assert_eq!(run.leader.forwarding_followers().len(), 1);

    let last = run.propose(30);
    assert_eq!(last, z(2, 30));
    run.wait_applied(last);
    assert_same_tree(&p1, &p2);
    assert_same_tree(&p1, &p4);
    assert_eq!(run.leader.last_committed(), last);
    assert!(wait_for(WAIT, || run.leader.to_be_applied() == 0));
    assert_eq!(run.leader.outstanding_proposals(), 0);

    // A follower's session touches ride on its PING replies.
    run.followers[0].1.touch(0x77, 5000);
    assert!(wait_for(WAIT, || run.zk.touched().contains(&(0x77, 5000))));

    // What the follower logged survives a restart; the observer applied
    // (and logged) the INFORMs.
    run.stop();
    let nodes = dump_tree(p1.db().read().unwrap().data_tree()).len();
    assert_eq!(restored_tree(d2.path()), (last, nodes));
    assert_eq!(restored_tree(d4.path()), (last, nodes));
}

#[test]
fn follower_joining_during_a_write_stream_ends_up_equal() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let (d1, d2, d3) = (
        TestDir::new("zab-late-l"),
        TestDir::new("zab-late-f2"),
        TestDir::new("zab-late-f3"),
    );
    let (p1, p2, p3) = (
        peer(d1.path(), 1, &qv),
        peer(d2.path(), 2, &qv),
        peer(d3.path(), 3, &qv),
    );
    let mut run = start(p1.clone(), vec![p2.clone()]);
    run.wait_all_serving();
    run.propose(20);
    // Follower 3 syncs while proposals keep coming: whatever is proposed
    // or committed around its sync must reach it exactly once.
    let zk = run.zk.clone();
    let writer = thread::spawn(move || {
        let mut last = 0;
        for _ in 0..200 {
            last = zk.propose(|zxid| txn_for(zxid, None)).unwrap();
        }
        last
    });
    run.add_learner(p3.clone());
    let last = writer.join().unwrap();
    run.wait_all_serving();
    run.wait_applied(last);
    assert_same_tree(&p1, &p2);
    assert_same_tree(&p1, &p3);
    assert_eq!(p3.db().read().unwrap().data_tree().digest_mismatches(), 0);
    run.stop();
}

#[test]
fn zabstate_reports_the_peer_its_phase_and_last_zxid_split() {
    let qv = servers(2, 1);
    let d1 = TestDir::new("zabstate-voter");
    let d3 = TestDir::new("zabstate-observer");
    seed(d1.path(), [(1i64 << 32) | 1, (1 << 32) | 3], None);
    let voter = peer(d1.path(), 1, &qv);
    voter.set_client_address("127.0.0.1:2181".parse().unwrap());
    voter.set_zab_state(ZabState::Broadcast);
    let r = voter.zab_state_report(true);
    assert_eq!(r["myid"], 1);
    assert_eq!(r["is_leader"], true);
    assert_eq!(r["voting"], true);
    assert_eq!(r["last_zxid"], "0x100000003");
    assert_eq!(
        (r["zab_epoch"].clone(), r["zab_counter"].clone()),
        (1.into(), 3.into())
    );
    assert_eq!(r["zabstate"], "broadcast");
    assert_eq!(r["client_address"], "127.0.0.1:2181");
    let me = &qv.all_members()[&1];
    // As 3.8's JSON writes a MultipleAddresses: every getter.
    assert_eq!(r["quorum_address"]["one"], me.addr().to_string());
    assert_eq!(
        r["quorum_address"]["all_ports"],
        serde_json::json!([me.addr().port])
    );
    assert_eq!(
        r["election_address"]["all_addresses"],
        serde_json::json!([me.election_addr().to_string()])
    );
    assert_eq!(
        r["election_address"]["wildcard_addresses"],
        serde_json::json!([format!("0.0.0.0:{}", me.election_addr().port)])
    );

    let observer = peer(d3.path(), 3, &qv);
    let r = observer.zab_state_report(false);
    assert_eq!(r["voting"], false);
    assert_eq!(r["is_leader"], false);
    assert_eq!(r["zabstate"], "election");
    assert_eq!(r["last_zxid"], "0x0");
}

/// A follower's server that records, in arrival order, the COMMITs and
/// SYNCs its leader sends, and which session/cxid each logged proposal
/// carries; it hands the connection to the leader to the test, which
/// forwards client requests through it as a follower's
/// FollowerRequestProcessor would.
struct RecordingLearner {
    inner: Arc<DirectLearnerServer>,
    writer: Mutex<Option<Arc<LeaderWriter>>>,
    /// `Some(zxid)` for a COMMIT, `None` for a SYNC.
    arrivals: Mutex<Vec<Option<i64>>>,
    /// (session, cxid) of each logged proposal -> its zxid.
    proposed: Mutex<HashMap<(i64, i32), i64>>,
}

impl LearnerZkServer for RecordingLearner {
    fn db(&self) -> &Arc<RwLock<ZKDatabase>> {
        self.inner.db()
    }
    fn set_leader_writer(&self, writer: Arc<LeaderWriter>) {
        *self.writer.lock().unwrap() = Some(writer);
    }
    fn process_txn(&self, entry: &TxnLogEntry) -> std::io::Result<()> {
        self.inner.process_txn(entry)
    }
    fn take_snapshot(&self, sync_snap: bool) -> std::io::Result<()> {
        self.inner.take_snapshot(sync_snap)
    }
    fn startup_without_serving(&self) -> std::io::Result<()> {
        self.inner.startup_without_serving()
    }
    fn start_serving(&self) -> std::io::Result<()> {
        self.inner.start_serving()
    }
    fn log_request(&self, entry: TxnLogEntry) -> std::io::Result<()> {
        let h = &entry.header;
        self.proposed
            .lock()
            .unwrap()
            .insert((h.client_id, h.cxid), h.zxid);
        self.inner.log_request(entry)
    }
    fn commit(&self, zxid: i64) -> std::io::Result<()> {
        self.arrivals.lock().unwrap().push(Some(zxid));
        self.inner.commit(zxid)
    }
    fn commit_request(&self, entry: TxnLogEntry) -> std::io::Result<()> {
        self.inner.commit_request(entry)
    }
    fn sync(&self) {
        self.arrivals.lock().unwrap().push(None);
    }
    fn shutdown(&self, fully: bool) {
        self.inner.shutdown(fully)
    }
}

impl RecordingLearner {
    fn syncs(&self) -> usize {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.is_none())
            .count()
    }

    fn forward(&self, session_id: i64, cxid: i32, op_type: i32, body: Vec<u8>) -> ForwardedRequest {
        ForwardedRequest {
            session_id,
            cxid,
            op_type,
            body,
        }
    }

    /// Sends `requests` as REQUEST packets, in order, flushed together.
    fn send(&self, requests: &[ForwardedRequest]) {
        let w = self.writer.lock().unwrap().clone().expect("connected");
        for r in requests {
            let p = QuorumPacket::new(packet_type::REQUEST, -1, Some(r.to_bytes()));
            w.write_packet(&p, false).unwrap();
        }
        w.flush().unwrap();
    }
}

/// A follower's `sync` sent right behind its own write is answered (SYNC)
/// only after the COMMIT of that write: the leader runs the sync through
/// its request pipeline, as 3.8 does, instead of answering it as soon as
/// the LearnerHandler reads it. A 3.8 follower's CommitProcessor depends
/// on that order.
#[test]
fn learner_sync_behind_its_own_write_is_answered_after_the_writes_commit() {
    let _ = env_logger::builder().is_test(true).try_init();
    // Voter 3 stays down: every commit needs the follower's ACK.
    let qv = three_servers();
    let (d1, d2) = (TestDir::new("zab-sync-l"), TestDir::new("zab-sync-f"));
    let (p1, p2) = (peer(d1.path(), 1, &qv), peer(d2.path(), 2, &qv));
    let mut cfg = ZooKeeperServerConfig::with_tick_time(100);
    cfg.server_id = 1;
    let lzk = LeaderZooKeeperServer::new(
        cfg,
        p1.db().clone(),
        ContainerSettings::from_properties(&SystemProperties::new()),
    );
    let leader = Leader::new(p1, lzk.clone()).unwrap();
    lzk.attach(&leader);
    let l = leader.clone();
    let leader_thread = thread::spawn(move || l.lead());
    let follower = Arc::new(RecordingLearner {
        inner: DirectLearnerServer::new(p2.db().clone()),
        writer: Mutex::new(None),
        arrivals: Mutex::new(Vec::new()),
        proposed: Mutex::new(HashMap::new()),
    });
    let addr = leader.local_addr();
    let (p2c, fc) = (p2.clone(), follower.clone());
    let follower_thread = thread::spawn(move || Follower::follow_leader(&p2c, &*fc, addr));
    assert!(wait_for(WAIT, || follower.inner.is_serving()));
    assert!(wait_for(WAIT, || leader.peer().zab_state() == ZabState::Broadcast));

    // A session of a client of the follower.
    let session = (2i64 << 56) | 1;
    let mut cxid = 0;
    follower.send(&[follower.forward(
        session,
        cxid,
        op_code::CREATE_SESSION,
        30_000i32.to_be_bytes().to_vec(),
    )]);
    assert!(
        wait_for(WAIT, || follower
            .proposed
            .lock()
            .unwrap()
            .get(&(session, cxid))
            .is_some_and(|z| follower.inner.last_committed() >= *z)),
        "the createSession was never committed"
    );

    for i in 0..20 {
        cxid += 1;
        let write_cxid = cxid;
        let create = CreateRequest {
            path: format!("/w{i}"),
            data: Some(b"x".to_vec()),
            acl: ids::open_acl_unsafe(),
            flags: 0,
        };
        cxid += 1;
        follower.send(&[
            follower.forward(session, write_cxid, op_code::CREATE, create.to_bytes()),
            follower.forward(session, cxid, op_code::SYNC, b"\0\0\0\x01/".to_vec()),
        ]);
        assert!(
            wait_for(WAIT, || follower.syncs() == i + 1),
            "sync {i} never answered"
        );
        let arrivals = follower.arrivals.lock().unwrap().clone();
        let write_zxid = follower
            .proposed
            .lock()
            .unwrap()
            .get(&(session, write_cxid))
            .copied();
        let sync_at = arrivals.iter().rposition(Option::is_none).unwrap();
        let commit_at = write_zxid.and_then(|z| arrivals.iter().position(|a| *a == Some(z)));
        assert!(
            commit_at.is_some_and(|c| c < sync_at),
            "round {i}: the SYNC for cxid {cxid} arrived (at {sync_at}) before the COMMIT of the \
             create it followed (cxid {write_cxid}, zxid {write_zxid:x?}, at {commit_at:?}); \
             arrivals (COMMIT zxid or None for SYNC): {arrivals:x?}"
        );
    }

    leader.shutdown("test over");
    assert!(leader_thread.join().unwrap().is_ok());
    let e = follower_thread.join().unwrap();
    assert_ne!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
}

/// A txn the leader cannot propose (the zxid counter ran out) stops the
/// leader with the reason, from its own chain thread without waiting on
/// itself, and is neither logged nor applied.
#[test]
fn a_proposal_that_cannot_be_made_stops_the_leader() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let (d1, d2) = (TestDir::new("zab-roll-l"), TestDir::new("zab-roll-f"));
    let (p1, p2) = (peer(d1.path(), 1, &qv), peer(d2.path(), 2, &qv));
    let mut cfg = ZooKeeperServerConfig::with_tick_time(100);
    cfg.server_id = 1;
    let lzk = LeaderZooKeeperServer::new(
        cfg,
        p1.db().clone(),
        ContainerSettings::from_properties(&SystemProperties::new()),
    );
    let leader = Leader::new(p1.clone(), lzk.clone()).unwrap();
    lzk.attach(&leader);
    let l = leader.clone();
    let leader_thread = thread::spawn(move || l.lead());
    let follower = DirectLearnerServer::new(p2.db().clone());
    let addr = leader.local_addr();
    let (p2c, fc) = (p2.clone(), follower.clone());
    let follower_thread = thread::spawn(move || Follower::follow_leader(&p2c, &*fc, addr));
    assert!(wait_for(WAIT, || follower.is_serving()));
    assert!(wait_for(WAIT, || leader.peer().zab_state() == ZabState::Broadcast));

    let zks = lzk.zks();
    let rolled = zks.zxid() | 0xffff_ffff;
    zks.set_zxid(rolled - 1);
    let session = 0x7777;
    zks.submit_request(Request::new(
        session,
        0,
        op_code::CREATE_SESSION,
        30_000i32.to_be_bytes().to_vec(),
    ));
    assert!(
        wait_for(WAIT, || leader.shutdown_reason().is_some()),
        "the leader kept leading"
    );
    let reason = leader.shutdown_reason().unwrap();
    assert!(reason.contains(&format!("0x{rolled:x}")), "{reason}");
    assert!(leader_thread.join().unwrap().is_ok());
    let _ = follower_thread.join().unwrap();
    let db = p1.db().read().unwrap();
    assert!(db.data_tree_last_processed_zxid() < rolled);
    assert!(!db.sessions_with_timeouts().contains_key(&session));
}

/// A leader that answers the handshake and then opens the sync with a
/// packet that is none of DIFF, TRUNC or SNAP: the follower stops its
/// peer with QUORUM_PACKET_ERROR (3.8's `Learner.syncWithLeader` exits
/// with that code) instead of following on.
#[test]
fn an_unexpected_first_sync_packet_stops_the_peer_with_quorum_packet_error() {
    use zk_persistence::jute::OutputArchive;
    use zk_server::fatal_error::FatalError;

    let dir = TestDir::new("zab-unexpected");
    let qv = three_servers();
    let p = peer(dir.path(), 2, &qv);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fake_leader = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut ia = crate::quorum_packet::input_archive(s.try_clone().unwrap(), 1 << 20);
        let mut oa = OutputArchive::new(s.try_clone().unwrap());
        let info = crate::quorum_packet::read_packet(&mut ia, "learner").unwrap();
        assert_eq!(info.packet_type, packet_type::FOLLOWERINFO, "{info}");
        let leader_info = QuorumPacket::new(
            packet_type::LEADERINFO,
            z(1, 0),
            Some(crate::quorum_packet::int_payload(0x10000)),
        );
        leader_info.serialize(&mut oa).unwrap();
        let ack = crate::quorum_packet::read_packet(&mut ia, "learner").unwrap();
        assert_eq!(ack.packet_type, packet_type::ACKEPOCH, "{ack}");
        QuorumPacket::new(packet_type::PING, z(1, 0), None)
            .serialize(&mut oa)
            .unwrap();
        // Hold the connection until the follower hangs up.
        while crate::quorum_packet::read_packet(&mut ia, "learner").is_ok() {}
    });
    let zk = DirectLearnerServer::new(p.db().clone());
    let err = Follower::follow_leader(&p, &*zk, addr);
    assert!(
        err.to_string().contains("unexpected packet"),
        "following ended with: {err}"
    );
    match p.fatal_error() {
        Some(FatalError::QuorumPacketError(m)) => assert!(m.contains("PING"), "{m}"),
        other => panic!("expected a QUORUM_PACKET_ERROR, got {other:?}"),
    }
    assert!(!p.is_running(), "the peer stops with it");
    fake_leader.join().unwrap();
}
