//! Quorum SASL on the learner connections (DIGEST-MD5 from JAAS
//! sections, required on both sides): a follower with the right password
//! syncs and serves while a hostile connection that sent a token and went
//! silent waits on its own `LearnerHandler` thread; a follower with the
//! wrong password is refused.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zk_config::sasl::Login;
use zk_config::{JaasConfiguration, QuorumMaj, QuorumServer, QuorumVerifier};
use zk_election::quorum_auth_packet::QuorumAuthPacket;
use zk_election::{SaslQuorumAuthLearner, SaslQuorumAuthServer, Status};

use crate::direct_servers::{DirectLeaderServer, DirectLearnerServer};
use crate::follower::Follower;
use crate::leader::Leader;
use crate::quorum_peer::{QuorumPeer, QuorumPeerSettings};
use crate::test_support::{open_db, wait_for, TestDir};

const WAIT: Duration = Duration::from_secs(20);

const JAAS: &str = r#"
QuorumServer {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_zk="quorum-secret";
};
QuorumLearner {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="zk" password="quorum-secret";
};
BadLearner {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="zk" password="wrong";
};
"#;

fn login(section: &str) -> Login {
    let jaas = JaasConfiguration::parse(JAAS).unwrap();
    Login::new(section, &jaas, Path::new("jaas.conf")).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn three_servers() -> QuorumVerifier {
    let all = (1..=3)
        .map(|sid| {
            let line = format!("127.0.0.1:{}:{}", free_port(), free_port());
            (sid, QuorumServer::parse(sid, &line, false).unwrap())
        })
        .collect::<BTreeMap<_, _>>();
    QuorumVerifier::Majority(QuorumMaj::new(all))
}

/// A peer with quorum SASL required, its learner logged in with
/// `learner_section`; initLimit is 2 s.
fn peer(dir: &Path, sid: i64, qv: &QuorumVerifier, learner_section: &str) -> Arc<QuorumPeer> {
    let settings = QuorumPeerSettings {
        tick_time: 100,
        init_limit: 20,
        sync_limit: 20,
        auth_server: Arc::new(SaslQuorumAuthServer::new(
            true,
            login("QuorumServer"),
            Default::default(),
        )),
        auth_learner: Arc::new(SaslQuorumAuthLearner::new(
            true,
            "zkquorum/localhost",
            login(learner_section),
        )),
        ..QuorumPeerSettings::new(sid)
    };
    let p = QuorumPeer::new(settings, qv.clone(), open_db(dir));
    p.load_data_base().unwrap();
    p
}

#[test]
fn a_silent_learner_does_not_hold_up_others_and_a_wrong_password_is_refused() {
    let _ = env_logger::builder().is_test(true).try_init();
    let qv = three_servers();
    let dirs = [
        TestDir::new("zab-sasl-l"),
        TestDir::new("zab-sasl-f2"),
        TestDir::new("zab-sasl-f3"),
    ];
    let leader_peer = peer(dirs[0].path(), 1, &qv, "QuorumLearner");
    let zk = DirectLeaderServer::new(leader_peer.db().clone());
    let leader = Leader::new(leader_peer, zk.clone()).unwrap();
    zk.attach(&leader);
    let l = leader.clone();
    let leader_thread = thread::spawn(move || l.lead());
    let addr = leader.local_addr();

    // A token, then silence: bounded by initLimit on its own thread.
    let mut hostile = TcpStream::connect(addr).unwrap();
    hostile
        .write_all(&QuorumAuthPacket::new(Status::InProgress, Some(Vec::new())).encode())
        .unwrap();

    let follow = |sid: i64, section: &str, dir: &Path| {
        let p = peer(dir, sid, &qv, section);
        let zk = DirectLearnerServer::new(p.db().clone());
        let zk2 = zk.clone();
        let t = thread::spawn(move || Follower::follow_leader(&p, &*zk2, addr));
        (zk, t)
    };
    let start = Instant::now();
    let (good, good_thread) = follow(2, "QuorumLearner", dirs[1].path());
    assert!(
        wait_for(WAIT, || good.is_serving()),
        "follower 2 never got UPTODATE"
    );
    // Well inside the 2 s the silent connection may take.
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );

    let (bad, bad_thread) = follow(3, "BadLearner", dirs[2].path());
    let e = bad_thread.join().unwrap();
    assert!(
        e.to_string()
            .contains("quorum authentication with the leader"),
        "{e}"
    );
    assert!(!bad.is_serving());
    assert!(
        !e.to_string().contains("wrong"),
        "a password in an error: {e}"
    );

    drop(hostile);
    leader.shutdown("test over");
    assert!(leader_thread.join().unwrap().is_ok());
    let _ = good_thread.join().unwrap();
}
