//! A committed reconfig restarts the leader election on the new view
//! (3.8's `restartLeaderElection`, issue 13's "membership changes take
//! effect live"):
//!
//! - after `reconfig -remove N` of a follower that keeps running, the
//!   remaining nodes hold no election connection to N (read from `/proc`:
//!   the established TCP connections between the two processes on either
//!   one's election port), and writes go on;
//! - after a reconfig that moves a member's election port, the member
//!   accepts on the new port and no longer on the old one, and an
//!   election without the old leader (stopped) still ends with a leader.
//!
//! Apache 3.8 is the control for each zk-bin variant. Without Java or
//! Debian's ZooKeeper the tests print `skipped: ...`.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, NodeKind, SteadyWriter};
use integration::ports::free_port_except;

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(60);

fn zkcli_or_skip() -> Option<ApacheZk> {
    match ApacheZk::find() {
        Ok(zk) => Some(zk),
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            None
        }
    }
}

/// Waits until the newest dynamic file of every node in `nodes` is the
/// same; returns its name and text.
fn same_config_on(e: &Ensemble, nodes: &[usize]) -> (String, String) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let newest: Vec<Option<(String, String)>> = nodes
            .iter()
            .map(|&i| e.dynamic_config_files(i).pop())
            .collect();
        if let Some(Some(first)) = newest.first() {
            if newest.iter().all(|n| n.as_ref() == Some(first)) {
                return first.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the newest dynamic files of nodes {nodes:?} differ: {newest:?}\n{}",
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn remove_drops_election_connections(kind: NodeKind) {
    let Some(zk) = zkcli_or_skip() else { return };
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::reconfig(&[kind; 3])) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let gone = (0..3).find(|&i| i != leader).expect("3 members");
    let rest: Vec<usize> = (0..3).filter(|&i| i != gone).collect();
    // With reconfigEnabled every node restarts its election once the first
    // leader bumps the config version (3.8 does too: its own entry loses the
    // client address zoo.cfg gave it), which drops the first election's
    // connections. A restarted node looks again and connects to every
    // member: what the reconfig must undo.
    e.restart(gone).unwrap_or_else(|m| panic!("{m}"));
    e.wait_learning(gone, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    for &i in &rest {
        let before = e
            .wait_election_connections(i, gone, "at least one", TIMEOUT, |n| n > 0)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        println!(
            "before: node {} holds {before} election connection(s) with node {}",
            e.sid(i),
            e.sid(gone)
        );
    }
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));

    e.zkcli_reconfig(&zk, &format!("-remove {}", e.sid(gone)), TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.set_member(gone, false);
    let (name, text) = same_config_on(&e, &rest);
    assert!(
        !text.contains(&format!("server.{}=", e.sid(gone))),
        "{name} still names node {}: {text}",
        e.sid(gone)
    );
    for &i in &rest {
        e.wait_election_connections(i, gone, "none", TIMEOUT, |n| n == 0)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    }
    // Still none once more writes went through the new membership.
    writer
        .wait_for_more(100, TIMEOUT)
        .unwrap_or_else(|m| panic!("after the remove: {m}\n{}", e.describe()));
    for &i in &rest {
        let n = e
            .election_connections(i, gone)
            .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(
            n,
            0,
            "node {} reconnected to removed node {}",
            e.sid(i),
            e.sid(gone)
        );
    }
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.stop(gone).unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{kind}: after reconfig -remove {} ({name}) nodes {:?} hold no election connection \
         to it (it kept running until the end); all {} acknowledged writes on every node ({} failed \
         attempts, longest gap {:?})",
        e.sid(gone),
        rest.iter().map(|&i| e.sid(i)).collect::<Vec<_>>(),
        report.acked.len(),
        report.failures,
        report.longest_gap
    );
}

/// Whether something accepts TCP connections on `addr`.
fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

fn wait_accepts(addr: SocketAddr, want: bool, e: &Ensemble) {
    let deadline = Instant::now() + TIMEOUT;
    while accepts(addr) != want {
        assert!(
            Instant::now() < deadline,
            "{addr} {} after {TIMEOUT:?}\n{}",
            if want {
                "still refuses connections"
            } else {
                "still accepts connections"
            },
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn move_election_port(kind: NodeKind) {
    let Some(zk) = zkcli_or_skip() else { return };
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::reconfig(&[kind; 3])) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let moved = (0..3).find(|&i| i != leader).expect("3 members");
    let ip = e.client_addr(moved).ip();
    let old = SocketAddr::new(ip, e.election_port(moved));
    assert!(
        accepts(old),
        "node {} does not listen on {old}",
        e.sid(moved)
    );
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));

    let port = free_port_except(&e.ports()).unwrap_or_else(|m| panic!("free port: {m}"));
    e.set_election_port(moved, port);
    e.zkcli_reconfig(&zk, &format!("-add {}", e.reconfig_line(moved)), TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let (name, text) = same_config_on(&e, &[0, 1, 2]);
    assert!(
        text.contains(&format!(":{port}:")),
        "{name} lacks the new election port {port}: {text}"
    );
    let new = SocketAddr::new(ip, port);
    wait_accepts(new, true, &e);
    wait_accepts(old, false, &e);
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("after the move: {m}\n{}", e.describe()));

    // The next election reaches the moved node at its new port: without
    // the old leader the two others need each other.
    let stopped = Instant::now();
    e.stop(leader).unwrap_or_else(|m| panic!("{m}"));
    let (next, _) = e
        .wait_for_leader(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let took = stopped.elapsed();
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("after the leader stopped: {m}\n{}", e.describe()));
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{kind}: node {} moved its election port {} -> {port} by reconfig ({name}); without \
         leader {} node {} leads after {took:?}; all {} acknowledged writes on every running \
         node (longest gap {:?})",
        e.sid(moved),
        old.port(),
        e.sid(leader),
        e.sid(next),
        report.acked.len(),
        report.longest_gap
    );
}

#[test]
fn apache_removed_follower_loses_its_election_connections() {
    remove_drops_election_connections(Apache);
}

#[test]
fn zk_bin_removed_follower_loses_its_election_connections() {
    remove_drops_election_connections(ZkBin);
}

#[test]
fn apache_member_moves_its_election_port() {
    move_election_port(Apache);
}

#[test]
fn zk_bin_member_moves_its_election_port() {
    move_election_port(ZkBin);
}
