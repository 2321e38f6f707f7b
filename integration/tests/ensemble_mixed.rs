//! Apache ZooKeeper 3.8 and zk-bin in one ensemble, on loopback.
//!
//! - Leader rotation: 2 Apache + 1 zk-bin and 1 Apache + 2 zk-bin under a
//!   steady writer; the leader is killed (-9) and restarted in turn until
//!   each implementation has led; then every node has every acknowledged
//!   write. Before each kill the writer pauses until every node has the
//!   same zxid, so the election's tie-break (the highest myid) picks the
//!   next leader: the kinds are placed so that this reaches every kind.
//! - Rolling migration: a 3-node Apache ensemble under a steady writer has
//!   its nodes replaced one by one by zk-bin on the same dataDirs; no
//!   acknowledged write is lost and the longest time without a write
//!   getting through (no leader) is printed.
//!
//! The all-Apache variants (rotation among Apache nodes, a rolling restart
//! of Apache onto Apache) are the controls that prove the test; every
//! variant prints `skipped: ...` where Java or Debian's ZooKeeper is missing.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use integration::ensemble::{can_run_or_skip, Ensemble, EnsembleConfig, NodeKind, SteadyWriter};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(90);

fn leader_rotation(kinds: &[NodeKind]) {
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::new(kinds)) else {
        return;
    };
    let label: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    let label = label.join("+");
    let all_kinds: HashSet<NodeKind> = kinds.iter().copied().collect();
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    let mut led_kinds = HashSet::new();
    let mut led_nodes = HashSet::new();
    for round in 0..6 {
        let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
        led_kinds.insert(e.kind(leader));
        led_nodes.insert(leader);
        writer
            .wait_for_more(100, TIMEOUT)
            .unwrap_or_else(|m| panic!("round {round}: {m}\n{}", e.describe()));
        println!(
            "{label} round {round}: node {} ({}) leads and takes writes",
            e.sid(leader),
            e.kind(leader)
        );
        // Each kind has led, and at least one fail-over happened.
        if led_kinds == all_kinds && led_nodes.len() >= 2 {
            break;
        }
        writer.pause().unwrap_or_else(|m| panic!("{m}"));
        e.wait_same_zxid(TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        e.kill_9(leader).unwrap_or_else(|m| panic!("{m}"));
        let killed = Instant::now();
        // Without a leader no zxid moves: writing again cannot sway the vote.
        writer.resume();
        let (next, _) = e.wait_for_leader(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
        println!(
            "{label} round {round}: killed -9 node {}; node {} ({}) led {:?} later",
            e.sid(leader),
            e.sid(next),
            e.kind(next),
            killed.elapsed()
        );
        e.start(leader).unwrap_or_else(|m| panic!("{m}"));
    }
    assert_eq!(
        led_kinds, all_kinds,
        "not every implementation led within 6 rounds"
    );
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.check_writes_everywhere("everywhere")
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{label}: all {} acknowledged writes on all 3 nodes ({} failed attempts, longest time \
         without an ack {:?})",
        report.acked.len(),
        report.failures,
        report.longest_gap
    );
}

#[test]
fn leader_rotation_3_apache() {
    leader_rotation(&[Apache, Apache, Apache]);
}

#[test]
fn leader_rotation_2_apache_1_zk_bin() {
    leader_rotation(&[Apache, Apache, ZkBin]);
}

#[test]
fn leader_rotation_1_apache_2_zk_bin() {
    leader_rotation(&[ZkBin, Apache, ZkBin]);
}

/// A 3-node Apache ensemble under load has each node stopped and started
/// again as `to`, myid 1 first (the fresh ensemble's leader, myid 3, last).
fn rolling(to: NodeKind) {
    if !can_run_or_skip(&[Apache, to]) {
        return;
    }
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::uniform(Apache, 3)) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(200, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let warm_up = writer.take_longest_gap();
    let mut longest = Duration::ZERO;
    for i in 0..3 {
        let was_leader = e.leader() == Some(i);
        e.replace(i, to).unwrap_or_else(|m| panic!("{m}"));
        let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
        writer
            .wait_for_more(200, TIMEOUT)
            .unwrap_or_else(|m| panic!("after replacing node {}: {m}\n{}", e.sid(i), e.describe()));
        let gap = writer.take_longest_gap();
        longest = longest.max(gap);
        println!(
            "node {} ({}) replaced by {to}; node {} ({}) leads; longest time without an ack \
             meanwhile {gap:?}",
            e.sid(i),
            if was_leader {
                "the leader"
            } else {
                "a follower"
            },
            e.sid(leader),
            e.kind(leader),
        );
    }
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "apache -> {to}, one node at a time on the same dataDirs: all {} acknowledged writes on \
         all 3 nodes; {} failed attempts; longest time without a leader (no write acknowledged) \
         during the migration {longest:?} (before it, under Apache alone: {warm_up:?})",
        report.acked.len(),
        report.failures,
    );
}

#[test]
fn rolling_restart_apache_to_apache() {
    rolling(Apache);
}

#[test]
fn rolling_migration_apache_to_zk_bin() {
    rolling(ZkBin);
}
