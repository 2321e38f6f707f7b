//! One node's conformance script: the whole 3.8 operation list through
//! that node, with watches and reads through a second node, each answer
//! checked against the [`Model`] of the script's subtree.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use zookeeper_client as zk;
use zookeeper_client::{AddWatchMode, CreateMode, EventType, MultiWriteResult};

use super::model::Model;
use super::Check;
use crate::ensemble::OP_TIMEOUT;

/// A client of one node, and how failures through it are named.
#[derive(Clone)]
pub struct Node {
    /// How failures seen through this node are named.
    pub check: Check,
    /// A session connected to this node alone.
    pub client: zk::Client,
    /// `127.0.0.1:PORT` of this node.
    pub connect_string: String,
}

/// The digest identity the script authenticates as, and its ACL id
/// (`user:base64(sha1("user:password"))`).
const DIGEST_USER: &[u8] = b"conf:pw";
const DIGEST_ID: &str = "conf:MKNFN7EL1qS2OLU9tQzjSs4MDUQ=";

/// A session that may read every node the scripts make.
pub async fn connect_reader(connect_string: &str) -> Result<zk::Client, String> {
    crate::workload::connect(
        connect_string,
        &[("digest", DIGEST_USER)],
        None,
        false,
        OP_TIMEOUT,
    )
    .await
}

/// Runs `op` within [`OP_TIMEOUT`]; the outer error is the time-out.
async fn timed<T, E>(
    check: &Check,
    what: &str,
    op: impl Future<Output = Result<T, E>>,
) -> Result<Result<T, E>, String> {
    tokio::time::timeout(OP_TIMEOUT, op)
        .await
        .map_err(|_| check.fail(what, &format!("no answer within {OP_TIMEOUT:?}")))
}

/// `op` must succeed.
async fn ok<T>(
    check: &Check,
    what: &str,
    op: impl Future<Output = Result<T, zk::Error>>,
) -> Result<T, String> {
    timed(check, what, op)
        .await?
        .map_err(|e| check.fail(what, &format!("failed: {e}")))
}

/// `op` must fail with `want`.
async fn fails<T: Debug>(
    check: &Check,
    what: &str,
    want: zk::Error,
    op: impl Future<Output = Result<T, zk::Error>>,
) -> Result<(), String> {
    match timed(check, what, op).await? {
        Err(e) if e == want => Ok(()),
        other => Err(check.fail(what, &format!("got {other:?}, want Err({want:?})"))),
    }
}

fn same<T: Debug + PartialEq>(check: &Check, what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(check.fail(what, &format!("got {got:?}, want {want:?}")))
    }
}

fn open(mode: CreateMode) -> zk::CreateOptions<'static> {
    mode.with_acls(zk::Acls::anyone_all())
}

/// Waits for the next event of a watch, bounded.
async fn event(
    check: &Check,
    what: &str,
    changed: impl Future<Output = zk::WatchedEvent>,
) -> Result<(EventType, String), String> {
    let e = tokio::time::timeout(OP_TIMEOUT, changed)
        .await
        .map_err(|_| check.fail(what, &format!("no event within {OP_TIMEOUT:?}")))?;
    Ok((e.event_type, e.path))
}

/// The script of node `sid` through `actor`, with `peer` (a client of
/// another node) watching and reading. Returns the model of its subtree,
/// for the caller to read back through every node once all scripts ran.
pub async fn run(actor: &Node, peer: &Node, sid: u64) -> Result<Model, String> {
    let base = format!("/conformance/n{sid}");
    let a = &actor.client;
    let ck = &actor.check;
    let (st, _) = ok(
        ck,
        "create base",
        a.create(&base, b"base", &open(CreateMode::Persistent)),
    )
    .await?;
    same(
        ck,
        "a new node's version",
        (st.version, st.cversion, st.aversion),
        (0, 0, 0),
    )?;
    same(
        ck,
        "a new node's zxids",
        (st.mzxid, st.pzxid),
        (st.czxid, st.czxid),
    )?;
    let mut m = Model::root(&base, b"base", st.czxid);

    create_modes(actor, &base, &mut m).await?;
    errors(actor, &base).await?;
    reads_and_versions(actor, &base, &mut m).await?;
    acls_and_auth(actor, peer, &base, &mut m).await?;
    multi(actor, &base, &mut m).await?;
    watches(actor, peer, &base, &mut m).await?;
    sessions(actor, peer, &base, &mut m).await?;

    // Read-your-writes through another node: sync, then every node of the
    // model as the model says (read as the digest user, who may read all).
    for node in [peer, actor] {
        let reader = connect_reader(&node.connect_string)
            .await
            .map_err(|e| node.check.fail("connect", &e))?;
        ok(&node.check, "sync", reader.sync(&base)).await?;
        m.check_all(&reader, &node.check).await?;
    }
    Ok(m)
}

