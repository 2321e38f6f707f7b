//! The client workloads of a fault-injection run, as tokio tasks, each
//! recording every op with its outcome for the checks at the end:
//!
//! - registers: groups of workers share a register (`/fi/reg/rK`) for a
//!   bounded number of ops, then move to the next, so each register's
//!   history stays small enough to check quickly; ops are read, sync+read,
//!   write (version -1) and CAS (the version last read);
//! - unique sequential ids: PERSISTENT_SEQUENTIAL children of `/fi/seq`,
//!   each holding a token naming its create;
//! - a grow-only set: unique persistent znodes under `/fi/set`;
//! - ephemerals: short sessions, each with one ephemeral under `/fi/eph`,
//!   checked while the session lives, then closed or abandoned to expire.
//!
//! An op that gets no answer (timeout, connection loss, session expiry) is
//! recorded as unknown and its session dropped: the next op starts a new
//! one, so a stuck connection cannot hold a worker for long.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zookeeper_client as zk;

use super::linearizable::{Entry, Outcome, RegOp};
use super::rng::Rng;

/// Bound on one client op; past it the outcome is unknown.
pub const OP_TIMEOUT: Duration = Duration::from_secs(4);
/// Invocations per register before its group moves on.
pub const OPS_PER_REGISTER: usize = 60;
/// Register groups, each with [`WORKERS_PER_GROUP`] workers.
pub const GROUPS: usize = 2;
/// Workers per register group, running ops on the same register concurrently.
pub const WORKERS_PER_GROUP: usize = 3;
/// Session timeout of the ephemeral workload's sessions.
pub const EPHEMERAL_SESSION: Duration = Duration::from_millis(2000);

/// One register op as recorded.
#[derive(Debug, Clone, Copy)]
pub struct RegRecord {
    /// Which register (index `k` of [`register_path`]).
    pub register: usize,
    /// A read preceded by sync() in the same session.
    pub synced: bool,
    /// The op, its outcome and its times.
    pub entry: Entry,
    /// The znode's mzxid, for a read.
    pub mzxid: Option<i64>,
}

/// A sequential create: its token, and the name an ack returned.
#[derive(Debug, Clone)]
pub struct SeqRecord {
    /// `w<worker>-<n>`, unique: the created znode's data, so that a node
    /// whose ack was lost can still be told apart.
    pub token: String,
    /// `Some` when acknowledged.
    pub name: Option<String>,
}

/// An ephemeral create and its session.
#[derive(Debug, Clone)]
pub struct EphRecord {
    /// The ephemeral's path.
    pub path: String,
    /// The session that created it.
    pub session: i64,
    /// Whether the create was acknowledged (else its outcome is unknown).
    pub acked: bool,
}

/// What every worker shares: the stop flag and the records.
pub struct Shared {
    start: Instant,
    /// Set to tell every worker to finish its current op and stop.
    pub stop: AtomicBool,
    /// Registers each group goes through, one after another.
    pub registers_per_group: usize,
    counters: Vec<AtomicUsize>,
    /// Every register op, in the order they completed.
    pub regs: Mutex<Vec<RegRecord>>,
    /// Every sequential create.
    pub seqs: Mutex<Vec<SeqRecord>>,
    /// Set elements: (path, acknowledged).
    pub set: Mutex<Vec<(String, bool)>>,
    /// Every ephemeral create.
    pub ephemerals: Mutex<Vec<EphRecord>>,
    /// What a worker saw that no correct server may show.
    pub violations: Mutex<Vec<String>>,
}

impl Shared {
    /// Fresh records and counters, for `registers_per_group` registers per group.
    pub fn new(registers_per_group: usize) -> Arc<Shared> {
        Arc::new(Shared {
            start: Instant::now(),
            stop: AtomicBool::new(false),
            registers_per_group,
            counters: (0..GROUPS).map(|_| AtomicUsize::new(0)).collect(),
            regs: Mutex::new(Vec::new()),
            seqs: Mutex::new(Vec::new()),
            set: Mutex::new(Vec::new()),
            ephemerals: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
        })
    }

