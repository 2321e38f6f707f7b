//! Test certificates for the TLS tests, made at test time with `openssl`
//! and `keytool`, in every store format 3.8 reads (PEM, PKCS12, JKS).
//!
//! [`TlsFixture::generate`] writes into a directory:
//!
//! - a CA (`ca.pem`, also as the truststores `truststore.jks`,
//!   `truststore.p12`; `ca.pem` is the PEM truststore);
//! - server identities for nodes 1..=5 ([`TlsFixture::server`]), each valid
//!   for `DNS:localhost` and every loopback address the harnesses give
//!   nodes (127.0.0.1..=6 and the fault harness's 127.0.0.11..=15), usable
//!   both as TLS server and as TLS client (quorum peers are both);
//! - a client ([`CLIENT_DN`]) and a second client ([`CLIENT2_DN`]), for
//!   x509 ACLs that admit one subject and not the other;
//! - `untrusted`: a client signed by a CA nobody trusts
//!   (`untrusted-ca.pem`);
//! - `expired`: signed by the trusted CA, valid only in January 2020;
//! - `v1_client`: signed by the trusted CA, an X.509 v1 certificate
//!   without extensions, as kazoo's harness makes its client certificate;
//! - `wrong_host`: signed by the trusted CA, valid only for
//!   `DNS:wrong.invalid` / `IP:10.255.255.1` (hostname verification fails
//!   on loopback).
//!
//! Each [`Identity`] has its key (`NAME.key`, PKCS#8), certificate
//! (`NAME.crt`), the one-file PEM keystore 3.8 reads (`NAME.pem`: key, then
//! certificate, then CA), `NAME.p12` and `NAME.jks`. Every PKCS12/JKS store
//! uses [`PASSWORD`]; PEM keys are not encrypted (3.8 expects no
//! `ssl.keyStore.password` for an unencrypted PEM key).
//!
//! [`capture`] records loopback traffic with dumpcap and checks with
//! tshark that every TCP payload on given ports is TLS records.
//!
//! The tools are looked for at run time: without them `generate` fails with
//! an error whose kind is `NotFound` and whose text starts with
//! `missing openssl/keytool`; [`is_missing_tool`] tells tests to print
//! `SKIPPED` instead of failing.
//!
//! ```no_run
//! use integration::tls::{StoreType, TlsFixture};
//! let dir = integration::ports::TempDir::new("zk-tls").unwrap();
//! let tls = match TlsFixture::generate(dir.path()) {
//!     Ok(tls) => tls,
//!     Err(e) if integration::tls::is_missing_tool(&e) => {
//!         println!("SKIPPED: {e}");
//!         return;
//!     }
//!     Err(e) => panic!("{e}"),
//! };
//! // zoo.cfg lines for a server's secure client port, node 1's identity:
//! let lines = tls.client_port_cfg(tls.server(1), StoreType::Jks);
//! // -D flags for a Java client presenting the client certificate:
//! let flags = tls.java_client_props(Some(&tls.client), StoreType::Pkcs12);
//! # let _ = (lines, flags);
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::apache::run_bounded;

#[path = "tls_capture.rs"]
pub mod capture;

/// The password of every PKCS12 and JKS store (key and store alike).
pub const PASSWORD: &str = "zk-test-pass";

/// Subject DN of [`TlsFixture::client`], as Java's
/// `X500Principal.getName()` (and so 3.8's x509 ACL ids) spell it.
pub const CLIENT_DN: &str = "CN=zk-client,OU=test,O=zk-rs";

/// Subject DN of [`TlsFixture::client2`].
pub const CLIENT2_DN: &str = "CN=zk-client-2,OU=test,O=zk-rs";

/// Subject DN of [`TlsFixture::untrusted`].
pub const UNTRUSTED_DN: &str = "CN=zk-untrusted,OU=test,O=zk-rs";

/// Subject DN of [`TlsFixture::expired`].
pub const EXPIRED_DN: &str = "CN=zk-expired,OU=test,O=zk-rs";

/// Subject DN of [`TlsFixture::v1_client`].
pub const V1_CLIENT_DN: &str = "CN=zk-client-v1,OU=test,O=zk-rs";

/// Bumped whenever `generate` makes something different, so that
/// [`TlsFixture::cached`] never hands out an older set.
pub const FIXTURE_VERSION: u32 = 1;

