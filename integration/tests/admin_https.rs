//! The admin server over HTTPS on a real zk-bin, with curl:
//! `admin.forceHttps=true` answers `curl -k https://...` (and curl
//! verifying the certificate against the test CA) and refuses plain HTTP;
//! `admin.portUnification=true` answers both on the one port; a key store
//! that cannot be loaded stops the server with exit status 2, naming the
//! file. And the secrets: the PKCS12 key and trust store password and the
//! super digest set in zoo.cfg, another password as a JVMFLAGS -D, appear
//! in none of `conf`,
//! `envi`, the admin server's configuration / environment /
//! system_properties, or the server's log.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use integration::apache::four_letter;
use integration::ports::{free_port_except, TempDir};
use integration::tls::{cfg_text, is_missing_tool, StoreType, TlsFixture, PASSWORD};
use integration::zk_bin::ZkBinServer;

const JVM_PASSWORD: &str = "Jvm-Flag-Secret-72";
const DIGEST: &str = "super:SecretDigestNotForLogs0123456789=";

/// The certificates, or `None` (printed as skipped) without openssl,
/// keytool or curl.
fn fixture(dir: &TempDir) -> Option<TlsFixture> {
    if Command::new("curl").arg("--version").output().is_err() {
        println!("SKIPPED: curl is not installed");
        return None;
    }
    match TlsFixture::generate(dir.path()) {
        Ok(tls) => Some(tls),
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// zoo.cfg lines for an admin server on `admin_port` with `mode`
/// (`forceHttps` or `portUnification`), node 1's key store and the trust
/// store in the format `store`.
fn admin_cfg(tls: &TlsFixture, admin_port: u16, mode: &str, store: StoreType) -> String {
    let mut lines = vec![
        ("admin.enableServer".to_string(), "true".to_string()),
        ("admin.serverAddress".to_string(), "127.0.0.1".to_string()),
        ("admin.serverPort".to_string(), admin_port.to_string()),
        (format!("admin.{mode}"), "true".to_string()),
    ];
    lines.extend(tls.store_settings("ssl.quorum.", Some(tls.server(1)), store));
    cfg_text(&lines)
}

/// curl's exit status and output for `url` (`extra` before it).
fn curl(extra: &[&str], url: &str) -> (i32, String) {
    let out = Command::new("curl")
        .args(["-s", "-S", "--max-time", "20"])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn assert_ruok(answer: &(i32, String), what: &str) {
    assert!(
        answer.0 == 0
            && answer.1.contains("\"command\": \"ruok\"")
            && answer.1.contains("\"error\": null"),
        "{what}: {answer:?}"
    );
}

fn start(
    work: &TempDir,
    tls: &TlsFixture,
    mode: &str,
    store: StoreType,
    more: &str,
) -> (ZkBinServer, u16) {
    let port = free_port_except(&[]).unwrap();
    let admin_port = free_port_except(&[port]).unwrap();
    let extra = format!("{}{more}", admin_cfg(tls, admin_port, mode, store));
    let jvm = format!("-Djavax.net.ssl.keyStorePassword={JVM_PASSWORD}");
    let server = ZkBinServer::start_with_env(work, port, &extra, &[("JVMFLAGS", &jvm)])
        .unwrap_or_else(|e| panic!("{e}"));
    (server, admin_port)
}

#[test]
fn force_https_serves_https_only_and_prints_no_secret() {
    let work = TempDir::new("zk-admin-https").unwrap();
    let Some(tls) = fixture(&work) else { return };
    // The client port's stores too (read, unused without a secure port).
    let client_stores = tls.store_settings("ssl.", Some(tls.server(1)), StoreType::Pkcs12);
    let more = format!(
        "{}DigestAuthenticationProvider.superDigest={DIGEST}\n\
         4lw.commands.whitelist=*\n",
        cfg_text(&client_stores)
    );
    let (mut server, admin_port) = start(&work, &tls, "forceHttps", StoreType::Pkcs12, &more);
    let https = |cmd: &str| format!("https://127.0.0.1:{admin_port}/commands/{cmd}");
    assert_ruok(&curl(&["-k"], &https("ruok")), "curl -k");
    let ca = tls.ca_pem.display().to_string();
    assert_ruok(&curl(&["--cacert", &ca], &https("ruok")), "curl --cacert");
    let plain = curl(&[], &format!("http://127.0.0.1:{admin_port}/commands/ruok"));
    assert!(
        plain.0 != 0 && !plain.1.contains("\"command\""),
        "plain HTTP was answered under forceHttps: {plain:?}"
    );

    let mut outputs = Vec::new();
    for cmd in ["configuration", "environment", "system_properties"] {
        let (status, body) = curl(&["-k"], &https(cmd));
        assert_eq!(status, 0, "{cmd}: {body}");
        outputs.push((cmd.to_string(), body));
    }
    let addr: SocketAddr = server.addr;
    for word in ["conf", "envi"] {
        let answer = four_letter(addr, word, Duration::from_secs(10)).unwrap();
        assert!(answer.len() > 20, "{word}: {answer}");
        outputs.push((word.to_string(), answer));
    }
    let sysp = &outputs[2].1;
    for key in [
        "zookeeper.ssl.keyStore.password",
        "zookeeper.ssl.trustStore.password",
        "javax.net.ssl.keyStorePassword",
        "zookeeper.ssl.quorum.keyStore.password",
        "zookeeper.ssl.quorum.trustStore.password",
        "zookeeper.DigestAuthenticationProvider.superDigest",
    ] {
        assert!(
            sysp.contains(&format!("\"{key}\": \"<hidden>\"")),
            "{key} not listed as hidden: {sysp}"
        );
    }
    server.terminate(Duration::from_secs(20)).unwrap();
    outputs.push(("the log".to_string(), server.log_text()));
    for (what, text) in &outputs {
        for secret in [PASSWORD, JVM_PASSWORD, DIGEST] {
            assert!(!text.contains(secret), "{what} printed {secret}:\n{text}");
        }
    }
}

#[test]
fn port_unification_serves_https_and_http() {
    let work = TempDir::new("zk-admin-unified").unwrap();
    let Some(tls) = fixture(&work) else { return };
    let (mut server, admin_port) = start(&work, &tls, "portUnification", StoreType::Jks, "");
    assert_ruok(
        &curl(
            &["-k"],
            &format!("https://127.0.0.1:{admin_port}/commands/ruok"),
        ),
        "https",
    );
    assert_ruok(
        &curl(&[], &format!("http://127.0.0.1:{admin_port}/commands/ruok")),
        "http",
    );
    server.terminate(Duration::from_secs(20)).unwrap();
}

#[test]
fn a_key_store_that_cannot_be_loaded_stops_the_server() {
    let work = TempDir::new("zk-admin-badstore").unwrap();
    let Some(tls) = fixture(&work) else { return };
    let missing = work.join("no-such-keystore.pem").display().to_string();
    let p12 = tls
        .server(1)
        .keystore(StoreType::Pkcs12)
        .display()
        .to_string();
    let wrong = "Wrong-Pass-Not-Printed-73";
    let cases = [
        (
            StoreType::Pem,
            Some(missing.as_str()),
            None,
            missing.clone(),
        ),
        (StoreType::Pkcs12, None, Some(wrong), p12),
    ];
    for (store, location, password, named) in cases {
        let port = free_port_except(&[]).unwrap();
        let admin_port = free_port_except(&[port]).unwrap();
        let mut cfg = admin_cfg(&tls, admin_port, "forceHttps", store);
        if let Some(location) = location {
            let real = tls.server(1).keystore(store).display().to_string();
            cfg = cfg.replace(&real, location);
        }
        if let Some(password) = password {
            cfg.push_str(&format!("ssl.quorum.keyStore.password={password}\n"));
        }
        let err = match ZkBinServer::start(&work, port, &cfg) {
            Ok(_) => panic!("zk-bin served with a {store:?} admin key store it cannot load"),
            Err(e) => e,
        };
        assert!(err.contains("exited with exit status: 2"), "{err}");
        assert!(
            err.contains("admin server") && err.contains(&named),
            "the error does not name {named}: {err}"
        );
        assert!(!err.contains(wrong), "the password was printed: {err}");
    }
}
