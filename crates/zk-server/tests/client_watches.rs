//! Watches of every kind, session expiry and reconnects, through a real
//! client.

// `remove()` sends removeWatches and waits for the answer; dropping a
// watcher does the same in the background, which a test cannot await.
#![allow(deprecated)]

mod common;

use std::time::Duration;

use common::*;
use zookeeper_client as zk;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_persistent_and_recursive_watches() {
    let dir = TempDir::new("watch");
    let server = start(&dir, "");
    let c = connect(&server).await;
    let other = connect(&server).await;
    c.create("/w", b"", open()).await.unwrap();

    // One client per kind: the server keeps one watch mode per
    // (connection, path), so a persistent watch set later on the same
    // connection would take over a one-shot one, as in 3.8.
    let c2 = connect(&server).await;
    let c3 = connect(&server).await;
    let (_, exists) = c.check_and_watch_stat("/w/x").await.unwrap();
    let (_, _, data) = c.get_and_watch_data("/w").await.unwrap();
    let (_, _, children) = c.get_and_watch_children("/w").await.unwrap();
    let mut persistent = c2.watch("/w", zk::AddWatchMode::Persistent).await.unwrap();
    let mut recursive = c3
        .watch("/w", zk::AddWatchMode::PersistentRecursive)
        .await
        .unwrap();

    other.create("/w/x", b"", open()).await.unwrap();
    other.set_data("/w", b"1", None).await.unwrap();
    other.set_data("/w", b"2", None).await.unwrap();
    other.set_data("/w/x", b"3", None).await.unwrap();
    other.delete("/w/x", None).await.unwrap();

    let ev = bounded("exists", exists.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (zk::EventType::NodeCreated, "/w/x")
    );
    let ev = bounded("children", children.changed()).await;
    assert_eq!(ev.event_type, zk::EventType::NodeChildrenChanged);
    let ev = bounded("data", data.changed()).await;
    assert_eq!(ev.event_type, zk::EventType::NodeDataChanged);

    // Persistent: the node's own changes, every time.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let ev = bounded("persistent", persistent.changed()).await;
        seen.push((ev.event_type, ev.path));
    }
    assert_eq!(
        seen,
        vec![
            (zk::EventType::NodeChildrenChanged, "/w".to_string()),
            (zk::EventType::NodeDataChanged, "/w".to_string()),
            (zk::EventType::NodeDataChanged, "/w".to_string()),
            (zk::EventType::NodeChildrenChanged, "/w".to_string()),
        ]
    );
    // Recursive: every node below, no child-list events.
    let mut seen = Vec::new();
    for _ in 0..5 {
        let ev = bounded("recursive", recursive.changed()).await;
        seen.push((ev.event_type, ev.path));
    }
    assert_eq!(
        seen,
        vec![
            (zk::EventType::NodeCreated, "/w/x".to_string()),
            (zk::EventType::NodeDataChanged, "/w".to_string()),
            (zk::EventType::NodeDataChanged, "/w".to_string()),
            (zk::EventType::NodeDataChanged, "/w/x".to_string()),
            (zk::EventType::NodeDeleted, "/w/x".to_string()),
        ]
    );

    // removeWatches, then the server no longer reports (the next
    // recursive event is the one after the removal).
    bounded("remove", persistent.remove()).await.unwrap();
    let (_, _, data) = c2.get_and_watch_data("/w").await.unwrap();
    bounded("remove one-shot", data.remove()).await.unwrap();
    other.set_data("/w", b"4", None).await.unwrap();
    let ev = bounded("recursive after", recursive.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (zk::EventType::NodeDataChanged, "/w")
    );
    bounded("remove recursive", recursive.remove())
        .await
        .unwrap();
    drop((c, c2, c3, other));
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_lose_their_ephemerals() {
    let dir = TempDir::new("expire");
    let server = start(&dir, "");
    let addr = server.client_addr().to_string();
    let quiet = bounded(
        "connect",
        zk::Client::connector()
            .with_session_timeout(Duration::from_millis(800))
            .with_detached()
            .connect(&addr),
    )
    .await
    .unwrap();
    quiet
        .create("/eph", b"", &mode(zk::CreateMode::Ephemeral))
        .await
        .unwrap();
    let info = quiet.session().clone();
    let observer = connect(&server).await;
    let (_, _, gone) = observer.get_and_watch_data("/eph").await.unwrap();
    // Detached: dropping it leaves the session to expire on the server.
    drop(quiet);
    let ev = bounded("ephemeral deleted", gone.changed()).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (zk::EventType::NodeDeleted, "/eph")
    );
    assert!(observer.check_stat("/eph").await.unwrap().is_none());
    let again = bounded(
        "reconnect",
        zk::Client::connector().with_session(info).connect(&addr),
    )
    .await;
    assert!(
        matches!(again, Err(zk::Error::SessionExpired)),
        "{:?}",
        again.err()
    );
    drop(observer);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_reconnects_and_restarts_with_their_watches() {
    let dir = TempDir::new("reconnect");
    let server = start(&dir, "");
    let addr = server.client_addr();
    // Detached, so that dropping it leaves the session open; a second
    // connection with the same session would make the server close the
    // first (as 3.8 does on a reconnect).
    let first = bounded(
        "connect",
        zk::Client::connector()
            .with_detached()
            .connect(&addr.to_string()),
    )
    .await
    .unwrap();
    first.create("/w", b"", open()).await.unwrap();
    first
        .create("/e", b"", &mode(zk::CreateMode::Ephemeral))
        .await
        .unwrap();
    let info = first.session().clone();
    let id = first.session_id();
    drop(first);

    // The same session from a new connection (id and password).
    let twin = bounded(
        "twin",
        zk::Client::connector()
            .with_session(info)
            .connect(&addr.to_string()),
    )
    .await
    .unwrap();
    assert_eq!(twin.session_id(), id);
    assert_eq!(twin.list_ephemerals("/").await.unwrap(), vec!["/e"]);
    drop(twin);

    let c = connect(&server).await;
    let (_, _, data) = c.get_and_watch_data("/w").await.unwrap();
    // zookeeper-client 0.11.2 re-sends only data, exist and child
    // watches (its SetWatches2 is never chosen), so persistent ones are
    // re-registered only in the processor tests.
    let id = c.session_id();

    // Restart on the same port: the client reconnects with its session
    // and re-registers its watches (setWatches2).
    stop(server).await;
    let server = start_on(&dir, "", &[], Some(addr));
    let other = connect(&server).await;
    eventually("client back", || async { c.check_stat("/w").await.is_ok() }).await;
    assert_eq!(c.session_id(), id);
    other.set_data("/w", b"x", None).await.unwrap();
    let ev = bounded("one-shot after restart", data.changed()).await;
    assert_eq!(ev.event_type, zk::EventType::NodeDataChanged);
    drop((c, other));
    stop(server).await;
}
