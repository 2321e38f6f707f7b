//! The published Zab recovery bugs of ZooKeeper, replayed against a 3-node
//! zk-bin ensemble built with failpoints (`zk_persistence::failpoint`):
//! a node is made to crash (abort, as kill -9 would) at the exact line the
//! JIRA issue names, then the ensemble recovers and the test checks what
//! must hold: no acknowledged write lost, the nodes end with the same
//! zxid, a txn that was never committed gone everywhere. README's
//! "Reliability" section has the table of scenarios.
//!
//! Each test prints `skipped: ...` when the failpoint build of zk-bin
//! cannot be made.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use integration::ensemble::Ensemble;
use integration::failpoints::{
    create_through, epoch_file, failpoint_ensemble, failpoint_ensemble_with_env,
};

/// Bound on each wait for an election, a sync or a crash.
const BOUND: Duration = Duration::from_secs(60);

/// Starts all three and returns (leader, the two followers).
fn start_serving(e: &mut Ensemble) -> (usize, usize, usize) {
    e.start_all().unwrap();
    let leader = e.wait_serving(BOUND).unwrap();
    let mut followers = (0..3).filter(|&i| i != leader);
    (leader, followers.next().unwrap(), followers.next().unwrap())
}

/// After recovery every running node serves and has every acknowledged
/// write; after one more write (right after an election a learner may
/// still report its old zxid), all report the same zxid.
fn assert_converged(e: &Ensemble, dir: &str, acked: &[String]) {
    let leader = e.wait_serving(BOUND).unwrap();
    e.check_acked(dir, acked)
        .unwrap_or_else(|err| panic!("after recovery: {err}\n{}", e.describe()));
    static MARKERS: AtomicUsize = AtomicUsize::new(0);
    let n = MARKERS.fetch_add(1, Ordering::SeqCst);
    create_through(e, leader, &format!("{dir}-marker"), n..n + 1).unwrap();
    e.wait_same_zxid(BOUND).unwrap();
}

/// Waits until node `i` has exited and checks that it died at `point`
/// (its `panic` action), not for some other reason; returns its log.
fn died_at(e: &mut Ensemble, i: usize, point: &str) -> String {
    e.wait_exited(i, BOUND).unwrap();
    let log = e.log_text(i);
    assert!(
        log.contains(&format!("failpoint {point} panic")),
        "node {} exited, but not at {point}:\n{log}",
        i + 1
    );
    log
}

/// F is down while W2 is committed by L and G; G goes down; F rejoins L
/// in a new epoch by DIFF (W2) with `FAILPOINTS=<failpoint>=panic` and
/// dies there; L is killed; F and G recover together, F with the newer
/// epoch (if it wrote it) and G with every txn. Invariant: W1 and W2, all
/// acknowledged, are on every node afterwards, which needs F's W2 to be
/// durable whenever F's currentEpoch is the new one. Returns nothing;
/// panics naming what is missing.
fn crash_follower_during_diff_sync(dir: &str, failpoint: &str) {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (l, f, g) = start_serving(&mut e);
    let mut acked = create_through(&e, l, dir, 0..20).unwrap();
    e.wait_same_zxid(BOUND).unwrap();
    e.kill_9(f).unwrap();
    acked.extend(create_through(&e, g, dir, 20..60).unwrap());
    e.wait_same_zxid(BOUND).unwrap();
    let old_epoch = epoch_file(&e, g, "currentEpoch").unwrap();
    e.kill_9(g).unwrap();

    // F rejoins L (the highest zxid) in a new epoch and dies at the point.
    let actions = format!("{failpoint}=panic");
    e.start_with_env(f, &[("FAILPOINTS", &actions)]).unwrap();
    died_at(&mut e, f, failpoint);
    let f_epoch = epoch_file(&e, f, "currentEpoch").unwrap();
    println!(
        "{failpoint}: F's currentEpoch {f_epoch}, G's {old_epoch} (F {} the election on epoch)",
        if f_epoch > old_epoch {
            "wins"
        } else {
            "does not win"
        }
    );

    // Without L, F and G elect.
    e.kill_9(l).unwrap();
    e.start(f).unwrap();
    e.start(g).unwrap();
    assert_converged(&e, dir, &acked);
    e.start(l).unwrap();
    assert_converged(&e, dir, &acked);
}

/// ZOOKEEPER-4643: a follower that writes `currentEpoch` for the new epoch
/// before the txns of its sync are durable, and crashes in between, comes
/// back claiming the new epoch with an old history; with the new epoch's
/// leader gone, it beats the other follower (older epoch, newer zxid) in
/// the election and truncates that follower's committed txns. zk-bin logs
/// the sync's txns before raising currentEpoch; before that fix this test
/// lost 40 of 60 acknowledged writes.
#[test]
fn zk4643_crash_after_current_epoch_write() {
    crash_follower_during_diff_sync("/t4643", "after_current_epoch_write");
}

