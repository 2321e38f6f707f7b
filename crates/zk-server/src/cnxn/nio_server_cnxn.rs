//! `NIOServerCnxn`: one client connection's socket, buffers and flow
//! control. The selector in [`super::factory`] owns every connection and
//! decides what to do with the frames; this file keeps the bytes.
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
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use zk_persistence::records::Id;

use super::four_letter;
use crate::server_stats::CnxnStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CnxnState {
    /// Waiting for a `ConnectRequest` (or a four-letter word).
    Initial,
    /// Session being created; reading is paused.
    Connecting,
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
    Data(usize),
    WouldBlock,
    Eof,
    Error(io::Error),
}

pub(super) struct NIOServerCnxn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub state: CnxnState,
    pub session_id: i64,
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
}

impl NIOServerCnxn {
    pub fn new(
        stream: TcpStream,
        peer: SocketAddr,
        stats: Arc<CnxnStats>,
        expires: Instant,
    ) -> Self {
        NIOServerCnxn {
            stream,
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
        }
    }

    /// Reads once into `buf` and appends what came to the input.
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> ReadOutcome {
        if self.in_pos > 0 {
            self.in_buf.drain(..self.in_pos);
            self.in_pos = 0;
        }
        loop {
            return match self.stream.read(buf) {
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

    /// Looks at the next frame without taking it.
    pub fn peek_frame(&self, max_buffer: usize) -> Frame {
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

    /// Takes the frame [`NIOServerCnxn::peek_frame`] found complete.
    pub fn take_frame(&mut self, len: usize) -> Vec<u8> {
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
    pub fn discard_input(&mut self) {
        self.in_buf.clear();
        self.in_pos = 0;
    }

    pub fn out_bytes(&self) -> usize {
        self.out_bytes
    }

    pub fn push_out(&mut self, frame: Vec<u8>) {
        self.out_bytes += frame.len();
        self.out.push_back(frame);
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Writes as much of the queue as the socket takes.
    pub fn flush(&mut self) -> io::Result<()> {
        while let Some(front) = self.out.front() {
            match self.stream.write(&front[self.out_pos..]) {
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
        let mut c = NIOServerCnxn::new(TcpStream::from_std(server), peer, stats, Instant::now());
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
        assert!(matches!(c.peek_frame(100), Frame::Complete(3)));
        assert_eq!(c.take_frame(3), b"abc");
        assert!(matches!(c.peek_frame(100), Frame::Incomplete));
        assert_eq!(c.unprocessed(), 6);
        assert!(matches!(c.peek_frame(4), Frame::BadLength(5)));

        let (c, _client) = cnxn_with_input(&i32::MIN.to_be_bytes());
        assert!(matches!(c.peek_frame(100), Frame::BadLength(i32::MIN)));
        let (c, _client) = cnxn_with_input(b"srvr");
        assert!(matches!(c.peek_frame(100), Frame::FourLetter("srvr")));
    }

    #[test]
    fn frame_xid_reads_the_reply_header() {
        let mut f = 16i32.to_be_bytes().to_vec();
        f.extend_from_slice(&7i32.to_be_bytes());
        assert_eq!(frame_xid(&f), 7);
        assert_eq!(frame_xid(&[0, 0]), 0);
    }
}
