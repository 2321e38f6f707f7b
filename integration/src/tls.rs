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
        let ca_pem = dir.join("ca.pem");
        let ca_key = dir.join("ca.key");
        make_ca(dir, "ca", "/O=zk-rs/OU=test/CN=zk-test-ca")?;
        let untrusted_ca_pem = dir.join("untrusted-ca.pem");
        let untrusted_ca_key = dir.join("untrusted-ca.key");
        make_ca(dir, "untrusted-ca", "/O=zk-rs/OU=test/CN=zk-untrusted-ca")?;
        let trusted = Signing::Ca(&ca_pem, &ca_key);
        let san = server_san();
        let mut servers = Vec::new();
        for node in 1..=NODES {
            let subject = format!("/O=zk-rs/OU=test/CN=zk-server-{node}");
            servers.push(make_identity(
                dir,
                &format!("server{node}"),
                &subject,
                &san,
                &trusted,
            )?);
        }
        let client = make_identity(dir, "client", &slash_dn(CLIENT_DN), CLIENT_SAN, &trusted)?;
        let client2 = make_identity(dir, "client2", &slash_dn(CLIENT2_DN), CLIENT_SAN, &trusted)?;
        let untrusted = make_identity(
            dir,
            "untrusted",
            &slash_dn(UNTRUSTED_DN),
            CLIENT_SAN,
            &Signing::Ca(&untrusted_ca_pem, &untrusted_ca_key),
        )?;
        let expired = make_identity(
            dir,
            "expired",
            &slash_dn(EXPIRED_DN),
            &san,
            &Signing::Expired(&ca_pem, &ca_key),
        )?;
        let wrong_host = make_identity(
            dir,
            "wrong-host",
            "/O=zk-rs/OU=test/CN=zk-wrong-host",
            "DNS:wrong.invalid,IP:10.255.255.1",
            &trusted,
        )?;
        let truststore_jks = dir.join("truststore.jks");
        let truststore_p12 = dir.join("truststore.p12");
        import_trusted(&ca_pem, &truststore_jks, "JKS")?;
        import_trusted(&ca_pem, &truststore_p12, "PKCS12")?;
        Ok(TlsFixture {
            dir: dir.to_path_buf(),
            ca_pem,
            ca_key,
            truststore_jks,
            truststore_p12,
            untrusted_ca_pem,
            servers,
            client,
            client2,
            untrusted,
            expired,
            wrong_host,
        })
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

/// Key, CSR (with the SAN and usages), signed certificate, then the PEM,
/// PKCS12 and JKS stores of one identity.
fn make_identity(
    dir: &Path,
    name: &str,
    subject: &str,
    san: &str,
    signing: &Signing<'_>,
) -> io::Result<Identity> {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let crt = format!("{name}.crt");
    run(
        "openssl",
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subject,
            "-addext",
            &format!("subjectAltName={san}"),
            "-addext",
            &format!("extendedKeyUsage={EKU}"),
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment",
        ],
        dir,
    )?;
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
    write_stores(dir, name, ca_pem)?;
    Ok(Identity {
        name: name.to_string(),
        subject_dn: rfc2253_of_slash(subject),
        key_pem: dir.join(&key),
        cert_pem: dir.join(&crt),
        pem: dir.join(format!("{name}.pem")),
        p12: dir.join(format!("{name}.p12")),
        jks: dir.join(format!("{name}.jks")),
    })
}

