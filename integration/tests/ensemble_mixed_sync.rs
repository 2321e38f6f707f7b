//! `sync` beside writes and reads in mixed ensembles (project issue 10).
//!
//! On every node several clients loop: a write (a create every fourth
//! round, a setData otherwise), a `sync` sent right behind it before its
//! answer, then a read of what was written, which must be the value just
//! written (read-your-writes after sync). Beside them, one prober per node
//! keeps opening new sessions there. Every client and prober must keep
//! making progress: no operation may go unanswered for [`STALL`], and after
//! the load a new session on every node writes and reads back.
//!
//! - 2 Apache + 1 zk-bin with zk-bin leading: the Apache followers' syncs
//!   go through zk-quorum's leader. A SYNC answer that overtakes the
//!   COMMIT of an earlier write from the same follower leaves 3.8's
//!   CommitProcessor waiting on it forever (the issue: ConnectionLoss, and
//!   new sessions that log "Committing global session" but never connect).
//! - 1 zk-bin + 2 Apache with an Apache leader: zk-quorum's follower under
//!   3.8's leader.
//! - 3 Apache: the control.
//!
//! The load runs `ZK_MIXED_SYNC_SECS` seconds (15 by default; the
//! acceptance run uses 60). Each variant prints `skipped: ...` where Java
//! or Debian's ZooKeeper is missing.

use std::time::{Duration, Instant};

use integration::ensemble::{bounded, connect, Ensemble, EnsembleConfig, NodeKind};
use zookeeper_client::{Acls, Client, CreateMode, Error as ZkError};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(90);
/// The longest any client may wait for one answer (or a new session for
/// its connect response): a few seconds, well above what a busy 2-core
/// machine with slow fsync needs.
const STALL: Duration = Duration::from_secs(8);
const CLIENTS_PER_NODE: usize = 3;
/// Pause between two sessions a prober opens.
const PROBE_EVERY: Duration = Duration::from_millis(300);
const ROOT: &str = "/mixed-sync";

fn load_duration() -> Duration {
    let secs = std::env::var("ZK_MIXED_SYNC_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(15);
    Duration::from_secs(secs)
}

/// One node, as the load sees it.
#[derive(Clone)]
struct Target {
    sid: u64,
    kind: NodeKind,
    connect: String,
}

/// What one looping client (or prober) did.
struct Progress {
    sid: u64,
    kind: NodeKind,
    who: String,
    rounds: u64,
    /// The longest time between two completed rounds (or from the start to
    /// the first).
    longest_gap: Duration,
    /// Why it stopped before the end, if it did.
    failure: Option<String>,
}

impl Progress {
    fn new(t: &Target, who: String) -> Progress {
        Progress {
            sid: t.sid,
            kind: t.kind,
            who,
            rounds: 0,
            longest_gap: Duration::ZERO,
            failure: None,
        }
    }
}

/// `op` within [`STALL`], its error as text naming `what`.
async fn within_stall<T>(
    what: impl std::fmt::Display,
    op: impl std::future::Future<Output = Result<T, ZkError>>,
) -> Result<T, String> {
    match tokio::time::timeout(STALL, op).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {STALL:?}")),
    }
}

/// Round `round` of one client: the write and a `sync` right behind it
/// (both sent before either answer), then the read of what was written.
async fn round(c: &Client, base: &str, round: u64) -> Result<(), String> {
    let value = format!("{base}#{round}");
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let target = if round % 4 == 0 {
        let child = format!("{base}/r{round:07}");
        let create = c.create(&child, value.as_bytes(), &all);
        let sync = c.sync(base);
        let (w, s) = tokio::join!(
            within_stall(format!("create {child}"), create),
            within_stall(format!("sync after create {child}"), sync)
        );
        w?;
        s?;
        child
    } else {
        let set = c.set_data(base, value.as_bytes(), None);
        let sync = c.sync(base);
        let (w, s) = tokio::join!(
            within_stall(format!("setData {base}"), set),
            within_stall(format!("sync after setData {base}"), sync)
        );
        w?;
        s?;
        base.to_string()
    };
    let (data, _) = within_stall(format!("getData {target}"), c.get_data(&target)).await?;
    if data != value.as_bytes() {
        return Err(format!(
            "getData {target} after sync gave {:?}, not the {value:?} just written",
            String::from_utf8_lossy(&data)
        ));
    }
    Ok(())
}

/// One client of node `t` looping [`round`] until `end`.
async fn client_loop(t: Target, k: usize, end: Instant) -> Progress {
    let mut p = Progress::new(&t, format!("client {k}"));
    let start = Instant::now();
    let c = match connect(&t.connect, STALL).await {
        Ok(c) => c,
        Err(m) => {
            p.failure = Some(m);
            return p;
        }
    };
    let base = format!("{ROOT}/n{}-c{k}", t.sid);
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    match within_stall(format!("create {base}"), c.create(&base, b"", &all)).await {
        Ok(_) => {}
        Err(m) => {
            p.failure = Some(m);
            return p;
        }
    }
    let mut last = start;
    while Instant::now() < end {
        if let Err(m) = round(&c, &base, p.rounds).await {
            p.longest_gap = p.longest_gap.max(last.elapsed());
            p.failure = Some(format!("round {}: {m}", p.rounds));
            return p;
        }
        p.rounds += 1;
        p.longest_gap = p.longest_gap.max(last.elapsed());
        last = Instant::now();
    }
    p
}

