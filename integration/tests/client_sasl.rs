//! SASL on the client port, end to end, with Apache's Java client: zkCli
//! (`ZooKeeperMain`) with `-Djava.security.auth.login.config=` a `Client`
//! section (`DigestLoginModule`, `username`/`password`) and
//! `-Dzookeeper.sasl.client=true` runs DIGEST-MD5 against zk-bin and
//! against Apache 3.8 (the control), both with a JAAS `Server` section
//! (`user_alice`, `user_bob`) and `authProvider.1=...SASLAuthenticationProvider`.
//! The same scripts must print the same answers from both:
//!
//! - alice creates `/s` with `sasl:alice:cdrwa`, reads it, `whoami` shows
//!   `sasl` / `alice`; bob is refused (NOAUTH: "Insufficient permission");
//! - a wrong password: 3.8's answer (AUTHFAILED, the client's AuthFailed
//!   state, then nothing works);
//! - `enforce.auth.enabled=true` with `enforce.auth.schemes=sasl`, and
//!   (on another server) `sessionRequireClientSASLAuth=true`: a client
//!   without SASL is answered SESSIONCLOSEDREQUIRESASLAUTH and closed;
//!   alice works.
//!
//! Hostile input against zk-bin on raw sockets (malformed `sasl` records,
//! garbage DIGEST-MD5 responses, an exchange abandoned halfway, a
//! 1,000,000-byte token): each connection is closed with its reason in
//! the log, and a well-behaved client is served throughout.
//!
//! Without Java and Apache's jars the tests print SKIPPED.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use integration::apache::{ApacheServer, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::ZkBinServer;

const SASL_PROVIDER: &str =
    "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider";
/// The two ways 3.8 requires SASL of every session, each run on a server
/// of its own.
const ENFORCED: &[(&str, &str)] = &[
    (
        "enforce.auth.schemes=sasl",
        "enforce.auth.enabled=true\nenforce.auth.schemes=sasl",
    ),
    (
        "sessionRequireClientSASLAuth",
        "sessionRequireClientSASLAuth=true",
    ),
];
const SERVER_JAAS: &str = "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
                           user_super=\"supersecret\"\n  user_alice=\"alicepw\"\n  user_bob=\"bobpw\";\n};\n";
const CLI_TIMEOUT: Duration = Duration::from_secs(90);

/// alice makes a node only she may use.
const ALICE: &str = "\
whoami
create /s x sasl:alice:cdrwa
getAcl /s
get /s
set /s y
get /s
quit
";

/// bob may not read alice's node, but may make his own.
const BOB: &str = "\
whoami
get /s
getAcl /s
create /b z
quit
";

/// With a wrong password nothing is served.
const WRONG: &str = "\
ls /
quit
";

/// On an enforcing server a client without SASL gets nowhere.
const ANONYMOUS: &str = "\
ls /
quit
";

/// One server of either kind, with the JAAS `Server` section and the SASL
/// provider, and `extra` zoo.cfg lines.
enum Server {
    ZkBin(ZkBinServer),
    Apache(ApacheServer),
}

impl Server {
    fn addr(&self) -> String {
        match self {
            Server::ZkBin(s) => s.addr.to_string(),
            Server::Apache(s) => s.addr().to_string(),
        }
    }

    fn log(&self) -> String {
        match self {
            Server::ZkBin(s) => s.log_text(),
            Server::Apache(s) => s.log_text(),
        }
    }
}

fn start(zk: &ApacheZk, kind: &str, work: &TempDir, extra: &str) -> Server {
    let jaas = work.join("server-jaas.conf");
    std::fs::write(&jaas, SERVER_JAAS).unwrap();
    let flag = format!("-Djava.security.auth.login.config={}", jaas.display());
    let port = free_port().unwrap();
    let extra = format!("{SASL_PROVIDER}\n4lw.commands.whitelist=*\n{extra}");
    if kind == "zk-bin" {
        let s = ZkBinServer::start_with_env(work, port, &extra, &[("JVMFLAGS", &flag)])
            .unwrap_or_else(|e| panic!("{e}"));
        return Server::ZkBin(s);
    }
    let mut cfg = ServerConfig::new(work.path(), &work.join("apache-data"), port);
    for line in extra.lines().filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').unwrap();
        cfg.extra_cfg.push((k.to_string(), v.to_string()));
    }
    cfg.jvm_props.push(flag);
    Server::Apache(zk.start(&cfg).unwrap_or_else(|e| panic!("{e}")))
}

