use super::*;
use crate::file_txn_snap_log::tests::{create_txn, FakeTree};
use crate::records::CreateSessionTxn;
use crate::test_dir::TestDir;
use std::path::Path;

fn db(dir: &Path) -> ZKDatabase<FakeTree> {
    ZKDatabase::new(FileTxnSnapLog::open(dir, dir).unwrap())
}

fn entry(zxid: i64) -> TxnLogEntry {
    let (h, b) = create_txn(zxid);
    TxnLogEntry {
        bytes: marshall_txn_entry(&h, &b, None),
        header: h,
    }
}

/// Logs creates `zxids` through the database, as the request pipeline
/// would: append, commit, apply, remember.
fn log_creates(db: &mut ZKDatabase<FakeTree>, zxids: std::ops::RangeInclusive<i64>) {
    for z in zxids {
        let e = entry(z);
        db.append_entry(&e.bytes).unwrap();
        db.data_tree_mut().replay_txn(&e).unwrap();
        db.add_committed_proposal(e);
    }
    db.commit().unwrap();
}

#[test]
fn load_fills_tree_sessions_and_committed_log() {
    let dir = TestDir::new("zkdb-load");
    let mut d = db(dir.path());
    assert_eq!(d.load_database().unwrap(), 0, "empty dir: new database");
    assert!(d.is_initialized());
    log_creates(&mut d, 1..=3);
    d.take_snapshot(true).unwrap();
    log_creates(&mut d, 4..=6);
    let session = TxnHeader {
        client_id: 0x42,
        cxid: 0,
        zxid: 7,
        time: 0,
        txn_type: crate::zoo_defs::op_code::CREATE_SESSION,
    };
    d.append(
        &session,
        &Txn::CreateSession(CreateSessionTxn { time_out: 9000 }),
        None,
    )
    .unwrap();
    d.commit().unwrap();
    assert_eq!(d.txn_count(), 7);
    d.close().unwrap();

    let mut d = db(dir.path());
    assert_eq!(d.load_database().unwrap(), 7);
    assert_eq!(d.data_tree_last_processed_zxid(), 7);
    assert_eq!(d.data_tree().nodes.len(), 6);
    assert_eq!(d.sessions_with_timeouts().get(&0x42), Some(&9000));
    assert_eq!(d.session_count(), 1);
    let zxids: Vec<i64> = d.committed_log().iter().map(|e| e.zxid()).collect();
    assert_eq!(zxids, vec![4, 5, 6, 7], "txns replayed after snapshot.3");
    assert_eq!((d.min_committed_log(), d.max_committed_log()), (4, 7));

    d.clear();
    assert!(!d.is_initialized());
    assert!(d.committed_log().is_empty() && d.data_tree().nodes.is_empty());
    assert_eq!((d.min_committed_log(), d.max_committed_log()), (0, 0));
    assert_eq!(d.fast_forward_database().unwrap(), 7);
    assert_eq!(d.committed_log().len(), 7);
}

#[test]
fn committed_log_keeps_the_newest_commit_log_count_plus_one() {
    let dir = TestDir::new("zkdb-limit");
    let mut d = db(dir.path());
    d.set_commit_log_count(10);
    assert_eq!(d.commit_log_count(), DEFAULT_COMMIT_LOG_COUNT);
    for z in 1..=600 {
        d.add_committed_proposal(entry(z));
    }
    assert_eq!(d.committed_log().len(), 501);
    assert_eq!((d.min_committed_log(), d.max_committed_log()), (100, 600));
    d.set_commit_log_count(600);
    assert_eq!(d.commit_log_count(), 600);
}

