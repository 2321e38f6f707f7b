//! The JVM system properties a 3.8 server would see.
//!
//! 3.8's `parseProperties` turns every zoo.cfg key it does not know into the
//! system property `zookeeper.<key>`, and many server settings are only
//! ever read that way (`snapCount`, `4lw.commands.whitelist`, `admin.*`,
//! `DigestAuthenticationProvider.superDigest`, ...). [`SystemProperties`]
//! holds those, plus whatever the caller seeds (the binary may import
//! `-Dname=value` flags so that `JVMFLAGS` keep working), and reads them with
//! the JDK accessor and default each 3.8 call site uses.
//!
//! Some properties are read by 3.8 *without* the `zookeeper.` prefix
//! (`jute.maxbuffer`, `readonlymode.enabled`, `znode.container.*`): putting
//! them in zoo.cfg has no effect on 3.8, and none here either.

use std::collections::BTreeMap;

use crate::java;

/// Name → value, like `System.getProperties()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemProperties {
    map: BTreeMap<String, String>,
}

/// The commands `*` stands for in `4lw.commands.whitelist`.
pub const ALL_FOUR_LETTER_WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
    "wchc", "wchp", "wchs", "mntr", "isro", "hash",
];

/// Printed in place of a secret's value.
pub const HIDDEN_VALUE: &str = "<hidden>";

/// Whether the value of the system property or zoo.cfg key `name` is a
/// secret that no command and no log line prints: a key or trust store
/// password (any name containing "password", in any case: `ssl.*`,
/// `ssl.quorum.*`, `javax.net.ssl.*`, the `...passwordPath` files'
/// names too) and the super user's digest, which an attacker can brute
/// force offline.
pub fn is_secret(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    name.contains("password") || name.ends_with("digestauthenticationprovider.superdigest")
}

