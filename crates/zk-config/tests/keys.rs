//! Every zoo.cfg key of 3.8's parseProperties: its default and a set value.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use common::Scratch;
use zk_config::{LearnerType, ServerConfig, DEFAULT_METRICS_PROVIDER};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn defaults_of_a_minimal_standalone_config() {
    let s = Scratch::new();
    let c = s.ok("clientPort=2181\n");
    assert_eq!(c.data_dir, s.data_dir());
    assert_eq!(c.data_log_dir, s.data_dir());
    assert_eq!(c.client_port_address, Some(sa("0.0.0.0:2181")));
    assert_eq!(c.secure_client_port_address, None);
    assert_eq!(c.observer_master_port, None);
    assert_eq!(c.client_port_listen_backlog, -1);
    assert_eq!(c.tick_time, 3000, "3.8's DEFAULT_TICK_TIME");
    assert_eq!(c.max_client_cnxns, 60);
    assert_eq!(c.min_session_timeout, 6000);
    assert_eq!(c.max_session_timeout, 60000);
    assert_eq!(c.init_limit, 0);
    assert_eq!(c.sync_limit, 0);
    assert_eq!(c.connect_to_learner_master_limit, 0);
    assert_eq!(c.election_alg, 3);
    assert!(!c.quorum_listen_on_all_ips);
    assert_eq!(c.peer_type, LearnerType::Participant);
    assert!(c.sync_enabled);
    assert_eq!(c.dynamic_config_file, None);
    assert_eq!(c.snap_retain_count, 3);
    assert_eq!(c.purge_interval, 0);
    assert!(c.standalone_enabled);
    assert!(!c.reconfig_enabled);
    assert!(!c.local_sessions_enabled);
    assert!(!c.local_sessions_upgrading_enabled);
    assert!(!c.ssl_quorum);
    assert!(!c.port_unification);
    assert!(!c.ssl_quorum_reload_cert_files);
    assert!(!c.quorum_enable_sasl);
    assert!(!c.quorum_server_require_sasl);
    assert!(!c.quorum_learner_require_sasl);
    assert_eq!(c.quorum_service_principal, "zkquorum/localhost");
    assert_eq!(c.quorum_learner_login_context, "QuorumLearner");
    assert_eq!(c.quorum_server_login_context, "QuorumServer");
    assert_eq!(c.quorum_cnxn_threads_size, 0);
    assert!(!c.multi_address_enabled);
    assert!(c.multi_address_reachability_check_enabled);
    assert_eq!(c.multi_address_reachability_check_timeout_ms, 1000);
    assert_eq!(c.oracle_path, None);
    assert_eq!(c.metrics_provider_class_name, DEFAULT_METRICS_PROVIDER);
    assert!(c.metrics_provider_configuration.is_empty());
    assert!(!c.jvm_pause_monitor_to_run);
    assert_eq!(c.jvm_pause_info_threshold_ms, 1000);
    assert_eq!(c.jvm_pause_warn_threshold_ms, 10000);
    assert_eq!(c.jvm_pause_sleep_time_ms, 500);
    assert_eq!(c.server_id, None);
    assert!(c.servers().is_empty());
    assert!(!c.is_distributed());
    assert!(c.ignored_keys().is_empty());
    assert!(c.last_seen_quorum_verifier.is_none());
    assert!(c.initial_config.contains("clientPort=2181"));
    assert_eq!(c.config_file, Some(s.cfg_path()));
}