/// Number of server identities (nodes 1..=NODES).
pub const NODES: u8 = 5;

/// Each tool run is short; a busy 2-core box still starts a JVM in seconds.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// A keystore/truststore format, as `ssl.keyStore.type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    /// Java KeyStore (`JKS`).
    Jks,
    /// PKCS#12 (`PKCS12`).
    Pkcs12,
    /// PEM files (`PEM`): key and chain in one file; CA certs for trust.
    Pem,
}

impl StoreType {
    /// All three formats, for tests that try each.
    pub const ALL: [StoreType; 3] = [StoreType::Jks, StoreType::Pkcs12, StoreType::Pem];

    /// The value of `ssl.keyStore.type` / `ssl.trustStore.type`.
    pub fn config_name(self) -> &'static str {
        match self {
            StoreType::Jks => "JKS",
            StoreType::Pkcs12 => "PKCS12",
            StoreType::Pem => "PEM",
        }
    }

    /// The store password to configure: [`PASSWORD`] for JKS/PKCS12, none
    /// for PEM (its key is not encrypted).
    pub fn password(self) -> Option<&'static str> {
        match self {
            StoreType::Pem => None,
            _ => Some(PASSWORD),
        }
    }
}

/// One key pair and certificate, in every store format.
#[derive(Debug, Clone)]
pub struct Identity {
    /// File stem, e.g. `server1`, `client`.
    pub name: String,
    /// Subject DN as Java's `X500Principal.getName()` spells it.
    pub subject_dn: String,
    /// The private key alone (PKCS#8 PEM, unencrypted).
    pub key_pem: PathBuf,
    /// The certificate alone (PEM).
    pub cert_pem: PathBuf,
    /// Key, certificate and issuing CA in one PEM file (3.8's `PEM` keystore).
    pub pem: PathBuf,
    /// PKCS12 keystore (alias = `name`, password [`PASSWORD`]).
    pub p12: PathBuf,
    /// JKS keystore (alias = `name`, password [`PASSWORD`]).
    pub jks: PathBuf,
}

impl Identity {
    /// The keystore file of the given format.
    pub fn keystore(&self, store: StoreType) -> &Path {
        match store {
            StoreType::Jks => &self.jks,
            StoreType::Pkcs12 => &self.p12,
            StoreType::Pem => &self.pem,
        }
    }
}

/// The generated certificates and stores; see the module documentation.
#[derive(Debug, Clone)]
pub struct TlsFixture {
    /// The directory everything was written to.
    pub dir: PathBuf,
    /// The trusted CA's certificate (PEM); also the PEM truststore.
    pub ca_pem: PathBuf,
    /// The trusted CA's private key (PEM), for tests that sign more.
    pub ca_key: PathBuf,
    /// JKS truststore holding the CA (password [`PASSWORD`]).
    pub truststore_jks: PathBuf,
    /// PKCS12 truststore holding the CA (password [`PASSWORD`]).
    pub truststore_p12: PathBuf,
    /// The untrusted CA's certificate (PEM), which signed `untrusted`.
    pub untrusted_ca_pem: PathBuf,
    /// Server identities; `servers[i]` is node `i + 1`. Prefer [`TlsFixture::server`].
    pub servers: Vec<Identity>,
    /// The client with subject [`CLIENT_DN`].
    pub client: Identity,
    /// A second client, subject [`CLIENT2_DN`].
    pub client2: Identity,
    /// A client signed by the untrusted CA, subject [`UNTRUSTED_DN`].
    pub untrusted: Identity,
    /// A client cert signed by the trusted CA that expired in 2020.
    pub expired: Identity,
    /// A server cert signed by the trusted CA for a host that is not loopback.
    pub wrong_host: Identity,
    /// A client signed by the trusted CA as an X.509 version 1 certificate
    /// without extensions, subject [`V1_CLIENT_DN`]: what kazoo's test
    /// harness makes (pyOpenSSL without `set_version`). Java accepts it;
    /// webpki (rustls' verifier) refuses anything but version 3.
    pub v1_client: Identity,
}

/// True when `e` is [`TlsFixture::generate`]'s "missing openssl/keytool"
/// error: the test should print `SKIPPED` rather than fail.
pub fn is_missing_tool(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound && e.to_string().starts_with("missing openssl/keytool")
}

