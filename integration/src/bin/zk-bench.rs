//! `zk-bench`: side-by-side measurements of zk-rs and Apache ZooKeeper 3.8.
//!
//! Every figure comes from one run on one machine, ours next to theirs, and
//! is printed with the ratio; nothing here is a pass/fail test.
//!
//! ```text
//! zk-bench restore [--nodes N] [--value-size BYTES] [--no-apache]
//! zk-bench load [--clients N] [--ops get,set,mixed,create] [--value-size BYTES]
//!               [--warmup SECONDS] [--duration SECONDS] [--rounds R]
//!               [--keys K] [--memory-nodes N] [--no-apache] [--cfg KEY=VALUE]...
//!               [--logs DIR] [--tls] [--no-zk-bin]
//! zk-bench memory [--memory-nodes N] [--value-size BYTES] [--no-apache] [--cfg KEY=VALUE]...
//! zk-bench ensemble [--nodes N] [--clients N] [--ops get,set,mixed] [--value-size BYTES]
//!                   [--warmup SECONDS] [--duration SECONDS] [--rounds R] [--keys K]
//!                   [--failovers F] [--no-apache] [--cfg KEY=VALUE]...
//! ```
//!
//! `load` drives the same closed-loop load against zk-bin (the release
//! build beside this tool, built if missing) and Apache ZooKeeper 3.8, one
//! server at a time, then fills each with `--memory-nodes` znodes (default
//! 1,000,000; 0 skips it) and reads its RSS; `memory` does only the latter.
//! Each `--cfg` adds a zoo.cfg line to both servers (e.g. `--cfg snapCount=1000000`);
//! `--logs DIR` keeps each server's log there. `--tls` drives both servers'
//! secure client ports (Apache through its Netty factory) through the same
//! rustls client; see `integration::bench::tls`. `--no-zk-bin` measures
//! Apache alone (to try a setting on it).
//! See `integration::bench` for how.
//!
//! `ensemble` does the same load (get, set, mixed by default) against a
//! 3-node zk-bin ensemble and a 3-node Apache one, the sessions spread over
//! the nodes, then times `--failovers` (default 5) kill -9s of each one's
//! leader until a writer's creates succeed again; see
//! `integration::bench::ensemble`.
//!
//! `restore` writes a data directory holding one snapshot of N znodes
//! (1,000 parents under /bench, N/1,000 children each, BYTES of data each),
//! then measures, each in a fresh process:
//! - zk-rs: `FileTxnSnapLog::restore` into a `ZKDatabase` (open the dir, pick
//!   the newest valid snapshot, load it, replay the log), its wall time and
//!   the process's peak RSS (VmHWM);
//! - Apache ZooKeeper 3.8 (Debian's packages, default JVM settings) started
//!   on a copy of the same directory: time from process start until `srvr`
//!   reports it serving, and the JVM's peak RSS at that moment.

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use integration::apache::{ApacheZk, ServerConfig};
use integration::bench::ensemble::EnsembleBenchOptions;
use integration::bench::{self, load::LoadSettings, load::Op, LoadOptions};
use integration::ports::{copy_dir_files, free_port, TempDir};
use zk_persistence::data_dir::VERSION_DIR;
use zk_persistence::data_tree::DataTree;
use zk_persistence::file_snap::{FileSnap, SessionMap};
use zk_persistence::file_txn_snap_log::FileTxnSnapLogOptions;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::ids;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A run takes minutes and loads the machine: asking for help, or
    // mistyping an option, must not start one.
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", usage());
        return;
    }
    if let Err(e) = check_options(&args) {
        eprintln!("zk-bench: {e}\n{}", usage());
        std::process::exit(2);
    }
    let result = match args.first().map(String::as_str) {
        Some("restore") => restore(&args[1..]),
        Some("restore-child") => restore_child(&args[1..]),
        Some("load") => load(&args[1..], true),
        Some("memory") => load(&args[1..], false),
        Some("ensemble") => ensemble(&args[1..]),
        _ => Err(usage()),
    };
    if let Err(e) = result {
        eprintln!("zk-bench: {e}");
        std::process::exit(2);
    }
}

fn usage() -> String {
    "usage: zk-bench restore [--nodes N] [--value-size BYTES] [--no-apache]\n\
     \x20      zk-bench load [--clients N] [--ops get,set,mixed,create] [--value-size BYTES]\n\
     \x20                    [--warmup SECONDS] [--duration SECONDS] [--rounds R] [--keys K]\n\
     \x20                    [--memory-nodes N] [--no-apache] [--cfg KEY=VALUE]... [--logs DIR] [--tls] [--no-zk-bin]\n\
     \x20      zk-bench memory [--memory-nodes N] [--value-size BYTES] [--no-apache] [--cfg KEY=VALUE]...\n\
     \x20      zk-bench ensemble [--nodes N] [--clients N] [--ops get,set,mixed] [--value-size BYTES]\n\
     \x20                        [--warmup SECONDS] [--duration SECONDS] [--rounds R] [--keys K]\n\
     \x20                        [--failovers F] [--no-apache] [--cfg KEY=VALUE]..."
        .to_string()
}

