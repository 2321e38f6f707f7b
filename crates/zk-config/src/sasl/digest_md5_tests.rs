//! DIGEST-MD5 server and client: RFC 2831's worked example, round trips
//! between the two, and tokens a server must refuse without panicking.

use std::path::Path;

use super::*;
use crate::sasl::{DigestMd5Client, Login, SaslClient};
use crate::JaasConfiguration;

fn handler(users: &str) -> SaslServerCallbackHandler {
    let text = format!(
        "Server {{ org.apache.zookeeper.server.auth.DigestLoginModule required {users}; }};"
    );
    let jaas = JaasConfiguration::parse(&text).unwrap();
    SaslServerCallbackHandler::new(&Login::new("Server", &jaas, Path::new("jaas.conf")).unwrap())
}

fn zk_server() -> DigestMd5Server {
    DigestMd5Server::new(
        "zookeeper",
        "zk-sasl-md5",
        handler(r#"user_bob="bobsecret""#),
    )
}

/// RFC 2831 section 4: the IMAP example's challenge, response and rspauth.
const RFC_CHALLENGE: &str = "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8";
const RFC_RESPONSE: &str = "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\",response=d388dad90d4bbd760a152321f2143af7,qop=auth";
const RFC_RSPAUTH: &str = "rspauth=ea40f60335c427b5527b84dbabcdfffd";

fn rfc_server() -> DigestMd5Server {
    DigestMd5Server::new(
        "imap",
        "elwood.innosoft.com",
        handler(r#"user_chris="secret""#),
    )
    .with_nonce("OA6MG9tEQGm2hh")
}

#[test]
fn rfc_2831_example_server_side() {
    let mut s = rfc_server();
    let challenge = String::from_utf8(s.evaluate_response(b"").unwrap()).unwrap();
    assert!(
        challenge.contains("nonce=\"OA6MG9tEQGm2hh\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("realm=\"elwood.innosoft.com\""),
        "{challenge}"
    );
    let rspauth = s.evaluate_response(RFC_RESPONSE.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(rspauth).unwrap(), RFC_RSPAUTH);
    assert!(s.is_complete());
    assert_eq!(s.authorization_id(), Some("chris"));
}

#[test]
fn rfc_2831_example_client_side() {
    let mut c = DigestMd5Client::new("imap", "elwood.innosoft.com", "chris", "secret")
        .with_authorization_id(None)
        .with_cnonce("OA6MHXh6VqTrRk");
    assert!(!c.has_initial_response());
    let response =
        String::from_utf8(c.evaluate_challenge(RFC_CHALLENGE.as_bytes()).unwrap()).unwrap();
    assert!(
        response.contains(",response=d388dad90d4bbd760a152321f2143af7,"),
        "{response}"
    );
    for part in RFC_RESPONSE.split(',') {
        assert!(
            response.split(',').any(|p| p == part),
            "{part} missing from {response}"
        );
    }
    assert!(!c.is_complete());
    assert_eq!(c.evaluate_challenge(RFC_RSPAUTH.as_bytes()).unwrap(), b"");
    assert!(c.is_complete());
    assert!(
        c.evaluate_challenge(b"").is_err(),
        "complete: no more tokens"
    );
}

/// Runs the exchange, the client's first token `first`; the server's
/// result and both sides.
fn exchange(
    mut server: DigestMd5Server,
    mut client: DigestMd5Client,
    first: &[u8],
) -> (Result<(), SaslException>, DigestMd5Server, DigestMd5Client) {
    let run = |server: &mut DigestMd5Server, client: &mut DigestMd5Client| {
        let challenge = server.evaluate_response(first)?;
        let response = client.evaluate_challenge(&challenge)?;
        let rspauth = server.evaluate_response(&response)?;
        assert!(client.evaluate_challenge(&rspauth)?.is_empty());
        Ok(())
    };
    let result = run(&mut server, &mut client);
    (result, server, client)
}

#[test]
fn round_trip_whatever_the_first_token() {
    for first in [&b""[..], b"\0", b"x", &[0xff; 300][..]] {
        let client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
        let (r, s, c) = exchange(zk_server(), client, first);
        r.unwrap();
        assert!(s.is_complete() && c.is_complete());
        assert_eq!(s.authorization_id(), Some("bob"));
        assert_eq!(s.mechanism_name(), "DIGEST-MD5");
    }
}

#[test]
fn non_ascii_names_and_passwords_round_trip() {
    for (user, pw) in [
        ("bjørn", "pässwörd"),
        ("用户", "密码€"),
        ("a\"b\\c", "p,\"w"),
    ] {
        let users = format!("user_{}=\"{}\"", "x", "y");
        let mut server = DigestMd5Server::new("zookeeper", "zk-sasl-md5", handler(&users));
        // The JAAS grammar has no room for such names: set them directly.
        server.handler = SaslServerCallbackHandler::for_tests(&[(user, pw)]);
        let client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", user, pw);
        let (r, s, _) = exchange(server, client, b"");
        r.unwrap_or_else(|e| panic!("{user}: {e}"));
        assert_eq!(s.authorization_id(), Some(user));
    }
}

#[test]
fn quorum_names_round_trip() {
    let jaas = JaasConfiguration::parse(
        "QuorumServer { org.apache.zookeeper.server.auth.DigestLoginModule required user_test=\"t\"; };",
    )
    .unwrap();
    let login = Login::new("QuorumServer", &jaas, Path::new("j")).unwrap();
    let server = DigestMd5Server::new(
        "zookeeper-quorum",
        "zk-quorum-sasl-md5",
        SaslServerCallbackHandler::quorum(&login),
    );
    let client = DigestMd5Client::new("zookeeper-quorum", "zk-quorum-sasl-md5", "test", "t");
    let (r, s, _) = exchange(server, client, b"");
    r.unwrap();
    assert_eq!(s.authorization_id(), Some("test"));
    // A client naming the client port's server does not match the uri.
    let server = DigestMd5Server::new(
        "zookeeper-quorum",
        "zk-quorum-sasl-md5",
        SaslServerCallbackHandler::quorum(&login),
    );
    let client = DigestMd5Client::new("zookeeper", "zk-quorum-sasl-md5", "test", "t");
    let e = exchange(server, client, b"").0.unwrap_err();
    assert!(e.message.contains("Mismatched URI"), "{e}");
}

#[test]
fn wrong_password_and_unknown_user_fail() {
    let client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "wrong");
    let (r, s, c) = exchange(zk_server(), client, b"");
    let e = r.unwrap_err();
    assert_eq!(
        e.message,
        "DIGEST-MD5: digest response format violation. Mismatched response."
    );
    assert!(!e.message.contains("wrong"));
    assert!(!s.is_complete() && !c.is_complete());
    assert_eq!(s.authorization_id(), None);
    let client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "eve", "x");
    let e = exchange(zk_server(), client, b"").0.unwrap_err();
    assert!(e.message.contains("cannot acquire password for eve"), "{e}");
}

