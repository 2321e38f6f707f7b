//! Apache ZooKeeper's own Java client (zkCli with the Netty socket and
//! `zookeeper.client.secure=true`, keystores made by keytool) over TLS:
//! against Apache 3.8 on its `secureClientPort`, and against zk-bin with
//! the same zoo.cfg. The answers must be the same (times and session ids
//! aside):
//!
//! - create/get/set/ls/delete over TLS, with the session authenticated as
//!   `x509` with the certificate's subject DN (`whoami`);
//! - an x509 ACL (set with `auth::cdrwa`: zkCli's ACL parser splits on the
//!   commas of a DN, so `x509:CN=..,OU=..,O=..:cdrwa` cannot be typed)
//!   admits only its subject: a second client gets "Insufficient permission";
//! - the x509 super user (`X509AuthenticationProvider.superUser`) reads
//!   and writes through that ACL;
//! - with `ssl.clientAuth=need`, a client without a keystore, one whose
//!   certificate an untrusted CA signed and one with an expired certificate
//!   get no session;
//! - a client with a version 1 certificate (no extensions) from the
//!   trusted CA is admitted, as kazoo's harness needs.
//!
//! The Apache half and the zk-bin half are separate tests so the first
//! stays green while zk-bin's secure client port is being built.

use std::path::Path;
use std::time::Duration;

use integration::apache::{ApacheServer, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::tls::{
    cfg_text, is_missing_tool, secure_client_port_cfg, Identity, StoreType, TlsFixture, CLIENT2_DN,
    CLIENT_DN, NETTY_SERVER_PROP, PASSWORD,
};
use integration::zk_bin::ZkBinServer;

/// The certificate owner's session: writes, reads and an ACL for itself.
const OWNER_SCRIPT: &str = "\
whoami
create /p data
getAcl /p
setAcl /p auth::cdrwa
getAcl /p
get /p
set /p data2
get /p
create /p/c child
ls /p
delete /p/c
ls /p
quit
";

/// Another trusted client: the ACL must keep it out of /p.
const OTHER_SCRIPT: &str = "\
whoami
get /p
set /p intruder
create /p/x y
ls /
quit
";

/// The x509 super user (`X509AuthenticationProvider.superUser`, here node
/// 2's certificate used as a client's): the ACL does not stop it.
const SUPER_SCRIPT: &str = "\
whoami
get /p
set /p by-super
get /p
quit
";

/// Lists the root: a client the server must not admit never gets to.
const LS_SCRIPT: &str = "\
ls /
quit
";

/// How long one zkCli run may take (a JVM start on a busy 2-core box, and
/// for a refused client its connection attempts).
const CLI_TIMEOUT: Duration = Duration::from_secs(90);

/// zkCli's answers without log lines, stack traces, times and session ids;
/// `whoami`'s identities sorted (3.8 keeps them in a hash set).
fn answers(output: &str) -> Vec<String> {
    let mut lines = raw_answers(output);
    // 3.8 prints the super user's id as an empty "super:".
    let is_id = |l: &String| {
        ["ip: ", "x509: ", "super:"]
            .iter()
            .any(|p| l.starts_with(p))
    };
    let mut i = 0;
    while i < lines.len() {
        let run = lines[i..].iter().take_while(|l| is_id(l)).count();
        lines[i..i + run].sort();
        i += run.max(1);
    }
    lines
}

fn raw_answers(output: &str) -> Vec<String> {
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
                && !l.starts_with("JLine support")
        })
        .map(str::to_string)
        .collect()
}

/// What each client printed, in script order.
#[derive(Debug)]
struct Outputs {
    owner: String,
    other: String,
    superuser: String,
    no_keystore: String,
    untrusted: String,
    expired: String,
    v1_client: String,
}

impl Outputs {
    /// The answers of every client, labelled, for comparing two servers.
    fn answers(&self) -> Vec<(&'static str, Vec<String>)> {
        vec![
            ("owner", answers(&self.owner)),
            ("other", answers(&self.other)),
            ("super", answers(&self.superuser)),
            ("no keystore", answers(&self.no_keystore)),
            ("untrusted", answers(&self.untrusted)),
            ("expired", answers(&self.expired)),
            ("v1 client", answers(&self.v1_client)),
        ]
    }

