//! `maxCnxns` (zoo.cfg, as the system property `zookeeper.maxCnxns`): the
//! client port holds at most that many connections in all, whoever opens
//! them; one more is closed at once without an answer, and once one of
//! them closes a new one is served. Checked against zk-bin and against
//! Apache ZooKeeper 3.8 with the same steps; both must answer alike.
//! Without Java or Debian's ZooKeeper the Apache half prints `skipped`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use integration::apache::{ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::ZkBinServer;

const MAX: usize = 3;

/// `srvr` on a new connection: Some(answer), or None when the server
/// closed it without one.
fn srvr(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"srvr").ok()?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    (!out.is_empty()).then_some(out)
}

/// How many client connections the admin server at `admin` reports.
fn connections(admin: SocketAddr) -> Option<usize> {
    let v = integration::admin::command(admin, "connections").ok()?;
    Some(v["connections"].as_array()?.len())
}

/// Opens `MAX` idle connections and waits until the server counts them
/// all (asked through the admin server, which is not the client port):
/// 3.8 counts a connection only once its selector thread has taken it,
/// after the accept, so a connection opened at once after them may
/// still get in there.
fn hold(addr: SocketAddr, admin: SocketAddr) -> Vec<TcpStream> {
    let held: Vec<TcpStream> = (0..MAX)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while connections(admin) != Some(MAX) {
        assert!(
            Instant::now() < deadline,
            "the server at {addr} never counted {MAX} connections (admin says {:?})",
            connections(admin)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    held
}

/// zoo.cfg lines for an admin server on 127.0.0.1:`port`.
fn admin_cfg(port: u16) -> Vec<(String, String)> {
    vec![
        ("admin.enableServer".to_string(), "true".to_string()),
        ("admin.serverAddress".to_string(), "127.0.0.1".to_string()),
        ("admin.serverPort".to_string(), port.to_string()),
    ]
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The steps: `MAX` idle connections held, a fourth refused; one closed,
/// and a new one answered. Returns what each `srvr` got.
fn steps(addr: SocketAddr, admin: SocketAddr) -> (bool, bool, bool) {
    let before = srvr(addr).is_some();
    let mut held = hold(addr, admin);
    let over = srvr(addr).is_some();
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = false;
    while !after && Instant::now() < deadline {
        after = srvr(addr).is_some();
        if !after {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    (before, over, after)
}

#[test]
fn max_cnxns_limits_the_port_as_apache_does() {
    let our_admin = free_port().unwrap();
    let mut cfg = format!("maxCnxns={MAX}\n4lw.commands.whitelist=*\n");
    for (k, v) in admin_cfg(our_admin) {
        cfg.push_str(&format!("{k}={v}\n"));
    }
    let dir = TempDir::new("zk-maxcnxns").unwrap();
    let ours =
        ZkBinServer::start(&dir, free_port().unwrap(), &cfg).unwrap_or_else(|e| panic!("{e}"));
    let zk_bin = steps(ours.addr, local(our_admin));
    assert_eq!(
        zk_bin,
        (true, false, true),
        "zk-bin (srvr before, with {MAX} held, after one closed)"
    );
    let zk = match ApacheZk::find() {
        Ok(zk) if zk.has_admin_server() => zk,
        Ok(_) => {
            println!("skipped: the Apache half needs Jetty for its admin server");
            return;
        }
        Err(why) => {
            println!("skipped: the Apache half: {why}");
            return;
        }
    };
    let their_admin = free_port().unwrap();
    let work = TempDir::new("zk-maxcnxns-apache").unwrap();
    let mut cfg = ServerConfig::new(work.path(), &work.join("data"), free_port().unwrap());
    cfg.extra_cfg.push(("maxCnxns".into(), MAX.to_string()));
    cfg.extra_cfg.extend(admin_cfg(their_admin));
    let apache = zk.start(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let theirs = steps(apache.addr(), local(their_admin));
    assert_eq!(theirs, zk_bin, "Apache 3.8 answered otherwise");
    println!(
        "maxCnxns={MAX}: srvr before / over the limit / after one closed: {zk_bin:?}, as Apache"
    );
}
