//! Replicated ensembles on loopback: N nodes, each Apache ZooKeeper 3.8 or
//! `zk-bin`, voting participants or observers, started, stopped and killed
//! one at a time, so a test (or `zk-bench`) can elect, fail over, sync and
//! migrate them and watch what clients see.
//!
//! ## Shape
//!
//! - [`EnsembleConfig`] names each node's [`NodeKind`] (participants
//!   first, then observers) and the zoo.cfg settings they share.
//! - [`Ensemble::new`] picks free loopback ports (client, quorum, election
//!   per node) and a dataDir per node, but starts nothing. Node `i` (0-based)
//!   has `myid` `i + 1`. It fails with [`EnsembleError::Skipped`] when the
//!   machine cannot run the ensemble: Java or Debian's ZooKeeper missing for
//!   an Apache node, or a `zk-bin` built without replicated mode (a check
//!   kept from before zk-quorum, done once per process by
//!   [`zk_bin_runs_replicated`]).
//! - Every node gets the same zoo.cfg text (the one [`ServerConfig::zoo_cfg`]
//!   writes for Apache), plus `peerType=observer` for an observer, so a
//!   mixed ensemble differs only in the binary that reads it.
//! - [`Ensemble::start`], [`Ensemble::stop`] (SIGTERM), [`Ensemble::kill_9`],
//!   [`Ensemble::freeze`]/[`Ensemble::thaw`] (SIGSTOP/SIGCONT),
//!   [`Ensemble::restart`] and [`Ensemble::replace`] (same dataDir, other
//!   implementation) act on one node; each start opens a fresh log file
//!   (`node-N/<kind>-runK.log`) so log checks see only the current run.
//! - [`Ensemble::mode`] asks `srvr`; [`Ensemble::wait_for_leader`] polls
//!   every running node until one says `Mode: leader` and reports how long
//!   after the last start that was; [`Ensemble::wait_serving`] waits until
//!   every running node serves in its role.
//! - [`SteadyWriter`] is a closed-loop writer on its own thread that keeps
//!   the paths of acknowledged creates and the longest stretch without one
//!   (time without a leader, as a client sees it); [`Ensemble::check_acked`]
//!   verifies them on every node after `sync()`.
//! - [`SyncKind`] reads how a learner was brought up to date (DIFF, SNAP or
//!   TRUNC) from its log; [`Ensemble::leader_sync_lines`] shows the
//!   leader's side. Both 3.8 and zk-quorum log the same sentences.
//!
//! Ensembles in one test process run one at a time (a process-wide lock
//! held by each [`Ensemble`]): several JVMs per test on a 2-core machine
//! are already a crowd. A program that wants two alive at once (a
//! benchmark of a zk-bin ensemble beside an Apache one) clears
//! [`EnsembleConfig::serialize`].
//!
//! ## Reuse by a benchmark
//!
//! ```text
//! let mut cfg = EnsembleConfig::uniform(NodeKind::ZkBin, 3);
//! cfg.serialize = false;
//! let mut e = Ensemble::new(cfg)?;            // EnsembleError::Skipped => say why
//! e.start_all()?;
//! let leader = e.wait_serving(timeout)?;
//! let cs = e.connect_string_all();            // load clients connect here
//! let w = SteadyWriter::start_paced(&cs, "/failover", Duration::ZERO);
//! w.wait_for_more(1000, timeout)?;
//! w.take_longest_gap();                       // forget the warm-up
//! e.kill_9(leader)?;
//! w.wait_for_more(1000, timeout)?;            // writes succeed again
//! let failover = w.take_longest_gap();        // kill -9 to the next ack
//! ```
//!
//! ## Files
//!
//! - this file: nodes, their processes and `srvr` modes;
//! - `ensemble/support.rs`: whether the machine can run a kind of node;
//! - `ensemble/clients.rs`: sessions and the checks run through them;
//! - `ensemble/writer.rs`: [`SteadyWriter`];
//! - `ensemble/logs.rs`: per-run logs and [`SyncKind`].

mod clients;
mod logs;
mod reconfig;
mod support;
mod writer;

pub use clients::{bounded, connect};
pub use logs::SyncKind;
pub use support::{can_run, can_run_or_skip, zk_bin_runs_replicated};
pub use writer::{SteadyWriter, WriterReport};

use logs::{read_log, settle_log, tail};

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::apache::{four_letter, ApacheServer, ApacheZk, ServerConfig};
use crate::ports::{free_port_except, TempDir};
use crate::zk_bin::{send_signal, ZkBinServer};

/// What a test prints when `zk-bin` refuses a replicated config.
pub const ZK_BIN_NOT_REPLICATED: &str = "zk-bin does not run replicated configs yet";

