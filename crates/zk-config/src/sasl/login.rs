//! 3.8's `org.apache.zookeeper.Login`: a JAAS section (`Server`,
//! `QuorumServer`, `QuorumLearner`, `Client`) logged in, i.e. the
//! credentials its login modules hold.
//!
//! zk-rs runs the two login modules ZooKeeper deployments use:
//! `org.apache.zookeeper.server.auth.DigestLoginModule` (a client's
//! `username`/`password`; a server's `user_NAME="password"` options, which
//! [`super::SaslServerCallbackHandler`] reads) and the JDK's
//! `Krb5LoginModule` (its `principal`; the Kerberos login itself is the
//! GSSAPI mechanism's). Any other module class would be a class the JVM
//! cannot load, so the login fails, naming it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::jaas_configuration::{AppConfigurationEntry, JaasConfiguration};
use crate::system_properties::SystemProperties;

use super::kerberos_name::AuthToLocalRules;

/// ZooKeeper's own login module for DIGEST-MD5.
pub const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// The Kerberos login modules of the JDKs ZooKeeper runs on.
pub const KRB5_LOGIN_MODULES: &[&str] = &[
    "com.sun.security.auth.module.Krb5LoginModule",
    "com.ibm.security.auth.module.Krb5LoginModule",
];

/// A JAAS section as a login: its entries, and the system properties the
/// SASL classes built from it read (`zookeeper.SASLAuthenticationProvider
/// .superPassword`, `zookeeper.kerberos.remove*FromPrincipal`,
/// `zookeeper.security.auth_to_local`).
#[derive(Clone)]
pub struct Login {
    context_name: String,
    jaas_file: PathBuf,
    entries: Vec<AppConfigurationEntry>,
    system_properties: SystemProperties,
    rules: Arc<AuthToLocalRules>,
}

