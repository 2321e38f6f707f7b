//! Kerberos SASL (GSSAPI, RFC 4752) against a real MIT KDC on loopback
//! (`integration::kdc`: Debian's krb5-kdc, its own realm, principals and
//! keytabs in a temp dir).
//!
//! Round trips of zk-config's `GssapiServer` and `GssapiClient` (run in
//! `zk-sasl-peer`, a process per side so each has the realm's
//! `KRB5_CONFIG`) against each other and against the JDK's own GSSAPI
//! mechanism (`integration/java/GssapiPeer.java`, compiled with javac here,
//! logging in through JAAS `Krb5LoginModule` with a keytab, as ZooKeeper's
//! Java client and server do); and the failures: a service the KDC does
//! not know, a server whose keytab lacks its key.
//!
//! Without the KDC's tools the tests print SKIPPED; without a JDK the Java
//! cases print SKIPPED.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use integration::apache::{ApacheZk, ServerConfig};
use integration::kdc::Kdc;
use integration::ports::{free_port, TempDir};
use integration::zk_bin::ZkBinServer;

const REALM: &str = "ZK-RS.TEST";
/// A JVM start, a login and a handful of KDC round trips on a busy box.
const PEER_TIMEOUT: Duration = Duration::from_secs(90);

/// The realm with a service and a client principal, their keytabs, and
/// a JAAS file: `Server` and `Client` (Krb5LoginModule with those
/// keytabs), `BadServer` (the service principal with the client's keytab),
/// `OtherClient` (a second user, `other`), `QuorumServer` and
/// `QuorumLearner` (both `zkquorum/localhost`, as 3.8's quorum Kerberos
/// tests log in every peer), `CacheClient` (`client` from the default
/// ticket cache, `KRB5CCNAME`).
struct Realm {
    kdc: Kdc,
    service: String,
    client: String,
    client_keytab: PathBuf,
    jaas: PathBuf,
}

fn realm() -> Option<Realm> {
    if let Err(why) = Kdc::available() {
        println!("SKIPPED: {why}");
        return None;
    }
    let kdc = Kdc::start(REALM).unwrap_or_else(|e| panic!("{e}"));
    let service_keytab = kdc
        .add_principal("zookeeper/localhost", "zookeeper.keytab")
        .unwrap();
    let client_keytab = kdc.add_principal("client", "client.keytab").unwrap();
    let other_keytab = kdc.add_principal("other", "other.keytab").unwrap();
    let quorum_keytab = kdc
        .add_principal("zkquorum/localhost", "zkquorum.keytab")
        .unwrap();
    let service = kdc.principal("zookeeper/localhost");
    let client = kdc.principal("client");
    let section = |name: &str, principal: &str, keytab: &Path, initiator: bool| {
        format!(
            "{name} {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  \
             useKeyTab=true keyTab=\"{}\" storeKey=true useTicketCache=false\n  \
             isInitiator={initiator} principal=\"{principal}\";\n}};\n",
            keytab.display()
        )
    };
    let jaas = kdc.join("jaas.conf");
    let text = section("Server", &service, &service_keytab, false)
        + &section("Client", &client, &client_keytab, true)
        + &section("BadServer", &service, &client_keytab, false)
        + &section("OtherClient", &kdc.principal("other"), &other_keytab, true)
        + &section(
            "QuorumServer",
            &kdc.principal("zkquorum/localhost"),
            &quorum_keytab,
            false,
        )
        + &section(
            "QuorumLearner",
            &kdc.principal("zkquorum/localhost"),
            &quorum_keytab,
            true,
        );
    let text = text
        + &format!(
            "CacheClient {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  \
             useTicketCache=true principal=\"{client}\";\n}};\n"
        );
    std::fs::write(&jaas, text).unwrap();
    Some(Realm {
        kdc,
        service,
        client,
        client_keytab,
        jaas,
    })
}

