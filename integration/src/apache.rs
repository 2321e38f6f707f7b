//! Apache ZooKeeper 3.8 from Debian's packages, as a reference to compare
//! against: a standalone server on a loopback port, and the two offline
//! tools that read a data directory (`SnapshotFormatter`, `TxnLogToolkit`).
//!
//! Everything is found at run time: tests call [`ApacheZk::find`] and print
//! `skipped: <reason>` when Java or the packages are missing, so the suite
//! still passes on a machine without them (CI installs them).
//!
//! The JVMs get a fixed locale, time zone and output encoding so that the
//! tools' text (dates, non-ASCII paths) is the same on every machine, and a
//! log4j configuration of our own so that log lines never mix into a tool's
//! stdout.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::ports::TempDir;

/// Where Debian installs Java libraries; `ZK_APACHE_JAR_DIR` overrides it.
const DEFAULT_JAR_DIR: &str = "/usr/share/java";

/// The jars of the server and its tools, by Debian's version-less names.
/// `zookeeper.jar` comes first so its classes win over any stray copy.
const REQUIRED_JARS: &[&str] = &[
    "zookeeper",
    "zookeeper-jute",
    "commons-cli",
    "commons-io",
    "jackson-annotations",
    "jackson-core",
    "jackson-databind",
    "log4j-1.2",
    "metrics-core",
    "netty-buffer",
    "netty-codec",
    "netty-common",
    "netty-handler",
    "netty-resolver",
    "netty-transport",
    "slf4j-api",
    "slf4j-log4j12",
    "snappy-java",
];

/// Jars the server runs without (native transports, the interactive shell).
const OPTIONAL_JARS: &[&str] = &[
    "netty-transport-native-epoll",
    "netty-transport-native-unix-common",
    "jline",
];

/// What 3.8's admin server (Jetty 9.4 and the servlet API) needs, from
/// Debian's libjetty9-java and libservlet-api-java. The class path has them
/// only for a server whose zoo.cfg turns the admin server on: without them
/// 3.8 logs "Unable to load jetty" and runs without it, which is what every
/// other test wants (no port 8080 to fight over).
const ADMIN_SERVER_JARS: &[&str] = &[
    "jetty9-server",
    "jetty9-servlet",
    "jetty9-security",
    "jetty9-http",
    "jetty9-io",
    "jetty9-util",
    "servlet-api",
];

/// Properties that make a JVM's text output independent of the machine.
const STABLE_TEXT_PROPS: &[&str] = &[
    "-Duser.timezone=UTC",
    "-Duser.language=en",
    "-Duser.country=US",
    "-Dfile.encoding=UTF-8",
    "-Dsun.stdout.encoding=UTF-8",
    "-Dsun.stderr.encoding=UTF-8",
];

/// Small, quick-to-start JVMs: these are short test runs on a 2-core box.
const SMALL_JVM_FLAGS: &[&str] = &[
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
];

/// A located Java runtime plus Apache ZooKeeper 3.8 class path.
#[derive(Debug)]
pub struct ApacheZk {
    java: PathBuf,
    classpath: String,
    /// `classpath` with [`ADMIN_SERVER_JARS`], when they are all installed.
    admin_classpath: Option<String>,
    /// Holds the generated log4j configurations.
    scratch: TempDir,
}

/// Which of `SnapshotFormatter`'s three outputs to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotFormat {
    /// Nodes with their stat and data length, then sessions.
    Plain,
    /// As `Plain`, with each node's data in base64 instead of its length (`-d`).
    WithData,
    /// The ncdu-style JSON tree (`-json`): names and sizes only.
    Json,
}

impl ApacheZk {
    /// Ok when [`ApacheZk::find`] would succeed; otherwise why not, in a
    /// sentence fit for a `skipped: ...` line.
    pub fn available() -> Result<(), String> {
        Self::find().map(|_| ())
    }

