//! Authentication providers (`digest`, `ip`) and the ACL rules:
//! `checkACL` (may these ids do this?) and `fixupACL` (the ACL a create or
//! setACL really stores).

use std::net::{IpAddr, SocketAddr};

use zk_config::SystemProperties;
use zk_persistence::records::{Acl, Id};
use zk_persistence::zoo_defs::Code;

use crate::digest::{base64, sha1};

/// `DigestAuthenticationProvider.generateDigest`: "user:password" becomes
/// "user:" + base64(sha1("user:password")).
pub fn generate_digest(id_password: &str) -> String {
    let user = id_password.split(':').next().unwrap_or("");
    format!("{}:{}", user, base64(&sha1(id_password.as_bytes())))
}

/// `handleAuthentication` of the provider for `scheme`: on success adds
/// the identity to `ids`.
pub fn handle_authentication(
    scheme: &str,
    auth: &[u8],
    peer: SocketAddr,
    ids: &mut Vec<Id>,
    props: &SystemProperties,
) -> Code {
    let push = |ids: &mut Vec<Id>, id: Id| {
        if !ids.contains(&id) {
            ids.push(id);
        }
    };
    match scheme {
        "digest" => {
            let digest = generate_digest(&String::from_utf8_lossy(auth));
            if props.get("zookeeper.DigestAuthenticationProvider.superDigest") == Some(&digest) {
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
            Code::OK
        }
        "ip" => {
            push(
                ids,
                Id {
                    scheme: "ip".into(),
                    id: peer.ip().to_string(),
                },
            );
            Code::OK
        }
        _ => Code::AUTHFAILED,
    }
}

/// Parses "address[/bits]" as `IPAuthenticationProvider` does.
fn parse_ip_expr(expr: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (expr, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn ip_matches(id: &str, acl_expr: &str) -> bool {
    let Some((net, bits)) = parse_ip_expr(acl_expr) else {
        return false;
    };
    let Ok(addr) = id.parse::<IpAddr>() else {
        return false;
    };
    let (a, n) = (ip_bytes(addr), ip_bytes(net));
    if a.len() != n.len() {
        return false;
    }
    for i in 0..a.len() {
        let used = (bits as i64 - 8 * i as i64).clamp(0, 8) as u32;
        let mask = if used == 0 { 0 } else { 0xffu8 << (8 - used) };
        if a[i] & mask != n[i] & mask {
            return false;
        }
    }
    true
}

/// Whether a provider exists for `scheme` and accepts `id` (`isValid`).
fn is_valid_id(scheme: &str, id: &str) -> bool {
    match scheme {
        "digest" => id.split(':').count() == 2,
        "ip" => parse_ip_expr(id).is_some(),
        _ => false,
    }
}

/// Whether ids of this scheme stand for an authenticated user
/// (`isAuthenticated`): digest yes, ip no.
fn is_authenticated(scheme: &str) -> bool {
    scheme == "digest"
}

/// `checkACL`: OK if any entry granting `perm` matches one of `ids`, or
/// the ACL is empty, or `ids` holds `super`.
pub fn check_acl(acl: &[Acl], perm: i32, ids: &[Id]) -> Result<(), Code> {
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
pub fn fixup_acl(acl: &[Acl], ids: &[Id]) -> Result<Vec<Acl>, Code> {
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
            for cid in ids.iter().filter(|i| is_authenticated(&i.scheme)) {
                any = true;
                out.push(Acl {
                    perms: a.perms,
                    id: cid.clone(),
                });
            }
            if !any {
                return Err(Code::INVALIDACL);
            }
        } else if is_valid_id(&a.id.scheme, &a.id.id) {
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
        assert_eq!(check_acl(&open, perms::WRITE, &[]), Ok(()));
        let acl = vec![Acl {
            perms: perms::READ,
            id: id("ip", "10.0.0.0/8"),
        }];
        assert_eq!(
            check_acl(&acl, perms::READ, &[id("ip", "10.1.2.3")]),
            Ok(())
        );
        assert_eq!(
            check_acl(&acl, perms::READ, &[id("ip", "11.1.2.3")]),
            Err(Code::NOAUTH)
        );
        assert_eq!(
            check_acl(&acl, perms::WRITE, &[id("ip", "10.1.2.3")]),
            Err(Code::NOAUTH)
        );
        assert_eq!(check_acl(&acl, perms::WRITE, &[id("super", "")]), Ok(()));
    }

    #[test]
    fn fixup_expands_auth_and_refuses_unknown() {
        let creator = ids::creator_all_acl();
        assert_eq!(
            fixup_acl(&creator, &[id("ip", "127.0.0.1")]),
            Err(Code::INVALIDACL)
        );
        let got = fixup_acl(&creator, &[id("ip", "1.2.3.4"), id("digest", "u:x")]).unwrap();
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
        assert_eq!(fixup_acl(&bad, &[]), Err(Code::INVALIDACL));
        assert_eq!(fixup_acl(&[], &[]), Err(Code::INVALIDACL));
    }
}
