//! The quorum SASL server and learner over loopback socket pairs, with a
//! small challenge-response mechanism standing in for DIGEST-MD5 (whose
//! own exchange is tested in zk-config): success, wrong credentials,
//! each `learnerRequireSasl`/`serverRequireSasl` combination, and hostile
//! peers, every wait bounded by the socket's read timeout.

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zk_config::sasl::{SaslClient, SaslException, SaslServer};

use crate::quorum_auth::{PeekableReader, QuorumAuth, Status};
use crate::quorum_auth_learner::QuorumAuthLearner;
use crate::quorum_auth_packet::QuorumAuthPacket;
use crate::quorum_auth_server::QuorumAuthServer;
use crate::{
    NullQuorumAuthLearner, NullQuorumAuthServer, SaslQuorumAuthLearner, SaslQuorumAuthServer,
    UnifiedSocket,
};

/// Server: challenge `nonce`, then expects `user:password:nonce`, answers
/// `ok`. Client: answers the challenge, then takes `ok` and is done.
struct ToyServer {
    users: Vec<(String, String)>,
    step: u8,
    id: Option<String>,
}

impl SaslServer for ToyServer {
    fn mechanism_name(&self) -> &'static str {
        "TOY"
    }
    fn evaluate_response(&mut self, response: &[u8]) -> Result<Vec<u8>, SaslException> {
        self.step += 1;
        match self.step {
            1 => Ok(b"nonce".to_vec()),
            2 => {
                let text = String::from_utf8_lossy(response).to_string();
                let ok = self
                    .users
                    .iter()
                    .find(|(u, p)| text == format!("{u}:{p}:nonce"));
                match ok {
                    Some((u, _)) => {
                        self.id = Some(u.clone());
                        Ok(b"ok".to_vec())
                    }
                    None => Err(SaslException::new("TOY: wrong user name or password")),
                }
            }
            _ => Err(SaslException::new("TOY: too many steps")),
        }
    }
    fn is_complete(&self) -> bool {
        self.id.is_some()
    }
    fn authorization_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

struct ToyClient {
    user: String,
    password: String,
    done: bool,
}

impl SaslClient for ToyClient {
    fn mechanism_name(&self) -> &'static str {
        "TOY"
    }
    fn has_initial_response(&self) -> bool {
        false
    }
    fn evaluate_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslException> {
        if challenge == b"ok" {
            self.done = true;
            return Ok(Vec::new());
        }
        Ok(format!(
            "{}:{}:{}",
            self.user,
            self.password,
            String::from_utf8_lossy(challenge)
        )
        .into_bytes())
    }
    fn is_complete(&self) -> bool {
        self.done
    }
}

fn server(require: bool) -> SaslQuorumAuthServer {
    SaslQuorumAuthServer::with_mechanism(
        require,
        "QuorumServer",
        Box::new(|| {
            Ok(Box::new(ToyServer {
                users: vec![("zk".into(), "secret".into())],
                step: 0,
                id: None,
            }))
        }),
    )
}

fn learner(require: bool, password: &str) -> SaslQuorumAuthLearner {
    let password = password.to_string();
    SaslQuorumAuthLearner::with_mechanism(
        require,
        "QuorumLearner",
        Box::new(move |_host| {
            Ok(Box::new(ToyClient {
                user: "zk".into(),
                password: password.clone(),
                done: false,
            }))
        }),
    )
}

/// What a learner sends once authenticated: more than the 8 bytes the
/// server peeks at.
const AFTER: &[u8] = b"hello, quorum";

const TIMEOUT: Duration = Duration::from_millis(700);

/// A connected pair: (dialing side, accepting side), each with TIMEOUT
/// as its read timeout.
fn pair() -> (UnifiedSocket, UnifiedSocket) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
    }
    (UnifiedSocket::plain(a), UnifiedSocket::plain(b))
}

/// Runs `auth_server` on the accepting side of a pair on its own thread,
/// then reads what follows the exchange ([`AFTER`]) from the same
/// reader: the bytes the learner sent after authenticating must all be
/// there.
fn serve(
    auth_server: Arc<dyn QuorumAuthServer>,
    sock: UnifiedSocket,
) -> thread::JoinHandle<(Result<(), String>, Vec<u8>)> {
    thread::spawn(move || {
        let mut din = PeekableReader::new(BufReader::new(sock.try_clone().unwrap()));
        let r = auth_server
            .authenticate(&sock, &mut din)
            .map_err(|e| e.to_string());
        let mut after = vec![0u8; AFTER.len()];
        let n = if r.is_ok() {
            din.read_exact(&mut after).map(|_| AFTER.len()).unwrap_or(0)
        } else {
            0
        };
        after.truncate(n);
        (r, after)
    })
}

