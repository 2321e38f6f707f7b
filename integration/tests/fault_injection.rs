//! Fault injection (project issue 10, deliverable 3).
//!
//! `fault_injection_keeps_acknowledged_writes_and_linearizable_registers`
//! runs, for each configuration, an ensemble whose nodes listen on their
//! own loopback addresses (127.0.0.11, .12, ...) and run as their own Unix
//! users (`zkfault1`, ...), while client sessions on every node run four
//! workloads (CAS registers, sequential ids, a grow-only set, ephemerals)
//! and a seeded schedule injects one fault at a time: partitions (a
//! random minority, the leader isolated, on five nodes a majorities ring)
//! with nftables, SIGSTOP longer than syncLimit, kill -9 and restart, and
//! kill -9 with the newest txn log cut inside its last records. At the end
//! it heals everything and checks: each register's writes+CAS, and its
//! sync+reads, linearizable (a WGL-style search; unknown outcomes may or
//! may not have applied); plain reads never going back within a session;
//! every acknowledged set element and sequential id present, no id
//! acknowledged twice, no create made twice; ephemerals gone once their
//! sessions ended, and a live session's ephemeral on every node; equal
//! zxids and equal trees (paths, data, every stat field, ACLs) node by
//! node. Digests are not compared: both implementations report them only
//! through the admin server's `hash` command, which these ensembles run
//! without (and the harness's Apache class path has no Jetty).
//!
//! Environment:
//! - `ZK_FAULT_SEED`: the seed of every random choice (default: from the
//!   clock); printed first as `seed N`;
//! - `ZK_FAULT_SECS`: seconds of faults per configuration (default 30);
//! - `ZK_FAULT_CONFIGS`: comma-separated configurations, one letter per
//!   node in myid order, `o` a zk-bin node and `j` an Apache ZooKeeper 3.8
//!   node (default `ooo`; mixed runs meet Apache-side failures often
//!   enough that CI keeps to zk-bin nodes, see README's Reliability
//!   section; the long run is `ooo,ooooo,jjo,joo,jjj`).
//!
//! A failure prints the seed and the command that reruns it. Without root,
//! nftables or the users it prints `skipped: ...` and passes; a
//! configuration with Apache nodes is skipped where Apache is missing.
//!
//! `partition_layer_cuts_links_by_socket_owner` checks the nftables layer
//! itself with two probe processes run as two node users.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration::ensemble::{can_run, Ensemble, EnsembleConfig, EnsembleError, NodeKind, RunAs};
use integration::fault::net::{self, Net, NetNode};
use integration::fault::rng::Rng;
use integration::fault::{check, nemesis, signatures, users, workload};

/// A probe process and what it printed: its first line, and how many
/// `tick` lines came since.
struct Probe {
    child: Child,
    first: Arc<Mutex<Option<String>>>,
    ticks: Arc<AtomicUsize>,
}

