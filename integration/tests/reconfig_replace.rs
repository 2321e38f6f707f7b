//! Replace every member of a running 3-node ensemble one at a time by
//! reconfig (issue 13): start a new node whose zoo.cfg lists the members
//! and itself, `reconfig -add` it, `reconfig -remove` an old one and stop
//! that, under a steady writer whose connect string names all six nodes.
//! No acknowledged write may be lost (all on every new node at the end),
//! every node ends with the same dynamic config file, and the longest
//! time without an acknowledged write (no leader: removing the leader
//! hands leadership over) is printed.
//!
//! Apache 3.8 is the control for the zk-bin variant.
//! Without Java or Debian's ZooKeeper the tests print `skipped: ...`.

use std::time::Duration;

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, NodeKind, SteadyWriter};

const TIMEOUT: Duration = Duration::from_secs(60);

fn replace_every_member(kind: NodeKind) {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::reconfig(&[kind; 3])) else {
        return;
    };
    // The new nodes' ports first, so that the writer can follow them.
    let new: Vec<usize> = (0..3)
        .map(|_| e.add_node(kind, false).unwrap_or_else(|m| panic!("{m}")))
        .collect();
    for i in 0..3 {
        e.start(i).unwrap_or_else(|m| panic!("{m}"));
    }
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let writer = SteadyWriter::start(&e.connect_string_every_node(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    let mut longest = Duration::ZERO;
    for (old, &new) in new.iter().enumerate() {
        let _ = writer.take_longest_gap();
        e.start(new).unwrap_or_else(|m| panic!("{m}"));
        e.wait_learning(new, TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}"));
        let added = e
            .zkcli_reconfig(&zk, &format!("-add {}", e.reconfig_line(new)), TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        e.set_member(new, true);
        let leader_before = e.leader();
        let removed = e
            .zkcli_reconfig(&zk, &format!("-remove {}", e.sid(old)), TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        e.set_member(old, false);
        e.stop(old).unwrap_or_else(|m| panic!("{m}"));
        let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
        writer.wait_for_more(50, TIMEOUT).unwrap_or_else(|m| {
            panic!("after replacing node {}: {m}\n{}", e.sid(old), e.describe())
        });
        let gap = writer.take_longest_gap();
        longest = longest.max(gap);
        println!(
            "{kind}: node {} replaced by node {} (leader was node {}, now node {}); added \
             {}, removed {}; longest time without an ack {gap:?}",
            e.sid(old),
            e.sid(new),
            leader_before.map_or(0, |l| e.sid(l)),
            e.sid(leader),
            added.last().map_or("?", String::as_str),
            removed.last().map_or("?", String::as_str),
        );
    }
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let (name, text) = e
        .wait_same_dynamic_config(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    for &i in &new {
        assert!(
            text.contains(&e.reconfig_line(i)),
            "{name} lacks node {}: {text}",
            e.sid(i)
        );
    }
    println!(
        "{kind}: every member replaced; all {} acknowledged writes on the new nodes ({} failed \
         attempts); every node has {name}; longest time without an ack {longest:?}",
        report.acked.len(),
        report.failures
    );
}

#[test]
fn replace_every_member_of_an_apache_ensemble_by_reconfig() {
    replace_every_member(NodeKind::Apache);
}

#[test]
fn replace_every_member_of_a_zk_bin_ensemble_by_reconfig() {
    replace_every_member(NodeKind::ZkBin);
}
