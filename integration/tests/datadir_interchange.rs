//! A data directory moves between Apache ZooKeeper 3.8 and zk-bin, both
//! ways, at the server level: what one server wrote, the other serves
//! unchanged, and keeps writing to.
//!
//! 1. Apache (Debian's packages) on a fresh dataDir, snapCount 100 and TTL
//!    nodes on, runs the [`workload`]: persistent, sequential, container,
//!    TTL and ephemeral nodes, versioned sets and deletes, failing writes,
//!    multis, digest/auth/world ACLs, binary, unicode and 500 KB values,
//!    over a thousand txns (several snapshots and logs). We dump the tree
//!    a client sees (paths, data, all eleven Stat fields, ACLs) and stop
//!    Apache with SIGTERM.
//! 2. zk-bin starts on the same dataDir: it must restore from Apache's
//!    newest snapshot (not skip it for an older one) and, as 3.8 does, take
//!    a clean snapshot once restored; its dump must equal Apache's. It then
//!    takes more writes of every kind, past snapCount so that it writes
//!    snapshots and logs of its own; we dump and SIGTERM it.
//! 3. Apache starts on that dataDir, must read zk-bin's newest snapshot
//!    without complaint, and its dump must equal zk-bin's last one.
//!
//! Ephemerals: the workload leaves one session open with ephemerals, and
//! a restarted server would keep them only until that session expires,
//! which races with the dump. The test closes that session (reattaching
//! to it and sending closeSession) before the first dump, so every dump
//! shows a tree without ephemerals; ephemerals still pass through the
//! data dir as create and closeSession txns of the sessions that made them.
//!
//! Each dump is taken by its own session, closed before the server stops:
//! a live session in the dir would not change the tree, but nothing is
//! left for the next server to expire either.
//!
//! Without Java or the packages the test prints `skipped: <reason>` and
//! passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration::apache::{ApacheServer, ApacheZk, ServerConfig};
use integration::ports::{free_port, free_port_except, TempDir};
use integration::tree_model::dump_server;
use integration::workload::{self, all_bytes, close_and_wait, connect, large_value, reader_auths};
use integration::zk_bin::ZkBinServer;
use zookeeper_client as zk;
use zookeeper_client::{Acl, Acls, CreateMode, Permission};

const DUMP_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on the writes through zk-bin.
const ZK_BIN_WRITES_TIMEOUT: Duration = Duration::from_secs(60);
const SNAP_COUNT: u32 = 100;
/// zoo.cfg lines for zk-bin matching the Apache server's settings (`cons`
/// is needed to see a closed session go).
const ZK_BIN_CFG: &str = "snapCount=100\npreAllocSize=1024\nextendedTypesEnabled=true\n\
                          4lw.commands.whitelist=*";

/// `snapshot.<hex zxid>` / `log.<hex zxid>` files of a `version-2` dir,
/// sorted by zxid.
fn data_files(dir: &Path, prefix: &str) -> Vec<(i64, PathBuf)> {
    let mut files: Vec<(i64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let zxid = name.strip_prefix(prefix)?.strip_prefix('.')?;
            Some((i64::from_str_radix(zxid, 16).ok()?, path))
        })
        .collect();
    files.sort();
    files
}

fn zxids(files: &[(i64, PathBuf)]) -> String {
    let names: Vec<String> = files.iter().map(|(z, _)| format!("0x{z:x}")).collect();
    names.join(" ")
}

fn apache_fail(server: &ApacheServer, what: &str, e: impl std::fmt::Display) -> ! {
    panic!(
        "{what}: {e}\n--- last lines of the Apache log {} ---\n{}",
        server.log_path().display(),
        server.log_tail(80)
    )
}

fn zk_bin_fail(server: &ZkBinServer, what: &str, e: impl std::fmt::Display) -> ! {
    let log = server.log_text();
    let lines: Vec<&str> = log.lines().collect();
    panic!(
        "{what}: {e}\n--- last lines of the zk-bin log {} ---\n{}",
        server.log_path().display(),
        lines[lines.len().saturating_sub(80)..].join("\n")
    )
}

/// Closes the session the workload left open: its client is detached (a
/// drop sends nothing), so reattach to the session with a client that does
/// close it on drop, and wait until the server has let it go.
async fn close_open_session(open: zk::Client, server: std::net::SocketAddr) -> Result<(), String> {
    let session = open.into_session();
    let reattached = tokio::time::timeout(
        CONNECT_TIMEOUT,
        zk::Client::connector()
            .with_session(session)
            .with_connection_timeout(CONNECT_TIMEOUT)
            .connect(&server.to_string()),
    )
    .await
    .map_err(|_| format!("reattach to the open session: no answer within {CONNECT_TIMEOUT:?}"))?
    .map_err(|e| format!("reattach to the open session: {e}"))?;
    close_and_wait(reattached, server, CONNECT_TIMEOUT).await
}

