//! `QuorumPeerConfig`: zoo.cfg, the dynamic config file and `myid`, read in
//! the order and with the checks of ZooKeeper 3.8.
//!
//! The steps, as in 3.8's `parse`:
//! 1. load zoo.cfg as Java properties; walk its keys (`parse_key`): known
//!    keys set fields, everything else becomes the system property
//!    `zookeeper.<key>`;
//! 2. check and default the static settings (`finish_static`);
//! 3. build the membership (`setup_quorum_peer_config`, in membership.rs)
//!    from the dynamic file when `dynamicConfigFile` is set, otherwise from
//!    the `server.N`, `group.G` and `weight.N` lines of zoo.cfg itself (the
//!    backward compatible form), then read `myid`, settle the client
//!    address and the peer type, and check what replicated mode needs.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, ConfigErrorKind};
use crate::java;
use crate::properties::Properties;
use crate::quorum_server::{HostPort, LearnerType, QuorumServer};
use crate::quorum_verifier::QuorumVerifier;
use crate::security_settings;
use crate::system_properties::{classify_system_key, SystemKeyUse, SystemProperties};

/// The smallest `autopurge.snapRetainCount`; lower values are raised to it.
pub(crate) const MIN_SNAP_RETAIN_COUNT: i32 = 3;
/// `ZooKeeperServer.DEFAULT_TICK_TIME` (the sample zoo.cfg sets 2000).
pub const DEFAULT_TICK_TIME: i32 = 3000;
/// The metrics provider 3.8 uses when none is configured.
pub const DEFAULT_METRICS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";
/// Suffix of the file that holds a proposed, not yet committed, config.
pub(crate) const NEXT_DYNAMIC_CONFIG_FILE_SUFFIX: &str = ".dynamic.next";

/// A zoo.cfg key that is accepted but has no effect in zk-rs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredKey {
    /// The key as written in zoo.cfg.
    pub key: String,
    /// Why it has no effect.
    pub reason: &'static str,
}

