//! `NIOServerCnxnFactory`: one selector thread that accepts every client
//! connection, reads and frames its requests, and writes back whatever the
//! processor threads queue for it.
//!
//! A connection starts un-initialized: its first four bytes are either a
//! four-letter word (answered as text, then closed) or the length of a
//! `ConnectRequest`. Until the server is RUNNING a connect request waits
//! (the port opens before the database is restored); while the session is
//! being set up (a new session goes through the processor chain) nothing
//! more is read. Once established, each frame is a `RequestHeader` +
//! record: auth packets are answered here, everything else goes to
//! `ZooKeeperServer::submit_request`.
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
//! See [`super::nio_server_cnxn`] for when reading stops and resumes.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use zk_persistence::jute::Record;
use zk_persistence::zoo_defs::{op_code, Code};

use super::nio_server_cnxn::{frame_xid, CnxnState, Frame, NIOServerCnxn, ReadOutcome};
use super::{CnxnCommand, CnxnSink, ServerSwap};
use crate::proto::{reply_frame, AuthPacket, ReplyHeader, RequestHeader};
use crate::request::{CnxnId, Request};
use crate::zookeeper_server::{ConnectOutcome, State, ZooKeeperServer};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CNXN: u64 = 2;
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
    pub addr: SocketAddr,
    /// `maxClientCnxns`: connections per client IP; 0 for no limit.
    pub max_client_cnxns: i32,
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
}

/// The running factory; dropping it does not stop the thread, call
/// [`NIOServerCnxnFactory::shutdown`].
pub struct NIOServerCnxnFactory {
    local_addr: SocketAddr,
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
        let sink = CnxnSink::new(tx, Some(Arc::clone(&waker)));
        zks.set_cnxn_sink(sink.clone());
        // After the sink is set: a later start_serving is seen as a
        // command, an earlier one here.
        let serving = zks.state() == State::Running;
        zks.stats.update_facts(|f| {
            f.client_addr = Some(local_addr);
            f.max_client_cnxns = cfg.max_client_cnxns;
            f.listen_backlog = cfg.listen_backlog;
        });
        let stop = Arc::new(AtomicBool::new(false));
        let factory_cfg = cfg.clone();
        let mut selector = Selector {
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
            next_id: FIRST_CNXN,
            stop: Arc::clone(&stop),
        };
        selector
            .poll
            .registry()
            .register(&mut selector.listener, LISTENER, Interest::READABLE)?;
        info!("binding to port {}", local_addr);
        let thread = std::thread::Builder::new()
            .name(format!(
                "NIOServerCxnFactory.SelectorThread-{}",
                local_addr.port()
            ))
            .spawn(move || selector.run())?;
        Ok(NIOServerCnxnFactory {
            local_addr,
            sink,
            cfg: factory_cfg,
            stop,
            waker,
            thread: Some(thread),
        })
    }

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
        zks.stats.update_facts(|f| {
            f.client_addr = Some(self.local_addr);
            f.max_client_cnxns = self.cfg.max_client_cnxns;
            f.listen_backlog = self.cfg.listen_backlog;
        });
        // Sent after the sink is set, so a start_serving of `zks` reaches
        // the selector after this.
        self.sink.send(CnxnCommand::SetServer(ServerSwap(zks)));
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

struct Selector {
    poll: Poll,
    listener: TcpListener,
    rx: Receiver<CnxnCommand>,
    zks: Arc<ZooKeeperServer>,
    cfg: CnxnFactoryConfig,
    cnxns: HashMap<CnxnId, NIOServerCnxn>,
    by_session: HashMap<i64, CnxnId>,
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

impl Selector {
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
                next_expiry_check = if self.expire_cnxns() {
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
            c.expires = Instant::now() + cnxn_timeout(c, sessionless);
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
            let c = &self.cnxns[&id];
            let why = if c.out_bytes() > 0 {
                format!(
                    "connection expired (no I/O within its timeout of {} ms; {} bytes of replies unread)",
                    cnxn_timeout(c, self.cfg.sessionless_cnxn_timeout).as_millis(),
                    c.out_bytes()
                )
            } else {
                format!(
                    "connection expired (no I/O within its timeout of {} ms)",
                    cnxn_timeout(c, self.cfg.sessionless_cnxn_timeout).as_millis()
                )
            };
            self.close(id, &why);
        }
        more
    }