/// `javac` and `java` of one JDK, or why not.
fn find_jdk() -> Result<(PathBuf, PathBuf), String> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let javac = dirs
        .iter()
        .map(|d| d.join("javac"))
        .find(|p| p.is_file())
        .ok_or("no `javac` on PATH (apt-get install default-jdk-headless)")?;
    let java = std::fs::canonicalize(&javac)
        .ok()
        .and_then(|real| real.parent().map(|bin| bin.join("java")))
        .filter(|p| p.is_file())
        .ok_or("no `java` beside javac")?;
    Ok((javac, java))
}

/// The JDK peer, compiled, with its JAAS file; None (SKIPPED) without a JDK.
struct JavaPeer {
    java: PathBuf,
    classes: TempDir,
    jaas: PathBuf,
}

fn java_peer(realm: &Realm) -> Option<JavaPeer> {
    let (javac, java) = match find_jdk() {
        Ok(found) => found,
        Err(why) => {
            println!("SKIPPED: {why}");
            return None;
        }
    };
    let classes = TempDir::new("zk-gssapi-java").unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("java/GssapiPeer.java");
    let out = Command::new(javac)
        .args(["-nowarn", "-d"])
        .arg(classes.path())
        .arg(&source)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "javac {}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let jaas = realm.jaas.clone();
    Some(JavaPeer {
        java,
        classes,
        jaas,
    })
}

impl JavaPeer {
    /// The client port's peer: section `Server` or `Client`, service
    /// `zookeeper/localhost`.
    fn command(&self, realm: &Realm, side: &str, port: u16) -> Command {
        let section = if side == "server" { "Server" } else { "Client" };
        self.command_as(realm, side, port, section, "zookeeper")
    }

    /// The peer logged in with JAAS `section`, for service `service/localhost`.
    fn command_as(
        &self,
        realm: &Realm,
        side: &str,
        port: u16,
        section: &str,
        service: &str,
    ) -> Command {
        let mut cmd = Command::new(&self.java);
        cmd.args(["-Xmx64m", "-XX:TieredStopAtLevel=1", "-Xshare:auto"])
            .arg(format!(
                "-Djava.security.auth.login.config={}",
                self.jaas.display()
            ))
            .args(realm.kdc.java_props())
            .arg("-cp")
            .arg(self.classes.path())
            .arg("GssapiPeer")
            .arg(side)
            .arg(port.to_string())
            .arg(section)
            .args([service, "localhost"])
            .envs(realm.kdc.env());
        cmd
    }
}

/// zk-sasl-peer, with the realm's environment.
fn rust_peer(realm: &Realm, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zk-sasl-peer"));
    cmd.args(args).envs(realm.kdc.env());
    cmd
}

fn rust_server(realm: &Realm, port: u16, section: &str, flags: &[&str]) -> Command {
    let jaas = realm.jaas.to_str().unwrap();
    let mut cmd = rust_peer(realm, &["server", &port.to_string(), jaas, section]);
    cmd.args(flags);
    cmd
}

fn rust_client(realm: &Realm, port: u16, service: &str) -> Command {
    rust_client_as(realm, port, "Client", service)
}

fn rust_client_as(realm: &Realm, port: u16, section: &str, service: &str) -> Command {
    let jaas = realm.jaas.to_str().unwrap();
    rust_peer(
        realm,
        &["client", &port.to_string(), jaas, section, service],
    )
}

