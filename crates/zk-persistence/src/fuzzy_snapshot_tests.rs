use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::*;
use crate::data_tree::DataTree;
use crate::file_snap::read_snapshot_file;
use crate::file_txn_snap_log::FileTxnSnapLog;
use crate::records::{Acl, CloseSessionTxn, CreateSessionTxn, CreateTxn, DeleteTxn, Id};
use crate::records::{SetAclTxn, SetDataTxn, StatPersisted, TxnDigest, TxnHeader};
use crate::test_dir::{Rng, TestDir};
use crate::txn::Txn;
use crate::zoo_defs::{ids, perms};

const SESSION: i64 = 0x1000_0000_0000_0001;

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{}", name)
    } else {
        format!("{}/{}", parent, name)
    }
}

/// Plays the server's FinalRequestProcessor: applies random txns (as
/// PrepRequestProcessor would make them) to its tree and, with a log,
/// logs each with its digest first.
struct Writer {
    tree: DataTree,
    sessions: SessionMap,
    log: Option<FileTxnSnapLog>,
    rng: Rng,
    zxid: i64,
    /// Every node the writer made and has not deleted.
    live: Vec<String>,
    next_name: u64,
    next_acl: u64,
    extra_sessions: Vec<i64>,
}

impl Writer {
    fn new(seed: u64, log: Option<FileTxnSnapLog>) -> Writer {
        let mut w = Writer {
            tree: DataTree::new(),
            sessions: SessionMap::new(),
            log,
            rng: Rng::new(seed),
            zxid: 0,
            live: Vec::new(),
            next_name: 0,
            next_acl: 0,
            extra_sessions: Vec::new(),
        };
        w.run(
            SESSION,
            Txn::CreateSession(CreateSessionTxn { time_out: 30000 }),
        );
        w
    }

    fn run(&mut self, client: i64, txn: Txn) {
        self.zxid += 1;
        let hdr = TxnHeader {
            client_id: client,
            cxid: self.zxid as i32,
            zxid: self.zxid,
            time: 1_700_000_000_000 + self.zxid,
            txn_type: txn.op_code(),
        };
        match &txn {
            Txn::CreateSession(t) => {
                self.sessions.insert(client, t.time_out);
            }
            Txn::CloseSession(_) => {
                self.sessions.remove(&client);
            }
            _ => {}
        }
        let rc = self.tree.process_txn(&hdr, &txn);
        assert_eq!(rc.err, 0, "txn 0x{:x} {:?}", self.zxid, txn);
        if let Some(log) = self.log.as_mut() {
            let digest = TxnDigest {
                version: crate::digest::DIGEST_VERSION,
                tree_digest: self.tree.digest(),
            };
            log.append_txn(&hdr, &txn, Some(&digest)).unwrap();
        }
    }