fn run(
    auth_server: Arc<dyn QuorumAuthServer>,
    auth_learner: &dyn QuorumAuthLearner,
) -> (Result<(), String>, Result<(), String>, Vec<u8>) {
    let (dial, accept) = pair();
    let server = serve(auth_server, accept);
    let l = auth_learner
        .authenticate(&dial, "localhost")
        .map_err(|e| e.to_string());
    if l.is_ok() {
        (&dial).write_all(AFTER).unwrap();
    } else {
        drop(dial);
    }
    let (s, after) = server.join().unwrap();
    (l, s, after)
}

#[test]
fn right_credentials_authenticate_and_traffic_follows_intact() {
    let (l, s, after) = run(Arc::new(server(true)), &learner(true, "secret"));
    assert_eq!(l, Ok(()));
    assert_eq!(s, Ok(()));
    assert_eq!(after, AFTER);
}

#[test]
fn wrong_password_is_refused_on_both_sides_when_required() {
    let (l, s, _) = run(Arc::new(server(true)), &learner(true, "wrong"));
    let l = l.unwrap_err();
    assert!(
        l.contains("Authentication failed against server addr"),
        "{l}"
    );
    assert!(l.contains("ERROR"), "{l}");
    assert!(!l.contains("wrong"), "no password in errors: {l}");
    let s = s.unwrap_err();
    assert!(s.contains("wrong user name or password"), "{s}");
}

#[test]
fn wrong_password_is_let_in_by_a_server_that_does_not_require_sasl() {
    // The learner still fails: it got ERROR.
    let (l, s, _) = run(Arc::new(server(false)), &learner(true, "wrong"));
    assert!(l.is_err());
    assert_eq!(s, Ok(()));
}

#[test]
fn learner_not_requiring_sasl_sends_nothing() {
    // Rolling step 1: the learner does not authenticate; a server that
    // does not require it reads the learner's traffic untouched.
    let (l, s, after) = run(Arc::new(server(false)), &learner(false, "secret"));
    assert_eq!((l, s), (Ok(()), Ok(())));
    assert_eq!(after, AFTER);
    let (_, s, _) = run(Arc::new(server(true)), &learner(false, "secret"));
    let s = s.unwrap_err();
    assert!(s.contains("not trying to authenticate"), "{s}");
}

#[test]
fn null_sides_exchange_nothing() {
    let (l, s, after) = run(Arc::new(NullQuorumAuthServer), &NullQuorumAuthLearner);
    assert_eq!((l, s), (Ok(()), Ok(())));
    assert_eq!(after, AFTER);
    // A SASL server that does not require it takes a Null learner too.
    let (_, s, after) = run(Arc::new(server(false)), &NullQuorumAuthLearner);
    assert_eq!(s, Ok(()));
    assert_eq!(after, AFTER);
}

#[test]
fn a_learner_against_a_server_without_sasl_fails_within_the_timeout() {
    // enableSasl=false on the server: nobody answers the learner's token.
    let (dial, accept) = pair();
    let start = Instant::now();
    let e = learner(true, "secret")
        .authenticate(&dial, "localhost")
        .unwrap_err();
    assert!(start.elapsed() < TIMEOUT * 3, "{:?}", start.elapsed());
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e}"
    );
    drop(accept);
}

/// The accepting side against bytes a hostile peer writes by hand.
fn against_hostile(
    require: bool,
    script: impl FnOnce(&UnifiedSocket) + Send + 'static,
) -> (Result<(), String>, Duration) {
    let (dial, accept) = pair();
    dial.set_read_timeout(None).unwrap();
    let peer = thread::spawn(move || {
        script(&dial);
        // Hold the connection open until the server is done with it.
        let mut sink = Vec::new();
        let _ = (&dial).read_to_end(&mut sink);
    });
    let start = Instant::now();
    let mut din = PeekableReader::new(BufReader::new(accept.try_clone().unwrap()));
    let r = server(require)
        .authenticate(&accept, &mut din)
        .map_err(|e| e.to_string());
    let took = start.elapsed();
    drop(din);
    let _ = accept.shutdown(std::net::Shutdown::Both);
    peer.join().unwrap();
    (r, took)
}

