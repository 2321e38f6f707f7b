//! The admin server over HTTPS, in process: a rustls client against
//! forceHttps and portUnification, plaintext refused where HTTPS is
//! forced, a stalled handshake closed at its deadline while others are
//! served, a key store that cannot be loaded named in the error.
//! Certificates come from openssl at test time (skipped without it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zk_config::rustls;
use zk_config::rustls::pki_types::pem::PemObject;
use zk_config::rustls::pki_types::{CertificateDer, ServerName};
use zk_config::SystemProperties;

use crate::admin_server::{AdminServer, AdminServerConfig};
use crate::test_harness::{Harness, TempDir};
use crate::unified_connection_factory::AdminHttps;

/// A CA and a server certificate for 127.0.0.1 signed by it; the server's
/// PEM key store (key + chain) and the CA's certificate, or `None` (and a
/// note) when openssl is missing.
fn certificates(dir: &Path) -> Option<(String, String)> {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map(|o| {
                assert!(
                    o.status.success(),
                    "openssl {args:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                )
            })
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let ca = [
        &["req", "-x509", "-nodes", "-days", "2"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=admin test CA",
        ],
    ]
    .concat();
    if run(&ca).is_err() {
        eprintln!("SKIPPED: openssl is not installed");
        return None;
    }
    let csr = [
        &["req", "-nodes"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    ]
    .concat();
    run(&csr).unwrap();
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ])
    .unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let store = dir.join("keystore.pem");
    std::fs::write(&store, read("server.key") + &read("server.pem")).unwrap();
    Some((
        store.display().to_string(),
        dir.join("ca.pem").display().to_string(),
    ))
}

fn admin(h: &Harness, https: AdminHttps, key_store: &str, idle: Duration) -> AdminServer {
    let mut props = SystemProperties::new();
    props.set("zookeeper.admin.serverAddress", "127.0.0.1");
    props.set("zookeeper.admin.serverPort", "0");
    props.set("zookeeper.ssl.quorum.keyStore.location", key_store);
    let mut cfg = AdminServerConfig::from_properties(&props).unwrap().unwrap();
    cfg.https = https;
    cfg.idle_timeout = idle;
    cfg.load_tls(&props).unwrap();
    AdminServer::start(Arc::clone(&h.zks), cfg).unwrap()
}

fn client_config(ca: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

const RUOK: &[u8] = b"GET /commands/ruok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// The whole answer to `GET /commands/ruok` over HTTPS.
fn https_ruok(addr: SocketAddr, ca: &str) -> String {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(client_config(ca), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(RUOK).unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).unwrap();
    answer
}

/// Whatever comes back to a plaintext `GET /commands/ruok`, until the
/// server closes.
fn http_ruok(addr: SocketAddr) -> Vec<u8> {
    let mut sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock.write_all(RUOK).unwrap();
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer);
    answer
}

fn assert_ok_json(answer: &str, secure: bool) {
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\"command\": \"ruok\""), "{answer}");
    assert_eq!(
        answer.contains("Strict-Transport-Security: max-age=86400; includeSubDomains\r\n"),
        secure,
        "{answer}"
    );
}

#[test]
fn force_https_serves_https_only() {
    let dir = TempDir::new("admin-tls");
    let Some((store, ca)) = certificates(&dir.0) else {
        return;
    };
    let h = Harness::new(&[]);
    let mut server = admin(&h, AdminHttps::ForceHttps, &store, Duration::from_secs(30));
    let addr = server.local_addr();
    assert_ok_json(&https_ruok(addr, &ca), true);
    let plain = http_ruok(addr);
    assert!(
        !plain.starts_with(b"HTTP/"),
        "plaintext answered: {}",
        String::from_utf8_lossy(&plain)
    );
    server.shutdown();
}

#[test]
fn port_unification_serves_both() {
    let dir = TempDir::new("admin-tls");
    let Some((store, ca)) = certificates(&dir.0) else {
        return;
    };
    let h = Harness::new(&[]);
    let mut server = admin(
        &h,
        AdminHttps::PortUnification,
        &store,
        Duration::from_secs(30),
    );
    let addr = server.local_addr();
    assert_ok_json(&https_ruok(addr, &ca), true);
    assert_ok_json(&String::from_utf8(http_ruok(addr)).unwrap(), false);
    server.shutdown();
}

#[test]
fn a_stalled_handshake_holds_up_nobody_and_is_closed_at_its_deadline() {
    let dir = TempDir::new("admin-tls");
    let Some((store, ca)) = certificates(&dir.0) else {
        return;
    };
    let h = Harness::new(&[]);
    for https in [AdminHttps::ForceHttps, AdminHttps::PortUnification] {
        let idle = Duration::from_millis(1500);
        let mut server = admin(&h, https, &store, idle);
        let addr = server.local_addr();
        // One that says nothing, one that starts a TLS record and stops.
        let silent = TcpStream::connect(addr).unwrap();
        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(&[0x16, 0x03, 0x01]).unwrap();
        let opened = Instant::now();
        assert_ok_json(&https_ruok(addr, &ca), true);
        for mut stalled in [silent, half] {
            stalled
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut rest = Vec::new();
            let _ = stalled.read_to_end(&mut rest);
            let took = opened.elapsed();
            assert!(
                took >= idle - Duration::from_millis(100) && took < Duration::from_secs(15),
                "{https:?}: closed after {took:?}"
            );
        }
        server.shutdown();
    }
}

#[test]
fn a_key_store_that_cannot_be_loaded_is_named() {
    let dir = TempDir::new("admin-tls");
    let missing = dir.0.join("missing.pem").display().to_string();
    let not_pem = dir.0.join("not.pem");
    std::fs::write(&not_pem, "not a key store\n").unwrap();
    for store in [missing.clone(), not_pem.display().to_string()] {
        let mut props = SystemProperties::new();
        props.set("zookeeper.admin.forceHttps", "true");
        props.set("zookeeper.ssl.quorum.keyStore.location", &store);
        let mut cfg = AdminServerConfig::from_properties(&props).unwrap().unwrap();
        assert_eq!(cfg.https, AdminHttps::ForceHttps);
        let e = cfg.load_tls(&props).unwrap_err().to_string();
        assert!(
            e.contains("ssl.quorum.keyStore.location") && e.contains(&store),
            "{e}"
        );
    }
    let mut props = SystemProperties::new();
    props.set("zookeeper.admin.portUnification", "true");
    let mut cfg = AdminServerConfig::from_properties(&props).unwrap().unwrap();
    assert_eq!(cfg.https, AdminHttps::PortUnification);
    let e = cfg.load_tls(&props).unwrap_err().to_string();
    assert!(e.contains("ssl.quorum.keyStore.location"), "{e}");
}
