//! Our FastLeaderElection in one ensemble with Apache ZooKeeper 3.8 nodes,
//! all on loopback: the votes must cross in both directions (3.8's initial
//! message, frames and version 2 notifications) and everyone must settle on
//! the same leader.
//!
//! Our peers only elect: they never open the quorum port. So when one of
//! them leads, Apache follows it, fails to reach its quorum port and looks
//! again; the test only checks whom Apache chose.

use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use integration::apache::{ApacheServer, ApacheZk, ServerConfig};
use integration::ports::{free_port_except, TempDir};
use zk_config::{LearnerType, QuorumVerifier};
use zk_election::{
    config_from_string, create_election_algorithm, ElectionPeer, FastLeaderElection, FleConfig,
    QuorumCnxConfig, ServerState, Vote,
};

/// JVM start plus an election on a busy 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Ports of a three-server ensemble.
struct Ensemble {
    /// (sid, client port, quorum port, election port)
    servers: Vec<(u64, u16, u16, u16)>,
}

impl Ensemble {
    fn new() -> Ensemble {
        let mut used = Vec::new();
        let mut port = || {
            let p = free_port_except(&used).expect("a free loopback port");
            used.push(p);
            p
        };
        let servers = (1..=3).map(|sid| (sid, port(), port(), port())).collect();
        Ensemble { servers }
    }

    fn server_lines(&self) -> Vec<(u64, String)> {
        self.servers
            .iter()
            .map(|(sid, _, qp, ep)| (*sid, format!("127.0.0.1:{qp}:{ep}:participant")))
            .collect()
    }

    fn verifier(&self) -> Arc<QuorumVerifier> {
        let mut text = String::new();
        for (sid, line) in self.server_lines() {
            text.push_str(&format!("server.{sid}={line}\n"));
        }
        text.push_str("version=0");
        Arc::new(config_from_string(&text).expect("the ensemble's config parses"))
    }

    fn quorum_port(&self, sid: u64) -> u16 {
        self.servers.iter().find(|s| s.0 == sid).unwrap().2
    }

    fn start_apache(&self, zk: &ApacheZk, work: &TempDir, sid: u64) -> ApacheServer {
        let client_port = self.servers.iter().find(|s| s.0 == sid).unwrap().1;
        let data = work.join(format!("data-{sid}"));
        let mut cfg = ServerConfig::new(work.path(), &data, client_port);
        cfg.servers = self.server_lines();
        cfg.myid = Some(sid);
        cfg.max_heap = Some("256m".to_string());
        zk.spawn(&cfg)
            .unwrap_or_else(|e| panic!("cannot start Apache server {sid}: {e}"))
    }
}

/// A fresh server as QuorumPeer presents itself to the election: empty
/// database (zxid 0), epoch 0.
struct Peer {
    id: i64,
    qv: Arc<QuorumVerifier>,
    state: Mutex<ServerState>,
    vote: Mutex<Vote>,
}

impl ElectionPeer for Peer {
    fn my_id(&self) -> i64 {
        self.id
    }
    fn learner_type(&self) -> LearnerType {
        LearnerType::Participant
    }
    fn last_logged_zxid(&self) -> i64 {
        0
    }
    fn current_epoch(&self) -> io::Result<i64> {
        Ok(0)
    }
    fn current_vote(&self) -> Vote {
        *self.vote.lock().unwrap()
    }
    fn peer_state(&self) -> ServerState {
        *self.state.lock().unwrap()
    }
    fn set_peer_state(&self, state: ServerState) {
        *self.state.lock().unwrap() = state;
    }
    fn quorum_verifier(&self) -> Arc<QuorumVerifier> {
        Arc::clone(&self.qv)
    }
}

type Outcome = Arc<(Mutex<Option<Result<Vote, String>>>, Condvar)>;

/// One of our peers running an election on its own thread.
struct Ours {
    peer: Arc<Peer>,
    fle: FastLeaderElection,
    outcome: Outcome,
    thread: Option<JoinHandle<()>>,
}

impl Ours {
    fn start(ensemble: &Ensemble, sid: i64) -> Ours {
        let peer = Arc::new(Peer {
            id: sid,
            qv: ensemble.verifier(),
            state: Mutex::new(ServerState::Looking),
            vote: Mutex::new(Vote::initial(sid, 0, 0)),
        });
        let fle = create_election_algorithm(
            3,
            peer.clone(),
            QuorumCnxConfig::default(),
            FleConfig::default(),
        )
        .expect("algorithm 3");
        let outcome: Outcome = Arc::new((Mutex::new(None), Condvar::new()));
        let (p, f, o) = (Arc::clone(&peer), fle.clone(), Arc::clone(&outcome));
        let thread = std::thread::spawn(move || {
            let r = f.look_for_leader();
            if let Ok(v) = &r {
                *p.vote.lock().unwrap() = *v;
            }
            *o.0.lock().unwrap() = Some(r.map_err(|e| e.to_string()));
            o.1.notify_all();
        });
        Ours {
            peer,
            fle,
            outcome,
            thread: Some(thread),
        }
    }

