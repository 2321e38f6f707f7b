//! The writes that make a data directory worth comparing: every create mode,
//! versioned sets and deletes, failing writes (which Apache logs as error
//! txns), successful and failing multis, digest/auth/world ACLs, binary,
//! empty, 500 KB and unicode values and paths, enough txns for several
//! snapshots and log files, concurrent writers while snapshots are taken
//! (fuzzy snapshots), and one session left open with ephemerals.
//!
//! It talks plain client protocol through `zookeeper-client`, so it runs
//! against Apache ZooKeeper today and against our own server later. Every
//! session but the one left open is closed, and the close waited for, before
//! [`run`] returns: the data directory then holds exactly one live session.
//!
//! ## Paths outside the Basic Multilingual Plane
//!
//! Apache 3.8 rejects a path with a character above U+FFFF (its path check
//! treats UTF-16 surrogates as invalid) with `BadArguments`, so such a path
//! can never be in an Apache data dir. The workload tries one and records
//! the answer in [`Outcome::notes`]; non-BMP characters do go into a node's
//! *data*, which is opaque bytes.

use std::time::Duration;

use zookeeper_client as zk;
use zookeeper_client::{Acl, Acls, CreateMode, Permission};

/// The digest user the workload authenticates as, and the id the server
/// derives from it: `user:base64(sha1("user:password"))`, computed once with
/// Apache's `DigestAuthenticationProvider` and checked in by hand (adding a
/// SHA-1 crate for one constant is not worth it).
pub const DIGEST_USER: &str = "interop:s3cret";
/// The ACL id the server derives from [`DIGEST_USER`] (`digest` scheme).
pub const DIGEST_ID: &str = "interop:Fx7gtTHqRve2N9ClyEwqUP1tz88=";
/// A second user, who alone may administer `/it/acl/other`.
pub const OTHER_USER: &str = "other:pw";
/// The ACL id the server derives from [`OTHER_USER`] (`digest` scheme).
pub const OTHER_ID: &str = "other:C9oU18wYV9MKI6QqDxMNatrbkNI=";

/// The credentials a reader needs to see every node and every ACL the
/// workload writes unredacted (Apache hides digest ids from a reader
/// without ADMIN on the node).
pub fn reader_auths() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("digest", DIGEST_USER.as_bytes()),
        ("digest", OTHER_USER.as_bytes()),
    ]
}

/// Every byte value once, in order.
pub fn all_bytes() -> Vec<u8> {
    (0..=255u8).collect()
}

/// A 500 KB value (512,000 bytes) whose content depends on `seed`, so that
/// a mix-up between two large nodes shows.
pub fn large_value(seed: u8) -> Vec<u8> {
    (0..512_000u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed as u32 * 7) % 251) as u8)
        .collect()
}

/// Knobs of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server allows TTL nodes (Apache: `extendedTypesEnabled=true`).
    pub ttl_nodes: bool,
    /// Concurrent writer sessions in the bulk phase.
    pub writers: usize,
    /// Rounds per writer; each round is a handful of txns.
    pub rounds: usize,
    /// Requested timeout of the session left open (the server may lower it).
    pub open_session_timeout: Duration,
    /// Bound on the whole run.
    pub deadline: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ttl_nodes: false,
            writers: 4,
            rounds: 60,
            open_session_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
        }
    }
}

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    /// The session left open. Detached: dropping it does not close the
    /// session, so it survives a server kill into the data dir.
    pub open_client: zk::Client,
    /// The id of the session left open.
    pub open_session_id: i64,
    /// As negotiated by the server.
    pub open_session_timeout_ms: i32,
    /// The open session's ephemeral nodes.
    pub open_ephemerals: Vec<String>,
    /// Observations worth printing (e.g. how the server answered a non-BMP path).
    pub notes: Vec<String>,
}

fn err(what: impl std::fmt::Display, e: zk::Error) -> String {
    format!("{what}: {e}")
}

/// The ACL of a node only the workload's digest user may touch.
fn digest_acl() -> Vec<Acl> {
    vec![Acl::new(
        Permission::ALL,
        zk::AuthId::new("digest", DIGEST_ID),
    )]
}

