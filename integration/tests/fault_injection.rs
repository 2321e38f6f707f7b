//! Fault injection (project issue 10).
//!
//! `partition_layer_cuts_links_by_socket_owner` checks the nftables layer
//! itself with two probe processes run as two node users.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration::ensemble::RunAs;
use integration::fault::net::{self, Net, NetNode};
use integration::fault::users;

/// A probe process and what it printed: its first line, and how many
/// `tick` lines came since.
struct Probe {
    child: Child,
    first: Arc<Mutex<Option<String>>>,
    ticks: Arc<AtomicUsize>,
}

impl Probe {
    fn spawn(user: RunAs, args: &[&str]) -> Probe {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zk-fault-probe"))
            .args(args)
            .uid(user.uid)
            .gid(user.gid)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start zk-fault-probe");
        let out = child.stdout.take().expect("piped");
        let first = Arc::new(Mutex::new(None));
        let ticks = Arc::new(AtomicUsize::new(0));
        let (f, t) = (first.clone(), ticks.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut first = f.lock().unwrap();
                if first.is_none() {
                    *first = Some(line);
                } else if line == "tick" {
                    t.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Probe {
            child,
            first,
            ticks,
        }
    }

    /// Waits (bounded) for the first line.
    fn first_line(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(l) = self.first.lock().unwrap().clone() {
                return l;
            }
            assert!(Instant::now() < deadline, "the probe printed nothing");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn ticks(&self) -> usize {
        self.ticks.load(Ordering::SeqCst)
    }

    /// Waits until `more` further ticks arrive, or `timeout`; whether they did.
    fn gets_ticks(&self, more: usize, timeout: Duration) -> bool {
        let start = self.ticks();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.ticks() >= start + more {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the test process (root) can read a tick from `addr`.
fn root_reads_tick(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).is_ok() && &buf == b"tick\n"
}

/// The partition layer or users this machine lacks, for `skipped: ...`.
fn fault_prerequisites(n: usize) -> Result<Vec<RunAs>, String> {
    net::available()?;
    users::ensure_users(n)
}

#[test]
fn partition_layer_cuts_links_by_socket_owner() {
    let users = match fault_prerequisites(2) {
        Ok(u) => u,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let ips = [Ipv4Addr::new(127, 0, 0, 11), Ipv4Addr::new(127, 0, 0, 12)];
    let nodes: Vec<NetNode> = (0..2)
        .map(|i| NetNode {
            ip: ips[i],
            uid: users[i].uid,
        })
        .collect();
    let mut net = Net::new(nodes).expect("nft table");
    let listen = |i: usize| {
        let p = Probe::spawn(users[i], &["listen", &format!("{}:0", ips[i])]);
        let line = p.first_line();
        let port: u16 = line
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("listener {i}: {line}"));
        (p, SocketAddr::from((ips[i], port)))
    };
    let (_la, addr_a) = listen(0);
    let (_lb, addr_b) = listen(1);
    let connect =
        |from: usize, to: SocketAddr| Probe::spawn(users[from], &["connect", &to.to_string()]);
    // Connections opened before the cut, one each way.
    let a_to_b = connect(0, addr_b);
    assert_eq!(a_to_b.first_line(), "connected");
    let b_to_a = connect(1, addr_a);
    assert_eq!(b_to_a.first_line(), "connected");
    let wait = Duration::from_secs(5);
    assert!(a_to_b.gets_ticks(3, wait) && b_to_a.gets_ticks(3, wait));

    net.cut(0, 1).unwrap();
    // New connections either way fail.
    let refused = connect(0, addr_b);
    assert!(refused.first_line().starts_with("failed"), "A reached B");
    let refused = connect(1, addr_a);
    assert!(refused.first_line().starts_with("failed"), "B reached A");
    // The server's packets on connections opened before the cut (they go
    // to 127.0.0.1, so only the connection mark can stop them) stop: past
    // what was in flight at the cut, no tick arrives. Without that rule the
    // reader's ACKs would still be dropped, but the server, sending each
    // tick at once, would get a congestion window's worth (10 or more)
    // through in the next half second.
    std::thread::sleep(Duration::from_millis(100));
    let quiet = Duration::from_millis(1200);
    assert!(
        !a_to_b.gets_ticks(1, quiet),
        "B's packets to A still arrive"
    );
    assert!(
        !b_to_a.gets_ticks(1, quiet),
        "A's packets to B still arrive"
    );
    // ... and it is the mark rules that stop them (the server's
    // retransmissions at least), not only the reader's dropped ACKs.
    let (ua, ub) = (users[0].uid, users[1].uid);
    let drops = (net.mark_drops(ub, ua), net.mark_drops(ua, ub));
    assert!(
        matches!(drops, (Some(x), Some(y)) if x > 0 && y > 0),
        "the connection-mark rules dropped {drops:?} packets"
    );
    // The test's own (root) connections are untouched.
    assert!(root_reads_tick(addr_a) && root_reads_tick(addr_b));

    net.heal_all().unwrap();
    let healed = connect(0, addr_b);
    assert_eq!(healed.first_line(), "connected");
    // TCP retransmits what was dropped: the old connections resume.
    let wait = Duration::from_secs(20);
    assert!(a_to_b.gets_ticks(3, wait), "A-to-B did not resume");
    assert!(b_to_a.gets_ticks(3, wait), "B-to-A did not resume");

    // Isolating one node cuts the same link.
    net.isolate(1).unwrap();
    assert!(connect(0, addr_b).first_line().starts_with("failed"));
    net.heal_all().unwrap();
    let table = net.table().to_string();
    drop(net);
    let tables = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&tables.stdout).contains(&table),
        "table {table} left behind"
    );
}
