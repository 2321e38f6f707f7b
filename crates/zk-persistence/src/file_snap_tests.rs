use super::*;
use crate::test_dir::{Rng, TestDir};

/// A digest as a snapshot stores it: (zxid, version, digest).
type RawDigest = (i64, i32, i64);

/// A stand-in tree: (path, data) pairs written the way DataTree frames its
/// nodes (path, then the node, ending with the path "/").
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct FakeTree {
    nodes: Vec<(String, Vec<u8>)>,
    /// Written after the first seal; `None` = digests off.
    digest: Option<RawDigest>,
    /// What a restore read back.
    loaded_digest: Option<RawDigest>,
    fail_serialize: bool,
}

impl SnapshotTree for FakeTree {
    fn serialize_tree<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        for (path, data) in &self.nodes {
            oa.write_string(path)?;
            oa.write_buffer(data)?;
            if self.fail_serialize {
                return Err(io::Error::other("disk full"));
            }
        }
        oa.write_string("/")
    }

    fn deserialize_tree<R: Read>(ia: &mut InputArchive<R>) -> io::Result<Self> {
        let mut t = FakeTree::default();
        loop {
            let path = ia.read_string()?;
            if path == "/" {
                return Ok(t);
            }
            let data = ia.read_buffer()?;
            t.nodes.push((path, data));
        }
    }

    fn serialize_zxid_digest<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<bool> {
        let Some((z, v, d)) = self.digest else {
            return Ok(false);
        };
        oa.write_long(z)?;
        oa.write_int(v)?;
        oa.write_long(d)?;
        Ok(true)
    }

    fn deserialize_zxid_digest<R: Read>(
        &mut self,
        ia: &mut InputArchive<R>,
        _snapshot_zxid: i64,
    ) -> io::Result<bool> {
        let z = match ia.read_long() {
            Ok(z) => z,
            Err(e) if matches!(e.kind, crate::jute::JuteErrorKind::Eof) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        self.loaded_digest = Some((z, ia.read_int()?, ia.read_long()?));
        Ok(true)
    }
}

fn tree(n: usize) -> FakeTree {
    FakeTree {
        nodes: (0..n)
            .map(|i| (format!("/node{}", i), vec![i as u8; i % 7]))
            .collect(),
        digest: Some((0, 2, 0)),
        loaded_digest: None,
        fail_serialize: false,
    }
}

fn sessions() -> SessionMap {
    [(0x100000001, 30000), (0x100000002, 4000)]
        .into_iter()
        .collect()
}

fn restore(dir: &Path) -> io::Result<Option<RestoredSnapshot<FakeTree>>> {
    FileSnap::new(dir).deserialize::<FakeTree>()
}

#[test]
fn layout_matches_file_snap() {
    let dir = TestDir::new("snap-layout");
    let mut snap = FileSnap::new(dir.path());
    let mut t = tree(2);
    t.digest = Some((0x1f, 2, 99));
    let path = snap.serialize(&t, &sessions(), 0x1f, true).unwrap();
    assert_eq!(path, dir.path().join("snapshot.1f"));
    assert_eq!(snap.last_snapshot_info().unwrap().zxid, 0x1f);
    let b = fs::read(&path).unwrap();
    assert_eq!(&b[..4], b"ZKSN");
    assert_eq!(&b[4..8], &[0, 0, 0, 2]);
    assert_eq!(&b[8..16], &[0xff; 8]);
    assert_eq!(&b[16..20], &[0, 0, 0, 2], "session count");
    assert_eq!(
        &b[20..28],
        &0x100000001i64.to_be_bytes(),
        "sessions in id order"
    );
    assert_eq!(&b[28..32], &30000i32.to_be_bytes());
    // Tree: "/node0" + empty buffer, "/node1" + 1 byte, then "/".
    let tree_end = 44 + (4 + 6 + 4) + (4 + 6 + 4 + 1) + 5;
    assert_eq!(&b[tree_end - 5..tree_end], &SEAL_TAIL);
    let sum1 = adler2::adler32_slice(&b[..tree_end]) as i64;
    assert_eq!(&b[tree_end..tree_end + 8], &sum1.to_be_bytes());
    assert_eq!(&b[tree_end + 8..tree_end + 13], &SEAL_TAIL);
    let d = tree_end + 13;
    assert_eq!(&b[d..d + 8], &0x1fi64.to_be_bytes());
    assert_eq!(&b[d + 8..d + 12], &2i32.to_be_bytes());
    assert_eq!(&b[d + 12..d + 20], &99i64.to_be_bytes());
    let sum2 = adler2::adler32_slice(&b[..d + 20]) as i64;
    assert_eq!(&b[d + 20..d + 28], &sum2.to_be_bytes());
    assert_eq!(&b[d + 28..], &SEAL_TAIL);
    assert!(!dir.path().join(make_snapshot_tmp_name(0x1f)).exists());
}

