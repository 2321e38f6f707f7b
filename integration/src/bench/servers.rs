//! The two servers the benchmark compares, started alike: the same zoo.cfg
//! settings, a fresh data directory on the same disk, one at a time.

use std::net::SocketAddr;
use std::time::Duration;

use super::tls::{BenchTls, NETTY_FACTORY};
use crate::apache::{four_letter, ApacheServer, ApacheZk, ServerConfig};
use crate::ports::{free_port, free_port_except, TempDir};
use crate::zk_bin::ZkBinServer;

/// Which server a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// This workspace's `zk-bin`.
    ZkBin,
    /// Apache ZooKeeper 3.8 (Debian's jars).
    Apache,
}

impl Kind {
    /// The label used in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ZkBin => "zk-bin",
            Kind::Apache => "Apache 3.8",
        }
    }
}

/// JVM options that undo the harness's small-test-JVM flags (serial GC,
/// C1 only), so the JVM runs with its own defaults as Debian's `zkServer.sh`
/// starts it: G1, full tiered compilation, the default heap (a quarter of
/// the machine's memory; `ServerConfig::max_heap = None`), and the local
/// JMX agent the script enables. Later flags win over earlier ones.
pub(crate) const DEBIAN_JVM_FLAGS: &[&str] = &[
    "-XX:-UseSerialGC",
    "-XX:TieredStopAtLevel=4",
    "-Dcom.sun.management.jmxremote",
    "-Dcom.sun.management.jmxremote.local.only=true",
];

/// Keys `ZkBinServer::start` writes itself; the rest of Apache's zoo.cfg is
/// handed to it as extra lines, so both read the same settings.
const ZK_BIN_OWN_KEYS: &[&str] = &[
    "tickTime",
    "dataDir",
    "clientPort",
    "clientPortAddress",
    "admin.enableServer",
];

/// A running server with its own temporary directory (zoo.cfg, log, data),
/// removed when it is dropped; dropping it also kills the server.
pub struct Running {
    /// Which implementation this server is.
    pub kind: Kind,
    server: Server,
    /// The secure client port's address, when it serves one.
    secure_addr: Option<SocketAddr>,
    /// Dropped after `server` (fields drop in order), so the files go only
    /// once the process is gone.
    _work: TempDir,
}

enum Server {
    ZkBin(ZkBinServer),
    Apache(ApacheServer),
}

/// Starts `kind` on a fresh data directory and waits until it serves.
/// `apache` is required for [`Kind::Apache`]; `extra_cfg` are further
/// zoo.cfg lines, the same for both servers; with `tls` it also serves a
/// secure client port from those certificates (Apache through its Netty
/// factory).
pub fn start(
    kind: Kind,
    apache: Option<&ApacheZk>,
    extra_cfg: &[(String, String)],
    tls: Option<&BenchTls>,
) -> Result<Running, String> {
    let work = TempDir::new(&format!("zk-bench-{}", kind.name().replace(' ', "-")))
        .map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let port = free_port().map_err(|e| format!("no free port: {e}"))?;
    let mut config = common_config(&work, port);
    config.extra_cfg.extend(extra_cfg.iter().cloned());
    let mut secure_addr = None;
    if let Some(tls) = tls {
        let secure = free_port_except(&[port]).map_err(|e| format!("no free port: {e}"))?;
        config
            .extra_cfg
            .push(("secureClientPort".into(), secure.to_string()));
        config.extra_cfg.extend(tls.server_cfg());
        if kind == Kind::Apache {
            config
                .jvm_props
                .push(format!("-Dzookeeper.serverCnxnFactory={NETTY_FACTORY}"));
        }
        secure_addr = Some(SocketAddr::from(([127, 0, 0, 1], secure)));
    }
    let server = match kind {
        Kind::ZkBin => {
            let extra: Vec<String> = config
                .zoo_cfg()
                .lines()
                .filter(|line| {
                    let key = line.split('=').next().unwrap_or_default();
                    !ZK_BIN_OWN_KEYS.contains(&key)
                })
                .map(str::to_string)
                .collect();
            Server::ZkBin(ZkBinServer::start(&work, port, &extra.join("\n"))?)
        }
        Kind::Apache => {
            let apache = apache.ok_or("Apache ZooKeeper is not available")?;
            Server::Apache(apache.start(&config)?)
        }
    };
    Ok(Running {
        kind,
        server,
        secure_addr,
        _work: work,
    })
}

