//! A user-space proxy on one learner's quorum link (project issue 10): the
//! learner's zoo.cfg names the proxy as the leader's quorum address, the
//! proxy dials the real one, and forwards both directions, reading the
//! stream as Zab frames (`proxy/framing.rs`) so that a [`Rule`] can delay
//! or cut the connection at a chosen packet: the Nth NEWLEADER leader to
//! learner, every ACK learner to leader, ...
//!
//! Each direction of a connection has a reader thread (reads, frames,
//! matches rules, stamps each piece with the time it may leave) and a
//! writer thread (sleeps until then, writes, cuts). Two threads, so that
//! a delay is latency, not a stall: packets read while an earlier one
//! waits keep their own deadlines (`due = max(previous due, read time +
//! delay)`, so order is kept), and the lag stays the delay instead of
//! growing with every delayed packet.
//!
//! A cut shuts down both sockets (leader side and learner side) at that
//! point in the stream: the learner reads end of stream after everything
//! before the packet (`Cut`) or after the packet itself (`CutAfter`), and
//! so does the leader on its side. Everything else the proxy does is
//! transparent; bytes are forwarded unchanged whether or not they frame.

pub mod framing;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use framing::{type_name, Framer, Unit};

pub use framing::packet_type;

/// Which way a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the leader to a follower or observer.
    LeaderToLearner,
    /// From a follower or observer to the leader.
    LearnerToLeader,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::LeaderToLearner => "leader->learner",
            Direction::LearnerToLeader => "learner->leader",
        })
    }
}

/// What a rule does to the packet it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Forward it (and, behind it, the rest of the stream) this much later
    /// than it arrived.
    Delay(Duration),
    /// Close both sockets instead of forwarding it.
    Cut,
    /// Forward it, then close both sockets.
    CutAfter,
}

/// Which packets a rule acts on: those of `packet_type` going
/// `direction`, counted from when the rule was added, across every
/// connection through the proxy; the `nth` (1-based) one only, or, with
/// `every`, the `nth` and all after it. With `connection` set, only
/// packets of that connection count (a slow link that a reconnect heals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Which way the packets travel.
    pub direction: Direction,
    /// `QuorumPacket` type to match (see [`packet_type`]).
    pub packet_type: i32,
    /// Which matching packet (1-based) the rule acts on first.
    pub nth: u64,
    /// Act on the `nth` and every later match, not only the `nth`.
    pub every: bool,
    /// What to do to a matching packet.
    pub action: Action,
    /// Only count packets of this connection (its number, 1 = first accepted).
    pub connection: Option<u64>,
}

impl Rule {
    /// Acts on the `nth` matching packet only.
    pub fn nth(direction: Direction, packet_type: i32, nth: u64, action: Action) -> Rule {
        Rule {
            direction,
            packet_type,
            nth: nth.max(1),
            every: false,
            action,
            connection: None,
        }
    }

    /// Acts on every matching packet.
    pub fn every(direction: Direction, packet_type: i32, action: Action) -> Rule {
        Rule {
            direction,
            packet_type,
            nth: 1,
            every: true,
            action,
            connection: None,
        }
    }

    /// The same rule for connection `conn` alone (see
    /// [`QuorumProxy::connections`]: the latest one's number).
    pub fn on_connection(mut self, conn: u64) -> Rule {
        self.connection = Some(conn);
        self
    }
}

/// A rule that acted, for a test's report.
#[derive(Debug, Clone)]
pub struct Fired {
    /// Since the proxy started.
    pub at: Duration,
    /// The connection's number (1 = the first one accepted).
    pub connection: u64,
    /// Which way the packet was going.
    pub direction: Direction,
    /// Its `QuorumPacket` type.
    pub packet_type: i32,
    /// Its zxid.
    pub zxid: i64,
    /// What the rule did to it.
    pub action: Action,
}

impl std::fmt::Display for Fired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.3}s conn {} {} {} 0x{:x}: {:?}",
            self.at.as_secs_f64(),
            self.connection,
            self.direction,
            type_name(self.packet_type),
            self.zxid,
            self.action
        )
    }
}

struct ArmedRule {
    rule: Rule,
    seen: u64,
}

struct Shared {
    target: SocketAddr,
    started: Instant,
    stop: AtomicBool,
    rules: Mutex<Vec<ArmedRule>>,
    fired: Mutex<Vec<Fired>>,
    connections: AtomicU64,
    /// Packets forwarded or cut, by direction and type (0: frames lost).
    counts: Mutex<std::collections::HashMap<(Direction, i32), u64>>,
    /// Why a connection's framing was lost, if one's was.
    lost: Mutex<Vec<String>>,
    /// Both sockets of every live connection, to shut on drop.
    live: Mutex<Vec<(u64, TcpStream, TcpStream)>>,
}

