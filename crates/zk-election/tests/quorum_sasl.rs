//! Quorum SASL on `QuorumCnxManager`s over loopback: peers that
//! authenticate connect and deliver; wrong credentials keep a peer out;
//! the rolling-upgrade combinations of `learnerRequireSasl` /
//! `serverRequireSasl` connect; and a hostile peer that sends a token and
//! goes silent holds up only its own connection thread, never the
//! Listener's accept loop.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use zk_config::sasl::{SaslClient, SaslException, SaslServer};
use zk_election::quorum_auth_packet::QuorumAuthPacket;
use zk_election::wire::InitialMessage;
use zk_election::{
    QuorumCnxConfig, QuorumCnxManager, SaslQuorumAuthLearner, SaslQuorumAuthServer, Status,
};

/// A one-round challenge-response mechanism standing in for DIGEST-MD5
/// (tested on its own in zk-config): the server sends a nonce, the client
/// answers `password:nonce`, the server answers `ok`.
struct ToyServer(Option<bool>, &'static str);
impl SaslServer for ToyServer {
    fn mechanism_name(&self) -> &'static str {
        "TOY"
    }
    fn evaluate_response(&mut self, r: &[u8]) -> Result<Vec<u8>, SaslException> {
        match self.0 {
            None => {
                self.0 = Some(false);
                Ok(b"n0nce".to_vec())
            }
            Some(false) if r == format!("{}:n0nce", self.1).as_bytes() => {
                self.0 = Some(true);
                Ok(b"ok".to_vec())
            }
            _ => Err(SaslException::new("TOY: wrong password")),
        }
    }
    fn is_complete(&self) -> bool {
        self.0 == Some(true)
    }
    fn authorization_id(&self) -> Option<&str> {
        self.is_complete().then_some("zk")
    }
}

struct ToyClient(&'static str, bool);
impl SaslClient for ToyClient {
    fn mechanism_name(&self) -> &'static str {
        "TOY"
    }
    fn has_initial_response(&self) -> bool {
        false
    }
    fn evaluate_challenge(&mut self, c: &[u8]) -> Result<Vec<u8>, SaslException> {
        if c == b"ok" {
            self.1 = true;
            return Ok(Vec::new());
        }
        Ok(format!("{}:{}", self.0, String::from_utf8_lossy(c)).into_bytes())
    }
    fn is_complete(&self) -> bool {
        self.1
    }
}

/// `quorum.auth.enableSasl=true` with the given switches; the learner
/// logs in with `password`, the server knows "secret".
fn sasl_config(
    learner_require: bool,
    server_require: bool,
    password: &'static str,
) -> QuorumCnxConfig {
    QuorumCnxConfig {
        socket_timeout: Duration::from_secs(3),
        auth_server: Arc::new(SaslQuorumAuthServer::with_mechanism(
            server_require,
            "QuorumServer",
            Box::new(|| Ok(Box::new(ToyServer(None, "secret")))),
        )),
        auth_learner: Arc::new(SaslQuorumAuthLearner::with_mechanism(
            learner_require,
            "QuorumLearner",
            Box::new(move |_| Ok(Box::new(ToyClient(password, false)))),
        )),
        quorum_sasl_auth_enabled: true,
        ..QuorumCnxConfig::default()
    }
}

fn manager_with(layout: &Layout, sid: i64, config: QuorumCnxConfig) -> QuorumCnxManager {
    let peer = TestPeer::new(sid, 0, 0, layout.verifier());
    let m = QuorumCnxManager::new(peer, config);
    m.start_listener();
    wait_until(Duration::from_secs(20), "the election listener", || {
        !m.listening_addresses().is_empty()
    });
    m
}

/// True once a message from each of `a` and `b` has reached the other
/// within `within`, both resending as elections do (a server taking a
/// learner that does not authenticate waits for its first traffic; in an
/// election both sides always have a vote to send).
fn exchanged(a: &QuorumCnxManager, b: &QuorumCnxManager, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let (mut at_a, mut at_b) = (false, false);
    while Instant::now() < deadline && !(at_a && at_b) {
        a.to_send(b.my_sid(), b"from a".to_vec());
        b.to_send(a.my_sid(), b"from b".to_vec());
        while let Some(got) = b.poll_recv_queue(Duration::from_millis(100)) {
            assert_eq!((got.sid, &got.buffer[..]), (a.my_sid(), &b"from a"[..]));
            at_b = true;
        }
        while let Some(got) = a.poll_recv_queue(Duration::from_millis(100)) {
            assert_eq!((got.sid, &got.buffer[..]), (b.my_sid(), &b"from b"[..]));
            at_a = true;
        }
    }
    at_a && at_b
}

