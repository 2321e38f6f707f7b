//! The commands about the server itself: `srvr`/`stat`, `mntr`, `conf`,
//! `cons`, `crst`, `srst`, `dirs`, `envi`, `isro`, `ruok`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::connections::CnxnInfo;
use super::{full_version, java_fmt, object, Kwargs, Report};
use crate::metrics::metrics_context::Sample;
use crate::metrics::prometheus_metrics_provider;
use crate::server_stats::{self, dir_size};
use crate::zookeeper_server::ZooKeeperServer;

/// A standalone server's `ServerStats.getServerState` (a quorum peer's
/// role says "leader", "follower" or "observer").
pub(crate) const SERVER_STATE: &str = "standalone";

/// Everything `srvr`, `stat` and `mntr` report, read at one moment.
#[derive(Debug, Clone)]
pub(crate) struct StatsSnapshot {
    pub min_latency: i64,
    pub avg_latency: f64,
    pub max_latency: i64,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub num_alive_connections: usize,
    pub outstanding_requests: i64,
    pub last_processed_zxid: i64,
    pub node_count: usize,
    pub watch_count: usize,
    pub ephemerals_count: usize,
    pub approximate_data_size: i64,
    pub global_sessions: usize,
    pub uptime: i64,
    pub fsync_threshold_exceed_count: u64,
    pub auth_failed_count: u64,
    pub digest_mismatches: u64,
    /// last, min, max reply sizes.
    pub client_response: (i64, i64, i64),
    /// (`dataLogDir/version-2`, `dataDir/version-2`), the directories
    /// Java calls the data dir and the snap dir.
    pub dirs: (PathBuf, PathBuf),
    /// `getServerState`: "standalone" or the quorum role.
    pub server_state: &'static str,
    /// A leader's proposal sizes, last, min, max.
    pub proposal_stats: Option<(i64, i64, i64)>,
}

impl StatsSnapshot {
    pub fn take(zks: &ZooKeeperServer) -> StatsSnapshot {
        let s = &zks.stats;
        let (zxid, nodes, ephemerals, data_size, sessions, digest_mismatches, dirs) = {
            let db = zks.db().read().unwrap();
            let t = db.data_tree();
            (
                db.data_tree_last_processed_zxid(),
                t.node_count(),
                t.ephemerals_count(),
                t.approximate_data_size(),
                db.session_count(),
                t.digest_mismatches(),
                (
                    db.snap_log().data_dir().to_path_buf(),
                    db.snap_log().snap_dir().to_path_buf(),
                ),
            )
        };
        let watch_count = {
            let w = zks.watches.lock().unwrap();
            w.data.size() + w.child.size()
        };
        let cr = s.client_response();
        StatsSnapshot {
            min_latency: s.min_latency(),
            avg_latency: s.avg_latency(),
            max_latency: s.max_latency(),
            packets_received: s.packets_received(),
            packets_sent: s.packets_sent(),
            num_alive_connections: s.num_alive_connections(),
            outstanding_requests: s.outstanding_requests(),
            last_processed_zxid: zxid,
            node_count: nodes,
            watch_count,
            ephemerals_count: ephemerals,
            approximate_data_size: data_size,
            global_sessions: sessions,
            uptime: s.uptime_ms(),
            fsync_threshold_exceed_count: s.fsync_threshold_exceed_count(),
            auth_failed_count: s.auth_failed_count(),
            digest_mismatches,
            client_response: (cr.last(), cr.min(), cr.max()),
            dirs,
            server_state: zks.server_state(),
            proposal_stats: zks.role().proposal_stats(),
        }
    }

    /// `getDataDirSize`: 3.8 measures the txn log directory here.
    pub fn data_dir_size(&self) -> u64 {
        dir_size(&self.dirs.0)
    }

    /// `getLogDirSize`: and the snapshot directory here.
    pub fn log_dir_size(&self) -> u64 {
        dir_size(&self.dirs.1)
    }

    fn client_response_json(&self) -> Value {
        let (last, min, max) = self.client_response;
        json!({"last_buffer_size": last, "min_buffer_size": min, "max_buffer_size": max})
    }

