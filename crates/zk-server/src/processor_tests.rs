//! Prep + Final, op by op: the error codes, Stat fields and reply layouts
//! Apache ZooKeeper 3.8 gives, through the whole chain (no sockets).

use zk_persistence::jute::Record;
use zk_persistence::records::{Acl, Id, Stat};
use zk_persistence::zoo_defs::{ids, op_code::*, perms, Code, CONTAINER_EPHEMERAL_OWNER};

use crate::auth::generate_digest;
use crate::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use crate::proto::*;
use crate::test_harness::{open_acl, Harness, Sess};

fn create_req(path: &str, data: &[u8], flags: i32, acl: Vec<Acl>) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        acl,
        flags,
    }
}

fn create(h: &mut Harness, s: &Sess, path: &str, flags: i32) -> Result<(String, Stat), Code> {
    let r = h.call_rec(s, CREATE2, &create_req(path, b"d", flags, open_acl()));
    if r.err != 0 {
        return Err(r.code());
    }
    let c: Create2Response = r.ok();
    Ok((c.path, c.stat))
}

fn stat(h: &mut Harness, s: &Sess, path: &str) -> Option<Stat> {
    let r = h.call_rec(
        s,
        EXISTS,
        &ExistsRequest {
            path: path.into(),
            watch: false,
        },
    );
    (r.err == 0).then(|| r.ok::<ExistsResponse>().stat)
}

fn code(h: &mut Harness, s: &Sess, op: i32, body: Vec<u8>) -> Code {
    h.call(s, op, body).code()
}

fn id(scheme: &str, i: &str) -> Id {
    Id {
        scheme: scheme.into(),
        id: i.into(),
    }
}

fn acl(p: i32, scheme: &str, i: &str) -> Vec<Acl> {
    vec![Acl {
        perms: p,
        id: id(scheme, i),
    }]
}

#[test]
fn create_stats_sequences_and_errors() {
    let mut h = Harness::new(&[]);
    let s = h.session();
    let (path, st) = create(&mut h, &s, "/a", 0).unwrap();
    assert_eq!(path, "/a");
    assert_eq!(st.czxid, st.mzxid);
    assert_eq!(st.czxid, st.pzxid);
    assert_eq!(st.ctime, st.mtime);
    assert_eq!(
        (st.version, st.cversion, st.aversion, st.ephemeral_owner),
        (0, 0, 0, 0)
    );
    assert_eq!((st.data_length, st.num_children), (1, 0));
    let zxid_a = st.czxid;

    // A plain create answers with the path only.
    let r = h.call_rec(&s, CREATE, &create_req("/b", b"", 0, open_acl()));
    assert_eq!(r.ok::<CreateResponse>().path, "/b");
    assert_eq!(r.body.len(), 4 + 2);

    let errs = [
        ("/a", 0, Code::NODEEXISTS),
        ("/x/y", 0, Code::NONODE),
        ("a", 0, Code::BADARGUMENTS),
        ("/a/", 0, Code::BADARGUMENTS),
        // The parent ("/a/") is looked up before the path is validated.
        ("/a//b", 0, Code::NONODE),
        ("/a/.", 0, Code::BADARGUMENTS),
        ("/", 0, Code::NODEEXISTS),
        ("/a", 99, Code::BADARGUMENTS),
        // TTL modes need a TTL; createTTL is the only way to give one.
        ("/t", 5, Code::BADARGUMENTS),
    ];
    let mut last = zxid_a;
    for (p, flags, want) in errs {
        let r = h.call_rec(&s, CREATE2, &create_req(p, b"", flags, open_acl()));
        assert_eq!(r.code(), want, "{} flags {}", p, flags);
        // Every failed write still used up a zxid (an error txn).
        assert!(r.zxid > last, "{}: zxid 0x{:x}", p, r.zxid);
        last = r.zxid;
    }
    let r = h.call_rec(&s, CREATE2, &create_req("/c", b"", 0, vec![]));
    assert_eq!(r.code(), Code::INVALIDACL);

    // Sequential names count the parent's cversion, deletes included.
    create(&mut h, &s, "/a/x", 0).unwrap();
    let del = DeleteRequest {
        path: "/a/x".into(),
        version: -1,
    };
    assert_eq!(h.call_rec(&s, DELETE, &del).err, 0);
    let (p, _) = create(&mut h, &s, "/a/s-", 2).unwrap();
    assert_eq!(p, "/a/s-0000000001");
    let (p, _) = create(&mut h, &s, "/a/", 2).unwrap();
    assert_eq!(p, "/a/0000000002");
    let pa = stat(&mut h, &s, "/a").unwrap();
    // Clients see cversion as changes (DataNode.copyStat): 2 * creates
    // minus the children still there.
    assert_eq!((pa.cversion, pa.num_children), (2 * 3 - 2, 2));

    // Ephemerals belong to the session and cannot have children.
    let (_, e) = create(&mut h, &s, "/e", 1).unwrap();
    assert_eq!(e.ephemeral_owner, s.id);
    assert_eq!(
        create(&mut h, &s, "/e/c", 0),
        Err(Code::NOCHILDRENFOREPHEMERALS)
    );
    h.shutdown();
}

