//! zk-config's DIGEST-MD5 server and client against real peers: the
//! JDK's own `DigestMD5Server`/`DigestMD5Client` (tests/data/sasl/
//! DigestPeer.java, compiled with javac into a scratch directory) and
//! pure-sasl's client driven as kazoo drives it
//! (tests/data/sasl/pure_sasl_peer.py). Tokens travel over the peer's
//! stdin/stdout as frames: a kind byte (`T` token, `C` completed, `A`
//! authorized id, `E` error), a 4-byte big-endian length, the bytes.
//!
//! Each test prints `SKIPPED: <why>` and passes without javac/java, or
//! without a Python that imports `puresasl` (`KAZOO_PYTHON`, else
//! `target/kazoo-venv`, which `.ci/run` makes, else `python3`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use zk_config::sasl::{
    DigestMd5Client, DigestMd5Server, Login, SaslClient, SaslServer, SaslServerCallbackHandler,
};
use zk_config::JaasConfiguration;

/// A JVM start and one exchange take well under this on a busy box.
const FRAME_TIMEOUT: Duration = Duration::from_secs(60);

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/sasl")
        .join(name)
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("zk-digest-interop-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `javac` and `java` from `JAVA_HOME`, else from `PATH`.
fn find_jdk() -> Result<(PathBuf, PathBuf), String> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let find = |name: &str| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
    let javac = find("javac").ok_or("no `javac` (apt-get install default-jdk-headless)")?;
    let java = std::fs::canonicalize(&javac)
        .ok()
        .and_then(|real| real.parent().map(|bin| bin.join("java")))
        .filter(|p| p.is_file())
        .or_else(|| find("java"))
        .ok_or("no `java` beside javac nor on PATH")?;
    Ok((javac, java))
}

/// DigestPeer compiled into a scratch directory.
struct JdkPeer {
    java: PathBuf,
    classes: Scratch,
}

impl JdkPeer {
    /// `java DigestPeer args...`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.java);
        cmd.arg("-cp")
            .arg(&self.classes.0)
            .arg("DigestPeer")
            .args(args);
        cmd
    }
}

/// Compiles DigestPeer; `Err` without a JDK.
fn jdk_peer() -> Result<JdkPeer, String> {
    let scratch = Scratch::new();
    let (javac, java) = find_jdk()?;
    let out = Command::new(&javac)
        .arg("-d")
        .arg(&scratch.0)
        .arg(data("DigestPeer.java"))
        .output()
        .map_err(|e| format!("{}: {e}", javac.display()))?;
    if !out.status.success() {
        panic!(
            "javac DigestPeer.java failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(JdkPeer {
        java,
        classes: scratch,
    })
}

/// A Python that imports puresasl.
fn pure_sasl_python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kazoo-venv/bin/python");
    let candidates = match std::env::var_os("KAZOO_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![venv, PathBuf::from("python3")],
    };
    for python in &candidates {
        let ok = Command::new(python)
            .args(["-c", "import puresasl.client"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(python.clone());
        }
    }
    Err(format!(
        "no Python with pure-sasl among {candidates:?} \
         (python3 -m venv target/kazoo-venv && target/kazoo-venv/bin/pip install pure-sasl)"
    ))
}

/// A running peer process and the frames it sends.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    frames: Receiver<(u8, Vec<u8>)>,
}