    /// `ServerStats` as Jackson writes it (its getters, snake-cased).
    fn server_stats_json(&self) -> Value {
        json!({
            "packets_sent": self.packets_sent,
            "packets_received": self.packets_received,
            "fsync_threshold_exceed_count": self.fsync_threshold_exceed_count,
            "client_response_stats": self.client_response_json(),
            "data_dir_size": self.data_dir_size(),
            "log_dir_size": self.log_dir_size(),
            "last_processed_zxid": self.last_processed_zxid,
            "outstanding_requests": self.outstanding_requests,
            "server_state": self.server_state,
            "avg_latency": self.avg_latency,
            "max_latency": self.max_latency,
            "min_latency": self.min_latency,
            "num_alive_client_connections": self.num_alive_connections,
            "provider_null": false,
            "uptime": self.uptime,
            "auth_failed_count": self.auth_failed_count,
            "non_mtlsremote_conn_count": 0,
            "non_mtlslocal_conn_count": 0,
        })
    }
}

/// `srvr` and `stat` (`StatCommand`, `SrvrCommand`/`StatCommand`).
pub(crate) struct ServerStatsReport {
    pub stats: StatsSnapshot,
    /// `stat` lists the connections briefly; `srvr` does not. The
    /// connections of the requesting port (the four-letter word's; JSON:
    /// the plain port's), as 3.8 lists its `factory`'s.
    pub connections: Option<Vec<CnxnInfo>>,
    /// The secure client port's (JSON `secure_connections`).
    pub secure_connections: Vec<CnxnInfo>,
}

/// The mode a read-only server reports (`ReadOnlyZooKeeperServer.getState`).
pub const READ_ONLY_STATE: &str = "read-only";

impl Report for ServerStatsReport {
    fn text(&self) -> String {
        let s = &self.stats;
        let mut out = format!("Zookeeper version: {}\n", full_version());
        if s.server_state == READ_ONLY_STATE {
            out += "READ-ONLY mode; serving only read-only clients\n";
        }
        if let Some(cnxns) = &self.connections {
            out += "Clients:\n";
            for c in cnxns {
                let _ = writeln!(out, "{}", c.text(true));
            }
            out += "\n";
        }
        let _ = writeln!(
            out,
            "Latency min/avg/max: {}/{}/{}",
            s.min_latency,
            java_fmt::double(s.avg_latency),
            s.max_latency
        );
        let _ = writeln!(out, "Received: {}", s.packets_received);
        let _ = writeln!(out, "Sent: {}", s.packets_sent);
        let _ = writeln!(out, "Connections: {}", s.num_alive_connections);
        let _ = writeln!(out, "Outstanding: {}", s.outstanding_requests);
        let _ = writeln!(out, "Zxid: 0x{:x}", s.last_processed_zxid);
        let _ = writeln!(out, "Mode: {}", s.server_state);
        let _ = writeln!(out, "Node count: {}", s.node_count);
        if let Some((last, min, max)) = s.proposal_stats {
            let _ = writeln!(out, "Proposal sizes last/min/max: {last}/{min}/{max}");
        }
        out
    }

    fn fields(&self) -> Map<String, Value> {
        let s = &self.stats;
        let mut m = object([
            ("version", json!(full_version())),
            ("read_only", json!(s.server_state == READ_ONLY_STATE)),
            ("server_stats", s.server_stats_json()),
            ("client_response", s.client_response_json()),
            ("node_count", json!(s.node_count)),
        ]);
        if let Some((last, min, max)) = s.proposal_stats {
            m.insert(
                "proposal_stats".into(),
                json!({"last_buffer_size": last, "min_buffer_size": min, "max_buffer_size": max}),
            );
        }
        if let Some(cnxns) = &self.connections {
            let list: Vec<Value> = cnxns.iter().map(|c| c.json(true)).collect();
            m.insert("connections".into(), Value::Array(list));
            let secure: Vec<Value> = self
                .secure_connections
                .iter()
                .map(|c| c.json(true))
                .collect();
            m.insert("secure_connections".into(), Value::Array(secure));
        }
        m
    }
}

/// The kwarg a four-letter word from the secure client port carries: its
/// `stat` and `cons` list that port's connections, as 3.8's do.
pub(crate) const FROM_SECURE_PORT: &str = "<secure client port>";

/// The connections of the secure client port (`secure`) or of the plain
/// one.
fn connection_infos(zks: &ZooKeeperServer, secure: bool) -> Vec<CnxnInfo> {
    let secure_factory = zks.stats.facts().secure_factory;
    zks.stats
        .connections()
        .iter()
        .filter(|c| (Some(crate::cnxn::factory_of(c.id)) == secure_factory) == secure)
        .map(|c| CnxnInfo::of(c))
        .collect()
}