fn first_packet() -> Vec<u8> {
    QuorumAuthPacket::new(Status::InProgress, Some(Vec::new())).encode()
}

#[test]
fn hostile_bad_magic_after_the_first_packet_is_refused() {
    let (r, _) = against_hostile(true, |s| {
        let mut w = s;
        w.write_all(&first_packet()).unwrap();
        let mut bad = QuorumAuthPacket::new(Status::InProgress, Some(b"x".to_vec())).encode();
        bad[..8].copy_from_slice(&0x1234_i64.to_be_bytes());
        w.write_all(&bad).unwrap();
    });
    let e = r.unwrap_err();
    assert!(e.contains("magic"), "{e}");
}

#[test]
fn hostile_huge_length_is_refused_at_once() {
    let (r, took) = against_hostile(true, |s| {
        let mut p = first_packet();
        p.truncate(12);
        p.extend_from_slice(&i32::MAX.to_be_bytes());
        (&*s).write_all(&p).unwrap();
    });
    let e = r.unwrap_err();
    assert!(e.contains("token length 2147483647"), "{e}");
    assert!(took < TIMEOUT, "{took:?}");
}

#[test]
fn hostile_token_then_silence_ends_within_the_timeout() {
    for require in [true, false] {
        let (r, took) = against_hostile(require, |s| {
            (&*s).write_all(&first_packet()).unwrap();
        });
        assert!(took >= TIMEOUT / 2 && took < TIMEOUT * 3, "{took:?}");
        // Not required: let in (and the Zab or election code that reads
        // next will time out on it in turn).
        assert_eq!(r.is_ok(), !require, "{r:?}");
    }
}

#[test]
fn hostile_trickle_cannot_stretch_the_exchange() {
    // One byte at a time, each well inside the read timeout: the whole
    // exchange is still bounded by it.
    let (r, took) = against_hostile(true, |s| {
        for b in first_packet() {
            if (&*s).write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(TIMEOUT / 4);
        }
    });
    assert!(r.is_err());
    assert!(took < TIMEOUT * 2, "{took:?}");
}

#[test]
fn silence_before_any_packet_is_bounded_too() {
    let (r, took) = against_hostile(true, |_| {});
    assert!(r.is_err());
    assert!(took < TIMEOUT * 3, "{took:?}");
}

#[test]
fn the_magic_is_38s() {
    assert_eq!(QuorumAuth::QUORUM_AUTH_MAGIC_NUMBER, 0x5f24_3501_3501_edcc);
}

/// The QuorumServer and QuorumLearner sections as 3.8's documentation
/// writes them, and a learner with the wrong password.
const JAAS: &str = r#"
QuorumServer {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_test="mypassword";
};
QuorumLearner {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="test"
    password="mypassword";
};
BadLearner {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="test"
    password="notmypassword";
};
"#;

fn login(section: &str) -> zk_config::sasl::Login {
    let jaas = zk_config::JaasConfiguration::parse(JAAS).unwrap();
    zk_config::sasl::Login::new(section, &jaas, std::path::Path::new("jaas.conf")).unwrap()
}

#[test]
fn digest_md5_from_the_jaas_sections() {
    let digest_server = || {
        Arc::new(SaslQuorumAuthServer::new(
            true,
            login("QuorumServer"),
            Default::default(),
        ))
    };
    let good = SaslQuorumAuthLearner::new(true, "zkquorum/localhost", login("QuorumLearner"));
    let (l, s, after) = run(digest_server(), &good);
    assert_eq!((l, s), (Ok(()), Ok(())));
    assert_eq!(after, AFTER);
    let bad = SaslQuorumAuthLearner::new(true, "zkquorum/localhost", login("BadLearner"));
    let (l, s, _) = run(digest_server(), &bad);
    assert!(l.is_err() && s.is_err(), "{l:?} {s:?}");
}

#[test]
fn service_principal_host_substitution_is_38s() {
    use crate::sasl_quorum_auth_learner::server_principal;
    assert_eq!(
        server_principal("zkquorum/_HOST", "Node1.Example"),
        "zkquorum/node1.example"
    );
    assert_eq!(
        server_principal("zkquorum/_HOST@R", "h"),
        "zkquorum/_HOST@R"
    );
    assert_eq!(
        server_principal("zkquorum/localhost", "h"),
        "zkquorum/localhost"
    );
}