#[test]
fn a_server_without_the_password_cannot_fake_rspauth() {
    let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
    let mut s = zk_server();
    let challenge = s.evaluate_response(b"").unwrap();
    c.evaluate_challenge(&challenge).unwrap();
    let e = c
        .evaluate_challenge(b"rspauth=00000000000000000000000000000000")
        .unwrap_err();
    assert!(e.message.contains("response-auth"), "{e}");
    assert!(!c.is_complete());
    assert!(c.evaluate_challenge(b"").is_err(), "failed: no more tokens");
}

#[test]
fn completed_and_failed_exchanges_take_no_more_tokens() {
    let client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
    let (r, mut s, _) = exchange(zk_server(), client, b"");
    r.unwrap();
    let e = s.evaluate_response(b"").unwrap_err();
    assert!(e.message.contains("already complete"), "{e}");
    assert!(s.is_complete(), "a late token does not undo the success");
    let mut s = zk_server();
    s.evaluate_response(b"").unwrap();
    assert!(s.evaluate_response(b"garbage").is_err());
    let e = s.evaluate_response(b"").unwrap_err();
    assert!(e.message.contains("failed"), "{e}");
}

#[test]
fn replayed_responses_fail_against_a_new_nonce() {
    let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
    let mut s = zk_server();
    let response = c
        .evaluate_challenge(&s.evaluate_response(b"").unwrap())
        .unwrap();
    s.evaluate_response(&response).unwrap();
    let mut again = zk_server();
    again.evaluate_response(b"").unwrap();
    let e = again.evaluate_response(&response).unwrap_err();
    assert!(e.message.contains("Mismatched nonce"), "{e}");
}