/// Ok when `openssl` and `keytool` can be run; otherwise the
/// "missing openssl/keytool" error.
pub fn tools_available() -> io::Result<()> {
    for (tool, arg) in [("openssl", "version"), ("keytool", "-help")] {
        let mut cmd = Command::new(tool);
        cmd.arg(arg);
        if let Err(e) = run_bounded(cmd, TOOL_TIMEOUT) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "missing openssl/keytool: cannot run `{tool} {arg}` ({e}); \
                     apt-get install openssl default-jdk-headless"
                ),
            ));
        }
    }
    Ok(())
}

/// The SAN of the server identities: every loopback address a harness
/// gives a node, and localhost.
fn server_san() -> String {
    let mut san = vec!["DNS:localhost".to_string()];
    san.extend((1..=6).map(|i| format!("IP:127.0.0.{i}")));
    san.extend((11..=15).map(|i| format!("IP:127.0.0.{i}")));
    san.join(",")
}

/// The SAN of client identities (harmless for clients; lets a client cert
/// pass hostname verification on loopback where a peer would check it).
const CLIENT_SAN: &str = "DNS:localhost,IP:127.0.0.1";

/// Both usages: quorum peers present the same certificate as server and client.
const EKU: &str = "serverAuth,clientAuth";

/// How one certificate is signed.
enum Signing<'a> {
    /// By the CA whose cert/key are these files, valid `days` from now.
    Ca(&'a Path, &'a Path),
    /// By the trusted CA, valid only in January 2020 (`openssl ca` sets
    /// explicit dates; `x509 -req` cannot in OpenSSL 3.0).
    Expired(&'a Path, &'a Path),
}

impl TlsFixture {
    /// Generates everything into `dir` (created if missing). Takes a few
    /// seconds: about a dozen `keytool` JVMs.
    pub fn generate(dir: &Path) -> io::Result<TlsFixture> {
        tools_available()?;
        std::fs::create_dir_all(dir)?;
        let layout = TlsFixture::layout(dir);
        let (ca_pem, ca_key) = (&layout.ca_pem, &layout.ca_key);
        make_ca(dir, "ca", "/O=zk-rs/OU=test/CN=zk-test-ca")?;
        make_ca(dir, "untrusted-ca", "/O=zk-rs/OU=test/CN=zk-untrusted-ca")?;
        let untrusted_ca_key = dir.join("untrusted-ca.key");
        let trusted = Signing::Ca(ca_pem, ca_key);
        let san = server_san();
        for id in &layout.servers {
            make_identity(dir, id, &san, &trusted)?;
        }
        make_identity(dir, &layout.client, CLIENT_SAN, &trusted)?;
        make_identity(dir, &layout.client2, CLIENT_SAN, &trusted)?;
        let untrusted_ca = Signing::Ca(&layout.untrusted_ca_pem, &untrusted_ca_key);
        make_identity(dir, &layout.untrusted, CLIENT_SAN, &untrusted_ca)?;
        make_identity(
            dir,
            &layout.expired,
            &san,
            &Signing::Expired(ca_pem, ca_key),
        )?;
        let wrong_host_san = "DNS:wrong.invalid,IP:10.255.255.1";
        make_identity(dir, &layout.wrong_host, wrong_host_san, &trusted)?;
        make_identity(dir, &layout.v1_client, "", &trusted)?;
        import_trusted(ca_pem, &layout.truststore_jks, "JKS")?;
        import_trusted(ca_pem, &layout.truststore_p12, "PKCS12")?;
        Ok(layout)
    }

    /// The fixture kept in `cache_dir` (e.g. a test's
    /// `env!("CARGO_TARGET_TMPDIR")`) across test processes, generated
    /// there the first time: into a temporary sibling renamed into place
    /// when complete, so concurrent test binaries never see half of one.
    /// A change to what `generate` makes bumps [`FIXTURE_VERSION`], which
    /// names the directory.
    pub fn cached(cache_dir: &Path) -> io::Result<TlsFixture> {
        let dir = cache_dir.join(format!("zk-tls-fixture-v{FIXTURE_VERSION}"));
        let complete = |d: &Path| d.join("complete").is_file();
        if complete(&dir) {
            return Ok(TlsFixture::layout(&dir));
        }
        std::fs::create_dir_all(cache_dir)?;
        let tmp = crate::ports::TempDir::new("zk-tls-fixture-gen")?;
        // The temp dir may be on another file system: generate beside `dir`.
        let staging = cache_dir.join(format!(
            ".zk-tls-fixture-v{FIXTURE_VERSION}-{}",
            tmp.path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("staging")
        ));
        let result = TlsFixture::generate(&staging)
            .and_then(|_| std::fs::write(staging.join("complete"), b""));
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        if std::fs::rename(&staging, &dir).is_err() {
            // Another process got there first; its copy is as good.
            let _ = std::fs::remove_dir_all(&staging);
            if !complete(&dir) {
                return Err(io::Error::other(format!(
                    "cannot move the generated fixture into {}",
                    dir.display()
                )));
            }
        }
        Ok(TlsFixture::layout(&dir))
    }

