//! The vote a settled server answers a LOOKING peer with carries the epoch
//! in force once that epoch is established (3.8's `updateElectionVote`,
//! ZOOKEEPER-1732): a leader, a follower and an observer, each with its
//! election running over loopback, are asked by a LOOKING voter speaking
//! the election's wire protocol before and after the leader starts its
//! new epoch.
//!
//! They were elected in epoch 3 (leader 2, election round 5); the leader
//! then starts epoch 4. Before, each answers with peer epoch 3; once the
//! leader runs (and each learner has synced), with 4, the leader, zxid and
//! round unchanged. A server still answering 3 there is what kept a
//! restarted 3.8 node LOOKING in a mixed ensemble (issue 10).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zk_config::{LearnerType, QuorumMaj, QuorumServer, QuorumVerifier};
use zk_election::wire::{frame, read_frame, InitialMessage, NotificationMessage};
use zk_election::{
    create_election_algorithm, ElectionPeer, FastLeaderElection, FleConfig, QuorumCnxConfig,
    ServerState, Vote,
};
use zk_persistence::epoch::{write_long_to_file, ACCEPTED_EPOCH_FILENAME, CURRENT_EPOCH_FILENAME};
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::zk_database::ZKDatabase;
use zk_quorum::direct_servers::{DirectLeaderServer, DirectLearnerServer};
use zk_quorum::quorum_peer::{QuorumPeer, QuorumPeerSettings, ZabState};
use zk_quorum::{Follower, Leader, Observer};

const WAIT: Duration = Duration::from_secs(20);

const FOLLOWER: i64 = 1;
const LEADER: i64 = 2;
const OBSERVER: i64 = 3;
/// The LOOKING voter: the highest sid, so that the connections it dials
/// are the ones the election keeps.
const LOOKER: i64 = 4;

/// The epoch the three were elected with, and the election round.
const ELECTED_EPOCH: i64 = 3;
const ROUND: i64 = 5;

/// A directory removed when dropped.
struct TestDir(PathBuf);