/// A valid response to `server`'s challenge, as directives to tamper with.
fn good_response(server: &mut DigestMd5Server) -> String {
    let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
    let response = c
        .evaluate_challenge(&server.evaluate_response(b"").unwrap())
        .unwrap();
    String::from_utf8(response).unwrap()
}

fn without(response: &str, name: &str) -> String {
    response
        .split(',')
        .filter(|p| !p.starts_with(&format!("{name}=")))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn malformed_responses_are_refused_clearly() {
    type Tamper = fn(&str) -> String;
    let cases: &[(Tamper, &str)] = &[
        (|r| without(r, "username"), "missing 'username' directive"),
        (|r| without(r, "nonce"), "missing 'nonce' directive"),
        (|r| without(r, "cnonce"), "missing 'cnonce' directive"),
        (|r| without(r, "nc"), "missing 'nc' directive"),
        (
            |r| without(r, "digest-uri"),
            "missing 'digest-uri' directive",
        ),
        (|r| without(r, "response"), "missing 'response' directive"),
        (
            |r| format!("{r},username=\"bob\""),
            "duplicate directive 'username'",
        ),
        (|r| format!("{r},NC=00000001"), "duplicate directive 'nc'"),
        (
            |r| r.replace("nc=00000001", "nc=00000002"),
            "Nonce count does not match: 00000002",
        ),
        (
            |r| r.replace("nc=00000001", "nc=1"),
            "Nonce count does not match: 1",
        ),
        (
            |r| r.replace("nc=00000001", "nc=zzzzzzzz"),
            "Nonce count does not match",
        ),
        (
            |r| r.replace("qop=auth", "qop=auth-conf"),
            "Invalid QOP: auth-conf",
        ),
        (
            |r| r.replace("charset=utf-8", "charset=latin1"),
            "Incompatible charset value",
        ),
        (
            |r| r.replace("realm=\"zk-sasl-md5\"", "realm=\"other\""),
            "Nonexistent realm: other",
        ),
        (
            |r| r.replace("maxbuf=65536", "maxbuf=x"),
            "Invalid maxbuf: x",
        ),
        (|r| format!("{r},cipher=rc4"), "cipher"),
        (
            |r| r.replace("zookeeper/zk-sasl-md5", "imap/zk-sasl-md5"),
            "Mismatched URI",
        ),
        (
            |r| format!("{r},\"unterminated"),
            "malformed directive list",
        ),
        (
            |r| r.replace("username=\"bob\"", "username=\"bob"),
            "malformed directive list",
        ),
        (|_| "\u{0}\u{1}".to_string(), "malformed directive list"),
        (|_| String::new(), "missing 'username' directive"),
    ];
    for (tamper, why) in cases {
        let mut s = zk_server();
        let response = tamper(&good_response(&mut s));
        let e = s.evaluate_response(response.as_bytes()).unwrap_err();
        assert!(e.message.contains(why), "{response}: {e}");
        assert!(e.message.starts_with("DIGEST-MD5: "), "{e}");
        assert!(!e.message.contains("bobsecret"));
        assert!(!s.is_complete());
    }
}

#[test]
fn huge_and_binary_tokens_fail_without_panicking() {
    let mut s = zk_server();
    s.evaluate_response(&vec![b'a'; 1 << 20]).unwrap();
    let e = s.evaluate_response(&vec![b'a'; 1 << 20]).unwrap_err();
    assert!(
        e.message
            .contains("Invalid digest response length. Got: 1048576"),
        "{e}"
    );
    let mut s = zk_server();
    s.evaluate_response(b"").unwrap();
    assert!(s.evaluate_response(&[0xc3, 0x28, b'=', 0xff]).is_err());
    let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
    let e = c.evaluate_challenge(&vec![b'a'; 1 << 20]).unwrap_err();
    assert!(e.message.contains("Invalid digest-challenge length"), "{e}");
}

#[test]
fn malformed_challenges_are_refused_clearly() {
    for (challenge, why) in [
        (
            "realm=\"r\",algorithm=md5-sess",
            "missing 'nonce' directive",
        ),
        ("nonce=\"n\"", "missing 'algorithm' directive"),
        (
            "nonce=\"n\",algorithm=md5",
            "Invalid value for 'algorithm' directive: md5",
        ),
        (
            "nonce=\"n\",nonce=\"m\",algorithm=md5-sess",
            "duplicate directive 'nonce'",
        ),
        (
            "nonce=\"n\",qop=\"auth-conf\",algorithm=md5-sess",
            "No common protection layer",
        ),
        (
            "nonce=\"n\",charset=latin1,algorithm=md5-sess",
            "Unrecognised charset value",
        ),
        ("", "missing 'nonce' directive"),
    ] {
        let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "pw");
        let e = c.evaluate_challenge(challenge.as_bytes()).unwrap_err();
        assert!(e.message.contains(why), "{challenge}: {e}");
    }
    // Several realms are allowed; the first is used.
    let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "pw");
    let r = c
        .evaluate_challenge(b"realm=\"a\",realm=\"b\",nonce=\"n\",algorithm=md5-sess")
        .unwrap();
    let r = String::from_utf8(r).unwrap();
    assert!(r.contains("realm=\"a\"") && !r.contains("charset"), "{r}");
}

