//! Server lines, myid, the dynamic file, hierarchical quorums and the
//! standalone-versus-replicated decision, through whole zoo.cfg files.

mod common;

use std::collections::BTreeSet;

use common::{Scratch, ENSEMBLE};
use zk_config::{HostPort, LearnerType, QuorumPeerConfig, QuorumVerifier, SystemProperties};

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

#[test]
fn three_server_ensemble_is_distributed() {
    let s = Scratch::new();
    s.myid("2\n");
    let c = s.ok(&format!("clientPort=2181\n{ENSEMBLE}"));
    assert!(c.is_distributed());
    assert_eq!(c.server_id, Some(2));
    assert_eq!(c.servers().len(), 3);
    let me = &c.servers()[&2];
    assert_eq!(me.addr(), &HostPort::new("127.0.0.1", 2889));
    assert_eq!(me.election_addr(), &HostPort::new("127.0.0.1", 3889));
    // The line had no client part: zoo.cfg's address is copied in, flagged.
    assert_eq!(me.client_addr, Some(HostPort::new("0.0.0.0", 2181)));
    assert!(me.client_addr_from_static);
    assert_eq!(c.servers()[&1].client_addr, None);
    assert!(matches!(c.quorum_verifier, QuorumVerifier::Majority(_)));
    assert_eq!(c.quorum_verifier.version(), 0);
    assert_eq!(
        c.quorum_verifier.to_string(),
        "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.1:2889:3889:participant\n\
         server.3=127.0.0.1:2890:3890:participant\nversion=0"
    );
}

#[test]
fn standalone_decisions() {
    let s = Scratch::new();
    // No servers at all.
    assert!(!s.ok("clientPort=2181\n").is_distributed());
    // One server line: 3.8 logs an error and runs standalone.
    let c = s.ok("clientPort=2181\nserver.1=127.0.0.1:2888:3888\n");
    assert!(!c.is_distributed());
    assert_eq!(c.servers().len(), 1);
    // One server line with standaloneEnabled=false: replicated, needs myid.
    s.myid("1");
    let c =
        s.ok("standaloneEnabled=false\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:2888:3888\n");
    assert!(c.is_distributed());
    // Two participants: replicated (3.8 warns no failure is tolerated).
    let c = s.ok(
        "initLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n",
    );
    assert!(c.is_distributed());
    // One participant plus an observer: refused (below).
    // myid is read even in standalone mode.
    let c = s.ok("clientPort=2181\n");
    assert_eq!(c.server_id, Some(1));
}

#[test]
fn client_port_from_the_server_line() {
    let s = Scratch::new();
    s.myid("1");
    let c = s.ok("initLimit=5\nsyncLimit=2\n\
        server.1=127.0.0.1:2888:3888;127.0.0.1:2181\nserver.2=127.0.0.1:2889:3889;2182\n\
        server.3=127.0.0.1:2890:3890:participant;2183\n");
    assert_eq!(
        c.client_port_address,
        Some("127.0.0.1:2181".parse().unwrap())
    );
    assert!(!c.servers()[&1].client_addr_from_static);
    assert_eq!(
        c.servers()[&2].client_addr,
        Some(HostPort::new("0.0.0.0", 2182))
    );
    // zoo.cfg agreeing with the line is fine, by port alone for 0.0.0.0.
    let c = s.ok("clientPort=2181\ninitLimit=5\nsyncLimit=2\n\
        server.1=127.0.0.1:2888:3888;127.0.0.1:2181\nserver.2=127.0.0.1:2889:3889\n");
    assert_eq!(
        c.client_port_address,
        Some("127.0.0.1:2181".parse().unwrap())
    );
    let c = s.ok(
        "clientPort=2181\nclientPortAddress=127.0.0.1\ninitLimit=5\nsyncLimit=2\n\
        server.1=127.0.0.1:2888:3888;127.0.0.1:2181\nserver.2=127.0.0.1:2889:3889\n",
    );
    assert_eq!(
        c.client_port_address,
        Some("127.0.0.1:2181".parse().unwrap())
    );
}

#[test]
fn ipv6_and_observer_lines() {
    let s = Scratch::new();
    s.myid("3");
    let c = s.ok(
        "initLimit=5\nsyncLimit=2\nserver.1=[::1]:2888:3888\nserver.2=[::1]:2889:3889;[::1]:2182\n\
        server.3=localhost:2890:3890:observer\n",
    );
    assert_eq!(c.servers()[&1].addr().ip(), Some("::1".parse().unwrap()));
    assert_eq!(
        c.servers()[&2].client_addr,
        Some(HostPort::new("::1", 2182))
    );
    assert_eq!(c.servers()[&3].learner_type, LearnerType::Observer);
    assert_eq!(c.peer_type, LearnerType::Observer);
    assert_eq!(c.quorum_verifier.voting_members().len(), 2);
    assert_eq!(c.quorum_verifier.observing_members().len(), 1);
    assert!(c.servers()[&3].addr().resolve().unwrap().ip().is_loopback());
}

