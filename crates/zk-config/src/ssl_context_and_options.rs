//! `SSLContextAndOptions`: the protocol versions and cipher suites a TLS
//! context offers, from `ssl.protocol`, `ssl.enabledProtocols` and
//! `ssl.ciphersuites`, mapped from Java's names to rustls.
//!
//! 3.8 enables exactly `ssl.enabledProtocols` (comma list) or, when unset,
//! the single protocol `ssl.protocol` names (default `TLSv1.2`): so a
//! default 3.8 server speaks TLS 1.2 only, and so does this one. rustls
//! speaks TLS 1.2 and 1.3 only; `TLSv1`, `TLSv1.1` and `SSLv3` are refused
//! rather than silently replaced.
//!
//! Cipher suites: `ssl.ciphersuites` (comma list of Java names) or, unset,
//! 3.8's default order (the ECDHE AES-GCM suites, then CBC suites) limited
//! to what rustls has (the CBC suites are not), followed by the TLS 1.3
//! suites. (3.8.4's default list has no TLS 1.3 suite, so a 3.8.4 node set
//! to TLS 1.3 only with default suites cannot complete a handshake; zk-rs
//! adds rustls' TLS 1.3 suites, all AEAD, instead of failing.) A Java suite
//! name rustls does not implement is dropped with a warning as long as one
//! listed suite remains; a name that is no Java suite at all is an error.

use rustls::crypto::ring::cipher_suite as suites;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

use crate::x509_exception::X509Exception;

/// Java's suite names that rustls (ring provider) implements.
const SUPPORTED: &[(&str, SupportedCipherSuite)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        suites::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        suites::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    ("TLS_AES_128_GCM_SHA256", suites::TLS13_AES_128_GCM_SHA256),
    ("TLS_AES_256_GCM_SHA384", suites::TLS13_AES_256_GCM_SHA384),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        suites::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// Suites a JDK offers that rustls does not implement (CBC modes, static
/// RSA and DH key exchange, the renegotiation signalling value): listing
/// them is not an error, they are skipped.
const JAVA_ONLY: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
    "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
];

/// 3.8's default suites (Java 9+ order) that rustls has, then TLS 1.3's.
const DEFAULT_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// 3.8's `X509Util.DEFAULT_PROTOCOL`.
pub(crate) const DEFAULT_PROTOCOL: &str = "TLSv1.2";

/// Protocol names of `SSLContext.getInstance` that do not pin a version.
const GENERIC_PROTOCOLS: &[&str] = &["TLS", "SSL", "Default"];

fn version(name: &str) -> Result<&'static SupportedProtocolVersion, String> {
    match name {
        "TLSv1.2" => Ok(&rustls::version::TLS12),
        "TLSv1.3" => Ok(&rustls::version::TLS13),
        "TLSv1" | "TLSv1.1" | "SSLv3" | "SSLv2Hello" => Err(format!(
            "{name} is not supported (rustls speaks TLSv1.2 and TLSv1.3 only; {name} is obsolete)"
        )),
        _ => Err(format!(
            "{name} is not a TLS protocol name (TLSv1.2, TLSv1.3)"
        )),
    }
}

/// The enabled versions: `enabled` (`ssl.enabledProtocols`) when set,
/// else the one `protocol` (`ssl.protocol`) names.
pub(crate) fn protocol_versions(
    protocol_key: &str,
    protocol: Option<&str>,
    enabled_key: &str,
    enabled: Option<&str>,
) -> Result<Vec<&'static SupportedProtocolVersion>, X509Exception> {
    let protocol = protocol.unwrap_or(DEFAULT_PROTOCOL);
    let generic = GENERIC_PROTOCOLS.contains(&protocol);
    if !generic {
        version(protocol).map_err(|e| X509Exception::for_key(protocol_key, protocol, e))?;
    }
    let Some(list) = enabled else {
        if generic {
            return Err(X509Exception::for_key(
                protocol_key,
                protocol,
                format!("names no TLS version: set {enabled_key} (TLSv1.2, TLSv1.3)"),
            ));
        }
        return Ok(vec![version(protocol).expect("checked above")]);
    };
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    for name in list.split(',').map(str::trim) {
        let v = version(name).map_err(|e| X509Exception::for_key(enabled_key, list, e))?;
        if !versions.iter().any(|known| known.version == v.version) {
            versions.push(v);
        }
    }
    Ok(versions)
}

