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
//! them. Enforced authentication (`enforce.auth.*`,
//! `sessionRequireClientSASLAuth`) is served by zk-server's
//! `AuthenticationHelper`. The `ssl.*` / `ssl.quorum.*` settings are read by
//! [`crate::X509Util`]; of those only `crl=true`, `ocsp=true` (no
//! revocation checking) and `context.supplier.class` (a Java class) are
//! refused here. Unknown `ssl.*` names have no effect, as in 3.8, and are
//! listed by [`QuorumPeerConfig::ignored_keys`]. The secure client port,
//! `client.portUnification` and the x509 provider are served by zk-server
//! (its secure `NIOServerCnxnFactory` and `X509AuthenticationProvider`).
//!
//! A JAAS login config (`-Djava.security.auth.login.config`) is read as
//! 3.8 reads it at startup ([`JaasConfiguration`]): a file whose `Server`
//! section (`zookeeper.sasl.serverconfig` names another) lists login
//! modules turns on SASL for clients, which zk-server serves (its
//! `ZooKeeperSaslServer`). Quorum SASL (`quorum.auth.enableSasl`, its
//! `QuorumServer`/`QuorumLearner` sections) is served by zk-election,
//! which finds the file through [`jaas_login_file`]. A file without that section runs without SASL in 3.8 and here
//! (logged once at INFO); a missing or unparsable file stops 3.8's
//! startup, and this one's, naming the file.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::jaas_configuration::JaasConfiguration;
use crate::java;
use crate::properties::Properties;
use crate::quorum_peer_config::QuorumPeerConfig;
use crate::system_properties::SystemProperties;

/// The providers 3.8 registers by itself, and the x509 and SASL providers,
/// which zk-server registers (its `X509AuthenticationProvider`, and its
/// `SASLAuthenticationProvider`: `sasl:` ACLs, which no session passes as
/// none authenticates by SASL); naming them in an `authProvider.N` entry
/// is honoured.
const BUILT_IN_AUTH_PROVIDERS: &[&str] = &[
    "org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
    "org.apache.zookeeper.server.auth.IPAuthenticationProvider",
    "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
    "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
];

/// The JAAS login configuration: with it 3.8 authenticates clients (its
/// `Server` section) and peers by SASL.
const JAAS_CONF_KEY: &str = "java.security.auth.login.config";
/// `ZooKeeperSaslServer.LOGIN_CONTEXT_NAME_KEY`: the section with the
/// server's login for client SASL, and its default.
const SERVER_SECTION_KEY: &str = "zookeeper.sasl.serverconfig";
const DEFAULT_SERVER_SECTION: &str = "Server";

/// One setting that asks for security this server does not provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedSecuritySetting {
    /// As the operator wrote it: the zoo.cfg key, or `-Dname` for a JVM
    /// flag.
    pub key: String,
    /// The value, or `<hidden>` for a password.
    pub value: String,
    /// What the setting turns on in 3.8.
    pub feature: String,
}

/// Every setting in `config` (zoo.cfg, and the system properties it was
/// seeded with) that asks for security zk-rs does not serve yet: first
/// zoo.cfg's own keys, then the system properties by name.
///
/// A JAAS file that cannot be read is not listed here: it is an error of
/// its own (see [`check_security_settings`]).
pub fn unsupported_security_settings(
    config: &QuorumPeerConfig,
    zoo_cfg: &Properties,
) -> Vec<UnsupportedSecuritySetting> {
    refused_settings(config, zoo_cfg, &jaas_login(config))
}

/// Startup's check: a JAAS file that cannot be used stops it as it stops
/// 3.8's; then every setting asking for what is not served is refused;
/// a JAAS file without SASL sections is logged (once).
pub(crate) fn check_security_settings(
    config: &QuorumPeerConfig,
    zoo_cfg: &Properties,
) -> Result<(), ConfigError> {
    let jaas = jaas_login(config);
    if let JaasLogin::Broken {
        value,
        kind,
        reason,
    } = &jaas
    {
        return Err(ConfigError::for_key(
            *kind,
            &format!("-D{JAAS_CONF_KEY}"),
            value,
            format!("{reason}; Apache ZooKeeper 3.8 does not start with it either"),
        ));
    }
    refuse_unsupported_security(&refused_settings(config, zoo_cfg, &jaas))?;
    if let JaasLogin::Read { file, server, .. } = &jaas {
        log_no_sasl_once(file, server);
    }
    Ok(())
}

