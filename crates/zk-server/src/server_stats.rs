//! `ServerStats`: the counters behind `srvr`, `stat`, `mntr`, `cons` and
//! the admin server's JSON, plus the per-connection counters
//! (`ServerCnxn`'s stats) that `cons`/`stat` list.
//!
//! Who writes what:
//!
//! - the selector thread registers each connection ([`ServerStats::cnxn_opened`]),
//!   counts every frame read and queued ([`ServerStats::packet_received`],
//!   [`ServerStats::packet_sent`]) and unregisters it on close;
//! - `ZooKeeperServer::submit_request` counts a request in
//!   ([`ServerStats::request_submitted`]) and `FinalRequestProcessor`
//!   counts it out, with its latency ([`ServerStats::request_completed`]);
//! - the sync thread reports each fsync's duration
//!   ([`ServerStats::fsync_done`]).
//!
//! Everything is atomics or short-held locks: the hot path never waits on
//! a reader of these numbers.

use crate::server_metrics::ServerMetrics;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use zk_persistence::zoo_defs::OpCode;

use crate::expiry_queue::elapsed_ms;
use crate::request::{CnxnId, Request};

/// `fsync.warningthresholdms`'s default.
pub const DEFAULT_FSYNC_WARNING_THRESHOLD_MS: u64 = 1000;

/// `NIOServerCnxnFactory`'s `sessionlessCnxnTimeout` default: how long a
/// connection without a session may stay quiet, and the width of the
/// connection expiry buckets `dump` shows.
pub const SESSIONLESS_CNXN_TIMEOUT_MS: i64 = 10_000;

/// Milliseconds since the epoch, on the wall clock.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `AvgMinMaxCounter`: latency in whole milliseconds.
#[derive(Debug)]
pub struct AvgMinMaxCounter {
    total: AtomicI64,
    count: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
}

impl Default for AvgMinMaxCounter {
    fn default() -> Self {
        AvgMinMaxCounter {
            total: AtomicI64::new(0),
            count: AtomicI64::new(0),
            min: AtomicI64::new(i64::MAX),
            max: AtomicI64::new(i64::MIN),
        }
    }
}

impl AvgMinMaxCounter {
    pub fn add(&self, value: i64) {
        self.total.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.min.fetch_min(value, Ordering::Relaxed);
        self.max.fetch_max(value, Ordering::Relaxed);
    }

    /// 0 until something was recorded.
    pub fn min(&self) -> i64 {
        match self.min.load(Ordering::Relaxed) {
            i64::MAX => 0,
            v => v,
        }
    }

    pub fn max(&self) -> i64 {
        match self.max.load(Ordering::Relaxed) {
            i64::MIN => 0,
            v => v,
        }
    }

    /// The mean rounded half-up to 4 decimals, as 3.8 reports it.
    pub fn avg(&self) -> f64 {
        let count = self.count.load(Ordering::Relaxed);
        if count <= 0 {
            return 0.0;
        }
        let avg = self.total.load(Ordering::Relaxed) as f64 / count as f64;
        (avg * 10_000.0).round() / 10_000.0
    }

    /// How many values were added (used by tests).
    #[cfg(test)]
    pub fn count(&self) -> i64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        self.count.store(0, Ordering::Relaxed);
        self.min.store(i64::MAX, Ordering::Relaxed);
        self.max.store(i64::MIN, Ordering::Relaxed);
    }
}

/// `BufferStats`: sizes of the replies sent to clients, or of a leader's
/// proposals (-1 until one is).
#[derive(Debug)]
pub struct BufferStats {
    last: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
}

impl Default for BufferStats {
    fn default() -> Self {
        BufferStats {
            last: AtomicI64::new(-1),
            min: AtomicI64::new(-1),
            max: AtomicI64::new(-1),
        }
    }
}

impl BufferStats {
    /// Records one buffer of `size` bytes.
    pub fn record(&self, size: i64) {
        self.last.store(size, Ordering::Relaxed);
        // -1 means "nothing yet", so min must replace it, not keep it.
        let _ = self
            .min
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                (m < 0 || size < m).then_some(size)
            });
        self.max.fetch_max(size, Ordering::Relaxed);
    }

    /// The last size recorded.
    pub fn last(&self) -> i64 {
        self.last.load(Ordering::Relaxed)
    }

    /// The smallest size recorded.
    pub fn min(&self) -> i64 {
        self.min.load(Ordering::Relaxed)
    }

    /// The largest size recorded.
    pub fn max(&self) -> i64 {
        self.max.load(Ordering::Relaxed)
    }

    /// Back to nothing recorded.
    pub fn reset(&self) {
        for v in [&self.last, &self.min, &self.max] {
            v.store(-1, Ordering::Relaxed);
        }
    }
}

