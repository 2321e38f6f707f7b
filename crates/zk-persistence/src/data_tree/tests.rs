use super::*;
use crate::digest::DIGEST_VERSION;
use crate::jute::{InputArchive, JuteResult, OutputArchive, Record};
use crate::records::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, Id, SetAclTxn, SetDataTxn, TxnDigest, TxnHeader,
};
use crate::txn::Txn;
use crate::zoo_defs::{op_code, perms};

const SESSION: i64 = 0x1000_0000_0000_0001;

fn opts() -> DataTreeOptions {
    DataTreeOptions {
        digest_enabled: true,
        extended_types: ExtendedTypes {
            enabled: true,
            emulate_353_ttl: false,
        },
    }
}

fn tree() -> DataTree {
    DataTree::with_options(opts())
}

fn hdr(zxid: i64, t: i32) -> TxnHeader {
    TxnHeader {
        client_id: SESSION,
        cxid: zxid as i32,
        zxid,
        time: 1000 + zxid,
        txn_type: t,
    }
}

fn create_txn(path: &str, data: &[u8], ephemeral: bool, pcv: i32) -> Txn {
    Txn::Create(CreateTxn {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: ids::open_acl_unsafe(),
        ephemeral,
        parent_c_version: pcv,
    })
}

/// Applies a txn whose header type is its own opcode.
fn apply(t: &mut DataTree, zxid: i64, txn: Txn) -> ProcessTxnResult {
    t.process_txn(&hdr(zxid, txn.op_code()), &txn)
}

fn create(t: &mut DataTree, zxid: i64, path: &str, data: &[u8]) -> ProcessTxnResult {
    apply(t, zxid, create_txn(path, data, false, -1))
}

/// The digest recomputed from scratch over every node.
fn full_digest(t: &DataTree) -> i64 {
    let mut sum = 0i64;
    let mut stack = vec![(ROOT, String::new())];
    while let Some((id, path)) = stack.pop() {
        sum = sum.wrapping_add(t.digest_of(&path, id));
        for c in t.nodes.children(id) {
            stack.push((c, format!("{}/{}", path, t.nodes.name(c))));
        }
    }
    sum
}

fn serialized(t: &DataTree) -> Vec<u8> {
    let mut oa = OutputArchive::new(Vec::new());
    t.serialize(&mut oa).unwrap();
    oa.into_inner()
}

fn reload(bytes: &[u8]) -> JuteResult<DataTree> {
    DataTree::deserialize_with_options(&mut InputArchive::new(bytes), opts())
}

#[test]
fn a_new_tree_is_what_3_8_starts_with() {
    let t = tree();
    assert_eq!(t.node_count(), 5);
    assert_eq!(t.get_children("/").unwrap().0, vec!["zookeeper"]);
    let mut kids = t.get_children("/zookeeper").unwrap().0;
    kids.sort();
    assert_eq!(kids, vec!["config", "quota"]);
    let (acl, stat) = t.get_acl("/zookeeper/config").unwrap();
    assert_eq!(acl, ids::read_acl_unsafe());
    assert_eq!(stat.aversion, -1);
    assert_eq!(t.get_node("/zookeeper/config").unwrap().acl_id(), 1);
    assert_eq!(t.get_node("/zookeeper").unwrap().acl_id(), -1);
    assert_eq!(t.get_acl("/").unwrap().0, ids::open_acl_unsafe());
    assert_eq!(t.approximate_data_size(), 44);
    assert_eq!(t.acl_cache_size(), 1);
    // Root (as "") and /zookeeper count; /zookeeper/ children do not.
    let zero = |p: &str| digest::node_digest(p, Some(b""), 0, 0, 0, 0, 0, 0, 0, 0, 0);
    assert_eq!(t.digest(), zero("").wrapping_add(zero("/zookeeper")));
    assert_eq!(t.digest(), full_digest(&t));
    assert!(DataTree::is_special_path("/zookeeper/quota"));
    assert!(!DataTree::is_special_path("/zookeeper/x"));
}

