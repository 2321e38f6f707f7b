//! Apache ZooKeeper 3.8 writes a data directory; we check we read it exactly.
//!
//! 1. Apache (Debian's packages) runs the [`workload`] with a small
//!    snapCount, so the dir gets several snapshots and logs, fuzzy
//!    snapshots, and one session still open with ephemerals.
//! 2. We dump the tree Apache serves, SIGKILL it, keep a copy of the dir as
//!    the crash left it, restart Apache on the dir and dump again: both
//!    dumps must be equal (this checks the harness and pins down what
//!    "restored exactly" means, including the session left open).
//! 3. The snapshot Apache writes at startup holds the full restored tree;
//!    `SnapshotFormatter -d` of it, converted to client-visible stats, must
//!    equal the served tree, and list the open session with its timeout.
//!    `SnapshotFormatter` and `TxnLogToolkit` output for every file of the
//!    crashed dir must parse (the parsers are what the zk-bin tool
//!    comparison builds on).
//! 4. zk-persistence restores the crashed copy; the restored tree (paths,
//!    data, every Stat field, ACLs) and sessions must equal what Apache
//!    served.
//!
//! Without Java or the packages the test prints `skipped: <reason>` and
//! passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration::apache::{ApacheServer, ApacheZk, ServerConfig, SnapshotFormat};
use integration::ports::{copy_dir_files, free_port, free_port_except, TempDir};
use integration::tool_output::{
    parse_snapshot_json, parse_snapshot_text, parse_txn_log_text, SnapshotSession,
};
use integration::tree_model::{child_path, dump_server, AclEntry, NodeModel, NodeStat, TreeModel};
use integration::workload;
use integration::zk_bin::run_zk_bin;
use zk_persistence::data_tree::{DataTree, DataTreeOptions};
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::ExtendedTypes;

const DUMP_TIMEOUT: Duration = Duration::from_secs(30);

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

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// The `----`-separated blocks of a snapshot listing, each with its lines
/// sorted, then sorted themselves: children and sessions come in HashSet
/// and HashMap order from Java, oldest first and by id from us.
fn blocks(text: &str) -> Vec<String> {
    let mut b: Vec<String> = text
        .split("----\n")
        .map(|block| {
            let mut lines: Vec<&str> = block.lines().collect();
            lines.sort_unstable();
            lines.join("\n")
        })
        .collect();
    b.sort_unstable();
    b
}

fn fail(server: &ApacheServer, what: &str, e: impl std::fmt::Display) -> ! {
    panic!(
        "{what}: {e}\n--- last lines of the Apache log {} ---\n{}",
        server.log_path().display(),
        server.log_tail(80)
    )
}