impl SystemProperties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.map.insert(name.into(), value.into());
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Every property, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every property as it may be printed, by name: a secret's value
    /// (see [`is_secret`]) is [`HIDDEN_VALUE`].
    pub fn iter_shown(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter()
            .map(|(k, v)| (k, if is_secret(k) { HIDDEN_VALUE } else { v }))
    }

    /// `Integer.getInteger(name, default)`: decoded like `Integer.decode`;
    /// an unparsable value silently gives the default.
    pub fn get_integer(&self, name: &str, default: i32) -> i32 {
        self.get(name).and_then(java::decode_int).unwrap_or(default)
    }

    /// `Long.getLong(name, default)`.
    pub fn get_long(&self, name: &str, default: i64) -> i64 {
        self.get(name)
            .and_then(java::decode_long)
            .unwrap_or(default)
    }

    /// `Boolean.getBoolean(name)`: true only for "true" in any case.
    pub fn get_boolean(&self, name: &str) -> bool {
        self.get(name).is_some_and(java::parse_boolean)
    }

    /// `Boolean.parseBoolean(System.getProperty(name, default))`.
    pub fn get_boolean_or(&self, name: &str, default: bool) -> bool {
        self.get(name).map_or(default, java::parse_boolean)
    }

    /// `zookeeper.snapCount` (default 100000, raised to 2 if lower, as
    /// `ZooKeeperServer.getSnapCount`).
    pub fn snap_count(&self) -> i32 {
        let n = self.get_integer("zookeeper.snapCount", 100_000);
        if n < 2 {
            log::warn!("SnapCount should be 2 or more. Now, snapCount is reset to 2");
            2
        } else {
            n
        }
    }

    /// `zookeeper.snapSizeLimitInKb` in bytes (default 4 GiB); zero or
    /// negative disables the size trigger.
    pub fn snap_size_limit_bytes(&self) -> i64 {
        self.get_long("zookeeper.snapSizeLimitInKb", 4_194_304)
            .saturating_mul(1024)
    }

    /// `zookeeper.preAllocSize` in bytes (the property is in KB, default
    /// 65536 KB). Unlike most, it is read with `Long.parseLong`: a bad value
    /// is logged and ignored.
    pub fn pre_alloc_size_bytes(&self) -> i64 {
        const DEFAULT: i64 = 65536 * 1024;
        match self.get("zookeeper.preAllocSize") {
            None => DEFAULT,
            Some(v) => match java::parse_long(v) {
                Some(kb) => kb.saturating_mul(1024),
                None => {
                    log::warn!("{v} is not a valid value for preAllocSize");
                    DEFAULT
                }
            },
        }
    }

    /// `zookeeper.globalOutstandingLimit` (default 1000).
    pub fn global_outstanding_limit(&self) -> i32 {
        self.get_integer("zookeeper.globalOutstandingLimit", 1000)
    }

    /// `zookeeper.forceSync`: fsync the txn log unless exactly "no".
    pub fn force_sync(&self) -> bool {
        self.get("zookeeper.forceSync").unwrap_or("yes") != "no"
    }

    /// `jute.maxbuffer` (no prefix; default 0xfffff bytes).
    pub fn jute_max_buffer(&self) -> i32 {
        self.get_integer("jute.maxbuffer", 0xfffff)
    }

    /// `zookeeper.jute.maxbuffer.extrasize` (default: jute.maxbuffer; a
    /// value below 1024 is replaced by 1024, as `BinaryInputArchive`).
    pub fn jute_max_buffer_extra_size(&self) -> i32 {
        let max = self.jute_max_buffer();
        let extra = self.get_integer("zookeeper.jute.maxbuffer.extrasize", max);
        if extra < 1024 {
            1024
        } else {
            extra
        }
    }

    /// `zookeeper.extendedTypesEnabled` (TTL nodes; default false).
    pub fn extended_types_enabled(&self) -> bool {
        self.get_boolean("zookeeper.extendedTypesEnabled")
    }

    /// `zookeeper.emulate353TTLNodes` (default false).
    pub fn emulate_353_ttl_nodes(&self) -> bool {
        self.get_boolean("zookeeper.emulate353TTLNodes")
    }

    /// `zookeeper.digest.enabled` (default true).
    pub fn digest_enabled(&self) -> bool {
        self.get_boolean_or("zookeeper.digest.enabled", true)
    }

    /// `zookeeper.enforceQuota` (`Boolean.parseBoolean`: "true" in any
    /// case; default false): hard quota limits refuse writes.
    pub fn enforce_quota(&self) -> bool {
        self.get("zookeeper.enforceQuota")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// `zookeeper.skipACL`: ACL checks off only for exactly "yes".
    pub fn skip_acl(&self) -> bool {
        self.get("zookeeper.skipACL") == Some("yes")
    }

    /// `zookeeper.DigestAuthenticationProvider.superDigest`
    /// (`super:<base64 sha1>`), unset by default.
    pub fn super_digest(&self) -> Option<&str> {
        self.get("zookeeper.DigestAuthenticationProvider.superDigest")
    }

    /// `readonlymode.enabled` (no prefix; default false).
    pub fn read_only_mode_enabled(&self) -> bool {
        self.get_boolean("readonlymode.enabled")
    }

    /// `zookeeper.admin.enableServer`: on unless exactly "false".
    pub fn admin_enable_server(&self) -> bool {
        self.get("zookeeper.admin.enableServer") != Some("false")
    }

    /// `zookeeper.admin.serverAddress` (default 0.0.0.0).
    pub fn admin_server_address(&self) -> &str {
        self.get("zookeeper.admin.serverAddress")
            .unwrap_or("0.0.0.0")
    }

    /// `zookeeper.admin.serverPort` (default 8080).
    pub fn admin_server_port(&self) -> i32 {
        self.get_integer("zookeeper.admin.serverPort", 8080)
    }

    /// `zookeeper.admin.idleTimeout` in ms (default 30000).
    pub fn admin_idle_timeout(&self) -> i32 {
        self.get_integer("zookeeper.admin.idleTimeout", 30000)
    }

    /// `zookeeper.admin.commandURL` (default /commands).
    pub fn admin_command_url(&self) -> &str {
        self.get("zookeeper.admin.commandURL")
            .unwrap_or("/commands")
    }

    /// `znode.container.checkIntervalMs` (no prefix; default 60000).
    pub fn container_check_interval_ms(&self) -> i32 {
        self.get_integer("znode.container.checkIntervalMs", 60_000)
    }

    /// `znode.container.maxPerMinute` (no prefix; default 10000).
    pub fn container_max_per_minute(&self) -> i32 {
        self.get_integer("znode.container.maxPerMinute", 10_000)
    }

    /// `znode.container.maxNeverUsedIntervalMs` (no prefix; default 0).
    pub fn container_max_never_used_interval_ms(&self) -> i64 {
        self.get_long("znode.container.maxNeverUsedIntervalMs", 0)
    }

    /// The enabled four-letter words, as `FourLetterCommands.isEnabled`
    /// computes them from `zookeeper.4lw.commands.whitelist`: a comma list
    /// (`*` = all), plus `srvr` always and `isro` when read-only mode is on.
    /// With the property unset only `srvr` is enabled.
    pub fn four_letter_word_whitelist(&self) -> std::collections::BTreeSet<String> {
        let mut set = std::collections::BTreeSet::new();
        if let Some(list) = self.get("zookeeper.4lw.commands.whitelist") {
            for cmd in java::split(list, ',') {
                let cmd = cmd.trim();
                if cmd == "*" {
                    set.extend(ALL_FOUR_LETTER_WORDS.iter().map(|s| s.to_string()));
                    break;
                }
                if !cmd.is_empty() {
                    set.insert(cmd.to_string());
                }
            }
        }
        if self.get("readonlymode.enabled") == Some("true") {
            set.insert("isro".to_string());
        }
        set.insert("srvr".to_string());
        set
    }
}

