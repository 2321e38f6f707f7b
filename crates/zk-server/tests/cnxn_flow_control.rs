//! When the selector stops and resumes reading: `globalOutstandingLimit`
//! throttling, and connections that arrive before the server is RUNNING
//! (the client port opens before the database is restored, as in 3.8);
//! and the `maxClientCnxns` limit per client address.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zk_config::{Properties, QuorumPeerConfig, ServerConfig};
use zk_persistence::jute::Record;
use zk_persistence::zoo_defs::{ids, op_code};
use zk_server::proto::{
    ConnectRequest, ConnectResponse, CreateRequest, GetDataRequest, ReplyHeader, RequestHeader,
};
use zk_server::ZooKeeperServerMain;

const BOUND: Duration = Duration::from_secs(30);

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p =
            std::env::temp_dir().join(format!("zk-server-flow-{}-{}", name, std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Dir, props: &[(&str, &str)]) -> ServerConfig {
    config_with(dir, "", props)
}

fn config_with(dir: &Dir, extra: &str, props: &[(&str, &str)]) -> ServerConfig {
    let text = format!("tickTime=200\ndataDir={}\n{extra}", dir.0.display());
    let qpc = QuorumPeerConfig::from_properties(&Properties::parse(&text).unwrap()).unwrap();
    let mut cfg = ServerConfig::from(&qpc);
    cfg.system_properties
        .set("zookeeper.admin.enableServer", "false");
    for (k, v) in props {
        cfg.system_properties.set(*k, *v);
    }
    cfg.client_port_address = Some("127.0.0.1:0".parse().unwrap());
    cfg
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn connect_frame() -> Vec<u8> {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 4000,
        session_id: 0,
        passwd: vec![0; 16],
    };
    let mut body = req.to_bytes();
    body.push(0); // readOnly
    framed(&body)
}

fn request_frame<R: Record>(xid: i32, op: i32, r: &R) -> Vec<u8> {
    let mut body = RequestHeader { xid, r#type: op }.to_bytes();
    body.extend_from_slice(&r.to_bytes());
    framed(&body)
}

fn create_frame(xid: i32, path: &str, data: &[u8]) -> Vec<u8> {
    let req = CreateRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: ids::open_acl_unsafe(),
        flags: 0,
    };
    request_frame(xid, op_code::CREATE, &req)
}

/// Reads one frame's body, failing the test past the deadline.
fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("a frame's length");
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("a frame's body");
    body
}

/// A raw client with a session: the stream, after the connect response.
fn session(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.write_all(&connect_frame()).unwrap();
    let rsp = ConnectResponse::from_bytes(&read_frame(&mut s)).unwrap();
    assert_ne!(rsp.session_id, 0);
    s
}

#[test]
fn outstanding_requests_stay_within_the_global_limit() {
    const LIMIT: i64 = 5;
    const CLIENTS: usize = 2;
    const REQUESTS: i32 = 400;
    let dir = Dir::new("throttle");
    let server =
        ZooKeeperServerMain::run(&config(&dir, &[("zookeeper.globalOutstandingLimit", "5")]))
            .unwrap();
    let zks = Arc::clone(server.server());
    assert_eq!(zks.global_outstanding_limit(), LIMIT);

    let peak = Arc::new(AtomicI64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (zks, peak, done) = (Arc::clone(&zks), Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(zks.stats.outstanding_requests(), Ordering::Relaxed);
                std::thread::yield_now();
            }
        })
    };

    // Each client writes all its creates in one go (each needs an fsync,
    // so the chain is far slower than the selector could read them). The
    // sessions come first: a createSession is not throttled.
    let sessions: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| session(server.client_addr()))
        .collect();
    let mut clients = Vec::new();
    for (c, mut s) in sessions.into_iter().enumerate() {
        clients.push(std::thread::spawn(move || {
            let mut all = Vec::new();
            for xid in 1..=REQUESTS {
                all.extend(create_frame(xid, &format!("/c{c}-{xid}"), b"x"));
            }
            s.write_all(&all).unwrap();
            for xid in 1..=REQUESTS {
                let body = read_frame(&mut s);
                let h = ReplyHeader::from_bytes(&body[..16]).unwrap();
                assert_eq!((h.xid, h.err), (xid, 0), "client {c}");
            }
        }));
    }
    let started = Instant::now();
    for c in clients {
        c.join().expect("a client failed");
    }
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    println!(
        "{} creates from {CLIENTS} pipelining clients answered in {:?}; at most {peak} requests in process (globalOutstandingLimit {LIMIT})",
        CLIENTS as i32 * REQUESTS,
        started.elapsed()
    );
    // Each connection may submit one request past the limit before it is
    // throttled.
    assert!(
        peak <= LIMIT + CLIENTS as i64,
        "{peak} requests were in process at once"
    );
    server.shutdown();
}