#[test]
fn every_key_set() {
    let s = Scratch::new();
    let c = s.ok("dataLogDir=/var/zk-log\n\
        clientPort=2182\nclientPortAddress=127.0.0.1\n\
        localSessionsEnabled=true\nlocalSessionsUpgradingEnabled=TRUE\n\
        observerMasterPort=2191\nclientPortListenBacklog=50\n\
        tickTime=100\nmaxClientCnxns=0\nminSessionTimeout=150\nmaxSessionTimeout=9000\n\
        initLimit=7\nsyncLimit=3\nconnectToLearnerMasterLimit=4\nelectionAlg=3\n\
        quorumListenOnAllIPs=true\npeerType=participant\nsyncEnabled=false\n\
        autopurge.snapRetainCount=5\nautopurge.purgeInterval=24\n\
        reconfigEnabled=true\nstandaloneEnabled=true\n\
        multiAddress.enabled=true\nmultiAddress.reachabilityCheckEnabled=false\n\
        multiAddress.reachabilityCheckTimeoutMs=7\n");
    assert_eq!(c.data_log_dir, PathBuf::from("/var/zk-log"));
    assert_eq!(c.client_port_address, Some(sa("127.0.0.1:2182")));
    assert!(c.local_sessions_enabled);
    assert!(c.local_sessions_upgrading_enabled);
    assert_eq!(c.observer_master_port, Some(2191));
    // Like 3.8, the range is checked only when the port is bound.
    assert_eq!(
        s.ok("observerMasterPort=65536\n").observer_master_port,
        Some(65536)
    );
    assert_eq!(s.ok("observerMasterPort=-5\n").observer_master_port, None);
    assert_eq!(c.client_port_listen_backlog, 50);
    assert_eq!(c.tick_time, 100);
    assert_eq!(c.max_client_cnxns, 0);
    assert_eq!(c.min_session_timeout, 150);
    assert_eq!(c.max_session_timeout, 9000);
    assert_eq!(c.init_limit, 7);
    assert_eq!(c.sync_limit, 3);
    assert_eq!(c.connect_to_learner_master_limit, 4);
    assert_eq!(c.election_alg, 3);
    assert!(c.quorum_listen_on_all_ips);
    assert!(!c.sync_enabled);
    assert_eq!(c.snap_retain_count, 5);
    assert_eq!(c.purge_interval, 24);
    assert!(c.reconfig_enabled);
    assert!(c.multi_address_enabled);
    assert!(!c.multi_address_reachability_check_enabled);
    assert_eq!(c.multi_address_reachability_check_timeout_ms, 7);
    let ignored: Vec<&str> = c.ignored_keys().iter().map(|k| k.key.as_str()).collect();
    assert_eq!(
        ignored,
        vec![
            "multiAddress.reachabilityCheckEnabled",
            "multiAddress.reachabilityCheckTimeoutMs"
        ]
    );
}

#[test]
fn session_timeouts_follow_tick_time_unless_set() {
    let s = Scratch::new();
    let c = s.ok("tickTime=2000\n");
    assert_eq!(
        (c.min_session_timeout, c.max_session_timeout),
        (4000, 40000)
    );
    let c = s.ok("tickTime=2000\nminSessionTimeout=-1\nmaxSessionTimeout=-1\n");
    assert_eq!(
        (c.min_session_timeout, c.max_session_timeout),
        (4000, 40000)
    );
    let c = s.ok("tickTime=2000\nminSessionTimeout=1000\n");
    assert_eq!(
        (c.min_session_timeout, c.max_session_timeout),
        (1000, 40000)
    );
    let c = s.ok("tickTime=2000\nmaxSessionTimeout=5000\n");
    assert_eq!((c.min_session_timeout, c.max_session_timeout), (4000, 5000));
    // 3.8 accepts equal bounds and a negative tick time.
    let c = s.ok("tickTime=-10\nminSessionTimeout=5\nmaxSessionTimeout=5\n");
    assert_eq!(c.tick_time, -10);
}

#[test]
fn snap_retain_count_below_three_is_raised() {
    let s = Scratch::new();
    assert_eq!(s.ok("autopurge.snapRetainCount=1\n").snap_retain_count, 3);
    assert_eq!(s.ok("autopurge.snapRetainCount=-4\n").snap_retain_count, 3);
    assert_eq!(s.ok("autopurge.snapRetainCount=3\n").snap_retain_count, 3);
    assert_eq!(s.ok("autopurge.snapRetainCount=10\n").snap_retain_count, 10);
}

