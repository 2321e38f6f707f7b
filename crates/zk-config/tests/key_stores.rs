//! Key and trust stores of every kind keytool and openssl make (fixtures in
//! tests/data/tls, made by tests/data/gen.sh), their errors, and the
//! protocol and cipher suite settings.

mod tls_common;

use std::time::Duration;

use tls_common::{client_props, configs, data, handshake, props, server_props};
use zk_config::rustls;
use zk_config::{SystemProperties, X509Exception, X509Util};

fn server_error(p: &SystemProperties) -> X509Exception {
    X509Util::client(p).create_ssl_server_config().unwrap_err()
}

#[test]
fn every_key_store_kind_serves() {
    for (ks, ty) in [
        ("@server.p12", ""),
        ("@server.jks", ""),
        ("@server.pem", ""),
        ("@server-encrypted.pem", ""),
        ("@server-rsa.p12", ""),
        ("@server-rsa-pkcs1.pem", ""),
        ("@legacy-jdk8.p12", ""),
        ("@legacy-3des.p12", "PKCS12"),
        // Java 9+ reads either format under either name.
        ("@server.p12", "JKS"),
        ("@server.jks", "pkcs12"),
    ] {
        let server = server_props(ks, &[("clientAuth", "none"), ("keyStore.type", ty)]);
        let (s, c) = configs(&server, &client_props(None, &[]));
        handshake(s, c, "localhost").unwrap_or_else(|e| panic!("{ks} ({ty}): {e}"));
    }
}

#[test]
fn every_trust_store_kind_trusts_the_ca() {
    for ts in [
        "@truststore.p12",
        "@truststore.jks",
        "@truststore.pem",
        "@truststore-jdk8.p12",
    ] {
        let client = props(&[
            ("trustStore.location", ts),
            ("trustStore.password", "password"),
        ]);
        let server = server_props("@server.p12", &[("clientAuth", "none")]);
        let (s, c) = configs(&server, &client);
        handshake(s, c, "127.0.0.1").unwrap_or_else(|e| panic!("{ts}: {e}"));
    }
}

#[test]
fn self_signed_certificates_trusted_directly() {
    let server = server_props("@selfsigned.p12", &[("clientAuth", "none")]);
    let client = props(&[
        ("trustStore.location", "@selfsigned-trust.jks"),
        ("trustStore.password", "password"),
    ]);
    let (s, c) = configs(&server, &client);
    handshake(s, c, "127.0.0.1").unwrap();
}

#[test]
fn wrong_password_names_the_file_never_the_password() {
    for ks in [
        "@server.p12",
        "@server.jks",
        "@server-encrypted.pem",
        "@legacy-jdk8.p12",
    ] {
        let p = props(&[
            ("keyStore.location", ks),
            ("keyStore.password", "Sup3r-S3cret"),
            ("clientAuth", "none"),
        ]);
        let e = server_error(&p);
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "zookeeper.ssl.keyStore.location={}: ",
                data(&ks[1..])
            )),
            "{text}"
        );
        assert!(text.contains("wrong password"), "{text}");
        assert!(text.contains("zookeeper.ssl.keyStore.password"), "{text}");
        assert!(!text.contains("Sup3r-S3cret"), "{text}");
        assert!(!format!("{e:?}").contains("Sup3r-S3cret"));
    }
    for ts in ["@truststore.p12", "@truststore.jks"] {
        let p = props(&[("trustStore.location", ts), ("trustStore.password", "nope")]);
        let e = X509Util::client(&p).create_ssl_client_config().unwrap_err();
        assert!(e.to_string().contains("wrong password"), "{e}");
        // Unset is not "no password": 3.8 (JKS and PKCS12) checks the
        // integrity with an empty one, and fails.
        let p = props(&[("trustStore.location", ts)]);
        let e = X509Util::client(&p).create_ssl_client_config().unwrap_err();
        assert!(
            e.to_string()
                .contains("zookeeper.ssl.trustStore.password is not set"),
            "{e}"
        );
    }
    let p = props(&[
        ("keyStore.location", "@server-encrypted.pem"),
        ("clientAuth", "none"),
    ]);
    let e = server_error(&p);
    assert!(
        e.to_string()
            .contains("encrypted and zookeeper.ssl.keyStore.password is not set"),
        "{e}"
    );
    let p = props(&[
        ("keyStore.location", "@keypass.jks"),
        ("keyStore.password", "password"),
        ("clientAuth", "none"),
    ]);
    let e = server_error(&p);
    assert!(e.to_string().contains("must be the store password"), "{e}");
}