impl Peer {
    fn spawn(mut cmd: Command) -> Peer {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, frames) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut head = [0u8; 5];
            if stdout.read_exact(&mut head).is_err() {
                return;
            }
            let len = u32::from_be_bytes(head[1..].try_into().unwrap()) as usize;
            let mut bytes = vec![0u8; len];
            if stdout.read_exact(&mut bytes).is_err() || tx.send((head[0], bytes)).is_err() {
                return;
            }
        });
        Peer {
            child,
            stdin,
            frames,
        }
    }

    fn send(&mut self, kind: u8, bytes: &[u8]) {
        let mut frame = vec![kind];
        frame.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        frame.extend_from_slice(bytes);
        // The peer may have ended after an error: what it said is in its frames.
        let _ = self
            .stdin
            .write_all(&frame)
            .and_then(|()| self.stdin.flush());
    }

    fn receive(&mut self) -> (char, Vec<u8>) {
        match self.frames.recv_timeout(FRAME_TIMEOUT) {
            Ok((kind, bytes)) => (kind as char, bytes),
            Err(e) => panic!("no frame from the peer within {FRAME_TIMEOUT:?}: {e}"),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A JAAS `Server` section with `users`, as a login's handler.
fn handler(section: &str, users: &[(&str, &str)]) -> SaslServerCallbackHandler {
    let options: String = users
        .iter()
        .map(|(u, p)| format!(" \"user_{u}\"=\"{p}\""))
        .collect();
    let jaas = JaasConfiguration::parse(&format!(
        "{section} {{ org.apache.zookeeper.server.auth.DigestLoginModule required{options}; }};"
    ))
    .unwrap();
    let login = Login::new(section, &jaas, Path::new("jaas.conf")).unwrap();
    if section == "QuorumServer" {
        SaslServerCallbackHandler::quorum(&login)
    } else {
        SaslServerCallbackHandler::new(&login)
    }
}

/// Our server against a client peer: the server's result (its authorized
/// id, or its error), and the peer's last frame.
fn serve(
    peer: &mut Peer,
    server: &mut DigestMd5Server,
) -> (Result<String, String>, (char, Vec<u8>)) {
    loop {
        let (kind, token) = peer.receive();
        if kind != 'T' {
            return (
                Err(format!("peer sent {kind} {}", text(&token))),
                (kind, token),
            );
        }
        match server.evaluate_response(&token) {
            Ok(reply) => peer.send(b'T', &reply),
            Err(e) => {
                peer.send(b'E', e.message.as_bytes());
                return (Err(e.message), (kind, token));
            }
        }
        if server.is_complete() {
            let last = peer.receive();
            let id = server.authorization_id().unwrap().to_string();
            return (Ok(id), last);
        }
    }
}

/// Our client against a server peer, sending `first` first: the
/// authorized id the peer reports, or why not.
fn authenticate(
    peer: &mut Peer,
    client: &mut DigestMd5Client,
    first: &[u8],
) -> Result<String, String> {
    peer.send(b'T', first);
    loop {
        let (kind, token) = peer.receive();
        if kind == 'E' {
            return Err(text(&token));
        }
        let reply = client.evaluate_challenge(&token).map_err(|e| e.message)?;
        if kind == 'C' {
            assert!(
                client.is_complete(),
                "the server completed, the client did not"
            );
            assert!(reply.is_empty());
            let (a, id) = peer.receive();
            assert_eq!(a, 'A');
            return Ok(text(&id));
        }
        peer.send(b'T', &reply);
    }
}

/// The JDK server with bob's password.
const BOB_SERVER: &[&str] = &["server", "zookeeper", "zk-sasl-md5", "bob=bobsecret"];

macro_rules! or_skip {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(why) => {
                println!("SKIPPED: {why}");
                return;
            }
        }
    };
}

#[test]
fn jdk_client_authenticates_to_our_server() {
    let jdk = or_skip!(jdk_peer());
    for (protocol, server_name, section, user, password) in [
        ("zookeeper", "zk-sasl-md5", "Server", "bob", "bobsecret"),
        (
            "zookeeper-quorum",
            "zk-quorum-sasl-md5",
            "QuorumServer",
            "test",
            "qpw",
        ),
        ("zookeeper", "zk-sasl-md5", "Server", "bjørn", "pässwörd€"),
    ] {
        let mut peer = Peer::spawn(jdk.command(&["client", protocol, server_name, user, password]));
        let mut server =
            DigestMd5Server::new(protocol, server_name, handler(section, &[(user, password)]));
        let (result, last) = serve(&mut peer, &mut server);
        assert_eq!(result.as_deref(), Ok(user), "{protocol} {user}");
        assert_eq!(
            last.0,
            'C',
            "the JDK client accepted rspauth: {}",
            text(&last.1)
        );
    }
}

