use super::*;

fn short(name: &str, rules: &str, realm: &str) -> Result<String, String> {
    let rules = AuthToLocalRules::parse(rules)?.with_default_realm(realm);
    KerberosName::new(name)?.short_name(&rules)
}

#[test]
fn names_split_into_their_parts() {
    let n = KerberosName::new("zookeeper/host.example.com@EXAMPLE.COM").unwrap();
    assert_eq!(n.service_name(), "zookeeper");
    assert_eq!(n.host_name(), Some("host.example.com"));
    assert_eq!(n.realm(), Some("EXAMPLE.COM"));
    assert_eq!(n.to_string(), "zookeeper/host.example.com@EXAMPLE.COM");
    let n = KerberosName::new("bob@R").unwrap();
    assert_eq!(
        (n.service_name(), n.host_name(), n.realm()),
        ("bob", None, Some("R"))
    );
    let n = KerberosName::new("a/b").unwrap();
    assert_eq!(
        (n.service_name(), n.host_name(), n.realm()),
        ("a/b", None, None)
    );
    assert_eq!(KerberosName::new("@").unwrap().to_string(), "@");
    for bad in ["a/b/c@R", "a@b@c", "a@R/x"] {
        let e = KerberosName::new(bad).unwrap_err();
        assert_eq!(e, format!("Malformed Kerberos name: {bad}"));
    }
}

#[test]
fn default_rule_strips_the_default_realm_only() {
    assert_eq!(short("bob", "DEFAULT", "").unwrap(), "bob");
    assert_eq!(
        short("bob@EXAMPLE.COM", "DEFAULT", "EXAMPLE.COM").unwrap(),
        "bob"
    );
    assert_eq!(
        short("zk/h@EXAMPLE.COM", "DEFAULT", "EXAMPLE.COM").unwrap(),
        "zk"
    );
    let e = short("bob@OTHER.COM", "DEFAULT", "EXAMPLE.COM").unwrap_err();
    assert_eq!(e, "No rules applied to bob@OTHER.COM");
}
