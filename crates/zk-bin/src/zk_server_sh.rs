//! zkServer.sh's commands, for operators and init scripts that drive a
//! server with them: `zk-bin start|start-foreground|stop|restart|status|
//! print-cmd [CFG]` print the lines and exit with the statuses Apache
//! ZooKeeper 3.8's `bin/zkServer.sh` does, and use its files: the pid file
//! `dataDir/zookeeper_server.pid` (or `$ZOOPIDFILE`), the daemon's output
//! `$ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out`, its log
//! `zookeeper-$USER-server-$HOSTNAME.log` beside it (`$ZOO_LOG_FILE`).
//!
//! Like the script, it reads zoo.cfg line by line for the few keys it needs
//! (dataDir, the client port and address), not through the config parser:
//! `stop` and `status` must work on a config the server would reject.
//!
//! Where zk-bin does more than the script: `stop` waits for the process
//! to exit (up to `$ZK_STOP_TIMEOUT` seconds, default 30) instead of
//! sleeping one second, so `restart` never starts a second server beside
//! one still shutting down; and the daemon's log goes to the rotating log
//! file rather than to the `.out` file, which keeps only what is written
//! outside the log (a panic, the exit message).

use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::quorum_peer_main::DEFAULT_CONFIG;
use crate::rolling_file_appender::daemon_file_name;

/// The default log directory for `start` without `$ZOO_LOG_DIR`: zkEnv.sh's
/// `$ZOOKEEPER_PREFIX/logs`, relative to the working directory as the
/// default config is.
const DEFAULT_LOG_DIR: &str = "logs";
/// How long `stop` waits for the server to exit by default.
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// `FourLetterWordMain`'s default socket timeout.
const FOUR_LETTER_TIMEOUT: Duration = Duration::from_millis(5000);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The value of the first line of `text` that starts (after blanks) with
/// `key`, as the script's `grep "^[[:space:]]*KEY" | sed -e 's/.*=//'`
/// finds it: what follows the line's last `=`. With `whole_word`, the key
/// must be followed by a non-letter (`KEY[^[:alpha:]]`), so `clientPort`
/// does not find `clientPortAddress`.
fn grep_value(text: &str, key: &str, whole_word: bool) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(key)?;
        if whole_word && rest.chars().next().is_none_or(|c| c.is_alphabetic()) {
            return None;
        }
        let value = line.rsplit('=').next().unwrap_or(line);
        Some(value.trim().to_string())
    })
}

/// What a command needs from zoo.cfg and the environment.
struct Setup {
    cfg: String,
    cfg_text: String,
    data_dir: String,
    pid_file: PathBuf,
    log_dir: PathBuf,
    log_file: String,
    out_file: PathBuf,
}

impl Setup {
    /// The script's preamble: the config, the data directory, the pid file
    /// (creating their directories), the log directory and file names.
    fn new(cfg: &str) -> Result<Setup, String> {
        eprintln!("Using config: {cfg}");
        let cfg_text =
            fs::read_to_string(cfg).map_err(|e| format!("cannot read config {cfg}: {e}"))?;
        let data_dir = grep_value(&cfg_text, "dataDir", false).unwrap_or_default();
        if env("ZOO_DATADIR_AUTOCREATE_DISABLE").is_some() {
            if !Path::new(&data_dir).join("version-2").is_dir() {
                return Err(format!(
                    "ZooKeeper data directory is missing at {data_dir} fix the path or run initialize"
                ));
            }
            if let Some(log_dir) = grep_value(&cfg_text, "dataLogDir", false) {
                if !Path::new(&log_dir).join("version-2").is_dir() {
                    return Err(format!(
                        "ZooKeeper txnlog directory is missing at {log_dir} fix the path or run initialize"
                    ));
                }
            }
        }
        let pid_file = match env("ZOOPIDFILE") {
            Some(file) => {
                let file = PathBuf::from(file);
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let _ = fs::create_dir_all(dir);
                }
                file
            }
            None => {
                let _ = fs::create_dir_all(&data_dir);
                Path::new(&data_dir).join("zookeeper_server.pid")
            }
        };
        let log_dir = PathBuf::from(env("ZOO_LOG_DIR").unwrap_or_else(|| DEFAULT_LOG_DIR.into()));
        let log_file = env("ZOO_LOG_FILE").unwrap_or_else(|| daemon_file_name(&env, "log"));
        let out_file = log_dir.join(daemon_file_name(&env, "out"));
        Ok(Setup {
            cfg: cfg.to_string(),
            cfg_text,
            data_dir,
            pid_file,
            log_dir,
            log_file,
            out_file,
        })
    }

    fn pid(&self) -> Option<u32> {
        fs::read_to_string(&self.pid_file).ok()?.trim().parse().ok()
    }

    /// The JVMFLAGS the daemon gets: the script's `-D`s before the
    /// operator's, so the operator's win (the last `-D` of a key does).
    fn daemon_jvm_flags(&self) -> String {
        let mut flags = String::from("-Dzookeeper.console.threshold=OFF");
        if env("ZOO_DATADIR_AUTOCREATE_DISABLE").is_some() {
            flags.push_str(" -Dzookeeper.datadir.autocreate=false");
        }
        if let Some(user) = env("JVMFLAGS") {
            flags.push(' ');
            flags.push_str(&user);
        }
        flags
    }
}