/// The per-connection numbers that change (guarded together so `cons`
/// sees one consistent reply's worth).
#[derive(Debug, Clone)]
pub struct CnxnCounters {
    pub session_id: i64,
    pub session_timeout: i32,
    /// The short name of the last operation answered (`lop`), "NA" before.
    pub last_op: &'static str,
    /// -1 until a client request (positive xid) is answered.
    pub last_cxid: i64,
    pub last_zxid: i64,
    /// Wall-clock ms of the last reply.
    pub last_response_time: i64,
    pub last_latency: i64,
    pub min_latency: i64,
    pub max_latency: i64,
    pub count: i64,
    pub total_latency: i64,
    /// `expiry_queue::elapsed_ms` of the last packet read (connection
    /// expiry in `dump`).
    pub last_activity: i64,
}

impl CnxnCounters {
    fn fresh(session_id: i64, session_timeout: i32, last_activity: i64) -> CnxnCounters {
        CnxnCounters {
            session_id,
            session_timeout,
            last_op: "NA",
            last_cxid: -1,
            last_zxid: -1,
            last_response_time: 0,
            last_latency: 0,
            min_latency: i64::MAX,
            max_latency: 0,
            count: 0,
            total_latency: 0,
            last_activity,
        }
    }

    /// 0 before any reply, as `ServerCnxn.getMinLatency`.
    pub fn min_latency(&self) -> i64 {
        if self.min_latency == i64::MAX {
            0
        } else {
            self.min_latency
        }
    }

    /// Integer mean, as `ServerCnxn.getAvgLatency`.
    pub fn avg_latency(&self) -> i64 {
        if self.count == 0 {
            0
        } else {
            self.total_latency / self.count
        }
    }
}

/// One client connection's statistics (`ServerCnxn`'s stats fields).
#[derive(Debug)]
pub struct CnxnStats {
    pub id: CnxnId,
    pub remote: SocketAddr,
    /// Wall-clock ms when the connection was accepted.
    pub established: i64,
    packets_received: AtomicU64,
    packets_sent: AtomicU64,
    /// Client requests (positive xid) submitted and not yet answered.
    outstanding: AtomicI64,
    counters: Mutex<CnxnCounters>,
}

impl CnxnStats {
    pub fn new(id: CnxnId, remote: SocketAddr) -> CnxnStats {
        CnxnStats {
            id,
            remote,
            established: wall_clock_ms(),
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            outstanding: AtomicI64::new(0),
            counters: Mutex::new(CnxnCounters::fresh(0, 0, elapsed_ms())),
        }
    }

    pub fn packets_received(&self) -> u64 {
        self.packets_received.load(Ordering::Relaxed)
    }

    pub fn packets_sent(&self) -> u64 {
        self.packets_sent.load(Ordering::Relaxed)
    }

    pub fn outstanding_requests(&self) -> i64 {
        self.outstanding.load(Ordering::Relaxed).max(0)
    }

    pub fn counters(&self) -> CnxnCounters {
        self.counters.lock().unwrap().clone()
    }

    /// The session this connection now carries.
    pub fn set_session(&self, session_id: i64, timeout: i32) {
        let mut c = self.counters.lock().unwrap();
        c.session_id = session_id;
        c.session_timeout = timeout;
    }

    /// `resetStats` (`crst`): everything but the session and the
    /// outstanding count starts over.
    pub fn reset(&self) {
        self.packets_received.store(0, Ordering::Relaxed);
        self.packets_sent.store(0, Ordering::Relaxed);
        let mut c = self.counters.lock().unwrap();
        *c = CnxnCounters::fresh(c.session_id, c.session_timeout, c.last_activity);
    }

    fn response(&self, cxid: i32, zxid: i64, op: &'static str, latency: i64) {
        let mut c = self.counters.lock().unwrap();
        if cxid >= 0 {
            c.last_cxid = cxid as i64;
        }
        c.last_zxid = zxid;
        c.last_op = op;
        c.last_response_time = wall_clock_ms();
        c.last_latency = latency;
        c.min_latency = c.min_latency.min(latency);
        c.max_latency = c.max_latency.max(latency);
        c.count += 1;
        c.total_latency += latency;
    }
}

