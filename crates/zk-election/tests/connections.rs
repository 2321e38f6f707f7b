//! `QuorumCnxManager` on real loopback sockets: one connection per pair of
//! servers, and the initial-message forms a 3.8 listener accepts or drops.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use zk_election::wire::{frame, InitialMessage};
use zk_election::{QuorumCnxConfig, QuorumCnxManager};

fn manager(layout: &Layout, sid: i64) -> QuorumCnxManager {
    manager_with(layout, sid, QuorumCnxConfig::default())
}

fn manager_with(layout: &Layout, sid: i64, config: QuorumCnxConfig) -> QuorumCnxManager {
    let peer = TestPeer::new(sid, 0, 0, layout.verifier());
    let m = QuorumCnxManager::new(peer, config);
    m.start_listener();
    wait_until(Duration::from_secs(20), "the election listener", || {
        !m.listening_addresses().is_empty()
    });
    m
}

/// ESTABLISHED sockets in this network namespace whose local port is one
/// of `ports`: the accepted end of each live connection to them. `None`
/// where /proc/net/tcp is not available.
fn established_to(ports: &[u16]) -> Option<usize> {
    let text = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let count = text
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            f.get(3) == Some(&"01") && local_port.is_some_and(|p| ports.contains(&p))
        })
        .count();
    Some(count)
}

#[test]
fn two_peers_dialing_each_other_keep_one_connection() {
    init_log();
    for round in 0..5 {
        let layout = Layout::new(2, 0);
        let a = manager(&layout, 1);
        let b = manager(&layout, 2);
        let barrier = Arc::new(Barrier::new(2));
        let dialers: Vec<_> = [(a.clone(), 2), (b.clone(), 1)]
            .into_iter()
            .map(|(m, other)| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    m.connect_one(other);
                })
            })
            .collect();
        for d in dialers {
            d.join().unwrap();
        }
        // The larger sid answers a dial from the smaller one by closing
        // its own connection and dialing back; if its previous dial is
        // still winding down, that call-back is skipped ("already in
        // progress") exactly as in 3.8, and the election's connectAll on
        // its next notification timeout dials again (connectOne is a no-op
        // while connected). Do the same here.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(a.connected_to_peer(2) && b.connected_to_peer(1)) {
            assert!(
                Instant::now() < deadline,
                "round {round}: no connection after 30 s"
            );
            std::thread::sleep(Duration::from_millis(200));
            a.connect_one(2);
            b.connect_one(1);
        }
        // Messages flow both ways over the surviving connection.
        deliver(&a, &b, b"from 1");
        deliver(&b, &a, b"from 2");
        // Exactly one Send/RecvWorker pair on each side...
        wait_until(
            Duration::from_secs(30),
            "the extra workers to leave",
            || a.thread_count() == 2 && b.thread_count() == 2,
        );
        // ...and one TCP connection, accepted by server 1 (dialed by 2).
        let ports = [layout.election_port(1), layout.election_port(2)];
        if established_to(&ports).is_some() {
            wait_until(Duration::from_secs(30), "a single TCP connection", || {
                established_to(&ports) == Some(1)
            });
            assert_eq!(
                established_to(&[layout.election_port(2)]),
                Some(0),
                "round {round}"
            );
        }
        a.halt();
        b.halt();
        assert_eq!(a.thread_count(), 0);
    }
}

/// Sends `msg` from `from` to `to` until it arrives, resending every
/// 200 ms as the election does on a notification timeout: a message
/// written on a connection that the other side was just replacing is lost,
/// and 3.8 counts on the resend.
fn deliver(from: &QuorumCnxManager, to: &QuorumCnxManager, msg: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        from.to_send(to.my_sid(), msg.to_vec());
        if let Some(got) = to.poll_recv_queue(Duration::from_millis(200)) {
            assert_eq!((got.sid, &got.buffer[..]), (from.my_sid(), msg));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} -> {}: not delivered within 30 s",
            from.my_sid(),
            to.my_sid()
        );
    }
}

