//! The leader's side of a reconfig: a reconfig proposal needs a quorum of
//! the old and of the new configuration, and on commit the leader
//! activates the new one itself.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use zk_config::{QuorumMaj, QuorumServer, QuorumVerifier};
use zk_persistence::records::{SetDataTxn, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::{op_code, CONFIG_NODE};

use crate::direct_servers::{DirectLeaderServer, DirectLearnerServer};
use crate::follower::Follower;
use crate::leader::Leader;
use crate::quorum_peer::{QuorumPeer, QuorumPeerSettings, ZabState};
use crate::test_support::{open_db, wait_for, TestDir};

const WAIT: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A majority of the voters `sids` on loopback, at config `version`.
fn config(sids: &[i64], version: i64) -> QuorumVerifier {
    let mut all = BTreeMap::new();
    for &sid in sids {
        let line = format!("127.0.0.1:{}:{};{}", free_port(), free_port(), free_port());
        all.insert(sid, QuorumServer::parse(sid, &line, false).unwrap());
    }
    let mut qv = QuorumVerifier::Majority(QuorumMaj::new(all));
    qv.set_version(version);
    qv
}

fn peer(dir: &Path, sid: i64, qv: &QuorumVerifier) -> Arc<QuorumPeer> {
    let s = QuorumPeerSettings {
        tick_time: 100,
        init_limit: 50,
        sync_limit: 20,
        reconfig_enabled: true,
        ..QuorumPeerSettings::new(sid)
    };
    let p = QuorumPeer::new(s, qv.clone(), open_db(dir));
    p.load_data_base().unwrap();
    p
}

/// The txn Prep writes for a reconfig to `new` (its version set to the
/// txn's zxid).
fn reconfig_txn(zxid: i64, new: &QuorumVerifier) -> (TxnHeader, Txn) {
    let mut qv = new.clone();
    qv.set_version(zxid);
    let hdr = TxnHeader {
        client_id: 0x100,
        cxid: 1,
        zxid,
        time: 1_700_000_000_000,
        txn_type: op_code::RECONFIG,
    };
    let txn = Txn::Reconfig(SetDataTxn {
        path: CONFIG_NODE.into(),
        data: Some(qv.to_string().into_bytes()),
        version: -1,
    });
    (hdr, txn)
}

/// Leader 1 and follower 2 of {1, 2, 3} (3 stays down); the new config
/// is `new_voters` (a new 4 is absent too).
struct Run {
    leader: Arc<Leader>,
    zk: Arc<DirectLeaderServer>,
    p1: Arc<QuorumPeer>,
    zxid: i64,
    /// Removed when the test ends.
    _dirs: (TestDir, TestDir),
}

fn run_reconfig(new_voters: &[i64]) -> Run {
    let old = config(&[1, 2, 3], 0);
    let (d1, d2) = (TestDir::new("reconf-l"), TestDir::new("reconf-f"));
    let (p1, p2) = (peer(d1.path(), 1, &old), peer(d2.path(), 2, &old));
    let zk = DirectLeaderServer::new(p1.db().clone());
    let leader = Leader::new(p1.clone(), zk.clone()).unwrap();
    zk.attach(&leader);
    let l = leader.clone();
    thread::spawn(move || l.lead());
    let addr = leader.local_addr();
    let zk2 = DirectLearnerServer::new(p2.db().clone());
    let serving = zk2.clone();
    thread::spawn(move || Follower::follow_leader(&p2, &*zk2, addr));
    // Proposed only once the follower is up to date, as zab_tests do.
    assert!(wait_for(WAIT, || serving.is_serving()));
    assert!(wait_for(WAIT, || p1.zab_state() == ZabState::Broadcast));
    // The old members keep their addresses: the leader stays the
    // designated one.
    let fresh = config(new_voters, 0);
    let all = new_voters
        .iter()
        .map(|sid| {
            let s = old.all_members().get(sid).or(fresh.all_members().get(sid));
            (*sid, s.unwrap().clone())
        })
        .collect();
    let new = QuorumVerifier::Majority(QuorumMaj::new(all));
    let zxid = zk.propose(|zxid| reconfig_txn(zxid, &new)).unwrap();
    Run {
        leader,
        zk,
        p1,
        zxid,
        _dirs: (d1, d2),
    }
}

#[test]
fn reconfig_waits_for_a_quorum_of_the_new_config_too() {
    let _ = env_logger::builder().is_test(true).try_init();
    // New {1, 3, 4}: 1 and 2 acking is a quorum of the old config, but
    // only 1 of the new one.
    let Run {
        leader,
        p1,
        zxid,
        _dirs,
        ..
    } = run_reconfig(&[1, 3, 4]);
    assert!(wait_for(WAIT, || p1.last_seen_quorum_verifier().version() == zxid));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(leader.outstanding_proposals(), 1);
    assert!(leader.last_committed() < zxid);
    // Still the config the epoch started with (ZOOKEEPER-1783 gave it
    // the epoch's first zxid as its version), not the proposed one.
    assert_eq!(p1.quorum_verifier().version(), zxid & !0xffff_ffff);
    leader.shutdown("test over");
}

#[test]
fn committed_reconfig_is_activated_on_the_leader() {
    let _ = env_logger::builder().is_test(true).try_init();
    // New {1, 2, 4}: 1 and 2 are a quorum of both.
    let Run {
        leader,
        zk,
        p1,
        zxid,
        _dirs,
    } = run_reconfig(&[1, 2, 4]);
    assert!(wait_for(WAIT, || leader.last_committed() == zxid));
    assert!(wait_for(WAIT, || zk.last_applied() >= zxid));
    let qv = p1.quorum_verifier();
    assert_eq!(qv.version(), zxid);
    assert_eq!(
        qv.voting_members().keys().copied().collect::<Vec<_>>(),
        [1, 2, 4]
    );
    let db = p1.db().read().unwrap();
    let (data, stat) = db.data_tree().get_data(CONFIG_NODE).unwrap();
    assert_eq!(stat.mzxid, zxid);
    assert!(String::from_utf8_lossy(data.unwrap()).ends_with(&format!("version={zxid:x}")));
    drop(db);
    leader.shutdown("test over");
}
