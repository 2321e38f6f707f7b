//! Fail closed: every setting that asks 3.8 for TLS, SASL or enforced
//! authentication is refused with its key named, in zoo.cfg and as a JVM
//! flag; the same settings asking for nothing are honoured.

mod common;

use common::Scratch;
use zk_config::{ConfigErrorKind, QuorumPeerConfig, SystemProperties};

/// (zoo.cfg body after dataDir, the key and value the refusal names, what
/// it says is not supported).
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "ssl.crl=true\n",
        "ssl.crl=true",
        "certificate revocation checking (ssl.crl)",
    ),
    (
        "ssl.quorum.ocsp=TRUE\n",
        "ssl.quorum.ocsp=TRUE",
        "certificate revocation checking (ssl.ocsp)",
    ),
    (
        "ssl.context.supplier.class=com.example.Ctx\n",
        "ssl.context.supplier.class=com.example.Ctx",
        "a Java SSLContext supplier class",
    ),
    (
        "authProvider.1=org.apache.zookeeper.server.auth.KerberosAuthenticationProvider\n",
        "authProvider.1=org.apache.zookeeper.server.auth.KerberosAuthenticationProvider",
        "an authentication provider other than digest, ip, x509 and sasl",
    ),
    (
        "DigestAuthenticationProvider.digestAlg=SHA-256\n",
        "DigestAuthenticationProvider.digestAlg=SHA-256",
        "a digest algorithm other than SHA1",
    ),
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
        authProvider.3=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n\
        DigestAuthenticationProvider.digestAlg=SHA1\n\
        ssl.crl=false\nssl.quorum.ocsp=false\n");
    assert!(zk_config::unsupported_security_settings(&c, &Default::default()).is_empty());
    assert!(!c.ssl_quorum);
}

/// Enforced authentication is served (zk-server's AuthenticationHelper,
/// which checks the schemes have providers before a port opens), and the
/// client SASL tuning keys are read: none is refused or listed as ignored.
#[test]
fn enforced_authentication_and_client_sasl_keys_are_honoured() {
    let s = Scratch::new();
    let c = s.ok(
        "clientPort=2181\nenforce.auth.enabled=true\nenforce.auth.schemes=sasl,digest\n\
        sessionRequireClientSASLAuth=true\nsuperUser=admin\nallowSaslFailedClients=true\n\
        sasl.serverconfig=ZkServer\n\
        authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n",
    );
    assert!(zk_config::unsupported_security_settings(&c, &Default::default()).is_empty());
    let ignored: Vec<&str> = c.ignored_keys().iter().map(|k| k.key.as_str()).collect();
    assert!(ignored.is_empty(), "{ignored:?}");
    assert_eq!(
        c.system_property("zookeeper.enforce.auth.schemes"),
        Some("sasl,digest")
    );
}

/// The secure client port, port unification and the x509 provider are
/// served (zk-server's secure NIOServerCnxnFactory), with the client TLS
/// keys X509Util reads.
#[test]
fn client_tls_settings_are_honoured() {
    let s = Scratch::new();
    let c = s.ok(
        "clientPort=2181\nsecureClientPort=2281\nsecureClientPortAddress=127.0.0.1\n\
        client.portUnification=true\nssl.keyStore.location=/k.jks\nssl.keyStore.password=p\n\
        ssl.trustStore.location=/t.jks\nssl.clientAuth=want\nssl.protocol=TLSv1.3\n\
        ssl.handshakeDetectionTimeoutMillis=2000\nssl.authProvider=x509\n\
        authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n\
        X509AuthenticationProvider.superUser=CN=admin\n",
    );
    assert!(zk_config::unsupported_security_settings(&c, &Default::default()).is_empty());
    assert!(c.secure_client_port_address.is_some());
    assert!(!c
        .ignored_keys()
        .iter()
        .any(|k| k.key == "X509AuthenticationProvider.superUser"));
}

