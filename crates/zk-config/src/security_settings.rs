//! Fail closed: a security setting zk-rs does not serve yet stops startup.
//!
//! In 3.8 a handful of zoo.cfg keys and JVM system properties turn on TLS
//! (the secure client port, `sslQuorum`, port unification, HTTPS on the
//! admin server), SASL (a JAAS login config, `quorum.auth.enableSasl`),
//! other authentication providers (x509, SASL, ensemble) and enforced
//! authentication. A server that read them and then served without them
//! would run less secure than its operator asked: plaintext where TLS was
//! configured, anonymous sessions where authentication was required. So
//! every setting that *asks* for one of these is refused here, naming the
//! key, and the server exits with 3.8's invalid-config status before any
//! port opens. A setting that asks for nothing (`sslQuorum=false`,
//! `admin.forceHttps=false`, `authProvider.1` naming the built-in digest
//! provider) is honoured: that is exactly what this server does.
//!
//! As TLS and SASL land, their keys move from here to the code that serves
//! them. The `ssl.*` / `ssl.quorum.*` settings are read by
//! [`crate::X509Util`]; of those only `crl=true`, `ocsp=true` (no
//! revocation checking) and `context.supplier.class` (a Java class) are
//! refused here. Unknown `ssl.*` names have no effect, as in 3.8, and are
//! listed by [`QuorumPeerConfig::ignored_keys`]. The secure client port,
//! `client.portUnification` and the x509 provider are served by zk-server
//! (its secure `NIOServerCnxnFactory` and `X509AuthenticationProvider`).

use crate::error::{ConfigError, ConfigErrorKind};
use crate::java;
use crate::properties::Properties;
use crate::quorum_peer_config::QuorumPeerConfig;

/// The providers 3.8 registers by itself, and the x509 provider, which
/// zk-server serves (its `X509AuthenticationProvider`); naming them in an
/// `authProvider.N` entry is honoured.
const BUILT_IN_AUTH_PROVIDERS: &[&str] = &[
    "org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
    "org.apache.zookeeper.server.auth.IPAuthenticationProvider",
    "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
];

/// The JAAS login configuration: with it 3.8 authenticates clients (its
/// `Server` section) and peers by SASL.
const JAAS_CONF_KEY: &str = "java.security.auth.login.config";

/// One setting that asks for security this server does not provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedSecuritySetting {
    /// As the operator wrote it: the zoo.cfg key, or `-Dname` for a JVM
    /// flag.
    pub key: String,
    /// The value, or `<hidden>` for a password.
    pub value: String,
    /// What the setting turns on in 3.8.
    pub feature: &'static str,
}

/// Every setting in `config` (zoo.cfg, and the system properties it was
/// seeded with) that asks for security zk-rs does not serve yet: first
/// zoo.cfg's own keys, then the system properties by name.
pub fn unsupported_security_settings(
    config: &QuorumPeerConfig,
    zoo_cfg: &Properties,
) -> Vec<UnsupportedSecuritySetting> {
    let mut found = Vec::new();
    let raw = |key: &str| {
        zoo_cfg
            .iter()
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let mut refuse = |key: &str, value: String, feature: &'static str| {
        found.push(UnsupportedSecuritySetting {
            key: key.to_string(),
            value: shown_value(key, value),
            feature,
        });
    };

    // Keys QuorumPeerConfig itself parses (already checked as booleans).
    // secureClientPort is served (zk-server's secure NIOServerCnxnFactory);
    // sslQuorum, portUnification and sslQuorumReloadCertFiles too
    // (zk-election's QuorumTls).
    let flags = [(
        "quorum.auth.enableSasl",
        config.quorum_enable_sasl,
        "SASL authentication between quorum peers",
    )];
    for (key, on, feature) in flags {
        if on {
            refuse(key, "true".to_string(), feature);
        }
    }

    // System properties: from zoo.cfg's other keys (as zookeeper.<key>)
    // or from -D flags the caller imported.
    for (name, value) in config.system_properties.iter() {
        let Some(feature) = security_feature(name, value) else {
            continue;
        };
        let from_zoo_cfg = name
            .strip_prefix("zookeeper.")
            .filter(|key| raw(key).as_deref() == Some(value));
        match from_zoo_cfg {
            Some(key) => refuse(key, value.to_string(), feature),
            None => refuse(&format!("-D{name}"), value.to_string(), feature),
        }
    }
    found
}

/// What the system property `name=value` turns on in 3.8, if it asks for
/// security this server does not serve.
fn security_feature(name: &str, value: &str) -> Option<&'static str> {
    let on = java::parse_boolean(value);
    if name == JAAS_CONF_KEY {
        return (!value.is_empty()).then_some("SASL authentication (a JAAS login configuration)");
    }
    let key = name.strip_prefix("zookeeper.")?;
    // X509Util serves the other ssl.* settings; unknown ssl.* names have
    // no effect (3.8 ignores them too).
    match crate::x509_util::ssl_setting(key) {
        Some("crl") => return on.then_some("certificate revocation checking (ssl.crl)"),
        Some("ocsp") => return on.then_some("certificate revocation checking (ssl.ocsp)"),
        Some("context.supplier.class") => {
            return (!value.trim().is_empty()).then_some("a Java SSLContext supplier class")
        }
        Some(_) => return None,
        None => {}
    }
    if key.starts_with("authProvider.") {
        return (!BUILT_IN_AUTH_PROVIDERS.contains(&value.trim()))
            .then_some("an authentication provider other than digest and ip");
    }
    match key {
        "enforce.auth.enabled" => on.then_some("enforced client authentication"),
        "sessionRequireClientSASLAuth" => on.then_some("SASL authentication required of clients"),
        "DigestAuthenticationProvider.digestAlg" => {
            let alg = value.trim().to_ascii_uppercase();
            (alg != "SHA1" && alg != "SHA-1").then_some("a digest algorithm other than SHA1")
        }
        _ => None,
    }
}

