//! `NIOServerCnxnFactory`: one selector thread that accepts every client
//! connection, reads and frames its requests, and writes back whatever the
//! processor threads queue for it.
//!
//! A connection starts un-initialized: its first four bytes are either a
//! four-letter word (answered as text, then closed) or the length of a
//! `ConnectRequest`. While the session is being set up (a new session goes
//! through the processor chain) nothing more is read from it. Once
//! established, each frame is a `RequestHeader` + record: auth packets are
//! answered here, everything else goes to `ZooKeeperServer::submit_request`.
//!
//! Replies come back as [`CnxnCommand`]s on a channel, with a
//! [`mio::Waker`] to interrupt the poll. Each connection has an outgoing
//! queue written as the socket allows; a client that stops reading fills
//! its queue up to a bound and is then disconnected, so it can neither
//! stall the selector nor make the server hold unbounded replies.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use zk_persistence::jute::Record;
use zk_persistence::records::Id;
use zk_persistence::zoo_defs::{op_code, Code};

use super::four_letter;
use super::{CnxnCommand, CnxnSink};
use crate::proto::{reply_frame, AuthPacket, ReplyHeader, RequestHeader};
use crate::request::{CnxnId, Request};
use crate::server_stats::CnxnStats;
use crate::zookeeper_server::{ConnectOutcome, ZooKeeperServer};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CNXN: u64 = 2;
/// How often idle connections are looked for.
const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Default bound on the bytes queued for one connection.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;

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
    /// `zookeeper.nio.sessionlessCnxnTimeout`: how long a connection may
    /// stay silent before its session is set up (then the session timeout
    /// applies instead).
    pub sessionless_cnxn_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CnxnState {
    /// Waiting for a `ConnectRequest` (or a four-letter word).
    Initial,
    /// Session being created; reading is paused.
    Connecting,
    Established,
    /// Writing what is queued, then closing; nothing more is read.
    Closing,
}

/// One client connection (`NIOServerCnxn`).
struct Cnxn {
    stream: TcpStream,
    peer: SocketAddr,
    state: CnxnState,
    session_id: i64,
    session_timeout: i32,
    in_buf: Vec<u8>,
    out: VecDeque<Vec<u8>>,
    /// Bytes of `out`'s front already written.
    out_pos: usize,
    out_bytes: usize,
    /// Authenticated ids: `ip:<address>` from the start, plus setAuth's.
    auth: Arc<Vec<Id>>,
    /// Its counters for `cons`/`stat` (shared with the stats registry).
    stats: Arc<CnxnStats>,
    /// Closed if no I/O happens on it before then (Java's
    /// `cnxnExpiryQueue`, touched on every I/O event).
    expires: Instant,
}