impl Shared {
    /// The action for this packet, counting it against every rule.
    fn decide(&self, conn: u64, dir: Direction, packet_type: i32, zxid: i64) -> Option<Action> {
        *self
            .counts
            .lock()
            .unwrap()
            .entry((dir, packet_type))
            .or_default() += 1;
        let mut action = None;
        for armed in self.rules.lock().unwrap().iter_mut() {
            let r = armed.rule;
            if r.direction != dir
                || r.packet_type != packet_type
                || r.connection.is_some_and(|c| c != conn)
            {
                continue;
            }
            armed.seen += 1;
            let hit = armed.seen == r.nth || (r.every && armed.seen > r.nth);
            // The first rule that hits decides; the others still count.
            if hit && action.is_none() {
                action = Some(r.action);
            }
        }
        if let Some(action) = action {
            let f = Fired {
                at: self.started.elapsed(),
                connection: conn,
                direction: dir,
                packet_type,
                zxid,
                action,
            };
            log::info!("quorum proxy to {}: {f}", self.target);
            self.fired.lock().unwrap().push(f);
        }
        action
    }

    fn close(&self, conn: u64) {
        let mut live = self.live.lock().unwrap();
        for (_, a, b) in live.iter().filter(|(c, _, _)| *c == conn) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
        live.retain(|(c, _, _)| *c != conn);
    }
}

/// The proxy: listening until dropped, each accepted connection dialed
/// through to the target.
pub struct QuorumProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// How long the proxy tries to reach the leader for a learner.
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);
/// How often sleeping threads look whether they should stop.
const POLL: Duration = Duration::from_millis(20);