#[test]
fn connections_wait_while_the_server_starts_and_are_served_once_running() {
    let dir = Dir::new("startup");
    // A first run leaves a znode to restore.
    let server = ZooKeeperServerMain::run(&config(&dir, &[])).unwrap();
    let mut s = session(server.client_addr());
    s.write_all(&create_frame(1, "/restored", b"from the first run"))
        .unwrap();
    let h = ReplyHeader::from_bytes(&read_frame(&mut s)[..16]).unwrap();
    assert_eq!((h.xid, h.err), (1, 0));
    drop(s);
    server.shutdown();

    let starting = ZooKeeperServerMain::open_client_port(&config(&dir, &[])).unwrap();
    let addr = starting.client_addr();
    // The port is open and a connect request plus a read go in before
    // the database is restored.
    let mut early = TcpStream::connect(addr).unwrap();
    let mut ahead = connect_frame();
    ahead.extend(request_frame(
        1,
        op_code::GET_DATA,
        &GetDataRequest {
            path: "/restored".into(),
            watch: false,
        },
    ));
    early.write_all(&ahead).unwrap();
    // Four-letter words are answered meanwhile, saying so.
    let mut probe = TcpStream::connect(addr).unwrap();
    probe.set_read_timeout(Some(BOUND)).unwrap();
    probe.write_all(b"srvr").unwrap();
    let mut text = String::new();
    probe.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("not currently serving requests"),
        "srvr while starting: {text}"
    );
    // Held: neither answered nor closed.
    early
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    match early.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a connection before RUNNING got {other:?}"),
    }
    assert!(!matches!(
        starting.server().state(),
        zk_server::zookeeper_server::State::Running
    ));

    let server = starting.serve().unwrap();
    early.set_read_timeout(Some(BOUND)).unwrap();
    let rsp = ConnectResponse::from_bytes(&read_frame(&mut early)).unwrap();
    assert_ne!(rsp.session_id, 0, "the held connect request got a session");
    assert!(rsp.time_out > 0);
    let reply = read_frame(&mut early);
    let h = ReplyHeader::from_bytes(&reply[..16]).unwrap();
    assert_eq!((h.xid, h.err), (1, 0));
    // GetDataResponse: the data (length-prefixed), then the stat.
    let len = i32::from_be_bytes(reply[16..20].try_into().unwrap()) as usize;
    assert_eq!(&reply[20..20 + len], b"from the first run");
    server.shutdown();
}

#[test]
fn connections_past_max_client_cnxns_are_closed_and_others_kept() {
    let dir = Dir::new("maxcnxns");
    let server = ZooKeeperServerMain::run(&config_with(&dir, "maxClientCnxns=3\n", &[])).unwrap();
    let addr = server.client_addr();
    let mut kept: Vec<TcpStream> = (0..3).map(|_| session(addr)).collect();
    // The fourth from the same address is closed without a word.
    let mut extra = TcpStream::connect(addr).unwrap();
    extra.set_read_timeout(Some(BOUND)).unwrap();
    let _ = extra.write_all(&connect_frame());
    let mut buf = [0u8; 16];
    match extra.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("a connection past maxClientCnxns got {other:?}"),
    }
    // The three are still served.
    for (i, s) in kept.iter_mut().enumerate() {
        let xid = 1;
        s.write_all(&request_frame(
            xid,
            op_code::GET_DATA,
            &GetDataRequest {
                path: "/".into(),
                watch: false,
            },
        ))
        .unwrap();
        let h = ReplyHeader::from_bytes(&read_frame(s)[..16]).unwrap();
        assert_eq!((h.xid, h.err), (xid, 0), "session {i}");
    }
    // One gone, there is room again (once the server has seen it go).
    drop(kept.pop());
    let deadline = Instant::now() + BOUND;
    while server.server().stats.num_alive_connections() > 2 {
        assert!(
            Instant::now() < deadline,
            "the closed connection was not noticed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(session(addr));
    server.shutdown();
}