/// Facts about the running server that the commands report but the
/// `ZooKeeperServer` itself does not hold (they belong to the factory
/// and to `ZooKeeperServerMain`).
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    /// The client port's address, once bound.
    pub client_addr: Option<SocketAddr>,
    /// The secure client port's address, once bound.
    pub secure_client_addr: Option<SocketAddr>,
    /// The secure client port's factory number (the high bits of its
    /// connections' ids, `cnxn::factory_of`).
    pub secure_factory: Option<u64>,
    /// `maxClientCnxns`.
    pub max_client_cnxns: i32,
    /// `clientPortListenBacklog`.
    pub listen_backlog: i32,
    /// The configuration text the server started from (`icfg`).
    pub initial_config: String,
}

/// See the module docs.
#[derive(Debug)]
pub struct ServerStats {
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    latency: AvgMinMaxCounter,
    /// Requests handed to the processor chain and not yet finished
    /// (`requestsInProcess`).
    in_process: AtomicI64,
    fsync_threshold_exceed_count: AtomicU64,
    fsync_warning_threshold_ms: AtomicU64,
    auth_failed_count: AtomicU64,
    client_response: BufferStats,
    started: Instant,
    connections: RwLock<BTreeMap<CnxnId, Arc<CnxnStats>>>,
    facts: RwLock<ServerFacts>,
}

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats {
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            latency: AvgMinMaxCounter::default(),
            in_process: AtomicI64::new(0),
            fsync_threshold_exceed_count: AtomicU64::new(0),
            fsync_warning_threshold_ms: AtomicU64::new(DEFAULT_FSYNC_WARNING_THRESHOLD_MS),
            auth_failed_count: AtomicU64::new(0),
            client_response: BufferStats::default(),
            started: Instant::now(),
            connections: RwLock::new(BTreeMap::new()),
            facts: RwLock::new(ServerFacts::default()),
        }
    }
}

/// The short operation names `cons` shows as `lop` (FinalRequestProcessor's
/// `lastOp`).
pub fn op_short_name(op: i32) -> &'static str {
    use OpCode::*;
    let Ok(op) = OpCode::try_from(op) else {
        return "NA";
    };
    match op {
        Ping => "PING",
        CreateSession => "SESS",
        Multi => "MULT",
        MultiRead => "MLTR",
        Create | Create2 | CreateTtl | CreateContainer => "CREA",
        Delete | DeleteContainer => "DELE",
        SetData => "SETD",
        Reconfig => "RECO",
        SetAcl => "SETA",
        CloseSession => "CLOS",
        Sync => "SYNC",
        Check => "CHEC",
        Exists => "EXIS",
        GetData => "GETD",
        SetWatches => "SETW",
        SetWatches2 => "STW2",
        AddWatch => "ADDW",
        GetAcl => "GETA",
        GetChildren | GetChildren2 => "GETC",
        GetAllChildrenNumber => "GETACN",
        CheckWatches => "CHKW",
        RemoveWatches => "REMW",
        WhoAmI => "HOMI",
        GetEphemerals => "GETE",
        Notification | Auth | Sasl | Error => "NA",
    }
}

impl ServerStats {
    // ---- hooks ----

    /// The selector accepted a connection.
    pub fn cnxn_opened(&self, id: CnxnId, remote: SocketAddr) -> Arc<CnxnStats> {
        let s = Arc::new(CnxnStats::new(id, remote));
        self.connections.write().unwrap().insert(id, Arc::clone(&s));
        s
    }

    pub fn cnxn_closed(&self, id: CnxnId) {
        self.connections.write().unwrap().remove(&id);
    }

    /// A whole frame (or a four-letter word) was read from `cnxn`.
    pub fn packet_received(&self, cnxn: &CnxnStats) {
        self.packets_received.fetch_add(1, Ordering::Relaxed);
        cnxn.packets_received.fetch_add(1, Ordering::Relaxed);
        cnxn.counters.lock().unwrap().last_activity = elapsed_ms();
    }

    /// A reply or event frame of `len` bytes (prefix included) was queued.
    pub fn packet_sent(&self, cnxn: &CnxnStats, len: usize) {
        self.packets_sent.fetch_add(1, Ordering::Relaxed);
        cnxn.packets_sent.fetch_add(1, Ordering::Relaxed);
        self.client_response.record(len.saturating_sub(4) as i64);
    }