#[test]
fn jdk_client_with_a_wrong_password_is_refused() {
    let jdk = or_skip!(jdk_peer());
    let mut peer =
        Peer::spawn(jdk.command(&["client", "zookeeper", "zk-sasl-md5", "bob", "wrong"]));
    let mut server = DigestMd5Server::new(
        "zookeeper",
        "zk-sasl-md5",
        handler("Server", &[("bob", "bobsecret")]),
    );
    let (result, _) = serve(&mut peer, &mut server);
    assert_eq!(
        result,
        Err("DIGEST-MD5: digest response format violation. Mismatched response.".to_string())
    );
    assert!(!server.is_complete());
}

#[test]
fn our_client_authenticates_to_the_jdk_server() {
    let jdk = or_skip!(jdk_peer());
    for (protocol, server_name, user, password) in [
        ("zookeeper", "zk-sasl-md5", "bob", "bobsecret"),
        ("zookeeper-quorum", "zk-quorum-sasl-md5", "test", "qpw"),
        ("zookeeper", "zk-sasl-md5", "bjørn", "pässwörd€"),
    ] {
        let users = format!("{user}={password}");
        let mut peer = Peer::spawn(jdk.command(&["server", protocol, server_name, &users]));
        let mut client = DigestMd5Client::new(protocol, server_name, user, password);
        assert_eq!(
            authenticate(&mut peer, &mut client, b"").as_deref(),
            Ok(user)
        );
    }
}

#[test]
fn the_jdk_server_refuses_our_client_with_a_wrong_password() {
    let jdk = or_skip!(jdk_peer());
    let mut peer = Peer::spawn(jdk.command(BOB_SERVER));
    let mut client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "wrong");
    let e = authenticate(&mut peer, &mut client, b"").unwrap_err();
    assert!(e.contains("DIGEST-MD5"), "{e}");
    assert!(!client.is_complete());
}

/// What the brief said clients rely on, checked on the JDK: its server
/// answers the first token with its challenge whatever that token is
/// (our server's unit tests check the same of it).
#[test]
fn the_jdk_server_answers_any_first_token_with_its_challenge() {
    let jdk = or_skip!(jdk_peer());
    for first in [&b"x"[..], b"realm=\"zk-sasl-md5\"", &[0xff; 64][..]] {
        let mut peer = Peer::spawn(jdk.command(BOB_SERVER));
        let mut client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", "bob", "bobsecret");
        assert_eq!(
            authenticate(&mut peer, &mut client, first).as_deref(),
            Ok("bob")
        );
    }
    // And its challenge is shaped as ours.
    let mut peer = Peer::spawn(jdk.command(BOB_SERVER));
    peer.send(b'T', b"");
    let (_, jdk) = peer.receive();
    let mut ours = DigestMd5Server::new("zookeeper", "zk-sasl-md5", handler("Server", &[]));
    let ours = ours.evaluate_response(b"").unwrap();
    let shape = |c: &[u8]| {
        text(c)
            .split(',')
            .map(|d| d.split('=').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shape(&jdk),
        shape(&ours),
        "{} vs {}",
        text(&jdk),
        text(&ours)
    );
}

#[test]
fn pure_sasl_client_authenticates_to_our_server() {
    let python = or_skip!(pure_sasl_python());
    for (password, expected) in [("bobsecret", true), ("wrong", false)] {
        let mut cmd = Command::new(&python);
        cmd.arg(data("pure_sasl_peer.py")).args(["bob", password]);
        let mut peer = Peer::spawn(cmd);
        let mut server = DigestMd5Server::new(
            "zookeeper",
            "zk-sasl-md5",
            handler("Server", &[("bob", "bobsecret")]),
        );
        let (result, last) = serve(&mut peer, &mut server);
        if expected {
            assert_eq!(result.as_deref(), Ok("bob"));
            assert_eq!(last.0, 'C', "pure-sasl accepted rspauth: {}", text(&last.1));
        } else {
            let e = result.unwrap_err();
            assert!(e.ends_with("Mismatched response."), "{e}");
        }
    }
}
