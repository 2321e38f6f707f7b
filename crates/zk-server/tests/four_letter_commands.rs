//! Every four-letter word against a running server after known activity
//! (a persistent node, an ephemeral, a data and a child watch), and the
//! whitelist.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::*;
use zk_server::ZooKeeperServerMain;
use zookeeper_client as zk;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Sends a word and reads the answer up to the server's close.
fn word(addr: SocketAddr, w: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.write_all(w.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out)
        .expect("the server answers and closes");
    out
}

fn mntr(addr: SocketAddr) -> HashMap<String, String> {
    word(addr, "mntr")
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').expect("key<TAB>value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn no_admin() -> Vec<(&'static str, &'static str)> {
    vec![("zookeeper.admin.enableServer", "false")]
}

fn node_count(server: &ZooKeeperServerMain) -> usize {
    server
        .server()
        .db()
        .read()
        .unwrap()
        .data_tree()
        .node_count()
}

#[test]
fn every_word_reports_the_servers_state() {
    let dir = TempDir::new("4lw-all");
    let mut props = no_admin();
    props.push(("zookeeper.4lw.commands.whitelist", "*"));
    let server = start_on(&dir, "", &props, None);
    let addr = server.client_addr();
    let rt = runtime();
    let (client, sid, _watches) = rt.block_on(async {
        let c = connect(&server).await;
        c.create("/a", b"hello", open()).await.unwrap();
        c.create("/e", b"", &mode(zk::CreateMode::Ephemeral))
            .await
            .unwrap();
        let (_, _, dw) = c.get_and_watch_data("/a").await.unwrap();
        let (_, _, cw) = c.get_and_watch_children("/a").await.unwrap();
        let sid = c.session_id().0;
        (c, sid, (dw, cw))
    });
    let zxid = server.server().last_processed_zxid();
    let nodes = node_count(&server);

    assert_eq!(word(addr, "ruok"), "imok");
    assert_eq!(word(addr, "isro"), "rw");
    assert_eq!(word(addr, "gtmk"), "306");

    let received = check_srvr(addr, zxid, nodes);
    check_stat_conf_and_cons(addr, nodes, sid);
    check_watches_dump_envi_mntr_dirs_hash(addr, nodes, sid);

    // srst zeroes the server's counters; crst the connections'.
    assert_eq!(word(addr, "srst"), "Server stats reset.\n");
    let after = word(addr, "srvr");
    let received_after: u64 = after
        .lines()
        .find_map(|l| l.strip_prefix("Received: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(received_after < received, "{}", after);
    assert_eq!(word(addr, "crst"), "Connection stats reset.\n");
    let cons = word(addr, "cons");
    assert!(cons.contains(&format!(",sid=0x{:x},", sid)), "{}", cons);

    rt.block_on(async move { drop(client) });
    server.shutdown();
}

/// `srvr` after the activity of [`every_word_reports_the_servers_state`];
/// the packets received so far.
fn check_srvr(addr: SocketAddr, zxid: i64, nodes: usize) -> u64 {
    let srvr = word(addr, "srvr");
    let lines: Vec<&str> = srvr.lines().collect();
    assert!(
        lines[0].starts_with("Zookeeper version: 3.8.0-"),
        "{}",
        srvr
    );
    assert!(lines[0].contains(", built on "), "{}", srvr);
    assert!(lines[1].starts_with("Latency min/avg/max: "), "{}", srvr);
    let lat: Vec<&str> = lines[1]["Latency min/avg/max: ".len()..]
        .split('/')
        .collect();
    let (min, avg, max): (i64, f64, i64) = (
        lat[0].parse().unwrap(),
        lat[1].parse().unwrap(),
        lat[2].parse().unwrap(),
    );
    assert!(min as f64 <= avg && avg <= max as f64, "{}", srvr);
    let received: u64 = lines[2]
        .strip_prefix("Received: ")
        .unwrap()
        .parse()
        .unwrap();
    let sent: u64 = lines[3].strip_prefix("Sent: ").unwrap().parse().unwrap();
    // connect + 2 creates + 2 reads, plus this word; each answered.
    assert!(received >= 6 && sent >= 5, "{}", srvr);
    // The client's connection and this one.
    assert_eq!(lines[4], "Connections: 2", "{}", srvr);
    // A ping of the client's may be on its way through.
    assert!(
        matches!(lines[5], "Outstanding: 0" | "Outstanding: 1"),
        "{}",
        srvr
    );
    assert_eq!(lines[6], format!("Zxid: 0x{:x}", zxid), "{}", srvr);
    assert_eq!(lines[7], "Mode: standalone");
    assert_eq!(lines[8], format!("Node count: {}", nodes));
    assert_eq!(lines.len(), 9);
    received
}

/// `stat`, `conf` and `cons` (see [`every_word_reports_the_servers_state`]).
fn check_stat_conf_and_cons(addr: SocketAddr, nodes: usize, sid: i64) {
    let stat = word(addr, "stat");
    assert!(stat.contains("\nClients:\n /127.0.0.1:"), "{}", stat);
    assert!(stat.contains("[1](queued=0,recved="), "{}", stat);
    assert!(!stat.contains("sid=0x"), "stat is brief: {}", stat);
    assert!(
        stat.contains(&format!("\nNode count: {}\n", nodes)),
        "{}",
        stat
    );

    let conf = word(addr, "conf");
    assert!(
        conf.starts_with(&format!(
            "clientPort={}\nsecureClientPort=-1\n",
            addr.port()
        )),
        "{}",
        conf
    );
    assert!(conf.contains("/version-2\ndataDirSize="), "{}", conf);
    assert!(conf.contains("\ntickTime=200\n"), "{}", conf);
    assert!(
        conf.contains("\nminSessionTimeout=400\nmaxSessionTimeout=4000\n"),
        "{}",
        conf
    );
    assert!(conf.ends_with("serverId=0\n"), "{}", conf);

    let cons = word(addr, "cons");
    let mine = cons
        .lines()
        .find(|l| l.contains(&format!(",sid=0x{:x},", sid)))
        .unwrap_or_else(|| panic!("no line for 0x{:x}: {}", sid, cons));
    assert!(mine.starts_with(" /127.0.0.1:"), "{}", mine);
    assert!(mine.contains(",to="), "{}", mine);
    assert!(mine.contains(",lcxid=0x"), "{}", mine);
    assert!(cons.ends_with(")\n\n"), "{:?}", cons);
}

/// The watch words, `dump`, `envi`, `mntr`, `dirs` and `hash` (see
/// [`every_word_reports_the_servers_state`]).
fn check_watches_dump_envi_mntr_dirs_hash(addr: SocketAddr, nodes: usize, sid: i64) {
    assert_eq!(
        word(addr, "wchs"),
        "1 connections watching 1 paths\nTotal watches:1\n"
    );
    assert_eq!(word(addr, "wchc"), format!("0x{:x}\n\t/a\n\n", sid));
    assert_eq!(word(addr, "wchp"), format!("/a\n\t0x{:x}\n\n", sid));

    let dump = word(addr, "dump");
    assert!(
        dump.starts_with("SessionTracker dump:\nSession Sets ("),
        "{}",
        dump
    );
    assert!(dump.contains(&format!("\t0x{:x}\n", sid)), "{}", dump);
    assert!(
        dump.contains(&format!(
            "ephemeral nodes dump:\nSessions with Ephemerals (1):\n0x{:x}:\n\t/e\nConnections dump:\nConnections Sets (",
            sid
        )),
        "{}",
        dump
    );

    let envi = word(addr, "envi");
    assert!(
        envi.starts_with("Environment:\nzookeeper.version=3.8.0-"),
        "{}",
        envi
    );
    assert!(envi.contains("\nuser.dir="), "{}", envi);

    let m = mntr(addr);
    assert!(m["zk_version"].starts_with("3.8.0-"));
    assert_eq!(m["zk_server_state"], "standalone");
    assert_eq!(m["zk_znode_count"], nodes.to_string());
    assert_eq!(m["zk_ephemerals_count"], "1");
    assert_eq!(m["zk_watch_count"], "2");
    assert_eq!(m["zk_global_sessions"], "1");
    assert_eq!(m["zk_num_alive_connections"], "2");
    assert!(m["zk_outstanding_requests"].parse::<i64>().unwrap() <= 1);
    assert!(m["zk_avg_latency"].contains('.'), "a Java double: {:?}", m);
    assert!(m["zk_approximate_data_size"].parse::<i64>().unwrap() >= 5);
    assert!(m["zk_open_file_descriptor_count"].parse::<i64>().unwrap() > 0);
    assert!(m["zk_max_file_descriptor_count"].parse::<i64>().unwrap() > 0);
    assert_eq!(m["zk_fsync_threshold_exceed_count"], "0");

    let dirs = word(addr, "dirs");
    let sizes: Vec<u64> = dirs
        .lines()
        .map(|l| l.split(": ").nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(dirs.starts_with("datadir_size: "), "{}", dirs);
    assert!(sizes[0] > 0, "the txn log holds the creates: {}", dirs);

    // hash answers (its digest log may still be empty).
    assert!(!word(addr, "hash").contains("not"));
}

#[test]
fn words_outside_the_whitelist_are_refused() {
    let dir = TempDir::new("4lw-white");
    let server = start_on(&dir, "", &no_admin(), None);
    let addr = server.client_addr();
    // 3.8's default: srvr only.
    assert!(word(addr, "srvr").contains("Mode: standalone"));
    for w in [
        "ruok", "mntr", "stat", "cons", "envi", "wchc", "dump", "isro",
    ] {
        assert_eq!(
            word(addr, w),
            format!(
                "{} is not executed because it is not in the whitelist.\n",
                w
            )
        );
    }
    server.shutdown();

    let dir = TempDir::new("4lw-white2");
    let mut props = no_admin();
    props.push(("zookeeper.4lw.commands.whitelist", "ruok, mntr"));
    let server = start_on(&dir, "", &props, None);
    let addr = server.client_addr();
    assert_eq!(word(addr, "ruok"), "imok");
    assert!(word(addr, "mntr").starts_with("zk_version\t3.8.0-"));
    assert!(word(addr, "srvr").starts_with("Zookeeper version: "));
    assert_eq!(
        word(addr, "stat"),
        "stat is not executed because it is not in the whitelist.\n"
    );
    server.shutdown();
}