#[test]
fn create_sets_stat_and_parent_cversion() {
    let mut t = tree();
    let rc = apply(
        &mut t,
        5,
        Txn::Create2(CreateTxn {
            path: "/a".into(),
            data: Some(b"hello".to_vec()),
            acl: ids::creator_all_acl(),
            ephemeral: false,
            parent_c_version: 1,
        }),
    );
    assert_eq!(rc.err, 0);
    assert_eq!(rc.path, "/a");
    let s = rc.stat.unwrap();
    assert_eq!((s.czxid, s.mzxid, s.pzxid), (5, 5, 5));
    assert_eq!((s.ctime, s.mtime), (1005, 1005));
    assert_eq!((s.version, s.cversion, s.aversion), (0, 0, 0));
    assert_eq!(
        (s.data_length, s.num_children, s.ephemeral_owner),
        (5, 0, 0)
    );
    assert_eq!(
        rc.changes,
        vec![
            Change::NodeCreated("/a".into()),
            Change::NodeChildrenChanged("/".into())
        ]
    );
    let root = t.get_node("/").unwrap().stat_persisted();
    assert_eq!((root.cversion, root.pzxid), (1, 5));
    // Clients see cversion as creates + deletes: 1 * 2 - 2 children.
    assert_eq!(t.stat_node("/").unwrap().cversion, 0);
    assert_eq!(t.stat_node("/").unwrap().num_children, 2);

    // A plain create reports no stat; -1 means "one more".
    let rc = create(&mut t, 6, "/a/b", b"");
    assert_eq!(rc.stat, None);
    let a = t.get_node("/a").unwrap().stat_persisted();
    assert_eq!((a.cversion, a.pzxid), (1, 6));
    // A parentCVersion that does not raise the cversion leaves it alone.
    apply(&mut t, 7, create_txn("/a/c", b"", false, 1));
    let a = t.get_node("/a").unwrap().stat_persisted();
    assert_eq!((a.cversion, a.pzxid), (1, 6));
    assert_eq!(t.stat_node("/a").unwrap().cversion, 0);
    assert_eq!(t.get_children("/a").unwrap().0, vec!["b", "c"]);

    assert_eq!(create(&mut t, 8, "/x/y", b"").err, Code::NONODE as i32);
    assert_eq!(create(&mut t, 9, "/a", b"").err, Code::NODEEXISTS as i32);
    assert_eq!(t.last_processed_zxid(), 9);
    assert_eq!(t.digest(), full_digest(&t));
    assert_eq!(t.acl_cache_size(), 3);
}

#[test]
fn sequential_names_use_the_parent_cversion() {
    assert_eq!(sequential_path("/q/n-", 7), "/q/n-0000000007");
    assert_eq!(sequential_path("/q/", 2147483647), "/q/2147483647");
    assert_eq!(sequential_path("/q/", -1), "/q/-000000001");
}

#[test]
fn delete_moves_parent_pzxid_only() {
    let mut t = tree();
    create(&mut t, 1, "/a", b"12345");
    create(&mut t, 2, "/a/b", b"");
    let size = t.approximate_data_size();
    let rc = apply(
        &mut t,
        3,
        Txn::Delete(DeleteTxn {
            path: "/a/b".into(),
        }),
    );
    assert_eq!(rc.err, 0);
    assert_eq!(
        rc.changes,
        vec![
            Change::NodeDeleted("/a/b".into()),
            Change::NodeChildrenChanged("/a".into())
        ]
    );
    let a = t.get_node("/a").unwrap().stat_persisted();
    assert_eq!((a.cversion, a.pzxid), (1, 3));
    // Clients: one create + one delete.
    assert_eq!(t.stat_node("/a").unwrap().cversion, 2);
    assert_eq!(t.approximate_data_size(), size - 4);
    // Deleting a missing child still moves the parent's pzxid (as Java).
    let rc = apply(
        &mut t,
        9,
        Txn::Delete(DeleteTxn {
            path: "/a/zz".into(),
        }),
    );
    assert_eq!(rc.err, Code::NONODE as i32);
    assert_eq!(t.get_node("/a").unwrap().stat_persisted().pzxid, 9);
    assert_eq!(t.digest(), full_digest(&t));
    assert_eq!(t.node_count(), 6);
}

