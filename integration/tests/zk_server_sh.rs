//! `zk-bin start|status|stop|restart` as Apache ZooKeeper 3.8's
//! `bin/zkServer.sh`:
//!
//! - on zk-bin alone: the exit statuses and lines of start, start again
//!   (already running), status (standalone), stop, stop again (nothing to
//!   stop), status when stopped; the pid file holds the daemon's pid and
//!   is gone after stop, which returns only once the process has exited;
//!   restart gives a new process; the daemon's log file rolls at a small
//!   `zookeeper.log.maxfilesize`, keeping `zookeeper.log.maxbackupindex`
//!   old files;
//! - where Debian's `/usr/share/zookeeper/bin/zkServer.sh` and Java are
//!   installed, the same steps through the script (a copy beside a zkEnv.sh
//!   pointing at a scratch directory) must print the same lines, with the
//!   port, pid and paths in their places, and exit with the same statuses.
//!
//! A `status` right after `start` may find the server not yet serving (the
//! script's start waits only one second): both are polled until they
//! report a mode, within a bound.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use integration::apache::{four_letter, run_bounded, ApacheZk};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::zk_bin;

const STEP: Duration = Duration::from_secs(60);
const SERVING: Duration = Duration::from_secs(60);
const DEBIAN_SCRIPT: &str = "/usr/share/zookeeper/bin/zkServer.sh";

/// What runs the commands: zk-bin itself, or a copy of zkServer.sh.
enum Runner {
    ZkBin(PathBuf),
    Script(PathBuf),
}

/// One server's scratch directory, its zoo.cfg and its runner; kills the
/// pid file's process when dropped, so a failing test leaves none behind.
struct Service {
    dir: TempDir,
    runner: Runner,
    port: u16,
    env: Vec<(String, String)>,
}

