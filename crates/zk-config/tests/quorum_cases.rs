//! Runs tests/data/quorum_cases.txt: QuorumVerifier decisions as a table.

use std::collections::BTreeSet;

use zk_config::{Properties, QuorumVerifier};

fn ids(list: &str) -> Vec<i64> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

fn build(config: &str) -> QuorumVerifier {
    let mut props = Properties::new();
    let mut hierarchical = false;
    for token in config.split_whitespace() {
        let (k, v) = token.split_once('=').expect("token is key=value");
        match k {
            "servers" | "observers" => {
                for id in ids(v) {
                    let kind = if k == "observers" { ":observer" } else { "" };
                    props.set(
                        format!("server.{id}"),
                        format!("127.0.0.1:{}:{}{kind}", 2000 + id, 3000 + id),
                    );
                }
            }
            _ => {
                hierarchical = true;
                props.set(k, v);
            }
        }
    }
    QuorumVerifier::from_properties(&props, hierarchical, false).unwrap()
}

#[test]
fn quorum_table() {
    let table = include_str!("data/quorum_cases.txt");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (n, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(';').map(str::trim).collect();
        assert_eq!(fields.len(), 3, "line {}: {line}", n + 1);
        let qv = build(fields[0]);
        let set: BTreeSet<i64> = if fields[1] == "-" {
            BTreeSet::new()
        } else {
            ids(fields[1]).into_iter().collect()
        };
        let expected = match fields[2] {
            "yes" => true,
            "no" => false,
            other => panic!("line {}: expected yes/no, got {other}", n + 1),
        };
        if qv.contains_quorum(&set) != expected {
            failures.push(format!("line {}: {line}", n + 1));
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} cases");
    assert!(
        failures.is_empty(),
        "wrong decisions:\n{}",
        failures.join("\n")
    );
}

#[test]
fn members_weights_and_versions() {
    let qv = build("servers=1,2,3 observers=4");
    assert_eq!(
        qv.voting_members().keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        qv.observing_members().keys().copied().collect::<Vec<_>>(),
        vec![4]
    );
    assert_eq!(qv.all_members().len(), 4);
    assert_eq!(qv.weight(1), Some(1));
    assert_eq!(qv.version(), 0);
    let mut qv = build("servers=1,2 group.1=1:2 weight.2=5");
    assert_eq!(qv.weight(1), Some(1));
    assert_eq!(qv.weight(2), Some(5));
    assert_eq!(qv.weight(3), None);
    qv.set_version(0x100000003);
    assert_eq!(
        qv.to_string(),
        "server.1=127.0.0.1:2001:3001:participant\nserver.2=127.0.0.1:2002:3002:participant\n\
         group.1=1:2\nweight.1=1\nweight.2=5\nversion=100000003"
    );
}