/// Everything 3.8's `QuorumPeerConfig` holds after `parse`. Integer settings
/// keep Java's `int`/`long` types so that what 3.8 accepts (even a negative
/// `tickTime`) is accepted here too.
#[derive(Debug, Clone)]
pub struct QuorumPeerConfig {
    /// The zoo.cfg path, `None` when built from in-memory properties.
    pub config_file: Option<PathBuf>,
    /// The full text of zoo.cfg (3.8's `initialConfig`).
    pub initial_config: String,
    /// From `dataDir/myid`; `None` when there is no myid file (allowed only
    /// in standalone mode).
    pub server_id: Option<i64>,
    /// `dataDir`: snapshots, `myid` and the epoch files.
    pub data_dir: PathBuf,
    /// `dataLogDir`, or `dataDir` when unset.
    pub data_log_dir: PathBuf,
    /// `dynamicConfigFile`: the membership lives there instead of in zoo.cfg.
    pub dynamic_config_file: Option<PathBuf>,
    /// `clientPortAddress:clientPort`, 0.0.0.0 when only the port is given,
    /// or this server's client address from its server line.
    pub client_port_address: Option<SocketAddr>,
    /// `secureClientPortAddress:secureClientPort` (refused when set: no TLS).
    pub secure_client_port_address: Option<SocketAddr>,
    /// `observerMasterPort`, when positive (Java's int, not range-checked
    /// until it is bound, as in 3.8).
    pub observer_master_port: Option<i32>,
    /// `clientPortListenBacklog`.
    pub client_port_listen_backlog: i32,
    /// `tickTime` in ms.
    pub tick_time: i32,
    /// `maxClientCnxns` per client address.
    pub max_client_cnxns: i32,
    /// `minSessionTimeout` in ms (`2 * tickTime` when unset).
    pub min_session_timeout: i32,
    /// `maxSessionTimeout` in ms (`20 * tickTime` when unset).
    pub max_session_timeout: i32,
    /// `initLimit` in ticks.
    pub init_limit: i32,
    /// `syncLimit` in ticks.
    pub sync_limit: i32,
    /// `connectToLearnerMasterLimit` in ticks (0: `initLimit`).
    pub connect_to_learner_master_limit: i32,
    /// `electionAlg`: only 3 (fast leader election) is accepted.
    pub election_alg: i32,
    /// `quorumListenOnAllIPs`.
    pub quorum_listen_on_all_ips: bool,
    /// `peerType`: participant or observer.
    pub peer_type: LearnerType,
    /// `syncEnabled`: observers log and snapshot too.
    pub sync_enabled: bool,
    /// `autopurge.snapRetainCount` (at least 3).
    pub snap_retain_count: i32,
    /// Hours between purges; 0 (default) or less disables purging.
    pub purge_interval: i32,
    /// `standaloneEnabled`.
    pub standalone_enabled: bool,
    /// `reconfigEnabled`.
    pub reconfig_enabled: bool,
    /// `localSessionsEnabled`.
    pub local_sessions_enabled: bool,
    /// `localSessionsUpgradingEnabled`.
    pub local_sessions_upgrading_enabled: bool,
    /// `sslQuorum`: TLS on the quorum and election connections.
    pub ssl_quorum: bool,
    /// `portUnification`.
    pub port_unification: bool,
    /// `sslQuorumReloadCertFiles`.
    pub ssl_quorum_reload_cert_files: bool,
    /// `quorum.auth.enableSasl`: SASL on the election and quorum
    /// connections (zk-election's `SaslQuorumAuthServer`/`Learner`).
    pub quorum_enable_sasl: bool,
    /// `quorum.auth.serverRequireSasl`.
    pub quorum_server_require_sasl: bool,
    /// `quorum.auth.learnerRequireSasl`.
    pub quorum_learner_require_sasl: bool,
    /// `quorum.auth.kerberos.servicePrincipal` (with quorum SASL).
    pub quorum_service_principal: String,
    /// `quorum.auth.learner.saslLoginContext` (with quorum SASL).
    pub quorum_learner_login_context: String,
    /// `quorum.auth.server.saslLoginContext` (with quorum SASL).
    pub quorum_server_login_context: String,
    /// `quorum.cnxn.threads.size`: connection threads (at least 20).
    pub quorum_cnxn_threads_size: i32,
    /// `multiAddress.enabled`.
    pub multi_address_enabled: bool,
    /// `multiAddress.reachabilityCheckEnabled` (no effect).
    pub multi_address_reachability_check_enabled: bool,
    /// `multiAddress.reachabilityCheckTimeoutMs` (no effect).
    pub multi_address_reachability_check_timeout_ms: i32,
    /// `oraclePath` (no effect: majority is used).
    pub oracle_path: Option<String>,
    /// `metricsProvider.className`: the default, the null or the
    /// Prometheus provider.
    pub metrics_provider_class_name: String,
    /// `metricsProvider.<name>` entries other than `className`
    /// (`httpHost`, `httpPort`, `exportJvmInfo`, ...).
    pub metrics_provider_configuration: BTreeMap<String, String>,
    /// `jvm.pause.monitor` (no effect).
    pub jvm_pause_monitor_to_run: bool,
    /// `jvm.pause.info-threshold.ms` (no effect).
    pub jvm_pause_info_threshold_ms: i64,
    /// `jvm.pause.warn-threshold.ms` (no effect).
    pub jvm_pause_warn_threshold_ms: i64,
    /// `jvm.pause.sleep.time.ms` (no effect).
    pub jvm_pause_sleep_time_ms: i64,
    /// The committed membership.
    pub quorum_verifier: QuorumVerifier,
    /// A proposed membership from `<zoo.cfg>.dynamic.next`, if present.
    pub last_seen_quorum_verifier: Option<QuorumVerifier>,
    /// The seeded properties plus every `zookeeper.<key>` zoo.cfg produced.
    pub system_properties: SystemProperties,
    ignored: Vec<IgnoredKey>,
}

impl QuorumPeerConfig {
    /// Reads zoo.cfg at `path` (and the files it points to).
    pub fn parse(path: &Path) -> Result<Self, ConfigError> {
        Self::parse_with(path, SystemProperties::new())
    }

