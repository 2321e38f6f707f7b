//! Fail closed: every setting that asks 3.8 for TLS, SASL or enforced
//! authentication is refused with its key named, in zoo.cfg and as a JVM
//! flag; the same settings asking for nothing are honoured.

mod common;

use common::Scratch;
use zk_config::{ConfigErrorKind, QuorumPeerConfig, SystemProperties};

/// (zoo.cfg body after dataDir, the key and value the refusal names, what
/// it says is not supported).
const REFUSED: &[(&str, &str, &str)] = &[
    ("secureClientPort=2281\n", "secureClientPort=2281", "the secure client port"),
    ("clientPort=2181\nsecureClientPort=2281\nsecureClientPortAddress=127.0.0.1\n", "secureClientPort=2281", "the secure client port"),
    ("quorum.auth.enableSasl=true\n", "quorum.auth.enableSasl=true", "SASL authentication between quorum peers"),
    ("quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\nquorum.auth.serverRequireSasl=true\n", "quorum.auth.enableSasl=true", "SASL"),
    ("ssl.keyStore.location=/etc/zk/keystore.jks\n", "ssl.keyStore.location=/etc/zk/keystore.jks", "TLS (an ssl.* setting)"),
    ("ssl.quorum.sslProvider=OPENSSL\n", "ssl.quorum.sslProvider=OPENSSL", "TLS"),
    ("ssl.clientAuth=none\n", "ssl.clientAuth=none", "TLS"),
    ("client.portUnification=true\n", "client.portUnification=true", "TLS and plaintext on one client port"),
    ("admin.forceHttps=true\n", "admin.forceHttps=true", "HTTPS on the admin server"),
    ("admin.portUnification=true\n", "admin.portUnification=true", "HTTPS and HTTP on one admin port"),
    ("authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n", "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider", "an authentication provider other than digest and ip"),
    ("authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n", "authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider", "an authentication provider"),
    ("enforce.auth.enabled=true\nenforce.auth.schemes=digest\n", "enforce.auth.enabled=true", "enforced client authentication"),
    ("sessionRequireClientSASLAuth=true\n", "sessionRequireClientSASLAuth=true", "SASL authentication required of clients"),
    ("DigestAuthenticationProvider.digestAlg=SHA-256\n", "DigestAuthenticationProvider.digestAlg=SHA-256", "a digest algorithm other than SHA1"),
];

#[test]
fn each_security_setting_that_asks_for_security_is_refused() {
    let mut failures = Vec::new();
    for (body, named, feature) in REFUSED {
        let s = Scratch::new();
        match s.parse(&format!("clientPort=2181\n{body}")) {
            Ok(_) => failures.push(format!("{body:?}: accepted")),
            Err(e) => {
                let msg = s.shorten(&e.to_string());
                let ok = e.kind == ConfigErrorKind::UnsupportedSecurity
                    && msg.starts_with(&format!("zoo.cfg: {named}: {feature}"))
                    && msg.contains("not supported by zk-rs yet")
                    && msg.contains("less secure than configured");
                if !ok {
                    failures.push(format!("{body:?}: {:?} {msg:?}", e.kind));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_same_settings_asking_for_nothing_are_honoured() {
    let s = Scratch::new();
    let c = s.ok("clientPort=2181\nsslQuorum=false\nportUnification=false\n\
        sslQuorumReloadCertFiles=false\nquorum.auth.enableSasl=false\n\
        client.portUnification=false\nadmin.forceHttps=false\nadmin.portUnification=false\n\
        enforce.auth.enabled=false\nsessionRequireClientSASLAuth=false\n\
        authProvider.1=org.apache.zookeeper.server.auth.DigestAuthenticationProvider\n\
        authProvider.2=org.apache.zookeeper.server.auth.IPAuthenticationProvider\n\
        DigestAuthenticationProvider.digestAlg=SHA1\n");
    assert!(zk_config::unsupported_security_settings(&c, &Default::default()).is_empty());
    assert!(!c.ssl_quorum);
}

/// The quorum's TLS is served (zk-election's QuorumTls): its switches and
/// the ssl.quorum.* stores are no longer refused.
#[test]
fn quorum_tls_settings_are_served() {
    let s = Scratch::new();
    let c = s.ok("clientPort=2181\nsslQuorum=true\nportUnification=true\n\
        sslQuorumReloadCertFiles=true\nssl.quorum.keyStore.location=/k.pem\n\
        ssl.quorum.keyStore.password=x\nssl.quorum.trustStore.location=/t.pem\n\
        ssl.quorum.trustStore.password=y\nssl.quorum.clientAuth=need\n\
        ssl.quorum.hostnameVerification=true\n");
    assert!(zk_config::unsupported_security_settings(&c, &Default::default()).is_empty());
    assert!(c.ssl_quorum && c.port_unification && c.ssl_quorum_reload_cert_files);
}

#[test]
fn every_refused_setting_is_listed_and_passwords_are_not_printed() {
    let s = Scratch::new();
    let e = s.err(
        "secureClientPort=2281\nssl.keyStore.location=/k\nssl.keyStore.password=hunter2\n\
         ssl.trustStore.password=hunter3\nsslQuorum=true\n",
    );
    assert!(
        e.starts_with("zoo.cfg: secureClientPort=2281: the secure client port"),
        "{e}"
    );
    assert!(
        e.ends_with(
            "also not supported: ssl.keyStore.location, ssl.keyStore.password, \
             ssl.trustStore.password"
        ),
        "{e}"
    );
    assert!(!e.contains("hunter"), "a password was printed: {e}");
    let e = s.err("clientPort=2181\nssl.keyStore.password=hunter2\n");
    assert!(
        e.starts_with("zoo.cfg: ssl.keyStore.password=<hidden>: TLS"),
        "{e}"
    );
}

/// Settings kept in JVMFLAGS/SERVER_JVMFLAGS for zkServer.sh reach the
/// server as system properties, and are refused the same way.
#[test]
fn jvm_flags_are_checked_too() {
    let s = Scratch::new();
    std::fs::write(
        s.cfg_path(),
        format!("dataDir={}\nclientPort=2181\n", s.data_dir().display()),
    )
    .unwrap();
    let cases = [
        (
            "java.security.auth.login.config",
            "/etc/zookeeper/jaas.conf",
            "SASL authentication (a JAAS login configuration)",
        ),
        ("zookeeper.ssl.keyStore.location", "/k", "TLS"),
        (
            "zookeeper.authProvider.sasl",
            "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            "an authentication provider",
        ),
        ("zookeeper.admin.forceHttps", "true", "HTTPS"),
    ];
    for (name, value, feature) in cases {
        let mut flags = SystemProperties::new();
        flags.set(name, value);
        let e = QuorumPeerConfig::parse_with(&s.cfg_path(), flags).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::UnsupportedSecurity, "{e}");
        let msg = s.shorten(&e.to_string());
        assert!(
            msg.starts_with(&format!("zoo.cfg: -D{name}={value}: {feature}")),
            "{msg}"
        );
    }
    // In zoo.cfg the JAAS name is read by 3.8 as zookeeper.java.security...,
    // which no code reads: no effect there, in 3.8 as here.
    let c = s.ok("clientPort=2181\njava.security.auth.login.config=/jaas.conf\n");
    assert!(c
        .ignored_keys()
        .iter()
        .any(|k| k.key == "java.security.auth.login.config" && k.reason.starts_with("no effect")));
}