    /// A request enters the processor chain.
    pub fn request_submitted(&self, r: &Request) {
        self.in_process.fetch_add(1, Ordering::Relaxed);
        if let (Some(id), true) = (r.cnxn, r.cxid > 0) {
            if let Some(c) = self.cnxn(id) {
                c.outstanding.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// `FinalRequestProcessor` is answering `r` with `last_zxid`: it
    /// leaves the chain, and a client's request counts toward latency.
    pub fn request_completed(&self, r: &Request, last_zxid: i64) {
        // Requests the server makes itself may reach Final without having
        // been counted in; the count must not go below zero for them.
        let _ = self
            .in_process
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some((v - 1).max(0))
            });
        let Some(id) = r.cnxn else {
            return;
        };
        let latency = r.create_time.elapsed().as_millis() as i64;
        self.latency.add(latency);
        // 3.8's updateLatency: requests with a txn header are updates.
        let m = ServerMetrics::get();
        if r.hdr.is_some() {
            m.update_latency.add(latency)
        } else {
            m.read_latency.add(latency)
        }
        if let Some(c) = self.cnxn(id) {
            if r.cxid > 0 {
                c.outstanding.fetch_sub(1, Ordering::Relaxed);
            }
            c.response(r.cxid, last_zxid, op_short_name(r.op), latency);
        }
    }

    /// The txn log was fsynced in `ms` milliseconds.
    pub fn fsync_done(&self, ms: u64) {
        ServerMetrics::get().fsync_time.add(ms as i64);
        if ms > self.fsync_warning_threshold_ms.load(Ordering::Relaxed) {
            self.fsync_threshold_exceed_count
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn set_fsync_warning_threshold_ms(&self, ms: u64) {
        self.fsync_warning_threshold_ms.store(ms, Ordering::Relaxed);
    }

    pub fn auth_failed(&self) {
        self.auth_failed_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Records facts the commands report (the factory and main call it).
    pub fn update_facts(&self, f: impl FnOnce(&mut ServerFacts)) {
        f(&mut self.facts.write().unwrap());
    }

    // ---- readers ----

    pub fn facts(&self) -> ServerFacts {
        self.facts.read().unwrap().clone()
    }

    pub fn cnxn(&self, id: CnxnId) -> Option<Arc<CnxnStats>> {
        self.connections.read().unwrap().get(&id).cloned()
    }

    /// Every open connection, oldest first.
    pub fn connections(&self) -> Vec<Arc<CnxnStats>> {
        self.connections.read().unwrap().values().cloned().collect()
    }

    /// The session each connection carries (0 before it has one), for
    /// turning the watch tables' connection ids into sessions.
    pub fn session_of(&self, id: CnxnId) -> i64 {
        self.cnxn(id).map_or(0, |c| c.counters().session_id)
    }

    pub fn num_alive_connections(&self) -> usize {
        self.connections.read().unwrap().len()
    }

    pub fn packets_received(&self) -> u64 {
        self.packets_received.load(Ordering::Relaxed)
    }

    pub fn packets_sent(&self) -> u64 {
        self.packets_sent.load(Ordering::Relaxed)
    }

    pub fn outstanding_requests(&self) -> i64 {
        self.in_process.load(Ordering::Relaxed)
    }

    pub fn min_latency(&self) -> i64 {
        self.latency.min()
    }

    pub fn avg_latency(&self) -> f64 {
        self.latency.avg()
    }

    pub fn max_latency(&self) -> i64 {
        self.latency.max()
    }

    /// Milliseconds since the server started.
    pub fn uptime_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    pub fn fsync_threshold_exceed_count(&self) -> u64 {
        self.fsync_threshold_exceed_count.load(Ordering::Relaxed)
    }

    pub fn auth_failed_count(&self) -> u64 {
        self.auth_failed_count.load(Ordering::Relaxed)
    }

    pub fn client_response(&self) -> &BufferStats {
        &self.client_response
    }

    // ---- resets ----

    /// `srst`: latency, packet counts and response sizes.
    pub fn reset(&self) {
        self.latency.reset();
        self.packets_received.store(0, Ordering::Relaxed);
        self.packets_sent.store(0, Ordering::Relaxed);
        self.client_response.reset();
    }

    /// `crst`: every connection's own statistics.
    pub fn reset_all_connection_stats(&self) {
        for c in self.connections() {
            c.reset();
        }
    }
}

/// Open file descriptors of this process (`/proc/self/fd`), -1 where
/// that cannot be read.
pub fn open_file_descriptor_count() -> i64 {
    match std::fs::read_dir("/proc/self/fd") {
        // The directory handle being read is itself one of the entries,
        // just as it is for the JVM's own count.
        Ok(d) => d.count() as i64,
        Err(_) => -1,
    }
}

/// The soft `Max open files` limit (`/proc/self/limits`), -1 where
/// unknown or unlimited.
pub fn max_file_descriptor_count() -> i64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| parse_max_open_files(&s))
        .unwrap_or(-1)
}

fn parse_max_open_files(limits: &str) -> Option<i64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Total size of the files under `dir`, recursively (`getDirSize`); 0
/// for a missing directory.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_counter_reports_zero_until_used_and_rounds_the_mean() {
        let c = AvgMinMaxCounter::default();
        assert_eq!((c.min(), c.avg(), c.max()), (0, 0.0, 0));
        for v in [1, 2, 2] {
            c.add(v);
        }
        assert_eq!((c.min(), c.max(), c.count()), (1, 2, 3));
        assert_eq!(c.avg(), 1.6667);
        c.reset();
        assert_eq!((c.min(), c.avg(), c.max()), (0, 0.0, 0));
    }

