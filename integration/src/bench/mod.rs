//! `zk-bench load` and `zk-bench memory`: the same client load against
//! zk-bin and Apache ZooKeeper 3.8, side by side, on this machine.
//!
//! ```text
//! for round in 1..=R (odd rounds zk-bin first, even rounds Apache first):
//!     for each server, one at a time:
//!         start it on a fresh data dir (same zoo.cfg, same disk)
//!         create /bench, the keys, one parent per session
//!         for op in get, set, mixed, create: N sessions, closed loop,
//!             warm-up (unmeasured), then the measured window
//!         stop it
//! for each server: start fresh, fill 1,000,000 znodes, read its RSS, stop
//! print per-round lines, then the table with zk-bin / Apache ratios
//! ```
//!
//! With `--tls` every session connects to the servers' secure client
//! ports through the same rustls client ([`tls`]).
//!
//! - [`client`]: the blocking raw-protocol client (why not an async crate:
//!   see there).
//! - [`servers`]: starting either server with the same settings, its RSS and
//!   CPU time from `/proc`.
//! - [`load`]: one closed-loop phase and its latency quantiles.
//! - [`memory`]: the pipelined fill and the RSS reading.
//!
//! Creates run last so that gets and sets see the same small tree on both
//! servers whatever their create rate.

pub mod client;
pub mod ensemble;
pub mod load;
pub mod memory;
pub mod servers;
pub mod tls;

use crate::apache::ApacheZk;
use load::{merge, quantile_ms, LoadSettings, Op, PhaseResult};
use memory::MemoryResult;
use servers::Kind;

/// Everything `zk-bench load` was asked for.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Clients, value size, warm-up and measured time of every phase.
    pub settings: LoadSettings,
    /// The phases, in the order they run on each server.
    pub ops: Vec<Op>,
    /// How many times each server runs all phases (the order of the servers
    /// alternating); the report merges the rounds' measurements.
    pub rounds: usize,
    /// Znodes for the memory measurement; 0 skips it.
    pub memory_nodes: u64,
    /// Also measure Apache ZooKeeper (when it is installed).
    pub apache: bool,
    /// Measure zk-bin (off only to try the Apache half alone).
    pub zk_bin: bool,
    /// Further zoo.cfg `key=value` lines for both servers.
    pub extra_cfg: Vec<(String, String)>,
    /// Where to keep each server's log.
    pub log_dir: Option<std::path::PathBuf>,
    /// Drive the servers' secure client ports over TLS.
    pub tls: bool,
}

/// Runs the whole comparison and prints it.
pub fn run(opts: &LoadOptions) -> Result<(), String> {
    let apache = if opts.apache {
        match ApacheZk::find() {
            Ok(a) => Some(a),
            Err(why) => {
                println!("apache: skipped: {why}");
                None
            }
        }
    } else {
        None
    };
    let mut kinds = Vec::new();
    if opts.zk_bin {
        kinds.push(Kind::ZkBin);
    }
    if apache.is_some() {
        kinds.push(Kind::Apache);
    }
    let s = &opts.settings;
    println!(
        "{} sessions, {} B values, {} keys, warm-up {:?}, measured {:?} per phase, {} round(s)",
        s.clients, s.value_size, s.keys, s.warmup, s.duration, opts.rounds
    );
    for (key, value) in &opts.extra_cfg {
        println!("zoo.cfg of both servers also has {key}={value}");
    }
    let tls = if opts.tls {
        let tls = tls::BenchTls::generate()?;
        println!(
            "over TLS: secureClientPort with the PEM key store {} (clientAuth need, a client cert per session); Apache with {}",
            tls.server_key_store.display(),
            tls::NETTY_FACTORY
        );
        Some(tls)
    } else {
        None
    };
    let client_tls = tls.as_ref().map(|t| &t.client);

    let phases = run_rounds(
        &kinds,
        opts.rounds,
        &opts.ops,
        s,
        |kind| {
            let server = servers::start(kind, apache.as_ref(), &opts.extra_cfg, tls.as_ref())?;
            Ok((load::Target::of(&server, client_tls)?, server))
        },
        |round, server| match &opts.log_dir {
            Some(dir) => server.keep_log(dir, &format!("load-round{round}")),
            None => Ok(()),
        },
    )?;

    let mut memory: Vec<(Kind, MemoryResult)> = Vec::new();
    if opts.memory_nodes > 0 {
        for &kind in &kinds {
            let server = servers::start(kind, apache.as_ref(), &opts.extra_cfg, tls.as_ref())?;
            let m = memory::fill_and_measure(&server, opts.memory_nodes, s.value_size)?;
            println!(
                "memory {:<10} {} znodes in {:.1} s ({:.0}/s): RSS {} MB right after, {} MB after 5 s, peak {} MB",
                kind.name(),
                m.node_count,
                m.fill_seconds,
                opts.memory_nodes as f64 / m.fill_seconds,
                m.rss_after_fill_kb / 1024,
                m.rss_kb / 1024,
                m.peak_rss_kb / 1024
            );
            if let Some(dir) = &opts.log_dir {
                server.keep_log(dir, "memory")?;
            }
            memory.push((kind, m));
        }
    }

    println!();
    let heading = format!(
        "closed loop{}, {} sessions, {} B values",
        if opts.tls { " over TLS" } else { "" },
        s.clients,
        s.value_size
    );
    print_table(&heading, &opts.ops, opts.rounds, s, &phases, &memory);
    Ok(())
}