    /// A list no node had before, or one of the lists handed out so far,
    /// or the open one.
    fn some_acl(&mut self) -> Vec<Acl> {
        let n = match self.rng.below(3) {
            0 => {
                self.next_acl += 1;
                self.next_acl
            }
            1 => self.rng.below(self.next_acl + 1),
            _ => return ids::open_acl_unsafe(),
        };
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "digest".into(),
                id: format!("user{}:hash", n),
            },
        }]
    }

    fn data(&mut self) -> Vec<u8> {
        let len = self.rng.below(40) as usize;
        self.rng.bytes(len)
    }

    fn create_txn(&mut self, parent: &str) -> (String, Txn) {
        self.next_name += 1;
        let path = child_path(parent, &format!("n{}", self.next_name));
        let cversion = self
            .tree
            .get_node(parent)
            .unwrap()
            .stat_persisted()
            .cversion;
        let data = self.data();
        let acl = self.some_acl();
        let txn = Txn::Create(CreateTxn {
            path: path.clone(),
            data: Some(data),
            acl,
            ephemeral: false,
            parent_c_version: cversion + 1,
        });
        (path, txn)
    }

    fn set_data_txn(&mut self, path: &str) -> Txn {
        let version = self.tree.get_node(path).unwrap().stat_persisted().version + 1;
        Txn::SetData(SetDataTxn {
            path: path.into(),
            data: Some(self.data()),
            version,
        })
    }

    fn create(&mut self, parent: &str) {
        let (path, txn) = self.create_txn(parent);
        self.run(SESSION, txn);
        self.live.push(path);
    }

    /// One random change to the tree or the sessions.
    fn random_op(&mut self) {
        let i = match self.live.len() {
            0 => None,
            n => Some(self.rng.below(n as u64) as usize),
        };
        let picked = i.map_or("/".to_string(), |i| self.live[i].clone());
        match self.rng.below(20) {
            0..=6 => self.create(&picked),
            7..=10 => match i {
                Some(i) if self.tree.get_node(&picked).unwrap().num_children() == 0 => {
                    self.run(SESSION, Txn::Delete(DeleteTxn { path: picked }));
                    self.live.swap_remove(i);
                }
                _ => {
                    let t = self.set_data_txn(&picked);
                    self.run(SESSION, t);
                }
            },
            11..=13 => {
                let t = self.set_data_txn(&picked);
                self.run(SESSION, t);
            }
            14..=16 => {
                let version = self
                    .tree
                    .get_node(&picked)
                    .unwrap()
                    .stat_persisted()
                    .aversion
                    + 1;
                let acl = self.some_acl();
                self.run(
                    SESSION,
                    Txn::SetAcl(SetAclTxn {
                        path: picked,
                        acl,
                        version,
                    }),
                );
            }
            17 => {
                let (path, create) = self.create_txn(&picked);
                let set = Txn::SetData(SetDataTxn {
                    path: path.clone(),
                    data: None,
                    version: 1,
                });
                self.run(SESSION, Txn::Multi(vec![create, set]));
                self.live.push(path);
            }
            18 => {
                let id = SESSION + 1 + self.rng.below(1000) as i64;
                if !self.sessions.contains_key(&id) {
                    self.run(id, Txn::CreateSession(CreateSessionTxn { time_out: 5000 }));
                    self.extra_sessions.push(id);
                }
            }
            _ => {
                if let Some(id) = self.extra_sessions.pop() {
                    self.run(
                        id,
                        Txn::CloseSession(Some(CloseSessionTxn {
                            paths2_delete: Vec::new(),
                        })),
                    );
                }
            }
        }
    }

    fn commit(&mut self) {
        if let Some(log) = self.log.as_mut() {
            log.commit().unwrap();
        }
    }
}

type NodeDump = (String, Option<Vec<u8>>, StatPersisted, Vec<Acl>);

