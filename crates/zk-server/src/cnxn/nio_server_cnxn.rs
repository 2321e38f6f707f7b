//! `NIOServerCnxn`: one client connection's protocol state machine and
//! its bytes. A connection starts un-initialized: its first four bytes are
//! either a four-letter word (answered as text, then closed) or the length
//! of a `ConnectRequest`. Once established, each frame is a
//! `RequestHeader` + record: auth and SASL packets are answered here,
//! everything else (once enforced authentication, if on, is satisfied)
//! goes to `ZooKeeperServer::submit_request`. The selector in
//! [`super::nio_server_cnxn_factory`] owns every connection, polls the
//! sockets, and keeps the tables that span connections (by session, by
//! IP); a method here that finds its connection must close returns the
//! reason as `Err`, and the selector closes it.
//!
//! Reading stops (the socket is simply left unread, so TCP pushes back on
//! the client) in four cases, each of which clears by itself:
//!
//! - the server is not RUNNING yet: a connect request waits in `in_buf`;
//! - the session is being created (3.8's `disableRecv` in
//!   `processConnectRequest`);
//! - `globalOutstandingLimit` throttling (3.8's `disableRecv` from
//!   `incrOutstandingAndCheckThrottle`), lifted when one of the
//!   connection's own replies is queued and the server is below the limit
//!   or the connection has nothing left in the chain;
//! - more than `pause_read_queued_bytes` of replies wait for a client
//!   that does not read them (3.8 has no such bound on NIO connections),
//!   lifted when the client catches up.
//!
//! With edge-triggered polling a socket that was left unread gives no
//! new event, so [`NIOServerCnxn::maybe_readable`] remembers that it must
//! be read again once reading resumes.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, info};
use mio::Registry;
use zk_persistence::jute::Record;
use zk_persistence::records::Id;
use zk_persistence::zoo_defs::{Code, OpCode};

