//! Shared by the real-client tests: a server started in-process on
//! 127.0.0.1 (port 0 unless given), a scratch data directory, and a
//! bounded wait for anything async.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use zk_config::{Properties, QuorumPeerConfig, ServerConfig};
use zk_server::ZooKeeperServerMain;
use zookeeper_client as zk;

/// How long any single wait in these tests may take.
pub const BOUND: Duration = Duration::from_secs(20);

/// A fresh data directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "zk-server-it-{}-{}-{}",
            name,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a server with `tickTime=200` plus the zoo.cfg lines in `extra`
/// and the system properties in `props`, on `addr` (port 0 by default).
pub fn start_on(
    dir: &TempDir,
    extra: &str,
    props: &[(&str, &str)],
    addr: Option<SocketAddr>,
) -> ZooKeeperServerMain {
    let text = format!("tickTime=200\ndataDir={}\n{}", dir.0.display(), extra);
    let p = Properties::parse(&text).unwrap();
    let qpc = QuorumPeerConfig::from_properties(&p).unwrap();
    let mut cfg = ServerConfig::from(&qpc);
    // Tests talk only to 127.0.0.1: no admin server on 0.0.0.0:8080 unless
    // a test asks for one.
    cfg.system_properties
        .set("zookeeper.admin.enableServer", "false");
    for (k, v) in props {
        cfg.system_properties.set(*k, *v);
    }
    cfg.client_port_address = Some(addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()));
    ZooKeeperServerMain::run(&cfg).unwrap()
}

pub fn start(dir: &TempDir, extra: &str) -> ZooKeeperServerMain {
    start_on(dir, extra, &[], None)
}

pub async fn stop(server: ZooKeeperServerMain) {
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .unwrap();
}

pub fn open() -> &'static zk::CreateOptions<'static> {
    static OPEN: zk::CreateOptions<'static> =
        zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    &OPEN
}

pub fn mode(m: zk::CreateMode) -> zk::CreateOptions<'static> {
    m.with_acls(zk::Acls::anyone_all())
}

/// Awaits `f`, failing the test if it takes longer than [`BOUND`].
pub async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(BOUND, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {}", what),
    }
}

pub async fn connect(server: &ZooKeeperServerMain) -> zk::Client {
    let addr = server.client_addr().to_string();
    bounded("connect", zk::Client::connect(&addr))
        .await
        .expect("connect failed")
}

/// Polls `cond` until it holds, within [`BOUND`].
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + BOUND;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {}", what);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
