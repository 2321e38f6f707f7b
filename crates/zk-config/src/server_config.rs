//! `ServerConfig`: what the standalone server (`ZooKeeperServerMain`) takes
//! from a parsed zoo.cfg, as 3.8's `ServerConfig.readFrom`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::quorum_peer_config::QuorumPeerConfig;
use crate::system_properties::SystemProperties;

/// What a standalone server (and a quorum peer's client side) runs with:
/// 3.8's `ServerConfig`, from a [`QuorumPeerConfig`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where clients connect.
    pub client_port_address: Option<SocketAddr>,
    /// The secure client port's address (refused when set).
    pub secure_client_port_address: Option<SocketAddr>,
    /// `dataDir`: snapshots.
    pub data_dir: PathBuf,
    /// `dataLogDir`: txn logs.
    pub data_log_dir: PathBuf,
    /// `tickTime` in ms.
    pub tick_time: i32,
    /// `maxClientCnxns` per client address.
    pub max_client_cnxns: i32,
    /// `minSessionTimeout` in ms.
    pub min_session_timeout: i32,
    /// `maxSessionTimeout` in ms.
    pub max_session_timeout: i32,
    /// `metricsProvider.className`.
    pub metrics_provider_class_name: String,
    /// The other `metricsProvider.*` entries.
    pub metrics_provider_configuration: BTreeMap<String, String>,
    /// `clientPortListenBacklog`, -1 when unset.
    pub listen_backlog: i32,
    /// `jvm.pause.monitor` (no effect).
    pub jvm_pause_monitor_to_run: bool,
    /// `jvm.pause.info-threshold.ms` (no effect).
    pub jvm_pause_info_threshold_ms: i64,
    /// `jvm.pause.warn-threshold.ms` (no effect).
    pub jvm_pause_warn_threshold_ms: i64,
    /// `jvm.pause.sleep.time.ms` (no effect).
    pub jvm_pause_sleep_time_ms: i64,
    /// The full text of zoo.cfg.
    pub initial_config: String,
    /// Not part of 3.8's `ServerConfig` (the JVM holds them globally), but
    /// the standalone server reads them, so they travel along.
    pub system_properties: SystemProperties,
}

impl From<&QuorumPeerConfig> for ServerConfig {
    fn from(c: &QuorumPeerConfig) -> Self {
        ServerConfig {
            client_port_address: c.client_port_address,
            secure_client_port_address: c.secure_client_port_address,
            data_dir: c.data_dir.clone(),
            data_log_dir: c.data_log_dir.clone(),
            tick_time: c.tick_time,
            max_client_cnxns: c.max_client_cnxns,
            min_session_timeout: c.min_session_timeout,
            max_session_timeout: c.max_session_timeout,
            metrics_provider_class_name: c.metrics_provider_class_name.clone(),
            metrics_provider_configuration: c.metrics_provider_configuration.clone(),
            listen_backlog: c.client_port_listen_backlog,
            jvm_pause_monitor_to_run: c.jvm_pause_monitor_to_run,
            jvm_pause_info_threshold_ms: c.jvm_pause_info_threshold_ms,
            jvm_pause_warn_threshold_ms: c.jvm_pause_warn_threshold_ms,
            jvm_pause_sleep_time_ms: c.jvm_pause_sleep_time_ms,
            initial_config: c.initial_config.clone(),
            system_properties: c.system_properties.clone(),
        }
    }
}