/// Every create mode, with the stat and name each one answers.
async fn create_modes(actor: &Node, base: &str, m: &mut Model) -> Result<(), String> {
    let (a, ck) = (&actor.client, &actor.check);
    let me = a.session_id().0;
    let p = format!("{base}/p");
    let (st, seq) = ok(
        ck,
        "create2 persistent",
        a.create(&p, b"p1", &open(CreateMode::Persistent)),
    )
    .await?;
    same(
        ck,
        "persistent create",
        (st.data_length, st.ephemeral_owner, seq.into_i64()),
        (2, 0, -1),
    )?;
    m.create(&p, b"p1", 0, st.czxid);

    for _ in 0..2 {
        let prefix = format!("{base}/s-");
        let want = m.sequential_path(&prefix);
        let (st, seq) = ok(
            ck,
            "create sequential",
            a.create(&prefix, b"", &open(CreateMode::PersistentSequential)),
        )
        .await?;
        same(
            ck,
            "sequential name",
            format!("{prefix}{seq}"),
            want.clone(),
        )?;
        m.create(&want, b"", 0, st.czxid);
    }
    let e = format!("{base}/e");
    let (st, _) = ok(
        ck,
        "create ephemeral",
        a.create(&e, b"eph", &open(CreateMode::Ephemeral)),
    )
    .await?;
    same(ck, "ephemeral owner", st.ephemeral_owner, me)?;
    m.create(&e, b"eph", me, st.czxid);

    let prefix = format!("{base}/es-");
    let want = m.sequential_path(&prefix);
    let (st, seq) = ok(
        ck,
        "create ephemeral sequential",
        a.create(&prefix, b"", &open(CreateMode::EphemeralSequential)),
    )
    .await?;
    same(
        ck,
        "ephemeral sequential",
        (format!("{prefix}{seq}"), st.ephemeral_owner),
        (want.clone(), me),
    )?;
    m.create(&want, b"", me, st.czxid);

    // A container with a child, so that the container manager leaves it.
    let k = format!("{base}/k");
    let (st, _) = ok(
        ck,
        "create container",
        a.create(&k, b"", &open(CreateMode::Container)),
    )
    .await?;
    same(ck, "a container shows owner 0", st.ephemeral_owner, 0)?;
    m.create(&k, b"", 0, st.czxid);
    let kc = format!("{k}/c");
    let (st, _) = ok(
        ck,
        "create in a container",
        a.create(&kc, b"", &open(CreateMode::Persistent)),
    )
    .await?;
    m.create(&kc, b"", 0, st.czxid);

    // TTL nodes (extendedTypesEnabled); a minute outlives the script.
    let t = format!("{base}/t");
    let ttl = open(CreateMode::Persistent).with_ttl(Duration::from_secs(60));
    let (st, _) = ok(ck, "create TTL", a.create(&t, b"ttl", &ttl)).await?;
    same(ck, "a TTL node shows owner 0", st.ephemeral_owner, 0)?;
    m.create(&t, b"ttl", 0, st.czxid);
    let ts = format!("{base}/ts-");
    let want = m.sequential_path(&ts);
    let ttl = open(CreateMode::PersistentSequential).with_ttl(Duration::from_secs(60));
    let (st, seq) = ok(ck, "create sequential TTL", a.create(&ts, b"", &ttl)).await?;
    same(
        ck,
        "sequential TTL name",
        format!("{ts}{seq}"),
        want.clone(),
    )?;
    m.create(&want, b"", 0, st.czxid);
    Ok(())
}

