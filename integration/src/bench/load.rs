//! Closed-loop load: N sessions, each on its own thread, each sending its
//! next request as soon as the previous reply arrived. Throughput is then
//! what the server sustains with N requests in flight, and latency is each
//! request's round trip as the client saw it.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};

use std::time::{Duration, Instant};
use zk_config::rustls::ClientConfig;

use super::client::BenchClient;
use super::servers::{cpu_seconds, machine_busy_seconds, Running};

/// What a phase drives: the client ports its sessions spread over (round
/// robin) and the server processes whose CPU it counts; one of each for a
/// standalone server, one per node for an ensemble.
#[derive(Debug, Clone)]
pub struct Target {
    /// Label for the report (`zk-bin`, `apache`).
    pub name: String,
    /// Client ports; session `i` connects to `addrs[i % len]`.
    pub addrs: Vec<SocketAddr>,
    /// Server process ids whose CPU time the phase adds up.
    pub pids: Vec<u32>,
    /// The sessions' TLS context when they connect over TLS (`addrs` are
    /// then secure client ports).
    pub tls: Option<Arc<ClientConfig>>,
}

impl Target {
    /// The standalone server `server`: its secure client port with `tls`.
    pub fn of(server: &Running, tls: Option<&Arc<ClientConfig>>) -> Result<Target, String> {
        let addr = match tls {
            None => server.addr(),
            Some(_) => server
                .secure_addr()
                .ok_or_else(|| format!("{} has no secure client port", server.kind.name()))?,
        };
        Ok(Target {
            name: server.kind.name().to_string(),
            addrs: vec![addr],
            pids: vec![server.pid()?],
            tls: tls.cloned(),
        })
    }

    /// Opens session number `session`.
    fn connect(&self, session: usize) -> Result<BenchClient, String> {
        let addr = self.addr(session);
        BenchClient::connect_with(addr, SESSION_TIMEOUT, self.tls.as_ref())
            .map_err(|e| format!("connect to {} at {addr}: {e}", self.name))
    }

    fn addr(&self, session: usize) -> SocketAddr {
        self.addrs[session % self.addrs.len()]
    }

    fn cpu_seconds(&self) -> Result<f64, String> {
        self.pids.iter().map(|&pid| cpu_seconds(pid)).sum()
    }
}

/// The operation a phase repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `getData` of a random key.
    Get,
    /// `setData` of a random key.
    Set,
    /// `create` of a new persistent znode under the session's own parent.
    Create,
    /// 90% `getData`, 10% `setData`, random keys.
    Mixed,
}

impl Op {
    /// Every op: get, set, create, mixed.
    pub const ALL: [Op; 4] = [Op::Get, Op::Set, Op::Create, Op::Mixed];

    /// The op's name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Set => "set",
            Op::Create => "create",
            Op::Mixed => "mixed",
        }
    }

    /// The op named `name` (as printed by [`Op::name`]), if there is one.
    pub fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// What every phase shares.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Concurrent client sessions, each running a closed loop.
    pub clients: usize,
    /// Bytes of data in each written (and pre-filled) znode.
    pub value_size: usize,
    /// Time the clients run before measuring starts (not counted).
    pub warmup: Duration,
    /// Length of the measured window.
    pub duration: Duration,
    /// Keys that gets and sets pick from (`/bench/k<i>`).
    pub keys: usize,
}

/// The session timeout the benchmark asks for; no session idles that long.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// One phase's outcome.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// The operation the phase repeated.
    pub op: Op,
    /// Operations that started and finished inside the measured window.
    pub ops: u64,
    /// Length of the measured window, in seconds.
    pub seconds: f64,
    /// Round trips of those operations, in ns, sorted.
    pub latencies_ns: Vec<u64>,
    /// CPU the server used during the measured window.
    pub server_cpu_seconds: f64,
    /// CPU this process (the clients) used during the measured window.
    pub client_cpu_seconds: f64,
    /// CPU other processes used meanwhile: more than a few percent of the
    /// window means the figures are disturbed.
    pub other_cpu_seconds: f64,
}

impl PhaseResult {
    /// Throughput: measured operations per second of the window.
    pub fn ops_per_second(&self) -> f64 {
        self.ops as f64 / self.seconds
    }

    /// Server CPU per operation, in microseconds.
    pub fn server_cpu_us_per_op(&self) -> f64 {
        self.server_cpu_seconds * 1e6 / self.ops.max(1) as f64
    }
}

/// The `q` quantile (0..=1) of sorted samples, in ms.
pub fn quantile_ms(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted_ns.len() as f64 * q).ceil() as usize).clamp(1, sorted_ns.len());
    sorted_ns[rank - 1] as f64 / 1e6
}

fn key_path(i: usize) -> String {
    format!("/bench/k{i}")
}

fn client_parent(c: usize) -> String {
    format!("/bench/c{c}")
}

/// Creates what the phases use: `/bench`, the keys (with a value of the
/// phase size) and one parent per session for its creates.
pub fn prepare(target: &Target, settings: &LoadSettings) -> Result<(), String> {
    let mut client = target.connect(0)?;
    if let Some(tls) = client.tls_parameters() {
        println!("{} over TLS: {tls}", target.name);
    }
    let value = vec![b'v'; settings.value_size];
    let mut paths = vec!["/bench".to_string()];
    paths.extend((0..settings.keys).map(key_path));
    paths.extend((0..settings.clients).map(client_parent));
    for path in &paths {
        let data: &[u8] = if path.starts_with("/bench/k") {
            &value
        } else {
            b""
        };
        client
            .create(path, data)
            .map_err(|e| format!("{}: {e}", target.name))?;
    }
    client.close().map_err(|e| e.to_string())
}

