//! 3.8's `AuthenticationHelper`: enforced authentication.
//!
//! With `zookeeper.enforce.auth.enabled=true` a session may send nothing
//! but auth and SASL packets until it holds an id of one of the schemes
//! in `zookeeper.enforce.auth.schemes` (comma-separated). Any other
//! request, a ping or closeSession included, is answered
//! SESSIONCLOSEDREQUIRESASLAUTH (whatever the schemes: 3.8 has one code
//! for it) and the connection closes. `zookeeper.sessionRequireClientSASLAuth=true`
//! is the older switch: it means enforcement with the scheme `sasl`
//! alone, and then wins over the two others, as in 3.8.
//!
//! When SASL is among the schemes, a failed SASL exchange is answered
//! SESSIONCLOSEDREQUIRESASLAUTH rather than AUTHFAILED and the connection
//! always closes (`zookeeper.allowSaslFailedClients` no longer keeps it).
//!
//! 3.8 checks the settings when it builds a `ZooKeeperServer` and throws
//! (exit 2 standalone) when enforcement names no scheme or a scheme with
//! no provider; zk-rs checks them before any client port opens
//! ([`AuthenticationHelper::validate`]), standalone and replicated alike.

use std::net::SocketAddr;

use log::{error, info};
use zk_config::SystemProperties;
use zk_persistence::records::Id;

use crate::auth;

/// Turns enforcement on.
pub const ENFORCE_AUTH_ENABLED: &str = "zookeeper.enforce.auth.enabled";
/// The schemes that satisfy it, comma-separated.
pub const ENFORCE_AUTH_SCHEMES: &str = "zookeeper.enforce.auth.schemes";
/// The older switch: enforcement with `sasl`.
pub const SESSION_REQUIRE_CLIENT_SASL_AUTH: &str = "zookeeper.sessionRequireClientSASLAuth";
/// The scheme of SASL-authenticated ids.
pub const SASL_AUTH_SCHEME: &str = "sasl";

/// The enforcement settings a server runs with (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthenticationHelper {
    enforce_auth_enabled: bool,
    enforce_auth_schemes: Vec<String>,
    sasl_auth_required: bool,
}

impl AuthenticationHelper {
    /// The settings in `props`, as 3.8's `initConfigurations` reads them.
    pub fn new(props: &SystemProperties) -> Self {
        let (enabled, schemes) = if props.get_boolean(SESSION_REQUIRE_CLIENT_SASL_AUTH) {
            (true, vec![SASL_AUTH_SCHEME.to_string()])
        } else {
            let schemes = props
                .get(ENFORCE_AUTH_SCHEMES)
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default();
            (props.get_boolean(ENFORCE_AUTH_ENABLED), schemes)
        };
        let sasl_auth_required = enabled && schemes.iter().any(|s| s == SASL_AUTH_SCHEME);
        AuthenticationHelper {
            enforce_auth_enabled: enabled,
            enforce_auth_schemes: schemes,
            sasl_auth_required,
        }
    }

    /// Logs the settings (as 3.8 does when it builds a server) and checks
    /// them: `Err` names the setting when enforcement is on without a
    /// scheme, or with a scheme no provider is registered for in `props`.
    pub fn validate(&self, props: &SystemProperties) -> Result<(), String> {
        info!("{} = {}", ENFORCE_AUTH_ENABLED, self.enforce_auth_enabled);
        info!("{} = {:?}", ENFORCE_AUTH_SCHEMES, self.enforce_auth_schemes);
        if !self.enforce_auth_enabled {
            return Ok(());
        }
        if self.enforce_auth_schemes.is_empty() {
            let msg =
                format!("{ENFORCE_AUTH_ENABLED} is true, so {ENFORCE_AUTH_SCHEMES} must be set");
            error!("{msg}");
            return Err(msg);
        }
        for scheme in &self.enforce_auth_schemes {
            if !auth::has_provider(scheme, props) {
                let msg = format!(
                    "Authentication scheme {scheme} (in {}) is not available: no provider is \
                     registered for it (sasl needs authProvider.N=\
                     org.apache.zookeeper.server.auth.SASLAuthenticationProvider)",
                    if self.enforce_auth_schemes == [SASL_AUTH_SCHEME]
                        && props.get_boolean(SESSION_REQUIRE_CLIENT_SASL_AUTH)
                    {
                        SESSION_REQUIRE_CLIENT_SASL_AUTH
                    } else {
                        ENFORCE_AUTH_SCHEMES
                    }
                );
                error!("{msg}");
                return Err(msg);
            }
        }
        Ok(())
    }

    /// Whether enforcement is on.
    pub fn is_enforce_auth_enabled(&self) -> bool {
        self.enforce_auth_enabled
    }

    /// Whether SASL is among the enforced schemes.
    pub fn is_sasl_auth_required(&self) -> bool {
        self.sasl_auth_required
    }

