//! `X509AuthenticationProvider`: a TLS client that presented a certificate
//! the trust store verified is authenticated as scheme `x509` with its
//! certificate's subject DN (Java's `X500Principal.getName()`), as 3.8 does
//! when its `CertificateVerifier` calls `handleAuthentication` on the
//! channel's peer certificates. The subject named by
//! `zookeeper.X509AuthenticationProvider.superUser` is also `super`.
//!
//! Like every provider beyond `ip` and `digest`, it exists only when
//! registered (`authProvider.<n>=` its class name); 3.8's
//! `QuorumPeerConfig.configureSSLAuth` registers it as `authProvider.x509`
//! by itself when the secure client port or port unification is on and
//! `ssl.authProvider` is `x509` ([`configure_ssl_auth`]).

use zk_config::rustls::pki_types::CertificateDer;
use zk_config::{subject_dn, SystemProperties};
use zk_persistence::records::Id;

/// The provider's class name in `authProvider.*` settings.
pub const X509_AUTHENTICATION_PROVIDER_CLASS: &str =
    "org.apache.zookeeper.server.auth.X509AuthenticationProvider";
/// The system property naming the subject that is also super user.
pub const X509_SUPER_USER_PROPERTY: &str = "zookeeper.X509AuthenticationProvider.superUser";
/// The prefix of the properties that register providers
/// (`ProviderRegistry.AUTHPROVIDER_PROPERTY_PREFIX`).
const AUTH_PROVIDER_PREFIX: &str = "zookeeper.authProvider.";

/// The x509 provider (see the module doc).
pub struct X509AuthenticationProvider {
    super_user: Option<String>,
}

impl X509AuthenticationProvider {
    /// The scheme of the ids it hands out and of the ACLs it checks.
    pub const SCHEME: &'static str = "x509";

    /// The provider, if `props` register it (`ProviderRegistry.getProvider`
    /// of `x509`).
    pub fn registered(props: &SystemProperties) -> Option<X509AuthenticationProvider> {
        is_registered(props).then(|| X509AuthenticationProvider {
            super_user: props.get(X509_SUPER_USER_PROPERTY).map(str::to_string),
        })
    }