/// The errors of 3.8's write path and reads of missing nodes.
async fn errors(actor: &Node, base: &str) -> Result<(), String> {
    let (a, ck) = (&actor.client, &actor.check);
    let persistent = open(CreateMode::Persistent);
    let p = format!("{base}/p");
    fails(
        ck,
        "create existing",
        zk::Error::NodeExists,
        a.create(&p, b"", &persistent),
    )
    .await?;
    fails(
        ck,
        "create without parent",
        zk::Error::NoNode,
        a.create(&format!("{base}/none/x"), b"", &persistent),
    )
    .await?;
    fails(
        ck,
        "child of an ephemeral",
        zk::Error::NoChildrenForEphemerals,
        a.create(&format!("{base}/e/x"), b"", &persistent),
    )
    .await?;
    let mine = CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    fails(
        ck,
        "creator ACL without auth",
        zk::Error::InvalidAcl,
        a.create(&format!("{base}/x"), b"", &mine),
    )
    .await?;
    fails(
        ck,
        "delete non-empty",
        zk::Error::NotEmpty,
        a.delete(base, None),
    )
    .await?;
    fails(
        ck,
        "delete wrong version",
        zk::Error::BadVersion,
        a.delete(&p, Some(5)),
    )
    .await?;
    fails(
        ck,
        "delete missing",
        zk::Error::NoNode,
        a.delete(&format!("{base}/none"), None),
    )
    .await?;
    fails(
        ck,
        "set wrong version",
        zk::Error::BadVersion,
        a.set_data(&p, b"", Some(7)),
    )
    .await?;
    fails(
        ck,
        "set missing",
        zk::Error::NoNode,
        a.set_data(&format!("{base}/none"), b"", None),
    )
    .await?;
    fails(
        ck,
        "get missing",
        zk::Error::NoNode,
        a.get_data(&format!("{base}/none")),
    )
    .await?;
    fails(
        ck,
        "children of missing",
        zk::Error::NoNode,
        a.list_children(&format!("{base}/none")),
    )
    .await?;
    fails(
        ck,
        "ACL of missing",
        zk::Error::NoNode,
        a.get_acl(&format!("{base}/none")),
    )
    .await?;
    Ok(())
}

/// Versioned sets and deletes, exists, getChildren (both), counts and
/// ephemerals, multiRead, whoAmI, getConfig.
async fn reads_and_versions(actor: &Node, base: &str, m: &mut Model) -> Result<(), String> {
    let (a, ck) = (&actor.client, &actor.check);
    let p = format!("{base}/p");
    let st = ok(ck, "set version 0", a.set_data(&p, b"p2", Some(0))).await?;
    same(ck, "set's stat", (st.version, st.data_length), (1, 2))?;
    m.set_data(&p, b"p2");
    let st = ok(ck, "set any version", a.set_data(&p, b"p3!", None)).await?;
    same(ck, "second set's version", st.version, 2)?;
    m.set_data(&p, b"p3!");
    let (data, st2) = ok(ck, "get", a.get_data(&p)).await?;
    same(ck, "get after set", (data, st2), (b"p3!".to_vec(), st))?;
    same(
        ck,
        "exists missing",
        ok(ck, "exists", a.check_stat(&format!("{base}/none"))).await?,
        None,
    )?;
    same(
        ck,
        "exists",
        ok(ck, "exists", a.check_stat(&p)).await?,
        Some(st),
    )?;

    let want: Vec<String> = m.get(base).unwrap().children.iter().cloned().collect();
    let (mut kids, st) = ok(ck, "getChildren2", a.get_children(base)).await?;
    kids.sort();
    same(
        ck,
        "getChildren2",
        (kids, st.num_children, st.cversion),
        (
            want.clone(),
            want.len() as i32,
            m.get(base).unwrap().cversion,
        ),
    )?;
    let mut kids = ok(ck, "getChildren", a.list_children(base)).await?;
    kids.sort();
    same(ck, "getChildren", kids, want)?;
    let n = ok(ck, "getAllChildrenNumber", a.count_descendants_number(base)).await?;
    same(ck, "getAllChildrenNumber", n, m.descendants(base))?;
    let mut eph = ok(ck, "getEphemerals", a.list_ephemerals(base)).await?;
    eph.sort();
    same(
        ck,
        "getEphemerals",
        eph,
        m.ephemerals(base, a.session_id().0),
    )?;

    let mut r = a.new_multi_reader();
    r.add_get_data(&p).unwrap();
    r.add_get_children(&format!("{base}/none")).unwrap();
    r.add_get_children(&format!("{base}/k")).unwrap();
    let res = ok(ck, "multiRead", r.commit()).await?;
    let ok_shape = matches!(&res[..], [
        zk::MultiReadResult::Data { data, .. },
        zk::MultiReadResult::Error { err: zk::Error::NoNode },
        zk::MultiReadResult::Children { children },
    ] if data == b"p3!" && children == &["c".to_string()]);
    if !ok_shape {
        return Err(ck.fail("multiRead", &format!("{res:?}")));
    }

    let users = ok(ck, "whoAmI", a.list_auth_users()).await?;
    let ids: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.scheme().to_string(), u.user().to_string()))
        .collect();
    same(
        ck,
        "whoAmI",
        ids,
        vec![("ip".to_string(), "127.0.0.1".to_string())],
    )?;
    let (config, _) = ok(ck, "getConfig", a.get_config()).await?;
    let config = String::from_utf8_lossy(&config).into_owned();
    if !config.contains("server.1=") {
        return Err(ck.fail("getConfig", &format!("no server lines in {config:?}")));
    }
    Ok(())
}

