//! Damaged data directories at the process level, zk-bin beside Apache
//! ZooKeeper 3.8 (the control), each on a data directory its own kind
//! wrote under a write load and then left by kill -9:
//!
//! - a byte flipped in the middle of a txn log that must be replayed (the
//!   newer snapshots removed): zk-bin refuses to start, naming the file and
//!   the offset (it never serves a silently shortened history);
//! - the last record cut short (a torn write): the torn record is dropped
//!   and every record before it restored, as 3.8 does;
//! - the newest snapshot emptied, or removed: the previous snapshot and
//!   the logs restore everything.
//!
//! What each implementation did is printed; the README's reliability
//! section quotes it. Cases with Apache print `skipped: ...` without Java.

use std::path::{Path, PathBuf};
use std::time::Duration;

use integration::apache::{ApacheServer, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::workload::connect;
use integration::zk_bin::ZkBinServer;
use zookeeper_client::{Acls, CreateMode};

const BOUND: Duration = Duration::from_secs(30);
const CREATES: usize = 400;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    ZkBin,
    Apache,
}

enum Server {
    ZkBin(ZkBinServer),
    Apache(ApacheServer),
}

impl Server {
    fn kill(&mut self) {
        match self {
            Server::ZkBin(s) => s.kill_9(),
            Server::Apache(s) => {
                let _ = s.kill();
            }
        }
    }
}

struct Dir {
    work: TempDir,
    port: u16,
}

impl Dir {
    fn version2(&self) -> PathBuf {
        self.work.join("data").join("version-2")
    }
}

/// Starts `kind` on `dir`; `Err` holds why it did not serve (its log).
fn start(kind: Kind, dir: &Dir) -> Result<Server, String> {
    match kind {
        Kind::ZkBin => ZkBinServer::start(&dir.work, dir.port, "snapCount=100\npreAllocSize=64")
            .map(Server::ZkBin),
        Kind::Apache => {
            let mut cfg = ServerConfig::new(dir.work.path(), &dir.work.join("data"), dir.port);
            cfg.snap_count = 100;
            cfg.pre_alloc_kb = 64;
            cfg.start_timeout = BOUND;
            ApacheZk::find()?.start(&cfg).map(Server::Apache)
        }
    }
}

