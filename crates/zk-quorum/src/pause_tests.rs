//! A leader and one follower in one process (voter 3 of 3 stays down, so
//! the follower is the quorum) after the leader's clock jumps as a pause
//! of the whole process would make it: requests wait until the follower
//! answers a PING sent after the pause, or are refused when the leader
//! steps down.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zk_config::{QuorumMaj, QuorumServer, QuorumVerifier};

use crate::direct_servers::{DirectLeaderServer, DirectLearnerServer};
use crate::follower::Follower;
use crate::leader::Leader;
use crate::pause_guard::Admission;
use crate::quorum_peer::{QuorumPeer, QuorumPeerSettings, ZabState};
use crate::test_support::{open_db, wait_for, TestDir};

const WAIT: Duration = Duration::from_secs(20);
/// tickTime 100 ms, syncLimit 20: a pause is a gap over 1.9 s.
const PAUSE: Duration = Duration::from_secs(3);

fn three_servers() -> QuorumVerifier {
    let port = || {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let all = (1..=3)
        .map(|sid| {
            let line = format!("127.0.0.1:{}:{}", port(), port());
            (sid, QuorumServer::parse(sid, &line, false).unwrap())
        })
        .collect::<BTreeMap<_, _>>();
    QuorumVerifier::Majority(QuorumMaj::new(all))
}

fn peer(dir: &TestDir, sid: i64, qv: &QuorumVerifier) -> Arc<QuorumPeer> {
    let settings = QuorumPeerSettings {
        tick_time: 100,
        init_limit: 50,
        sync_limit: 20,
        ..QuorumPeerSettings::new(sid)
    };
    let p = QuorumPeer::new(settings, qv.clone(), open_db(dir.path()));
    p.load_data_base().unwrap();
    p
}

struct LeaderAndFollower {
    leader: Arc<Leader>,
    leader_thread: thread::JoinHandle<std::io::Result<()>>,
    follower: Arc<QuorumPeer>,
    follower_thread: thread::JoinHandle<std::io::Error>,
}

fn leader_and_follower(d1: &TestDir, d2: &TestDir) -> LeaderAndFollower {
    let qv = three_servers();
    let (p1, p2) = (peer(d1, 1, &qv), peer(d2, 2, &qv));
    let zk = DirectLeaderServer::new(p1.db().clone());
    let leader = Leader::new(p1, zk.clone()).unwrap();
    zk.attach(&leader);
    let l = leader.clone();
    let leader_thread = thread::spawn(move || l.lead());
    let addr = leader.local_addr();
    let fzk = DirectLearnerServer::new(p2.db().clone());
    let (p2c, fzk2) = (p2.clone(), fzk.clone());
    let follower_thread = thread::spawn(move || Follower::follow_leader(&p2c, &*fzk2, addr));
    assert!(wait_for(WAIT, || fzk.is_serving()), "follower never served");
    assert!(wait_for(WAIT, || leader.peer().zab_state() == ZabState::Broadcast));
    LeaderAndFollower {
        leader,
        leader_thread,
        follower: p2,
        follower_thread,
    }
}

/// A request arriving after the pause, on its own thread: what it was
/// told and how long it waited.
fn request(leader: &Arc<Leader>) -> thread::JoinHandle<(Admission, Duration)> {
    let l = leader.clone();
    thread::spawn(move || {
        let t = Instant::now();
        (l.admit_request(), t.elapsed())
    })
}

#[test]
fn a_paused_leader_whose_follower_stayed_holds_requests_until_it_answers_a_new_ping() {
    let _ = env_logger::builder().is_test(true).try_init();
    let (d1, d2) = (TestDir::new("pause-stay-l"), TestDir::new("pause-stay-f"));
    let run = leader_and_follower(&d1, &d2);
    assert_eq!(
        request(&run.leader).join().unwrap().0,
        Admission::Admitted,
        "before any pause"
    );

    run.leader.pretend_paused_for(PAUSE);
    let (admission, held) = request(&run.leader).join().unwrap();
    assert_eq!(admission, Admission::Admitted, "held {held:?}");
    assert!(
        !run.leader.is_shut_down(),
        "{:?}",
        run.leader.shutdown_reason()
    );
    let answered: Vec<(i64, bool)> = run
        .leader
        .learners()
        .iter()
        .map(|h| (h.sid(), h.answered_ping_after_pause()))
        .collect();
    assert_eq!(
        answered,
        vec![(2, true)],
        "released after {held:?} without follower 2 answering a PING sent after the pause"
    );
    // Served again, the leader keeps leading through further ticks.
    let t0 = run.leader.peer().tick();
    assert!(wait_for(WAIT, || run.leader.peer().tick() >= t0 + 5));
    assert!(
        !run.leader.is_shut_down(),
        "{:?}",
        run.leader.shutdown_reason()
    );
    assert_eq!(request(&run.leader).join().unwrap().0, Admission::Admitted);

    run.leader.shutdown("test over");
    assert!(run.leader_thread.join().unwrap().is_ok());
    run.follower_thread.join().unwrap();
}

#[test]
fn a_paused_leader_whose_follower_left_refuses_held_requests_and_steps_down() {
    let _ = env_logger::builder().is_test(true).try_init();
    let (d1, d2) = (TestDir::new("pause-gone-l"), TestDir::new("pause-gone-f"));
    let run = leader_and_follower(&d1, &d2);
    // The follower leaves (as it would after syncLimit without a PING).
    run.follower.stop_running();
    run.follower_thread.join().unwrap();

    run.leader.pretend_paused_for(PAUSE);
    let (admission, held) = request(&run.leader).join().unwrap();
    assert_eq!(admission, Admission::Refused, "after {held:?}");
    // Within the sync limit (2 s) plus a tick, however it ended.
    assert!(held < Duration::from_secs(5), "held {held:?}");
    assert!(run.leader_thread.join().unwrap().is_ok());
    assert!(run.leader.is_shut_down());
    println!("stepped down: {:?}", run.leader.shutdown_reason());
}