#[test]
fn delete_set_data_and_versions() {
    let mut h = Harness::new(&[]);
    let s = h.session();
    create(&mut h, &s, "/a", 0).unwrap();
    create(&mut h, &s, "/a/b", 0).unwrap();
    let del = |p: &str, v: i32| {
        DeleteRequest {
            path: p.into(),
            version: v,
        }
        .to_bytes()
    };
    assert_eq!(code(&mut h, &s, DELETE, del("/a", -1)), Code::NOTEMPTY);
    assert_eq!(code(&mut h, &s, DELETE, del("/a/b", 3)), Code::BADVERSION);
    assert_eq!(code(&mut h, &s, DELETE, del("/nope", -1)), Code::NONODE);
    for special in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert_eq!(
            code(&mut h, &s, DELETE, del(special, -1)),
            Code::BADARGUMENTS,
            "{}",
            special
        );
    }
    let before = stat(&mut h, &s, "/a").unwrap();
    let r = h.call(&s, DELETE, del("/a/b", 0));
    assert_eq!((r.err, r.body.len()), (0, 0));
    let after = stat(&mut h, &s, "/a").unwrap();
    assert_eq!(after.pzxid, r.zxid);
    // The stored cversion stays; the one clients see counts the delete.
    assert_eq!((before.cversion, after.cversion), (1, 2));
    assert_eq!(after.num_children, 0);

    let set = |p: &str, d: &[u8], v: i32| {
        SetDataRequest {
            path: p.into(),
            data: Some(d.to_vec()),
            version: v,
        }
        .to_bytes()
    };
    let r = h.call(&s, SET_DATA, set("/a", b"xyz", 0));
    let st = r.ok::<SetDataResponse>().stat;
    assert_eq!((st.version, st.data_length, st.mzxid), (1, 3, r.zxid));
    assert!(st.mtime >= st.ctime);
    assert_eq!(st.czxid, before.czxid);
    assert_eq!(
        code(&mut h, &s, SET_DATA, set("/a", b"", 0)),
        Code::BADVERSION
    );
    assert_eq!(
        code(&mut h, &s, SET_DATA, set("/none", b"", -1)),
        Code::NONODE
    );
    assert_eq!(
        code(&mut h, &s, SET_DATA, set("/a/", b"", -1)),
        Code::BADARGUMENTS
    );
    let r = h.call_rec(
        &s,
        GET_DATA,
        &GetDataRequest {
            path: "/a".into(),
            watch: false,
        },
    );
    let g: GetDataResponse = r.ok();
    assert_eq!(g.data.as_deref(), Some(&b"xyz"[..]));
    assert_eq!(g.stat, st);
    // Null data stays null.
    let r = h.call_rec(
        &s,
        CREATE2,
        &CreateRequest {
            path: "/n".into(),
            data: None,
            acl: open_acl(),
            flags: 0,
        },
    );
    assert_eq!(r.ok::<Create2Response>().stat.data_length, 0);
    let g: GetDataResponse = h
        .call_rec(
            &s,
            GET_DATA,
            &GetDataRequest {
                path: "/n".into(),
                watch: false,
            },
        )
        .ok();
    assert_eq!(g.data, None);
    h.shutdown();
}