/// The requesting port's connections, then the secure port's.
fn connections_by_port(zks: &ZooKeeperServer, kw: &Kwargs) -> (Vec<CnxnInfo>, Vec<CnxnInfo>) {
    let secure = connection_infos(zks, true);
    if kw.contains_key(FROM_SECURE_PORT) {
        (secure.clone(), secure)
    } else {
        (connection_infos(zks, false), secure)
    }
}

pub(crate) fn srvr(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    Box::new(ServerStatsReport {
        stats: StatsSnapshot::take(zks),
        connections: None,
        secure_connections: Vec::new(),
    })
}

pub(crate) fn stat(zks: &ZooKeeperServer, kw: &Kwargs) -> Box<dyn Report> {
    let (connections, secure_connections) = connections_by_port(zks, kw);
    Box::new(ServerStatsReport {
        connections: Some(connections),
        secure_connections,
        stats: StatsSnapshot::take(zks),
    })
}

/// `mntr`: the monitoring values, `zk_<key>\t<value>` per line.
pub(crate) struct MonitorReport {
    pub values: Vec<(&'static str, Value)>,
    /// With the Prometheus provider: its samples, as 3.8's `mntr` prints
    /// what the provider dumps (`fsynctime{quantile="0.5"}`,
    /// `fsynctime_count`, ..., every value a double).
    pub provider: Vec<(String, Value)>,
}

impl MonitorReport {
    /// 3.8's `MonitorCommand`: `version` and `server_state`, then the
    /// provider's dump. With the default provider that dump is the values
    /// [`MonitorReport::of_default_provider`] gives.
    pub fn take(zks: &ZooKeeperServer) -> MonitorReport {
        let Some(samples) = prometheus_metrics_provider::dump() else {
            return Self::of_default_provider(zks);
        };
        let provider = samples
            .into_iter()
            .map(|(k, v)| {
                // Jackson writes a NaN as the string "NaN"; so does mntr.
                let value = if v.is_nan() { json!("NaN") } else { json!(v) };
                (k, value)
            })
            .collect();
        MonitorReport {
            values: vec![
                ("version", json!(full_version())),
                ("server_state", json!(zks.server_state())),
            ],
            provider,
        }
    }

