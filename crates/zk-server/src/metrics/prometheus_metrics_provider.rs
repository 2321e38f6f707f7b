//! `PrometheusMetricsProvider`: 3.8's `/metrics` endpoint. A blocking
//! HTTP/1.1 listener on its own thread answers `GET /metrics` (and `HEAD`,
//! and `POST` as 3.8's servlet does) with [`ServerMetrics`] in the
//! Prometheus text format, encoded by the `prometheus` crate; every other
//! path is a 404, as the servlet context 3.8 mounts at `/` gives.
//!
//! `exportJvmInfo` (3.8: the client library's JVM and process collectors)
//! exports the process collectors only: a Rust server has no JVM, so the
//! `jvm_*` families are absent and the `process_*` ones (CPU, memory, file
//! descriptors, start time, from Linux's /proc) are what remains.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use log::{info, warn};
use prometheus::core::Collector;
use prometheus::proto::{MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

use crate::server_metrics::ServerMetrics;
use crate::start_error::StartError;

/// The class name operators configure (`metricsProvider.className`).
pub const CLASS_NAME: &str = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

/// 3.8's default `httpHost`.
pub const DEFAULT_HOST: &str = "0.0.0.0";
/// 3.8's default `httpPort`.
pub const DEFAULT_PORT: i32 = 7000;

/// The only path with metrics (3.8's servlet mapping).
const METRICS_PATH: &str = "/metrics";
/// A scraper that stalls mid-request must not hold the endpoint.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Request line and headers together; a scrape request is a few hundred
/// bytes.
const MAX_REQUEST_HEAD: u64 = 64 * 1024;
/// The process collector's families 3.8's `StandardExports` lacks.
const NOT_IN_3_8: &[&str] = &["process_threads"];

/// The running provider's collectors, for `mntr` ([`dump`]).
static RUNNING: Mutex<Option<Arc<Collectors>>> = Mutex::new(None);

/// 3.8's `PrometheusMetricsProvider.dump`, when the provider runs: every
/// sample of a scrape as (name with its labels, value), e.g.
/// `fsynctime{quantile="0.5"}`, `fsynctime_count`, `fsynctime_sum`.
pub fn dump() -> Option<Vec<(String, f64)>> {
    let collectors = RUNNING.lock().unwrap().clone()?;
    Some(samples(&collectors.gather(&[])))
}

/// A family's samples, keyed as 3.8's `buildKeyForDump` keys them.
fn samples(families: &[MetricFamily]) -> Vec<(String, f64)> {
    let key = |name: &str, labels: &[(String, String)]| {
        if labels.is_empty() {
            return name.to_string();
        }
        let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("{name}{{{}}}", pairs.join(","))
    };
    let mut out = Vec::new();
    for mf in families {
        let name = mf.name();
        for m in mf.get_metric() {
            let labels: Vec<(String, String)> = m
                .get_label()
                .iter()
                .map(|l| (l.name().to_string(), l.value().to_string()))
                .collect();
            match mf.get_field_type() {
                MetricType::COUNTER => out.push((key(name, &labels), m.get_counter().get_value())),
                MetricType::SUMMARY => {
                    let s = m.get_summary();
                    for q in s.get_quantile() {
                        let mut with_q = labels.clone();
                        with_q.push(("quantile".into(), q.quantile().to_string()));
                        out.push((key(name, &with_q), q.value()));
                    }
                    out.push((
                        key(&format!("{name}_count"), &labels),
                        s.sample_count() as f64,
                    ));
                    out.push((key(&format!("{name}_sum"), &labels), s.sample_sum()));
                }
                _ => out.push((key(name, &labels), m.get_gauge().get_value())),
            }
        }
    }
    out
}

/// The provider's settings (`metricsProvider.*` less `className`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusConfig {
    /// `httpHost`.
    pub host: String,
    /// `httpPort`, checked against the port range when binding (as 3.8
    /// checks it).
    pub port: i32,
    /// `exportJvmInfo`: here, whether the process_* families are exported.
    pub export_jvm_info: bool,
}

