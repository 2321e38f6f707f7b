//! Hostile input on zk-bin's secure client port: random bytes, a
//! plaintext ZooKeeper connect frame, half a TLS handshake, a TLS record
//! header and then silence, and 1000 connections that never start a
//! handshake. While they hang on, a TLS client (zkCli over TLS) and a
//! plaintext one (`srvr` on the plaintext port) are served; every
//! offender is closed by the server, and the log names each one's
//! address with the reason.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use integration::apache::{four_letter, ApacheZk};
use integration::ports::{free_port, TempDir};
use integration::tls::{cfg_text, is_missing_tool, secure_client_port_cfg, StoreType, TlsFixture};
use integration::zk_bin::ZkBinServer;

/// Never-finishing handshakes.
const IDLE: usize = 1000;

/// How long the server may take to close an offender: 3.8 gives a TLS
/// handshake 10 s (Netty's default), and the box is busy.
const CLOSE_WITHIN: Duration = Duration::from_secs(90);

struct Offender {
    what: String,
    stream: TcpStream,
    port: u16,
}

fn offender(addr: SocketAddr, what: &str, bytes: &[u8]) -> Offender {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    let port = stream.local_addr().unwrap().port();
    if !bytes.is_empty() {
        // The server may close at once on bad bytes: a failed write is fine.
        let _ = stream.write_all(bytes);
    }
    Offender {
        what: what.to_string(),
        stream,
        port,
    }
}

/// Deterministic noise (xorshift), not starting with a TLS record type.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    out[0] = 0xAB;
    out
}

/// A ZooKeeper ConnectRequest frame as a plaintext client sends it first.
fn plaintext_connect() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0i32.to_be_bytes()); // protocolVersion
    body.extend_from_slice(&0i64.to_be_bytes()); // lastZxidSeen
    body.extend_from_slice(&30_000i32.to_be_bytes()); // timeOut
    body.extend_from_slice(&0i64.to_be_bytes()); // sessionId
    body.extend_from_slice(&16i32.to_be_bytes());
    body.extend_from_slice(&[0; 16]); // passwd
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

/// A handshake record header announcing 512 bytes, then 60 of them: a
/// ClientHello that never completes.
fn half_client_hello() -> Vec<u8> {
    let mut r = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    r.extend(noise(49));
    r
}

/// EOF or a reset before `deadline`.
fn closed_by_server(s: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 16 * 1024];
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

/// zkCli over TLS lists the root of the server at `secure`.
fn tls_client_served(zk: &ApacheZk, tls: &TlsFixture, work: &Path, secure: SocketAddr, log: &str) {
    let script = work.join("ls.txt");
    std::fs::write(&script, "ls /\nquit\n").unwrap();
    let props = tls.java_client_props(Some(&tls.client), StoreType::Pkcs12);
    let out = zk
        .zk_cli_with_props(
            &secure.to_string(),
            &script,
            Duration::from_secs(120),
            &props,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.lines().any(|l| l.trim_end() == "[zookeeper]"),
        "zkCli over TLS was not served beside the offenders:\n{out}\nserver log:\n{log}"
    );
}

#[test]
fn hostile_input_on_the_secure_port_is_closed_and_others_served() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("SKIPPED: the TLS client (zkCli) needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let tls = match TlsFixture::cached(Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(tls) => tls,
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    ensure_open_file_limit(IDLE as u64 + 512);
    let work = TempDir::new("zk-tls-hostile").unwrap();
    let port = free_port().unwrap();
    let secure_port = free_port().unwrap();
    let lines = secure_client_port_cfg(&tls, tls.server(1), StoreType::Pkcs12, secure_port, "need");
    let extra = format!("maxClientCnxns=0\n{}", cfg_text(&lines));
    let ours = ZkBinServer::start(&work, port, &extra).unwrap_or_else(|e| panic!("{e}"));
    let secure = SocketAddr::from(([127, 0, 0, 1], secure_port));

    let mut offenders = vec![
        offender(secure, "4 KB of random bytes", &noise(4096)),
        offender(
            secure,
            "a plaintext ZooKeeper connect frame",
            &plaintext_connect(),
        ),
        offender(secure, "half a ClientHello", &half_client_hello()),
        offender(
            secure,
            "a TLS record header, then nothing",
            &[0x16, 0x03, 0x01, 0x00, 0x80],
        ),
    ];
    for i in 0..IDLE {
        offenders.push(offender(
            secure,
            &format!("never-started handshake {i}"),
            &[],
        ));
    }
    println!("{} offenders connected", offenders.len());

    let srvr = four_letter(ours.addr, "srvr", Duration::from_secs(10));
    assert!(
        matches!(&srvr, Ok(a) if a.starts_with("Zookeeper version")),
        "the plaintext port was not served beside the offenders: {srvr:?}"
    );
    tls_client_served(&zk, &tls, work.path(), secure, &ours.log_text());

    let deadline = Instant::now() + CLOSE_WITHIN;
    for o in &mut offenders {
        assert!(
            closed_by_server(&mut o.stream, deadline),
            "{} (port {}) was not closed by the server within {CLOSE_WITHIN:?}",
            o.what,
            o.port
        );
    }
    // Every close is logged naming the client's address (the line may
    // trail the close by a moment).
    let log_deadline = Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let log = ours.log_text();
        let missing: Vec<&Offender> = offenders
            .iter()
            .filter(|o| !log.contains(&format!("127.0.0.1:{}", o.port)))
            .collect();
        if missing.is_empty() || Instant::now() >= log_deadline {
            break missing
                .iter()
                .map(|o| format!("{} (port {})", o.what, o.port))
                .collect::<Vec<_>>();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        missing.is_empty(),
        "{} offenders closed without a log line naming them, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let log = ours.log_text();
    for o in &offenders[..4] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("127.0.0.1:{}", o.port)))
            .unwrap_or_default();
        println!("{}: {line}", o.what);
    }
    assert!(!log.contains("panicked"), "zk-bin panicked:\n{log}");
    tls_client_served(&zk, &tls, work.path(), secure, &log);
}