    /// The values with the default provider (and the gauges the
    /// Prometheus provider samples, [`metric_samples`]).
    pub fn of_default_provider(zks: &ZooKeeperServer) -> MonitorReport {
        let s = StatsSnapshot::take(zks);
        let (last, min, max) = s.client_response;
        let mut values = vec![
            ("version", json!(full_version())),
            ("server_state", json!(s.server_state)),
            ("avg_latency", json!(s.avg_latency)),
            ("max_latency", json!(s.max_latency)),
            ("min_latency", json!(s.min_latency)),
            ("packets_received", json!(s.packets_received)),
            ("packets_sent", json!(s.packets_sent)),
            ("num_alive_connections", json!(s.num_alive_connections)),
            ("outstanding_requests", json!(s.outstanding_requests)),
            ("uptime", json!(s.uptime)),
            ("znode_count", json!(s.node_count)),
            ("watch_count", json!(s.watch_count)),
            ("ephemerals_count", json!(s.ephemerals_count)),
            ("approximate_data_size", json!(s.approximate_data_size)),
            ("global_sessions", json!(s.global_sessions)),
            ("local_sessions", json!(0)),
            (
                "open_file_descriptor_count",
                json!(server_stats::open_file_descriptor_count()),
            ),
            (
                "max_file_descriptor_count",
                json!(server_stats::max_file_descriptor_count()),
            ),
            ("connection_drop_probability", json!(0.0)),
            ("last_client_response_size", json!(last)),
            ("max_client_response_size", json!(max)),
            ("min_client_response_size", json!(min)),
            ("outstanding_tls_handshake", json!(0)),
            ("auth_failed_count", json!(s.auth_failed_count)),
            ("non_mtls_remote_conn_count", json!(0)),
            ("non_mtls_local_conn_count", json!(0)),
            (
                "fsync_threshold_exceed_count",
                json!(s.fsync_threshold_exceed_count),
            ),
            ("digest_mismatches_count", json!(s.digest_mismatches)),
        ];
        values.extend(zks.role_monitor_values());
        MonitorReport {
            values,
            provider: Vec::new(),
        }
    }
}

/// A value as `MonitorCommand.print` writes it: integers as they are,
/// other numbers as Java doubles, strings bare.
fn monitor_value(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => java_fmt::double(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

impl Report for MonitorReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.values {
            let _ = writeln!(out, "zk_{}\t{}", k, monitor_value(v));
        }
        for (k, v) in &self.provider {
            let _ = writeln!(out, "zk_{}\t{}", k, monitor_value(v));
        }
        out
    }

    fn fields(&self) -> Map<String, Value> {
        let mut map = object(self.values.iter().map(|(k, v)| (*k, v.clone())));
        map.extend(self.provider.iter().map(|(k, v)| (k.clone(), v.clone())));
        map
    }
}

/// What the Prometheus endpoint samples from a server: its `mntr` values
/// that 3.8 registers as gauges (every number of them but
/// `fsync_threshold_exceed_count`, which 3.8's `mntr` alone reports), and
/// the data tree's `digest_mismatches_count`, a counter in 3.8.
pub(crate) fn metric_samples(zks: &ZooKeeperServer) -> Vec<Sample> {
    MonitorReport::of_default_provider(zks)
        .values
        .into_iter()
        .filter_map(|(k, v)| {
            let value = v.as_f64()?;
            match k {
                "fsync_threshold_exceed_count" => None,
                "digest_mismatches_count" => Some(Sample::counter(k, value)),
                _ => Some(Sample::gauge(k, value)),
            }
        })
        .collect()
}

pub(crate) fn monitor(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    Box::new(MonitorReport::take(zks))
}

/// `conf` (`ZooKeeperServer.dumpConf`, `ZooKeeperServerConf`).
pub(crate) struct ConfReport {
    /// -1 when there is no plain client port (only a secure one).
    pub client_port: i32,
    /// -1 when there is no secure client port.
    pub secure_client_port: i32,
    pub data_dir: PathBuf,
    pub data_dir_size: u64,
    pub data_log_dir: PathBuf,
    pub data_log_size: u64,
    pub tick_time: i32,
    pub max_client_cnxns: i32,
    pub min_session_timeout: i32,
    pub max_session_timeout: i32,
    pub client_port_listen_backlog: i32,
    pub server_id: i64,
    /// A quorum peer's lines after these ([`ServerRole::dump_conf`]).
    ///
    /// [`ServerRole::dump_conf`]: crate::server_role::ServerRole::dump_conf
    pub quorum: Option<String>,
}

/// `File.getAbsolutePath`: relative paths are taken from the working
/// directory, nothing else is resolved.
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
    }
}

impl Report for ConfReport {
    fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "clientPort={}", self.client_port);
        let _ = writeln!(out, "secureClientPort={}", self.secure_client_port);
        let _ = writeln!(out, "dataDir={}", self.data_dir.display());
        let _ = writeln!(out, "dataDirSize={}", self.data_dir_size);
        let _ = writeln!(out, "dataLogDir={}", self.data_log_dir.display());
        let _ = writeln!(out, "dataLogSize={}", self.data_log_size);
        let _ = writeln!(out, "tickTime={}", self.tick_time);
        let _ = writeln!(out, "maxClientCnxns={}", self.max_client_cnxns);
        let _ = writeln!(out, "minSessionTimeout={}", self.min_session_timeout);
        let _ = writeln!(out, "maxSessionTimeout={}", self.max_session_timeout);
        let _ = writeln!(
            out,
            "clientPortListenBacklog={}",
            self.client_port_listen_backlog
        );
        let _ = writeln!(out, "serverId={}", self.server_id);
        if let Some(quorum) = &self.quorum {
            out.push_str(quorum);
        }
        out
    }

    fn fields(&self) -> Map<String, Value> {
        object([
            ("client_port", json!(self.client_port)),
            ("data_dir", json!(self.data_dir.display().to_string())),
            (
                "data_log_dir",
                json!(self.data_log_dir.display().to_string()),
            ),
            ("tick_time", json!(self.tick_time)),
            ("max_client_cnxns", json!(self.max_client_cnxns)),
            ("min_session_timeout", json!(self.min_session_timeout)),
            ("max_session_timeout", json!(self.max_session_timeout)),
            ("server_id", json!(self.server_id)),
            (
                "client_port_listen_backlog",
                json!(self.client_port_listen_backlog),
            ),
        ])
    }
}