/// Every node with its data, persisted stat and ACL list (not its ACL
/// id: ids are the cache's own business), by path.
fn dump(t: &DataTree) -> Vec<NodeDump> {
    let mut out = Vec::new();
    let mut stack = vec!["/".to_string()];
    while let Some(p) = stack.pop() {
        let n = t.get_node(&p).unwrap();
        out.push((
            p.clone(),
            n.data().map(<[u8]>::to_vec),
            n.stat_persisted(),
            n.acl().to_vec(),
        ));
        stack.extend(n.children().iter().map(|c| child_path(&p, c)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every ACL id a snapshot's node refers to is in its ACL map.
fn assert_no_dangling_acl_ids(snapshot: &Path, zxid: i64) {
    let (t, _) = read_snapshot_file::<DataTree>(snapshot, zxid).unwrap();
    let mut stack = vec!["/".to_string()];
    while let Some(p) = stack.pop() {
        let n = t.get_node(&p).unwrap();
        let id = n.acl_id();
        assert!(
            id == -1 || t.acl_cache().get_by_id(id).is_some(),
            "{} refers to ACL id {}, which the snapshot's map lacks",
            p,
            id
        );
        stack.extend(n.children().iter().map(|c| child_path(&p, c)));
    }
}

/// Restores `dir` as the server would and checks it against the tree
/// and sessions the writer ended with.
fn assert_restores_to(dir: &Path, w: &Writer) {
    let mut log = FileTxnSnapLog::open(dir, dir).unwrap();
    let mut tree = DataTree::new();
    let mut sessions = SessionMap::new();
    let zxid = log.restore(&mut tree, &mut sessions, |_| {}).unwrap();
    assert_eq!(zxid, w.zxid);
    assert_eq!(tree.last_processed_zxid(), w.zxid);
    assert_eq!(tree.node_count(), w.tree.node_count());
    assert!(dump(&tree) == dump(&w.tree), "restored tree differs");
    assert_eq!(tree.digest(), w.tree.digest());
    // The snapshot's digest was reached during replay and matched.
    assert_eq!(tree.digest_from_loaded_snapshot(), None);
    assert_eq!(tree.digest_mismatches(), 0);
    assert_eq!(sessions, w.sessions);
}

fn assert_no_tmp_files(snap_dir: &Path) {
    for e in fs::read_dir(snap_dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "left behind: {}", name);
    }
}

/// Hands out the tree once per slice, after applying a few txns: the
/// writes land exactly between slices.
struct Interleaved {
    w: Mutex<Writer>,
    ops_per_slice: usize,
}

impl SharedTree for Interleaved {
    fn with_tree<R>(&self, f: impl FnOnce(&DataTree) -> R) -> R {
        let mut w = self.w.lock().unwrap();
        for _ in 0..self.ops_per_slice {
            w.random_op();
        }
        w.commit();
        f(&w.tree)
    }
}

impl SharedTree for RwLock<Writer> {
    fn with_tree<R>(&self, f: impl FnOnce(&DataTree) -> R) -> R {
        f(&self.read().unwrap().tree)
    }
}

/// A tree of about `n` nodes, built and logged (into `dir` when given).
fn grown_writer(seed: u64, dir: Option<&Path>, n: usize) -> Writer {
    let log = dir.map(|d| FileTxnSnapLog::open(d, d).unwrap());
    let mut w = Writer::new(seed, log);
    while w.live.len() < n {
        let parent = match w.live.len() {
            0 => "/".to_string(),
            len => w.live[w.rng.below(len as u64) as usize].clone(),
        };
        w.create(&parent);
        if w.rng.below(4) == 0 {
            w.random_op();
        }
    }
    w.commit();
    w
}

const TINY_SLICES: SliceLimits = SliceLimits {
    max_time: Duration::from_secs(60),
    max_bytes: 1 << 20,
    max_nodes: 10,
    rest_factor: 0,
};

/// A fuzzy snapshot with txns of every kind applied between its slices,
/// then more txns after it; returns the directory, the snapshot and the
/// writer as it ended.
fn snapshot_during_writes(seed: u64) -> (TestDir, FuzzySnapshot, i64, Writer) {
    let dir = TestDir::new("fuzzy-interleaved");
    let mut w = grown_writer(seed, Some(dir.path()), 1500);
    // A wide node: while the walk goes through its children, deletes
    // among them hit names it has listed and not reached yet.
    w.create("/");
    let wide = w.live.last().unwrap().clone();
    for _ in 0..400 {
        w.create(&wide);
    }
    for _ in 0..300 {
        w.random_op();
    }
    w.commit();
    let (zxid, sessions) = (w.tree.last_processed_zxid(), w.sessions.clone());
    let shared = Interleaved {
        w: Mutex::new(w),
        ops_per_slice: 5,
    };
    let snap = FileSnap::new(dir.path().join("version-2"))
        .serialize_fuzzy(&shared, &sessions, zxid, true, TINY_SLICES)
        .unwrap();
    let mut w = shared.w.into_inner().unwrap();
    for _ in 0..100 {
        w.random_op();
    }
    w.commit();
    (dir, snap, zxid, w)
}

#[test]
fn a_quiet_tree_gives_the_bytes_of_a_plain_snapshot() {
    let mut w = grown_writer(7, None, 300);
    for _ in 0..200 {
        w.random_op();
    }
    let zxid = w.tree.last_processed_zxid();
    let plain_dir = TestDir::new("fuzzy-plain");
    let plain = FileSnap::new(plain_dir.path())
        .serialize(&w.tree, &w.sessions, zxid, false)
        .unwrap();
    let fuzzy_dir = TestDir::new("fuzzy-quiet");
    let shared = RwLock::new(w);
    let sessions = shared.read().unwrap().sessions.clone();
    let fuzzy = FileSnap::new(fuzzy_dir.path())
        .serialize_fuzzy(&shared, &sessions, zxid, false, TINY_SLICES)
        .unwrap();
    assert_eq!(fuzzy.path.file_name(), plain.file_name());
    assert!(fuzzy.walk.slices > 10);
    assert_eq!(fuzzy.walk.nodes_skipped, 0);
    assert_eq!(fuzzy.walk.nodes_created_after, 0);
    assert_eq!(fuzzy.walk.acls_replaced, 0);
    assert!(fs::read(&fuzzy.path).unwrap() == fs::read(&plain).unwrap());
    assert_no_tmp_files(fuzzy_dir.path());
}

#[test]
fn writes_between_slices_restore_to_the_writers_tree() {
    let mut gone_before_reached = 0;
    for seed in [1, 2, 3] {
        let (dir, snap, zxid, w) = snapshot_during_writes(seed);
        let stats = snap.walk;
        println!("seed {seed}: {stats:?}");
        gone_before_reached += stats.nodes_skipped;
        // The walk did meet the hazards: nodes created after its zxid,
        // ACLs set after it began to lists its map lacks (and, below,
        // nodes gone before it reached them).
        assert!(stats.slices > 100, "{:?}", stats);
        assert!(stats.nodes_created_after > 0, "{:?}", stats);
        assert!(stats.acls_replaced > 0, "{:?}", stats);
        assert_eq!(
            snap.path,
            dir.path().join(format!("version-2/snapshot.{:x}", zxid))
        );
        assert_no_dangling_acl_ids(&snap.path, zxid);
        assert_no_tmp_files(&dir.path().join("version-2"));
        assert_restores_to(dir.path(), &w);
    }
    assert!(gone_before_reached > 0);
}

#[test]
fn a_writer_thread_during_the_walk_restores_to_its_tree() {
    let dir = TestDir::new("fuzzy-thread");
    let w = grown_writer(11, Some(dir.path()), 10_000);
    let (zxid, sessions) = (w.tree.last_processed_zxid(), w.sessions.clone());
    let shared = Arc::new(RwLock::new(w));
    let done = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let writer = {
        let (shared, done, ops) = (Arc::clone(&shared), Arc::clone(&done), Arc::clone(&ops));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let mut w = shared.write().unwrap();
                w.random_op();
                drop(w);
                ops.fetch_add(1, Ordering::SeqCst);
                std::thread::yield_now();
            }
        })
    };
    // The walk starts once the writer is under way.
    let deadline = Instant::now() + Duration::from_secs(30);
    while ops.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the writer never ran");
        std::thread::yield_now();
    }
    let before = ops.load(Ordering::SeqCst);
    let limits = SliceLimits {
        max_nodes: 5,
        ..SliceLimits::default()
    };
    let snap = FileSnap::new(dir.path().join("version-2"))
        .serialize_fuzzy(&*shared, &sessions, zxid, false, limits)
        .unwrap();
    let during = ops.load(Ordering::SeqCst) - before;
    done.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    println!("{} txns applied during the walk: {:?}", during, snap.walk);
    assert!(during > 0);
    let mut w = Arc::try_unwrap(shared).ok().unwrap().into_inner().unwrap();
    w.commit();
    assert_no_dangling_acl_ids(&snap.path, zxid);
    assert_restores_to(dir.path(), &w);
}

