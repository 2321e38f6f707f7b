use super::*;
use crate::quorum_packet::{make_zxid, packet_type::*};
use crate::test_support::{commit_creates, entry_for, open_db, TestDir};

fn z(epoch: i64, n: i64) -> i64 {
    make_zxid(epoch, n)
}

/// (type, zxid) of each packet, to compare plans at a glance.
fn shape(d: &SyncDecision) -> Vec<(i32, i64)> {
    d.packets.iter().map(|p| (p.packet_type, p.zxid)).collect()
}

fn diff_of(last_committed: i64, zxids: &[i64]) -> Vec<(i32, i64)> {
    let mut v = vec![(DIFF, last_committed)];
    for &x in zxids {
        v.push((PROPOSAL, x));
        v.push((COMMIT, x));
    }
    v
}

/// A database whose committed log holds exactly `zxids` (nothing logged on
/// disk) and whose tree says it processed the last of them.
fn db_with_committed(dir: &TestDir, zxids: &[i64]) -> ZKDatabase {
    let mut db = open_db(dir.path());
    for &x in zxids {
        db.add_committed_proposal(entry_for(x));
    }
    if let Some(&last) = zxids.last() {
        db.set_last_processed_zxid(last);
    }
    db
}

fn plan(db: &ZKDatabase, peer: i64) -> SyncDecision {
    sync_follower(db, peer, 2, SyncOptions::default())
}

#[test]
fn peer_in_step_gets_an_empty_diff() {
    let dir = TestDir::new("sync-empty-diff");
    let db = db_with_committed(&dir, &[z(1, 1), z(1, 2), z(1, 3)]);
    let d = plan(&db, z(1, 3));
    assert!(!d.need_snap);
    assert_eq!(shape(&d), vec![(DIFF, z(1, 3))]);
    assert_eq!(d.current_zxid, z(1, 3));
}

#[test]
fn peer_behind_within_committed_log_gets_a_diff_of_the_rest() {
    let dir = TestDir::new("sync-diff");
    let log: Vec<i64> = (1..=5).map(|n| z(1, n)).collect();
    let db = db_with_committed(&dir, &log);
    let d = plan(&db, z(1, 3));
    assert!(!d.need_snap);
    assert_eq!(shape(&d), diff_of(z(1, 5), &[z(1, 4), z(1, 5)]));
    assert_eq!(d.current_zxid, z(1, 5));
    // The proposal carries the logged bytes verbatim.
    assert_eq!(
        d.packets[1].data.as_deref(),
        Some(&entry_for(z(1, 4)).bytes[..])
    );
}

#[test]
fn peer_ahead_of_committed_log_is_truncated() {
    let dir = TestDir::new("sync-trunc");
    let db = db_with_committed(&dir, &[z(1, 1), z(1, 2), z(1, 3)]);
    let d = plan(&db, z(1, 7));
    assert!(!d.need_snap);
    assert_eq!(shape(&d), vec![(TRUNC, z(1, 3))]);
    assert_eq!(d.current_zxid, z(1, 3));
}

#[test]
fn peer_with_a_txn_the_leader_lacks_gets_trunc_then_diff() {
    let dir = TestDir::new("sync-trunc-diff");
    // The leader never saw 0x100000004/5; the peer logged 4.
    let db = db_with_committed(&dir, &[z(1, 1), z(1, 2), z(1, 3), z(1, 6), z(1, 7)]);
    let d = plan(&db, z(1, 4));
    assert!(!d.need_snap);
    assert_eq!(
        shape(&d),
        vec![
            (TRUNC, z(1, 3)),
            (PROPOSAL, z(1, 6)),
            (COMMIT, z(1, 6)),
            (PROPOSAL, z(1, 7)),
            (COMMIT, z(1, 7)),
        ]
    );
    assert_eq!(d.current_zxid, z(1, 7));
}

#[test]
fn trunc_across_an_epoch_falls_back_to_snap() {
    let dir = TestDir::new("sync-cross-epoch");
    let db = db_with_committed(&dir, &[z(1, 1), z(1, 2), z(2, 1), z(2, 2)]);
    let d = plan(&db, z(1, 3));
    assert!(d.need_snap);
    assert!(d.packets.is_empty());
    assert_eq!(d.current_zxid, z(2, 2));
}

