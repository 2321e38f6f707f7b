//! In-process ensembles on loopback: every peer a `FastLeaderElection`
//! with its own `QuorumCnxManager`, listener and ports.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use zk_config::{Properties, QuorumPeerConfig};
use zk_election::{
    create_election_algorithm, start_election, ElectionError, ElectionPeer, FleConfig,
    QuorumCnxConfig, ServerState, Vote,
};

/// Starts every (sid, zxid, epoch) of `layout` that is in `up`.
fn start(layout: &Layout, params: &[(i64, i64, i64)], up: &[i64]) -> Vec<Node> {
    let qv = layout.verifier();
    params
        .iter()
        .filter(|(sid, _, _)| up.contains(sid))
        .map(|&(sid, zxid, epoch)| Node::start(TestPeer::new(sid, zxid, epoch, Arc::clone(&qv))))
        .collect()
}

/// Every node agrees on `leader`, and is LEADING iff it is that leader.
fn assert_elected(nodes: &[Node], leader: i64) -> Vec<Vote> {
    let votes: Vec<Vote> = nodes
        .iter()
        .map(|n| n.wait_vote(ELECTION_TIMEOUT))
        .collect();
    for (n, v) in nodes.iter().zip(&votes) {
        assert_eq!(v.id, leader, "server {} elected {v}", n.peer.id);
        let want = if n.peer.id == leader {
            ServerState::Leading
        } else if n.peer.learner == zk_config::LearnerType::Observer {
            ServerState::Observing
        } else {
            ServerState::Following
        };
        assert_eq!(n.peer.peer_state(), want, "state of server {}", n.peer.id);
    }
    votes
}

#[test]
fn three_peers_elect_the_highest_zxid() {
    init_log();
    let layout = Layout::new(3, 0);
    // Server 2 has the newest zxid: it beats the higher sid 3.
    let params = [
        (1, 0x1_0000_0005, 1),
        (2, 0x1_0000_0007, 1),
        (3, 0x1_0000_0006, 1),
    ];
    let nodes = start(&layout, &params, &[1, 2, 3]);
    let votes = assert_elected(&nodes, 2);
    for v in &votes {
        assert_eq!((v.zxid, v.peer_epoch), (0x1_0000_0007, 1));
    }
}

#[test]
fn five_peers_elect_the_highest_epoch_then_sid() {
    init_log();
    let layout = Layout::new(5, 0);
    // Servers 2 and 4 share the highest epoch and zxid; 4 has the larger
    // sid. Server 5's larger zxid is of an older epoch.
    let params = [
        (1, 0x2_0000_0001, 2),
        (2, 0x3_0000_0001, 3),
        (3, 0x2_0000_0009, 2),
        (4, 0x3_0000_0001, 3),
        (5, 0x2_0000_00ff, 2),
    ];
    let nodes = start(&layout, &params, &[1, 2, 3, 4, 5]);
    let votes = assert_elected(&nodes, 4);
    assert!(votes
        .iter()
        .all(|v| v.peer_epoch == 3 && v.zxid == 0x3_0000_0001));
}

#[test]
fn a_quorum_elects_without_the_missing_best_peer() {
    init_log();
    let layout = Layout::new(5, 0);
    let params = [
        (1, 0x10, 1),
        (2, 0x10, 1),
        (3, 0x10, 1),
        (4, 0x10, 1),
        (5, 0x99, 1),
    ];
    // Server 5 would win but is down; three of five still elect 4.
    let nodes = start(&layout, &params, &[1, 2, 4]);
    assert_elected(&nodes, 4);

    let layout = Layout::new(3, 0);
    let params = [(1, 0, 0), (2, 0, 0), (3, 0, 0)];
    let nodes = start(&layout, &params, &[1, 3]);
    assert_elected(&nodes, 3);
}

#[test]
fn a_late_peer_learns_the_established_leader() {
    init_log();
    let layout = Layout::new(3, 0);
    // The late server 3 has the newest zxid, yet it must join the leader
    // the others already settled on instead of starting a new round.
    let params = [
        (1, 0x1_0000_0001, 1),
        (2, 0x1_0000_0001, 1),
        (3, 0x1_0000_0050, 1),
    ];
    let mut nodes = start(&layout, &params, &[1, 2]);
    assert_elected(&nodes, 2);
    let established: Vec<i64> = nodes.iter().map(|n| n.fle.logical_clock()).collect();

    let late = start(&layout, &params, &[3]);
    let v = late[0].wait_vote(ELECTION_TIMEOUT);
    assert_eq!(v.id, 2, "late server elected {v}");
    assert_eq!(late[0].peer.peer_state(), ServerState::Following);
    // It took the round of the established ensemble.
    assert_eq!(late[0].fle.logical_clock(), established[0]);
    nodes.extend(late);
    // The established peers never left their states.
    assert_eq!(nodes[0].peer.peer_state(), ServerState::Following);
    assert_eq!(nodes[1].peer.peer_state(), ServerState::Leading);
}

