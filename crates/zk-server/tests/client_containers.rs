//! Containers and TTL nodes (removed by the `ContainerManager`, checking
//! every 100 ms here), and a restart that keeps every kind of node.

mod common;

use std::time::Duration;

use common::*;
use zookeeper_client as zk;

const PROPS: &[(&str, &str)] = &[
    ("zookeeper.extendedTypesEnabled", "true"),
    ("znode.container.checkIntervalMs", "100"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptied_containers_and_expired_ttls_are_removed() {
    let dir = TempDir::new("containers");
    let server = start_on(&dir, "", PROPS, None);
    let c = connect(&server).await;
    let container = mode(zk::CreateMode::Container);
    c.create("/fresh", b"", &container).await.unwrap();
    c.create("/k", b"", &container).await.unwrap();
    c.create("/k/c", b"", open()).await.unwrap();
    let ttl = mode(zk::CreateMode::Persistent).with_ttl(Duration::from_millis(300));
    let (st, _) = c.create("/t", b"", &ttl).await.unwrap();
    assert_eq!(st.ephemeral_owner, 0, "TTL nodes show owner 0");
    let long = mode(zk::CreateMode::Persistent).with_ttl(Duration::from_secs(3600));
    c.create("/long", b"", &long).await.unwrap();
    let (_, _, gone) = c.get_and_watch_data("/k").await.unwrap();
    c.delete("/k/c", None).await.unwrap();
    let ev = bounded("container removed", gone.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (zk::EventType::NodeDeleted, "/k")
    );
    eventually("ttl node removed", || async {
        c.check_stat("/t").await.unwrap().is_none()
    })
    .await;
    assert!(
        c.check_stat("/fresh").await.unwrap().is_some(),
        "never used"
    );
    assert!(c.check_stat("/long").await.unwrap().is_some());
    drop(c);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_nodes_stats_and_acls() {
    let dir = TempDir::new("restart-all");
    let server = start_on(&dir, "", PROPS, None);
    let c = bounded(
        "connect",
        zk::Client::connector()
            .with_auth("digest", b"u:p")
            .connect(&server.client_addr().to_string()),
    )
    .await
    .unwrap();
    c.create("/d", b"data", open()).await.unwrap();
    c.set_data("/d", b"data2", None).await.unwrap();
    let mine = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    c.create("/d/secret", b"s", &mine).await.unwrap();
    c.create("/d/q-", b"", &mode(zk::CreateMode::PersistentSequential))
        .await
        .unwrap();
    c.create("/box", b"", &mode(zk::CreateMode::Container))
        .await
        .unwrap();
    let (data, before) = c.get_data("/d").await.unwrap();
    let (acl_before, _) = c.get_acl("/d/secret").await.unwrap();
    drop(c);
    stop(server).await;

    let server = start_on(&dir, "", PROPS, None);
    let c = bounded(
        "connect",
        zk::Client::connector()
            .with_auth("digest", b"u:p")
            .connect(&server.client_addr().to_string()),
    )
    .await
    .unwrap();
    assert_eq!(c.get_data("/d").await.unwrap(), (data, before));
    assert_eq!(c.get_acl("/d/secret").await.unwrap().0, acl_before);
    assert_eq!(c.get_data("/d/secret").await.unwrap().0, b"s");
    let (mut kids, _) = c.get_children("/d").await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["q-0000000001", "secret"]);
    assert!(c.check_stat("/box").await.unwrap().is_some());
    let anon = connect(&server).await;
    assert_eq!(anon.get_data("/d/secret").await, Err(zk::Error::NoAuth));
    drop((c, anon));
    stop(server).await;
}