    fn dump(&self) -> String {
        let texts = [
            &self.owner,
            &self.other,
            &self.superuser,
            &self.no_keystore,
            &self.untrusted,
            &self.expired,
            &self.v1_client,
        ];
        self.answers()
            .iter()
            .zip(texts)
            .map(|((who, _), text)| format!("--- {who} ---\n{text}\n"))
            .collect()
    }
}

/// The fixture and the scripts, or why the test skips.
struct Setup {
    zk: ApacheZk,
    tls: TlsFixture,
    work: TempDir,
}

fn setup(name: &str) -> Option<Setup> {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("SKIPPED: zkCli needs Apache ZooKeeper's jars: {why}");
            return None;
        }
    };
    let work = TempDir::new(name).unwrap();
    let tls = match TlsFixture::cached(Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(tls) => tls,
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            return None;
        }
        Err(e) => panic!("cannot generate the test certificates: {e}"),
    };
    for (file, text) in [
        ("owner.txt", OWNER_SCRIPT),
        ("other.txt", OTHER_SCRIPT),
        ("super.txt", SUPER_SCRIPT),
        ("ls.txt", LS_SCRIPT),
    ] {
        std::fs::write(work.join(file), text).unwrap();
    }
    Some(Setup { zk, tls, work })
}

/// The zoo.cfg lines both servers get beside their plaintext `clientPort`
/// (which only the readiness probe uses): a secure port presenting node
/// 1's certificate from a `store` keystore (truststore of the same
/// format), clients required to present a certificate.
fn secure_lines(tls: &TlsFixture, store: StoreType, secure_port: u16) -> Vec<(String, String)> {
    let mut lines = secure_client_port_cfg(tls, tls.server(1), store, secure_port, "need");
    // 3.8 makes this zoo.cfg key the system property
    // zookeeper.X509AuthenticationProvider.superUser.
    lines.push((
        "X509AuthenticationProvider.superUser".to_string(),
        tls.server(2).subject_dn.clone(),
    ));
    lines
}

/// The server keystore format of the main comparison: PKCS12, what
/// keytool makes by default; the clients then use JKS, so one run covers
/// both of keytool's formats. [`store_formats`] tries the others.
const SERVER_STORE: StoreType = StoreType::Pkcs12;
const CLIENT_STORE: StoreType = StoreType::Jks;