/// Opens a new session with node `t` again and again until `end`; each
/// must connect and read within [`STALL`].
async fn session_prober(t: Target, end: Instant) -> Progress {
    let mut p = Progress::new(&t, "new sessions".into());
    let mut last = Instant::now();
    while Instant::now() < end {
        let c = match connect(&t.connect, STALL).await {
            Ok(c) => c,
            Err(m) => {
                p.failure = Some(format!("session {}: {m}", p.rounds + 1));
                p.longest_gap = p.longest_gap.max(last.elapsed());
                return p;
            }
        };
        if let Err(m) = within_stall(format!("exists {ROOT}"), c.check_stat(ROOT)).await {
            p.failure = Some(format!("session {}: {m}", p.rounds + 1));
            p.longest_gap = p.longest_gap.max(last.elapsed());
            return p;
        }
        drop(c);
        p.rounds += 1;
        p.longest_gap = p.longest_gap.max(last.elapsed());
        tokio::time::sleep(PROBE_EVERY).await;
        last = Instant::now();
    }
    p
}

/// Restarts leaders (kill -9, start again) until a node of `kind` leads.
/// With every zxid equal the vote goes to the highest myid among the
/// nodes up, so the kinds' order in the config decides who gets there.
fn lead_with(e: &mut Ensemble, kind: NodeKind) -> usize {
    for _ in 0..4 {
        let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
        if e.kind(leader) == kind {
            return leader;
        }
        println!(
            "node {} ({}) leads; restarting it so that a {kind} node leads",
            e.sid(leader),
            e.kind(leader)
        );
        e.wait_same_zxid(TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        e.kill_9(leader).unwrap_or_else(|m| panic!("{m}"));
        e.wait_for_leader(TIMEOUT)
            .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
        e.start(leader).unwrap_or_else(|m| panic!("{m}"));
    }
    panic!("no {kind} node led after 4 restarts\n{}", e.describe());
}

fn sync_beside_writes(kinds: &[NodeKind], leader_kind: NodeKind) {
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::new(kinds)) else {
        return;
    };
    let label: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    let label = label.join("+");
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = lead_with(&mut e, leader_kind);
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let targets: Vec<Target> = (0..e.len())
        .map(|i| Target {
            sid: e.sid(i),
            kind: e.kind(i),
            connect: e.connect_string(i),
        })
        .collect();
    let duration = load_duration();
    println!(
        "{label}: node {} ({}) leads; {CLIENTS_PER_NODE} clients per node write, sync and read \
         for {duration:?}",
        e.sid(leader),
        e.kind(leader)
    );
    let results = e.block_on(async {
        let c = connect(&targets[leader].connect, STALL)
            .await
            .unwrap_or_else(|m| panic!("{m}"));
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        bounded(c.create(ROOT, b"", &all))
            .await
            .unwrap_or_else(|m| panic!("create {ROOT}: {m}"));
        drop(c);
        let end = Instant::now() + duration;
        let mut tasks = Vec::new();
        for t in &targets {
            for k in 0..CLIENTS_PER_NODE {
                tasks.push(tokio::spawn(client_loop(t.clone(), k, end)));
            }
            tasks.push(tokio::spawn(session_prober(t.clone(), end)));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("a load task panicked"));
        }
        results
    });
    let mut failures = Vec::new();
    for p in &results {
        println!(
            "{label}: node {} ({}) {}: {} rounds, longest gap {:?}{}",
            p.sid,
            p.kind,
            p.who,
            p.rounds,
            p.longest_gap,
            p.failure
                .as_ref()
                .map_or(String::new(), |m| format!(", STOPPED: {m}"))
        );
        if let Some(m) = &p.failure {
            failures.push(format!("node {} ({}) {}: {m}", p.sid, p.kind, p.who));
        } else if p.longest_gap > STALL {
            failures.push(format!(
                "node {} ({}) {}: no progress for {:?}",
                p.sid, p.kind, p.who, p.longest_gap
            ));
        } else if p.rounds == 0 {
            failures.push(format!(
                "node {} ({}) {}: not one round",
                p.sid, p.kind, p.who
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{label}: {} of {} clients stalled or failed:\n{}\n{}",
        failures.len(),
        results.len(),
        failures.join("\n"),
        e.describe()
    );
    // After the load every node still takes new sessions, writes and reads.
    let checked = e
        .check_writes_everywhere("after-sync-load")
        .unwrap_or_else(|m| panic!("{label}: after the load: {m}\n{}", e.describe()));
    let total: u64 = results
        .iter()
        .filter(|p| p.who.starts_with("client"))
        .map(|p| p.rounds)
        .sum();
    println!(
        "{label}: {total} write+sync+read rounds, every client kept going; afterwards new \
         sessions on every node wrote and read back {checked} nodes"
    );
}

#[test]
fn sync_beside_writes_2_apache_1_zk_bin_leading() {
    sync_beside_writes(&[Apache, Apache, ZkBin], ZkBin);
}

#[test]
fn sync_beside_writes_1_zk_bin_2_apache_apache_leading() {
    sync_beside_writes(&[ZkBin, Apache, Apache], Apache);
}

#[test]
fn sync_beside_writes_3_apache() {
    sync_beside_writes(&[Apache, Apache, Apache], Apache);
}
