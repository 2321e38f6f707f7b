//! kazoo's own tests, run by pytest with kazoo's own harness
//! (kazoo/testing/common.py), against Apache 3.8 or against zk-bin.
//!
//! The harness writes each node's zoo.cfg (`clientPort`,
//! `secureClientPort`, `authProvider.1=...SASLAuthenticationProvider`,
//! its TLS stores, `4lw.commands.whitelist=*`, `reconfigEnabled=true`,
//! and for an ensemble `server.N=localhost:...`) and a JAAS file (empty,
//! or a `Server` section with `DigestLoginModule` and
//! `user_super`/`user_jaasuser` when a test sets
//! `ZOOKEEPER_JAAS_AUTH=digest`), and starts each node as
//! `java -cp CP -D... QuorumPeerMain CFG` with the `java` found on `PATH`.
//! For zk-bin a shim `java` earlier on `PATH` runs `zk-bin CFG` with the
//! `-D` flags in `JVMFLAGS` (zk-bin reads them from there as zkServer.sh
//! passes them), its log in `logs/zookeeper-<node dir>.log`.
//!
//! Python with kazoo, pytest, pyjks and pyOpenSSL older than 24.3 (the
//! harness calls `X509.add_extensions`, gone since), and whatever else a
//! test module needs (pure-sasl for SASL), is looked for in
//! `KAZOO_PYTHON`, then `target/kazoo-venv` (what `.ci/run` makes), then
//! `python3`.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use crate::apache::ApacheZk;
use crate::ports::TempDir;
use crate::zk_bin::zk_bin;

/// pytest, a JVM or zk-bin per node, kazoo's 2 s start pause and its
/// connection retries: far less than this on a busy 2-core box.
pub const PYTEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A Python that can run kazoo's harness and import `modules` (Python
/// module names, e.g. `puresasl`), or why not (with the command that
/// makes one).
pub fn find_python(modules: &[&str]) -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/kazoo-venv/bin/python");
    let candidates: Vec<PathBuf> = match std::env::var_os("KAZOO_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![venv, PathBuf::from("python3")],
    };
    let mut probe = "import kazoo.testing.common, pytest, jks, OpenSSL.crypto as c; \
                     assert hasattr(c.X509(), 'add_extensions'), 'pyOpenSSL >= 24.3'"
        .to_string();
    for m in modules {
        probe.push_str(&format!("; import {m}"));
    }
    let mut why = Vec::new();
    for python in candidates {
        match Command::new(&python).args(["-c", &probe]).output() {
            Ok(out) if out.status.success() => return Ok(python),
            Ok(out) => {
                let err = String::from_utf8_lossy(&out.stderr);
                why.push(format!(
                    "{}: {}",
                    python.display(),
                    err.lines().last().unwrap_or("failed")
                ));
            }
            Err(e) => why.push(format!("{}: {e}", python.display())),
        }
    }
    // The pip package of each extra module a caller asked for (the
    // `kerberos` module builds against MIT's headers: libkrb5-dev).
    let extra: Vec<&str> = modules
        .iter()
        .map(|m| match *m {
            "puresasl" => "pure-sasl",
            other => other,
        })
        .filter(|p| *p != "pure-sasl")
        .collect();
    let headers = if modules.contains(&"kerberos") {
        " (kerberos needs libkrb5-dev)"
    } else {
        ""
    };
    Err(format!(
        "no Python with kazoo, pytest, pyjks, pyOpenSSL<24.3, pure-sasl{} ({}); \
         python3 -m venv target/kazoo-venv && target/kazoo-venv/bin/pip install \
         kazoo pytest pyjks 'pyopenssl<24.3' pure-sasl{}{headers}",
        extra
            .iter()
            .map(|p| format!(" and {p}"))
            .collect::<String>(),
        why.join("; "),
        extra.iter().map(|p| format!(" {p}")).collect::<String>(),
    ))
}

/// A base port with the `10 * size + 5` ports above it free on every
/// address (the harness binds its client ports on the wildcard).
fn free_port_block(size: u16) -> Result<u16, String> {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = 10 * size + 5;
    // Start somewhere depending on the pid so parallel test binaries differ.
    let seed = (std::process::id() % 97) as u16;
    for _ in 0..200 {
        let slot = (seed + NEXT.fetch_add(1, Ordering::Relaxed)) % 150;
        let base = 21_000 + slot * 100;
        if (base..base + span).all(|p| TcpListener::bind(("0.0.0.0", p)).is_ok()) {
            return Ok(base);
        }
    }
    Err(format!("no block of {span} free ports in 21000..36000"))
}

