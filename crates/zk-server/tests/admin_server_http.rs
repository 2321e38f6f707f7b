//! The admin server over real HTTP: the index, every command's JSON
//! after known activity, aliases and errors, and clients that send
//! garbage or dribble their request without holding up a good one.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use zk_server::ZooKeeperServerMain;
use zookeeper_client as zk;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn start_admin(dir: &TempDir, extra: &[(&str, &str)]) -> ZooKeeperServerMain {
    let mut props = vec![
        ("zookeeper.admin.enableServer", "true"),
        ("zookeeper.admin.serverAddress", "127.0.0.1"),
        ("zookeeper.admin.serverPort", "0"),
    ];
    props.extend_from_slice(extra);
    start_on(dir, "", &props, None)
}

/// Sends raw bytes and reads the whole answer: (status, body).
fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.write_all(request).unwrap();
    read_response(&mut s)
}

fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("the server answers and closes");
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, body.len(), "Content-Length matches: {}", head);
    (status, body.to_string())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    raw(
        addr,
        format!("GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", path).as_bytes(),
    )
}

fn command(addr: SocketAddr, name: &str) -> Value {
    let (status, body) = get(addr, &format!("/commands/{}", name));
    assert_eq!(status, 200, "{}", body);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v.get("command").is_some() && v.get("error").is_some(),
        "{}",
        v
    );
    v
}

#[test]
fn every_command_answers_with_json() {
    let dir = TempDir::new("admin-all");
    let server = start_admin(&dir, &[]);
    let admin = server.admin_addr().expect("admin server running");
    assert!(admin.ip().is_loopback() && admin.port() != 0);
    let rt = runtime();
    let (client, sid, _w) = rt.block_on(async {
        let c = connect(&server).await;
        c.create("/a", b"hello", open()).await.unwrap();
        c.create("/e", b"", &mode(zk::CreateMode::Ephemeral))
            .await
            .unwrap();
        let (_, _, w) = c.get_and_watch_data("/a").await.unwrap();
        let sid = c.session_id().0;
        (c, sid, w)
    });
    let nodes = server
        .server()
        .db()
        .read()
        .unwrap()
        .data_tree()
        .node_count();

    let (status, index) = get(admin, "/commands");
    assert_eq!(status, 200);
    for name in [
        "monitor",
        "server_stats",
        "stats",
        "is_read_only",
        "last_snapshot",
        "watch_summary",
    ] {
        assert!(
            index.contains(&format!("<a href=\"/commands/{}\">{}</a>", name, name)),
            "{}",
            index
        );
    }
    assert_eq!(get(admin, "/commands/").1, index);

    let v = command(admin, "ruok");
    assert_eq!(
        (v["command"].as_str(), v["error"].is_null()),
        (Some("ruok"), true)
    );

    check_stats_commands(admin, &server, nodes, sid);
    check_dump_and_watch_commands(admin, sid);
    check_other_commands_and_http(admin);

    rt.block_on(async move { drop(client) });
    server.shutdown();
}