fn zerr(what: impl std::fmt::Display, e: zk::Error) -> String {
    format!("{what}: {e}")
}

/// What zk-bin is asked to write on top of Apache's tree: new nodes of
/// every kind, sets, deletes and ACL changes of nodes Apache wrote,
/// sequential children continuing Apache's counters, multis, a failing
/// write, an ephemeral of a session that closes, then a loop of small txns
/// well past snapCount. Returns the sequential names zk-bin handed out.
async fn zk_bin_writes(server: std::net::SocketAddr) -> Result<Vec<String>, String> {
    let addr = server.to_string();
    let c = connect(&addr, &reader_auths(), None, false, CONNECT_TIMEOUT).await?;
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let seq = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    let mut names = Vec::new();

    // New nodes of every persistent kind.
    c.create("/zb", b"written by zk-bin", &all)
        .await
        .map_err(|e| zerr("create /zb", e))?;
    let container = CreateMode::Container.with_acls(Acls::anyone_all());
    c.create("/zb/box", b"container", &container)
        .await
        .map_err(|e| zerr("create /zb/box (container)", e))?;
    c.create("/zb/box/item", &all_bytes(), &all)
        .await
        .map_err(|e| zerr("create /zb/box/item", e))?;
    let hour = Duration::from_secs(3600);
    c.create(
        "/zb/ttl",
        b"ttl by zk-bin",
        &CreateMode::Persistent
            .with_acls(Acls::anyone_all())
            .with_ttl(hour),
    )
    .await
    .map_err(|e| zerr("create /zb/ttl (TTL)", e))?;
    let (_, n) = c
        .create(
            "/zb/ttl-seq-",
            b"",
            &CreateMode::PersistentSequential
                .with_acls(Acls::anyone_all())
                .with_ttl(hour),
        )
        .await
        .map_err(|e| zerr("create /zb/ttl-seq- (TTL)", e))?;
    names.push(format!("/zb/ttl-seq-{n}"));
    let digest = vec![Acl::new(
        Permission::ALL,
        zk::AuthId::new("digest", workload::DIGEST_ID),
    )];
    c.create(
        "/zb/secret",
        b"digest only",
        &CreateMode::Persistent.with_acls(Acls::new(&digest)),
    )
    .await
    .map_err(|e| zerr("create /zb/secret", e))?;
    c.create(
        "/zb/creator",
        b"auth scheme",
        &CreateMode::Persistent.with_acls(Acls::creator_all()),
    )
    .await
    .map_err(|e| zerr("create /zb/creator", e))?;
    c.create("/zb/large", &large_value(5), &all)
        .await
        .map_err(|e| zerr("create /zb/large (500 KB)", e))?;

    // Changes to what Apache wrote, with the versions Apache left.
    let (_, stat) = c
        .get_data("/it/plain")
        .await
        .map_err(|e| zerr("get /it/plain", e))?;
    c.set_data("/it/plain", b"v4 by zk-bin", Some(stat.version))
        .await
        .map_err(|e| zerr("set /it/plain", e))?;
    let mut reversed = all_bytes();
    reversed.reverse();
    c.set_data("/it/values/binary", &reversed, Some(2))
        .await
        .map_err(|e| zerr("set /it/values/binary", e))?;
    c.set_data("/it/large/b", &large_value(6), Some(0))
        .await
        .map_err(|e| zerr("set /it/large/b (500 KB)", e))?;
    match c.set_data("/it/plain", b"stale", Some(0)).await {
        Err(zk::Error::BadVersion) => {}
        other => {
            return Err(format!(
                "set with a stale version: expected BadVersion, got {other:?}"
            ))
        }
    }
    c.delete("/it/doomed/c", Some(0))
        .await
        .map_err(|e| zerr("delete /it/doomed/c", e))?;
    c.delete("/it/doomed", Some(0))
        .await
        .map_err(|e| zerr("delete /it/doomed", e))?;
    let jobs = c
        .get_children("/it/seq")
        .await
        .map_err(|e| zerr("children of /it/seq", e))?
        .0;
    let first_job = jobs.iter().min().ok_or("/it/seq has no children")?;
    c.delete(&format!("/it/seq/{first_job}"), None)
        .await
        .map_err(|e| zerr(format_args!("delete /it/seq/{first_job}"), e))?;
    // Sequence numbers come from the parent's cversion as Apache left it.
    for i in 0..3 {
        let (_, n) = c
            .create("/it/seq/job-", format!("zk-bin job {i}").as_bytes(), &seq)
            .await
            .map_err(|e| zerr("create /it/seq/job-", e))?;
        names.push(format!("/it/seq/job-{n}"));
    }
    c.set_acl("/it/acl/other", &digest, Some(1))
        .await
        .map_err(|e| zerr("setACL /it/acl/other", e))?;
    // world:anyone:r grants no ADMIN: the ACL Apache stored is enforced.
    match c
        .set_acl("/it/acl/read-only", &Acls::anyone_all(), None)
        .await
    {
        Err(zk::Error::NoAuth) => {}
        other => {
            return Err(format!(
                "setACL without ADMIN on /it/acl/read-only: expected NoAuth, got {other:?}"
            ))
        }
    }
    c.set_acl("/it/acl/mixed", &digest, Some(2))
        .await
        .map_err(|e| zerr("setACL /it/acl/mixed", e))?;
    c.delete("/it/container/item", None)
        .await
        .map_err(|e| zerr("delete /it/container/item", e))?;
    c.create("/it/container/item2", b"replaced", &all)
        .await
        .map_err(|e| zerr("create /it/container/item2", e))?;

    // A multi that commits and one that fails.
    let mut w = c.new_multi_writer();
    w.add_check_version("/zb", 0)
        .map_err(|e| zerr("multi check", e))?;
    w.add_create("/zb/m", b"in a multi", &all)
        .map_err(|e| zerr("multi create", e))?;
    w.add_set_data("/it/multi/new", b"newest", Some(1))
        .map_err(|e| zerr("multi set", e))?;
    w.add_delete("/it/values/empty", Some(0))
        .map_err(|e| zerr("multi delete", e))?;
    w.add_create("/it/multi/s-", b"seq in a zk-bin multi", &seq)
        .map_err(|e| zerr("multi create sequential", e))?;
    w.commit()
        .await
        .map_err(|e| format!("multi that should commit: {e:?}"))?;
    let mut w = c.new_multi_writer();
    w.add_create("/zb/never", b"", &all)
        .map_err(|e| zerr("multi create", e))?;
    w.add_delete("/zb/missing", None)
        .map_err(|e| zerr("multi delete", e))?;
    match w.commit().await {
        Err(zk::MultiWriteError::OperationFailed {
            index: 1,
            source: zk::Error::NoNode,
        }) => {}
        other => {
            return Err(format!(
                "multi deleting a missing node: expected op 1 NoNode, got {other:?}"
            ))
        }
    }

    // Ephemerals of a session that closes: in the log, gone from the tree.
    let short = connect(&addr, &[], None, false, CONNECT_TIMEOUT).await?;
    short
        .create(
            "/zb/eph",
            b"",
            &CreateMode::Ephemeral.with_acls(Acls::anyone_all()),
        )
        .await
        .map_err(|e| zerr("create /zb/eph", e))?;
    close_and_wait(short, server, CONNECT_TIMEOUT).await?;

    // Past snapCount (Apache-style rolling snapshots at a random point in
    // the second half): about 3 * SNAP_COUNT txns, pipelined.
    c.create("/zb/loop", b"", &all)
        .await
        .map_err(|e| zerr("create /zb/loop", e))?;
    for round in 0..SNAP_COUNT {
        let node = format!("/zb/loop/n{round:04}");
        let create = c.create(&node, format!("round {round}").as_bytes(), &all);
        let set = c.set_data(&node, format!("round {round} set").as_bytes(), Some(0));
        let shared = c.set_data("/it/bulk", format!("zk-bin round {round}").as_bytes(), None);
        create
            .await
            .map_err(|e| zerr(format_args!("create {node}"), e))?;
        set.await.map_err(|e| zerr(format_args!("set {node}"), e))?;
        shared.await.map_err(|e| zerr("set /it/bulk", e))?;
        if round % 2 == 1 {
            let victim = format!("/zb/loop/n{:04}", round - 1);
            c.delete(&victim, Some(1))
                .await
                .map_err(|e| zerr(format_args!("delete {victim}"), e))?;
        }
        if round % 25 == 0 {
            let (_, n) = c
                .create("/it/bulk/seq/s-", b"zk-bin", &seq)
                .await
                .map_err(|e| zerr("create /it/bulk/seq/s-", e))?;
            names.push(format!("/it/bulk/seq/s-{n}"));
        }
    }
    close_and_wait(c, server, CONNECT_TIMEOUT).await?;
    Ok(names)
}