/// Which implementation a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// Apache ZooKeeper 3.8 from Debian's packages.
    Apache,
    /// This workspace's `zk-bin`.
    ZkBin,
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeKind::Apache => "apache",
            NodeKind::ZkBin => "zk-bin",
        })
    }
}

/// A node's role as `srvr` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `Mode: leader`.
    Leader,
    /// `Mode: follower`.
    Follower,
    /// `Mode: observer`.
    Observer,
    /// `Mode: standalone` (a single server, not replicated).
    Standalone,
    /// Not answering, or answering that it does not serve (looking, syncing).
    NotServing,
}

/// The settings of a whole ensemble.
#[derive(Debug, Clone)]
pub struct EnsembleConfig {
    /// Voting members, in myid order (myid 1 first).
    pub participants: Vec<NodeKind>,
    /// Observers, numbered after the participants.
    pub observers: Vec<NodeKind>,
    /// `tickTime` in ms, the same for every node.
    pub tick_time_ms: u32,
    /// `snapCount`: txns between snapshots, for every node.
    pub snap_count: u32,
    /// Further zoo.cfg lines for every node.
    pub extra_cfg: Vec<(String, String)>,
    /// `-Xmx` of each Apache JVM.
    pub apache_heap: String,
    /// Further `-D` options for Apache JVMs.
    pub apache_jvm_props: Vec<String>,
    /// Environment of each zk-bin process (e.g. `RUST_LOG`, `JVMFLAGS`).
    pub zk_bin_env: Vec<(String, String)>,
    /// The zk-bin executable to run (default: this workspace's, built
    /// without failpoints).
    pub zk_bin: Option<PathBuf>,
    /// Hold the process-wide lock so that ensembles run one at a time (the
    /// default; tests run on parallel threads). A program that keeps two
    /// ensembles alive at once, e.g. a benchmark comparing them side by
    /// side, sets it false: with it set, the second [`Ensemble::new`] on
    /// the same thread would wait for the first one forever.
    pub serialize: bool,
    /// Each node's own loopback address (myid order), for fault injection
    /// that cuts links by address; empty (the default) puts every node on
    /// 127.0.0.1.
    pub node_ips: Vec<Ipv4Addr>,
    /// The Unix user each node's process runs as (myid order), so that
    /// nftables can tell nodes' packets apart by socket owner; empty (the
    /// default) runs them as the test itself.
    pub node_users: Vec<RunAs>,
}

/// A Unix user (and group) to run a node's process as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// The user id the process runs as.
    pub uid: u32,
    /// The group id the process runs as.
    pub gid: u32,
}

impl EnsembleConfig {
    /// Participants of the given kinds, no observers, tickTime 1000 (so
    /// initLimit is 10 s and syncLimit 5 s), the Apache JVMs at 256 MB.
    pub fn new(participants: &[NodeKind]) -> EnsembleConfig {
        EnsembleConfig {
            participants: participants.to_vec(),
            observers: Vec::new(),
            tick_time_ms: 1000,
            snap_count: 100_000,
            extra_cfg: Vec::new(),
            apache_heap: "256m".to_string(),
            apache_jvm_props: Vec::new(),
            zk_bin_env: Vec::new(),
            zk_bin: None,
            serialize: true,
            node_ips: Vec::new(),
            node_users: Vec::new(),
        }
    }

    /// `n` participants of one kind.
    pub fn uniform(kind: NodeKind, n: usize) -> EnsembleConfig {
        Self::new(&vec![kind; n])
    }

    /// The same ensemble with `observers` (numbered after the participants) added.
    pub fn with_observers(mut self, observers: &[NodeKind]) -> EnsembleConfig {
        self.observers = observers.to_vec();
        self
    }

    fn kinds(&self) -> impl Iterator<Item = NodeKind> + '_ {
        self.participants.iter().chain(&self.observers).copied()
    }
}

/// Why an ensemble cannot be run.
#[derive(Debug, Clone)]
pub enum EnsembleError {
    /// This machine cannot run it (a test prints `skipped: <reason>`).
    Skipped(String),
    /// Something went wrong that a test should fail on.
    Failed(String),
}

impl std::fmt::Display for EnsembleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnsembleError::Skipped(why) => write!(f, "skipped: {why}"),
            EnsembleError::Failed(why) => f.write_str(why),
        }
    }
}

/// The process-wide lock that runs ensembles one at a time.
fn serial_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A test that panicked while holding it leaves nothing shared behind.
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

enum Process {
    Apache(ApacheServer),
    ZkBin(ZkBinServer),
}

impl Process {
    fn pid(&self) -> Option<u32> {
        match self {
            Process::Apache(s) => s.pid(),
            Process::ZkBin(s) => Some(s.pid()),
        }
    }
}

