//! A config with `secureClientPort` and no `clientPort`: the server
//! listens on the secure port only (never a plaintext listener in its
//! place), serves zkCli over TLS there, and does not answer a plaintext
//! four-letter word on it. Apache 3.8 is the control for the check
//! itself; zk-bin must pass it too.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use integration::apache::{four_letter, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::tls::{
    cfg_text, is_missing_tool, secure_client_port_cfg, StoreType, TlsFixture, NETTY_SERVER_PROP,
};
use integration::zk_bin::ZkBinServer;

/// The TCP ports process `pid` listens on, from the socket inodes among
/// its open files and the kernel's TCP tables.
fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let mut inodes = BTreeSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let t = target.to_string_lossy();
                if let Some(inode) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    let mut ports = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is f[1] (ADDR:PORT in hex), st f[3] (0A = LISTEN), inode f[9].
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                if let Some(port) = f[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                {
                    ports.insert(port);
                }
            }
        }
    }
    ports
}

/// Waits until `addr` accepts TCP connections, or `alive` says the server died.
fn wait_listening(addr: SocketAddr, mut alive: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        alive().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The checks, given a started server's pid and secure port.
fn check_secure_only(
    zk: &ApacheZk,
    tls: &TlsFixture,
    work: &Path,
    pid: u32,
    port: u16,
    log: &dyn Fn() -> String,
) {
    let ports = listening_ports(pid);
    assert_eq!(
        ports,
        BTreeSet::from([port]),
        "the server listens on {ports:?}, not just its secure port {port}; log:\n{}",
        log()
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let plain = four_letter(addr, "srvr", Duration::from_secs(5));
    assert!(
        !matches!(&plain, Ok(a) if a.contains("Zookeeper version")),
        "the secure port answered a plaintext srvr: {plain:?}"
    );
    let script = work.join("ls.txt");
    std::fs::write(&script, "ls /\nquit\n").unwrap();
    let props = tls.java_client_props(Some(&tls.client), StoreType::Pkcs12);
    let out = zk
        .zk_cli_with_props(&addr.to_string(), &script, Duration::from_secs(90), &props)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.lines().any(|l| l.trim_end() == "[zookeeper]"),
        "zkCli over TLS got no listing:\n{out}\nserver log:\n{}",
        log()
    );
}

fn setup(name: &str) -> Option<(ApacheZk, TlsFixture, TempDir)> {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("SKIPPED: zkCli needs Apache ZooKeeper's jars: {why}");
            return None;
        }
    };
    let work = TempDir::new(name).unwrap();
    match TlsFixture::cached(Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(tls) => Some((zk, tls, work)),
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            None
        }
        Err(e) => panic!("cannot generate the test certificates: {e}"),
    }
}

#[test]
fn apache_with_only_a_secure_client_port_listens_on_it_alone() {
    let Some((zk, tls, work)) = setup("zk-tls-secure-only-apache") else {
        return;
    };
    let port = free_port().unwrap();
    let mut cfg = ServerConfig::new(work.path(), &work.join("data"), port);
    cfg.plaintext_client_port = false;
    cfg.extra_cfg = secure_client_port_cfg(&tls, tls.server(1), StoreType::Pkcs12, port, "need");
    cfg.jvm_props.push(NETTY_SERVER_PROP.to_string());
    let mut apache = zk.spawn(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_listening(addr, || {
        apache
            .wait_for_log(&["binding to port"], Duration::ZERO)
            .map(|_| ())
            .or_else(|e| if e.contains("exited") { Err(e) } else { Ok(()) })
    });
    let pid = apache.pid().expect("running");
    check_secure_only(&zk, &tls, work.path(), pid, port, &|| apache.log_tail(40));
}

#[test]
fn zk_bin_with_only_a_secure_client_port_listens_on_it_alone() {
    let Some((zk, tls, work)) = setup("zk-tls-secure-only-zk-bin") else {
        return;
    };
    let port = free_port().unwrap();
    let cfg = work.join("zoo.cfg");
    let lines = secure_client_port_cfg(&tls, tls.server(1), StoreType::Pkcs12, port, "need");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nadmin.enableServer=false\n{}",
            work.join("data").display(),
            cfg_text(&lines)
        ),
    )
    .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log_path = work.join("server.log");
    let mut ours = ZkBinServer::spawn(&cfg, addr, &log_path, &[]).unwrap_or_else(|e| panic!("{e}"));
    wait_listening(addr, || match ours.try_wait() {
        Some(status) => Err(format!(
            "zk-bin exited with {status}; log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        )),
        None => Ok(()),
    });
    let pid = ours.pid();
    check_secure_only(&zk, &tls, work.path(), pid, port, &|| ours.log_text());
}