#[test]
fn set_data_and_set_acl() {
    let mut t = tree();
    create(&mut t, 1, "/a", b"xy");
    let rc = apply(
        &mut t,
        2,
        Txn::SetData(SetDataTxn {
            path: "/a".into(),
            data: Some(b"hello world".to_vec()),
            version: 4,
        }),
    );
    let s = rc.stat.unwrap();
    assert_eq!(
        (s.version, s.mzxid, s.mtime, s.czxid, s.data_length),
        (4, 2, 1002, 1, 11)
    );
    assert_eq!(rc.changes, vec![Change::NodeDataChanged("/a".into())]);
    assert_eq!(t.get_data("/a").unwrap().0, Some(&b"hello world"[..]));
    assert_eq!(t.approximate_data_size(), 44 + 2 + 11);
    // Null data is kept apart from empty.
    apply(
        &mut t,
        3,
        Txn::SetData(SetDataTxn {
            path: "/a".into(),
            data: None,
            version: 5,
        }),
    );
    assert_eq!(t.get_data("/a").unwrap().0, None);
    assert_eq!(t.stat_node("/a").unwrap().data_length, 0);

    let custom = vec![Acl {
        perms: perms::READ | perms::WRITE,
        id: Id {
            scheme: "digest".into(),
            id: "u:p".into(),
        },
    }];
    let rc = apply(
        &mut t,
        4,
        Txn::SetAcl(SetAclTxn {
            path: "/a".into(),
            acl: custom.clone(),
            version: 1,
        }),
    );
    assert_eq!(rc.stat.unwrap().aversion, 1);
    assert!(rc.changes.is_empty());
    assert_eq!(t.get_acl("/a").unwrap().0, custom);
    // OPEN_ACL_UNSAFE's entry went with its last user; config's remains.
    assert_eq!(t.acl_cache_size(), 2);
    let rc = apply(
        &mut t,
        5,
        Txn::SetAcl(SetAclTxn {
            path: "/nope".into(),
            acl: vec![],
            version: 1,
        }),
    );
    assert_eq!(rc.err, Code::NONODE as i32);
    assert_eq!(t.digest(), full_digest(&t));
}

#[test]
fn ephemerals_go_with_their_session() {
    let mut t = tree();
    apply(
        &mut t,
        1,
        Txn::CreateSession(CreateSessionTxn { time_out: 30000 }),
    );
    create(&mut t, 2, "/p", b"");
    apply(&mut t, 3, create_txn("/p/e1", b"", true, -1));
    apply(&mut t, 4, create_txn("/p/e2", b"", true, -1));
    let rc = apply(&mut t, 5, create_txn("/p/e1/child", b"", false, -1));
    assert_eq!(
        rc.err, 0,
        "the tree itself does not refuse children of ephemerals"
    );
    apply(
        &mut t,
        6,
        Txn::Delete(DeleteTxn {
            path: "/p/e1/child".into(),
        }),
    );
    assert_eq!(t.get_ephemerals(SESSION), vec!["/p/e1", "/p/e2"]);
    assert_eq!(t.ephemerals_count(), 2);
    let st = t.stat_node("/p/e1").unwrap();
    assert_eq!(st.ephemeral_owner, SESSION);

    // The close txn lists e1 only; e2 is deleted anyway (with a warning).
    let rc = apply(
        &mut t,
        7,
        Txn::CloseSession(Some(CloseSessionTxn {
            paths2_delete: vec!["/p/e1".into()],
        })),
    );
    assert_eq!(rc.err, 0);
    assert_eq!(
        rc.changes,
        vec![
            Change::NodeDeleted("/p/e1".into()),
            Change::NodeChildrenChanged("/p".into()),
            Change::NodeDeleted("/p/e2".into()),
            Change::NodeChildrenChanged("/p".into()),
        ]
    );
    assert!(t.get_node("/p/e2").is_none());
    assert_eq!(t.get_ephemerals(SESSION), Vec::<String>::new());
    assert_eq!(t.get_node("/p").unwrap().stat_persisted().pzxid, 7);
    assert_eq!(t.digest(), full_digest(&t));

    // A body-less close (pre-3.6 logs) deletes what the session owns.
    apply(&mut t, 8, create_txn("/p/e3", b"", true, -1));
    apply(&mut t, 9, Txn::CloseSession(None));
    assert!(t.get_node("/p/e3").is_none());
    assert!(t.sessions_with_ephemerals().is_empty());
}

