//! The checks at the end of a run, once the ensemble is healed and serves:
//! the register histories, the acknowledged writes, the sequential ids,
//! ephemerals gone with their sessions, and every node's tree equal to the
//! others', node by node.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use zookeeper_client as zk;

use super::linearizable::{self, Entry, Outcome, RegOp, Verdict};
use super::workload::{register_path, RegRecord, Shared};
use crate::ensemble::{bounded, connect, Ensemble};
use crate::tree_model::{dump_live, TreeModel};

/// Search steps per register history before the checker gives up.
const BUDGET: u64 = 2_000_000;

/// Failures (each a sentence) and notes for the run's summary.
#[derive(Debug, Default)]
pub struct Findings {
    /// What the run got wrong; any entry fails the run.
    pub failures: Vec<String>,
    /// Observations that do not fail the run (e.g. checks skipped or undecided).
    pub notes: Vec<String>,
}

/// One final sync+read of every register through node `leader`, appended
/// to the history as completed reads (the state every op must explain).
pub fn final_reads(e: &Ensemble, shared: &Shared, leader: usize) -> Result<(), String> {
    let cs = e.connect_string(leader);
    let n = shared.register_count();
    let records = e.block_on(async {
        let c = connect(&cs, Duration::from_secs(15)).await?;
        let mut out = Vec::new();
        for k in 0..n {
            let path = register_path(k);
            let invoke = shared.now();
            bounded(c.sync(&path)).await?;
            let (data, stat) = bounded(c.get_data(&path)).await?;
            let value = std::str::from_utf8(&data)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX);
            out.push(RegRecord {
                register: k,
                synced: true,
                entry: Entry {
                    op: RegOp::Read,
                    outcome: Outcome::Read {
                        value,
                        version: stat.version,
                    },
                    invoke,
                    complete: Some(shared.now()),
                    client: 0,
                },
                mzxid: None,
            });
        }
        Ok::<_, String>(out)
    })?;
    shared.regs.lock().unwrap().extend(records);
    Ok(())
}

/// Linearizability of each register: writes+CAS (with the final read),
/// and the same with every sync+read; plain reads never go back within a
/// session.
pub fn registers(shared: &Shared, f: &mut Findings) {
    let regs = shared.regs.lock().unwrap().clone();
    let mut by_reg: BTreeMap<usize, Vec<RegRecord>> = BTreeMap::new();
    for r in regs {
        by_reg.entry(r.register).or_default().push(r);
    }
    let (mut ops, mut unknown, mut undecided) = (0, 0, 0);
    let mut bad_writes = 0;
    let mut bad_synced = 0;
    for (k, recs) in &by_reg {
        ops += recs.len();
        unknown += recs
            .iter()
            .filter(|r| r.entry.outcome == Outcome::Unknown)
            .count();
        let writes: Vec<Entry> = recs
            .iter()
            .filter(|r| r.entry.op != RegOp::Read || r.entry.client == 0)
            .map(|r| r.entry)
            .collect();
        let synced: Vec<Entry> = recs
            .iter()
            .filter(|r| r.entry.op != RegOp::Read || r.synced)
            .map(|r| r.entry)
            .collect();
        for (what, history, bad) in [
            ("writes+CAS", &writes, &mut bad_writes),
            ("sync+read", &synced, &mut bad_synced),
        ] {
            match linearizable::check(history, BUDGET) {
                Verdict::Linearizable => {}
                Verdict::Undecided => undecided += 1,
                Verdict::NotLinearizable(why) => {
                    *bad += 1;
                    f.failures.push(format!(
                        "register {} ({what}, {} ops) is not linearizable: {why}",
                        register_path(*k),
                        history.len()
                    ));
                }
            }
        }
        monotonic_reads(*k, recs, f);
    }
    f.notes.push(format!(
        "registers: {} with {ops} ops ({unknown} unknown outcomes); not linearizable: writes+CAS {bad_writes}, sync+read {bad_synced}; undecided within {BUDGET} steps: {undecided}",
        by_reg.len()
    ));
}

