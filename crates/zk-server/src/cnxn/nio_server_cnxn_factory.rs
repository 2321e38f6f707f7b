//! `NIOServerCnxnFactory`: the client port, and the one selector thread
//! ("NIOServerCxnFactory.SelectorThread") that accepts every connection,
//! polls their sockets, hands what they read to each `NIOServerCnxn`
//! (which owns the protocol), and writes back whatever the processor
//! threads queue.
//!
//! Replies come back as [`CnxnCommand`]s on a channel, with a
//! [`mio::Waker`] to interrupt the poll. Each connection has an outgoing
//! queue written as the socket allows.
//!
//! No client can hold the selector or grow the server without bound:
//! a bad length prefix or a malformed connect request closes the
//! connection at once; a connection that stays silent is closed after
//! `sessionlessCnxnTimeout` (before its handshake) or its session timeout;
//! one read pass takes at most [`READ_BUDGET`] bytes from a connection
//! before the others get their turn; reading stops while a client leaves
//! more than `pause_read_queued_bytes` of replies unread, and a queue
//! that still grows past `max_queued_bytes` (watch events are not held
//! back) closes the connection. Every close is logged with its reason.
//! See `nio_server_cnxn` for when reading stops and resumes.
//!
//! TLS: a factory given [`CnxnTls`] is 3.8's `secureCnxnFactory` (the
//! secure client port, TLS only) or, with `client.portUnification`, a plain
//! port that also takes TLS. Each connection's `Transport` (plaintext, an
//! `SslHandler`, or a `DualModeSslHandler` until the first bytes decide)
//! sits between the socket and the `NIOServerCnxn`, whose frame logic is
//! the same either way. A TLS handshake runs on this thread without
//! blocking it, counts against `maxClientCnxns` like any connection, and
//! must finish within `ssl.handshakeDetectionTimeoutMillis` of the accept
//! (traffic does not extend it); once it has, the `CertificateVerifier`
//! adds the certificate's x509 ids to the connection's.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

pub use super::certificate_verifier::CnxnTls;
use super::nio_server_cnxn::{CnxnCtx, CnxnState, Frames, NIOServerCnxn, ReadOutcome};
use super::transport::{Transport, TransportKind};
use super::{CnxnCommand, CnxnSink, ListenerSwap, ServerSwap, CNXN_ID_FACTORY_SHIFT};
use crate::request::CnxnId;
use crate::zookeeper_sasl_server::ZooKeeperSaslServer;
use crate::zookeeper_server::{State, ZooKeeperServer};
use zk_config::sasl::Login;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CNXN: u64 = 2;
/// The next factory's number, the high bits of its connections' ids.
static NEXT_FACTORY: AtomicU64 = AtomicU64::new(0);
/// How often idle connections are looked for.
const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_millis(100);
/// Expired connections closed in one pass of the selector.
const EXPIRE_BATCH: usize = 256;
/// The size of one read.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes read from one connection in one pass before the others' turn.
pub const READ_BUDGET: usize = 256 * 1024;
/// How long to wait before accepting again when out of descriptors (the
/// pending connection stays in the backlog meanwhile).
const ACCEPT_RETRY: Duration = Duration::from_millis(10);

/// Default bound on the bytes queued for one connection.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;
/// Default amount of unread replies at which reading from a connection
/// pauses.
pub const DEFAULT_PAUSE_READ_QUEUED_BYTES: usize = 1024 * 1024;

/// Settings of the factory.
#[derive(Debug, Clone)]
pub struct CnxnFactoryConfig {
    /// The client port's address.
    pub addr: SocketAddr,
    /// `maxClientCnxns`: connections per client IP; 0 for no limit.
    pub max_client_cnxns: i32,
    /// `zookeeper.maxCnxns`: connections on this port in all; 0 for no
    /// limit (`ServerCnxnFactory.initMaxCnxns`).
    pub max_cnxns: i32,
    /// `clientPortListenBacklog` (-1: the OS default).
    pub listen_backlog: i32,
    /// Replies queued for one connection beyond this close it.
    pub max_queued_bytes: usize,
    /// Replies queued for one connection beyond this stop reading its
    /// requests until it has read them.
    pub pause_read_queued_bytes: usize,
    /// `zookeeper.nio.sessionlessCnxnTimeout`: how long a connection may
    /// stay silent before its session is set up (then the session timeout
    /// applies instead).
    pub sessionless_cnxn_timeout: Duration,
    /// TLS on this port: the secure client port, or the plain one with
    /// `client.portUnification`; `None` for plaintext only.
    pub tls: Option<CnxnTls>,
    /// The SASL login its connections authenticate clients with (3.8's
    /// `ServerCnxnFactory.login`); `None`: no SASL.
    pub sasl_login: Option<Arc<Login>>,
}

