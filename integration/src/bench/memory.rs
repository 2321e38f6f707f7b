//! Memory with a large tree: fill a fresh server with N znodes through the
//! client as fast as it takes them (pipelined creates on a few sessions),
//! then read the server's resident set size.

use std::time::{Duration, Instant};

use super::client::BenchClient;
use super::load::SESSION_TIMEOUT;
use super::servers::Running;

/// Sessions filling the tree at once, each with up to [`WINDOW`] creates in
/// flight: 4 x 250 stays within the default globalOutstandingLimit (1000),
/// so neither server throttles the fill.
const SESSIONS: usize = 4;
const WINDOW: usize = 250;

/// Children per parent, as in the restore benchmark.
const FAN_OUT: u64 = 1000;

/// How long to let the server settle (finish a snapshot, a GC cycle)
/// before the resident size is read again.
const SETTLE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
/// The outcome of the memory measurement: the fill's time and the
/// server's resident size.
pub struct MemoryResult {
    /// Znodes the server reports (`srvr`), built-in ones included.
    pub node_count: u64,
    /// Wall time, in seconds, that creating the znodes took.
    pub fill_seconds: f64,
    /// VmRSS right after the last create was answered.
    pub rss_after_fill_kb: u64,
    /// VmRSS after [`SETTLE`].
    pub rss_kb: u64,
    /// VmHWM: the peak over the server's life.
    pub peak_rss_kb: u64,
}

/// Creates `nodes` znodes of `value_size` bytes under `/mem` (parents of
/// 1,000 children each) and measures the server's memory.
pub fn fill_and_measure(
    server: &Running,
    nodes: u64,
    value_size: usize,
) -> Result<MemoryResult, String> {
    let name = server.kind.name();
    let connect = || {
        BenchClient::connect(server.addr(), SESSION_TIMEOUT)
            .map_err(|e| format!("connect to {name}: {e}"))
    };
    let parents = nodes.div_ceil(FAN_OUT).max(1);
    let parent = |p: u64| format!("/mem/p{p:04}");
    let started = Instant::now();
    let mut setup = connect()?;
    let mut parent_paths = vec!["/mem".to_string()];
    parent_paths.extend((0..parents).map(parent));
    setup
        .create_batch(&parent_paths, b"", WINDOW)
        .map_err(|e| format!("{name}: {e}"))?;
    setup.close().map_err(|e| e.to_string())?;

    let value = vec![b'm'; value_size];
    let mut clients = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        clients.push(connect()?);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(index, mut client)| {
                let value = &value;
                scope.spawn(move || -> Result<(), String> {
                    // Session `index` fills parents index, index + SESSIONS, ...
                    for p in (index as u64..parents).step_by(SESSIONS) {
                        let first = p * FAN_OUT;
                        let last = ((p + 1) * FAN_OUT).min(nodes);
                        let paths: Vec<String> = (0..last.saturating_sub(first))
                            .map(|c| format!("{}/n{c:04}", parent(p)))
                            .collect();
                        client
                            .create_batch(&paths, value, WINDOW)
                            .map_err(|e| format!("filling {name}: {e}"))?;
                    }
                    client.close().map_err(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err("a fill thread panicked".into()))
        })
    })?;
    let fill_seconds = started.elapsed().as_secs_f64();
    let (rss_after_fill_kb, _) = server.rss_kb()?;
    std::thread::sleep(SETTLE);
    let (rss_kb, peak_rss_kb) = server.rss_kb()?;
    Ok(MemoryResult {
        node_count: server.node_count()?,
        fill_seconds,
        rss_after_fill_kb,
        rss_kb,
        peak_rss_kb,
    })
}
