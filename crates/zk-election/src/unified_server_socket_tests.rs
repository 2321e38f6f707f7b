//! A TLS `UnifiedSocket` pair on loopback: data both ways with the reader
//! and the writer on different threads, port unification, refusals.

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use zk_config::{QuorumPeerConfig, SystemProperties};

use super::*;

/// A CA and one certificate (SAN IP:127.0.0.1) made by openssl in a fresh
/// directory; `None` (printed) without openssl.
fn certs(name: &str) -> Option<PathBuf> {
    certs_for(name, "IP:127.0.0.1")
}

/// [`certs`] with the node certificate's subject alternative names `san`.
fn certs_for(name: &str, san: &str) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("zk-election-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |f: &str| dir.join(f).display().to_string();
    let ok = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !ok(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
    ]) {
        println!("skipped: openssl cannot make a test CA");
        return None;
    }
    std::fs::write(
        dir.join("ext"),
        format!(
            "subjectAltName={san}\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth,clientAuth\n"
        ),
    )
    .unwrap();
    assert!(ok(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=node",
        "-keyout",
        &p("node.key"),
        "-out",
        &p("node.csr"),
    ]));
    assert!(ok(&[
        "x509",
        "-req",
        "-in",
        &p("node.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("ext"),
        "-out",
        &p("node.crt"),
    ]));
    let pem = [
        std::fs::read_to_string(dir.join("node.key")).unwrap(),
        std::fs::read_to_string(dir.join("node.crt")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("node.pem"), pem).unwrap();
    Some(dir)
}

fn tls(dir: &Path, ssl_quorum: bool, port_unification: bool) -> QuorumTls {
    tls_with(dir, ssl_quorum, port_unification, &[])
}

/// [`tls`] with further system properties.
fn tls_with(
    dir: &Path,
    ssl_quorum: bool,
    port_unification: bool,
    more: &[(&str, &str)],
) -> QuorumTls {
    let mut sys = SystemProperties::new();
    for (k, v) in more {
        sys.set(*k, *v);
    }
    sys.set(
        "zookeeper.ssl.quorum.keyStore.location",
        dir.join("node.pem").display().to_string(),
    );
    sys.set(
        "zookeeper.ssl.quorum.trustStore.location",
        dir.join("ca.pem").display().to_string(),
    );
    let props = zk_config::Properties::parse("dataDir=/tmp/x\n").unwrap();
    let mut cfg = QuorumPeerConfig::from_properties_with(&props, sys).unwrap();
    cfg.ssl_quorum = ssl_quorum;
    cfg.port_unification = port_unification;
    QuorumTls::from_config(&cfg).expect("the test stores load")
}

const T: Duration = Duration::from_secs(10);

/// Accepts one connection with `server` on a thread; returns the address
/// and the thread's result.
fn serve<R: Send + 'static>(
    server: Arc<QuorumTls>,
    f: impl FnOnce(io::Result<UnifiedSocket>) -> R + Send + 'static,
) -> (std::net::SocketAddr, thread::JoinHandle<R>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        tcp.set_read_timeout(Some(T)).unwrap();
        f(server.accept(tcp, T))
    });
    (addr, h)
}

#[test]
fn tls_both_ways_with_reader_and_writer_on_different_threads() {
    let Some(dir) = certs("both-ways") else {
        return;
    };
    let server = Arc::new(tls(&dir, true, false));
    let client = tls(&dir, true, false);
    // The server echoes every byte back, reading on one thread and
    // writing on another, through clones of one socket.
    let (addr, h) = serve(Arc::clone(&server), |s| {
        let s = s.expect("server handshake");
        assert!(s.is_tls());
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let w = s.try_clone().unwrap();
        let writer = thread::spawn(move || {
            for chunk in rx {
                (&w).write_all(&chunk).unwrap();
            }
        });
        let mut r = BufReader::new(s);
        let mut buf = vec![0u8; 4096];
        let mut total = 0;
        loop {
            // The client half-closes the TCP socket without a
            // close_notify: rustls calls that an unexpected end.
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => panic!("server read: {e}"),
            };
            total += n;
            tx.send(buf[..n].to_vec()).unwrap();
        }
        drop(tx);
        writer.join().unwrap();
        total
    });
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    let c = client.connect(tcp, addr.ip(), T).expect("client handshake");
    assert!(c.is_tls());
    // 4 MB: more than any socket buffer, so both sides block on writes
    // while the other reads.
    let data: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let w = c.try_clone().unwrap();
    let sent = data.clone();
    let writer = thread::spawn(move || {
        // Small writes, then one of 3 MB (a snapshot goes out so).
        let (small, big) = sent.split_at(1024 * 1024);
        for chunk in small.chunks(10_000) {
            (&w).write_all(chunk).unwrap();
        }
        (&w).write_all(big).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match (&c).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("after {} bytes: {e}", back.len()),
        }
    }
    writer.join().unwrap();
    assert_eq!(h.join().unwrap(), data.len());
    assert!(
        back == data,
        "the echo differs ({} of {} bytes)",
        back.len(),
        data.len()
    );
}