/// Passwords are never printed, not even in the refusal.
fn shown_value(key: &str, value: String) -> String {
    if key.to_ascii_lowercase().contains("password") {
        "<hidden>".to_string()
    } else {
        value
    }
}

/// The refusal for `settings` (none: `Ok`): it names the first setting and
/// lists the others, so an operator fixes them in one go.
pub(crate) fn refuse_unsupported_security(
    settings: &[UnsupportedSecuritySetting],
) -> Result<(), ConfigError> {
    let Some(first) = settings.first() else {
        return Ok(());
    };
    let mut reason = format!(
        "{} is not supported by zk-rs yet; it does not start rather than run less secure \
         than configured (remove the setting, or run Apache ZooKeeper on this node)",
        first.feature
    );
    if settings.len() > 1 {
        let others: Vec<&str> = settings[1..].iter().map(|s| s.key.as_str()).collect();
        reason.push_str(&format!("; also not supported: {}", others.join(", ")));
    }
    Err(ConfigError::for_key(
        ConfigErrorKind::UnsupportedSecurity,
        &first.key,
        &first.value,
        reason,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_of_system_properties() {
        assert!(security_feature("zookeeper.ssl.keyStore.location", "/k").is_none());
        assert!(security_feature("zookeeper.ssl.quorum.clientAuth", "none").is_none());
        assert!(security_feature("zookeeper.ssl.bogus", "x").is_none());
        assert!(security_feature("zookeeper.ssl.crl", "true").is_some());
        assert!(security_feature("zookeeper.ssl.quorum.ocsp", "TRUE").is_some());
        assert!(security_feature("zookeeper.ssl.ocsp", "false").is_none());
        assert!(security_feature("zookeeper.ssl.context.supplier.class", "a.B").is_some());
        assert!(security_feature("java.security.auth.login.config", "/jaas.conf").is_some());
        assert!(security_feature("java.security.auth.login.config", "").is_none());
        assert!(security_feature(
            "zookeeper.authProvider.1",
            "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
        )
        .is_some());
        assert!(security_feature(
            "zookeeper.authProvider.x",
            " org.apache.zookeeper.server.auth.DigestAuthenticationProvider"
        )
        .is_none());
        assert!(security_feature("zookeeper.client.portUnification", "true").is_none());
        assert!(security_feature(
            "zookeeper.authProvider.x509",
            "org.apache.zookeeper.server.auth.X509AuthenticationProvider"
        )
        .is_none());
        for key in [
            "enforce.auth.enabled",
            "sessionRequireClientSASLAuth",
        ] {
            let name = format!("zookeeper.{key}");
            assert!(security_feature(&name, "TRUE").is_some(), "{key}=TRUE");
            assert!(security_feature(&name, "false").is_none(), "{key}=false");
            assert!(security_feature(&name, "yes").is_none(), "{key}=yes");
        }
        let alg = "zookeeper.DigestAuthenticationProvider.digestAlg";
        assert!(security_feature(alg, "SHA-256").is_some());
        assert!(security_feature(alg, "sha1").is_none());
        assert!(security_feature(alg, "SHA-1").is_none());
        assert!(security_feature("zookeeper.snapCount", "1").is_none());
        assert!(security_feature("zookeeper.superUser", "admin").is_none());
        // Served by the admin server.
        assert!(security_feature("zookeeper.admin.forceHttps", "true").is_none());
        assert!(security_feature("zookeeper.admin.portUnification", "true").is_none());
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(shown_value("ssl.keyStore.password", "s".into()), "<hidden>");
        assert_eq!(
            shown_value("-Dzookeeper.ssl.trustStore.Password", "s".into()),
            "<hidden>"
        );
        assert_eq!(shown_value("ssl.keyStore.location", "/k".into()), "/k");
    }

    #[test]
    fn one_error_names_the_first_and_lists_the_rest() {
        assert!(refuse_unsupported_security(&[]).is_ok());
        let s = |key: &str| UnsupportedSecuritySetting {
            key: key.to_string(),
            value: "true".to_string(),
            feature: "TLS between quorum peers",
        };
        let e = refuse_unsupported_security(&[s("sslQuorum"), s("ssl.a"), s("ssl.b")]).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::UnsupportedSecurity);
        assert_eq!(e.key.as_deref(), Some("sslQuorum"));
        assert!(
            e.reason.ends_with("; also not supported: ssl.a, ssl.b"),
            "{}",
            e.reason
        );
    }
}
