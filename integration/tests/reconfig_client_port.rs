//! A reconfig that changes a member's client address moves its client
//! port live (3.8's `cnxnFactory.reconfigure`, issue 13's "a node's own
//! addresses can change"): `reconfig -add` of a running follower's line
//! with a new client port, under a steady writer; the follower then
//! accepts clients (and answers `srvr` as a follower) on the new port and
//! no longer on the old one, without a restart, and every acknowledged
//! write is readable through every node's current port.
//!
//! Apache 3.8 is the control for the zk-bin variant. Without Java or
//! Debian's ZooKeeper the tests print `skipped: ...`.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use integration::apache::ApacheZk;
use integration::ensemble::{Ensemble, EnsembleConfig, Mode, NodeKind, SteadyWriter};
use integration::ports::free_port_except;

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(60);

fn wait_accepts(addr: SocketAddr, want: bool, e: &Ensemble) {
    let deadline = Instant::now() + TIMEOUT;
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() != want {
        assert!(
            Instant::now() < deadline,
            "{addr} {} after {TIMEOUT:?}\n{}",
            if want { "refuses" } else { "accepts" },
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn move_client_port(kind: NodeKind) {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::reconfig(&[kind; 3])) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    let moved = (0..3).find(|&i| i != leader).expect("3 members");
    let old = e.client_addr(moved);
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    let pid = e.pid(moved);

    let port = free_port_except(&e.ports()).unwrap_or_else(|m| panic!("free port: {m}"));
    // The harness learns the new port once it is committed (its
    // wait_serving asks every node on the port it knows).
    let line = e
        .reconfig_line(moved)
        .replace(&format!(";{old}"), &format!(";{}:{port}", old.ip()));
    let config = e
        .zkcli_reconfig(&zk, &format!("-add {line}"), TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    // Before the harness moves the port: an Apache node's zoo.cfg is
    // named after the port it started with.
    let (name, text) = e
        .wait_same_dynamic_config(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.set_client_port(moved, port);
    assert!(
        text.contains(&format!(";{}", e.client_addr(moved))),
        "{name} lacks node {}'s new client address: {text}",
        e.sid(moved)
    );
    wait_accepts(e.client_addr(moved), true, &e);
    wait_accepts(old, false, &e);
    e.wait_mode(moved, Mode::Follower, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(e.pid(moved), pid, "node {} restarted", e.sid(moved));
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("after the move: {m}\n{}", e.describe()));
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{kind}: node {} moved its client port {} -> {port} by reconfig ({}), same process, \
         serving as a follower there; all {} acknowledged writes on every node (longest gap \
         {:?})",
        e.sid(moved),
        old.port(),
        config.last().map_or("", String::as_str),
        report.acked.len(),
        report.longest_gap
    );
}

#[test]
fn an_apache_member_moves_its_client_port() {
    move_client_port(Apache);
}

#[test]
fn a_zk_bin_member_moves_its_client_port() {
    move_client_port(ZkBin);
}