    fn accept(&mut self) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
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
            let id = self.next_id;
            self.next_id += 1;
            if let Err(e) = self.poll.registry().register(
                &mut stream,
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
                .insert(id, NIOServerCnxn::new(stream, peer, stats, expires));
        }
    }

    /// Whether more may be read from `c` now (see `nio_server_cnxn`).
    fn may_read(&self, c: &NIOServerCnxn) -> bool {
        match c.state {
            CnxnState::Closing | CnxnState::Connecting => false,
            // Before RUNNING, read no further than one connect request.
            CnxnState::Initial => self.serving || c.unprocessed() < 4 + self.zks.max_buffer(),
            CnxnState::Established => {
                !c.throttled && c.out_bytes() <= self.cfg.pause_read_queued_bytes
            }
        }
    }

    /// Frames what was read, then reads and frames more, until the socket
    /// is drained, reading must pause, or the read budget is spent.
    fn service(&mut self, id: CnxnId) {
        let mut budget = READ_BUDGET;
        loop {
            if self.process_frames(id) {
                self.stalled.insert(id);
            }
            let Some(c) = self.cnxns.get(&id) else {
                return;
            };
            let pending = c.maybe_readable || c.unprocessed() > 0;
            if !self.may_read(c) {
                if pending {
                    self.stalled.insert(id);
                }
                self.note_output_pause(id);
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
            let c = self.cnxns.get_mut(&id).expect("present");
            match c.read_chunk(&mut self.read_buf) {
                ReadOutcome::Data(n) => budget = budget.saturating_sub(n),
                ReadOutcome::WouldBlock => c.maybe_readable = false,
                ReadOutcome::Eof => {
                    let _ = self.process_frames(id);
                    self.close(id, "client closed the connection (end of stream)");
                    return;
                }
                ReadOutcome::Error(e) => {
                    let why = format!("read error: {}", e);
                    self.close(id, &why);
                    return;
                }
            }
        }
    }

    /// Logs, once per connection, that it is no longer read because it
    /// leaves its replies unread.
    fn note_output_pause(&mut self, id: CnxnId) {
        let limit = self.cfg.pause_read_queued_bytes;
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        if c.state == CnxnState::Established && c.out_bytes() > limit && !c.output_pause_logged {
            c.output_pause_logged = true;
            info!(
                "Not reading from client {} (session 0x{:x}) while it leaves {} bytes of replies unread (limit {})",
                c.peer,
                c.session_id,
                c.out_bytes(),
                limit
            );
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
            let ready = match self.cnxns.get(&id) {
                Some(c) => self.may_read(c),
                None => {
                    self.stalled.remove(&id);
                    continue;
                }
            };
            if ready {
                self.stalled.remove(&id);
                self.service(id);
            } else {
                self.note_output_pause(id);
            }
        }
    }

    /// Handles the complete frames read so far, while the connection's
    /// state allows. True when a complete frame is left waiting.
    fn process_frames(&mut self, id: CnxnId) -> bool {
        let max = self.zks.max_buffer();
        loop {
            let Some(c) = self.cnxns.get_mut(&id) else {
                return false;
            };
            let blocked = match c.state {
                CnxnState::Closing => return false,
                CnxnState::Connecting => true,
                CnxnState::Established => {
                    c.throttled || c.out_bytes() > self.cfg.pause_read_queued_bytes
                }
                CnxnState::Initial => false,
            };
            let frame = c.peek_frame(max);
            if blocked && !matches!(frame, Frame::Incomplete) {
                self.note_output_pause(id);
                return true;
            }
            match frame {
                Frame::Incomplete => return false,
                Frame::FourLetter(cmd) => {
                    self.four_letter(id, cmd);
                    return false;
                }
                Frame::BadLength(len) => {
                    let why = format!(
                        "Len error: a message from {} with advertised length of {} is either a malformed message or too large to process (length is greater than jute.maxbuffer={})",
                        c.peer, len, max
                    );
                    self.close(id, &why);
                    return false;
                }
                Frame::Complete(_) if c.state == CnxnState::Initial && !self.serving => {
                    // Held until the server is RUNNING.
                    return true;
                }
                Frame::Complete(len) => {
                    let body = c.take_frame(len);
                    self.zks.stats.packet_received(&c.stats);
                    if c.state == CnxnState::Initial {
                        self.connect_request(id, &body);
                    } else {
                        self.request(id, body);
                    }
                }
            }
        }
    }

    fn four_letter(&mut self, id: CnxnId, cmd: &str) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        self.zks.stats.packet_received(&c.stats);
        let text = if self.zks.four_letter_enabled(cmd) {
            info!("Processing {} command from {}", cmd, c.peer);
            self.zks.four_letter(cmd)
        } else {
            debug!(
                "Command {} is not executed because it is not in the whitelist.",
                cmd
            );
            format!(
                "{} is not executed because it is not in the whitelist.\n",
                cmd
            )
        };
        c.discard_input();
        // Text, not a packet: not counted as sent.
        self.enqueue(id, text.into_bytes());
        self.close_after_flush(id, &format!("answered the four-letter word {}", cmd));
    }

    fn connect_request(&mut self, id: CnxnId, body: &[u8]) {
        let peer = self.cnxns[&id].peer;
        match self.zks.process_connect_request(id, peer, body) {
            Err(why) => self.close(id, &why),
            Ok(ConnectOutcome::Pending {
                session_id,
                timeout,
            }) => {
                let c = self.cnxns.get_mut(&id).expect("present");
                c.state = CnxnState::Connecting;
                c.session_id = session_id;
                c.session_timeout = timeout;
                c.stats.set_session(session_id, timeout);
            }
            Ok(ConnectOutcome::Reply {
                session_id,
                timeout,
                valid,
                frame,
            }) => {
                if valid {
                    if let Some(old) = self.by_session.insert(session_id, id) {
                        if old != id {
                            self.close(old, "the client reconnected on another connection");
                        }
                    }
                    let c = self.cnxns.get_mut(&id).expect("present");
                    c.state = CnxnState::Established;
                    c.session_id = session_id;
                    c.session_timeout = timeout;
                    c.stats.set_session(session_id, timeout);
                    self.queue(id, frame);
                } else {
                    // As 3.8: a ConnectResponse with session 0 and
                    // timeout 0 tells the client its session is gone.
                    self.queue(id, frame);
                    let why = format!(
                        "session 0x{:x} is expired or its password is wrong (told the client with a zeroed ConnectResponse)",
                        session_id
                    );
                    self.close_after_flush(id, &why);
                }
            }
        }
    }

    fn request(&mut self, id: CnxnId, mut body: Vec<u8>) {
        let c = self.cnxns.get_mut(&id).expect("present");
        let hdr = match RequestHeader::from_bytes(&body) {
            Ok(h) => h,
            Err(e) => {
                let why = format!("malformed request header from {}: {}", c.peer, e);
                self.close(id, &why);
                return;
            }
        };
        self.zks.touch(c.session_id, c.session_timeout);
        // Counted before anything is answered, so that no reply is queued
        // ahead of its count (3.8's incrOutstandingAndCheckThrottle).
        if hdr.xid > 0 {
            c.outstanding += 1;
        }
        body.drain(..8);
        let rest = body;
        match hdr.r#type {
            op_code::AUTH => {
                let session = c.session_id;
                let (code, close) = match AuthPacket::from_bytes(&rest) {
                    Ok(p) => {
                        let mut ids = (*c.auth).clone();
                        let code = self.zks.process_auth(session, c.peer, &p, &mut ids);
                        if code != Code::OK {
                            self.zks.stats.auth_failed();
                        }
                        c.auth = Arc::new(ids);
                        (code, code != Code::OK)
                    }
                    Err(_) => (Code::AUTHFAILED, true),
                };
                // Java answers with the packet's own xid (clients send -4).
                let frame = reply_frame::<AuthPacket>(
                    &ReplyHeader {
                        xid: hdr.xid,
                        zxid: 0,
                        err: code as i32,
                    },
                    None,
                );
                self.queue(id, frame);
                if close {
                    self.close_after_flush(id, "authentication failed");
                }
            }
            op_code::SASL => {
                // No SASL support: answer as an unimplemented request.
                let frame = reply_frame::<AuthPacket>(
                    &ReplyHeader {
                        xid: hdr.xid,
                        zxid: self.zks.last_processed_zxid(),
                        err: Code::UNIMPLEMENTED as i32,
                    },
                    None,
                );
                self.queue(id, frame);
            }
            op => {
                let mut r = Request::new(c.session_id, hdr.xid, op, rest);
                r.cnxn = Some(id);
                r.auth_info = Arc::clone(&c.auth);
                self.zks.submit_request(r);
            }
        }
        if hdr.xid > 0 {
            let Some(c) = self.cnxns.get_mut(&id) else {
                return;
            };
            if !c.throttled && self.zks.should_throttle(c.outstanding) {
                c.throttled = true;
                debug!(
                    "Throttling recv from {} (session 0x{:x}): {} requests in process, globalOutstandingLimit {}",
                    c.peer,
                    c.session_id,
                    self.zks.stats.outstanding_requests(),
                    self.zks.global_outstanding_limit()
                );
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
                    c.state = CnxnState::Established;
                    c.session_id = session_id;
                    c.stats.set_session(session_id, c.session_timeout);
                    if let Some(old) = self.by_session.insert(session_id, cnxn) {
                        if old != cnxn {
                            self.close(old, "the client reconnected on another connection");
                        }
                    }
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
                CnxnCommand::SetServer(ServerSwap(zks)) => {
                    // A connection still waiting to have its ConnectRequest
                    // read (one that came while the peer was between
                    // roles) has nothing of the old server's: it stays,
                    // and the new server takes its request once it runs.
                    // Closing it made the client back off and retry, which
                    // doubled the fail-over time its application saw.
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
                CnxnCommand::Serving => {
                    self.serving = true;
                    // The wait so far was the server's, not the clients'.
                    let ids: Vec<CnxnId> = self.cnxns.keys().copied().collect();
                    for id in ids {
                        self.touch_cnxn(id);
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

    /// Queues a reply or event frame, counting it as a packet sent; a reply
    /// to one of the connection's requests may lift its throttling.
    fn queue(&mut self, id: CnxnId, frame: Vec<u8>) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        self.zks.stats.packet_sent(&c.stats, frame.len());
        if c.state != CnxnState::Initial && frame_xid(&frame) > 0 {
            c.outstanding -= 1;
            if c.throttled && !self.zks.should_throttle(c.outstanding) {
                c.throttled = false;
                debug!(
                    "Resuming recv from {} (session 0x{:x})",
                    c.peer, c.session_id
                );
            }
        }
        self.enqueue(id, frame);
    }

    fn enqueue(&mut self, id: CnxnId, frame: Vec<u8>) {
        let max = self.cfg.max_queued_bytes;
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        c.push_out(frame);
        if c.out_bytes() > max {
            let why = format!(
                "it does not read its replies ({} bytes queued, limit {})",
                c.out_bytes(),
                max
            );
            self.close(id, &why);
            return;
        }
        self.flush(id);
    }

    fn close_after_flush(&mut self, id: CnxnId, why: &str) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        c.state = CnxnState::Closing;
        c.closing_reason = why.to_string();
        if !c.has_output() {
            self.close(id, why);
        }
    }

    /// Writes as much of the queue as the socket takes.
    fn flush(&mut self, id: CnxnId) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        if let Err(e) = c.flush() {
            let why = format!("write error: {}", e);
            self.close(id, &why);
            return;
        }
        if c.state == CnxnState::Closing && !c.has_output() {
            let why = std::mem::take(&mut c.closing_reason);
            self.close(id, &why);
        }
    }

    fn close(&mut self, id: CnxnId, why: &str) {
        let Some(mut c) = self.cnxns.remove(&id) else {
            return;
        };
        self.stalled.remove(&id);
        let _ = self.poll.registry().deregister(&mut c.stream);
        let _ = c.stream.shutdown(std::net::Shutdown::Both);
        if let Some(n) = self.per_ip.get_mut(&c.peer.ip()) {
            *n -= 1;
            if *n <= 0 {
                self.per_ip.remove(&c.peer.ip());
            }
        }
        if c.session_id != 0 && self.by_session.get(&c.session_id) == Some(&id) {
            self.by_session.remove(&c.session_id);
        }
        self.zks.cnxn_closed(id);
        self.zks.stats.cnxn_closed(id);
        info!(
            "Closed socket connection for client {} which had sessionid 0x{:x}: {}",
            c.peer, c.session_id, why
        );
    }
}

/// How long a connection may stay silent: its session's timeout once it
/// has one, else `sessionlessCnxnTimeout`.
fn cnxn_timeout(c: &NIOServerCnxn, sessionless: Duration) -> Duration {
    match c.state {
        CnxnState::Established => Duration::from_millis(c.session_timeout.max(0) as u64),
        _ => sessionless,
    }
}
