use super::*;
use crate::file_txn_log::CorruptLog;
use crate::jute::{InputArchive, OutputArchive};
use crate::test_dir::TestDir;
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// A stand-in for DataTree: paths to data. Its txns are `create` (type 1)
/// with a body of (path, data), applied only when the path is new, as
/// a real create fails with NODEEXISTS.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FakeTree {
    pub nodes: BTreeMap<String, Vec<u8>>,
    pub zxid: i64,
    pub replayed: Vec<i64>,
    /// Set by `snapshot_loaded`.
    pub loaded_at: Option<i64>,
}

impl SnapshotTree for FakeTree {
    fn serialize_tree<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        for (p, d) in &self.nodes {
            oa.write_string(p)?;
            oa.write_buffer(d)?;
        }
        oa.write_string("/")
    }

    fn deserialize_tree<R: Read>(ia: &mut InputArchive<R>) -> io::Result<Self> {
        let mut t = FakeTree::default();
        loop {
            let p = ia.read_string()?;
            if p == "/" {
                return Ok(t);
            }
            let d = ia.read_buffer()?;
            t.nodes.insert(p, d);
        }
    }

    fn serialize_zxid_digest<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<bool> {
        oa.write_long(self.zxid)?;
        oa.write_int(2)?;
        oa.write_long(0)?;
        Ok(true)
    }

    fn deserialize_zxid_digest<R: Read>(
        &mut self,
        ia: &mut InputArchive<R>,
        _snapshot_zxid: i64,
    ) -> io::Result<bool> {
        ia.read_long()?;
        ia.read_int()?;
        ia.read_long()?;
        Ok(true)
    }
}

impl ReplayTree for FakeTree {
    fn last_processed_zxid(&self) -> i64 {
        self.zxid
    }

    fn set_last_processed_zxid(&mut self, zxid: i64) {
        self.zxid = zxid;
    }

    fn replay_txn(&mut self, entry: &TxnLogEntry) -> io::Result<()> {
        self.replayed.push(entry.zxid());
        self.zxid = self.zxid.max(entry.zxid());
        if entry.header.txn_type == 1 {
            let mut ia = InputArchive::new(entry.body());
            let path = ia.read_string()?;
            let data = ia.read_buffer()?;
            self.nodes.entry(path).or_insert(data);
        }
        Ok(())
    }

    fn snapshot_loaded(&mut self, snapshot_zxid: i64) {
        self.loaded_at = Some(snapshot_zxid);
    }

    fn pending_snapshot_digest_zxid(&self) -> Option<i64> {
        None
    }
}

pub(crate) fn create_txn(zxid: i64) -> (TxnHeader, Vec<u8>) {
    let mut oa = OutputArchive::new(Vec::new());
    oa.write_string(&format!("/n{}", zxid)).unwrap();
    oa.write_buffer(&zxid.to_be_bytes()).unwrap();
    (
        TxnHeader {
            client_id: 0x77,
            cxid: zxid as i32,
            zxid,
            time: 1000 + zxid,
            txn_type: 1,
        },
        oa.into_inner(),
    )
}

fn session_txn(zxid: i64, client: i64, create: bool) -> (TxnHeader, Vec<u8>) {
    let hdr = TxnHeader {
        client_id: client,
        cxid: 0,
        zxid,
        time: 1000 + zxid,
        txn_type: if create { -10 } else { -11 },
    };
    let body = if create {
        5000i32.to_be_bytes().to_vec()
    } else {
        Vec::new()
    };
    (hdr, body)
}

/// The tree after applying creates 1..=n.
fn expected(n: i64) -> BTreeMap<String, Vec<u8>> {
    (1..=n)
        .map(|z| (format!("/n{}", z), z.to_be_bytes().to_vec()))
        .collect()
}

fn log_creates(snap_log: &mut FileTxnSnapLog, zxids: std::ops::RangeInclusive<i64>) {
    for z in zxids {
        let (h, b) = create_txn(z);
        snap_log.append(&h, &b, None).unwrap();
    }
    snap_log.commit().unwrap();
}

fn restore(dir: &Path) -> io::Result<(FakeTree, SessionMap, i64, Vec<i64>)> {
    let mut snap_log = FileTxnSnapLog::open(dir, dir)?;
    let mut tree = FakeTree::default();
    let mut sessions = SessionMap::new();
    let mut seen = Vec::new();
    let z = snap_log.restore(&mut tree, &mut sessions, |e| seen.push(e.zxid()))?;
    Ok((tree, sessions, z, seen))
}

/// The tree as of `zxid`, built by applying creates.
fn tree_at(zxid: i64) -> FakeTree {
    FakeTree {
        nodes: expected(zxid),
        zxid,
        ..FakeTree::default()
    }
}