#[test]
fn acls_auth_and_super() {
    let mut h = Harness::new(&[(
        "zookeeper.DigestAuthenticationProvider.superDigest",
        "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
    )]);
    let mut alice = h.session();
    assert_eq!(h.add_auth(&mut alice, "digest", "alice:pw"), Code::OK);
    let mut bob = h.session();
    assert_eq!(h.add_auth(&mut bob, "digest", "bob:pw"), Code::OK);
    let anon = h.session();
    assert_eq!(
        h.add_auth(&mut bob.clone(), "world", "anyone"),
        Code::AUTHFAILED
    );

    // "auth" expands to the creator's authenticated ids; ip is not one.
    let r = h.call_rec(
        &alice,
        CREATE2,
        &create_req("/p", b"s", 0, ids::creator_all_acl()),
    );
    assert_eq!(r.err, 0);
    let r = h.call_rec(
        &anon,
        CREATE2,
        &create_req("/q", b"", 0, ids::creator_all_acl()),
    );
    assert_eq!(r.code(), Code::INVALIDACL);

    let get_acl = |p: &str| GetAclRequest { path: p.into() }.to_bytes();
    let r = h.call(&alice, GET_ACL, get_acl("/p"));
    let g: GetAclResponse = r.ok();
    assert_eq!(
        g.acl,
        acl(perms::ALL, "digest", &generate_digest("alice:pw"))
    );

    let get = |p: &str| {
        GetDataRequest {
            path: p.into(),
            watch: false,
        }
        .to_bytes()
    };
    assert_eq!(code(&mut h, &bob, GET_DATA, get("/p")), Code::NOAUTH);
    assert_eq!(code(&mut h, &bob, GET_ACL, get_acl("/p")), Code::NOAUTH);
    // exists has no ACL check.
    assert!(stat(&mut h, &bob, "/p").is_some());
    let children = GetChildrenRequest {
        path: "/p".into(),
        watch: false,
    };
    assert_eq!(
        h.call_rec(&bob, GET_CHILDREN, &children).code(),
        Code::NOAUTH
    );
    assert_eq!(
        h.call_rec(&bob, GET_CHILDREN2, &children).code(),
        Code::NOAUTH
    );
    assert_eq!(
        h.call_rec(
            &bob,
            GET_ALL_CHILDREN_NUMBER,
            &GetAllChildrenNumberRequest { path: "/p".into() }
        )
        .code(),
        Code::NOAUTH
    );
    assert_eq!(create(&mut h, &bob, "/p/c", 0), Err(Code::NOAUTH));
    let set = SetDataRequest {
        path: "/p".into(),
        data: None,
        version: -1,
    };
    assert_eq!(h.call_rec(&bob, SET_DATA, &set).code(), Code::NOAUTH);

    read_only_acl_delete_and_super(&mut h, &alice, &bob);
    h.shutdown();
}

/// [`acls_auth_and_super`], continued: getACL without ADMIN, delete's parent check, the super digest.
fn read_only_acl_delete_and_super(h: &mut Harness, alice: &Sess, bob: &Sess) {
    let get_acl = |p: &str| GetAclRequest { path: p.into() }.to_bytes();
    let get = |p: &str| {
        GetDataRequest {
            path: p.into(),
            watch: false,
        }
        .to_bytes()
    };
    // READ alone lets getACL through but hides the digests.
    let mut mixed = acl(perms::ALL, "digest", &generate_digest("alice:pw"));
    mixed.push(Acl {
        perms: perms::READ,
        id: id("world", "anyone"),
    });
    let set_acl = |p: &str, a: Vec<Acl>, v: i32| {
        SetAclRequest {
            path: p.into(),
            acl: a,
            version: v,
        }
        .to_bytes()
    };
    assert_eq!(
        code(h, bob, SET_ACL, set_acl("/p", mixed.clone(), -1)),
        Code::NOAUTH
    );
    let r = h.call(alice, SET_ACL, set_acl("/p", mixed.clone(), 0));
    assert_eq!(r.ok::<SetAclResponse>().stat.aversion, 1);
    assert_eq!(
        code(h, alice, SET_ACL, set_acl("/p", mixed.clone(), 0)),
        Code::BADVERSION
    );
    assert_eq!(
        code(h, alice, SET_ACL, set_acl("/p", vec![], -1)),
        Code::INVALIDACL
    );
    assert_eq!(
        code(h, alice, SET_ACL, set_acl("/none", mixed.clone(), -1)),
        Code::NONODE
    );
    let g: GetAclResponse = h.call(bob, GET_ACL, get_acl("/p")).ok();
    assert_eq!(g.acl[0].id, id("digest", "alice:x"));
    assert_eq!(g.stat.aversion, 1);
    assert_eq!(h.call(bob, GET_DATA, get("/p")).err, 0);

    // Delete needs DELETE on the parent, not on the node.
    let r = h.call_rec(alice, CREATE2, &create_req("/p/c", b"", 0, open_acl()));
    assert_eq!(r.err, 0);
    let del = DeleteRequest {
        path: "/p/c".into(),
        version: -1,
    };
    assert_eq!(h.call_rec(bob, DELETE, &del).code(), Code::NOAUTH);

    // The super digest opens everything.
    let mut root = h.session();
    assert_eq!(h.add_auth(&mut root, "digest", "super:test"), Code::OK);
    assert_eq!(h.call_rec(&root, DELETE, &del).err, 0);
    let who: WhoAmIResponse = h.call(&root, WHO_AM_I, vec![]).ok();
    let infos: Vec<(String, String)> = who
        .client_info
        .into_iter()
        .map(|c| (c.auth_scheme, c.user))
        .collect();
    // In the order 3.8's authInfo set iterates them (by hash bin).
    assert_eq!(
        infos,
        vec![
            ("super".into(), "".into()),
            ("ip".into(), "127.0.0.1".into()),
            ("digest".into(), "super".into()),
        ]
    );
}

