//! The benchmark's ZooKeeper client: the raw protocol over a blocking
//! `TcpStream`, one thread per session.
//!
//! Why not the `zookeeper-client` crate the tests use: the benchmark client
//! shares the machine's two cores with the server it measures, so every
//! cycle it spends is taken from the server. A closed-loop client needs no
//! event loop: it writes a request and blocks reading its reply, which costs
//! one `write` and (through a `BufReader`) usually one `read` per operation
//! and no task wake-ups, channels or per-request allocations of an async
//! runtime. It also treats both servers exactly alike: the bytes of every
//! request are the same, whichever server answers. Requests are encoded with
//! zk-server's `proto` records, so the wire format is the one the server
//! itself parses. Pipelining (many requests in flight on one session) is
//! used only to fill a tree quickly ([`BenchClient::create_batch`]).
//!
//! Over TLS (`zk-bench load --tls`) the same frames go through a rustls
//! session on the same socket ([`super::tls`]): one TLS record per request.

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use zk_config::rustls::{ClientConfig, ClientConnection, StreamOwned};

use zk_persistence::jute::{OutputArchive, Record};
use zk_persistence::records::Acl;
use zk_persistence::zoo_defs::{ids, op_code};
use zk_server::proto::{
    ConnectRequest, ConnectResponse, CreateRequest, GetDataRequest, ReplyHeader, RequestHeader,
    SetDataRequest, NOTIFICATION_XID,
};

/// Replies larger than this are a protocol error here (the benchmark's
/// values are small).
const MAX_REPLY: usize = 1 << 20;

/// The connection a session runs on.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One session on one connection.
pub struct BenchClient {
    reader: BufReader<Stream>,
    /// The encoded request(s) being sent; reused to avoid an allocation per op.
    out: Vec<u8>,
    /// The body of the last reply read.
    reply: Vec<u8>,
    next_xid: i32,
    session_id: i64,
    acl: Vec<Acl>,
}

/// A request the server answered with a non-zero error code.
fn server_error(op: i32, path: &str, err: i32) -> io::Error {
    io::Error::other(format!(
        "{} {path}: server answered error {err}",
        op_code::op2string(op)
    ))
}

impl BenchClient {
    /// Opens a session (`timeout` is the requested session timeout).
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<BenchClient> {
        Self::connect_with(addr, timeout, None)
    }