/// Runs zkServer.sh's `command` with `args` (the optional config file);
/// returns the exit status.
pub fn main(command: &str, args: &[String]) -> u8 {
    if args.len() > 1 {
        eprintln!("zk-bin {command}: expected at most one argument, the config file");
        return 2;
    }
    let cfg = args.first().map_or(DEFAULT_CONFIG, String::as_str);
    if command == "start-foreground" {
        // The script execs the JVM: the server runs in this process, its
        // log to stderr and, with a log directory, to the log file.
        eprintln!("Using config: {cfg}");
        return crate::run_server(Some(cfg));
    }
    let setup = match Setup::new(cfg) {
        Ok(setup) => setup,
        Err(message) => {
            println!("{message}");
            return 1;
        }
    };
    match command {
        "start" => start(&setup),
        "stop" => stop(&setup),
        "restart" => match stop(&setup) {
            0 => start(&setup),
            status => status,
        },
        "status" => status(&setup),
        "print-cmd" => print_cmd(&setup),
        other => {
            eprintln!("Usage: zk-bin {{start|start-foreground|stop|version|restart|status|print-cmd}} [CFG] (not {other})");
            2
        }
    }
}

/// Whether process `pid` is alive (`kill -0` in the script); a zombie
/// waiting for its parent counts as gone.
fn is_running(pid: u32) -> bool {
    if Path::new("/proc/self/stat").exists() {
        return match fs::read_to_string(format!("/proc/{pid}/stat")) {
            // "pid (comm) S ...": the state follows the last ')'.
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z"),
            Err(_) => false,
        };
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn start(setup: &Setup) -> u8 {
    print!("Starting zookeeper ... ");
    let _ = io::stdout().flush();
    if let Some(pid) = setup.pid().filter(|&pid| is_running(pid)) {
        println!("already running as process {pid}.");
        return 1;
    }
    let spawned = fs::create_dir_all(&setup.log_dir)
        .and_then(|()| fs::File::create(&setup.out_file))
        .and_then(|out| {
            let err = out.try_clone()?;
            let exe = std::env::current_exe()?;
            use std::os::unix::process::CommandExt;
            Command::new(exe)
                .arg(&setup.cfg)
                .env("ZOO_LOG_DIR", &setup.log_dir)
                .env("ZOO_LOG_FILE", &setup.log_file)
                .env("JVMFLAGS", setup.daemon_jvm_flags())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                // Its own process group, as nohup and `&` detach the JVM:
                // a Ctrl-C in the shell that ran `start` does not reach it.
                .process_group(0)
                .spawn()
        });
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            println!("SERVER DID NOT START");
            eprintln!("zk-bin: {}: {e}", setup.out_file.display());
            return 1;
        }
    };
    if let Err(e) = fs::write(&setup.pid_file, child.id().to_string()) {
        println!("FAILED TO WRITE PID");
        eprintln!("zk-bin: {}: {e}", setup.pid_file.display());
        return 1;
    }
    // The script's check: alive one second later. Polling lets a server
    // that fails at once (a bad config) report it at once.
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            println!("FAILED TO START");
            eprintln!(
                "zk-bin: the server exited with {status}; see {}",
                setup.out_file.display()
            );
            return 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("STARTED");
    0
}

