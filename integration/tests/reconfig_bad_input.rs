//! Reconfigs 3.8 refuses, by zkCli, on a 3-node ensemble with
//! `reconfigEnabled=true` (issue 13's bad-input acceptance line): one by a
//! client without permission (no `super` auth: NOAUTH on
//! `/zookeeper/config`), one that would leave no quorum (three joining
//! participants that do not run: the leader has no quorum of the new
//! config synced, NEWCONFIGNOQUORUM), a malformed server string
//! (BADARGUMENTS), and a stale `-v` fromConfig (BADVERSION). 3.8's error
//! as zkCli prints it, then the config unchanged on every node (`config`
//! from each, and no dynamic file written).
//!
//! Apache 3.8 is the control; the zk-bin variant must print the same
//! answers (ports normalised). Without Java or Debian's ZooKeeper the
//! tests print `skipped: ...`.

use std::time::Duration;

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, NodeKind};
use integration::ports::free_port_except;
use integration::zkcli;

const TIMEOUT: Duration = Duration::from_secs(90);

/// The answers to the bad reconfigs, and each node's `config` afterwards,
/// normalised; panics unless the config stayed as it was on every node.
fn session(zk: &ApacheZk, kind: NodeKind) -> Option<Vec<String>> {
    let mut e = Ensemble::new_or_skip(EnsembleConfig::reconfig(&[kind; 3]))?;
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let mut ports = e.ports();
    let mut joining = Vec::new();
    for sid in 4..=6 {
        let mut p = [0u16; 3];
        for slot in &mut p {
            *slot = free_port_except(&ports).unwrap();
            ports.push(*slot);
        }
        joining.push(format!(
            "server.{sid}=127.0.0.1:{}:{}:participant;127.0.0.1:{}",
            p[0], p[1], p[2]
        ));
    }
    let before: Vec<_> = (0..3).map(|i| e.dynamic_config_files(i)).collect();
    let script = format!(
        "reconfig -remove 3\n\
         addauth digest super:test\n\
         reconfig -add {}\n\
         reconfig -add server.5=not:a:server:line\n\
         reconfig -add garbage\n\
         reconfig -v 0 -remove 3\n\
         config\n\
         quit\n",
        joining.join(",")
    );
    let out = zkcli::run(zk, e.work_dir(), &e.connect_string(leader), &script, &[])
        .unwrap_or_else(|m| panic!("{m}"));
    println!("--- zkCli against {kind} ---\n{out}");
    let mut answers = zkcli::normalise(&zkcli::answers(&out), &ports, &[]);
    // Every node still has the first config: `config` from each, and the
    // dynamic files as they were.
    for (i, before) in before.iter().enumerate() {
        let out = zkcli::run(
            zk,
            e.work_dir(),
            &e.connect_string(i),
            "config\nquit\n",
            &[],
        )
        .unwrap_or_else(|m| panic!("{m}"));
        let config = zkcli::normalise(&zkcli::answers(&out), &ports, &[]);
        answers.push(format!("node {}:", e.sid(i)));
        answers.extend(config);
        assert_eq!(
            &e.dynamic_config_files(i),
            before,
            "node {}'s dynamic config files changed",
            e.sid(i)
        );
    }
    Some(answers)
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

/// The control: 3.8's errors, and the first config (version 100000000,
/// the three members) on every node.
fn check_apache_answers(answers: &[String]) {
    let text = answers.join("\n");
    // zkCli's words for NOAUTH, NEWCONFIGNOQUORUM, BADARGUMENTS (twice:
    // a server line with a bad address, and no server line at all) and
    // BADVERSION, in the script's order.
    let errors: Vec<&str> = answers
        .iter()
        .map(String::as_str)
        .filter(|l| {
            !l.starts_with("server.") && !l.starts_with("version=") && !l.starts_with("Welcome")
        })
        .take(5)
        .collect();
    assert_eq!(
        errors,
        [
            "Insufficient permission :",
            "No quorum of new config is connected and up-to-date with the leader of last \
             committed config - try invoking reconfiguration after new servers are connected \
             and synced",
            "Arguments are not valid :",
            "Arguments are not valid :",
            "version No is not valid :",
        ],
        "{text}"
    );
    assert!(!text.contains("Committed new configuration"), "{text}");
    let versions: Vec<&String> = answers
        .iter()
        .filter(|l| l.starts_with("version="))
        .collect();
    assert_eq!(versions.len(), 4, "{text}");
    assert!(versions.iter().all(|v| *v == "version=100000000"), "{text}");
}

#[test]
fn bad_reconfigs_are_refused_by_apache() {
    let Some(zk) = find_zk() else { return };
    let Some(answers) = session(&zk, NodeKind::Apache) else {
        return;
    };
    check_apache_answers(&answers);
    println!("Apache's answers:\n{}", answers.join("\n"));
}

#[test]
fn bad_reconfigs_are_refused_by_zk_bin_as_by_apache() {
    let Some(zk) = find_zk() else { return };
    let Some(theirs) = session(&zk, NodeKind::Apache) else {
        return;
    };
    check_apache_answers(&theirs);
    let Some(ours) = session(&zk, NodeKind::ZkBin) else {
        return;
    };
    assert_eq!(
        ours,
        theirs,
        "zkCli answered differently.\n--- zk-bin ---\n{}\n--- Apache ---\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
}