    fn wait_vote(&self, apache: &[&ApacheServer]) -> Vote {
        let g = self.outcome.0.lock().unwrap();
        let (g, _) = self
            .outcome
            .1
            .wait_timeout_while(g, TIMEOUT, |o| o.is_none())
            .unwrap();
        match &*g {
            Some(Ok(v)) => *v,
            other => {
                let logs: Vec<String> = apache.iter().map(|a| a.log_tail(40)).collect();
                panic!(
                    "our server {} elected no leader ({other:?}; state {}, proposal {}); Apache's logs:\n{}",
                    self.peer.id,
                    self.peer.peer_state(),
                    self.fle.vote(),
                    logs.join("\n-----\n")
                )
            }
        }
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        self.fle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn find_apache() -> Option<ApacheZk> {
    match ApacheZk::find() {
        Ok(zk) => Some(zk),
        Err(why) => {
            println!("skipped: the election interop test needs Apache ZooKeeper 3.8: {why}");
            None
        }
    }
}

fn mntr_state(server: &ApacheServer) -> String {
    let answer = server.four_letter("mntr").unwrap_or_default();
    answer
        .lines()
        .find_map(|l| l.strip_prefix("zk_server_state\t"))
        .unwrap_or("?")
        .to_string()
}

#[test]
fn ours_learns_the_leader_two_apache_nodes_elected() {
    let Some(zk) = find_apache() else { return };
    let work = TempDir::new("zk-election-interop").unwrap();
    let ensemble = Ensemble::new();
    let mut a1 = ensemble.start_apache(&zk, &work, 1);
    let mut a2 = ensemble.start_apache(&zk, &work, 2);
    // Two of three form a quorum: they elect, sync and serve.
    a1.wait_serving(TIMEOUT).unwrap();
    a2.wait_serving(TIMEOUT).unwrap();
    let states = [mntr_state(&a1), mntr_state(&a2)];
    let leader = match states {
        [ref s1, ref s2] if s1 == "leader" && s2 == "follower" => 1,
        [ref s1, ref s2] if s1 == "follower" && s2 == "leader" => 2,
        other => panic!("unexpected Apache states {other:?}"),
    };

    // Server 3 would win a fresh election (highest sid, same zxid), but
    // the ensemble is established: it must follow Apache's leader.
    let ours = Ours::start(&ensemble, 3);
    let vote = ours.wait_vote(&[&a1, &a2]);
    assert_eq!(
        vote.id, leader,
        "ours elected {vote}, Apache's leader is {leader}"
    );
    assert_eq!(ours.peer.peer_state(), ServerState::Following);

    // Apache decoded our version 2 notifications.
    let leader_server = if leader == 1 { &mut a1 } else { &mut a2 };
    let line = leader_server
        .wait_for_log(&["Notification:", "n.sid:3,", "n.state:LOOKING"], TIMEOUT)
        .unwrap();
    assert!(line.contains("message format version:0x2"), "{line}");
    // ... and stayed as they were.
    assert_eq!([mntr_state(&a1), mntr_state(&a2)], states);
    println!("Apache elected {leader}; our server 3 follows it ({vote})");
}

#[test]
fn one_apache_node_and_two_of_ours_agree_on_the_leader() {
    let Some(zk) = find_apache() else { return };
    let work = TempDir::new("zk-election-interop").unwrap();
    let ensemble = Ensemble::new();
    let mut a1 = ensemble.start_apache(&zk, &work, 1);
    // Let Apache's first round start before ours, so that all three
    // servers vote in one LOOKING round.
    a1.wait_for_log(&["New election. My id = 1"], TIMEOUT)
        .unwrap();
    let ours2 = Ours::start(&ensemble, 2);
    let ours3 = Ours::start(&ensemble, 3);
    let v2 = ours2.wait_vote(&[&a1]);
    let v3 = ours3.wait_vote(&[&a1]);
    // Same zxid and epoch everywhere: the largest sid leads.
    assert_eq!((v2.id, v3.id), (3, 3), "ours elected {v2} and {v3}");
    assert_eq!(ours3.peer.peer_state(), ServerState::Leading);
    assert_eq!(ours2.peer.peer_state(), ServerState::Following);

    // Apache follows 3 too: it goes for server 3's quorum port.
    a1.wait_for_log(&["FOLLOWING - LEADER ELECTION TOOK"], TIMEOUT)
        .unwrap();
    let qp = format!("127.0.0.1:{}", ensemble.quorum_port(3));
    let line = a1.wait_for_log(&["connecting to", &qp], TIMEOUT).unwrap();
    for other in [1, 2] {
        let wrong = format!("127.0.0.1:{}", ensemble.quorum_port(other));
        assert!(
            !a1.log_text()
                .lines()
                .any(|l| l.contains("connecting to") && l.contains(&wrong)),
            "Apache also tried the quorum port of server {other}"
        );
    }
    // It is not serving (no real leader); mntr says so rather than a state.
    assert_ne!(mntr_state(&a1), "leader");
    println!("all agree on leader 3; Apache: {line}");
}