#[test]
fn round_trip_with_and_without_digest() {
    let dir = TestDir::new("snap-rt");
    let mut snap = FileSnap::new(dir.path());
    let mut t = tree(50);
    t.digest = Some((0x20, 2, -5));
    snap.serialize(&t, &sessions(), 0x20, false).unwrap();
    let r = restore(dir.path()).unwrap().unwrap();
    assert_eq!(r.tree.nodes, t.nodes);
    assert_eq!(r.tree.loaded_digest, t.digest);
    assert_eq!(r.sessions, sessions());
    assert_eq!(r.info.zxid, 0x20);
    assert!(r.skipped.is_empty());

    // An older server's snapshot: no digest, one seal.
    t.digest = None;
    snap.serialize(&t, &SessionMap::new(), 0x30, false).unwrap();
    let r = restore(dir.path()).unwrap().unwrap();
    assert_eq!(r.info.zxid, 0x30);
    assert_eq!(r.tree.loaded_digest, None);
    assert!(r.sessions.is_empty());
}

#[test]
fn empty_directory_restores_nothing() {
    let dir = TestDir::new("snap-none");
    assert!(restore(dir.path()).unwrap().is_none());
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_the_previous_one() {
    let dir = TestDir::new("snap-flip");
    let mut snap = FileSnap::new(dir.path());
    snap.serialize(&tree(10), &sessions(), 0x10, false).unwrap();
    let newest = snap.serialize(&tree(20), &sessions(), 0x20, false).unwrap();
    let mut b = fs::read(&newest).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x01;
    fs::write(&newest, &b).unwrap();
    let r = restore(dir.path()).unwrap().unwrap();
    assert_eq!(r.info.zxid, 0x10);
    assert_eq!(r.tree.nodes, tree(10).nodes);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].0, newest);
    assert!(!r.skipped[0].1.is_empty());

    // With every snapshot damaged, the error names the directory and why.
    let oldest = dir.path().join("snapshot.10");
    let mut b = fs::read(&oldest).unwrap();
    b[20] ^= 0x80;
    fs::write(&oldest, &b).unwrap();
    let e = restore(dir.path()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("Not able to find valid snapshots"), "{}", msg);
    assert!(
        msg.contains("snapshot.10") && msg.contains("snapshot.20"),
        "{}",
        msg
    );
}

#[test]
fn every_truncation_of_a_snapshot_is_refused_or_recovered() {
    let dir = TestDir::new("snap-cut");
    let mut snap = FileSnap::new(dir.path());
    snap.serialize(&tree(3), &sessions(), 0x1, false).unwrap();
    let newest = snap.serialize(&tree(4), &sessions(), 0x2, false).unwrap();
    let full = fs::read(&newest).unwrap();
    for cut in 0..full.len() {
        fs::write(&newest, &full[..cut]).unwrap();
        let r = restore(dir.path()).unwrap().unwrap();
        // Cut right after the first seal it is an intact pre-3.6 snapshot.
        if r.info.zxid == 0x2 {
            assert_eq!(r.tree.nodes, tree(4).nodes, "cut at {}", cut);
        } else {
            assert_eq!(r.tree.nodes, tree(3).nodes, "cut at {}", cut);
        }
    }
}

#[test]
fn random_damage_never_panics() {
    let dir = TestDir::new("snap-fuzz");
    let mut snap = FileSnap::new(dir.path());
    let newest = snap.serialize(&tree(30), &sessions(), 0x2, false).unwrap();
    let full = fs::read(&newest).unwrap();
    let mut rng = Rng::new(42);
    for round in 0..300 {
        let mut b = full.clone();
        let flips = if round % 2 == 0 { 1 } else { 1 + rng.below(3) };
        for _ in 0..flips {
            let i = rng.below(b.len() as u64) as usize;
            b[i] = rng.next_u64() as u8;
        }
        fs::write(&newest, &b).unwrap();
        if let Ok(Some(r)) = restore(dir.path()) {
            // Adler32 catches every single-byte change to checked bytes;
            // what gets through must have hit bytes the reader ignores.
            if flips == 1 {
                assert_eq!(r.tree.nodes, tree(30).nodes, "round {}", round);
                assert_eq!(r.sessions, sessions(), "round {}", round);
            }
        }
    }
}