#[test]
fn the_challenge_is_shaped_as_the_jdks() {
    let mut s = zk_server();
    let challenge = String::from_utf8(s.evaluate_response(b"").unwrap()).unwrap();
    let nonce = challenge
        .strip_prefix("realm=\"zk-sasl-md5\",nonce=\"")
        .and_then(|r| r.strip_suffix("\",charset=utf-8,algorithm=md5-sess"))
        .unwrap_or_else(|| panic!("{challenge}"));
    assert_eq!(nonce.len(), 40, "{challenge}");
}

#[test]
fn the_client_asks_for_its_own_name_and_the_server_grants_the_authenticated_one() {
    let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
    let mut s = zk_server();
    let response = c
        .evaluate_challenge(&s.evaluate_response(b"").unwrap())
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    assert!(
        response.starts_with("charset=utf-8,username=\"bob\",realm=\"zk-sasl-md5\","),
        "{response}"
    );
    assert!(
        response.ends_with(",qop=auth,authzid=\"bob\""),
        "{response}"
    );
    // 3.8's handler authorizes the authentication id (rewritten), not
    // the authorization id a client asks for.
    let client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret")
        .with_authorization_id(Some("alice"));
    let (r, s, c) = exchange(zk_server(), client, b"");
    r.unwrap();
    assert!(c.is_complete());
    assert_eq!(s.authorization_id(), Some("bob"));
}

/// xorshift64: reproducible noise without a dependency.
fn noise(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_and_mutated_tokens_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for round in 0..3000 {
        let mut s = zk_server();
        let good = good_response(&mut s).into_bytes();
        let token: Vec<u8> = if round % 2 == 0 {
            let len = (noise(&mut seed) % 300) as usize;
            (0..len).map(|_| noise(&mut seed) as u8).collect()
        } else {
            // A valid response with a few bytes changed or cut short.
            let mut t = good.clone();
            for _ in 0..1 + noise(&mut seed) % 3 {
                let i = (noise(&mut seed) as usize) % t.len();
                t[i] = noise(&mut seed) as u8;
            }
            t.truncate((noise(&mut seed) as usize) % (t.len() + 1) + t.len() / 2);
            t
        };
        if let Ok(reply) = s.evaluate_response(&token) {
            // Only a token the mutation left equivalent may pass.
            assert!(reply.starts_with(b"rspauth="));
        }
        let mut c = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
        let _ = c.evaluate_challenge(&token);
        let _ = c.evaluate_challenge(&token);
    }
}