/// The load phases, round after round (odd rounds in `kinds`' order, even
/// rounds reversed), each printed as it ends. `start` brings up one
/// implementation and gives what the sessions drive plus what keeps it
/// alive; `done` gets the latter with the round's number once its phases
/// ran, and dropping it stops the servers before the next ones start.
pub(crate) fn run_rounds<G>(
    kinds: &[Kind],
    rounds: usize,
    ops: &[Op],
    s: &LoadSettings,
    mut start: impl FnMut(Kind) -> Result<(load::Target, G), String>,
    mut done: impl FnMut(usize, G) -> Result<(), String>,
) -> Result<Vec<(Kind, PhaseResult)>, String> {
    let mut phases = Vec::new();
    for round in 1..=rounds {
        let mut order = kinds.to_vec();
        if round % 2 == 0 {
            order.reverse();
        }
        for kind in order {
            let (target, alive) = start(kind)?;
            load::prepare(&target, s)?;
            for &op in ops {
                let result = load::run_phase(&target, op, s)?;
                println!("round {round} {}", phase_line(kind, &result));
                phases.push((kind, result));
            }
            done(round, alive)?;
        }
    }
    Ok(phases)
}

pub(crate) fn phase_line(kind: Kind, r: &PhaseResult) -> String {
    format!(
        "{:<10} {:<6} {:>8.0} ops/s  p50 {:.2} ms  p99 {:.2} ms  p999 {:.2} ms  server CPU {:.1} us/op  client CPU {:.1} us/op  other processes {:.0}% of a core",
        kind.name(),
        r.op.name(),
        r.ops_per_second(),
        quantile_ms(&r.latencies_ns, 0.5),
        quantile_ms(&r.latencies_ns, 0.99),
        quantile_ms(&r.latencies_ns, 0.999),
        r.server_cpu_us_per_op(),
        r.client_cpu_seconds * 1e6 / r.ops.max(1) as f64,
        r.other_cpu_seconds * 100.0 / r.seconds,
    )
}

/// All rounds of `op` on `kind`, merged.
fn merged(phases: &[(Kind, PhaseResult)], kind: Kind, op: Op) -> Option<PhaseResult> {
    let results: Vec<PhaseResult> = phases
        .iter()
        .filter(|(k, r)| *k == kind && r.op == op)
        .map(|(_, r)| r.clone())
        .collect();
    merge(&results)
}

pub(crate) fn ratio(ours: f64, theirs: Option<f64>) -> String {
    match theirs {
        Some(t) if t > 0.0 => format!("{:.2}", ours / t),
        _ => "-".to_string(),
    }
}

fn or_dash(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.digits$}"))
}

/// The Markdown table for the README, then the details behind it.
pub(crate) fn print_table(
    heading: &str,
    ops: &[Op],
    rounds: usize,
    s: &LoadSettings,
    phases: &[(Kind, PhaseResult)],
    memory: &[(Kind, MemoryResult)],
) {
    println!(
        "| {heading} | zk-bin ops/s | Apache ops/s | ops/s zk-bin / Apache | zk-bin p99 (ms) | Apache p99 (ms) | p99 zk-bin / Apache |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut details = Vec::new();
    for &op in ops {
        let Some(ours) = merged(phases, Kind::ZkBin, op) else {
            continue;
        };
        let theirs = merged(phases, Kind::Apache, op);
        let p99 = |r: &PhaseResult| quantile_ms(&r.latencies_ns, 0.99);
        println!(
            "| {} | {:.0} | {} | {} | {:.2} | {} | {} |",
            op.name(),
            ours.ops_per_second(),
            or_dash(theirs.as_ref().map(PhaseResult::ops_per_second), 0),
            ratio(
                ours.ops_per_second(),
                theirs.as_ref().map(PhaseResult::ops_per_second)
            ),
            p99(&ours),
            or_dash(theirs.as_ref().map(p99), 2),
            ratio(p99(&ours), theirs.as_ref().map(p99)),
        );
        details.push(phase_line(Kind::ZkBin, &ours));
        if let Some(theirs) = &theirs {
            details.push(phase_line(Kind::Apache, theirs));
        }
    }
    let rss = |kind: Kind| memory.iter().find(|(k, _)| *k == kind).map(|(_, m)| m);
    if let Some(ours) = rss(Kind::ZkBin) {
        let theirs = rss(Kind::Apache);
        println!(
            "| RSS (MB) with {} znodes of {} B | {} | {} | {} | | | |",
            ours.node_count,
            s.value_size,
            ours.rss_kb / 1024,
            theirs.map_or("-".to_string(), |m| (m.rss_kb / 1024).to_string()),
            ratio(ours.rss_kb as f64, theirs.map(|m| m.rss_kb as f64)),
        );
    }
    println!();
    println!(
        "all rounds pooled ({} x {:?} per server and op):",
        rounds, s.duration
    );
    for line in details {
        println!("  {line}");
    }
}