/// setACL/getACL with versions, digest auth and what it admits.
async fn acls_and_auth(actor: &Node, peer: &Node, base: &str, m: &mut Model) -> Result<(), String> {
    let (a, ck) = (&actor.client, &actor.check);
    let p = format!("{base}/p");
    let (acl, st) = ok(ck, "getACL", a.get_acl(&p)).await?;
    same(
        ck,
        "default ACL",
        (
            acl.len(),
            acl[0].scheme().to_string(),
            acl[0].id().to_string(),
            st.aversion,
        ),
        (1, "world".to_string(), "anyone".to_string(), 0),
    )?;
    fails(
        ck,
        "setACL wrong version",
        zk::Error::BadVersion,
        a.set_acl(&p, &zk::Acls::anyone_all(), Some(3)),
    )
    .await?;
    let st = ok(
        ck,
        "setACL",
        a.set_acl(&p, &zk::Acls::anyone_all(), Some(0)),
    )
    .await?;
    same(ck, "setACL's aversion", st.aversion, 1)?;
    m.set_acl(&p);

    // A node only the digest user may touch, made through this node, read
    // through the other one before and after addauth there.
    ok(ck, "addauth", a.auth("digest", DIGEST_USER)).await?;
    let secret = format!("{base}/secret");
    let mine = CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    let (st, _) = ok(ck, "create creator-only", a.create(&secret, b"s", &mine)).await?;
    m.create(&secret, b"s", 0, st.czxid);
    let (acl, _) = ok(ck, "getACL creator-only", a.get_acl(&secret)).await?;
    same(
        ck,
        "creator ACL",
        (acl[0].scheme().to_string(), acl[0].id().to_string()),
        ("digest".to_string(), DIGEST_ID.to_string()),
    )?;
    // Sessions of their own on the peer's node: the peer's client runs a
    // script too, which authenticates it.
    let bk = &peer.check;
    let anonymous = crate::workload::connect(&peer.connect_string, &[], None, false, OP_TIMEOUT)
        .await
        .map_err(|e| bk.fail("connect", &e))?;
    let b = &anonymous;
    ok(bk, "sync", b.sync(&secret)).await?;
    fails(
        bk,
        "read without auth",
        zk::Error::NoAuth,
        b.get_data(&secret),
    )
    .await?;
    fails(
        bk,
        "set without auth",
        zk::Error::NoAuth,
        b.set_data(&secret, b"x", None),
    )
    .await?;
    // A session of its own, so the peer's shared client stays anonymous.
    let authed = crate::workload::connect(
        &peer.connect_string,
        &[("digest", DIGEST_USER)],
        None,
        false,
        OP_TIMEOUT,
    )
    .await
    .map_err(|e| bk.fail("connect with auth", &e))?;
    let (data, _) = ok(bk, "read with auth", authed.get_data(&secret)).await?;
    same(bk, "read with auth", data, b"s".to_vec())?;
    Ok(())
}