/// The quorum's TLS is served (zk-election's QuorumTls): its switches and
/// the ssl.quorum.* stores are not refused.
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

/// X509Util reads the ssl.* settings (used once a TLS port or sslQuorum is
/// on); unknown ssl.* names have no effect, as in 3.8, and are listed.
#[test]
fn ssl_settings_are_read_by_x509_util_unknown_ones_listed() {
    let s = Scratch::new();
    let c = s.ok(
        "clientPort=2181\nssl.keyStore.location=/k.p12\nssl.keyStore.password=hunter2\n\
        ssl.quorum.trustStore.location=/t.jks\nssl.clientAuth=want\nssl.protocol=TLSv1.3\n\
        ssl.quorum.hostnameVerification=false\nssl.authProvider=x509\nssl.bogus=1\n",
    );
    assert!(zk_config::unsupported_security_settings(&c, &Default::default()).is_empty());
    let ignored: Vec<&str> = c.ignored_keys().iter().map(|k| k.key.as_str()).collect();
    assert_eq!(ignored, vec!["ssl.bogus"]);
    assert!(c.ignored_keys()[0].reason.starts_with("unknown key"));
    let client = zk_config::X509Util::client(&c.system_properties);
    assert_eq!(client.client_auth(), zk_config::ClientAuth::Want);
    assert!(!zk_config::X509Util::quorum(&c.system_properties).hostname_verification());
}

#[test]
fn admin_https_and_its_key_stores_are_honoured() {
    let s = Scratch::new();
    for https in ["admin.forceHttps=true", "admin.portUnification=true"] {
        let c = s.ok(&format!(
            "clientPort=2181\n{https}\nssl.quorum.keyStore.location=/k.p12\n\
             ssl.quorum.keyStore.password=p\nssl.quorum.keyStore.type=PKCS12\n\
             ssl.quorum.trustStore.location=/t.p12\nssl.quorum.trustStore.password=p\n"
        ));
        assert!(
            zk_config::unsupported_security_settings(&c, &Default::default()).is_empty(),
            "{https}"
        );
    }
}

#[test]
fn every_refused_setting_is_listed_and_passwords_are_not_printed() {
    let s = Scratch::new();
    let e = s.err(
        "secureClientPort=2281\nssl.keyStore.location=/k\nssl.keyStore.password=hunter2\n\
         ssl.trustStore.password=hunter3\nssl.ocsp=true\nssl.crl=true\n",
    );
    assert!(
        e.starts_with("zoo.cfg: ssl.crl=true: certificate revocation checking (ssl.crl)"),
        "{e}"
    );
    assert!(e.ends_with("also not supported: ssl.ocsp"), "{e}");
    assert!(!e.contains("hunter"), "a password was printed: {e}");
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
            "zookeeper.ssl.quorum.crl",
            "true",
            "certificate revocation checking",
        ),
        (
            "zookeeper.authProvider.ensemble",
            "org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider",
            "an authentication provider",
        ),
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

/// Parses a zoo.cfg with the JVM flag `-Djava.security.auth.login.config`
/// naming `jaas` (written to a file unless `None`: a missing file), and
/// `extra` more flags.
fn parse_with_jaas(
    s: &Scratch,
    body: &str,
    jaas: Option<&str>,
    extra: &[(&str, &str)],
) -> (String, Result<QuorumPeerConfig, zk_config::ConfigError>) {
    std::fs::write(
        s.cfg_path(),
        format!(
            "dataDir={}\nclientPort=2181\n{body}",
            s.data_dir().display()
        ),
    )
    .unwrap();
    let path = s.path("jaas.conf");
    match jaas {
        Some(text) => std::fs::write(&path, text).unwrap(),
        None => {
            let _ = std::fs::remove_file(&path);
        }
    }
    let mut flags = SystemProperties::new();
    flags.set(
        "java.security.auth.login.config",
        path.display().to_string(),
    );
    for &(k, v) in extra {
        flags.set(k, v);
    }
    let path = path.display().to_string();
    (path, QuorumPeerConfig::parse_with(&s.cfg_path(), flags))
}

