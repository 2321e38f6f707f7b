//! Finds (building it if needed) the `zk-bin` executable of this workspace,
//! for tests that run it as a separate process.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `zk-bin` binary of the same build profile as the running test (or
/// tool, such as `zk-bench`: a release build of it gets a release zk-bin).
/// `cargo test --workspace` builds it already; otherwise it is built once.
pub fn zk_bin() -> Result<PathBuf, String> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // A test runs as target/<profile>/deps/<test>, a tool of this crate
        // (zk-bench) as target/<profile>/<tool>; zk-bin is target/<profile>/zk-bin.
        let dir = exe
            .parent()
            .ok_or("cannot tell the target directory from the test's path")?;
        let profile_dir = if dir.file_name().is_some_and(|n| n == "deps") {
            dir.parent()
                .ok_or("cannot tell the target directory from the test's path")?
        } else {
            dir
        };
        let bin = profile_dir.join("zk-bin");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "-p", "zk-bin"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        if release {
            build.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            build.env("CARGO_TARGET_DIR", target_dir);
        }
        // Cargo decides whether anything changed; this is quick when the
        // workspace build already made it.
        let out = build
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo build -p zk-bin failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if bin.exists() {
            Ok(bin)
        } else {
            Err(format!("{} was not built", bin.display()))
        }
    })
    .clone()
}

/// Runs `zk-bin ARGS` and returns its stdout, or stderr as the error.
pub fn run_zk_bin(args: &[&str]) -> Result<String, String> {
    let out = Command::new(zk_bin()?)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run zk-bin: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "zk-bin {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A `zk-bin` server process on 127.0.0.1, killed (SIGKILL) and reaped when
/// dropped, so a failing test leaves no server behind.
pub struct ZkBinServer {
    child: std::process::Child,
    /// The client address on loopback.
    pub addr: std::net::SocketAddr,
    /// Where the process's stderr (its log) goes.
    log_path: std::path::PathBuf,
}

impl ZkBinServer {
    /// Starts `zk-bin` with a zoo.cfg in `work` (data in `work/data`,
    /// admin server off, plus the `extra` lines) on `port`, and waits until
    /// `srvr` says it serves. The server's log goes to `work/server.log`.
    pub fn start(work: &crate::ports::TempDir, port: u16, extra: &str) -> Result<Self, String> {
        Self::start_with_env(work, port, extra, &[])
    }

    /// As [`ZkBinServer::start`], with environment variables for the
    /// process, e.g. `JVMFLAGS=-Dznode.container.checkIntervalMs=100` for
    /// the properties 3.8 reads only from the JVM's command line.
    pub fn start_with_env(
        work: &crate::ports::TempDir,
        port: u16,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        use std::time::{Duration, Instant};
        let cfg = work.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPortAddress=127.0.0.1\nclientPort={port}\n\
                 admin.enableServer=false\n{extra}\n",
                work.join("data").display()
            ),
        )
        .map_err(|e| format!("cannot write {}: {e}", cfg.display()))?;
        let log_path = work.join("server.log");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let child = Command::new(zk_bin()?)
            .arg(&cfg)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start zk-bin: {e}"))?;
        let server = ZkBinServer {
            child,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            log_path: log_path.clone(),
        };
        let mut server = server;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.try_wait() {
                return Err(format!(
                    "zk-bin exited with {status} before serving on {}; log:\n{}",
                    server.addr,
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            let answer = crate::apache::four_letter(server.addr, "srvr", Duration::from_secs(2));
            if matches!(&answer, Ok(a) if a.starts_with("Zookeeper version")) {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "zk-bin did not serve on {} within 30 s; log:\n{}",
                    server.addr,
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process id (for reading its /proc status).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `zk-bin CFG` without waiting for it to serve: a member of a
    /// replicated ensemble serves only once a quorum has formed. The caller
    /// writes the whole zoo.cfg (and `dataDir/myid`); `addr` is its client
    /// address, and the log (stderr) is appended to `log_path`.
    pub fn spawn(
        cfg: &std::path::Path,
        addr: std::net::SocketAddr,
        log_path: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        Self::spawn_bin(&zk_bin()?, cfg, addr, log_path, env, None)
    }

    /// [`ZkBinServer::spawn`] of a given zk-bin executable (e.g. one built
    /// with failpoints, [`crate::failpoints::zk_bin_with_failpoints`]),
    /// the process running as `run_as`'s `(uid, gid)` when given (the test
    /// runs as root; fault injection tells nodes apart by the owner of
    /// their sockets).
    pub fn spawn_bin(
        bin: &std::path::Path,
        cfg: &std::path::Path,
        addr: std::net::SocketAddr,
        log_path: &std::path::Path,
        env: &[(&str, &str)],
        run_as: Option<(u32, u32)>,
    ) -> Result<Self, String> {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let mut cmd = Command::new(bin);
        cmd.arg(cfg)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log);
        if let Some((uid, gid)) = run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start zk-bin: {e}"))?;
        Ok(ZkBinServer {
            child,
            addr,
            log_path: log_path.to_path_buf(),
        })
    }

    /// The file the server logs to.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log_path
    }

    /// The log so far (empty when it cannot be read).
    pub fn log_text(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The exit status if the process has ended (reaping it), else `None`.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until `srvr` answers with the version (the server accepts
    /// sessions), failing early if the process exits.
    pub fn wait_serving(&mut self, timeout: std::time::Duration) -> Result<(), String> {
        use std::time::{Duration, Instant};
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Err(format!(
                    "zk-bin exited with {status} before serving on {}; log {}:\n{}",
                    self.addr,
                    self.log_path.display(),
                    self.log_text()
                ));
            }
            let answer = crate::apache::four_letter(self.addr, "srvr", Duration::from_secs(2));
            if matches!(&answer, Ok(a) if a.starts_with("Zookeeper version")) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "zk-bin did not serve on {} within {timeout:?}; log {}:\n{}",
                    self.addr,
                    self.log_path.display(),
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, as an operator stops it, then waits (at most `timeout`)
    /// for the process to exit; past that it is killed and the error says so.
    pub fn terminate(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<std::process::ExitStatus, String> {
        if let Some(status) = self.try_wait() {
            return Ok(status);
        }
        send_signal(self.child.id(), "TERM")?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Ok(status);
            }
            if std::time::Instant::now() >= deadline {
                self.kill_9();
                return Err(format!(
                    "zk-bin (pid {}) did not exit within {timeout:?} of SIGTERM; killed",
                    self.child.id()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash would stop it; waits for the process to be gone.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `SIG<name>` (TERM, STOP, CONT, ...) to `pid` with kill(1), which
/// keeps this crate free of libc for three signals.
pub fn send_signal(pid: u32, name: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .map_err(|e| format!("cannot run kill -{name} {pid}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -{name} {pid} failed ({status})"))
    }
}

impl Drop for ZkBinServer {
    fn drop(&mut self) {
        self.kill_9();
    }
}