    /// `isCnxnAuthenticated`: whether `ids` hold one of the schemes.
    fn is_cnxn_authenticated(&self, ids: &[Id]) -> bool {
        ids.iter()
            .any(|id| self.enforce_auth_schemes.contains(&id.scheme))
    }

    /// `enforceAuthentication`: whether a request of the session holding
    /// `ids` may go on. When not, the reason is logged here and the caller
    /// answers SESSIONCLOSEDREQUIRESASLAUTH and closes.
    pub fn enforce_authentication(&self, session_id: i64, peer: SocketAddr, ids: &[Id]) -> bool {
        if !self.enforce_auth_enabled || self.is_cnxn_authenticated(ids) {
            return true;
        }
        let held: Vec<&str> = ids.iter().map(|id| id.scheme.as_str()).collect();
        error!(
            "Client authentication scheme(s) {:?} of session 0x{:x} from {} does not match any of \
             the expected authentication schemes {:?}, closing session",
            held, session_id, peer, self.enforce_auth_schemes
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> SystemProperties {
        let mut p = SystemProperties::new();
        for (k, v) in pairs {
            p.set(*k, *v);
        }
        p
    }

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    const SASL_PROVIDER: (&str, &str) = (
        "zookeeper.authProvider.1",
        "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
    );
    const PEER: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::LOCALHOST,
        1,
    ));

    #[test]
    fn off_by_default_and_everyone_passes() {
        let h = AuthenticationHelper::new(&SystemProperties::new());
        assert!(!h.is_enforce_auth_enabled() && !h.is_sasl_auth_required());
        assert!(h.validate(&SystemProperties::new()).is_ok());
        assert!(h.enforce_authentication(1, PEER, &[id("ip", "127.0.0.1")]));
    }

    #[test]
    fn enforced_schemes_are_trimmed_and_any_one_admits() {
        let p = props(&[
            (ENFORCE_AUTH_ENABLED, "TRUE"),
            (ENFORCE_AUTH_SCHEMES, " digest , sasl"),
            SASL_PROVIDER,
        ]);
        let h = AuthenticationHelper::new(&p);
        assert!(h.is_enforce_auth_enabled() && h.is_sasl_auth_required());
        assert!(h.validate(&p).is_ok());
        assert!(!h.enforce_authentication(1, PEER, &[id("ip", "127.0.0.1")]));
        assert!(h.enforce_authentication(1, PEER, &[id("ip", "x"), id("digest", "u:h")]));
        assert!(h.enforce_authentication(1, PEER, &[id("sasl", "bob")]));
        // `super` alone is no enforced scheme.
        assert!(!h.enforce_authentication(1, PEER, &[id("super", "")]));
    }

    #[test]
    fn session_require_client_sasl_auth_means_sasl_and_wins() {
        let p = props(&[
            (SESSION_REQUIRE_CLIENT_SASL_AUTH, "true"),
            (ENFORCE_AUTH_ENABLED, "false"),
            (ENFORCE_AUTH_SCHEMES, "digest"),
        ]);
        let h = AuthenticationHelper::new(&p);
        assert!(h.is_enforce_auth_enabled() && h.is_sasl_auth_required());
        assert!(!h.enforce_authentication(1, PEER, &[id("digest", "u:h")]));
        let e = h.validate(&p).unwrap_err();
        assert!(
            e.contains("scheme sasl") && e.contains(SESSION_REQUIRE_CLIENT_SASL_AUTH),
            "{e}"
        );
        let mut p = p;
        p.set(SASL_PROVIDER.0, SASL_PROVIDER.1);
        assert!(AuthenticationHelper::new(&p).validate(&p).is_ok());
    }

    #[test]
    fn enforcement_without_a_usable_scheme_is_refused() {
        let p = props(&[(ENFORCE_AUTH_ENABLED, "true")]);
        let e = AuthenticationHelper::new(&p).validate(&p).unwrap_err();
        assert!(e.contains(ENFORCE_AUTH_SCHEMES), "{e}");
        let p = props(&[
            (ENFORCE_AUTH_ENABLED, "true"),
            (ENFORCE_AUTH_SCHEMES, "x509"),
        ]);
        let e = AuthenticationHelper::new(&p).validate(&p).unwrap_err();
        assert!(e.contains("scheme x509"), "{e}");
        let p = props(&[
            (ENFORCE_AUTH_ENABLED, "true"),
            (ENFORCE_AUTH_SCHEMES, "digest"),
        ]);
        let h = AuthenticationHelper::new(&p);
        assert!(h.validate(&p).is_ok());
        assert!(!h.is_sasl_auth_required());
        // Schemes without enforcement are read but ask for nothing.
        let p = props(&[(ENFORCE_AUTH_SCHEMES, "nosuch")]);
        assert!(AuthenticationHelper::new(&p).validate(&p).is_ok());
    }
}
