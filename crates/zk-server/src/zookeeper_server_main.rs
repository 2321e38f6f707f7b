//! `ZooKeeperServerMain`: runs a standalone server from a `ServerConfig`,
//! in 3.8's order:
//!
//! 1. the client ports open ([`NIOServerCnxnFactory`]: 3.8's `cnxnFactory`
//!    on `clientPort`, `secureCnxnFactory` on `secureClientPort`, either or
//!    both): connections are accepted, their requests wait. The TLS
//!    settings are read first, so a key store that cannot be used stops
//!    the start before any port opens;
//! 2. the database is restored from the snapshot and txn log, and a clean
//!    snapshot of it is taken;
//! 3. the session tracker starts, then the processor chain;
//! 4. the admin server starts;
//! 5. the server is RUNNING, and the waiting connections are served;
//! 6. the container manager starts.
//!
//! [`ZooKeeperServerMain::run`] does all of it;
//! [`ZooKeeperServerMain::open_client_port`] and [`StartingServer::serve`]
//! split it after step 1.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::{error, info, warn};
use zk_config::{ServerConfig, SystemProperties, X509Util};
use zk_persistence::data_tree::DataTreeOptions;
use zk_persistence::file_txn_snap_log::FileTxnSnapLogOptions;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::ExtendedTypes;

use crate::admin_server::{AdminServer, AdminServerConfig};
use crate::authentication_helper::AuthenticationHelper;
use crate::cnxn::nio_server_cnxn_factory::{
    CnxnFactoryConfig, CnxnTls, NIOServerCnxnFactory, DEFAULT_MAX_QUEUED_BYTES,
    DEFAULT_PAUSE_READ_QUEUED_BYTES,
};
use crate::container_manager::{ContainerManager, ContainerSettings};
use crate::fatal_error::FatalError;
use crate::start_error::StartError;
use crate::sync_request_processor::SyncOptions;
use crate::x509_authentication_provider::configure_ssl_auth;
use crate::zookeeper_sasl_server::configure_sasl_login;
use crate::zookeeper_server::{ZooKeeperServer, ZooKeeperServerConfig};

/// A running standalone server; [`ZooKeeperServerMain::shutdown`] stops it.
pub struct ZooKeeperServerMain {
    zks: Arc<ZooKeeperServer>,
    admin_server: Option<AdminServer>,
    factories: ClientPorts,
    container_manager: ContainerManager,
}

/// The client ports' factories (3.8's `cnxnFactory` and
/// `secureCnxnFactory`); at least one runs.
pub struct ClientPorts {
    /// On `clientPort` (plaintext, or both with `client.portUnification`).
    pub plain: Option<NIOServerCnxnFactory>,
    /// On `secureClientPort` (TLS only).
    pub secure: Option<NIOServerCnxnFactory>,
}

