//! zkCli's `config` and `reconfig` (`-add`, `-remove`, `-members`,
//! `-file`) on a 3-node ensemble with `reconfigEnabled=true`: Apache 3.8
//! as the control (its answers spot-checked), and zk-bin, whose answers
//! must equal Apache's on the same shape with ports and paths normalised
//! (issue 13's second acceptance line).
//!
//! The script adds an observer that never runs (as kazoo's
//! `test_add_remove_observer` does: its ports are free, so connecting to
//! it is refused at once), removes it, sets the same members again with
//! `-members`, then adds the observer back from a `-file`. Each step's
//! new config is what zkCli prints; `config` reads `/zookeeper/config`.
//! Without Java or Debian's ZooKeeper the tests print `skipped: ...`.

use std::time::Duration;

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, NodeKind};
use integration::ports::free_port_except;
use integration::zkcli;

const TIMEOUT: Duration = Duration::from_secs(90);

/// zkCli's normalised answers to the script on a fresh 3-node ensemble
/// of `kind`, with the dynamic config files every node ends with.
fn session(zk: &ApacheZk, kind: NodeKind) -> Option<(Vec<String>, Vec<String>)> {
    let mut e = Ensemble::new_or_skip(EnsembleConfig::reconfig(&[kind; 3]))?;
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let mut ports = e.ports();
    let mut extra = Vec::new();
    for _ in 0..3 {
        let p = free_port_except(&ports).unwrap();
        ports.push(p);
        extra.push(p);
    }
    let observer = format!(
        "server.4=127.0.0.1:{}:{}:observer;127.0.0.1:{}",
        extra[0], extra[1], extra[2]
    );
    let members: Vec<String> = (0..3).map(|i| e.reconfig_line(i)).collect();
    let file = e.work_dir().join("members.cfg");
    std::fs::write(&file, format!("{}\n{observer}\n", members.join("\n"))).unwrap();
    let script = format!(
        "addauth digest super:test\n\
         config\n\
         reconfig -add {observer}\n\
         config\n\
         reconfig -remove 4\n\
         reconfig -members {}\n\
         reconfig -file {}\n\
         config\n\
         quit\n",
        members.join(","),
        file.display()
    );
    let out = zkcli::run(zk, e.work_dir(), &e.connect_string(leader), &script, &[])
        .unwrap_or_else(|m| panic!("{m}"));
    println!("--- zkCli against {kind} ---\n{out}");
    let work = e.work_dir().display().to_string();
    let answers = zkcli::normalise(&zkcli::answers(&out), &ports, &[(&work, "WORK")]);
    // Every node must come to the last config: wait for its dynamic file
    // of that version, then take every node's files (names and contents).
    let want = answers
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("version="))
        .map(|v| format!("zoo.cfg.dynamic.{v}"))
        .unwrap_or_else(|| panic!("no version in zkCli's answers:\n{out}"));
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !(0..3).all(|i| {
        e.dynamic_config_files(i)
            .last()
            .is_some_and(|(name, _)| *name == want)
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "not every node wrote {want}:\n{}",
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let files: Vec<String> = (0..3)
        .flat_map(|i| e.dynamic_config_files(i))
        .map(|(name, text)| zkcli::normalise(&[format!("{name}\n{text}")], &ports, &[]).remove(0))
        .collect();
    Some((answers, files))
}

fn find_zk() -> Option<ApacheZk> {
    match ApacheZk::find() {
        Ok(zk) => Some(zk),
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            None
        }
    }
}

/// The control: Apache's answers are what 3.8's zkCli prints for each step.
fn check_apache_answers(answers: &[String]) {
    let text = answers.join("\n");
    for expected in [
        "Committed new configuration:",
        "server.4=127.0.0.1:P",
        ":observer;127.0.0.1:P",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    // Seven configs printed (three `config`, four reconfigs; -remove's
    // and -members' lack server.4), each ending with its version.
    let versions = answers.iter().filter(|l| l.starts_with("version=")).count();
    assert_eq!(versions, 7, "{text}");
}

#[test]
fn zkcli_reconfig_against_apache_ensemble() {
    let Some(zk) = find_zk() else { return };
    let Some((answers, files)) = session(&zk, NodeKind::Apache) else {
        return;
    };
    check_apache_answers(&answers);
    println!("Apache's answers:\n{}", answers.join("\n"));
    println!("Apache's dynamic files:\n{}", files.join("\n--\n"));
}

#[test]
fn zkcli_reconfig_gives_the_same_answers_from_zk_bin_as_from_apache() {
    let Some(zk) = find_zk() else { return };
    let Some((theirs, their_files)) = session(&zk, NodeKind::Apache) else {
        return;
    };
    check_apache_answers(&theirs);
    let Some((ours, our_files)) = session(&zk, NodeKind::ZkBin) else {
        return;
    };
    assert_eq!(
        ours,
        theirs,
        "zkCli answered differently.\n--- zk-bin ---\n{}\n--- Apache ---\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
    assert_eq!(our_files, their_files, "the dynamic config files differ");
}
