//! How a learner that comes back is brought up to date, in 3-node ensembles
//! of Apache ZooKeeper 3.8 (the control; skipped where Java or Debian's
//! ZooKeeper is missing) or zk-bin. The kind is read from the learner's log
//! (`Getting a diff from the leader`, `Getting a snapshot from leader`,
//! `Truncating log to get in sync with the leader`: 3.8's Learner and
//! zk-quorum say the same) and the leader's matching lines are printed.
//!
//! - DIFF: a follower stopped for a few writes gets them from the leader's
//!   committed log.
//! - SNAP: one that missed more than the committed log holds (3.8 keeps
//!   500 txns, its floor for `zookeeper.commitLogCount`) gets a snapshot.
//!   The txns on disk are no way out: with `snapCount=100` they span
//!   several log files, and 3.8 counts the files after the one it starts
//!   reading in (64 MB each, preallocated) against a third of the snapshot
//!   (`snapshotSizeFactor`).
//! - TRUNC: a leader that logged a proposal no follower ever saw dies; the
//!   others elect a new leader in a new epoch without it, and when it comes
//!   back it must drop that txn. The proposal is kept from the followers by
//!   freezing them (SIGSTOP) before it is sent, and killing them, frozen,
//!   with the leader, so the bytes in their socket buffers are never read.
//!   As 3.8 chooses TRUNC only when the new leader has committed nothing in
//!   its epoch yet, the test writes nothing (and lets no session expire)
//!   until the old leader has rejoined.
//!
//! In every case each write a client saw acknowledged is on every node.

use std::time::{Duration, Instant};

use integration::ensemble::{bounded, Ensemble, EnsembleConfig, NodeKind, SyncKind};
use zk_persistence::file_txn_log::TxnLogReader;
use zookeeper_client::{Acls, Client, CreateMode};

const TIMEOUT: Duration = Duration::from_secs(90);

/// Creates `count` nodes `{dir}/{prefix}-<i>` (data = path) one after the
/// other through `client`; returns their paths, all acknowledged.
fn write_batch(
    e: &Ensemble,
    client: &Client,
    dir: &str,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    e.block_on(async {
        match client.create(dir, b"", &all).await {
            Ok(_) | Err(zookeeper_client::Error::NodeExists) => {}
            Err(e) => panic!("create {dir}: {e}"),
        }
        let mut acked = Vec::new();
        for i in 0..count {
            let path = format!("{dir}/{prefix}-{i:05}");
            bounded(client.create(&path, path.as_bytes(), &all))
                .await
                .unwrap_or_else(|m| panic!("create {path}: {m}"));
            acked.push(path);
        }
        acked
    })
}

/// Stops follower `f`, writes `count` nodes, starts it again and returns
/// how its log says it was synced.
fn miss_and_rejoin(
    e: &mut Ensemble,
    leader: usize,
    f: usize,
    count: usize,
    acked: &mut Vec<String>,
    prefix: &str,
) -> SyncKind {
    e.stop(f).unwrap_or_else(|m| panic!("{m}"));
    let c = e.client(leader).unwrap_or_else(|m| panic!("{m}"));
    acked.extend(write_batch(e, &c, "/acked", prefix, count));
    drop(c);
    e.start(f).unwrap_or_else(|m| panic!("{m}"));
    let kind = e
        .wait_learner_synced(f, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    println!(
        "{}: follower node {} missed {count} writes, synced by {kind:?}; leader node {} logged:\n  {}",
        e.kind(f),
        e.sid(f),
        e.sid(leader),
        e.leader_sync_lines(leader, f).join("\n  ")
    );
    kind
}

fn diff_then_snap(kind: NodeKind) {
    // Logs rolled every 50-100 txns: the txns a far-behind follower missed
    // span several (preallocated) files, too much to send from disk.
    let mut cfg = EnsembleConfig::uniform(kind, 3);
    cfg.snap_count = 100;
    let Some(mut e) = Ensemble::new_or_skip(cfg) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let f = (0..3).find(|&i| i != leader).unwrap();
    // The follower must hold some of the epoch's txns, or a peer at zxid 0
    // is below the committed log and gets a SNAP however little it missed.
    let c = e.client(leader).unwrap_or_else(|m| panic!("{m}"));
    let mut acked = write_batch(&e, &c, "/acked", "first", 10);
    drop(c);
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));

    let diff = miss_and_rejoin(&mut e, leader, f, 50, &mut acked, "diff");
    assert_eq!(diff, SyncKind::Diff, "{}", e.describe());
    let lines = e.leader_sync_lines(leader, f);
    assert!(
        lines.iter().any(|l| l.contains("Sending DIFF")),
        "the leader did not log a DIFF for sid {}: {lines:?}",
        e.sid(f)
    );

    let snap = miss_and_rejoin(&mut e, leader, f, 700, &mut acked, "snap");
    assert_eq!(snap, SyncKind::Snap, "{}", e.describe());
    let lines = e.leader_sync_lines(leader, f);
    assert!(
        lines.iter().any(|l| l.contains("Sending snapshot")),
        "the leader did not log sending a snapshot: {lines:?}"
    );

    e.check_acked("/acked", &acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{kind}: all {} acknowledged writes on all 3 nodes",
        acked.len()
    );
}

