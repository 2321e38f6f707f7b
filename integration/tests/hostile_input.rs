//! Hostile input against a real zk-bin process: random bytes, truncated
//! frames, 2 GB length prefixes, connects with a bad session password,
//! 10,000 idle connections and a client that never reads its replies.
//!
//! Throughout, a well-behaved client (the `zookeeper-client` crate) keeps
//! writing and reading; each phase checks that it kept being served with
//! bounded latency. Every offending connection must end closed by the
//! server (EOF or reset on our side) with a line in the server's log
//! naming the connection (`client 127.0.0.1:<port>`) and the reason; the
//! client that never reads must not make the server's memory grow.
//!
//! The cases that close at once are checked first; the ones that close by
//! timeout (`sessionlessCnxnTimeout`, the session timeout) are started
//! early and checked at the end, so the test takes about one timeout.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration::ports::{free_port, TempDir};
use integration::workload::connect;
use integration::zk_bin::ZkBinServer;
use zookeeper_client::{Acls, CreateMode};

/// Any single wait.
const BOUND: Duration = Duration::from_secs(60);
/// `zookeeper.nio.sessionlessCnxnTimeout` for this server (3.8's default).
const SESSIONLESS_MS: u64 = 10_000;
/// The well-behaved client's worst latency for a write plus a read. Far
/// above what it sees (tens of ms); a server that stalls on a hostile
/// connection blows through it.
const GOOD_LATENCY: Duration = Duration::from_secs(5);
const IDLE_CONNECTIONS: usize = 10_000;
const GET_DATA: i32 = 4;

// ---- frames, written by hand: this test is about bytes ----

fn framed(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn connect_frame(session_id: i64, passwd: &[u8], timeout_ms: i32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0i32.to_be_bytes()); // protocolVersion
    b.extend_from_slice(&0i64.to_be_bytes()); // lastZxidSeen
    b.extend_from_slice(&timeout_ms.to_be_bytes());
    b.extend_from_slice(&session_id.to_be_bytes());
    b.extend_from_slice(&(passwd.len() as i32).to_be_bytes());
    b.extend_from_slice(passwd);
    b.push(0); // readOnly
    framed(&b)
}

fn get_data_frame(xid: i32, path: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&xid.to_be_bytes());
    b.extend_from_slice(&GET_DATA.to_be_bytes());
    b.extend_from_slice(&(path.len() as i32).to_be_bytes());
    b.extend_from_slice(path.as_bytes());
    b.push(0); // watch
    framed(&b)
}

/// The fields of a ConnectResponse: (timeOut, sessionId, passwd).
fn parse_connect_response(body: &[u8]) -> (i32, i64, Vec<u8>) {
    let int = |at: usize| i32::from_be_bytes(body[at..at + 4].try_into().unwrap());
    let timeout = int(4);
    let session = i64::from_be_bytes(body[8..16].try_into().unwrap());
    let len = int(16) as usize;
    (timeout, session, body[20..20 + len].to_vec())
}

/// Deterministic noise (xorshift64*).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

// ---- raw connections ----

/// An offending connection: what it did, and its socket.
struct Offender {
    what: String,
    stream: TcpStream,
    port: u16,
}

fn raw(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, BOUND).expect("connect");
    s.set_nodelay(true).unwrap();
    s
}

fn offender(addr: SocketAddr, what: impl Into<String>, bytes: &[u8]) -> Offender {
    let mut stream = raw(addr);
    let port = stream.local_addr().unwrap().port();
    if !bytes.is_empty() {
        stream.write_all(bytes).expect("write");
    }
    Offender {
        what: what.into(),
        stream,
        port,
    }
}

fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let mut body = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
    s.read_exact(&mut body)?;
    Ok(body)
}

/// A raw connection with a new session (the first frame answered).
fn raw_session(addr: SocketAddr, timeout_ms: i32) -> (TcpStream, i64) {
    let mut s = raw(addr);
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.write_all(&connect_frame(0, &[0; 16], timeout_ms))
        .unwrap();
    let (_, session, _) = parse_connect_response(&read_frame(&mut s).expect("connect response"));
    assert_ne!(session, 0);
    (s, session)
}

/// Reads (and drops) whatever comes until the server closes the
/// connection: EOF or a reset. False if it is still open at the deadline.
fn closed_by_server(s: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(200))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

// ---- the server's log ----

/// Why the server closed each connection, by the client's port, from the
/// "Closed socket connection for client 127.0.0.1:<port> which had
/// sessionid 0x..: <why>" lines.
fn close_reasons(log: &Path) -> HashMap<u16, String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut reasons = HashMap::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once("Closed socket connection for client 127.0.0.1:")
        else {
            continue;
        };
        let Some((port, rest)) = rest.split_once(' ') else {
            continue;
        };
        let Some((_, why)) = rest.split_once(": ") else {
            continue;
        };
        if let Ok(port) = port.parse() {
            reasons.insert(port, why.to_string());
        }
    }
    reasons
}