#[test]
fn multi_address_needs_the_system_property_as_in_3_8() {
    let s = Scratch::new();
    s.myid("1");
    let body = "multiAddress.enabled=true\ninitLimit=5\nsyncLimit=2\n\
        server.1=127.0.0.1:2888:3888|127.0.0.2:2888:3888\nserver.2=127.0.0.1:2889:3889\n";
    let e = s.err(body);
    assert!(e.contains("Multiple address feature is disabled"), "{e}");
    let mut seed = SystemProperties::new();
    seed.set("zookeeper.multiAddress.enabled", "true");
    let c = QuorumPeerConfig::parse_with(&s.cfg_path(), seed).unwrap();
    assert_eq!(c.servers()[&1].addrs.len(), 2);
    assert_eq!(
        c.servers()[&1].election_addrs[1],
        HostPort::new("127.0.0.2", 3888)
    );
}

#[test]
fn dynamic_config_file() {
    let s = Scratch::new();
    s.myid("1");
    s.write(
        "zoo.cfg.dynamic.100000000",
        "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
         server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n\
         server.3=127.0.0.1:2890:3890:observer;127.0.0.1:2183\n",
    );
    let c = s.ok("initLimit=5\nsyncLimit=2\nreconfigEnabled=true\ndynamicConfigFile={dir}/zoo.cfg.dynamic.100000000\n");
    assert!(c.is_distributed());
    assert_eq!(c.quorum_verifier.version(), 0x1_0000_0000);
    assert_eq!(
        c.client_port_address,
        Some("127.0.0.1:2181".parse().unwrap())
    );
    assert_eq!(c.quorum_verifier.observing_members().len(), 1);
    assert_eq!(
        c.dynamic_config_file,
        Some(s.path("zoo.cfg.dynamic.100000000"))
    );
    assert!(c.last_seen_quorum_verifier.is_none());
    assert!(c.quorum_verifier.to_string().ends_with("version=100000000"));

    // Without a hex suffix the version is 0.
    s.write(
        "dyn",
        "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n",
    );
    let c = s.ok("initLimit=5\nsyncLimit=2\ndynamicConfigFile={dir}/dyn\n");
    assert_eq!(c.quorum_verifier.version(), 0);

    // A proposed next config is read as the last seen verifier.
    s.write(
        "zoo.cfg.dynamic.next",
        "server.1=127.0.0.1:2888:3888\nserver.4=127.0.0.1:2891:3891\nversion=200000000\n",
    );
    let c = s.ok("initLimit=5\nsyncLimit=2\ndynamicConfigFile={dir}/dyn\n");
    let next = c.last_seen_quorum_verifier.unwrap();
    assert_eq!(next.version(), 0x2_0000_0000);
    assert!(next.all_members().contains_key(&4));
}

#[test]
fn dynamic_file_with_hierarchy() {
    let s = Scratch::new();
    s.myid("1");
    s.write(
        "zoo.cfg.dynamic.1",
        "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n\
         server.4=127.0.0.1:2891:3891\ngroup.1=1:2\ngroup.2=3:4\nweight.1=2\n",
    );
    let c = s.ok("initLimit=5\nsyncLimit=2\ndynamicConfigFile={dir}/zoo.cfg.dynamic.1\n");
    assert!(c.quorum_verifier.is_hierarchical());
    assert_eq!(c.quorum_verifier.weight(1), Some(2));
    assert_eq!(c.quorum_verifier.weight(3), Some(1));
    assert_eq!(c.quorum_verifier.version(), 1);
}

#[test]
fn hierarchical_in_zoo_cfg() {
    let s = Scratch::new();
    s.myid("5");
    let mut body = String::from("initLimit=5\nsyncLimit=2\n");
    for i in 1..=9u64 {
        body.push_str(&format!("server.{i}=127.0.0.1:{}:{}\n", 2000 + i, 3000 + i));
    }
    body.push_str(
        "group.1=1:2:3\ngroup.2=4:5:6\ngroup.3=7:8:9\nweight.1=1\nweight.2=1\nweight.3=1\n",
    );
    body.push_str("weight.4=1\nweight.5=1\nweight.6=1\nweight.7=1\nweight.8=1\nweight.9=0\n");
    let c = s.ok(&body);
    let qv = &c.quorum_verifier;
    assert!(qv.is_hierarchical());
    assert_eq!(qv.weight(9), Some(0));
    // Two groups with a weight majority each.
    assert!(qv.contains_quorum(&set(&[1, 2, 4, 5])));
    // Group 3's total is 2: a majority needs both 7 and 8.
    assert!(qv.contains_quorum(&set(&[1, 2, 7, 8])));
    assert!(!qv.contains_quorum(&set(&[1, 2, 7, 9])));
    // One group only.
    assert!(!qv.contains_quorum(&set(&[1, 2, 3])));
    assert!(!qv.contains_quorum(&set(&[])));
    assert!(qv.to_string().contains("group.2=4:5:6\n"));
    assert!(qv.to_string().contains("weight.9=0\n"));
}

#[test]
fn myid_forms() {
    let s = Scratch::new();
    for text in ["1", "1\n", "1\r\n", " 1 \n", "1\nignored second line\n"] {
        s.myid(text);
        assert_eq!(
            s.ok(&format!("clientPort=2181\n{ENSEMBLE}")).server_id,
            Some(1),
            "{text:?}"
        );
    }
}