impl ClientPorts {
    /// Opens the ports `configs` describe, serving `zks`; on an error the
    /// ports opened so far close again.
    pub fn start(
        configs: ClientPortConfigs,
        zks: &Arc<ZooKeeperServer>,
    ) -> io::Result<ClientPorts> {
        let mut ports = ClientPorts {
            plain: None,
            secure: None,
        };
        if let Some(cfg) = configs.plain {
            ports.plain = Some(NIOServerCnxnFactory::start(cfg, Arc::clone(zks))?);
        }
        if let Some(cfg) = configs.secure {
            match NIOServerCnxnFactory::start(cfg, Arc::clone(zks)) {
                Ok(f) => ports.secure = Some(f),
                Err(e) => {
                    ports.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(ports)
    }

    /// The address clients connect to: the plain port's, else the secure
    /// one's.
    pub fn client_addr(&self) -> SocketAddr {
        self.plain
            .as_ref()
            .or(self.secure.as_ref())
            .map(NIOServerCnxnFactory::local_addr)
            .expect("ClientPortConfigs always has a port")
    }

    /// The secure client port's address, when it is open.
    pub fn secure_client_addr(&self) -> Option<SocketAddr> {
        self.secure.as_ref().map(NIOServerCnxnFactory::local_addr)
    }

    /// `setZooKeeperServer` on every port.
    pub fn set_zookeeper_server(&self, zks: &Arc<ZooKeeperServer>) {
        for f in self.plain.iter().chain(self.secure.iter()) {
            f.set_zookeeper_server(Arc::clone(zks));
        }
    }

    /// `cnxnFactory.reconfigure`: the plain client port (else the secure
    /// one) accepts on `addr` from now on.
    pub fn reconfigure(&mut self, addr: SocketAddr) -> io::Result<()> {
        match self.plain.as_mut().or(self.secure.as_mut()) {
            Some(f) => f.reconfigure(addr),
            None => Ok(()),
        }
    }

    /// Closes every port.
    pub fn shutdown(&mut self) {
        for f in self.plain.iter_mut().chain(self.secure.iter_mut()) {
            f.shutdown();
        }
    }
}

/// A server whose client port is open but which is not yet RUNNING: its
/// connections wait. [`StartingServer::serve`] completes the start.
pub struct StartingServer {
    zks: Arc<ZooKeeperServer>,
    factories: ClientPorts,
    props: SystemProperties,
}

impl ZooKeeperServerMain {
    /// Starts a standalone server as `ZooKeeperServerMain.runFromConfig`
    /// does, returning once it is RUNNING.
    pub fn run(config: &ServerConfig) -> Result<ZooKeeperServerMain, StartError> {
        Self::open_client_port(config)?.serve()
    }

    /// Step 1: the server with its database not yet loaded, and the client
    /// port open.
    pub fn open_client_port(config: &ServerConfig) -> Result<StartingServer, StartError> {
        raise_open_file_limit();
        let props = &config.system_properties;
        // TLS first: a key store that cannot be used stops the start
        // before anything opens.
        let ports = client_port_configs(config)?;
        apply_data_tree_options(props);
        let db = open_database(config)?;
        let cfg = server_config(config);
        let zks = ZooKeeperServer::new(cfg, db);
        zks.stats
            .update_facts(|f| f.initial_config = config.initial_config.clone());
        zks.stats
            .set_fsync_warning_threshold_ms(fsync_warning_threshold_ms(props));
        let factories = ClientPorts::start(ports, &zks)?;
        let open: Vec<String> = factories
            .plain
            .iter()
            .map(|f| format!("Client port {}", f.local_addr()))
            .chain(
                factories
                    .secure
                    .iter()
                    .map(|f| format!("secure client port {}", f.local_addr())),
            )
            .collect();
        info!(
            "{} open; requests wait until the server is RUNNING",
            open.join(", ")
        );
        Ok(StartingServer {
            zks,
            factories,
            props: props.clone(),
        })
    }

    /// The address clients connect to (the real port when 0 was asked):
    /// the plain port's, or the secure one's when only it is open.
    pub fn client_addr(&self) -> SocketAddr {
        self.factories.client_addr()
    }

    /// The secure client port's address, when it is open.
    pub fn secure_client_addr(&self) -> Option<SocketAddr> {
        self.factories.secure_client_addr()
    }

    /// The admin server's address, when it runs.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_server.as_ref().map(AdminServer::local_addr)
    }

    /// The server it runs.
    pub fn server(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    /// Why the server stopped on its own (its state is then ERROR), if it
    /// did; the caller ends the process with it.
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.zks.fatal_error().cloned()
    }

    /// Stops the container manager, closes the client port, then the
    /// server.
    pub fn shutdown(mut self) {
        if let Some(mut admin) = self.admin_server.take() {
            admin.shutdown();
        }
        self.container_manager.stop();
        self.factories.shutdown();
        self.zks.shutdown();
    }
}

impl StartingServer {
    /// The address clients connect to (the real port when 0 was asked).
    pub fn client_addr(&self) -> SocketAddr {
        self.factories.client_addr()
    }

    /// The server being started.
    pub fn server(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    /// Steps 2 to 6: restore, tracker and chain, admin server, RUNNING,
    /// container manager. On an error the client port is closed again.
    pub fn serve(mut self) -> Result<ZooKeeperServerMain, StartError> {
        let zks = Arc::clone(&self.zks);
        // 3.8's loadData ends with a clean snapshot of what was restored;
        // taken here because a replicated leader takes its own (in its
        // load_data) and learners take theirs after syncing.
        let loaded = zks.load_data().and_then(|_| {
            let path = zks.db().write().unwrap().take_snapshot(false)?;
            info!("Snapshot taken: {}", path.display());
            Ok(())
        });
        if let Err(e) = loaded.and_then(|_| zks.startup_without_serving()) {
            error!("Unable to start the server: {}", e);
            self.factories.shutdown();
            zks.shutdown();
            return Err(e.into());
        }
        let admin_server = match start_admin_server(&zks, &self.props) {
            Ok(a) => a,
            Err(e) => {
                self.factories.shutdown();
                zks.shutdown();
                return Err(e);
            }
        };
        zks.start_serving();
        let container_manager = match ContainerManager::start(
            Arc::clone(&zks),
            ContainerSettings::from_properties(&self.props),
        ) {
            Ok(c) => c,
            Err(e) => {
                self.factories.shutdown();
                zks.shutdown();
                return Err(e.into());
            }
        };
        Ok(ZooKeeperServerMain {
            zks,
            admin_server,
            factories: self.factories,
            container_manager,
        })
    }
}

/// The server's database over its data directories, not yet loaded: the
/// one place a server (standalone or quorum peer) opens its txn log,
/// with `zookeeper.forceSync` and `zookeeper.preAllocSize` applied.
pub fn open_database(config: &ServerConfig) -> io::Result<ZKDatabase> {
    let props = &config.system_properties;
    let options = FileTxnSnapLogOptions {
        autocreate_dirs: props.get_boolean_or("zookeeper.datadir.autocreate", true),
        trust_empty_snapshot: props.get_boolean_or("zookeeper.snapshot.trust.empty", false),
        autocreate_db: props.get_boolean_or("zookeeper.db.autocreate", true),
        force_sync: props.force_sync(),
        prealloc_bytes: props.pre_alloc_size_bytes().max(0) as u64,
    };
    let mut db = ZKDatabase::open(&config.data_log_dir, &config.data_dir, options)?;
    // What ZKDatabase's and FileTxnSnapLog's constructors read in 3.8.
    db.set_commit_log_count(props.get_integer("zookeeper.commitLogCount", 500).max(0) as usize);
    if let Some(factor) = props.get("zookeeper.snapshotSizeFactor") {
        match factor.trim().parse::<f64>() {
            Ok(f) => db.set_snapshot_size_factor(f),
            Err(e) => warn!("zookeeper.snapshotSizeFactor {factor:?}: {e}; using the default"),
        }
    }
    let limit_kb = props.get_long("zookeeper.txnLogSizeLimitInKb", -1);
    if limit_kb > 0 {
        db.snap_log()
            .txn_log()
            .set_size_limit(Some(limit_kb as u64 * 1024));
    }
    Ok(db)
}

/// Raises the soft limit on open files to the hard limit, as the JVM does
/// for Apache ZooKeeper at startup (`-XX:+MaxFDLimit`): every client
/// connection holds a descriptor, and soft limits (often 1024) are far
/// below what a busy server needs.
pub fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which is valid and
    // exclusively borrowed for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        warn!(
            "Cannot read the open-file limit: {}",
            io::Error::last_os_error()
        );
        return;
    }
    if lim.rlim_cur >= lim.rlim_max {
        info!("Open-file limit: {}", lim.rlim_cur);
        return;
    }
    let raised = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct we pass, which is valid for
    // the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        info!(
            "Raised the open-file limit from {} to {} (the hard limit)",
            lim.rlim_cur, lim.rlim_max
        );
    } else {
        warn!(
            "Cannot raise the open-file limit from {} to {}: {}",
            lim.rlim_cur,
            lim.rlim_max,
            io::Error::last_os_error()
        );
    }
}

