//! 3.8's `SASLAuthenticationProvider`, registered as 3.8 registers it: by
//! an `authProvider.N` setting naming its class (kazoo's test harness
//! always writes one). It makes `sasl` a known scheme, so `sasl:<id>`
//! ACLs are accepted where 3.8 accepts them (ids a Kerberos principal
//! parser takes), and matched against the `sasl` id a session gets from a
//! SASL exchange on the client port ([`crate::zookeeper_sasl_server`]).
//! Without it a session still gets its `sasl` id, but `sasl:` entries
//! admit no one, as in 3.8. `addauth sasl` fails (AUTHFAILED), as in 3.8,
//! where SASL is negotiated by its own packet.

use zk_config::SystemProperties;

/// The class name that registers the provider.
pub const SASL_AUTHENTICATION_PROVIDER_CLASS: &str =
    "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";
/// The prefix of the properties that register providers.
const AUTH_PROVIDER_PREFIX: &str = "zookeeper.authProvider.";
/// 3.8's `zookeeper.letAnySaslUserDoX`: an ACL id every SASL user matches.
const LET_ANY_SASL_USER_DO_X: &str = "zookeeper.letAnySaslUserDoX";

/// The scheme of the provider's ids and ACL entries.
pub const SCHEME: &str = "sasl";

/// Whether an `authProvider.*` setting names the SASL provider.
pub fn is_registered(props: &SystemProperties) -> bool {
    props.iter().any(|(k, v)| {
        k.starts_with(AUTH_PROVIDER_PREFIX) && v.trim() == SASL_AUTHENTICATION_PROVIDER_CLASS
    })
}

/// `matches`: the session's SASL id `id` against the ACL id `acl_expr`:
/// equal, or `id` is `super`, or `acl_expr` is `letAnySaslUserDoX`.
pub fn matches(id: &str, acl_expr: &str, props: &SystemProperties) -> bool {
    id == "super" || id == acl_expr || props.get(LET_ANY_SASL_USER_DO_X) == Some(acl_expr)
}

/// `isValid`: what 3.8's `KerberosName(id)` accepts: a principal
/// `service[/host]@realm` (no `/` or `@` inside the pieces), or any name
/// without `@`.
pub fn is_valid(id: &str) -> bool {
    let Some((principal, realm)) = id.split_once('@') else {
        return true;
    };
    if realm.contains(['/', '@']) {
        return false;
    }
    match principal.split_once('/') {
        Some((service, host)) => !service.contains('@') && !host.contains('/'),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_valid_as_kerberos_names() {
        for ok in [
            "",
            "zk",
            "a/b",
            "a/b/c",
            "zk@EXAMPLE.COM",
            "zk/host@R",
            "@",
            "/@",
            "zk/@",
        ] {
            assert!(is_valid(ok), "{ok:?}");
        }
        for bad in ["a@b@c", "a/b/c@R", "a@R/x", "a/b@c/d"] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn registration_and_matching() {
        let mut p = SystemProperties::new();
        assert!(!is_registered(&p));
        p.set(
            "zookeeper.authProvider.1",
            SASL_AUTHENTICATION_PROVIDER_CLASS,
        );
        assert!(is_registered(&p));
        assert!(matches("zk@R", "zk@R", &p));
        assert!(matches("super", "anyone@R", &p));
        assert!(!matches("zk@R", "other@R", &p));
        p.set(LET_ANY_SASL_USER_DO_X, "shared");
        assert!(matches("zk@R", "shared", &p));
    }
}