#[test]
fn open_creates_and_checks_directories() {
    let root = TestDir::new("ftsl-open");
    let data = root.path().join("data");
    let logs = root.path().join("logs");
    let s = FileTxnSnapLog::open(&logs, &data).unwrap();
    assert_eq!(s.data_dir(), logs.join("version-2"));
    assert_eq!(s.snap_dir(), data.join("version-2"));
    assert!(logs.join("version-2").is_dir() && data.join("version-2").is_dir());

    let no_auto = FileTxnSnapLogOptions {
        autocreate_dirs: false,
        ..Default::default()
    };
    let e = FileTxnSnapLog::open_with(&root.path().join("x"), &data, no_auto)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("zookeeper.datadir.autocreate"),
        "{}",
        e
    );

    fs::write(data.join("version-2/log.1"), b"").unwrap();
    let e = FileTxnSnapLog::open(&logs, &data).err().unwrap();
    assert!(e.to_string().contains("Snapshot directory"), "{}", e);
    fs::remove_file(data.join("version-2/log.1")).unwrap();
    fs::write(logs.join("version-2/snapshot.1"), b"").unwrap();
    let e = FileTxnSnapLog::open(&logs, &data).err().unwrap();
    assert!(e.to_string().contains("has snapshot files"), "{}", e);
    // One directory for both is fine.
    FileTxnSnapLog::open(&logs, &logs).unwrap();

    let tmp = data.join("version-2").join("snapshot-5.tmp");
    fs::write(&tmp, b"half").unwrap();
    fs::remove_file(logs.join("version-2/snapshot.1")).unwrap();
    FileTxnSnapLog::open(&logs, &data).unwrap();
    assert!(!tmp.exists(), "interrupted snapshot writes are cleared");
}

#[test]
fn an_empty_directory_starts_an_empty_database() {
    let dir = TestDir::new("ftsl-empty");
    let (tree, sessions, z, _) = restore(dir.path()).unwrap();
    assert_eq!(z, 0);
    assert!(tree.nodes.is_empty() && sessions.is_empty());
    assert!(dir.path().join("version-2/snapshot.0").exists());

    let dir = TestDir::new("ftsl-nodb");
    let opts = FileTxnSnapLogOptions {
        autocreate_db: false,
        ..Default::default()
    };
    let mut s = FileTxnSnapLog::open_with(dir.path(), dir.path(), opts).unwrap();
    let mut tree = FakeTree::default();
    assert_eq!(
        s.restore(&mut tree, &mut SessionMap::new(), |_| {})
            .unwrap(),
        -1
    );
    assert_eq!(tree.zxid, -1);
    // The initialize file says an empty database is expected.
    fs::write(dir.path().join(INITIALIZE_FILE_NAME), b"").unwrap();
    let mut tree = FakeTree::default();
    assert_eq!(
        s.restore(&mut tree, &mut SessionMap::new(), |_| {})
            .unwrap(),
        0
    );
    assert!(!dir.path().join(INITIALIZE_FILE_NAME).exists());
}

#[test]
fn logs_without_a_snapshot_are_refused_unless_trusted() {
    let dir = TestDir::new("ftsl-nosnap");
    let mut s = FileTxnSnapLog::open(dir.path(), dir.path()).unwrap();
    log_creates(&mut s, 1..=3);
    let e = restore(dir.path()).err().unwrap();
    assert!(e.to_string().contains("No snapshot found"), "{}", e);
    let opts = FileTxnSnapLogOptions {
        trust_empty_snapshot: true,
        ..Default::default()
    };
    let mut s = FileTxnSnapLog::open_with(dir.path(), dir.path(), opts).unwrap();
    let mut tree = FakeTree::default();
    assert_eq!(
        s.restore(&mut tree, &mut SessionMap::new(), |_| {})
            .unwrap(),
        3
    );
    assert_eq!(tree.nodes, expected(3));
    assert!(s.should_force_write_initial_snapshot_after_leader_election());
}

#[test]
fn restore_is_snapshot_plus_later_txns_with_sessions() {
    let dir = TestDir::new("ftsl-restore");
    let mut s = FileTxnSnapLog::open(dir.path(), dir.path()).unwrap();
    log_creates(&mut s, 1..=5);
    // A fuzzy snapshot: taken at zxid 5 but already holding txn 6.
    let mut fuzzy = tree_at(6);
    fuzzy.zxid = 5;
    let snap_sessions: SessionMap = [(0x10, 3000), (0x11, 3000)].into_iter().collect();
    s.save(&fuzzy, &snap_sessions, true).unwrap();
    s.roll_log().unwrap();
    log_creates(&mut s, 6..=7);
    for (z, client, create) in [(8, 0x12, true), (9, 0x10, false)] {
        let (h, b) = session_txn(z, client, create);
        s.append(&h, &b, None).unwrap();
    }
    log_creates(&mut s, 10..=12);
    drop(s);

    let (tree, sessions, z, seen) = restore(dir.path()).unwrap();
    assert_eq!(z, 12);
    assert_eq!(tree.zxid, 12);
    let mut want_nodes = expected(12);
    want_nodes.remove("/n8");
    want_nodes.remove("/n9");
    assert_eq!(tree.nodes, want_nodes);
    assert_eq!(
        seen,
        (6..=12).collect::<Vec<_>>(),
        "only txns after the snapshot"
    );
    let want: SessionMap = [(0x11, 3000), (0x12, 5000)].into_iter().collect();
    assert_eq!(sessions, want);
}