/// A data directory `kind` wrote: CREATES creates of /d/nNNNN, several
/// snapshots and logs, left by kill -9.
fn written(kind: Kind) -> Dir {
    let dir = Dir {
        work: TempDir::new("zk-damage").unwrap(),
        port: free_port().unwrap(),
    };
    let mut server = start(kind, &dir).unwrap_or_else(|e| panic!("{e}"));
    rt().block_on(async {
        let c = connect(&format!("127.0.0.1:{}", dir.port), &[], None, false, BOUND)
            .await
            .unwrap();
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        c.create("/d", b"", &all).await.unwrap();
        for i in 0..CREATES {
            c.create(&format!("/d/n{i:04}"), &[b'v'; 100], &all)
                .await
                .unwrap();
        }
    });
    server.kill();
    dir
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// How many children /d has on a server that started.
fn children(dir: &Dir) -> usize {
    rt().block_on(async {
        let c = connect(&format!("127.0.0.1:{}", dir.port), &[], None, false, BOUND)
            .await
            .unwrap();
        c.list_children("/d").await.unwrap().len()
    })
}

/// The files of version-2 named `prefix.<hex zxid>`, oldest first.
fn files(dir: &Dir, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<(i64, PathBuf)> = std::fs::read_dir(dir.version2())
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_string();
            let zxid = i64::from_str_radix(name.strip_prefix(&format!("{prefix}."))?, 16).ok()?;
            Some((zxid, p))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// The offsets of the records of a txn log (after its 16-byte header):
/// each is crc (8), length (4), the txn, and the 'B' end mark.
fn records(log: &Path) -> Vec<(usize, usize)> {
    let bytes = std::fs::read(log).unwrap();
    let mut at = 16;
    let mut out = Vec::new();
    while at + 12 <= bytes.len() {
        let len = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        if len <= 0 || at + 12 + len as usize + 1 > bytes.len() {
            break;
        }
        out.push((at, 12 + len as usize + 1));
        at += 12 + len as usize + 1;
    }
    out
}

/// The log with the most records (the newest may hold only a few).
fn busiest_log(dir: &Dir) -> PathBuf {
    files(dir, "log")
        .into_iter()
        .max_by_key(|l| records(l).len())
        .expect("a txn log")
}

fn outcome(kind: Kind, dir: &Dir) -> (Option<usize>, String) {
    match start(kind, dir) {
        Ok(mut s) => {
            let n = children(dir);
            s.kill();
            (
                Some(n),
                format!("started and serves {n} of {CREATES} creates"),
            )
        }
        Err(log) => {
            let line = log
                .lines()
                .rev()
                .find(|l| l.contains("ERROR") || l.contains("Unable") || l.contains("CRC"))
                .unwrap_or("(no error line)")
                .to_string();
            (None, format!("refused to start: {line}"))
        }
    }
}

fn can_run(kind: Kind) -> bool {
    if kind == Kind::Apache {
        if let Err(why) = ApacheZk::available() {
            println!("skipped: {why}");
            return false;
        }
    }
    true
}

fn flipped_byte_in_the_middle_of_the_log(kind: Kind) {
    if !can_run(kind) {
        return;
    }
    let dir = written(kind);
    // Only the first snapshot left, so that the whole log is replayed: a
    // record a newer snapshot covers is never read by 3.8.
    for newer in files(&dir, "snapshot").iter().skip(1) {
        std::fs::remove_file(newer).unwrap();
    }
    let log = busiest_log(&dir);
    let recs = records(&log);
    let (at, len) = recs[recs.len() / 2];
    let offset = at + 12 + len / 3;
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[offset] ^= 0x5a;
    std::fs::write(&log, bytes).unwrap();
    let (served, said) = outcome(kind, &dir);
    println!(
        "{kind:?}, a byte flipped at offset {offset} of {} (record {} of {}): {said}",
        log.display(),
        recs.len() / 2,
        recs.len()
    );
    if kind == Kind::ZkBin {
        assert_eq!(served, None, "zk-bin served a log with a flipped byte");
        let name = log.file_name().unwrap().to_str().unwrap();
        assert!(said.contains(name), "the refusal names the file: {said}");
        assert!(
            said.contains(&at.to_string()),
            "the refusal names the record's offset {at}: {said}"
        );
    }
}

fn torn_last_record(kind: Kind) {
    if !can_run(kind) {
        return;
    }
    let dir = written(kind);
    let log = files(&dir, "log").pop().unwrap();
    let recs = records(&log);
    let (at, len) = *recs.last().unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len((at + len / 2) as u64).unwrap();
    let (served, said) = outcome(kind, &dir);
    println!(
        "{kind:?}, the last record of {} cut in half: {said}",
        log.display()
    );
    // The torn record was the last create; everything before it is there.
    assert_eq!(served, Some(CREATES - 1), "{kind:?}: {said}");
}

fn newest_snapshot_damaged(kind: Kind, empty: bool) {
    if !can_run(kind) {
        return;
    }
    let dir = written(kind);
    let snaps = files(&dir, "snapshot");
    assert!(snaps.len() >= 3, "{kind:?} wrote {} snapshots", snaps.len());
    let newest = snaps.last().unwrap();
    if empty {
        std::fs::write(newest, b"").unwrap();
    } else {
        std::fs::remove_file(newest).unwrap();
    }
    let what = if empty { "emptied" } else { "removed" };
    let (served, said) = outcome(kind, &dir);
    println!(
        "{kind:?}, the newest snapshot {} {what}: {said}",
        newest.display()
    );
    assert_eq!(served, Some(CREATES), "{kind:?}: {said}");
}

#[test]
fn a_flipped_byte_in_the_log_zk_bin() {
    flipped_byte_in_the_middle_of_the_log(Kind::ZkBin);
}

#[test]
fn a_flipped_byte_in_the_log_apache() {
    flipped_byte_in_the_middle_of_the_log(Kind::Apache);
}

#[test]
fn a_torn_last_record_zk_bin() {
    torn_last_record(Kind::ZkBin);
}

#[test]
fn a_torn_last_record_apache() {
    torn_last_record(Kind::Apache);
}

#[test]
fn an_empty_newest_snapshot_zk_bin() {
    newest_snapshot_damaged(Kind::ZkBin, true);
}

#[test]
fn an_empty_newest_snapshot_apache() {
    newest_snapshot_damaged(Kind::Apache, true);
}

#[test]
fn a_missing_newest_snapshot_zk_bin() {
    newest_snapshot_damaged(Kind::ZkBin, false);
}

#[test]
fn a_missing_newest_snapshot_apache() {
    newest_snapshot_damaged(Kind::Apache, false);
}