/// The suites `list` (`ssl.ciphersuites`) names, or the defaults.
pub(crate) fn cipher_suites(
    key: &str,
    list: Option<&str>,
) -> Result<Vec<SupportedCipherSuite>, X509Exception> {
    let names: Vec<&str> = match list {
        None => DEFAULT_SUITES.to_vec(),
        Some(list) => list.split(',').map(str::trim).collect(),
    };
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        if let Some((_, suite)) = SUPPORTED.iter().find(|(n, _)| *n == name) {
            if !chosen.contains(suite) {
                chosen.push(*suite);
            }
        } else if JAVA_ONLY.contains(&name) {
            skipped.push(name);
        } else {
            unknown.push(name);
        }
    }
    let value = list.unwrap_or_default();
    if !unknown.is_empty() {
        return Err(X509Exception::for_key(
            key,
            value,
            format!("unknown cipher suite(s): {}", unknown.join(", ")),
        ));
    }
    if chosen.is_empty() {
        return Err(X509Exception::for_key(
            key,
            value,
            format!(
                "none of these cipher suites is supported by rustls (supported: {})",
                SUPPORTED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !skipped.is_empty() {
        log::warn!(
            "{key}: skipping cipher suite(s) rustls does not implement: {}",
            skipped.join(", ")
        );
    }
    Ok(chosen)
}

/// Every enabled version has a suite, or an error naming both settings.
pub(crate) fn check_suites_for_versions(
    versions: &[&'static SupportedProtocolVersion],
    suites: &[SupportedCipherSuite],
    versions_key: &str,
    suites_key: &str,
) -> Result<(), X509Exception> {
    for v in versions {
        if !suites.iter().any(|s| s.version().version == v.version) {
            return Err(X509Exception::new(format!(
                "{suites_key} lists no cipher suite for {:?}, which {versions_key} enables",
                v.version
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::ProtocolVersion;

    fn names(v: &[&'static SupportedProtocolVersion]) -> Vec<ProtocolVersion> {
        v.iter().map(|v| v.version).collect()
    }

    #[test]
    fn protocols_as_3_8() {
        let p = |protocol, enabled| protocol_versions("p", protocol, "e", enabled);
        assert_eq!(
            names(&p(None, None).unwrap()),
            vec![ProtocolVersion::TLSv1_2]
        );
        assert_eq!(
            names(&p(Some("TLSv1.3"), None).unwrap()),
            vec![ProtocolVersion::TLSv1_3]
        );
        assert_eq!(
            names(&p(Some("TLSv1.2"), Some("TLSv1.3, TLSv1.2")).unwrap()),
            vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2]
        );
        assert_eq!(
            names(&p(Some("TLS"), Some("TLSv1.2")).unwrap()),
            vec![ProtocolVersion::TLSv1_2]
        );
        let e = p(Some("TLS"), None).unwrap_err();
        assert!(
            e.to_string().starts_with("p=TLS: names no TLS version"),
            "{e}"
        );
        let e = p(Some("TLSv1.1"), None).unwrap_err();
        assert!(e.to_string().contains("TLSv1.1 is not supported"), "{e}");
        let e = p(None, Some("TLSv1.2,TLSv1")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("e=TLSv1.2,TLSv1: TLSv1 is not supported"),
            "{e}"
        );
        assert!(p(None, Some("TLSv9")).is_err());
    }

    #[test]
    fn suites_as_java_names() {
        let d = cipher_suites("c", None).unwrap();
        assert_eq!(d.len(), DEFAULT_SUITES.len());
        assert_eq!(d[0], suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
        let s = cipher_suites(
            "c",
            Some("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        )
        .unwrap();
        assert_eq!(s, vec![suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]);
        let e = cipher_suites("c", Some("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")).unwrap_err();
        assert!(e.to_string().contains("none of these"), "{e}");
        let e = cipher_suites("c", Some("TLS_AES_128_GCM_SHA256,TLS_FOO")).unwrap_err();
        assert!(
            e.to_string().ends_with("unknown cipher suite(s): TLS_FOO"),
            "{e}"
        );
        let tls13 = [&rustls::version::TLS13];
        let only12 = [suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384];
        assert!(check_suites_for_versions(&tls13, &only12, "e", "c").is_err());
        assert!(check_suites_for_versions(&tls13, &d, "e", "c").is_ok());
    }
}