/// zkCli running `script` as `user` (`None`: no JAAS file, SASL off).
fn zk_cli(
    zk: &ApacheZk,
    server: &Server,
    dir: &Path,
    user: Option<(&str, &str)>,
    script: &str,
) -> String {
    let name = user.map_or("anonymous", |u| u.0);
    let script_path = dir.join(format!("{name}.script"));
    std::fs::write(&script_path, script).unwrap();
    let props = match user {
        Some((user, password)) => {
            let jaas = dir.join(format!("client-{user}.conf"));
            std::fs::write(
                &jaas,
                format!(
                    "Client {{\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
                     username=\"{user}\"\n  password=\"{password}\";\n}};\n"
                ),
            )
            .unwrap();
            vec![
                format!("-Djava.security.auth.login.config={}", jaas.display()),
                "-Dzookeeper.sasl.client=true".to_string(),
            ]
        }
        None => vec!["-Dzookeeper.sasl.client=false".to_string()],
    };
    zk.zk_cli_with_props(&server.addr(), &script_path, CLI_TIMEOUT, &props)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What a user would compare: zkCli's answers and the states it reports,
/// without log lines, stack traces, times and session ids.
fn answers(output: &str) -> Vec<String> {
    // A log entry may run over several lines: its exception's message and
    // stack. Those belong to the log, not to zkCli's answers (the client's
    // "exception while closing send thread" WARN, say, comes and goes with
    // who closes the socket first at the end).
    let mut in_log_entry = false;
    let mut kept = Vec::new();
    for l in output.lines().map(str::trim_end) {
        let is_log = [" - WARN ", " - INFO ", " - ERROR ", " - DEBUG "]
            .iter()
            .any(|level| l.contains(level));
        if is_log {
            in_log_entry = true;
            continue;
        }
        let continues_log = l.starts_with('\t') || is_exception_line(l);
        if in_log_entry && continues_log {
            continue;
        }
        in_log_entry = false;
        if l.is_empty()
            || l.starts_with('\t')
            || l.starts_with("ctime")
            || l.starts_with("mtime")
            || l.starts_with("Connecting to")
            || l.starts_with("SLF4J")
            || l.starts_with("log4j")
        {
            continue;
        }
        // The prompt carries the connection state and a counter.
        kept.push(without_session_ids(l.split("] ").last().unwrap_or(l)));
    }
    // When a server answers and then closes (AUTHFAILED, an enforcing
    // server's SESSIONCLOSEDREQUIRESASLAUTH), whether the client reports
    // Disconnected before zkCli's own close is a race inside the Java
    // client (its send thread reading the end of stream against the main
    // thread calling close), for either server: not an answer.
    let mut i = 0;
    while i + 1 < kept.len() {
        if kept[i] == "WATCHER::"
            && kept[i + 1] == "WatchedEvent state:Disconnected type:None path:null"
        {
            kept.drain(i..i + 2);
        } else {
            i += 1;
        }
    }
    kept
}

/// Whether `l` is a Java exception's first line (`SomeException: text`).
fn is_exception_line(l: &str) -> bool {
    let name = l.split(':').next().unwrap_or("");
    !name.contains(' ') && (name.ends_with("Exception") || name.ends_with("Error"))
}

/// `l` with each `0x<hex>` (session ids) as `0x_`.
fn without_session_ids(l: &str) -> String {
    let mut parts = l.split("0x");
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        out.push_str("0x_");
        out.push_str(p.trim_start_matches(|c: char| c.is_ascii_hexdigit()));
    }
    out
}