/// A committed multi and one rolled back, with per-op results.
async fn multi(actor: &Node, base: &str, m: &mut Model) -> Result<(), String> {
    let (a, ck) = (&actor.client, &actor.check);
    let p = format!("{base}/p");
    let mp = format!("{base}/m");
    let s1 = format!("{base}/s-0000000001");
    let mut w = a.new_multi_writer();
    w.add_check_version(&p, 2).unwrap();
    w.add_create(&mp, b"m0", &open(CreateMode::Persistent))
        .unwrap();
    w.add_set_data(&mp, b"m1", Some(0)).unwrap();
    w.add_delete(&s1, Some(0)).unwrap();
    let res = timed(ck, "multi", w.commit())
        .await?
        .map_err(|e| ck.fail("multi", &e))?;
    let created = match &res[..] {
        // A create in a multi answers its path only (3.8 sends no stat),
        // so the zxid comes from the set's stat; both are one txn.
        [MultiWriteResult::Check, MultiWriteResult::Create { path, .. }, MultiWriteResult::SetData { stat: set }, MultiWriteResult::Delete]
            if *path == mp && set.version == 1 && set.czxid == set.mzxid =>
        {
            set.czxid
        }
        _ => return Err(ck.fail("multi results", &format!("{res:?}"))),
    };
    m.create(&mp, b"m0", 0, created);
    m.set_data(&mp, b"m1");
    m.delete(&s1);

    let mut w = a.new_multi_writer();
    w.add_create(&format!("{base}/m2"), b"", &open(CreateMode::Persistent))
        .unwrap();
    w.add_check_version(&p, 99).unwrap();
    match timed(ck, "failing multi", w.commit()).await? {
        Err(zk::MultiWriteError::OperationFailed {
            index: 1,
            source: zk::Error::BadVersion,
        }) => {}
        other => return Err(ck.fail("failing multi", &format!("{other:?}"))),
    }
    same(
        ck,
        "rolled back",
        ok(ck, "exists", a.check_stat(&format!("{base}/m2"))).await?,
        None,
    )?;
    Ok(())
}

