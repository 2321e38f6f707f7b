//! `zk-bin`: the server's entry point (`QuorumPeerMain`) and the
//! data-directory tools that ship with Apache ZooKeeper.
//!
//! ```text
//! zk-bin [CFG]                                 run the server (default conf/zoo.cfg)
//! zk-bin start|start-foreground|stop|restart|status|print-cmd [CFG]
//!                                              like zkServer.sh
//! zk-bin version | --version                   like zkServer.sh version
//! zk-bin snapshot-dump [-d] [--json] FILE      like SnapshotFormatter
//! zk-bin txnlog-dump [-dhrvyc] FILE [-z ZXID]  like TxnLogToolkit: dump, recover, chop
//! zk-bin snapshot-compare -l L -r R -b N -n N  like SnapshotComparer
//! zk-bin snapshot-summary FILE NODE DEPTH      like 3.9's SnapshotRecursiveSummary
//! zk-bin purge DATADIR [DATALOGDIR] -n COUNT   like zkCleanup.sh
//! ```
//!
//! This file only dispatches: each mode lives in the module named after the
//! Java class it stands in for. The tools read files with zk-persistence
//! and print exactly what the Java tools print for the same files, which
//! `tests/tools.rs` checks against the real tools when Java is installed.

mod command_line;
mod java_dates;
mod java_hash_order;
mod log_chopper;
mod purge_txn_log;
mod quorum_peer_main;
mod rolling_file_appender;
mod snapshot_comparer;
mod snapshot_formatter;
mod snapshot_recursive_summary;
#[cfg(test)]
mod test_trees;
mod txn_log_toolkit;
mod version_info_main;
mod zk_server_sh;

use std::process::ExitCode;

const USAGE: &str = "\
usage:
  zk-bin [CFG]                                 QuorumPeerMain: run the server from CFG
                                               (default conf/zoo.cfg, relative to the
                                               working directory); with server.N lines
                                               and a myid file, a member of a replicated
                                               ensemble (leader election and Zab as 3.8)
  zk-bin snapshot-dump [-d|--json] FILE        print a snapshot as SnapshotFormatter does:
                                               znodes with their stats (-d: data in base64),
                                               sessions, last zxid; --json: ncdu JSON
  zk-bin txnlog-dump [-d|--dump] FILE          print a txn log as TxnLogToolkit --dump does
  zk-bin txnlog-dump -r [-y] [-v] FILE         TxnLogToolkit's recovery: copy FILE to FILE.fixed
                                               with the checksum of each damaged entry fixed,
                                               asking Yes/No/Abort for each (-y: fix all;
                                               -v: print every entry, not just damaged ones)
  zk-bin txnlog-dump -c -z ZXID FILE           TxnLogToolkit's chop: copy FILE's entries up to
                                               ZXID (0x... or decimal) to FILE.chopped<ZXID>
  zk-bin snapshot-compare -l LEFT -r RIGHT -b BYTES -n NODES [-d] [-i]
                                               SnapshotComparer: the nodes added, removed or
                                               changed by more than BYTES of data or NODES
                                               descendants, depth by depth (-i: interactively;
                                               -d: every comparison); long forms --left,
                                               --right, --bytes, --nodes, --debug, --interactive
  zk-bin snapshot-summary FILE NODE MAX_DEPTH  3.9's SnapshotRecursiveSummary: descendants and
                                               data bytes below NODE and each inner node under
                                               it, MAX_DEPTH levels deep (0: all)
  zk-bin purge DATADIR [DATALOGDIR] -n COUNT   as zkCleanup.sh/PurgeTxnLog: keep the COUNT
                                               newest snapshots (COUNT >= 3) and the logs
                                               they need, delete older ones
  zk-bin start [CFG]                           as zkServer.sh start: run the server in the
                                               background (pid in dataDir/zookeeper_server.pid
                                               or $ZOOPIDFILE, output in $ZOO_LOG_DIR, default
                                               ./logs); 1 if already running
  zk-bin start-foreground [CFG]                as zkServer.sh start-foreground (= zk-bin CFG)
  zk-bin stop [CFG]                            SIGTERM the pid file's server, wait for it to
                                               exit (up to $ZK_STOP_TIMEOUT s, default 30)
  zk-bin restart [CFG]                         stop, then start
  zk-bin status [CFG]                          ask the server (srvr) for its Mode; 1 if none
  zk-bin print-cmd [CFG]                       the command line start runs
  zk-bin version | --version                   as zkServer.sh version
  zk-bin help | --help                         this text