fn connect(m: &QuorumCnxManager) -> TcpStream {
    let s = TcpStream::connect(m.listening_addresses()[0]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads until the peer closes; true if it closed without sending.
fn closed_by_peer(mut s: TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0))
        || matches!(s.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
}

#[test]
fn listener_accepts_old_and_new_initial_messages() {
    init_log();
    let layout = Layout::new(3, 0);
    let m = manager(&layout, 1);

    // Pre-3.5: only the sid. A larger sid keeps its connection.
    let mut old = connect(&m);
    old.write_all(&9i64.to_be_bytes()).unwrap();
    old.write_all(&frame(b"hello from 9")).unwrap();
    let got = m
        .poll_recv_queue(Duration::from_secs(30))
        .expect("frame from 9");
    assert_eq!((got.sid, &got.buffer[..]), (9, &b"hello from 9"[..]));

    // 3.8's V2 form with two addresses.
    let mut v2 = connect(&m);
    let hello = InitialMessage::encode(
        7,
        &["127.0.0.1:1".to_string(), "127.0.0.1:2".to_string()],
        true,
    );
    v2.write_all(&hello).unwrap();
    v2.write_all(&frame(b"hello from 7")).unwrap();
    let got = m
        .poll_recv_queue(Duration::from_secs(30))
        .expect("frame from 7");
    assert_eq!(got.sid, 7);
    wait_until(
        Duration::from_secs(30),
        "both connections registered",
        || m.connected_peers() == vec![7, 9],
    );
    m.halt();
    drop((old, v2));
}

#[test]
fn listener_drops_bad_initial_messages() {
    init_log();
    let layout = Layout::new(3, 0);
    let m = manager(&layout, 1);

    let mut bad_version = connect(&m);
    bad_version.write_all(&(-2i64).to_be_bytes()).unwrap();
    bad_version.write_all(&[0u8; 16]).unwrap();
    assert!(closed_by_peer(bad_version));

    let mut oversized = connect(&m);
    oversized.write_all(&(-65536i64).to_be_bytes()).unwrap();
    oversized.write_all(&5i64.to_be_bytes()).unwrap();
    oversized.write_all(&4096i32.to_be_bytes()).unwrap();
    assert!(closed_by_peer(oversized));

    let mut bad_port = connect(&m);
    let text = b"127.0.0.1:port";
    bad_port.write_all(&(-65536i64).to_be_bytes()).unwrap();
    bad_port.write_all(&5i64.to_be_bytes()).unwrap();
    bad_port
        .write_all(&(text.len() as i32).to_be_bytes())
        .unwrap();
    bad_port.write_all(text).unwrap();
    assert!(closed_by_peer(bad_port));

    // A frame larger than 512 KiB ends a registered connection.
    let mut big = connect(&m);
    big.write_all(&9i64.to_be_bytes()).unwrap();
    wait_until(Duration::from_secs(30), "server 9 registered", || {
        m.connected_to_peer(9)
    });
    big.write_all(&(512 * 1024 + 1i32).to_be_bytes()).unwrap();
    assert!(closed_by_peer(big));
    wait_until(Duration::from_secs(30), "server 9 dropped", || {
        !m.connected_to_peer(9)
    });

    assert!(m.connected_peers().is_empty());
    m.halt();
}

#[test]
fn listener_retries_binding_then_gives_up() {
    init_log();
    let layout = Layout::new(3, 0);
    let port = layout.election_port(1);
    let config = QuorumCnxConfig {
        port_bind_max_retry: 3,
        port_bind_retry_interval: Duration::from_millis(50),
        ..QuorumCnxConfig::default()
    };

    // Port taken for good: three attempts, then the peer is told (3.8
    // exits with code 14 there).
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let peer = TestPeer::new(1, 0, 0, layout.verifier());
    let m = QuorumCnxManager::new(peer.clone(), config.clone());
    m.start_listener();
    wait_until(Duration::from_secs(30), "the listener to give up", || {
        peer.bind_failed.load(std::sync::atomic::Ordering::SeqCst)
    });
    assert!(m.listening_addresses().is_empty());
    assert_eq!(m.listener_errors(), 3);
    m.halt();

    // Port freed while retrying (0 = retry forever): the listener binds.
    let forever = QuorumCnxConfig {
        port_bind_max_retry: 0,
        ..config
    };
    let peer = TestPeer::new(1, 0, 0, layout.verifier());
    let m = QuorumCnxManager::new(peer.clone(), forever);
    m.start_listener();
    wait_until(Duration::from_secs(30), "two failed binds", || {
        m.listener_errors() >= 2
    });
    assert!(m.listening_addresses().is_empty(), "bound a taken port");
    drop(squatter);
    wait_until(Duration::from_secs(30), "the listener to bind", || {
        !m.listening_addresses().is_empty()
    });
    assert_eq!(m.listening_addresses()[0].port(), port);
    assert!(!peer.bind_failed.load(std::sync::atomic::Ordering::SeqCst));
    m.halt();
}

#[test]
fn quorum_listen_on_all_ips_binds_the_wildcard() {
    init_log();
    let layout = Layout::new(3, 0);
    let config = QuorumCnxConfig {
        listen_on_all_ips: true,
        ..QuorumCnxConfig::default()
    };
    let m = manager_with(&layout, 1, config);
    let addrs = m.listening_addresses();
    assert_eq!(addrs.len(), 1);
    assert!(addrs[0].ip().is_unspecified(), "{addrs:?}");
    assert_eq!(addrs[0].port(), layout.election_port(1));
    // Still reachable on loopback, where the others dial.
    let b = manager(&layout, 2);
    wait_until(Duration::from_secs(30), "2 connected to 1", || {
        b.connect_one(1);
        b.connected_to_peer(1)
    });
    b.halt();
    m.halt();
}