pub(crate) fn conf(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let cfg = zks.config();
    let facts = zks.stats.facts();
    let (log_dir, snap_dir) = {
        let db = zks.db().read().unwrap();
        (
            db.snap_log().data_dir().to_path_buf(),
            db.snap_log().snap_dir().to_path_buf(),
        )
    };
    Box::new(ConfReport {
        client_port: facts.client_addr.map_or(-1, |a| i32::from(a.port())),
        secure_client_port: facts.secure_client_addr.map_or(-1, |a| i32::from(a.port())),
        data_dir_size: dir_size(&log_dir),
        data_log_size: dir_size(&snap_dir),
        data_dir: absolute(&snap_dir),
        data_log_dir: absolute(&log_dir),
        tick_time: cfg.tick_time,
        max_client_cnxns: facts.max_client_cnxns,
        min_session_timeout: cfg.min_session_timeout,
        max_session_timeout: cfg.max_session_timeout,
        client_port_listen_backlog: facts.listen_backlog,
        server_id: cfg.server_id,
        quorum: zks.role().dump_conf(),
    })
}

/// `cons`: every connection in full.
pub(crate) struct ConsReport {
    /// The requesting port's (JSON: the plain port's).
    pub connections: Vec<CnxnInfo>,
    /// The secure client port's.
    pub secure_connections: Vec<CnxnInfo>,
}

impl Report for ConsReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.connections {
            let _ = writeln!(out, "{}", c.text(false));
        }
        out.push('\n');
        out
    }

    fn fields(&self) -> Map<String, Value> {
        let list: Vec<Value> = self.connections.iter().map(|c| c.json(false)).collect();
        let secure: Vec<Value> = self
            .secure_connections
            .iter()
            .map(|c| c.json(false))
            .collect();
        object([
            ("connections", Value::Array(list)),
            ("secure_connections", Value::Array(secure)),
        ])
    }
}

pub(crate) fn cons(zks: &ZooKeeperServer, kw: &Kwargs) -> Box<dyn Report> {
    let (connections, secure_connections) = connections_by_port(zks, kw);
    Box::new(ConsReport {
        connections,
        secure_connections,
    })
}