impl Service {
    fn new(prefix: &str, runner: impl FnOnce(&TempDir) -> Runner) -> Service {
        let dir = TempDir::new(prefix).unwrap();
        let port = free_port().unwrap();
        std::fs::write(
            dir.join("zoo.cfg"),
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nadmin.enableServer=false\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let runner = runner(&dir);
        Service {
            dir,
            runner,
            port,
            env: vec![
                ("USER".into(), "tester".into()),
                ("HOSTNAME".into(), "testhost".into()),
                ("JMXDISABLE".into(), "true".into()),
            ],
        }
    }

    fn cfg(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("data/zookeeper_server.pid")
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `COMMAND CFG`: its exit status and stdout.
    fn run(&self, command: &str) -> (i32, String) {
        let mut cmd = match &self.runner {
            Runner::ZkBin(bin) => Command::new(bin),
            Runner::Script(script) => {
                let mut c = Command::new("bash");
                c.arg(script);
                c
            }
        };
        cmd.arg(command)
            .arg(self.cfg())
            .current_dir(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let (status, out, err) = run_bounded(cmd, STEP)
            .unwrap_or_else(|e| panic!("{command} did not finish within {STEP:?}: {e}"));
        let code = status.code().unwrap_or(-1);
        eprintln!(
            "{command} -> {code}: {:?} (stderr {:?})",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        (code, String::from_utf8_lossy(&out).into_owned())
    }

    /// The output with this service's port, pid and directory as
    /// placeholders, so two services' lines compare.
    fn normalized(&self, text: &str, pid: Option<u32>) -> String {
        let mut text = text.replace(&self.dir.path().display().to_string(), "<DIR>");
        text = text.replace(&self.port.to_string(), "<PORT>");
        if let Some(pid) = pid {
            text = text.replace(&format!("process {pid}."), "process <PID>.");
        }
        text
    }

    /// Polls `status` until it exits 0 (serving) or the bound passes.
    fn status_when_serving(&self) -> (i32, String) {
        let deadline = Instant::now() + SERVING;
        loop {
            let (code, out) = self.run("status");
            if code == 0 || Instant::now() >= deadline {
                return (code, out);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // Only a process started on this service's config: a stale pid
        // file's number may belong to someone else by now.
        let cfg = self.cfg().display().to_string();
        if let Some(pid) = self.pid() {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&cfg) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            .is_some_and(|s| s != "Z"),
        Err(_) => false,
    }
}

fn wait_gone(pid: u32, bound: Duration) -> bool {
    let deadline = Instant::now() + bound;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The six steps both must agree on, as (status, normalized stdout).
fn steps(service: &Service) -> Vec<(&'static str, i32, String)> {
    let mut seen = Vec::new();
    let (code, out) = service.run("start");
    let pid = service.pid();
    seen.push(("start", code, service.normalized(&out, pid)));
    let (code, out) = service.run("start");
    seen.push(("start again", code, service.normalized(&out, pid)));
    let (code, out) = service.status_when_serving();
    seen.push(("status", code, service.normalized(&out, pid)));
    let (code, out) = service.run("stop");
    seen.push(("stop", code, service.normalized(&out, pid)));
    // The script only sleeps a second after its kill; the JVM may take
    // longer to exit, and status must then find nothing.
    if let Some(pid) = pid {
        assert!(
            wait_gone(pid, STEP),
            "process {pid} still running after stop"
        );
    }
    let (code, out) = service.run("stop");
    seen.push(("stop again", code, service.normalized(&out, pid)));
    let (code, out) = service.run("status");
    seen.push(("status when stopped", code, service.normalized(&out, pid)));
    seen
}

fn zk_bin_service(prefix: &str) -> Option<Service> {
    let bin = match zk_bin() {
        Ok(bin) => bin,
        Err(e) => {
            println!("skipped: {e}");
            return None;
        }
    };
    let mut service = Service::new(prefix, |_| Runner::ZkBin(bin));
    let logs = service.dir.join("logs").display().to_string();
    service.env.push(("ZOO_LOG_DIR".into(), logs));
    Some(service)
}

#[test]
fn start_status_stop_as_zk_server_sh() {
    let Some(mut service) = zk_bin_service("zk-server-sh") else {
        return;
    };
    service.env.push((
        "SERVER_JVMFLAGS".into(),
        "-Dzookeeper.log.maxfilesize=2KB -Dzookeeper.log.maxbackupindex=3".into(),
    ));
    // Debug records make the startup alone write several 2 KB files.
    service.env.push(("RUST_LOG".into(), "debug".into()));
    let seen = steps(&service);
    let expected = [
        ("start", 0, "Starting zookeeper ... STARTED\n"),
        (
            "start again",
            1,
            "Starting zookeeper ... already running as process <PID>.\n",
        ),
        (
            "status",
            0,
            "Client port found: <PORT>. Client address: localhost. Client SSL: false.\nMode: standalone\n",
        ),
        ("stop", 0, "Stopping zookeeper ... STOPPED\n"),
        (
            "stop again",
            0,
            "Stopping zookeeper ... no zookeeper to stop (could not find file <DIR>/data/zookeeper_server.pid)\n",
        ),
        (
            "status when stopped",
            1,
            "Client port found: <PORT>. Client address: localhost. Client SSL: false.\nError contacting service. It is probably not running.\n",
        ),
    ];
    for ((step, code, out), (want_step, want_code, want_out)) in seen.iter().zip(expected) {
        assert_eq!(*step, want_step);
        assert_eq!((*code, out.as_str()), (want_code, want_out), "step {step}");
    }
    assert!(!service.pid_file().exists(), "stop leaves no pid file");

    let log = service
        .dir
        .join("logs/zookeeper-tester-server-testhost.log");
    let backup = |i: u32| PathBuf::from(format!("{}.{i}", log.display()));
    assert!(log.is_file(), "{} missing", log.display());
    assert!(
        backup(1).is_file(),
        "the log did not roll: no {}",
        backup(1).display()
    );
    assert!(!backup(4).exists(), "maxbackupindex=3 keeps at most .3");
    let size = std::fs::metadata(backup(1)).unwrap().len();
    assert!(
        (2048..2048 + 4096).contains(&size),
        "{} is {size} bytes, not about the 2 KB limit",
        backup(1).display()
    );
    let out = service
        .dir
        .join("logs/zookeeper-tester-server-testhost.out");
    assert!(out.is_file(), "{} missing", out.display());

    // restart: stop (waiting for the exit), then a new daemon.
    let (code, _) = service.run("start");
    assert_eq!(code, 0);
    let first = service.pid().expect("pid file after start");
    let (code, out) = service.run("restart");
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "Stopping zookeeper ... STOPPED\nStarting zookeeper ... STARTED\n"
        )
    );
    let second = service.pid().expect("pid file after restart");
    assert_ne!(first, second, "restart kept process {first}");
    assert!(!alive(first), "restart left process {first} running");
    let (code, out) = service.status_when_serving();
    assert_eq!((code, out.lines().last()), (0, Some("Mode: standalone")));
    version_as_3_8_reports_it(&service);
    let (code, _) = service.run("stop");
    assert_eq!(code, 0);
    assert!(
        !alive(second),
        "stop returned with process {second} running"
    );
}

/// `zk-bin --version` as `zkServer.sh version` prints it, and srvr's
/// first line in 3.8's form ("Zookeeper version: 3.8.x-REV, built on
/// yyyy-MM-dd HH:mm UTC"), with the same version and build.
fn version_as_3_8_reports_it(service: &Service) {
    let Runner::ZkBin(bin) = &service.runner else {
        unreachable!("a zk-bin service")
    };
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    let rest = line
        .strip_prefix("Apache ZooKeeper, version ")
        .unwrap_or_else(|| panic!("--version printed {line:?}"));
    let (version, date) = rest.split_once(' ').expect("version and date");
    assert!(version.starts_with("3.8.0-zk-rs-"), "{line}");
    let addr = format!("127.0.0.1:{}", service.port).parse().unwrap();
    let srvr = four_letter(addr, "srvr", Duration::from_secs(10)).unwrap();
    let first = srvr.lines().next().unwrap_or("");
    assert_eq!(
        first,
        format!("Zookeeper version: {version}, built on {date}")
    );
    let d = date.as_bytes();
    assert!(
        d.len() == 20 && date.ends_with(" UTC") && d[4] == b'-' && d[10] == b' ' && d[13] == b':',
        "build date {date:?} is not yyyy-MM-dd HH:mm UTC"
    );
}

/// A start whose server cannot run (a config it rejects) says so.
#[test]
fn start_of_a_bad_config_fails() {
    let Some(service) = zk_bin_service("zk-server-sh-bad") else {
        return;
    };
    std::fs::write(
        service.cfg(),
        format!(
            "dataDir={}\nclientPort=notaport\n",
            service.dir.join("data").display()
        ),
    )
    .unwrap();
    let (code, out) = service.run("start");
    assert_eq!(
        (code, out.as_str()),
        (1, "Starting zookeeper ... FAILED TO START\n")
    );
}

/// A zkServer.sh copy whose zkEnv.sh points at `dir` and `apache`'s Java.
fn script_in(dir: &Path, apache: &ApacheZk) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(DEBIAN_SCRIPT, bin.join("zkServer.sh")).unwrap();
    std::fs::write(
        bin.join("zkEnv.sh"),
        format!(
            "ZOOCFGDIR={dir}\nZOOCFG={dir}/zoo.cfg\nZOO_LOG_DIR={dir}/logs\nJAVA={java}\nCLASSPATH=\"{cp}\"\n",
            dir = dir.display(),
            java = apache.java_path().display(),
            cp = apache.classpath()
        ),
    )
    .unwrap();
    bin.join("zkServer.sh")
}

#[test]
fn same_lines_and_statuses_as_debian_zk_server_sh() {
    if !Path::new(DEBIAN_SCRIPT).is_file() {
        println!("skipped: {DEBIAN_SCRIPT} is not installed (apt-get install zookeeper)");
        return;
    }
    let apache = match ApacheZk::find() {
        Ok(apache) => apache,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let Some(ours) = zk_bin_service("zk-server-sh-ours") else {
        return;
    };
    let theirs = Service::new("zk-server-sh-apache", |dir| {
        Runner::Script(script_in(dir.path(), &apache))
    });
    let ours_seen = steps(&ours);
    let theirs_seen = steps(&theirs);
    for (o, t) in ours_seen.iter().zip(&theirs_seen) {
        assert_eq!(o, t, "zk-bin and zkServer.sh differ at {}", o.0);
    }
    assert_eq!(ours_seen.len(), theirs_seen.len());
    // Both served: the comparison is of a running server, not two failures.
    assert_eq!(
        theirs_seen[2].1, 0,
        "zkServer.sh status: {:?}",
        theirs_seen[2]
    );
}