The dumps list nodes and sessions in the order Apache ZooKeeper 3.8's tools
do, and print times in UTC. txnlog-dump, snapshot-compare and snapshot-summary
exit as the Java tools do (txnlog-dump: 1 unreadable file, bad option or
partial entry, 2 not a txn log, 0 after a chop whatever its outcome, which it
prints; snapshot-compare: 2 bad options, 1 unreadable file; snapshot-summary:
2 bad arguments, 1 unreadable file or no such node); snapshot-dump and
purge exit with status 2 on errors; the server with 3.8's ExitCode values:
1 unexpected error, 2 invalid config or arguments, 3 data directory not
accessible, 14 election port not bindable.
Logging goes to stderr, filtered by RUST_LOG (default info for the server,
warn for the tools), e.g. RUST_LOG=debug zk-bin conf/zoo.cfg. With
-Dzookeeper.log.dir=DIR in JVMFLAGS/SERVER_JVMFLAGS (or ZOO_LOG_DIR) the
server also logs to DIR/zookeeper-$USER-server-$HOSTNAME.log (or
zookeeper.log.file/ZOO_LOG_FILE), rolled at zookeeper.log.maxfilesize
(default 256MB) keeping zookeeper.log.maxbackupindex (default 20) old files,
as 3.8's logback.xml does; -Dzookeeper.console.threshold=OFF leaves stderr
out.";

/// Hands the build script's stamp to zk-server's version, which every
/// version answer (`srvr`, `mntr`, `envi`, `zk-bin version`) reads.
fn stamp_build() {
    zk_server::commands::set_build(env!("ZK_BUILD_COMMIT"), env!("ZK_BUILD_DATE"));
}

fn main() -> ExitCode {
    stamp_build();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tool = |run: fn(&[String]) -> Result<(), String>| {
        init_logging("warn");
        run(&args[1..])
    };
    let result = match args.first().map(String::as_str) {
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("snapshot-dump") => tool(snapshot_formatter::run),
        Some("txnlog-dump") => {
            // The toolkit's own exit statuses (0, 1 or 2), as 3.8 gives them.
            init_logging("warn");
            return ExitCode::from(txn_log_toolkit::main(&args[1..]));
        }
        Some("snapshot-compare") => {
            init_logging("warn");
            return ExitCode::from(snapshot_comparer::main(&args[1..]));
        }
        Some("snapshot-summary") => {
            init_logging("warn");
            return ExitCode::from(snapshot_recursive_summary::main(&args[1..]));
        }
        Some("purge") => tool(purge_txn_log::run),
        Some("version" | "--version") => {
            println!("{}", version_info_main::line());
            Ok(())
        }
        Some(
            command @ ("start" | "start-foreground" | "stop" | "restart" | "status" | "print-cmd"),
        ) => return ExitCode::from(zk_server_sh::main(command, &args[1..])),
        Some(flag) if flag.starts_with('-') => Err(format!("unknown option {flag}\n{USAGE}")),
        Some(_) if args.len() > 1 => Err(format!(
            "expected one argument, the config file; got {}\n{USAGE}",
            args.len()
        )),
        cfg => return ExitCode::from(run_server(cfg)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zk-bin: {message}");
            ExitCode::from(2)
        }
    }
}

