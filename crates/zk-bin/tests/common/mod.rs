//! Helpers shared by the zk-bin integration tests: a temp dir, running the
//! built binary, and a data directory written with zk-persistence.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zk_persistence::data_tree::DataTree;
use zk_persistence::file_snap::SessionMap;
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::records::{
    Acl, CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, Id, SetAclTxn, SetDataTxn, TxnHeader,
};
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::{ids, perms};

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("zk-bin-{name}-{}", std::process::id()));
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

pub fn zk_bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zk-bin"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("zk-bin runs")
}

/// stdout of a run that must have succeeded.
pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "zk-bin failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub const SESSIONS: usize = 20;

/// The session ids used: enough of them that Java's session map grows
/// past its first table, spread over several high bytes.
pub fn session_id(i: usize) -> i64 {
    0x1000_0000_0000_0abc + i as i64 * 0x0100_0001_0001
}

fn create(path: &str, data: Option<&[u8]>, ephemeral: bool) -> Txn {
    Txn::Create(CreateTxn {
        path: path.into(),
        data: data.map(<[u8]>::to_vec),
        acl: ids::open_acl_unsafe(),
        ephemeral,
        parent_c_version: -1,
    })
}

/// Txns the tree applies before the snapshot: sessions, znodes with odd
/// names and data, ephemerals, a parent with enough children to grow
/// Java's children set twice, a deep path, setData, setACL, delete, multi.
fn applied_txns() -> Vec<(i64, Txn)> {
    let s0 = session_id(0);
    let mut txns: Vec<(i64, Txn)> = (0..SESSIONS)
        .map(|i| {
            (
                session_id(i),
                Txn::CreateSession(CreateSessionTxn {
                    time_out: 30_000 + i as i32 * 1000,
                }),
            )
        })
        .collect();
    let mut by = |sid: i64, txn: Txn| txns.push((sid, txn));
    by(s0, create("/app", Some(b"hello, world"), false));
    by(
        s0,
        create("/app/ünï,cödé}", Some(&[0, 1, 0xfe, 0xff]), false),
    );
    by(s0, create("/app/eph", Some(b""), true));
    by(session_id(3), create("/app/eph2", Some(b"e"), true));
    by(s0, create("/many", None, false));
    for i in 0..30 {
        by(
            s0,
            create(&format!("/many/c-{}", i * 37 % 100), Some(b"c"), false),
        );
    }
    for p in ["/deep", "/deep/a", "/deep/a/b", "/deep/a/b/c"] {
        by(s0, create(p, Some(p.as_bytes()), false));
    }
    by(s0, create("/q\"uote\\ ctl\u{1f}", Some(b"j"), false));
    by(s0, create("/nodata", None, false));
    by(
        s0,
        Txn::SetData(SetDataTxn {
            path: "/app".into(),
            data: Some(b"v2".to_vec()),
            version: 1,
        }),
    );
    by(
        s0,
        Txn::SetAcl(SetAclTxn {
            path: "/app".into(),
            acl: ids::read_acl_unsafe(),
            version: 1,
        }),
    );
    by(s0, create("/gone", Some(b"x"), false));
    by(
        s0,
        Txn::Delete(DeleteTxn {
            path: "/gone".into(),
        }),
    );
    by(
        s0,
        Txn::Multi(vec![
            create("/m1", Some(b"a"), false),
            create("/m2", Some(b"b"), false),
        ]),
    );
    txns
}