/// ZOOKEEPER-3911 / ZOOKEEPER-4646: a follower that ACKs NEWLEADER before
/// the DIFF's txns are on its disk, then crashes, lets the leader count a
/// quorum for txns the follower lost. zk-bin logs and fsyncs them before
/// the ACK; the crash right after the ACK must lose nothing.
#[test]
fn zk4646_crash_after_newleader_ack() {
    crash_follower_during_diff_sync("/t4646", "learner_after_newleader_ack");
}

/// The same crash just before the ACK (the leader never counts it).
#[test]
fn zk3911_crash_before_newleader_ack() {
    crash_follower_during_diff_sync("/t3911", "learner_before_newleader_ack");
}

/// Every sync is a SNAP (3.8's test switch, read by zk-bin from JVMFLAGS).
const FORCE_SNAP: (&str, &str) = ("JVMFLAGS", "-Dzookeeper.forceSnapshotSync=true");

/// The snapshot files in node `i`'s `version-2`, sorted by name.
fn snapshot_files(e: &Ensemble, i: usize) -> Vec<String> {
    let dir = e.data_dir(i).join("version-2");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .filter_map(|d| d.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("snapshot"))
        .collect();
    names.sort();
    names
}

/// ZOOKEEPER-3104 / ZOOKEEPER-3642: a learner whose SNAP sync is cut
/// short. F is down while W2 is committed; F rejoins, every sync being a
/// SNAP, and dies at `failpoint` (mid-stream while reading the snapshot,
/// or with the received snapshot written but not yet renamed into place).
/// Invariant: F's newest snapshot is never a partial one (a `.tmp` is
/// never taken for a snapshot), F restarts, and all three end with every
/// acknowledged write and the same zxid.
fn crash_learner_during_snap_sync(dir: &str, failpoint: &str) {
    let Some(mut e) = failpoint_ensemble_with_env(&[FORCE_SNAP]) else {
        return;
    };
    let (l, f, g) = start_serving(&mut e);
    let mut acked = create_through(&e, l, dir, 0..20).unwrap();
    e.wait_same_zxid(BOUND).unwrap();
    e.kill_9(f).unwrap();
    acked.extend(create_through(&e, g, dir, 20..60).unwrap());
    e.wait_same_zxid(BOUND).unwrap();

    let actions = format!("{failpoint}=panic");
    e.start_with_env(f, &[("FAILPOINTS", &actions)]).unwrap();
    let log = died_at(&mut e, f, failpoint);
    assert!(
        log.contains("Getting a snapshot from leader"),
        "node {} was not synced by SNAP:\n{log}",
        f + 1
    );
    let snaps = snapshot_files(&e, f);
    println!(
        "{failpoint}: node {}'s snapshots after the crash: {snaps:?}",
        f + 1
    );
    if failpoint == "snapshot_before_rename" {
        let tmp = snaps
            .iter()
            .find(|n| n.ends_with(".tmp"))
            .unwrap_or_else(|| panic!("no snapshot .tmp left by the crash: {snaps:?}"));
        let final_name = tmp
            .trim_end_matches(".tmp")
            .replace("snapshot-", "snapshot.");
        assert!(
            !snaps.contains(&final_name),
            "the interrupted snapshot {final_name} is in place: {snaps:?}"
        );
    }

    e.start(f).unwrap();
    assert_converged(&e, dir, &acked);
}

#[test]
fn zk3104_learner_crash_mid_snap_stream() {
    crash_learner_during_snap_sync("/t3104", "learner_snap_recv_mid");
}

#[test]
fn zk3642_learner_crash_before_snapshot_rename() {
    crash_learner_during_snap_sync("/t3642", "snapshot_before_rename");
}