#[test]
fn skip_acl_turns_checks_off() {
    let mut h = Harness::new(&[("zookeeper.skipACL", "yes")]);
    let s = h.session();
    let r = h.call_rec(
        &s,
        CREATE2,
        &create_req("/r", b"", 0, ids::read_acl_unsafe()),
    );
    assert_eq!(r.err, 0);
    assert_eq!(
        create(&mut h, &s, "/r/c", 0).map(|(p, _)| p),
        Ok("/r/c".into())
    );
    h.shutdown();
}

fn multi(h: &mut Harness, s: &Sess, ops: Vec<MultiOp>) -> (i32, MultiResponse) {
    let r = h.call(s, MULTI, MultiRequest { ops }.to_bytes());
    (r.err, MultiResponse::from_bytes(&r.body).unwrap())
}

#[test]
fn multi_results_and_failure_layout() {
    let mut h = Harness::new(&[]);
    let s = h.session();
    create(&mut h, &s, "/m", 0).unwrap();
    let (err, rsp) = multi(
        &mut h,
        &s,
        vec![
            MultiOp::Create(create_req("/m/a", b"", 0, open_acl())),
            MultiOp::Create(create_req("/m/s-", b"", 2, open_acl())),
            MultiOp::SetData(SetDataRequest {
                path: "/m/a".into(),
                data: Some(b"v".to_vec()),
                version: 0,
            }),
            MultiOp::Check(CheckVersionRequest {
                path: "/m/a".into(),
                version: 1,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/m/a".into(),
                version: 1,
            }),
        ],
    );
    assert_eq!(err, 0);
    let r = &rsp.results;
    assert_eq!(r[0], OpResult::Create("/m/a".into()));
    assert_eq!(r[1], OpResult::Create("/m/s-0000000001".into()));
    let OpResult::SetData(st) = &r[2] else {
        panic!("{:?}", r[2])
    };
    assert_eq!(st.version, 1);
    assert_eq!((&r[3], &r[4]), (&OpResult::Check, &OpResult::Delete));
    let m = stat(&mut h, &s, "/m").unwrap();
    assert_eq!((m.num_children, m.cversion), (1, 2 * 2 - 1));

    // A failed multi: OK before the failing op, its code, then
    // RUNTIMEINCONSISTENCY; nothing applied; the header says OK.
    let (err, rsp) = multi(
        &mut h,
        &s,
        vec![
            MultiOp::Create(create_req("/m/b", b"", 0, open_acl())),
            MultiOp::Create(create_req("/m/s-", b"", 2, open_acl())),
            MultiOp::Check(CheckVersionRequest {
                path: "/m".into(),
                version: 42,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/m".into(),
                version: -1,
            }),
        ],
    );
    assert_eq!(err, 0);
    assert_eq!(
        rsp.results,
        vec![
            OpResult::Error(0),
            OpResult::Error(0),
            OpResult::Error(Code::BADVERSION as i32),
            OpResult::Error(Code::RUNTIMEINCONSISTENCY as i32),
        ]
    );
    assert!(stat(&mut h, &s, "/m/b").is_none());
    // The rolled-back sequential name is free again.
    let (p, _) = create(&mut h, &s, "/m/s-", 2).unwrap();
    assert_eq!(p, "/m/s-0000000002");
    assert_eq!(
        create(&mut h, &s, "/m/b", 0).map(|x| x.0),
        Ok("/m/b".into())
    );

    multi_sees_its_own_ops_and_multi_read(&mut h, &s);
    h.shutdown();
}

