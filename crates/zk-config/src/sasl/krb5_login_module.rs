//! The JDK's `com.sun.security.auth.module.Krb5LoginModule` options, as a
//! JAAS section gives them to ZooKeeper's Kerberos logins, turned into the
//! MIT credential store a GSSAPI credential is acquired from.

use super::gss::CredentialUsage;
use super::login::{Login, KRB5_LOGIN_MODULES};
use std::collections::BTreeMap;

/// One `Krb5LoginModule` entry of a JAAS section:
///
/// ```text
/// Server { com.sun.security.auth.module.Krb5LoginModule required
///   useKeyTab=true keyTab="/etc/zk.keytab" storeKey=true
///   principal="zookeeper/localhost@EXAMPLE.COM"; };
/// ```
///
/// Read: `principal`, `useKeyTab`/`keyTab`, `useTicketCache`/`ticketCache`.
/// The others (`storeKey`, `doNotPrompt`, `isInitiator`, `debug`,
/// `refreshKrb5Config`, ...) change nothing here: keys are never prompted
/// for, and MIT's library reads krb5.conf (`KRB5_CONFIG`) itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Krb5LoginModule {
    principal: Option<String>,
    key_tab: Option<String>,
    ticket_cache: Option<String>,
    use_ticket_cache: bool,
}

impl Krb5LoginModule {
    /// The login module's class name as JAAS files spell it.
    pub const NAME: &'static str = "com.sun.security.auth.module.Krb5LoginModule";

    /// Reads the options of one entry (keys as written, case-sensitive,
    /// booleans `true` in any case as the JDK's `equalsIgnoreCase`).
    pub fn from_options(options: &BTreeMap<String, String>) -> Krb5LoginModule {
        let flag = |key: &str| {
            options
                .get(key)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        };
        let text = |key: &str| options.get(key).filter(|v| !v.is_empty()).cloned();
        Krb5LoginModule {
            principal: text("principal"),
            // As the JDK: a keyTab is read only with useKeyTab=true.
            key_tab: if flag("useKeyTab") {
                text("keyTab").or_else(|| Some(String::new()))
            } else {
                None
            },
            ticket_cache: text("ticketCache"),
            use_ticket_cache: flag("useTicketCache"),
        }
    }

    /// The section's first Krb5LoginModule entry (the JDK's or IBM's), if
    /// it has one.
    pub fn from_login(login: &Login) -> Option<Krb5LoginModule> {
        login
            .entries()
            .iter()
            .find(|e| KRB5_LOGIN_MODULES.contains(&e.login_module_name.as_str()))
            .map(|e| Self::from_options(&e.options))
    }

    /// The `principal` option (`zookeeper/localhost@EXAMPLE.COM`).
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// The keytab file, when `useKeyTab=true` names one.
    pub fn key_tab(&self) -> Option<&str> {
        self.key_tab.as_deref().filter(|k| !k.is_empty())
    }

    /// MIT credential store pairs for acquiring this login's credential.
    ///
    /// Accepting (a server): `keytab` from `keyTab`, else MIT's default
    /// (`KRB5_KTNAME`, then `/etc/krb5.keytab`). Initiating (a client):
    /// with `useKeyTab=true` the keytab is the `client_keytab` and the
    /// tickets it yields go to a memory cache of this process, one per
    /// principal (MIT gets a fresh ticket from the keytab when it
    /// expires); else with `useTicketCache=true` the `ticketCache` file or
    /// the default cache (`KRB5CCNAME`). A client with neither is refused,
    /// as it would have to prompt.
    pub fn credential_store(
        &self,
        usage: CredentialUsage,
    ) -> Result<Vec<(&'static str, String)>, String> {
        let mut store = Vec::new();
        match usage {
            CredentialUsage::Accept => {
                if let Some(key_tab) = self.key_tab() {
                    store.push(("keytab", key_tab.to_string()));
                }
            }
            CredentialUsage::Initiate => {
                if self.key_tab.is_some() {
                    if let Some(key_tab) = self.key_tab() {
                        store.push(("client_keytab", key_tab.to_string()));
                    }
                    let who = self.principal.as_deref().unwrap_or("default");
                    let cache: String = who
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '.' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    store.push(("ccache", format!("MEMORY:zk-sasl-{cache}")));
                } else if self.use_ticket_cache {
                    if let Some(cache) = &self.ticket_cache {
                        store.push(("ccache", cache.clone()));
                    }
                } else {
                    return Err(format!(
                        "{} for {} has neither useKeyTab=true nor useTicketCache=true: \
                         there is no credential to use (zk-rs never prompts)",
                        Self::NAME,
                        self.principal.as_deref().unwrap_or("the default principal")
                    ));
                }
            }
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn server_keytab_is_the_acceptor_store() {
        let login = Krb5LoginModule::from_options(&options(&[
            ("useKeyTab", "true"),
            ("keyTab", "/tmp/zk.keytab"),
            ("principal", "zookeeper/localhost@EXAMPLE.COM"),
        ]));
        assert_eq!(login.principal(), Some("zookeeper/localhost@EXAMPLE.COM"));
        assert_eq!(
            login.credential_store(CredentialUsage::Accept).unwrap(),
            vec![("keytab", "/tmp/zk.keytab".to_string())]
        );
    }

    #[test]
    fn keytab_without_use_key_tab_is_ignored_as_by_the_jdk() {
        let login = Krb5LoginModule::from_options(&options(&[("keyTab", "/tmp/zk.keytab")]));
        assert_eq!(login.key_tab(), None);
        assert!(login
            .credential_store(CredentialUsage::Accept)
            .unwrap()
            .is_empty());
        let refused = login
            .credential_store(CredentialUsage::Initiate)
            .unwrap_err();
        assert!(refused.contains("useKeyTab=true"), "{refused}");
    }

    #[test]
    fn client_keytab_gets_a_memory_cache_per_principal() {
        let login = Krb5LoginModule::from_options(&options(&[
            ("useKeyTab", "TRUE"),
            ("keyTab", "/k/client.keytab"),
            ("principal", "client/host@EXAMPLE.COM"),
        ]));
        assert_eq!(
            login.credential_store(CredentialUsage::Initiate).unwrap(),
            vec![
                ("client_keytab", "/k/client.keytab".to_string()),
                (
                    "ccache",
                    "MEMORY:zk-sasl-client_host_EXAMPLE.COM".to_string()
                )
            ]
        );
    }

    #[test]
    fn ticket_cache_client() {
        let login = Krb5LoginModule::from_options(&options(&[
            ("useTicketCache", "true"),
            ("ticketCache", "FILE:/tmp/cc"),
        ]));
        assert_eq!(
            login.credential_store(CredentialUsage::Initiate).unwrap(),
            vec![("ccache", "FILE:/tmp/cc".to_string())]
        );
    }
}
