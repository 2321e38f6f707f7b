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
use integration::failpoints::{create_through, epoch_file, failpoint_ensemble};

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

/// ZOOKEEPER-4643: a follower that writes `currentEpoch` for the new epoch
/// before the txns of its sync are durable, and crashes in between, comes
/// back claiming the new epoch with an old history; with the new epoch's
/// leader gone, it beats the other follower (older epoch, newer zxid) in
/// the election and truncates that follower's committed txns.
///
/// F is down while W2 is committed by L and G; G goes down; F rejoins L in
/// a new epoch by DIFF (W2) and aborts right after writing currentEpoch
/// (`after_current_epoch_write=panic`); L is killed; F and G recover
/// together. Invariant: W1 and W2, all acknowledged, are on every node
/// afterwards. zk-bin logs the sync's txns before raising currentEpoch.
#[test]
fn zk4643_current_epoch_not_ahead_of_the_synced_txns() {
    let Some(mut e) = failpoint_ensemble() else {
        return;
    };
    let (l, f, g) = start_serving(&mut e);
    let mut acked = create_through(&e, l, "/t4643", 0..20).unwrap();
    e.wait_same_zxid(BOUND).unwrap();
    e.kill_9(f).unwrap();
    acked.extend(create_through(&e, g, "/t4643", 20..60).unwrap());
    e.wait_same_zxid(BOUND).unwrap();
    let old_epoch = epoch_file(&e, g, "currentEpoch").unwrap();
    e.kill_9(g).unwrap();

    // F rejoins L (the highest zxid) in a new epoch and dies as soon as
    // its currentEpoch says so.
    e.start_with_env(f, &[("FAILPOINTS", "after_current_epoch_write=panic")])
        .unwrap();
    e.wait_exited(f, BOUND).unwrap();
    assert!(
        e.log_text(f)
            .contains("failpoint after_current_epoch_write panic"),
        "node {} exited, but not at the failpoint:\n{}",
        f + 1,
        e.log_text(f)
    );
    let f_epoch = epoch_file(&e, f, "currentEpoch").unwrap();
    assert!(
        f_epoch > old_epoch,
        "node {}'s currentEpoch {f_epoch} should have passed G's {old_epoch}",
        f + 1
    );

    // Without L, F (new epoch) and G (old epoch, every txn) elect.
    e.kill_9(l).unwrap();
    e.start(f).unwrap();
    e.start(g).unwrap();
    assert_converged(&e, "/t4643", &acked);
    e.start(l).unwrap();
    assert_converged(&e, "/t4643", &acked);
}
