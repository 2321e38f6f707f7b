//! Dynamic reconfiguration driven by an Apache ZooKeeper 3.8 leader with a
//! zk-bin node following (2 Apache + 1 zk-bin, `reconfigEnabled=true`,
//! `skipACL=yes` so that zkCli may reconfig without super).
//!
//! With Apache's zkCli on the leader: `reconfig -remove` the zk-bin node,
//! `reconfig -add` it back, then `reconfig -remove` an Apache follower.
//! After each step every running node's `config` shows the leader's
//! version (the zk-bin node took the COMMITANDACTIVATE it used to drop),
//! and at the end the zk-bin node's `zoo.cfg.dynamic.<version>` is byte
//! for byte the Apache leader's. Prints `skipped: ...` without Java or
//! Debian's ZooKeeper.

use std::path::Path;
use std::time::{Duration, Instant};

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, NodeKind};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(90);

/// zkCli's answer to `script` (commands, one a line) on node `i`.
fn zk_cli(zk: &ApacheZk, e: &Ensemble, i: usize, script: &str) -> String {
    let path = e.work_dir().join("zkcli-script.txt");
    std::fs::write(&path, format!("{script}\nquit\n")).unwrap();
    zk.zk_cli(&e.connect_string(i), &path, Duration::from_secs(60))
        .unwrap_or_else(|m| panic!("{m}"))
}

/// The `server.N` and `version=` lines of zkCli's `config` on node `i`.
fn config_of(zk: &ApacheZk, e: &Ensemble, i: usize) -> Vec<String> {
    zk_cli(zk, e, i, "config")
        .lines()
        .filter(|l| l.starts_with("server.") || l.starts_with("version="))
        .map(str::to_string)
        .collect()
}