impl CnxnFactoryConfig {
    /// Whether this is the secure client port (TLS only).
    pub fn is_secure(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| !t.port_unification)
    }

    /// A connection's SASL exchange under the port's SASL login; none
    /// without a login, or (logged) when the mechanism cannot be made.
    pub(crate) fn new_sasl_server(&self) -> Option<ZooKeeperSaslServer> {
        let login = self.sasl_login.as_ref()?;
        match ZooKeeperSaslServer::new(login) {
            Ok(server) => Some(server),
            Err(e) => {
                error!(
                    "No SASL server for a connection (JAAS section '{}'): {e}",
                    login.context_name()
                );
                None
            }
        }
    }

    /// Records the port's address and limits in the server's facts.
    fn record_facts(&self, zks: &ZooKeeperServer, local_addr: SocketAddr, factory: u64) {
        let secure = self.is_secure();
        zks.stats.update_facts(|f| {
            if secure {
                f.secure_client_addr = Some(local_addr);
                f.secure_factory = Some(factory);
            } else {
                f.client_addr = Some(local_addr);
            }
            f.max_client_cnxns = self.max_client_cnxns;
            f.listen_backlog = self.listen_backlog;
        });
    }
}

/// The running factory; dropping it does not stop the thread, call
/// [`NIOServerCnxnFactory::shutdown`].
pub struct NIOServerCnxnFactory {
    local_addr: SocketAddr,
    /// Its number, the high bits of its connections' ids.
    factory: u64,
    sink: CnxnSink,
    cfg: CnxnFactoryConfig,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl NIOServerCnxnFactory {
    /// Binds the client port and starts the selector thread. Replies reach
    /// it through the [`CnxnSink`] it hands to `zks`. Connections are
    /// accepted at once; their requests wait until `zks` is RUNNING.
    pub fn start(cfg: CnxnFactoryConfig, zks: Arc<ZooKeeperServer>) -> io::Result<Self> {
        let listener = bind(&cfg)?;
        let local_addr = listener.local_addr()?;
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = mpsc::channel();
        let factory = NEXT_FACTORY.fetch_add(1, Ordering::Relaxed);
        let sink = CnxnSink::for_factory(factory, tx, Some(Arc::clone(&waker)));
        zks.set_cnxn_sink(sink.clone());
        // After the sink is set: a later start_serving is seen as a
        // command, an earlier one here.
        let serving = zks.state() == State::Running;
        cfg.record_facts(&zks, local_addr, factory);
        let stop = Arc::new(AtomicBool::new(false));
        let factory_cfg = cfg.clone();
        let mut selector = SelectorThread {
            poll,
            listener,
            rx,
            zks,
            cfg,
            cnxns: HashMap::new(),
            by_session: HashMap::new(),
            per_ip: HashMap::new(),
            stalled: HashSet::new(),
            more_to_read: false,
            serving,
            accept_retry_at: None,
            read_buf: vec![0; READ_CHUNK],
            next_id: (factory << CNXN_ID_FACTORY_SHIFT) + FIRST_CNXN,
            stop: Arc::clone(&stop),
        };
        selector
            .poll
            .registry()
            .register(&mut selector.listener, LISTENER, Interest::READABLE)?;
        let what = match &selector.cfg.tls {
            None => "",
            Some(t) if t.port_unification => " (TLS and plaintext: client.portUnification)",
            Some(_) => " (secure client port: TLS only)",
        };
        info!("binding to port {}{}", local_addr, what);
        let thread = std::thread::Builder::new()
            .name(format!(
                "NIOServerCxnFactory.SelectorThread-{}",
                local_addr.port()
            ))
            .spawn(move || selector.run())?;
        Ok(NIOServerCnxnFactory {
            local_addr,
            factory,
            sink,
            cfg: factory_cfg,
            stop,
            waker,
            thread: Some(thread),
        })
    }

    /// The address the client port is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `setZooKeeperServer`: serves `zks` from now on. Every connection
    /// with a session (or one being set up) is closed, as its session
    /// belongs to the old server's role; clients reconnect and are served
    /// once `zks` is RUNNING. Connections that have not had their connect
    /// request taken yet simply wait for `zks`.
    pub fn set_zookeeper_server(&self, zks: Arc<ZooKeeperServer>) {
        zks.set_cnxn_sink(self.sink.clone());
        self.cfg.record_facts(&zks, self.local_addr, self.factory);
        // Sent after the sink is set, so a start_serving of `zks` reaches
        // the selector after this.
        self.sink.send(CnxnCommand::SetServer(ServerSwap(zks)));
    }

    /// `reconfigure`: accept on `addr` from now on (a reconfig moved this
    /// server's client address). The new port is bound here, so an error
    /// leaves the old one in use; connections already open stay.
    pub fn reconfigure(&mut self, addr: SocketAddr) -> io::Result<()> {
        let mut cfg = self.cfg.clone();
        cfg.addr = addr;
        let listener = bind(&cfg)?;
        let local_addr = listener.local_addr()?;
        info!(
            "binding to port {local_addr} (client address moved from {})",
            self.local_addr
        );
        self.sink.send(CnxnCommand::Reconfigure {
            factory: self.factory,
            listener: ListenerSwap(listener),
        });
        self.cfg = cfg;
        self.local_addr = local_addr;
        Ok(())
    }

    /// Stops the selector and closes every connection.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind(cfg: &CnxnFactoryConfig) -> io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(cfg.addr);
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    sock.bind(&cfg.addr.into()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot bind client port {}: {}", cfg.addr, e),
        )
    })?;
    sock.listen(if cfg.listen_backlog > 0 {
        cfg.listen_backlog
    } else {
        1024
    })?;
    sock.set_nonblocking(true)?;
    Ok(TcpListener::from_std(sock.into()))
}