/// `/O=c/OU=b/CN=a` -> `CN=a,OU=b,O=c`.
fn rfc2253_of_slash(subject: &str) -> String {
    let rdns: Vec<&str> = subject.split('/').filter(|s| !s.is_empty()).collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
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
mod tests {
    use super::*;
    use crate::ports::TempDir;

    #[test]
    fn dn_forms_round_trip() {
        assert_eq!(slash_dn(CLIENT_DN), "/O=zk-rs/OU=test/CN=zk-client");
        assert_eq!(rfc2253_of_slash(&slash_dn(CLIENT_DN)), CLIENT_DN);
    }

    #[test]
    fn settings_name_the_stores() {
        let id = Identity {
            name: "client".into(),
            subject_dn: CLIENT_DN.into(),
            key_pem: "/t/client.key".into(),
            cert_pem: "/t/client.crt".into(),
            pem: "/t/client.pem".into(),
            p12: "/t/client.p12".into(),
            jks: "/t/client.jks".into(),
        };
        let fixture = TlsFixture {
            dir: "/t".into(),
            ca_pem: "/t/ca.pem".into(),
            ca_key: "/t/ca.key".into(),
            truststore_jks: "/t/truststore.jks".into(),
            truststore_p12: "/t/truststore.p12".into(),
            untrusted_ca_pem: "/t/untrusted-ca.pem".into(),
            servers: vec![id.clone()],
            client: id.clone(),
            client2: id.clone(),
            untrusted: id.clone(),
            expired: id.clone(),
            wrong_host: id.clone(),
        };
        let text = cfg_text(&fixture.quorum_cfg(&id, StoreType::Pkcs12));
        assert_eq!(
            text,
            "ssl.quorum.keyStore.location=/t/client.p12\n\
             ssl.quorum.keyStore.password=zk-test-pass\n\
             ssl.quorum.keyStore.type=PKCS12\n\
             ssl.quorum.trustStore.location=/t/truststore.p12\n\
             ssl.quorum.trustStore.password=zk-test-pass\n\
             ssl.quorum.trustStore.type=PKCS12\n"
        );
        let pem = cfg_text(&fixture.client_port_cfg(&id, StoreType::Pem));
        assert!(
            !pem.contains("password"),
            "PEM keys are unencrypted:\n{pem}"
        );
        assert!(pem.contains("ssl.trustStore.location=/t/ca.pem\n"), "{pem}");
        let flags = fixture.java_client_props(None, StoreType::Jks);
        assert!(flags.contains(&"-Dzookeeper.client.secure=true".to_string()));
        assert!(!flags.iter().any(|f| f.contains("keyStore")), "{flags:?}");
        assert!(flags.contains(&"-Dzookeeper.ssl.trustStore.location=/t/truststore.jks".into()));
    }

    fn keytool_list(store: &Path, store_type: &str) -> String {
        let mut cmd = Command::new("keytool");
        cmd.args([
            "-list",
            "-v",
            "-storepass",
            PASSWORD,
            "-storetype",
            store_type,
        ])
        .arg("-keystore")
        .arg(store);
        let (status, out, err) = run_bounded(cmd, TOOL_TIMEOUT).unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(
            status.success(),
            "keytool -list {} failed: {text}{}",
            store.display(),
            String::from_utf8_lossy(&err)
        );
        text
    }

    fn openssl_text(cert: &Path) -> String {
        let mut cmd = Command::new("openssl");
        cmd.args(["x509", "-noout", "-text", "-in"]).arg(cert);
        let (status, out, _) = run_bounded(cmd, TOOL_TIMEOUT).unwrap();
        assert!(status.success());
        String::from_utf8_lossy(&out).into_owned()
    }

    fn verify(ca: &Path, cert: &Path) -> bool {
        let mut cmd = Command::new("openssl");
        cmd.args(["verify", "-CAfile"]).arg(ca).arg(cert);
        run_bounded(cmd, TOOL_TIMEOUT).unwrap().0.success()
    }

    #[test]
    fn generates_every_store_and_keytool_reads_them() {
        let dir = TempDir::new("zk-tls-fixture").unwrap();
        let tls = match TlsFixture::generate(dir.path()) {
            Ok(tls) => tls,
            Err(e) if is_missing_tool(&e) => {
                println!("SKIPPED: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let ids: Vec<&Identity> = tls
            .servers
            .iter()
            .chain([
                &tls.client,
                &tls.client2,
                &tls.untrusted,
                &tls.expired,
                &tls.wrong_host,
            ])
            .collect();
        for id in &ids {
            for f in [&id.key_pem, &id.cert_pem, &id.pem, &id.p12, &id.jks] {
                assert!(f.is_file(), "{} missing", f.display());
            }
            let pem = std::fs::read_to_string(&id.pem).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
            assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "{pem}");
        }
        let jks = keytool_list(&tls.client.jks, "JKS");
        assert!(jks.contains("PrivateKeyEntry"), "{jks}");
        assert!(jks.contains("CN=zk-client, OU=test, O=zk-rs"), "{jks}");
        let p12 = keytool_list(&tls.server(3).p12, "PKCS12");
        assert!(
            p12.contains("PrivateKeyEntry") && p12.contains("CN=zk-server-3"),
            "{p12}"
        );
        for (store, ty) in [
            (&tls.truststore_jks, "JKS"),
            (&tls.truststore_p12, "PKCS12"),
        ] {
            let list = keytool_list(store, ty);
            assert!(
                list.contains("trustedCertEntry") && list.contains("zk-test-ca"),
                "{list}"
            );
        }
        let server = openssl_text(&tls.server(1).cert_pem);
        for san in [
            "DNS:localhost",
            "IP Address:127.0.0.1",
            "IP Address:127.0.0.6",
            "IP Address:127.0.0.15",
        ] {
            assert!(server.contains(san), "server cert lacks {san}:\n{server}");
        }
        assert!(server.contains("TLS Web Client Authentication"), "{server}");
        assert!(verify(&tls.ca_pem, &tls.client.cert_pem));
        assert!(verify(&tls.ca_pem, &tls.wrong_host.cert_pem));
        assert!(
            !verify(&tls.ca_pem, &tls.untrusted.cert_pem),
            "untrusted cert verifies"
        );
        assert!(verify(&tls.untrusted_ca_pem, &tls.untrusted.cert_pem));
        assert!(
            !verify(&tls.ca_pem, &tls.expired.cert_pem),
            "expired cert verifies"
        );
        let expired = openssl_text(&tls.expired.cert_pem);
        assert!(
            expired.contains("Not After : Feb  1 00:00:00 2020 GMT"),
            "{expired}"
        );
        assert!(
            expired.contains("Subject: O = zk-rs, OU = test, CN = zk-expired"),
            "{expired}"
        );
        assert_eq!(tls.client.subject_dn, CLIENT_DN);
        assert_eq!(tls.client2.subject_dn, CLIENT2_DN);
    }
}