    /// Where `generate(dir)` puts everything (the files need not exist).
    pub fn layout(dir: &Path) -> TlsFixture {
        let id = |name: &str, dn: &str| identity_at(dir, name, dn);
        TlsFixture {
            dir: dir.to_path_buf(),
            ca_pem: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            truststore_jks: dir.join("truststore.jks"),
            truststore_p12: dir.join("truststore.p12"),
            untrusted_ca_pem: dir.join("untrusted-ca.pem"),
            servers: (1..=NODES)
                .map(|n| {
                    id(
                        &format!("server{n}"),
                        &format!("CN=zk-server-{n},OU=test,O=zk-rs"),
                    )
                })
                .collect(),
            client: id("client", CLIENT_DN),
            client2: id("client2", CLIENT2_DN),
            untrusted: id("untrusted", UNTRUSTED_DN),
            expired: id("expired", EXPIRED_DN),
            wrong_host: id("wrong-host", "CN=zk-wrong-host,OU=test,O=zk-rs"),
            v1_client: id("client-v1", V1_CLIENT_DN),
        }
    }

    /// Node `node`'s server identity (1..=[`NODES`]).
    pub fn server(&self, node: u8) -> &Identity {
        assert!(
            (1..=NODES).contains(&node),
            "server identities exist for nodes 1..={NODES}, not node {node}"
        );
        &self.servers[usize::from(node - 1)]
    }

    /// The truststore (holding the trusted CA) of the given format.
    pub fn truststore(&self, store: StoreType) -> &Path {
        match store {
            StoreType::Jks => &self.truststore_jks,
            StoreType::Pkcs12 => &self.truststore_p12,
            StoreType::Pem => &self.ca_pem,
        }
    }

    /// `(key, value)` settings with the given prefix (`ssl.`,
    /// `ssl.quorum.`, `zookeeper.ssl.`): keystore of `id` (none when
    /// `None`) and the truststore, both of format `store`.
    pub fn store_settings(
        &self,
        prefix: &str,
        id: Option<&Identity>,
        store: StoreType,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(id) = id {
            out.push((
                format!("{prefix}keyStore.location"),
                id.keystore(store).display().to_string(),
            ));
            if let Some(pw) = store.password() {
                out.push((format!("{prefix}keyStore.password"), pw.to_string()));
            }
            out.push((
                format!("{prefix}keyStore.type"),
                store.config_name().to_string(),
            ));
        }
        out.push((
            format!("{prefix}trustStore.location"),
            self.truststore(store).display().to_string(),
        ));
        if let Some(pw) = store.password() {
            out.push((format!("{prefix}trustStore.password"), pw.to_string()));
        }
        out.push((
            format!("{prefix}trustStore.type"),
            store.config_name().to_string(),
        ));
        out
    }

    /// zoo.cfg lines (`ssl.keyStore.*`, `ssl.trustStore.*`) for a server's
    /// secure client port presenting `server`. Add `secureClientPort`,
    /// `ssl.clientAuth`, ... yourself; for Apache also
    /// [`NETTY_SERVER_PROP`].
    pub fn client_port_cfg(&self, server: &Identity, store: StoreType) -> Vec<(String, String)> {
        self.store_settings("ssl.", Some(server), store)
    }

    /// zoo.cfg lines (`ssl.quorum.keyStore.*`, `ssl.quorum.trustStore.*`)
    /// for a quorum peer presenting `server`. Add `sslQuorum=true` yourself.
    pub fn quorum_cfg(&self, server: &Identity, store: StoreType) -> Vec<(String, String)> {
        self.store_settings("ssl.quorum.", Some(server), store)
    }

