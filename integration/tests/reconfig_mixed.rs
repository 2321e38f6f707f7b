//! Reconfig across implementations (issue 13's mixed-ensemble line): a
//! 3-node ensemble of one kind (so its leader is of that kind) adds a
//! node of the other kind by `reconfig -add`, then removes it by
//! `reconfig -remove`, under a steady writer. After each change every
//! running node has the same newest dynamic config file (name, so version,
//! and contents), and a node restarted after the change (the added node
//! after the add, a follower after the remove) rejoins in the new
//! membership. At the end every acknowledged write is on every node.
//!
//! Apache leader adding an Apache node is the control; the other two mix
//! the implementations both ways. Without Java or Debian's ZooKeeper the tests print
//! `skipped: ...`.

use std::time::Duration;

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, Mode, NodeKind, SteadyWriter};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until every running node has the same newest dynamic file and
/// returns its name; `must_name` nodes (by index) must be in it, `must_not`
/// not.
fn same_config(e: &Ensemble, must_name: &[usize], must_not: &[usize]) -> String {
    let (name, text) = e
        .wait_same_dynamic_config(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    for &i in must_name {
        // The original members' lines carry no client address (zoo.cfg
        // had none); the added node's does.
        let line = e.reconfig_line(i);
        let member = line.split(';').next().unwrap_or(&line);
        assert!(
            text.lines().any(|l| l.starts_with(member)),
            "{name} lacks node {}: {text}",
            e.sid(i)
        );
    }
    for &i in must_not {
        assert!(
            !text.contains(&format!("server.{}=", e.sid(i))),
            "{name} still names node {}: {text}",
            e.sid(i)
        );
    }
    name
}

fn add_and_remove(base: NodeKind, joiner: NodeKind) {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::reconfig(&[base; 3])) else {
        return;
    };
    let new = e.add_node(joiner, false).unwrap_or_else(|m| panic!("{m}"));
    for i in 0..3 {
        e.start(i).unwrap_or_else(|m| panic!("{m}"));
    }
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(e.kind(leader), base);
    let writer = SteadyWriter::start(&e.connect_string_every_node(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));

    // Add the other kind's node; restart it; it comes back a follower.
    e.start(new).unwrap_or_else(|m| panic!("{m}"));
    e.wait_learning(new, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    e.zkcli_reconfig(&zk, &format!("-add {}", e.reconfig_line(new)), TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.set_member(new, true);
    let added = same_config(&e, &[0, 1, 2, new], &[]);
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    e.restart(new).unwrap_or_else(|m| panic!("{m}"));
    e.wait_learning(new, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(e.mode(new), Mode::Follower, "{}", e.describe());
    assert_eq!(same_config(&e, &[0, 1, 2, new], &[]), added);
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("after node {} restarted: {m}", e.sid(new)));
    println!(
        "{base} leader node {} added {joiner} node {}: every node has {added}; it rejoined \
         after a restart",
        e.sid(leader),
        e.sid(new)
    );

    // Remove it again; restart a follower of the base kind.
    e.zkcli_reconfig(&zk, &format!("-remove {}", e.sid(new)), TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.set_member(new, false);
    e.stop(new).unwrap_or_else(|m| panic!("{m}"));
    let removed = same_config(&e, &[0, 1, 2], &[new]);
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let follower = (0..3).find(|&i| i != leader).expect("3 members");
    e.restart(follower).unwrap_or_else(|m| panic!("{m}"));
    e.wait_learning(follower, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(same_config(&e, &[0, 1, 2], &[new]), removed);
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("after the remove: {m}\n{}", e.describe()));
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{base} leader node {} removed {joiner} node {}: every node has {removed}; node {} \
         rejoined after a restart; all {} acknowledged writes on every node ({} failed \
         attempts, longest time without an ack {:?})",
        e.sid(leader),
        e.sid(new),
        e.sid(follower),
        report.acked.len(),
        report.failures,
        report.longest_gap
    );
}

#[test]
fn an_apache_leader_adds_and_removes_an_apache_node() {
    add_and_remove(Apache, Apache);
}

#[test]
fn an_apache_leader_adds_and_removes_a_zk_bin_node() {
    add_and_remove(Apache, ZkBin);
}

#[test]
fn a_zk_bin_leader_adds_and_removes_an_apache_node() {
    add_and_remove(ZkBin, Apache);
}