/// Within one session, reads of a register never see an older mzxid.
fn monotonic_reads(k: usize, recs: &[RegRecord], f: &mut Findings) {
    let mut by_session: HashMap<u64, Vec<&RegRecord>> = HashMap::new();
    for r in recs.iter().filter(|r| r.mzxid.is_some()) {
        by_session.entry(r.entry.client).or_default().push(r);
    }
    for (session, mut reads) in by_session {
        reads.sort_by_key(|r| r.entry.invoke);
        for pair in reads.windows(2) {
            let (a, b) = (pair[0].mzxid.unwrap(), pair[1].mzxid.unwrap());
            if b < a {
                f.failures.push(format!(
                    "session 0x{session:x} read {} going back: mzxid 0x{a:x} then 0x{b:x} ({} then {})",
                    register_path(k),
                    linearizable::describe(&pair[0].entry),
                    linearizable::describe(&pair[1].entry)
                ));
                return;
            }
        }
    }
}

/// Waits until `/fi/eph` is empty on every node (every workload session
/// has ended: closed, or abandoned to expire).
pub fn ephemerals_gone(e: &Ensemble, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut left = Vec::new();
        for i in 0..e.len() {
            let cs = e.connect_string(i);
            let kids = e.block_on(async {
                let c = connect(&cs, Duration::from_secs(10)).await?;
                bounded(c.sync("/fi/eph")).await?;
                bounded(c.list_children("/fi/eph")).await
            })?;
            if !kids.is_empty() {
                left.push(format!("node {}: {kids:?}", i + 1));
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "ephemerals of ended sessions still exist after {timeout:?}: {}",
                left.join("; ")
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A fresh session's ephemeral is seen on every node while the session
/// lives, and is gone from every node once the session (abandoned, not
/// closed) expires.
pub fn ephemeral_lifecycle(e: &Ensemble, timeout: Duration) -> Result<(), String> {
    let path = "/fi/eph/final";
    let owner_cs = e.connect_string_all();
    let owner = e.block_on(async {
        let c = crate::workload::connect(
            &owner_cs,
            &[],
            Some(super::workload::EPHEMERAL_SESSION),
            true,
            Duration::from_secs(10),
        )
        .await?;
        let opts = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
        bounded(c.create(path, b"", &opts)).await?;
        Ok::<_, String>(c)
    })?;
    let sid = owner.session_id().0;
    for i in 0..e.len() {
        let cs = e.connect_string(i);
        let stat = e.block_on(async {
            let c = connect(&cs, Duration::from_secs(10)).await?;
            bounded(c.sync(path)).await?;
            bounded(c.check_stat(path)).await
        })?;
        match stat {
            Some(s) if s.ephemeral_owner == sid => {}
            other => {
                return Err(format!(
                    "node {}: {path} of live session 0x{sid:x} reads {other:?}",
                    i + 1
                ))
            }
        }
    }
    drop(owner);
    ephemerals_gone(e, timeout)
}

/// Every node's tree after sync, node 1's compared with each other's.
pub fn trees(e: &Ensemble) -> Result<Vec<TreeModel>, String> {
    let mut out = Vec::new();
    for i in 0..e.len() {
        let cs = e.connect_string(i);
        let tree = e.block_on(async {
            let c = connect(&cs, Duration::from_secs(10)).await?;
            bounded(c.sync("/")).await?;
            tokio::time::timeout(Duration::from_secs(120), dump_live(&c))
                .await
                .map_err(|_| "dump took over 120 s".to_string())?
        })?;
        out.push(tree);
    }
    Ok(out)
}

/// Compares the trees dumped from every node (`trees`, in node order) with
/// node 1's: paths, data, every stat field and ACLs. `/zookeeper/config`,
/// which each node writes from its own zoo.cfg, is checked on its own.
/// Differences go to `f.failures`, a summary line to `f.notes`.
pub fn trees_equal(e: &Ensemble, trees: &[TreeModel], f: &mut Findings) {
    // `/zookeeper/config` is written by each node itself from its own
    // zoo.cfg (3.8's initConfigInZKDatabase, mtime from the node's own
    // clock), not by a txn: it is checked on its own below.
    let without: Vec<TreeModel> = trees
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.nodes.remove(CONFIG_NODE);
            t
        })
        .collect();
    for (i, t) in without.iter().enumerate().skip(1) {
        let left = format!("node 1 ({})", e.kind(0));
        let right = format!("node {} ({})", i + 1, e.kind(i));
        if let Err(diff) = without[0].compare(&left, t, &right, 10) {
            f.failures.push(diff);
        }
    }
    config_nodes(e, trees, f);
    f.notes.push(format!(
        "trees: {} znodes on each of {} nodes compared (paths, data, all stat fields, ACLs)",
        trees[0].len(),
        trees.len()
    ));
}

const CONFIG_NODE: &str = "/zookeeper/config";

/// Every node's `/zookeeper/config` holds the same configuration at
/// version -1, as 3.8 sets it at startup and after each sync. An empty one
/// (a node that never wrote its config into the tree) is a failure on
/// either implementation, as is a text or version differing from the first
/// non-empty one.
fn config_nodes(e: &Ensemble, trees: &[TreeModel], f: &mut Findings) {
    let texts: Vec<Option<&Vec<u8>>> = trees
        .iter()
        .map(|t| {
            t.get(CONFIG_NODE)
                .map(|n| &n.data)
                .filter(|d| !d.is_empty())
        })
        .collect();
    let reference = texts.iter().flatten().next().copied();
    for (i, t) in trees.iter().enumerate() {
        let node = t.get(CONFIG_NODE);
        let (data, version) = node.map_or((Vec::new(), 0), |n| (n.data.clone(), n.stat.version));
        if data.is_empty() {
            let what = format!(
                "node {} ({}) serves an empty {CONFIG_NODE} (version {version})",
                i + 1,
                e.kind(i)
            );
            f.failures.push(what);
        } else if Some(&data) != reference || version != -1 {
            f.failures.push(format!(
                "node {} ({}): {CONFIG_NODE} is {:?} at version {version}, node with the first non-empty one has {:?}",
                i + 1,
                e.kind(i),
                String::from_utf8_lossy(&data),
                reference.map(|r| String::from_utf8_lossy(r).into_owned())
            ));
        }
    }
}

/// Acknowledged set elements and sequential ids in the final tree (equal
/// on every node, checked above).
pub fn acknowledged(shared: &Shared, tree: &TreeModel, f: &mut Findings) {
    let set = shared.set.lock().unwrap().clone();
    let acked: Vec<&String> = set.iter().filter(|(_, a)| *a).map(|(p, _)| p).collect();
    let missing: Vec<&&String> = acked.iter().filter(|p| tree.get(p).is_none()).collect();
    if !missing.is_empty() {
        f.failures.push(format!(
            "{} of {} acknowledged set elements are missing, e.g. {:?}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(5)]
        ));
    }
    let seqs = shared.seqs.lock().unwrap().clone();
    let mut names: HashMap<&str, &str> = HashMap::new();
    for s in &seqs {
        if let Some(name) = &s.name {
            if let Some(other) = names.insert(name, &s.token) {
                f.failures.push(format!(
                    "sequential name {name} acknowledged twice: to {other} and {}",
                    s.token
                ));
            }
        }
    }
    for (name, token) in &names {
        let path = format!("/fi/seq/{name}");
        match tree.get(&path) {
            Some(n) if n.data == token.as_bytes() => {}
            Some(n) => f.failures.push(format!(
                "{path} (acknowledged to {token}) holds {:?}",
                String::from_utf8_lossy(&n.data)
            )),
            None => f
                .failures
                .push(format!("acknowledged {path} ({token}) is missing")),
        }
    }
    // No create made two znodes.
    let mut tokens: HashSet<Vec<u8>> = HashSet::new();
    for (path, n) in tree.nodes.range("/fi/seq/".to_string()..) {
        if !path.starts_with("/fi/seq/") {
            break;
        }
        if !tokens.insert(n.data.clone()) {
            f.failures.push(format!(
                "token {:?} created two sequential znodes (one is {path})",
                String::from_utf8_lossy(&n.data)
            ));
        }
    }
    let unknown_seq = seqs.iter().filter(|s| s.name.is_none()).count();
    f.notes.push(format!(
        "set: {} acknowledged of {} creates; sequential: {} acknowledged, {unknown_seq} unknown",
        acked.len(),
        set.len(),
        names.len()
    ));
}
