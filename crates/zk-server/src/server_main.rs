//! `ZooKeeperServerMain`: runs a standalone server from a `ServerConfig`:
//! load the database, start the `ZooKeeperServer` and the client port.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::{error, info};
use zk_config::ServerConfig;
use zk_persistence::data_tree::DataTreeOptions;
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::ExtendedTypes;

use crate::admin_server::{AdminServer, AdminServerConfig};
use crate::cnxn::factory::{CnxnFactoryConfig, NIOServerCnxnFactory, DEFAULT_MAX_QUEUED_BYTES};
use crate::container_manager::{ContainerManager, ContainerSettings};
use crate::sync_request_processor::SyncOptions;
use crate::zookeeper_server::{ZooKeeperServer, ZooKeeperServerConfig};

/// A running standalone server; [`ZooKeeperServerMain::shutdown`] stops it.
pub struct ZooKeeperServerMain {
    zks: Arc<ZooKeeperServer>,
    admin_server: Option<AdminServer>,
    factory: NIOServerCnxnFactory,
    container_manager: ContainerManager,
}

impl ZooKeeperServerMain {
    /// Starts a standalone server as `ZooKeeperServerMain.runFromConfig`
    /// does, returning once the client port is open.
    pub fn run(config: &ServerConfig) -> io::Result<ZooKeeperServerMain> {
        let props = &config.system_properties;
        DataTreeOptions::set_current(DataTreeOptions {
            digest_enabled: props.get_boolean_or("zookeeper.digest.enabled", true),
            extended_types: ExtendedTypes {
                enabled: props.get_boolean("zookeeper.extendedTypesEnabled"),
                emulate_353_ttl: props.get_boolean("zookeeper.emulate353TTLNodes"),
            },
        });
        let snap_log = FileTxnSnapLog::open(&config.data_log_dir, &config.data_dir)?;
        let mut db = ZKDatabase::new(snap_log);
        let zxid = db.load_database()?;
        info!("Loaded database up to zxid 0x{:x}", zxid);
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
        cfg.sync = SyncOptions {
            dirs: Some((config.data_dir.clone(), config.data_log_dir.clone())),
            snap_count: props.snap_count() as u64,
            snap_size_bytes: props.snap_size_limit_bytes().max(0) as u64,
            force_sync: props.force_sync(),
            prealloc_bytes: props.pre_alloc_size_bytes().max(0) as u64,
            max_batch: props.get_integer("zookeeper.maxBatchSize", 1000).max(1) as usize,
        };
        let zks = ZooKeeperServer::new(cfg, db);
        zks.startup()?;
        zks.stats
            .update_facts(|f| f.initial_config = config.initial_config.clone());
        zks.stats
            .set_fsync_warning_threshold_ms(fsync_warning_threshold_ms(props));
        let admin_server = start_admin_server(&zks, props);
        let addr = config
            .client_port_address
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 2181)));
        let factory = NIOServerCnxnFactory::start(
            CnxnFactoryConfig {
                addr,
                max_client_cnxns: config.max_client_cnxns,
                listen_backlog: config.listen_backlog,
                max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
                sessionless_cnxn_timeout: Duration::from_millis(
                    props
                        .get_integer("zookeeper.nio.sessionlessCnxnTimeout", 10_000)
                        .max(1) as u64,
                ),
            },
            Arc::clone(&zks),
        )?;
        let container_manager =
            ContainerManager::start(Arc::clone(&zks), ContainerSettings::from_properties(props))?;
        Ok(ZooKeeperServerMain {
            zks,
            admin_server,
            factory,
            container_manager,
        })
    }

    /// The address clients connect to (the real port when 0 was asked).
    pub fn client_addr(&self) -> SocketAddr {
        self.factory.local_addr()
    }

    /// The admin server's address, when it runs.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_server.as_ref().map(AdminServer::local_addr)
    }

    pub fn server(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    /// Stops the container manager, closes the client port, then the
    /// server.
    pub fn shutdown(mut self) {
        if let Some(mut admin) = self.admin_server.take() {
            admin.shutdown();
        }
        self.container_manager.stop();
        self.factory.shutdown();
        self.zks.shutdown();
    }
}

/// `fsync.warningthresholdms` (either spelling), for counting slow fsyncs.
fn fsync_warning_threshold_ms(props: &zk_config::SystemProperties) -> u64 {
    let plain = props.get_long("fsync.warningthresholdms", 1000);
    props
        .get_long("zookeeper.fsync.warningthresholdms", plain)
        .max(0) as u64
}

/// Starts the admin server unless `admin.enableServer=false`. 3.8 exits
/// when it cannot start it; we log the reason and serve clients without
/// it, so a busy port 8080 does not take ZooKeeper down.
fn start_admin_server(
    zks: &Arc<ZooKeeperServer>,
    props: &zk_config::SystemProperties,
) -> Option<AdminServer> {
    let cfg = match AdminServerConfig::from_properties(props) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => {
            info!("AdminServer disabled (zookeeper.admin.enableServer=false)");
            return None;
        }
        Err(e) => {
            error!("Unable to start AdminServer: {}", e);
            return None;
        }
    };
    match AdminServer::start(Arc::clone(zks), cfg) {
        Ok(a) => Some(a),
        Err(e) => {
            error!("Unable to start AdminServer, continuing without it: {}", e);
            None
        }
    }
}
