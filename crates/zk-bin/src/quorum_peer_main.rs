//! `QuorumPeerMain.initializeAndRun`: parse the config, start the
//! `DatadirCleanupManager`, then run standalone (`ZooKeeperServerMain`) or
//! replicated ([`run_from_config`]: zk-quorum's `QuorumPeer`), and stop
//! cleanly on SIGTERM or SIGINT.

use std::path::Path;

use log::{info, warn};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use zk_config::{QuorumPeerConfig, ServerConfig, SystemProperties};
use zk_persistence::datadir_cleanup_manager::DatadirCleanupManager;
use zk_persistence::file_txn_snap_log::{FileTxnSnapLog, FileTxnSnapLogOptions};
use zk_quorum::quorum_peer::QuorumPeer;
use zk_server::fatal_error::FatalError;
use zk_server::metrics::metrics_provider::MetricsProvider;
use zk_server::start_error::StartError;
use zk_server::ZooKeeperServerMain;

/// The bundled configuration, relative to the working directory.
pub const DEFAULT_CONFIG: &str = "conf/zoo.cfg";

/// The process exit statuses of 3.8's `ExitCode` that the server's
/// startup and run can end with (scripts and supervisors test them). The
/// only place the numbers are written: the libraries report
/// [`StartError`]s and [`FatalError`]s, mapped here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Anything without a code of its own, and a txn log that cannot be
    /// written (3.8's SyncThread dies as a critical thread).
    UnexpectedError = 1,
    /// A bad config or command line (3.8 uses it for both).
    InvalidInvocation = 2,
    /// A data directory missing, unwritable, or mixed up with the other.
    UnableToAccessDatadir = 3,
    /// A snapshot could not be written.
    TxnLogErrorTakingSnapshot = 10,
    /// A COMMIT for a txn other than the next one logged.
    UnmatchedTxnCommit = 12,
    /// A packet from the leader a learner cannot act on.
    QuorumPacketError = 13,
    /// The election listener gave up binding its address.
    UnableToBindQuorumPort = 14,
}

impl ExitStatus {
    /// 3.8's code for a fatal error of a running server.
    fn of_fatal(e: &FatalError) -> Self {
        match e {
            FatalError::TxnLogError(_) => ExitStatus::UnexpectedError,
            FatalError::TxnLogErrorTakingSnapshot(_) => ExitStatus::TxnLogErrorTakingSnapshot,
            FatalError::UnmatchedTxnCommit(_) => ExitStatus::UnmatchedTxnCommit,
            FatalError::QuorumPacketError(_) => ExitStatus::QuorumPacketError,
            FatalError::UnableToBindQuorumPort(_) => ExitStatus::UnableToBindQuorumPort,
        }
    }
}

/// Why the server stopped, and with which status.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub message: String,
}

impl Failure {
    fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A start that failed: a bad setting is an invalid invocation,
    /// anything else unexpected.
    fn from_start_error(e: &StartError) -> Self {
        let status = match e {
            StartError::InvalidConfig(_) => ExitStatus::InvalidInvocation,
            StartError::Io(_) => ExitStatus::UnexpectedError,
        };
        Failure::new(status, format!("Unable to start: {e}"))
    }

    /// A running server or peer that stopped on its own.
    fn from_fatal_error(e: &FatalError) -> Self {
        Failure::new(ExitStatus::of_fatal(e), e.message())
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(ExitStatus::UnexpectedError, message)
    }
}

/// 3.8's `QuorumPeerMain`, the server's entry point: `initializeAndRun`
/// decides between standalone and replicated, `runFromConfig` runs a
/// quorum peer.
pub struct QuorumPeerMain;

impl QuorumPeerMain {
    /// `initializeAndRun`: parse `cfg_path` (and the `-D` flags of
    /// `JVMFLAGS`/`SERVER_JVMFLAGS`), start the `DatadirCleanupManager`,
    /// then run standalone or as a quorum peer until a signal or a fatal
    /// error.
    pub fn initialize_and_run(cfg_path: &str) -> Result<(), Failure> {
        let path = Path::new(cfg_path);
        let config = QuorumPeerConfig::parse_with(path, jvm_flag_properties()).map_err(|e| {
            Failure::new(
                ExitStatus::InvalidInvocation,
                format!("Invalid config, exiting abnormally: {e}"),
            )
        })?;
        // MIT's GSSAPI (Kerberos SASL) reads KRB5_CONFIG, the JVM its
        // -Djava.security.krb5.conf: the same file for both. No thread has
        // started yet, so changing the environment races with nothing.
        if let Some(conf) = zk_config::sasl::gss::krb5_config_to_export(&config.system_properties) {
            info!("Kerberos: KRB5_CONFIG={conf} (from java.security.krb5.conf)");
            std::env::set_var("KRB5_CONFIG", conf);
        }
        if config.is_distributed() && config.server_id.is_none() {
            return Err(Failure::new(
                ExitStatus::InvalidInvocation,
                format!(
                    "Invalid config, exiting abnormally: {} file is missing",
                    config.data_dir.join("myid").display()
                ),
            ));
        }
        Self::check_data_dirs(&config)?;
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

        let result: Result<(), Failure> = if config.is_distributed() {
            let server_id = config
                .server_id
                .map_or("none".to_string(), |id| id.to_string());
            info!(
                "replicated mode: myid {server_id}, {} servers in {}",
                config.servers().len(),
                path.display()
            );
            Self::run_from_config(&config)
        } else {
            warn!("Either no config or no quorum defined in config, running in standalone mode");
            Self::run_standalone(&ServerConfig::from(&config))
        };
        if config.purge_interval > 0 {
            purge.shutdown();
        }
        result
    }

