//! Authentication providers (`digest`, `ip`, and `x509` and `sasl` when
//! registered: [`crate::x509_authentication_provider`],
//! [`crate::sasl_authentication_provider`]) and the ACL rules:
//! `checkACL` (may these ids do this?) and `fixupACL` (the ACL a create or
//! setACL really stores).

use std::net::SocketAddr;

use zk_config::SystemProperties;
use zk_persistence::records::{Acl, Id};
use zk_persistence::zoo_defs::Code;

use crate::digest::{base64, sha1};
use crate::sasl_authentication_provider as sasl;
use crate::x509_authentication_provider as x509;

/// `DigestAuthenticationProvider.generateDigest`: "user:password" becomes
/// "user:" + base64(sha1("user:password")).
pub fn generate_digest(id_password: &str) -> String {
    let user = id_password.split(':').next().unwrap_or("");
    format!("{}:{}", user, base64(&sha1(id_password.as_bytes())))
}

/// `DigestAuthenticationProvider.isEnabled`
/// (`zookeeper.DigestAuthenticationProvider.enabled`, default true).
pub fn digest_enabled(props: &SystemProperties) -> bool {
    props.get_boolean_or("zookeeper.DigestAuthenticationProvider.enabled", true)
}

/// Whether a provider is registered for `scheme` (`ProviderRegistry`):
/// `ip` always, `digest` unless disabled, `x509` and `sasl` when an
/// `authProvider.*` setting names them.
pub fn has_provider(scheme: &str, props: &SystemProperties) -> bool {
    match scheme {
        "ip" => true,
        "digest" => digest_enabled(props),
        "x509" => x509::is_registered(props),
        sasl::SCHEME => sasl::is_registered(props),
        _ => false,
    }
}

/// `handleAuthentication` of the provider for `scheme`: on success adds
/// the identity to `ids`; AUTHFAILED when no provider has the scheme.
pub fn handle_authentication(
    scheme: &str,
    auth: &[u8],
    peer: SocketAddr,
    ids: &mut Vec<Id>,
    props: &SystemProperties,
) -> Code {
    // 3.8's SASL provider fails every `addauth`: SASL is negotiated by its
    // own packet (`crate::zookeeper_sasl_server`).
    if !has_provider(scheme, props) || scheme == sasl::SCHEME {
        return Code::AUTHFAILED;
    }
    if scheme == "x509" {
        // 3.8 authenticates the connection's certificate again, whatever
        // the packet says: that is the x509 id the CertificateVerifier
        // added after the handshake (and `super` with it for the super
        // user). Without one (plaintext, or no certificate) it fails.
        return if ids.iter().any(|i| i.scheme == "x509") {
            Code::OK
        } else {
            Code::AUTHFAILED
        };
    }
    let push = |ids: &mut Vec<Id>, id: Id| {
        if !ids.contains(&id) {
            ids.push(id);
        }
    };
    if scheme == "digest" {
        let digest = generate_digest(&String::from_utf8_lossy(auth));
        if props.super_digest() == Some(digest.as_str()) {
            push(
                ids,
                Id {
                    scheme: "super".into(),
                    id: String::new(),
                },
            );
        }
        push(
            ids,
            Id {
                scheme: "digest".into(),
                id: digest,
            },
        );
    } else {
        push(
            ids,
            Id {
                scheme: "ip".into(),
                id: peer.ip().to_string(),
            },
        );
    }
    Code::OK
}

/// Java's `String.split(regex)` for a one-character separator: trailing
/// empty pieces are dropped.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut v: Vec<&str> = s.split(sep).collect();
    while v.len() > 1 && v.last() == Some(&"") {
        v.pop();
    }
    if v == [""] && !s.is_empty() {
        v.clear();
    }
    v
}

/// `Integer.parseInt`: an optional sign, then decimal digits.
fn java_parse_int(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `IPAuthenticationProvider.v4addr2Bytes`: only IPv4 is understood.
fn v4_bytes(addr: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        b[i] = u8::try_from(java_parse_int(p)?).ok()?;
    }
    Some(b)
}

/// Parses "address[/bits]" as `IPAuthenticationProvider` does.
fn parse_ip_expr(expr: &str) -> Option<([u8; 4], u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let ip = v4_bytes(addr)?;
    let bits = match bits {
        Some(b) => u32::try_from(java_parse_int(b)?)
            .ok()
            .filter(|&b| b <= 32)?,
        None => 32,
    };
    Some((ip, bits))
}