/// [`multi_results_and_failure_layout`], continued: ops seeing earlier ones of the same multi, and multiRead.
fn multi_sees_its_own_ops_and_multi_read(h: &mut Harness, s: &Sess) {
    // Later ops see earlier ones of the same multi.
    let (_, rsp) = multi(
        h,
        s,
        vec![
            MultiOp::Create(create_req("/m/c", b"", 0, open_acl())),
            MultiOp::Create(create_req("/m/c/d", b"", 0, open_acl())),
            MultiOp::Delete(DeleteRequest {
                path: "/m/c".into(),
                version: -1,
            }),
        ],
    );
    assert_eq!(
        rsp.results[2],
        OpResult::Error(Code::NOTEMPTY as i32),
        "{:?}",
        rsp
    );

    // multiRead: per-op errors, the rest answered.
    let r = h.call(
        s,
        MULTI_READ,
        MultiRequest {
            ops: vec![
                MultiOp::GetData(GetDataRequest {
                    path: "/m/b".into(),
                    watch: false,
                }),
                MultiOp::GetChildren(GetChildrenRequest {
                    path: "/nope".into(),
                    watch: false,
                }),
                MultiOp::GetChildren(GetChildrenRequest {
                    path: "/m/b".into(),
                    watch: false,
                }),
            ],
        }
        .to_bytes(),
    );
    assert_eq!(r.err, 0);
    let rsp = MultiResponse::from_bytes(&r.body).unwrap();
    assert!(matches!(rsp.results[0], OpResult::GetData(Some(_), _)));
    assert_eq!(rsp.results[1], OpResult::Error(Code::NONODE as i32));
    assert_eq!(rsp.results[2], OpResult::GetChildren(vec![]));
    assert_eq!(
        h.zks.db().read().unwrap().data_tree().digest_mismatches(),
        0
    );
}

#[test]
fn reads_sessions_and_odd_requests() {
    let mut h = Harness::new(&[]);
    let s = h.session();
    create(&mut h, &s, "/g", 0).unwrap();
    create(&mut h, &s, "/g/a", 0).unwrap();
    create(&mut h, &s, "/g/a/b", 0).unwrap();
    create(&mut h, &s, "/g/e1", 1).unwrap();
    create(&mut h, &s, "/h", 1).unwrap();
    let n: GetAllChildrenNumberResponse = h
        .call_rec(
            &s,
            GET_ALL_CHILDREN_NUMBER,
            &GetAllChildrenNumberRequest { path: "/g".into() },
        )
        .ok();
    assert_eq!(n.total_number, 3);
    let r = h.call_rec(
        &s,
        GET_ALL_CHILDREN_NUMBER,
        &GetAllChildrenNumberRequest { path: "/x".into() },
    );
    assert_eq!(r.code(), Code::NONODE);
    let mut e: GetEphemeralsResponse = h
        .call_rec(
            &s,
            GET_EPHEMERALS,
            &GetEphemeralsRequest {
                prefix_path: "/g".into(),
            },
        )
        .ok();
    assert_eq!(e.ephemerals, vec!["/g/e1".to_string()]);
    e = h
        .call_rec(
            &s,
            GET_EPHEMERALS,
            &GetEphemeralsRequest {
                prefix_path: " / ".into(),
            },
        )
        .ok();
    e.ephemerals.sort();
    assert_eq!(e.ephemerals, vec!["/g/e1".to_string(), "/h".to_string()]);
    let c2: GetChildren2Response = h
        .call_rec(
            &s,
            GET_CHILDREN2,
            &GetChildren2Request {
                path: "/g".into(),
                watch: false,
            },
        )
        .ok();
    assert_eq!(c2.stat.num_children, 2);
    assert_eq!(c2.stat.cversion, 2);
    let sy: SyncResponse = h
        .call_rec(&s, SYNC, &SyncRequest { path: "/g".into() })
        .ok();
    assert_eq!(sy.path, "/g");

    reconfig_odd_requests_and_sessions(&mut h, &s);
    h.shutdown();
}

