//! Quorum SASL (DIGEST-MD5) between zk-bin and Apache ZooKeeper 3.8 in
//! one ensemble, on loopback.
//!
//! Every node runs with `quorum.auth.enableSasl`, `learnerRequireSasl`
//! and `serverRequireSasl` all true and the JAAS file below (given as
//! `-Djava.security.auth.login.config` to the JVM, and in
//! `SERVER_JVMFLAGS` to zk-bin, as zkServer.sh passes it). For 1 zk-bin +
//! 2 Apache (an Apache leader) and 1 Apache + 2 zk-bin (a zk-bin leader):
//!
//! - they elect and replicate: a write through each node reads back on
//!   every node, so every election connection and every learner's
//!   connection to the leader authenticated;
//! - one node restarted with a QuorumLearner login whose password is
//!   wrong (`quorum.auth.learner.saslLoginContext=BadLearner`) is kept
//!   out: it never serves, the others keep serving writes, and the log of
//!   a zk-bin node that refused it names its sid.
//!
//! And the rolling enable 3.8's QuorumAuthUpgradeTest runs, on 2 zk-bin +
//! 1 Apache under a steady writer: every node restarted with
//! `enableSasl=true`, then also `learnerRequireSasl=true`, then also
//! `serverRequireSasl=true`; after each restart the ensemble serves again,
//! and no acknowledged write is lost.

use std::time::{Duration, Instant};

use integration::ensemble::{
    can_run_or_skip, Ensemble, EnsembleConfig, Mode, NodeKind, SteadyWriter,
};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(60);

/// How long the node with the wrong password is watched not serving.
const KEPT_OUT_FOR: Duration = Duration::from_secs(6);

const JAAS: &str = r#"
QuorumServer {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_zkpeer="quorum-secret";
};
QuorumLearner {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="zkpeer"
    password="quorum-secret";
};
BadLearner {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="zkpeer"
    password="not-the-secret";
};
"#;

/// Quorum SASL required everywhere.
const REQUIRED: &[(&str, &str)] = &[
    ("quorum.auth.enableSasl", "true"),
    ("quorum.auth.learnerRequireSasl", "true"),
    ("quorum.auth.serverRequireSasl", "true"),
];

/// An ensemble of `kinds` with `settings` on every node and the JAAS
/// file given to every node.
fn sasl_ensemble(kinds: &[NodeKind], settings: &[(&str, &str)]) -> Option<Ensemble> {
    if !can_run_or_skip(kinds) {
        return None;
    }
    let mut config = EnsembleConfig::new(kinds);
    config.extra_cfg = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut e = Ensemble::new_or_skip(config)?;
    let jaas = e.work_dir().join("jaas.conf");
    std::fs::write(&jaas, JAAS).unwrap();
    let flag = format!("-Djava.security.auth.login.config={}", jaas.display());
    for i in 0..e.len() {
        e.set_node_jvm_props(i, &[&flag]);
    }
    Some(e)
}