/// Whether an accept error means the process or system ran out of file
/// descriptors (or socket memory), which passes as connections close.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24 | 105 | 12))
}

/// The selector thread's state: every connection, and the tables that
/// span them.
struct SelectorThread {
    poll: Poll,
    listener: TcpListener,
    rx: Receiver<CnxnCommand>,
    zks: Arc<ZooKeeperServer>,
    cfg: CnxnFactoryConfig,
    cnxns: HashMap<CnxnId, NIOServerCnxn>,
    /// Which connection serves each session (3.8's `sessionMap`).
    by_session: HashMap<i64, CnxnId>,
    /// Open connections per client IP, for `maxClientCnxns`.
    per_ip: HashMap<IpAddr, i32>,
    /// Connections left with input to read or frame because reading was
    /// paused or their read budget ran out; looked at after every poll.
    stalled: HashSet<CnxnId>,
    /// A stalled connection may be read now: poll without waiting.
    more_to_read: bool,
    /// The server is RUNNING: connect requests are processed.
    serving: bool,
    accept_retry_at: Option<Instant>,
    read_buf: Vec<u8>,
    next_id: u64,
    stop: Arc<AtomicBool>,
}

impl SelectorThread {
    /// The selector loop: poll, dispatch, commands, expiry, until stopped.
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut next_expiry_check = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            let mut wait = next_expiry_check.saturating_duration_since(now);
            if let Some(at) = self.accept_retry_at {
                wait = wait.min(at.saturating_duration_since(now));
            }
            if self.more_to_read {
                wait = Duration::ZERO;
            }
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                error!("Selector poll failed: {}", e);
                break;
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(t) => {
                        let id = t as CnxnId;
                        self.touch_cnxn(id);
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            if let Some(c) = self.cnxns.get_mut(&id) {
                                c.maybe_readable = true;
                            }
                            self.service(id);
                        }
                        if ev.is_writable() {
                            self.flush(id);
                        }
                    }
                }
            }
            self.drain_commands();
            self.resume_stalled();
            if self.accept_retry_at.is_some_and(|at| at <= Instant::now()) {
                self.accept_retry_at = None;
                self.accept();
            }
            if Instant::now() >= next_expiry_check {
                let more_handshakes = self.expire_handshakes();
                next_expiry_check = if self.expire_cnxns() || more_handshakes {
                    // More to close: after the other connections' turn.
                    Instant::now()
                } else {
                    Instant::now() + EXPIRY_CHECK_INTERVAL
                };
            }
        }
        let ids: Vec<CnxnId> = self.cnxns.keys().copied().collect();
        for id in ids {
            self.close(id, "server shutdown");
        }
        info!("selector thread exited");
    }

    /// Pushes a connection's expiry out by its timeout: the session's
    /// once it has one, else `sessionlessCnxnTimeout`.
    fn touch_cnxn(&mut self, id: CnxnId) {
        let sessionless = self.cfg.sessionless_cnxn_timeout;
        if let Some(c) = self.cnxns.get_mut(&id) {
            c.touch(sessionless);
        }
    }

    /// Closes the connections nothing happened on for their timeout
    /// (the `ConnnectionExpirer`): clients that never finish their
    /// handshake, and established ones that went silent. Their sessions
    /// are left to the session tracker. Connections waiting for the server
    /// to start are not expired: the wait is the server's doing. Closes at
    /// most [`EXPIRE_BATCH`] at a time, so thousands expiring together do
    /// not hold up the others' replies; true if some are left.
    fn expire_cnxns(&mut self) -> bool {
        if !self.serving {
            return false;
        }
        let now = Instant::now();
        let mut expired: Vec<CnxnId> = self
            .cnxns
            .iter()
            .filter(|(_, c)| c.expires <= now && c.state != CnxnState::Connecting)
            .map(|(id, _)| *id)
            .collect();
        let more = expired.len() > EXPIRE_BATCH;
        expired.truncate(EXPIRE_BATCH);
        for id in expired {
            let why = self.cnxns[&id].expiry_reason(self.cfg.sessionless_cnxn_timeout);
            self.close(id, &why);
        }
        more
    }

    fn accept(&mut self) {
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if out_of_resources(&e) => {
                    // The listener will not fire again for connections
                    // already waiting, so come back for them.
                    warn!(
                        "Cannot accept connections: {} ({} open); retrying in {} ms",
                        e,
                        self.cnxns.len(),
                        ACCEPT_RETRY.as_millis()
                    );
                    self.accept_retry_at = Some(Instant::now() + ACCEPT_RETRY);
                    return;
                }
                Err(e) => {
                    warn!("Ignoring unexpected exception during accept: {}", e);
                    continue;
                }
            };
            // `limitTotalNumberOfCnxns`, before the per-IP limit as in 3.8.
            if self.cfg.max_cnxns > 0 && self.cnxns.len() >= self.cfg.max_cnxns as usize {
                error!(
                    "Too many connections {} - max is {}; closing the connection from {}",
                    self.cnxns.len(),
                    self.cfg.max_cnxns,
                    peer
                );
                continue;
            }
            let ip = peer.ip();
            let count = self.per_ip.get(&ip).copied().unwrap_or(0);
            if self.cfg.max_client_cnxns > 0 && count >= self.cfg.max_client_cnxns {
                warn!(
                    "Too many connections from {} - max is {}; closing the connection from {}",
                    ip, self.cfg.max_client_cnxns, peer
                );
                continue;
            }
            let _ = stream.set_nodelay(true);
            let Some(mut transport) = self.transport_for(stream, peer) else {
                continue;
            };
            let id = self.next_id;
            self.next_id += 1;
            // Both interests from the start, edge-triggered: a TLS
            // handshake that must wait to read waits for the readable
            // edge, one that must wait to write for the writable edge.
            if let Err(e) = self.poll.registry().register(
                transport.stream_mut(),
                Token(id as usize),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                warn!("Cannot register connection from {}: {}", peer, e);
                continue;
            }
            *self.per_ip.entry(ip).or_insert(0) += 1;
            debug!("Accepted socket connection from {}", peer);
            let stats = self.zks.stats.cnxn_opened(id, peer);
            let expires = Instant::now() + self.cfg.sessionless_cnxn_timeout;
            self.cnxns
                .insert(id, NIOServerCnxn::new(id, transport, peer, stats, expires));
        }
    }

    /// What a connection just accepted reads and writes through: plaintext,
    /// TLS, or (unified port) whichever its first bytes ask for. `None`
    /// (logged) if TLS cannot be set up for it.
    fn transport_for(&self, stream: mio::net::TcpStream, peer: SocketAddr) -> Option<Transport> {
        let Some(tls) = &self.cfg.tls else {
            return Some(Transport::plain(stream));
        };
        let deadline = Instant::now() + tls.handshake_timeout;
        let config = Arc::clone(&tls.server_config);
        if tls.port_unification {
            return Some(Transport::dual_mode(stream, config, deadline));
        }
        match Transport::tls(stream, config, deadline) {
            Ok(t) => Some(t),
            Err(e) => {
                warn!("Cannot set up TLS for the connection from {}: {}", peer, e);
                None
            }
        }
    }

    /// `CertificateVerifier`: once the connection's TLS handshake has
    /// finished, the ids its certificate proves join its auth ids; `Err`
    /// is why it must close.
    fn verify_handshake(&mut self, id: CnxnId) -> Result<(), String> {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return Ok(());
        };
        let Some(handshake) = c.transport.take_finished_handshake() else {
            return Ok(());
        };
        let tls = self
            .cfg
            .tls
            .as_ref()
            .expect("a TLS handshake happens only on a port with TLS settings");
        match tls.verify(&handshake, c.peer, &self.zks.config().system_properties) {
            Ok(ids) => {
                if !ids.is_empty() {
                    let mut all = (*c.auth).clone();
                    all.extend(ids.into_iter().filter(|i| !c.auth.contains(i)));
                    c.auth = Arc::new(all);
                }
                Ok(())
            }
            Err(why) => {
                self.zks.stats.auth_failed();
                Err(why)
            }
        }
    }

    /// Closes the connections whose TLS handshake (or, on a unified port,
    /// whose first bytes) did not come within
    /// `ssl.handshakeDetectionTimeoutMillis` of their accept, however much
    /// they trickled meanwhile. Runs whether or not the server is RUNNING:
    /// the wait is the client's. At most [`EXPIRE_BATCH`]; true if some are
    /// left.
    fn expire_handshakes(&mut self) -> bool {
        let Some(tls) = &self.cfg.tls else {
            return false;
        };
        let ms = tls.handshake_timeout.as_millis();
        let now = Instant::now();
        let mut late: Vec<(CnxnId, TransportKind)> = self
            .cnxns
            .iter()
            .filter(|(_, c)| c.transport.handshake_deadline().is_some_and(|d| d <= now))
            .map(|(id, c)| (*id, c.transport.kind()))
            .collect();
        let more = late.len() > EXPIRE_BATCH;
        late.truncate(EXPIRE_BATCH);
        for (id, kind) in late {
            if kind == TransportKind::Tls {
                // An unsuccessful handshake, as 3.8 counts it.
                self.zks.stats.auth_failed();
            }
            let why = match kind {
                TransportKind::Detecting => format!(
                    "sent too few bytes to tell TLS from plaintext within {ms} ms \
                     (ssl.handshakeDetectionTimeoutMillis)"
                ),
                _ => format!(
                    "TLS handshake not completed within {ms} ms (ssl.handshakeDetectionTimeoutMillis)"
                ),
            };
            self.close(id, &why);
        }
        more
    }

    /// Frames what was read, then reads and frames more, until the socket
    /// is drained, reading must pause, or the read budget is spent.
    fn service(&mut self, id: CnxnId) {
        let mut budget = READ_BUDGET;
        loop {
            if self.process_frames(id) {
                self.stalled.insert(id);
            }
            let ctx = CnxnCtx {
                zks: &self.zks,
                cfg: &self.cfg,
                serving: self.serving,
            };
            let Some(c) = self.cnxns.get_mut(&id) else {
                return;
            };
            let pending = c.maybe_readable || c.unprocessed() > 0;
            if !c.may_read(&ctx) {
                if pending {
                    self.stalled.insert(id);
                }
                c.note_output_pause(self.cfg.pause_read_queued_bytes);
                return;
            }
            if !c.maybe_readable {
                return;
            }
            if budget == 0 {
                self.stalled.insert(id);
                self.more_to_read = true;
                return;
            }
            let outcome = c.read_chunk(&mut self.read_buf);
            // Before any frame of the read is handled: the ids a client
            // certificate proves apply from its first request on.
            if let Err(why) = self.verify_handshake(id) {
                self.close(id, &why);
                return;
            }
            let Some(c) = self.cnxns.get_mut(&id) else {
                return;
            };
            match outcome {
                ReadOutcome::Data(n) => budget = budget.saturating_sub(n),
                ReadOutcome::WouldBlock => c.maybe_readable = false,
                ReadOutcome::Eof => {
                    let _ = self.process_frames(id);
                    self.close(id, "client closed the connection (end of stream)");
                    return;
                }
                ReadOutcome::Error(e) => {
                    // 3.8 counts an unsuccessful TLS handshake as a failed
                    // authentication.
                    if e.kind() == io::ErrorKind::InvalidData
                        && c.transport.handshake_deadline().is_some()
                    {
                        self.zks.stats.auth_failed();
                    }
                    let why = format!("read error: {}", e);
                    self.close(id, &why);
                    return;
                }
            }
        }
    }

    /// Services the stalled connections that may be read again.
    fn resume_stalled(&mut self) {
        self.more_to_read = false;
        if self.stalled.is_empty() {
            return;
        }
        let ids: Vec<CnxnId> = self.stalled.iter().copied().collect();
        for id in ids {
            let ctx = CnxnCtx {
                zks: &self.zks,
                cfg: &self.cfg,
                serving: self.serving,
            };
            let Some(c) = self.cnxns.get_mut(&id) else {
                self.stalled.remove(&id);
                continue;
            };
            if c.may_read(&ctx) {
                self.stalled.remove(&id);
                self.service(id);
            } else {
                c.note_output_pause(self.cfg.pause_read_queued_bytes);
            }
        }
    }

    /// Has the connection handle the complete frames read so far, binding
    /// the session it re-establishes. True when a complete frame is left
    /// waiting.
    fn process_frames(&mut self, id: CnxnId) -> bool {
        loop {
            let ctx = CnxnCtx {
                zks: &self.zks,
                cfg: &self.cfg,
                serving: self.serving,
            };
            let Some(c) = self.cnxns.get_mut(&id) else {
                return false;
            };
            match c.process_frames(&ctx) {
                Frames::Drained => return false,
                Frames::Waiting => return true,
                Frames::Close(why) => {
                    self.close(id, &why);
                    return false;
                }
                Frames::SessionBound { session_id, frame } => {
                    self.bind_session(session_id, id);
                    self.queue(id, frame);
                }
            }
        }
    }

    /// `addSession`: `session_id` is served by `id` from now on; another
    /// connection that held it (the client reconnected) is closed.
    fn bind_session(&mut self, session_id: i64, id: CnxnId) {
        if let Some(old) = self.by_session.insert(session_id, id) {
            if old != id {
                self.close(old, "the client reconnected on another connection");
            }
        }
    }

    fn drain_commands(&mut self) {
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                CnxnCommand::Send(id, frame) => self.queue(id, frame),
                CnxnCommand::SendAndClose(id, frame) => {
                    self.queue(id, frame);
                    self.close_after_flush(id, "its session was closed");
                }
                CnxnCommand::SessionEstablished {
                    cnxn,
                    session_id,
                    frame,
                } => {
                    let Some(c) = self.cnxns.get_mut(&cnxn) else {
                        continue;
                    };
                    c.session_established(session_id);
                    self.bind_session(session_id, cnxn);
                    self.queue(cnxn, frame);
                    // Requests may have arrived while the session was
                    // being set up.
                    self.stalled.remove(&cnxn);
                    self.service(cnxn);
                }
                CnxnCommand::CloseSession(session) => {
                    if let Some(id) = self.by_session.get(&session).copied() {
                        self.close(id, "its session was closed");
                    }
                }
                CnxnCommand::SetServer(ServerSwap(zks)) => self.set_server(zks),
                CnxnCommand::Reconfigure {
                    listener: ListenerSwap(listener),
                    ..
                } => self.swap_listener(listener),
                CnxnCommand::Serving => {
                    self.serving = true;
                    // The wait so far was the server's, not the clients'.
                    let sessionless = self.cfg.sessionless_cnxn_timeout;
                    for c in self.cnxns.values_mut() {
                        c.touch(sessionless);
                    }
                    if !self.stalled.is_empty() {
                        info!(
                            "Serving {} connections that arrived while the server started",
                            self.stalled.len()
                        );
                    }
                }
            }
        }
    }

    /// Accepts on `listener` from now on; the old one closes as it drops.
    fn swap_listener(&mut self, mut listener: TcpListener) {
        let registry = self.poll.registry();
        if let Err(e) = registry.register(&mut listener, LISTENER, Interest::READABLE) {
            error!("cannot accept on the new client address: {e}; keeping the old one");
            return;
        }
        let _ = registry.deregister(&mut self.listener);
        let old = std::mem::replace(&mut self.listener, listener);
        info!(
            "Client port moved: accepting on {:?}, closed {:?}",
            self.listener.local_addr().ok(),
            old.local_addr().ok()
        );
        self.accept_retry_at = None;
    }

    /// Serves `zks` from now on: the connections of the old server's
    /// sessions are closed.
    fn set_server(&mut self, zks: Arc<ZooKeeperServer>) {
        // A connection still waiting to have its ConnectRequest read (one
        // that came while the peer was between roles) has nothing of the
        // old server's: it stays, and the new server takes its request
        // once it runs. Closing it made the client back off and retry,
        // which doubled the fail-over time its application saw.
        let ids: Vec<CnxnId> = self
            .cnxns
            .iter()
            .filter(|(_, c)| c.state != CnxnState::Initial)
            .map(|(id, _)| *id)
            .collect();
        if !ids.is_empty() {
            info!(
                "Closing {} client connections: this server is now {}",
                ids.len(),
                zks.server_state()
            );
        }
        for id in ids {
            self.close(id, "the server changed its role");
        }
        self.serving = zks.state() == State::Running;
        self.zks = zks;
    }

    /// Queues a reply or event frame on a connection (closing it if that
    /// fails).
    fn queue(&mut self, id: CnxnId, frame: Vec<u8>) {
        let ctx = CnxnCtx {
            zks: &self.zks,
            cfg: &self.cfg,
            serving: self.serving,
        };
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        if let Err(why) = c.send_response(&ctx, frame) {
            self.close(id, &why);
        }
    }

    fn close_after_flush(&mut self, id: CnxnId, why: &str) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        if let Err(why) = c.close_after_flush(why) {
            self.close(id, &why);
        }
    }

    /// Writes as much of the connection's queue as the socket takes.
    fn flush(&mut self, id: CnxnId) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        if let Err(why) = c.handle_write() {
            self.close(id, &why);
        }
    }

    /// Drops the connection from every table, then closes it.
    fn close(&mut self, id: CnxnId, why: &str) {
        let Some(mut c) = self.cnxns.remove(&id) else {
            return;
        };
        self.stalled.remove(&id);
        if let Some(n) = self.per_ip.get_mut(&c.peer.ip()) {
            *n -= 1;
            if *n <= 0 {
                self.per_ip.remove(&c.peer.ip());
            }
        }
        if c.session_id != 0 && self.by_session.get(&c.session_id) == Some(&id) {
            self.by_session.remove(&c.session_id);
        }
        c.close(self.poll.registry(), &self.zks, why);
    }
}