/// [`reads_sessions_and_odd_requests`], continued: reconfig, opcodes no client may send, undecodable records, unknown and closed sessions.
fn reconfig_odd_requests_and_sessions(h: &mut Harness, s: &Sess) {
    // A standalone 3.8 with reconfig off; the refusal is logged.
    let rc = ReconfigRequest {
        joining_servers: String::new(),
        leaving_servers: "2".into(),
        new_members: String::new(),
        cur_config_id: -1,
    };
    let before = h.zks.zxid();
    assert_eq!(h.call_rec(s, RECONFIG, &rc).code(), Code::RECONFIGDISABLED);
    assert_eq!(h.zks.zxid(), before + 1);

    // Opcodes no client may send.
    for op in [NOTIFICATION, 99, AUTH + 50] {
        assert_eq!(code(h, s, op, vec![]), Code::UNIMPLEMENTED, "{}", op);
    }
    // Undecodable records.
    assert_eq!(code(h, s, GET_DATA, vec![0, 0]), Code::MARSHALLINGERROR);
    assert_eq!(code(h, s, CREATE, vec![0, 0]), Code::MARSHALLINGERROR);

    // A session that is closing or unknown.
    let ghost = Sess {
        id: 0x7777,
        ..s.clone()
    };
    assert_eq!(create(h, &ghost, "/z", 0), Err(Code::UNKNOWNSESSION));
    let g = GetDataRequest {
        path: "/g".into(),
        watch: false,
    };
    assert_eq!(
        h.call_rec(&ghost, GET_DATA, &g).code(),
        Code::UNKNOWNSESSION
    );

    // closeSession deletes the session's ephemerals.
    let r = h.call(s, CLOSE_SESSION, vec![]);
    assert_eq!(r.err, 0);
    let t = h.session();
    assert!(stat(h, &t, "/h").is_none());
    assert!(stat(h, &t, "/g/e1").is_none());
    let g2 = stat(h, &t, "/g").unwrap();
    assert_eq!(g2.pzxid, r.zxid);
    assert_eq!(
        h.zks.db().read().unwrap().data_tree().digest_mismatches(),
        0
    );
}

#[test]
fn watches_one_shot_persistent_and_removal() {
    let mut h = Harness::new(&[]);
    let s = h.session();
    let w = h.session();
    let get = |p: &str| {
        GetDataRequest {
            path: p.into(),
            watch: true,
        }
        .to_bytes()
    };
    assert_eq!(
        h.call_rec(
            &w,
            EXISTS,
            &ExistsRequest {
                path: "/w".into(),
                watch: true
            }
        )
        .code(),
        Code::NONODE
    );
    create(&mut h, &s, "/w", 0).unwrap();
    assert_eq!(h.take_events(w.cnxn), vec![(1, "/w".to_string())]);
    assert_eq!(h.call(&w, GET_DATA, get("/w")).err, 0);
    let ch = GetChildrenRequest {
        path: "/w".into(),
        watch: true,
    };
    assert_eq!(h.call_rec(&w, GET_CHILDREN, &ch).err, 0);
    create(&mut h, &s, "/w/c", 0).unwrap();
    let set = SetDataRequest {
        path: "/w".into(),
        data: None,
        version: -1,
    };
    h.call_rec(&s, SET_DATA, &set);
    h.call_rec(&s, SET_DATA, &set);
    assert_eq!(
        h.take_events(w.cnxn),
        vec![(4, "/w".to_string()), (3, "/w".to_string())],
        "one-shot: one event each"
    );

    check_remove_persistent_and_recursive_watches(&mut h, &s, &w);
    set_watches_fire_changed_and_restore(&mut h, &s, &w);
    h.shutdown();
}

