//! 3.8's `SaslServerCallbackHandler` (the `Server` section's) and
//! `SaslQuorumServerCallbackHandler` (the `QuorumServer` section's): the
//! passwords a DIGEST-MD5 server checks, and who an authenticated peer
//! is authorized as.
//!
//! Passwords are the `user_NAME="password"` options of the section's
//! login modules (any module for `Server`; DigestLoginModule's only for
//! `QuorumServer`, where another module turns DIGEST off). For clients,
//! `super`'s password may come from the system property
//! `zookeeper.SASLAuthenticationProvider.superPassword` instead (when the
//! section has a `user_super`, as in 3.8), and the authorized id is the
//! authentication id rewritten by [`KerberosName`]'s rules, keeping its host and realm unless
//! `zookeeper.kerberos.removeHostFromPrincipal` /
//! `removeRealmFromPrincipal` are `true`. For quorum peers the
//! authorization id must be the authentication id and, under Kerberos,
//! its host one of the ensemble's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::kerberos_name::{AuthToLocalRules, KerberosName};
use super::login::{Login, DIGEST_LOGIN_MODULE};
use super::SaslException;

const USER_PREFIX: &str = "user_";
const SUPER_PASSWORD: &str = "zookeeper.SASLAuthenticationProvider.superPassword";
const REMOVE_HOST: &str = "zookeeper.kerberos.removeHostFromPrincipal";
const REMOVE_REALM: &str = "zookeeper.kerberos.removeRealmFromPrincipal";

/// The server side's credentials and authorization rules.
#[derive(Clone)]
pub struct SaslServerCallbackHandler {
    credentials: BTreeMap<String, String>,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Clients {
        super_password: Option<String>,
        remove_host: bool,
        remove_realm: bool,
        rules: Arc<AuthToLocalRules>,
    },
    Quorum {
        is_digest: bool,
        authorized_hosts: BTreeSet<String>,
    },
}

impl std::fmt::Debug for SaslServerCallbackHandler {
    // Never the passwords: the user names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslServerCallbackHandler")
            .field("users", &self.credentials.keys().collect::<Vec<_>>())
            .field("quorum", &matches!(self.kind, Kind::Quorum { .. }))
            .finish_non_exhaustive()
    }
}

fn user_passwords<'a>(
    entries: impl Iterator<Item = &'a crate::AppConfigurationEntry>,
) -> BTreeMap<String, String> {
    entries
        .flat_map(|e| e.options.iter())
        .filter_map(|(k, v)| Some((k.strip_prefix(USER_PREFIX)?.to_string(), v.clone())))
        .collect()
}

impl SaslServerCallbackHandler {
    /// The client port's handler, from the `Server` login (and its
    /// system properties).
    pub fn new(login: &Login) -> Self {
        let props = login.system_properties();
        SaslServerCallbackHandler {
            credentials: user_passwords(login.entries().iter()),
            kind: Kind::Clients {
                super_password: props.get(SUPER_PASSWORD).map(str::to_string),
                remove_host: props.get(REMOVE_HOST) == Some("true"),
                remove_realm: props.get(REMOVE_REALM) == Some("true"),
                rules: Arc::clone(login.auth_to_local_rules()),
            },
        }
    }

    /// The quorum's handler, from the `QuorumServer` login: DIGEST-MD5
    /// when every login module is DigestLoginModule, else Kerberos (and
    /// no passwords).
    pub fn quorum(login: &Login) -> Self {
        let is_digest = login
            .entries()
            .iter()
            .all(|e| e.login_module_name == DIGEST_LOGIN_MODULE);
        let credentials = if is_digest {
            log::warn!("Using DIGEST-MD5 for quorum authorization");
            user_passwords(login.entries().iter())
        } else {
            BTreeMap::new()
        };
        SaslServerCallbackHandler {
            credentials,
            kind: Kind::Quorum {
                is_digest,
                authorized_hosts: BTreeSet::new(),
            },
        }
    }