/// `QuorumPeerMain.main`: the server from `cfg` in this process, logging
/// to stderr and the log file its settings name; returns the exit status.
fn run_server(cfg: Option<&str>) -> u8 {
    let settings = rolling_file_appender::LogSettings::resolve(
        &quorum_peer_main::jvm_flag_properties(),
        |k| std::env::var(k).ok(),
    );
    init_server_logging(&settings);
    // After the failpoints' hook, which it calls first: a
    // failpoint's panic aborts, any other exits 1.
    #[cfg(feature = "failpoints")]
    let _failpoints = failpoints::setup();
    stop_on_panic();
    log::info!("{}", version_info_main::line());
    let run = quorum_peer_main::QuorumPeerMain::initialize_and_run(
        cfg.unwrap_or(quorum_peer_main::DEFAULT_CONFIG),
    );
    match run {
        Ok(()) => {
            log::info!("Exiting normally");
            0
        }
        Err(failure) => {
            log::error!("{} (exit status {})", failure.message, failure.status as u8);
            eprintln!("zk-bin: {}", failure.message);
            failure.status as u8
        }
    }
}

/// The server's logger: stderr unless turned off, and the rolling log
/// file when a log directory is set. A log file that cannot be opened is
/// said on stderr, and the server runs on with stderr alone.
fn init_server_logging(settings: &rolling_file_appender::LogSettings) {
    use rolling_file_appender::{LogTarget, RollingFileAppender};
    let mut problems = settings.warnings.clone();
    let file = settings.file.as_ref().and_then(|path| {
        RollingFileAppender::open(path, settings.max_file_size, settings.max_backup_index)
            .map_err(|e| problems.push(format!("cannot open the log file {}: {e}", path.display())))
            .ok()
    });
    let console = settings.console || file.is_none();
    if let Some(path) = settings.file.as_ref().filter(|_| file.is_some()) {
        eprintln!("zk-bin: logging to {}", path.display());
    }
    init_logging_to(
        "info",
        env_logger::Target::Pipe(Box::new(LogTarget { console, file })),
    );
    for problem in problems {
        log::warn!("{problem}");
    }
}

/// A panic anywhere in the server stops the process with 3.8's
/// UNEXPECTED_ERROR status, as 3.8's `ZooKeeperCriticalThread` does for an
/// uncaught exception: a panic is a broken invariant (the libraries assert
/// theirs), and it ends only its own thread, which would leave a server
/// serving without, say, its CommitProcessor. Fail-stop keeps the
/// acknowledged data safe; the peers go on without this one.
fn stop_on_panic() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("?");
        let status = quorum_peer_main::ExitStatus::UnexpectedError as i32;
        log::error!("Severe unrecoverable error, from thread : {name}: {info}; exiting with status {status}");
        std::process::exit(status);
    }));
}

/// Failpoints of a build with the `failpoints` feature
/// (`zk_persistence::failpoint`).
#[cfg(feature = "failpoints")]
mod failpoints {
    /// Reads `FAILPOINTS` and makes a failpoint's `panic` abort the
    /// process: a panic ends only its own thread, and a server whose
    /// SyncThread died would go on half alive, which is not the crash the
    /// test asked for. The returned guard must live as long as the server.
    pub fn setup() -> fail::FailScenario<'static> {
        let scenario = fail::FailScenario::setup();
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default_hook(info);
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if zk_persistence::failpoint::is_failpoint_panic(message) {
                log::error!("{message}: aborting the process");
                eprintln!("zk-bin: {message}: aborting the process");
                std::process::abort();
            }
        }));
        for (name, actions) in fail::list() {
            log::warn!("Failpoint {name} set to {actions}");
        }
        scenario
    }
}

/// env_logger with `default_level` unless RUST_LOG says otherwise, timestamps in
/// milliseconds, and the thread name, as ZooKeeper's log4j layout shows it
/// (an operator reading a log wants to know which thread said what).
fn init_logging(default_level: &str) {
    init_logging_to(default_level, env_logger::Target::Stderr);
}

fn init_logging_to(default_level: &str, target: env_logger::Target) {
    use std::io::Write;
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .format(|buf, record| {
            let thread = std::thread::current();
            writeln!(
                buf,
                "{} [{}] {:<5} {} - {}",
                buf.timestamp_millis(),
                thread.name().unwrap_or("?"),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .target(target)
        .init();
}