/// [`watches_one_shot_persistent_and_removal`], continued: checking and removing watches, persistent and recursive ones.
fn check_remove_persistent_and_recursive_watches(h: &mut Harness, s: &Sess, w: &Sess) {
    let get = |p: &str| {
        GetDataRequest {
            path: p.into(),
            watch: true,
        }
        .to_bytes()
    };
    let set = SetDataRequest {
        path: "/w".into(),
        data: None,
        version: -1,
    };
    // checkWatches / removeWatches.
    let cw = |p: &str, t: i32| {
        CheckWatchesRequest {
            path: p.into(),
            r#type: t,
        }
        .to_bytes()
    };
    assert_eq!(code(h, w, REMOVE_WATCHES, cw("/w", 3)), Code::NOWATCHER);
    assert_eq!(h.call(w, GET_DATA, get("/w")).err, 0);
    assert_eq!(code(h, w, CHECK_WATCHES, cw("/w", 1)), Code::NOWATCHER);
    assert_eq!(h.call(w, CHECK_WATCHES, cw("/w", 2)).err, 0);
    assert_eq!(
        code(h, w, REMOVE_WATCHES, cw("/w", 7)),
        Code::MARSHALLINGERROR
    );
    assert_eq!(h.call(w, REMOVE_WATCHES, cw("/w", 2)).err, 0);
    h.call_rec(s, SET_DATA, &set);
    assert!(h.take_events(w.cnxn).is_empty());

    // Persistent: stays, sees data and child changes of the node only.
    let add = |p: &str, m: i32| {
        AddWatchRequest {
            path: p.into(),
            mode: m,
        }
        .to_bytes()
    };
    let r = h.call(w, ADD_WATCH, add("/w", 0));
    assert_eq!((r.err, r.body.len()), (0, 4));
    assert_eq!(code(h, w, ADD_WATCH, add("/w", 2)), Code::MARSHALLINGERROR);
    h.call_rec(s, SET_DATA, &set);
    h.call_rec(s, SET_DATA, &set);
    create(h, s, "/w/d", 0).unwrap();
    create(h, s, "/w/d/e", 0).unwrap();
    assert_eq!(
        h.take_events(w.cnxn),
        vec![
            (3, "/w".to_string()),
            (3, "/w".to_string()),
            (4, "/w".to_string())
        ]
    );
    assert_eq!(h.call(w, REMOVE_WATCHES, cw("/w", 3)).err, 0);

    // Recursive: every node below, no child-list events.
    assert_eq!(h.call(w, ADD_WATCH, add("/w", 1)).err, 0);
    create(h, s, "/w/d/f", 0).unwrap();
    let del = DeleteRequest {
        path: "/w/d/e".into(),
        version: -1,
    };
    h.call_rec(s, DELETE, &del);
    assert_eq!(
        h.take_events(w.cnxn),
        vec![(1, "/w/d/f".to_string()), (2, "/w/d/e".to_string())]
    );
    // 3.8 registers a recursive watch in the child table too.
    assert_eq!(h.call(w, REMOVE_WATCHES, cw("/w", 1)).err, 0);
    assert_eq!(h.call(w, REMOVE_WATCHES, cw("/w", 2)).err, 0);
}

/// [`watches_one_shot_persistent_and_removal`], continued: setWatches and setWatches2 after a reconnect.
fn set_watches_fire_changed_and_restore(h: &mut Harness, s: &Sess, w: &Sess) {
    let set = SetDataRequest {
        path: "/w".into(),
        data: None,
        version: -1,
    };
    // setWatches: already-changed conditions fire at once.
    let zxid = h.zks.last_processed_zxid();
    h.call_rec(s, SET_DATA, &set);
    let sw = SetWatches {
        relative_zxid: zxid,
        data_watches: vec!["/w".into(), "/w/c".into(), "/gone".into()],
        exist_watches: vec!["/w/d".into(), "/later".into()],
        child_watches: vec!["/w/c".into()],
    };
    assert_eq!(h.call_rec(w, SET_WATCHES, &sw).err, 0);
    assert_eq!(
        h.take_events(w.cnxn),
        vec![
            (3, "/w".to_string()),
            (2, "/gone".to_string()),
            (1, "/w/d".to_string())
        ]
    );
    create(h, s, "/later", 0).unwrap();
    create(h, s, "/w/c/x", 0).unwrap();
    assert_eq!(
        h.take_events(w.cnxn),
        vec![(1, "/later".to_string()), (4, "/w/c".to_string())]
    );

    // setWatches2 brings persistent and recursive watches back.
    let w2 = h.session();
    let sw2 = SetWatches2 {
        relative_zxid: h.zks.last_processed_zxid(),
        persistent_watches: vec!["/w".into()],
        persistent_recursive_watches: vec!["/later".into()],
        ..Default::default()
    };
    assert_eq!(h.call_rec(&w2, SET_WATCHES2, &sw2).err, 0);
    h.call_rec(s, SET_DATA, &set);
    h.call_rec(s, SET_DATA, &set);
    create(h, s, "/later/y", 0).unwrap();
    assert_eq!(
        h.take_events(w2.cnxn),
        vec![
            (3, "/w".to_string()),
            (3, "/w".to_string()),
            (1, "/later/y".to_string())
        ]
    );
}

