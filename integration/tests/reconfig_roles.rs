//! A participant becomes an observer and then a participant again by
//! reconfig (issue 13's "participants become observers and back"):
//! `reconfig -add server.N=...:observer;...` of a running follower, then
//! the same line with `:participant`, on a 3-node ensemble under a steady
//! writer. After each step every node has the same newest dynamic config
//! file and the node serves in its new role (`srvr`'s Mode); at the end no
//! acknowledged write is lost.
//!
//! Variants: all Apache (the control), all zk-bin, and an Apache leader
//! with the zk-bin follower changing roles. Without Java or Debian's
//! ZooKeeper the tests print `skipped: ...`.

use std::time::{Duration, Instant};

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, Mode, NodeKind, SteadyWriter};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until every running node's newest dynamic file is the same and
/// names node `i` with `role`; returns the file's name.
fn same_config_with_role(e: &Ensemble, i: usize, role: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (name, text) = e
            .wait_same_dynamic_config(TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        let prefix = format!("server.{}=", e.sid(i));
        let line = text.lines().find(|l| l.starts_with(&prefix));
        if line.is_some_and(|l| l.contains(&format!(":{role}"))) {
            return name;
        }
        assert!(
            Instant::now() < deadline,
            "{name} does not make node {} {role}: {text}\n{}",
            e.sid(i),
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn observer_and_back(kinds: [NodeKind; 3], leader_kind: NodeKind, changing: NodeKind) {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::reconfig(&kinds)) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(e.kind(leader), leader_kind, "{}", e.describe());
    let m = (0..3)
        .find(|&i| i != leader && e.kind(i) == changing)
        .unwrap_or_else(|| panic!("no {changing} follower\n{}", e.describe()));
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));

    // The harness learns the new role once it is committed (its
    // wait_serving expects the roles it knows).
    let observer_line = e.reconfig_line(m).replace(":participant;", ":observer;");
    e.zkcli_reconfig(&zk, &format!("-add {observer_line}"), TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.set_observer(m, true);
    let as_observer = same_config_with_role(&e, m, "observer");
    e.wait_mode(m, Mode::Observer, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("as an observer: {m}\n{}", e.describe()));
    let gap_observer = writer.take_longest_gap();

    let participant_line = e.reconfig_line(m).replace(":observer;", ":participant;");
    e.zkcli_reconfig(&zk, &format!("-add {participant_line}"), TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.set_observer(m, false);
    let as_participant = same_config_with_role(&e, m, "participant");
    e.wait_mode(m, Mode::Follower, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    let leader_now = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("as a participant again: {m}\n{}", e.describe()));
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{leader_kind} leader node {}: {changing} node {} observer ({as_observer}, longest gap \
         {gap_observer:?}) then participant ({as_participant}), leader now node {}; all {} \
         acknowledged writes on every node ({} failed attempts, longest gap {:?})",
        e.sid(leader),
        e.sid(m),
        e.sid(leader_now),
        report.acked.len(),
        report.failures,
        report.longest_gap
    );
}

#[test]
fn an_apache_follower_becomes_an_observer_and_back() {
    observer_and_back([Apache; 3], Apache, Apache);
}

#[test]
fn a_zk_bin_follower_becomes_an_observer_and_back() {
    observer_and_back([ZkBin; 3], ZkBin, ZkBin);
}

#[test]
fn a_zk_bin_follower_of_an_apache_leader_becomes_an_observer_and_back() {
    // The largest sid leads a fresh ensemble: node 3, Apache.
    observer_and_back([ZkBin, Apache, Apache], Apache, ZkBin);
}