    #[test]
    fn buffer_stats_start_at_minus_one() {
        let b = BufferStats::default();
        assert_eq!((b.last(), b.min(), b.max()), (-1, -1, -1));
        b.record(10);
        b.record(4);
        b.record(7);
        assert_eq!((b.last(), b.min(), b.max()), (7, 4, 10));
        b.reset();
        assert_eq!((b.last(), b.min(), b.max()), (-1, -1, -1));
    }

    #[test]
    fn requests_are_counted_in_and_out_per_connection() {
        let s = ServerStats::default();
        let c = s.cnxn_opened(7, "127.0.0.1:5000".parse().unwrap());
        c.set_session(0x42, 4000);
        let mut r = Request::new(
            0x42,
            5,
            zk_persistence::zoo_defs::op_code::GET_DATA,
            Vec::new(),
        );
        r.cnxn = Some(7);
        s.request_submitted(&r);
        assert_eq!((s.outstanding_requests(), c.outstanding_requests()), (1, 1));
        s.request_completed(&r, 0x10);
        assert_eq!((s.outstanding_requests(), c.outstanding_requests()), (0, 0));
        let k = c.counters();
        assert_eq!(
            (k.last_op, k.last_cxid, k.last_zxid, k.count),
            ("GETD", 5, 0x10, 1)
        );
        s.packet_received(&c);
        s.packet_sent(&c, 20);
        assert_eq!((s.packets_received(), s.packets_sent()), (1, 1));
        assert_eq!(s.client_response().last(), 16);
        s.reset_all_connection_stats();
        assert_eq!((c.packets_received(), c.counters().last_op), (0, "NA"));
        assert_eq!(c.counters().session_id, 0x42);
        s.reset();
        assert_eq!((s.packets_received(), s.packets_sent()), (0, 0));
        assert_eq!(s.num_alive_connections(), 1);
        s.cnxn_closed(7);
        assert_eq!(s.num_alive_connections(), 0);
        assert_eq!(s.session_of(7), 0);
    }

    #[test]
    fn slow_fsyncs_are_counted() {
        let s = ServerStats::default();
        s.fsync_done(5);
        s.fsync_done(1001);
        assert_eq!(s.fsync_threshold_exceed_count(), 1);
        s.set_fsync_warning_threshold_ms(1);
        s.fsync_done(5);
        assert_eq!(s.fsync_threshold_exceed_count(), 2);
    }

    #[test]
    fn file_descriptor_limits_parse() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63704                63704                processes \n\
                      Max open files            1024                 1048576              files     \n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        assert_eq!(
            parse_max_open_files("Max open files  unlimited unlimited files"),
            None
        );
        if Path::new("/proc/self/fd").exists() {
            assert!(open_file_descriptor_count() > 0);
            assert!(max_file_descriptor_count() > 0);
        }
    }

    #[test]
    fn dir_size_sums_files_recursively() {
        let d = std::env::temp_dir().join(format!("zk-stats-dirsize-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("a"), [0u8; 10]).unwrap();
        std::fs::write(d.join("sub/b"), [0u8; 5]).unwrap();
        assert_eq!(dir_size(&d), 15);
        assert_eq!(dir_size(&d.join("missing")), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