impl PrometheusConfig {
    /// 3.8's `configure`: defaults for what is absent; a port that is not
    /// a number stops the start, as 3.8's `Integer.parseInt` does.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, String> {
        let host = props
            .get("httpHost")
            .map_or(DEFAULT_HOST, String::as_str)
            .to_string();
        let port = match props.get("httpPort") {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<i32>()
                .map_err(|_| format!("metricsProvider.httpPort={p} is not a number"))?,
        };
        // Java's Boolean.parseBoolean: "true" in any case, else false.
        let export_jvm_info = props
            .get("exportJvmInfo")
            .is_none_or(|v| v.eq_ignore_ascii_case("true"));
        for key in [
            "numWorkerThreads",
            "maxQueueSize",
            "workerShutdownTimeoutMs",
        ] {
            if let Some(v) = props.get(key) {
                // Recording here is a lock and a push, done in place: there
                // is no worker pool to size.
                info!("metricsProvider.{key}={v}: no effect, metrics are recorded in place");
            }
        }
        Ok(PrometheusConfig {
            host,
            port,
            export_jvm_info,
        })
    }
}

/// The running endpoint.
#[derive(Debug)]
pub struct PrometheusMetricsProvider {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    collectors: Arc<Collectors>,
}

impl PrometheusMetricsProvider {
    /// Binds `httpHost:httpPort` and starts serving. A bind failure is the
    /// caller's start failure, naming the address (3.8 does not start
    /// either).
    pub fn start(config: &PrometheusConfig) -> Result<Self, StartError> {
        info!(
            "Starting /metrics HTTP endpoint at host: {}, port: {}, exportJvmInfo: {}",
            config.host, config.port, config.export_jvm_info
        );
        let target = format!("{}:{}", config.host, config.port);
        let bind_error = |e: io::Error| {
            StartError::Io(io::Error::new(
                e.kind(),
                format!("Cannot start /metrics server on {target}: {e}"),
            ))
        };
        let port = u16::try_from(config.port)
            .map_err(|_| bind_error(io::Error::other("port out of range")))?;
        let addr = (config.host.as_str(), port)
            .to_socket_addrs()
            .map_err(bind_error)?
            .next()
            .ok_or_else(|| bind_error(io::Error::other("the host has no address")))?;
        let listener = TcpListener::bind(addr).map_err(bind_error)?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let collectors = Arc::new(Collectors::new(config.export_jvm_info));
        let flag = Arc::clone(&stopping);
        let serving = Arc::clone(&collectors);
        let thread = std::thread::Builder::new()
            .name(format!("PrometheusMetricsProvider-{addr}"))
            .spawn(move || serve(&listener, &flag, &serving))?;
        *RUNNING.lock().unwrap() = Some(Arc::clone(&collectors));
        info!("/metrics endpoint listening on {addr}");
        Ok(PrometheusMetricsProvider {
            addr,
            stopping,
            thread: Some(thread),
            collectors,
        })
    }

    /// The bound address (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the endpoint.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stopping.store(true, Ordering::SeqCst);
        let mut running = RUNNING.lock().unwrap();
        if running
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &self.collectors))
        {
            *running = None;
        }
        drop(running);
        // Wakes the blocking accept; a wildcard address is reached on
        // loopback.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => [127, 0, 0, 1].into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = thread.join();
        info!("/metrics endpoint on {} stopped", self.addr);
    }
}

impl Drop for PrometheusMetricsProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a scrape gathers.
#[derive(Debug)]
struct Collectors {
    process: Option<prometheus::process_collector::ProcessCollector>,
}

impl Collectors {
    fn new(export_jvm_info: bool) -> Self {
        Collectors {
            process: export_jvm_info
                .then(prometheus::process_collector::ProcessCollector::for_self),
        }
    }

    /// Every family, sorted by name as 3.8's registry is not but as the
    /// format's readers expect one name to appear once.
    fn gather(&self, names: &[String]) -> Vec<MetricFamily> {
        let mut families = ServerMetrics::get().collect();
        if let Some(p) = &self.process {
            families.extend(
                p.collect()
                    .into_iter()
                    .filter(|mf| !NOT_IN_3_8.contains(&mf.name())),
            );
        }
        if !names.is_empty() {
            families.retain(|mf| names.iter().any(|n| n == mf.name()));
        }
        families.sort_by(|a, b| a.name().cmp(b.name()));
        families.dedup_by(|a, b| a.name() == b.name());
        families
    }

    fn text(&self, names: &[String]) -> Vec<u8> {
        let mut body = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.gather(names), &mut body) {
            warn!("Cannot encode the metrics: {e}");
        }
        body
    }
}