impl std::fmt::Debug for Login {
    // The options hold passwords: only names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("context_name", &self.context_name)
            .field("jaas_file", &self.jaas_file)
            .field(
                "login_modules",
                &self
                    .entries
                    .iter()
                    .map(|e| e.login_module_name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Login {
    /// Logs in with section `context_name` of `jaas` (read from
    /// `jaas_file`, named in errors). `Err` as 3.8's login fails: no such
    /// section, an empty one, a login module zk-rs cannot run.
    pub fn new(
        context_name: &str,
        jaas: &JaasConfiguration,
        jaas_file: &Path,
    ) -> Result<Login, String> {
        let Some(entries) = jaas.app_configuration_entry(context_name) else {
            return Err(format!(
                "No JAAS configuration section named '{context_name}' was found in '{}'.",
                jaas_file.display()
            ));
        };
        if entries.is_empty() {
            return Err(format!(
                "No LoginModules configured for {context_name} in '{}'",
                jaas_file.display()
            ));
        }
        for entry in entries {
            let name = entry.login_module_name.as_str();
            if name != DIGEST_LOGIN_MODULE && !KRB5_LOGIN_MODULES.contains(&name) {
                return Err(format!(
                    "unable to find LoginModule class: {name} (section '{context_name}' of '{}'; \
                     zk-rs runs {DIGEST_LOGIN_MODULE} and Krb5LoginModule)",
                    jaas_file.display()
                ));
            }
        }
        Ok(Login {
            context_name: context_name.to_string(),
            jaas_file: jaas_file.to_path_buf(),
            entries: entries.to_vec(),
            system_properties: SystemProperties::default(),
            rules: Arc::new(AuthToLocalRules::default()),
        })
    }

    /// The same login reading `props` for the SASL settings 3.8 takes
    /// from system properties; `Err` names a malformed
    /// `zookeeper.security.auth_to_local`, or a missing Kerberos default
    /// realm under `zookeeper.requireKerberosConfig=true`.
    pub fn with_system_properties(mut self, props: &SystemProperties) -> Result<Login, String> {
        // With the JDK's default realm: `DEFAULT` maps only names of that
        // realm, so without it no principal would get its short name.
        self.rules = Arc::new(AuthToLocalRules::from_system_properties(props)?);
        self.system_properties = props.clone();
        Ok(self)
    }

    /// The JAAS section's name.
    pub fn context_name(&self) -> &str {
        &self.context_name
    }

    /// The file the section was read from.
    pub fn jaas_file(&self) -> &Path {
        &self.jaas_file
    }

    /// The section's login modules, in file order.
    pub fn entries(&self) -> &[AppConfigurationEntry] {
        &self.entries
    }

    /// The system properties given to [`Login::with_system_properties`].
    pub fn system_properties(&self) -> &SystemProperties {
        &self.system_properties
    }

    /// The `zookeeper.security.auth_to_local` rules in force.
    pub fn auth_to_local_rules(&self) -> &Arc<AuthToLocalRules> {
        &self.rules
    }

    /// The `principal` option of the section's Krb5LoginModule: with one,
    /// the login speaks GSSAPI (3.8's subject has a principal).
    pub fn kerberos_principal(&self) -> Option<&str> {
        self.entries
            .iter()
            .filter(|e| KRB5_LOGIN_MODULES.contains(&e.login_module_name.as_str()))
            .find_map(|e| e.options.get("principal"))
            .map(String::as_str)
    }

    /// DigestLoginModule's `username` and `password` options: a client's
    /// or quorum learner's DIGEST-MD5 credentials (a missing password is
    /// the empty one).
    pub fn digest_credentials(&self) -> Option<(&str, &str)> {
        self.entries
            .iter()
            .filter(|e| e.login_module_name == DIGEST_LOGIN_MODULE)
            .find_map(|e| {
                let user = e.options.get("username")?;
                let password = e.options.get("password").map_or("", String::as_str);
                Some((user.as_str(), password))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(text: &str, section: &str) -> Result<Login, String> {
        let jaas = JaasConfiguration::parse(text).unwrap();
        Login::new(section, &jaas, Path::new("/etc/zk/jaas.conf"))
    }

    #[test]
    fn digest_and_kerberos_credentials() {
        let text = r#"
            Client { org.apache.zookeeper.server.auth.DigestLoginModule required
                     username="bob" password="pw"; };
            Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true
                     keyTab="/k" principal="zookeeper/h@R"; };
            Bare { org.apache.zookeeper.server.auth.DigestLoginModule required; };
        "#;
        let client = login(text, "Client").unwrap();
        assert_eq!(client.context_name(), "Client");
        assert_eq!(client.digest_credentials(), Some(("bob", "pw")));
        assert_eq!(client.kerberos_principal(), None);
        let server = login(text, "Server").unwrap();
        assert_eq!(server.kerberos_principal(), Some("zookeeper/h@R"));
        assert_eq!(server.digest_credentials(), None);
        assert_eq!(server.entries()[0].options["keyTab"], "/k");
        assert_eq!(login(text, "Bare").unwrap().digest_credentials(), None);
        let shown = format!("{client:?}");
        assert!(!shown.contains("pw"), "{shown}");
    }

    #[test]
    fn failed_logins_name_the_section_and_file() {
        let text = "Empty { };\nOther { com.example.Plain required; };";
        let e = login(text, "Server").unwrap_err();
        assert_eq!(
            e,
            "No JAAS configuration section named 'Server' was found in '/etc/zk/jaas.conf'."
        );
        let e = login(text, "Empty").unwrap_err();
        assert!(e.contains("No LoginModules configured for Empty"), "{e}");
        let e = login(text, "Other").unwrap_err();
        assert!(
            e.contains("unable to find LoginModule class: com.example.Plain"),
            "{e}"
        );
        assert!(e.contains("'/etc/zk/jaas.conf'"), "{e}");
    }

    #[test]
    fn malformed_auth_to_local_fails_the_login() {
        let text = "Server { org.apache.zookeeper.server.auth.DigestLoginModule required; };";
        let mut props = SystemProperties::new();
        props.set("zookeeper.security.auth_to_local", "RULE:[x");
        let e = login(text, "Server")
            .unwrap()
            .with_system_properties(&props)
            .unwrap_err();
        assert!(e.starts_with("zookeeper.security.auth_to_local: "), "{e}");
    }
}