fn mask(b: [u8; 4], bits: u32) -> u32 {
    let m = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from_be_bytes(b) & m
}

fn ip_matches(id: &str, acl_expr: &str) -> bool {
    let Some((net, bits)) = parse_ip_expr(acl_expr) else {
        return false;
    };
    let Some(addr) = v4_bytes(id) else {
        return false;
    };
    mask(addr, bits) == mask(net, bits)
}

/// Whether a provider exists for `scheme` and accepts `id` (`isValid`).
fn is_valid_id(scheme: &str, id: &str, props: &SystemProperties) -> bool {
    if !has_provider(scheme, props) {
        return false;
    }
    match scheme {
        "digest" => java_split(id, ':').len() == 2,
        "x509" => x509::is_valid(id),
        sasl::SCHEME => sasl::is_valid(id),
        _ => parse_ip_expr(id).is_some(),
    }
}

/// Whether ids of this scheme stand for an authenticated user
/// (`isAuthenticated`): digest, x509 and sasl yes, ip no.
fn is_authenticated(scheme: &str) -> bool {
    matches!(scheme, "digest" | "x509" | sasl::SCHEME)
}

/// `checkACL`: OK if any entry granting `perm` matches one of `ids`, or
/// the ACL is empty, or `ids` holds `super`.
pub fn check_acl(acl: &[Acl], perm: i32, ids: &[Id], props: &SystemProperties) -> Result<(), Code> {
    if acl.is_empty() || ids.iter().any(|i| i.scheme == "super") {
        return Ok(());
    }
    for a in acl {
        if a.perms & perm == 0 {
            continue;
        }
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return Ok(());
        }
        for auth in ids.iter().filter(|i| i.scheme == a.id.scheme) {
            let ok = match a.id.scheme.as_str() {
                "digest" => auth.id == a.id.id,
                "ip" => ip_matches(&auth.id, &a.id.id),
                "x509" => x509::matches(&auth.id, &a.id.id),
                // 3.8 skips entries of a scheme without a provider: a
                // SASL id passes `sasl:` ACLs only with the provider.
                sasl::SCHEME => {
                    sasl::is_registered(props) && sasl::matches(&auth.id, &a.id.id, props)
                }
                _ => false,
            };
            if ok {
                return Ok(());
            }
        }
    }
    Err(Code::NOAUTH)
}