impl TestDir {
    fn new(name: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!(
            "zk-quorum-election-vote-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        TestDir(path)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Voters 1, 2 and 4, observer 3; (quorum port, election port) each.
fn layout() -> (QuorumVerifier, BTreeMap<i64, u16>) {
    let mut all = BTreeMap::new();
    let mut election_ports = BTreeMap::new();
    for sid in 1..=4 {
        let election = free_port();
        let kind = if sid == OBSERVER {
            "observer"
        } else {
            "participant"
        };
        let line = format!("127.0.0.1:{}:{election}:{kind}", free_port());
        all.insert(sid, QuorumServer::parse(sid, &line, false).unwrap());
        election_ports.insert(sid, election);
    }
    (
        QuorumVerifier::Majority(QuorumMaj::new(all)),
        election_ports,
    )
}

/// A peer that has been in epoch `ELECTED_EPOCH` and was just elected
/// with leader `LEADER`, as `lookForLeader` leaves it.
fn elected_peer(dir: &Path, sid: i64, qv: &QuorumVerifier) -> Arc<QuorumPeer> {
    let snap_log = FileTxnSnapLog::open(dir, dir).expect("open data dir");
    snap_log.txn_log().set_prealloc_size(4096);
    let snap_dir = snap_log.snap_dir().to_path_buf();
    write_long_to_file(&snap_dir.join(CURRENT_EPOCH_FILENAME), ELECTED_EPOCH).unwrap();
    write_long_to_file(&snap_dir.join(ACCEPTED_EPOCH_FILENAME), ELECTED_EPOCH).unwrap();
    let mut settings = QuorumPeerSettings {
        tick_time: 100,
        init_limit: 50,
        sync_limit: 20,
        ..QuorumPeerSettings::new(sid)
    };
    let state = match sid {
        LEADER => ServerState::Leading,
        OBSERVER => {
            settings.learner_type = LearnerType::Observer;
            ServerState::Observing
        }
        _ => ServerState::Following,
    };
    let peer = QuorumPeer::new(settings, qv.clone(), ZKDatabase::new(snap_log));
    peer.load_data_base().unwrap();
    let zxid = peer.last_logged_zxid().unwrap();
    peer.set_current_vote(Vote::new(LEADER, zxid, ROUND, ELECTED_EPOCH));
    ElectionPeer::set_peer_state(&*peer, state);
    peer
}

fn start_election(peer: &Arc<QuorumPeer>) -> FastLeaderElection {
    create_election_algorithm(
        3,
        Arc::clone(peer) as Arc<dyn ElectionPeer>,
        QuorumCnxConfig::default(),
        FleConfig::default(),
    )
    .expect("the election starts")
}

/// The LOOKING voter's connection to one settled server's election port.
struct Looker {
    stream: TcpStream,
    config: Vec<u8>,
}

impl Looker {
    fn connect(port: u16, my_port: u16, qv: &QuorumVerifier) -> Looker {
        let deadline = Instant::now() + WAIT;
        let mut stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("election port {port} never opened: {e}"),
            }
        };
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let hello = InitialMessage::encode(LOOKER, &[format!("127.0.0.1:{my_port}")], false);
        stream.write_all(&hello).unwrap();
        Looker {
            stream,
            config: qv.to_string().into_bytes(),
        }
    }

    /// Sends a LOOKING vote for ourselves and returns the answer.
    fn ask(&mut self) -> NotificationMessage {
        let vote = NotificationMessage::build(
            ServerState::Looking,
            LOOKER,
            0,
            1,
            ELECTED_EPOCH,
            &self.config,
        );
        self.stream.write_all(&frame(&vote)).unwrap();
        let answer = read_frame(&mut self.stream).expect("an answer to a LOOKING vote");
        NotificationMessage::decode(&answer).expect("the answer decodes")
    }

    /// Asks until the answer's peer epoch is `epoch` (the update follows
    /// the learner's start of serving by a moment) or `WAIT` passes;
    /// returns the last answer.
    fn ask_until_epoch(&mut self, epoch: i64) -> NotificationMessage {
        let deadline = Instant::now() + WAIT;
        loop {
            let answer = self.ask();
            if answer.peer_epoch == epoch || Instant::now() >= deadline {
                return answer;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Checks that `answer` is `state`'s vote for the elected leader, in
/// `epoch`, with the leader, zxid and round of the election.
fn assert_answer(who: &str, answer: &NotificationMessage, state: ServerState, epoch: i64) {
    assert_eq!(
        answer.state,
        state.to_wire(),
        "{who} answered in state {} instead of {state}",
        answer.state
    );
    assert_eq!(
        (answer.leader, answer.zxid, answer.election_epoch),
        (LEADER, 0, ROUND),
        "{who}'s vote must keep the elected leader, zxid and round"
    );
    assert_eq!(
        answer.peer_epoch, epoch,
        "{who} answers a LOOKING peer with peer epoch 0x{:x}, want 0x{epoch:x}",
        answer.peer_epoch
    );
}

#[test]
fn settled_servers_answer_looking_peers_with_the_new_epoch() {
    let _ = env_logger::builder().is_test(true).try_init();
    let (qv, election_ports) = layout();
    let dirs: Vec<TestDir> = [FOLLOWER, LEADER, OBSERVER]
        .iter()
        .map(|sid| TestDir::new(&sid.to_string()))
        .collect();
    let follower = elected_peer(&dirs[0].0, FOLLOWER, &qv);
    let leader_peer = elected_peer(&dirs[1].0, LEADER, &qv);
    let observer = elected_peer(&dirs[2].0, OBSERVER, &qv);
    let elections: Vec<FastLeaderElection> = [&follower, &leader_peer, &observer]
        .into_iter()
        .map(start_election)
        .collect();

    let looker_port = election_ports[&LOOKER];
    let mut ask_leader = Looker::connect(election_ports[&LEADER], looker_port, &qv);
    let mut ask_follower = Looker::connect(election_ports[&FOLLOWER], looker_port, &qv);
    let mut ask_observer = Looker::connect(election_ports[&OBSERVER], looker_port, &qv);

    // Elected, not yet in the new epoch: the epoch of the election.
    assert_answer(
        "the leader",
        &ask_leader.ask(),
        ServerState::Leading,
        ELECTED_EPOCH,
    );
    assert_answer(
        "the follower",
        &ask_follower.ask(),
        ServerState::Following,
        ELECTED_EPOCH,
    );
    assert_answer(
        "the observer",
        &ask_observer.ask(),
        ServerState::Observing,
        ELECTED_EPOCH,
    );

    // The leader starts the next epoch with its learners.
    let zk = DirectLeaderServer::new(leader_peer.db().clone());
    let leader = Leader::new(Arc::clone(&leader_peer), zk.clone()).unwrap();
    zk.attach(&leader);
    let l = Arc::clone(&leader);
    let leading = thread::spawn(move || l.lead());
    let mut learners = Vec::new();
    for (peer, observing) in [(&follower, false), (&observer, true)] {
        let zk = DirectLearnerServer::new(peer.db().clone());
        let (p, z, addr) = (Arc::clone(peer), zk.clone(), leader.local_addr());
        let t = thread::spawn(move || {
            if observing {
                Observer::observe_leader(&p, &*z, addr)
            } else {
                Follower::follow_leader(&p, &*z, addr)
            }
        });
        learners.push((zk, t));
    }
    let deadline = Instant::now() + WAIT;
    while !(leader_peer.zab_state() == ZabState::Broadcast
        && learners.iter().all(|(zk, _)| zk.is_serving()))
    {
        assert!(
            Instant::now() < deadline,
            "the leader and its learners did not all reach the new epoch within {WAIT:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let new_epoch = leader.epoch();
    assert_eq!(
        new_epoch,
        ELECTED_EPOCH + 1,
        "the leader should lead the epoch after the one it was elected in"
    );

    assert_answer(
        "the leader",
        &ask_leader.ask_until_epoch(new_epoch),
        ServerState::Leading,
        new_epoch,
    );
    assert_answer(
        "the follower",
        &ask_follower.ask_until_epoch(new_epoch),
        ServerState::Following,
        new_epoch,
    );
    assert_answer(
        "the observer",
        &ask_observer.ask_until_epoch(new_epoch),
        ServerState::Observing,
        new_epoch,
    );

    leader.shutdown("test over");
    let led = leading.join().unwrap();
    assert!(led.is_ok(), "lead() failed: {led:?}");
    for (_, t) in learners {
        t.join().unwrap();
    }
    for e in &elections {
        e.shutdown();
    }
}
