//! A real ZooKeeper client (the `zookeeper-client` crate) against the
//! server started in-process on 127.0.0.1, port 0.

use std::path::PathBuf;
use std::time::Duration;

use zk_config::{Properties, QuorumPeerConfig, ServerConfig};
use zk_server::ZooKeeperServerMain;
use zookeeper_client as zk;

/// A fresh data directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "zk-server-test-{}-{}-{}",
            name,
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start(dir: &TempDir, extra: &str) -> ZooKeeperServerMain {
    let text = format!("tickTime=200\ndataDir={}\n{}", dir.0.display(), extra);
    let props = Properties::parse(&text).unwrap();
    let qpc = QuorumPeerConfig::from_properties(&props).unwrap();
    let mut cfg = ServerConfig::from(&qpc);
    cfg.system_properties
        .set("zookeeper.admin.enableServer", "false");
    // Port 0: the OS picks a free one (zoo.cfg cannot say so).
    cfg.client_port_address = Some("127.0.0.1:0".parse().unwrap());
    ZooKeeperServerMain::run(&cfg).unwrap()
}

fn open() -> &'static zk::CreateOptions<'static> {
    static OPEN: zk::CreateOptions<'static> =
        zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    &OPEN
}

async fn connect(server: &ZooKeeperServerMain) -> zk::Client {
    let addr = server.client_addr().to_string();
    tokio::time::timeout(Duration::from_secs(20), zk::Client::connect(&addr))
        .await
        .expect("connect timed out")
        .expect("connect failed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_operations_and_watches_end_to_end() {
    let dir = TempDir::new("core");
    let server = start(&dir, "");
    let client = connect(&server).await;

    let (exists_stat, exists_watch) = client.check_and_watch_stat("/a").await.unwrap();
    assert!(exists_stat.is_none());

    let (stat, _) = client.create("/a", b"hello", open()).await.unwrap();
    assert_eq!(stat.version, 0);
    assert_eq!(stat.data_length, 5);
    let ev = tokio::time::timeout(Duration::from_secs(10), exists_watch.changed())
        .await
        .unwrap();
    assert_eq!(ev.event_type, zk::EventType::NodeCreated);
    assert_eq!(ev.path, "/a");

    let (data, got) = client.get_data("/a").await.unwrap();
    assert_eq!(data, b"hello");
    assert_eq!(got, stat);

    assert!(matches!(
        client.create("/a", b"", open()).await,
        Err(zk::Error::NodeExists)
    ));
    assert!(matches!(
        client.create("/x/y", b"", open()).await,
        Err(zk::Error::NoNode)
    ));

    let (_, _, data_watch) = client.get_and_watch_data("/a").await.unwrap();
    let st = client.set_data("/a", b"world", Some(0)).await.unwrap();
    assert_eq!(st.version, 1);
    let ev = tokio::time::timeout(Duration::from_secs(10), data_watch.changed())
        .await
        .unwrap();
    assert_eq!(ev.event_type, zk::EventType::NodeDataChanged);
    assert!(matches!(
        client.set_data("/a", b"x", Some(7)).await,
        Err(zk::Error::BadVersion)
    ));

    let (_, _, child_watch) = client.get_and_watch_children("/a").await.unwrap();
    client.create("/a/c1", b"", open()).await.unwrap();
    client.create("/a/c2", b"", open()).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), child_watch.changed())
        .await
        .unwrap();
    assert_eq!(ev.event_type, zk::EventType::NodeChildrenChanged);
    assert_eq!(ev.path, "/a");
    let (mut children, parent) = client.get_children("/a").await.unwrap();
    children.sort();
    assert_eq!(children, vec!["c1", "c2"]);
    assert_eq!(parent.num_children, 2);
    assert_eq!(parent.cversion, 2);

    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let (_, seq_no) = client.create("/a/s-", b"", &seq).await.unwrap();
    assert_eq!(seq_no.into_i64(), 2);

    assert!(matches!(
        client.delete("/a", None).await,
        Err(zk::Error::NotEmpty)
    ));
    for c in ["/a/c1", "/a/c2", "/a/s-0000000002"] {
        client.delete(c, None).await.unwrap();
    }
    client.delete("/a", Some(1)).await.unwrap();
    assert!(client.check_stat("/a").await.unwrap().is_none());

    // Ephemerals go with their session.
    let other = connect(&server).await;
    let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    other.create("/e", b"", &eph).await.unwrap();
    let st = client.check_stat("/e").await.unwrap().unwrap();
    assert_eq!(st.ephemeral_owner, other.session_id().0);
    drop(other);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while client.check_stat("/e").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "ephemeral survived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(client);
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = TempDir::new("restart");
    let server = start(&dir, "");
    let client = connect(&server).await;
    client.create("/keep", b"v1", open()).await.unwrap();
    client.set_data("/keep", b"v2", None).await.unwrap();
    drop(client);
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .unwrap();

    let server = start(&dir, "");
    let client = connect(&server).await;
    let (data, stat) = client.get_data("/keep").await.unwrap();
    assert_eq!(data, b"v2");
    assert_eq!(stat.version, 1);
    drop(client);
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .unwrap();
}