/// A command whose text is one fixed line and whose JSON has no fields
/// of its own (`crst`, `srst`, `ruok`).
pub(crate) struct Ack(pub &'static str);

impl Report for Ack {
    fn text(&self) -> String {
        self.0.to_string()
    }

    fn fields(&self) -> Map<String, Value> {
        Map::new()
    }
}

pub(crate) fn crst(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    zks.stats.reset_all_connection_stats();
    Box::new(Ack("Connection stats reset.\n"))
}

pub(crate) fn srst(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    zks.stats.reset();
    Box::new(Ack("Server stats reset.\n"))
}

pub(crate) fn ruok(_: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    Box::new(Ack("imok"))
}

/// `dirs`.
pub(crate) struct DirsReport {
    pub datadir_size: u64,
    pub logdir_size: u64,
}

impl Report for DirsReport {
    fn text(&self) -> String {
        format!(
            "datadir_size: {}\nlogdir_size: {}\n",
            self.datadir_size, self.logdir_size
        )
    }

    fn fields(&self) -> Map<String, Value> {
        object([
            ("datadir_size", json!(self.datadir_size)),
            ("logdir_size", json!(self.logdir_size)),
        ])
    }
}

pub(crate) fn dirs(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let s = StatsSnapshot::take(zks);
    Box::new(DirsReport {
        datadir_size: s.data_dir_size(),
        logdir_size: s.log_dir_size(),
    })
}

/// `isro`: whether this server is a read-only one (a quorum peer cut off
/// from its ensemble with read-only mode on).
pub(crate) struct IsroReport(pub bool);

impl Report for IsroReport {
    fn text(&self) -> String {
        if self.0 { "ro" } else { "rw" }.into()
    }

    fn fields(&self) -> Map<String, Value> {
        object([("read_only", json!(self.0))])
    }
}

pub(crate) fn isro(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    Box::new(IsroReport(zks.is_read_only()))
}

/// `envi` (`Environment.list`): the same keys as the JVM's, in its
/// order. We are no JVM: the `java.*` entries say `<NA>`, as Java does
/// for a missing property, and the memory lines describe the machine
/// (free, total) and this process (resident), in MB.
pub(crate) struct EnvReport {
    pub entries: Vec<(&'static str, String)>,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// A `kB` figure from a `/proc` status-style file, in MB.
fn proc_mb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kb / 1024)
}

impl EnvReport {
    pub fn take() -> EnvReport {
        let na = || "<NA>".to_string();
        let env = |k: &str| std::env::var(k).unwrap_or_else(|_| na());
        let mb = |v: Option<u64>| v.map_or_else(na, |m| format!("{}MB", m));
        let os_name = match std::env::consts::OS {
            "linux" => "Linux".to_string(),
            other => other.to_string(),
        };
        let os_arch = match std::env::consts::ARCH {
            "x86_64" => "amd64".to_string(),
            other => other.to_string(),
        };
        let entries = vec![
            ("zookeeper.version", full_version().to_string()),
            (
                "host.name",
                read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(na),
            ),
            ("java.version", na()),
            ("java.vendor", na()),
            ("java.home", na()),
            ("java.class.path", na()),
            ("java.library.path", na()),
            ("java.io.tmpdir", std::env::temp_dir().display().to_string()),
            ("java.compiler", na()),
            ("os.name", os_name),
            ("os.arch", os_arch),
            (
                "os.version",
                read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(na),
            ),
            ("user.name", env("USER")),
            ("user.home", env("HOME")),
            (
                "user.dir",
                std::env::current_dir().map_or_else(|_| na(), |d| d.display().to_string()),
            ),
            (
                "os.memory.free",
                mb(proc_mb("/proc/meminfo", "MemAvailable:")),
            ),
            ("os.memory.max", mb(proc_mb("/proc/meminfo", "MemTotal:"))),
            (
                "os.memory.total",
                mb(proc_mb("/proc/self/status", "VmRSS:")),
            ),
        ];
        EnvReport { entries }
    }
}

impl Report for EnvReport {
    fn text(&self) -> String {
        let mut out = "Environment:\n".to_string();
        for (k, v) in &self.entries {
            let _ = writeln!(out, "{}={}", k, v);
        }
        out
    }

    fn fields(&self) -> Map<String, Value> {
        object(self.entries.iter().map(|(k, v)| (*k, json!(v))))
    }
}

pub(crate) fn envi(_: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    Box::new(EnvReport::take())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> StatsSnapshot {
        StatsSnapshot {
            min_latency: 0,
            avg_latency: 0.5,
            max_latency: 3,
            packets_received: 10,
            packets_sent: 9,
            num_alive_connections: 2,
            outstanding_requests: 0,
            last_processed_zxid: 0x1f,
            node_count: 5,
            watch_count: 1,
            ephemerals_count: 1,
            approximate_data_size: 44,
            global_sessions: 1,
            uptime: 1234,
            fsync_threshold_exceed_count: 0,
            auth_failed_count: 0,
            digest_mismatches: 0,
            client_response: (16, 16, 100),
            dirs: (
                PathBuf::from("/nonexistent/a"),
                PathBuf::from("/nonexistent/b"),
            ),
            server_state: SERVER_STATE,
            proposal_stats: None,
        }
    }

    #[test]
    fn srvr_text_is_3_8s() {
        let r = ServerStatsReport {
            stats: snapshot(),
            connections: None,
            secure_connections: Vec::new(),
        };
        assert_eq!(
            r.text(),
            format!(
                "Zookeeper version: {}\nLatency min/avg/max: 0/0.5/3\nReceived: 10\nSent: 9\n\
                 Connections: 2\nOutstanding: 0\nZxid: 0x1f\nMode: standalone\nNode count: 5\n",
                full_version()
            )
        );
        let f = r.fields();
        assert_eq!(f["server_stats"]["packets_received"], 10);
        assert_eq!(f["server_stats"]["last_processed_zxid"], 0x1f);
        assert_eq!(f["server_stats"]["server_state"], "standalone");
        assert_eq!(f["client_response"]["max_buffer_size"], 100);
        assert_eq!(f["read_only"], false);
        let mut ro = snapshot();
        ro.server_state = READ_ONLY_STATE;
        let r = ServerStatsReport {
            stats: ro,
            connections: None,
            secure_connections: Vec::new(),
        };
        assert!(r
            .text()
            .contains("\nREAD-ONLY mode; serving only read-only clients\nLatency"));
        assert_eq!(r.fields()["read_only"], true);
        assert_eq!(f["node_count"], 5);
        assert!(f.get("connections").is_none());
        assert!(f.get("proposal_stats").is_none());
    }

    #[test]
    fn a_leader_adds_its_proposal_sizes() {
        let mut leader = snapshot();
        leader.server_state = "leader";
        leader.proposal_stats = Some((36, 20, 90));
        let r = ServerStatsReport {
            stats: leader,
            connections: None,
            secure_connections: Vec::new(),
        };
        assert!(
            r.text()
                .ends_with("Node count: 5\nProposal sizes last/min/max: 36/20/90\n"),
            "{}",
            r.text()
        );
        assert_eq!(r.fields()["proposal_stats"]["max_buffer_size"], 90);
        assert_eq!(r.fields()["proposal_stats"]["last_buffer_size"], 36);
    }

    #[test]
    fn stat_lists_clients_before_the_numbers() {
        let c = crate::server_stats::CnxnStats::new(1, "127.0.0.1:5555".parse().unwrap());
        let r = ServerStatsReport {
            stats: snapshot(),
            connections: Some(vec![CnxnInfo::of(&c)]),
            secure_connections: Vec::new(),
        };
        let t = r.text();
        assert!(
            t.contains("\nClients:\n /127.0.0.1:5555[1](queued=0,recved=0,sent=0)\n\nLatency"),
            "{}",
            t
        );
        assert_eq!(r.fields()["connections"][0]["packets_sent"], 0);
        assert_eq!(r.fields()["secure_connections"], json!([]));
    }

    #[test]
    fn mntr_lines_are_tab_separated_with_java_numbers() {
        let r = MonitorReport {
            values: vec![
                ("version", json!("v")),
                ("avg_latency", json!(0.0)),
                ("max_latency", json!(3)),
                ("approximate_data_size", json!(44i64)),
            ],
            provider: Vec::new(),
        };
        assert_eq!(
            r.text(),
            "zk_version\tv\nzk_avg_latency\t0.0\nzk_max_latency\t3\nzk_approximate_data_size\t44\n"
        );
        assert_eq!(r.fields()["max_latency"], 3);
    }

    #[test]
    fn conf_text_and_json() {
        let r = ConfReport {
            client_port: 2181,
            secure_client_port: -1,
            data_dir: PathBuf::from("/d/version-2"),
            data_dir_size: 1,
            data_log_dir: PathBuf::from("/l/version-2"),
            data_log_size: 2,
            tick_time: 2000,
            max_client_cnxns: 60,
            min_session_timeout: 4000,
            max_session_timeout: 40000,
            client_port_listen_backlog: -1,
            server_id: 0,
            quorum: None,
        };
        assert_eq!(
            r.text(),
            "clientPort=2181\nsecureClientPort=-1\ndataDir=/d/version-2\ndataDirSize=1\n\
             dataLogDir=/l/version-2\ndataLogSize=2\ntickTime=2000\nmaxClientCnxns=60\n\
             minSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n"
        );
        let f = r.fields();
        assert_eq!(f["client_port"], 2181);
        assert_eq!(f["data_dir"], "/d/version-2");
        assert_eq!(f["client_port_listen_backlog"], -1);
    }

    #[test]
    fn small_reports() {
        assert_eq!(Ack("imok").text(), "imok");
        assert!(Ack("imok").fields().is_empty());
        assert_eq!(IsroReport(false).text(), "rw");
        assert_eq!(IsroReport(true).text(), "ro");
        assert_eq!(IsroReport(true).fields()["read_only"], true);
        assert_eq!(IsroReport(false).fields()["read_only"], false);
        let d = DirsReport {
            datadir_size: 3,
            logdir_size: 4,
        };
        assert_eq!(d.text(), "datadir_size: 3\nlogdir_size: 4\n");
        let e = EnvReport::take();
        let t = e.text();
        assert!(
            t.starts_with("Environment:\nzookeeper.version=3.8.0-"),
            "{}",
            t
        );
        assert!(t.contains("\nos.memory.total="), "{}", t);
        assert_eq!(e.fields()["java.version"], "<NA>");
        let c = ConsReport {
            connections: vec![],
            secure_connections: vec![],
        };
        assert_eq!(c.text(), "\n");
        assert_eq!(c.fields()["connections"], json!([]));
        let s = crate::server_stats::CnxnStats::new(1 << 40, "127.0.0.1:5556".parse().unwrap());
        let c = ConsReport {
            connections: vec![],
            secure_connections: vec![CnxnInfo::of(&s)],
        };
        assert_eq!(c.fields()["secure_connections"][0]["packets_sent"], 0);
    }
}
