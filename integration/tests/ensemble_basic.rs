//! A 3-node zk-bin ensemble on loopback, each node its own process and
//! dataDir: a leader is elected, a client on each node writes and every
//! node sees every write (after `sync`); kill -9 of the leader leaves two
//! nodes that elect a new leader and take writes; the old leader, started
//! again on its dataDir, catches up. Sessions belong to the leader: one
//! moves between followers (REVALIDATE) and lives on their PING touches,
//! one whose client vanished expires everywhere. Under a write load on
//! every node, kill -9 of the leader loses no acknowledged write.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration::apache::four_letter;
use integration::ports::{free_port_except, TempDir};
use integration::workload::connect;
use integration::zk_bin::zk_bin;
use zookeeper_client::{Acls, Client, CreateMode};

const BOUND: Duration = Duration::from_secs(60);

/// One member: its ports, its files, its process (killed on drop).
struct Node {
    id: u64,
    client: SocketAddr,
    cfg: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn start(&mut self) {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(zk_bin().unwrap_or_else(|e| panic!("{e}")))
            .arg(&self.cfg)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log_text(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// "leader", "follower" or "observer" once the node serves.
    fn mode(&self) -> Option<String> {
        let srvr = four_letter(self.client, "srvr", Duration::from_secs(2)).ok()?;
        srvr.lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(str::to_string)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Writes each node's zoo.cfg and myid; starts none.
fn ensemble(work: &TempDir, n: u64) -> Vec<Node> {
    let mut used = Vec::new();
    let mut port = || {
        let p = free_port_except(&used).unwrap();
        used.push(p);
        p
    };
    let ports: Vec<(u16, u16, u16)> = (0..n).map(|_| (port(), port(), port())).collect();
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(i, (_, q, e))| format!("server.{}=127.0.0.1:{q}:{e}\n", i + 1))
        .collect();
    (1..=n)
        .map(|id| {
            let (client, _, _) = ports[id as usize - 1];
            let data = work.join(format!("data{id}"));
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("myid"), format!("{id}\n")).unwrap();
            let cfg = work.join(format!("zoo{id}.cfg"));
            // Generous limits: an fsync on a busy 2-core machine can take
            // a second, and a follower must not be dropped for it.
            std::fs::write(
                &cfg,
                format!(
                    "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir={}\n\
                     clientPortAddress=127.0.0.1\nclientPort={client}\n\
                     admin.enableServer=false\n4lw.commands.whitelist=*\n{servers}",
                    data.display()
                ),
            )
            .unwrap();
            Node {
                id,
                client: SocketAddr::from(([127, 0, 0, 1], client)),
                cfg,
                log: work.join(format!("server{id}.log")),
                child: None,
            }
        })
        .collect()
}

/// Waits until the running nodes serve with exactly one leader among them;
/// returns the leader's id.
fn wait_for_leader(nodes: &[Node]) -> u64 {
    let deadline = Instant::now() + BOUND;
    loop {
        let modes: Vec<(u64, Option<String>)> = nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| (n.id, n.mode()))
            .collect();
        let leaders: Vec<u64> = modes
            .iter()
            .filter(|(_, m)| m.as_deref() == Some("leader"))
            .map(|(id, _)| *id)
            .collect();
        if leaders.len() == 1 && modes.iter().all(|(_, m)| m.is_some()) {
            return leaders[0];
        }
        if Instant::now() >= deadline {
            let logs: String = nodes
                .iter()
                .map(|n| format!("--- server {} ---\n{}\n", n.id, n.log_text()))
                .collect();
            panic!("no single leader within {BOUND:?}: {modes:?}\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn client(node: &Node) -> Client {
    connect(&node.client.to_string(), &[], None, false, BOUND)
        .await
        .unwrap_or_else(|e| panic!("server {}: {e}\n{}", node.id, node.log_text()))
}

/// Creates `path` through `node`, retrying while the ensemble settles
/// (a node that just changed role closes its connections).
async fn create_through(node: &Node, path: &str, data: &[u8]) {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let c = client(node).await;
        match tokio::time::timeout(Duration::from_secs(10), c.create(path, data, &all)).await {
            Ok(Ok(_)) => return,
            Ok(Err(zookeeper_client::Error::NodeExists)) => return,
            other => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "create {path} through server {} kept failing: {other:?}\n{}",
                    node.id,
                    node.log_text()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// After `sync`, `node` has every one of `paths` with its data.
async fn check_sees(node: &Node, paths: &[(&str, &[u8])]) {
    let c = client(node).await;
    tokio::time::timeout(BOUND, c.sync("/"))
        .await
        .expect("sync answered")
        .unwrap_or_else(|e| panic!("sync on server {}: {e}", node.id));
    for (path, data) in paths {
        let (got, _) = tokio::time::timeout(BOUND, c.get_data(path))
            .await
            .expect("read answered")
            .unwrap_or_else(|e| panic!("{path} on server {}: {e}\n{}", node.id, node.log_text()));
        assert_eq!(&got, data, "{path} on server {}", node.id);
    }
}

#[test]
fn three_nodes_elect_replicate_fail_over_and_catch_up() {
    let work = TempDir::new("zk-ensemble-basic").unwrap();
    let mut nodes = ensemble(&work, 3);
    let started = Instant::now();
    for n in nodes.iter_mut() {
        n.start();
    }
    let leader = wait_for_leader(&nodes);
    println!(
        "leader {leader} elected and all serving {} ms after the start",
        started.elapsed().as_millis()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let first: Vec<(String, Vec<u8>)> = nodes
        .iter()
        .map(|n| {
            (
                format!("/via{}", n.id),
                format!("written through {}", n.id).into_bytes(),
            )
        })
        .collect();
    let first_refs: Vec<(&str, &[u8])> = first
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    rt.block_on(async {
        for (n, (path, data)) in nodes.iter().zip(&first) {
            create_through(n, path, data).await;
        }
        for n in &nodes {
            check_sees(n, &first_refs).await;
        }
    });

    // kill -9 of the leader: the other two elect one of themselves.
    let old = leader as usize - 1;
    nodes[old].kill_9();
    let failed_at = Instant::now();
    let new_leader = wait_for_leader(&nodes);
    assert_ne!(new_leader, leader);
    let survivors: Vec<usize> = (0..3).filter(|&i| i != old).collect();
    rt.block_on(async {
        for &i in &survivors {
            let path = format!("/after-failover-via{}", nodes[i].id);
            create_through(&nodes[i], &path, b"x").await;
        }
    });
    println!(
        "new leader {new_leader} took writes {} ms after the kill",
        failed_at.elapsed().as_millis()
    );
    let second: Vec<String> = survivors
        .iter()
        .map(|&i| format!("/after-failover-via{}", nodes[i].id))
        .collect();
    let mut all_refs = first_refs.clone();
    all_refs.extend(second.iter().map(|p| (p.as_str(), b"x".as_slice())));
    rt.block_on(async {
        for &i in &survivors {
            check_sees(&nodes[i], &all_refs).await;
        }
    });

    // The old leader comes back on its dataDir and catches up.
    nodes[old].start();
    assert_eq!(wait_for_leader(&nodes), new_leader, "the leader changed");
    rt.block_on(async {
        check_sees(&nodes[old], &all_refs).await;
        // And it takes writes again, seen everywhere.
        create_through(&nodes[old], "/after-restart", b"y").await;
        all_refs.push(("/after-restart", b"y"));
        for n in &nodes {
            check_sees(n, &all_refs).await;
        }
    });
    assert_eq!(
        nodes[old].mode().as_deref(),
        Some("follower"),
        "{}",
        nodes[old].log_text()
    );
}

/// The nodes that are not `leader`.
fn followers(nodes: &[Node], leader: u64) -> Vec<usize> {
    (0..nodes.len())
        .filter(|&i| nodes[i].id != leader)
        .collect()
}

/// Whether `path` exists on `node` after a `sync`.
async fn exists_on(node: &Node, path: &str) -> bool {
    let c = client(node).await;
    tokio::time::timeout(BOUND, c.sync("/"))
        .await
        .expect("sync answered")
        .unwrap();
    tokio::time::timeout(BOUND, c.check_stat(path))
        .await
        .expect("exists answered")
        .unwrap()
        .is_some()
}

#[test]
fn sessions_belong_to_the_leader() {
    let work = TempDir::new("zk-ensemble-sessions").unwrap();
    let mut nodes = ensemble(&work, 3);
    for n in nodes.iter_mut() {
        n.start();
    }
    let leader = wait_for_leader(&nodes);
    let f = followers(&nodes, leader);
    let (f1, f2) = (&nodes[f[0]], &nodes[f[1]]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    rt.block_on(async {
        // A session made on one follower moves to the other (REVALIDATE
        // through the leader) and keeps its ephemeral node alive there
        // through the PING touches the follower relays.
        let c = connect(
            &f1.client.to_string(),
            &[],
            Some(Duration::from_secs(2)),
            true,
            BOUND,
        )
        .await
        .unwrap();
        c.create("/moved", b"m", &eph).await.unwrap();
        let session = c.session().clone();
        let sid = c.session_id();
        drop(c);
        let c = tokio::time::timeout(
            BOUND,
            Client::connector()
                .with_session(session)
                .with_connection_timeout(BOUND)
                .connect(&f2.client.to_string()),
        )
        .await
        .expect("reconnect answered")
        .unwrap_or_else(|e| panic!("reconnect to server {}: {e}\n{}", f2.id, f2.log_text()));
        assert_eq!(c.session_id(), sid);
        // Idle for twice the session timeout: only touches keep it.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let (_, stat) = c.get_data("/moved").await.unwrap();
        assert_eq!(stat.ephemeral_owner, sid.0);
        for n in &nodes {
            assert!(exists_on(n, "/moved").await, "/moved gone on {}", n.id);
        }

        // A session whose client vanished expires on the leader, and its
        // ephemeral node goes everywhere.
        let gone = connect(
            &f1.client.to_string(),
            &[],
            Some(Duration::from_secs(2)),
            true,
            BOUND,
        )
        .await
        .unwrap();
        gone.create("/expires", b"e", &eph).await.unwrap();
        let gone_session = gone.session().clone();
        drop(gone);
        let deadline = tokio::time::Instant::now() + BOUND;
        for n in &nodes {
            while exists_on(n, "/expires").await {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "/expires outlived its session on server {}",
                    n.id
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        // Reconnecting with the expired session is refused.
        let again = tokio::time::timeout(
            BOUND,
            Client::connector()
                .with_session(gone_session)
                .with_connection_timeout(BOUND)
                .connect(&f2.client.to_string()),
        )
        .await
        .expect("reconnect answered");
        assert!(
            matches!(again, Err(zookeeper_client::Error::SessionExpired)),
            "{:?}",
            again.map(|c| c.session_id())
        );
        drop(c);
    });
}

#[test]
fn acknowledged_writes_survive_a_leader_kill_9_under_load() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let work = TempDir::new("zk-ensemble-load").unwrap();
    let mut nodes = ensemble(&work, 3);
    for n in nodes.iter_mut() {
        n.start();
    }
    let leader = wait_for_leader(&nodes);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    rt.block_on(create_through(&nodes[0], "/load", b""));
    // One writer per node, each on its own server; errors (while the
    // ensemble fails over) are retried with the next name.
    let writers: Vec<_> = nodes
        .iter()
        .map(|n| {
            let (addr, id) = (n.client.to_string(), n.id);
            let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
            rt.spawn(async move {
                let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let Ok(c) = connect(&addr, &[], None, false, Duration::from_secs(5)).await
                    else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    while !stop.load(Ordering::SeqCst) {
                        let path = format!("/load/n{id}-{i:06}");
                        i += 1;
                        match tokio::time::timeout(
                            Duration::from_secs(5),
                            c.create(&path, b"", &all),
                        )
                        .await
                        {
                            Ok(Ok(_)) => acked.lock().unwrap().push(path),
                            _ => break,
                        }
                    }
                }
            })
        })
        .collect();
    let wait_acked = |n: usize| {
        let deadline = Instant::now() + BOUND;
        while acked.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "writes stalled at {}",
                acked.lock().unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_acked(300);
    let old = leader as usize - 1;
    nodes[old].kill_9();
    let before = acked.lock().unwrap().len();
    let new_leader = wait_for_leader(&nodes);
    assert_ne!(new_leader, leader);
    wait_acked(before + 300);
    nodes[old].start();
    wait_for_leader(&nodes);
    let so_far = acked.lock().unwrap().len();
    wait_acked(so_far + 100);
    stop.store(true, Ordering::SeqCst);
    rt.block_on(async {
        for w in writers {
            let _ = tokio::time::timeout(BOUND, w).await;
        }
    });
    let acked = acked.lock().unwrap().clone();
    println!("{} writes acknowledged across the fail-over", acked.len());
    rt.block_on(async {
        for n in &nodes {
            let c = client(n).await;
            tokio::time::timeout(BOUND, c.sync("/load"))
                .await
                .expect("sync answered")
                .unwrap();
            let (children, _) = c.get_children("/load").await.unwrap();
            let have: std::collections::HashSet<String> =
                children.into_iter().map(|c| format!("/load/{c}")).collect();
            let missing: Vec<&String> = acked.iter().filter(|p| !have.contains(*p)).collect();
            assert!(
                missing.is_empty(),
                "server {} lost {} acknowledged writes, e.g. {:?}",
                n.id,
                missing.len(),
                &missing[..missing.len().min(5)]
            );
        }
    });
}