#[test]
fn containers_and_ttl_nodes() {
    let mut t = tree();
    let rc = apply(
        &mut t,
        1,
        Txn::CreateContainer(CreateContainerTxn {
            path: "/c".into(),
            data: Some(vec![]),
            acl: ids::open_acl_unsafe(),
            parent_c_version: -1,
        }),
    );
    assert_eq!(rc.err, 0);
    assert_eq!(
        rc.stat.unwrap().ephemeral_owner,
        0,
        "clients never see the marker"
    );
    assert_eq!(
        t.get_node("/c").unwrap().stat_persisted().ephemeral_owner,
        i64::MIN
    );
    let rc = apply(
        &mut t,
        2,
        Txn::CreateTtl(CreateTtlTxn {
            path: "/t".into(),
            data: Some(vec![1]),
            acl: ids::open_acl_unsafe(),
            parent_c_version: -1,
            ttl: 5000,
        }),
    );
    assert_eq!(rc.err, 0);
    let owner = t.get_node("/t").unwrap().stat_persisted().ephemeral_owner;
    assert_eq!(owner as u64, 0xff00_0000_0000_1388);
    assert_eq!(EphemeralType::Ttl.get_value(owner), 5000);
    assert_eq!(t.get_containers(), vec!["/c"]);
    assert_eq!(t.get_ttls(), vec!["/t"]);
    assert_eq!(t.ephemerals_count(), 0);
    let rc = apply(
        &mut t,
        3,
        Txn::CreateTtl(CreateTtlTxn {
            path: "/bad".into(),
            data: None,
            acl: vec![],
            parent_c_version: -1,
            ttl: 0,
        }),
    );
    assert_eq!(rc.err, Code::BADARGUMENTS as i32);
    apply(
        &mut t,
        4,
        Txn::DeleteContainer(DeleteTxn { path: "/c".into() }),
    );
    apply(&mut t, 5, Txn::Delete(DeleteTxn { path: "/t".into() }));
    assert!(t.get_containers().is_empty() && t.get_ttls().is_empty());

    // Without extended types a TTL owner is taken for a session, as in Java.
    let mut plain = DataTree::with_options(DataTreeOptions::default());
    apply(
        &mut plain,
        1,
        Txn::CreateTtl(CreateTtlTxn {
            path: "/t".into(),
            data: None,
            acl: ids::open_acl_unsafe(),
            parent_c_version: -1,
            ttl: 5,
        }),
    );
    assert!(plain.get_ttls().is_empty());
    assert_eq!(plain.ephemerals_count(), 1);
}

#[test]
fn multi_applies_in_order() {
    let mut t = tree();
    create(&mut t, 1, "/m", b"");
    let ops = vec![
        create_txn("/m/a", b"1", false, 1),
        Txn::Check(CheckVersionTxn {
            path: "/m/a".into(),
            version: 0,
        }),
        Txn::SetData(SetDataTxn {
            path: "/m/a".into(),
            data: Some(b"2".to_vec()),
            version: 1,
        }),
        Txn::Delete(DeleteTxn { path: "/m".into() }),
    ];
    // Deleting /m with a child would be refused by the server; here we
    // only check order and results, so delete something else.
    let mut ops = ops;
    ops[3] = create_txn("/m/b", b"", false, 2);
    let rc = apply(&mut t, 2, Txn::Multi(ops));
    assert_eq!(rc.err, 0);
    assert_eq!(rc.multi_result.len(), 4);
    let types: Vec<i32> = rc.multi_result.iter().map(|r| r.txn_type).collect();
    assert_eq!(
        types,
        vec![
            op_code::CREATE,
            op_code::CHECK,
            op_code::SET_DATA,
            op_code::CREATE
        ]
    );
    assert_eq!(rc.multi_result[1].path, "/m/a");
    assert_eq!(rc.multi_result[2].stat.as_ref().unwrap().version, 1);
    assert!(rc
        .multi_result
        .iter()
        .all(|r| r.changes.is_empty() && r.zxid == 2));
    assert_eq!(rc.changes.len(), 5);
    assert_eq!(t.get_data("/m/a").unwrap().0, Some(&b"2"[..]));
    assert_eq!(t.get_node("/m").unwrap().stat_persisted().cversion, 2);
    assert_eq!(t.last_processed_zxid(), 2);
}