/// Runs `script` in zkCli against `127.0.0.1:secure_port` as `id`.
fn cli(
    s: &Setup,
    secure_port: u16,
    script: &str,
    id: Option<&Identity>,
    store: StoreType,
) -> String {
    let props = s.tls.java_client_props(id, store);
    let server = format!("127.0.0.1:{secure_port}");
    s.zk.zk_cli_with_props(&server, &s.work.join(script), CLI_TIMEOUT, &props)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs every client's script against `127.0.0.1:secure_port`.
fn run_clients(s: &Setup, secure_port: u16) -> Outputs {
    let cli = |script: &str, id: Option<&Identity>| cli(s, secure_port, script, id, CLIENT_STORE);
    Outputs {
        owner: cli("owner.txt", Some(&s.tls.client)),
        other: cli("other.txt", Some(&s.tls.client2)),
        superuser: cli("super.txt", Some(s.tls.server(2))),
        no_keystore: cli("ls.txt", None),
        untrusted: cli("ls.txt", Some(&s.tls.untrusted)),
        expired: cli("ls.txt", Some(&s.tls.expired)),
        v1_client: cli("ls.txt", Some(&s.tls.v1_client)),
    }
}

/// Apache 3.8 serving TLS on a secure port (Netty connection factory) with
/// a `store` keystore; returns it and the secure port.
fn start_apache(s: &Setup, store: StoreType) -> (ApacheServer, u16) {
    let port = free_port().unwrap();
    let secure_port = free_port().unwrap();
    let data = s.work.join(format!("apache-data-{port}"));
    let mut cfg = ServerConfig::new(s.work.path(), &data, port);
    cfg.extra_cfg = secure_lines(&s.tls, store, secure_port);
    cfg.jvm_props.push(NETTY_SERVER_PROP.to_string());
    (
        s.zk.start(&cfg).unwrap_or_else(|e| panic!("{e}")),
        secure_port,
    )
}

/// zk-bin with the same zoo.cfg lines; returns it, its dir and the secure port.
fn start_zk_bin(store: StoreType, tls: &TlsFixture) -> (ZkBinServer, TempDir, u16) {
    let work = TempDir::new("zk-tls-clients-ours").unwrap();
    let port = free_port().unwrap();
    let secure_port = free_port().unwrap();
    let extra = cfg_text(&secure_lines(tls, store, secure_port));
    let ours = ZkBinServer::start(&work, port, &extra).unwrap_or_else(|e| panic!("{e}"));
    (ours, work, secure_port)
}

fn zk_bin_log_tail(ours: &ZkBinServer) -> String {
    let log = ours.log_text();
    let tail: Vec<&str> = log.lines().rev().take(15).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn run_against_apache(s: &Setup) -> Outputs {
    let (apache, secure_port) = start_apache(s, SERVER_STORE);
    let out = run_clients(s, secure_port);
    println!("Apache log tail:\n{}", apache.log_tail(15));
    out
}

fn run_against_zk_bin(s: &Setup) -> Outputs {
    let (ours, _dir, secure_port) = start_zk_bin(SERVER_STORE, &s.tls);
    let out = run_clients(s, secure_port);
    println!("zk-bin log tail:\n{}", zk_bin_log_tail(&ours));
    assert!(
        !ours.log_text().contains(PASSWORD),
        "zk-bin's log shows the keystore password:\n{}",
        ours.log_text()
    );
    out
}

/// For the store formats the main comparison leaves out (JKS and PEM on
/// the server), a client with a keystore and truststore of the same
/// format lists the root; `start` starts the server and returns its
/// secure port and a log tail for failures.
fn store_formats(s: &Setup, mut start: impl FnMut(StoreType) -> (u16, Box<dyn Fn() -> String>)) {
    for store in [StoreType::Jks, StoreType::Pem] {
        let (secure_port, log) = start(store);
        let out = cli(s, secure_port, "ls.txt", Some(&s.tls.client), store);
        assert!(
            contains(&answers(&out), "[zookeeper]"),
            "a {} client got no listing from a server with {} stores:\n{out}\n--- server log ---\n{}",
            store.config_name(),
            store.config_name(),
            log()
        );
        println!("{} stores: served", store.config_name());
    }
}

fn contains(answers: &[String], line: &str) -> bool {
    answers.iter().any(|l| l == line)
}

/// What 3.8 answers to the scripts; checked on Apache so that the
/// comparison with zk-bin is known to compare something.
fn check_expected(out: &Outputs) {
    let dump = out.dump();
    let owner = answers(&out.owner);
    // Jute's Id.toString escapes the commas of the DN.
    let x509_id = format!("'x509,'{}", CLIENT_DN.replace(',', "%2C"));
    for expected in [
        format!("x509: {CLIENT_DN}"),
        "Created /p".to_string(),
        "'world,'anyone".to_string(),
        x509_id.clone(),
        "data2".to_string(),
        "[c]".to_string(),
        "[]".to_string(),
    ] {
        assert!(
            contains(&owner, &expected),
            "owner lacks {expected:?}:\n{dump}"
        );
    }
    // getAcl after setAcl shows only the owner's x509 id.
    let acl_at = owner.iter().rposition(|l| l == &x509_id).unwrap();
    assert_eq!(owner[acl_at + 1], ": cdrwa", "{dump}");
    let other = answers(&out.other);
    assert!(contains(&other, &format!("x509: {CLIENT2_DN}")), "{dump}");
    assert!(
        other
            .iter()
            .filter(|l| l.starts_with("Insufficient permission"))
            .count()
            >= 3,
        "the second client was not refused get/set/create on /p:\n{dump}"
    );
    assert!(contains(&other, "[p, zookeeper]"), "{dump}");
    let superuser = answers(&out.superuser);
    assert!(
        contains(&superuser, "super:")
            && contains(&superuser, "data2")
            && contains(&superuser, "by-super"),
        "the x509 super user did not read and write /p:\n{dump}"
    );
    // 3.8 admits a version 1 certificate from a trusted CA (kazoo's
    // harness makes its client certificate so).
    assert!(
        contains(&answers(&out.v1_client), "[p, zookeeper]"),
        "the v1 client was refused:\n{dump}"
    );
    for (who, text) in [
        ("no keystore", &out.no_keystore),
        ("untrusted", &out.untrusted),
        ("expired", &out.expired),
    ] {
        let a = answers(text);
        assert!(
            !a.iter().any(|l| l.starts_with('[')),
            "the {who} client listed the root:\n{dump}"
        );
        assert!(
            contains(&a, "KeeperErrorCode = ConnectionLoss for /"),
            "the {who} client's ls / did not fail for want of a connection:\n{dump}"
        );
    }
}

/// Asserts the answers of two runs are equal, client by client.
fn assert_same(ours: &Outputs, theirs: &Outputs) {
    // Every client that differs, not just the first: one run shows all.
    let differences: Vec<String> = ours
        .answers()
        .into_iter()
        .zip(theirs.answers())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((who, a), (_, b))| format!("{who}:\n  zk-bin: {a:?}\n  Apache: {b:?}"))
        .collect();
    assert!(
        differences.is_empty(),
        "zkCli answered differently for {} client(s):\n{}\n=== zk-bin ===\n{}\n=== Apache ===\n{}",
        differences.len(),
        differences.join("\n"),
        ours.dump(),
        theirs.dump()
    );
}

#[test]
fn zkcli_over_tls_against_apache() {
    let Some(s) = setup("zk-tls-clients-apache") else {
        return;
    };
    let theirs = run_against_apache(&s);
    check_expected(&theirs);
    println!("Apache 3.8 answers over TLS:\n{:#?}", theirs.answers());
}

#[test]
fn zkcli_over_tls_sees_the_same_answers_from_zk_bin_as_from_apache() {
    let Some(s) = setup("zk-tls-clients-zk-bin") else {
        return;
    };
    let ours = run_against_zk_bin(&s);
    let theirs = run_against_apache(&s);
    check_expected(&theirs);
    assert_same(&ours, &theirs);
    println!(
        "zk-bin and Apache 3.8 answered alike over TLS:\n{:#?}",
        ours.answers()
    );
}

/// Debian's C client `cli_mt`, when built with OpenSSL, offers `-s/--ssl`
/// (3.8's cli.c prints it under HAVE_OPENSSL_H). Debian's zookeeper-bin
/// 3.8.0 is built without it (and libzookeeper-mt links no libssl), so
/// there is no C client to run over TLS; should a package come with TLS,
/// this test fails to say the C client belongs in the comparison above.
#[test]
fn store_formats_against_apache() {
    let Some(s) = setup("zk-tls-stores-apache") else {
        return;
    };
    let mut servers = Vec::new();
    store_formats(&s, |store| {
        let (apache, port) = start_apache(&s, store);
        let tail = apache.log_tail(30);
        servers.push(apache);
        (port, Box::new(move || tail.clone()))
    });
}

#[test]
fn store_formats_against_zk_bin() {
    let Some(s) = setup("zk-tls-stores-zk-bin") else {
        return;
    };
    let mut servers = Vec::new();
    store_formats(&s, |store| {
        let (ours, dir, port) = start_zk_bin(store, &s.tls);
        let log_path = ours.log_path().to_path_buf();
        servers.push((ours, dir));
        (
            port,
            Box::new(move || std::fs::read_to_string(&log_path).unwrap_or_default()),
        )
    });
}

#[test]
fn debian_cli_mt_has_no_tls_to_test() {
    const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";
    if !Path::new(CLI_MT).is_file() {
        println!("SKIPPED: {CLI_MT} is missing (apt-get install zookeeper-bin)");
        return;
    }
    // Without arguments cli_mt prints its usage and exits.
    let mut cmd = std::process::Command::new(CLI_MT);
    cmd.stdin(std::process::Stdio::null());
    let (_, out, err) =
        integration::apache::run_bounded(cmd, Duration::from_secs(30)).expect("cli_mt runs");
    let usage = format!(
        "{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    assert!(
        usage.contains("--host"),
        "cli_mt printed no usage:\n{usage}"
    );
    assert!(
        !usage.contains("--ssl"),
        "{CLI_MT} now supports TLS (-s/--ssl): run the TLS script with it too:\n{usage}"
    );
    println!("SKIPPED: {CLI_MT} is built without TLS (no -s/--ssl in its usage)");
}
