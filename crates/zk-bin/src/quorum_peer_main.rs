//! `QuorumPeerMain.initializeAndRun`: parse the config, start the
//! `DatadirCleanupManager`, then run standalone (`ZooKeeperServerMain`) or
//! replicated (`QuorumPeerMain::run_from_config` of zk-quorum), and stop
//! cleanly on SIGTERM or SIGINT.

use std::path::Path;

use log::{info, warn};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use zk_config::{QuorumPeerConfig, ServerConfig, SystemProperties};
use zk_persistence::purge::DatadirCleanupManager;
use zk_quorum::quorum_peer_main::QuorumPeerMain;
use zk_server::ZooKeeperServerMain;

/// The bundled configuration, relative to the working directory.
pub const DEFAULT_CONFIG: &str = "conf/zoo.cfg";

pub fn initialize_and_run(cfg_path: &str) -> Result<(), String> {
    let path = Path::new(cfg_path);
    let config = QuorumPeerConfig::parse_with(path, jvm_flag_properties())
        .map_err(|e| format!("Invalid config, exiting abnormally: {e}"))?;
    // The parser logs each ignored key with its reason as it meets it; one
    // summary line here lets an operator see them all at once.
    let ignored: Vec<&str> = config
        .ignored_keys()
        .iter()
        .map(|k| k.key.as_str())
        .collect();
    if !ignored.is_empty() {
        warn!(
            "{}: {} key(s) have no effect in zk-rs: {}",
            path.display(),
            ignored.len(),
            ignored.join(", ")
        );
    }

    // Start and schedule the purge task, as QuorumPeerMain does before
    // choosing a mode.
    let mut purge = DatadirCleanupManager::new(
        &config.data_dir,
        &config.data_log_dir,
        config.snap_retain_count.max(0) as usize,
        config.purge_interval,
    );
    purge
        .start()
        .map_err(|e| format!("cannot start the purge task: {e}"))?;

    let result = if config.is_distributed() {
        let server_id = config
            .server_id
            .map_or("none".to_string(), |id| id.to_string());
        info!(
            "replicated mode: myid {server_id}, {} servers in {}",
            config.servers().len(),
            path.display()
        );
        run_replicated(&config)
    } else {
        warn!("Either no config or no quorum defined in config, running in standalone mode");
        run_standalone(&ServerConfig::from(&config))
    };
    if config.purge_interval > 0 {
        purge.shutdown();
    }
    result
}

/// `ZooKeeperServerMain.runFromConfig`, then wait for a stop signal.
fn run_standalone(config: &ServerConfig) -> Result<(), String> {
    // Register before starting so that a signal during startup is not lost.
    let mut signals =
        Signals::new([SIGTERM, SIGINT]).map_err(|e| format!("cannot handle signals: {e}"))?;
    info!("Starting server");
    let server = ZooKeeperServerMain::run(config).map_err(|e| format!("Unable to start: {e}"))?;
    info!("serving clients on {}", server.client_addr());
    if let Some(signal) = signals.forever().next() {
        info!("received signal {signal}, shutting down");
    }
    server.shutdown();
    info!("server stopped");
    Ok(())
}

/// `QuorumPeerMain.runFromConfig`, then wait for a stop signal (or for the
/// peer to stop on its own, which is an error).
fn run_replicated(config: &QuorumPeerConfig) -> Result<(), String> {
    let mut signals =
        Signals::new([SIGTERM, SIGINT]).map_err(|e| format!("cannot handle signals: {e}"))?;
    info!("Starting quorum peer");
    let peer =
        QuorumPeerMain::run_from_config(config).map_err(|e| format!("Unable to start: {e}"))?;
    info!(
        "serving clients on {} once a leader is elected",
        peer.client_addr()
    );
    let mut result = Ok(());
    loop {
        if let Some(signal) = signals.pending().next() {
            info!("received signal {signal}, shutting down");
            break;
        }
        if peer.is_finished() {
            result = Err(peer
                .fatal_error()
                .unwrap_or_else(|| "the quorum peer stopped".to_string()));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    peer.shutdown();
    info!("server stopped");
    result
}

/// `-Dkey=value` flags from `SERVER_JVMFLAGS` and `JVMFLAGS`, the variables
/// zkServer.sh passes to the JVM, so that settings operators keep there
/// (jute.maxbuffer, zookeeper.snapCount, ...) still apply. zoo.cfg wins
/// where both set a key, as it does in 3.8.
fn jvm_flag_properties() -> SystemProperties {
    let mut props = SystemProperties::new();
    for var in ["JVMFLAGS", "SERVER_JVMFLAGS"] {
        if let Ok(flags) = std::env::var(var) {
            for flag in flags.split_whitespace() {
                if let Some((key, value)) =
                    flag.strip_prefix("-D").and_then(|kv| kv.split_once('='))
                {
                    props.set(key, value);
                }
            }
        }
    }
    props
}