#[test]
fn apache_data_dir_is_restored_exactly() {
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
    let work = TempDir::new("zk-apache-datadir").expect("temp dir");
    let data_dir = work.join("data");

    // 1. Apache writes the dir.
    let first_port = free_port().expect("free port");
    let mut cfg = ServerConfig::new(work.path(), &data_dir, first_port);
    cfg.snap_count = 100;
    cfg.pre_alloc_kb = 1024;
    cfg.extended_types = true;
    let mut first = zk.start(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let options = workload::Options {
        ttl_nodes: true,
        ..workload::Options::default()
    };
    let outcome = rt
        .block_on(workload::run(first.addr(), &options))
        .unwrap_or_else(|e| fail(&first, "workload", e));
    for note in &outcome.notes {
        println!("note: {note}");
    }
    let open_sid = outcome.open_session_id;
    let open_timeout = outcome.open_session_timeout_ms;
    println!(
        "open session 0x{open_sid:x}, timeout {open_timeout} ms, ephemerals {:?}; workload done after {:?}",
        outcome.open_ephemerals,
        started.elapsed()
    );

    // 2. What Apache serves, before and after a crash and restart.
    let auths = workload::reader_auths();
    let served = rt
        .block_on(dump_server(first.addr(), &auths, DUMP_TIMEOUT))
        .unwrap_or_else(|e| fail(&first, "dump before the crash", e));
    first.kill().unwrap_or_else(|e| panic!("{e}"));
    // Detached: dropping it sends nothing; the session lives on in the dir.
    drop(outcome.open_client);
    let crashed = work.join("crashed");
    copy_dir_files(&data_dir, &crashed).expect("copy the data dir");
    let crashed_v2 = crashed.join("version-2");
    let snapshots = data_files(&crashed_v2, "snapshot");
    let logs = data_files(&crashed_v2, "log");
    println!(
        "crashed dir: {} snapshots, {} logs, {} nodes served, last zxid 0x{:x}",
        snapshots.len(),
        logs.len(),
        served.len(),
        served.max_zxid()
    );
    assert!(
        snapshots.len() >= 3,
        "expected several snapshots, got {snapshots:?}"
    );
    assert!(logs.len() >= 3, "expected several txn logs, got {logs:?}");

    for path in &outcome.open_ephemerals {
        let node = served
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from the served tree"));
        assert_eq!(node.stat.ephemeral_owner, open_sid, "{path}");
    }
    assert_eq!(
        served.ephemerals().keys().copied().collect::<Vec<_>>(),
        vec![open_sid],
        "only the open session should own ephemerals"
    );

    cfg.client_port = free_port_except(&[first_port]).expect("free port");
    let mut second = zk.start(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let served_again = rt
        .block_on(dump_server(second.addr(), &auths, DUMP_TIMEOUT))
        .unwrap_or_else(|e| fail(&second, "dump after the restart", e));
    second.kill().unwrap_or_else(|e| panic!("{e}"));
    if let Err(report) = served.compare(
        "Apache before the crash",
        &served_again,
        "Apache restarted on the dir",
        20,
    ) {
        panic!("{report}");
    }
    println!("restart compared after {:?}", started.elapsed());

    // 3. The startup snapshot of the restarted server is the restored tree.
    let after_restart = data_files(&data_dir.join("version-2"), "snapshot");
    let startup_snapshot = after_restart
        .iter()
        .find(|(zxid, _)| !snapshots.iter().any(|(z, _)| z == zxid))
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("Apache wrote no snapshot at startup: {after_restart:?}"));
    let text = zk
        .snapshot_formatter(&startup_snapshot, SnapshotFormat::WithData)
        .unwrap_or_else(|e| panic!("{e}"));
    let startup = parse_snapshot_text(&text)
        .unwrap_or_else(|e| panic!("SnapshotFormatter -d {}: {e}", startup_snapshot.display()));
    let from_snapshot = startup.served_tree().unwrap_or_else(|e| panic!("{e}"));
    if let Err(report) = served.without_acls().times_in_seconds().compare(
        "Apache served",
        &from_snapshot,
        "SnapshotFormatter -d of the startup snapshot",
        20,
    ) {
        panic!("{report}");
    }
    assert_eq!(
        startup.sessions_sorted(),
        vec![SnapshotSession {
            id: open_sid,
            timeout_ms: open_timeout,
            ephemeral_count: outcome.open_ephemerals.len(),
        }],
        "sessions in the startup snapshot"
    );

    // Every file of the crashed dir through the Java tools and our parsers.
    let mut fuzzy = 0;
    for (zxid, snapshot) in &snapshots {
        let text = zk
            .snapshot_formatter(snapshot, SnapshotFormat::Plain)
            .unwrap_or_else(|e| panic!("{e}"));
        let parsed = parse_snapshot_text(&text)
            .unwrap_or_else(|e| panic!("SnapshotFormatter {}: {e}", snapshot.display()));
        if parsed.last_zxid > *zxid {
            fuzzy += 1;
        }
        // Our snapshot-dump -d lists the same znodes, stats, data and
        // sessions (child order aside: Java's is HashSet order).
        let theirs = zk
            .snapshot_formatter(snapshot, SnapshotFormat::WithData)
            .unwrap_or_else(|e| panic!("{e}"));
        let ours = run_zk_bin(&["snapshot-dump", "-d", path_str(snapshot)])
            .unwrap_or_else(|e| panic!("{e}"));
        let (ours, theirs) = (blocks(&ours), blocks(&theirs));
        let only_ours: Vec<_> = ours.iter().filter(|b| !theirs.contains(b)).collect();
        let only_theirs: Vec<_> = theirs.iter().filter(|b| !ours.contains(b)).collect();
        assert!(
            only_ours.is_empty() && only_theirs.is_empty(),
            "snapshot-dump -d and SnapshotFormatter -d differ on {}:\nonly ours: {only_ours:#?}\nonly theirs: {only_theirs:#?}",
            snapshot.display()
        );
    }
    let last_snapshot = &snapshots.last().expect("snapshots").1;
    let json = zk
        .snapshot_formatter(last_snapshot, SnapshotFormat::Json)
        .unwrap_or_else(|e| panic!("{e}"));
    let json_nodes = parse_snapshot_json(&json)
        .unwrap_or_else(|e| panic!("SnapshotFormatter -json {}: {e}", last_snapshot.display()));
    assert!(json_nodes.iter().any(|n| n.path == "/zookeeper/quota"));
    println!(
        "{fuzzy} of {} snapshots are fuzzy (hold txns past their name's zxid); tools ran after {:?}",
        snapshots.len(),
        started.elapsed()
    );

    let mut next_zxid = None;
    let mut ops = std::collections::BTreeSet::new();
    for (zxid, log) in &logs {
        let text = zk.txn_log_toolkit(log).unwrap_or_else(|e| panic!("{e}"));
        let ours = run_zk_bin(&["txnlog-dump", path_str(log)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ours,
            text,
            "txnlog-dump and TxnLogToolkit --dump differ on {}",
            log.display()
        );
        let parsed = parse_txn_log_text(&text)
            .unwrap_or_else(|e| panic!("TxnLogToolkit {}: {e}", log.display()));
        assert!(
            parsed.crc_errors.is_empty(),
            "{}: CRC errors",
            log.display()
        );
        let first = parsed
            .txns
            .first()
            .unwrap_or_else(|| panic!("{} holds no txn", log.display()));
        assert_eq!(
            first.zxid,
            *zxid,
            "{} starts at another zxid",
            log.display()
        );
        for txn in &parsed.txns {
            if let Some(expected) = next_zxid {
                assert_eq!(txn.zxid, expected, "zxid gap in {}", log.display());
            }
            next_zxid = Some(txn.zxid + 1);
            ops.insert(txn.op.clone());
        }
    }
    println!(
        "txn types logged: {ops:?}; logs read after {:?}",
        started.elapsed()
    );
    for op in [
        "createSession",
        "closeSession",
        // The client creates with create2 (3.5+), which logs as such.
        "create2",
        "createContainer",
        "createTtl",
        "delete",
        "setData",
        "setACL",
        "multi",
        "error",
    ] {
        assert!(ops.contains(op), "no {op} txn in the logs: {ops:?}");
    }
    assert!(
        next_zxid.unwrap_or(0) > served.max_zxid(),
        "the logs end before the last zxid the tree shows"
    );

    // 4. zk-persistence restores the crashed copy.
    restore_with_zk_persistence(&crashed, &served, open_sid, open_timeout);
    println!("done after {:?}", started.elapsed());
}

/// Restores the crashed copy with zk-persistence (`ZKDatabase::load_database`:
/// newest valid snapshot plus the later txns) and compares the tree as a
/// client would read it (paths, data, every Stat field, ACLs) and the open
/// session with what Apache served.
fn restore_with_zk_persistence(
    crashed: &Path,
    served: &TreeModel,
    open_sid: i64,
    open_timeout: i32,
) {
    // Restore as a server configured like the Apache one (TTL nodes on):
    // whether an ephemeralOwner of 0xff.. means "TTL node" depends on it.
    DataTreeOptions::set_current(DataTreeOptions {
        digest_enabled: true,
        extended_types: ExtendedTypes {
            enabled: true,
            emulate_353_ttl: false,
        },
    });
    let snap_log = FileTxnSnapLog::open(crashed, crashed)
        .unwrap_or_else(|e| panic!("open {}: {e}", crashed.display()));
    let mut db: ZKDatabase<DataTree> = ZKDatabase::new(snap_log);
    let zxid = db
        .load_database()
        .unwrap_or_else(|e| panic!("zk-persistence cannot restore {}: {e}", crashed.display()));
    let tree = db.data_tree();
    let mut restored = TreeModel::default();
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        let node = tree
            .get_node(&path)
            .unwrap_or_else(|| panic!("{path} listed as a child but missing"));
        let stat = node.stat();
        restored.nodes.insert(
            path.clone(),
            NodeModel {
                data: node.data().unwrap_or(&[]).to_vec(),
                stat: NodeStat {
                    czxid: stat.czxid,
                    mzxid: stat.mzxid,
                    ctime: stat.ctime,
                    mtime: stat.mtime,
                    version: stat.version,
                    cversion: stat.cversion,
                    aversion: stat.aversion,
                    ephemeral_owner: stat.ephemeral_owner,
                    data_length: stat.data_length,
                    num_children: stat.num_children,
                    pzxid: stat.pzxid,
                },
                acl: node
                    .acl()
                    .iter()
                    .map(|a| AclEntry::new(a.perms, &a.id.scheme, &a.id.id))
                    .collect(),
            },
        );
        for child in node.children() {
            stack.push(child_path(&path, &child));
        }
    }
    // The dump covers what a client can read; keep the same paths.
    restored
        .nodes
        .retain(|path, _| served.get(path).is_some() || !path.starts_with("/zookeeper"));
    if let Err(report) = served.compare("Apache served", &restored, "zk-persistence restored", 20) {
        panic!("{report}");
    }
    assert!(
        zxid >= served.max_zxid(),
        "restored up to 0x{zxid:x}, served 0x{:x}",
        served.max_zxid()
    );
    assert_eq!(
        db.sessions_with_timeouts().get(&open_sid),
        Some(&open_timeout),
        "the session left open (0x{open_sid:x}) and its timeout"
    );
    assert_eq!(
        tree.get_ephemerals(open_sid).len(),
        served.ephemerals().get(&open_sid).map_or(0, Vec::len),
        "ephemerals of 0x{open_sid:x}"
    );
    println!(
        "zk-persistence restored {} nodes up to zxid 0x{zxid:x}, equal to what Apache served",
        restored.len()
    );
}
