//! Shared pieces of the election tests: a plain `ElectionPeer`, free
//! loopback ports, ensembles of in-process peers, and bounded waits.

#![allow(dead_code)]

use std::collections::HashSet;
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zk_config::{LearnerType, QuorumVerifier};
use zk_election::{
    config_from_string, create_election_algorithm, ElectionPeer, FastLeaderElection, FleConfig,
    QuorumCnxConfig, ServerState, Vote,
};

pub fn init_log() {
    let _ = env_logger::builder().is_test(true).try_init();
}

/// A loopback port nobody in this test process has been given yet (the
/// tests of one binary run in parallel).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap();
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a loopback port")
            .port();
        if given.insert(port) {
            return port;
        }
    }
}

/// Ports and config text of an ensemble.
#[derive(Debug, Clone)]
pub struct Layout {
    /// (sid, quorum port, election port, observer?)
    pub servers: Vec<(i64, u16, u16, bool)>,
}

impl Layout {
    /// Participants 1..=voters, then observers voters+1..=voters+observers.
    pub fn new(voters: i64, observers: i64) -> Layout {
        let servers = (1..=voters + observers)
            .map(|sid| (sid, free_port(), free_port(), sid > voters))
            .collect();
        Layout { servers }
    }

    pub fn config_text(&self) -> String {
        let mut text = String::new();
        for (sid, qp, ep, observer) in &self.servers {
            let kind = if *observer { "observer" } else { "participant" };
            text.push_str(&format!("server.{sid}=127.0.0.1:{qp}:{ep}:{kind}\n"));
        }
        text.push_str("version=0");
        text
    }

    pub fn verifier(&self) -> Arc<QuorumVerifier> {
        Arc::new(config_from_string(&self.config_text()).expect("test config parses"))
    }

    pub fn election_port(&self, sid: i64) -> u16 {
        self.servers.iter().find(|s| s.0 == sid).unwrap().2
    }
}

/// What zk-quorum's QuorumPeer will be to the election, reduced to fields.
#[derive(Debug)]
pub struct TestPeer {
    pub id: i64,
    pub learner: LearnerType,
    pub zxid: i64,
    pub epoch: i64,
    pub qv: Arc<QuorumVerifier>,
    state: Mutex<ServerState>,
    vote: Mutex<Vote>,
    /// Set when the Listener gave up binding the election port.
    pub bind_failed: std::sync::atomic::AtomicBool,
}

impl TestPeer {
    pub fn new(id: i64, zxid: i64, epoch: i64, qv: Arc<QuorumVerifier>) -> Arc<TestPeer> {
        let learner = match qv.all_members().get(&id) {
            Some(s) => s.learner_type,
            None => LearnerType::Participant,
        };
        Arc::new(TestPeer {
            id,
            learner,
            zxid,
            epoch,
            qv,
            state: Mutex::new(ServerState::Looking),
            // QuorumPeer.startLeaderElection: we first vote for ourselves.
            vote: Mutex::new(Vote::initial(id, zxid, epoch)),
            bind_failed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn set_current_vote(&self, v: Vote) {
        *self.vote.lock().unwrap() = v;
    }
}

impl ElectionPeer for TestPeer {
    fn my_id(&self) -> i64 {
        self.id
    }
    fn learner_type(&self) -> LearnerType {
        self.learner
    }
    fn last_logged_zxid(&self) -> i64 {
        self.zxid
    }
    fn current_epoch(&self) -> io::Result<i64> {
        Ok(self.epoch)
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
    fn election_port_bind_failed(&self) {
        self.bind_failed
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

type Outcome = Arc<(Mutex<Option<Result<Vote, String>>>, Condvar)>;

/// A peer running one election on its own thread, as QuorumPeer.run's
/// LOOKING case does, then staying in the state it reached (answering
/// LOOKING peers) until dropped.
pub struct Node {
    pub peer: Arc<TestPeer>,
    pub fle: FastLeaderElection,
    outcome: Outcome,
    thread: Option<JoinHandle<()>>,
}

impl Node {
    pub fn start(peer: Arc<TestPeer>) -> Node {
        let fle = create_election_algorithm(
            3,
            peer.clone(),
            QuorumCnxConfig::default(),
            FleConfig::default(),
        )
        .expect("algorithm 3 is supported");
        Node::run(peer, fle)
    }

    /// Runs one `look_for_leader` of an already started election.
    pub fn run(peer: Arc<TestPeer>, fle: FastLeaderElection) -> Node {
        let mut node = Node {
            peer,
            fle,
            outcome: Arc::new((Mutex::new(None), Condvar::new())),
            thread: None,
        };
        node.look_again();
        node
    }

    /// Goes (back) to LOOKING and runs `look_for_leader` on a new thread,
    /// as QuorumPeer does when it loses its leader.
    pub fn look_again(&mut self) {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        *self.outcome.0.lock().unwrap() = None;
        self.peer.set_peer_state(ServerState::Looking);
        let (p, f, o) = (
            Arc::clone(&self.peer),
            self.fle.clone(),
            Arc::clone(&self.outcome),
        );
        let thread = std::thread::Builder::new()
            .name(format!("QuorumPeer[myid={}]", self.peer.id))
            .spawn(move || {
                let r = f.look_for_leader();
                if let Ok(v) = &r {
                    p.set_current_vote(*v);
                }
                *o.0.lock().unwrap() = Some(r.map_err(|e| e.to_string()));
                o.1.notify_all();
            })
            .unwrap();
        self.thread = Some(thread);
    }

    /// The elected vote, waiting at most `timeout`.
    pub fn wait_vote(&self, timeout: Duration) -> Vote {
        let g = self.outcome.0.lock().unwrap();
        let (g, _) = self
            .outcome
            .1
            .wait_timeout_while(g, timeout, |o| o.is_none())
            .unwrap();
        match &*g {
            Some(Ok(v)) => *v,
            Some(Err(e)) => panic!("server {} failed its election: {e}", self.peer.id),
            None => panic!(
                "server {} elected no leader within {timeout:?} (state {}, round 0x{:x}, proposal {})",
                self.peer.id,
                self.peer.peer_state(),
                self.fle.logical_clock(),
                self.fle.vote()
            ),
        }
    }

    pub fn decided(&self) -> bool {
        self.outcome.0.lock().unwrap().is_some()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.fle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Generous: elections take well under a second on an idle machine.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Polls `cond` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