    /// Opens a session, over TLS with `tls`.
    pub fn connect_with(
        addr: SocketAddr,
        timeout: Duration,
        tls: Option<&Arc<ClientConfig>>,
    ) -> io::Result<BenchClient> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        // As ZooKeeper's own clients do: a request is one small write.
        stream.set_nodelay(true)?;
        // A server that stops answering ends the run instead of hanging it.
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let stream = match tls {
            None => Stream::Plain(stream),
            Some(config) => Stream::Tls(Box::new(super::tls::connect(stream, config)?)),
        };
        let mut client = BenchClient {
            reader: BufReader::with_capacity(64 * 1024, stream),
            out: Vec::with_capacity(4096),
            reply: Vec::with_capacity(4096),
            next_xid: 1,
            session_id: 0,
            acl: ids::open_acl_unsafe(),
        };
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: timeout.as_millis() as i32,
            session_id: 0,
            passwd: vec![0; 16],
        };
        client.out.clear();
        client.out.extend_from_slice(&[0; 4]);
        {
            let mut oa = OutputArchive::new(&mut client.out);
            request.serialize(&mut oa)?;
            oa.write_bool(false)?; // readOnly
        }
        client.finish_frame(0);
        client.flush()?;
        client.read_frame()?;
        let response = ConnectResponse::from_bytes(&client.reply)?;
        if response.session_id == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("{addr} refused the session"),
            ));
        }
        client.session_id = response.session_id;
        Ok(client)
    }

    /// The TLS protocol and cipher suite of the session, if over TLS.
    pub fn tls_parameters(&self) -> Option<String> {
        match self.reader.get_ref() {
            Stream::Plain(_) => None,
            Stream::Tls(s) => Some(super::tls::negotiated(&s.conn)),
        }
    }

    /// The session id the server assigned in its `ConnectResponse`.
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// Appends one request frame (header and body) to the output buffer.
    fn push_request(&mut self, op: i32, body: Option<&impl Record>) -> io::Result<i32> {
        let xid = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1).max(1);
        let start = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        let mut oa = OutputArchive::new(&mut self.out);
        RequestHeader { xid, r#type: op }.serialize(&mut oa)?;
        if let Some(body) = body {
            body.serialize(&mut oa)?;
        }
        self.finish_frame(start);
        Ok(xid)
    }

    /// Writes the length of the frame that starts at `start`.
    fn finish_frame(&mut self, start: usize) {
        let len = (self.out.len() - start - 4) as i32;
        self.out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    fn flush(&mut self) -> io::Result<()> {
        self.reader.get_mut().write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// Reads one frame into `self.reply`.
    fn read_frame(&mut self) -> io::Result<()> {
        let mut len = [0u8; 4];
        self.reader.read_exact(&mut len)?;
        let len = i32::from_be_bytes(len);
        if len < 0 || len as usize > MAX_REPLY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("reply frame of {len} bytes"),
            ));
        }
        self.reply.resize(len as usize, 0);
        self.reader.read_exact(&mut self.reply)
    }

    /// Reads the reply to request `xid` (skipping watch events, which the
    /// benchmark never asks for) and returns its error code.
    fn read_reply(&mut self, xid: i32) -> io::Result<i32> {
        loop {
            self.read_frame()?;
            let header = ReplyHeader::from_bytes(&self.reply)?;
            if header.xid == NOTIFICATION_XID {
                continue;
            }
            if header.xid != xid {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("reply for xid {} while waiting for {xid}", header.xid),
                ));
            }
            return Ok(header.err);
        }
    }

    fn call(&mut self, op: i32, path: &str, body: &impl Record) -> io::Result<()> {
        let xid = self.push_request(op, Some(body))?;
        self.flush()?;
        match self.read_reply(xid)? {
            0 => Ok(()),
            err => Err(server_error(op, path, err)),
        }
    }

    /// `getData(path, watch=false)`; the data is read and dropped.
    pub fn get_data(&mut self, path: &str) -> io::Result<()> {
        let request = GetDataRequest {
            path: path.to_string(),
            watch: false,
        };
        self.call(op_code::GET_DATA, path, &request)
    }

    /// `setData(path, data, version=-1)`.
    pub fn set_data(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let request = SetDataRequest {
            path: path.to_string(),
            data: Some(data.to_vec()),
            version: -1,
        };
        self.call(op_code::SET_DATA, path, &request)
    }

    fn create_request(&self, path: &str, data: &[u8]) -> CreateRequest {
        CreateRequest {
            path: path.to_string(),
            data: Some(data.to_vec()),
            acl: self.acl.clone(),
            flags: 0, // persistent
        }
    }

    /// A persistent znode with the open ACL.
    pub fn create(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let request = self.create_request(path, data);
        self.call(op_code::CREATE, path, &request)
    }

    /// Creates every path of `paths` with `data`, keeping up to `window`
    /// requests in flight: a window's requests go out in one write, then
    /// their replies are read. Every create must succeed.
    pub fn create_batch(&mut self, paths: &[String], data: &[u8], window: usize) -> io::Result<()> {
        for chunk in paths.chunks(window.max(1)) {
            let mut xids = Vec::with_capacity(chunk.len());
            for path in chunk {
                let request = self.create_request(path, data);
                xids.push(self.push_request(op_code::CREATE, Some(&request))?);
            }
            self.flush()?;
            for (xid, path) in xids.into_iter().zip(chunk) {
                match self.read_reply(xid)? {
                    0 => {}
                    err => return Err(server_error(op_code::CREATE, path, err)),
                }
            }
        }
        Ok(())
    }

    /// Closes the session and waits for the server's answer.
    pub fn close(mut self) -> io::Result<()> {
        let xid = self.push_request(op_code::CLOSE_SESSION, None::<&RequestHeader>)?;
        self.flush()?;
        self.read_reply(xid).map(|_| ())
    }
}