    /// Nanoseconds since the run began: the history's clock.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Registers in all: [`GROUPS`] times `registers_per_group`.
    pub fn register_count(&self) -> usize {
        GROUPS * self.registers_per_group
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// The znode of register `k`.
pub fn register_path(k: usize) -> String {
    format!("/fi/reg/r{k}")
}

/// Creates `/fi` and its directories and every register (holding "0").
pub async fn setup(client: &zk::Client, registers: usize) -> Result<(), String> {
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    for dir in ["/fi", "/fi/reg", "/fi/seq", "/fi/set", "/fi/eph"] {
        crate::ensemble::bounded(client.create(dir, b"", &opts)).await?;
    }
    let paths: Vec<String> = (0..registers).map(register_path).collect();
    // Pipelined in batches: issued before any is awaited.
    for batch in paths.chunks(100) {
        let creates: Vec<_> = batch
            .iter()
            .map(|p| client.create(p, b"0", &opts))
            .collect();
        for c in creates {
            crate::ensemble::bounded(c).await?;
        }
    }
    Ok(())
}

async fn session(cs: &str, timeout: Duration, detached: bool) -> Option<zk::Client> {
    crate::workload::connect(cs, &[], Some(timeout), detached, OP_TIMEOUT)
        .await
        .ok()
}

/// `op` within [`OP_TIMEOUT`]; a timeout is `Err(None)`.
async fn timed<T>(
    op: impl std::future::Future<Output = Result<T, zk::Error>>,
) -> Result<T, Option<zk::Error>> {
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Some(e)),
        Err(_) => Err(None),
    }
}

/// Starts every worker on `rt`; `conns[i]` is node i's connect string and
/// `all` the one naming every node.
pub fn spawn(
    rt: &tokio::runtime::Runtime,
    shared: &Arc<Shared>,
    conns: &[String],
    all: &str,
    rng: &Rng,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut w = 0u64;
    // Every third worker may move between nodes; the others stay on one.
    let target = |w: u64| -> String {
        if w % 3 == 2 {
            all.to_string()
        } else {
            conns[w as usize % conns.len()].clone()
        }
    };
    for g in 0..GROUPS {
        for _ in 0..WORKERS_PER_GROUP {
            let cs = target(w);
            tasks.push(rt.spawn(register_worker(shared.clone(), cs, g, w, rng.fork(w))));
            w += 1;
        }
    }
    let cs = target(w);
    tasks.push(rt.spawn(seq_worker(shared.clone(), cs, w)));
    w += 1;
    for _ in 0..2 {
        let cs = target(w);
        tasks.push(rt.spawn(set_worker(shared.clone(), cs, w)));
        w += 1;
    }
    tasks.push(rt.spawn(ephemeral_worker(
        shared.clone(),
        conns.to_vec(),
        w,
        rng.fork(w),
    )));
    tasks
}

fn value_of(data: &[u8]) -> u64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

