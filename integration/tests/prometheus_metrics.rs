//! The `/metrics` endpoint as an operator uses it: Debian's `prometheus`
//! server, started here on loopback with a 1 s scrape interval, scrapes
//! zk-bin standalone and each node of a 3-node zk-bin ensemble; after
//! client writes and reads its HTTP API answers the znode count, a
//! request latency quantile and (3.8's name) the leader's `learners`
//! gauge. Every family a node exposes is on the list 3.8's provider
//! registers (crates/zk-server/tests/data/prometheus_metric_names.txt).
//! A taken `httpPort` stops the start, naming the address.
//!
//! Skipped (`skipped: why`) where /usr/bin/prometheus is missing.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration::ensemble::{bounded, Ensemble, EnsembleConfig, NodeKind};
use integration::ports::{free_port, free_port_except, TempDir};
use integration::zk_bin::ZkBinServer;
use serde_json::Value;
use zookeeper_client::{Acls, Client, CreateMode};

const BOUND: Duration = Duration::from_secs(60);
const PROMETHEUS: &str = "/usr/bin/prometheus";
const CLASS: &str = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

/// A Prometheus server scraping `targets` every second (killed on drop).
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Prometheus {
    fn start(work: &TempDir, targets: &[SocketAddr]) -> Result<Prometheus, String> {
        let port = free_port().map_err(|e| e.to_string())?;
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let cfg = work.join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: zk\n    static_configs:\n      - targets: [{}]\n",
                list.join(", ")
            ),
        )
        .map_err(|e| e.to_string())?;
        let log = work.join("prometheus.log");
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("cannot start {PROMETHEUS}: {e}"))?;
        Ok(Prometheus {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        })
    }

    /// An instant query's result: (instance, value) per series.
    fn query(&self, q: &str) -> Result<Vec<(String, f64)>, String> {
        let body = http_get(self.addr, &format!("/api/v1/query?query={}", url_encode(q)))?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("query {q}: {body}"));
        }
        let series = v["data"]["result"].as_array().cloned().unwrap_or_default();
        Ok(series
            .iter()
            .map(|s| {
                let instance = s["metric"]["instance"].as_str().unwrap_or("").to_string();
                let value = s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                (instance, value)
            })
            .collect())
    }

    /// Polls `q` until `ok` holds for its result.
    fn wait_for(
        &self,
        q: &str,
        ok: impl Fn(&[(String, f64)]) -> bool,
    ) -> Result<Vec<(String, f64)>, String> {
        let deadline = Instant::now() + BOUND;
        let mut last = Err("no answer yet".to_string());
        while Instant::now() < deadline {
            last = self.query(q);
            if matches!(&last, Ok(r) if ok(r)) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "{q}: last answer {last:?} within {BOUND:?}; prometheus log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        ))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A GET's body (HTTP/1.0, so the server closes after answering).
fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP head")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("GET {path} from {addr}: {head}"));
    }
    Ok(body.to_string())
}

fn prometheus_present() -> bool {
    if Path::new(PROMETHEUS).exists() {
        return true;
    }
    println!("skipped: {PROMETHEUS} is missing (apt-get install prometheus)");
    false
}