/// Options that take a value, and bare flags (any subcommand's).
const VALUED: &[&str] = &[
    "--cfg",
    "--clients",
    "--duration",
    "--failovers",
    "--keys",
    "--logs",
    "--memory-nodes",
    "--nodes",
    "--ops",
    "--rounds",
    "--value-size",
    "--warmup",
];
const FLAGS: &[&str] = &["--no-apache", "--no-zk-bin", "--tls"];

/// Refuses an option no subcommand knows, or a valued one without its value.
fn check_options(args: &[String]) -> Result<(), String> {
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if VALUED.contains(&a.as_str()) {
            if rest.next().is_none() {
                return Err(format!("{a} needs a value"));
            }
        } else if a.starts_with("--") && !FLAGS.contains(&a.as_str()) {
            return Err(format!("unknown option {a}"));
        }
    }
    Ok(())
}

/// `--name value` pairs and bare flags.
struct Opts<'a>(&'a [String]);

impl<'a> Opts<'a> {
    fn num(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.0.iter().position(|a| a == name) {
            None => Ok(default),
            Some(i) => self
                .0
                .get(i + 1)
                .and_then(|v| v.replace('_', "").parse().ok())
                .ok_or_else(|| format!("{name} needs a number\n{}", usage())),
        }
    }

    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.texts(name).next()
    }

    /// The values of every `name VALUE` pair, for options that repeat.
    fn texts<'s>(&self, name: &'s str) -> impl Iterator<Item = &'a str> + 's
    where
        'a: 's,
    {
        self.0
            .windows(2)
            .filter(move |w| w[0] == name)
            .map(|w| w[1].as_str())
    }
}

/// `--ops` (or `default`).
fn ops(opts: &Opts, default: &[Op]) -> Result<Vec<Op>, String> {
    match opts.text("--ops") {
        None => Ok(default.to_vec()),
        Some(list) => list
            .split(',')
            .map(|name| {
                Op::parse(name.trim())
                    .ok_or_else(|| format!("unknown op {name:?} (get, set, create, mixed)"))
            })
            .collect(),
    }
}

/// The options every load phase shares.
fn load_settings(opts: &Opts) -> Result<LoadSettings, String> {
    Ok(LoadSettings {
        clients: opts.num("--clients", 32)?.max(1) as usize,
        value_size: opts.num("--value-size", 100)? as usize,
        warmup: Duration::from_secs(opts.num("--warmup", 5)?),
        duration: Duration::from_secs(opts.num("--duration", 10)?.max(1)),
        keys: opts.num("--keys", 1000)?.max(1) as usize,
    })
}

/// Every `--cfg key=value`.
fn extra_cfg(opts: &Opts) -> Result<Vec<(String, String)>, String> {
    opts.texts("--cfg")
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| format!("--cfg needs key=value, got {kv:?}"))
        })
        .collect()
}

/// `ensemble`: see the module docs.
fn ensemble(args: &[String]) -> Result<(), String> {
    let opts = Opts(args);
    bench::ensemble::run(&EnsembleBenchOptions {
        settings: load_settings(&opts)?,
        ops: ops(&opts, &[Op::Get, Op::Set, Op::Mixed])?,
        rounds: opts.num("--rounds", 2)? as usize,
        failovers: opts.num("--failovers", 5)? as usize,
        nodes: opts.num("--nodes", 3)?.max(1) as usize,
        apache: !opts.flag("--no-apache"),
        extra_cfg: extra_cfg(&opts)?,
    })
}

/// `load` (with `with_load`) and `memory` (without).
fn load(args: &[String], with_load: bool) -> Result<(), String> {
    let opts = Opts(args);
    bench::run(&LoadOptions {
        settings: load_settings(&opts)?,
        ops: ops(&opts, &[Op::Get, Op::Set, Op::Mixed, Op::Create])?,
        rounds: if with_load {
            opts.num("--rounds", 2)? as usize
        } else {
            0
        },
        memory_nodes: opts.num("--memory-nodes", 1_000_000)?,
        apache: !opts.flag("--no-apache"),
        extra_cfg: extra_cfg(&opts)?,
        log_dir: opts.text("--logs").map(std::path::PathBuf::from),
        tls: opts.flag("--tls"),
        zk_bin: !opts.flag("--no-zk-bin"),
    })
}