/// How zk-rs treats a zoo.cfg key that 3.8 turns into a system property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SystemKeyUse {
    /// Read by the server (through [`SystemProperties`]).
    Used,
    /// Meaningful only to the Java implementation (TLS, SASL, Netty, JMX,
    /// ...): accepted, reported, no effect.
    JavaOnly,
    /// Turns on TLS, SASL or enforced authentication in 3.8 when set to
    /// ask for it: refused then, honoured otherwise (`security_settings`).
    Security,
    /// Tunes SASL or x509 authentication (principal mapping, super users):
    /// no effect without them, and zk-rs refuses them when turned on.
    AuthTuning,
    /// 3.8 reads this name without the `zookeeper.` prefix, so writing it
    /// in zoo.cfg has no effect on 3.8 either.
    NoEffectInZooCfg,
    /// Read by 3.8, not implemented in zk-rs yet ([`NOT_IMPLEMENTED`]).
    NotImplemented,
    /// Not a key 3.8 reads; stored anyway, as 3.8 does.
    Unknown,
}

/// Keys (without the `zookeeper.` prefix) whose `zookeeper.<key>` property
/// the zk-rs server reads.
const USED: &[&str] = &[
    "snapCount",
    "snapSizeLimitInKb",
    "preAllocSize",
    "globalOutstandingLimit",
    "forceSync",
    "jute.maxbuffer.extrasize",
    "extendedTypesEnabled",
    "emulate353TTLNodes",
    "digest.enabled",
    "skipACL",
    "DigestAuthenticationProvider.superDigest",
    "DigestAuthenticationProvider.enabled",
    "maxCnxns",
    "closeSessionTxn.enabled",
    "db.autocreate",
    "datadir.autocreate",
    "snapshotSizeFactor",
    "forceSnapshotSync",
    "fastleader.minNotificationInterval",
    "fastleader.maxNotificationInterval",
    "quorumCnxnTimeoutMs",
    "observer.syncEnabled",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckEnabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "SASLAuthenticationProvider.superPassword",
    "X509AuthenticationProvider.superUser",
    "4lw.commands.whitelist",
    "admin.enableServer",
    "admin.serverAddress",
    "admin.serverPort",
    "admin.idleTimeout",
    "admin.commandURL",
    "admin.forceHttps",
    "admin.portUnification",
    "maxBatchSize",
    "enforceQuota",
    "fsync.warningthresholdms",
    "txnLogSizeLimitInKb",
    "nio.sessionlessCnxnTimeout",
    "cnxTimeout",
    "electionPortBindRetry",
    "snapshot.trust.empty",
    "commitLogCount",
    "tcpKeepAlive",
    // Client SASL and enforced authentication (zk-server's
    // ZooKeeperSaslServer, AuthenticationHelper, SASLAuthenticationProvider).
    "enforce.auth.enabled",
    "enforce.auth.schemes",
    "sessionRequireClientSASLAuth",
    "sasl.serverconfig",
    "superUser",
    "allowSaslFailedClients",
    "letAnySaslUserDoX",
    // Read by every SASL login (Login::with_system_properties), the
    // quorum's QuorumServer/QuorumLearner logins included.
    "security.auth_to_local",
    "requireKerberosConfig",
];