#[test]
fn values_are_trimmed_and_numbers_take_a_sign() {
    let s = Scratch::new();
    let c = s.ok("clientPort = +2181   \ntickTime:\t500\t\nmaxClientCnxns 10\n");
    assert_eq!(c.client_port_address.unwrap().port(), 2181);
    assert_eq!(c.tick_time, 500);
    assert_eq!(c.max_client_cnxns, 10);
}

#[test]
fn booleans_accept_any_case() {
    let s = Scratch::new();
    assert!(!s.ok("syncEnabled=FaLsE\n").sync_enabled);
    assert!(s.ok("localSessionsEnabled=True\n").local_sessions_enabled);
}

#[test]
fn peer_type_observer_is_overruled_by_the_server_list() {
    let s = Scratch::new();
    // Standalone: no server list, the participant role wins (3.8 warns).
    assert_eq!(
        s.ok("peerType=OBSERVER\n").peer_type,
        LearnerType::Participant
    );
    s.myid("4\n");
    let c = s.ok(&format!(
        "peerType=observer\n{}server.4=127.0.0.1:2891:3891:observer\n",
        common::ENSEMBLE
    ));
    assert_eq!(c.peer_type, LearnerType::Observer);
    let c = s.ok(&format!(
        "peerType=participant\n{}server.4=127.0.0.1:2891:3891:observer\n",
        common::ENSEMBLE
    ));
    assert_eq!(c.peer_type, LearnerType::Observer);
}