/// `fsync.warningthresholdms` (either spelling), for counting slow fsyncs.
pub fn fsync_warning_threshold_ms(props: &SystemProperties) -> u64 {
    let plain = props.get_long("fsync.warningthresholdms", 1000);
    props
        .get_long("zookeeper.fsync.warningthresholdms", plain)
        .max(0) as u64
}

/// Starts the admin server unless `admin.enableServer=false`. 3.8 exits
/// when it cannot start it; we log the reason and serve clients without
/// it, so a busy port 8080 does not take ZooKeeper down. HTTPS whose key
/// store cannot be loaded is the exception: the server does not start
/// (`StartError::InvalidConfig`), where 3.8 would run without its admin
/// server, so that the operator learns of it at once.
fn start_admin_server(
    zks: &Arc<ZooKeeperServer>,
    props: &SystemProperties,
) -> Result<Option<AdminServer>, StartError> {
    start_admin_server_with_slot(Arc::new(std::sync::RwLock::new(Arc::clone(zks))), props)
}

/// `start_admin_server` for a server that changes (a quorum peer's
/// successive roles).
pub fn start_admin_server_with_slot(
    slot: crate::admin_server::ServerSlot,
    props: &SystemProperties,
) -> Result<Option<AdminServer>, StartError> {
    let mut cfg = match AdminServerConfig::from_properties(props) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => {
            info!("AdminServer disabled (zookeeper.admin.enableServer=false)");
            return Ok(None);
        }
        Err(e) => {
            error!("Unable to start AdminServer: {}", e);
            return Ok(None);
        }
    };
    cfg.load_tls(props).map_err(|e| {
        StartError::InvalidConfig(format!(
            "Failed to load authentication certificates for admin server ({}): {}",
            cfg.https.setting(),
            e
        ))
    })?;
    match AdminServer::start_with_slot(slot, cfg) {
        Ok(a) => Ok(Some(a)),
        Err(e) => {
            error!("Unable to start AdminServer, continuing without it: {}", e);
            Ok(None)
        }
    }
}