/// 3.8 runs without SASL when the JAAS file has no section with login
/// modules for its server (kazoo's harness passes an empty file): so
/// does zk-rs. kazoo's `authProvider.1=...SASLAuthenticationProvider` is
/// honoured with it.
#[test]
fn a_jaas_file_without_a_server_section_is_accepted() {
    let s = Scratch::new();
    let sasl = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n";
    for text in [
        "",
        "// comments only\n/* Server { a.B required; }; */\n",
        "Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         username=\"bob\" password=\"secret\";\n};\n",
        "Server { };\n",
        "QuorumServer { a.B required; };\nQuorumLearner { a.B required; };\n",
    ] {
        let (_, r) = parse_with_jaas(&s, sasl, Some(text), &[]);
        let c = r.unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(
            zk_config::unsupported_security_settings(&c, &Default::default()).is_empty(),
            "{text:?}"
        );
    }
}

/// The client section that turns on SASL in 3.8 (`Server`, or the one
/// `zookeeper.sasl.serverconfig` names) is served (zk-server's
/// ZooKeeperSaslServer), and so are the quorum's with
/// `quorum.auth.enableSasl` (zk-election).
#[test]
fn a_jaas_client_section_and_the_quorum_sections_are_served() {
    let s = Scratch::new();
    let server = "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
                  user_bob=\"secret\";\n};\n";
    let zk = "ZkServer { a.B required; };\n";
    for (text, body, extra) in [
        (server, "", &[][..]),
        (zk, "", &[][..]),
        (zk, "", &[("zookeeper.sasl.serverconfig", "ZkServer")][..]),
        (zk, "sasl.serverconfig=ZkServer\n", &[][..]),
    ] {
        let (_, r) = parse_with_jaas(&s, body, Some(text), extra);
        let c = r.unwrap_or_else(|e| panic!("{text:?} {body:?}: {e}"));
        assert!(
            zk_config::unsupported_security_settings(&c, &Default::default()).is_empty(),
            "{text:?}"
        );
    }

    // Quorum SASL and its sections are served (zk-election), not refused.
    let quorum = "QuorumServer { a.B required; };\nPeer { a.B required; };\n";
    let (_, r) = parse_with_jaas(
        &s,
        "quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\n\
         quorum.auth.serverRequireSasl=true\nquorum.auth.learner.saslLoginContext=Peer\n",
        Some(quorum),
        &[],
    );
    let c = r.unwrap();
    assert!(c.quorum_enable_sasl && c.quorum_learner_require_sasl && c.quorum_server_require_sasl);
    assert_eq!(c.quorum_learner_login_context, "Peer");
    assert!(c
        .ignored_keys()
        .iter()
        .all(|k| !k.key.starts_with("quorum.")));
}

/// A missing or unparsable file stops 3.8's startup (a SecurityException
/// turned IOException): here too, naming the file.
#[test]
fn a_missing_or_unparsable_jaas_file_is_refused() {
    let s = Scratch::new();
    let (path, r) = parse_with_jaas(&s, "", None, &[]);
    let e = r.unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Io, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "-Djava.security.auth.login.config={path}: the JAAS login configuration {path} \
             cannot be read"
        )) && msg.contains("3.8 does not start with it either"),
        "{msg}"
    );
    for text in ["Server {", "Client { a.B always; };", "not jaas at all"] {
        let (path, r) = parse_with_jaas(&s, "", Some(text), &[]);
        let e = r.unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::Syntax, "{text:?}: {e}");
        assert!(
            e.to_string().contains(&format!(
                "the JAAS login configuration {path} does not parse: line 1: "
            )),
            "{text:?}: {e}"
        );
    }
}