    /// As [`parse`](Self::parse), starting from JVM-like system properties
    /// (e.g. imported `-D` flags). zoo.cfg overrides them, as in 3.8.
    pub fn parse_with(path: &Path, system: SystemProperties) -> Result<Self, ConfigError> {
        log::info!("Reading configuration from: {}", path.display());
        if path.is_relative() {
            log::warn!(
                "{} is relative. Prepend ./ to indicate that you're sure!",
                path.display()
            );
        }
        let bytes = fs::read(path).map_err(|e| {
            ConfigError::new(ConfigErrorKind::Io, format!("cannot read: {e}")).in_file(path)
        })?;
        let props = Properties::from_bytes(&bytes)
            .map_err(|e| ConfigError::new(ConfigErrorKind::Syntax, e.to_string()).in_file(path))?;
        let mut config = Self::empty(system);
        config.config_file = Some(path.to_path_buf());
        config.initial_config = String::from_utf8_lossy(&bytes).into_owned();
        config
            .parse_properties(&props)
            .map_err(|e| e.in_file(path))?;
        config.load_dynamic_files()?;
        // backupOldConfig: the membership is still in zoo.cfg, which the
        // first reconfig will rewrite; 3.8 keeps the original as zoo.cfg.bak.
        if config.dynamic_config_file.is_none()
            && config.is_distributed()
            && config.reconfig_enabled
        {
            if let Err(e) = crate::dynamic_config::backup_old_config(path) {
                return Err(ConfigError::new(
                    ConfigErrorKind::Io,
                    format!("cannot back up to .bak: {e}"),
                )
                .in_file(path));
            }
        }
        Ok(config)
    }

    /// Builds the config from properties already in memory, as 3.8's
    /// `parseProperties`; the dynamic file, if named, is read from disk.
    pub fn from_properties(props: &Properties) -> Result<Self, ConfigError> {
        Self::from_properties_with(props, SystemProperties::new())
    }

    /// [`Self::from_properties`] with the JVM's system properties `system`
    /// (zoo.cfg's keys are added to them).
    pub fn from_properties_with(
        props: &Properties,
        system: SystemProperties,
    ) -> Result<Self, ConfigError> {
        let mut config = Self::empty(system);
        config.parse_properties(props)?;
        config.load_dynamic_files()?;
        Ok(config)
    }

    fn empty(system: SystemProperties) -> Self {
        let multi = |name, default| system.get_boolean_or(name, default);
        QuorumPeerConfig {
            config_file: None,
            initial_config: String::new(),
            server_id: None,
            data_dir: PathBuf::new(),
            data_log_dir: PathBuf::new(),
            dynamic_config_file: None,
            client_port_address: None,
            secure_client_port_address: None,
            observer_master_port: None,
            client_port_listen_backlog: -1,
            tick_time: DEFAULT_TICK_TIME,
            max_client_cnxns: 60,
            min_session_timeout: -1,
            max_session_timeout: -1,
            init_limit: 0,
            sync_limit: 0,
            connect_to_learner_master_limit: 0,
            election_alg: 3,
            quorum_listen_on_all_ips: false,
            peer_type: LearnerType::Participant,
            sync_enabled: true,
            snap_retain_count: 3,
            purge_interval: 0,
            standalone_enabled: true,
            reconfig_enabled: false,
            local_sessions_enabled: false,
            local_sessions_upgrading_enabled: false,
            ssl_quorum: false,
            port_unification: false,
            ssl_quorum_reload_cert_files: false,
            quorum_enable_sasl: false,
            quorum_server_require_sasl: false,
            quorum_learner_require_sasl: false,
            quorum_service_principal: "zkquorum/localhost".to_string(),
            quorum_learner_login_context: "QuorumLearner".to_string(),
            quorum_server_login_context: "QuorumServer".to_string(),
            quorum_cnxn_threads_size: 0,
            multi_address_enabled: multi("zookeeper.multiAddress.enabled", false),
            multi_address_reachability_check_enabled: multi(
                "zookeeper.multiAddress.reachabilityCheckEnabled",
                true,
            ),
            multi_address_reachability_check_timeout_ms: system
                .get("zookeeper.multiAddress.reachabilityCheckTimeoutMs")
                .and_then(java::parse_int)
                .unwrap_or(1000),
            oracle_path: None,
            metrics_provider_class_name: DEFAULT_METRICS_PROVIDER.to_string(),
            metrics_provider_configuration: BTreeMap::new(),
            jvm_pause_monitor_to_run: false,
            jvm_pause_info_threshold_ms: 1000,
            jvm_pause_warn_threshold_ms: 10000,
            jvm_pause_sleep_time_ms: 500,
            quorum_verifier: QuorumVerifier::Majority(Default::default()),
            last_seen_quorum_verifier: None,
            system_properties: system,
            ignored: Vec::new(),
        }
    }