/// Waits until every running node's `config` equals the leader's and has
/// version `want` (hex, as zkCli prints it).
fn wait_same_config(zk: &ApacheZk, e: &Ensemble, running: &[usize], leader: usize) -> Vec<String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let theirs = config_of(zk, e, leader);
        let all: Vec<Vec<String>> = running.iter().map(|&i| config_of(zk, e, i)).collect();
        if all.iter().all(|c| *c == theirs) && !theirs.is_empty() {
            return theirs;
        }
        assert!(
            Instant::now() < deadline,
            "configs differ: leader {theirs:?}, nodes {all:?}\n{}",
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The `<zoo.cfg>.dynamic.<version>` file next to node `i`'s zoo.cfg
/// (the harness names an Apache node's zoo.cfg `zoo-<client port>.cfg`).
fn dynamic_file(e: &Ensemble, i: usize, version: &str) -> Option<Vec<u8>> {
    let dir = e.data_dir(i).parent().unwrap();
    let cfg = match e.kind(i) {
        Apache => format!("zoo-{}.cfg", e.client_addr(i).port()),
        ZkBin => "zoo.cfg".to_string(),
    };
    std::fs::read(dir.join(format!("{cfg}.dynamic.{version}"))).ok()
}

fn version_of(config: &[String]) -> String {
    config
        .iter()
        .find_map(|l| l.strip_prefix("version="))
        .expect("config has a version")
        .to_string()
}

#[test]
fn apache_leader_removes_and_adds_a_zk_bin_follower() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    // zk-bin is myid 1: with every zxid equal the election picks the
    // highest myid, an Apache node.
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::new(&[ZkBin, Apache, Apache])) else {
        return;
    };
    for i in 0..3 {
        e.set_node_cfg(i, "reconfigEnabled", "true");
        e.set_node_cfg(i, "skipACL", "yes");
    }
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(e.kind(leader), Apache, "{}", e.describe());
    let initial = wait_same_config(&zk, &e, &[0, 1, 2], leader);
    println!("initial config: {initial:?}");

    let out = zk_cli(&zk, &e, leader, "reconfig -remove 1");
    println!("reconfig -remove 1:\n{out}");
    let removed = wait_same_config(&zk, &e, &[0, 1, 2], leader);
    assert!(
        !removed.iter().any(|l| l.starts_with("server.1=")),
        "{removed:?}"
    );
    println!("after -remove 1 (every node): {removed:?}");

    // 3.8 wants a joiner's client address (all three ports).
    let line = format!(
        "{};{}",
        initial
            .iter()
            .find(|l| l.starts_with("server.1="))
            .expect("server.1 in the initial config"),
        e.client_addr(0)
    );
    let out = zk_cli(&zk, &e, leader, &format!("reconfig -add {line}"));
    println!("reconfig -add {line} ->\n{out}");
    let added = wait_same_config(&zk, &e, &[0, 1, 2], leader);
    assert!(
        added.iter().any(|l| l.starts_with("server.1=")),
        "{added:?}"
    );
    println!("after -add 1 (every node): {added:?}");

    let other = (1..3).find(|&i| i != leader).unwrap();
    let sid = e.sid(other);
    let out = zk_cli(&zk, &e, leader, &format!("reconfig -remove {sid}"));
    println!("reconfig -remove {sid}:\n{out}");
    let last = wait_same_config(&zk, &e, &[0, leader], leader);
    assert!(!last
        .iter()
        .any(|l| l.starts_with(&format!("server.{sid}="))));
    println!("after -remove {sid} (nodes 1 and leader): {last:?}");

    let version = version_of(&last);
    let theirs = dynamic_file(&e, leader, &version).expect("the Apache leader's dynamic file");
    let ours = dynamic_file(&e, 0, &version).unwrap_or_else(|| {
        panic!(
            "zk-bin wrote no zoo.cfg.dynamic.{version} in {}",
            Path::new(e.data_dir(0)).parent().unwrap().display()
        )
    });
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs),
        "dynamic files differ"
    );
    println!(
        "zoo.cfg.dynamic.{version} identical on zk-bin and the Apache leader:\n{}",
        String::from_utf8_lossy(&ours)
    );
    let zoo_cfg = std::fs::read_to_string(e.data_dir(0).parent().unwrap().join("zoo.cfg")).unwrap();
    assert!(
        zoo_cfg.contains("dynamicConfigFile=") && !zoo_cfg.contains("\nserver."),
        "zk-bin's zoo.cfg was not edited to point at the dynamic file:\n{zoo_cfg}"
    );
    println!("zk-bin's zoo.cfg after the reconfigs:\n{zoo_cfg}");

    // The harness writes zoo.cfg afresh at each start (the old membership),
    // so this restart checks that the node learns the new config in the
    // sync (NEWLEADER, activated at UPTODATE), not that it reads its file.
    e.restart(0).unwrap_or_else(|m| panic!("{m}"));
    let after = wait_same_config(&zk, &e, &[0, leader], leader);
    assert_eq!(after, last);
    println!("zk-bin restarted, rejoined with {after:?}");
    e.check_alive().unwrap_or_else(|m| panic!("{m}"));
}

/// `standaloneEnabled=false` with one server: it runs as the leader of a
/// one-member ensemble (srvr says `Mode: leader`), as Apache 3.8 does,
/// and keeps zoo.cfg's original as zoo.cfg.bak (reconfigEnabled).
#[test]
fn one_server_without_standalone_leads_as_apache_does() {
    for kind in [Apache, ZkBin] {
        let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::new(&[kind])) else {
            return;
        };
        e.set_node_cfg(0, "standaloneEnabled", "false");
        e.set_node_cfg(0, "reconfigEnabled", "true");
        e.start_all().unwrap_or_else(|m| panic!("{m}"));
        let (leader, took) = e.wait_for_leader(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(leader, 0);
        let srvr = e.four_letter(0, "srvr").unwrap_or_else(|m| panic!("{m}"));
        assert!(srvr.contains("Mode: leader"), "{kind}: {srvr}");
        println!("{kind}: one server with standaloneEnabled=false leads after {took:?}");
        if kind == ZkBin {
            let bak = e.data_dir(0).parent().unwrap().join("zoo.cfg.bak");
            assert!(bak.exists(), "no {}", bak.display());
        }
    }
}
