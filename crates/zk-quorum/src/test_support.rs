//! Helpers shared by this crate's tests: scratch data directories, txns to
//! feed a database, and a comparable dump of a tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zk_persistence::data_tree::DataTree;
use zk_persistence::digest::DIGEST_VERSION;
use zk_persistence::file_txn_log::{marshall_txn_entry, TxnLogEntry};
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::records::{CreateTxn, SetDataTxn, Stat, TxnDigest, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::ids;

/// A directory removed when dropped.
pub(crate) struct TestDir(PathBuf);

impl TestDir {
    pub(crate) fn new(name: &str) -> TestDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("zk-quorum-{}-{}-{}", name, std::process::id(), n));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        TestDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database over `dir` with small log preallocation (tests write few
/// txns; 64 MB files would dwarf the snapshot in the sync size check).
pub(crate) fn open_db(dir: &Path) -> ZKDatabase {
    let snap_log = FileTxnSnapLog::open(dir, dir).expect("open data dir");
    snap_log.txn_log().set_prealloc_size(4096);
    ZKDatabase::new(snap_log)
}

/// `create /n<counter> "v<zxid>"` with zxid `zxid`, or a setData of an
/// existing node when `set_of` names one.
pub(crate) fn txn_for(zxid: i64, set_of: Option<&str>) -> (TxnHeader, Txn) {
    let hdr_type = if set_of.is_some() { 5 } else { 1 };
    let hdr = TxnHeader {
        client_id: 0x100,
        cxid: (zxid & 0xffff) as i32,
        zxid,
        time: 1_700_000_000_000 + zxid,
        txn_type: hdr_type,
    };
    let data = Some(format!("v{zxid:x}").into_bytes());
    let txn = match set_of {
        Some(path) => Txn::SetData(SetDataTxn {
            path: path.to_string(),
            data,
            version: (zxid & 0xff) as i32,
        }),
        None => Txn::Create(CreateTxn {
            path: format!("/n{zxid:x}"),
            data,
            acl: ids::open_acl_unsafe(),
            ephemeral: false,
            parent_c_version: -1,
        }),
    };
    (hdr, txn)
}

/// Applies a txn to `db` as a committed one: logged (and fsynced), applied
/// with its digest, remembered in the committed log.
pub(crate) fn commit_txn(db: &mut ZKDatabase, hdr: &TxnHeader, txn: &Txn) -> TxnLogEntry {
    db.data_tree_mut().process_txn(hdr, txn);
    let digest = TxnDigest {
        version: DIGEST_VERSION,
        tree_digest: db.data_tree().digest(),
    };
    db.append(hdr, txn, Some(&digest)).expect("append");
    db.commit().expect("commit");
    let entry = TxnLogEntry {
        header: hdr.clone(),
        bytes: marshall_txn_entry(hdr, &txn.to_bytes(), Some(&digest)),
    };
    db.add_committed_proposal(entry.clone());
    entry
}

/// Creates nodes for each zxid in `zxids`.
pub(crate) fn commit_creates(db: &mut ZKDatabase, zxids: impl IntoIterator<Item = i64>) {
    for z in zxids {
        let (h, t) = txn_for(z, None);
        commit_txn(db, &h, &t);
    }
}

/// A logged entry for `zxid` without touching any database.
pub(crate) fn entry_for(zxid: i64) -> TxnLogEntry {
    let (h, t) = txn_for(zxid, None);
    TxnLogEntry {
        bytes: marshall_txn_entry(&h, &t.to_bytes(), None),
        header: h,
    }
}

/// Every node outside `/zookeeper` with its data and stat, for comparing
/// trees (the config node carries local times).
pub(crate) fn dump_tree(tree: &DataTree) -> BTreeMap<String, (Option<Vec<u8>>, Stat)> {
    let mut out = BTreeMap::new();
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        if path == "/zookeeper" {
            continue;
        }
        let (data, stat) = tree.get_data(&path).expect("listed node exists");
        out.insert(path.clone(), (data.map(|d| d.to_vec()), stat));
        let (children, _) = tree.get_children(&path).expect("listed node exists");
        for c in children {
            stack.push(if path == "/" {
                format!("/{c}")
            } else {
                format!("{path}/{c}")
            });
        }
    }
    out
}

/// Polls `cond` until it holds or `timeout` passes.
pub(crate) fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