struct Node {
    sid: u64,
    ip: Ipv4Addr,
    run_as: Option<RunAs>,
    kind: NodeKind,
    observer: bool,
    client_port: u16,
    quorum_port: u16,
    election_port: u16,
    dir: PathBuf,
    data_dir: PathBuf,
    process: Option<Process>,
    /// SIGSTOPped: skipped by polls (it would only time them out).
    frozen: bool,
    /// How many times this node has been started.
    runs: u32,
    /// The log of the current (or last) run.
    log_path: Option<PathBuf>,
    /// Peers (by index) whose quorum address this node's zoo.cfg names
    /// differently from the peer's own: a proxy in front of it.
    quorum_routes: Vec<(usize, SocketAddr)>,
    /// zoo.cfg lines of this node only (its own key store, a setting that
    /// a rolling restart changes node by node), after the ensemble's.
    node_cfg: Vec<(String, String)>,
    /// `-Dkey=value` flags of this node alone (`set_node_jvm_props`).
    jvm_props: Vec<String>,
    /// In the ensemble's membership as the harness writes it into zoo.cfg:
    /// false for a node added by [`Ensemble::add_node`] until a reconfig
    /// adds it ([`Ensemble::set_member`]), and after one removes it.
    member: bool,
}

impl Node {
    fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, self.client_port))
    }
}

/// N nodes on 127.0.0.1; every process is killed when this is dropped.
pub struct Ensemble {
    nodes: Vec<Node>,
    config: EnsembleConfig,
    apache: Option<ApacheZk>,
    last_start: Instant,
    rt: tokio::runtime::Runtime,
    work: TempDir,
    // Declared last: released only after every process above is gone.
    _serial: Option<MutexGuard<'static, ()>>,
}

/// Bound on any one node's start or stop.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on a single client operation in the harness's checks.
/// The bound on one client operation in the harness.
pub const OP_TIMEOUT: Duration = Duration::from_secs(15);