/// The settings both servers run with: Apache's harness defaults (3.8's own
/// defaults for snapCount, preAllocSize, forceSync) with the JVM as Debian
/// starts it, data in `work/data`.
fn common_config(work: &TempDir, port: u16) -> ServerConfig {
    let mut config = ServerConfig::new(work.path(), &work.join("data"), port);
    config.max_heap = None;
    config.jvm_props = DEBIAN_JVM_FLAGS.iter().map(|s| s.to_string()).collect();
    config.start_timeout = Duration::from_secs(120);
    config
}

impl Running {
    /// The server's log (removed with the server's temp dir).
    pub fn log_path(&self) -> std::path::PathBuf {
        match &self.server {
            Server::ZkBin(_) => self._work.join("server.log"),
            Server::Apache(s) => s.log_path().to_path_buf(),
        }
    }

    /// Copies the server's log to `dir/<name>-<label>.log`, to read after the run.
    pub fn keep_log(&self, dir: &std::path::Path, label: &str) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let to = dir.join(format!(
            "{}-{label}.log",
            self.kind.name().replace(' ', "-")
        ));
        std::fs::copy(self.log_path(), &to)
            .map(|_| ())
            .map_err(|e| format!("cannot copy the log to {}: {e}", to.display()))
    }

    /// The server's client address on loopback.
    pub fn addr(&self) -> SocketAddr {
        match &self.server {
            Server::ZkBin(s) => s.addr,
            Server::Apache(s) => s.addr(),
        }
    }

    /// The secure client port's address, when it serves one.
    pub fn secure_addr(&self) -> Option<SocketAddr> {
        self.secure_addr
    }

    /// The server's process id (the JVM's for Apache); an error if Apache
    /// is not running.
    pub fn pid(&self) -> Result<u32, String> {
        match &self.server {
            Server::ZkBin(s) => Ok(s.pid()),
            Server::Apache(s) => s.pid().ok_or_else(|| "Apache is not running".to_string()),
        }
    }

    /// (VmRSS, VmHWM) in KB: resident now and at the peak.
    pub fn rss_kb(&self) -> Result<(u64, u64), String> {
        let pid = self.pid()?;
        Ok((proc_status_kb(pid, "VmRSS")?, proc_status_kb(pid, "VmHWM")?))
    }

    /// User plus system CPU time the server process has used, all threads.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        cpu_seconds(self.pid()?)
    }

    /// The node count `srvr` reports.
    pub fn node_count(&self) -> Result<u64, String> {
        let answer = four_letter(self.addr(), "srvr", Duration::from_secs(30))
            .map_err(|e| format!("srvr to {}: {e}", self.kind.name()))?;
        answer
            .lines()
            .find_map(|l| l.strip_prefix("Node count: "))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("no node count in srvr's answer: {answer}"))
    }
}

/// A `/proc/PID/status` line's value in KB.
pub fn proc_status_kb(pid: u32, key: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
}

/// utime + stime of a process, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
    // The command name (field 2) may hold spaces; count fields after its ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("unexpected /proc/{pid}/stat: {stat}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11, 12.
    let ticks = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| format!("unexpected /proc/{pid}/stat: {stat}"))
    };
    Ok((ticks(11)? + ticks(12)?) / clock_ticks_per_second())
}

/// CPU time the whole machine spent busy (all but idle and iowait), from
/// the first line of `/proc/stat`: with the server's and the client's own
/// share taken out, what is left shows whether something else ran.
pub fn machine_busy_seconds() -> Result<f64, String> {
    let stat = std::fs::read_to_string("/proc/stat")
        .map_err(|e| format!("cannot read /proc/stat: {e}"))?;
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if fields.len() < 8 {
        return Err(format!("unexpected /proc/stat: {stat}"));
    }
    // user nice system idle iowait irq softirq steal ...
    let busy: f64 = fields[..8].iter().sum::<f64>() - fields[3] - fields[4];
    Ok(busy / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on.
fn clock_ticks_per_second() -> f64 {
    100.0
}