/// Keys 3.8 acts on that zk-rs does not implement yet: accepted (3.8
/// accepts them), warned about at startup as ignored, and listed in the
/// README's configuration section.
const NOT_IMPLEMENTED: &[&str] = &[
    "connection_throttle_tokens",
    "connection_throttle_fill_time",
    "connection_throttle_fill_count",
    "connection_throttle_freeze_time",
    "connection_throttle_drop_increase",
    "connection_throttle_drop_decrease",
    "connection_throttle_decrease_ratio",
    "connection_throttle_weight_enabled",
    "connection_throttle_global_session_weight",
    "connection_throttle_local_session_weight",
    "connection_throttle_renew_session_weight",
    "largeRequestMaxBytes",
    "largeRequestThreshold",
    "throttled_op_wait_time",
    "request_stale_connection_check",
    "request_stale_latency_check",
    "leader.maxConcurrentDiffSyncs",
    "leader.maxConcurrentSnapSyncs",
    "leader.maxTimeToWaitForEpoch",
    "leaderConnectDelayDuringRetryMs",
    "observer.election.DelayMs",
    "observer.reconnectDelayMs",
    "observerMaster.sizeLimit",
    "enableEagerACLCheck",
    "forward_learner_requests_to_commit_processor_disabled",
    "pathStats.enabled",
    "pathStats.delay",
    "pathStats.initialDelay",
    "pathStats.maxDepth",
    "pathStats.sampleRate",
    "pathStats.slotCapacity",
    "pathStats.slotDuration",
    "pathStats.topPathMax",
    "flushDelay",
    "maxWriteQueuePollTime",
    "leaderServes",
    "request_throttle_max_requests",
    "request_throttle_stall_time",
    "request_throttle_drop_stale",
    "snapshot.compression.method",
    "clientTcpKeepAlive",
];

/// Tuning of how 3.8's JVM server is built: its NIO connection factory and
/// watch manager cleaner (thread counts, direct buffers), and the rest
/// listed inside. zk-rs has its own threads and buffers; they have no
/// effect on what the server does.
const JAVA_TUNING: &[&str] = &[
    // CommitProcessor's worker pool and batches, buffers, caches of
    // serialized responses, async socket closing and sending, debugging
    // aids, the watch manager's class: how the JVM server is built, not
    // what it does.
    "commitProcessor.numWorkerThreads",
    "commitProcessor.maxReadBatchSize",
    "commitProcessor.maxCommitBatchSize",
    "commitProcessor.shutdownTimeout",
    "intBufferStartingSizeBytes",
    "maxResponseCacheSize",
    "maxGetChildrenResponseCacheSize",
    "maxInProcessingDeadWatchers",
    "leader.ackLoggingFrequency",
    "leader.closeSocketAsync",
    "learner.closeSocketAsync",
    "learner.asyncSending",
    "messageTracker.BufferSize",
    "messageTracker.Enabled",
    "follower.skipLearnerRequestToNextProcessor",
    "request_throttler.shutdownTimeout",
    "watchManagerName",
    "testingonly.initialZxid",
    "watcherCleanIntervalInSeconds",
    "watcherCleanThreshold",
    "watcherCleanThreadsNum",
    "serverCnxnFactory.selectorThreads",
    "nio.numSelectorThreads",
    "nio.numWorkerThreads",
    "nio.directBufferBytes",
    "nio.shutdownTimeout",
];

/// Prefixes (without `zookeeper.`) of the keys that can turn on TLS, SASL
/// or enforced authentication.
const SECURITY_PREFIXES: &[&str] = &[
    "authProvider.",
    "client.portUnification",
    "DigestAuthenticationProvider.digestAlg",
];

/// Prefixes of keys that tune authentication mechanisms zk-rs refuses.
const AUTH_TUNING_PREFIXES: &[&str] = &[
    "kerberos.",
    "sasl.",
    "X509AuthenticationProvider.",
    "ensembleAuthName",
    "kinit",
];