    /// All servers, participants and observers.
    pub fn servers(&self) -> &BTreeMap<i64, QuorumServer> {
        self.quorum_verifier.all_members()
    }

    /// Replicated mode: more than one voting member, or any membership at
    /// all with `standaloneEnabled=false`. Otherwise 3.8 runs the standalone
    /// `ZooKeeperServerMain`.
    pub fn is_distributed(&self) -> bool {
        !self.standalone_enabled || self.quorum_verifier.voting_members().len() > 1
    }

    /// zoo.cfg keys accepted but without effect here, in file order, each
    /// once (also logged when parsed).
    pub fn ignored_keys(&self) -> &[IgnoredKey] {
        &self.ignored
    }

    /// The system property `name` (e.g. `zookeeper.snapCount`).
    pub fn system_property(&self, name: &str) -> Option<&str> {
        self.system_properties.get(name)
    }

    fn ignore(&mut self, key: &str, reason: &'static str) {
        if self.ignored.iter().any(|k| k.key == key) {
            return;
        }
        match reason {
            REASON_UNKNOWN | REASON_NO_EFFECT | REASON_NOT_IMPLEMENTED => {
                log::warn!("zoo.cfg key {key} ignored ({reason})")
            }
            _ => log::info!("zoo.cfg key {key} ignored ({reason})"),
        }
        self.ignored.push(IgnoredKey {
            key: key.to_string(),
            reason,
        });
    }

    /// 3.8's `parseProperties`.
    fn parse_properties(&mut self, props: &Properties) -> Result<(), ConfigError> {
        let mut raw = StaticPorts::default();
        let has_dynamic_file = props.contains_key("dynamicConfigFile");
        for (key, value) in props.iter() {
            self.parse_key(key.trim(), value.trim(), has_dynamic_file, &mut raw)?;
        }
        self.finish_static(raw)?;
        security_settings::check_security_settings(self, props)?;
        if self.dynamic_config_file.is_none() {
            self.setup_quorum_peer_config(props, true)?;
        }
        Ok(())
    }

    /// One zoo.cfg key, by group: the client side, the quorum, keys read
    /// but without effect here, and the rest (system properties).
    fn parse_key(
        &mut self,
        key: &str,
        value: &str,
        has_dynamic_file: bool,
        raw: &mut StaticPorts,
    ) -> Result<(), ConfigError> {
        if self.parse_client_key(key, value, raw)?
            || self.parse_quorum_key(key, value, has_dynamic_file)?
            || self.parse_ignored_key(key, value)?
        {
            return Ok(());
        }
        self.set_system_key(key, value);
        Ok(())
    }