/// The leader dies in the middle of sending a SNAP (`leader_snap_send_mid`
/// on its second SNAP: the first goes to G when it restarts): F holds the
/// sessions and no tree in memory when the stream ends. Invariant: F and G
/// elect without L and lose no acknowledged write (F's half-loaded
/// database must not be what it votes or serves with); L rejoins and all
/// three agree.
#[test]
fn zk3104_leader_crash_mid_snap_stream() {
    let Some(mut e) = failpoint_ensemble_with_env(&[FORCE_SNAP]) else {
        return;
    };
    let (l, f, g) = start_serving(&mut e);
    let dir = "/t3104l";
    let mut acked = create_through(&e, l, dir, 0..20).unwrap();
    e.wait_same_zxid(BOUND).unwrap();
    e.kill_9(f).unwrap();
    acked.extend(create_through(&e, l, dir, 20..60).unwrap());
    e.wait_same_zxid(BOUND).unwrap();
    // L comes back with the failpoint; it leads again (same zxid as G,
    // higher myid) and SNAPs G first.
    e.kill_9(l).unwrap();
    e.start_with_env(l, &[("FAILPOINTS", "leader_snap_send_mid=1*off->panic")])
        .unwrap();
    let leader = e.wait_serving(BOUND).unwrap();
    assert_eq!(
        leader,
        l,
        "node {} should lead again (highest myid, same zxid)",
        l + 1
    );
    e.start(f).unwrap();
    died_at(&mut e, l, "leader_snap_send_mid");
    assert_converged(&e, dir, &acked);
    e.start(l).unwrap();
    assert_converged(&e, dir, &acked);
    let _ = g;
}

/// ZOOKEEPER-2845: a txn only the old leader logged (never committed)
/// must vanish everywhere, even when that leader rejoins without a
/// restart, its database kept in memory across the election.
///
/// Both followers are killed and a create T is sent to L at once: L logs
/// T in the moment before it notices it lost its quorum, and steps down
/// with T in its log and (fast-forwarded) in memory. L is frozen
/// (SIGSTOP) while F and G elect without it and commit W2 in a new epoch;
/// then L is thawed and rejoins as it was. Invariant: T exists on no node
/// (after `sync`), W1 and W2 are everywhere, the zxids agree; and still
/// so after L restarts from its disk (nothing resurrects T). No failpoint:
/// the window is the leader's own step-down.
#[test]
fn zk2845_uncommitted_txn_of_an_isolated_leader_vanishes() {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (l, f, g) = start_serving(&mut e);
    let dir = "/t2845";
    let mut acked = create_through(&e, l, dir, 0..20).unwrap();
    e.wait_same_zxid(BOUND).unwrap();
    let before = e.zxid(l).unwrap();
    let client = e.client(l).unwrap();
    e.kill_9(f).unwrap();
    e.kill_9(g).unwrap();
    let t = format!("{dir}-uncommitted");
    let answer = e.block_on(async {
        let opts = zookeeper_client::CreateMode::Persistent
            .with_acls(zookeeper_client::Acls::anyone_all());
        tokio::time::timeout(Duration::from_secs(3), client.create(&t, b"t", &opts)).await
    });
    assert!(
        !matches!(answer, Ok(Ok(_))),
        "{t} was acknowledged by a leader without followers"
    );
    let deadline = std::time::Instant::now() + BOUND;
    while e.mode(l) == integration::ensemble::Mode::Leader {
        assert!(std::time::Instant::now() < deadline, "L never stepped down");
        std::thread::sleep(Duration::from_millis(20));
    }
    let logged = logs_contain(&e, l, &t);
    println!("T {t} in L's txn log: {logged} (L's zxid before: 0x{before:x})");
    assert!(
        logged,
        "the scenario did not happen: L never logged {t} before stepping down"
    );
    e.freeze(l).unwrap();
    e.start(f).unwrap();
    e.start(g).unwrap();
    let leader = e.wait_serving(BOUND).unwrap();
    acked.extend(create_through(&e, leader, dir, 20..40).unwrap());
    e.thaw(l).unwrap();
    assert_converged(&e, dir, &acked);
    e.check_absent(&t).unwrap();
    e.kill_9(l).unwrap();
    e.start(l).unwrap();
    assert_converged(&e, dir, &acked);
    e.check_absent(&t).unwrap();
}

/// Whether any txn log of node `i` holds a txn mentioning `path`
/// (`zk-bin txnlog-dump`).
fn logs_contain(e: &Ensemble, i: usize, path: &str) -> bool {
    let dir = e.data_dir(i).join("version-2");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .filter_map(|d| d.ok())
        .filter(|d| d.file_name().to_string_lossy().starts_with("log."))
        .any(|d| {
            let file = d.path();
            integration::zk_bin::run_zk_bin(&["txnlog-dump", &file.to_string_lossy()])
                .map(|out| out.contains(path))
                .unwrap_or(false)
        })
}

