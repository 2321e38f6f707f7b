//! `zk-bench ensemble`: a 3-node zk-bin ensemble beside a 3-node Apache
//! ZooKeeper 3.8 ensemble, in one run on this machine.
//!
//! ```text
//! for round in 1..=R (odd rounds zk-bin first, even rounds Apache first):
//!     for each implementation, one ensemble at a time:
//!         start N nodes (fresh dataDirs), wait until one leads and the
//!         rest follow
//!         the load phases of `zk-bench load` (get, set, mixed), the
//!         sessions spread round robin over the nodes' client ports
//!         stop it
//! for each implementation: start N nodes, a back-to-back writer whose
//!     session may move to any node; F times: kill -9 the leader, time
//!     until the writer's next acknowledged create, restart the killed
//!     node and wait until every node serves again and, the writer held
//!     off for a moment, all report the same zxid
//! print per-round lines, then the tables with zk-bin / Apache ratios
//! ```
//!
//! Both ensembles get the same zoo.cfg (the harness's: tickTime, limits,
//! snapCount), the Apache JVMs the flags Debian's `zkServer.sh` gives them
//! and the heap the JVM would choose itself here (a quarter of memory).
//! Server CPU is summed over the nodes. Fail-over time is what a client
//! sees: the longest stretch between two acknowledged creates around the
//! kill (the writer's session has to find a surviving node too when it was
//! connected to the leader; that is the same for both).

use std::time::Duration;

use super::load::{LoadSettings, Op, Target};
use super::servers::{Kind, DEBIAN_JVM_FLAGS};
use super::{print_table, ratio, run_rounds};
use crate::ensemble::{can_run, median, Ensemble, EnsembleConfig, NodeKind, SteadyWriter};

/// Everything `zk-bench ensemble` was asked for.
#[derive(Debug, Clone)]
pub struct EnsembleBenchOptions {
    /// Clients, value size, warm-up and measured time of every phase.
    pub settings: LoadSettings,
    /// The phases, in the order they run on each ensemble.
    pub ops: Vec<Op>,
    /// How many times each ensemble runs all phases (the order of the
    /// implementations alternating); the report merges the rounds.
    pub rounds: usize,
    /// Leader kills per implementation; 0 skips the fail-over part.
    pub failovers: usize,
    /// Ensemble size: voting members of each implementation's ensemble.
    pub nodes: usize,
    /// Also measure an ensemble of Apache ZooKeeper nodes (when it is installed).
    pub apache: bool,
    /// Further zoo.cfg `key=value` lines for every node of both.
    pub extra_cfg: Vec<(String, String)>,
}

/// Bound on an ensemble's election and sync, and on a fail-over.
const SERVE_TIMEOUT: Duration = Duration::from_secs(90);

fn node_kind(kind: Kind) -> NodeKind {
    match kind {
        Kind::ZkBin => NodeKind::ZkBin,
        Kind::Apache => NodeKind::Apache,
    }
}

fn config(kind: Kind, opts: &EnsembleBenchOptions) -> EnsembleConfig {
    let mut cfg = EnsembleConfig::uniform(node_kind(kind), opts.nodes);
    cfg.serialize = false;
    cfg.extra_cfg = opts.extra_cfg.clone();
    // The harness's test-sized heap would handicap Apache; give each JVM
    // what it picks by itself when started without -Xmx, as `load` does.
    cfg.apache_heap = default_jvm_heap();
    cfg.apache_jvm_props = DEBIAN_JVM_FLAGS.iter().map(|s| s.to_string()).collect();
    cfg
}

/// The JVM's default maximum heap: a quarter of the machine's memory (in
/// MB, `-Xmx` syntax), 1 GB when `/proc/meminfo` cannot be read.
fn default_jvm_heap() -> String {
    let total_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(4 << 20);
    format!("{}m", (total_kb / 4 / 1024).max(256))
}

/// Starts an ensemble of `kind` and waits until it serves.
fn start(kind: Kind, opts: &EnsembleBenchOptions) -> Result<Ensemble, String> {
    let mut e = Ensemble::new(config(kind, opts)).map_err(|e| e.to_string())?;
    e.start_all()?;
    e.wait_serving(SERVE_TIMEOUT)?;
    Ok(e)
}

fn target(kind: Kind, e: &Ensemble) -> Result<Target, String> {
    let pids = (0..e.len())
        .map(|i| {
            e.pid(i)
                .ok_or_else(|| format!("node {} has no pid", e.sid(i)))
        })
        .collect::<Result<_, _>>()?;
    Ok(Target {
        name: format!("{} x{}", kind.name(), e.len()),
        addrs: (0..e.len()).map(|i| e.client_addr(i)).collect(),
        pids,
        tls: None,
    })
}