    /// The same quorum handler accepting Kerberos peers from `hosts`
    /// (3.8's `authzHosts`: the hosts of the ensemble's quorum servers).
    /// No effect on the client port's handler.
    pub fn with_authorized_hosts(mut self, hosts: BTreeSet<String>) -> Self {
        if let Kind::Quorum {
            authorized_hosts, ..
        } = &mut self.kind
        {
            *authorized_hosts = hosts;
        }
        self
    }

    /// The password DIGEST-MD5 checks `user` against; `None` for a user
    /// not in the section (3.8 logs it, and the exchange fails). The super
    /// password property replaces `user_super`'s password, and like 3.8
    /// only when the section has a `user_super` (3.8's name callback
    /// stops at a user the section lacks).
    pub fn password(&self, user: &str) -> Option<&str> {
        let Some(password) = self.credentials.get(user) else {
            log::warn!("User '{user}' not found in list of DIGEST-MD5 authenticateable users.");
            return None;
        };
        match &self.kind {
            Kind::Clients {
                super_password: Some(pw),
                ..
            } if user == "super" => Some(pw),
            _ => Some(password),
        }
    }

    /// Whether `authentication_id` (who proved it) may act as
    /// `authorization_id` (who it asked to be), and the id it is then
    /// known by. `Err` when not authorized.
    pub fn authorize(
        &self,
        authentication_id: &str,
        authorization_id: &str,
    ) -> Result<String, SaslException> {
        match &self.kind {
            Kind::Clients {
                remove_host,
                remove_realm,
                rules,
                ..
            } => {
                log::info!(
                    "Successfully authenticated client: authenticationID={authentication_id};  \
                     authorizationID={authorization_id}."
                );
                let name = KerberosName::new(authentication_id).map_err(SaslException::new)?;
                match name.short_name(rules) {
                    Ok(short) => {
                        let mut id = short;
                        if let Some(host) = name.host_name().filter(|_| !remove_host) {
                            id = format!("{id}/{host}");
                        }
                        if let Some(realm) = name.realm().filter(|_| !remove_realm) {
                            id = format!("{id}@{realm}");
                        }
                        log::info!("Setting authorizedID: {id}");
                        Ok(id)
                    }
                    Err(e) => {
                        // 3.8 leaves the authorized id unset: it is then
                        // the authorization id asked for.
                        log::error!(
                            "Failed to set name based on Kerberos authentication rules: {e}"
                        );
                        Ok(authorization_id.to_string())
                    }
                }
            }
            Kind::Quorum {
                is_digest,
                authorized_hosts,
            } => {
                let mut authorized = authentication_id == authorization_id;
                if !is_digest && authorized {
                    let mut parts: Vec<&str> = authorization_id.split(['/', '@']).collect();
                    // Java's split drops trailing empty parts.
                    while parts.last() == Some(&"") {
                        parts.pop();
                    }
                    authorized = parts.len() == 3 && authorized_hosts.contains(parts[1]);
                    if !authorized {
                        log::error!(
                            "SASL authorization completed, {authorization_id} is not authorized to connect"
                        );
                    }
                }
                if !authorized {
                    return Err(SaslException::new(format!(
                        "{authentication_id} is not authorized to connect as {authorization_id}"
                    )));
                }
                log::info!(
                    "Successfully authenticated learner: authenticationID={authentication_id};  \
                     authorizationID={authorization_id}."
                );
                Ok(authorization_id.to_string())
            }
        }
    }
}

#[cfg(test)]
impl SaslServerCallbackHandler {
    /// A client port handler with exactly these users (names JAAS cannot
    /// write).
    pub(crate) fn for_tests(users: &[(&str, &str)]) -> Self {
        SaslServerCallbackHandler {
            credentials: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            kind: Kind::Clients {
                super_password: None,
                remove_host: false,
                remove_realm: false,
                rules: Arc::new(AuthToLocalRules::default()),
            },
        }
    }
}

#[cfg(test)]
#[path = "sasl_server_callback_handler_tests.rs"]
mod tests;