    /// The checks 3.8's `FileTxnSnapLog` constructor makes before anything
    /// starts (directories present or creatable, writable, logs and
    /// snapshots not mixed up), whose failure exits with
    /// UNABLE_TO_ACCESS_DATADIR rather than as an unexpected error.
    fn check_data_dirs(config: &QuorumPeerConfig) -> Result<(), Failure> {
        let options = FileTxnSnapLogOptions {
            autocreate_dirs: config
                .system_properties
                .get_boolean_or("zookeeper.datadir.autocreate", true),
            ..FileTxnSnapLogOptions::default()
        };
        FileTxnSnapLog::check_data_dirs(&config.data_log_dir, &config.data_dir, &options)
            .map(drop)
            .map_err(|e| {
                Failure::new(
                    ExitStatus::UnableToAccessDatadir,
                    format!("Unable to access datadir, exiting abnormally: {e}"),
                )
            })
    }

    /// `ZooKeeperServerMain.runFromConfig`, then wait for a stop signal.
    fn run_standalone(config: &ServerConfig) -> Result<(), Failure> {
        // Register before starting so that a signal during startup is not lost.
        let mut signals =
            Signals::new([SIGTERM, SIGINT]).map_err(|e| format!("cannot handle signals: {e}"))?;
        info!("Starting server");
        let mut metrics = Self::start_metrics_provider(
            &config.metrics_provider_class_name,
            &config.metrics_provider_configuration,
        )?;
        let server = ZooKeeperServerMain::run(config).map_err(|e| Failure::from_start_error(&e))?;
        info!("serving clients on {}", server.client_addr());
        let mut result = Ok(());
        loop {
            if let Some(signal) = signals.pending().next() {
                info!("received signal {signal}, shutting down");
                break;
            }
            if let Some(f) = server.fatal_error() {
                result = Err(Failure::from_fatal_error(&f));
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        server.shutdown();
        metrics.stop();
        info!("server stopped");
        result
    }

    /// 3.8's `MetricsProviderBootstrap.startMetricsProvider`, before the
    /// server: a provider that cannot start stops the start.
    fn start_metrics_provider(
        class_name: &str,
        configuration: &std::collections::BTreeMap<String, String>,
    ) -> Result<MetricsProvider, Failure> {
        MetricsProvider::start(class_name, configuration).map_err(|e| Failure::from_start_error(&e))
    }

    /// `QuorumPeerMain.runFromConfig`: the `QuorumPeer` zoo.cfg describes,
    /// started, then joined: wait for a stop signal (or for the peer to stop
    /// on its own, which is an error).
    fn run_from_config(config: &QuorumPeerConfig) -> Result<(), Failure> {
        let mut signals =
            Signals::new([SIGTERM, SIGINT]).map_err(|e| format!("cannot handle signals: {e}"))?;
        info!("Starting quorum peer");
        let mut metrics = Self::start_metrics_provider(
            &config.metrics_provider_class_name,
            &config.metrics_provider_configuration,
        )?;
        let peer = QuorumPeer::from_config(config).map_err(|e| Failure::from_start_error(&e))?;
        peer.start().map_err(|e| Failure::from_start_error(&e))?;
        if let Some(addr) = peer.client_address() {
            info!("serving clients on {addr} once a leader is elected");
        }
        let mut result = Ok(());
        loop {
            if let Some(signal) = signals.pending().next() {
                info!("received signal {signal}, shutting down");
                break;
            }
            // A fatal error stops the peer's loop, but its thread may sit in
            // the election until shutdown ends it.
            if peer.is_finished() || peer.fatal_error().is_some() {
                result = Err(match peer.fatal_error() {
                    Some(f) => Failure::from_fatal_error(&f),
                    None => Failure::new(ExitStatus::UnexpectedError, "the quorum peer stopped"),
                });
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        peer.shutdown();
        metrics.stop();
        info!("server stopped");
        result
    }
}

/// `-Dkey=value` flags from `SERVER_JVMFLAGS` and `JVMFLAGS`, the variables
/// zkServer.sh passes to the JVM, so that settings operators keep there
/// (jute.maxbuffer, zookeeper.snapCount, ...) still apply. zoo.cfg wins
/// where both set a key, as it does in 3.8.
pub(crate) fn jvm_flag_properties() -> SystemProperties {
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