/// A started peer whose stdout lines arrive on a channel.
struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    fn spawn(mut cmd: Command) -> Peer {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line starting with one of `prefixes`, within the deadline.
    fn expect(&mut self, prefixes: &[&str]) -> String {
        let deadline = Instant::now() + PEER_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if prefixes.iter().any(|p| line.starts_with(p)) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line starting with {prefixes:?} within {PEER_TIMEOUT:?}; saw {:?}",
                    self.seen
                ),
            }
        }
    }

    /// The peer's verdict: its AUTHORIZED/COMPLETE line, or FAILED line.
    fn verdict(&mut self) -> String {
        let line = self.expect(&["AUTHORIZED", "COMPLETE", "FAILED"]);
        let _ = self.child.wait();
        line
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `server` (waiting for LISTENING), then `client`; both verdicts.
fn exchange(
    server: impl FnOnce(u16) -> Command,
    client: impl FnOnce(u16) -> Command,
) -> (String, String) {
    let port = free_port().unwrap();
    let mut server = Peer::spawn(server(port));
    server.expect(&["LISTENING", "FAILED"]);
    let mut client = Peer::spawn(client(port));
    let client_verdict = client.verdict();
    let server_verdict = server.verdict();
    println!("server: {server_verdict}\nclient: {client_verdict}");
    (server_verdict, client_verdict)
}

#[test]
fn rust_server_and_rust_client() {
    let Some(realm) = realm() else { return };
    let (server, client) = exchange(
        |port| rust_server(&realm, port, "Server", &[]),
        |port| rust_client(&realm, port, &realm.service),
    );
    assert_eq!(
        server,
        format!("AUTHORIZED {}", realm.client),
        "client said {client}"
    );
    assert_eq!(client, "COMPLETE");
}

#[test]
fn rust_server_and_jdk_client() {
    let Some(realm) = realm() else { return };
    let Some(java) = java_peer(&realm) else {
        return;
    };
    let (server, client) = exchange(
        |port| rust_server(&realm, port, "Server", &[]),
        |port| java.command(&realm, "client", port),
    );
    assert_eq!(
        server,
        format!("AUTHORIZED {}", realm.client),
        "JDK client said {client}"
    );
    assert_eq!(client, "COMPLETE");
}

#[test]
fn jdk_server_and_rust_client() {
    let Some(realm) = realm() else { return };
    let Some(java) = java_peer(&realm) else {
        return;
    };
    let (server, client) = exchange(
        |port| java.command(&realm, "server", port),
        |port| rust_client(&realm, port, &realm.service),
    );
    assert_eq!(
        server,
        format!("AUTHORIZED {}", realm.client),
        "client said {client}"
    );
    assert_eq!(client, "COMPLETE");
}

#[test]
fn a_service_the_kdc_does_not_know_fails_the_client() {
    let Some(realm) = realm() else { return };
    let unknown = realm.kdc.principal("zookeeper/otherhost");
    let (server, client) = exchange(
        |port| rust_server(&realm, port, "Server", &[]),
        |port| rust_client(&realm, port, &unknown),
    );
    assert!(
        client.starts_with("FAILED") && client.contains("not found in Kerberos database"),
        "{client}"
    );
    assert!(client.contains(&unknown), "{client}");
    assert!(server.starts_with("FAILED"), "{server}");
}

#[test]
fn a_server_keytab_without_its_key_fails_closed() {
    let Some(realm) = realm() else { return };
    let (server, client) = exchange(
        |port| rust_server(&realm, port, "BadServer", &[]),
        |port| rust_client(&realm, port, &realm.service),
    );
    assert!(
        server.starts_with("FAILED") && server.contains("acquire_cred"),
        "{server}"
    );
    assert!(
        server.contains(&realm.client_keytab.display().to_string()),
        "{server}"
    );
    assert!(client.starts_with("FAILED"), "{client}");
}

#[test]
fn the_authorized_id_follows_3_8s_kerberos_name_properties() {
    let Some(realm) = realm() else { return };
    let (server, client) = exchange(
        |port| {
            rust_server(
                &realm,
                port,
                "Server",
                &["-Dzookeeper.kerberos.removeRealmFromPrincipal=true"],
            )
        },
        |port| rust_client(&realm, port, &realm.service),
    );
    assert_eq!(server, "AUTHORIZED client", "client said {client}");
    assert_eq!(client, "COMPLETE");
}

/// zkCli as the realm's `Client` (or `OtherClient`) over Kerberos: the
/// JAAS login and krb5.conf flags a 3.8 user sets in CLIENT_JVMFLAGS; the
/// service principal is `zookeeper/localhost` (not canonicalized).
fn zk_cli_as(zk: &ApacheZk, realm: &Realm, server: &str, section: &str, script: &str) -> String {
    let file = realm
        .kdc
        .join(&format!("script-{section}-{}.txt", free_port().unwrap()));
    std::fs::write(&file, script).unwrap();
    let mut props = vec![
        format!("-Djava.security.auth.login.config={}", realm.jaas.display()),
        format!("-Dzookeeper.sasl.clientconfig={section}"),
        "-Dzookeeper.sasl.client.canonicalize.hostname=false".to_string(),
    ];
    props.extend(realm.kdc.java_props());
    let out = zk
        .zk_cli_with_props(server, &file, PEER_TIMEOUT, &props)
        .unwrap_or_else(|e| panic!("{e}"));
    println!("zkCli as {section} against {server}:\n{out}");
    out
}

/// zkCli's answers, without its log lines and stack traces.
fn answers(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim_end)
        .filter(|l| {
            !l.is_empty()
                && !l.contains(" - WARN ")
                && !l.contains(" - INFO ")
                && !l.contains(" - ERROR ")
                && !l.contains(" - DEBUG ")
                && !l.starts_with('\t')
                && !l.contains("Exception")
                && !l.starts_with("Connecting to")
                && !l.starts_with("WATCHER::")
                && !l.starts_with("WatchedEvent")
                && !l.starts_with("JLine")
        })
        .map(str::to_string)
        .collect()
}