/// 3.8's family names, from the test data file.
fn apache_names() -> BTreeSet<String> {
    include_str!("../../crates/zk-server/tests/data/prometheus_metric_names.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

/// Every family in a scrape of `addr` is one of 3.8's; returns the names.
fn check_names(addr: SocketAddr) -> BTreeSet<String> {
    let text = http_get(addr, "/metrics").unwrap_or_else(|e| panic!("{e}"));
    let apache = apache_names();
    let ours: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect();
    let unknown: Vec<&String> = ours.difference(&apache).collect();
    assert!(
        unknown.is_empty(),
        "{addr} exposes families 3.8 has not: {unknown:?}"
    );
    ours
}

fn metrics_cfg(port: u16) -> String {
    format!(
        "metricsProvider.className={CLASS}\nmetricsProvider.httpHost=127.0.0.1\n\
         metricsProvider.httpPort={port}\n"
    )
}

async fn write_and_read(client: &Client, dir: &str, count: usize) {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    bounded(client.create(dir, b"", &all))
        .await
        .unwrap_or_else(|m| panic!("create {dir}: {m}"));
    for i in 0..count {
        let path = format!("{dir}/n-{i:03}");
        bounded(client.create(&path, b"x", &all))
            .await
            .unwrap_or_else(|m| panic!("create {path}: {m}"));
        bounded(client.get_data(&path))
            .await
            .unwrap_or_else(|m| panic!("get {path}: {m}"));
    }
}

fn mntr_value(addr: SocketAddr, key: &str) -> f64 {
    let mntr = integration::apache::four_letter(addr, "mntr", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("mntr on {addr}: {e}"));
    mntr.lines()
        .find_map(|l| l.strip_prefix(&format!("zk_{key}\t")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no zk_{key} in mntr of {addr}:\n{mntr}"))
}

#[test]
fn standalone_is_scraped() {
    if !prometheus_present() {
        return;
    }
    let work = TempDir::new("prom-standalone").unwrap();
    let client_port = free_port().unwrap();
    let http_port = free_port_except(&[client_port]).unwrap();
    let server = ZkBinServer::start(
        &work,
        client_port,
        &format!("{}4lw.commands.whitelist=*\n", metrics_cfg(http_port)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = integration::ensemble::connect(&server.addr.to_string(), BOUND)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        write_and_read(&client, "/prom", 20).await;
    });
    let endpoint = SocketAddr::from(([127, 0, 0, 1], http_port));
    let names = check_names(endpoint);
    for n in [
        "znode_count",
        "readlatency",
        "fsynctime",
        "process_cpu_seconds_total",
    ] {
        assert!(names.contains(n), "{n} not exposed: {names:?}");
    }
    let expected = mntr_value(server.addr, "znode_count");
    // With this provider, mntr prints its samples as 3.8's does.
    for key in [
        "fsynctime{quantile=\"0.5\"}",
        "readlatency_count",
        "process_open_fds",
    ] {
        assert!(mntr_value(server.addr, key) >= 0.0, "mntr {key}");
    }
    assert!(
        expected >= 21.0,
        "mntr znode_count {expected} after 21 creates"
    );

    let prom = Prometheus::start(&work, &[endpoint]).unwrap_or_else(|e| panic!("{e}"));
    let znodes = prom
        .wait_for("znode_count", |r| r.len() == 1 && r[0].1 == expected)
        .unwrap_or_else(|e| panic!("{e}"));
    println!("znode_count: {znodes:?}");
    let p50 = prom
        .wait_for("readlatency{quantile=\"0.5\"}", |r| {
            r.len() == 1 && r[0].1 >= 0.0
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let reads = prom.query("readlatency_count").unwrap();
    let writes = prom.query("updatelatency_count").unwrap();
    println!("readlatency p50 {p50:?}, reads {reads:?}, writes {writes:?}");
    assert!(p50[0].1 < 10_000.0, "read median {} ms", p50[0].1);
    assert!(reads[0].1 >= 20.0, "reads counted: {reads:?}");
    assert!(writes[0].1 >= 21.0, "writes counted: {writes:?}");
    for counter in [
        "bytes_received_count",
        "response_bytes",
        "connection_request_count",
    ] {
        let v = prom.query(counter).unwrap();
        assert!(v.len() == 1 && v[0].1 > 0.0, "{counter}: {v:?}");
    }
    let fds = prom.query("process_open_fds").unwrap();
    assert!(
        fds.len() == 1 && fds[0].1 > 0.0,
        "process_open_fds: {fds:?}"
    );
}

#[test]
fn each_ensemble_node_is_scraped_and_the_leader_counts_its_learners() {
    if !prometheus_present() {
        return;
    }
    let mut cfg = EnsembleConfig::uniform(NodeKind::ZkBin, 3);
    cfg.extra_cfg = vec![
        ("metricsProvider.className".into(), CLASS.into()),
        ("metricsProvider.httpHost".into(), "127.0.0.1".into()),
    ];
    let Some(mut e) = Ensemble::new_or_skip(cfg) else {
        return;
    };
    let mut used = e.ports();
    let mut endpoints = Vec::new();
    for i in 0..e.len() {
        let port = free_port_except(&used).unwrap();
        used.push(port);
        e.set_node_cfg(i, "metricsProvider.httpPort", &port.to_string());
        endpoints.push(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(BOUND).unwrap_or_else(|m| panic!("{m}"));
    let client = e.client(leader).unwrap_or_else(|m| panic!("{m}"));
    e.block_on(write_and_read(&client, "/prom", 10));
    e.wait_same_zxid(BOUND).unwrap_or_else(|m| panic!("{m}"));
    let leader_only = [
        "learners",
        "synced_followers",
        "pending_syncs",
        "leader_uptime",
        "last_proposal_size",
        "max_proposal_size",
        "min_proposal_size",
    ];
    for (i, endpoint) in endpoints.iter().enumerate() {
        let names = check_names(*endpoint);
        for n in leader_only {
            assert_eq!(
                names.contains(n),
                i == leader,
                "node {i} (leader {leader}) {n} gauge: {names:?}"
            );
        }
        for n in [
            "quorum_size",
            "synced_observers",
            "commit_count",
            "znode_count",
        ] {
            assert!(names.contains(n), "node {i} has no {n}: {names:?}");
        }
    }

    let work = TempDir::new("prom-ensemble").unwrap();
    let prom = Prometheus::start(&work, &endpoints).unwrap_or_else(|m| panic!("{m}"));
    let up = prom
        .wait_for("up == 1", |r| r.len() == 3)
        .unwrap_or_else(|m| panic!("{m}"));
    println!("up: {up:?}");
    let learners = prom
        .wait_for("learners", |r| r.len() == 1 && r[0].1 == 2.0)
        .unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(
        learners[0].0,
        endpoints[leader].to_string(),
        "learners reported by"
    );
    let znodes = prom
        .wait_for("znode_count", |r| {
            r.len() == 3 && r.iter().all(|(_, v)| *v == r[0].1) && r[0].1 >= 11.0
        })
        .unwrap_or_else(|m| panic!("{m}"));
    println!("learners {learners:?}, znode_count {znodes:?}");
    let p99 = prom
        .wait_for("updatelatency{quantile=\"0.99\"}", |r| {
            r.iter()
                .any(|(i, v)| *i == endpoints[leader].to_string() && *v >= 0.0)
        })
        .unwrap_or_else(|m| panic!("{m}"));
    println!("updatelatency p99 {p99:?}");
    // The quorum's own records: the leader's commits, each learner's sync
    // and every node's election.
    let leader_instance = endpoints[leader].to_string();
    let commits = prom.query("commit_count").unwrap();
    assert!(
        commits
            .iter()
            .any(|(i, v)| *i == leader_instance && *v >= 11.0),
        "leader's commit_count after 11 writes: {commits:?}"
    );
    let synced = prom.query("follower_sync_time_count").unwrap();
    let followers_synced = synced
        .iter()
        .filter(|(i, v)| *i != leader_instance && *v >= 1.0)
        .count();
    assert_eq!(followers_synced, 2, "follower_sync_time_count: {synced:?}");
    let syncs = prom.query("diff_count + snap_count").unwrap();
    assert!(
        syncs
            .iter()
            .any(|(i, v)| *i == leader_instance && *v >= 2.0),
        "leader's DIFF and SNAP syncs: {syncs:?}"
    );
    let sizes = prom.query("max_proposal_size").unwrap();
    assert!(
        sizes.len() == 1 && sizes[0].1 > 0.0,
        "the leader's max_proposal_size: {sizes:?}"
    );
    let quorum = prom.query("quorum_size").unwrap();
    assert!(
        quorum.len() == 3 && quorum.iter().all(|(_, v)| *v == 3.0),
        "quorum_size: {quorum:?}"
    );
    let elections = prom.query("election_time_count").unwrap();
    assert!(
        elections.len() == 3 && elections.iter().all(|(_, v)| *v >= 1.0),
        "election_time_count: {elections:?}"
    );
}

#[test]
fn a_taken_http_port_stops_the_start_naming_the_address() {
    let work = TempDir::new("prom-taken").unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = taken.local_addr().unwrap().port();
    let client_port = free_port_except(&[http_port]).unwrap();
    let Err(log) = ZkBinServer::start(&work, client_port, &metrics_cfg(http_port)) else {
        panic!("zk-bin served with its metrics port {http_port} taken");
    };
    assert!(
        log.contains(&format!("127.0.0.1:{http_port}"))
            && log.contains("Cannot boot MetricsProvider"),
        "{log}"
    );
}

#[test]
fn an_unknown_provider_class_stops_the_start_naming_it() {
    let work = TempDir::new("prom-unknown").unwrap();
    let client_port = free_port().unwrap();
    let cfg = "metricsProvider.className=com.example.NoSuchProvider\n";
    let Err(log) = ZkBinServer::start(&work, client_port, cfg) else {
        panic!("zk-bin served with an unknown metrics provider class");
    };
    // 3.8: "Cannot boot MetricsProvider <class>", an unexpected error (1).
    assert!(log.contains("exit status: 1"), "{log}");
    assert!(
        log.contains("Cannot boot MetricsProvider com.example.NoSuchProvider"),
        "{log}"
    );
}