/// True once `msg` sent from `from` arrives at `to` within `within`,
/// resending as the election does.
fn delivered(from: &QuorumCnxManager, to: &QuorumCnxManager, msg: &[u8], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        from.to_send(to.my_sid(), msg.to_vec());
        if let Some(got) = to.poll_recv_queue(Duration::from_millis(200)) {
            assert_eq!((got.sid, &got.buffer[..]), (from.my_sid(), msg));
            return true;
        }
    }
    false
}

#[test]
fn authenticated_peers_connect_both_ways() {
    init_log();
    let layout = Layout::new(2, 0);
    let a = manager_with(&layout, 1, sasl_config(true, true, "secret"));
    let b = manager_with(&layout, 2, sasl_config(true, true, "secret"));
    assert!(exchanged(&a, &b, Duration::from_secs(30)));
    a.halt();
    b.halt();
}

#[test]
fn a_peer_with_the_wrong_password_is_kept_out() {
    init_log();
    let layout = Layout::new(2, 0);
    let good = manager_with(&layout, 1, sasl_config(true, true, "secret"));
    let bad = manager_with(&layout, 2, sasl_config(true, true, "wrong"));
    // sid 2 dials and keeps the connection: it fails to authenticate.
    assert!(!delivered(
        &bad,
        &good,
        b"let me in",
        Duration::from_secs(4)
    ));
    assert!(!good.connected_to_peer(2));
    good.halt();
    bad.halt();
}

#[test]
fn rolling_upgrade_combinations_connect() {
    init_log();
    // (learnerRequireSasl, serverRequireSasl) of sid 1 and of sid 2, as
    // a rolling enable passes through them.
    let steps = [
        ((false, false), (false, false)),
        ((false, false), (true, false)),
        ((true, false), (true, false)),
        ((true, false), (true, true)),
        ((true, true), (true, true)),
    ];
    for ((l1, s1), (l2, s2)) in steps {
        let layout = Layout::new(2, 0);
        let a = manager_with(&layout, 1, sasl_config(l1, s1, "secret"));
        let b = manager_with(&layout, 2, sasl_config(l2, s2, "secret"));
        let what = format!("1: learner {l1} server {s1}; 2: learner {l2} server {s2}");
        assert!(exchanged(&a, &b, Duration::from_secs(30)), "{what}");
        a.halt();
        b.halt();
    }
}

#[test]
fn sasl_off_peers_connect_to_sasl_peers_that_do_not_require_it() {
    init_log();
    let layout = Layout::new(2, 0);
    let plain = manager_with(&layout, 1, QuorumCnxConfig::default());
    let sasl = manager_with(&layout, 2, sasl_config(false, false, "secret"));
    assert!(exchanged(&plain, &sasl, Duration::from_secs(30)));
    plain.halt();
    sasl.halt();
}

#[test]
fn a_silent_hostile_peer_does_not_hold_up_the_listener() {
    init_log();
    let layout = Layout::new(3, 0);
    let a = manager_with(&layout, 1, sasl_config(true, true, "secret"));
    // Posing as sid 3: the initial message and a first token, then silence.
    let mut hostile = TcpStream::connect(a.listening_addresses()[0]).unwrap();
    let mut hello = InitialMessage::encode(
        3,
        &[format!("127.0.0.1:{}", layout.election_port(3))],
        false,
    );
    hello.extend(QuorumAuthPacket::new(Status::InProgress, Some(Vec::new())).encode());
    hostile.write_all(&hello).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Another peer still gets in, well inside the 3 s the hostile one has.
    let b = manager_with(&layout, 2, sasl_config(true, true, "secret"));
    let start = Instant::now();
    assert!(delivered(&b, &a, b"from 2", Duration::from_secs(30)));
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    assert!(!a.connected_to_peer(3));
    drop(hostile);
    a.halt();
    b.halt();
}
