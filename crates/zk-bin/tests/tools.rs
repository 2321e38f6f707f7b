//! The data-directory tools on files written by zk-persistence, and (where
//! Java and Debian's Apache ZooKeeper 3.8 are installed) the Java tools on
//! the same files: both must list the same znodes and txns.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zk_persistence::data_tree::DataTree;
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::records::{
    CreateSessionTxn, CreateTxn, DeleteTxn, SetAclTxn, SetDataTxn, TxnHeader,
};
use zk_persistence::snapshot::SessionMap;
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::{ids, op_code};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("zk-bin-tools-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn zk_bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zk-bin"))
        .args(args)
        .output()
        .expect("zk-bin runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "zk-bin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Writes a snapshot at zxid 3 and a log with txns 1..=8 (sessions,
/// creates with odd characters and binary data, setData, setACL, delete,
/// a multi); returns (snapshot, log).
fn write_data_dir(dir: &Path) -> (PathBuf, PathBuf) {
    let mut snap_log = FileTxnSnapLog::open(dir, dir).unwrap();
    let mut tree = DataTree::new();
    let mut sessions = SessionMap::new();
    let acl = ids::open_acl_unsafe();
    let create = |path: &str, data: &[u8], ephemeral: bool| {
        Txn::Create(CreateTxn {
            path: path.into(),
            data: Some(data.to_vec()),
            acl: acl.clone(),
            ephemeral,
            parent_c_version: -1,
        })
    };
    let sid = 0x1000_0000_0000_0abc_i64;
    let txns = vec![
        (
            op_code::CREATE_SESSION,
            Txn::CreateSession(CreateSessionTxn { time_out: 30000 }),
        ),
        (op_code::CREATE, create("/app", b"hello, world", false)),
        (
            op_code::CREATE,
            create("/app/ünï,cödé}", &[0, 1, 0xfe, 0xff], false),
        ),
        (op_code::CREATE, create("/app/eph", b"", true)),
        (
            op_code::SET_DATA,
            Txn::SetData(SetDataTxn {
                path: "/app".into(),
                data: Some(b"v2".to_vec()),
                version: 1,
            }),
        ),
        (
            op_code::SET_ACL,
            Txn::SetAcl(SetAclTxn {
                path: "/app".into(),
                acl: ids::read_acl_unsafe(),
                version: 1,
            }),
        ),
        (op_code::CREATE, create("/gone", b"x", false)),
        (
            op_code::DELETE,
            Txn::Delete(DeleteTxn {
                path: "/gone".into(),
            }),
        ),
        (
            op_code::MULTI,
            Txn::Multi(vec![create("/m1", b"a", false), create("/m2", b"b", false)]),
        ),
    ];
    for (i, (op, txn)) in txns.into_iter().enumerate() {
        let zxid = i as i64 + 1;
        let hdr = TxnHeader {
            client_id: sid,
            cxid: i as i32,
            zxid,
            time: 1_795_400_000_000 + zxid * 1000,
            txn_type: op,
        };
        snap_log.append_txn(&hdr, &txn, None).unwrap();
        let rc = tree.process_txn(&hdr, &txn);
        assert_eq!(rc.err, 0, "txn {zxid} applies");
        if op == op_code::CREATE_SESSION {
            sessions.insert(sid, 30000);
        }
        if zxid == 4 {
            snap_log.save(&tree, &sessions, true).unwrap();
        }
    }
    snap_log.commit().unwrap();
    snap_log.close().unwrap();
    let v2 = dir.join("version-2");
    (v2.join("snapshot.4"), v2.join("log.1"))
}

#[test]
fn snapshot_dump_lists_nodes_stats_data_and_sessions() {
    let dir = TempDir::new("snap");
    let (snap, _) = write_data_dir(&dir.0);
    let text = stdout(&zk_bin(&["snapshot-dump", "-d", snap.to_str().unwrap()]));
    assert!(text.starts_with("ZNode Details (count=8):\n"), "{text}");
    assert!(text.contains("\n/app/eph\n"), "{text}");
    assert!(text.contains("  data = AAH+/w==\n"), "{text}");
    assert!(
        text.contains("  ephemeralOwner = 0x1000000000000abc\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "Session Details (sid, timeout, ephemeralCount):\n0x1000000000000abc, 30000, 1\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("----\nLast zxid: 0x4\n"), "{text}");
    let json = stdout(&zk_bin(&[
        "snapshot-dump",
        "--json",
        snap.to_str().unwrap(),
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v[0], 1);
}

#[test]
fn txnlog_dump_lists_every_txn() {
    let dir = TempDir::new("log");
    let (_, log) = write_data_dir(&dir.0);
    let text = stdout(&zk_bin(&["txnlog-dump", log.to_str().unwrap()]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2"
    );
    assert!(
        lines[1].ends_with("session 0x1000000000000abc cxid 0x0 zxid 0x1 createSession 30000"),
        "{}",
        lines[1]
    );
    assert!(text.contains("zxid 0x8 delete '/gone\n"), "{text}");
    assert_eq!(*lines.last().unwrap(), "EOF reached after 9 txns.");
}

#[test]
fn damaged_log_is_reported_with_its_offset() {
    let dir = TempDir::new("damage");
    let (_, log) = write_data_dir(&dir.0);
    let mut bytes = std::fs::read(&log).unwrap();
    // The first entry's length field sits after the 16-byte file header
    // and its 8-byte checksum: make it absurd.
    bytes[24..28].copy_from_slice(&0x7fff_fff0_i32.to_be_bytes());
    std::fs::write(&log, &bytes).unwrap();
    let out = zk_bin(&["txnlog-dump", log.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("offset 16"), "{err}");
    assert!(err.contains("log.1"), "{err}");
}

#[test]
fn purge_refuses_fewer_than_three_and_keeps_the_newest() {
    let dir = TempDir::new("purge");
    write_data_dir(&dir.0);
    let d = dir.0.to_str().unwrap();
    let out = zk_bin(&["purge", d, "-n", "2"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 3"));
    let text = stdout(&zk_bin(&["purge", d, "-n", "3"]));
    assert!(text.contains("Removed 0 files"), "{text}");
    assert!(dir.0.join("version-2/snapshot.4").exists());
}

#[test]
fn bad_config_exits_non_zero_naming_the_key() {
    let dir = TempDir::new("cfg");
    let cfg = dir.0.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!("dataDir={}\nclientPort=abc\n", dir.0.display()),
    )
    .unwrap();
    let out = zk_bin(&[cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("clientPort=abc"), "{err}");
}

/// The Java classpath of Debian's Apache ZooKeeper 3.8 packages, or why
/// it cannot be used here.
fn java_classpath() -> Result<String, String> {
    let java = Command::new("java").arg("-version").output();
    if !matches!(java, Ok(ref o) if o.status.success()) {
        return Err("no java on PATH".into());
    }
    let share = Path::new("/usr/share/java");
    if !share.join("zookeeper.jar").exists() {
        return Err("/usr/share/java/zookeeper.jar is missing (Debian package zookeeper)".into());
    }
    let mut cp = vec![share.join("zookeeper.jar")];
    for jar in [
        "zookeeper-jute",
        "commons-cli",
        "commons-io",
        "jackson-annotations",
        "jackson-core",
        "jackson-databind",
        "log4j-1.2",
        "metrics-core",
        "netty-buffer",
        "netty-codec",
        "netty-common",
        "netty-handler",
        "netty-resolver",
        "netty-transport",
        "slf4j-api",
        "slf4j-nop",
        "snappy-java",
    ] {
        let p = share.join(format!("{jar}.jar"));
        if p.exists() {
            cp.push(p);
        }
    }
    Ok(cp
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":"))
}

fn java_tool(cp: &str, class: &str, args: &[&str]) -> String {
    let out = Command::new("java")
        .args([
            "-cp",
            cp,
            "-Duser.timezone=UTC",
            "-Duser.language=en",
            "-Duser.country=US",
            class,
        ])
        .args(args)
        .output()
        .expect("java runs");
    assert!(
        out.status.success(),
        "{class}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The blocks between `----` lines, sorted: children come in a different
/// (but each valid) order from the two tools.
fn node_blocks(text: &str) -> Vec<String> {
    let mut blocks: Vec<String> = text.split("----\n").map(str::to_string).collect();
    blocks.sort();
    blocks
}

#[test]
fn java_tools_read_what_zk_persistence_writes_with_the_same_content() {
    let cp = match java_classpath() {
        Ok(cp) => cp,
        Err(why) => {
            println!("skipped: Apache ZooKeeper's tools are not available: {why}");
            return;
        }
    };
    let dir = TempDir::new("java");
    let (snap, log) = write_data_dir(&dir.0);
    let (snap, log) = (snap.to_str().unwrap(), log.to_str().unwrap());

    let theirs = java_tool(
        &cp,
        "org.apache.zookeeper.server.SnapshotFormatter",
        &["-d", snap],
    );
    let ours = stdout(&zk_bin(&["snapshot-dump", "-d", snap]));
    assert_eq!(
        node_blocks(&ours),
        node_blocks(&theirs),
        "ours:\n{ours}\ntheirs:\n{theirs}"
    );

    let theirs = java_tool(
        &cp,
        "org.apache.zookeeper.server.persistence.TxnLogToolkit",
        &["--dump", log],
    );
    let ours = stdout(&zk_bin(&["txnlog-dump", log]));
    assert_eq!(ours, theirs);
}