    /// `handleAuthentication`: the ids a verified chain (leaf first) proves:
    /// `x509:<subject DN>`, preceded by `super:<subject DN>` for the super
    /// user. `Err` (AUTHFAILED in 3.8) for an empty chain or a leaf whose
    /// subject cannot be read.
    pub fn handle_authentication(&self, chain: &[CertificateDer<'_>]) -> Result<Vec<Id>, String> {
        let leaf = chain
            .first()
            .ok_or_else(|| "the client presented no certificate".to_string())?;
        let client_id = subject_dn(leaf).map_err(|e| e.to_string())?;
        let mut ids = Vec::new();
        if self.super_user.as_deref() == Some(client_id.as_str()) {
            log::info!("Authenticated Id '{client_id}' as super user");
            ids.push(Id {
                scheme: "super".into(),
                id: client_id.clone(),
            });
        }
        log::info!(
            "Authenticated Id '{}' for Scheme '{}'",
            client_id,
            Self::SCHEME
        );
        ids.push(Id {
            scheme: Self::SCHEME.into(),
            id: client_id,
        });
        Ok(ids)
    }
}

/// Whether some `authProvider.*` setting names the x509 provider's class.
pub fn is_registered(props: &SystemProperties) -> bool {
    props.iter().any(|(k, v)| {
        k.starts_with(AUTH_PROVIDER_PREFIX) && v.trim() == X509_AUTHENTICATION_PROVIDER_CLASS
    })
}

/// `matches`: an x509 ACL entry admits exactly its subject. (3.8 also lets
/// the super user's id match any entry; that user holds `super` too, which
/// passes every ACL before entries are matched.)
pub fn matches(id: &str, acl_expr: &str) -> bool {
    id == acl_expr
}

/// `isValid`: whether `id` parses as an X.500 name the way
/// `new X500Principal(id)` needs it to: RDNs separated by `,` or `;`, each
/// one or more `type=value` joined by `+`, the type a keyword or an OID.
/// The empty name is valid.
pub fn is_valid(id: &str) -> bool {
    if id.trim().is_empty() {
        return true;
    }
    split_unescaped(id, &[',', ';']).iter().all(|rdn| {
        split_unescaped(rdn, &['+'])
            .iter()
            .all(|ava| valid_ava(ava))
    })
}

fn valid_ava(ava: &str) -> bool {
    let Some((key, _value)) = ava.split_once('=') else {
        return false;
    };
    let key = key.trim();
    let keyword = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = key
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    keyword || oid
}

/// Splits at the separators that are not escaped with a backslash.
fn split_unescaped<'a>(s: &'a str, seps: &[char]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if seps.contains(&c) {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// `QuorumPeerConfig.configureSSLAuth`: with TLS for clients on and
/// `ssl.authProvider` left at `x509`, registers the x509 provider as
/// `authProvider.x509` unless that is set already. `Err` names a
/// `ssl.authProvider` this server cannot serve: 3.8 fails such a config
/// when no provider is registered for it, and only the x509 provider
/// authenticates certificates here.
pub fn configure_ssl_auth(
    props: &mut SystemProperties,
    ssl_auth_provider: &str,
) -> Result<(), String> {
    let key = format!("{AUTH_PROVIDER_PREFIX}{ssl_auth_provider}");
    if ssl_auth_provider == X509AuthenticationProvider::SCHEME {
        if props.get(&key).is_none() {
            props.set(key, X509_AUTHENTICATION_PROVIDER_CLASS);
        }
        return Ok(());
    }
    Err(match props.get(&key) {
        None => format!(
            "No auth provider configured for the SSL authentication scheme '{ssl_auth_provider}' \
             (ssl.authProvider)"
        ),
        Some(class) => format!(
            "ssl.authProvider={ssl_auth_provider} (authProvider.{ssl_auth_provider}={class}) is not \
             supported: zk-rs authenticates TLS clients with the x509 provider only"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x500_names_are_valid_as_java_parses_them() {
        assert!(is_valid(""));
        assert!(is_valid("CN=client"));
        assert!(is_valid("CN=client,O=Example,C=DE"));
        assert!(is_valid("CN=a+OU=b; O=c"));
        assert!(is_valid("2.5.4.3=x"));
        assert!(is_valid("CN=a\\,b"));
        assert!(!is_valid("client"));
        assert!(!is_valid("CN=a,"));
        assert!(!is_valid("=x"));
        assert!(!is_valid("1.=x"));
    }

    #[test]
    fn ssl_auth_registers_x509_or_names_what_it_cannot_serve() {
        let mut p = SystemProperties::new();
        assert!(X509AuthenticationProvider::registered(&p).is_none());
        configure_ssl_auth(&mut p, "x509").unwrap();
        assert_eq!(
            p.get("zookeeper.authProvider.x509"),
            Some(X509_AUTHENTICATION_PROVIDER_CLASS)
        );
        assert!(X509AuthenticationProvider::registered(&p).is_some());
        let e = configure_ssl_auth(&mut p, "mine").unwrap_err();
        assert!(e.contains("'mine'"), "{e}");
        p.set("zookeeper.authProvider.mine", "com.example.Mine");
        let e = configure_ssl_auth(&mut p, "mine").unwrap_err();
        assert!(e.contains("com.example.Mine"), "{e}");
    }

    #[test]
    fn the_subject_is_the_id_and_the_super_user_also_super() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dn = subject_dn(cert.cert.der()).unwrap();
        let mut p = SystemProperties::new();
        p.set(
            "zookeeper.authProvider.1",
            X509_AUTHENTICATION_PROVIDER_CLASS,
        );
        let x = X509AuthenticationProvider::registered(&p).unwrap();
        let ids = x.handle_authentication(&[cert.cert.der().clone()]).unwrap();
        assert_eq!(
            ids,
            vec![Id {
                scheme: "x509".into(),
                id: dn.clone()
            }]
        );
        assert!(x.handle_authentication(&[]).is_err());
        p.set(X509_SUPER_USER_PROPERTY, dn.clone());
        let x = X509AuthenticationProvider::registered(&p).unwrap();
        let ids = x.handle_authentication(&[cert.cert.der().clone()]).unwrap();
        assert_eq!(ids[0].scheme, "super");
        assert_eq!(ids[1].id, dn);
        assert!(matches(&dn, &dn));
        assert!(!matches(&dn, "CN=other"));
    }
}