async fn register_worker(shared: Arc<Shared>, cs: String, group: usize, w: u64, mut rng: Rng) {
    let mut client: Option<zk::Client> = None;
    let mut versions: HashMap<usize, i32> = HashMap::new();
    let mut writes = 0u64;
    while !shared.stopped() {
        let Some(c) = client.as_ref() else {
            client = session(&cs, Duration::from_secs(6), false).await;
            if client.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        };
        let idx = shared.counters[group].fetch_add(1, Ordering::SeqCst);
        let k = idx / OPS_PER_REGISTER;
        if k >= shared.registers_per_group {
            break;
        }
        let register = group * shared.registers_per_group + k;
        let path = register_path(register);
        let session_id = c.session_id().0 as u64;
        let roll = rng.below(100);
        let (op, synced) = match (roll, versions.get(&k)) {
            (0..=24, _) => (RegOp::Read, false),
            (25..=44, _) => (RegOp::Read, true),
            (45..=69, _) | (_, None) => {
                writes += 1;
                (RegOp::Write((w << 32) | writes), false)
            }
            (_, Some(&ev)) => {
                writes += 1;
                let value = (w << 32) | writes;
                (
                    RegOp::Cas {
                        expected_version: ev,
                        value,
                    },
                    false,
                )
            }
        };
        let invoke = shared.now();
        let (outcome, mzxid, lost) = match op {
            RegOp::Read => {
                let r = timed(async {
                    if synced {
                        c.sync(&path).await?;
                    }
                    c.get_data(&path).await
                })
                .await;
                match r {
                    Ok((data, stat)) => {
                        versions.insert(k, stat.version);
                        let o = Outcome::Read {
                            value: value_of(&data),
                            version: stat.version,
                        };
                        (o, Some(stat.mzxid), false)
                    }
                    Err(_) => (Outcome::Unknown, None, true),
                }
            }
            RegOp::Write(v) | RegOp::Cas { value: v, .. } => {
                let expected = match op {
                    RegOp::Cas {
                        expected_version, ..
                    } => Some(expected_version),
                    _ => None,
                };
                match timed(c.set_data(&path, v.to_string().as_bytes(), expected)).await {
                    Ok(stat) => (
                        Outcome::Written {
                            version: stat.version,
                        },
                        None,
                        false,
                    ),
                    Err(Some(zk::Error::BadVersion)) if expected.is_some() => {
                        (Outcome::CasFailed, None, false)
                    }
                    Err(_) => (Outcome::Unknown, None, true),
                }
            }
        };
        let complete = (outcome != Outcome::Unknown).then(|| shared.now());
        shared.regs.lock().unwrap().push(RegRecord {
            register,
            synced,
            entry: Entry {
                op,
                outcome,
                invoke,
                complete,
                client: session_id,
            },
            mzxid,
        });
        if lost {
            client = None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn seq_worker(shared: Arc<Shared>, cs: String, w: u64) {
    let opts = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let mut client: Option<zk::Client> = None;
    let mut n = 0u64;
    while !shared.stopped() {
        let Some(c) = client.as_ref() else {
            client = session(&cs, Duration::from_secs(6), false).await;
            if client.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        };
        n += 1;
        let token = format!("w{w}-{n}");
        let r = timed(c.create("/fi/seq/id-", token.as_bytes(), &opts)).await;
        let name = match r {
            Ok((_, seq)) => Some(format!("id-{:010}", seq.into_i64())),
            Err(_) => {
                client = None;
                None
            }
        };
        shared.seqs.lock().unwrap().push(SeqRecord { token, name });
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn set_worker(shared: Arc<Shared>, cs: String, w: u64) {
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let mut client: Option<zk::Client> = None;
    let mut n = 0u64;
    while !shared.stopped() {
        let Some(c) = client.as_ref() else {
            client = session(&cs, Duration::from_secs(6), false).await;
            if client.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        };
        n += 1;
        let path = format!("/fi/set/e-{w}-{n}");
        let acked = match timed(c.create(&path, path.as_bytes(), &opts)).await {
            Ok(_) => true,
            Err(Some(zk::Error::NodeExists)) => {
                // Names are never reused: only this create can have made it.
                shared.violation(format!("create {path}: NodeExists for a name never used"));
                false
            }
            Err(_) => {
                client = None;
                false
            }
        };
        shared.set.lock().unwrap().push((path, acked));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn ephemeral_worker(shared: Arc<Shared>, conns: Vec<String>, w: u64, mut rng: Rng) {
    let opts = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    let mut n = 0u64;
    while !shared.stopped() {
        n += 1;
        let cs = rng.pick(&conns).clone();
        // A detached session is not closed when dropped: it expires.
        let detached = rng.percent(50);
        let Some(c) = session(&cs, EPHEMERAL_SESSION, detached).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let sid = c.session_id().0;
        let path = format!("/fi/eph/s-{w}-{n}");
        let acked = timed(c.create(&path, b"", &opts)).await.is_ok();
        shared.ephemerals.lock().unwrap().push(EphRecord {
            path: path.clone(),
            session: sid,
            acked,
        });
        if acked {
            for _ in 0..rng.between(1, 4) {
                tokio::time::sleep(Duration::from_millis(300)).await;
                match timed(c.check_stat(&path)).await {
                    Ok(Some(stat)) if stat.ephemeral_owner != sid => shared.violation(format!(
                        "{path} of session 0x{sid:x} is owned by 0x{:x}",
                        stat.ephemeral_owner
                    )),
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        // Gone: wrong only if the session still lives.
                        if timed(c.check_stat("/")).await.is_ok() {
                            shared.violation(format!(
                                "{path} vanished while session 0x{sid:x} lived (served by {cs})"
                            ));
                        }
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        drop(c);
    }
}