/// Elect and replicate with SASL, then keep out node `bad` (restarted
/// with the wrong password) while the others serve; `refuser` is a
/// zk-bin node whose log must name the refused sid.
fn elect_replicate_refuse(kinds: &[NodeKind], bad: usize, refuser: usize) {
    let Some(mut e) = sasl_ensemble(kinds, REQUIRED) else {
        return;
    };
    assert_eq!(
        e.kind(refuser),
        ZkBin,
        "the refusing node's log is zk-bin's"
    );
    let label: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    let label = label.join("+");
    let start = Instant::now();
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e
        .wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{label}: {m}\n{}", e.describe()));
    let checked = e
        .check_writes_everywhere("sasl")
        .unwrap_or_else(|m| panic!("{label}: {m}\n{}", e.describe()));
    assert_eq!(checked, 9, "every node's write on every node");
    println!(
        "{label} with quorum SASL: node {} ({}) leads; 3 writes read back on all 3 nodes ({:?})",
        e.sid(leader),
        e.kind(leader),
        start.elapsed()
    );
    // Both implementations log each side's success with this phrase.
    for i in 0..e.len() {
        let log = e.log_text(i);
        assert!(
            log.contains("Successfully completed the authentication using SASL"),
            "{label}: node {} ({}) authenticated nobody:\n{log}",
            e.sid(i),
            e.kind(i)
        );
    }

    let bad_sid = e.sid(bad);
    let refused = e
        .restart_kept_out(
            bad,
            refuser,
            ("quorum.auth.learner.saslLoginContext", "BadLearner"),
            TIMEOUT,
            KEPT_OUT_FOR,
        )
        .unwrap_or_else(|m| panic!("{label}: {m}"));
    let checked = e
        .check_writes_everywhere("while-refused")
        .unwrap_or_else(|m| panic!("{label}: {m}\n{}", e.describe()));
    assert_eq!(checked, 4, "the two good nodes' writes on both");
    assert!(
        !e.log_text(refuser).contains("not-the-secret")
            && !e.log_text(refuser).contains("quorum-secret"),
        "a password was logged"
    );
    println!(
        "{label}: node {bad_sid} ({}) with the wrong QuorumLearner password kept out for {KEPT_OUT_FOR:?} \
         (node {} logged \"{}\"); the other two serve writes ({:?} in all)",
        e.kind(bad),
        e.sid(refuser),
        refused.trim(),
        start.elapsed()
    );
}

#[test]
fn one_zk_bin_two_apache() {
    // Apache myid 3 leads, so zk-bin authenticates to an Apache leader;
    // then myid 3 comes back with the wrong password: zk-bin (myid 1)
    // refuses its election connection, and zk-bin follows Apache myid 2.
    elect_replicate_refuse(&[ZkBin, Apache, Apache], 2, 0);
}

#[test]
fn one_apache_two_zk_bin() {
    // zk-bin myid 3 leads, so Apache authenticates to a zk-bin leader;
    // then myid 3 comes back with the wrong password: the Apache node and
    // zk-bin myid 2 refuse it, and Apache follows zk-bin myid 2.
    elect_replicate_refuse(&[Apache, ZkBin, ZkBin], 2, 1);
}

#[test]
fn rolling_enable_loses_no_acknowledged_write() {
    // Apache has the highest myid, so it leads while zk-bin restarts and
    // a zk-bin node leads while it does: both sides run each phase as
    // leader and as learner.
    let kinds = [ZkBin, ZkBin, Apache];
    let Some(mut e) = sasl_ensemble(&kinds, &[]) else {
        return;
    };
    let start = Instant::now();
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(20, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    for (phase, settings) in [&REQUIRED[..1], &REQUIRED[..2], REQUIRED]
        .iter()
        .enumerate()
    {
        for i in 0..e.len() {
            e.stop(i).unwrap_or_else(|m| panic!("{m}"));
            for (k, v) in *settings {
                e.set_node_cfg(i, k, v);
            }
            e.start(i).unwrap_or_else(|m| panic!("{m}"));
            let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| {
                panic!("phase {phase}, node {}: {m}\n{}", e.sid(i), e.describe())
            });
            let deadline = Instant::now() + TIMEOUT;
            while (0..e.len()).any(|j| e.mode(j) == Mode::NotServing) {
                assert!(
                    Instant::now() < deadline,
                    "not all serving\n{}",
                    e.describe()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            writer.wait_for_more(10, TIMEOUT).unwrap_or_else(|m| {
                panic!(
                    "phase {phase}, after node {}: {m}\n{}",
                    e.sid(i),
                    e.describe()
                )
            });
            println!(
                "phase {phase} {settings:?}: node {} ({}) restarted; node {} ({}) leads",
                e.sid(i),
                e.kind(i),
                e.sid(leader),
                e.kind(leader)
            );
        }
    }
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    for i in 0..e.len() {
        assert!(
            e.log_text(i)
                .contains("Successfully completed the authentication using SASL"),
            "node {} ({}) authenticated nobody in the last phase",
            e.sid(i),
            e.kind(i)
        );
    }
    println!(
        "rolling enable of quorum SASL on zk-bin+zk-bin+apache: {} acknowledged writes all present ({:?})",
        report.acked.len(),
        start.elapsed()
    );
}