    /// Locates `java` and the Debian jars of ZooKeeper 3.8.
    pub fn find() -> Result<ApacheZk, String> {
        let java = find_java()?;
        let jar_dir = std::env::var_os("ZK_APACHE_JAR_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_JAR_DIR));
        let mut entries = Vec::new();
        for name in REQUIRED_JARS {
            let jar = jar_dir.join(format!("{name}.jar"));
            if !jar.is_file() {
                return Err(format!(
                    "Apache ZooKeeper 3.8 is not installed: {} is missing \
                     (apt-get install zookeeper)",
                    jar.display()
                ));
            }
            entries.push(jar);
        }
        for name in OPTIONAL_JARS {
            let jar = jar_dir.join(format!("{name}.jar"));
            if jar.is_file() {
                entries.push(jar);
            }
        }
        check_version(&entries[0])?;
        let join = |entries: &[PathBuf]| {
            std::env::join_paths(entries)
                .map_err(|e| format!("cannot build a class path from {}: {e}", jar_dir.display()))?
                .into_string()
                .map_err(|_| format!("{} is not valid UTF-8", jar_dir.display()))
        };
        let classpath = join(&entries)?;
        let admin_jars: Vec<PathBuf> = ADMIN_SERVER_JARS
            .iter()
            .map(|name| jar_dir.join(format!("{name}.jar")))
            .collect();
        let admin_classpath = if admin_jars.iter().all(|j| j.is_file()) {
            entries.extend(admin_jars);
            Some(join(&entries)?)
        } else {
            None
        };
        let scratch = TempDir::new("zk-apache-conf")
            .map_err(|e| format!("cannot create a temp dir for log4j settings: {e}"))?;
        write_log4j(&scratch).map_err(|e| format!("cannot write log4j settings: {e}"))?;
        Ok(ApacheZk {
            java,
            classpath,
            admin_classpath,
            scratch,
        })
    }

    /// The class path of the server and its tools (Debian's jars), for
    /// harnesses that start Java themselves (kazoo's `ZOOKEEPER_CLASSPATH`).
    pub fn classpath(&self) -> &str {
        &self.classpath
    }

    /// The `java` executable found.
    pub fn java_path(&self) -> &Path {
        &self.java
    }

    /// Whether 3.8's admin server can run here (Jetty installed): a server
    /// whose zoo.cfg sets `admin.enableServer=true` then gets it.
    pub fn has_admin_server(&self) -> bool {
        self.admin_classpath.is_some()
    }

    /// A `java` command with the class path, stable text settings and the
    /// given log4j configuration (`server` or `tools`).
    fn java(&self, log4j: &str) -> Command {
        self.java_with(log4j, &self.classpath)
    }

    fn java_with(&self, log4j: &str, classpath: &str) -> Command {
        let mut cmd = Command::new(&self.java);
        cmd.args(SMALL_JVM_FLAGS)
            .args(STABLE_TEXT_PROPS)
            .arg(format!(
                "-Dlog4j.configuration=file:{}",
                self.scratch
                    .join(format!("log4j-{log4j}.properties"))
                    .display()
            ))
            .arg("-cp")
            .arg(classpath)
            .env("TZ", "UTC")
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs one of ZooKeeper's command-line classes to completion (at most
    /// `timeout`) and returns its stdout; a non-zero exit is an error
    /// carrying stderr.
    pub fn run_tool(
        &self,
        class: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<Vec<u8>, String> {
        let mut cmd = self.java("tools");
        cmd.arg(class).args(args);
        let what = format!("{class} {}", args.join(" "));
        let (status, stdout, stderr) =
            run_bounded(cmd, timeout).map_err(|e| format!("{what}: {e}"))?;
        if !status.success() {
            return Err(format!(
                "{what} exited with {status}; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            ));
        }
        Ok(stdout)
    }

    /// zkCli (`ZooKeeperMain -server SERVER`) reading the commands of
    /// `script` (a file, one command a line, ending with `quit`); returns
    /// stdout and stderr together, as a user would see them.
    pub fn zk_cli(&self, server: &str, script: &Path, timeout: Duration) -> Result<String, String> {
        self.zk_cli_with_props(server, script, timeout, &[])
    }

    /// [`ApacheZk::zk_cli`] with further `-Dkey=value` JVM options, e.g.
    /// [`crate::tls::TlsFixture::java_client_props`] for a TLS session
    /// (Netty client socket, `zookeeper.client.secure=true`, keystores).
    pub fn zk_cli_with_props(
        &self,
        server: &str,
        script: &Path,
        timeout: Duration,
        jvm_props: &[String],
    ) -> Result<String, String> {
        let input =
            File::open(script).map_err(|e| format!("cannot open {}: {e}", script.display()))?;
        let mut cmd = self.java("tools");
        cmd.args(jvm_props)
            .arg("org.apache.zookeeper.ZooKeeperMain")
            .args(["-server", server])
            .stdin(input);
        let (_, stdout, stderr) =
            run_bounded(cmd, timeout).map_err(|e| format!("zkCli -server {server}: {e}"))?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ))
    }

    /// `SnapshotFormatter [-d|-json] FILE`, returning its stdout.
    pub fn snapshot_formatter(
        &self,
        snapshot: &Path,
        format: SnapshotFormat,
    ) -> Result<String, String> {
        let file = path_arg(snapshot)?;
        let mut args = Vec::new();
        match format {
            SnapshotFormat::Plain => {}
            SnapshotFormat::WithData => args.push("-d"),
            SnapshotFormat::Json => args.push("-json"),
        }
        args.push(file);
        let out = self.run_tool(
            "org.apache.zookeeper.server.SnapshotFormatter",
            &args,
            TOOL_TIMEOUT,
        )?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// `TxnLogToolkit --dump FILE`, returning its stdout. Node data appears
    /// in it as text decoded from UTF-8, so binary values come out lossy
    /// (U+FFFD) on both sides of any comparison.
    pub fn txn_log_toolkit(&self, log: &Path) -> Result<String, String> {
        let out = self.run_tool(
            "org.apache.zookeeper.server.persistence.TxnLogToolkit",
            &["--dump", path_arg(log)?],
            TOOL_TIMEOUT,
        )?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Starts a standalone server (`QuorumPeerMain` with a generated
    /// `zoo.cfg`) and waits until it serves clients.
    pub fn start(&self, config: &ServerConfig) -> Result<ApacheServer, String> {
        let mut server = self.spawn(config)?;
        server.wait_serving(config.start_timeout)?;
        Ok(server)
    }

    /// Starts `QuorumPeerMain` without waiting for it to serve: a member of
    /// a replicated ensemble serves only once a quorum has formed.
    pub fn spawn(&self, config: &ServerConfig) -> Result<ApacheServer, String> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
        if let Some(myid) = config.myid {
            let path = config.data_dir.join("myid");
            std::fs::write(&path, format!("{myid}\n"))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        let cfg_path = config
            .work_dir
            .join(format!("zoo-{}.cfg", config.client_port));
        let log_path = config
            .work_dir
            .join(format!("apache-zk-{}.log", config.client_port));
        let zoo_cfg = config.zoo_cfg();
        std::fs::write(&cfg_path, &zoo_cfg)
            .map_err(|e| format!("cannot write {}: {e}", cfg_path.display()))?;
        let log = File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
        // The last setting wins, as in java.util.Properties.
        let admin_on = zoo_cfg
            .lines()
            .filter_map(|l| l.strip_prefix("admin.enableServer="))
            .next_back()
            .is_some_and(|v| v.trim() == "true");
        let mut cmd = match &self.admin_classpath {
            Some(cp) if admin_on => self.java_with("server", cp),
            _ => self.java("server"),
        };
        if let Some(heap) = &config.max_heap {
            cmd.arg(format!("-Xmx{heap}"));
        }
        cmd.arg(format!("-Dzookeeper.log.dir={}", config.work_dir.display()))
            .args(&config.jvm_props)
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(&cfg_path)
            .stdout(log)
            .stderr(log_err);
        if let Some((uid, gid)) = config.run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.java.display()))?;
        Ok(ApacheServer {
            child: Some(child),
            addr: SocketAddr::new(config.client_address, config.client_port),
            log_path,
        })
    }
}

/// How long an offline tool may take; a 10 MB snapshot dumps in a few seconds.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The settings of one standalone Apache server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where zoo.cfg and the server log go.
    pub work_dir: PathBuf,
    /// `dataDir` (snapshots and, with no `dataLogDir`, txn logs).
    pub data_dir: PathBuf,
    /// The loopback port clients connect to (`clientPort`); with
    /// `plaintext_client_port` false, only a name for the config and log
    /// files (and [`ApacheServer::addr`] then has no listener).
    pub client_port: u16,
    /// Write `clientPort`/`clientPortAddress` (true unless changed): false
    /// for a TLS-only server whose `extra_cfg` has `secureClientPort`.
    /// Such a server does not answer `srvr` in plaintext: start it with
    /// [`ApacheZk::spawn`] and wait on its secure port.
    pub plaintext_client_port: bool,
    /// `tickTime` in ms: the unit of session timeouts and of `initLimit`/`syncLimit`.
    pub tick_time_ms: u32,
    /// Txns between snapshots (Apache rolls at a random point in the second half).
    pub snap_count: u32,
    /// Txn log preallocation in KB (Apache's default is 64 MB).
    pub pre_alloc_kb: u32,
    /// Allow TTL nodes (`zookeeper.extendedTypesEnabled`).
    pub extended_types: bool,
    /// Further `key=value` lines for zoo.cfg.
    pub extra_cfg: Vec<(String, String)>,
    /// Further `-Dkey=value` JVM options.
    pub jvm_props: Vec<String>,
    /// How long to wait for the server to answer `srvr`.
    pub start_timeout: Duration,
    /// `-Xmx` for the JVM; `None` leaves the JVM's default (a quarter of
    /// the machine's memory), as an operator running zkServer.sh gets.
    pub max_heap: Option<String>,
    /// `server.N` lines of a replicated ensemble, as `(N, value)`, e.g.
    /// `(1, "127.0.0.1:2888:3888:participant")`; empty for standalone.
    pub servers: Vec<(u64, String)>,
    /// This server's id, written to `dataDir/myid` (replicated mode).
    pub myid: Option<u64>,
    /// `clientPortAddress`: 127.0.0.1 unless a fault-injection ensemble
    /// gives each node its own loopback address.
    pub client_address: IpAddr,
    /// Run the server as this `(uid, gid)` instead of the test's own user,
    /// so nftables can tell one node's packets from another's by owner.
    pub run_as: Option<(u32, u32)>,
}

impl ServerConfig {
    /// A standalone server on `client_port` with its data in `data_dir`.
    pub fn new(work_dir: &Path, data_dir: &Path, client_port: u16) -> ServerConfig {
        ServerConfig {
            work_dir: work_dir.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            client_port,
            plaintext_client_port: true,
            tick_time_ms: 2000,
            snap_count: 100_000,
            pre_alloc_kb: 65536,
            extended_types: false,
            extra_cfg: Vec::new(),
            jvm_props: Vec::new(),
            start_timeout: Duration::from_secs(40),
            max_heap: Some("512m".to_string()),
            servers: Vec::new(),
            myid: None,
            client_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            run_as: None,
        }
    }

    /// The zoo.cfg text. Keys 3.8 does not know itself (snapCount,
    /// preAllocSize, extendedTypesEnabled) it turns into `zookeeper.<key>`
    /// system properties, which is where those settings are read from.
    pub fn zoo_cfg(&self) -> String {
        let mut cfg = format!(
            "tickTime={}\n\
             initLimit=10\n\
             syncLimit=5\n\
             dataDir={}\n\
             clientPort={}\n\
             clientPortAddress={}\n\
             maxClientCnxns=0\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=*\n\
             autopurge.purgeInterval=0\n\
             snapCount={}\n\
             preAllocSize={}\n",
            self.tick_time_ms,
            self.data_dir.display(),
            self.client_port,
            self.client_address,
            self.snap_count,
            self.pre_alloc_kb,
        );
        if !self.plaintext_client_port {
            cfg = cfg
                .lines()
                .filter(|l| !l.starts_with("clientPort=") && !l.starts_with("clientPortAddress="))
                .map(|l| format!("{l}\n"))
                .collect();
        }
        if self.extended_types {
            cfg.push_str("extendedTypesEnabled=true\n");
        }
        for (key, value) in &self.extra_cfg {
            cfg.push_str(&format!("{key}={value}\n"));
        }
        for (sid, value) in &self.servers {
            cfg.push_str(&format!("server.{sid}={value}\n"));
        }
        cfg
    }
}

/// A running Apache server; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct ApacheServer {
    child: Option<Child>,
    addr: SocketAddr,
    log_path: PathBuf,
}

impl ApacheServer {
    /// The client address: `clientPortAddress` (127.0.0.1 unless set) and
    /// `clientPort`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JVM's process id (for reading its memory use).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `host:port` for a client's connect string.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// The file the server's console output (its log) goes to.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The server's log so far, for a failure message.
    pub fn log_text(&self) -> String {
        match std::fs::read(&self.log_path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("(cannot read {}: {e})", self.log_path.display()),
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// A four-letter-word command's answer.
    pub fn four_letter(&self, cmd: &str) -> io::Result<String> {
        four_letter(self.addr, cmd, Duration::from_secs(3))
    }

    /// Waits until some line of the log contains every one of `needles`
    /// (at most `timeout`); returns that line.
    pub fn wait_for_log(&mut self, needles: &[&str], timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.log_text();
            if let Some(line) = text.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
                return Ok(line.to_string());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "Apache ZooKeeper exited with {status} before logging {needles:?}; log {}:\n{}",
                        self.log_path.display(),
                        self.log_tail(60)
                    ));
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "Apache ZooKeeper did not log {needles:?} within {timeout:?}; log {}:\n{}",
                    self.log_path.display(),
                    self.log_tail(60)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `srvr` answers with the version, i.e. the server has
    /// loaded its data and accepts sessions.
    pub fn wait_serving(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "Apache ZooKeeper exited with {status} before serving on {}; log {}:\n{}",
                        self.addr,
                        self.log_path.display(),
                        self.log_tail(60)
                    ));
                }
            }
            // `srvr` only answers with the version once the server has loaded
            // its data and accepts sessions; before that it says it is not
            // serving, or the port is closed.
            let last = match self.four_letter("srvr") {
                Ok(answer) if answer.starts_with("Zookeeper version") => return Ok(()),
                Ok(answer) => answer.trim().to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "Apache ZooKeeper did not serve on {} within {timeout:?} (last: {last}); log {}:\n{}",
                    self.addr,
                    self.log_path.display(),
                    self.log_tail(60)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server with SIGKILL, as a crash would: what is on disk is
    /// exactly what the server had fsynced, and no shutdown step can add a
    /// snapshot or close sessions. Waits for the process to be gone.
    pub fn kill(&mut self) -> Result<ExitStatus, String> {
        let Some(mut child) = self.child.take() else {
            return Err("the server was already stopped".to_string());
        };
        child
            .kill()
            .map_err(|e| format!("cannot kill Apache ZooKeeper (pid {}): {e}", child.id()))?;
        wait_bounded(&mut child, Duration::from_secs(20)).map_err(|e| {
            format!(
                "Apache ZooKeeper (pid {}) did not exit after SIGKILL: {e}",
                child.id()
            )
        })
    }

    /// Stops the server with SIGTERM, as `zkServer.sh stop` does, and waits
    /// (at most `timeout`) for the JVM to exit; past that it is killed and
    /// the error says so.
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let Some(mut child) = self.child.take() else {
            return Err("the server was already stopped".to_string());
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(status);
        }
        crate::zk_bin::send_signal(child.id(), "TERM")?;
        wait_bounded(&mut child, timeout).map_err(|e| {
            let _ = child.kill();
            let _ = child.wait();
            format!(
                "Apache ZooKeeper (pid {}) did not exit within {timeout:?} of SIGTERM ({e}); killed",
                child.id()
            )
        })
    }
}

