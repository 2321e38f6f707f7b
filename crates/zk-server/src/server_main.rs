//! `ZooKeeperServerMain`: runs a standalone server from a `ServerConfig`:
//! load the database, start the `ZooKeeperServer` and the client port.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use log::info;
use zk_config::ServerConfig;
use zk_persistence::data_tree::DataTreeOptions;
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::ExtendedTypes;

use crate::cnxn::factory::{CnxnFactoryConfig, NIOServerCnxnFactory, DEFAULT_MAX_QUEUED_BYTES};
use crate::container_manager::{ContainerManager, ContainerSettings};
use crate::sync_request_processor::SyncOptions;
use crate::zookeeper_server::{ZooKeeperServer, ZooKeeperServerConfig};

/// A running standalone server; [`ZooKeeperServerMain::shutdown`] stops it.
pub struct ZooKeeperServerMain {
    zks: Arc<ZooKeeperServer>,
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
            factory,
            container_manager,
        })
    }

    /// The address clients connect to (the real port when 0 was asked).
    pub fn client_addr(&self) -> SocketAddr {
        self.factory.local_addr()
    }

    pub fn server(&self) -> &Arc<ZooKeeperServer> {
        &self.zks
    }

    /// Stops the container manager, closes the client port, then the
    /// server.
    pub fn shutdown(mut self) {
        self.container_manager.stop();
        self.factory.shutdown();
        self.zks.shutdown();
    }
}