/// The answers of each script, in order, from a server of `kind`.
fn run_scripts(zk: &ApacheZk, kind: &str) -> Vec<(String, Vec<String>, String)> {
    let mut out = Vec::new();
    let work = TempDir::new(&format!("zk-client-sasl-{kind}")).unwrap();
    let server = start(zk, kind, &work, "");
    for (what, user, script) in [
        ("alice", Some(("alice", "alicepw")), ALICE),
        ("bob", Some(("bob", "bobpw")), BOB),
        ("wrong password", Some(("alice", "wrong")), WRONG),
    ] {
        let text = zk_cli(zk, &server, work.path(), user, script);
        out.push((what.to_string(), answers(&text), text));
    }
    let mut log = server.log();
    for (how, cfg) in ENFORCED {
        let dir = TempDir::new(&format!("zk-client-sasl-enforced-{kind}")).unwrap();
        let enforcing = start(zk, kind, &dir, cfg);
        for (who, user, script) in [
            ("anonymous", None, ANONYMOUS),
            ("alice", Some(("alice", "alicepw")), ALICE),
        ] {
            let text = zk_cli(zk, &enforcing, dir.path(), user, script);
            out.push((
                format!("{who} on a server enforcing {how}"),
                answers(&text),
                text,
            ));
        }
        log += &enforcing.log();
    }
    assert!(
        !log.contains("alicepw") && !log.contains("bobpw"),
        "a password was logged"
    );
    out
}

#[test]
fn zkcli_authenticates_by_sasl_with_the_same_answers_as_from_apache() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("SKIPPED: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let theirs = run_scripts(&zk, "apache");
    let ours = run_scripts(&zk, "zk-bin");
    for ((what, t, t_text), (_, o, o_text)) in theirs.iter().zip(&ours) {
        println!("--- {what} (Apache) ---\n{}", t.join("\n"));
        assert_eq!(
            o, t,
            "{what}: zkCli answered differently.\n--- zk-bin ---\n{o_text}\n--- Apache ---\n{t_text}"
        );
    }
}

// ---- hostile input on raw sockets ----

/// Every wait in the hostile test is bounded by this.
const BOUND: Duration = Duration::from_secs(60);
const GET_DATA: i32 = 4;
const SASL: i32 = 102;
const AUTHFAILED: i32 = -115;

fn framed(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// A request frame: header, then `record`.
fn request(xid: i32, op: i32, record: &[u8]) -> Vec<u8> {
    let mut b = xid.to_be_bytes().to_vec();
    b.extend_from_slice(&op.to_be_bytes());
    b.extend_from_slice(record);
    framed(&b)
}

/// A `GetSASLRequest` record carrying `token`.
fn token_record(token: &[u8]) -> Vec<u8> {
    let mut b = (token.len() as i32).to_be_bytes().to_vec();
    b.extend_from_slice(token);
    b
}

fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let mut body = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
    s.read_exact(&mut body)?;
    Ok(body)
}

/// A raw connection with a new session whose timeout is 4 s (the least at
/// tickTime 2000), so an abandoned one expires soon.
fn raw_session(addr: SocketAddr) -> TcpStream {
    raw_session_with_timeout(addr, 4000)
}

/// A raw connection with a new session of `timeout_ms`.
fn raw_session_with_timeout(addr: SocketAddr, timeout_ms: i32) -> TcpStream {
    let mut s = TcpStream::connect_timeout(&addr, BOUND).expect("connect");
    s.set_read_timeout(Some(BOUND)).unwrap();
    let mut b = vec![0u8; 12];
    b.extend_from_slice(&timeout_ms.to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&16i32.to_be_bytes());
    b.extend_from_slice(&[0; 16]);
    b.push(0);
    s.write_all(&framed(&b)).unwrap();
    read_frame(&mut s).expect("connect response");
    s
}

/// Sends `frame` and reads the reply: (err, the token after the header).
fn ask(s: &mut TcpStream, frame: &[u8]) -> (i32, Option<Vec<u8>>) {
    s.write_all(frame).unwrap();
    let r = read_frame(s).expect("a reply");
    let err = i32::from_be_bytes(r[12..16].try_into().unwrap());
    let token = r.get(16..20).and_then(|l| {
        let len = i32::from_be_bytes(l.try_into().unwrap());
        (len >= 0).then(|| r[20..20 + len as usize].to_vec())
    });
    (err, token)
}

/// Reads until the server closes: EOF or reset; false at the deadline.
fn closed_by_server(s: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(200))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// The server's close reasons by client port ("Closed socket connection
/// for client 127.0.0.1:<port> which had sessionid 0x..: <why>").
fn close_reasons(log: &str) -> HashMap<u16, String> {
    let mut reasons = HashMap::new();
    for line in log.lines() {
        let Some((_, rest)) = line.split_once("Closed socket connection for client 127.0.0.1:")
        else {
            continue;
        };
        let Some((port, rest)) = rest.split_once(' ') else {
            continue;
        };
        if let (Ok(port), Some((_, why))) = (port.parse(), rest.split_once(": ")) {
            reasons.insert(port, why.to_string());
        }
    }
    reasons
}

