//! The proxy between a stand-in leader (a listener) and learner (a
//! socket) on loopback, with packets from zk-quorum's serializer.

use super::*;

use zk_persistence::jute::{OutputArchive, Record};
use zk_quorum::quorum_packet::{packet_type as zq, QuorumPacket};

fn packet(t: i32, zxid: i64) -> Vec<u8> {
    let mut oa = OutputArchive::new(Vec::new());
    QuorumPacket::new(t, zxid, Some(vec![t as u8; 10]))
        .serialize(&mut oa)
        .unwrap();
    oa.into_inner()
}

const LONG: Duration = Duration::from_secs(10);

/// A proxy in front of a listener standing in for the leader; returns the
/// learner's socket and the leader's side of the same connection.
fn setup() -> (QuorumProxy, TcpListener) {
    let leader = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy =
        QuorumProxy::start("127.0.0.1:0".parse().unwrap(), leader.local_addr().unwrap()).unwrap();
    (proxy, leader)
}

fn dial(proxy: &QuorumProxy, leader: &TcpListener) -> (TcpStream, TcpStream) {
    let learner = TcpStream::connect(proxy.addr()).unwrap();
    let (at_leader, _) = leader.accept().unwrap();
    for s in [&learner, &at_leader] {
        s.set_read_timeout(Some(LONG)).unwrap();
    }
    (learner, at_leader)
}

/// Everything until the other side closes.
fn read_to_end(mut s: &TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("closed within the timeout");
    out
}

#[test]
fn bytes_pass_unchanged_both_ways() {
    let (proxy, leader) = setup();
    let (mut learner, mut at_leader) = dial(&proxy, &leader);
    let up = [packet(zq::FOLLOWERINFO, 1), packet(zq::ACKEPOCH, 2)].concat();
    let down = [packet(zq::LEADERINFO, 3), packet(zq::DIFF, 4)].concat();
    learner.write_all(&up).unwrap();
    at_leader.write_all(&down).unwrap();
    let mut got = vec![0; up.len()];
    at_leader.read_exact(&mut got).unwrap();
    assert_eq!(got, up);
    let mut got = vec![0; down.len()];
    learner.read_exact(&mut got).unwrap();
    assert_eq!(got, down);
    assert_eq!(proxy.count(Direction::LearnerToLeader, zq::ACKEPOCH), 1);
    assert_eq!(proxy.count(Direction::LeaderToLearner, zq::DIFF), 1);
    assert!(proxy.lost().is_empty());
    // A close on one side closes the other.
    drop(at_leader);
    assert!(read_to_end(&learner).is_empty());
}

#[test]
fn nth_counts_across_connections() {
    let (proxy, leader) = setup();
    // The second NEWLEADER over any connection: the first passes.
    proxy.add_rule(Rule::nth(
        Direction::LeaderToLearner,
        zq::NEWLEADER,
        2,
        Action::Cut,
    ));
    let (learner, mut at_leader) = dial(&proxy, &leader);
    let first = [packet(zq::DIFF, 1), packet(zq::NEWLEADER, 2)].concat();
    at_leader.write_all(&first).unwrap();
    drop(at_leader);
    assert_eq!(read_to_end(&learner), first);

    let (learner, mut at_leader) = dial(&proxy, &leader);
    let before = packet(zq::DIFF, 3);
    let second = [
        before.clone(),
        packet(zq::NEWLEADER, 4),
        packet(zq::UPTODATE, 5),
    ]
    .concat();
    at_leader.write_all(&second).unwrap();
    assert_eq!(read_to_end(&learner), before.clone());
    // The leader's side is closed too.
    let mut one = [0u8; 1];
    assert!(matches!(at_leader.read(&mut one), Ok(0) | Err(_)));
    let fired = proxy.fired();
    assert_eq!(fired.len(), 1);
    assert_eq!((fired[0].connection, fired[0].zxid), (2, 4));
    assert_eq!(proxy.connections(), 2);

    // A third connection: the rule is spent.
    let (learner, mut at_leader) = dial(&proxy, &leader);
    at_leader.write_all(&second).unwrap();
    drop(at_leader);
    assert_eq!(read_to_end(&learner), second);

    // A rule for one connection leaves the next alone.
    proxy.add_rule(
        Rule::every(Direction::LeaderToLearner, zq::UPTODATE, Action::Cut).on_connection(4),
    );
    let upto_newleader = [before, packet(zq::NEWLEADER, 4)].concat();
    for (conn, want) in [(4, upto_newleader), (5, second.clone())] {
        let (learner, mut at_leader) = dial(&proxy, &leader);
        at_leader.write_all(&second).unwrap();
        drop(at_leader);
        assert_eq!(read_to_end(&learner), want, "connection {conn}");
    }
}

#[test]
fn cut_stops_the_stream_exactly_at_the_packet() {
    for (action, with_it) in [(Action::Cut, false), (Action::CutAfter, true)] {
        let (proxy, leader) = setup();
        proxy.add_rule(Rule::nth(
            Direction::LeaderToLearner,
            zq::UPTODATE,
            1,
            action,
        ));
        let (learner, mut at_leader) = dial(&proxy, &leader);
        let before = [
            packet(zq::DIFF, 1),
            packet(zq::PROPOSAL, 2),
            packet(zq::COMMIT, 2),
            packet(zq::NEWLEADER, 3),
        ]
        .concat();
        let cut_at = packet(zq::UPTODATE, 4);
        at_leader
            .write_all(&[before.clone(), cut_at.clone(), packet(zq::PING, 5)].concat())
            .unwrap();
        let want = if with_it {
            [before, cut_at].concat()
        } else {
            before
        };
        assert_eq!(read_to_end(&learner), want, "{action:?}");
        let fired = proxy.wait_fired(1, LONG).unwrap();
        assert_eq!(fired[0].packet_type, zq::UPTODATE);
        assert_eq!(fired[0].zxid, 4);
        assert_eq!(fired[0].connection, 1);
    }
}

#[test]
fn a_delay_is_latency_not_a_growing_stall() {
    let (proxy, leader) = setup();
    let delay = Duration::from_millis(400);
    proxy.add_rule(Rule::every(
        Direction::LearnerToLeader,
        zq::ACK,
        Action::Delay(delay),
    ));
    let (mut learner, mut at_leader) = dial(&proxy, &leader);
    let ack = packet(zq::ACK, 1);
    let start = Instant::now();
    // Ten ACKs 50 ms apart: each should arrive about `delay` after it was
    // sent, so the last one at ~450 + 400 ms, not after 10 x 400 ms.
    let sender = std::thread::spawn({
        let ack = ack.clone();
        move || {
            for _ in 0..10 {
                learner.write_all(&ack).unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
            learner
        }
    });
    let mut got = vec![0; ack.len()];
    at_leader.read_exact(&mut got).unwrap();
    let first = start.elapsed();
    for _ in 1..10 {
        at_leader.read_exact(&mut got).unwrap();
    }
    let last = start.elapsed();
    let _learner = sender.join().unwrap();
    assert!(first >= delay, "first ACK after {first:?}");
    // Generous for a busy machine, far below the 4 s a stall would take.
    assert!(
        last < Duration::from_millis(2500),
        "last ACK after {last:?}"
    );
    assert_eq!(proxy.fired().len(), 10);
    // Other packets are not delayed on their own.
    proxy.clear_rules();
    at_leader.write_all(&packet(zq::PING, 2)).unwrap();
}