/// Connects with the given auths and session timeout, within `timeout`.
pub async fn connect(
    connect: &str,
    auths: &[(&str, &[u8])],
    session_timeout: Option<Duration>,
    detached: bool,
    timeout: Duration,
) -> Result<zk::Client, String> {
    let mut connector = zk::Client::connector().with_connection_timeout(timeout);
    if let Some(t) = session_timeout {
        connector = connector.with_session_timeout(t);
    }
    for (scheme, cred) in auths {
        connector = connector.with_auth(scheme, cred);
    }
    if detached {
        connector = connector.with_detached();
    }
    tokio::time::timeout(timeout, connector.connect(connect))
        .await
        .map_err(|_| format!("connect to {connect}: no session within {timeout:?}"))?
        .map_err(|e| err(format_args!("connect to {connect}"), e))
}

/// Drops `client` (which makes it send closeSession) and waits until the
/// server no longer lists the session among its connections (`cons`), so
/// the close is committed before anything else happens to the server.
pub async fn close_and_wait(
    client: zk::Client,
    server: std::net::SocketAddr,
    timeout: Duration,
) -> Result<(), String> {
    let sid = client.session_id().0;
    drop(client);
    let needle = format!("sid=0x{sid:x}");
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let cons = tokio::task::spawn_blocking(move || {
            crate::apache::four_letter(server, "cons", Duration::from_secs(3))
        })
        .await
        .map_err(|e| format!("cons task: {e}"))?
        .map_err(|e| format!("cons on {server}: {e}"))?;
        if !cons.contains(&needle) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "session 0x{sid:x} still connected to {server} {timeout:?} after close:\n{cons}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the whole workload against `server` within `options.deadline`.
pub async fn run(server: std::net::SocketAddr, options: &Options) -> Result<Outcome, String> {
    tokio::time::timeout(options.deadline, run_unbounded(server, options))
        .await
        .map_err(|_| format!("the workload took longer than {:?}", options.deadline))?
}

async fn run_unbounded(server: std::net::SocketAddr, options: &Options) -> Result<Outcome, String> {
    let addr = server.to_string();
    let connect_timeout = Duration::from_secs(15);
    let mut notes = Vec::new();
    let c = connect(&addr, &reader_auths(), None, false, connect_timeout).await?;

    basics(&c, &mut notes).await?;
    kinds(&c, &addr, server, options, connect_timeout).await?;
    acls(&c).await?;
    values(&c, &mut notes).await?;
    multis(&c).await?;
    bulk(&addr, server, options, connect_timeout).await?;

    // The session left open: its own ephemerals, plus a write so it has a
    // non-trivial cxid.
    let open = connect(
        &addr,
        &[],
        Some(options.open_session_timeout),
        true,
        connect_timeout,
    )
    .await?;
    let mut open_ephemerals = Vec::new();
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    open.create("/it/open/alive", b"still here", &eph)
        .await
        .map_err(|e| err("create /it/open/alive", e))?;
    open_ephemerals.push("/it/open/alive".to_string());
    let eph_seq = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    let (_, seq) = open
        .create("/it/open/seq-", "ünïcödé ☃ 😀".as_bytes(), &eph_seq)
        .await
        .map_err(|e| err("create /it/open/seq-", e))?;
    open_ephemerals.push(format!("/it/open/seq-{seq}"));
    open.set_data("/it/open", b"touched by the open session", Some(0))
        .await
        .map_err(|e| err("set /it/open", e))?;

    close_and_wait(c, server, Duration::from_secs(15)).await?;
    Ok(Outcome {
        open_session_id: open.session_id().0,
        open_session_timeout_ms: open.session_timeout().as_millis() as i32,
        open_client: open,
        open_ephemerals,
        notes,
    })
}

/// Persistent nodes, versioned sets and deletes, and writes that fail.
async fn basics(c: &zk::Client, notes: &mut Vec<String>) -> Result<(), String> {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    for (path, data) in [
        ("/it", &b"interop root"[..]),
        ("/it/plain", b"v0"),
        ("/it/seq", b""),
        ("/it/doomed", b"parent"),
        ("/it/open", b""),
        ("/it/bulk", b""),
        ("/it/bulk/seq", b""),
    ] {
        c.create(path, data, &all)
            .await
            .map_err(|e| err(format_args!("create {path}"), e))?;
    }
    c.set_data("/it/plain", b"v1", Some(0))
        .await
        .map_err(|e| err("set /it/plain v0->v1", e))?;
    c.set_data("/it/plain", b"v2", Some(1))
        .await
        .map_err(|e| err("set /it/plain v1->v2", e))?;
    c.set_data("/it/plain", b"v3", None)
        .await
        .map_err(|e| err("set /it/plain unconditionally", e))?;
    // Failing writes still become txns (type error) in Apache's log.
    match c.set_data("/it/plain", b"stale", Some(0)).await {
        Err(zk::Error::BadVersion) => {}
        other => {
            return Err(format!(
                "set with a stale version: expected BadVersion, got {other:?}"
            ))
        }
    }
    match c.create("/it/plain", b"again", &all).await {
        Err(zk::Error::NodeExists) => {}
        other => {
            return Err(format!(
                "create of an existing node: expected NodeExists, got {other:?}"
            ))
        }
    }
    match c.delete("/it/missing", None).await {
        Err(zk::Error::NoNode) => {}
        other => {
            return Err(format!(
                "delete of a missing node: expected NoNode, got {other:?}"
            ))
        }
    }

    let seq = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    let mut made = Vec::new();
    for i in 0..5 {
        let (_, n) = c
            .create("/it/seq/job-", format!("job {i}").as_bytes(), &seq)
            .await
            .map_err(|e| err("create /it/seq/job-", e))?;
        made.push(format!("/it/seq/job-{n}"));
    }
    c.delete(&made[1], Some(0))
        .await
        .map_err(|e| err(format_args!("delete {}", made[1]), e))?;

    for child in ["a", "b", "c"] {
        c.create(&format!("/it/doomed/{child}"), child.as_bytes(), &all)
            .await
            .map_err(|e| err(format_args!("create /it/doomed/{child}"), e))?;
    }
    match c.delete("/it/doomed", None).await {
        Err(zk::Error::NotEmpty) => {}
        other => {
            return Err(format!(
                "delete of a parent: expected NotEmpty, got {other:?}"
            ))
        }
    }
    c.set_data("/it/doomed/b", b"b2", Some(0))
        .await
        .map_err(|e| err("set /it/doomed/b", e))?;
    c.delete("/it/doomed/a", Some(0))
        .await
        .map_err(|e| err("delete /it/doomed/a", e))?;
    c.delete("/it/doomed/b", Some(1))
        .await
        .map_err(|e| err("delete /it/doomed/b", e))?;
    // /it/doomed keeps c: its cversion now counts 3 creations and 2 deletions.

    // Unicode paths inside the Basic Multilingual Plane.
    for (path, data) in [
        ("/ünïcödé", "über".as_bytes()),
        ("/ünïcödé/日本語", "にほんご".as_bytes()),
        ("/ünïcödé/日本語/ελληνικά", "русский ☃".as_bytes()),
    ] {
        c.create(path, data, &all)
            .await
            .map_err(|e| err(format_args!("create {path}"), e))?;
    }
    // Outside it: see the module doc.
    match c.create("/it/😀", b"emoji", &all).await {
        Ok(_) => notes.push("the server accepted the non-BMP path /it/😀".to_string()),
        Err(e) => notes.push(format!("the server refused the non-BMP path /it/😀: {e}")),
    }
    Ok(())
}

/// Ephemeral (of a closed session), container and TTL nodes.
async fn kinds(
    c: &zk::Client,
    addr: &str,
    server: std::net::SocketAddr,
    options: &Options,
    connect_timeout: Duration,
) -> Result<(), String> {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    // Ephemerals of a session that closes: created, then removed by the close.
    let short = connect(addr, &[], None, false, connect_timeout).await?;
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    let eph_seq = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    short
        .create("/it/gone", b"until close", &eph)
        .await
        .map_err(|e| err("create /it/gone", e))?;
    short
        .create("/it/gone-seq-", b"", &eph_seq)
        .await
        .map_err(|e| err("create /it/gone-seq-", e))?;
    match short.create("/it/gone/child", b"", &all).await {
        Err(zk::Error::NoChildrenForEphemerals) => {}
        other => {
            return Err(format!(
                "child of an ephemeral: expected NoChildrenForEphemerals, got {other:?}"
            ))
        }
    }
    close_and_wait(short, server, Duration::from_secs(15)).await?;

    // A container stays while it has a child (Apache reaps empty containers
    // that once had children, on a timer: keep it non-empty to stay
    // deterministic).
    let container = CreateMode::Container.with_acls(Acls::anyone_all());
    c.create("/it/container", b"box", &container)
        .await
        .map_err(|e| err("create /it/container", e))?;
    c.create("/it/container/item", b"kept", &all)
        .await
        .map_err(|e| err("create /it/container/item", e))?;

    if options.ttl_nodes {
        let hour = Duration::from_secs(3600);
        let ttl = CreateMode::Persistent
            .with_acls(Acls::anyone_all())
            .with_ttl(hour);
        c.create("/it/ttl", b"lives an hour", &ttl)
            .await
            .map_err(|e| err("create /it/ttl (TTL)", e))?;
        let ttl_seq = CreateMode::PersistentSequential
            .with_acls(Acls::anyone_all())
            .with_ttl(hour);
        c.create("/it/ttl-seq-", b"", &ttl_seq)
            .await
            .map_err(|e| err("create /it/ttl-seq- (TTL)", e))?;
    }
    Ok(())
}

/// Digest, auth (creator) and world ACLs, and setACL with versions.
async fn acls(c: &zk::Client) -> Result<(), String> {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.create("/it/acl", b"", &all)
        .await
        .map_err(|e| err("create /it/acl", e))?;
    let digest = digest_acl();
    c.create(
        "/it/acl/digest",
        b"for interop only",
        &CreateMode::Persistent.with_acls(Acls::new(&digest)),
    )
    .await
    .map_err(|e| err("create /it/acl/digest", e))?;
    // `auth` scheme: the server stores the creator's authenticated ids
    // (both digest users here).
    c.create(
        "/it/acl/creator",
        b"creator only",
        &CreateMode::Persistent.with_acls(Acls::creator_all()),
    )
    .await
    .map_err(|e| err("create /it/acl/creator", e))?;
    c.create(
        "/it/acl/read-only",
        b"look, don't touch",
        &CreateMode::Persistent.with_acls(Acls::anyone_read()),
    )
    .await
    .map_err(|e| err("create /it/acl/read-only", e))?;
    let mixed = vec![
        Acl::new(Permission::READ, zk::AuthId::anyone()),
        Acl::new(Permission::ALL, zk::AuthId::new("digest", DIGEST_ID)),
    ];
    c.create(
        "/it/acl/mixed",
        b"mixed",
        &CreateMode::Persistent.with_acls(Acls::new(&mixed)),
    )
    .await
    .map_err(|e| err("create /it/acl/mixed", e))?;
    let other = vec![
        Acl::new(
            Permission::ADMIN | Permission::WRITE,
            zk::AuthId::new("digest", OTHER_ID),
        ),
        Acl::new(Permission::READ | Permission::CREATE, zk::AuthId::anyone()),
    ];
    c.create("/it/acl/other", b"", &all)
        .await
        .map_err(|e| err("create /it/acl/other", e))?;
    c.set_acl("/it/acl/other", &other, Some(0))
        .await
        .map_err(|e| err("setACL /it/acl/other", e))?;
    match c.set_acl("/it/acl/other", &digest, Some(0)).await {
        Err(zk::Error::BadVersion) => {}
        other => {
            return Err(format!(
                "setACL with a stale version: expected BadVersion, got {other:?}"
            ))
        }
    }
    c.set_acl("/it/acl/mixed", &digest, None)
        .await
        .map_err(|e| err("setACL /it/acl/mixed", e))?;
    c.set_acl("/it/acl/mixed", &mixed, Some(1))
        .await
        .map_err(|e| err("setACL /it/acl/mixed again", e))?;
    Ok(())
}

/// Binary, empty, large and unicode values.
async fn values(c: &zk::Client, notes: &mut Vec<String>) -> Result<(), String> {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.create("/it/values", b"", &all)
        .await
        .map_err(|e| err("create /it/values", e))?;
    let bytes = all_bytes();
    let mut reversed = bytes.clone();
    reversed.reverse();
    for (path, data) in [
        ("/it/values/binary", bytes.as_slice()),
        ("/it/values/empty", b""),
        (
            "/it/values/text",
            "non-BMP in data is fine: 😀 𝄞".as_bytes(),
        ),
        ("/it/values/newlines", b"line1\nline2\r\nline3,with}commas"),
    ] {
        c.create(path, data, &all)
            .await
            .map_err(|e| err(format_args!("create {path}"), e))?;
    }
    c.set_data("/it/values/binary", &reversed, Some(0))
        .await
        .map_err(|e| err("set /it/values/binary", e))?;
    c.set_data("/it/values/binary", &bytes, Some(1))
        .await
        .map_err(|e| err("set /it/values/binary back", e))?;
    c.create("/it/large", b"", &all)
        .await
        .map_err(|e| err("create /it/large", e))?;
    c.create("/it/large/a", &large_value(1), &all)
        .await
        .map_err(|e| err("create /it/large/a (500 KB)", e))?;
    c.create("/it/large/b", &large_value(2), &all)
        .await
        .map_err(|e| err("create /it/large/b (500 KB)", e))?;
    c.set_data("/it/large/a", &large_value(3), Some(0))
        .await
        .map_err(|e| err("set /it/large/a (500 KB)", e))?;
    // Past jute.maxbuffer (1 MB by default) the server must refuse.
    match c
        .create("/it/large/too-big", &vec![7u8; 1_100_000], &all)
        .await
    {
        Ok(_) => notes.push("the server accepted a 1.1 MB value".to_string()),
        Err(e) => notes.push(format!("the server refused a 1.1 MB value: {e}")),
    }
    Ok(())
}

/// A multi that commits and two that fail (a failing multi is logged with
/// an error txn per op).
async fn multis(c: &zk::Client) -> Result<(), String> {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.create("/it/multi", b"", &all)
        .await
        .map_err(|e| err("create /it/multi", e))?;
    c.create("/it/multi/old", b"old", &all)
        .await
        .map_err(|e| err("create /it/multi/old", e))?;

    let mut w = c.new_multi_writer();
    w.add_check_version("/it/multi", 0)
        .map_err(|e| err("multi check", e))?;
    w.add_create("/it/multi/new", b"new", &all)
        .map_err(|e| err("multi create", e))?;
    w.add_set_data("/it/multi/new", b"newer", Some(0))
        .map_err(|e| err("multi set", e))?;
    w.add_delete("/it/multi/old", Some(0))
        .map_err(|e| err("multi delete", e))?;
    let seq = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    w.add_create("/it/multi/s-", b"seq in multi", &seq)
        .map_err(|e| err("multi create sequential", e))?;
    w.commit()
        .await
        .map_err(|e| format!("multi that should commit: {e:?}"))?;

    // Fails on its second op: nothing of it applies.
    let mut w = c.new_multi_writer();
    w.add_create("/it/multi/never", b"", &all)
        .map_err(|e| err("multi create", e))?;
    w.add_set_data("/it/multi/new", b"x", Some(99))
        .map_err(|e| err("multi set", e))?;
    match w.commit().await {
        Err(zk::MultiWriteError::OperationFailed {
            index: 1,
            source: zk::Error::BadVersion,
        }) => {}
        other => {
            return Err(format!(
                "multi with a bad version: expected op 1 BadVersion, got {other:?}"
            ))
        }
    }
    let mut w = c.new_multi_writer();
    w.add_delete("/it/multi", None)
        .map_err(|e| err("multi delete", e))?;
    match w.commit().await {
        Err(zk::MultiWriteError::OperationFailed {
            index: 0,
            source: zk::Error::NotEmpty,
        }) => {}
        other => {
            return Err(format!(
                "multi deleting a parent: expected op 0 NotEmpty, got {other:?}"
            ))
        }
    }
    Ok(())
}

/// Concurrent writers, each in its own session, pipelining small batches
/// so the server is busy while it takes snapshots.
async fn bulk(
    addr: &str,
    server: std::net::SocketAddr,
    options: &Options,
    connect_timeout: Duration,
) -> Result<(), String> {
    let mut tasks = Vec::new();
    for w in 0..options.writers {
        let client = connect(addr, &[], None, false, connect_timeout).await?;
        let rounds = options.rounds;
        tasks.push(tokio::spawn(async move {
            let r = writer(&client, w, rounds).await;
            (client, r)
        }));
    }
    let mut first_error = None;
    for task in tasks {
        let (client, r) = task.await.map_err(|e| format!("writer task: {e}"))?;
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
        close_and_wait(client, server, Duration::from_secs(15)).await?;
    }
    first_error.map_or(Ok(()), Err)
}

async fn writer(c: &zk::Client, w: usize, rounds: usize) -> Result<(), String> {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let seq = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    let dir = format!("/it/bulk/w{w}");
    c.create(&dir, format!("writer {w}").as_bytes(), &all)
        .await
        .map_err(|e| err(format_args!("create {dir}"), e))?;
    for round in 0..rounds {
        // Requests go out when the futures are made; awaiting them in order
        // afterwards keeps several in flight at once.
        let node = format!("{dir}/n{round:04}");
        let create = c.create(&node, format!("{w}:{round}").as_bytes(), &all);
        let set = c.set_data(&node, format!("{w}:{round}:set").as_bytes(), Some(0));
        let shared = c.set_data(
            "/it/bulk",
            format!("last writer {w} round {round}").as_bytes(),
            None,
        );
        let sequential = c.create("/it/bulk/seq/s-", &[w as u8, round as u8], &seq);
        create
            .await
            .map_err(|e| err(format_args!("create {node}"), e))?;
        set.await.map_err(|e| err(format_args!("set {node}"), e))?;
        shared.await.map_err(|e| err("set /it/bulk", e))?;
        sequential
            .await
            .map_err(|e| err("create /it/bulk/seq/s-", e))?;
        // Delete the previous round's node (set once), unless a multi gave
        // it a child.
        if round % 3 == 2 && (round - 1) % 10 != 5 {
            let victim = format!("{dir}/n{:04}", round - 1);
            c.delete(&victim, Some(1))
                .await
                .map_err(|e| err(format_args!("delete {victim}"), e))?;
        }
        if round % 10 == 5 {
            let mut m = c.new_multi_writer();
            let inner = format!("{node}/m");
            m.add_create(&inner, b"in a multi", &all)
                .map_err(|e| err("multi create", e))?;
            m.add_set_data(&node, b"multi set", Some(1))
                .map_err(|e| err("multi set", e))?;
            m.commit()
                .await
                .map_err(|e| format!("bulk multi on {node}: {e:?}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_promised_shapes() {
        let b = all_bytes();
        assert_eq!(b.len(), 256);
        assert!(b.iter().enumerate().all(|(i, &v)| v as usize == i));
        assert_eq!(large_value(1).len(), 512_000);
        assert_ne!(large_value(1), large_value(2));
    }

    #[test]
    fn reader_auths_cover_both_digest_users() {
        let auths = reader_auths();
        assert_eq!(auths.len(), 2);
        for (user, id) in [(DIGEST_USER, DIGEST_ID), (OTHER_USER, OTHER_ID)] {
            let name = user.split(':').next().unwrap();
            assert!(id.starts_with(&format!("{name}:")));
            assert!(auths
                .iter()
                .any(|(s, c)| *s == "digest" && *c == user.as_bytes()));
        }
    }
}
