//! Unit tests of `tls.rs`: the settings helpers, and a real generation
//! checked with keytool and openssl.

use super::*;
use crate::ports::TempDir;

#[test]
fn dn_forms_round_trip() {
    assert_eq!(slash_dn(CLIENT_DN), "/O=zk-rs/OU=test/CN=zk-client");
    assert_eq!(
        slash_dn("CN=zk-server-1,OU=test,O=zk-rs"),
        "/O=zk-rs/OU=test/CN=zk-server-1"
    );
}

#[test]
fn settings_name_the_stores() {
    let id = Identity {
        name: "client".into(),
        subject_dn: CLIENT_DN.into(),
        key_pem: "/t/client.key".into(),
        cert_pem: "/t/client.crt".into(),
        pem: "/t/client.pem".into(),
        p12: "/t/client.p12".into(),
        jks: "/t/client.jks".into(),
    };
    let fixture = TlsFixture {
        dir: "/t".into(),
        ca_pem: "/t/ca.pem".into(),
        ca_key: "/t/ca.key".into(),
        truststore_jks: "/t/truststore.jks".into(),
        truststore_p12: "/t/truststore.p12".into(),
        untrusted_ca_pem: "/t/untrusted-ca.pem".into(),
        servers: vec![id.clone()],
        client: id.clone(),
        client2: id.clone(),
        untrusted: id.clone(),
        expired: id.clone(),
        wrong_host: id.clone(),
        v1_client: id.clone(),
    };
    let text = cfg_text(&fixture.quorum_cfg(&id, StoreType::Pkcs12));
    assert_eq!(
        text,
        "ssl.quorum.keyStore.location=/t/client.p12\n\
         ssl.quorum.keyStore.password=zk-test-pass\n\
         ssl.quorum.keyStore.type=PKCS12\n\
         ssl.quorum.trustStore.location=/t/truststore.p12\n\
         ssl.quorum.trustStore.password=zk-test-pass\n\
         ssl.quorum.trustStore.type=PKCS12\n"
    );
    let pem = cfg_text(&fixture.client_port_cfg(&id, StoreType::Pem));
    assert!(
        !pem.contains("password"),
        "PEM keys are unencrypted:\n{pem}"
    );
    assert!(pem.contains("ssl.trustStore.location=/t/ca.pem\n"), "{pem}");
    let flags = fixture.java_client_props(None, StoreType::Jks);
    assert!(flags.contains(&"-Dzookeeper.client.secure=true".to_string()));
    assert!(!flags.iter().any(|f| f.contains("keyStore")), "{flags:?}");
    assert!(flags.contains(&"-Dzookeeper.ssl.trustStore.location=/t/truststore.jks".into()));
}

fn keytool_list(store: &Path, store_type: &str) -> String {
    let mut cmd = Command::new("keytool");
    cmd.args([
        "-list",
        "-v",
        "-storepass",
        PASSWORD,
        "-storetype",
        store_type,
    ])
    .arg("-keystore")
    .arg(store);
    let (status, out, err) = run_bounded(cmd, TOOL_TIMEOUT).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(
        status.success(),
        "keytool -list {} failed: {text}{}",
        store.display(),
        String::from_utf8_lossy(&err)
    );
    text
}

fn openssl_text(cert: &Path) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["x509", "-noout", "-text", "-in"]).arg(cert);
    let (status, out, _) = run_bounded(cmd, TOOL_TIMEOUT).unwrap();
    assert!(status.success());
    String::from_utf8_lossy(&out).into_owned()
}

fn verify(ca: &Path, cert: &Path) -> bool {
    let mut cmd = Command::new("openssl");
    cmd.args(["verify", "-CAfile"]).arg(ca).arg(cert);
    run_bounded(cmd, TOOL_TIMEOUT).unwrap().0.success()
}

#[test]
fn generates_every_store_and_keytool_reads_them() {
    let dir = TempDir::new("zk-tls-fixture").unwrap();
    let tls = match TlsFixture::generate(dir.path()) {
        Ok(tls) => tls,
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let ids: Vec<&Identity> = tls
        .servers
        .iter()
        .chain([
            &tls.client,
            &tls.client2,
            &tls.untrusted,
            &tls.expired,
            &tls.wrong_host,
        ])
        .collect();
    for id in &ids {
        for f in [&id.key_pem, &id.cert_pem, &id.pem, &id.p12, &id.jks] {
            assert!(f.is_file(), "{} missing", f.display());
        }
        let pem = std::fs::read_to_string(&id.pem).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "{pem}");
    }
    let jks = keytool_list(&tls.client.jks, "JKS");
    assert!(jks.contains("PrivateKeyEntry"), "{jks}");
    assert!(jks.contains("CN=zk-client, OU=test, O=zk-rs"), "{jks}");
    let p12 = keytool_list(&tls.server(3).p12, "PKCS12");
    assert!(
        p12.contains("PrivateKeyEntry") && p12.contains("CN=zk-server-3"),
        "{p12}"
    );
    for (store, ty) in [
        (&tls.truststore_jks, "JKS"),
        (&tls.truststore_p12, "PKCS12"),
    ] {
        let list = keytool_list(store, ty);
        assert!(
            list.contains("trustedCertEntry") && list.contains("zk-test-ca"),
            "{list}"
        );
    }
    let server = openssl_text(&tls.server(1).cert_pem);
    for san in [
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:127.0.0.6",
        "IP Address:127.0.0.15",
    ] {
        assert!(server.contains(san), "server cert lacks {san}:\n{server}");
    }
    assert!(server.contains("TLS Web Client Authentication"), "{server}");
    assert!(verify(&tls.ca_pem, &tls.client.cert_pem));
    assert!(verify(&tls.ca_pem, &tls.wrong_host.cert_pem));
    assert!(
        !verify(&tls.ca_pem, &tls.untrusted.cert_pem),
        "untrusted cert verifies"
    );
    assert!(verify(&tls.untrusted_ca_pem, &tls.untrusted.cert_pem));
    assert!(
        !verify(&tls.ca_pem, &tls.expired.cert_pem),
        "expired cert verifies"
    );
    let expired = openssl_text(&tls.expired.cert_pem);
    assert!(
        expired.contains("Not After : Feb  1 00:00:00 2020 GMT"),
        "{expired}"
    );
    assert!(
        expired.contains("Subject: O = zk-rs, OU = test, CN = zk-expired"),
        "{expired}"
    );
    let v1 = openssl_text(&tls.v1_client.cert_pem);
    assert!(
        v1.contains("Version: 1 (0x0)") && !v1.contains("X509v3"),
        "{v1}"
    );
    assert!(verify(&tls.ca_pem, &tls.v1_client.cert_pem));
    assert!(openssl_text(&tls.client.cert_pem).contains("Version: 3 (0x2)"));
    assert_eq!(tls.client.subject_dn, CLIENT_DN);
    assert_eq!(tls.client2.subject_dn, CLIENT2_DN);
}

#[test]
fn cached_generates_once_and_reuses() {
    let cache = TempDir::new("zk-tls-fixture-cache").unwrap();
    let first = match TlsFixture::cached(cache.path()) {
        Ok(tls) => tls,
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert!(first.client.jks.is_file() && first.dir.join("complete").is_file());
    let modified = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let before = modified(&first.ca_pem);
    let second = TlsFixture::cached(cache.path()).unwrap();
    assert_eq!(second.dir, first.dir);
    assert_eq!(modified(&second.ca_pem), before, "the CA was made again");
    let leftovers: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "staging dirs left behind: {leftovers:?}"
    );
}