#[test]
fn a_failed_write_leaves_no_snapshot_behind() {
    let dir = TestDir::new("snap-fail");
    let mut snap = FileSnap::new(dir.path());
    let mut t = tree(5);
    t.fail_serialize = true;
    let e = snap.serialize(&t, &sessions(), 0x9, true).unwrap_err();
    assert!(e.to_string().contains("snapshot.9"), "{}", e);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(snap.last_snapshot_info().is_none());
}

#[test]
fn compressed_snapshots_are_named_in_the_error() {
    let dir = TestDir::new("snap-gz");
    let mut snap = FileSnap::new(dir.path());
    snap.serialize(&tree(5), &sessions(), 0x1, false).unwrap();
    fs::write(dir.path().join("snapshot.2.gz"), [0x1f, 0x8b, 8, 0, 0]).unwrap();
    let e = restore(dir.path()).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    assert!(e.to_string().contains("snapshot.2.gz"), "{}", e);
}

#[test]
fn bad_magic_is_reported() {
    let dir = TestDir::new("snap-magic");
    let mut snap = FileSnap::new(dir.path());
    let p = snap.serialize(&tree(1), &sessions(), 0x1, false).unwrap();
    let mut b = fs::read(&p).unwrap();
    b[0] = b'X';
    fs::write(&p, &b).unwrap();
    let e = restore(dir.path()).unwrap_err();
    assert!(e.to_string().contains("magic"), "{}", e);
}

#[test]
fn stream_mode_comes_from_the_last_extension() {
    assert_eq!(StreamMode::of_file_name("snapshot.1a"), StreamMode::Checked);
    assert_eq!(StreamMode::of_file_name("snapshot.1a.gz"), StreamMode::Gzip);
    assert_eq!(StreamMode::of_file_name("snapshot.1a.GZ"), StreamMode::Gzip);
    assert_eq!(
        StreamMode::of_file_name("snapshot.1a.snappy"),
        StreamMode::Snappy
    );
    assert_eq!(StreamMode::of_file_name("snapshot"), StreamMode::Checked);
    assert!(is_snapshot_tmp_name(&make_snapshot_tmp_name(0x1a)));
    assert_eq!(
        zxid_from_path(Path::new(&make_snapshot_tmp_name(5)), SNAPSHOT_FILE_PREFIX),
        -1
    );
}

#[test]
fn validity_is_the_seal_at_the_end() {
    let dir = TestDir::new("snap-valid");
    let p = |n: &str| dir.path().join(n);
    let mut good = vec![7u8; 30];
    good.extend_from_slice(&SEAL_TAIL);
    fs::write(p("snapshot.10"), &good).unwrap();
    fs::write(p("snapshot.20"), &good[..good.len() - 1]).unwrap();
    fs::write(p("snapshot.30"), SEAL_TAIL).unwrap(); // under 10 bytes
    fs::write(p("snapshot.40.gz"), [0x1f, 0x8b, 8, 0]).unwrap();
    fs::write(p("snapshot.50.snappy"), b"nope").unwrap();
    fs::write(p("snapshot-60.tmp"), &good).unwrap();
    fs::write(p("snapshot.xyz"), &good).unwrap();
    assert!(is_valid_snapshot(&p("snapshot.10")).unwrap());
    assert!(!is_valid_snapshot(&p("snapshot.20")).unwrap());
    assert!(!is_valid_snapshot(&p("snapshot.30")).unwrap());
    assert!(is_valid_snapshot(&p("snapshot.40.gz")).unwrap());
    assert!(!is_valid_snapshot(&p("snapshot.50.snappy")).unwrap());
    assert!(!is_valid_snapshot(&p("snapshot-60.tmp")).unwrap());
    assert!(!is_valid_snapshot(&p("snapshot.xyz")).unwrap());
    assert_eq!(
        find_n_valid_snapshots(dir.path(), 5).unwrap(),
        vec![p("snapshot.40.gz"), p("snapshot.10")]
    );
    assert_eq!(
        find_most_recent_snapshot(dir.path()).unwrap(),
        Some(p("snapshot.40.gz"))
    );
    assert_eq!(
        find_n_recent_snapshots(dir.path(), 2).unwrap(),
        vec![p("snapshot.50.snappy"), p("snapshot.40.gz")]
    );
    assert!(find_n_valid_snapshots(&p("missing"), 3).unwrap().is_empty());
}