#[test]
fn failed_multi_changes_nothing() {
    let mut t = tree();
    let before = t.digest();
    let ops = vec![
        create_txn("/x", b"", false, -1),
        Txn::Error(ErrorTxn {
            err: Code::NONODE as i32,
        }),
        Txn::Delete(DeleteTxn {
            path: "/zookeeper".into(),
        }),
    ];
    let rc = apply(&mut t, 3, Txn::Multi(ops));
    let errs: Vec<i32> = rc.multi_result.iter().map(|r| r.err).collect();
    assert_eq!(
        errs,
        vec![0, Code::NONODE as i32, Code::RUNTIMEINCONSISTENCY as i32]
    );
    assert!(rc.multi_result.iter().all(|r| r.txn_type == op_code::ERROR));
    assert_eq!(rc.err, Code::NONODE as i32);
    assert!(rc.changes.is_empty());
    assert!(t.get_node("/x").is_none());
    assert_eq!(t.digest(), before);
    assert_eq!(t.last_processed_zxid(), 3);
}

#[test]
fn error_txn_reports_its_code() {
    let mut t = tree();
    let rc = apply(&mut t, 4, Txn::Error(ErrorTxn { err: -110 }));
    assert_eq!(rc.err, -110);
    assert_eq!(t.last_processed_zxid(), 4);
}

#[test]
fn replayed_create_over_existing_node_fixes_parent() {
    let mut t = tree();
    create(&mut t, 1, "/a", b"");
    create(&mut t, 2, "/a/b", b"");
    // A fuzzy snapshot already had /a/b; the log replays its create with
    // a later cversion.
    let rc = apply(&mut t, 10, create_txn("/a/b", b"", false, 5));
    assert_eq!(rc.err, Code::NODEEXISTS as i32);
    let a = t.get_node("/a").unwrap().stat_persisted();
    assert_eq!((a.cversion, a.pzxid), (5, 10));
    assert_eq!(t.digest(), full_digest(&t));
    // Not for create2, as in Java.
    let h = hdr(11, op_code::CREATE2);
    let txn = Txn::Create2(CreateTxn {
        parent_c_version: 9,
        ..match create_txn("/a/b", b"", false, 0) {
            Txn::Create(c) => c,
            _ => unreachable!(),
        }
    });
    t.process_txn(&h, &txn);
    assert_eq!(t.get_node("/a").unwrap().stat_persisted().cversion, 5);
    t.set_cversion_pzxid("/a/", -1, 12).unwrap();
    assert_eq!(t.get_node("/a").unwrap().stat_persisted().cversion, 6);
    assert_eq!(t.set_cversion_pzxid("/none", 1, 1), Err(Code::NONODE));
}

#[test]
fn delete_of_node_with_children_takes_the_subtree() {
    let mut t = tree();
    create(&mut t, 1, "/a", b"");
    create(&mut t, 2, "/a/b", b"");
    create(&mut t, 3, "/a/b/c", b"");
    let rc = apply(&mut t, 4, Txn::Delete(DeleteTxn { path: "/a".into() }));
    assert_eq!(rc.err, 0);
    assert!(t.get_node("/a/b/c").is_none());
    assert_eq!(t.node_count(), 5);
    assert_eq!(t.digest(), full_digest(&t));
}

#[test]
fn all_children_number_counts_descendants() {
    let mut t = tree();
    create(&mut t, 1, "/a", b"");
    create(&mut t, 2, "/a/b", b"");
    create(&mut t, 3, "/a/b/c", b"");
    assert_eq!(t.get_all_children_number("/a"), 2);
    assert_eq!(t.get_all_children_number("/"), 6);
    assert_eq!(t.get_all_children_number("/none"), 0);
}

#[test]
fn digest_is_deterministic_and_order_independent() {
    let mut a = tree();
    let mut b = tree();
    create(&mut a, 1, "/x", b"1");
    create(&mut a, 2, "/y", b"2");
    // Same final state, different order of creation and an extra undo.
    let hx = hdr(1, op_code::CREATE);
    let hy = hdr(2, op_code::CREATE);
    b.process_txn(&hy, &create_txn("/y", b"2", false, 2));
    b.process_txn(&hx, &create_txn("/x", b"1", false, 1));
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.digest(), full_digest(&a));
    let before = a.digest();
    apply(
        &mut a,
        3,
        Txn::SetData(SetDataTxn {
            path: "/x".into(),
            data: Some(b"9".to_vec()),
            version: 1,
        }),
    );
    assert_ne!(a.digest(), before);
    assert_eq!(a.last_processed_zxid_digest().unwrap().digest, a.digest());
    // Digests off: always 0.
    let mut off = DataTree::with_options(DataTreeOptions {
        digest_enabled: false,
        ..opts()
    });
    create(&mut off, 1, "/x", b"1");
    assert_eq!(off.digest(), 0);
}