    /// The data directories, the client ports and sessions, `tickTime`.
    /// Returns whether `key` is one of them.
    fn parse_client_key(
        &mut self,
        key: &str,
        value: &str,
        raw: &mut StaticPorts,
    ) -> Result<bool, ConfigError> {
        let int = || parse_int(key, value);
        let boolean = || parse_bool(key, value);
        match key {
            "dataDir" => raw.data_dir = Some(verified_path(value)),
            "dataLogDir" => raw.data_log_dir = Some(verified_path(value)),
            "clientPort" => raw.client_port = int()?,
            "localSessionsEnabled" => self.local_sessions_enabled = boolean()?,
            "localSessionsUpgradingEnabled" => self.local_sessions_upgrading_enabled = boolean()?,
            "clientPortAddress" => raw.client_port_address = Some(value.to_string()),
            // The secure port and the TLS and SASL switches below are
            // refused when they ask for security (security_settings.rs).
            "secureClientPort" => raw.secure_client_port = int()?,
            "secureClientPortAddress" => raw.secure_client_port_address = Some(value.to_string()),
            "observerMasterPort" => raw.observer_master_port = int()?,
            "clientPortListenBacklog" => self.client_port_listen_backlog = int()?,
            "tickTime" => self.tick_time = int()?,
            "maxClientCnxns" => self.max_client_cnxns = int()?,
            "minSessionTimeout" => self.min_session_timeout = int()?,
            "maxSessionTimeout" => self.max_session_timeout = int()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The quorum's limits, election, roles and membership switches.
    /// Returns whether `key` is one of them.
    fn parse_quorum_key(
        &mut self,
        key: &str,
        value: &str,
        has_dynamic_file: bool,
    ) -> Result<bool, ConfigError> {
        let int = || parse_int(key, value);
        let boolean = || parse_bool(key, value);
        match key {
            "initLimit" => self.init_limit = int()?,
            "syncLimit" => self.sync_limit = int()?,
            "connectToLearnerMasterLimit" => self.connect_to_learner_master_limit = int()?,
            "electionAlg" => {
                self.election_alg = int()?;
                if self.election_alg != 3 {
                    return Err(ConfigError::for_key(
                        ConfigErrorKind::Unsupported,
                        key,
                        value,
                        "Invalid electionAlg value. Only 3 is supported.",
                    ));
                }
            }
            "quorumListenOnAllIPs" => self.quorum_listen_on_all_ips = boolean()?,
            "peerType" => {
                self.peer_type = match value.to_lowercase().as_str() {
                    "observer" => LearnerType::Observer,
                    "participant" => LearnerType::Participant,
                    _ => {
                        return Err(ConfigError::for_key(
                            ConfigErrorKind::Unsupported,
                            key,
                            value,
                            format!("Unrecognised peertype: {value}"),
                        ))
                    }
                }
            }
            "syncEnabled" => self.sync_enabled = boolean()?,
            "dynamicConfigFile" => self.dynamic_config_file = Some(PathBuf::from(value)),
            "autopurge.snapRetainCount" => self.snap_retain_count = int()?,
            "autopurge.purgeInterval" => self.purge_interval = int()?,
            "standaloneEnabled" => self.standalone_enabled = boolean()?,
            "reconfigEnabled" => self.reconfig_enabled = boolean()?,
            "sslQuorum" => self.ssl_quorum = boolean()?,
            "portUnification" => self.port_unification = boolean()?,
            "sslQuorumReloadCertFiles" => self.ssl_quorum_reload_cert_files = boolean()?,
            "multiAddress.enabled" => self.multi_address_enabled = boolean()?,
            _ if has_dynamic_file
                && (key.starts_with("server.")
                    || key.starts_with("group")
                    || key.starts_with("weight")) =>
            {
                return Err(ConfigError::for_key(
                    ConfigErrorKind::Inconsistent,
                    key,
                    value,
                    format!("parameter: {key} must be in a separate dynamic config file"),
                ));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Keys 3.8 reads that zk-config keeps for others (quorum SASL, for
    /// zk-election) or that have no effect in zk-rs (the JVM pause
    /// monitor, metrics, reachability checks, the oracle: recorded as
    /// ignored). Returns whether `key` is one of them.
    fn parse_ignored_key(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let int = || parse_int(key, value);
        let long = || {
            java::parse_long(value).ok_or_else(|| {
                ConfigError::for_key(ConfigErrorKind::NotANumber, key, value, "not a number")
            })
        };
        let boolean = || parse_bool(key, value);
        match key {
            "quorum.auth.enableSasl" => self.quorum_enable_sasl = boolean()?,
            "quorum.auth.serverRequireSasl" => self.quorum_server_require_sasl = boolean()?,
            "quorum.auth.learnerRequireSasl" => self.quorum_learner_require_sasl = boolean()?,
            // Read by 3.8 only when quorum SASL is on (see finish_static).
            "quorum.auth.learner.saslLoginContext" => {
                self.quorum_learner_login_context = value.to_string();
            }
            "quorum.auth.server.saslLoginContext" => {
                self.quorum_server_login_context = value.to_string();
            }
            "quorum.auth.kerberos.servicePrincipal" => {
                self.quorum_service_principal = value.to_string();
            }
            // zk-election's connection threads, with SASL or without.
            "quorum.cnxn.threads.size" => self.quorum_cnxn_threads_size = int()?,
            "jvm.pause.info-threshold.ms" => {
                self.jvm_pause_info_threshold_ms = long()?;
                self.ignore(key, REASON_JVM);
            }
            "jvm.pause.warn-threshold.ms" => {
                self.jvm_pause_warn_threshold_ms = long()?;
                self.ignore(key, REASON_JVM);
            }
            "jvm.pause.sleep.time.ms" => {
                self.jvm_pause_sleep_time_ms = long()?;
                self.ignore(key, REASON_JVM);
            }
            "jvm.pause.monitor" => {
                self.jvm_pause_monitor_to_run = boolean()?;
                self.ignore(key, REASON_JVM);
            }
            // Honoured by zk-server's MetricsProvider, which refuses a class
            // it does not provide when the server starts (as 3.8 does).
            "metricsProvider.className" => {
                self.metrics_provider_class_name = value.to_string();
            }
            _ if key.starts_with("metricsProvider.") => {
                let name = &key["metricsProvider.".len()..];
                self.metrics_provider_configuration
                    .insert(name.to_string(), value.to_string());
            }
            "multiAddress.reachabilityCheckTimeoutMs" => {
                self.multi_address_reachability_check_timeout_ms = int()?;
                self.ignore(key, REASON_REACHABILITY);
            }
            "multiAddress.reachabilityCheckEnabled" => {
                self.multi_address_reachability_check_enabled = boolean()?;
                self.ignore(key, REASON_REACHABILITY);
            }
            "oraclePath" => {
                self.oracle_path = Some(value.to_string());
                self.ignore(key, REASON_ORACLE);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Any other key becomes the system property `zookeeper.<key>`, as in
    /// 3.8, and is recorded as ignored unless it is used that way.
    fn set_system_key(&mut self, key: &str, value: &str) {
        self.system_properties
            .set(format!("zookeeper.{key}"), value);
        let membership = key.starts_with("server.")
            || key.starts_with("group")
            || key.starts_with("weight")
            || key == "version";
        if !membership {
            match classify_system_key(key) {
                SystemKeyUse::Used => {
                    log::info!("zoo.cfg key {key} set as system property zookeeper.{key}")
                }
                SystemKeyUse::JavaOnly => self.ignore(key, REASON_JAVA_ONLY),
                // Refused or honoured by security_settings.rs.
                SystemKeyUse::Security => {}
                SystemKeyUse::AuthTuning => self.ignore(key, REASON_AUTH_TUNING),
                SystemKeyUse::NoEffectInZooCfg => self.ignore(key, REASON_NO_EFFECT),
                SystemKeyUse::NotImplemented => self.ignore(key, REASON_NOT_IMPLEMENTED),
                SystemKeyUse::Unknown => self.ignore(key, REASON_UNKNOWN),
            }
        }
    }

    /// The checks and defaults at the end of 3.8's `parseProperties`.
    fn finish_static(&mut self, mut raw: StaticPorts) -> Result<(), ConfigError> {
        let sasl = |reason: &str| ConfigError::new(ConfigErrorKind::Inconsistent, reason);
        if !self.quorum_enable_sasl && self.quorum_server_require_sasl {
            return Err(sasl("quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl"));
        }
        if !self.quorum_enable_sasl && self.quorum_learner_require_sasl {
            return Err(sasl("quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl"));
        }
        if !self.quorum_learner_require_sasl && self.quorum_server_require_sasl {
            return Err(sasl("quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl"));
        }
        if !self.quorum_enable_sasl {
            let defaults = QuorumPeerConfig::empty(SystemProperties::default());
            let tuned = [
                (
                    "quorum.auth.learner.saslLoginContext",
                    self.quorum_learner_login_context != defaults.quorum_learner_login_context,
                ),
                (
                    "quorum.auth.server.saslLoginContext",
                    self.quorum_server_login_context != defaults.quorum_server_login_context,
                ),
                (
                    "quorum.auth.kerberos.servicePrincipal",
                    self.quorum_service_principal != defaults.quorum_service_principal,
                ),
            ];
            for (key, set) in tuned {
                if set {
                    self.ignore(key, REASON_SASL);
                }
            }
        }

        if self.snap_retain_count < MIN_SNAP_RETAIN_COUNT {
            log::warn!(
                "Invalid autopurge.snapRetainCount: {}. Defaulting to {MIN_SNAP_RETAIN_COUNT}",
                self.snap_retain_count
            );
            self.snap_retain_count = MIN_SNAP_RETAIN_COUNT;
        }

        // An empty `dataDir=` is accepted, as 3.8 accepts `new File("")`.
        let Some(data_dir) = raw.data_dir.take() else {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                "dataDir is not set",
            ));
        };
        self.data_log_dir = raw.data_log_dir.take().unwrap_or_else(|| data_dir.clone());
        self.data_dir = data_dir;

        self.client_port_address = client_address(
            "clientPort",
            raw.client_port,
            "clientPortAddress",
            raw.client_port_address.as_deref(),
        )?;
        self.secure_client_port_address = client_address(
            "secureClientPort",
            raw.secure_client_port,
            "secureClientPortAddress",
            raw.secure_client_port_address.as_deref(),
        )?;

        if raw.observer_master_port <= 0 {
            log::info!("observerMasterPort is not set");
        } else {
            // Kept as Java's int: a port above 65535 is accepted here and
            // fails only when the observer master binds it, as in 3.8.
            self.observer_master_port = Some(raw.observer_master_port);
        }

        if self.tick_time == 0 {
            return Err(ConfigError::for_key(
                ConfigErrorKind::Missing,
                "tickTime",
                "0",
                "tickTime is not set",
            ));
        }
        if self.min_session_timeout == -1 {
            self.min_session_timeout = self.tick_time.wrapping_mul(2);
        }
        if self.max_session_timeout == -1 {
            self.max_session_timeout = self.tick_time.wrapping_mul(20);
        }
        if self.min_session_timeout > self.max_session_timeout {
            return Err(ConfigError::new(
                ConfigErrorKind::Inconsistent,
                format!(
                    "minSessionTimeout must not be larger than maxSessionTimeout \
                     (minSessionTimeout={}, maxSessionTimeout={})",
                    self.min_session_timeout, self.max_session_timeout
                ),
            ));
        }
        Ok(())
    }
}

const REASON_SASL: &str = "no effect: 3.8 reads it only with quorum.auth.enableSasl=true";
const REASON_AUTH_TUNING: &str =
    "no effect: tunes SASL or x509 authentication, which zk-rs refuses when it is turned on";
const REASON_JVM: &str = "Java-only: JVM pause monitor";
const REASON_REACHABILITY: &str = "Java-only: multi-address reachability check";
const REASON_ORACLE: &str = "Java-only: QuorumOracleMaj is not implemented, majority is used";
const REASON_JAVA_ONLY: &str = "Java-only";
const REASON_NO_EFFECT: &str =
    "no effect: 3.8 reads this only as a JVM property without the zookeeper. prefix";
const REASON_NOT_IMPLEMENTED: &str =
    "not implemented in zk-rs yet: 3.8 acts on it, zk-rs ignores it (README, Configuration)";
const REASON_UNKNOWN: &str = "unknown key, kept as system property zookeeper.<key> as 3.8 does";

/// zoo.cfg values that are combined or checked only after all keys are read.
#[derive(Default)]
struct StaticPorts {
    data_dir: Option<PathBuf>,
    data_log_dir: Option<PathBuf>,
    client_port: i32,
    client_port_address: Option<String>,
    secure_client_port: i32,
    secure_client_port_address: Option<String>,
    observer_master_port: i32,
}

fn parse_int(key: &str, value: &str) -> Result<i32, ConfigError> {
    java::parse_int(value).ok_or_else(|| {
        ConfigError::for_key(ConfigErrorKind::NotANumber, key, value, "not a number")
    })
}

/// `QuorumPeerConfig.parseBoolean`: "true"/"false" in any case, nothing else.
fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ConfigError::for_key(
            ConfigErrorKind::NotABoolean,
            key,
            value,
            "Choose 'true' or 'false'",
        ))
    }
}

fn verified_path(value: &str) -> PathBuf {
    let path = PathBuf::from(value);
    if path.is_relative() {
        log::warn!("{value} is relative. Prepend ./ to indicate that you're sure!");
    }
    path
}

/// Combines `clientPort` and `clientPortAddress` (or their secure twins).
fn client_address(
    port_key: &str,
    port: i32,
    addr_key: &str,
    addr: Option<&str>,
) -> Result<Option<SocketAddr>, ConfigError> {
    if port == 0 {
        log::info!("{port_key} is not set");
        if let Some(a) = addr {
            return Err(ConfigError::for_key(
                ConfigErrorKind::Missing,
                addr_key,
                a,
                format!("{addr_key} is set but {port_key} is not set"),
            ));
        }
        return Ok(None);
    }
    let port = u16::try_from(port).map_err(|_| {
        ConfigError::for_key(
            ConfigErrorKind::BadAddress,
            port_key,
            &port.to_string(),
            "port out of range",
        )
    })?;
    let sa = match addr {
        None => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        Some(host) => HostPort::new(host, port).resolve().map_err(|e| {
            ConfigError::for_key(
                ConfigErrorKind::BadAddress,
                addr_key,
                host,
                format!("cannot resolve: {e}"),
            )
        })?,
    };
    log::info!("{port_key} address is {sa}");
    Ok(Some(sa))
}