/// `srvr`, `stat`, `cons`, `mntr` and `conf` (see
/// [`every_command_answers_with_json`]).
fn check_stats_commands(admin: SocketAddr, server: &ZooKeeperServerMain, nodes: usize, sid: i64) {
    let v = command(admin, "srvr");
    assert_eq!(v["command"], "server_stats");
    assert!(v["version"].as_str().unwrap().starts_with("3.8.0-"));
    assert_eq!(v["read_only"], false);
    assert_eq!(v["node_count"], nodes);
    let st = &v["server_stats"];
    assert_eq!(st["server_state"], "standalone");
    assert_eq!(st["num_alive_client_connections"], 1);
    assert_eq!(
        st["last_processed_zxid"],
        server.server().last_processed_zxid()
    );
    assert!(st["packets_received"].as_u64().unwrap() >= 5, "{}", st);
    assert!(st["avg_latency"].is_number() && st["uptime"].as_i64().unwrap() >= 0);
    assert!(v["client_response"]["max_buffer_size"].as_i64().unwrap() > 0);

    let v = command(admin, "stat");
    assert_eq!(v["command"], "stats");
    let cnxns = v["connections"].as_array().unwrap();
    assert_eq!(cnxns.len(), 1, "{}", v);
    assert!(cnxns[0]["remote_socket_address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(cnxns[0].get("session_id").is_none(), "brief: {}", v);
    assert_eq!(v["secure_connections"], serde_json::json!([]));

    let v = command(admin, "cons");
    assert_eq!(v["command"], "connections");
    let c = &v["connections"][0];
    assert_eq!(c["session_id"], sid);
    assert_eq!(c["session_timeout"].as_i64().unwrap(), 4000);
    assert!(c["last_cxid"].as_i64().unwrap() >= 3, "{}", c);

    let v = command(admin, "mntr");
    assert_eq!(v["command"], "monitor");
    assert_eq!(v["znode_count"], nodes);
    assert_eq!(v["ephemerals_count"], 1);
    assert_eq!(v["watch_count"], 1);
    assert_eq!(v["server_state"], "standalone");
    assert!(v["open_file_descriptor_count"].as_i64().unwrap() > 0);

    let v = command(admin, "conf");
    assert_eq!(v["command"], "configuration");
    assert_eq!(v["client_port"], server.client_addr().port());
    assert_eq!(v["tick_time"], 200);
    assert!(v["data_dir"].as_str().unwrap().ends_with("version-2"));
}

/// `dump` and the watch commands (see [`every_command_answers_with_json`]).
fn check_dump_and_watch_commands(admin: SocketAddr, sid: i64) {
    let v = command(admin, "dump");
    assert_eq!(
        v["session_id_to_ephemeral_paths"][sid.to_string()],
        serde_json::json!(["/e"])
    );
    let expiring: Vec<&Value> = v["expiry_time_to_session_ids"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert!(
        expiring
            .iter()
            .any(|ids| ids.as_array().unwrap().contains(&Value::from(sid))),
        "{}",
        v
    );

    let v = command(admin, "envi");
    assert_eq!(v["command"], "environment");
    assert!(v["zookeeper.version"]
        .as_str()
        .unwrap()
        .starts_with("3.8.0-"));

    let v = command(admin, "wchs");
    assert_eq!(v["command"], "watch_summary");
    assert_eq!(
        (
            &v["num_connections"],
            &v["num_paths"],
            &v["num_total_watches"]
        ),
        (&Value::from(1), &Value::from(1), &Value::from(1))
    );
    let v = command(admin, "wchc");
    assert_eq!(v["command"], "watches");
    assert_eq!(
        v["session_id_to_watched_paths"][sid.to_string()],
        serde_json::json!(["/a"])
    );
    let v = command(admin, "watches_by_path");
    assert_eq!(v["path_to_session_ids"]["/a"], serde_json::json!([sid]));
}

/// The remaining commands, and what the HTTP server does with other
/// paths and methods (see [`every_command_answers_with_json`]).
fn check_other_commands_and_http(admin: SocketAddr) {
    let v = command(admin, "dirs");
    assert!(v["datadir_size"].as_u64().unwrap() > 0);
    assert!(v["logdir_size"].is_u64());

    let v = command(admin, "is_read_only");
    assert_eq!(
        (v["command"].as_str(), &v["read_only"]),
        (Some("is_read_only"), &Value::Bool(false))
    );

    let v = command(admin, "last_snapshot");
    assert!(v["zxid"].is_string() && v["timestamp"].is_i64(), "{}", v);

    // This server was built without a config file: 3.8's initialConfig
    // is null then (a server started from zoo.cfg answers its text).
    let v = command(admin, "initial_configuration");
    assert!(v["initial_configuration"].is_null(), "{v}");
    let v = command(admin, "gtmk");
    assert_eq!(
        (v["command"].as_str(), &v["tracemask"]),
        (Some("get_trace_mask"), &Value::from(306))
    );
    let v = command(admin, "set_trace_mask?traceMask=12");
    assert_eq!(v["tracemask"], 12);
    let v = command(admin, "stmk");
    assert_eq!(v["error"], "setTraceMask requires long traceMask argument");
    command(admin, "stmk?traceMask=306");
    let v = command(admin, "lead");
    assert_eq!(v["error"], "server is not initialized");
    assert_eq!(command(admin, "zabstate")["voting"], false);

    let v = command(admin, "srst");
    assert_eq!(
        (v["command"].as_str(), v["error"].is_null()),
        (Some("stat_reset"), true)
    );
    assert_eq!(command(admin, "crst")["command"], "connection_stat_reset");

    let v = command(admin, "nope");
    assert_eq!(v["command"], "nope");
    assert_eq!(v["error"], "Unknown command: nope");

    assert_eq!(get(admin, "/elsewhere").0, 404);
    assert_eq!(get(admin, "/commandsX").0, 404);
    let (status, _) = raw(
        admin,
        b"POST /commands/ruok HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, 405);
    // HEAD: the head alone, with the body's length.
    let mut s = TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.write_all(b"HEAD /commands/ruok HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut head = String::new();
    s.read_to_string(&mut head).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"),
        "{}",
        head
    );
}

#[test]
fn hostile_clients_do_not_block_a_good_one() {
    let dir = TempDir::new("admin-hostile");
    // A short idle timeout so the dribbling client is cut off quickly.
    let server = start_admin(&dir, &[("zookeeper.admin.idleTimeout", "500")]);
    let admin = server.admin_addr().unwrap();

    // Garbage gets a 400 and a close.
    assert_eq!(raw(admin, b"\x16\x03\x01garbage\r\n\r\n").0, 400);
    assert_eq!(raw(admin, b"GET\r\n\r\n").0, 400);
    // An endless header line is cut off at the limit.
    let mut huge = b"GET /commands/ruok HTTP/1.1\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let mut s = TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    let _ = s.write_all(&huge); // the server may stop reading midway
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431 "),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // Slowloris: several connections that send part of a request and
    // then nothing.
    let mut slow: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = TcpStream::connect(admin).unwrap();
            s.write_all(b"GET /commands/ru").unwrap();
            s
        })
        .collect();
    let silent = TcpStream::connect(admin).unwrap();

    // Meanwhile a good client is served at once.
    let t = Instant::now();
    let v = command(admin, "ruok");
    assert_eq!(v["command"], "ruok");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(command(admin, "mntr")["command"], "monitor");

    // The dribblers are answered 408 once their time is up, not held
    // forever.
    for s in slow.iter_mut().chain(std::iter::once(&mut { silent })) {
        s.set_read_timeout(Some(BOUND)).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        assert!(
            String::from_utf8_lossy(&out).starts_with("HTTP/1.1 408 "),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
    }
    assert_eq!(command(admin, "ruok")["error"], Value::Null);
    server.shutdown();
}

#[test]
fn the_admin_server_can_be_turned_off() {
    let dir = TempDir::new("admin-off");
    let server = start_admin(&dir, &[("zookeeper.admin.enableServer", "false")]);
    assert_eq!(server.admin_addr(), None);
    server.shutdown();
}
