//! Quorum SASL with Kerberos (GSSAPI), on a KDC of the test's own
//! (integration::kdc; `SKIPPED` without krb5-kdc): every node logs in as
//! `zkquorum/127.0.0.1` from one keytab, as 3.8's quorum Kerberos tests
//! share one principal, and asks for `zkquorum/_HOST`, `_HOST` being the
//! peer's `server.N` host. Required on both sides, the ensemble elects and
//! replicates, so each election and learner connection authenticated by
//! Kerberos and the peer's host was among the ensemble's hosts.

use std::time::{Duration, Instant};

use integration::ensemble::{can_run_or_skip, Ensemble, EnsembleConfig, NodeKind};
use integration::kdc::Kdc;

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(60);
/// How long the node with the intruder's credentials is watched not serving.
const KEPT_OUT_FOR: Duration = Duration::from_secs(6);

/// Node `bad` is restarted logging in as `zkquorum/intruder.example`, a
/// principal the KDC vouches for but of a host outside the ensemble:
/// 3.8's quorum handler refuses it, and so must zk-bin's (node `refuser`,
/// whose log names the refused sid).
struct Intruder {
    bad: usize,
    refuser: usize,
}

fn kerberos_quorum(kinds: &[NodeKind], intruder: Option<Intruder>) {
    if let Err(why) = Kdc::available() {
        println!("SKIPPED: {why}");
        return;
    }
    if !can_run_or_skip(kinds) {
        return;
    }
    let kdc = Kdc::start("QUORUM.EXAMPLE").unwrap_or_else(|e| panic!("{e}"));
    let keytab = kdc
        .add_principal("zkquorum/127.0.0.1", "zkquorum.keytab")
        .unwrap_or_else(|e| panic!("{e}"));
    let principal = kdc.principal("zkquorum/127.0.0.1");
    let section = |name: &str, initiator: bool| {
        format!(
            "{name} {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  \
             useKeyTab=true keyTab=\"{}\" storeKey=true useTicketCache=false\n  \
             isInitiator={initiator} principal=\"{principal}\";\n}};\n",
            keytab.display()
        )
    };
    let intruder_keytab = kdc
        .add_principal("zkquorum/intruder.example", "intruder.keytab")
        .unwrap_or_else(|e| panic!("{e}"));
    let bad_learner = format!(
        "BadLearner {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  \
         useKeyTab=true keyTab=\"{}\" storeKey=true useTicketCache=false\n  \
         isInitiator=true principal=\"{}\";\n}};\n",
        intruder_keytab.display(),
        kdc.principal("zkquorum/intruder.example")
    );
    let jaas = kdc.join("jaas.conf");
    std::fs::write(
        &jaas,
        section("QuorumServer", false) + &section("QuorumLearner", true) + &bad_learner,
    )
    .unwrap();
    let mut config = EnsembleConfig::new(kinds);
    config.extra_cfg = [
        ("quorum.auth.enableSasl", "true"),
        ("quorum.auth.learnerRequireSasl", "true"),
        ("quorum.auth.serverRequireSasl", "true"),
        ("quorum.auth.kerberos.servicePrincipal", "zkquorum/_HOST"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    config.zk_bin_env = kdc
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string_lossy().to_string()))
        .collect();
    config.apache_jvm_props = kdc.java_props();
    let Some(mut e) = Ensemble::new_or_skip(config) else {
        return;
    };
    let flag = format!("-Djava.security.auth.login.config={}", jaas.display());
    for i in 0..e.len() {
        e.set_node_jvm_props(i, &[&flag]);
    }
    let label: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    let label = label.join("+");
    let start = Instant::now();
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e
        .wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{label}: {m}\n{}", e.describe()));
    let checked = e
        .check_writes_everywhere("krb")
        .unwrap_or_else(|m| panic!("{label}: {m}\n{}", e.describe()));
    assert_eq!(checked, 9);
    for i in 0..e.len() {
        assert!(
            e.log_text(i)
                .contains("Successfully completed the authentication using SASL"),
            "{label}: node {} ({}) authenticated nobody:\n{}",
            e.sid(i),
            e.kind(i),
            e.log_text(i)
        );
    }
    for i in (0..e.len()).filter(|&i| e.kind(i) == ZkBin) {
        assert!(
            e.log_text(i).contains("GSSAPI"),
            "{label}: node {} did not use GSSAPI",
            e.sid(i)
        );
    }
    println!(
        "{label} with Kerberos quorum SASL: node {} ({}) leads; 3 writes read back on all 3 nodes ({:?})",
        e.sid(leader),
        e.kind(leader),
        start.elapsed()
    );
    if let Some(intruder) = intruder {
        keep_out(&mut e, &label, intruder);
    }
}

/// Restarts the intruder's node with the `BadLearner` login and checks it
/// is refused and kept out while the other two serve.
fn keep_out(e: &mut Ensemble, label: &str, Intruder { bad, refuser }: Intruder) {
    assert_eq!(
        e.kind(refuser),
        ZkBin,
        "the refusing node's log is zk-bin's"
    );
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
    println!(
        "{label}: node {bad_sid} ({}) logged in as zkquorum/intruder.example kept out for \
         {KEPT_OUT_FOR:?} (node {} logged \"{}\"); the other two serve writes",
        e.kind(bad),
        e.sid(refuser),
        refused.trim()
    );
}

#[test]
fn three_zk_bin() {
    kerberos_quorum(&[ZkBin, ZkBin, ZkBin], None);
}

#[test]
fn one_zk_bin_two_apache() {
    kerberos_quorum(
        &[ZkBin, Apache, Apache],
        Some(Intruder { bad: 2, refuser: 0 }),
    );
}

#[test]
fn two_zk_bin_one_apache() {
    kerberos_quorum(
        &[ZkBin, ZkBin, Apache],
        Some(Intruder { bad: 2, refuser: 0 }),
    );
}