/// The data tree settings the system properties choose (digests, extended
/// types), for every tree this process builds from now on.
pub fn apply_data_tree_options(props: &SystemProperties) {
    DataTreeOptions::set_current(DataTreeOptions {
        digest_enabled: props.get_boolean_or("zookeeper.digest.enabled", true),
        extended_types: ExtendedTypes {
            enabled: props.get_boolean("zookeeper.extendedTypesEnabled"),
            emulate_353_ttl: props.get_boolean("zookeeper.emulate353TTLNodes"),
        },
    });
}

/// The server's settings from zoo.cfg and the system properties.
pub fn server_config(config: &ServerConfig) -> ZooKeeperServerConfig {
    let props = &config.system_properties;
    let tick = config.tick_time;
    let mut cfg = ZooKeeperServerConfig::with_tick_time(tick);
    if config.min_session_timeout > 0 {
        cfg.min_session_timeout = config.min_session_timeout;
    }
    if config.max_session_timeout > 0 {
        cfg.max_session_timeout = config.max_session_timeout;
    }
    cfg.max_buffer = props.jute_max_buffer().max(0) as usize;
    cfg.system_properties = props.clone();
    if client_tls_wanted(config) {
        // 3.8's configureSSLAuth: the x509 provider is registered for the
        // TLS clients' certificates (a refused ssl.authProvider stops the
        // start in client_port_configs).
        let provider = X509Util::client(props).ssl_auth_provider();
        let _ = configure_ssl_auth(&mut cfg.system_properties, &provider);
    }
    cfg.sync = SyncOptions {
        persist: true,
        snap_count: props.snap_count() as u64,
        snap_size_bytes: props.snap_size_limit_bytes().max(0) as u64,
        max_batch: props.get_integer("zookeeper.maxBatchSize", 1000).max(1) as usize,
    };
    info!(
        "Created server with tickTime {} ms minSessionTimeout {} ms maxSessionTimeout {} ms datadir {} snapdir {}",
        tick,
        cfg.min_session_timeout,
        cfg.max_session_timeout,
        config.data_log_dir.display(),
        config.data_dir.display()
    );
    cfg
}

/// The settings of the client ports a server opens (3.8's
/// `ServerCnxnFactory`s): `plain` on `clientPort` (TLS beside plaintext
/// with `client.portUnification`), `secure` on `secureClientPort`.
pub struct ClientPortConfigs {
    /// `cnxnFactory`: none when only `secureClientPort` is set.
    pub plain: Option<CnxnFactoryConfig>,
    /// `secureCnxnFactory`, when `secureClientPort` is set.
    pub secure: Option<CnxnFactoryConfig>,
}

/// `zookeeper.client.portUnification`.
fn port_unification(props: &SystemProperties) -> bool {
    props.get_boolean("zookeeper.client.portUnification")
}

/// Whether any client port speaks TLS.
fn client_tls_wanted(config: &ServerConfig) -> bool {
    config.secure_client_port_address.is_some() || port_unification(&config.system_properties)
}

/// The client ports' settings, TLS included. `Err` (exit 2) when TLS is
/// asked for and its key or trust store cannot be used (the
/// `X509Exception`'s message), or `ssl.authProvider` names a provider
/// this server does not have.
pub fn client_port_configs(config: &ServerConfig) -> Result<ClientPortConfigs, StartError> {
    let props = &config.system_properties;
    check_enforced_auth(config)?;
    let sasl_login = configure_sasl_login(props).map_err(StartError::InvalidConfig)?;
    let unified = port_unification(props);
    let tls = |port_unification: bool| -> Result<CnxnTls, StartError> {
        let mut p = props.clone();
        let provider = X509Util::client(props).ssl_auth_provider();
        configure_ssl_auth(&mut p, &provider).map_err(StartError::InvalidConfig)?;
        CnxnTls::from_properties(props, port_unification).map_err(|e| {
            StartError::InvalidConfig(format!("Unable to set up TLS for the client port: {e}"))
        })
    };
    // Only a secure port: no plaintext listener stands in for it.
    let plain_addr = match (
        config.client_port_address,
        config.secure_client_port_address,
    ) {
        (Some(a), _) => Some(a),
        (None, Some(_)) => None,
        (None, None) => Some(SocketAddr::from(([0, 0, 0, 0], 2181))),
    };
    let plain = match plain_addr {
        Some(addr) => {
            let mut cfg = cnxn_factory_config_at(config, addr);
            if unified {
                cfg.tls = Some(tls(true)?);
            }
            cfg.sasl_login = sasl_login.clone();
            Some(cfg)
        }
        None => {
            if unified {
                warn!("client.portUnification=true has no effect without clientPort");
            }
            None
        }
    };
    let secure = match config.secure_client_port_address {
        Some(addr) => {
            let mut cfg = cnxn_factory_config_at(config, addr);
            cfg.tls = Some(tls(false)?);
            cfg.sasl_login = sasl_login;
            Some(cfg)
        }
        None => None,
    };
    Ok(ClientPortConfigs { plain, secure })
}