/// Watches set through the peer, fired by this node's writes.
async fn watches(actor: &Node, peer: &Node, base: &str, m: &mut Model) -> Result<(), String> {
    let (a, ck) = (&actor.client, &actor.check);
    let (b, bk) = (&peer.client, &peer.check);
    let w = format!("{base}/w");
    let persistent = open(CreateMode::Persistent);

    let (_, exists) = ok(bk, "exists watch", b.check_and_watch_stat(&w)).await?;
    let (children, child_watch) = ok(bk, "child watch", b.list_and_watch_children(base)).await?;
    let _ = children;
    let (st, _) = ok(ck, "create watched", a.create(&w, b"", &persistent)).await?;
    m.create(&w, b"", 0, st.czxid);
    same(
        bk,
        "exists watch event",
        event(bk, "exists watch", exists.changed()).await?,
        (EventType::NodeCreated, w.clone()),
    )?;
    same(
        bk,
        "child watch event",
        event(bk, "child watch", child_watch.changed()).await?,
        (EventType::NodeChildrenChanged, base.to_string()),
    )?;

    ok(bk, "sync", b.sync(&w)).await?;
    let (_, _, data_watch) = ok(bk, "data watch", b.get_and_watch_data(&w)).await?;
    let mut pw = ok(
        bk,
        "persistent watch",
        b.watch(&w, AddWatchMode::Persistent),
    )
    .await?;
    ok(ck, "set watched", a.set_data(&w, b"1", None)).await?;
    m.set_data(&w, b"1");
    same(
        bk,
        "data watch event",
        event(bk, "data watch", data_watch.changed()).await?,
        (EventType::NodeDataChanged, w.clone()),
    )?;
    same(
        bk,
        "persistent watch 1",
        event(bk, "persistent watch", pw.changed()).await?,
        (EventType::NodeDataChanged, w.clone()),
    )?;
    ok(ck, "set watched again", a.set_data(&w, b"2", None)).await?;
    m.set_data(&w, b"2");
    same(
        bk,
        "persistent watch 2",
        event(bk, "persistent watch", pw.changed()).await?,
        (EventType::NodeDataChanged, w.clone()),
    )?;
    // Dropping a watcher removes it too, but unanswered; removeWatches is
    // an operation of its own to check.
    #[allow(deprecated)]
    ok(bk, "removeWatches", pw.remove()).await?;

    let mut rw = ok(
        bk,
        "recursive watch",
        b.watch(&w, AddWatchMode::PersistentRecursive),
    )
    .await?;
    let r = format!("{w}/r");
    let rr = format!("{r}/r2");
    let (st, _) = ok(ck, "create below", a.create(&r, b"", &persistent)).await?;
    m.create(&r, b"", 0, st.czxid);
    let (st, _) = ok(ck, "create two below", a.create(&rr, b"", &persistent)).await?;
    m.create(&rr, b"", 0, st.czxid);
    same(
        bk,
        "recursive 1",
        event(bk, "recursive watch", rw.changed()).await?,
        (EventType::NodeCreated, r.clone()),
    )?;
    same(
        bk,
        "recursive 2",
        event(bk, "recursive watch", rw.changed()).await?,
        (EventType::NodeCreated, rr.clone()),
    )?;
    ok(ck, "delete below", a.delete(&rr, Some(0))).await?;
    m.delete(&rr);
    same(
        bk,
        "recursive 3",
        event(bk, "recursive watch", rw.changed()).await?,
        (EventType::NodeDeleted, rr.clone()),
    )?;
    #[allow(deprecated)]
    ok(bk, "removeWatches recursive", rw.remove()).await?;

    let (_, _, gone) = ok(bk, "data watch for delete", b.get_and_watch_data(&r)).await?;
    ok(ck, "delete watched", a.delete(&r, None)).await?;
    m.delete(&r);
    same(
        bk,
        "delete event",
        event(bk, "data watch", gone.changed()).await?,
        (EventType::NodeDeleted, r.clone()),
    )?;
    Ok(())
}

/// A session's ephemerals on every node while it lives, and gone after it
/// closes; and the script's own ephemerals, read through the peer.
async fn sessions(actor: &Node, peer: &Node, base: &str, m: &mut Model) -> Result<(), String> {
    let (ck, b, bk) = (&actor.check, &peer.client, &peer.check);
    let short = crate::workload::connect(&actor.connect_string, &[], None, false, OP_TIMEOUT)
        .await
        .map_err(|e| ck.fail("second session", &e))?;
    let e2 = format!("{base}/e2");
    let (st, _) = ok(
        ck,
        "ephemeral of a second session",
        short.create(&e2, b"", &open(CreateMode::Ephemeral)),
    )
    .await?;
    same(ck, "owner", st.ephemeral_owner, short.session_id().0)?;
    m.create(&e2, b"", short.session_id().0, st.czxid);
    ok(bk, "sync", b.sync(&e2)).await?;
    let seen = ok(bk, "exists", b.check_stat(&e2)).await?;
    same(
        bk,
        "another session's ephemeral",
        seen.map(|s| s.ephemeral_owner),
        Some(short.session_id().0),
    )?;
    let (_, _, gone) = ok(bk, "watch ephemeral", b.get_and_watch_data(&e2)).await?;
    drop(short);
    same(
        bk,
        "ephemeral gone with its session",
        event(bk, "ephemeral watch", gone.changed()).await?,
        (EventType::NodeDeleted, e2.clone()),
    )?;
    m.delete(&e2);
    ok(bk, "sync", b.sync(base)).await?;
    same(
        bk,
        "closed session's ephemeral",
        ok(bk, "exists", b.check_stat(&e2)).await?,
        None,
    )?;
    let mut eph = ok(
        bk,
        "getEphemerals through the peer",
        b.list_ephemerals(base),
    )
    .await?;
    eph.sort();
    same(
        bk,
        "the peer lists only its own session's ephemerals",
        eph,
        m.ephemerals(base, b.session_id().0),
    )?;
    Ok(())
}