const OWNER_SCRIPT: &str = "\
whoami
create /krb x
setAcl /krb sasl:client@ZK-RS.TEST:cdrwa
getAcl /krb
get /krb
quit
";

const OTHER_SCRIPT: &str = "\
whoami
get /krb
getAcl /krb
quit
";

/// The Kerberos session of `Client` and of `OtherClient` against `server`.
fn kerberos_sessions(zk: &ApacheZk, realm: &Realm, server: &str) -> (Vec<String>, Vec<String>) {
    let owner = answers(&zk_cli_as(zk, realm, server, "Client", OWNER_SCRIPT));
    let other = answers(&zk_cli_as(zk, realm, server, "OtherClient", OTHER_SCRIPT));
    (owner, other)
}

/// Apache 3.8 with a Kerberos `Server` section: the control.
fn apache_kerberos_server(
    zk: &ApacheZk,
    realm: &Realm,
    work: &TempDir,
) -> integration::apache::ApacheServer {
    let port = free_port().unwrap();
    let mut config = ServerConfig::new(work.path(), &work.join("apache-data"), port);
    config.jvm_props.push(format!(
        "-Djava.security.auth.login.config={}",
        realm.jaas.display()
    ));
    config.jvm_props.extend(realm.kdc.java_props());
    config.extra_cfg.push((
        "authProvider.1".into(),
        "org.apache.zookeeper.server.auth.SASLAuthenticationProvider".into(),
    ));
    zk.start(&config).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn zkcli_over_kerberos_against_apache_3_8() {
    let Some(realm) = realm() else { return };
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    let work = TempDir::new("zk-krb-apache").unwrap();
    let apache = apache_kerberos_server(&zk, &realm, &work);
    let server = format!("localhost:{}", apache.addr().port());
    let (owner, other) = kerberos_sessions(&zk, &realm, &server);
    assert!(
        owner.contains(&"sasl: client@ZK-RS.TEST".to_string()),
        "{owner:?}\n{}",
        apache.log_tail(40)
    );
    assert!(
        owner.contains(&"'sasl,'client@ZK-RS.TEST".to_string()),
        "{owner:?}"
    );
    assert!(
        other.contains(&"sasl: other@ZK-RS.TEST".to_string()),
        "{other:?}"
    );
    assert!(
        other
            .iter()
            .any(|l| l.starts_with("Insufficient permission")),
        "{other:?}"
    );
}

/// Sends `token` as the client's first token to a zk-rs GSSAPI server
/// and returns the server's verdict and the status byte it answered.
fn hostile_first_token(realm: &Realm, token: &[u8]) -> (String, u8) {
    use std::io::{Read, Write};
    let port = free_port().unwrap();
    let mut server = Peer::spawn(rust_server(realm, port, "Server", &[]));
    server.expect(&["LISTENING"]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
    let mut frame = (token.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(token);
    stream.write_all(&frame).unwrap();
    let mut status = [0u8; 1];
    stream.read_exact(&mut status).unwrap();
    (server.verdict(), status[0])
}

#[test]
fn garbage_and_empty_first_tokens_fail_the_exchange_cleanly() {
    let Some(realm) = realm() else { return };
    // A fixed pseudo-random token (xorshift), an ASN.1-looking prefix
    // with a wrong body, and nothing at all.
    let mut x: u32 = 0x9e37_79b9;
    let random: Vec<u8> = (0..300)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let mut asn1 = vec![0x60, 0x82, 0x01, 0x00, 0x06, 0x09];
    asn1.extend_from_slice(&random[..100]);
    for token in [random.clone(), asn1, Vec::new()] {
        let (verdict, status) = hostile_first_token(&realm, &token);
        assert_eq!(
            status,
            2,
            "a {}-byte token was not refused: {verdict}",
            token.len()
        );
        assert!(
            verdict.starts_with("FAILED: GSSAPI accept_sec_context failed"),
            "{verdict}"
        );
    }
}

/// The quorum: a zk-rs quorum server admitting learners of `hosts`.
fn rust_quorum_server(realm: &Realm, port: u16, hosts: &str) -> Command {
    rust_server(
        realm,
        port,
        "QuorumServer",
        &[&format!("--quorum-hosts={hosts}")],
    )
}

#[test]
fn quorum_kerberos_admits_learners_of_ensemble_hosts_only() {
    let Some(realm) = realm() else { return };
    let learner = realm.kdc.principal("zkquorum/localhost");
    let (server, client) = exchange(
        |port| rust_quorum_server(&realm, port, "zk1.example.com,localhost"),
        |port| rust_client_as(&realm, port, "QuorumLearner", &learner),
    );
    assert_eq!(
        server,
        format!("AUTHORIZED {learner}"),
        "learner said {client}"
    );
    assert_eq!(client, "COMPLETE");
    let (server, client) = exchange(
        |port| rust_quorum_server(&realm, port, "zk1.example.com,zk2.example.com"),
        |port| rust_client_as(&realm, port, "QuorumLearner", &learner),
    );
    assert!(
        server.starts_with("FAILED") && server.contains("not authorized"),
        "{server}"
    );
    assert!(client.starts_with("FAILED"), "{client}");
}

#[test]
fn quorum_kerberos_between_zk_rs_and_the_jdk_both_ways() {
    let Some(realm) = realm() else { return };
    let Some(java) = java_peer(&realm) else {
        return;
    };
    let learner = realm.kdc.principal("zkquorum/localhost");
    let (server, client) = exchange(
        |port| rust_quorum_server(&realm, port, "localhost"),
        |port| java.command_as(&realm, "client", port, "QuorumLearner", "zkquorum"),
    );
    assert_eq!(
        server,
        format!("AUTHORIZED {learner}"),
        "JDK learner said {client}"
    );
    assert_eq!(client, "COMPLETE");
    let (server, client) = exchange(
        |port| java.command_as(&realm, "server", port, "QuorumServer", "zkquorum"),
        |port| rust_client_as(&realm, port, "QuorumLearner", &learner),
    );
    assert_eq!(
        server,
        format!("AUTHORIZED {learner}"),
        "learner said {client}"
    );
    assert_eq!(client, "COMPLETE");
}

#[test]
fn a_client_logs_in_from_the_ticket_cache_kinit_filled() {
    let Some(realm) = realm() else { return };
    let kinit = ["/usr/bin/kinit", "/usr/local/bin/kinit"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let Some(kinit) = kinit else {
        println!("SKIPPED: no kinit (apt-get install krb5-user)");
        return;
    };
    let before = exchange(
        |port| rust_server(&realm, port, "Server", &[]),
        |port| rust_client_as(&realm, port, "CacheClient", &realm.service),
    );
    assert!(
        before.1.starts_with("FAILED"),
        "no ticket yet, yet {before:?}"
    );
    let out = Command::new(kinit)
        .arg("-kt")
        .arg(&realm.client_keytab)
        .arg(&realm.client)
        .envs(realm.kdc.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kinit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (server, client) = exchange(
        |port| rust_server(&realm, port, "Server", &[]),
        |port| rust_client_as(&realm, port, "CacheClient", &realm.service),
    );
    assert_eq!(
        server,
        format!("AUTHORIZED {}", realm.client),
        "client said {client}"
    );
    assert_eq!(client, "COMPLETE");
}
/// zk-bin with the same Kerberos `Server` section, configured as for 3.8
/// (SERVER_JVMFLAGS: JAAS file and `java.security.krb5.conf`, which zk-bin
/// exports as KRB5_CONFIG itself: it is deliberately not passed here).
fn zk_bin_kerberos_server(
    realm: &Realm,
    work: &TempDir,
    section: &str,
) -> Result<ZkBinServer, String> {
    let flags = format!(
        "-Djava.security.auth.login.config={} -Dzookeeper.sasl.serverconfig={section} {}",
        realm.jaas.display(),
        realm.kdc.java_props().join(" ")
    );
    let env: Vec<(&str, String)> = realm
        .kdc
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "KRB5_CONFIG")
        .map(|(k, v)| (k, v.to_string_lossy().into_owned()))
        .chain([("SERVER_JVMFLAGS", flags)])
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ZkBinServer::start_with_env(
        work,
        free_port().unwrap(),
        "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
        &env,
    )
}

/// `whoami` lists the ids in a set's order: compare them as a set.
fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

#[test]
fn zkcli_over_kerberos_gets_the_same_answers_from_zk_bin_as_from_apache() {
    let Some(realm) = realm() else { return };
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    let work = TempDir::new("zk-krb-ours").unwrap();
    let ours = zk_bin_kerberos_server(&realm, &work, "Server").unwrap_or_else(|e| panic!("{e}"));
    let (owner, other) = kerberos_sessions(&zk, &realm, &format!("localhost:{}", ours.addr.port()));
    let apache_work = TempDir::new("zk-krb-apache").unwrap();
    let apache = apache_kerberos_server(&zk, &realm, &apache_work);
    let (apache_owner, apache_other) =
        kerberos_sessions(&zk, &realm, &format!("localhost:{}", apache.addr().port()));
    assert!(
        owner.contains(&"sasl: client@ZK-RS.TEST".to_string()),
        "{owner:?}\n{}",
        ours.log_text()
    );
    assert!(
        other
            .iter()
            .any(|l| l.starts_with("Insufficient permission")),
        "{other:?}"
    );
    assert_eq!(sorted(owner), sorted(apache_owner));
    assert_eq!(sorted(other), sorted(apache_other));
    let log = ours.log_text();
    assert!(
        log.contains("client@ZK-RS.TEST"),
        "the log names the authenticated principal:\n{log}"
    );
}

#[test]
fn zk_bin_refuses_to_start_with_a_kerberos_server_section_it_cannot_accept_for() {
    let Some(realm) = realm() else { return };
    let work = TempDir::new("zk-krb-bad").unwrap();
    let e = zk_bin_kerberos_server(&realm, &work, "BadServer")
        .err()
        .expect("a keytab without the server's key must stop startup");
    assert!(
        e.contains("No key table entry found for zookeeper/localhost@ZK-RS.TEST"),
        "{e}"
    );
    assert!(e.contains("BadServer"), "{e}");
}