#[test]
fn a_damaged_newest_snapshot_falls_back_and_replays_further() {
    let dir = TestDir::new("ftsl-snapflip");
    let mut s = FileTxnSnapLog::open(dir.path(), dir.path()).unwrap();
    log_creates(&mut s, 1..=4);
    s.save(&tree_at(4), &SessionMap::new(), false).unwrap();
    log_creates(&mut s, 5..=8);
    let newest = s.save(&tree_at(8), &SessionMap::new(), false).unwrap();
    log_creates(&mut s, 9..=10);
    drop(s);
    let mut b = fs::read(&newest).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x10;
    fs::write(&newest, &b).unwrap();
    let (tree, _, z, seen) = restore(dir.path()).unwrap();
    assert_eq!(z, 10);
    assert_eq!(tree.nodes, expected(10));
    assert_eq!(
        seen,
        (5..=10).collect::<Vec<_>>(),
        "replayed from snapshot.4"
    );
}

#[test]
fn a_log_cut_anywhere_restores_the_longest_valid_prefix() {
    let dir = TestDir::new("ftsl-cut");
    let mut s = FileTxnSnapLog::open(dir.path(), dir.path()).unwrap();
    s.save(&FakeTree::default(), &SessionMap::new(), false)
        .unwrap();
    log_creates(&mut s, 1..=3);
    drop(s);
    let log = dir.path().join("version-2/log.1");
    let full = fs::read(&log).unwrap();
    let entries: Vec<TxnLogEntry> = FileTxnLog::new(dir.path().join("version-2"))
        .read(0)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let mut ends = Vec::new();
    let mut at = 16;
    for e in &entries {
        at += 13 + e.bytes.len();
        ends.push(at);
    }
    for cut in ends[0] - 1..=ends[2] {
        fs::write(&log, &full[..cut]).unwrap();
        let (tree, _, z, _) = restore(dir.path()).unwrap();
        let n = ends.iter().filter(|e| **e <= cut).count() as i64;
        assert_eq!(tree.nodes, expected(n), "cut at {}", cut);
        assert_eq!(z, n, "cut at {}", cut);
    }
}

#[test]
fn a_flipped_byte_mid_log_fails_restore_naming_file_and_offset() {
    let dir = TestDir::new("ftsl-logflip");
    let mut s = FileTxnSnapLog::open(dir.path(), dir.path()).unwrap();
    s.save(&FakeTree::default(), &SessionMap::new(), false)
        .unwrap();
    log_creates(&mut s, 1..=5);
    drop(s);
    let log = dir.path().join("version-2/log.1");
    let mut b = fs::read(&log).unwrap();
    let first_len = create_txn(1).1.len() + 32 + 13;
    b[16 + first_len + 40] ^= 0x02;
    fs::write(&log, &b).unwrap();
    let e = restore(dir.path()).err().unwrap();
    let info = e
        .get_ref()
        .and_then(|e| e.downcast_ref::<CorruptLog>())
        .expect("a CorruptLog");
    assert_eq!(info.file, log);
    assert_eq!(info.offset, 16 + first_len as u64);
}

#[test]
fn truncate_then_restore() {
    let dir = TestDir::new("ftsl-trunc");
    let mut s = FileTxnSnapLog::open(dir.path(), dir.path()).unwrap();
    s.save(&FakeTree::default(), &SessionMap::new(), false)
        .unwrap();
    log_creates(&mut s, 1..=9);
    s.truncate_log(6).unwrap();
    assert_eq!(s.get_last_logged_zxid(), 6);
    log_creates(&mut s, 7..=7);
    drop(s);
    let (tree, _, z, _) = restore(dir.path()).unwrap();
    assert_eq!(z, 7);
    assert_eq!(tree.nodes, expected(7));
}

#[test]
fn helpers_list_snapshots_and_logs() {
    let dir = TestDir::new("ftsl-list");
    let mut s = FileTxnSnapLog::open(dir.path(), dir.path()).unwrap();
    s.save(&FakeTree::default(), &SessionMap::new(), false)
        .unwrap();
    log_creates(&mut s, 1..=3);
    s.roll_log().unwrap();
    log_creates(&mut s, 4..=6);
    s.save(&tree_at(6), &SessionMap::new(), false).unwrap();
    let v2 = dir.path().join("version-2");
    assert_eq!(
        s.find_most_recent_snapshot().unwrap(),
        Some(v2.join("snapshot.6"))
    );
    assert_eq!(s.find_n_valid_snapshots(5).unwrap().len(), 2);
    assert_eq!(
        s.find_n_recent_snapshots(1).unwrap(),
        vec![v2.join("snapshot.6")]
    );
    assert_eq!(s.get_snapshot_logs(5).unwrap(), vec![v2.join("log.4")]);
    assert_eq!(s.last_snapshot_info().unwrap().zxid, 6);
    let mut it = s.read_txn_log(5, false).unwrap();
    assert_eq!(it.next().unwrap().unwrap().zxid(), 4);
}