#[test]
fn compare_digest_against_logged_digest() {
    let mut t = tree();
    let h = hdr(1, op_code::CREATE);
    let txn = create_txn("/a", b"", false, -1);
    let mut t2 = tree();
    t2.process_txn(&h, &txn);
    let good = TxnDigest {
        version: DIGEST_VERSION,
        tree_digest: t2.digest(),
    };
    t.process_txn_with_digest(&h, &txn, Some(&good));
    assert_eq!(t.digest_mismatches(), 0);
    let bad = TxnDigest {
        version: DIGEST_VERSION,
        tree_digest: 1,
    };
    assert!(!t.compare_digest(&h, Some(&bad)));
    assert_eq!(t.digest_mismatches(), 1);
    assert!(t.compare_digest(
        &h,
        Some(&TxnDigest {
            version: 1,
            tree_digest: 1
        })
    ));
    assert!(t.compare_digest(&h, None));
}

fn busy_tree() -> DataTree {
    let mut t = tree();
    let custom = vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "ip".into(),
            id: "127.0.0.1".into(),
        },
    }];
    create(&mut t, 1, "/a", b"data-a");
    apply(
        &mut t,
        2,
        Txn::Create(CreateTxn {
            path: "/a/null".into(),
            data: None,
            acl: custom,
            ephemeral: false,
            parent_c_version: -1,
        }),
    );
    apply(&mut t, 3, create_txn("/a/eph", b"e", true, -1));
    apply(
        &mut t,
        4,
        Txn::CreateContainer(CreateContainerTxn {
            path: "/cont".into(),
            data: Some(vec![]),
            acl: ids::open_acl_unsafe(),
            parent_c_version: -1,
        }),
    );
    apply(
        &mut t,
        5,
        Txn::CreateTtl(CreateTtlTxn {
            path: "/cont/ttl".into(),
            data: Some(vec![0; 300]),
            acl: ids::read_acl_unsafe(),
            parent_c_version: -1,
            ttl: 10,
        }),
    );
    create(&mut t, 6, "/\u{e9}t\u{e9}", "\u{1F600}".as_bytes());
    apply(
        &mut t,
        7,
        Txn::SetData(SetDataTxn {
            path: "/".into(),
            data: Some(b"root".to_vec()),
            version: 1,
        }),
    );
    apply(
        &mut t,
        8,
        Txn::SetData(SetDataTxn {
            path: "/zookeeper/config".into(),
            data: Some(b"server.1=x".to_vec()),
            version: 1,
        }),
    );
    for i in 0..50 {
        create(&mut t, 10 + i, &format!("/a/n{:03}", i), &[i as u8; 10]);
    }
    t
}

#[test]
fn serialize_round_trip() {
    let t = busy_tree();
    let bytes = serialized(&t);
    let u = reload(&bytes).unwrap();
    assert_eq!(u.digest(), t.digest());
    assert_eq!(u.digest(), full_digest(&u));
    assert_eq!(u.node_count(), t.node_count());
    // Java's loaded size counts the root's data under both "" and "/",
    // the live one (adjusted by setData) once.
    assert_eq!(u.approximate_data_size(), t.approximate_data_size() + 4);
    assert_eq!(u.get_ephemerals(SESSION), vec!["/a/eph"]);
    assert_eq!(u.get_containers(), vec!["/cont"]);
    assert_eq!(u.get_ttls(), vec!["/cont/ttl"]);
    assert_eq!(u.acl_cache_size(), t.acl_cache_size());
    for p in [
        "/",
        "/a",
        "/a/null",
        "/a/eph",
        "/cont/ttl",
        "/zookeeper/config",
        "/\u{e9}t\u{e9}",
        "/a/n049",
    ] {
        let (x, y) = (t.get_node(p).unwrap(), u.get_node(p).unwrap());
        assert_eq!(x.data(), y.data(), "{}", p);
        assert_eq!(x.stat(), y.stat(), "{}", p);
        assert_eq!(x.acl(), y.acl(), "{}", p);
        assert_eq!(x.acl_id(), y.acl_id(), "{}", p);
        let (mut a, mut b) = (x.children(), y.children());
        a.sort();
        b.sort();
        assert_eq!(a, b, "{}", p);
    }
    assert_eq!(u.get_data("/a/null").unwrap().0, None);
    // Serializing the reloaded tree gives a tree equal again.
    let again = reload(&serialized(&u)).unwrap();
    assert_eq!(again.digest(), t.digest());
    assert_eq!(serialized(&again).len(), bytes.len());
    // The bytes end with the "/" terminator.
    assert_eq!(&bytes[bytes.len() - 5..], &[0, 0, 0, 1, b'/']);
}