#[test]
fn proposals_from_the_txn_log() {
    let dir = TestDir::new("zkdb-proposals");
    let mut d = db(dir.path());
    d.load_database().unwrap();
    log_creates(&mut d, 1..=5);
    d.roll_log().unwrap();
    assert_eq!(d.txn_count(), 0);
    log_creates(&mut d, 6..=10);
    let zxids = |p: ProposalsFromTxnLog| -> Vec<i64> { p.map(|e| e.unwrap().zxid()).collect() };
    let p = d.get_proposals_from_txn_log(7, 0).unwrap();
    assert_eq!(
        zxids(p),
        (6..=10).collect::<Vec<_>>(),
        "from the file holding 7"
    );
    assert_eq!(
        zxids(d.get_proposals_from_txn_log(2, 0).unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    assert!(
        d.get_proposals_from_txn_log(0, 0).is_none(),
        "log starts after 0"
    );
    assert!(d.get_proposals_from_txn_log(7, -1).is_none(), "disabled");
    assert!(
        d.get_proposals_from_txn_log(2, 10).is_none(),
        "over the size limit"
    );
    // As 3.8 counts it, the file read first is not part of the size.
    assert!(
        d.get_proposals_from_txn_log(7, 10).is_some(),
        "only the file holding 7"
    );
    assert!(d.is_txn_log_sync_enabled());
    d.set_snapshot_size_factor(-1.0);
    assert!(!d.is_txn_log_sync_enabled());
    d.set_snapshot_size_factor(0.5);
    let snap = d.snap_log().find_most_recent_snapshot().unwrap().unwrap();
    let size = fs::metadata(snap).unwrap().len();
    assert_eq!(d.calculate_txn_log_size_limit(), size / 2);
}

#[test]
fn truncate_reloads_to_the_zxid() {
    let dir = TestDir::new("zkdb-trunc");
    let mut d = db(dir.path());
    d.load_database().unwrap();
    log_creates(&mut d, 1..=8);
    d.truncate_log(5).unwrap();
    assert_eq!(d.data_tree_last_processed_zxid(), 5);
    assert_eq!(d.data_tree().nodes.len(), 5);
    assert_eq!(d.max_committed_log(), 5);
}

#[test]
fn snapshot_for_a_learner_round_trips() {
    let dir = TestDir::new("zkdb-wire");
    let mut d = db(dir.path());
    d.load_database().unwrap();
    log_creates(&mut d, 1..=4);
    d.sessions_with_timeouts_mut().insert(0x9, 1234);
    let mut oa = OutputArchive::new(Vec::new());
    d.serialize_snapshot(&mut oa).unwrap();
    let bytes = oa.into_inner();

    let other = TestDir::new("zkdb-wire2");
    let mut e = db(other.path());
    e.deserialize_snapshot(&mut InputArchive::new(&bytes[..]))
        .unwrap();
    assert!(e.is_initialized());
    assert_eq!(e.data_tree().nodes, d.data_tree().nodes);
    assert_eq!(e.sessions_with_timeouts(), d.sessions_with_timeouts());
    let e2 = e.deserialize_snapshot(&mut InputArchive::new(&bytes[..bytes.len() - 2]));
    assert!(e2.is_err(), "a short snapshot is an error");
}

#[test]
fn snapshot_trigger_fires_between_half_and_all_of_the_limits() {
    for seed in 0..50 {
        let t = SnapshotTrigger::new(100, 0, seed);
        assert!(!t.should_snapshot(50, u64::MAX), "seed {}", seed);
        assert!(t.should_snapshot(100, 0), "seed {}", seed);
        let t = SnapshotTrigger::new(1_000_000, 1000, seed);
        assert!(!t.should_snapshot(0, 500));
        assert!(t.should_snapshot(0, 1000));
    }
    let mut t = SnapshotTrigger::new(100, 0, 7);
    let before = (50..=100).find(|n| t.should_snapshot(*n, 0));
    let mut differs = false;
    for _ in 0..20 {
        t.reset_thresholds();
        differs |= (50..=100).find(|n| t.should_snapshot(*n, 0)) != before;
    }
    assert!(differs, "thresholds are randomized");
}

/// Restore with the real DataTree: everything written through our code
/// comes back identical, including over a fuzzy snapshot.
mod with_data_tree {
    use super::*;
    use crate::data_tree::DataTree;
    use crate::digest::DIGEST_VERSION;
    use crate::records::{CloseSessionTxn, CreateTxn, DeleteTxn, SetDataTxn};
    use crate::zoo_defs::{ids, op_code};

    const SESSION: i64 = 0x1000_0000_0000_0001;

    /// A create as PrepRequestProcessor logs it: with the parent's next
    /// cversion spelled out, which is what makes replay idempotent.
    fn create(db: &ZKDatabase, path: &str, data: &str, ephemeral: bool) -> Txn {
        let parent = match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => panic!("bad path {}", path),
        };
        let cversion = db.data_tree().stat_node(parent).unwrap().cversion;
        Txn::Create(CreateTxn {
            path: path.into(),
            data: Some(data.as_bytes().to_vec()),
            acl: ids::open_acl_unsafe(),
            ephemeral,
            parent_c_version: cversion + 1,
        })
    }

    fn set(path: &str, data: &str, version: i32) -> Txn {
        Txn::SetData(SetDataTxn {
            path: path.into(),
            data: Some(data.as_bytes().to_vec()),
            version,
        })
    }

    /// Applies, logs and remembers one txn, as the server pipeline does.
    fn run(db: &mut ZKDatabase, zxid: i64, client: i64, txn: Txn) {
        let hdr = TxnHeader {
            client_id: client,
            cxid: zxid as i32,
            zxid,
            time: 1_700_000_000_000 + zxid,
            txn_type: txn.op_code(),
        };
        match &txn {
            Txn::CreateSession(t) => {
                db.sessions_with_timeouts_mut().insert(client, t.time_out);
            }
            Txn::CloseSession(_) => {
                db.sessions_with_timeouts_mut().remove(&client);
            }
            _ => {}
        }
        let rc = db.data_tree_mut().process_txn(&hdr, &txn);
        assert_eq!(rc.err, 0, "txn 0x{:x}", zxid);
        let digest = TxnDigest {
            version: DIGEST_VERSION,
            tree_digest: db.data_tree().digest(),
        };
        db.append(&hdr, &txn, Some(&digest)).unwrap();
        db.add_committed_txn(&hdr, &txn, Some(&digest));
    }

    fn tree_bytes(t: &DataTree) -> Vec<u8> {
        let mut oa = OutputArchive::new(Vec::new());
        t.serialize(&mut oa).unwrap();
        oa.into_inner()
    }

    fn workload(db: &mut ZKDatabase, fuzzy: bool) {
        let z = |n: i64| 0x1_0000_0000 + n;
        run(
            db,
            z(1),
            SESSION,
            Txn::CreateSession(CreateSessionTxn { time_out: 30000 }),
        );
        let t = create(db, "/a", "x", false);
        run(db, z(2), SESSION, t);
        let t = create(db, "/a/b", "", false);
        run(db, z(3), SESSION, t);
        let t = create(db, "/e", "eph", true);
        run(db, z(4), SESSION, t);
        run(db, z(5), SESSION, set("/a", "y", 1));
        let t = create(db, "/c", "", false);
        run(db, z(6), SESSION, t);
        run(
            db,
            z(7),
            SESSION,
            Txn::Delete(DeleteTxn { path: "/c".into() }),
        );
        let t = Txn::Multi(vec![create(db, "/m", "1", false), set("/m", "2", 1)]);
        run(db, z(8), SESSION, t);
        if fuzzy {
            // The snapshot claims zxid 5 but already holds 6..8: replay
            // must redo them without harm.
            db.set_last_processed_zxid(z(5));
            db.take_snapshot(true).unwrap();
            db.set_last_processed_zxid(z(8));
        } else {
            db.take_snapshot(true).unwrap();
        }
        let t = create(db, "/z", "zz", false);
        run(db, z(9), SESSION, t);
        run(
            db,
            z(10),
            SESSION,
            Txn::CloseSession(Some(CloseSessionTxn {
                paths2_delete: vec!["/e".into()],
            })),
        );
        run(db, z(11), 0x99, set("/a", "w", 2));
        db.commit().unwrap();
    }

    fn check_round_trip(fuzzy: bool) {
        let dir = TestDir::new("zkdb-real");
        let mut db: ZKDatabase =
            ZKDatabase::new(FileTxnSnapLog::open(dir.path(), dir.path()).unwrap());
        assert_eq!(db.load_database().unwrap(), 0);
        workload(&mut db, fuzzy);
        db.close().unwrap();

        let mut back: ZKDatabase =
            ZKDatabase::new(FileTxnSnapLog::open(dir.path(), dir.path()).unwrap());
        let zxid = back.load_database().unwrap();
        assert_eq!(zxid, 0x1_0000_000b);
        let (a, b) = (db.data_tree(), back.data_tree());
        assert_eq!(b.last_processed_zxid(), a.last_processed_zxid());
        assert_eq!(b.node_count(), a.node_count());
        assert_eq!(b.digest(), a.digest());
        assert_eq!(tree_bytes(b), tree_bytes(a));
        assert_eq!(b.digest_mismatches(), 0);
        assert!(b.get_ephemerals(SESSION).is_empty());
        assert!(back.sessions_with_timeouts().is_empty());
        let replayed: Vec<i64> = back.committed_log().iter().map(|e| e.zxid()).collect();
        let first = if fuzzy { 6 } else { 9 };
        assert_eq!(
            replayed,
            (first..=11).map(|n| 0x1_0000_0000 + n).collect::<Vec<_>>()
        );
    }

    #[test]
    fn write_then_restore_gives_the_same_tree() {
        check_round_trip(false);
    }

    #[test]
    fn restore_over_a_fuzzy_snapshot_gives_the_same_tree() {
        check_round_trip(true);
    }

    #[test]
    fn restore_checks_logged_digests() {
        let dir = TestDir::new("zkdb-digest");
        let mut db: ZKDatabase =
            ZKDatabase::new(FileTxnSnapLog::open(dir.path(), dir.path()).unwrap());
        db.load_database().unwrap();
        let t = create(&db, "/a", "x", false);
        run(&mut db, 1, 0x5, t);
        // A wrong digest in the log: restore still applies the txn, and
        // the tree counts the mismatch.
        let hdr = TxnHeader {
            client_id: 0x5,
            cxid: 2,
            zxid: 2,
            time: 0,
            txn_type: op_code::CREATE,
        };
        let wrong = TxnDigest {
            version: DIGEST_VERSION,
            tree_digest: 12345,
        };
        db.append(&hdr, &create(&db, "/b", "y", false), Some(&wrong))
            .unwrap();
        db.commit().unwrap();
        db.close().unwrap();
        let mut back: ZKDatabase =
            ZKDatabase::new(FileTxnSnapLog::open(dir.path(), dir.path()).unwrap());
        assert_eq!(back.load_database().unwrap(), 2);
        assert_eq!(
            back.data_tree().node_count(),
            db.data_tree().node_count() + 1
        );
        assert_eq!(back.data_tree().digest_mismatches(), 1);
    }
}
