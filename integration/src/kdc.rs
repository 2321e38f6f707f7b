//! A throwaway MIT Kerberos KDC on loopback for the Kerberos SASL tests.
//!
//! Uses Debian's `krb5-kdc` and `krb5-admin-server` binaries (`krb5kdc`,
//! `kdb5_util`, `kadmin.local`) and installs nothing: [`Kdc::available`]
//! says why not when they are missing, for a `SKIPPED:` line. Everything
//! lives in one temp dir: its own realm, `kdc.conf` and database, a
//! `krb5.conf` pointing at a free 127.0.0.1 port (TCP only, no DNS), and
//! keytabs. Every child that speaks Kerberos gets [`Kdc::env`]
//! (`KRB5_CONFIG` and friends) so the machine's `/etc/krb5.conf` realm is
//! never asked; Java gets [`Kdc::java_props`].

use crate::ports::{free_port, TempDir};
use std::ffi::OsString;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Enctypes both MIT and the JDK 17 agree on.
const ENCTYPES: &str = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96";

/// A running KDC; stopped (and its directory removed) on drop.
pub struct Kdc {
    dir: TempDir,
    realm: String,
    port: u16,
    /// krb5kdc, once the database exists.
    child: Option<Child>,
}

/// Finds one of the KDC's tools on PATH or in /usr/sbin (where Debian
/// puts them, often not on a test's PATH).
fn tool(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!("{name} is not installed (apt-get install krb5-kdc krb5-admin-server)")
        })
}

impl Kdc {
    /// Ok when the KDC's tools are installed; otherwise why not.
    pub fn available() -> Result<(), String> {
        for name in ["krb5kdc", "kdb5_util", "kadmin.local"] {
            tool(name)?;
        }
        Ok(())
    }

    /// Creates realm `realm` and starts its KDC, waiting until it accepts
    /// connections.
    pub fn start(realm: &str) -> Result<Kdc, String> {
        Self::available()?;
        let dir =
            TempDir::new("zk-kdc").map_err(|e| format!("cannot create the KDC's temp dir: {e}"))?;
        let port = free_port().map_err(|e| format!("no free port for the KDC: {e}"))?;
        write_configs(&dir, realm, port)?;
        let mut kdc = Kdc {
            realm: realm.to_string(),
            port,
            child: None,
            dir,
        };
        kdc.run(
            "kdb5_util",
            &["create", "-s", "-r", realm, "-P", "zk-kdc-master-key"],
        )?;
        let log = std::fs::File::create(kdc.dir.join("krb5kdc.out"))
            .map_err(|e| format!("cannot create the KDC's log: {e}"))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("cannot share the KDC's log: {e}"))?;
        let child = Command::new(tool("krb5kdc")?)
            .args(["-n", "-r", realm])
            .envs(kdc.env())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start krb5kdc: {e}"))?;
        kdc.child = Some(child);
        kdc.wait_listening(Duration::from_secs(20))?;
        Ok(kdc)
    }

    fn wait_listening(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(format!("krb5kdc exited with {status}: {}", self.log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "krb5kdc did not listen on 127.0.0.1:{} within {timeout:?}: {}",
                    self.port,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The KDC's own output and log, for an error message.
    pub fn log(&self) -> String {
        let mut text = String::new();
        for name in ["krb5kdc.out", "kdc.log"] {
            text.push_str(&std::fs::read_to_string(self.dir.join(name)).unwrap_or_default());
        }
        text
    }

    /// Runs one of the admin tools against this realm's database.
    fn run(&self, name: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(tool(name)?)
            .args(args)
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {name}: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Err(format!("{name} {args:?} failed ({}): {text}", out.status));
        }
        Ok(text)
    }

    /// Adds `principal` (`name` or `name/host`, in this realm) with a
    /// random key and writes its key to a keytab file named `keytab` in
    /// the KDC's directory; returns that file.
    pub fn add_principal(&self, principal: &str, keytab: &str) -> Result<PathBuf, String> {
        let full = self.principal(principal);
        self.run(
            "kadmin.local",
            &[
                "-r",
                &self.realm,
                "-q",
                &format!("addprinc -randkey {full}"),
            ],
        )?;
        let path = self.dir.join(keytab);
        self.run(
            "kadmin.local",
            &[
                "-r",
                &self.realm,
                "-q",
                &format!("ktadd -k {} {full}", path.display()),
            ],
        )?;
        if !path.is_file() {
            return Err(format!("kadmin.local wrote no keytab {}", path.display()));
        }
        Ok(path)
    }

    /// `principal` with this realm appended.
    pub fn principal(&self, principal: &str) -> String {
        format!("{principal}@{}", self.realm)
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The KDC's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The realm's krb5.conf (for `-Djava.security.krb5.conf=`).
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// A path in the KDC's directory, for the tests' own files.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The environment every Kerberos child needs: this realm's
    /// krb5.conf and kdc.conf, and replay cache and default ticket cache
    /// in the temp dir (none of the machine's own files is touched).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("KRB5_CONFIG", self.dir.join("krb5.conf").into()),
            ("KRB5_KDC_PROFILE", self.dir.join("kdc.conf").into()),
            ("KRB5RCACHEDIR", self.dir.path().into()),
            (
                "KRB5CCNAME",
                format!("FILE:{}", self.dir.join("ccache").display()).into(),
            ),
        ]
    }

    /// The JVM flags naming this realm's krb5.conf.
    pub fn java_props(&self) -> Vec<String> {
        vec![format!(
            "-Djava.security.krb5.conf={}",
            self.krb5_conf().display()
        )]
    }
}

fn write_configs(dir: &TempDir, realm: &str, port: u16) -> Result<(), String> {
    let d = dir.path().display();
    let kdc_conf = format!(
        "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n\
         [realms]\n {realm} = {{\n  database_name = {d}/principal\n  \
         key_stash_file = {d}/stash\n  acl_file = {d}/kadm5.acl\n  \
         admin_keytab = FILE:{d}/kadm5.keytab\n  \
         kdc_listen = 127.0.0.1:{port}\n  kdc_tcp_listen = 127.0.0.1:{port}\n  \
         max_life = 10h 0m 0s\n  max_renewable_life = 1d 0h 0m 0s\n  \
         supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n }}\n\
         [logging]\n kdc = FILE:{d}/kdc.log\n admin_server = FILE:{d}/kadmin.log\n"
    );
    let krb5_conf = format!(
        "[libdefaults]\n default_realm = {realm}\n dns_lookup_realm = false\n \
         dns_lookup_kdc = false\n dns_canonicalize_hostname = false\n rdns = false\n \
         udp_preference_limit = 1\n ticket_lifetime = 10h\n forwardable = true\n \
         default_tkt_enctypes = {ENCTYPES}\n default_tgs_enctypes = {ENCTYPES}\n \
         permitted_enctypes = {ENCTYPES}\n\
         [realms]\n {realm} = {{\n  kdc = 127.0.0.1:{port}\n }}\n\
         [domain_realm]\n localhost = {realm}\n .localhost = {realm}\n"
    );
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))
    };
    write("kdc.conf", &kdc_conf)?;
    write("krb5.conf", &krb5_conf)?;
    write("kadm5.acl", "")
}

impl Drop for Kdc {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether `path` looks like a keytab file (MIT's format starts 0x05 0x02).
pub fn is_keytab(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(&[5, 2]))
}
