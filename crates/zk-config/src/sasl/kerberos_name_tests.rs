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

#[test]
fn rules_rewrite_as_hadoop_applies_them() {
    let rules = "RULE:[1:$1@$0](.*@FOO.COM)s/@.*//
                 RULE:[2:$1](johndoe)s/^.*$/guest/
                 RULE:[2:$1;$2](^.*;admin$)s/;admin$//
                 RULE:[2:$2](root)
                 DEFAULT";
    for (name, expected) in [
        ("joe@FOO.COM", "joe"),
        ("johndoe/zoo@FOO.COM", "guest"),
        ("joe/admin@FOO.COM", "joe"),
        ("joe/root@FOO.COM", "root"),
        ("joe/other@BAR.COM", "joe"),
        ("joe@BAR.COM", "joe"),
    ] {
        assert_eq!(short(name, rules, "BAR.COM").unwrap(), expected, "{name}");
    }
    let e = short("joe/other@BAZ.COM", rules, "BAR.COM").unwrap_err();
    assert_eq!(e, "No rules applied to joe/other@BAZ.COM");
}

#[test]
fn substitution_once_or_everywhere_and_group_references() {
    assert_eq!(short("foo@R", "RULE:[1:$1]s/o/0/", "").unwrap(), "f0o");
    assert_eq!(short("foo@R", "RULE:[1:$1]s/o/0/g", "").unwrap(), "f00");
    assert_eq!(
        short("ab@R", "RULE:[1:$1](a.)s/(a)(b)/$2$1/", "").unwrap(),
        "ba"
    );
    // Java takes `$1` then a literal `0` when there is no group 10.
    assert_eq!(short("ab@R", "RULE:[1:$1]s/(a)/$10/", "").unwrap(), "a0b");
    assert_eq!(short("ab@R", r"RULE:[1:$1]s/a/\$/", "").unwrap(), "$b");
    // The match is whole-string: `a` does not match "ab".
    assert!(short("ab@R", "RULE:[1:$1](a)", "").is_err());
    assert_eq!(short("ab@R", "RULE:[1:$1](a.)", "").unwrap(), "ab");
    // A rule for one component does not apply to two.
    assert!(short("a/b@R", "RULE:[1:$1]", "").is_err());
}

#[test]
fn bad_rules_and_results_are_errors() {
    for (rules, why) in [
        ("RULE:[1:$1", "Invalid rule: RULE:[1:$1"),
        ("DEFAULT junk", "Invalid rule:  junk"),
        ("RULE:[:$1]", "bad component count"),
        ("RULE:[1:$1](a[)", "pattern a["),
    ] {
        let e = AuthToLocalRules::parse(rules).unwrap_err();
        assert!(e.contains(why), "{rules}: {e}");
    }
    let e = short("a@R", "RULE:[1:$1@$0]", "").unwrap_err();
    assert_eq!(
        e,
        "Non-simple name a@R after auth_to_local rule RULE:[1:$1@$0]"
    );
    let e = short("a@R", "RULE:[1:$2]", "").unwrap_err();
    assert!(
        e.contains("index 2 from $2 is outside of the valid range 0 to 1"),
        "{e}"
    );
    let e = short("a@R", "RULE:[1:$x]", "").unwrap_err();
    assert!(e.contains("bad format in username mapping"), "{e}");
    let e = short("a@R", "RULE:[1:$1]s/a/$2/", "").unwrap_err();
    assert!(e.contains("No group 2"), "{e}");
    let rule = "RULE:[2:$1/$2@$0](x.*)s/a/b/g";
    let e = short("xa/h@R", rule, "").unwrap_err();
    assert!(
        e.ends_with(&format!("after auth_to_local rule {rule}")),
        "{e}"
    );
}

#[test]
fn the_default_realm_comes_from_the_jdks_krb5_conf() {
    let dir = std::env::temp_dir().join(format!("zk-rs-krb5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("krb5.conf");
    std::fs::write(
        &conf,
        "[realms]\n default_realm = WRONG\n[libdefaults]\n # default_realm = NO\n  default_realm = EXAMPLE.COM\n",
    )
    .unwrap();
    let mut props = SystemProperties::new();
    props.set("java.security.krb5.conf", conf.to_str().unwrap());
    assert_eq!(default_realm(&props).unwrap(), "EXAMPLE.COM");
    let rules = AuthToLocalRules::from_system_properties(&props).unwrap();
    assert_eq!(
        KerberosName::new("bob@EXAMPLE.COM")
            .unwrap()
            .short_name(&rules)
            .unwrap(),
        "bob"
    );
    props.set("java.security.krb5.realm", "PROP.ORG");
    assert_eq!(default_realm(&props).unwrap(), "PROP.ORG");
    let mut props = SystemProperties::new();
    props.set(
        "java.security.krb5.conf",
        dir.join("missing").to_str().unwrap(),
    );
    assert_eq!(default_realm(&props).unwrap(), "");
    props.set("zookeeper.requireKerberosConfig", "true");
    let e = default_realm(&props).unwrap_err();
    assert!(e.starts_with("Can't get Kerberos configuration"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