/// A `java` that runs zk-bin instead of QuorumPeerMain, for the harness.
/// Its log goes to `logs/zookeeper-<harness dir>.log`: the harness deletes
/// its own dirs at exit, and a failure should show why zk-bin stopped.
/// With `strip_sasl` it drops what kazoo's harness always configures for
/// SASL (`authProvider.1=...SASLAuthenticationProvider`, the JAAS file in
/// `-Djava.security.auth.login.config`).
fn write_java_shim(dir: &Path, logs: &Path, strip_sasl: bool) -> Result<(), String> {
    let bin = zk_bin()?;
    let strip = if strip_sasl {
        "case \"$a\" in -Djava.security.auth.login.config=*) continue;; esac\n"
    } else {
        ""
    };
    let rewrite = if strip_sasl {
        "grep -v '^authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider$' \
         \"$cfg\" > \"$cfg.zk-bin\" && cfg=\"$cfg.zk-bin\"\n"
    } else {
        ""
    };
    let script = format!(
        "#!/bin/sh\n\
         # kazoo's harness runs: java -cp CP -D... QuorumPeerMain CFG.\n\
         # Run zk-bin on CFG with the -D flags in JVMFLAGS.\n\
         flags=\n\
         for a in \"$@\"; do\n\
         {strip}\
         case \"$a\" in -D*) flags=\"$flags $a\";; esac; cfg=\"$a\"; done\n\
         log='{}'/zookeeper-$(basename \"$(dirname \"$cfg\")\").log\n\
         {rewrite}\
         JVMFLAGS=\"$flags\" exec '{}' \"$cfg\" 2>>\"$log\"\n",
        logs.display(),
        bin.display()
    );
    let path = dir.join("java");
    std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Which server the harness starts.
pub enum Server<'a> {
    /// Apache ZooKeeper 3.8, from its jars.
    Apache(&'a ApacheZk),
    /// zk-bin through the `java` shim; `strip_sasl` as for the shim (the
    /// harness's SASL lines taken out).
    ZkBin {
        /// Drop the harness's SASL provider and JAAS file.
        strip_sasl: bool,
    },
}

/// Which kazoo tests to run.
pub struct KazooTests<'a> {
    /// The module, e.g. `kazoo.tests.test_sasl`.
    pub module: &'a str,
    /// pytest's `-k` expression.
    pub filter: &'a str,
    /// How many must pass (pytest's "N passed").
    pub passed: usize,
}

