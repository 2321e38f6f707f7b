//! The reconfig op through a running chain: refusals a standalone server
//! gives, and a leader's role (faked here) getting its txn logged and
//! applied, with the ACL of /zookeeper/config deciding who may.

use std::collections::BTreeSet;
use std::sync::Arc;

use zk_config::{Properties, QuorumVerifier};
use zk_persistence::jute::Record;
use zk_persistence::zoo_defs::{op_code::*, Code, CONFIG_NODE};

use crate::proto::{GetDataRequest, GetDataResponse, ReconfigRequest};
use crate::server_role::{ReconfigContext, ServerRole, Standalone};
use crate::test_harness::Harness;

const SUPER: (&str, &str) = (
    "zookeeper.DigestAuthenticationProvider.superDigest",
    "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
);

/// A leader as Prep sees it: the standalone chain, and a reconfig
/// context of three servers, this one being 3, 1 and 2 synced.
struct FakeLeader;

impl ServerRole for FakeLeader {
    fn reconfig_context(&self) -> Option<ReconfigContext> {
        let text = "server.1=127.0.0.1:2881:3881;2181\nserver.2=127.0.0.1:2882:3882;2182\n\
                    server.3=127.0.0.1:2883:3883;2183\nversion=0";
        let qv = QuorumVerifier::from_properties(&Properties::parse(text).unwrap(), false, false)
            .unwrap();
        Some(ReconfigContext {
            my_id: 3,
            quorum_verifier: qv.clone(),
            last_seen_quorum_verifier: qv,
            synced_learners: BTreeSet::from([1, 2]),
            standalone_enabled: true,
            multi_address_enabled: false,
        })
    }
}

fn remove_2() -> ReconfigRequest {
    ReconfigRequest {
        joining_servers: String::new(),
        leaving_servers: "2".into(),
        new_members: String::new(),
        cur_config_id: -1,
    }
}

#[test]
fn standalone_answers_unimplemented_when_enabled() {
    let mut h = Harness::with_role(&[], true, Arc::new(Standalone));
    let s = h.session();
    let before = h.zks.zxid();
    assert_eq!(
        h.call_rec(&s, RECONFIG, &remove_2()).code(),
        Code::UNIMPLEMENTED
    );
    // The refusal is an error txn with a zxid of its own, as in 3.8.
    assert_eq!(h.zks.zxid(), before + 1);
    h.shutdown();
}

#[test]
fn leader_reconfig_needs_write_on_config_node() {
    let mut h = Harness::with_role(&[SUPER], true, Arc::new(FakeLeader));
    let anon = h.session();
    // world:anyone may only read /zookeeper/config.
    assert_eq!(
        h.call_rec(&anon, RECONFIG, &remove_2()).code(),
        Code::NOAUTH
    );
    // A stale fromConfig is checked before the ACL.
    let stale = ReconfigRequest {
        cur_config_id: 5,
        ..remove_2()
    };
    assert_eq!(h.call_rec(&anon, RECONFIG, &stale).code(), Code::BADVERSION);

    let mut root = h.session();
    assert_eq!(h.add_auth(&mut root, "digest", "super:test"), Code::OK);
    let r = h.call_rec(&root, RECONFIG, &remove_2());
    assert_eq!(r.code(), Code::OK);
    let g: GetDataResponse = r.ok();
    let zxid = h.zks.zxid();
    let text = String::from_utf8(g.data.clone().unwrap()).unwrap();
    assert_eq!(
        text,
        format!(
            "server.1=127.0.0.1:2881:3881:participant;0.0.0.0:2181\n\
             server.3=127.0.0.1:2883:3883:participant;0.0.0.0:2183\nversion={zxid:x}"
        )
    );
    // The tree holds the same: a setData with version -1, mzxid the txn's.
    assert_eq!(g.stat.mzxid, zxid);
    assert_eq!(g.stat.version, -1);
    let get = GetDataRequest {
        path: CONFIG_NODE.into(),
        watch: false,
    };
    let d: GetDataResponse = h.call(&anon, GET_DATA, get.to_bytes()).ok();
    assert_eq!(d.data, g.data);
    assert_eq!(d.stat, g.stat);
    h.shutdown();
}

#[test]
fn skip_acl_lets_anyone_reconfigure() {
    let mut h = Harness::with_role(&[("zookeeper.skipACL", "yes")], true, Arc::new(FakeLeader));
    let anon = h.session();
    assert_eq!(h.call_rec(&anon, RECONFIG, &remove_2()).code(), Code::OK);
    h.shutdown();
}
