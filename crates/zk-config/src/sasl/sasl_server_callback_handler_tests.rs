use std::path::Path;

use super::*;
use crate::{JaasConfiguration, SystemProperties};

const JAAS: &str = r#"
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret" user_bob="bobsecret" username="ignored";
    other.Module optional user_carol="c";
};
QuorumServer {
    org.apache.zookeeper.server.auth.DigestLoginModule required user_test="qpw";
};
QuorumKrb {
    com.sun.security.auth.module.Krb5LoginModule required principal="zkquorum/h1@R";
};
"#;

fn login(section: &str, props: &[(&str, &str)]) -> Login {
    let jaas = JaasConfiguration::parse(JAAS).unwrap();
    let mut p = SystemProperties::new();
    // The machine's krb5.conf must not choose the default realm.
    p.set("java.security.krb5.conf", "/nonexistent/krb5.conf");
    for (k, v) in props {
        p.set(*k, *v);
    }
    // `other.Module` is not a module zk-rs runs: build the Login from the
    // parsed entries without it for the Server section.
    let jaas = if section == "Server" {
        JaasConfiguration::parse(&JAAS.replace("other.Module", DIGEST_LOGIN_MODULE)).unwrap()
    } else {
        jaas
    };
    Login::new(section, &jaas, Path::new("jaas.conf"))
        .unwrap()
        .with_system_properties(&p)
        .unwrap()
}

#[test]
fn server_passwords_come_from_user_options_of_every_module() {
    let h = SaslServerCallbackHandler::new(&login("Server", &[]));
    assert_eq!(h.password("bob"), Some("bobsecret"));
    assert_eq!(h.password("super"), Some("adminsecret"));
    assert_eq!(h.password("carol"), Some("c"));
    assert_eq!(h.password("username"), None);
    assert_eq!(h.password("nobody"), None);
    let shown = format!("{h:?}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[test]
fn the_super_password_property_overrides_super_only() {
    let h = SaslServerCallbackHandler::new(&login(
        "Server",
        &[("zookeeper.SASLAuthenticationProvider.superPassword", "prop")],
    ));
    assert_eq!(h.password("super"), Some("prop"));
    assert_eq!(h.password("bob"), Some("bobsecret"));
    // Without user_super the property gives super no password, as in 3.8.
    let jaas = JaasConfiguration::parse(&format!(
        "Server {{ {DIGEST_LOGIN_MODULE} required user_bob=\"b\"; }};"
    ))
    .unwrap();
    let mut props = SystemProperties::new();
    props.set("zookeeper.SASLAuthenticationProvider.superPassword", "prop");
    let login = Login::new("Server", &jaas, Path::new("j"))
        .unwrap()
        .with_system_properties(&props)
        .unwrap();
    assert_eq!(
        SaslServerCallbackHandler::new(&login).password("super"),
        None
    );
}

#[test]
fn client_ids_keep_host_and_realm_unless_told() {
    let h = SaslServerCallbackHandler::new(&login("Server", &[]));
    assert_eq!(h.authorize("bob", "bob").unwrap(), "bob");
    // No rule applies to a realm that is not the default one: the
    // authorization id asked for stands.
    assert_eq!(h.authorize("zk/h@R", "zk/h@R").unwrap(), "zk/h@R");
    let rules = "RULE:[2:$1@$0](.*@R)s/@.*//";
    let h = SaslServerCallbackHandler::new(&login(
        "Server",
        &[("zookeeper.security.auth_to_local", rules)],
    ));
    assert_eq!(h.authorize("zk/h@R", "zk/h@R").unwrap(), "zk/h@R");
    let h = SaslServerCallbackHandler::new(&login(
        "Server",
        &[
            ("zookeeper.security.auth_to_local", rules),
            ("zookeeper.kerberos.removeHostFromPrincipal", "true"),
            ("zookeeper.kerberos.removeRealmFromPrincipal", "true"),
        ],
    ));
    assert_eq!(h.authorize("zk/h@R", "zk/h@R").unwrap(), "zk");
    let e = h.authorize("a/b/c@R", "x").unwrap_err();
    assert!(e.message.contains("Malformed Kerberos name"), "{e}");
}

#[test]
fn quorum_digest_requires_matching_ids() {
    let h = SaslServerCallbackHandler::quorum(&login("QuorumServer", &[]));
    assert_eq!(h.password("test"), Some("qpw"));
    assert_eq!(h.authorize("test", "test").unwrap(), "test");
    let e = h.authorize("test", "other").unwrap_err();
    assert!(e.message.contains("not authorized"), "{e}");
}

#[test]
fn quorum_kerberos_requires_an_ensemble_host() {
    let h = SaslServerCallbackHandler::quorum(&login("QuorumKrb", &[]))
        .with_authorized_hosts(BTreeSet::from(["h1".to_string()]));
    assert_eq!(h.password("test"), None);
    assert_eq!(
        h.authorize("zkquorum/h1@R", "zkquorum/h1@R").unwrap(),
        "zkquorum/h1@R"
    );
    assert!(h.authorize("zkquorum/h2@R", "zkquorum/h2@R").is_err());
    assert!(h.authorize("zkquorum@R", "zkquorum@R").is_err());
    assert!(
        h.authorize("zkquorum/h1@", "zkquorum/h1@").is_err(),
        "Java's split drops the empty realm"
    );
}
