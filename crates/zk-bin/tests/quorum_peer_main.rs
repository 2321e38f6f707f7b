//! `zk-bin [CFG]`, QuorumPeerMain's entry: config errors exit 2 naming the
//! file, key and value; the default path; the mode decision; a standalone
//! server that starts, serves and stops on SIGTERM; a replicated peer
//! that looks for a leader and stops on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;

fn write_cfg(dir: &TempDir, body: &str) -> String {
    let cfg = dir.0.join("zoo.cfg");
    std::fs::write(&cfg, format!("dataDir={}\n{body}", dir.0.display())).unwrap();
    cfg.to_str().unwrap().to_string()
}

#[test]
fn a_bad_value_exits_2_naming_file_key_and_value() {
    let dir = TempDir::new("cfg-bad");
    let cfg = write_cfg(&dir, "clientPort=abc\n");
    let out = zk_bin(&[&cfg]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("clientPort=abc"), "{err}");
    assert!(err.contains("zoo.cfg"), "{err}");
    assert!(err.contains("Invalid config"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = TempDir::new("cfg-missing");
    let missing = dir.0.join("nope.cfg");
    let out = zk_bin(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.cfg"), "{}", stderr(&out));
}

#[test]
fn without_an_argument_conf_zoo_cfg_is_read_from_the_working_directory() {
    let dir = TempDir::new("cfg-default");
    std::fs::create_dir_all(dir.0.join("conf")).unwrap();
    std::fs::write(dir.0.join("conf/zoo.cfg"), "tickTime=-\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zk-bin"))
        .current_dir(&dir.0)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("conf/zoo.cfg"), "{err}");
    assert!(err.contains("tickTime"), "{err}");
}

#[test]
fn extra_arguments_are_refused() {
    let out = zk_bin(&["a.cfg", "b"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected one argument"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_replicated_config_runs_a_quorum_peer_that_looks_and_stops_on_sigterm() {
    let dir = TempDir::new("cfg-quorum");
    std::fs::write(dir.0.join("myid"), "2\n").unwrap();
    let p: Vec<u16> = (0..7).map(|_| free_port()).collect();
    let cfg = write_cfg(
        &dir,
        &format!(
            "tickTime=200\ninitLimit=5\nsyncLimit=2\nclientPortAddress=127.0.0.1\nclientPort={}\n\
             admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\n\
             jvm.pause.info-threshold.ms=100\n\
             server.1=127.0.0.1:{}:{}\nserver.2=127.0.0.1:{}:{}\nserver.3=127.0.0.1:{}:{}\n",
            p[0], p[1], p[2], p[3], p[4], p[5], p[6]
        ),
    );
    let (mut child, rx) = spawn_logged(&cfg);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "replicated mode: myid 2, 3 servers");
    wait_for(
        &rx,
        &mut seen,
        "have no effect in zk-rs: jvm.pause.info-threshold.ms",
    );
    wait_for(&rx, &mut seen, "LOOKING");
    // Alone it cannot elect anyone: the client port is open, but the
    // server does not serve.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", p[0])).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::io::Write::write_all(&mut conn, b"srvr").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
    assert!(answer.contains("not currently serving"), "{answer}");
    stop_with_sigterm(&mut child, &rx, &mut seen);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts zk-bin on `cfg` with its log read on a thread, so that waiting
/// for a line has a deadline.
fn spawn_logged(cfg: &str) -> (Running, mpsc::Receiver<String>) {
    spawn_logged_with(cfg, &[])
}

/// [`spawn_logged`] with more environment variables.
fn spawn_logged_with(cfg: &str, env: &[(&str, &str)]) -> (Running, mpsc::Receiver<String>) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_zk-bin"))
            .arg(cfg)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let log = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(log).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn wait_for(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, needle: &str) {
    loop {
        if seen.iter().any(|l| l.contains(needle)) {
            return;
        }
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => seen.push(line),
            Err(e) => panic!(
                "no log line with {needle:?} ({e}); log so far:\n{}",
                seen.join("\n")
            ),
        }
    }
}

fn stop_with_sigterm(child: &mut Running, rx: &mpsc::Receiver<String>, seen: &mut Vec<String>) {
    let pid = child.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    wait_for(rx, seen, "server stopped");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(std::time::Instant::now() < deadline, "zk-bin did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0), "{}", seen.join("\n"));
}

/// Kills the child if a test fails before it is stopped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_standalone_server_starts_with_autopurge_and_stops_on_sigterm() {
    let dir = TempDir::new("cfg-standalone");
    // clientPort=0 reads as "not set", as in ZooKeeper: take a port that
    // was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = write_cfg(
        &dir,
        &format!(
            "tickTime=2000\nclientPortAddress=127.0.0.1\nclientPort={port}\n\
             admin.enableServer=false\n4lw.commands.whitelist=ruok\nautopurge.purgeInterval=1\nautopurge.snapRetainCount=3\n"
        ),
    );
    let (mut child, rx) = spawn_logged(&cfg);
    let mut seen = Vec::new();
    wait_for(
        &rx,
        &mut seen,
        &format!("serving clients on 127.0.0.1:{port}"),
    );
    // It answers: a four-letter word over the client port.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::io::Write::write_all(&mut conn, b"ruok").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
    assert_eq!(answer, "imok");
    let log = seen.join("\n");
    assert!(log.contains("autopurge.purgeInterval set to 1"), "{log}");
    assert!(log.contains("running in standalone mode"), "{log}");
    wait_for(&rx, &mut seen, "Purge task completed");

    stop_with_sigterm(&mut child, &rx, &mut seen);
}

#[test]
fn an_election_port_in_use_exits_14_naming_the_address() {
    let dir = TempDir::new("cfg-election-bind");
    std::fs::write(dir.0.join("myid"), "1\n").unwrap();
    // Held for the whole test: the peer's election listener cannot bind it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let election = taken.local_addr().unwrap().port();
    let p: Vec<u16> = (0..5).map(|_| free_port()).collect();
    let cfg = write_cfg(
        &dir,
        &format!(
            "tickTime=500\ninitLimit=5\nsyncLimit=10\nclientPortAddress=127.0.0.1\nclientPort={}\n\
             admin.enableServer=false\nzookeeper.electionPortBindRetry=1\n\
             server.1=127.0.0.1:{}:{election}\nserver.2=127.0.0.1:{}:{}\nserver.3=127.0.0.1:1:{}\n",
            p[0], p[1], p[2], p[3], p[4]
        ),
    );
    let (mut child, rx) = spawn_logged(&cfg);
    let mut seen = Vec::new();
    wait_for(
        &rx,
        &mut seen,
        &format!("Unable to bind the election port 127.0.0.1:{election}"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "zk-bin did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(14), "{}", seen.join("\n"));
    drop(taken);
}

#[test]
fn a_data_dir_that_is_a_file_exits_3() {
    let dir = TempDir::new("cfg-datadir-file");
    let file = dir.0.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let cfg = dir.0.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!("dataDir={}\nclientPort={}\n", file.display(), free_port()),
    )
    .unwrap();
    let out = zk_bin(&[cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Unable to access datadir"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_replicated_config_without_myid_exits_2() {
    let dir = TempDir::new("cfg-no-myid");
    let p: Vec<u16> = (0..7).map(|_| free_port()).collect();
    let cfg = write_cfg(
        &dir,
        &format!(
            "clientPort={}\nserver.1=127.0.0.1:{}:{}\nserver.2=127.0.0.1:{}:{}\nserver.3=127.0.0.1:{}:{}\n",
            p[0], p[1], p[2], p[3], p[4], p[5], p[6]
        ),
    );
    let out = zk_bin(&[&cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("myid"), "{}", stderr(&out));
}

/// Fail closed: a secure client port whose key store cannot be used means
/// no server at all, not a plaintext one. The process exits 2 with the
/// key store's error before any port opens, so a plaintext client finds
/// nothing on the secure port (nor on the admin port).
#[test]
fn a_secure_client_port_with_a_missing_keystore_exits_2_and_opens_no_listener() {
    let dir = TempDir::new("cfg-secure-only");
    let secure = free_port();
    let admin = free_port();
    let cfg = write_cfg(
        &dir,
        &format!(
            "secureClientPort={secure}\nadmin.serverPort={admin}\n\
             serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
             ssl.keyStore.location=/etc/zk/keystore.jks\nssl.keyStore.password=hunter2\n"
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_zk-bin"))
        .arg(&cfg)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/etc/zk/keystore.jks"),
        "the key store is not named: {err}"
    );
    assert!(!err.contains("hunter2"), "a password was logged: {err}");
    assert!(!err.contains("binding to port"), "a port was opened: {err}");
    for port in [secure, admin] {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
            "something listens on {addr}"
        );
    }
}

/// zk-config's test key store and trust store (PEM).
fn test_tls_store(name: &str) -> String {
    format!(
        "{}/../zk-config/tests/data/tls/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A quorum peer with only `secureClientPort` opens that port, TLS only,
/// and no plaintext client port; a plaintext client there gets no answer
/// and is closed with the reason logged.
#[test]
fn a_quorum_peer_serves_a_secure_client_port_only() {
    let dir = TempDir::new("cfg-quorum-secure");
    std::fs::write(dir.0.join("myid"), "1").unwrap();
    let p: Vec<u16> = (0..7).map(|_| free_port()).collect();
    let cfg = write_cfg(
        &dir,
        &format!(
            "tickTime=200\ninitLimit=5\nsyncLimit=2\nadmin.enableServer=false\n\
             secureClientPortAddress=127.0.0.1\nsecureClientPort={}\n\
             ssl.keyStore.location={}\nssl.trustStore.location={}\n\
             server.1=127.0.0.1:{}:{}\nserver.2=127.0.0.1:{}:{}\nserver.3=127.0.0.1:{}:{}\n",
            p[0],
            test_tls_store("server.pem"),
            test_tls_store("truststore.pem"),
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            p[6]
        ),
    );
    let (mut child, rx) = spawn_logged(&cfg);
    let mut seen = Vec::new();
    wait_for(
        &rx,
        &mut seen,
        &format!(
            "binding to port 127.0.0.1:{} (secure client port: TLS only)",
            p[0]
        ),
    );
    wait_for(&rx, &mut seen, "LOOKING");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", p[0])).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let local = conn.local_addr().unwrap();
    std::io::Write::write_all(&mut conn, b"srvr").unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut conn, &mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("Zookeeper version"),
        "a plaintext srvr was answered on the secure port"
    );
    wait_for(
        &rx,
        &mut seen,
        &format!(
            "Closed socket connection for client {local} which had sessionid 0x0: read error: TLS"
        ),
    );
    let bound = seen
        .iter()
        .filter(|l| l.contains("binding to port"))
        .count();
    assert_eq!(bound, 1, "one client port only:\n{}", seen.join("\n"));
    stop_with_sigterm(&mut child, &rx, &mut seen);
}

/// A quorum peer whose secure client port cannot be set up exits 2 with
/// the key store's error before its client or election ports open.
#[test]
fn a_quorum_peer_with_a_bad_keystore_exits_2_before_any_port_opens() {
    let dir = TempDir::new("cfg-quorum-bad-keystore");
    std::fs::write(dir.0.join("myid"), "1").unwrap();
    let p: Vec<u16> = (0..7).map(|_| free_port()).collect();
    let missing = dir.0.join("no-such-keystore.pem");
    let cfg = write_cfg(
        &dir,
        &format!(
            "initLimit=5\nsyncLimit=2\nclientPort={}\nsecureClientPort={}\n\
             ssl.keyStore.location={}\n\
             server.1=127.0.0.1:{}:{}\nserver.2=127.0.0.1:{}:{}\nserver.3=127.0.0.1:{}:{}\n",
            p[0],
            p[6],
            missing.display(),
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            free_port()
        ),
    );
    let out = zk_bin(&[&cfg]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no-such-keystore.pem"), "{err}");
    assert!(!err.contains("binding to port"), "a port was opened: {err}");
    for port in [p[0], p[2], p[6]] {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
            "something listens on {addr}"
        );
    }
}

#[test]
fn ssl_quorum_without_a_key_store_exits_2_before_the_election_port_is_bound() {
    let dir = TempDir::new("cfg-ssl-quorum");
    std::fs::write(dir.0.join("myid"), "1").unwrap();
    let p: Vec<u16> = (0..7).map(|_| free_port()).collect();
    let cfg = write_cfg(
        &dir,
        &format!(
            "initLimit=5\nsyncLimit=2\nclientPort={}\nsslQuorum=true\n\
             server.1=127.0.0.1:{}:{}\nserver.2=127.0.0.1:{}:{}\nserver.3=127.0.0.1:{}:{}\n",
            p[0], p[1], p[2], p[3], p[4], p[5], p[6]
        ),
    );
    let out = zk_bin(&[&cfg]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("quorum TLS") && err.contains("ssl.quorum.keyStore.location"),
        "{err}"
    );
    // It stopped before the election listener bound its port.
    assert!(!err.contains("is accepting connections now"), "{err}");
}

/// SASL is configured for zkServer.sh with a JAAS file in SERVER_JVMFLAGS:
/// a `Server` section with DigestLoginModule turns it on, as in 3.8. The
/// server starts, logs its login, and a DIGEST-MD5 exchange (zk-config's
/// client, over the raw protocol) authenticates `bob`; a wrong password
/// is answered AUTHFAILED and the connection closed.
#[test]
fn a_jaas_server_section_in_server_jvmflags_serves_sasl() {
    let dir = TempDir::new("cfg-jaas");
    let port = free_port();
    let cfg = write_cfg(
        &dir,
        &format!("clientPortAddress=127.0.0.1\nclientPort={port}\nadmin.enableServer=false\n"),
    );
    let jaas = dir.0.join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         user_bob=\"bobsecret\";\n};\n",
    )
    .unwrap();
    let flags = format!(
        "-Xmx1g -Djava.security.auth.login.config={}",
        jaas.display()
    );
    let (mut child, rx) = spawn_logged_with(&cfg, &[("SERVER_JVMFLAGS", &flags)]);
    let mut seen = Vec::new();
    wait_for(
        &rx,
        &mut seen,
        &format!("serving clients on 127.0.0.1:{port}"),
    );
    assert!(
        seen.iter().any(|l| l.contains(&format!(
            "SASL for clients: DIGEST-MD5 with the JAAS section 'Server' of {}",
            jaas.display()
        ))),
        "{}",
        seen.join("\n")
    );
    assert_eq!(sasl_digest_exchange(port, "bob", "bobsecret"), Ok(()));
    wait_for(
        &rx,
        &mut seen,
        "adding SASL authorization for authorizationID: bob",
    );
    assert_eq!(sasl_digest_exchange(port, "bob", "wrong"), Err(-115));
    wait_for(&rx, &mut seen, "SASL authentication failed");
    assert!(
        !seen.join("\n").contains("bobsecret"),
        "a password was logged"
    );
    stop_with_sigterm(&mut child, &rx, &mut seen);
}

/// A `Server` section whose login module zk-rs cannot run fails the
/// login, and with it the start (exit 2), naming the module and file.
#[test]
fn a_jaas_server_section_with_an_unknown_login_module_exits_2() {
    let dir = TempDir::new("cfg-jaas-module");
    let cfg = write_cfg(&dir, &format!("clientPort={}\n", free_port()));
    let jaas = dir.0.join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  com.example.NoSuchModule required;\n};\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zk-bin"))
        .arg(&cfg)
        .env_remove("RUST_LOG")
        .env(
            "SERVER_JVMFLAGS",
            format!("-Djava.security.auth.login.config={}", jaas.display()),
        )
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("com.example.NoSuchModule") && err.contains(&jaas.display().to_string()),
        "{err}"
    );
}

/// A length-prefixed frame.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// Reads one frame's body.
fn read_frame(conn: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut len = [0u8; 4];
    conn.read_exact(&mut len)?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    conn.read_exact(&mut body)?;
    Ok(body)
}

/// Opens a session and runs DIGEST-MD5 as `user`: `Err(code)` when the
/// server answers an error (the connection must then be closed).
fn sasl_digest_exchange(port: u16, user: &str, password: &str) -> Result<(), i32> {
    use std::io::{Read, Write};
    use zk_config::sasl::{DigestMd5Client, SaslClient};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // ConnectRequest: protocol 0, lastZxidSeen 0, timeout, session 0,
    // a 16-byte zero password.
    let mut connect = vec![0u8; 4 + 8];
    connect.extend_from_slice(&30_000i32.to_be_bytes());
    connect.extend_from_slice(&[0u8; 8]);
    connect.extend_from_slice(&16i32.to_be_bytes());
    connect.extend_from_slice(&[0u8; 16]);
    conn.write_all(&framed(&connect)).unwrap();
    read_frame(&mut conn).expect("a ConnectResponse");
    let mut client = DigestMd5Client::new("zookeeper", "zk-sasl-md5", user, password);
    // DIGEST-MD5 has no initial response: the first token is empty.
    let mut challenge: Option<Vec<u8>> = None;
    for xid in 1i32..=3 {
        let token = match &challenge {
            None => Vec::new(),
            Some(c) => client.evaluate_challenge(c).expect("client token"),
        };
        if client.is_complete() {
            return Ok(());
        }
        let mut req = xid.to_be_bytes().to_vec();
        req.extend_from_slice(&102i32.to_be_bytes());
        req.extend_from_slice(&(token.len() as i32).to_be_bytes());
        req.extend_from_slice(&token);
        conn.write_all(&framed(&req)).unwrap();
        let reply = read_frame(&mut conn).expect("a SASL reply");
        let err = i32::from_be_bytes(reply[12..16].try_into().unwrap());
        if err != 0 {
            let mut rest = Vec::new();
            let closed = conn.read_to_end(&mut rest).is_ok() && rest.is_empty();
            assert!(closed, "the connection stays open after error {err}");
            return Err(err);
        }
        let len = i32::from_be_bytes(reply[16..20].try_into().unwrap());
        challenge = Some(reply[20..20 + len.max(0) as usize].to_vec());
    }
    panic!("DIGEST-MD5 did not complete in three rounds");
}

/// A JAAS file that does not exist stops 3.8's startup too: exit 2 naming
/// it.
#[test]
fn a_missing_jaas_file_exits_2() {
    let dir = TempDir::new("cfg-jaas-missing");
    let cfg = write_cfg(&dir, &format!("clientPort={}\n", free_port()));
    let out = Command::new(env!("CARGO_BIN_EXE_zk-bin"))
        .arg(&cfg)
        .env_remove("RUST_LOG")
        .env(
            "SERVER_JVMFLAGS",
            "-Djava.security.auth.login.config=/nonexistent/zk-rs/jaas.conf",
        )
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the JAAS login configuration /nonexistent/zk-rs/jaas.conf cannot be read"),
        "{err}"
    );
}

/// Enforced authentication naming no scheme, or a scheme no provider
/// serves (`sasl` without the SASL provider), stops 3.8's server when it
/// is built: zk-bin exits 2 naming the setting, before a port opens.
#[test]
fn enforced_authentication_without_a_usable_scheme_exits_2() {
    for (body, named) in [
        ("enforce.auth.enabled=true\n", "zookeeper.enforce.auth.schemes must be set"),
        (
            "enforce.auth.enabled=true\nenforce.auth.schemes=sasl\n",
            "Authentication scheme sasl (in zookeeper.enforce.auth.schemes) is not available",
        ),
        (
            "sessionRequireClientSASLAuth=true\n",
            "Authentication scheme sasl (in zookeeper.sessionRequireClientSASLAuth) is not available",
        ),
    ] {
        let dir = TempDir::new("cfg-enforce");
        let port = free_port();
        let cfg = write_cfg(&dir, &format!("clientPort={port}\n{body}"));
        let out = zk_bin(&[&cfg]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{body}: {err}");
        assert!(err.contains(named), "{body}: {err}");
        assert!(
            std::net::TcpListener::bind(("0.0.0.0", port)).is_ok(),
            "{body}: the client port was opened"
        );
    }
}