/// Prefixes (again without `zookeeper.`) of keys that only the JVM
/// implementation understands.
const JAVA_ONLY_PREFIXES: &[&str] = &[
    "serverCnxnFactory",
    "ssl",
    "client.",
    "clientCnxnSocket",
    "admin.httpVersion",
    "netty.",
    "jmx",
    "audit.",
    "metricsProvider",
    "fips-mode",
    "quorum.",
    "secureClientPort",
    "bitHashCacheSize",
];

/// Names 3.8 reads without the `zookeeper.` prefix.
const UNPREFIXED: &[&str] = &[
    "jute.maxbuffer",
    "readonlymode.enabled",
    "znode.container.checkIntervalMs",
    "znode.container.maxPerMinute",
    "znode.container.maxNeverUsedIntervalMs",
    "java.security.auth.login.config",
];

/// Classifies a zoo.cfg key that `parseProperties` left to the system
/// properties.
pub(crate) fn classify_system_key(key: &str) -> SystemKeyUse {
    if UNPREFIXED.contains(&key) {
        SystemKeyUse::NoEffectInZooCfg
    } else if key.starts_with("ssl.") {
        // X509Util's settings; those that can ask for what zk-rs cannot do
        // are checked by security_settings.
        match crate::x509_util::ssl_setting(key) {
            Some("crl" | "ocsp" | "context.supplier.class") => SystemKeyUse::Security,
            Some(_) => SystemKeyUse::Used,
            None => SystemKeyUse::Unknown,
        }
    } else if NOT_IMPLEMENTED.contains(&key) {
        SystemKeyUse::NotImplemented
    } else if JAVA_TUNING.contains(&key) {
        SystemKeyUse::JavaOnly
    } else if USED.contains(&key) || key.starts_with("superUser.") {
        // `superUser.<any>` names more SASL super users.
        SystemKeyUse::Used
    } else if SECURITY_PREFIXES.iter().any(|p| key.starts_with(p)) {
        SystemKeyUse::Security
    } else if AUTH_TUNING_PREFIXES.iter().any(|p| key.starts_with(p)) {
        SystemKeyUse::AuthTuning
    } else if JAVA_ONLY_PREFIXES.iter().any(|p| key.starts_with(p)) {
        SystemKeyUse::JavaOnly
    } else {
        SystemKeyUse::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `zookeeper.*` name in 3.8.4's server sources has a fate here:
    /// used, refused or checked (security), Java-only, not implemented
    /// yet, or no effect; only names 3.8's *server* never reads as a
    /// setting (the client's, the test controller's, log fields) may
    /// come out unknown.
    #[test]
    fn every_3_8_server_property_has_a_fate() {
        const NOT_SERVER_SETTINGS: &[&str] = &[
            "client.secure",
            "clientCnxnSocket",
            "clientPortAddress",
            "configuration",
            "controllerPort",
            "disableAutoWatchReset",
            "request.timeout",
            "server.principal",
            "server.realm",
            "version",
            // Prefixes X509Util builds its names from (`ssl.keyStore...`).
            "ssl.",
            "ssl.quorum.",
        ];
        let list = include_str!("testdata/zk38_system_properties.txt");
        let mut unknown = Vec::new();
        let mut n = 0;
        for name in list
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let key = name.strip_prefix("zookeeper.").expect("a zookeeper. name");
            n += 1;
            if classify_system_key(key) == SystemKeyUse::Unknown
                && !NOT_SERVER_SETTINGS.contains(&key)
            {
                unknown.push(key);
            }
        }
        assert!(n > 150, "only {n} names read from the list");
        assert!(unknown.is_empty(), "3.8 keys without a fate: {unknown:?}");
    }

    fn with(name: &str, value: &str) -> SystemProperties {
        let mut p = SystemProperties::new();
        p.set(name, value);
        p
    }

    #[test]
    fn secrets_are_shown_hidden() {
        for name in [
            "zookeeper.ssl.keyStore.password",
            "zookeeper.ssl.quorum.trustStore.password",
            "ssl.quorum.keyStore.passwordPath",
            "javax.net.ssl.keyStorePassword",
            "zookeeper.DigestAuthenticationProvider.superDigest",
            "DigestAuthenticationProvider.superDigest",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in [
            "zookeeper.ssl.keyStore.location",
            "zookeeper.DigestAuthenticationProvider.enabled",
            "zookeeper.X509AuthenticationProvider.superUser",
        ] {
            assert!(!is_secret(name), "{name}");
        }
        let mut p = with("zookeeper.ssl.keyStore.password", "s3cret");
        p.set("zookeeper.snapCount", "10");
        let shown: Vec<_> = p.iter_shown().collect();
        assert_eq!(
            shown,
            [
                ("zookeeper.snapCount", "10"),
                ("zookeeper.ssl.keyStore.password", HIDDEN_VALUE)
            ]
        );
    }

    #[test]
    fn defaults() {
        let p = SystemProperties::new();
        assert_eq!(p.snap_count(), 100_000);
        assert_eq!(p.snap_size_limit_bytes(), 4_194_304 * 1024);
        assert_eq!(p.pre_alloc_size_bytes(), 65536 * 1024);
        assert_eq!(p.global_outstanding_limit(), 1000);
        assert!(p.force_sync());
        assert_eq!(p.jute_max_buffer(), 0xfffff);
        assert_eq!(p.jute_max_buffer_extra_size(), 0xfffff);
        assert!(!p.extended_types_enabled());
        assert!(!p.emulate_353_ttl_nodes());
        assert!(p.digest_enabled());
        assert!(!p.skip_acl());
        assert_eq!(p.super_digest(), None);
        assert!(!p.read_only_mode_enabled());
        assert!(p.admin_enable_server());
        assert_eq!(p.admin_server_address(), "0.0.0.0");
        assert_eq!(p.admin_server_port(), 8080);
        assert_eq!(p.admin_idle_timeout(), 30000);
        assert_eq!(p.admin_command_url(), "/commands");
        assert_eq!(p.container_check_interval_ms(), 60_000);
        assert_eq!(p.container_max_per_minute(), 10_000);
        assert_eq!(p.container_max_never_used_interval_ms(), 0);
        let wl: Vec<String> = p.four_letter_word_whitelist().into_iter().collect();
        assert_eq!(wl, vec!["srvr"]);
    }

    #[test]
    fn set_values() {
        assert_eq!(with("zookeeper.snapCount", "0x10").snap_count(), 16);
        assert_eq!(with("zookeeper.snapCount", "1").snap_count(), 2);
        assert_eq!(with("zookeeper.snapCount", "junk").snap_count(), 100_000);
        assert_eq!(
            with("zookeeper.snapSizeLimitInKb", "-1").snap_size_limit_bytes(),
            -1024
        );
        assert_eq!(
            with("zookeeper.preAllocSize", "16").pre_alloc_size_bytes(),
            16 * 1024
        );
        assert_eq!(
            with("zookeeper.preAllocSize", "0x10").pre_alloc_size_bytes(),
            65536 * 1024
        );
        assert_eq!(
            with("zookeeper.globalOutstandingLimit", "5").global_outstanding_limit(),
            5
        );
        assert!(!with("zookeeper.forceSync", "no").force_sync());
        assert!(with("zookeeper.forceSync", "false").force_sync());
        assert_eq!(with("jute.maxbuffer", "4096").jute_max_buffer(), 4096);
        assert_eq!(
            with("zookeeper.jute.maxbuffer.extrasize", "10").jute_max_buffer_extra_size(),
            1024
        );
        assert!(with("zookeeper.extendedTypesEnabled", "TRUE").extended_types_enabled());
        assert!(!with("zookeeper.digest.enabled", "no").digest_enabled());
        assert!(with("zookeeper.skipACL", "yes").skip_acl());
        assert!(!with("zookeeper.skipACL", "true").skip_acl());
        assert_eq!(
            with(
                "zookeeper.DigestAuthenticationProvider.superDigest",
                "super:x"
            )
            .super_digest(),
            Some("super:x")
        );
        assert!(with("readonlymode.enabled", "true").read_only_mode_enabled());
        assert!(!with("zookeeper.admin.enableServer", "false").admin_enable_server());
        assert!(with("zookeeper.admin.enableServer", "no").admin_enable_server());
        assert_eq!(
            with("zookeeper.admin.serverPort", "9090").admin_server_port(),
            9090
        );
        assert_eq!(
            with("zookeeper.admin.serverAddress", "127.0.0.1").admin_server_address(),
            "127.0.0.1"
        );
        assert_eq!(
            with("zookeeper.admin.commandURL", "/c").admin_command_url(),
            "/c"
        );
        assert_eq!(
            with("zookeeper.admin.idleTimeout", "5").admin_idle_timeout(),
            5
        );
        assert_eq!(
            with("znode.container.checkIntervalMs", "100").container_check_interval_ms(),
            100
        );
        assert_eq!(
            with("znode.container.maxPerMinute", "7").container_max_per_minute(),
            7
        );
    }

    #[test]
    fn whitelist() {
        let p = with("zookeeper.4lw.commands.whitelist", " stat, ruok ,,conf");
        let wl: Vec<String> = p.four_letter_word_whitelist().into_iter().collect();
        assert_eq!(wl, vec!["conf", "ruok", "srvr", "stat"]);
        let p = with("zookeeper.4lw.commands.whitelist", "*");
        assert_eq!(
            p.four_letter_word_whitelist().len(),
            ALL_FOUR_LETTER_WORDS.len()
        );
        let mut p = SystemProperties::new();
        p.set("readonlymode.enabled", "true");
        assert!(p.four_letter_word_whitelist().contains("isro"));
    }

    #[test]
    fn classification() {
        assert_eq!(classify_system_key("snapCount"), SystemKeyUse::Used);
        // Read by 3.8, not by zk-rs yet: warned about, never "used".
        assert_eq!(classify_system_key("maxCnxns"), SystemKeyUse::Used);
        for key in ["leaderServes", "request_throttle_max_requests"] {
            assert_eq!(
                classify_system_key(key),
                SystemKeyUse::NotImplemented,
                "{key}"
            );
        }
        assert_eq!(
            classify_system_key("nio.numWorkerThreads"),
            SystemKeyUse::JavaOnly
        );
        assert_eq!(classify_system_key("commitLogCount"), SystemKeyUse::Used);
        assert_eq!(classify_system_key("enforceQuota"), SystemKeyUse::Used);
        assert_eq!(
            classify_system_key("4lw.commands.whitelist"),
            SystemKeyUse::Used
        );
        assert_eq!(
            classify_system_key("serverCnxnFactory"),
            SystemKeyUse::JavaOnly
        );
        assert_eq!(
            classify_system_key("ssl.keyStore.location"),
            SystemKeyUse::Used
        );
        assert_eq!(
            classify_system_key("ssl.quorum.clientAuth"),
            SystemKeyUse::Used
        );
        assert_eq!(classify_system_key("ssl.authProvider"), SystemKeyUse::Used);
        assert_eq!(
            classify_system_key("ssl.quorum.authProvider"),
            SystemKeyUse::Unknown
        );
        assert_eq!(classify_system_key("ssl.crl"), SystemKeyUse::Security);
        assert_eq!(
            classify_system_key("ssl.quorum.context.supplier.class"),
            SystemKeyUse::Security
        );
        assert_eq!(classify_system_key("ssl.bogus"), SystemKeyUse::Unknown);
        assert_eq!(
            classify_system_key("authProvider.1"),
            SystemKeyUse::Security
        );
        assert_eq!(
            classify_system_key("client.portUnification"),
            SystemKeyUse::Security
        );
        for used in [
            "superUser",
            "superUser.2",
            "allowSaslFailedClients",
            "sasl.serverconfig",
            "enforce.auth.enabled",
            "enforce.auth.schemes",
            "sessionRequireClientSASLAuth",
            "security.auth_to_local",
            "requireKerberosConfig",
        ] {
            assert_eq!(classify_system_key(used), SystemKeyUse::Used, "{used}");
        }
        assert_eq!(classify_system_key("superUserX"), SystemKeyUse::Unknown);
        assert_eq!(classify_system_key("client.secure"), SystemKeyUse::JavaOnly);
        assert_eq!(
            classify_system_key("jute.maxbuffer"),
            SystemKeyUse::NoEffectInZooCfg
        );
        assert_eq!(
            classify_system_key("readonlymode.enabled"),
            SystemKeyUse::NoEffectInZooCfg
        );
        assert_eq!(classify_system_key("fooBar"), SystemKeyUse::Unknown);
    }
}