#[test]
fn data_dir_interchanges_with_apache_both_ways() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // ZkBinServer keeps its data in `work/data`: Apache uses the same dir.
    let work = TempDir::new("zk-interchange").expect("temp dir");
    let data_dir = work.join("data");
    let version_2 = data_dir.join("version-2");
    let auths = reader_auths();

    // 1. Apache writes a fresh dir.
    let apache_port = free_port().expect("free port");
    let mut cfg = ServerConfig::new(work.path(), &data_dir, apache_port);
    cfg.snap_count = SNAP_COUNT;
    cfg.pre_alloc_kb = 1024;
    cfg.extended_types = true;
    let mut apache = zk.start(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let options = workload::Options {
        ttl_nodes: true,
        ..workload::Options::default()
    };
    let outcome = rt
        .block_on(workload::run(apache.addr(), &options))
        .unwrap_or_else(|e| apache_fail(&apache, "workload on Apache", e));
    for note in &outcome.notes {
        println!("note: {note}");
    }
    rt.block_on(close_open_session(outcome.open_client, apache.addr()))
        .unwrap_or_else(|e| apache_fail(&apache, "closing the open session", e));
    let by_apache = rt
        .block_on(dump_server(apache.addr(), &auths, DUMP_TIMEOUT))
        .unwrap_or_else(|e| apache_fail(&apache, "dump of Apache", e));
    assert!(
        by_apache.ephemerals().is_empty(),
        "ephemerals left after closing every session: {:?}",
        by_apache.ephemerals()
    );
    for path in [
        "/it/ttl",
        "/it/container/item",
        "/it/large/a",
        "/it/acl/digest",
    ] {
        assert!(by_apache.get(path).is_some(), "Apache's tree lacks {path}");
    }
    let status = apache
        .terminate(STOP_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    let apache_snaps = data_files(&version_2, "snapshot");
    let apache_logs = data_files(&version_2, "log");
    println!(
        "Apache wrote {} nodes up to zxid 0x{:x} and exited with {status} after {:?}; \
         snapshots [{}], logs [{}]",
        by_apache.len(),
        by_apache.max_zxid(),
        started.elapsed(),
        zxids(&apache_snaps),
        zxids(&apache_logs)
    );
    assert!(
        apache_snaps.len() >= 3 && apache_logs.len() >= 3,
        "expected several snapshots and logs from Apache"
    );

    // 2. zk-bin on Apache's dir serves the same tree, then writes on.
    let zk_bin_port = free_port_except(&[apache_port]).expect("free port");
    let mut ours =
        ZkBinServer::start(&work, zk_bin_port, ZK_BIN_CFG).unwrap_or_else(|e| panic!("{e}"));
    // It must have restored from Apache's newest snapshot, not skipped it
    // as unreadable for an older one (the tree could still come out equal).
    let newest = &apache_snaps.last().expect("Apache's snapshots").1;
    let restored_line = format!("Restored snapshot {} ", newest.display());
    let log = ours.log_text();
    if !log.contains(&restored_line) || log.contains("Skipped snapshot") {
        zk_bin_fail(
            &ours,
            "zk-bin did not restore Apache's newest snapshot",
            newest.display(),
        );
    }
    // As 3.8's loadData, it takes a clean snapshot once restored.
    let startup_snap = data_files(&version_2, "snapshot")
        .into_iter()
        .find(|(z, _)| *z >= by_apache.max_zxid() && !apache_snaps.iter().any(|(a, _)| a == z))
        .unwrap_or_else(|| {
            zk_bin_fail(
                &ours,
                "zk-bin took no snapshot at startup (Apache's loadData does)",
                zxids(&data_files(&version_2, "snapshot")),
            )
        });
    println!(
        "zk-bin restored {} and took a startup snapshot at 0x{:x}",
        newest.display(),
        startup_snap.0
    );
    let on_start = rt
        .block_on(dump_server(ours.addr, &auths, DUMP_TIMEOUT))
        .unwrap_or_else(|e| zk_bin_fail(&ours, "dump of zk-bin on Apache's dir", e));
    if let Err(report) = by_apache.compare(
        "Apache 3.8 before it stopped",
        &on_start,
        "zk-bin started on Apache's dataDir",
        30,
    ) {
        zk_bin_fail(&ours, "zk-bin serves another tree than Apache did", report);
    }
    println!(
        "zk-bin serves Apache's tree ({} nodes) after {:?}",
        on_start.len(),
        started.elapsed()
    );
    let names = rt
        .block_on(async {
            tokio::time::timeout(ZK_BIN_WRITES_TIMEOUT, zk_bin_writes(ours.addr))
                .await
                .map_err(|_| format!("the writes took longer than {ZK_BIN_WRITES_TIMEOUT:?}"))?
        })
        .unwrap_or_else(|e| zk_bin_fail(&ours, "writes through zk-bin", e));
    let by_zk_bin = rt
        .block_on(dump_server(ours.addr, &auths, DUMP_TIMEOUT))
        .unwrap_or_else(|e| zk_bin_fail(&ours, "dump of zk-bin after its writes", e));
    assert!(
        by_zk_bin.ephemerals().is_empty(),
        "ephemerals left in zk-bin's tree"
    );
    for path in names.iter().map(String::as_str).chain([
        "/zb/ttl",
        "/zb/box/item",
        "/zb/large",
        "/zb/m",
        "/zb/loop/n0099",
    ]) {
        assert!(by_zk_bin.get(path).is_some(), "zk-bin's tree lacks {path}");
    }
    assert_eq!(
        by_zk_bin.get("/it/large/b").map(|n| n.data.as_slice()),
        Some(large_value(6).as_slice())
    );
    assert!(by_zk_bin.get("/it/doomed").is_none());
    assert!(by_zk_bin.max_zxid() > by_apache.max_zxid() + 2 * i64::from(SNAP_COUNT));
    let status = ours
        .terminate(STOP_TIMEOUT)
        .unwrap_or_else(|e| zk_bin_fail(&ours, "stopping zk-bin", e));
    assert!(status.success(), "zk-bin exited with {status} on SIGTERM");
    let snaps = data_files(&version_2, "snapshot");
    let logs = data_files(&version_2, "log");
    let last_apache_snap = apache_snaps.last().map_or(0, |(z, _)| *z);
    let last_apache_log = apache_logs.last().map_or(0, |(z, _)| *z);
    let zk_bin_snaps: Vec<_> = snaps
        .iter()
        .filter(|(z, _)| *z > last_apache_snap)
        .cloned()
        .collect();
    let zk_bin_logs: Vec<_> = logs
        .iter()
        .filter(|(z, _)| *z > last_apache_log)
        .cloned()
        .collect();
    println!(
        "zk-bin wrote {} nodes up to zxid 0x{:x}, handed out {names:?}, exited with {status} \
         after {:?}; its snapshots [{}], its logs [{}]",
        by_zk_bin.len(),
        by_zk_bin.max_zxid(),
        started.elapsed(),
        zxids(&zk_bin_snaps),
        zxids(&zk_bin_logs)
    );
    // Apache must read zk-bin's own files in step 3, not only its own.
    assert!(
        zk_bin_snaps.len() >= 2 && !zk_bin_logs.is_empty(),
        "expected snapshots and logs written by zk-bin past snapCount"
    );

    // 3. Apache on the dir zk-bin left serves zk-bin's tree.
    cfg.client_port = free_port_except(&[apache_port, zk_bin_port]).expect("free port");
    let mut apache = zk.start(&cfg).unwrap_or_else(|e| panic!("{e}"));
    // Apache must have read zk-bin's newest snapshot without complaint.
    let newest = &zk_bin_snaps.last().expect("zk-bin's snapshots").1;
    let needle = format!("Reading snapshot {}", newest.display());
    apache
        .wait_for_log(&[&needle], Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    let log = apache.log_text();
    for complaint in ["problem reading snap file", "invalid snapshot"] {
        if log.contains(complaint) {
            apache_fail(&apache, "Apache complained about a snapshot", complaint);
        }
    }
    let back = rt
        .block_on(dump_server(apache.addr(), &auths, DUMP_TIMEOUT))
        .unwrap_or_else(|e| apache_fail(&apache, "dump of Apache on zk-bin's dir", e));
    if let Err(report) = by_zk_bin.compare(
        "zk-bin before it stopped",
        &back,
        "Apache 3.8 started on zk-bin's dataDir",
        30,
    ) {
        apache_fail(
            &apache,
            "Apache serves another tree than zk-bin did",
            report,
        );
    }
    apache
        .terminate(STOP_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "Apache serves zk-bin's tree ({} nodes); done after {:?}",
        back.len(),
        started.elapsed()
    );
}
