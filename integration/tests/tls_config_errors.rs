//! Broken TLS settings on zk-bin's secure client port: a wrong keystore
//! password, a missing keystore, a missing truststore, a keystore that is
//! not one. Each gives a clear error naming the file, never a panic, and
//! never the password: either zk-bin exits (non-zero) saying so, or it
//! runs, refuses TLS clients and its log says so (3.8 creates its SSL
//! context only when the first client connects, and logs the failure
//! then). The server log never contains a password, even a wrong one.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration::apache::run_bounded;
use integration::ports::{free_port, TempDir};
use integration::tls::{cfg_text, is_missing_tool, StoreType, TlsFixture, PASSWORD};
use integration::zk_bin::ZkBinServer;

/// A password that must never show up in a log.
const WRONG_PASSWORD: &str = "not-the-pass-4711";

/// How zk-bin ended up with a broken setting.
enum Outcome {
    /// It exited with this status; its log.
    Exited(String, String),
    /// It kept running; its log after a TLS client tried.
    Running(String),
}

/// `openssl s_client` tries a handshake with `addr` (presenting the
/// client certificate); true when it completed one.
fn tls_handshake(tls: &TlsFixture, addr: SocketAddr) -> bool {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-brief", "-connect", &addr.to_string()])
        .arg("-CAfile")
        .arg(&tls.ca_pem)
        .arg("-cert")
        .arg(&tls.client.cert_pem)
        .arg("-key")
        .arg(&tls.client.key_pem)
        .stdin(Stdio::null());
    match run_bounded(cmd, Duration::from_secs(30)) {
        Ok((status, out, err)) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            );
            status.success() && text.contains("CONNECTION ESTABLISHED")
        }
        Err(_) => false,
    }
}

/// Starts zk-bin with `lines` (beside a plaintext clientPort for its
/// readiness) and sees what it does with them.
fn run_zk_bin(
    tls: &TlsFixture,
    work: &TempDir,
    lines: &[(String, String)],
    secure: u16,
) -> Outcome {
    let cfg = work.join("zoo.cfg");
    let port = free_port().unwrap();
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPortAddress=127.0.0.1\nclientPort={port}\n\
             admin.enableServer=false\n{}",
            work.join("data").display(),
            cfg_text(lines)
        ),
    )
    .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log_path = work.join("server.log");
    let mut ours = ZkBinServer::spawn(&cfg, addr, &log_path, &[]).unwrap_or_else(|e| panic!("{e}"));
    let secure_addr = SocketAddr::from(([127, 0, 0, 1], secure));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = ours.try_wait() {
            return Outcome::Exited(status.to_string(), ours.log_text());
        }
        if TcpStream::connect_timeout(&secure_addr, Duration::from_secs(1)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "zk-bin neither exited nor listened on {secure_addr} within 60 s; log:\n{}",
            ours.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !tls_handshake(tls, secure_addr),
        "zk-bin completed a TLS handshake with broken settings {lines:?}; log:\n{}",
        ours.log_text()
    );
    Outcome::Running(ours.log_text())
}

/// The secure port settings presenting node 1's PKCS12 store, with
/// `change` applied to them.
fn lines_with(
    tls: &TlsFixture,
    secure: u16,
    change: impl Fn(&mut Vec<(String, String)>),
) -> Vec<(String, String)> {
    let mut lines = integration::tls::secure_client_port_cfg(
        tls,
        tls.server(1),
        StoreType::Pkcs12,
        secure,
        "need",
    );
    change(&mut lines);
    lines
}

fn set(lines: &mut [(String, String)], key: &str, value: &str) {
    let entry = lines
        .iter_mut()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} among the settings"));
    entry.1 = value.to_string();
}

/// One broken setting: the error must name `file`.
fn check(tls: &TlsFixture, what: &str, file: &Path, change: impl Fn(&mut Vec<(String, String)>)) {
    let work = TempDir::new("zk-tls-config-error").unwrap();
    let secure = free_port().unwrap();
    let lines = lines_with(tls, secure, change);
    let outcome = run_zk_bin(tls, &work, &lines, secure);
    let (how, log) = match &outcome {
        Outcome::Exited(status, log) => (format!("exited ({status})"), log.clone()),
        Outcome::Running(log) => ("kept running and refused TLS".to_string(), log.clone()),
    };
    assert!(!log.contains("panicked"), "{what}: zk-bin panicked:\n{log}");
    for secret in [PASSWORD, WRONG_PASSWORD] {
        assert!(
            !log.contains(secret),
            "{what}: the log shows a password ({secret}):\n{log}"
        );
    }
    let name = file.display().to_string();
    assert!(
        log.lines().any(|l| l.contains(&name)),
        "{what}: zk-bin {how}, but no log line names {name}:\n{log}"
    );
    println!("{what}: zk-bin {how}, naming {name}");
}

#[test]
fn broken_keystores_give_errors_naming_the_file() {
    let work = TempDir::new("zk-tls-config-errors").unwrap();
    let tls = match TlsFixture::cached(Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(tls) => tls,
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let keystore = tls.server(1).p12.clone();
    check(&tls, "wrong keystore password", &keystore, |l| {
        set(l, "ssl.keyStore.password", WRONG_PASSWORD)
    });
    let missing = work.join("no-such-keystore.p12");
    check(&tls, "missing keystore", &missing, |l| {
        set(l, "ssl.keyStore.location", &missing.display().to_string())
    });
    let missing_trust = work.join("no-such-truststore.p12");
    check(&tls, "missing truststore", &missing_trust, |l| {
        set(
            l,
            "ssl.trustStore.location",
            &missing_trust.display().to_string(),
        )
    });
    // A PEM certificate where a PKCS12 keystore is configured.
    let not_a_store = tls.server(1).cert_pem.clone();
    check(&tls, "a keystore that is not PKCS12", &not_a_store, |l| {
        set(
            l,
            "ssl.keyStore.location",
            &not_a_store.display().to_string(),
        )
    });
}