#[test]
fn snapshot_tree_layout_by_hand() {
    // A tree of just a root, written by hand as Java would write it.
    let mut b = Vec::new();
    b.extend(0i32.to_be_bytes()); // ACL map: empty
    b.extend(0i32.to_be_bytes()); // path ""
    b.extend(0i32.to_be_bytes()); // data: empty
    b.extend((-1i64).to_be_bytes()); // acl: OPEN_ACL_UNSAFE
    b.extend(
        StatPersisted {
            pzxid: 3,
            ..Default::default()
        }
        .to_bytes(),
    );
    b.extend([0, 0, 0, 1, b'/']);
    let t = reload(&b).unwrap();
    assert_eq!(t.node_count(), 2);
    assert_eq!(t.get_node("/").unwrap().stat_persisted().pzxid, 3);
    assert_eq!(serialized(&t), b);
}

#[test]
fn truncated_snapshot_trees_are_errors() {
    let bytes = serialized(&busy_tree());
    for n in 0..bytes.len() {
        let err = match reload(&bytes[..n]) {
            Ok(_) => panic!("prefix of {} bytes loaded", n),
            Err(e) => e,
        };
        assert!(err.offset <= n as u64, "offset {} past {}", err.offset, n);
    }
}

fn node_bytes(path: &str) -> Vec<u8> {
    let mut oa = OutputArchive::new(Vec::new());
    oa.write_string(path).unwrap();
    oa.write_buffer(b"").unwrap();
    oa.write_long(-1).unwrap();
    StatPersisted::default().serialize(&mut oa).unwrap();
    oa.into_inner()
}

#[test]
fn damaged_snapshot_trees_are_errors_with_offsets() {
    let head = 0i32.to_be_bytes().to_vec();
    let tail = vec![0, 0, 0, 1, b'/'];
    let case = |paths: &[&str]| {
        let mut b = head.clone();
        for p in paths {
            b.extend(node_bytes(p));
        }
        b.extend(&tail);
        reload(&b).map(|_| ()).unwrap_err()
    };
    let e = case(&["", "/a/b"]);
    assert!(
        e.to_string()
            .contains("unable to find parent /a of path /a/b"),
        "{}",
        e
    );
    assert_eq!(e.offset, 4 + node_bytes("").len() as u64);
    let e = case(&["", "/a", "/a"]);
    assert!(e.to_string().contains("duplicate path /a"), "{}", e);
    let e = case(&["/a"]);
    assert!(e.to_string().contains("not the root"), "{}", e);
    assert_eq!(e.offset, 4);
    let e = case(&["", "a"]);
    assert!(e.to_string().contains("does not start with '/'"), "{}", e);
    // A null path.
    let mut b = head.clone();
    b.extend(node_bytes(""));
    b.extend((-1i32).to_be_bytes());
    assert!(reload(&b).unwrap_err().to_string().contains("null path"));
    // A null ACL vector in the ACL map.
    let mut b = 1i32.to_be_bytes().to_vec();
    b.extend(1i64.to_be_bytes());
    b.extend((-1i32).to_be_bytes());
    let e = reload(&b).unwrap_err();
    assert!(e.to_string().contains("missing ACL vector"), "{}", e);
    assert_eq!(e.offset, 12);
}

#[test]
fn unknown_acl_ids_in_a_snapshot_are_kept_not_fatal() {
    let mut b = 0i32.to_be_bytes().to_vec();
    b.extend(node_bytes(""));
    let mut n = node_bytes("/a");
    let acl_at = 4 + 2 + 4; // path, empty data
    n[acl_at..acl_at + 8].copy_from_slice(&77i64.to_be_bytes());
    b.extend(n);
    b.extend([0, 0, 0, 1, b'/']);
    let mut t = reload(&b).unwrap();
    assert_eq!(t.get_node("/a").unwrap().acl_id(), 77);
    assert!(t.get_acl("/a").unwrap().0.is_empty());
    assert_eq!(t.acl_cache_size(), 0);
    // New lists never take the dangling id.
    create(&mut t, 1, "/b", b"");
    assert_eq!(t.get_node("/b").unwrap().acl_id(), 78);
    assert_eq!(
        reload(&serialized(&t))
            .unwrap()
            .get_node("/a")
            .unwrap()
            .acl_id(),
        77
    );
}

