//! One server with `standaloneEnabled=false` grown into a 3-node ensemble
//! by reconfig, as 3.8 supports (issue 13's deliver point 5): node 1
//! starts alone (`reconfigEnabled=true`, `standaloneEnabled=false`) and
//! leads; node 2, whose zoo.cfg lists node 1 and itself, starts and
//! learns the leader; `reconfig -add` makes it a member; then node 3 the
//! same way. A steady writer runs from the start; after each step every
//! node has the same newest dynamic config file, and at the end every
//! acknowledged write (those before the growth included) is on every node.
//!
//! Apache 3.8 is the control for the zk-bin variant. Without Java or
//! Debian's ZooKeeper the tests print `skipped: ...`.

use std::time::Duration;

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, Mode, NodeKind, SteadyWriter};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(60);

fn grow_from_one(kind: NodeKind) {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let mut cfg = EnsembleConfig::reconfig(&[kind]);
    cfg.extra_cfg
        .push(("standaloneEnabled".to_string(), "false".to_string()));
    let Some(mut e) = Ensemble::new_or_skip(cfg) else {
        return;
    };
    let joiners: Vec<usize> = (0..2)
        .map(|_| e.add_node(kind, false).unwrap_or_else(|m| panic!("{m}")))
        .collect();
    e.start(0).unwrap_or_else(|m| panic!("{m}"));
    e.wait_mode(0, Mode::Leader, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    let writer = SteadyWriter::start(&e.connect_string_every_node(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    let before = writer.acked_count();

    let mut steps = Vec::new();
    for &j in &joiners {
        e.start(j).unwrap_or_else(|m| panic!("{m}"));
        e.wait_learning(j, TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}"));
        let config = e
            .zkcli_reconfig(&zk, &format!("-add {}", e.reconfig_line(j)), TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        e.set_member(j, true);
        let (name, text) = e
            .wait_same_dynamic_config(TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        assert!(
            text.contains(&format!("server.{}=", e.sid(j))),
            "{name} lacks node {}: {text}",
            e.sid(j)
        );
        e.wait_mode(j, Mode::Follower, TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}"));
        writer
            .wait_for_more(50, TIMEOUT)
            .unwrap_or_else(|m| panic!("after adding node {}: {m}\n{}", e.sid(j), e.describe()));
        steps.push(format!(
            "+node {} -> {name} ({})",
            e.sid(j),
            config.last().map_or("", String::as_str)
        ));
    }
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{kind}: one server (standaloneEnabled=false) grown to 3: {}; leader node {}; all {} \
         acknowledged writes ({before} before the growth) on every node ({} failed attempts, \
         longest gap {:?})",
        steps.join(", "),
        e.sid(leader),
        report.acked.len(),
        report.failures,
        report.longest_gap
    );
}

#[test]
fn one_apache_server_grows_into_an_ensemble() {
    grow_from_one(Apache);
}

#[test]
fn one_zk_bin_server_grows_into_an_ensemble() {
    grow_from_one(ZkBin);
}