impl Ensemble {
    /// Ports, directories and configs for `config`'s nodes; nothing runs yet.
    pub fn new(config: EnsembleConfig) -> Result<Ensemble, EnsembleError> {
        let kinds: Vec<NodeKind> = config.kinds().collect();
        if kinds.is_empty() {
            return Err(EnsembleError::Failed("an ensemble needs nodes".into()));
        }
        can_run(&kinds)?;
        for (what, len) in [
            ("node_ips", config.node_ips.len()),
            ("node_users", config.node_users.len()),
        ] {
            if len != 0 && len != kinds.len() {
                return Err(EnsembleError::Failed(format!(
                    "{what} names {len} nodes of {}",
                    kinds.len()
                )));
            }
        }
        let apache = None;
        let serial = config.serialize.then(serial_lock);
        let fail = |what: &str, e: std::io::Error| EnsembleError::Failed(format!("{what}: {e}"));
        let work = TempDir::new("zk-ensemble").map_err(|e| fail("temp dir", e))?;
        let mut used = Vec::new();
        let mut nodes = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let mut port = || -> Result<u16, EnsembleError> {
                let p = free_port_except(&used).map_err(|e| fail("free port", e))?;
                used.push(p);
                Ok(p)
            };
            let sid = i as u64 + 1;
            let dir = work.join(format!("node-{sid}"));
            let data_dir = dir.join("data");
            std::fs::create_dir_all(&data_dir).map_err(|e| fail("node dir", e))?;
            nodes.push(Node {
                sid,
                ip: config
                    .node_ips
                    .get(i)
                    .copied()
                    .unwrap_or(Ipv4Addr::LOCALHOST),
                run_as: config.node_users.get(i).copied(),
                kind,
                observer: i >= config.participants.len(),
                client_port: port()?,
                quorum_port: port()?,
                election_port: port()?,
                dir,
                data_dir,
                process: None,
                frozen: false,
                runs: 0,
                log_path: None,
                quorum_routes: Vec::new(),
                node_cfg: Vec::new(),
                jvm_props: Vec::new(),
                member: true,
            });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| fail("tokio runtime", e))?;
        Ok(Ensemble {
            nodes,
            config,
            apache,
            last_start: Instant::now(),
            rt,
            work,
            _serial: serial,
        })
    }

    /// [`Ensemble::new`] for a test: prints `skipped: ...` and gives
    /// `None` when the machine cannot run it, panics on any other failure.
    pub fn new_or_skip(config: EnsembleConfig) -> Option<Ensemble> {
        match Ensemble::new(config) {
            Ok(e) => Some(e),
            Err(EnsembleError::Skipped(why)) => {
                println!("skipped: {why}");
                None
            }
            Err(EnsembleError::Failed(why)) => panic!("cannot set up the ensemble: {why}"),
        }
    }

    /// Number of nodes, observers included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the ensemble has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node's `myid`.
    pub fn sid(&self, i: usize) -> u64 {
        self.nodes[i].sid
    }

    /// The implementation node `i` runs.
    pub fn kind(&self, i: usize) -> NodeKind {
        self.nodes[i].kind
    }

    /// Whether node `i` is an observer (else a voting participant).
    pub fn is_observer(&self, i: usize) -> bool {
        self.nodes[i].observer
    }

    /// Whether node `i`'s process is up (not stopped or killed; a frozen
    /// one counts as running).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].process.is_some()
    }

    /// Node `i`'s `dataDir`.
    pub fn data_dir(&self, i: usize) -> &Path {
        &self.nodes[i].data_dir
    }

    /// The scratch directory holding every node's directory.
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }

    /// Node `i`'s client address on loopback.
    pub fn client_addr(&self, i: usize) -> SocketAddr {
        self.nodes[i].addr()
    }

    /// `127.0.0.1:PORT` of node `i` alone.
    pub fn connect_string(&self, i: usize) -> String {
        self.nodes[i].addr().to_string()
    }

    /// Every node's client address, comma-separated, for a client that
    /// should fail over between them.
    pub fn connect_string_all(&self) -> String {
        let all: Vec<String> = self.nodes.iter().map(|n| n.addr().to_string()).collect();
        all.join(",")
    }

    /// The `server.N` values every member's zoo.cfg carries (the members:
    /// see [`Ensemble::set_member`]).
    pub fn server_lines(&self) -> Vec<(u64, String)> {
        self.nodes
            .iter()
            .filter(|n| n.member)
            .map(|n| {
                let role = if n.observer {
                    "observer"
                } else {
                    "participant"
                };
                (
                    n.sid,
                    format!("{}:{}:{}:{role}", n.ip, n.quorum_port, n.election_port),
                )
            })
            .collect()
    }

    /// Node `i`'s own quorum (Zab) address, where it listens when it leads.
    pub fn quorum_addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from((self.nodes[i].ip, self.nodes[i].quorum_port))
    }

    /// Node `i`'s election port.
    pub fn election_port(&self, i: usize) -> u16 {
        self.nodes[i].election_port
    }

    /// From its next start, node `i`'s zoo.cfg sets `key=value` (after the
    /// ensemble's `extra_cfg`, replacing a line of the same key there and
    /// any earlier value set here); e.g. its own key store, or
    /// `sslQuorum=true` for one node of a rolling restart.
    pub fn set_node_cfg(&mut self, i: usize, key: &str, value: &str) {
        let cfg = &mut self.nodes[i].node_cfg;
        cfg.retain(|(k, _)| k != key);
        cfg.push((key.to_string(), value.to_string()));
    }

    /// From its next start, node `i` runs with the JVM flags `props`
    /// (`-Dkey=value`), replacing earlier ones set here: an Apache node's
    /// JVM gets them after the ensemble's `apache_jvm_props`, a zk-bin node
    /// reads them from `SERVER_JVMFLAGS` as zkServer.sh would pass them;
    /// e.g. `-Djava.security.auth.login.config=FILE` for one node.
    pub fn set_node_jvm_props(&mut self, i: usize, props: &[&str]) {
        self.nodes[i].jvm_props = props.iter().map(|p| p.to_string()).collect();
    }

    /// Every port the nodes use or will use, so that a test picking one
    /// more (e.g. for a proxy) avoids them.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .flat_map(|n| [n.client_port, n.quorum_port, n.election_port])
            .collect()
    }

    /// From its next start, node `i`'s zoo.cfg names `quorum` as node
    /// `peer`'s quorum address (a proxy in front of it), keeping `peer`'s
    /// election port; `peer` itself and every other node are unchanged.
    pub fn route_quorum(&mut self, i: usize, peer: usize, quorum: SocketAddr) {
        let routes = &mut self.nodes[i].quorum_routes;
        routes.retain(|(p, _)| *p != peer);
        routes.push((peer, quorum));
    }

    /// The `server.N` values in node `i`'s zoo.cfg: [`Self::server_lines`]
    /// with its [`Self::route_quorum`] routes, and its own line when it is
    /// not a member (a node joining by reconfig lists the members and
    /// itself, as 3.8's docs say).
    pub fn server_lines_of(&self, i: usize) -> Vec<(u64, String)> {
        let mut lines = self.server_lines();
        if !self.nodes[i].member {
            let n = &self.nodes[i];
            let role = if n.observer {
                "observer"
            } else {
                "participant"
            };
            lines.push((
                n.sid,
                format!("{}:{}:{}:{role}", n.ip, n.quorum_port, n.election_port),
            ));
        }
        for &(peer, quorum) in &self.nodes[i].quorum_routes {
            let p = &self.nodes[peer];
            let role = if p.observer {
                "observer"
            } else {
                "participant"
            };
            if let Some(line) = lines.iter_mut().find(|(sid, _)| *sid == p.sid) {
                line.1 = format!(
                    "{}:{}:{}:{role}",
                    quorum.ip(),
                    quorum.port(),
                    p.election_port
                );
            }
        }
        lines
    }

    /// Node `i`'s config as Apache's [`ServerConfig`] (its zoo.cfg text is
    /// what zk-bin gets too).
    pub fn server_config(&self, i: usize) -> ServerConfig {
        let n = &self.nodes[i];
        let mut cfg = ServerConfig::new(&n.dir, &n.data_dir, n.client_port);
        cfg.tick_time_ms = self.config.tick_time_ms;
        cfg.snap_count = self.config.snap_count;
        cfg.extra_cfg = self.config.extra_cfg.clone();
        if n.observer {
            cfg.extra_cfg
                .push(("peerType".to_string(), "observer".to_string()));
        }
        for (key, value) in &n.node_cfg {
            cfg.extra_cfg.retain(|(k, _)| k != key);
            cfg.extra_cfg.push((key.clone(), value.clone()));
        }
        cfg.jvm_props = self.config.apache_jvm_props.clone();
        cfg.jvm_props.extend(n.jvm_props.iter().cloned());
        cfg.max_heap = Some(self.config.apache_heap.clone());
        cfg.servers = self.server_lines_of(i);
        // After its first start with reconfigEnabled, 3.8 (and zk-bin as
        // it) points zoo.cfg at its dynamic file: a restart must come back
        // in that membership, not the harness's.
        if let Some(dynamic) = reconfig::dynamic_config_file_of(&self.zoo_cfg_on_disk(i)) {
            cfg.servers.clear();
            cfg.extra_cfg
                .push(("dynamicConfigFile".to_string(), dynamic));
        }
        cfg.myid = Some(n.sid);
        cfg.client_address = n.ip.into();
        cfg.run_as = n.run_as.map(|u| (u.uid, u.gid));
        cfg
    }

    /// Starts every node that is not running, in myid order.
    pub fn start_all(&mut self) -> Result<(), String> {
        for i in 0..self.nodes.len() {
            if !self.is_running(i) {
                self.start(i)?;
            }
        }
        Ok(())
    }

    /// Starts node `i` (it must not be running) without waiting for it to
    /// serve; the start time counts as the ensemble's last start.
    pub fn start(&mut self, i: usize) -> Result<(), String> {
        self.start_with_env(i, &[])
    }

    /// [`Ensemble::start`] with further environment variables for this
    /// run of a zk-bin node only (after the config's `zk_bin_env`), e.g.
    /// `FAILPOINTS` for one node.
    pub fn start_with_env(&mut self, i: usize, extra_env: &[(&str, &str)]) -> Result<(), String> {
        if self.nodes[i].process.is_some() {
            return Err(format!("node {} is already running", self.nodes[i].sid));
        }
        let cfg = self.server_config(i);
        let node_flags = self.nodes[i].jvm_props.join(" ");
        let env: Vec<(&str, &str)> = self
            .config
            .zk_bin_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain((!node_flags.is_empty()).then_some(("SERVER_JVMFLAGS", node_flags.as_str())))
            .chain(extra_env.iter().copied())
            .collect();
        let bin = match &self.config.zk_bin {
            Some(bin) => bin.clone(),
            None if self.nodes[i].kind == NodeKind::ZkBin => crate::zk_bin::zk_bin()?,
            None => PathBuf::new(),
        };
        let node = &mut self.nodes[i];
        node.runs += 1;
        if let Some(user) = node.run_as {
            // The node's directory and what earlier runs (or a test that
            // truncated a log) left in it must be its user's to write; the
            // files written below as root are only read by the node.
            std::fs::create_dir_all(&node.data_dir)
                .map_err(|e| format!("cannot create {}: {e}", node.data_dir.display()))?;
            chown_tree(&node.dir, user)?;
        }
        let log_path = node.dir.join(format!("{}-run{}.log", node.kind, node.runs));
        let process = match node.kind {
            NodeKind::Apache => {
                if self.apache.is_none() {
                    self.apache =
                        Some(ApacheZk::find().map_err(|e| format!("Apache ZooKeeper: {e}"))?);
                }
                let apache = self.apache.as_ref().expect("found above");
                // ApacheZk logs to one file per client port, truncated at
                // each start: link it under this run's name while it runs
                // (`settle_log` moves it there once the JVM is gone).
                let server = apache.spawn(&cfg)?;
                let _ = std::fs::remove_file(&log_path);
                std::os::unix::fs::symlink(server.log_path(), &log_path)
                    .map_err(|e| format!("cannot link {}: {e}", log_path.display()))?;
                Process::Apache(server)
            }
            NodeKind::ZkBin => {
                std::fs::create_dir_all(&node.data_dir)
                    .map_err(|e| format!("cannot create {}: {e}", node.data_dir.display()))?;
                let myid = node.data_dir.join("myid");
                std::fs::write(&myid, format!("{}\n", node.sid))
                    .map_err(|e| format!("cannot write {}: {e}", myid.display()))?;
                let cfg_path = node.dir.join("zoo.cfg");
                std::fs::write(&cfg_path, cfg.zoo_cfg())
                    .map_err(|e| format!("cannot write {}: {e}", cfg_path.display()))?;
                Process::ZkBin(ZkBinServer::spawn_bin(
                    &bin,
                    &cfg_path,
                    node.addr(),
                    &log_path,
                    &env,
                    cfg.run_as,
                )?)
            }
        };
        node.process = Some(process);
        node.frozen = false;
        node.log_path = Some(log_path);
        self.last_start = Instant::now();
        Ok(())
    }

    /// Stops node `i` with SIGTERM (a clean shutdown) and waits for it.
    pub fn stop(&mut self, i: usize) -> Result<(), String> {
        let node = &mut self.nodes[i];
        let sid = node.sid;
        let process = node
            .process
            .take()
            .ok_or_else(|| format!("node {sid} is not running"))?;
        if node.frozen {
            if let Some(pid) = process.pid() {
                send_signal(pid, "CONT")?;
            }
            node.frozen = false;
        }
        let result = match process {
            Process::ZkBin(mut s) => s.terminate(PROCESS_TIMEOUT).map(|_| ()),
            Process::Apache(mut s) => {
                let pid = s.pid().ok_or_else(|| format!("node {sid} has no pid"))?;
                send_signal(pid, "TERM")?;
                let deadline = Instant::now() + PROCESS_TIMEOUT;
                while !has_exited(pid) {
                    if Instant::now() >= deadline {
                        let _ = s.kill();
                        return Err(format!(
                            "Apache node {sid} (pid {pid}) ignored SIGTERM for {PROCESS_TIMEOUT:?}; killed"
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                // Reaps the exited JVM (a signal to a zombie does nothing).
                s.kill().map(|_| ())
            }
        };
        settle_log(node);
        result
    }

    /// Waits until node `i` exits by itself (e.g. a failpoint aborted it),
    /// then reaps it as [`Ensemble::kill_9`] does.
    pub fn wait_exited(&mut self, i: usize, timeout: Duration) -> Result<(), String> {
        let sid = self.nodes[i].sid;
        let pid = self
            .pid(i)
            .ok_or_else(|| format!("node {sid} is not running"))?;
        let deadline = Instant::now() + timeout;
        while !has_exited(pid) {
            if Instant::now() >= deadline {
                return Err(format!(
                    "node {sid} (pid {pid}) still runs after {timeout:?}\n{}",
                    self.describe()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_9(i)
    }

    /// SIGKILL of node `i`, as a crash; waits until it is gone.
    pub fn kill_9(&mut self, i: usize) -> Result<(), String> {
        let node = &mut self.nodes[i];
        let process = node
            .process
            .take()
            .ok_or_else(|| format!("node {} is not running", node.sid))?;
        node.frozen = false;
        let result = match process {
            Process::ZkBin(mut s) => {
                s.kill_9();
                Ok(())
            }
            Process::Apache(mut s) => s.kill().map(|_| ()),
        };
        settle_log(node);
        result
    }

    /// SIGSTOP: the node keeps its sockets but neither reads nor writes,
    /// as a partitioned or hung server.
    pub fn freeze(&mut self, i: usize) -> Result<(), String> {
        let node = &mut self.nodes[i];
        let pid = node
            .process
            .as_ref()
            .and_then(Process::pid)
            .ok_or_else(|| format!("node {} is not running", node.sid))?;
        send_signal(pid, "STOP")?;
        node.frozen = true;
        Ok(())
    }

    /// SIGCONT after [`Ensemble::freeze`].
    pub fn thaw(&mut self, i: usize) -> Result<(), String> {
        let node = &mut self.nodes[i];
        let pid = node
            .process
            .as_ref()
            .and_then(Process::pid)
            .ok_or_else(|| format!("node {} is not running", node.sid))?;
        send_signal(pid, "CONT")?;
        node.frozen = false;
        Ok(())
    }

    /// SIGTERM then a fresh start on the same dataDir.
    pub fn restart(&mut self, i: usize) -> Result<(), String> {
        self.stop(i)?;
        self.start(i)
    }

    /// Stops node `i` and starts the other implementation `kind` on the
    /// same dataDir, ports and config: one step of a rolling migration.
    pub fn replace(&mut self, i: usize, kind: NodeKind) -> Result<(), String> {
        if self.is_running(i) {
            self.stop(i)?;
        }
        if kind == NodeKind::ZkBin && !zk_bin_runs_replicated()? {
            return Err(ZK_BIN_NOT_REPLICATED.to_string());
        }
        self.nodes[i].kind = kind;
        self.start(i)
    }

    /// The process id of node `i`, if it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].process.as_ref().and_then(Process::pid)
    }

    /// A four-letter word's answer from node `i`.
    pub fn four_letter(&self, i: usize, cmd: &str) -> Result<String, String> {
        four_letter(self.nodes[i].addr(), cmd, Duration::from_secs(2))
            .map_err(|e| format!("{cmd} to node {}: {e}", self.nodes[i].sid))
    }

    /// Node `i`'s role from `srvr` (`NotServing` when stopped or frozen).
    pub fn mode(&self, i: usize) -> Mode {
        let n = &self.nodes[i];
        if n.process.is_none() || n.frozen {
            return Mode::NotServing;
        }
        match four_letter(n.addr(), "srvr", Duration::from_secs(1)) {
            Ok(answer) => parse_mode(&answer),
            Err(_) => Mode::NotServing,
        }
    }

    /// The last zxid node `i` has applied (`srvr`'s `Zxid:`).
    pub fn zxid(&self, i: usize) -> Option<i64> {
        let answer = four_letter(self.nodes[i].addr(), "srvr", Duration::from_secs(2)).ok()?;
        let hex = answer
            .lines()
            .find_map(|l| l.strip_prefix("Zxid: 0x"))?
            .trim();
        i64::from_str_radix(hex, 16).ok()
    }

    /// Waits until every running, unfrozen node reports the same zxid
    /// (`srvr`), e.g. after pausing writes; returns it.
    pub fn wait_same_zxid(&self, timeout: Duration) -> Result<i64, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let zxids: Vec<Option<i64>> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].process.is_some() && !self.nodes[i].frozen)
                .map(|i| self.zxid(i))
                .collect();
            if let Some(Some(first)) = zxids.first() {
                if zxids.iter().all(|z| *z == Some(*first)) {
                    return Ok(*first);
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the nodes' zxids did not converge within {timeout:?}: {zxids:x?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node that currently says it leads, if exactly one does.
    pub fn leader(&self) -> Option<usize> {
        let leaders: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.mode(i) == Mode::Leader)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// Polls the running nodes until one says `Mode: leader`; returns it
    /// and the time since the last [`Ensemble::start`].
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<(usize, Duration), String> {
        let deadline = Instant::now() + timeout;
        loop {
            for i in 0..self.nodes.len() {
                if self.mode(i) == Mode::Leader {
                    return Ok((i, self.last_start.elapsed()));
                }
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                return Err(format!("no leader within {timeout:?}\n{}", self.describe()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until every running (unfrozen) node serves in its role: one
    /// leader, the other participants following, observers observing.
    /// Returns the leader.
    pub fn wait_serving(&self, timeout: Duration) -> Result<usize, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut leader = None;
            let mut leaders = 0;
            let mut all = true;
            for (i, n) in self.nodes.iter().enumerate() {
                if n.process.is_none() || n.frozen {
                    continue;
                }
                match (self.mode(i), n.observer) {
                    (Mode::Leader, false) => {
                        leader = Some(i);
                        leaders += 1;
                    }
                    (Mode::Follower, false) | (Mode::Observer, true) => {}
                    _ => all = false,
                }
            }
            if let (true, 1, Some(l)) = (all, leaders, leader) {
                return Ok(l);
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                return Err(format!(
                    "the ensemble did not serve within {timeout:?}\n{}",
                    self.describe()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Restarts node `bad` with `key=value` in its zoo.cfg (credentials the
    /// others must refuse), waits until node `refuser`'s log says
    /// `Refusing election connection from server <bad's sid> `, then
    /// watches `bad` not serving for `kept_for` while every node stays up.
    /// Returns the refusal line looked for.
    pub fn restart_kept_out(
        &mut self,
        bad: usize,
        refuser: usize,
        (key, value): (&str, &str),
        timeout: Duration,
        kept_for: Duration,
    ) -> Result<String, String> {
        self.stop(bad)?;
        self.set_node_cfg(bad, key, value);
        self.start(bad)?;
        let bad_sid = self.sid(bad);
        let refused = format!("Refusing election connection from server {bad_sid} ");
        let deadline = Instant::now() + timeout;
        while !self.log_text(refuser).contains(&refused) {
            if Instant::now() >= deadline {
                return Err(format!(
                    "node {} never refused node {bad_sid}:\n{}",
                    self.sid(refuser),
                    self.log_text(refuser)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let watch_until = Instant::now() + kept_for;
        while Instant::now() < watch_until {
            if self.mode(bad) != Mode::NotServing {
                return Err(format!(
                    "node {bad_sid} with {key}={value} serves\n{}",
                    self.describe()
                ));
            }
            self.check_alive()?;
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(refused.trim().to_string())
    }

    /// Fails when a node that should run has exited (naming it and its log).
    pub fn check_alive(&self) -> Result<(), String> {
        for n in &self.nodes {
            let Some(pid) = n.process.as_ref().and_then(Process::pid) else {
                continue;
            };
            if has_exited(pid) {
                return Err(format!(
                    "node {} ({}) exited unexpectedly; log {}:\n{}",
                    n.sid,
                    n.kind,
                    n.log_path
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    tail(&read_log(n.log_path.as_deref()), 40)
                ));
            }
        }
        Ok(())
    }

    /// Each node's kind, state and `srvr` mode, with the tail of its log:
    /// for a failure message.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let state = match (&n.process, n.frozen) {
                (None, _) => "stopped",
                (Some(_), true) => "frozen",
                (Some(_), false) => "running",
            };
            out.push_str(&format!(
                "--- node {} ({}{}, {state}, client {}, mode {:?}) log {}:\n{}\n",
                n.sid,
                n.kind,
                if n.observer { " observer" } else { "" },
                n.client_port,
                self.mode(i),
                n.log_path
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                tail(&read_log(n.log_path.as_deref()), 25)
            ));
        }
        out
    }
}

/// `srvr`'s `Mode:` line as a [`Mode`].
pub fn parse_mode(srvr: &str) -> Mode {
    match srvr
        .lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(str::trim)
    {
        Some("leader") => Mode::Leader,
        Some("follower") => Mode::Follower,
        Some("observer") => Mode::Observer,
        Some("standalone") => Mode::Standalone,
        _ => Mode::NotServing,
    }
}

/// Gives `dir` and everything under it to `user` (symlinks themselves, not
/// their targets).
fn chown_tree(dir: &Path, user: RunAs) -> Result<(), String> {
    let chown = |p: &Path| {
        std::os::unix::fs::lchown(p, Some(user.uid), Some(user.gid))
            .map_err(|e| format!("cannot chown {}: {e}", p.display()))
    };
    chown(dir)?;
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            chown_tree(&entry.path(), user)?;
        } else {
            chown(&entry.path())?;
        }
    }
    Ok(())
}

/// Whether `pid` has exited (gone, or a zombie waiting to be reaped).
fn has_exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

/// `ZK_ENSEMBLE_<name>` as a number, else `default`: run counts and
/// sizes a developer can raise (e.g. the 20 election runs of the
/// acceptance) without slowing CI.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(format!("ZK_ENSEMBLE_{name}"))
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The median of some durations (the mean of the middle two for an even
/// count); zero for none.
pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_mode_reads_srvr() {
        let srvr = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nZxid: 0x100000002\nMode: follower\nNode count: 5\n";
        assert_eq!(parse_mode(srvr), Mode::Follower);
        assert_eq!(parse_mode("Mode: leader\n"), Mode::Leader);
        assert_eq!(parse_mode("Mode: observer"), Mode::Observer);
        assert_eq!(
            parse_mode("This ZooKeeper instance is not currently serving requests\n"),
            Mode::NotServing
        );
    }

    #[test]
    fn sync_kind_from_both_implementations_lines() {
        let apache = "2026-11-23 05:00:00,000 - INFO  [QuorumPeer[myid=2](plain=127.0.0.1:1)(secure=disabled):Learner@565] - Getting a diff from the leader 0x100000003";
        let ours = "1700000000000 [QuorumPeer] WARN  zk_quorum::learner - Truncating log to get in sync with the leader 0x100000004";
        assert_eq!(SyncKind::from_learner_line(apache), Some(SyncKind::Diff));
        assert_eq!(SyncKind::from_learner_line(ours), Some(SyncKind::Trunc));
        assert_eq!(
            SyncKind::from_learner_line("Getting a snapshot from leader 0x200000000"),
            Some(SyncKind::Snap)
        );
        assert_eq!(
            SyncKind::from_learner_line("Learner received UPTODATE"),
            None
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(30), ms(10), ms(20)]), ms(20));
        assert_eq!(median(&[ms(40), ms(10), ms(20), ms(30)]), ms(25));
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn has_exited_sees_a_zombie() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !has_exited(pid) {
            assert!(Instant::now() < deadline, "true(1) never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert!(!has_exited(std::process::id()));
    }
}