/// Runs a writer against a tree of 200k nodes while `snapshot` writes it;
/// returns the longest the writer waited for the lock, and how many
/// txns it applied meanwhile.
fn writer_stall_during(snapshot: impl FnOnce(&RwLock<Writer>, &Path)) -> (Duration, u64) {
    let dir = TestDir::new("fuzzy-stall");
    let shared = Arc::new(RwLock::new(grown_writer(5, None, 200_000)));
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let writer = {
        let (shared, done, started) =
            (Arc::clone(&shared), Arc::clone(&done), Arc::clone(&started));
        std::thread::spawn(move || {
            let (mut longest, mut ops) = (Duration::ZERO, 0u64);
            while !done.load(Ordering::SeqCst) {
                let during = started.load(Ordering::SeqCst);
                let t0 = Instant::now();
                let mut w = shared.write().unwrap();
                if during {
                    longest = longest.max(t0.elapsed());
                    ops += 1;
                }
                w.random_op();
                drop(w);
                std::thread::yield_now();
            }
            (longest, ops)
        })
    };
    started.store(true, Ordering::SeqCst);
    snapshot(&shared, dir.path());
    done.store(true, Ordering::SeqCst);
    writer.join().unwrap()
}

/// The point of the fuzzy walk: applying a txn never waits for more
/// than about a slice (a millisecond), however big the tree. The bound
/// leaves room for the walk being descheduled while it holds the lock on
/// a busy 2-core machine (we saw up to 190 ms with the other tests and
/// builds running); holding the lock for the whole walk, as
/// `serialize` under one read lock does, stalls the writer for the
/// entire walk, 2.4 s in a debug build (the ignored test below).
#[test]
fn the_walk_never_stalls_a_writer_for_long() {
    let bound = Duration::from_millis(300);
    let (longest, ops) = writer_stall_during(|shared, dir| {
        let (zxid, sessions) = {
            let w = shared.read().unwrap();
            (w.tree.last_processed_zxid(), w.sessions.clone())
        };
        let snap = FileSnap::new(dir)
            .serialize_fuzzy(shared, &sessions, zxid, false, SliceLimits::default())
            .unwrap();
        println!("zxid 0x{:x}: {:?}", zxid, snap.walk);
        assert!(snap.walk.nodes_written > 150_000);
    });
    println!(
        "fuzzy walk: longest wait for the write lock {:?}, {} txns applied",
        longest, ops
    );
    assert!(ops > 0);
    assert!(
        longest < bound,
        "the writer waited {:?} for the lock",
        longest
    );
}