fn stop(setup: &Setup) -> u8 {
    print!("Stopping zookeeper ... ");
    let _ = io::stdout().flush();
    let Ok(text) = fs::read_to_string(&setup.pid_file) else {
        println!(
            "no zookeeper to stop (could not find file {})",
            setup.pid_file.display()
        );
        return 0;
    };
    let pid = text.trim().parse::<u32>().ok();
    match pid {
        Some(pid) => {
            // kill(1), as the script: its complaint about a stale pid goes
            // to stderr and the stop goes on.
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        None => eprintln!(
            "zk-bin: {} holds no process id: {text:?}",
            setup.pid_file.display()
        ),
    }
    let _ = fs::remove_file(&setup.pid_file);
    if let Some(pid) = pid {
        let timeout = env("ZK_STOP_TIMEOUT")
            .and_then(|s| s.parse().ok())
            .map_or(DEFAULT_STOP_TIMEOUT, Duration::from_secs);
        let deadline = Instant::now() + timeout;
        while is_running(pid) {
            if Instant::now() >= deadline {
                eprintln!("zk-bin: process {pid} still running {timeout:?} after SIGTERM");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    println!("STOPPED");
    0
}

/// The client port and address status asks: `clientPort` and
/// `clientPortAddress`, else `server.MYID=...;[ADDR:]PORT` of the static
/// or dynamic config, else `secureClientPort`; with the lines the script
/// prints on the way (the last of them, when none is found, before it
/// exits 1).
fn client_port(setup: &Setup) -> (Vec<String>, Option<(String, String, bool)>) {
    let mut notes = Vec::new();
    let text = &setup.cfg_text;
    let mut address =
        grep_value(text, "clientPortAddress", true).unwrap_or_else(|| "localhost".into());
    let mut port = grep_value(text, "clientPort", true).unwrap_or_default();
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        port.clear();
        let myid = fs::read_to_string(Path::new(&setup.data_dir).join("myid")).unwrap_or_default();
        let myid = myid.trim();
        if myid.is_empty() || !myid.bytes().all(|b| b.is_ascii_digit()) {
            notes.push("myid could not be determined, will not able to locate clientPort in the server configs.".into());
        } else {
            let server_key = format!("server.{myid}=");
            let client_of = |cfg: &str| {
                cfg.lines()
                    .map(str::trim_start)
                    .find(|l| l.starts_with(&server_key) && l.contains(';'))
                    .map(|l| l.rsplit(';').next().unwrap_or("").trim().to_string())
            };
            let mut found = client_of(text);
            if found.is_none() {
                notes.push(
                    "Client port not found in static config file. Looking in dynamic config file."
                        .into(),
                );
                let dynamic = grep_value(text, "dynamicConfigFile", false).unwrap_or_default();
                found = fs::read_to_string(dynamic).ok().and_then(|d| client_of(&d));
            }
            match found {
                None => notes.push("Client port not found in the server configs".into()),
                Some(spec) => {
                    if let Some((host, p)) = spec.rsplit_once(':') {
                        address = host.trim_start_matches('[').trim_end_matches(']').into();
                        port = p.to_string();
                    } else {
                        port = spec;
                    }
                }
            }
        }
    }
    if !port.is_empty() {
        return (notes, Some((port, address, false)));
    }
    notes.push("Client port not found. Looking for secureClientPort in the static config.".into());
    match grep_value(text, "secureClientPort", true) {
        Some(secure) if !secure.is_empty() => {
            let address = grep_value(text, "secureClientPortAddress", true)
                .unwrap_or_else(|| "localhost".into());
            (notes, Some((secure, address, true)))
        }
        _ => {
            notes.push(
                "Unable to find either secure or unsecure client port in any configs. Terminating."
                    .into(),
            );
            (notes, None)
        }
    }
}

/// `FourLetterWordMain HOST PORT srvr`: the answer, or None when no
/// server answered.
fn srvr(address: &str, port: &str) -> Option<String> {
    let port: u16 = port.parse().ok()?;
    for addr in (address, port).to_socket_addrs().ok()? {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, FOUR_LETTER_TIMEOUT) else {
            continue;
        };
        let _ = stream.set_read_timeout(Some(FOUR_LETTER_TIMEOUT));
        if stream.write_all(b"srvr").is_err() {
            continue;
        }
        let mut answer = String::new();
        if stream.read_to_string(&mut answer).is_ok() {
            return Some(answer);
        }
    }
    None
}

fn status(setup: &Setup) -> u8 {
    let (notes, found) = client_port(setup);
    for note in notes {
        println!("{note}");
    }
    let Some((port, address, ssl)) = found else {
        return 1;
    };
    println!("Client port found: {port}. Client address: {address}. Client SSL: {ssl}.");
    // A TLS port needs the client's key material (CLIENT_JVMFLAGS in the
    // script); zk-bin has no TLS 4lw client, so it says so as the script
    // does when its TLS connection fails.
    let mode = if ssl { None } else { srvr(&address, &port) };
    // `echo $STAT` unquoted: the Mode line with its blanks collapsed.
    let mode = mode.and_then(|answer| {
        answer
            .lines()
            .find(|l| l.contains("Mode"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    });
    match mode {
        Some(line) => {
            println!("{line}");
            0
        }
        None => {
            if ssl {
                println!(" ");
                println!("Note: zk-bin status cannot ask a secureClientPort ({port}): it has no TLS client. Ask the server with a TLS-capable client, e.g. openssl s_client, instead.");
                println!(" ");
            }
            println!("Error contacting service. It is probably not running.");
            1
        }
    }
}

fn print_cmd(setup: &Setup) -> u8 {
    let exe = std::env::current_exe().map_or_else(|_| "zk-bin".into(), |p| p.display().to_string());
    println!(
        "ZOO_LOG_DIR=\"{}\" ZOO_LOG_FILE=\"{}\" JVMFLAGS=\"{}\" \"{exe}\" \"{}\" > \"{}\" 2>&1 < /dev/null",
        setup.log_dir.display(),
        setup.log_file,
        setup.daemon_jvm_flags(),
        setup.cfg,
        setup.out_file.display()
    );
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grep_value_reads_zoo_cfg_as_the_script_does() {
        let cfg = "# c\n  dataDir = /var/zk \nclientPortAddress=127.0.0.2\nclientPort=2181\n";
        assert_eq!(
            grep_value(cfg, "dataDir", false).as_deref(),
            Some("/var/zk")
        );
        assert_eq!(grep_value(cfg, "clientPort", true).as_deref(), Some("2181"));
        assert_eq!(
            grep_value(cfg, "clientPortAddress", true).as_deref(),
            Some("127.0.0.2")
        );
        assert_eq!(grep_value(cfg, "secureClientPort", true), None);
        // After the last '=', as sed 's/.*=//'.
        assert_eq!(
            grep_value("dataDir=a=b\n", "dataDir", false).as_deref(),
            Some("b")
        );
    }

    fn setup(cfg_text: &str, data_dir: &str) -> Setup {
        Setup {
            cfg: "zoo.cfg".into(),
            cfg_text: cfg_text.into(),
            data_dir: data_dir.into(),
            pid_file: PathBuf::from("/nonexistent/pid"),
            log_dir: PathBuf::from("logs"),
            log_file: "zk.log".into(),
            out_file: PathBuf::from("logs/zk.out"),
        }
    }

    #[test]
    fn client_port_from_the_server_line_of_myid() {
        let dir = std::env::temp_dir().join(format!("zk-bin-status-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("myid"), "2\n").unwrap();
        let data_dir = dir.to_str().unwrap();
        let cfg = "server.1=h1:1:2;2181\nserver.2=h2:1:2:participant;[::1]:2182\n";
        assert_eq!(
            client_port(&setup(cfg, data_dir)).1,
            Some(("2182".into(), "::1".into(), false))
        );
        let cfg = "server.2=h2:1:2;127.0.0.3:2183\n";
        assert_eq!(
            client_port(&setup(cfg, data_dir)).1,
            Some(("2183".into(), "127.0.0.3".into(), false))
        );
        let cfg = "server.2=h2:1:2\nsecureClientPort=2281\n";
        assert_eq!(
            client_port(&setup(cfg, data_dir)).1,
            Some(("2281".into(), "localhost".into(), true))
        );
        let (notes, found) = client_port(&setup("server.2=h2:1:2\n", data_dir));
        assert_eq!(found, None);
        assert_eq!(
            notes.last().map(String::as_str),
            Some(
                "Unable to find either secure or unsecure client port in any configs. Terminating."
            )
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn clientport_defaults_to_localhost() {
        assert_eq!(
            client_port(&setup("clientPort=3181\n", "/nonexistent")),
            (vec![], Some(("3181".into(), "localhost".into(), false)))
        );
    }

    #[test]
    fn this_process_is_running_and_a_bogus_pid_is_not() {
        assert!(is_running(std::process::id()));
        assert!(!is_running(u32::MAX - 1));
    }
}