fn dial(client: &QuorumTls, addr: std::net::SocketAddr) -> io::Result<UnifiedSocket> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(T))?;
    client.connect(tcp, addr.ip(), T)
}

/// One line each way over an accepted connection.
fn hello_server(s: io::Result<UnifiedSocket>) -> io::Result<(bool, String)> {
    let s = s?;
    let mut line = [0u8; 5];
    (&s).read_exact(&mut line)?;
    (&s).write_all(b"world")?;
    Ok((s.is_tls(), String::from_utf8_lossy(&line).into_owned()))
}

#[test]
fn port_unification_accepts_tls_and_plaintext_and_dials_as_ssl_quorum_says() {
    let Some(dir) = certs("unification") else {
        return;
    };
    let server = Arc::new(tls(&dir, false, true));
    for client in [tls(&dir, true, false), QuorumTls::plaintext()] {
        let (addr, h) = serve(Arc::clone(&server), hello_server);
        let c = dial(&client, addr).expect("dial");
        assert_eq!(c.is_tls(), client.is_ssl_quorum());
        (&c).write_all(b"hello").unwrap();
        let mut back = [0u8; 5];
        (&c).read_exact(&mut back).unwrap();
        assert_eq!(&back, b"world");
        let (was_tls, got) = h.join().unwrap().expect("served");
        assert_eq!((was_tls, got.as_str()), (client.is_ssl_quorum(), "hello"));
    }
    // portUnification alone dials plaintext.
    assert!(!server.is_ssl_quorum());
}