impl Drop for ApacheServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = wait_bounded(&mut child, Duration::from_secs(20));
        }
    }
}

/// Sends a four-letter word and reads the answer until the server closes.
pub fn four_letter(addr: SocketAddr, cmd: &str, timeout: Duration) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(cmd.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// `java` from `JAVA_HOME`, else the first on `PATH`, checked by running it.
fn find_java() -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        candidates.push(PathBuf::from(home).join("bin/java"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("java")));
    }
    let java = candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "no Java runtime: `java` is not on PATH (apt-get install default-jre-headless)"
                .to_string()
        })?;
    let mut cmd = Command::new(&java);
    cmd.arg("-version");
    match run_bounded(cmd, Duration::from_secs(30)) {
        Ok((status, _, _)) if status.success() => Ok(java),
        Ok((status, _, stderr)) => Err(format!(
            "{} -version failed ({status}): {}",
            java.display(),
            String::from_utf8_lossy(&stderr).trim()
        )),
        Err(e) => Err(format!("{} -version: {e}", java.display())),
    }
}

/// Debian's `zookeeper.jar` links to `zookeeper-<version>.jar`; insist on 3.8,
/// the version whose formats the comparisons assume.
fn check_version(zookeeper_jar: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(zookeeper_jar)
        .map_err(|e| format!("cannot resolve {}: {e}", zookeeper_jar.display()))?;
    let name = real
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    match name
        .strip_prefix("zookeeper-")
        .and_then(|v| v.strip_suffix(".jar"))
    {
        Some(version) if version.starts_with("3.8.") => Ok(()),
        Some(version) => Err(format!(
            "{} is Apache ZooKeeper {version}; these tests compare against 3.8",
            real.display()
        )),
        // A jar without a version in its name: trust it, the tests will tell.
        None => Ok(()),
    }
}