fn serve(listener: &TcpListener, stopping: &AtomicBool, collectors: &Collectors) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(s) => {
                let peer = s.peer_addr().ok();
                if let Err(e) = answer(s, collectors) {
                    warn!("/metrics request from {peer:?} failed: {e}");
                }
            }
            Err(e) => {
                warn!("/metrics accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// A parsed request line: method, path, query.
fn request_line(line: &str) -> Option<(&str, &str, &str)> {
    let mut parts = line.split_ascii_whitespace();
    let method = parts.next()?;
    let target = parts.next()?;
    parts.next()?.starts_with("HTTP/").then_some(())?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some((method, path, query))
}

/// The families a scrape asks for (the servlet's `name[]` parameters).
fn requested_names(query: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "name[]" || *k == "name%5B%5D")
        .map(|(_, v)| v.to_string())
        .collect()
}

fn answer(stream: TcpStream, collectors: &Collectors) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new((&stream).take(MAX_REQUEST_HEAD));
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(()); // a connect without a request (the stop's wake-up)
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut out = &stream;
    let Some((method, path, query)) = request_line(first.trim_end()) else {
        return respond(
            &mut out,
            "400 Bad Request",
            "text/plain",
            b"Bad Request\n",
            true,
        );
    };
    if path != METRICS_PATH {
        return respond(
            &mut out,
            "404 Not Found",
            "text/plain",
            b"Not Found\n",
            true,
        );
    }
    match method {
        "GET" | "POST" | "HEAD" => {
            let body = collectors.text(&requested_names(query));
            respond(
                &mut out,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
                method != "HEAD",
            )
        }
        _ => respond(
            &mut out,
            "405 Method Not Allowed",
            "text/plain",
            b"Method Not Allowed\n",
            true,
        ),
    }
}

fn respond(
    out: &mut impl Write,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if with_body {
        out.write_all(body)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    }

    fn loopback(export_jvm_info: bool) -> PrometheusConfig {
        PrometheusConfig {
            host: "127.0.0.1".into(),
            port: 0,
            export_jvm_info,
        }
    }

    #[test]
    fn config_defaults_and_bad_port() {
        let c = PrometheusConfig::from_properties(&BTreeMap::new()).unwrap();
        assert_eq!(
            c,
            PrometheusConfig {
                host: "0.0.0.0".into(),
                port: 7000,
                export_jvm_info: true
            }
        );
        let mut p = BTreeMap::new();
        p.insert("exportJvmInfo".to_string(), "no".to_string());
        assert!(
            !PrometheusConfig::from_properties(&p)
                .unwrap()
                .export_jvm_info
        );
        p.insert("httpPort".to_string(), "7x".to_string());
        let e = PrometheusConfig::from_properties(&p).unwrap_err();
        assert!(e.contains("httpPort=7x"), "{e}");
        let out_of_range = PrometheusConfig {
            port: 70000,
            ..loopback(false)
        };
        let e = PrometheusMetricsProvider::start(&out_of_range).unwrap_err();
        assert!(e.to_string().contains("127.0.0.1:70000"), "{e}");
    }

    #[test]
    fn serves_metrics_and_404_elsewhere() {
        let mut p = PrometheusMetricsProvider::start(&loopback(true)).unwrap();
        let addr = p.local_addr();
        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("# TYPE fsynctime summary\n"), "{ok}");
        assert!(ok.contains("fsynctime{quantile=\"0.5\"}"), "{ok}");
        assert!(ok.contains("# TYPE commit_count counter\n"), "{ok}");
        assert!(ok.contains("process_resident_memory_bytes "), "{ok}");
        assert!(!ok.contains("process_threads"), "{ok}");
        let one = get(addr, "GET /metrics?name[]=commit_count HTTP/1.1\r\n\r\n");
        assert!(one.contains("commit_count "), "{one}");
        assert!(!one.contains("fsynctime"), "{one}");
        let missing = get(addr, "GET /other HTTP/1.1\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
        let root = get(addr, "GET / HTTP/1.1\r\n\r\n");
        assert!(root.starts_with("HTTP/1.1 404 "), "{root}");
        p.stop();
        assert!(
            TcpStream::connect(addr).is_err(),
            "still listening on {addr}"
        );
    }

    #[test]
    fn dump_keys_samples_as_3_8s_mntr_does() {
        let keys: Vec<String> = samples(&Collectors::new(true).gather(&[]))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for k in [
            "fsynctime{quantile=\"0.5\"}",
            "fsynctime_count",
            "fsynctime_sum",
            "readlatency{quantile=\"0.99\"}",
            "commit_count",
            "process_open_fds",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} not in {keys:?}");
        }
    }

    #[test]
    fn a_taken_port_fails_naming_the_address() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let config = PrometheusConfig {
            port: i32::from(port),
            ..loopback(false)
        };
        let e = PrometheusMetricsProvider::start(&config).unwrap_err();
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    }
}
