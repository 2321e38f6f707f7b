//! Every client operation through a real client (`zookeeper-client`),
//! with the answers Apache ZooKeeper 3.8 gives. TTL nodes are off in this
//! test binary (the default); see `client_containers.rs` for them on.

mod common;

use std::time::Duration;

use common::*;
use zookeeper_client as zk;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_kinds_reads_and_errors() {
    let dir = TempDir::new("ops");
    let server = start(&dir, "");
    let c = connect(&server).await;

    let (st, seq) = c.create("/a", b"x", open()).await.unwrap();
    assert_eq!((st.version, st.data_length, st.ephemeral_owner), (0, 1, 0));
    assert_eq!(seq.into_i64(), -1);
    let (_, seq) = c
        .create("/a/s-", b"", &mode(zk::CreateMode::PersistentSequential))
        .await
        .unwrap();
    assert_eq!(seq.into_i64(), 0);
    let (st, _) = c
        .create("/a/e", b"", &mode(zk::CreateMode::Ephemeral))
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, c.session_id().0);
    let (_, seq) = c
        .create("/a/es-", b"", &mode(zk::CreateMode::EphemeralSequential))
        .await
        .unwrap();
    assert_eq!(seq.into_i64(), 2);
    let (st, _) = c
        .create("/k", b"", &mode(zk::CreateMode::Container))
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, 0, "containers show owner 0");
    assert_eq!(
        c.create("/a/e/c", b"", open()).await,
        Err(zk::Error::NoChildrenForEphemerals)
    );
    // TTL nodes need zookeeper.extendedTypesEnabled.
    let ttl = mode(zk::CreateMode::Persistent).with_ttl(Duration::from_secs(5));
    assert_eq!(
        c.create("/t", b"", &ttl).await,
        Err(zk::Error::Unimplemented)
    );

    let (mut kids, st) = c.get_children("/a").await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["e", "es-0000000002", "s-0000000000"]);
    assert_eq!((st.num_children, st.cversion), (3, 3));
    // /zookeeper, /zookeeper/quota and /zookeeper/config count too.
    assert_eq!(c.count_descendants_number("/").await.unwrap(), 8);
    assert_eq!(c.count_descendants_number("/a").await.unwrap(), 3);
    let mut eph = c.list_ephemerals("/a").await.unwrap();
    eph.sort();
    assert_eq!(eph, vec!["/a/e", "/a/es-0000000002"]);
    c.sync("/a").await.unwrap();

    assert_eq!(c.delete("/a", None).await, Err(zk::Error::NotEmpty));
    assert_eq!(c.delete("/a/e", Some(5)).await, Err(zk::Error::BadVersion));
    assert_eq!(c.delete("/nope", None).await, Err(zk::Error::NoNode));
    assert_eq!(
        c.set_data("/a", b"y", Some(3)).await,
        Err(zk::Error::BadVersion)
    );
    let st = c.set_data("/a", b"yy", Some(0)).await.unwrap();
    assert_eq!((st.version, st.data_length), (1, 2));
    assert_eq!(c.get_data("/a").await.unwrap(), (b"yy".to_vec(), st));

    // multiRead: per-op results and errors.
    let mut r = c.new_multi_reader();
    r.add_get_data("/a").unwrap();
    r.add_get_children("/missing").unwrap();
    r.add_get_children("/k").unwrap();
    let res = r.commit().await.unwrap();
    assert!(matches!(&res[0], zk::MultiReadResult::Data { data, .. } if data == b"yy"));
    assert!(matches!(
        &res[1],
        zk::MultiReadResult::Error {
            err: zk::Error::NoNode
        }
    ));
    assert!(matches!(&res[2], zk::MultiReadResult::Children { children } if children.is_empty()));

    // Reconfig on a standalone server with reconfig off.
    let joinings = ["server.2=127.0.0.1:1:2;3"];
    let r = c
        .update_ensemble(
            zk::EnsembleUpdate::Incremental {
                joinings: joinings.iter().copied(),
                leavings: [].iter().copied(),
            },
            None,
        )
        .await;
    assert_eq!(r.map(|_| ()), Err(zk::Error::ReconfigDisabled));
    drop(c);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_success_and_failure() {
    let dir = TempDir::new("multi");
    let server = start(&dir, "");
    let c = connect(&server).await;
    c.create("/m", b"", open()).await.unwrap();

    let mut w = c.new_multi_writer();
    w.add_create("/m/a", b"1", open()).unwrap();
    w.add_create("/m/s-", b"", &mode(zk::CreateMode::PersistentSequential))
        .unwrap();
    w.add_set_data("/m/a", b"2", Some(0)).unwrap();
    w.add_check_version("/m/a", 1).unwrap();
    w.add_delete("/m/s-0000000001", None).unwrap();
    let res = w.commit().await.unwrap();
    assert_eq!(res.len(), 5);
    assert!(matches!(&res[0], zk::MultiWriteResult::Create { path, .. } if path == "/m/a"));
    assert!(
        matches!(&res[1], zk::MultiWriteResult::Create { path, .. } if path == "/m/s-0000000001")
    );
    assert!(matches!(&res[2], zk::MultiWriteResult::SetData { stat } if stat.version == 1));
    assert_eq!(res[3], zk::MultiWriteResult::Check);
    assert_eq!(res[4], zk::MultiWriteResult::Delete);

    // The second op fails: nothing of the multi is applied.
    let mut w = c.new_multi_writer();
    w.add_create("/m/b", b"", open()).unwrap();
    w.add_check_version("/m/a", 7).unwrap();
    w.add_delete("/m/a", None).unwrap();
    assert_eq!(
        w.commit().await,
        Err(zk::MultiWriteError::OperationFailed {
            index: 1,
            source: zk::Error::BadVersion
        })
    );
    assert!(c.check_stat("/m/b").await.unwrap().is_none());
    assert!(c.check_stat("/m/a").await.unwrap().is_some());
    drop(c);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_with_digest_auth() {
    let dir = TempDir::new("acl");
    let server = start_on(
        &dir,
        "",
        &[(
            "zookeeper.DigestAuthenticationProvider.superDigest",
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
        )],
        None,
    );
    let addr = server.client_addr().to_string();
    let alice = bounded(
        "connect alice",
        zk::Client::connector()
            .with_auth("digest", b"alice:secret")
            .connect(&addr),
    )
    .await
    .unwrap();
    let bob = connect(&server).await;
    bob.auth("digest", b"bob:pw").await.unwrap();
    let anon = connect(&server).await;

    let users = alice.list_auth_users().await.unwrap();
    assert!(
        users.contains(&zk::AuthUser::new("digest", "alice")),
        "{:?}",
        users
    );
    assert!(
        users.contains(&zk::AuthUser::new("ip", "127.0.0.1")),
        "{:?}",
        users
    );

    let mine = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    alice.create("/p", b"secret", &mine).await.unwrap();
    assert_eq!(
        anon.create("/q", b"", &mine).await,
        Err(zk::Error::InvalidAcl)
    );
    let (acl, _) = alice.get_acl("/p").await.unwrap();
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].scheme(), "digest");
    assert!(acl[0].id().starts_with("alice:"));
    assert_ne!(acl[0].id(), "alice:x");
    assert_eq!(bob.get_data("/p").await, Err(zk::Error::NoAuth));
    assert_eq!(bob.get_acl("/p").await, Err(zk::Error::NoAuth));
    assert_eq!(bob.set_data("/p", b"", None).await, Err(zk::Error::NoAuth));
    assert_eq!(
        bob.create("/p/c", b"", open()).await,
        Err(zk::Error::NoAuth)
    );
    assert!(
        bob.check_stat("/p").await.unwrap().is_some(),
        "exists has no ACL"
    );

    // Let everyone read: the digest is then hidden from non-admins.
    let id = acl[0].id().to_string();
    let acls = [
        zk::Acl::new(zk::Permission::ALL, zk::AuthId::new("digest", &id)),
        zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone()),
    ];
    assert_eq!(
        alice.set_acl("/p", &zk::Acls::new(&acls), Some(1)).await,
        Err(zk::Error::BadVersion)
    );
    let st = alice
        .set_acl("/p", &zk::Acls::new(&acls), Some(0))
        .await
        .unwrap();
    assert_eq!(st.aversion, 1);
    let (seen, _) = bob.get_acl("/p").await.unwrap();
    assert_eq!(seen[0].id(), "alice:x");
    assert_eq!(bob.get_data("/p").await.unwrap().0, b"secret");

    // The super user passes every check.
    let root = connect(&server).await;
    root.auth("digest", b"super:test").await.unwrap();
    root.set_data("/p", b"mine", None).await.unwrap();

    // An unknown scheme fails and the server closes the connection.
    let bad = connect(&server).await;
    assert!(bad.auth("nosuch", b"x").await.is_err());
    for c in [alice, bob, anon, root, bad] {
        drop(c);
    }
    stop(server).await;
}