fn write_log4j(dir: &TempDir) -> io::Result<()> {
    let pattern = "%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n";
    std::fs::write(
        dir.join("log4j-server.properties"),
        format!(
            "log4j.rootLogger=INFO, OUT\n\
             log4j.appender.OUT=org.apache.log4j.ConsoleAppender\n\
             log4j.appender.OUT.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.OUT.layout.ConversionPattern={pattern}\n"
        ),
    )?;
    // Tools print their results on stdout: their log goes to stderr.
    std::fs::write(
        dir.join("log4j-tools.properties"),
        format!(
            "log4j.rootLogger=WARN, ERR\n\
             log4j.appender.ERR=org.apache.log4j.ConsoleAppender\n\
             log4j.appender.ERR.Target=System.err\n\
             log4j.appender.ERR.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.ERR.layout.ConversionPattern={pattern}\n"
        ),
    )
}

fn path_arg(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", path.display()))
}

/// Runs `cmd` with piped output, killing it after `timeout`.
pub fn run_bounded(
    mut cmd: Command,
    timeout: Duration,
) -> io::Result<(ExitStatus, Vec<u8>, Vec<u8>)> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        out.read_to_end(&mut buf).map(|_| buf)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        err.read_to_end(&mut buf).map(|_| buf)
    });
    let status = match wait_bounded(&mut child, timeout) {
        Ok(status) => status,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let stdout = out_reader.join().expect("stdout reader")?;
    let stderr = err_reader.join().expect("stderr reader")?;
    Ok((status, stdout, stderr))
}