/// 3.8's `AuthenticationHelper` checks, when the server is built, that
/// enforced authentication names schemes with providers (the x509 one is
/// registered for TLS client ports): checked here, before a port opens.
fn check_enforced_auth(config: &ServerConfig) -> Result<(), StartError> {
    let mut props = config.system_properties.clone();
    if client_tls_wanted(config) {
        let provider = X509Util::client(&props).ssl_auth_provider();
        let _ = configure_ssl_auth(&mut props, &provider);
    }
    AuthenticationHelper::new(&props)
        .validate(&props)
        .map_err(StartError::InvalidConfig)
}

/// The plain client port's settings, without TLS (for tests and tools
/// that open one port).
pub fn cnxn_factory_config(config: &ServerConfig) -> CnxnFactoryConfig {
    let addr = config
        .client_port_address
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 2181)));
    cnxn_factory_config_at(config, addr)
}

/// `ServerCnxnFactory.initMaxCnxns`: `zookeeper.maxCnxns` (default 0, no
/// limit; negative is 0), logged as 3.8 logs it.
fn max_cnxns(props: &zk_config::SystemProperties) -> i32 {
    let n = props.get_integer("zookeeper.maxCnxns", 0);
    if n < 0 {
        warn!("maxCnxns should be greater than or equal to 0, using default value 0.");
        0
    } else {
        if n > 0 {
            info!("maxCnxns configured value is {n}.");
        }
        n
    }
}

/// A client port's settings at `addr`, without TLS.
fn cnxn_factory_config_at(config: &ServerConfig, addr: SocketAddr) -> CnxnFactoryConfig {
    let props = &config.system_properties;
    CnxnFactoryConfig {
        addr,
        max_client_cnxns: config.max_client_cnxns,
        max_cnxns: max_cnxns(props),
        listen_backlog: config.listen_backlog,
        max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
        pause_read_queued_bytes: DEFAULT_PAUSE_READ_QUEUED_BYTES,
        sessionless_cnxn_timeout: Duration::from_millis(
            props
                .get_integer("zookeeper.nio.sessionlessCnxnTimeout", 10_000)
                .max(1) as u64,
        ),
        tls: None,
        sasl_login: None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::Duration;

    use zk_config::{Properties, QuorumPeerConfig, ServerConfig};

    use super::*;

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap()
    }

    fn ruok(stream: &mut TcpStream) -> String {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(b"ruok").unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    #[test]
    fn reconfigure_moves_the_client_port_and_keeps_open_connections() {
        let dir = std::env::temp_dir().join(format!("zk-server-reconf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let text = format!("tickTime=200\ndataDir={}\n", dir.display());
        let qpc = QuorumPeerConfig::from_properties(&Properties::parse(&text).unwrap()).unwrap();
        let mut cfg = ServerConfig::from(&qpc);
        cfg.system_properties
            .set("zookeeper.4lw.commands.whitelist", "*");
        cfg.client_port_address = Some("127.0.0.1:0".parse().unwrap());
        let zks = ZooKeeperServer::new(server_config(&cfg), open_database(&cfg).unwrap());
        let mut ports = ClientPorts::start(client_port_configs(&cfg).unwrap(), &zks).unwrap();
        let old = ports.client_addr();
        let mut before = TcpStream::connect(old).unwrap();

        let new: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        ports.reconfigure(new).unwrap();
        assert_eq!(ports.client_addr(), new);
        let mut after = TcpStream::connect(new).unwrap();
        assert_eq!(ruok(&mut after), "imok");
        // The old port closes once the selector swapped the listeners.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(old).is_ok() {
            assert!(std::time::Instant::now() < deadline, "{old} still accepts");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The connection accepted on the old port is still served.
        assert_eq!(ruok(&mut before), "imok");
        ports.shutdown();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