#[test]
fn missing_and_unusable_files() {
    let p = props(&[
        ("keyStore.location", "/nonexistent/ks.p12"),
        ("clientAuth", "none"),
    ]);
    let e = server_error(&p);
    assert!(
        e.to_string().starts_with(
            "zookeeper.ssl.keyStore.location=/nonexistent/ks.p12: cannot read the file"
        ),
        "{e}"
    );
    assert_eq!(e.file(), Some(std::path::Path::new("/nonexistent/ks.p12")));
    // A key store used as a trust store has no trusted entries.
    let p = props(&[
        ("trustStore.location", "@server.p12"),
        ("trustStore.password", "password"),
    ]);
    let e = X509Util::client(&p).create_ssl_client_config().unwrap_err();
    assert!(
        e.to_string().contains("no trusted certificate entry"),
        "{e}"
    );
    // A trust store holds no key.
    let p = props(&[
        ("keyStore.location", "@truststore.pem"),
        ("clientAuth", "none"),
    ]);
    assert!(server_error(&p).to_string().contains("no PRIVATE KEY"));
    // A server needs a key store.
    let e = server_error(&props(&[("clientAuth", "none")]));
    assert!(
        e.to_string()
            .starts_with("zookeeper.ssl.keyStore.location: not set"),
        "{e}"
    );
    // Garbage typed PKCS12.
    let p = props(&[
        ("keyStore.location", "@ca.pem"),
        ("keyStore.type", "PKCS12"),
        ("clientAuth", "none"),
    ]);
    assert!(server_error(&p).to_string().contains("damaged file"));
}