fn restore(args: &[String]) -> Result<(), String> {
    let opts = Opts(args);
    let nodes = opts.num("--nodes", 1_000_000)?;
    let value_size = opts.num("--value-size", 100)? as usize;
    let work = TempDir::new("zk-bench-restore").map_err(|e| e.to_string())?;
    let data = work.join("data");

    let started = Instant::now();
    let total = write_data_dir(&data, nodes, value_size).map_err(|e| e.to_string())?;
    println!(
        "wrote a snapshot of {total} znodes ({nodes} x {value_size} B) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let ours = measure_ours(&data)?;
    println!(
        "zk-rs:  restored {} znodes in {:.2} s, peak RSS {} MB",
        ours.nodes,
        ours.seconds,
        ours.peak_rss_kb / 1024
    );

    if opts.flag("--no-apache") {
        return Ok(());
    }
    let apache = match ApacheZk::find() {
        Ok(a) => a,
        Err(why) => {
            println!("apache: skipped: {why}");
            return Ok(());
        }
    };
    let theirs = measure_apache(&apache, &work, &data)?;
    println!(
        "apache: serving after {:.2} s, peak RSS {} MB",
        theirs.seconds,
        theirs.peak_rss_kb / 1024
    );
    println!();
    println!("| restore of {total} znodes, {value_size} B values | zk-rs | Apache ZooKeeper 3.8 | zk-rs / Apache |");
    println!("|---|---|---|---|");
    println!(
        "| time to restore (s) | {:.2} | {:.2} | {:.2} |",
        ours.seconds,
        theirs.seconds,
        ours.seconds / theirs.seconds
    );
    println!(
        "| peak RSS (MB) | {} | {} | {:.2} |",
        ours.peak_rss_kb / 1024,
        theirs.peak_rss_kb / 1024,
        ours.peak_rss_kb as f64 / theirs.peak_rss_kb as f64
    );
    Ok(())
}

/// Builds the tree in memory and saves it as one snapshot; returns the node
/// count including the built-in nodes.
fn write_data_dir(dir: &Path, nodes: u64, value_size: usize) -> io::Result<u64> {
    let mut tree = DataTree::new();
    let acl = ids::open_acl_unsafe();
    let value = vec![b'v'; value_size];
    let mut zxid = 0i64;
    let mut changes = Vec::new();
    let mut create = |tree: &mut DataTree, path: &str, data: &[u8], zxid: i64| {
        changes.clear();
        tree.create_node(
            path,
            Some(data),
            &acl,
            0,
            -1,
            zxid,
            1_700_000_000_000,
            &mut changes,
        )
        .map_err(|code| io::Error::other(format!("create {path}: {code:?}")))
    };
    zxid += 1;
    create(&mut tree, "/bench", b"", zxid)?;
    let parents = nodes.div_ceil(1000).max(1);
    let per_parent = nodes.div_ceil(parents);
    let mut made = 0;
    for p in 0..parents {
        zxid += 1;
        let parent = format!("/bench/p{p:04}");
        create(&mut tree, &parent, b"", zxid)?;
        for c in 0..per_parent {
            if made == nodes {
                break;
            }
            zxid += 1;
            create(&mut tree, &format!("{parent}/n{c:04}"), &value, zxid)?;
            made += 1;
        }
    }
    tree.set_last_processed_zxid(zxid);
    // Only a snapshot: the bench writes no txn log.
    let snap_dir = dir.join(VERSION_DIR);
    std::fs::create_dir_all(&snap_dir)?;
    FileSnap::new(&snap_dir).serialize(&tree, &SessionMap::new(), zxid, true)?;
    Ok(tree.node_count() as u64)
}

struct Measured {
    seconds: f64,
    peak_rss_kb: u64,
    nodes: u64,
}

/// Runs the restore in a child process so that its peak RSS is its own.
fn measure_ours(data: &Path) -> Result<Measured, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .arg("restore-child")
        .arg(data)
        .output()
        .map_err(|e| format!("cannot run the restore child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "restore child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let parse = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("unexpected restore child output: {text}"))
    };
    Ok(Measured {
        seconds: parse(0)?,
        nodes: parse(1)? as u64,
        peak_rss_kb: parse(2)? as u64,
    })
}

/// The child side: restore, then print "seconds nodes peak_rss_kb".
fn restore_child(args: &[String]) -> Result<(), String> {
    let dir = Path::new(args.first().ok_or_else(usage)?);
    let started = Instant::now();
    let mut db: ZKDatabase<DataTree> =
        ZKDatabase::open(dir, dir, FileTxnSnapLogOptions::default()).map_err(|e| e.to_string())?;
    db.load_database().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let nodes = db.data_tree().node_count();
    println!("{seconds} {nodes} {}", peak_rss_kb(std::process::id())?);
    Ok(())
}

fn measure_apache(apache: &ApacheZk, work: &TempDir, data: &Path) -> Result<Measured, String> {
    let apache_data = work.join("apache-data");
    copy_dir_files(data, &apache_data).map_err(|e| e.to_string())?;
    let port = free_port().map_err(|e| e.to_string())?;
    let mut config = ServerConfig::new(work.path(), &apache_data, port);
    // The reference figures are for the JVM's default heap, as an operator
    // would run it.
    config.max_heap = None;
    config.start_timeout = Duration::from_secs(300);
    let started = Instant::now();
    let server = apache.start(&config)?;
    let seconds = started.elapsed().as_secs_f64();
    let pid = server.pid().ok_or("the Apache server is not running")?;
    let peak_rss_kb = peak_rss_kb(pid)?;
    let srvr = server.four_letter("srvr").map_err(|e| e.to_string())?;
    let nodes = srvr
        .lines()
        .find_map(|l| l.strip_prefix("Node count: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok(Measured {
        seconds,
        peak_rss_kb,
        nodes,
    })
}

/// VmHWM, the peak resident set size, of a process, in KB.
fn peak_rss_kb(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmHWM in /proc/{pid}/status"))
}
