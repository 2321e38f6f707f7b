//! What each node of a fresh ensemble reports and writes after the first
//! election, before any client write, in every mix of Apache ZooKeeper 3.8
//! (`j`) and zk-bin (`o`): `srvr`'s `Zxid:` and the files in
//! `dataDir/version-2`, checked per role against what 3.8's own nodes do
//! (the table [`EXPECTED`], taken from `jjj`, which is run and checked
//! against it too).
//!
//! In 3.8 a fresh ensemble's nodes do not all report the same zxid:
//!
//! - the leader applies its new-epoch zxid 0x100000000 in memory once a
//!   quorum acked NEWLEADER (`Leader.startZkServer`), and writes no
//!   snapshot of it;
//! - a learner that synced before that gets an empty DIFF from zxid 0,
//!   which changes neither its tree nor its files: it reports 0x0;
//! - a learner that connects afterwards is behind the leader's 0x100000000
//!   with no txn to send, so it gets a SNAP at 0x100000000, reports that
//!   and writes `snapshot.100000000`.
//!
//! Each combination is run twice: all nodes started at once (who is late
//! depends on start-up times: a JVM is slower than zk-bin), and with the
//! last node started only once the others serve, so that every kind of
//! node is seen both ways.

use std::time::Duration;

use integration::conformance::Combo;
use integration::ensemble::{Ensemble, EnsembleConfig, Mode, SyncKind};

const TIMEOUT: Duration = Duration::from_secs(60);
/// 3.8's new-epoch zxid of the first epoch.
const FIRST_EPOCH_ZXID: i64 = 0x1_0000_0000;

/// How a node took part in the first epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Leader,
    /// A follower or observer, synced as its log says.
    Learner(SyncKind),
}

/// What 3.8's nodes show in each role: `srvr`'s zxid and the names in
/// version-2.
const EXPECTED: [(Role, i64, &[&str]); 3] = [
    (
        Role::Leader,
        FIRST_EPOCH_ZXID,
        &["acceptedEpoch", "currentEpoch", "snapshot.0"],
    ),
    (
        Role::Learner(SyncKind::Diff),
        0,
        &["acceptedEpoch", "currentEpoch", "snapshot.0"],
    ),
    (
        Role::Learner(SyncKind::Snap),
        FIRST_EPOCH_ZXID,
        &[
            "acceptedEpoch",
            "currentEpoch",
            "snapshot.0",
            "snapshot.100000000",
        ],
    ),
];

fn version_2_files(e: &Ensemble, i: usize) -> Vec<String> {
    let dir = e.data_dir(i).join("version-2");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `combo` from empty dataDirs, the last node started after the
/// others serve when `last_late`; returns the mismatches with
/// [`EXPECTED`], one line each, and which (kind, role) pairs it saw.
fn check(combo: &str, last_late: bool) -> Option<(Vec<String>, Vec<String>)> {
    let c = Combo::parse(combo).unwrap();
    let config = EnsembleConfig::new(&c.participants).with_observers(&c.observers);
    let mut e = Ensemble::new_or_skip(config)?;
    let n = e.len();
    let started = if last_late { n - 1 } else { n };
    for i in 0..started {
        e.start(i).unwrap();
    }
    e.wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{combo}: {m}"));
    if last_late {
        e.start(n - 1).unwrap();
        e.wait_serving(TIMEOUT)
            .unwrap_or_else(|m| panic!("{combo}: {m}"));
    }
    let run = format!(
        "{combo} ({})",
        if last_late { "last late" } else { "together" }
    );
    let mut mismatches = Vec::new();
    let mut seen = Vec::new();
    for i in 0..n {
        let role = match e.mode(i) {
            Mode::Leader => Role::Leader,
            Mode::Follower | Mode::Observer => {
                Role::Learner(e.wait_learner_synced(i, TIMEOUT).unwrap())
            }
            other => panic!("{run}: node {} is {other:?} after wait_serving", e.sid(i)),
        };
        let &(_, want_zxid, want_files) = EXPECTED
            .iter()
            .find(|(r, _, _)| *r == role)
            .unwrap_or_else(|| panic!("{run}: node {} is a {role:?}: no 3.8 reference", e.sid(i)));
        let zxid = e.zxid(i);
        let files = version_2_files(&e, i);
        let line = format!(
            "{run} node {} ({}, {role:?}): zxid {:x?}, version-2 {files:?}",
            e.sid(i),
            e.kind(i),
            zxid
        );
        println!("{line}");
        seen.push(format!("{} {role:?}", e.kind(i)));
        if zxid != Some(want_zxid) || files != want_files {
            mismatches.push(format!(
                "{line}; 3.8 reports 0x{want_zxid:x} and writes {want_files:?}"
            ));
        }
    }
    Some((mismatches, seen))
}

#[test]
fn first_election_zxid_and_files_as_in_3_8() {
    let mut mismatches = Vec::new();
    let mut seen = Vec::new();
    for combo in ["jjj", "ooo", "ooj", "jjo", "jjj+o", "ooo+j"] {
        for last_late in [false, true] {
            if let Some((m, s)) = check(combo, last_late) {
                mismatches.extend(m);
                seen.extend(s);
            }
        }
    }
    seen.sort();
    seen.dedup();
    println!("seen: {seen:?}");
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}