fn log_has(log: &Path, needle: &str) -> bool {
    std::fs::read_to_string(log).is_ok_and(|t| t.contains(needle))
}

/// Polls `cond` every 50 ms until it holds or `BOUND` passes.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks each offender was closed by the server, with a logged reason
/// containing one of `expected`.
fn check_closed(log: &Path, offenders: &mut [Offender], within: Duration, expected: &[&str]) {
    let deadline = Instant::now() + within;
    for o in offenders.iter_mut() {
        assert!(
            closed_by_server(&mut o.stream, deadline),
            "{}: the server did not close the connection from port {}",
            o.what,
            o.port
        );
    }
    let mut reasons = close_reasons(log);
    for o in offenders.iter() {
        if !reasons.contains_key(&o.port) {
            // The close may be a moment ahead of its log line.
            wait_until("a close line", || {
                reasons = close_reasons(log);
                reasons.contains_key(&o.port)
            });
        }
        let why = &reasons[&o.port];
        assert!(
            expected.iter().any(|e| why.contains(e)),
            "{} (port {}): closed because {why:?}, expected one of {expected:?}",
            o.what,
            o.port
        );
        println!("  {} -> closed: {why}", o.what);
    }
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn srvr(addr: SocketAddr) -> String {
    let mut s = raw(addr);
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.write_all(b"srvr").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// Raises this process's soft open-file limit to `needed` (within the hard
/// limit).
fn ensure_open_file_limit(needed: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct we pass, valid for the call.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    assert!(
        lim.rlim_max >= needed,
        "this test needs {needed} open files; the hard limit is {}",
        lim.rlim_max
    );
    if lim.rlim_cur < needed {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads only the struct we pass, valid for the call.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
}

// ---- the well-behaved client ----

#[derive(Default)]
struct GoodStats {
    ops: u64,
    max_latency: Duration,
    /// The slowest round since the last check.
    phase_max: Duration,
    errors: Vec<String>,
}

/// Waits until the good client has done `n` more round trips, and checks
/// it has seen no error and no slow one.
fn good_client_served(stats: &Mutex<GoodStats>, phase: &str, n: u64) {
    let start = stats.lock().unwrap().ops;
    wait_until(&format!("the good client served during {phase}"), || {
        stats.lock().unwrap().ops >= start + n
    });
    let mut s = stats.lock().unwrap();
    println!(
        "  good client, {phase}: slowest round {:?}",
        std::mem::take(&mut s.phase_max)
    );
    assert!(
        s.errors.is_empty(),
        "{phase}: good client errors {:?}",
        s.errors
    );
    assert!(
        s.max_latency < GOOD_LATENCY,
        "{phase}: the good client waited {:?}",
        s.max_latency
    );
}

#[test]
fn hostile_clients_are_closed_and_others_served() {
    ensure_open_file_limit(IDLE_CONNECTIONS as u64 + 500);
    let work = TempDir::new("zk-hostile").unwrap();
    let port = free_port().unwrap();
    let server = ZkBinServer::start(
        &work,
        port,
        &format!("maxClientCnxns=0\nnio.sessionlessCnxnTimeout={SESSIONLESS_MS}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = server.addr;
    let log = work.join("server.log");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The well-behaved client: a write and a read, over and over.
    let stats = Arc::new(Mutex::new(GoodStats::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let connect_string = addr.to_string();
    let good_session = rt.block_on(async {
        let c = connect(&connect_string, &[], None, false, BOUND)
            .await
            .unwrap();
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        c.create("/good", b"0", &all).await.unwrap();
        c.create("/small", &[7u8; 1024], &all).await.unwrap();
        let (stats, stop) = (Arc::clone(&stats), Arc::clone(&stop));
        let session = c.session_id().0;
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let started = Instant::now();
                let round = async {
                    c.set_data("/good", &i.to_be_bytes(), None).await?;
                    c.get_data("/good").await
                };
                let outcome = tokio::time::timeout(BOUND, round).await;
                let mut s = stats.lock().unwrap();
                match outcome {
                    Ok(Ok((data, _))) if data == i.to_be_bytes() => {}
                    other => s.errors.push(format!("round {i}: {other:?}")),
                }
                s.ops += 1;
                s.max_latency = s.max_latency.max(started.elapsed());
                s.phase_max = s.phase_max.max(started.elapsed());
            }
        });
        session
    });
    good_client_served(&stats, "start", 5);

    // ---- closed at once ----
    println!("closed at once:");
    let mut now = Vec::new();
    for seed in 0..20u64 {
        now.push(offender(
            addr,
            format!("random bytes #{seed}"),
            &noise(seed, 4096),
        ));
    }
    // A connect frame of the right length holding garbage.
    let mut garbage = framed(&noise(99, 60));
    garbage[4..8].copy_from_slice(&(-1i32).to_be_bytes());
    now.push(offender(addr, "garbage connect request", &garbage));
    now.push(offender(
        addr,
        "2 GB length prefix",
        &0x8000_0000u32.to_be_bytes(),
    ));
    now.push(offender(
        addr,
        "2 GB - 1 length prefix",
        &0x7fff_ffffu32.to_be_bytes(),
    ));
    for seed in 0..3u64 {
        let (mut s, session) = raw_session(addr, 30_000);
        s.write_all(&noise(1000 + seed, 4096)).unwrap();
        let port = s.local_addr().unwrap().port();
        now.push(Offender {
            what: format!("random bytes in session 0x{session:x}"),
            stream: s,
            port,
        });
    }
    let (mut s, session) = raw_session(addr, 30_000);
    s.write_all(&0x8000_0000u32.to_be_bytes()).unwrap();
    let port = s.local_addr().unwrap().port();
    now.push(Offender {
        what: format!("2 GB length prefix in session 0x{session:x}"),
        stream: s,
        port,
    });
    check_closed(
        &log,
        &mut now,
        BOUND,
        &[
            "Len error",
            "malformed",
            // A random length that happens to be in range waits for its
            // bytes until the sessionless timeout.
            "connection expired",
        ],
    );

    // A bad password for the good client's own session, and for a session
    // that never existed: a ConnectResponse with session 0 and timeout 0,
    // then the close. The good client's connection is not touched.
    for (what, session, passwd) in [
        (
            "bad password for a live session",
            good_session,
            vec![0xabu8; 16],
        ),
        ("unknown session", 0x7777_0000_0000_0001i64, vec![1u8; 16]),
    ] {
        let mut s = raw(addr);
        s.set_read_timeout(Some(BOUND)).unwrap();
        s.write_all(&connect_frame(session, &passwd, 30_000))
            .unwrap();
        let (timeout, got, passwd) =
            parse_connect_response(&read_frame(&mut s).expect("a ConnectResponse"));
        assert_eq!((timeout, got), (0, 0), "{what}");
        assert_eq!(passwd, vec![0u8; 16], "{what}");
        let port = s.local_addr().unwrap().port();
        check_closed(
            &log,
            &mut [Offender {
                what: format!("{what} (0x{session:x})"),
                stream: s,
                port,
            }],
            BOUND,
            &["expired or its password is wrong"],
        );
    }
    assert!(log_has(&log, "Incorrect password from 127.0.0.1"));
    good_client_served(&stats, "the connections closed at once", 5);

    // ---- closed by a timeout: started now, checked at the end ----
    let mut truncated = Vec::new();
    truncated.push(offender(addr, "half a connect frame, then silence", &{
        let f = connect_frame(0, &[0; 16], 30_000);
        f[..f.len() / 2].to_vec()
    }));
    truncated.push(offender(
        addr,
        "two bytes of a length, then silence",
        &[0, 0],
    ));
    truncated.push(offender(addr, "connected, never wrote", &[]));
    let (mut s, session) = raw_session(addr, 4_000);
    s.write_all(&get_data_frame(1, "/good")[..10]).unwrap();
    let port = s.local_addr().unwrap().port();
    truncated.push(Offender {
        what: format!("half a request in session 0x{session:x}, then silence"),
        stream: s,
        port,
    });
    let half_closed = offender(addr, "half a connect frame, then end of stream", &{
        let f = connect_frame(0, &[0; 16], 30_000);
        f[..f.len() / 2].to_vec()
    });
    half_closed
        .stream
        .shutdown(std::net::Shutdown::Write)
        .unwrap();
    println!("closed at end of stream:");
    check_closed(&log, &mut [half_closed], BOUND, &["end of stream"]);
    let truncated_from = Instant::now();

    // ---- a client that never reads its replies ----
    println!("a client that never reads:");
    let pid = server.pid();
    let rss_before = proc_status_kb(pid, "VmRSS:");
    let (mut s, session) = raw_session(addr, 4_000);
    let nonreader_port = s.local_addr().unwrap().port();
    // 200,000 reads of a 1 KiB node: 4.6 MB of requests, 220 MB of replies.
    let mut requests = Vec::new();
    for xid in 1..=200_000 {
        requests.extend(get_data_frame(xid, "/small"));
    }
    // Write until everything is sent or the server says it stopped
    // reading (then the socket's buffers fill and writes would block).
    let pause_line = format!("Not reading from client 127.0.0.1:{nonreader_port} ");
    s.set_nonblocking(true).unwrap();
    let (mut written, mut last_progress) = (0, Instant::now());
    while written < requests.len() && last_progress.elapsed() < BOUND {
        match s.write(&requests[written..]) {
            Ok(n) => {
                written += n;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if log_has(&log, &pause_line) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50))
            }
            // Closed by the server (the checks below say why).
            Err(_) => break,
        }
    }
    wait_until(
        "the server to stop reading from the non-reading client",
        || log_has(&log, &pause_line),
    );
    good_client_served(&stats, "the non-reading client", 5);
    let hwm = proc_status_kb(pid, "VmHWM:");
    println!(
        "  wrote {} of {} bytes of requests; server RSS before {} kB, peak since {} kB",
        written,
        requests.len(),
        rss_before,
        hwm
    );
    assert!(
        hwm < rss_before + 48 * 1024,
        "the server grew from {rss_before} kB to {hwm} kB for a client that does not read"
    );
    let mut nonreader = [Offender {
        what: format!("never reads its replies (session 0x{session:x})"),
        stream: s,
        port: nonreader_port,
    }];
    // Its session ends when its timeout passes with nothing read from it.
    // (Reading the socket would make it a reading client, so wait on the
    // log, then on the socket.)
    wait_until("the server to close the non-reading client", || {
        close_reasons(&log).contains_key(&nonreader_port)
    });
    nonreader[0].stream.set_nonblocking(false).unwrap();
    check_closed(
        &log,
        &mut nonreader,
        BOUND,
        &["connection expired", "its session was closed"],
    );

    // ---- 10,000 idle connections ----
    println!("{IDLE_CONNECTIONS} idle connections:");
    let opening = Instant::now();
    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        idle.push(raw(addr));
    }
    let opened_in = opening.elapsed();
    let text = srvr(addr);
    let held: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Connections: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    println!("  opened in {opened_in:?}; srvr then counted {held} connections");
    if opened_in < Duration::from_millis(SESSIONLESS_MS * 8 / 10) {
        assert!(held >= IDLE_CONNECTIONS, "srvr: {text}");
    }
    good_client_served(&stats, "10,000 idle connections", 5);
    // A new client still gets a session and is served.
    rt.block_on(async {
        let c = connect(&connect_string, &[], None, false, BOUND)
            .await
            .unwrap();
        c.get_data("/good").await.unwrap();
    });
    let ports: Vec<u16> = idle
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    for s in &idle {
        s.set_nonblocking(true).unwrap();
    }
    // All closed by the server within the sessionless timeout (plus slack).
    let deadline = Instant::now() + Duration::from_millis(SESSIONLESS_MS) + BOUND;
    let mut open: Vec<usize> = (0..idle.len()).collect();
    let mut buf = [0u8; 16];
    while !open.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} idle connections were never closed",
            open.len()
        );
        open.retain(|&i| match idle[i].read(&mut buf) {
            Ok(0) => false,
            Ok(_) => panic!("the server wrote to an idle connection"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => true,
            Err(_) => false,
        });
        if !open.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let mut reasons = close_reasons(&log);
    wait_until("a close line for every idle connection", || {
        reasons = close_reasons(&log);
        ports.iter().all(|p| reasons.contains_key(p))
    });
    let expired = ports
        .iter()
        .filter(|p| reasons[p].contains("connection expired"))
        .count();
    println!(
        "  all closed by the server, {expired} with \"{}\"",
        reasons[&ports[0]]
    );
    assert_eq!(expired, ports.len());
    drop(idle);
    good_client_served(&stats, "the idle connections' expiry", 5);

    // ---- the timeouts started earlier ----
    println!("closed by a timeout:");
    let waited = truncated_from.elapsed();
    check_closed(
        &log,
        &mut truncated,
        Duration::from_millis(SESSIONLESS_MS).saturating_sub(waited) + BOUND,
        &["connection expired"],
    );

    // Checked while it still runs (it closes its own connection when it
    // stops).
    assert!(
        !log_has(&log, &format!("which had sessionid 0x{good_session:x}")),
        "the good client's connection was closed"
    );
    stop.store(true, Ordering::Relaxed);
    let s = stats.lock().unwrap();
    println!(
        "good client: {} write+read rounds, slowest {:?}, {} errors",
        s.ops,
        s.max_latency,
        s.errors.len()
    );
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert!(s.max_latency < GOOD_LATENCY);
    let limit_line = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .find(|l| l.to_lowercase().contains("open-file limit"))
        .map(str::to_string);
    println!("server: {}", limit_line.unwrap_or_default());
}