/// What the server did before the fuzzy walk: `serialize` under one read
/// lock. Run with `--ignored` to see it fail the bound above.
#[test]
#[ignore]
fn one_lock_for_the_whole_walk_stalls_the_writer() {
    let (longest, ops) = writer_stall_during(|shared, dir| {
        let w = shared.read().unwrap();
        FileSnap::new(dir)
            .serialize(&w.tree, &w.sessions, w.tree.last_processed_zxid(), false)
            .unwrap();
    });
    println!(
        "one lock: longest wait for the write lock {:?}, {} txns applied",
        longest, ops
    );
    assert!(longest >= Duration::from_millis(100), "{:?}", longest);
}

/// The Java classpath of Debian's Apache ZooKeeper 3.8 for
/// SnapshotFormatter, or why it cannot be used here.
fn java_classpath() -> Result<String, String> {
    let java = Command::new("java").arg("-version").output();
    if !matches!(java, Ok(ref o) if o.status.success()) {
        return Err("no working java on PATH".into());
    }
    let share = Path::new("/usr/share/java");
    let mut cp = Vec::new();
    for jar in ["zookeeper", "zookeeper-jute"] {
        let p = share.join(format!("{jar}.jar"));
        if !p.exists() {
            return Err(format!(
                "{} is missing (Debian package zookeeper)",
                p.display()
            ));
        }
        cp.push(p);
    }
    for jar in [
        "slf4j-api",
        "slf4j-nop",
        "commons-cli",
        "commons-io",
        "metrics-core",
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

#[test]
fn snapshot_formatter_reads_a_fuzzy_snapshot() {
    let cp = match java_classpath() {
        Ok(cp) => cp,
        Err(why) => {
            println!("skipped: {}", why);
            return;
        }
    };
    let (_dir, snap, zxid, _) = snapshot_during_writes(4);
    let out = Command::new("java")
        .args(["-cp", &cp, "org.apache.zookeeper.server.SnapshotFormatter"])
        .arg(&snap.path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "SnapshotFormatter failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let (t, sessions) = read_snapshot_file::<DataTree>(&snap.path, zxid).unwrap();
    let count = format!("ZNode Details (count={}):", t.node_count());
    assert!(stdout.contains(&count), "no {:?} in\n{}", count, stdout);
    assert!(stdout.contains("Session Details (sid, timeout, ephemeralCount):"));
    assert_eq!(
        stdout.matches("\n0x").count(),
        sessions.len(),
        "one line per session in\n{}",
        stdout
    );
    // Java found every node we wrote, under the same paths.
    let mut java_paths: Vec<&str> = stdout.lines().filter(|l| l.starts_with('/')).collect();
    java_paths.sort_unstable();
    let ours = dump(&t);
    let our_paths: Vec<&str> = ours.iter().map(|n| n.0.as_str()).collect();
    assert!(
        java_paths == our_paths,
        "SnapshotFormatter lists other paths"
    );
    // 3.8.0's SnapshotFormatter does not read the digest; ours did, and
    // it is the one from the end of the walk.
    let digest = t.digest_from_loaded_snapshot().unwrap();
    assert!(
        digest.zxid > zxid,
        "the digest is taken at the end of the walk"
    );
}

#[test]
fn with_digests_off_neither_writes_a_digest() {
    let options = crate::data_tree::DataTreeOptions {
        digest_enabled: false,
        ..Default::default()
    };
    let mut t = DataTree::with_options(options);
    let mut changes = Vec::new();
    for (i, path) in ["/a", "/a/b", "/c"].iter().enumerate() {
        let z = i as i64 + 1;
        t.create_node(
            path,
            Some(b"x"),
            &ids::open_acl_unsafe(),
            0,
            -1,
            z,
            z,
            &mut changes,
        )
        .unwrap();
        t.set_last_processed_zxid(z);
    }
    let sessions = SessionMap::from([(SESSION, 4000)]);
    let plain_dir = TestDir::new("fuzzy-nodigest-plain");
    let plain = FileSnap::new(plain_dir.path())
        .serialize(&t, &sessions, 3, false)
        .unwrap();
    let fuzzy_dir = TestDir::new("fuzzy-nodigest");
    let fuzzy = FileSnap::new(fuzzy_dir.path())
        .serialize_fuzzy(&RwLock::new(t), &sessions, 3, false, TINY_SLICES)
        .unwrap();
    let bytes = fs::read(&fuzzy.path).unwrap();
    assert!(bytes == fs::read(&plain).unwrap());
    // One seal only: the file ends with the tree's "/" terminator, the
    // checksum and "/".
    assert_eq!(
        &bytes[bytes.len() - 18..bytes.len() - 13],
        &[0, 0, 0, 1, b'/']
    );
}

#[test]
fn the_node_records_file_is_a_leftover_to_startup_never_a_snapshot() {
    let name = make_snapshot_nodes_tmp_name(0x1a);
    assert!(crate::file_snap::is_snapshot_tmp_name(&name));
    assert_eq!(
        crate::data_dir::zxid_from_path(Path::new(&name), SNAPSHOT_FILE_PREFIX),
        -1
    );
}