#[test]
fn java_only_keys_are_accepted_and_reported_once() {
    let s = Scratch::new();
    // Security switches set to ask for nothing are honoured; the quorum
    // SASL names are read by 3.8 only with quorum SASL on.
    let c = s.ok("sslQuorum=false\nportUnification=false\nsslQuorumReloadCertFiles=false\n\
        quorum.auth.enableSasl=false\nquorum.auth.serverRequireSasl=false\nquorum.auth.learnerRequireSasl=false\n\
        quorum.auth.learner.saslLoginContext=L\nquorum.auth.server.saslLoginContext=S\n\
        quorum.auth.kerberos.servicePrincipal=zk/_HOST\nquorum.cnxn.threads.size=20\n\
        jvm.pause.monitor=true\njvm.pause.info-threshold.ms=1\njvm.pause.warn-threshold.ms=2\njvm.pause.sleep.time.ms=3\n\
        metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
        metricsProvider.httpPort=7000\nmetricsProvider.exportJvmInfo=true\n\
        oraclePath=/x\n\
        serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
        authProvider.1=org.apache.zookeeper.server.auth.DigestAuthenticationProvider\n\
        client.portUnification=false\nadmin.portUnification=false\nadmin.forceHttps=false\n\
        superUser=admin\nkerberos.removeHostFromPrincipal=true\n\
        jute.maxbuffer=100\nreadonlymode.enabled=true\nznode.container.checkIntervalMs=5\n\
        someFutureKey=1\nsomeFutureKey=2\n");
    assert_eq!(c.secure_client_port_address, None);
    assert!(!c.ssl_quorum && !c.ssl_quorum_reload_cert_files && !c.port_unification);
    assert!(
        !c.quorum_enable_sasl && !c.quorum_server_require_sasl && !c.quorum_learner_require_sasl
    );
    assert_eq!(c.quorum_learner_login_context, "L");
    assert_eq!(c.quorum_server_login_context, "S");
    assert_eq!(c.quorum_service_principal, "zk/_HOST");
    assert_eq!(c.quorum_cnxn_threads_size, 20);
    assert!(c.jvm_pause_monitor_to_run);
    assert_eq!(
        (
            c.jvm_pause_info_threshold_ms,
            c.jvm_pause_warn_threshold_ms,
            c.jvm_pause_sleep_time_ms
        ),
        (1, 2, 3)
    );
    assert!(c
        .metrics_provider_class_name
        .ends_with("PrometheusMetricsProvider"));
    assert_eq!(c.metrics_provider_configuration["httpPort"], "7000");
    assert_eq!(c.metrics_provider_configuration["exportJvmInfo"], "true");
    assert_eq!(c.oracle_path.as_deref(), Some("/x"));
    let keys: Vec<&str> = c.ignored_keys().iter().map(|k| k.key.as_str()).collect();
    for k in [
        "quorum.auth.learner.saslLoginContext",
        "quorum.auth.server.saslLoginContext",
        "quorum.auth.kerberos.servicePrincipal",
        "jvm.pause.monitor",
        "oraclePath",
        "serverCnxnFactory",
        "kerberos.removeHostFromPrincipal",
        "jute.maxbuffer",
        "readonlymode.enabled",
        "znode.container.checkIntervalMs",
        "someFutureKey",
    ] {
        assert_eq!(
            keys.iter().filter(|&&x| x == k).count(),
            1,
            "{k} in {keys:?}"
        );
    }
    // Honoured, so not reported as ignored.
    for k in [
        "sslQuorum",
        "portUnification",
        "sslQuorumReloadCertFiles",
        "quorum.auth.enableSasl",
        "quorum.cnxn.threads.size",
        "authProvider.1",
        "client.portUnification",
        "admin.portUnification",
        "admin.forceHttps",
        "metricsProvider.className",
        "metricsProvider.httpPort",
        "metricsProvider.exportJvmInfo",
    ] {
        assert!(!keys.contains(&k), "{k} reported as ignored: {keys:?}");
    }
    let reason = |k: &str| c.ignored_keys().iter().find(|i| i.key == k).unwrap().reason;
    assert!(reason("serverCnxnFactory").starts_with("Java-only"));
    assert!(reason("jute.maxbuffer").starts_with("no effect"));
    // Read by zk-server's client SASL: honoured.
    assert!(!keys.contains(&"superUser"), "{keys:?}");
    assert!(reason("quorum.auth.kerberos.servicePrincipal").starts_with("no effect"));
    assert!(reason("someFutureKey").starts_with("unknown key"));
    // 3.8 stores them all as zookeeper.<key>; last value wins.
    assert_eq!(c.system_property("zookeeper.someFutureKey"), Some("2"));
    assert_eq!(
        c.system_property("zookeeper.admin.forceHttps"),
        Some("false")
    );
    // ...and so the unprefixed names 3.8 reads stay at their defaults.
    assert_eq!(c.system_properties.jute_max_buffer(), 0xfffff);
    assert!(!c.system_properties.read_only_mode_enabled());
    assert_eq!(c.system_properties.container_check_interval_ms(), 60_000);
}

#[test]
fn server_side_system_properties_from_zoo_cfg() {
    let s = Scratch::new();
    let c = s.ok("snapCount=5000\nsnapSizeLimitInKb=100\npreAllocSize=1024\nglobalOutstandingLimit=10\n\
        forceSync=no\nextendedTypesEnabled=true\ndigest.enabled=false\nskipACL=yes\n\
        DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n\
        4lw.commands.whitelist=stat, ruok, conf, isro\nadmin.enableServer=false\n\
        admin.serverAddress=127.0.0.1\nadmin.serverPort=9876\nadmin.commandURL=/cmd\nadmin.idleTimeout=100\n\
        jute.maxbuffer.extrasize=4096\n");
    let p = &c.system_properties;
    assert_eq!(p.snap_count(), 5000);
    assert_eq!(p.snap_size_limit_bytes(), 100 * 1024);
    assert_eq!(p.pre_alloc_size_bytes(), 1024 * 1024);
    assert_eq!(p.global_outstanding_limit(), 10);
    assert!(!p.force_sync());
    assert!(p.extended_types_enabled());
    assert!(!p.digest_enabled());
    assert!(p.skip_acl());
    assert_eq!(p.super_digest(), Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
    let wl: Vec<String> = p.four_letter_word_whitelist().into_iter().collect();
    assert_eq!(wl, vec!["conf", "isro", "ruok", "srvr", "stat"]);
    assert!(!p.admin_enable_server());
    assert_eq!(p.admin_server_address(), "127.0.0.1");
    assert_eq!(p.admin_server_port(), 9876);
    assert_eq!(p.admin_command_url(), "/cmd");
    assert_eq!(p.admin_idle_timeout(), 100);
    assert_eq!(p.jute_max_buffer_extra_size(), 4096);
    assert!(c.ignored_keys().is_empty(), "{:?}", c.ignored_keys());
}

#[test]
fn seeded_system_properties_are_overridden_by_zoo_cfg() {
    let s = Scratch::new();
    std::fs::write(
        s.cfg_path(),
        format!("dataDir={}\nsnapCount=7\n", s.data_dir().display()),
    )
    .unwrap();
    let mut seed = zk_config::SystemProperties::new();
    seed.set("zookeeper.snapCount", "99");
    seed.set("jute.maxbuffer", "2048");
    seed.set("readonlymode.enabled", "true");
    let c = zk_config::QuorumPeerConfig::parse_with(&s.cfg_path(), seed).unwrap();
    assert_eq!(c.system_properties.snap_count(), 7);
    assert_eq!(c.system_properties.jute_max_buffer(), 2048);
    assert!(c.system_properties.read_only_mode_enabled());
}

#[test]
fn server_config_reads_the_standalone_view() {
    let s = Scratch::new();
    let c = s.ok(
        "clientPort=2181\nclientPortAddress=127.0.0.1\ntickTime=2000\nmaxClientCnxns=9\n\
        clientPortListenBacklog=64\ndataLogDir=/l\nmetricsProvider.k=v\nsnapCount=10\n",
    );
    let sc = ServerConfig::from(&c);
    assert_eq!(sc.client_port_address, Some(sa("127.0.0.1:2181")));
    assert_eq!(sc.secure_client_port_address, None);
    assert_eq!(sc.data_dir, s.data_dir());
    assert_eq!(sc.data_log_dir, PathBuf::from("/l"));
    assert_eq!(sc.tick_time, 2000);
    assert_eq!(sc.max_client_cnxns, 9);
    assert_eq!(
        (sc.min_session_timeout, sc.max_session_timeout),
        (4000, 40000)
    );
    assert_eq!(sc.listen_backlog, 64);
    assert_eq!(sc.metrics_provider_class_name, DEFAULT_METRICS_PROVIDER);
    assert_eq!(sc.metrics_provider_configuration["k"], "v");
    assert_eq!(sc.jvm_pause_warn_threshold_ms, 10000);
    assert_eq!(sc.system_properties.snap_count(), 10);
    assert!(sc.initial_config.contains("snapCount=10"));
}

#[test]
fn properties_syntax_in_zoo_cfg() {
    let s = Scratch::new();
    let c = s.ok(
        "# comment\n! another\n  tickTime  2500\nclientPort=\\\n   2181\nclientPort=2190\n\
        4lw.commands.whitelist=\\u0073tat\n",
    );
    assert_eq!(c.tick_time, 2500);
    assert_eq!(c.client_port_address.unwrap().port(), 2190);
    assert!(c
        .system_properties
        .four_letter_word_whitelist()
        .contains("stat"));
}

#[test]
fn from_properties_entry_point() {
    let s = Scratch::new();
    let mut props = zk_config::Properties::new();
    props.set("dataDir", s.data_dir().display().to_string());
    props.set("clientPort", "2181");
    let c = zk_config::QuorumPeerConfig::from_properties(&props).unwrap();
    assert_eq!(c.config_file, None);
    assert_eq!(c.client_port_address.unwrap().port(), 2181);
    props.set("tickTime", "x");
    let e = zk_config::QuorumPeerConfig::from_properties(&props).unwrap_err();
    assert_eq!(e.to_string(), "<properties>: tickTime=x: not a number");
}
