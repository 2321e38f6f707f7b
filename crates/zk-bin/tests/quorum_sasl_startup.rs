//! `quorum.auth.enableSasl=true` at startup, as 3.8's
//! `QuorumPeer.initialize` makes the logins: without a JAAS file, or with
//! one that lacks the QuorumServer or QuorumLearner section, the peer
//! does not start (exit 2, naming what is missing, before the election
//! port is bound); with both sections it starts and looks for a leader.

mod common;

use std::process::{Command, Output};

use common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a 3-server peer (myid 1) with quorum SASL required and
/// `SERVER_JVMFLAGS`, for at most a few seconds: one that starts is
/// killed once its listener accepts.
fn run_peer(dir: &TempDir, jvm_flags: Option<String>) -> (Option<i32>, String) {
    std::fs::write(dir.0.join("myid"), "1").unwrap();
    let p: Vec<u16> = (0..7).map(|_| free_port()).collect();
    let cfg = dir.0.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "dataDir={}\ninitLimit=5\nsyncLimit=2\nclientPort={}\n\
             quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\n\
             quorum.auth.serverRequireSasl=true\n\
             server.1=127.0.0.1:{}:{}\nserver.2=127.0.0.1:{}:{}\nserver.3=127.0.0.1:{}:{}\n",
            dir.0.display(),
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            p[6]
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zk-bin"));
    cmd.arg(&cfg)
        .env("RUST_LOG", "info")
        .env_remove("JVMFLAGS")
        .env_remove("SERVER_JVMFLAGS");
    if let Some(flags) = jvm_flags {
        cmd.env("SERVER_JVMFLAGS", flags);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let election = std::net::SocketAddr::from(([127, 0, 0, 1], p[2]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::net::TcpStream::connect(election).is_ok() || std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out: Output = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const SERVER: &str =
    "QuorumServer {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
                      user_zk=\"quorum-secret\";\n};\n";
const LEARNER: &str =
    "QuorumLearner {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
                       username=\"zk\" password=\"quorum-secret\";\n};\n";

#[test]
fn without_a_jaas_file_the_peer_exits_2() {
    let dir = TempDir::new("quorum-sasl-no-jaas");
    let (code, err) = run_peer(&dir, None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("quorum.auth.enableSasl=true needs a JAAS login configuration"),
        "{err}"
    );
    assert!(!err.contains("is accepting connections now"), "{err}");
}

#[test]
fn a_missing_quorum_section_is_named() {
    let dir = TempDir::new("quorum-sasl-no-learner");
    let jaas = dir.0.join("jaas.conf");
    std::fs::write(&jaas, SERVER).unwrap();
    let (code, err) = run_peer(
        &dir,
        Some(format!(
            "-Djava.security.auth.login.config={}",
            jaas.display()
        )),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "No JAAS configuration section named 'QuorumLearner' was found in '{}'",
            jaas.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("quorum-secret"),
        "a password was printed: {err}"
    );
}

#[test]
fn with_both_sections_the_peer_starts() {
    let dir = TempDir::new("quorum-sasl-ok");
    let jaas = dir.0.join("jaas.conf");
    std::fs::write(&jaas, format!("{SERVER}{LEARNER}")).unwrap();
    let (code, err) = run_peer(
        &dir,
        Some(format!(
            "-Djava.security.auth.login.config={}",
            jaas.display()
        )),
    );
    // Killed by run_peer once its election port accepted.
    assert_ne!(code, Some(2), "{err}");
    assert!(err.contains("quorum.auth.enableSasl set to true"), "{err}");
    assert!(err.contains("is accepting connections now"), "{err}");
    assert!(
        !err.contains("quorum-secret"),
        "a password was printed: {err}"
    );
}