/// A follower that crashes at its `n`th txn-log fsync (`point` is before
/// or after the fsync) under a steady writer: the writes the ensemble
/// acknowledged were on a quorum's disks, the crashed follower's log ends
/// at a record boundary or a torn tail, and once it restarts without the
/// failpoint it catches up and every node has every acknowledged write.
fn crash_follower_at_fsync(dir: &str, point: &str) {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (_, f, _) = start_serving(&mut e);
    e.kill_9(f).unwrap();
    let actions = format!("{point}=20*off->panic");
    e.start_with_env(f, &[("FAILPOINTS", &actions)]).unwrap();
    e.wait_serving(BOUND).unwrap();
    let writer = integration::ensemble::SteadyWriter::start(&e.connect_string_all(), dir);
    died_at(&mut e, f, point);
    writer.wait_for_more(50, BOUND).unwrap();
    e.start(f).unwrap();
    writer.wait_for_more(50, BOUND).unwrap();
    let report = writer.stop().unwrap();
    println!(
        "{point}: follower {} crashed at its 21st fsync; {} acknowledged writes, {} failed attempts",
        f + 1,
        report.acked.len(),
        report.failures
    );
    assert_converged(&e, dir, &report.acked);
}

#[test]
fn follower_crash_before_a_txn_log_fsync() {
    crash_follower_at_fsync("/tfsync-before", "txn_log_before_fsync");
}

#[test]
fn follower_crash_after_a_txn_log_fsync() {
    crash_follower_at_fsync("/tfsync-after", "txn_log_after_fsync");
}

/// The leader dies once its 30th proposal has a quorum, before anyone got
/// its COMMIT (every node runs the point; only a leader reaches it). The
/// client never hears of that write; the two others elect the one whose
/// log has it, so it is committed in the new epoch or nowhere, the same on
/// every node, and every acknowledged write stays. The survivors are then
/// restarted without the point, so that the next leader does not die too.
#[test]
fn leader_crash_before_commit() {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    for i in 0..3 {
        e.start_with_env(i, &[("FAILPOINTS", "leader_before_commit=30*off->panic")])
            .unwrap();
    }
    let l = e.wait_serving(BOUND).unwrap();
    let writer = integration::ensemble::SteadyWriter::start(&e.connect_string_all(), "tcommit");
    died_at(&mut e, l, "leader_before_commit");
    for i in (0..3).filter(|&i| i != l) {
        e.kill_9(i).unwrap();
    }
    for i in 0..3 {
        e.start(i).unwrap();
    }
    writer.wait_for_more(20, BOUND).unwrap();
    let report = writer.stop().unwrap();
    println!(
        "leader_before_commit: leader {} died with a proposal acked by a quorum and not committed; \
         {} acknowledged writes, {} failed attempts",
        l + 1,
        report.acked.len(),
        report.failures
    );
    assert_converged(&e, "/tcommit", &report.acked);
    // The trees, the unacknowledged write included or not, agree.
    let trees: Vec<_> = (0..3)
        .map(|i| {
            let c = e.client(i).unwrap();
            let mut tree = e.block_on(async {
                integration::ensemble::bounded(c.sync("/")).await.unwrap();
                integration::tree_model::dump_live(&c).await.unwrap()
            });
            tree.forget_config_node_times();
            tree
        })
        .collect();
    for (i, t) in trees.iter().enumerate().skip(1) {
        trees[0]
            .compare("node 1", t, &format!("node {}", i + 1), 10)
            .unwrap_or_else(|m| panic!("{m}"));
    }
}

/// A follower dies right after writing `acceptedEpoch` for an epoch that
/// never starts (the leader was killed; the follower was in discovery of
/// the next one). With `acceptedEpoch` ahead of `currentEpoch` it must
/// start again, take part in the next election and lose nothing.
#[test]
fn follower_crash_after_accepted_epoch_write() {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (l, f, _) = start_serving(&mut e);
    let acked = create_through(&e, l, "/taccepted", 0..30).unwrap();
    e.kill_9(f).unwrap();
    // Rejoining the running leader writes no acceptedEpoch (the epoch is
    // not new); the first write is in the discovery after L dies.
    e.start_with_env(f, &[("FAILPOINTS", "after_accepted_epoch_write=panic")])
        .unwrap();
    e.wait_serving(BOUND).unwrap();
    e.kill_9(l).unwrap();
    died_at(&mut e, f, "after_accepted_epoch_write");
    let accepted = epoch_file(&e, f, "acceptedEpoch").unwrap();
    let current = epoch_file(&e, f, "currentEpoch").unwrap();
    println!("after_accepted_epoch_write: acceptedEpoch {accepted}, currentEpoch {current}");
    assert!(
        accepted > current,
        "acceptedEpoch {accepted} should be ahead of currentEpoch {current}"
    );
    e.start(f).unwrap();
    e.start(l).unwrap();
    assert_converged(&e, "/taccepted", &acked);
}