/// Runs `tests` with `size` nodes of `server`; returns pytest's output when
/// exactly the expected number passed and none failed. pytest runs in its
/// own process group, killed (with every node it started) when it
/// overruns or leaves something behind.
pub fn run_kazoo_tests(
    server: Server<'_>,
    size: u16,
    tests: &KazooTests<'_>,
    python: &Path,
    env: &[(&str, std::ffi::OsString)],
) -> Result<String, String> {
    let work = TempDir::new("zk-kazoo").map_err(|e| e.to_string())?;
    let base = free_port_block(size)?;
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
        .args(["--pyargs", tests.module, "-k", tests.filter])
        .current_dir(work.path())
        .env("ZOOKEEPER_VERSION", "3.8.0")
        .env("ZOOKEEPER_PORT_OFFSET", base.to_string())
        .env("ZOOKEEPER_CLUSTER_SIZE", size.to_string())
        .env("TMPDIR", work.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    match server {
        Server::Apache(zk) => {
            cmd.env("ZOOKEEPER_CLASSPATH", zk.classpath());
            let java_dir = zk.java_path().parent().unwrap_or(Path::new("/usr/bin"));
            cmd.env("PATH", prepend_path(java_dir));
        }
        Server::ZkBin { strip_sasl } => {
            let shim = work.join("shim");
            std::fs::create_dir(&shim).map_err(|e| e.to_string())?;
            let logs = work.join("logs");
            std::fs::create_dir(&logs).map_err(|e| e.to_string())?;
            write_java_shim(&shim, &logs, strip_sasl)?;
            // The harness insists on a class path or install path; the shim ignores it.
            cmd.env("ZOOKEEPER_CLASSPATH", "unused-by-zk-bin")
                .env("PATH", prepend_path(&shim));
        }
    }
    let (ok, output) = run_in_group(cmd, PYTEST_TIMEOUT)?;
    let want = format!("{} passed", tests.passed);
    // pytest's last line on stdout (stderr follows it in `output`).
    let summary = pytest_summary(&output);
    if ok && summary.starts_with(&want) && !summary.contains("failed") {
        return Ok(output);
    }
    let tail: Vec<&str> = output.lines().rev().take(40).collect();
    Err(format!(
        "kazoo {} -k '{}' ({size} node(s), ports from {base}): expected {want}.\n\
         --- the servers' errors (first 20) ---\n{}\n--- pytest (last 40 lines) ---\n{}",
        tests.module,
        tests.filter,
        server_errors(work.path()).join("\n"),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// pytest's summary line (`4 passed, 2 deselected, 9 warnings in 5.54s`).
fn pytest_summary(output: &str) -> &str {
    output
        .lines()
        .rev()
        .find(|l| {
            let l = l.trim_matches(|c| c == '=' || c == ' ');
            l.split_whitespace()
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok())
                && [" passed", " failed", " error", " skipped", " deselected"]
                    .iter()
                    .any(|w| l.contains(w))
        })
        .map_or("", |l| l.trim_matches(|c| c == '=' || c == ' '))
}

/// ERROR lines of every `zookeeper*.log` under `dir` (the shim's logs,
/// and any the harness has not deleted yet), at most 20.
fn server_errors(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("zookeeper") && n.ends_with(".log"))
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                found.extend(
                    text.lines()
                        .filter(|l| l.contains("ERROR"))
                        .map(|l| format!("{}: {l}", path.display())),
                );
            }
        }
    }
    found.truncate(20);
    found
}

fn prepend_path(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries have no separator")
}

/// Runs `cmd` (a process group leader) to completion or `timeout`, then
/// kills whatever is left of its group; returns success and the output.
fn run_in_group(mut cmd: Command, timeout: Duration) -> Result<(bool, String), String> {
    let mut child = cmd.spawn().map_err(|e| format!("cannot run pytest: {e}"))?;
    let pgid = child.id();
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The harness stops its nodes at exit; a timeout or crash would leave
    // them running. The group is this test's alone.
    let _ = kill_group(pgid);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let output = format!(
        "{}{}",
        out_t.join().unwrap_or_default(),
        err_t.join().unwrap_or_default()
    );
    match status {
        Some(status) => Ok((status.success(), output)),
        None => Err(format!(
            "pytest did not finish within {timeout:?}:\n{output}"
        )),
    }
}

/// `kill -KILL -- -PGID`: the whole group.
fn kill_group(pgid: u32) -> Result<(), String> {
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// What a test binary runs: `tests` against `server` (`apache`, `zk-bin`,
/// or `zk-bin without SASL lines`) with `size` nodes, printing the result,
/// or SKIPPED when Python/kazoo/`modules` (or, for Apache, the jars) are
/// missing. Panics with pytest's output on a failure.
pub fn check(server: &str, size: u16, tests: &KazooTests<'_>, modules: &[&str]) {
    check_with_env(server, size, tests, modules, &[]);
}

/// [`check`] with `env` added to pytest's environment (and so to every
/// node's it starts): a Kerberos realm's, say.
pub fn check_with_env(
    server: &str,
    size: u16,
    tests: &KazooTests<'_>,
    modules: &[&str],
    env: &[(&str, std::ffi::OsString)],
) {
    let python = match find_python(modules) {
        Ok(p) => p,
        Err(why) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    let result = match server {
        "apache" => match ApacheZk::find() {
            Ok(zk) => run_kazoo_tests(Server::Apache(&zk), size, tests, &python, env),
            Err(why) => {
                println!("SKIPPED: {why}");
                return;
            }
        },
        "zk-bin" => run_kazoo_tests(
            Server::ZkBin { strip_sasl: false },
            size,
            tests,
            &python,
            env,
        ),
        _ => run_kazoo_tests(
            Server::ZkBin { strip_sasl: true },
            size,
            tests,
            &python,
            env,
        ),
    };
    match result {
        Ok(out) => println!(
            "kazoo {} -k '{}' passed against {server} ({size} node(s)): {}",
            tests.module,
            tests.filter,
            pytest_summary(&out)
        ),
        Err(e) => panic!("{e}"),
    }
}