/// A well-behaved client: a getData of `/zookeeper` answered OK.
fn served(s: &mut TcpStream, xid: i32) {
    let mut path = token_record(b"/zookeeper");
    path.push(0);
    let started = Instant::now();
    let (err, _) = ask(s, &request(xid, GET_DATA, &path));
    assert_eq!(err, 0, "the good client's getData failed");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the good client waited"
    );
}

/// Deterministic noise (xorshift64*).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// One hostile exchange: what it sends after the session is set up (the
/// first DIGEST-MD5 round done first when `after_challenge`), what the
/// server must answer (`None`: no reply, the connection just closes), and
/// words of the logged close reason (`a|b`: either).
struct Hostile {
    what: &'static str,
    after_challenge: bool,
    frame: Vec<u8>,
    answer: Option<i32>,
    reason: &'static str,
}

fn hostile_cases() -> Vec<Hostile> {
    let big = noise(7, 1_000_000);
    let mut truncated = 1000i32.to_be_bytes().to_vec();
    truncated.extend_from_slice(b"abc");
    let case = |what, after_challenge, frame, answer, reason| Hostile {
        what,
        after_challenge,
        frame,
        answer,
        reason,
    };
    vec![
        case(
            "a token longer than its frame",
            false,
            request(1, SASL, &truncated),
            None,
            "malformed SASL request",
        ),
        case(
            "a token length of -5",
            false,
            request(1, SASL, &(-5i32).to_be_bytes()),
            None,
            "malformed SASL request",
        ),
        case(
            "a sasl request without a record",
            false,
            request(1, SASL, &[]),
            None,
            "malformed SASL request",
        ),
        // DIGEST-MD5 ignores what comes before its challenge (as the
        // JDK's does): answered with the challenge, then the client is
        // silent and its session expires.
        case(
            "noise as the first token",
            false,
            request(1, SASL, &token_record(&noise(1, 300))),
            Some(0),
            "expired|its session was closed",
        ),
        case(
            "noise as the digest response",
            true,
            request(2, SASL, &token_record(&noise(2, 300))),
            Some(AUTHFAILED),
            "SASL authentication failed",
        ),
        case(
            "a 1,000,000-byte first token",
            false,
            request(1, SASL, &token_record(&big)),
            Some(AUTHFAILED),
            "SASL authentication failed",
        ),
        case(
            "a 1,000,000-byte digest response",
            true,
            request(2, SASL, &token_record(&big)),
            Some(AUTHFAILED),
            "SASL authentication failed",
        ),
    ]
}

/// Runs `case` on a new session at `addr`: the client port it used, the
/// error code answered (`None`: the connection closed without a reply),
/// and whether the server then closed the connection.
fn hostile_round(addr: SocketAddr, case: &Hostile) -> (u16, Option<i32>, bool) {
    let mut s = raw_session(addr);
    let port = s.local_addr().unwrap().port();
    if case.after_challenge {
        let (err, challenge) = ask(&mut s, &request(1, SASL, &token_record(b"")));
        assert!(
            err == 0 && challenge.is_some_and(|c| !c.is_empty()),
            "{}: no challenge",
            case.what
        );
    }
    s.write_all(&case.frame).unwrap();
    let answer = read_frame(&mut s)
        .ok()
        .map(|r| i32::from_be_bytes(r[12..16].try_into().unwrap()));
    (
        port,
        answer,
        closed_by_server(&mut s, Instant::now() + BOUND),
    )
}

/// Apache 3.8's answers to the same cases, where it is installed: the
/// control for the codes zk-bin must give.
fn apache_answers(cases: &[Hostile]) -> Option<Vec<(Option<i32>, bool)>> {
    let zk = ApacheZk::find().ok()?;
    let work = TempDir::new("zk-client-sasl-hostile-apache").unwrap();
    let server = start(&zk, "apache", &work, "");
    let addr: SocketAddr = server.addr().parse().unwrap();
    Some(
        cases
            .iter()
            .map(|c| {
                let (_, answer, closed) = hostile_round(addr, c);
                (answer, closed)
            })
            .collect(),
    )
}