    /// `-D` flags for a Java client (zkCli, `ZooKeeper`) connecting over
    /// TLS with the Netty socket, presenting `client` (no keystore when
    /// `None`) and trusting the CA.
    pub fn java_client_props(&self, client: Option<&Identity>, store: StoreType) -> Vec<String> {
        let mut flags = vec![
            "-Dzookeeper.client.secure=true".to_string(),
            "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty".to_string(),
        ];
        flags.extend(
            self.store_settings("zookeeper.ssl.", client, store)
                .into_iter()
                .map(|(k, v)| format!("-D{k}={v}")),
        );
        flags
    }
}

/// The JVM flag an Apache server needs to serve TLS on its client port
/// (NIO cannot): `-Dzookeeper.serverCnxnFactory=...NettyServerCnxnFactory`.
pub const NETTY_SERVER_PROP: &str =
    "-Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory";

/// The zoo.cfg line registering 3.8's x509 authentication provider, as
/// the 3.8 admin guide has operators write it. 3.8 registers this very
/// provider by itself when a secure client port is configured and no
/// `authProvider.x509` is set, so [`secure_client_port_cfg`] leaves it out.
pub fn x509_provider_cfg() -> (String, String) {
    (
        "authProvider.x509".to_string(),
        "org.apache.zookeeper.server.auth.X509AuthenticationProvider".to_string(),
    )
}

/// zoo.cfg lines for a secure client port on `127.0.0.1:port` presenting
/// `server`, with `ssl.clientAuth=client_auth`:
/// [`TlsFixture::client_port_cfg`] plus `secureClientPort`,
/// `secureClientPortAddress` and `ssl.clientAuth`.
pub fn secure_client_port_cfg(
    tls: &TlsFixture,
    server: &Identity,
    store: StoreType,
    port: u16,
    client_auth: &str,
) -> Vec<(String, String)> {
    let mut lines = vec![
        ("secureClientPort".to_string(), port.to_string()),
        (
            "secureClientPortAddress".to_string(),
            "127.0.0.1".to_string(),
        ),
        ("ssl.clientAuth".to_string(), client_auth.to_string()),
    ];
    lines.extend(tls.client_port_cfg(server, store));
    lines
}

/// zoo.cfg text of `key=value` lines, e.g. for `ZkBinServer::start`'s `extra`.
pub fn cfg_text(lines: &[(String, String)]) -> String {
    lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// `CN=a,OU=b,O=c` (RFC 2253, most specific first) as openssl's `-subj`
/// form `/O=c/OU=b/CN=a` (least specific first): the same name.
fn slash_dn(rfc2253: &str) -> String {
    rfc2253
        .split(',')
        .rev()
        .map(|rdn| format!("/{rdn}"))
        .collect()
}

/// Runs a tool to completion; a failure names the command and its stderr.
fn run(program: &str, args: &[&str], cwd: &Path) -> io::Result<()> {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(cwd);
    if program == "keytool" {
        // Quick, small JVMs: each store is a few KB.
        cmd.args(["-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1"]);
    }
    let what = format!("{program} {}", args.join(" "));
    let (status, stdout, stderr) = run_bounded(cmd, TOOL_TIMEOUT)
        .map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{what} exited with {status}: {}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )))
    }
}

fn path_str(p: &Path) -> io::Result<&str> {
    p.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not valid UTF-8", p.display()),
        )
    })
}

/// A self-signed CA: `NAME.pem`, `NAME.key` in `dir`.
fn make_ca(dir: &Path, name: &str, subject: &str) -> io::Result<()> {
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "3650",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    )
}