#[test]
fn ssl_quorum_without_port_unification_refuses_a_plaintext_peer() {
    let Some(dir) = certs("plain-refused") else {
        return;
    };
    let (addr, h) = serve(Arc::new(tls(&dir, true, false)), hello_server);
    let c = dial(&QuorumTls::plaintext(), addr).expect("plaintext dial");
    // A plaintext election initial message (protocol version -65536).
    let _ = (&c).write_all(&[0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    let e = h
        .join()
        .unwrap()
        .expect_err("a plaintext peer must be refused");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
}

#[test]
fn an_untrusted_peer_is_refused_on_both_sides() {
    let (Some(ours), Some(theirs)) = (certs("trusted"), certs("untrusted")) else {
        return;
    };
    let (addr, h) = serve(Arc::new(tls(&ours, true, false)), hello_server);
    let e = dial(&tls(&theirs, true, false), addr).expect_err("an untrusted server");
    assert!(e.to_string().contains("invalid peer certificate"), "{e}");
    let e = h.join().unwrap().expect_err("an untrusted client");
    assert!(
        e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::UnexpectedEof,
        "{e}"
    );
}

#[test]
fn shutdown_from_another_thread_wakes_a_blocked_tls_read() {
    let Some(dir) = certs("halt") else {
        return;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr, h) = serve(Arc::new(tls(&dir, true, false)), move |s| {
        let s = s.expect("server handshake");
        tx.send(s.try_clone().unwrap()).unwrap();
        let started = std::time::Instant::now();
        let r = (&s).read(&mut [0u8; 16]);
        (r.map_err(|e| e.kind()), started.elapsed())
    });
    let _c = dial(&tls(&dir, true, false), addr).expect("dial");
    let other = rx.recv().unwrap();
    thread::sleep(Duration::from_millis(200));
    other.shutdown(Shutdown::Both).unwrap();
    let (r, took) = h.join().unwrap();
    assert!(
        took < T,
        "the read waited out its timeout ({took:?}): {r:?}"
    );
}

#[test]
fn changed_stores_are_used_by_new_connections_with_reload() {
    let (Some(a), Some(b)) = (certs("reload-a"), certs("reload-b")) else {
        return;
    };
    // The server starts with a's stores; then b's are written over them.
    let live = certs("reload-live").unwrap();
    for f in ["node.pem", "ca.pem"] {
        std::fs::copy(a.join(f), live.join(f)).unwrap();
    }
    let mut server = tls(&live, true, false);
    server.reload_for_tests(true);
    let server = Arc::new(server);
    let (addr, h) = serve(Arc::clone(&server), hello_server);
    let c = dial(&tls(&a, true, false), addr).expect("a trusts the first stores");
    (&c).write_all(b"hello").unwrap();
    h.join().unwrap().expect("served with a's stores");
    // A later modification time, whatever the file system's granularity.
    thread::sleep(Duration::from_millis(1100));
    for f in ["node.pem", "ca.pem"] {
        std::fs::copy(b.join(f), live.join(f)).unwrap();
    }
    let (addr, h) = serve(Arc::clone(&server), hello_server);
    let c = dial(&tls(&b, true, false), addr).expect("b trusts the reloaded stores");
    (&c).write_all(b"hello").unwrap();
    h.join().unwrap().expect("served with b's stores");
}

#[test]
fn a_certificate_naming_only_the_host_name_passes_by_that_name() {
    let Some(dir) = certs_for("by-name", "DNS:localhost") else {
        return;
    };
    // The server does not check the client's name (its certificate does
    // not name its address, and no reverse lookup is made).
    let off = [("zookeeper.ssl.quorum.hostnameVerification", "false")];
    let server = Arc::new(tls_with(&dir, true, false, &off));
    let client = tls(&dir, true, false);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        // connect's attempt, then connect_to_host's by address and by name.
        let mut results = Vec::new();
        for _ in 0..3 {
            let (tcp, _) = l.accept().unwrap();
            tcp.set_read_timeout(Some(T)).unwrap();
            results.push(hello_server(server.accept(tcp, T)).is_ok());
        }
        results
    });
    let mut dial = || TcpStream::connect(addr);
    let e = client
        .connect(dial().unwrap(), addr.ip(), T)
        .expect_err("the certificate does not name 127.0.0.1");
    assert!(e.to_string().contains("TLS handshake failed"), "{e}");
    let c = client
        .connect_to_host(&mut dial, addr.ip(), "localhost", T)
        .expect("the certificate names localhost");
    (&c).write_all(b"hello").unwrap();
    let mut back = [0u8; 5];
    (&c).read_exact(&mut back).unwrap();
    assert_eq!(h.join().unwrap(), [false, false, true]);
}

/// Quorum SASL (DIGEST-MD5) inside TLS, as with `sslQuorum` and
/// `quorum.auth.enableSasl` together: the learner reads the server's
/// packets straight from the TLS session, the server through the buffered
/// reader its connection keeps, and traffic after the exchange arrives
/// whole.
#[test]
fn quorum_sasl_runs_inside_tls() {
    use crate::quorum_auth::PeekableReader;
    use crate::{QuorumAuthLearner, QuorumAuthServer, SaslQuorumAuthLearner, SaslQuorumAuthServer};
    let Some(dir) = certs("sasl") else {
        return;
    };
    let jaas = zk_config::JaasConfiguration::parse(
        "QuorumServer { org.apache.zookeeper.server.auth.DigestLoginModule required \
         user_zk=\"pw\"; };\nQuorumLearner { org.apache.zookeeper.server.auth.DigestLoginModule \
         required username=\"zk\" password=\"pw\"; };\n",
    )
    .unwrap();
    let login = |s: &str| zk_config::sasl::Login::new(s, &jaas, Path::new("jaas.conf")).unwrap();
    let auth_server = SaslQuorumAuthServer::new(true, login("QuorumServer"), Default::default());
    let auth_learner =
        SaslQuorumAuthLearner::new(true, "zkquorum/localhost", login("QuorumLearner"));
    let (addr, h) = serve(Arc::new(tls(&dir, true, false)), move |s| {
        let s = s.expect("server handshake");
        let mut din = PeekableReader::new(BufReader::new(s.try_clone().unwrap()));
        auth_server.authenticate(&s, &mut din)?;
        let mut after = [0u8; 11];
        din.read_exact(&mut after)?;
        Ok::<_, io::Error>(after)
    });
    let c = dial(&tls(&dir, true, false), addr).expect("client handshake");
    auth_learner.authenticate(&c, "127.0.0.1").unwrap();
    (&c).write_all(b"after-auth!").unwrap();
    assert_eq!(&h.join().unwrap().unwrap(), b"after-auth!");
}