fn wait_bounded(child: &mut Child, timeout: Duration) -> io::Result<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("pid {} still running after {timeout:?}", child.id()),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoo_cfg_has_the_settings_apache_reads() {
        let mut cfg = ServerConfig::new(Path::new("/w"), Path::new("/w/data"), 12345);
        cfg.snap_count = 100;
        cfg.extended_types = true;
        cfg.extra_cfg
            .push(("maxSessionTimeout".into(), "90000".into()));
        let text = cfg.zoo_cfg();
        for line in [
            "dataDir=/w/data",
            "clientPort=12345",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=*",
            "snapCount=100",
            "extendedTypesEnabled=true",
            "maxSessionTimeout=90000",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("server."), "standalone has no server lines");
        cfg.plaintext_client_port = false;
        assert!(!cfg.zoo_cfg().contains("clientPort"), "{}", cfg.zoo_cfg());
        cfg.plaintext_client_port = true;
        cfg.servers = vec![(1, "127.0.0.1:2888:3888:participant".into())];
        assert!(cfg
            .zoo_cfg()
            .lines()
            .any(|l| l == "server.1=127.0.0.1:2888:3888:participant"));
    }

    #[test]
    fn run_bounded_kills_a_child_past_its_deadline() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let started = Instant::now();
        let err = run_bounded(cmd, Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn check_version_rejects_other_versions() {
        let dir = TempDir::new("zk-it-jar").unwrap();
        let jar = dir.join("zookeeper-3.4.14.jar");
        std::fs::write(&jar, b"").unwrap();
        let err = check_version(&jar).unwrap_err();
        assert!(err.contains("3.4.14"), "{err}");
        let jar = dir.join("zookeeper-3.8.0.jar");
        std::fs::write(&jar, b"").unwrap();
        check_version(&jar).unwrap();
    }
}
