//! `ServerStats` after known client activity: per-connection counters,
//! sessions, latency, and connections coming and going.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_follow_client_activity() {
    let dir = TempDir::new("stats");
    let server = start_on(&dir, "", &[("zookeeper.admin.enableServer", "false")], None);
    let stats = &server.server().stats;
    assert_eq!(stats.num_alive_connections(), 0);

    let c = connect(&server).await;
    let sid = c.session_id().0;
    c.create("/s", b"x", open()).await.unwrap();
    for _ in 0..5 {
        c.get_data("/s").await.unwrap();
    }
    assert_eq!(stats.num_alive_connections(), 1);
    let cnxn = stats.connections().pop().unwrap();
    let k = cnxn.counters();
    assert_eq!(k.session_id, sid);
    assert_eq!(k.session_timeout, 4000);
    // connect + create + 5 reads, all answered (pings may add more).
    assert!(cnxn.packets_received() >= 7, "{}", cnxn.packets_received());
    assert!(cnxn.packets_sent() >= 7, "{}", cnxn.packets_sent());
    assert!(stats.packets_received() >= cnxn.packets_received());
    assert!(k.count >= 7 && k.last_cxid >= 6, "{:?}", k);
    assert!(matches!(k.last_op, "GETD" | "PING"), "{:?}", k);
    assert_eq!(k.last_zxid, server.server().last_processed_zxid());
    assert!(stats.min_latency() <= stats.max_latency());
    assert!(stats.outstanding_requests() <= 1);
    assert_eq!(stats.session_of(cnxn.id), sid);

    // A second client, then both gone.
    let d = connect(&server).await;
    assert_eq!(stats.num_alive_connections(), 2);
    drop(c);
    drop(d);
    eventually("connections closed", || async {
        stats.num_alive_connections() == 0
    })
    .await;
    assert_eq!(stats.outstanding_requests(), 0);
    stop(server).await;
}