/// Key, CSR (with the SAN and usages; none at all when `san` is empty),
/// signed certificate, then the PEM, PKCS12 and JKS stores of one identity.
fn make_identity(dir: &Path, id: &Identity, san: &str, signing: &Signing<'_>) -> io::Result<()> {
    let name = id.name.as_str();
    let subject = &slash_dn(&id.subject_dn);
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let crt = format!("{name}.crt");
    let san_ext = format!("subjectAltName={san}");
    let eku_ext = format!("extendedKeyUsage={EKU}");
    let mut req = vec![
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", &key, "-out", &csr,
        "-subj", subject,
    ];
    // No SAN: no extensions at all, and so a version 1 certificate.
    if !san.is_empty() {
        req.extend([
            "-addext",
            &san_ext,
            "-addext",
            &eku_ext,
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment",
        ]);
    }
    run("openssl", &req, dir)?;
    let ca_pem = match signing {
        Signing::Ca(ca_pem, ca_key) => {
            run(
                "openssl",
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    path_str(ca_pem)?,
                    "-CAkey",
                    path_str(ca_key)?,
                    "-CAcreateserial",
                    "-sha256",
                    "-days",
                    "3650",
                    "-copy_extensions",
                    "copy",
                    "-out",
                    &crt,
                ],
                dir,
            )?;
            *ca_pem
        }
        Signing::Expired(ca_pem, ca_key) => {
            sign_expired(dir, &csr, &crt, ca_pem, ca_key)?;
            *ca_pem
        }
    };
    write_stores(dir, name, ca_pem)
}

/// The files of identity `name` in `dir`.
fn identity_at(dir: &Path, name: &str, subject_dn: &str) -> Identity {
    Identity {
        name: name.to_string(),
        subject_dn: subject_dn.to_string(),
        key_pem: dir.join(format!("{name}.key")),
        cert_pem: dir.join(format!("{name}.crt")),
        pem: dir.join(format!("{name}.pem")),
        p12: dir.join(format!("{name}.p12")),
        jks: dir.join(format!("{name}.jks")),
    }
}

/// Signs `csr` with fixed dates in the past, through a throwaway
/// `openssl ca` database under `dir/expired-ca/`.
fn sign_expired(dir: &Path, csr: &str, crt: &str, ca_pem: &Path, ca_key: &Path) -> io::Result<()> {
    let db = dir.join("expired-ca");
    std::fs::create_dir_all(&db)?;
    std::fs::write(db.join("index.txt"), "")?;
    std::fs::write(db.join("serial"), "1000\n")?;
    let cnf = db.join("ca.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[ca]\ndefault_ca=d\n[d]\ndatabase={db}/index.txt\nnew_certs_dir={db}\n\
             serial={db}/serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n\
             unique_subject=no\n[p]\norganizationName=optional\n\
             organizationalUnitName=optional\ncommonName=supplied\n",
            db = path_str(&db)?
        ),
    )?;
    run(
        "openssl",
        &[
            "ca",
            "-batch",
            "-notext",
            "-preserveDN",
            "-config",
            path_str(&cnf)?,
            "-cert",
            path_str(ca_pem)?,
            "-keyfile",
            path_str(ca_key)?,
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200201000000Z",
            "-in",
            csr,
            "-out",
            crt,
        ],
        dir,
    )
}

/// `NAME.pem` (key + cert + CA), `NAME.p12` and `NAME.jks`.
fn write_stores(dir: &Path, name: &str, ca_pem: &Path) -> io::Result<()> {
    let mut pem = std::fs::read(dir.join(format!("{name}.key")))?;
    pem.extend(std::fs::read(dir.join(format!("{name}.crt")))?);
    pem.extend(std::fs::read(ca_pem)?);
    std::fs::write(dir.join(format!("{name}.pem")), pem)?;
    let pass = format!("pass:{PASSWORD}");
    run(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-in",
            &format!("{name}.crt"),
            "-inkey",
            &format!("{name}.key"),
            "-certfile",
            path_str(ca_pem)?,
            "-name",
            name,
            "-passout",
            &pass,
            "-out",
            &format!("{name}.p12"),
        ],
        dir,
    )?;
    run(
        "keytool",
        &[
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            &format!("{name}.p12"),
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            PASSWORD,
            "-destkeystore",
            &format!("{name}.jks"),
            "-deststoretype",
            "JKS",
            "-deststorepass",
            PASSWORD,
            "-destkeypass",
            PASSWORD,
        ],
        dir,
    )
}

/// A truststore of `store_type` holding the CA as a trusted entry `ca`.
fn import_trusted(ca_pem: &Path, store: &Path, store_type: &str) -> io::Result<()> {
    let dir = store.parent().unwrap_or(Path::new("."));
    run(
        "keytool",
        &[
            "-importcert",
            "-noprompt",
            "-alias",
            "ca",
            "-file",
            path_str(ca_pem)?,
            "-keystore",
            path_str(store)?,
            "-storetype",
            store_type,
            "-storepass",
            PASSWORD,
        ],
        dir,
    )
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