/// Txns only logged after the snapshot (the tools print them; nothing
/// applies them): every other kind of txn and body.
fn logged_only_txns() -> Vec<(i64, Txn)> {
    let s0 = session_id(0);
    let digest_acl = vec![Acl {
        perms: perms::READ | perms::ADMIN,
        id: Id {
            scheme: "digest".into(),
            id: "user:abc,def=".into(),
        },
    }];
    vec![
        (
            s0,
            Txn::SetData(SetDataTxn {
                path: "/app".into(),
                data: None,
                version: 2,
            }),
        ),
        (
            s0,
            Txn::CreateContainer(CreateContainerTxn {
                path: "/cont".into(),
                data: Some(b"c".to_vec()),
                acl: digest_acl.clone(),
                parent_c_version: 7,
            }),
        ),
        (
            s0,
            Txn::CreateTtl(CreateTtlTxn {
                path: "/ttl".into(),
                data: None,
                acl: ids::open_acl_unsafe(),
                parent_c_version: 8,
                ttl: 5000,
            }),
        ),
        (
            s0,
            Txn::Create2(CreateTxn {
                path: "/c2".into(),
                data: Some(b"two".to_vec()),
                acl: digest_acl.clone(),
                ephemeral: false,
                parent_c_version: 9,
            }),
        ),
        (
            s0,
            Txn::SetAcl(SetAclTxn {
                path: "/c2".into(),
                acl: digest_acl,
                version: 1,
            }),
        ),
        (
            s0,
            Txn::Delete(DeleteTxn {
                path: "/pct%,}\n".into(),
            }),
        ),
        (
            s0,
            Txn::DeleteContainer(DeleteTxn {
                path: "/cont".into(),
            }),
        ),
        (s0, Txn::Error(ErrorTxn { err: -101 })),
        (
            s0,
            Txn::Multi(vec![
                Txn::Check(CheckVersionTxn {
                    path: "/app".into(),
                    version: 2,
                }),
                Txn::Error(ErrorTxn { err: -103 }),
            ]),
        ),
        (
            0,
            Txn::Reconfig(SetDataTxn {
                path: "/zookeeper/config".into(),
                data: Some(
                    b"server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nversion=100000001"
                        .to_vec(),
                ),
                version: -1,
            }),
        ),
        (
            session_id(3),
            Txn::CloseSession(Some(CloseSessionTxn {
                paths2_delete: vec!["/app/eph2".into(), "/x,y".into()],
            })),
        ),
        (session_id(4), Txn::CloseSession(None)),
    ]
}

pub struct DataFiles {
    pub snapshot: PathBuf,
    pub log: PathBuf,
    /// How many txns the log holds.
    pub txns: usize,
}

/// Writes `dir/version-2/log.1` with every txn and one snapshot taken
/// after the applied ones.
pub fn write_data_dir(dir: &Path) -> DataFiles {
    let mut snap_log = FileTxnSnapLog::open(dir, dir).unwrap();
    let mut tree = DataTree::new();
    let mut sessions = SessionMap::new();
    let applied = applied_txns();
    let snapshot_zxid = applied.len() as i64;
    let all: Vec<(i64, Txn)> = applied.into_iter().chain(logged_only_txns()).collect();
    let txns = all.len();
    let mut snapshot = None;
    for (i, (sid, txn)) in all.into_iter().enumerate() {
        let zxid = i as i64 + 1;
        let hdr = TxnHeader {
            client_id: sid,
            // One negative cxid, which the toolkit prints as a long.
            cxid: if zxid == 3 { -2 } else { i as i32 },
            zxid,
            time: 1_795_400_000_000 + zxid * 61_001,
            txn_type: txn.op_code(),
        };
        snap_log.append_txn(&hdr, &txn, None).unwrap();
        if zxid <= snapshot_zxid {
            let rc = tree.process_txn(&hdr, &txn);
            assert_eq!(rc.err, 0, "txn 0x{zxid:x} applies");
            if let Txn::CreateSession(t) = &txn {
                sessions.insert(sid, t.time_out);
            }
            if zxid == snapshot_zxid {
                snapshot = Some(snap_log.save(&tree, &sessions, true).unwrap());
            }
        }
    }
    snap_log.commit().unwrap();
    snap_log.close().unwrap();
    DataFiles {
        snapshot: snapshot.unwrap(),
        log: dir.join("version-2").join("log.1"),
        txns,
    }
}

/// Writes snapshots at zxids 1..=5, each followed by a new log.
pub fn write_snapshots(dir: &Path) {
    let mut snap_log = FileTxnSnapLog::open(dir, dir).unwrap();
    let mut tree = DataTree::new();
    for zxid in 1..=5 {
        let txn = Txn::CreateSession(CreateSessionTxn { time_out: 4000 });
        let hdr = TxnHeader {
            client_id: zxid,
            cxid: 0,
            zxid,
            time: 0,
            txn_type: txn.op_code(),
        };
        snap_log.append_txn(&hdr, &txn, None).unwrap();
        snap_log.commit().unwrap();
        tree.process_txn(&hdr, &txn);
        snap_log.roll_log().unwrap();
        snap_log.save(&tree, &SessionMap::new(), false).unwrap();
    }
    snap_log.close().unwrap();
}

/// The offset of each entry (its checksum) in a log, up to the first
/// empty one.
pub fn log_entry_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 16;
    while at + 12 <= bytes.len() {
        let len = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        if len <= 0 {
            break;
        }
        offsets.push(at);
        at += 12 + len as usize + 1;
    }
    offsets
}