/// What a JAAS login config set as a system property means at startup.
enum JaasLogin {
    /// None set.
    NotSet,
    /// Read: the file, the client section's name and what it holds.
    Read {
        file: PathBuf,
        server: (String, Option<usize>),
    },
    /// Cannot be used: 3.8 fails to start.
    Broken {
        value: String,
        kind: ConfigErrorKind,
        reason: String,
    },
}

/// Reads the JAAS file named by `java.security.auth.login.config` as 3.8
/// does at startup.
fn jaas_login(config: &QuorumPeerConfig) -> JaasLogin {
    let props = &config.system_properties;
    let Some(value) = props.get(JAAS_CONF_KEY) else {
        return JaasLogin::NotSet;
    };
    let broken = |kind, reason: String| JaasLogin::Broken {
        value: value.to_string(),
        kind,
        reason,
    };
    let file = match jaas_file(value) {
        Ok(file) => file,
        Err(reason) => return broken(ConfigErrorKind::Unsupported, reason),
    };
    let jaas = match JaasConfiguration::read(&file) {
        Ok(jaas) => jaas,
        Err(e) if e.starts_with("cannot be read") => {
            return broken(
                ConfigErrorKind::Io,
                format!("the JAAS login configuration {} {e}", file.display()),
            )
        }
        Err(e) => {
            return broken(
                ConfigErrorKind::Syntax,
                format!(
                    "the JAAS login configuration {} does not parse: {e}",
                    file.display()
                ),
            )
        }
    };
    let server = props
        .get(SERVER_SECTION_KEY)
        .unwrap_or(DEFAULT_SERVER_SECTION)
        .to_string();
    // Every SASL section is served: the client section (`server`) by
    // zk-server's ZooKeeperSaslServer, the quorum's (quorum.auth.enableSasl)
    // by zk-election's SaslQuorumAuthServer/SaslQuorumAuthLearner, whose
    // logins fail startup themselves when a section is missing.
    let modules = jaas.login_modules(&server);
    JaasLogin::Read {
        file,
        server: (server, modules),
    }
}

/// The JAAS login configuration file `props` name
/// (`java.security.auth.login.config`, resolved as the JDK resolves it),
/// if any; `Err` for a name zk-rs does not resolve.
pub fn jaas_config_file(props: &SystemProperties) -> Option<Result<PathBuf, String>> {
    props.get(JAAS_CONF_KEY).map(jaas_file)
}

/// The file a `java.security.auth.login.config` value names, as the JDK
/// resolves it: a leading `=` (override the JDK's other configs) dropped,
/// a `file:` URL or a path. `Err` for what zk-rs does not resolve.
fn jaas_file(value: &str) -> Result<PathBuf, String> {
    let value = value.strip_prefix('=').unwrap_or(value);
    if value.contains("${") {
        return Err(format!(
            "zk-rs does not expand ${{...}} in the JAAS login configuration's name {value}"
        ));
    }
    let lower = value.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("file:").map(|_| &value[5..]) {
        // file:/p, file:///p, file://localhost/p.
        let path = rest
            .strip_prefix("//")
            .map_or(rest, |r| r.find('/').map_or(r, |i| &r[i..]));
        return Ok(PathBuf::from(path));
    }
    if ["http:", "https:", "ftp:", "jar:", "jrt:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        return Err(format!(
            "zk-rs reads the JAAS login configuration from a file, not from {value}"
        ));
    }
    Ok(PathBuf::from(value))
}

/// The JAAS login configuration file `-Djava.security.auth.login.config`
/// names (in `JVMFLAGS`/`SERVER_JVMFLAGS`, imported into `config`'s
/// system properties), as the JDK resolves the name; `None` when not set,
/// `Err` for a name zk-rs does not resolve. For the logins of quorum SASL
/// (`QuorumServer`, `QuorumLearner`).
pub fn jaas_login_file(config: &QuorumPeerConfig) -> Result<Option<PathBuf>, String> {
    match config.system_properties.get(JAAS_CONF_KEY) {
        None => Ok(None),
        Some(value) => jaas_file(value).map(Some),
    }
}