/// A small xorshift generator: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let valid = serialized(&busy_tree());
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for i in 0..3000 {
        let bytes: Vec<u8> = if i % 3 == 0 {
            let n = (rng.next() % 200) as usize;
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            let mut v = valid.clone();
            for _ in 0..1 + rng.next() % 6 {
                let p = (rng.next() % v.len() as u64) as usize;
                v[p] = rng.next() as u8;
            }
            v
        };
        let _ = reload(&bytes);
    }
}

#[test]
fn zxid_digest_follows_the_tree() {
    let mut t = busy_tree();
    let mut oa = OutputArchive::new(Vec::new());
    assert!(t.serialize_zxid_digest(&mut oa).unwrap());
    let b = oa.into_inner();
    assert_eq!(&b[..8], &t.last_processed_zxid().to_be_bytes());
    assert_eq!(&b[8..12], &DIGEST_VERSION.to_be_bytes());
    assert_eq!(&b[12..], &t.digest().to_be_bytes());

    // Loading: the snapshot digest is checked when replay reaches its zxid.
    let mut u = reload(&serialized(&t)).unwrap();
    assert!(u
        .deserialize_zxid_digest(&mut InputArchive::new(&b[..]), 10)
        .unwrap());
    assert_eq!(
        u.digest_from_loaded_snapshot().unwrap().zxid,
        t.last_processed_zxid()
    );
    let h = hdr(t.last_processed_zxid(), op_code::ERROR);
    u.process_txn(&h, &Txn::Error(ErrorTxn { err: 0 }));
    assert_eq!(u.digest_from_loaded_snapshot(), None);
    assert_eq!(u.digest_mismatches(), 0);
    // A digest older than the snapshot is dropped; none at all is fine.
    assert!(u
        .deserialize_zxid_digest(&mut InputArchive::new(&b[..]), i64::MAX)
        .unwrap());
    assert_eq!(u.digest_from_loaded_snapshot(), None);
    assert!(!u
        .deserialize_zxid_digest(&mut InputArchive::new(&b[..4]), 0)
        .unwrap());
    // A fresh tree writes zeros.
    let mut oa = OutputArchive::new(Vec::new());
    tree().serialize_zxid_digest(&mut oa).unwrap();
    assert_eq!(
        oa.into_inner(),
        [&[0u8; 8][..], &[0, 0, 0, 2], &[0u8; 8]].concat()
    );
    t.set_last_processed_zxid(99);
    assert_eq!(t.last_processed_zxid(), 99);
}

#[test]
fn null_data_survives_snapshots_and_create() {
    let mut t = tree();
    apply(
        &mut t,
        1,
        Txn::Create(CreateTxn {
            path: "/n".into(),
            data: None,
            acl: ids::open_acl_unsafe(),
            ephemeral: false,
            parent_c_version: -1,
        }),
    );
    assert_eq!(t.get_data("/n").unwrap().0, None);
    let u = reload(&serialized(&t)).unwrap();
    assert_eq!(u.get_data("/n").unwrap().0, None);
}

/// Run by hand for the memory budget:
/// `cargo test --release -p zk-persistence million -- --ignored --nocapture`
#[test]
#[ignore]
fn million_nodes_memory() {
    fn rss_kb() -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
    let before = rss_kb();
    let mut t = tree();
    create(&mut t, 1, "/bench", b"");
    let value = [b'v'; 100];
    let start = std::time::Instant::now();
    for i in 0..1_000_000i64 {
        let p = format!("/bench/node-{:07}", i);
        create(&mut t, 2 + i, &p, &value);
    }
    let after = rss_kb();
    eprintln!(
        "1M nodes: {:?}, RSS grew {} MB, storage {} MB, digest {}",
        start.elapsed(),
        (after - before) / 1024,
        t.storage_bytes() / (1 << 20),
        t.digest()
    );
    let start = std::time::Instant::now();
    let bytes = serialized(&t);
    let u = reload(&bytes).unwrap();
    eprintln!(
        "snapshot {} MB round trip in {:?}",
        bytes.len() >> 20,
        start.elapsed()
    );
    assert_eq!(u.digest(), t.digest());
}