/// `fixupACL`: drops duplicates, expands `auth` entries to the caller's
/// authenticated ids, and refuses entries no provider accepts.
pub fn fixup_acl(acl: &[Acl], ids: &[Id], props: &SystemProperties) -> Result<Vec<Acl>, Code> {
    let mut uniq: Vec<&Acl> = Vec::new();
    for a in acl {
        if !uniq.contains(&a) {
            uniq.push(a);
        }
    }
    if uniq.is_empty() {
        return Err(Code::INVALIDACL);
    }
    let mut out = Vec::new();
    for a in uniq {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            let mut any = false;
            for cid in ids
                .iter()
                .filter(|i| has_provider(&i.scheme, props) && is_authenticated(&i.scheme))
            {
                any = true;
                out.push(Acl {
                    perms: a.perms,
                    id: cid.clone(),
                });
            }
            if !any {
                return Err(Code::INVALIDACL);
            }
        } else if is_valid_id(&a.id.scheme, &a.id.id, props) {
            out.push(a.clone());
        } else {
            return Err(Code::INVALIDACL);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::zoo_defs::{ids, perms};

    fn id(s: &str, i: &str) -> Id {
        Id {
            scheme: s.into(),
            id: i.into(),
        }
    }

    #[test]
    fn digest_matches_zookeeper() {
        // DigestAuthenticationProvider.generateDigest("super:test")
        assert_eq!(
            generate_digest("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }

    #[test]
    fn acl_checks() {
        let open = ids::open_acl_unsafe();
        assert_eq!(
            check_acl(&open, perms::WRITE, &[], &SystemProperties::new()),
            Ok(())
        );
        let acl = vec![Acl {
            perms: perms::READ,
            id: id("ip", "10.0.0.0/8"),
        }];
        assert_eq!(
            check_acl(
                &acl,
                perms::READ,
                &[id("ip", "10.1.2.3")],
                &SystemProperties::new()
            ),
            Ok(())
        );
        assert_eq!(
            check_acl(
                &acl,
                perms::READ,
                &[id("ip", "11.1.2.3")],
                &SystemProperties::new()
            ),
            Err(Code::NOAUTH)
        );
        assert_eq!(
            check_acl(
                &acl,
                perms::WRITE,
                &[id("ip", "10.1.2.3")],
                &SystemProperties::new()
            ),
            Err(Code::NOAUTH)
        );
        assert_eq!(
            check_acl(
                &acl,
                perms::WRITE,
                &[id("super", "")],
                &SystemProperties::new()
            ),
            Ok(())
        );
        let x509 = vec![Acl {
            perms: perms::READ,
            id: id("x509", "CN=client,O=zk"),
        }];
        assert_eq!(
            check_acl(
                &x509,
                perms::READ,
                &[id("x509", "CN=client,O=zk")],
                &SystemProperties::new()
            ),
            Ok(())
        );
        for other in ["CN=client", "CN=client,O=zk2", "cn=client,o=zk"] {
            assert_eq!(
                check_acl(
                    &x509,
                    perms::READ,
                    &[id("x509", other)],
                    &SystemProperties::new()
                ),
                Err(Code::NOAUTH),
                "{other}: exact match only"
            );
        }
    }

    #[test]
    fn fixup_expands_auth_and_refuses_unknown() {
        let p = SystemProperties::new();
        let creator = ids::creator_all_acl();
        assert_eq!(
            fixup_acl(&creator, &[id("ip", "127.0.0.1")], &p),
            Err(Code::INVALIDACL)
        );
        let got = fixup_acl(&creator, &[id("ip", "1.2.3.4"), id("digest", "u:x")], &p).unwrap();
        assert_eq!(
            got,
            vec![Acl {
                perms: 31,
                id: id("digest", "u:x")
            }]
        );
        let bad = vec![Acl {
            perms: 1,
            id: id("world", "someone"),
        }];
        assert_eq!(fixup_acl(&bad, &[], &p), Err(Code::INVALIDACL));
        assert_eq!(fixup_acl(&[], &[], &p), Err(Code::INVALIDACL));
    }

    fn acl(scheme: &str, i: &str) -> Vec<Acl> {
        vec![Acl {
            perms: 31,
            id: id(scheme, i),
        }]
    }

    #[test]
    fn ids_are_valid_as_java_splits_and_parses_them() {
        let p = SystemProperties::new();
        let ok = |s: &str, i: &str| fixup_acl(&acl(s, i), &[], &p).is_ok();
        assert!(ok("digest", "u:h"));
        assert!(ok("digest", "u:h:"), "trailing empty pieces are dropped");
        assert!(ok("digest", ":h"));
        assert!(!ok("digest", "u:"));
        assert!(!ok("digest", "u"));
        assert!(!ok("digest", "u:a:b"));
        assert!(ok("ip", "10.0.0.1"));
        assert!(ok("ip", "10.0.0.0/8"));
        assert!(ok("ip", "10.0.0.0/+8"));
        assert!(!ok("ip", "10.0.0.0/33"));
        assert!(!ok("ip", "10.0.0.256"));
        assert!(!ok("ip", "::1"), "3.8 understands IPv4 only");
        assert!(!ok("world", "someone"));
        assert!(!ok("super", ""));
        assert!(!ok("x509", "CN=a"), "x509 is not registered by default");
        let mut x = SystemProperties::new();
        x.set(
            "zookeeper.authProvider.x509",
            x509::X509_AUTHENTICATION_PROVIDER_CLASS,
        );
        assert!(fixup_acl(&acl("x509", "CN=a,O=b"), &[], &x).is_ok());
        assert!(fixup_acl(&acl("x509", "nonsense"), &[], &x).is_err());
        assert_eq!(
            fixup_acl(&ids::creator_all_acl(), &[id("x509", "CN=a")], &x),
            Ok(acl("x509", "CN=a")),
            "auth expands to the certificate's subject"
        );
        let mut off = SystemProperties::new();
        off.set("zookeeper.DigestAuthenticationProvider.enabled", "false");
        assert!(fixup_acl(&acl("digest", "u:h"), &[], &off).is_err());
    }

    /// Registered as kazoo's harness registers it: `sasl:` ACLs are stored
    /// (Kerberos-shaped ids) and admit the session SASL authenticated as
    /// that id, and super; `addauth sasl` still fails.
    #[test]
    fn sasl_provider_accepts_acls_only_the_sasl_id_passes() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let none = SystemProperties::new();
        assert!(
            fixup_acl(&acl("sasl", "zk@R"), &[], &none).is_err(),
            "not registered"
        );
        let mut p = SystemProperties::new();
        p.set(
            "zookeeper.authProvider.1",
            sasl::SASL_AUTHENTICATION_PROVIDER_CLASS,
        );
        assert!(has_provider("sasl", &p));
        for ok in ["zk@EXAMPLE.COM", "zk/host@R", "plain"] {
            assert_eq!(
                fixup_acl(&acl("sasl", ok), &[], &p),
                Ok(acl("sasl", ok)),
                "{ok}"
            );
        }
        assert_eq!(
            fixup_acl(&acl("sasl", "a@b@c"), &[], &p),
            Err(Code::INVALIDACL)
        );
        let stored = acl("sasl", "zk@R");
        let session = [id("ip", "127.0.0.1"), id("digest", "zk@R")];
        assert_eq!(
            check_acl(&stored, perms::READ, &session, &p),
            Err(Code::NOAUTH)
        );
        assert_eq!(
            check_acl(&stored, perms::READ, &[id("super", "")], &p),
            Ok(())
        );
        let sasl_session = [id("ip", "127.0.0.1"), id("sasl", "zk@R")];
        assert_eq!(check_acl(&stored, perms::READ, &sasl_session, &p), Ok(()));
        assert_eq!(
            check_acl(&stored, perms::READ, &[id("sasl", "other@R")], &p),
            Err(Code::NOAUTH)
        );
        assert_eq!(
            check_acl(&stored, perms::READ, &sasl_session, &none),
            Err(Code::NOAUTH),
            "no provider: the entry is skipped"
        );
        let mut ids = vec![id("ip", "127.0.0.1")];
        assert_eq!(
            handle_authentication("sasl", b"zk@R", peer, &mut ids, &p),
            Code::AUTHFAILED
        );
        assert_eq!(ids.len(), 1, "nothing added");
    }

    #[test]
    fn authentication_by_scheme() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut p = SystemProperties::new();
        p.set(
            "zookeeper.DigestAuthenticationProvider.superDigest",
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
        );
        let mut ids = Vec::new();
        assert_eq!(
            handle_authentication("digest", b"super:test", peer, &mut ids, &p),
            Code::OK
        );
        assert_eq!(
            ids,
            vec![
                id("super", ""),
                id("digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
            ]
        );
        let mut ids = Vec::new();
        assert_eq!(
            handle_authentication("ip", b"", peer, &mut ids, &p),
            Code::OK
        );
        assert_eq!(ids, vec![id("ip", "127.0.0.1")]);
        let mut x = p.clone();
        x.set(
            "zookeeper.authProvider.x509",
            x509::X509_AUTHENTICATION_PROVIDER_CLASS,
        );
        let mut plain = vec![id("ip", "127.0.0.1")];
        assert_eq!(
            handle_authentication("x509", b"", peer, &mut plain, &x),
            Code::AUTHFAILED,
            "no certificate, no x509 id"
        );
        let mut tls = vec![id("ip", "127.0.0.1"), id("x509", "CN=c")];
        assert_eq!(
            handle_authentication("x509", b"anything", peer, &mut tls, &x),
            Code::OK
        );
        assert_eq!(tls.len(), 2, "nothing added");
        assert_eq!(
            handle_authentication("x509", b"", peer, &mut tls, &p),
            Code::AUTHFAILED,
            "not registered"
        );
        for scheme in ["world", "super", "auth", "sasl", ""] {
            assert_eq!(
                handle_authentication(scheme, b"x", peer, &mut ids, &p),
                Code::AUTHFAILED,
                "{}",
                scheme
            );
        }
    }

    #[test]
    fn ip_masks() {
        assert!(ip_matches("10.1.2.3", "10.0.0.0/8"));
        assert!(ip_matches("10.1.2.3", "0.0.0.0/0"));
        assert!(ip_matches("10.1.2.3", "10.1.2.3"));
        assert!(!ip_matches("10.1.2.4", "10.1.2.3"));
        assert!(ip_matches("10.1.2.3", "10.1.2.0/23"));
        assert!(!ip_matches("10.1.4.3", "10.1.2.0/23"));
    }
}