impl QuorumProxy {
    /// Listens on `listen` (a loopback address a test picked) and forwards
    /// to `target`, the leader's quorum address.
    pub fn start(listen: SocketAddr, target: SocketAddr) -> std::io::Result<QuorumProxy> {
        let listener = TcpListener::bind(listen)?;
        // Polled, so that drop can stop the acceptor without a connection.
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            started: Instant::now(),
            stop: AtomicBool::new(false),
            rules: Mutex::new(Vec::new()),
            fired: Mutex::new(Vec::new()),
            connections: AtomicU64::new(0),
            counts: Mutex::new(Default::default()),
            lost: Mutex::new(Vec::new()),
            live: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name(format!("quorum-proxy-{}", addr.port()))
            .spawn(move || accept_loop(listener, s))?;
        Ok(QuorumProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The proxy's listening address, given to learners in place of the
    /// leader's quorum address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address the proxy forwards to (the leader's quorum port).
    pub fn target(&self) -> SocketAddr {
        self.shared.target
    }

    /// Arms a rule; it counts packets from now on.
    pub fn add_rule(&self, rule: Rule) {
        self.shared
            .rules
            .lock()
            .unwrap()
            .push(ArmedRule { rule, seen: 0 });
    }

    /// Disarms every rule (packets already waiting out a delay keep it).
    pub fn clear_rules(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// The rules that acted so far, in order.
    pub fn fired(&self) -> Vec<Fired> {
        self.shared.fired.lock().unwrap().clone()
    }

    /// Waits until rules have acted `n` times in all; returns them.
    pub fn wait_fired(&self, n: usize, timeout: Duration) -> Result<Vec<Fired>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let fired = self.fired();
            if fired.len() >= n {
                return Ok(fired);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the proxy to {} acted {} time(s), not {n}, within {timeout:?} ({} connection(s); framing lost: {:?}; fired: {fired:?})",
                    self.shared.target,
                    fired.len(),
                    self.connections(),
                    self.lost(),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Connections accepted so far (the number of the latest).
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` connections were accepted.
    pub fn wait_connections(&self, n: u64, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while self.connections() < n {
            if Instant::now() >= deadline {
                return Err(format!(
                    "the proxy to {} accepted {} connection(s), not {n}, within {timeout:?}",
                    self.shared.target,
                    self.connections()
                ));
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    /// Packets of `packet_type` seen going `direction`, on all connections.
    pub fn count(&self, direction: Direction, packet_type: i32) -> u64 {
        let counts = self.shared.counts.lock().unwrap();
        counts.get(&(direction, packet_type)).copied().unwrap_or(0)
    }

    /// Why framing was given up on some connection (empty: never).
    pub fn lost(&self) -> Vec<String> {
        self.shared.lost.lock().unwrap().clone()
    }
}

impl Drop for QuorumProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for (_, a, b) in self.shared.live.lock().unwrap().drain(..) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((learner, _)) => {
                if let Err(e) = connect(learner, &shared) {
                    // The learner sees its connection close and retries,
                    // as when the leader itself is not up yet.
                    log::info!("quorum proxy to {}: {e}", shared.target);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                log::warn!("quorum proxy to {}: accept: {e}", shared.target);
                std::thread::sleep(POLL);
            }
        }
    }
}

/// Dials the leader for a learner's connection and starts its four threads.
fn connect(learner: TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    learner.set_nonblocking(false)?;
    let leader = TcpStream::connect_timeout(&shared.target, DIAL_TIMEOUT)?;
    for s in [&learner, &leader] {
        s.set_nodelay(true)?;
    }
    let conn = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    shared
        .live
        .lock()
        .unwrap()
        .push((conn, learner.try_clone()?, leader.try_clone()?));
    for (dir, from, to) in [
        (
            Direction::LeaderToLearner,
            leader.try_clone()?,
            learner.try_clone()?,
        ),
        (Direction::LearnerToLeader, learner, leader),
    ] {
        let (tx, rx) = channel();
        let name = format!("qproxy-{conn}-{dir}");
        let s = shared.clone();
        std::thread::Builder::new()
            .name(format!("{name}-r"))
            .spawn(move || read_side(conn, dir, from, tx, s))?;
        let s = shared.clone();
        std::thread::Builder::new()
            .name(format!("{name}-w"))
            .spawn(move || write_side(conn, to, rx, s))?;
    }
    Ok(())
}

/// What the reader hands the writer.
enum Item {
    /// Bytes to write once `due` has come.
    Bytes { bytes: Vec<u8>, due: Instant },
    /// Close the connection once `due` has come (after what came before).
    Close { due: Instant },
}

fn read_side(conn: u64, dir: Direction, mut from: TcpStream, tx: Sender<Item>, s: Arc<Shared>) {
    let mut framer = Framer::new(dir == Direction::LeaderToLearner);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    // The deadline of the last item queued: no later item leaves before it.
    let mut last_due = Instant::now();
    let mut reported_lost = false;
    loop {
        let n = match from.read(&mut chunk) {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let now = Instant::now();
        if n == 0 {
            // The sender closed (or the connection was cut): close once
            // everything already read is out.
            let _ = tx.send(Item::Close {
                due: last_due.max(now),
            });
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        // Bytes that no rule touched, sent as one write.
        let mut plain: Vec<u8> = Vec::new();
        let mut cut = false;
        while let Some(unit) = framer.next(&buf[at..]) {
            let bytes = &buf[at..at + unit.len()];
            at += unit.len();
            let action = match unit {
                Unit::Packet {
                    packet_type, zxid, ..
                } => s.decide(conn, dir, packet_type, zxid),
                Unit::Opaque { .. } => None,
            };
            let Some(action) = action else {
                plain.extend_from_slice(bytes);
                continue;
            };
            let send = |item: Item| tx.send(item).is_ok();
            if !plain.is_empty() {
                last_due = last_due.max(now);
                send(Item::Bytes {
                    bytes: std::mem::take(&mut plain),
                    due: last_due,
                });
            }
            match action {
                Action::Delay(d) => {
                    last_due = last_due.max(now + d);
                    send(Item::Bytes {
                        bytes: bytes.to_vec(),
                        due: last_due,
                    });
                }
                Action::Cut => {
                    send(Item::Close { due: last_due });
                    cut = true;
                }
                Action::CutAfter => {
                    send(Item::Bytes {
                        bytes: bytes.to_vec(),
                        due: last_due,
                    });
                    send(Item::Close { due: last_due });
                    cut = true;
                }
            }
            if cut {
                break;
            }
        }
        if cut {
            // Nothing after the cut is forwarded.
            return;
        }
        if let (Some(why), false) = (framer.lost(), reported_lost) {
            reported_lost = true;
            let msg = format!("conn {conn} {dir}: {why}");
            log::warn!("quorum proxy to {}: framing lost: {msg}", s.target);
            s.lost.lock().unwrap().push(msg);
        }
        if !plain.is_empty() {
            last_due = last_due.max(now);
            if tx
                .send(Item::Bytes {
                    bytes: plain,
                    due: last_due,
                })
                .is_err()
            {
                return;
            }
        }
        buf.drain(..at);
    }
}

fn write_side(conn: u64, mut to: TcpStream, rx: Receiver<Item>, s: Arc<Shared>) {
    let wait_until = |due: Instant| {
        while Instant::now() < due {
            if s.stop.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep((due - Instant::now()).min(POLL));
        }
        true
    };
    // The channel ends when the reader is gone; that only happens after it
    // queued a Close, or on a cut.
    while let Ok(item) = rx.recv() {
        match item {
            Item::Bytes { bytes, due } => {
                if !wait_until(due) || to.write_all(&bytes).is_err() {
                    s.close(conn);
                    return;
                }
            }
            Item::Close { due } => {
                wait_until(due);
                s.close(conn);
                return;
            }
        }
    }
    s.close(conn);
}

#[cfg(test)]
#[path = "proxy/proxy_tests.rs"]
mod tests;