#[test]
fn store_types_and_extensions() {
    let dir = std::env::temp_dir().join(format!("zk-config-ks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let odd = dir.join("server.keystore");
    std::fs::copy(data("server.p12"), &odd).unwrap();
    let odd = odd.to_str().unwrap();
    let mut p = props(&[("keyStore.password", "password"), ("clientAuth", "none")]);
    p.set("zookeeper.ssl.keyStore.location", odd);
    let e = server_error(&p);
    assert!(
        e.to_string()
            .starts_with("zookeeper.ssl.keyStore.type=: unable to infer"),
        "{e}"
    );
    p.set("zookeeper.ssl.keyStore.type", "PKCS12");
    X509Util::client(&p).create_ssl_server_config().unwrap();
    p.set("zookeeper.ssl.keyStore.type", "BCFKS");
    assert!(server_error(&p).to_string().contains("BCFKS"));
    p.set("zookeeper.ssl.keyStore.type", "PFX");
    assert!(server_error(&p)
        .to_string()
        .starts_with("zookeeper.ssl.keyStore.type=PFX: "));
    // passwordPath wins over password; one trailing newline is dropped.
    let secret = dir.join("ks.pass");
    std::fs::write(&secret, "password\n").unwrap();
    p.set("zookeeper.ssl.keyStore.type", "PKCS12");
    p.set("zookeeper.ssl.keyStore.password", "wrong");
    p.set(
        "zookeeper.ssl.keyStore.passwordPath",
        secret.to_str().unwrap(),
    );
    X509Util::client(&p).create_ssl_server_config().unwrap();
    p.set("zookeeper.ssl.keyStore.passwordPath", "/nonexistent/pass");
    let e = server_error(&p);
    assert!(
        e.to_string()
            .starts_with("zookeeper.ssl.keyStore.passwordPath=/nonexistent/pass: "),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refused_settings() {
    let base = [
        ("keyStore.location", "@server.p12"),
        ("keyStore.password", "password"),
    ];
    for (k, v, word) in [
        (
            "context.supplier.class",
            "com.example.Supplier",
            "SSLContext supplier",
        ),
        ("crl", "true", "revocation"),
        ("ocsp", "TRUE", "revocation"),
        ("handshakeDetectionTimeoutMillis", "soon", "not a number"),
        ("protocol", "TLSv1.1", "not supported"),
        ("enabledProtocols", "TLSv1.2,SSLv3", "not supported"),
        ("ciphersuites", "TLS_NOPE", "unknown cipher suite"),
    ] {
        let mut pairs = base.to_vec();
        pairs.push((k, v));
        let e = server_error(&props(&pairs));
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("zookeeper.ssl.{k}={v}: ")),
            "{text}"
        );
        assert!(text.contains(word), "{text}");
    }
    let mut pairs = base.to_vec();
    pairs.extend([("crl", "false"), ("ocsp", "false"), ("clientAuth", "none")]);
    X509Util::client(&props(&pairs))
        .create_ssl_server_config()
        .unwrap();
}

#[test]
fn protocols_restrict_the_handshake() {
    let server13 = server_props(
        "@server.p12",
        &[("clientAuth", "none"), ("protocol", "TLSv1.3")],
    );
    // 3.8's default is TLSv1.2 only: no common version.
    let (s, c) = configs(&server13, &client_props(None, &[]));
    let e = handshake(s, c, "127.0.0.1").unwrap_err();
    assert!(
        zk_config::describe_tls_error(&e).contains("no TLS version"),
        "{e:?}"
    );
    let (s, c) = configs(
        &server13,
        &client_props(None, &[("enabledProtocols", "TLSv1.2,TLSv1.3")]),
    );
    let (server, _) = handshake(s, c, "127.0.0.1").unwrap();
    assert_eq!(
        server.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}

#[test]
fn cipher_suites_restrict_the_handshake() {
    let suite = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    let server = server_props(
        "@server.p12",
        &[("clientAuth", "none"), ("ciphersuites", suite)],
    );
    let (s, c) = configs(&server, &client_props(None, &[]));
    let (server_conn, _) = handshake(s, c, "127.0.0.1").unwrap();
    let negotiated = server_conn.negotiated_cipher_suite().unwrap().suite();
    assert_eq!(
        negotiated,
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    );
    // An EC key cannot serve an RSA suite.
    let rsa_only = server_props(
        "@server.p12",
        &[
            ("clientAuth", "none"),
            ("ciphersuites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        ],
    );
    let (s, c) = configs(&rsa_only, &client_props(None, &[]));
    assert!(handshake(s, c, "127.0.0.1").is_err());
    // Client and server with disjoint suites.
    let client = client_props(
        None,
        &[("ciphersuites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")],
    );
    let (s, c) = configs(&server, &client);
    let e = handshake(s, c, "127.0.0.1").unwrap_err();
    assert!(
        zk_config::describe_tls_error(&e).contains("in common"),
        "{e:?}"
    );
}

#[test]
fn timeouts_auth_provider_and_prefixes() {
    let u = X509Util::client(&SystemProperties::new());
    assert_eq!(u.handshake_detection_timeout(), Duration::from_millis(5000));
    assert_eq!(u.ssl_auth_provider(), "x509");
    assert!(u.hostname_verification());
    assert!(!u.client_hostname_verification());
    let p = props(&[
        ("handshakeDetectionTimeoutMillis", "250"),
        ("authProvider", "custom"),
    ]);
    let u = X509Util::client(&p);
    assert_eq!(u.handshake_detection_timeout(), Duration::from_millis(250));
    assert_eq!(u.ssl_auth_provider(), "custom");
    let p = props(&[("handshakeDetectionTimeoutMillis", "0")]);
    assert_eq!(
        X509Util::client(&p).handshake_detection_timeout(),
        Duration::from_millis(5000)
    );
    // The quorum reads its own prefix, not the client port's.
    let mut p = SystemProperties::new();
    p.set("zookeeper.ssl.quorum.keyStore.location", data("server.p12"));
    p.set("zookeeper.ssl.quorum.keyStore.password", "password");
    p.set(
        "zookeeper.ssl.quorum.trustStore.location",
        data("truststore.pem"),
    );
    p.set("zookeeper.ssl.clientAuth", "bogus");
    let q = X509Util::quorum(&p);
    assert_eq!(q.config_prefix(), "zookeeper.ssl.quorum.");
    assert!(q.client_hostname_verification());
    q.create_ssl_server_config().unwrap();
    q.create_ssl_client_config().unwrap();
    assert!(X509Util::client(&p).create_ssl_server_config().is_err());
}

#[test]
fn no_trust_store_means_the_system_bundle() {
    if !std::path::Path::new(zk_config::SYSTEM_CA_BUNDLE).exists() {
        println!("SKIPPED: no {}", zk_config::SYSTEM_CA_BUNDLE);
        return;
    }
    let server = server_props("@server.p12", &[("clientAuth", "none")]);
    let (s, c) = configs(&server, &props(&[]));
    let e = handshake(s, c, "127.0.0.1").unwrap_err();
    assert!(
        matches!(
            e,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{e:?}"
    );
}

/// Damaged stores (truncated, bytes flipped) are errors, never panics.
#[test]
fn damaged_stores_are_errors_not_panics() {
    let dir = std::env::temp_dir().join(format!("zk-config-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "server.p12",
        "server.jks",
        "server-encrypted.pem",
        "legacy-jdk8.p12",
        "truststore.jks",
    ] {
        let good = std::fs::read(data(name)).unwrap();
        let ext = name.rsplit('.').next().unwrap();
        let path = dir.join(format!("damaged.{ext}"));
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for cut in (0..good.len()).step_by(good.len() / 40 + 1) {
            variants.push(good[..cut].to_vec());
        }
        for at in (0..good.len()).step_by(good.len() / 60 + 1) {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            variants.push(bad);
        }
        for bad in variants {
            std::fs::write(&path, &bad).unwrap();
            let mut p = props(&[
                ("keyStore.password", "password"),
                ("trustStore.password", "password"),
            ]);
            p.set("zookeeper.ssl.keyStore.location", path.to_str().unwrap());
            p.set("zookeeper.ssl.trustStore.location", path.to_str().unwrap());
            let u = X509Util::client(&p);
            // Either may fail or (a flip in an unchecked byte) succeed;
            // neither may panic.
            let _ = u.create_ssl_server_config();
            let _ = u.create_ssl_client_config();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
