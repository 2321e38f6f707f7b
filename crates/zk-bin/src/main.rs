//! `zk-bin`: the server's entry point (`QuorumPeerMain`) and the
//! data-directory tools that ship with Apache ZooKeeper.
//!
//! ```text
//! zk-bin [CFG]                                 run the server (default conf/zoo.cfg)
//! zk-bin snapshot-dump [-d] [--json] FILE      like SnapshotFormatter
//! zk-bin txnlog-dump FILE                      like TxnLogToolkit's dump
//! zk-bin purge DATADIR [DATALOGDIR] -n COUNT   like zkCleanup.sh
//! ```

mod purge_txn_log;
mod quorum_peer_main;
mod snapshot_formatter;
mod txn_log_toolkit;

use std::process::ExitCode;

const USAGE: &str = "\
usage:
  zk-bin [CFG]                                 run the server from CFG (default conf/zoo.cfg)
  zk-bin snapshot-dump [-d] [--json] FILE      print a snapshot, as SnapshotFormatter does
  zk-bin txnlog-dump FILE                      print a txn log, as TxnLogToolkit --dump does
  zk-bin purge DATADIR [DATALOGDIR] -n COUNT   keep the COUNT newest snapshots (>= 3) and their logs
  zk-bin help                                  this text

Logging: RUST_LOG (default info), e.g. RUST_LOG=debug zk-bin conf/zoo.cfg";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("snapshot-dump") => snapshot_formatter::run(&args[1..]),
        Some("txnlog-dump") => txn_log_toolkit::run(&args[1..]),
        Some("purge") => purge_txn_log::run(&args[1..]),
        Some(flag) if flag.starts_with('-') => Err(format!("unknown option {flag}\n{USAGE}")),
        cfg => {
            init_logging();
            quorum_peer_main::initialize_and_run(cfg.unwrap_or(quorum_peer_main::DEFAULT_CONFIG))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zk-bin: {message}");
            ExitCode::from(2)
        }
    }
}

/// env_logger with `info` as the default level, timestamps in
/// milliseconds, and the thread name, as ZooKeeper's log4j layout shows it
/// (an operator reading a log wants to know which thread said what).
fn init_logging() {
    use std::io::Write;
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
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
        .init();
}