#[test]
fn hostile_sasl_input_closes_the_connection_and_others_are_served() {
    let work = TempDir::new("zk-client-sasl-hostile").unwrap();
    let jaas = work.join("server-jaas.conf");
    std::fs::write(&jaas, SERVER_JAAS).unwrap();
    let flag = format!("-Djava.security.auth.login.config={}", jaas.display());
    let server = ZkBinServer::start_with_env(
        &work,
        free_port().unwrap(),
        SASL_PROVIDER,
        &[("JVMFLAGS", &flag)],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cases = hostile_cases();
    let control = apache_answers(&cases);
    // Its session outlives the waits for the others' to expire.
    let mut good = raw_session_with_timeout(server.addr, 40_000);
    let mut xid = 100;
    let mut expected = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (port, answer, closed) = hostile_round(server.addr, case);
        assert_eq!(answer, case.answer, "{}: the answer", case.what);
        assert!(closed, "{}: still open", case.what);
        if let Some(control) = &control {
            assert_eq!(
                control[i],
                (answer, closed),
                "{}: Apache 3.8 answers otherwise",
                case.what
            );
        }
        xid += 1;
        served(&mut good, xid);
        expected.push((case.what, port, case.reason));
    }
    expected.extend(abandoned_exchanges(server.addr, &mut good, &mut xid));
    let log = wait_for_close_reasons(&server, &expected);
    let reasons = close_reasons(&log);
    for (what, port, reason) in &expected {
        let why = &reasons[port];
        // `a|b`: either (a silent client's connection and its session
        // expire together; whichever closes it first is logged).
        assert!(
            reason.split('|').any(|r| why.contains(r)),
            "{what}: closed because {why:?}, expected {reason:?}"
        );
        println!("{what}: closed: {why}");
    }
    // Still served, and SASL still works.
    served(&mut good, xid + 1);
    let mut alice = raw_session(server.addr);
    assert!(
        digest_exchange(&mut alice, "alice", "alicepw"),
        "alice could not authenticate"
    );
    assert!(!log.contains("alicepw"), "a password was logged");
    if control.is_none() {
        println!("(no Apache 3.8 here: its answers were not compared)");
    }
}

/// Exchanges abandoned halfway: the challenge is read, then silence until
/// the session's 4 s timeout (the good client served meanwhile), and one
/// that hangs up instead. Their (what, port, reason word).
fn abandoned_exchanges(
    addr: SocketAddr,
    good: &mut TcpStream,
    xid: &mut i32,
) -> Vec<(&'static str, u16, &'static str)> {
    let mut silent = raw_session(addr);
    let silent_port = silent.local_addr().unwrap().port();
    ask(&mut silent, &request(1, SASL, &token_record(b"")));
    let mut gone = raw_session(addr);
    let gone_port = gone.local_addr().unwrap().port();
    ask(&mut gone, &request(1, SASL, &token_record(b"")));
    drop(gone);
    let deadline = Instant::now() + BOUND;
    let mut closed = false;
    while !closed && Instant::now() < deadline {
        closed = closed_by_server(&mut silent, Instant::now() + Duration::from_millis(500));
        *xid += 1;
        served(good, *xid);
    }
    assert!(closed, "the abandoned exchange is still open");
    vec![
        (
            "an exchange abandoned halfway",
            silent_port,
            "expired|its session was closed",
        ),
        ("an exchange abandoned by a hang-up", gone_port, ""),
    ]
}

/// The server's log once it has a close reason for each of `expected`.
fn wait_for_close_reasons(server: &ZkBinServer, expected: &[(&str, u16, &str)]) -> String {
    let deadline = Instant::now() + BOUND;
    loop {
        let text = server.log_text();
        let reasons = close_reasons(&text);
        if expected
            .iter()
            .all(|(_, port, _)| reasons.contains_key(port))
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "not every close was logged:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// DIGEST-MD5 on a raw session with zk-config's client; whether it
/// completed.
fn digest_exchange(s: &mut TcpStream, user: &str, password: &str) -> bool {
    use zk_config::sasl::{DigestMd5Client, SaslClient};
    let mut client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", user, password);
    let mut token = Vec::new();
    for xid in 1..=3 {
        let (err, challenge) = ask(s, &request(xid, SASL, &token_record(&token)));
        if err != 0 {
            return false;
        }
        token = client
            .evaluate_challenge(&challenge.unwrap_or_default())
            .expect("client token");
        if client.is_complete() {
            return true;
        }
    }
    false
}