#[test]
fn follower_catches_up_by_diff_then_snap_apache() {
    diff_then_snap(NodeKind::Apache);
}

#[test]
fn follower_catches_up_by_diff_then_snap_zk_bin() {
    diff_then_snap(NodeKind::ZkBin);
}

/// The highest zxid in a node's txn logs.
fn last_logged_zxid(e: &Ensemble, i: usize) -> i64 {
    TxnLogReader::new(e.data_dir(i).join("version-2")).last_logged_zxid()
}

fn trunc(kind: NodeKind) {
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::uniform(kind, 3)) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let followers: Vec<usize> = (0..3).filter(|&i| i != leader).collect();

    // One session, with the leader, for everything up to the rejoin: its
    // writes before the freeze are committed, the one after is doomed.
    let c = e.client(leader).unwrap_or_else(|m| panic!("{m}"));
    let acked = write_batch(&e, &c, "/acked", "before", 20);
    let committed = e.zxid(leader).expect("the leader's zxid");

    for &f in &followers {
        e.freeze(f).unwrap_or_else(|m| panic!("{m}"));
    }
    let doomed = "/doomed";
    let c2 = c.clone();
    // Sent, never awaited: its answer (an error once the leader dies) is moot.
    e.block_on(async {
        let _detached = tokio::spawn(async move {
            let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
            let _ = c2.create(doomed, b"never committed", &all).await;
        });
    });
    // The leader logs its own proposal (and fsyncs it) at once.
    let deadline = Instant::now() + Duration::from_secs(20);
    let logged = loop {
        let z = last_logged_zxid(&e, leader);
        if z > committed {
            break z;
        }
        assert!(
            Instant::now() < deadline,
            "the leader never logged the proposal past 0x{committed:x}\n{}",
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    e.kill_9(leader).unwrap_or_else(|m| panic!("{m}"));
    for &f in &followers {
        e.kill_9(f).unwrap_or_else(|m| panic!("{m}"));
    }
    for &f in &followers {
        assert!(
            last_logged_zxid(&e, f) <= committed,
            "follower node {} logged the doomed proposal",
            e.sid(f)
        );
    }

    for &f in &followers {
        e.start(f).unwrap_or_else(|m| panic!("{m}"));
    }
    let new_leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let epoch_start = e.zxid(new_leader).expect("the new leader's zxid");
    assert_eq!(
        epoch_start & 0xffff_ffff,
        0,
        "the new leader committed txns (zxid 0x{epoch_start:x}) before the old one rejoined: \
         3.8 would then send a SNAP, not a TRUNC"
    );
    e.start(leader).unwrap_or_else(|m| panic!("{m}"));
    let how = e
        .wait_learner_synced(leader, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    println!(
        "{kind}: old leader node {} logged 0x{logged:x} past the committed 0x{committed:x}; \
         node {} leads epoch 0x{:x}; the old leader rejoined by {how:?}; new leader logged:\n  {}",
        e.sid(leader),
        e.sid(new_leader),
        epoch_start >> 32,
        e.leader_sync_lines(new_leader, leader).join("\n  ")
    );
    assert_eq!(how, SyncKind::Trunc, "{}", e.describe());
    assert!(
        last_logged_zxid(&e, leader) <= committed,
        "the old leader's log still holds the truncated txn"
    );
    drop(c);
    e.check_absent(doomed)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.check_acked("/acked", &acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{kind}: {doomed} is on no node; all {} acknowledged writes on all 3 nodes",
        acked.len()
    );
}

#[test]
fn old_leader_with_an_uncommitted_txn_truncates_apache() {
    trunc(NodeKind::Apache);
}

#[test]
fn old_leader_with_an_uncommitted_txn_truncates_zk_bin() {
    trunc(NodeKind::ZkBin);
}
