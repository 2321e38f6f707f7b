//! `ZKHostnameVerifier`: does a certificate name the host it came from?
//!
//! 3.8's rules (not webpki's, which would refuse the CN-only certificates
//! `keytool -genkeypair` makes by default): if the certificate has DNS or
//! IP subject alternative names, an IP host must equal one of the IP
//! names and a DNS host must match one of the DNS names (case-insensitive,
//! one `*` matching within a single label); with none of those, the host
//! must match the subject's most specific CN the same way.

use std::net::IpAddr;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::x500_principal::{attribute_string, COMMON_NAME_OID};

/// The peer's identity as the connection knows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Host<'a> {
    /// An address (dialled, or the accepted socket's peer).
    Ip(IpAddr),
    /// A name the caller dialled.
    Dns(&'a str),
}

/// IPv4-mapped IPv6 addresses (a dual-stack socket's IPv4 peers) compare
/// as the IPv4 address, as Java's `InetAddress` presents them.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

enum SubjectAlt {
    Dns(String),
    Ip(IpAddr),
}

impl std::fmt::Display for SubjectAlt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubjectAlt::Dns(name) => f.write_str(name),
            SubjectAlt::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

fn subject_alts(cert: &X509Certificate<'_>) -> Vec<SubjectAlt> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(SubjectAlt::Dns(dns.to_string())),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(SubjectAlt::Ip(IpAddr::from(
                    <[u8; 4]>::try_from(*bytes).ok()?,
                ))),
                16 => Some(SubjectAlt::Ip(IpAddr::from(
                    <[u8; 16]>::try_from(*bytes).ok()?,
                ))),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The most specific (last encoded) CN of the subject.
fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    let rdns: Vec<_> = cert.subject().iter().collect();
    rdns.iter().rev().find_map(|rdn| {
        rdn.iter()
            .find(|ava| ava.attr_type().to_id_string() == COMMON_NAME_OID)
            .and_then(|ava| attribute_string(ava.attr_value()))
    })
}

/// RFC 2818 matching with at most one `*`, which must not span a dot.
fn match_identity(host: &str, identity: &str) -> bool {
    let host = host.to_lowercase();
    let identity = identity.to_lowercase();
    let Some(star) = identity.find('*') else {
        return host == identity;
    };
    let (prefix, suffix) = (&identity[..star], &identity[star + 1..]);
    if !host.starts_with(prefix) || !host.ends_with(suffix) {
        return false;
    }
    if prefix.len() + suffix.len() > host.len() {
        return false;
    }
    !host[prefix.len()..host.len() - suffix.len()].contains('.')
}

/// `Ok` if `cert` names `host`; otherwise why not (naming the host and
/// what the certificate names).
pub(crate) fn verify(host: Host<'_>, cert: &X509Certificate<'_>) -> Result<(), String> {
    let alts = subject_alts(cert);
    let shown = match host {
        Host::Ip(ip) => canonical(ip).to_string(),
        Host::Dns(name) => name.to_string(),
    };
    if alts.is_empty() {
        let Some(cn) = common_name(cert) else {
            return Err(format!(
                "the certificate for <{shown}> has no subject alternative names and no common name"
            ));
        };
        if match_identity(&shown, &cn) {
            return Ok(());
        }
        return Err(format!(
            "the certificate for <{shown}> doesn't match the common name of its subject: {cn}"
        ));
    }
    let matched = alts.iter().any(|alt| match (host, alt) {
        (Host::Ip(ip), SubjectAlt::Ip(alt)) => canonical(ip) == canonical(*alt),
        (Host::Dns(name), SubjectAlt::Dns(alt)) => match_identity(name, alt),
        _ => false,
    });
    if matched {
        return Ok(());
    }
    let names: Vec<String> = alts.iter().map(ToString::to_string).collect();
    Err(format!(
        "the certificate for <{shown}> doesn't match any of its subject alternative names: [{}]",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_as_3_8() {
        assert!(match_identity("a.example.com", "*.example.com"));
        assert!(match_identity("A.Example.com", "*.example.COM"));
        assert!(!match_identity("a.b.example.com", "*.example.com"));
        assert!(match_identity("web1.example.com", "web*.example.com"));
        assert!(!match_identity("example.com", "*.example.com"));
        assert!(!match_identity("a.b", "a.*.b"));
        assert!(match_identity("localhost", "localhost"));
        assert!(!match_identity("localhost2", "localhost"));
    }

    #[test]
    fn mapped_addresses_compare_as_ipv4() {
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(canonical(mapped), "127.0.0.1".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }
}