/// The operator sees why a JAAS file brings no SASL, once per file.
fn log_no_sasl_once(file: &std::path::Path, server: &(String, Option<usize>)) {
    static LOGGED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut logged = LOGGED.lock().unwrap_or_else(|e| e.into_inner());
    if logged.iter().any(|f| f == file) {
        return;
    }
    logged.push(file.to_path_buf());
    match server {
        (name, None) => log::info!("no SASL: {} has no '{name}' section", file.display()),
        (name, Some(0)) => log::info!(
            "no SASL: the '{name}' section of {} lists no login module",
            file.display()
        ),
        // SASL for clients: zk-server logs its login.
        (_, Some(_)) => {}
    }
}

/// The settings refused, `jaas` being what the JAAS login config holds.
fn refused_settings(
    config: &QuorumPeerConfig,
    zoo_cfg: &Properties,
    jaas: &JaasLogin,
) -> Vec<UnsupportedSecuritySetting> {
    let mut found = Vec::new();
    let raw = |key: &str| {
        zoo_cfg
            .iter()
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let mut refuse = |key: &str, value: String, feature: String| {
        found.push(UnsupportedSecuritySetting {
            key: key.to_string(),
            value: shown_value(key, value),
            feature,
        });
    };

    // Keys QuorumPeerConfig itself parses are all served:
    // secureClientPort (zk-server's secure NIOServerCnxnFactory), sslQuorum,
    // portUnification and sslQuorumReloadCertFiles (zk-election's
    // QuorumTls), quorum.auth.* (zk-election's quorum SASL).

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
            Some(key) => refuse(key, value.to_string(), feature.to_string()),
            None => refuse(&format!("-D{name}"), value.to_string(), feature.to_string()),
        }
    }
    found
}

/// What the system property `name=value` turns on in 3.8, if it asks for
/// security this server does not serve.
fn security_feature(name: &str, value: &str) -> Option<&'static str> {
    let on = java::parse_boolean(value);
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
            .then_some("an authentication provider other than digest, ip, x509 and sasl");
    }
    // enforce.auth.* and sessionRequireClientSASLAuth are served by
    // zk-server's AuthenticationHelper.
    match key {
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
        // Read as a file by jaas_login, not judged by its name.
        assert!(security_feature("java.security.auth.login.config", "/jaas.conf").is_none());
        assert!(security_feature(
            "zookeeper.authProvider.1",
            "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
        )
        .is_none());
        assert!(security_feature(
            "zookeeper.authProvider.1",
            "org.apache.zookeeper.server.auth.KerberosAuthenticationProvider"
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
        // Served by zk-server's AuthenticationHelper.
        for key in ["enforce.auth.enabled", "sessionRequireClientSASLAuth"] {
            let name = format!("zookeeper.{key}");
            assert!(security_feature(&name, "TRUE").is_none(), "{key}=TRUE");
            assert!(security_feature(&name, "false").is_none(), "{key}=false");
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
    fn jaas_file_names_resolve_as_the_jdk_resolves_them() {
        let ok = |v: &str| jaas_file(v).unwrap().display().to_string();
        assert_eq!(ok("/etc/zk/jaas.conf"), "/etc/zk/jaas.conf");
        assert_eq!(ok("=/etc/zk/jaas.conf"), "/etc/zk/jaas.conf");
        assert_eq!(ok("jaas.conf"), "jaas.conf");
        assert_eq!(ok("file:/etc/jaas.conf"), "/etc/jaas.conf");
        assert_eq!(ok("FILE:///etc/jaas.conf"), "/etc/jaas.conf");
        assert_eq!(ok("file://localhost/etc/jaas.conf"), "/etc/jaas.conf");
        assert_eq!(ok(""), "", "an empty name: a file that does not exist");
        for bad in ["http://h/jaas.conf", "${user.home}/jaas.conf"] {
            assert!(jaas_file(bad).is_err(), "{bad}");
        }
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
            feature: "TLS between quorum peers".to_string(),
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