/// ZOOKEEPER-1154: the node with the highest zxid is not there for the
/// election. The leader logs a txn T that no follower has (both killed
/// first), then dies; the followers elect and write; the old leader joins
/// late with the highest zxid of all, and T, never committed, must vanish
/// (TRUNC), while everything committed stays.
#[test]
fn zk1154_highest_zxid_joins_late() {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (l, f, g) = start_serving(&mut e);
    let mut acked = create_through(&e, l, "/t1154", 0..20).unwrap();
    e.wait_same_zxid(BOUND).unwrap();
    let client = e.client(l).unwrap();
    e.kill_9(f).unwrap();
    e.kill_9(g).unwrap();
    // T reaches the leader's log, not a quorum: its create never returns.
    let open =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    let t = e.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(2),
            client.create("/t1154-uncommitted", b"", &open),
        )
        .await
        .map(|r| r.map(|_| ()))
    });
    assert!(
        !matches!(t, Ok(Ok(()))),
        "T was acknowledged without a quorum"
    );
    std::thread::sleep(Duration::from_millis(500));
    e.kill_9(l).unwrap();
    e.start(f).unwrap();
    e.start(g).unwrap();
    let leader = e.wait_serving(BOUND).unwrap();
    acked.extend(create_through(&e, leader, "/t1154", 20..40).unwrap());
    e.start(l).unwrap();
    assert_converged(&e, "/t1154", &acked);
    e.check_absent("/t1154-uncommitted")
        .unwrap_or_else(|m| panic!("the uncommitted txn survived: {m}"));
}

/// ZOOKEEPER-4712: a follower's SyncRequestProcessor still writing after
/// its role ended. The follower's log writer is slowed at every fsync
/// (`sleep`), so when the leader dies it is in the middle of a write of
/// the old role; the follower then takes a new role at once. Whatever the
/// old writer still does must not land in the log behind the new role's
/// back: after every node has been restarted from its own disk, each has
/// every acknowledged write and all agree.
#[test]
fn zk4712_old_log_writer_after_a_role_change() {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (l, f, _) = start_serving(&mut e);
    e.kill_9(f).unwrap();
    e.start_with_env(f, &[("FAILPOINTS", "txn_log_before_fsync=sleep(1500)")])
        .unwrap();
    e.wait_serving(BOUND).unwrap();
    let writer = integration::ensemble::SteadyWriter::start(&e.connect_string_all(), "t4712");
    writer.wait_for_more(30, BOUND).unwrap();
    integration::failpoints::wait_log(&e, f, "Creating new log file", BOUND).unwrap();
    e.kill_9(l).unwrap();
    // With L gone, F's slowed fsyncs are in every quorum: a few suffice.
    writer.wait_for_more(5, BOUND).unwrap();
    e.start(l).unwrap();
    writer.wait_for_more(10, BOUND).unwrap();
    let report = writer.stop().unwrap();
    // Every node from its own disk, the slowed one without the point.
    for i in 0..3 {
        e.kill_9(i).unwrap();
    }
    for i in 0..3 {
        e.start(i).unwrap();
    }
    println!(
        "txn_log_before_fsync=sleep: follower {} slowed through a role change; {} acknowledged writes",
        f + 1,
        report.acked.len()
    );
    assert_converged(&e, "/t4712", &report.acked);
}

/// A write error on a follower's txn log (not a crash: the write fails,
/// as on a broken disk): the follower stops before acknowledging anything
/// it could not make durable, naming the failure, and once restarted on a
/// working disk it catches up; no acknowledged write is lost.
#[test]
fn follower_txn_log_write_error() {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (_, f, _) = start_serving(&mut e);
    e.kill_9(f).unwrap();
    e.start_with_env(f, &[("FAILPOINTS", "txn_log_before_fsync=20*off->return")])
        .unwrap();
    e.wait_serving(BOUND).unwrap();
    let writer =
        integration::ensemble::SteadyWriter::start(&e.connect_string_all(), "twrite-error");
    e.wait_exited(f, BOUND).unwrap();
    let log = e.log_text(f);
    let line = log
        .lines()
        .find(|l| l.contains("Severe unrecoverable error"))
        .unwrap_or_else(|| panic!("node {} exited without saying why:\n{log}", f + 1));
    assert!(
        line.contains("failpoint txn_log_before_fsync returned an error"),
        "{line}"
    );
    println!(
        "txn_log_before_fsync=return: node {} stopped: {line}",
        f + 1
    );
    writer.wait_for_more(30, BOUND).unwrap();
    e.start(f).unwrap();
    writer.wait_for_more(30, BOUND).unwrap();
    let report = writer.stop().unwrap();
    assert_converged(&e, "/twrite-error", &report.acked);
}