#[test]
fn an_observer_learns_the_leader_and_is_never_counted() {
    init_log();
    let layout = Layout::new(3, 1);
    let params = [(1, 0, 0), (2, 0, 0), (3, 0, 0), (4, 0, 0)];
    // One voter and the observer: no quorum of voters, so nobody may
    // decide, however long they talk.
    let mut nodes = start(&layout, &params, &[1, 4]);
    wait_until(
        Duration::from_secs(20),
        "voter 1 and observer 4 to connect",
        || nodes[0].fle.cnx_manager().connected_to_peer(4),
    );
    let quiet_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < quiet_until {
        assert!(
            !nodes[0].decided(),
            "voter 1 decided with the observer's vote"
        );
        assert!(!nodes[1].decided(), "observer 4 decided without a quorum");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(nodes[0].peer.peer_state(), ServerState::Looking);

    nodes.extend(start(&layout, &params, &[2]));
    let v = nodes[1].wait_vote(ELECTION_TIMEOUT);
    assert_eq!(v.id, 2, "observer elected {v}");
    assert_elected(&nodes, 2);
    assert_eq!(nodes[1].peer.peer_state(), ServerState::Observing);
}

#[test]
fn only_algorithm_3_is_accepted() {
    init_log();
    let layout = Layout::new(1, 0);
    for alg in [0, 1, 2, 4] {
        let peer = TestPeer::new(1, 0, 0, layout.verifier());
        let err =
            create_election_algorithm(alg, peer, QuorumCnxConfig::default(), FleConfig::default())
                .unwrap_err();
        assert!(matches!(err, ElectionError::UnsupportedAlgorithm(a) if a == alg));
        if alg == 1 || alg == 2 {
            assert_eq!(
                err.to_string(),
                format!("Election Algorithm {alg} is not supported.")
            );
        }
    }
}

#[test]
fn shutdown_ends_a_blocked_look_for_leader() {
    init_log();
    let layout = Layout::new(3, 0);
    let nodes = start(&layout, &[(1, 0, 0)], &[1]);
    wait_until(Duration::from_secs(10), "the first round", || {
        nodes[0].fle.logical_clock() == 1
    });
    let started = Instant::now();
    nodes[0].fle.shutdown();
    wait_until(Duration::from_secs(20), "lookForLeader to return", || {
        nodes[0].decided()
    });
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(nodes[0].fle.cnx_manager().thread_count(), 0);
}

#[test]
fn start_election_from_a_parsed_config() {
    init_log();
    let layout = Layout::new(3, 0);
    // Replicated mode reads dataDir/myid.
    let data_dir = std::env::temp_dir().join(format!(
        "zk-election-config-{}-{}",
        std::process::id(),
        layout.election_port(1)
    ));
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(data_dir.join("myid"), "1\n").unwrap();
    let text = |extra: &str| {
        let mut t = format!(
            "tickTime=200\ninitLimit=5\nsyncLimit=2\ndataDir={}\n{extra}",
            data_dir.display()
        );
        for (sid, qp, ep, _) in &layout.servers {
            t.push_str(&format!("server.{sid}=127.0.0.1:{qp}:{ep}\n"));
        }
        t
    };
    let parse =
        |extra: &str| QuorumPeerConfig::from_properties(&Properties::parse(&text(extra)).unwrap());
    let (parsed, refused) = (parse(""), parse("electionAlg=1\n"));
    let _ = std::fs::remove_dir_all(&data_dir);
    let config = parsed.unwrap();
    let qv = Arc::new(config.quorum_verifier.clone());
    let nodes: Vec<Node> = [(1, 0x1_0000_0003), (2, 0x1_0000_0001), (3, 0x1_0000_0002)]
        .into_iter()
        .map(|(sid, zxid)| {
            let peer = TestPeer::new(sid, zxid, 1, Arc::clone(&qv));
            let fle = start_election(&config, peer.clone()).expect("electionAlg 3");
            Node::run(peer, fle)
        })
        .collect();
    assert_elected(&nodes, 1);

    // zoo.cfg with another algorithm is refused by the parser already...
    let err = refused.unwrap_err();
    assert!(err.to_string().contains("electionAlg"), "{err}");
    // ...and again where the algorithm is built, as in 3.8.
    let mut config = config;
    config.election_alg = 2;
    let peer = TestPeer::new(1, 0, 0, qv);
    let err = start_election(&config, peer).unwrap_err();
    assert_eq!(err.to_string(), "Election Algorithm 2 is not supported.");
}

#[test]
fn look_for_leader_needs_a_looking_peer() {
    init_log();
    let layout = Layout::new(3, 0);
    let peer = TestPeer::new(1, 0, 0, layout.verifier());
    peer.set_peer_state(ServerState::Following);
    let fle = create_election_algorithm(3, peer, QuorumCnxConfig::default(), FleConfig::default())
        .unwrap();
    assert!(matches!(
        fle.look_for_leader(),
        Err(ElectionError::NotLooking(ServerState::Following))
    ));
    fle.shutdown();
}

#[test]
fn the_survivors_elect_a_new_leader_in_the_next_round() {
    init_log();
    let layout = Layout::new(3, 0);
    let params = [
        (1, 0x1_0000_0004, 1),
        (2, 0x1_0000_0004, 1),
        (3, 0x1_0000_0004, 1),
    ];
    let mut nodes = start(&layout, &params, &[1, 2, 3]);
    let first = assert_elected(&nodes, 3);
    assert!(first.iter().all(|v| v.election_epoch == 1));

    // The leader dies; its followers go back to LOOKING with the same
    // election objects (QuorumPeer.run's loop).
    drop(nodes.pop());
    for n in &mut nodes {
        n.look_again();
    }
    let second = assert_elected(&nodes, 2);
    for (n, v) in nodes.iter().zip(&second) {
        assert_eq!(v.election_epoch, 2, "server {} voted {v:?}", n.peer.id);
        assert_eq!(n.fle.logical_clock(), 2);
    }
}
