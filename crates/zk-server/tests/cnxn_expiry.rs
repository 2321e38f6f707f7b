//! Connections that never finish their handshake are closed after
//! `zookeeper.nio.sessionlessCnxnTimeout`, as 3.8's connection expirer
//! does; a connected client that keeps pinging is not.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed() {
    let dir = TempDir::new("expiry");
    let server = start_on(
        &dir,
        "",
        &[("zookeeper.nio.sessionlessCnxnTimeout", "300")],
        None,
    );
    let addr = server.client_addr();
    let client = connect(&server).await;
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(BOUND)).unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 16];
        // Say nothing: the server must hang up (EOF or a reset).
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "the server sent something");
        start.elapsed()
    })
    .await
    .unwrap();
    assert!(
        closed_after >= Duration::from_millis(250),
        "{:?}",
        closed_after
    );
    assert!(closed_after < BOUND, "{:?}", closed_after);
    // The established client is held to its session timeout instead.
    client.create("/still-here", b"", open()).await.unwrap();
    drop(client);
    stop(server).await;
}