impl Probe {
    fn spawn(user: RunAs, args: &[&str]) -> Probe {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zk-fault-probe"))
            .args(args)
            .uid(user.uid)
            .gid(user.gid)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start zk-fault-probe");
        let out = child.stdout.take().expect("piped");
        let first = Arc::new(Mutex::new(None));
        let ticks = Arc::new(AtomicUsize::new(0));
        let (f, t) = (first.clone(), ticks.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut first = f.lock().unwrap();
                if first.is_none() {
                    *first = Some(line);
                } else if line == "tick" {
                    t.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Probe {
            child,
            first,
            ticks,
        }
    }

    /// Waits (bounded) for the first line.
    fn first_line(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(l) = self.first.lock().unwrap().clone() {
                return l;
            }
            assert!(Instant::now() < deadline, "the probe printed nothing");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn ticks(&self) -> usize {
        self.ticks.load(Ordering::SeqCst)
    }

    /// Waits until `more` further ticks arrive, or `timeout`; whether they did.
    fn gets_ticks(&self, more: usize, timeout: Duration) -> bool {
        let start = self.ticks();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.ticks() >= start + more {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the test process (root) can read a tick from `addr`.
fn root_reads_tick(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).is_ok() && &buf == b"tick\n"
}

/// The partition layer or users this machine lacks, for `skipped: ...`.
fn fault_prerequisites(n: usize) -> Result<Vec<RunAs>, String> {
    net::available()?;
    users::ensure_users(n)
}

#[test]
fn partition_layer_cuts_links_by_socket_owner() {
    let users = match fault_prerequisites(2) {
        Ok(u) => u,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let ips = [Ipv4Addr::new(127, 0, 0, 11), Ipv4Addr::new(127, 0, 0, 12)];
    let nodes: Vec<NetNode> = (0..2)
        .map(|i| NetNode {
            ip: ips[i],
            uid: users[i].uid,
        })
        .collect();
    let mut net = Net::new(nodes).expect("nft table");
    let listen = |i: usize| {
        let p = Probe::spawn(users[i], &["listen", &format!("{}:0", ips[i])]);
        let line = p.first_line();
        let port: u16 = line
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("listener {i}: {line}"));
        (p, SocketAddr::from((ips[i], port)))
    };
    let (_la, addr_a) = listen(0);
    let (_lb, addr_b) = listen(1);
    let connect =
        |from: usize, to: SocketAddr| Probe::spawn(users[from], &["connect", &to.to_string()]);
    // Connections opened before the cut, one each way.
    let a_to_b = connect(0, addr_b);
    assert_eq!(a_to_b.first_line(), "connected");
    let b_to_a = connect(1, addr_a);
    assert_eq!(b_to_a.first_line(), "connected");
    let wait = Duration::from_secs(5);
    assert!(a_to_b.gets_ticks(3, wait) && b_to_a.gets_ticks(3, wait));

    net.cut(0, 1).unwrap();
    // New connections either way fail.
    let refused = connect(0, addr_b);
    assert!(refused.first_line().starts_with("failed"), "A reached B");
    let refused = connect(1, addr_a);
    assert!(refused.first_line().starts_with("failed"), "B reached A");
    // The server's packets on connections opened before the cut (they go
    // to 127.0.0.1, so only the connection mark can stop them) stop: past
    // what was in flight at the cut, no tick arrives. Without that rule the
    // reader's ACKs would still be dropped, but the server, sending each
    // tick at once, would get a congestion window's worth (10 or more)
    // through in the next half second.
    std::thread::sleep(Duration::from_millis(100));
    let quiet = Duration::from_millis(1200);
    assert!(
        !a_to_b.gets_ticks(1, quiet),
        "B's packets to A still arrive"
    );
    assert!(
        !b_to_a.gets_ticks(1, quiet),
        "A's packets to B still arrive"
    );
    // ... and it is the mark rules that stop them (the server's
    // retransmissions at least), not only the reader's dropped ACKs.
    let (ua, ub) = (users[0].uid, users[1].uid);
    let drops = (net.mark_drops(ub, ua), net.mark_drops(ua, ub));
    assert!(
        matches!(drops, (Some(x), Some(y)) if x > 0 && y > 0),
        "the connection-mark rules dropped {drops:?} packets"
    );
    // The test's own (root) connections are untouched.
    assert!(root_reads_tick(addr_a) && root_reads_tick(addr_b));

    net.heal_all().unwrap();
    // A new connection gets through once healed. Each probe gives its
    // connect 1 s, which a SYN dropped around the heal (or a busy CI
    // machine) can use up, so a few tries are allowed within 10 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    let healed = loop {
        let line = connect(0, addr_b).first_line();
        if line == "connected" || Instant::now() > deadline {
            break line;
        }
    };
    assert_eq!(healed, "connected");
    // TCP retransmits what was dropped: the old connections resume.
    let wait = Duration::from_secs(20);
    assert!(a_to_b.gets_ticks(3, wait), "A-to-B did not resume");
    assert!(b_to_a.gets_ticks(3, wait), "B-to-A did not resume");

    // Isolating one node cuts the same link.
    net.isolate(1).unwrap();
    assert!(connect(0, addr_b).first_line().starts_with("failed"));
    net.heal_all().unwrap();
    let table = net.table().to_string();
    drop(net);
    let tables = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&tables.stdout).contains(&table),
        "table {table} left behind"
    );
}

const TICK_MS: u32 = 500;
const SYNC_LIMIT: u32 = 10;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn kinds_of(config: &str) -> Result<Vec<NodeKind>, String> {
    config
        .chars()
        .map(|c| match c {
            'o' => Ok(NodeKind::ZkBin),
            'j' => Ok(NodeKind::Apache),
            _ => Err(format!(
                "configuration {config:?}: {c:?} is neither o nor j"
            )),
        })
        .collect()
}

/// A number fixed by the configuration's letters, so that rerunning one
/// configuration alone with the same seed makes the same choices.
fn config_salt(config: &str) -> u64 {
    config.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn fault_injection_keeps_acknowledged_writes_and_linearizable_registers() {
    let seed: u64 = env_or(
        "ZK_FAULT_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    );
    println!("seed {seed}");
    let secs: u64 = env_or("ZK_FAULT_SECS", 30);
    let configs: String = env_or("ZK_FAULT_CONFIGS", "ooo".to_string());
    let configs: Vec<&str> = configs
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let most = configs.iter().map(|c| c.len()).max().unwrap_or(0);
    let users = match fault_prerequisites(most) {
        Ok(u) => u,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let mut failed = Vec::new();
    for config in &configs {
        let kinds = kinds_of(config).unwrap();
        match can_run(&kinds) {
            Ok(()) => {}
            Err(EnsembleError::Skipped(why)) => {
                println!("[{config}] skipped: {why}");
                continue;
            }
            Err(EnsembleError::Failed(why)) => panic!("{why}"),
        }
        let rng = Rng::new(seed).fork(config_salt(config));
        if let Err(why) = run_config(config, &kinds, &users, rng, secs) {
            println!("[{config}] FAILED:\n{why}");
            failed.push(format!("[{config}] {why}"));
        }
    }
    if !failed.is_empty() {
        panic!(
            "seed {seed}: {} configuration(s) failed:\n{}\nrerun: ZK_FAULT_SEED={seed} ZK_FAULT_SECS={secs} ZK_FAULT_CONFIGS={} \
             cargo test -p integration --test fault_injection -- --nocapture",
            failed.len(),
            failed.join("\n"),
            configs.join(",")
        );
    }
}

/// One configuration: start, load, faults, heal, checks. Errors carry the
/// fault log and, with Apache nodes, the known Apache signatures found.
fn run_config(
    config: &str,
    kinds: &[NodeKind],
    users: &[RunAs],
    mut rng: Rng,
    secs: u64,
) -> Result<(), String> {
    let n = kinds.len();
    let ips: Vec<Ipv4Addr> = (0..n)
        .map(|i| Ipv4Addr::new(127, 0, 0, 11 + i as u8))
        .collect();
    let mut cfg = EnsembleConfig::new(kinds);
    cfg.tick_time_ms = TICK_MS;
    // Both read zoo.cfg as Java properties: the last syncLimit wins.
    cfg.extra_cfg = vec![
        ("syncLimit".into(), SYNC_LIMIT.to_string()),
        ("initLimit".into(), "20".into()),
    ];
    cfg.node_ips = ips.clone();
    cfg.node_users = users[..n].to_vec();
    let mut e = Ensemble::new(cfg).map_err(|e| e.to_string())?;
    let nodes = (0..n)
        .map(|i| NetNode {
            ip: ips[i],
            uid: users[i].uid,
        })
        .collect();
    let mut net = Net::new(nodes)?;
    let t0 = Instant::now();
    e.start_all()?;
    let leader = e.wait_serving(Duration::from_secs(120))?;
    println!(
        "[{config}] serving, leader node {}, {:?} after start",
        leader + 1,
        t0.elapsed()
    );
    // Enough registers that the groups (a few hundred ops a second at
    // most here) do not run out before the faults end.
    let regs_per_group = (secs as usize * 4 + 20).min(2000);
    let shared = workload::Shared::new(regs_per_group);
    let setup_cs = e.connect_string(leader);
    e.block_on(async {
        let c = integration::ensemble::connect(&setup_cs, Duration::from_secs(15)).await?;
        workload::setup(&c, shared.register_count()).await
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let conns: Vec<String> = (0..n).map(|i| e.connect_string(i)).collect();
    let tasks = workload::spawn(&rt, &shared, &conns, &e.connect_string_all(), &rng);
    let pause_past = Duration::from_millis(u64::from(TICK_MS * SYNC_LIMIT));
    let until = Instant::now() + Duration::from_secs(secs);
    let outcome = nemesis::run(&mut e, &mut net, &mut rng, until, pause_past, t0);
    let (faults, fault_error) = match outcome {
        Ok(log) => (log, None),
        Err((why, log)) => (log, Some(why)),
    };
    for line in &faults {
        println!("[{config}] {line}");
    }
    let result = match fault_error {
        Some(why) => Err(why),
        None => finish(&mut e, &mut net, &shared, &rt, tasks, config),
    };
    shared.stop.store(true, Ordering::SeqCst);
    let apache = signatures::scan_ensemble(&e);
    for s in &apache {
        println!("[{config}] Apache signature: {s}");
    }
    result.map_err(|why| {
        let blame = if apache.is_empty() {
            String::new()
        } else {
            format!(
                "\nknown Apache 3.8 signatures in this run:\n  {}",
                apache.join("\n  ")
            )
        };
        format!(
            "{why}\nfaults:\n  {}{blame}\n{}",
            faults.join("\n  "),
            e.describe()
        )
    })
}

/// Heals, stops the workload and runs every check; `Err` lists failures.
fn finish(
    e: &mut Ensemble,
    net: &mut Net,
    shared: &Arc<workload::Shared>,
    rt: &tokio::runtime::Runtime,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    config: &str,
) -> Result<(), String> {
    net.heal_all()?;
    e.start_all()?;
    e.wait_serving(nemesis::RECOVERY)?;
    shared.stop.store(true, Ordering::SeqCst);
    // Each op is bounded by workload::OP_TIMEOUT, a session by its connect.
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await
    })
    .map_err(|_| "the workload did not stop within 60 s".to_string())?;
    let leader = e.wait_serving(nemesis::RECOVERY)?;
    let mut f = check::Findings::default();
    f.failures
        .extend(shared.violations.lock().unwrap().iter().cloned());
    check::final_reads(e, shared, leader)?;
    check::registers(shared, &mut f);
    if let Err(why) = check::ephemerals_gone(e, Duration::from_secs(60)) {
        f.failures.push(why);
    }
    if let Err(why) = check::ephemeral_lifecycle(e, Duration::from_secs(60)) {
        f.failures.push(why);
    }
    match e.wait_same_zxid(Duration::from_secs(60)) {
        Ok(z) => f.notes.push(format!("every node at zxid 0x{z:x}")),
        Err(why) => f.failures.push(why),
    }
    let trees = check::trees(e)?;
    check::trees_equal(e, &trees, &mut f);
    check::acknowledged(shared, &trees[0], &mut f);
    for note in &f.notes {
        println!("[{config}] {note}");
    }
    if f.failures.is_empty() {
        println!("[{config}] ok");
        Ok(())
    } else {
        Err(f.failures.join("\n"))
    }
}