/// One implementation's fail-overs: each the time from the kill -9 of the
/// leader to the writer's next acknowledged create.
fn failovers(kind: Kind, opts: &EnsembleBenchOptions) -> Result<Vec<Duration>, String> {
    let mut e = start(kind, opts)?;
    let writer = SteadyWriter::start_paced(&e.connect_string_all(), "/failover", Duration::ZERO);
    writer.wait_for_more(200, SERVE_TIMEOUT)?;
    let mut times = Vec::new();
    for n in 0..opts.failovers {
        // Whole again and caught up before each kill: the writer holds off
        // until every node has applied the same zxid, so that no kill meets
        // a follower still syncing from the previous one.
        let leader = e.wait_serving(SERVE_TIMEOUT)?;
        writer.pause()?;
        let zxid = e.wait_same_zxid(SERVE_TIMEOUT);
        writer.resume();
        zxid?;
        writer.wait_for_more(100, SERVE_TIMEOUT)?;
        writer.take_longest_gap();
        e.kill_9(leader)?;
        writer.wait_for_more(100, SERVE_TIMEOUT)?;
        let gap = writer.take_longest_gap();
        println!(
            "fail-over {} {:<10} leader sid {} killed: writes again after {:.3} s",
            n + 1,
            kind.name(),
            e.sid(leader),
            gap.as_secs_f64()
        );
        times.push(gap);
        e.start(leader)?;
        e.wait_serving(SERVE_TIMEOUT)?;
    }
    let report = writer.stop()?;
    println!(
        "fail-over {:<10} {} creates acknowledged, {} attempts failed",
        kind.name(),
        report.acked.len(),
        report.failures
    );
    Ok(times)
}

/// Runs the whole comparison and prints it.
pub fn run(opts: &EnsembleBenchOptions) -> Result<(), String> {
    can_run(&[NodeKind::ZkBin]).map_err(|e| e.to_string())?;
    let mut kinds = vec![Kind::ZkBin];
    if opts.apache {
        match can_run(&[NodeKind::Apache]) {
            Ok(()) => kinds.push(Kind::Apache),
            Err(e) => println!("apache: {e}"),
        }
    }
    let s = &opts.settings;
    let sample = config(Kind::ZkBin, opts);
    println!(
        "{} nodes each; {} sessions spread over them, {} B values, {} keys, warm-up {:?}, measured {:?} per phase, {} round(s); zoo.cfg tickTime={} initLimit=10 syncLimit=5 snapCount={}; Apache JVMs -Xmx{}",
        opts.nodes,
        s.clients,
        s.value_size,
        s.keys,
        s.warmup,
        s.duration,
        opts.rounds,
        sample.tick_time_ms,
        sample.snap_count,
        sample.apache_heap
    );
    for (key, value) in &opts.extra_cfg {
        println!("zoo.cfg of every node also has {key}={value}");
    }

    let phases = run_rounds(
        &kinds,
        opts.rounds,
        &opts.ops,
        s,
        |kind| {
            let e = start(kind, opts)?;
            Ok((target(kind, &e)?, e))
        },
        |_, _| Ok(()),
    )?;

    let mut fail_times: Vec<(Kind, Vec<Duration>)> = Vec::new();
    if opts.failovers > 0 {
        for &kind in &kinds {
            fail_times.push((kind, failovers(kind, opts)?));
        }
    }

    println!();
    let heading = format!(
        "{}-node ensemble, closed loop, {} sessions, {} B values",
        opts.nodes, s.clients, s.value_size
    );
    if !phases.is_empty() {
        print_table(&heading, &opts.ops, opts.rounds, s, &phases, &[]);
    }
    if !fail_times.is_empty() {
        println!();
        print!("{}", failover_table(opts.failovers, &fail_times));
    }
    Ok(())
}

/// The fail-over table: median and max of each implementation's times.
fn failover_table(failovers: usize, times: &[(Kind, Vec<Duration>)]) -> String {
    let of = |kind: Kind| times.iter().find(|(k, _)| *k == kind).map(|(_, t)| t);
    let Some(ours) = of(Kind::ZkBin) else {
        return String::new();
    };
    let theirs = of(Kind::Apache);
    let med = |t: &Vec<Duration>| median(t).as_secs_f64();
    let max = |t: &Vec<Duration>| t.iter().max().copied().unwrap_or_default().as_secs_f64();
    let mut out = format!(
        "| kill -9 of the leader until writes succeed again ({failovers} times) | zk-bin (s) | Apache (s) | zk-bin / Apache |\n|---|---|---|---|\n"
    );
    for (name, f) in [
        ("median", &med as &dyn Fn(&Vec<Duration>) -> f64),
        ("max", &max),
    ] {
        out += &format!(
            "| {name} | {:.3} | {} | {} |\n",
            f(ours),
            theirs.map_or("-".to_string(), |t| format!("{:.3}", f(t))),
            ratio(f(ours), theirs.map(f)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_table_has_median_max_and_ratios() {
        let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect();
        let both = [
            (Kind::ZkBin, ms(&[300, 500, 400])),
            (Kind::Apache, ms(&[800, 400, 1000])),
        ];
        let table = failover_table(3, &both);
        assert!(table.contains("(3 times)"), "{table}");
        assert!(
            table.contains("| median | 0.400 | 0.800 | 0.50 |"),
            "{table}"
        );
        assert!(table.contains("| max | 0.500 | 1.000 | 0.50 |"), "{table}");

        let ours_only = failover_table(3, &both[..1]);
        assert!(ours_only.contains("| max | 0.500 | - | - |"), "{ours_only}");
        assert_eq!(failover_table(3, &both[1..]), "");
    }

    #[test]
    fn default_jvm_heap_is_in_megabytes() {
        let heap = default_jvm_heap();
        let mb: u64 = heap.strip_suffix('m').unwrap().parse().unwrap();
        assert!(mb >= 256, "{heap}");
    }
}
