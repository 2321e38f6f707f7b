//! kill -9 of a standalone zk-bin under a write load: every write a client
//! saw acknowledged is there, with its data, after a restart on the same
//! data directory (the reply is sent only after the txn log's fsync).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use integration::ports::{free_port, TempDir};
use integration::workload::connect;
use integration::zk_bin::ZkBinServer;
use zookeeper_client::{Acls, CreateMode};

const BOUND: Duration = Duration::from_secs(30);

/// The writes clients saw acknowledged: (path, data).
type Acked = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let work = TempDir::new("zk-crash").unwrap();
    let port = free_port().unwrap();
    let mut server =
        ZkBinServer::start(&work, port, "snapCount=500").unwrap_or_else(|e| panic!("{e}"));
    let connect_string = format!("127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acked: Acked = Arc::default();

    rt.block_on(async {
        let c = connect(&connect_string, &[], None, false, BOUND)
            .await
            .unwrap();
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        c.create("/load", b"", &all).await.unwrap();
        let mut writers = Vec::new();
        for w in 0..4 {
            let (cs, acked) = (connect_string.clone(), Arc::clone(&acked));
            writers.push(tokio::spawn(async move {
                let c = connect(&cs, &[], None, false, BOUND).await.unwrap();
                let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
                for i in 0.. {
                    let path = format!("/load/w{w}-{i:06}");
                    let data = format!("writer {w} write {i}").into_bytes();
                    // Errors come once the server is killed; stop there.
                    match tokio::time::timeout(BOUND, c.create(&path, &data, &all)).await {
                        Ok(Ok(_)) => acked.lock().unwrap().push((path, data)),
                        _ => break,
                    }
                }
            }));
        }
        // Let the load run, then kill the server in the middle of it.
        let deadline = tokio::time::Instant::now() + BOUND;
        while acked.lock().unwrap().len() < 1500 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the load did not get going"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill_9();
        for w in writers {
            let _ = tokio::time::timeout(BOUND, w).await;
        }
    });

    let acked = acked.lock().unwrap().clone();
    let _server =
        ZkBinServer::start(&work, port, "snapCount=500").unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let c = connect(&connect_string, &[], None, false, BOUND)
            .await
            .unwrap();
        for (path, data) in &acked {
            let got = c.get_data(path).await;
            match got {
                Ok((value, _)) => assert_eq!(&value, data, "{path}"),
                Err(e) => panic!("acknowledged write {path} lost after kill -9: {e}"),
            }
        }
    });
    println!(
        "{} acknowledged creates, all present after kill -9 and restart",
        acked.len()
    );
}