/// A tiny fast generator (xorshift64*): the choice of key must cost the
/// client next to nothing and be the same sequence for both servers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Runs one phase of `op`: all sessions connect first, start together,
/// run `warmup` unmeasured, then `duration` measured.
pub fn run_phase(target: &Target, op: Op, settings: &LoadSettings) -> Result<PhaseResult, String> {
    let name = target.name.as_str();
    let mut clients = Vec::with_capacity(settings.clients);
    for session in 0..settings.clients {
        clients.push(target.connect(session)?);
    }
    let value = vec![b'w'; settings.value_size];
    let keys: Vec<String> = (0..settings.keys).map(key_path).collect();
    let start_line = Barrier::new(settings.clients + 1);
    let own_pid = std::process::id();

    let (per_client, server_cpu, client_cpu, machine_cpu) = std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(index, mut client)| {
                let (value, keys, start_line) = (&value, &keys, &start_line);
                let parent = client_parent(index);
                scope.spawn(move || -> Result<Vec<u64>, String> {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1));
                    let expected = (settings.duration.as_secs_f64() * 100_000.0
                        / settings.clients as f64) as usize;
                    let mut latencies = Vec::with_capacity(expected.min(4_000_000));
                    let mut seq = 0u64;
                    start_line.wait();
                    let measure_from = Instant::now() + settings.warmup;
                    let end = measure_from + settings.duration;
                    loop {
                        let started = Instant::now();
                        if started >= end {
                            break;
                        }
                        let key = &keys[(rng.next() % keys.len() as u64) as usize];
                        let result = match op {
                            Op::Get => client.get_data(key),
                            Op::Set => client.set_data(key, value),
                            Op::Create => {
                                seq += 1;
                                client.create(&format!("{parent}/n{seq}"), value)
                            }
                            Op::Mixed if rng.next() % 10 == 0 => client.set_data(key, value),
                            Op::Mixed => client.get_data(key),
                        };
                        result.map_err(|e| format!("{} on {name}: {e}", op.name()))?;
                        let finished = Instant::now();
                        if started >= measure_from && finished <= end {
                            latencies.push((finished - started).as_nanos() as u64);
                        }
                    }
                    client
                        .close()
                        .map_err(|e| format!("closing a session on {name}: {e}"))?;
                    Ok(latencies)
                })
            })
            .collect();
        // The main thread only samples CPU times at the window's edges.
        start_line.wait();
        std::thread::sleep(settings.warmup);
        let cpu_before = (
            target.cpu_seconds(),
            cpu_seconds(own_pid),
            machine_busy_seconds(),
        );
        std::thread::sleep(settings.duration);
        let cpu_after = (
            target.cpu_seconds(),
            cpu_seconds(own_pid),
            machine_busy_seconds(),
        );
        let per_client: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a client thread panicked".into()))
            })
            .collect();
        let diff = |a: Result<f64, String>, b: Result<f64, String>| Ok::<f64, String>(b? - a?);
        (
            per_client,
            diff(cpu_before.0, cpu_after.0),
            diff(cpu_before.1, cpu_after.1),
            diff(cpu_before.2, cpu_after.2),
        )
    });

    let mut latencies_ns = Vec::new();
    for lat in per_client {
        latencies_ns.extend(lat?);
    }
    latencies_ns.sort_unstable();
    let (server_cpu, client_cpu, machine_cpu) = (server_cpu?, client_cpu?, machine_cpu?);
    Ok(PhaseResult {
        op,
        ops: latencies_ns.len() as u64,
        seconds: settings.duration.as_secs_f64(),
        latencies_ns,
        server_cpu_seconds: server_cpu,
        client_cpu_seconds: client_cpu,
        other_cpu_seconds: (machine_cpu - server_cpu - client_cpu).max(0.0),
    })
}

/// Several rounds of the same phase on one server, as one result: ops and
/// seconds add up, the latency samples are pooled.
pub fn merge(results: &[PhaseResult]) -> Option<PhaseResult> {
    let first = results.first()?;
    let mut latencies_ns: Vec<u64> = results
        .iter()
        .flat_map(|r| r.latencies_ns.iter().copied())
        .collect();
    latencies_ns.sort_unstable();
    Some(PhaseResult {
        op: first.op,
        ops: results.iter().map(|r| r.ops).sum(),
        seconds: results.iter().map(|r| r.seconds).sum(),
        latencies_ns,
        server_cpu_seconds: results.iter().map(|r| r.server_cpu_seconds).sum(),
        client_cpu_seconds: results.iter().map(|r| r.client_cpu_seconds).sum(),
        other_cpu_seconds: results.iter().map(|r| r.other_cpu_seconds).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_the_sample_at_the_rank() {
        let samples: Vec<u64> = (1..=1000).map(|i| i * 1_000_000).collect();
        assert_eq!(quantile_ms(&samples, 0.5), 500.0);
        assert_eq!(quantile_ms(&samples, 0.99), 990.0);
        assert_eq!(quantile_ms(&samples, 0.999), 999.0);
        assert_eq!(quantile_ms(&samples, 1.0), 1000.0);
        assert_eq!(quantile_ms(&[7_000_000], 0.999), 7.0);
        assert!(quantile_ms(&[], 0.5).is_nan());
    }

    #[test]
    fn ops_parse_by_name() {
        for op in Op::ALL {
            assert_eq!(Op::parse(op.name()), Some(op));
        }
        assert_eq!(Op::parse("delete"), None);
    }
}