#[test]
fn peer_at_a_new_epoch_zxid_gets_a_diff_never_a_trunc() {
    let dir = TestDir::new("sync-new-epoch");
    let db = db_with_committed(&dir, &[z(1, 1), z(1, 2), z(2, 1), z(2, 2)]);
    let d = plan(&db, z(2, 0));
    assert!(!d.need_snap);
    assert_eq!(shape(&d), diff_of(z(2, 2), &[z(2, 1), z(2, 2)]));

    // A leader that just started epoch 2 (last processed 0x200000000)
    // and a peer that synced to that same point: an empty DIFF.
    let mut db2 = db_with_committed(&dir, &[z(1, 1), z(1, 2)]);
    db2.set_last_processed_zxid(z(2, 0));
    assert_eq!(shape(&plan(&db2, z(2, 0))), vec![(DIFF, z(2, 0))]);
    // A new-epoch peer past the committed log is not truncated (it has no
    // txn at that zxid); 3.8 finds no way to DIFF it and snaps.
    let d3 = plan(&db2, z(3, 0));
    assert!(d3.need_snap);
}

#[test]
fn empty_committed_log_behind_peer_is_trunc_and_ahead_is_snap() {
    let dir = TestDir::new("sync-empty-log");
    let mut db = open_db(dir.path());
    db.set_last_processed_zxid(z(1, 5));
    let d = plan(&db, z(1, 9));
    assert_eq!(shape(&d), vec![(TRUNC, z(1, 5))]);
    let d = plan(&db, z(1, 2));
    assert!(d.need_snap);
    assert_eq!(d.current_zxid, z(1, 5));
}

#[test]
fn force_snap_sync_always_snaps() {
    let dir = TestDir::new("sync-force");
    let db = db_with_committed(&dir, &[z(1, 1), z(1, 2)]);
    let d = sync_follower(
        &db,
        z(1, 2),
        2,
        SyncOptions {
            force_snap_sync: true,
        },
    );
    assert!(d.need_snap);
    assert!(d.packets.is_empty());
}

#[test]
fn peer_older_than_committed_log_is_served_from_the_txn_log() {
    let dir = TestDir::new("sync-txnlog");
    let mut db = open_db(dir.path());
    // Ten txns on disk; the committed log (as after a restart that loaded
    // a snapshot of 5) holds only 6..10.
    commit_creates(&mut db, (1..=10).map(|n| z(1, n)));
    let mut db2 = open_db(dir.path());
    for n in 6..=10 {
        db2.add_committed_proposal(entry_for(z(1, n)));
    }
    db2.set_last_processed_zxid(z(1, 10));
    drop(db);
    let d = plan(&db2, z(1, 3));
    assert!(!d.need_snap, "{:?}", shape(&d));
    let want: Vec<i64> = (4..=10).map(|n| z(1, n)).collect();
    assert_eq!(shape(&d), diff_of(z(1, 10), &want));
    assert_eq!(d.current_zxid, z(1, 10));
}

#[test]
fn txn_log_that_does_not_reach_the_committed_log_means_snap() {
    let dir = TestDir::new("sync-gap");
    let mut db = open_db(dir.path());
    commit_creates(&mut db, (1..=4).map(|n| z(1, n)));
    drop(db);
    let mut db2 = open_db(dir.path());
    for n in 6..=10 {
        db2.add_committed_proposal(entry_for(z(1, n)));
    }
    db2.set_last_processed_zxid(z(1, 10));
    let d = plan(&db2, z(1, 2));
    assert!(d.need_snap, "{:?}", shape(&d));
    assert!(d.packets.is_empty());
    assert_eq!(d.current_zxid, z(1, 10));
}

#[test]
fn txn_log_sync_disabled_or_too_large_means_snap() {
    let dir = TestDir::new("sync-disabled");
    let mut db = open_db(dir.path());
    // Two log files: as in 3.8, the size counts those after the first.
    commit_creates(&mut db, (1..=5).map(|n| z(1, n)));
    db.roll_log().unwrap();
    commit_creates(&mut db, (6..=10).map(|n| z(1, n)));
    drop(db);
    let mut db2 = open_db(dir.path());
    for n in 6..=10 {
        db2.add_committed_proposal(entry_for(z(1, n)));
    }
    db2.set_last_processed_zxid(z(1, 10));
    db2.set_snapshot_size_factor(-1.0);
    assert!(plan(&db2, z(1, 3)).need_snap);

    // With a snapshot on disk, the log may be at most a third of it.
    db2.set_snapshot_size_factor(0.33);
    db2.take_snapshot(true).unwrap();
    let limit = db2.calculate_txn_log_size_limit();
    let log_size = db2
        .get_proposals_from_txn_log(z(1, 3), 0)
        .unwrap()
        .storage_size();
    assert!(log_size > limit, "log {log_size} vs limit {limit}");
    assert!(plan(&db2, z(1, 3)).need_snap);
}