#[test]
fn containers_ttls_and_delete_container() {
    let mut h = Harness::new(&[]);
    let s = h.session();
    let r = h.call_rec(&s, CREATE_CONTAINER, &create_req("/k", b"", 4, open_acl()));
    let c: Create2Response = r.ok();
    // Clients see 0 for containers and TTL nodes (getClientEphemeralOwner).
    assert_eq!(c.stat.ephemeral_owner, 0);
    let owner = |h: &Harness, p: &str| {
        let db = h.zks.db().read().unwrap();
        db.data_tree()
            .get_node(p)
            .unwrap()
            .stat_persisted()
            .ephemeral_owner
    };
    assert_eq!(owner(&h, "/k"), CONTAINER_EPHEMERAL_OWNER);
    create(&mut h, &s, "/k/c", 0).unwrap();
    create(&mut h, &s, "/plain", 0).unwrap();

    let ttl = |p: &str, flags: i32, ttl: i64| CreateTtlRequest {
        path: p.into(),
        data: None,
        acl: open_acl(),
        flags,
        ttl,
    };
    let r = h.call_rec(&s, CREATE_TTL, &ttl("/t", 5, 1000));
    let t: Create2Response = r.ok();
    assert_eq!(t.stat.ephemeral_owner, 0);
    assert_eq!(owner(&h, "/t") as u64, 0xff00_0000_0000_03e8);
    // Named from the stored cversion, not the one clients see.
    let root = stat(&mut h, &s, "/").unwrap();
    let t2: Create2Response = h.call_rec(&s, CREATE_TTL, &ttl("/t-", 6, 5)).ok();
    let stored = (root.cversion + root.num_children) / 2;
    assert_eq!(t2.path, format!("/t-{:010}", stored));
    for (flags, t) in [(5, 0), (5, -1), (5, 0x00ff_ffff_ffff + 1), (0, 1000)] {
        assert_eq!(
            h.call_rec(&s, CREATE_TTL, &ttl("/u", flags, t)).code(),
            Code::BADARGUMENTS,
            "flags {} ttl {}",
            flags,
            t
        );
    }

    let dc = |p: &str| p.as_bytes().to_vec();
    assert_eq!(code(&mut h, &s, DELETE_CONTAINER, dc("/k")), Code::NOTEMPTY);
    // Only a session's ephemeral is refused; 3.8 lets deleteContainer
    // remove an empty persistent node.
    create(&mut h, &s, "/eph", 1).unwrap();
    assert_eq!(
        code(&mut h, &s, DELETE_CONTAINER, dc("/eph")),
        Code::BADVERSION
    );
    assert_eq!(h.call(&s, DELETE_CONTAINER, dc("/plain")).err, 0);
    assert_eq!(
        code(&mut h, &s, DELETE_CONTAINER, dc("/none")),
        Code::NONODE
    );
    let del = DeleteRequest {
        path: "/k/c".into(),
        version: -1,
    };
    h.call_rec(&s, DELETE, &del);
    assert_eq!(h.call(&s, DELETE_CONTAINER, dc("/k")).err, 0);
    assert_eq!(h.call(&s, DELETE_CONTAINER, dc("/t")).err, 0);
    assert!(stat(&mut h, &s, "/k").is_none());
    assert_eq!(
        h.zks.db().read().unwrap().data_tree().digest_mismatches(),
        0
    );
    h.shutdown();
}