/// The running factory; dropping it does not stop the thread, call
/// [`NIOServerCnxnFactory::shutdown`].
pub struct NIOServerCnxnFactory {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl NIOServerCnxnFactory {
    /// Binds the client port and starts the selector thread. Replies reach
    /// it through the [`CnxnSink`] it hands to `zks`.
    pub fn start(cfg: CnxnFactoryConfig, zks: Arc<ZooKeeperServer>) -> io::Result<Self> {
        let listener = bind(&cfg)?;
        let local_addr = listener.local_addr()?;
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = mpsc::channel();
        zks.set_cnxn_sink(CnxnSink::new(tx, Some(Arc::clone(&waker))));
        zks.stats.update_facts(|f| {
            f.client_addr = Some(local_addr);
            f.max_client_cnxns = cfg.max_client_cnxns;
            f.listen_backlog = cfg.listen_backlog;
        });
        let stop = Arc::new(AtomicBool::new(false));
        let mut selector = Selector {
            poll,
            listener,
            rx,
            zks,
            cfg,
            cnxns: HashMap::new(),
            by_session: HashMap::new(),
            per_ip: HashMap::new(),
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
            stop,
            waker,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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

struct Selector {
    poll: Poll,
    listener: TcpListener,
    rx: Receiver<CnxnCommand>,
    zks: Arc<ZooKeeperServer>,
    cfg: CnxnFactoryConfig,
    cnxns: HashMap<CnxnId, Cnxn>,
    by_session: HashMap<i64, CnxnId>,
    per_ip: HashMap<IpAddr, i32>,
    next_id: u64,
    stop: Arc<AtomicBool>,
}

impl Selector {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut next_expiry_check = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let wait = next_expiry_check.saturating_duration_since(Instant::now());
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
                            self.handle_readable(id);
                        }
                        if ev.is_writable() {
                            self.flush(id);
                        }
                    }
                }
            }
            self.drain_commands();
            if Instant::now() >= next_expiry_check {
                self.expire_cnxns();
                next_expiry_check = Instant::now() + EXPIRY_CHECK_INTERVAL;
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
            let timeout = match c.state {
                CnxnState::Established => Duration::from_millis(c.session_timeout.max(0) as u64),
                _ => sessionless,
            };
            c.expires = Instant::now() + timeout;
        }
    }

    /// Closes the connections nothing happened on for their timeout
    /// (the `ConnnectionExpirer`): clients that never finish their
    /// handshake, and established ones that went silent. Their sessions
    /// are left to the session tracker.
    fn expire_cnxns(&mut self) {
        let now = Instant::now();
        let expired: Vec<CnxnId> = self
            .cnxns
            .iter()
            .filter(|(_, c)| c.expires <= now && c.state != CnxnState::Connecting)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.close(id, "connection expired (no I/O within its timeout)");
        }
    }

    fn accept(&mut self) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    warn!("Ignoring unexpected exception during accept: {}", e);
                    return;
                }
            };
            let ip = peer.ip();
            let count = self.per_ip.get(&ip).copied().unwrap_or(0);
            if self.cfg.max_client_cnxns > 0 && count >= self.cfg.max_client_cnxns {
                warn!(
                    "Too many connections from {} - max is {}",
                    ip, self.cfg.max_client_cnxns
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
            self.cnxns.insert(
                id,
                Cnxn {
                    stream,
                    stats: self.zks.stats.cnxn_opened(id, peer),
                    peer,
                    state: CnxnState::Initial,
                    session_id: 0,
                    session_timeout: 0,
                    in_buf: Vec::new(),
                    out: VecDeque::new(),
                    out_pos: 0,
                    out_bytes: 0,
                    auth: Arc::new(vec![Id {
                        scheme: "ip".into(),
                        id: ip.to_string(),
                    }]),
                    expires: Instant::now() + self.cfg.sessionless_cnxn_timeout,
                },
            );
        }
    }

    /// Reads all that is available, then handles the complete frames.
    fn handle_readable(&mut self, id: CnxnId) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        if matches!(c.state, CnxnState::Closing) {
            return;
        }
        let mut buf = [0u8; 64 * 1024];
        let mut eof = false;
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => c.in_buf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let why = format!("read error: {}", e);
                    self.close(id, &why);
                    return;
                }
            }
        }
        self.process_frames(id);
        if eof && self.cnxns.contains_key(&id) {
            self.close(id, "client closed the connection (end of stream)");
        }
    }

    fn process_frames(&mut self, id: CnxnId) {
        let max = self.zks.max_buffer();
        let mut consumed = 0;
        loop {
            let Some(c) = self.cnxns.get_mut(&id) else {
                return;
            };
            if !matches!(c.state, CnxnState::Initial | CnxnState::Established) {
                break;
            }
            let avail = &c.in_buf[consumed..];
            if avail.len() < 4 {
                break;
            }
            let len_bytes = [avail[0], avail[1], avail[2], avail[3]];
            if c.state == CnxnState::Initial {
                if let Some(cmd) = four_letter::command_of(len_bytes) {
                    self.four_letter(id, cmd);
                    return;
                }
            }
            let len = i32::from_be_bytes(len_bytes);
            if len < 0 || len as usize > max {
                let why = format!(
                    "Len error: a message from {} with advertised length of {} is either a malformed message or too large to process (length is greater than jute.maxbuffer={})",
                    c.peer, len, max
                );
                self.close(id, &why);
                return;
            }
            let len = len as usize;
            if avail.len() < 4 + len {
                break;
            }
            let body = avail[4..4 + len].to_vec();
            consumed += 4 + len;
            self.zks.stats.packet_received(&c.stats);
            if c.state == CnxnState::Initial {
                self.connect_request(id, &body);
            } else {
                self.request(id, body);
            }
        }
        if let Some(c) = self.cnxns.get_mut(&id) {
            c.in_buf.drain(..consumed.min(c.in_buf.len()));
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
        c.in_buf.clear();
        // Text, not a packet: not counted as sent.
        self.enqueue(id, text.into_bytes());
        self.close_after_flush(id);
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
                    self.queue(id, frame);
                    self.close_after_flush(id);
                }
            }
        }
    }

    fn request(&mut self, id: CnxnId, body: Vec<u8>) {
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
        let rest = body[8..].to_vec();
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
                    self.close_after_flush(id);
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
    }

    fn drain_commands(&mut self) {
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                CnxnCommand::Send(id, frame) => self.queue(id, frame),
                CnxnCommand::SendAndClose(id, frame) => {
                    self.queue(id, frame);
                    self.close_after_flush(id);
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
                    self.by_session.insert(session_id, cnxn);
                    self.queue(cnxn, frame);
                    // Requests may have arrived while the session was
                    // being set up.
                    self.process_frames(cnxn);
                }
                CnxnCommand::CloseSession(session) => {
                    if let Some(id) = self.by_session.get(&session).copied() {
                        self.close(id, "its session was closed");
                    }
                }
            }
        }
    }

    /// Queues a reply or event frame, counting it as a packet sent.
    fn queue(&mut self, id: CnxnId, frame: Vec<u8>) {
        if let Some(c) = self.cnxns.get(&id) {
            self.zks.stats.packet_sent(&c.stats, frame.len());
        }
        self.enqueue(id, frame);
    }

    fn enqueue(&mut self, id: CnxnId, frame: Vec<u8>) {
        let max = self.cfg.max_queued_bytes;
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        c.out_bytes += frame.len();
        c.out.push_back(frame);
        if c.out_bytes > max {
            let why = format!(
                "it does not read its replies ({} bytes queued, limit {})",
                c.out_bytes, max
            );
            self.close(id, &why);
            return;
        }
        self.flush(id);
    }

    fn close_after_flush(&mut self, id: CnxnId) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        c.state = CnxnState::Closing;
        if c.out.is_empty() {
            self.close(id, "request completed");
        }
    }

    /// Writes as much of the queue as the socket takes.
    fn flush(&mut self, id: CnxnId) {
        let Some(c) = self.cnxns.get_mut(&id) else {
            return;
        };
        while let Some(front) = c.out.front() {
            match c.stream.write(&front[c.out_pos..]) {
                Ok(n) => {
                    c.out_pos += n;
                    if c.out_pos == front.len() {
                        c.out_bytes -= front.len();
                        c.out.pop_front();
                        c.out_pos = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let why = format!("write error: {}", e);
                    self.close(id, &why);
                    return;
                }
            }
        }
        if c.state == CnxnState::Closing {
            self.close(id, "request completed");
        }
    }

    fn close(&mut self, id: CnxnId, why: &str) {
        let Some(mut c) = self.cnxns.remove(&id) else {
            return;
        };
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