use super::four_letter;
use super::nio_server_cnxn_factory::CnxnFactoryConfig;
use super::transport::Transport;
use crate::proto::{reply_frame, AuthPacket, ReplyHeader, RequestHeader};
use crate::request::{CnxnId, Request};
use crate::server_metrics::ServerMetrics;
use crate::server_stats::CnxnStats;
use crate::zookeeper_sasl_server::{CnxnSasl, ZooKeeperSaslServer};
use crate::zookeeper_server::{ConnectOutcome, ZooKeeperServer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CnxnState {
    /// Waiting for a `ConnectRequest` (or a four-letter word).
    Initial,
    /// Session being created; reading is paused.
    Connecting,
    /// The session is set up: frames are requests.
    Established,
    /// Writing what is queued, then closing; nothing more is read.
    Closing,
}

/// What the unprocessed input starts with.
pub(super) enum Frame {
    /// Fewer bytes than the frame needs.
    Incomplete,
    /// A four-letter word in place of a length (only meaningful first).
    FourLetter(&'static str),
    /// A length that is negative or above `jute.maxbuffer`.
    BadLength(i32),
    /// A whole frame of this many bytes after the prefix.
    Complete(usize),
}

/// How one read went.
pub(super) enum ReadOutcome {
    /// This many bytes came.
    Data(usize),
    /// Nothing more to read for now.
    WouldBlock,
    /// The client closed its end.
    Eof,
    /// The socket failed.
    Error(io::Error),
}

/// What [`NIOServerCnxn::process_frames`] leaves for the selector to do.
pub(super) enum Frames {
    /// Every complete frame is handled.
    Drained,
    /// A complete frame waits until reading may resume.
    Waiting,
    /// The connection must close now, for this reason.
    Close(String),
    /// A connect request re-established `session_id` at once: the selector
    /// binds the session to this connection (closing any other that held
    /// it), queues `frame` (the `ConnectResponse`) and calls again.
    SessionBound {
        /// The session now served by this connection.
        session_id: i64,
        /// The `ConnectResponse` frame to queue.
        frame: Vec<u8>,
    },
}

/// What a connection needs from the selector that drives it.
pub(super) struct CnxnCtx<'a> {
    /// The server the connection's requests go to.
    pub zks: &'a ZooKeeperServer,
    /// The factory's settings (buffer limits, sessionless timeout).
    pub cfg: &'a CnxnFactoryConfig,
    /// The server is RUNNING: connect requests are processed.
    pub serving: bool,
}

/// One client connection (see the module doc).
pub(super) struct NIOServerCnxn {
    /// The name the server knows the connection by.
    pub id: CnxnId,
    /// Its socket, plaintext or TLS (the frames are the same bytes).
    pub transport: Transport,
    /// The client's address.
    pub peer: SocketAddr,
    /// Where it is in its protocol.
    pub state: CnxnState,
    /// Its session, 0 before the connect request is taken.
    pub session_id: i64,
    /// The negotiated session timeout in ms.
    pub session_timeout: i32,
    /// Bytes read and not yet framed; `in_pos` is where the unprocessed
    /// part starts (compacted before the next read).
    in_buf: Vec<u8>,
    in_pos: usize,
    /// Set by a readable event, cleared when a read would block.
    pub maybe_readable: bool,
    out: VecDeque<Vec<u8>>,
    /// Bytes of `out`'s front already written.
    out_pos: usize,
    out_bytes: usize,
    /// Authenticated ids: `ip:<address>` from the start, plus setAuth's.
    pub auth: Arc<Vec<Id>>,
    /// Its counters for `cons`/`stat` (shared with the stats registry).
    pub stats: Arc<CnxnStats>,
    /// Closed if no I/O happens on it before then (Java's
    /// `cnxnExpiryQueue`, touched on every I/O event).
    pub expires: Instant,
    /// Requests with a positive xid submitted and not yet answered
    /// (`ServerCnxn.outstandingCount`).
    pub outstanding: i64,
    /// Not read because of `globalOutstandingLimit`.
    pub throttled: bool,
    /// Whether the pause for unread replies was logged already (once per
    /// connection: a slow reader may pause and resume often).
    pub output_pause_logged: bool,
    /// Why the connection closes once its queue is written.
    pub closing_reason: String,
    /// Its SASL exchange, once it sent a `sasl` request to a server with
    /// a SASL login.
    sasl: Option<ZooKeeperSaslServer>,
}

impl NIOServerCnxn {
    /// A connection just accepted, waiting for its connect request.
    pub fn new(
        id: CnxnId,
        transport: Transport,
        peer: SocketAddr,
        stats: Arc<CnxnStats>,
        expires: Instant,
    ) -> Self {
        NIOServerCnxn {
            id,
            transport,
            peer,
            state: CnxnState::Initial,
            session_id: 0,
            session_timeout: 0,
            in_buf: Vec::new(),
            in_pos: 0,
            maybe_readable: false,
            out: VecDeque::new(),
            out_pos: 0,
            out_bytes: 0,
            auth: Arc::new(vec![Id {
                scheme: "ip".into(),
                id: peer.ip().to_string(),
            }]),
            stats,
            expires,
            outstanding: 0,
            throttled: false,
            output_pause_logged: false,
            closing_reason: String::new(),
            sasl: None,
        }
    }

    /// Reads once into `buf` and appends what came to the input.
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> ReadOutcome {
        if self.in_pos > 0 {
            self.in_buf.drain(..self.in_pos);
            self.in_pos = 0;
        }
        loop {
            return match self.transport.read(buf) {
                Ok(0) => ReadOutcome::Eof,
                Ok(n) => {
                    self.in_buf.extend_from_slice(&buf[..n]);
                    ReadOutcome::Data(n)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::WouldBlock,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => ReadOutcome::Error(e),
            };
        }
    }

    /// Bytes read and not yet taken as frames.
    pub fn unprocessed(&self) -> usize {
        self.in_buf.len() - self.in_pos
    }

    /// `readLength`: looks at the next frame's length prefix without
    /// taking the frame.
    pub fn read_length(&self, max_buffer: usize) -> Frame {
        let avail = &self.in_buf[self.in_pos..];
        if avail.len() < 4 {
            return Frame::Incomplete;
        }
        let prefix = [avail[0], avail[1], avail[2], avail[3]];
        if self.state == CnxnState::Initial {
            if let Some(cmd) = four_letter::command_of(prefix) {
                return Frame::FourLetter(cmd);
            }
        }
        let len = i32::from_be_bytes(prefix);
        if len < 0 || len as usize > max_buffer {
            return Frame::BadLength(len);
        }
        if avail.len() < 4 + len as usize {
            Frame::Incomplete
        } else {
            Frame::Complete(len as usize)
        }
    }

    /// `readPayload`: takes the frame [`NIOServerCnxn::read_length`] found
    /// complete.
    pub fn read_payload(&mut self, len: usize) -> Vec<u8> {
        let start = self.in_pos + 4;
        let body = self.in_buf[start..start + len].to_vec();
        self.in_pos = start + len;
        if self.in_pos == self.in_buf.len() {
            self.in_buf.clear();
            self.in_pos = 0;
        }
        body
    }

    /// Forgets all input (after a four-letter word, which ends the
    /// connection).
    fn discard_input(&mut self) {
        self.in_buf.clear();
        self.in_pos = 0;
    }

    /// Bytes queued and not yet written.
    pub fn out_bytes(&self) -> usize {
        self.out_bytes
    }

    fn push_out(&mut self, frame: Vec<u8>) {
        self.out_bytes += frame.len();
        self.out.push_back(frame);
    }

    /// Replies queued, or encrypted bytes not yet taken by the socket.
    fn has_output(&self) -> bool {
        !self.out.is_empty() || self.transport.has_pending_output()
    }

    /// Writes as much of the queue as the socket takes.
    fn flush(&mut self) -> io::Result<()> {
        self.transport.flush_pending()?;
        while let Some(front) = self.out.front() {
            match self.transport.write(&front[self.out_pos..]) {
                Ok(n) => {
                    self.out_pos += n;
                    if self.out_pos == front.len() {
                        self.out_bytes -= front.len();
                        self.out.pop_front();
                        self.out_pos = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The connection's protocol: what its frames mean, what it answers
/// itself, and when it reads, pauses and closes.
impl NIOServerCnxn {
    /// How long it may stay silent: its session's timeout once it has
    /// one, else `sessionlessCnxnTimeout`.
    pub fn timeout(&self, sessionless: Duration) -> Duration {
        match self.state {
            CnxnState::Established => Duration::from_millis(self.session_timeout.max(0) as u64),
            _ => sessionless,
        }
    }

    /// Pushes its expiry out by its timeout (3.8's `touchCnxn`).
    pub fn touch(&mut self, sessionless: Duration) {
        self.expires = Instant::now() + self.timeout(sessionless);
    }

    /// Why it is closed once it expired.
    pub fn expiry_reason(&self, sessionless: Duration) -> String {
        let ms = self.timeout(sessionless).as_millis();
        if self.out_bytes() > 0 {
            format!(
                "connection expired (no I/O within its timeout of {} ms; {} bytes of replies unread)",
                ms,
                self.out_bytes()
            )
        } else {
            format!(
                "connection expired (no I/O within its timeout of {} ms)",
                ms
            )
        }
    }

    /// Whether more may be read from it now (see the module doc).
    pub fn may_read(&self, ctx: &CnxnCtx<'_>) -> bool {
        match self.state {
            CnxnState::Closing | CnxnState::Connecting => false,
            // Before RUNNING, read no further than one connect request.
            CnxnState::Initial => ctx.serving || self.unprocessed() < 4 + ctx.zks.max_buffer(),
            CnxnState::Established => {
                !self.throttled && self.out_bytes() <= ctx.cfg.pause_read_queued_bytes
            }
        }
    }

    /// Logs, once per connection, that it is no longer read because it
    /// leaves its replies unread.
    pub fn note_output_pause(&mut self, limit: usize) {
        if self.state == CnxnState::Established
            && self.out_bytes() > limit
            && !self.output_pause_logged
        {
            self.output_pause_logged = true;
            info!(
                "Not reading from client {} (session 0x{:x}) while it leaves {} bytes of replies unread (limit {})",
                self.peer,
                self.session_id,
                self.out_bytes(),
                limit
            );
        }
    }

    /// Handles the complete frames read so far, while its state allows
    /// (the payload half of 3.8's `doIO`).
    pub fn process_frames(&mut self, ctx: &CnxnCtx<'_>) -> Frames {
        let max = ctx.zks.max_buffer();
        loop {
            let blocked = match self.state {
                CnxnState::Closing => return Frames::Drained,
                CnxnState::Connecting => true,
                CnxnState::Established => {
                    self.throttled || self.out_bytes() > ctx.cfg.pause_read_queued_bytes
                }
                CnxnState::Initial => false,
            };
            let frame = self.read_length(max);
            if blocked && !matches!(frame, Frame::Incomplete) {
                self.note_output_pause(ctx.cfg.pause_read_queued_bytes);
                return Frames::Waiting;
            }
            let body = match frame {
                Frame::Incomplete => return Frames::Drained,
                Frame::FourLetter(cmd) => {
                    return match self.check_four_letter_word(ctx, cmd) {
                        Ok(()) => Frames::Drained,
                        Err(why) => Frames::Close(why),
                    };
                }
                Frame::BadLength(len) => {
                    return Frames::Close(format!(
                        "Len error: a message from {} with advertised length of {} is either a malformed message or too large to process (length is greater than jute.maxbuffer={})",
                        self.peer, len, max
                    ));
                }
                Frame::Complete(_) if self.state == CnxnState::Initial && !ctx.serving => {
                    // Held until the server is RUNNING.
                    return Frames::Waiting;
                }
                Frame::Complete(len) => self.read_payload(len),
            };
            ctx.zks.stats.packet_received(&self.stats);
            ServerMetrics::get()
                .bytes_received_count
                .add(4 + body.len() as u64);
            let handled = if self.state == CnxnState::Initial {
                match self.read_connect_request(ctx, &body) {
                    Ok(Some(bound)) => return bound,
                    Ok(None) => Ok(()),
                    Err(why) => Err(why),
                }
            } else {
                self.read_request(ctx, body)
            };
            if let Err(why) = handled {
                return Frames::Close(why);
            }
        }
    }

    /// `checkFourLetterWord`: answers the word as text (or says it is not
    /// enabled) and closes once the answer is written.
    fn check_four_letter_word(&mut self, ctx: &CnxnCtx<'_>, cmd: &str) -> Result<(), String> {
        ctx.zks.stats.packet_received(&self.stats);
        let text = if ctx.zks.four_letter_enabled(cmd) {
            info!("Processing {} command from {}", cmd, self.peer);
            ctx.zks.four_letter(cmd, ctx.cfg.is_secure())
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
        self.discard_input();
        // Text, not a packet: not counted as sent.
        self.send_buffer(ctx, text.into_bytes())?;
        self.close_after_flush(&format!("answered the four-letter word {}", cmd))
    }

    /// `readConnectRequest`: hands the connect request to the server. A new
    /// session waits for the chain (reading pauses meanwhile); a session
    /// taken over at once comes back as [`Frames::SessionBound`]; one that
    /// is gone is told so, and the connection closes.
    fn read_connect_request(
        &mut self,
        ctx: &CnxnCtx<'_>,
        body: &[u8],
    ) -> Result<Option<Frames>, String> {
        match ctx.zks.process_connect_request(self.id, self.peer, body)? {
            ConnectOutcome::Pending {
                session_id,
                timeout,
            } => {
                self.state = CnxnState::Connecting;
                self.set_session(session_id, timeout);
                Ok(None)
            }
            ConnectOutcome::Reply {
                session_id,
                timeout,
                valid: true,
                frame,
            } => {
                self.state = CnxnState::Established;
                self.set_session(session_id, timeout);
                Ok(Some(Frames::SessionBound { session_id, frame }))
            }
            ConnectOutcome::Reply {
                session_id,
                valid: false,
                frame,
                ..
            } => {
                // As 3.8: a ConnectResponse with session 0 and timeout 0
                // tells the client its session is gone.
                self.send_response(ctx, frame)?;
                self.close_after_flush(&format!(
                    "session 0x{:x} is expired or its password is wrong (told the client with a zeroed ConnectResponse)",
                    session_id
                ))?;
                Ok(None)
            }
        }
    }

    fn set_session(&mut self, session_id: i64, timeout: i32) {
        self.session_id = session_id;
        self.session_timeout = timeout;
        self.stats.set_session(session_id, timeout);
    }

    /// The chain created the session this connection asked for: it is
    /// established, and its requests are read from now on.
    pub fn session_established(&mut self, session_id: i64) {
        self.state = CnxnState::Established;
        self.session_id = session_id;
        self.stats.set_session(session_id, self.session_timeout);
    }

    /// `readRequest`: one request of an established session. Auth and SASL
    /// packets are answered here (3.8's `processPacket`); everything else
    /// goes to the server's chain.
    fn read_request(&mut self, ctx: &CnxnCtx<'_>, mut body: Vec<u8>) -> Result<(), String> {
        let hdr = RequestHeader::from_bytes(&body)
            .map_err(|e| format!("malformed request header from {}: {}", self.peer, e))?;
        ctx.zks.touch(self.session_id, self.session_timeout);
        // Counted before anything is answered, so that no reply is queued
        // ahead of its count (3.8's incrOutstandingAndCheckThrottle).
        if hdr.xid > 0 {
            self.outstanding += 1;
        }
        body.drain(..8);
        match OpCode::try_from(hdr.r#type) {
            Ok(OpCode::Auth) => self.process_auth_packet(ctx, hdr.xid, &body)?,
            Ok(OpCode::Sasl) => self.process_sasl(ctx, hdr.xid, &body)?,
            // Everything else, unknown opcodes included, is the server's
            // to answer, once enforced authentication lets it through.
            Ok(_) | Err(_) => {
                if !ctx.zks.auth_helper().enforce_authentication(
                    self.session_id,
                    self.peer,
                    &self.auth,
                ) {
                    return self.refuse_unauthenticated(ctx, hdr.xid);
                }
                let mut r = Request::new(self.session_id, hdr.xid, hdr.r#type, body);
                r.cnxn = Some(self.id);
                r.auth_info = Arc::clone(&self.auth);
                ctx.zks.submit_request(r);
            }
        }
        if hdr.xid > 0 {
            self.check_throttle(ctx);
        }
        Ok(())
    }

    /// An auth packet: the ids it proves are added to the connection's;
    /// a failure is answered, then the connection closes.
    fn process_auth_packet(
        &mut self,
        ctx: &CnxnCtx<'_>,
        xid: i32,
        body: &[u8],
    ) -> Result<(), String> {
        let (code, close) = match AuthPacket::from_bytes(body) {
            Ok(p) => {
                let mut ids = (*self.auth).clone();
                let code = ctx
                    .zks
                    .process_auth(self.session_id, self.peer, &p, &mut ids);
                if code != Code::OK {
                    ctx.zks.stats.auth_failed();
                }
                self.auth = Arc::new(ids);
                (code, code != Code::OK)
            }
            Err(_) => (Code::AUTHFAILED, true),
        };
        // Java answers with the packet's own xid (clients send -4).
        let frame = reply_frame::<AuthPacket>(
            &ReplyHeader {
                xid,
                zxid: 0,
                err: code as i32,
            },
            None,
        );
        self.send_response(ctx, frame)?;
        if close {
            self.close_after_flush("authentication failed")?;
        }
        Ok(())
    }

    /// A `sasl` request: the server answers it from the connection's
    /// exchange, made on the first one (see
    /// [`crate::zookeeper_sasl_server`]).
    fn process_sasl(&mut self, ctx: &CnxnCtx<'_>, xid: i32, body: &[u8]) -> Result<(), String> {
        let cnxn = CnxnSasl {
            session_id: self.session_id,
            peer: self.peer,
            server: &mut self.sasl,
            auth: &mut self.auth,
        };
        let reply = ctx
            .zks
            .process_sasl(cnxn, xid, body, || ctx.cfg.new_sasl_server())?;
        self.send_response(ctx, reply.frame)?;
        match reply.close {
            Some(why) => self.close_after_flush(&why),
            None => Ok(()),
        }
    }

    /// `enforceAuthentication` failed: SESSIONCLOSEDREQUIRESASLAUTH for the
    /// request, then the connection closes (3.8's `sendCloseSession`).
    fn refuse_unauthenticated(&mut self, ctx: &CnxnCtx<'_>, xid: i32) -> Result<(), String> {
        let frame = reply_frame::<AuthPacket>(
            &ReplyHeader {
                xid,
                zxid: 0,
                err: Code::SESSIONCLOSEDREQUIRESASLAUTH as i32,
            },
            None,
        );
        self.send_response(ctx, frame)?;
        self.close_after_flush(&format!(
            "session 0x{:x} is not authenticated by any of the enforced schemes (answered \
             SESSIONCLOSEDREQUIRESASLAUTH)",
            self.session_id
        ))
    }

    /// The throttling half of `incrOutstandingAndCheckThrottle`: stops
    /// reading while the server has more than `globalOutstandingLimit`
    /// requests in the chain.
    fn check_throttle(&mut self, ctx: &CnxnCtx<'_>) {
        if !self.throttled && ctx.zks.should_throttle(self.outstanding) {
            self.throttled = true;
            debug!(
                "Throttling recv from {} (session 0x{:x}): {} requests in process, globalOutstandingLimit {}",
                self.peer,
                self.session_id,
                ctx.zks.stats.outstanding_requests(),
                ctx.zks.global_outstanding_limit()
            );
        }
    }

    /// `sendResponse`: queues a reply or event frame, counting it as a
    /// packet sent; a reply to one of the connection's requests may lift
    /// its throttling.
    pub fn send_response(&mut self, ctx: &CnxnCtx<'_>, frame: Vec<u8>) -> Result<(), String> {
        ctx.zks.stats.packet_sent(&self.stats, frame.len());
        if self.state != CnxnState::Initial {
            ServerMetrics::get()
                .sent_bytes(frame_xid(&frame))
                .add(frame.len().saturating_sub(4) as u64);
        }
        if self.state != CnxnState::Initial && frame_xid(&frame) > 0 {
            self.outstanding -= 1;
            if self.throttled && !ctx.zks.should_throttle(self.outstanding) {
                self.throttled = false;
                debug!(
                    "Resuming recv from {} (session 0x{:x})",
                    self.peer, self.session_id
                );
            }
        }
        self.send_buffer(ctx, frame)
    }

    /// `sendBuffer`: queues bytes and writes what the socket takes; a
    /// queue past `max_queued_bytes` closes the connection.
    fn send_buffer(&mut self, ctx: &CnxnCtx<'_>, frame: Vec<u8>) -> Result<(), String> {
        let max = ctx.cfg.max_queued_bytes;
        self.push_out(frame);
        if self.out_bytes() > max {
            return Err(format!(
                "it does not read its replies ({} bytes queued, limit {})",
                self.out_bytes(),
                max
            ));
        }
        self.handle_write()
    }

    /// Reads nothing more, and closes once everything queued is written
    /// (`Err` at once if nothing is).
    pub fn close_after_flush(&mut self, why: &str) -> Result<(), String> {
        self.state = CnxnState::Closing;
        self.closing_reason = why.to_string();
        if self.has_output() {
            Ok(())
        } else {
            Err(why.to_string())
        }
    }

    /// Writes as much of the queue as the socket takes (3.8's
    /// `handleWrite`); a closing connection whose queue is written is
    /// done.
    pub fn handle_write(&mut self) -> Result<(), String> {
        self.flush().map_err(|e| format!("write error: {}", e))?;
        if self.state == CnxnState::Closing && !self.has_output() {
            return Err(std::mem::take(&mut self.closing_reason));
        }
        Ok(())
    }

    /// `close`: the socket goes, and the server forgets the connection
    /// (its watches and counters). The selector has already dropped it
    /// from its tables.
    pub fn close(&mut self, registry: &Registry, zks: &ZooKeeperServer, why: &str) {
        let _ = registry.deregister(self.transport.stream_mut());
        self.transport.shutdown();
        zks.cnxn_closed(self.id);
        zks.stats.cnxn_closed(self.id);
        info!(
            "Closed socket connection for client {} which had sessionid 0x{:x}: {}",
            self.peer, self.session_id, why
        );
    }
}

/// The xid of a reply or event frame (length prefix included): positive
/// for the answer to a client's request, negative for events, pings and
/// auth replies.
pub(super) fn frame_xid(frame: &[u8]) -> i32 {
    match frame.get(4..8) {
        Some(b) => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cnxn_with_input(bytes: &[u8]) -> (NIOServerCnxn, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let stats = Arc::new(CnxnStats::new(1, peer));
        let mut c = NIOServerCnxn::new(
            2,
            Transport::plain(mio::net::TcpStream::from_std(server)),
            peer,
            stats,
            Instant::now(),
        );
        c.in_buf.extend_from_slice(bytes);
        (c, client)
    }

    #[test]
    fn frames_are_found_whole_and_bad_lengths_named() {
        let mut input = 3i32.to_be_bytes().to_vec();
        input.extend_from_slice(b"abc");
        input.extend_from_slice(&5i32.to_be_bytes());
        input.extend_from_slice(b"de");
        let (mut c, _client) = cnxn_with_input(&input);
        c.state = CnxnState::Established;
        assert!(matches!(c.read_length(100), Frame::Complete(3)));
        assert_eq!(c.read_payload(3), b"abc");
        assert!(matches!(c.read_length(100), Frame::Incomplete));
        assert_eq!(c.unprocessed(), 6);
        assert!(matches!(c.read_length(4), Frame::BadLength(5)));

        let (c, _client) = cnxn_with_input(&i32::MIN.to_be_bytes());
        assert!(matches!(c.read_length(100), Frame::BadLength(i32::MIN)));
        let (c, _client) = cnxn_with_input(b"srvr");
        assert!(matches!(c.read_length(100), Frame::FourLetter("srvr")));
    }

    #[test]
    fn frame_xid_reads_the_reply_header() {
        let mut f = 16i32.to_be_bytes().to_vec();
        f.extend_from_slice(&7i32.to_be_bytes());
        assert_eq!(frame_xid(&f), 7);
        assert_eq!(frame_xid(&[0, 0]), 0);
    }
}
