//! The admin server (`JettyAdminServer`): the [`commands`]
//! as JSON over HTTP/1.1.
//!
//! `GET <commandURL>` lists the commands as links; `GET
//! <commandURL>/<name>?k=v` runs one (by its primary name or an alias)
//! and answers with its `CommandResponse` as indented JSON, status 200
//! even for an unknown command, as 3.8 does.
//!
//! One thread accepts; each connection gets a short-lived thread of its
//! own, so a slow or hostile client holds up nobody else. A connection
//! carries one request (`Connection: close`). Its request line and
//! headers must arrive whole within `HEAD_DEADLINE` and fit the size
//! limits, or it is answered 408/400/431 and closed; at most
//! `MAX_CONNECTIONS` are served at once and the rest get 503.
//!
//! HTTPS (`admin.forceHttps`, `admin.portUnification`) is in
//! [`crate::unified_connection_factory`]; the TLS handshake happens on the
//! connection's own thread, within the same deadline as the head.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use zk_config::{rustls, SystemProperties, X509Exception};

use crate::commands::{self, Kwargs};
use crate::unified_connection_factory::{
    admin_tls_context, is_timeout, AdminConnection, AdminHttps, UnifiedConnectionFactory,
    STS_HEADER,
};
use crate::zookeeper_server::ZooKeeperServer;

/// How long a client has to send its whole request head.
pub(crate) const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// Longest request line, and longest head (request line + headers).
pub(crate) const MAX_REQUEST_LINE: usize = 8 * 1024;
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// Most header lines in one request.
pub(crate) const MAX_HEADERS: usize = 100;
/// How long a closing connection's leftover input is drained.
pub(crate) const LINGER: Duration = Duration::from_millis(500);
/// Connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 32;

/// Where and how the admin server listens (`zookeeper.admin.*`).
#[derive(Debug, Clone)]
pub struct AdminServerConfig {
    /// `zookeeper.admin.serverAddress`: the address it binds (default
    /// 0.0.0.0).
    pub address: IpAddr,
    /// `zookeeper.admin.serverPort` (default 8080; 0 picks a free port).
    pub port: u16,
    /// `commandURL`, without a trailing slash.
    pub command_url: String,
    /// `idleTimeout`: the longest a connection may sit silent (capped by
    /// `HEAD_DEADLINE` while the request head is awaited).
    pub idle_timeout: Duration,
    /// `admin.forceHttps` / `admin.portUnification`.
    pub https: AdminHttps,
    /// The TLS context HTTPS needs ([`AdminServerConfig::load_tls`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl AdminServerConfig {
    /// The settings from the system properties; `Ok(None)` when
    /// `admin.enableServer` is false.
    pub fn from_properties(props: &SystemProperties) -> Result<Option<Self>, String> {
        if !props.admin_enable_server() {
            return Ok(None);
        }
        let addr = props.admin_server_address();
        let address: IpAddr = addr.trim().parse().map_err(|_| {
            format!(
                "zookeeper.admin.serverAddress: '{}' is not an IP address",
                addr
            )
        })?;
        let port = props.admin_server_port();
        let port = u16::try_from(port)
            .map_err(|_| format!("zookeeper.admin.serverPort: {} is not a port", port))?;
        let url = props.admin_command_url().trim_end_matches('/');
        let command_url = if url.starts_with('/') {
            url.to_string()
        } else {
            format!("/{}", url)
        };
        let idle = props.admin_idle_timeout().max(1) as u64;
        Ok(Some(AdminServerConfig {
            address,
            port,
            command_url,
            idle_timeout: Duration::from_millis(idle),
            https: AdminHttps::from_properties(props),
            tls: None,
        }))
    }

    /// Loads the key store when HTTPS is on (nothing to do otherwise).
    pub fn load_tls(&mut self, props: &SystemProperties) -> Result<(), X509Exception> {
        if self.https != AdminHttps::Off {
            self.tls = Some(admin_tls_context(props)?);
        }
        Ok(())
    }
}

/// The server the admin commands run against; a quorum peer replaces it
/// as its role changes (3.8's `adminServer.setZooKeeperServer`).
pub type ServerSlot = Arc<std::sync::RwLock<Arc<ZooKeeperServer>>>;

/// The running admin server; [`AdminServer::shutdown`] stops it.
pub struct AdminServer {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AdminServer {
    /// Binds and starts accepting.
    pub fn start(zks: Arc<ZooKeeperServer>, cfg: AdminServerConfig) -> io::Result<AdminServer> {
        Self::start_with_slot(Arc::new(std::sync::RwLock::new(zks)), cfg)
    }

    /// Binds and starts accepting; each request runs against the server
    /// in `slot` at the time.
    pub fn start_with_slot(slot: ServerSlot, cfg: AdminServerConfig) -> io::Result<AdminServer> {
        let factory = UnifiedConnectionFactory::new(cfg.https, cfg.tls.clone());
        let listener = TcpListener::bind((cfg.address, cfg.port)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "Problem starting AdminServer on address {}, port {} and command URL {}: {}",
                    cfg.address, cfg.port, cfg.command_url, e
                ),
            )
        })?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let url = cfg.command_url.clone();
        let https = cfg.https;
        let thread = std::thread::Builder::new()
            .name(format!("AdminServer-{}", local_addr.port()))
            .spawn(move || accept_loop(listener, slot, cfg, factory, stop2))?;
        info!(
            "Started AdminServer on address {}, port {} and command URL {}{}",
            local_addr.ip(),
            local_addr.port(),
            url,
            match https {
                AdminHttps::Off => "",
                AdminHttps::ForceHttps => " (HTTPS only)",
                AdminHttps::PortUnification => " (HTTPS and HTTP)",
            }
        );
        Ok(AdminServer {
            local_addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting (connections being served finish on their own).
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let mut wake = self.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        info!("AdminServer on {} stopped", self.local_addr);
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    slot: ServerSlot,
    cfg: AdminServerConfig,
    factory: UnifiedConnectionFactory,
    stop: Arc<AtomicBool>,
) {
    let cfg = Arc::new(cfg);
    let factory = Arc::new(factory);
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                warn!("AdminServer accept failed: {}", e);
                // Out of descriptors and the like: do not spin.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            warn!(
                "AdminServer: refusing {}: {} connections already being served",
                peer, MAX_CONNECTIONS
            );
            // Plain HTTP only: a TLS client could not read it.
            if factory.https() == AdminHttps::Off {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let mut conn = AdminConnection::plain(stream);
                let _ = write_response(
                    &mut conn,
                    &Response::text(503, "Too many connections\n"),
                    false,
                );
            }
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let guard = ActiveGuard(Arc::clone(&active));
        let zks = Arc::clone(&slot.read().unwrap());
        let cfg = Arc::clone(&cfg);
        let factory = Arc::clone(&factory);
        let spawned = std::thread::Builder::new()
            .name("AdminServer-conn".into())
            .spawn(move || {
                let _guard = guard;
                serve(stream, &peer, &zks, &cfg, &factory);
            });
        if let Err(e) = spawned {
            error!("AdminServer cannot start a connection thread: {}", e);
        }
    }
    debug!("AdminServer accept loop ended");
}

/// Counts a connection out when its thread ends, however it ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHead {
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    pub query: Kwargs,
    pub headers: Vec<(String, String)>,
}

/// Why a request head was refused: the status and a short reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadError(pub u16, pub &'static str);

/// An answer to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub extra_headers: Vec<(&'static str, String)>,
}

impl Response {
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain;charset=utf-8",
            body: body.as_bytes().to_vec(),
            extra_headers: Vec::new(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

fn serve(
    stream: TcpStream,
    peer: &str,
    zks: &ZooKeeperServer,
    cfg: &AdminServerConfig,
    factory: &UnifiedConnectionFactory,
) {
    let _ = stream.set_write_timeout(Some(HEAD_DEADLINE));
    let deadline = Instant::now() + HEAD_DEADLINE.min(cfg.idle_timeout);
    let mut conn = match factory.new_connection(stream, deadline) {
        Ok(c) => c,
        Err(e) => {
            warn!("AdminServer: cannot serve {}: {}", peer, e);
            return;
        }
    };
    if let Err(why) = conn.handshake(deadline) {
        // Port scanners and health checks that only connect say nothing.
        if why.starts_with("closed") {
            debug!("AdminServer: {} {}", peer, why);
        } else {
            info!("AdminServer: closing {}: {}", peer, why);
        }
        linger(&mut conn);
        return;
    }
    let (mut response, head_only) = match read_head(&mut conn, deadline) {
        Ok(None) => return, // closed before sending anything
        Ok(Some(head)) => {
            debug!("AdminServer: {} {} from {}", head.method, head.path, peer);
            let head_only = head.method == "HEAD";
            (route(&head, zks, cfg), head_only)
        }
        Err(HeadError(status, why)) => {
            debug!("AdminServer: refusing a request from {}: {}", peer, why);
            (Response::text(status, &format!("{}\n", why)), false)
        }
    };
    if conn.is_secure() {
        response
            .extra_headers
            .push(("Strict-Transport-Security", STS_HEADER.into()));
    }
    if let Err(e) = write_response(&mut conn, &response, head_only) {
        debug!("AdminServer: cannot answer {}: {}", peer, e);
    }
    linger(&mut conn);
}

/// Closes gracefully: closing with unread input makes the kernel reset
/// the connection, which can destroy the answer before the client reads
/// it. So: end our side, then drain what the client still sends, for a
/// bounded time and amount.
fn linger(conn: &mut AdminConnection) {
    conn.end_tls();
    let stream = conn.socket();
    let _ = stream.shutdown(Shutdown::Write);
    let until = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < MAX_HEAD * 16 {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads up to the blank line ending the head, within the deadline and
/// the size limits. `Ok(None)`: the client closed without sending a byte.
fn read_head(
    conn: &mut AdminConnection,
    deadline: Instant,
) -> Result<Option<RequestHead>, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = find_head_end(&buf) {
            return parse_head(&buf[..end]).map(Some);
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError(431, "request head too large"));
        }
        if !buf.contains(&b'\n') && buf.len() > MAX_REQUEST_LINE {
            return Err(HeadError(414, "request line too long"));
        }
        match conn.read(&mut chunk, deadline) {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err(HeadError(400, "connection closed mid-request")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return Err(HeadError(408, "request head not received in time"));
            }
            Err(_) => return Err(HeadError(400, "read error")),
        }
    }
}

/// The length of the head including its terminating blank line (CRLF or
/// bare LF line ends).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(nl) = buf[i..].iter().position(|&b| b == b'\n') {
        let line_end = i + nl;
        let line = &buf[i..line_end];
        if line.is_empty() || line == b"\r" {
            return Some(line_end + 1);
        }
        i = line_end + 1;
    }
    None
}

/// Parses a request head (everything up to and including the blank line).
pub(crate) fn parse_head(head: &[u8]) -> Result<RequestHead, HeadError> {
    let text =
        std::str::from_utf8(head).map_err(|_| HeadError(400, "request head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    if request_line.len() > MAX_REQUEST_LINE {
        return Err(HeadError(414, "request line too long"));
    }
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError(400, "malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HeadError(400, "malformed method"));
    }
    match version {
        "HTTP/1.1" | "HTTP/1.0" => {}
        v if v.starts_with("HTTP/") => return Err(HeadError(505, "unsupported HTTP version")),
        _ => return Err(HeadError(400, "malformed request line")),
    }
    // Origin form, or absolute form (a proxy's): keep the path part.
    let target = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        rest.find('/').map_or("/", |i| &rest[i..])
    } else {
        target
    };
    if !target.starts_with('/') {
        return Err(HeadError(400, "request target must be a path"));
    }
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let path = percent_decode(raw_path).ok_or(HeadError(400, "bad percent-encoding in path"))?;
    let mut query = Kwargs::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(&k.replace('+', " "))
            .ok_or(HeadError(400, "bad percent-encoding in query"))?;
        let v = percent_decode(&v.replace('+', " "))
            .ok_or(HeadError(400, "bad percent-encoding in query"))?;
        // The first value of a repeated parameter wins, as 3.8 takes it.
        query.entry(k).or_insert(v);
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if headers.len() >= MAX_HEADERS {
            return Err(HeadError(431, "too many header lines"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(HeadError(400, "malformed header line"))?;
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(HeadError(400, "malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(RequestHead {
        method: method.to_string(),
        path,
        query,
        headers,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The answer to a well-formed request.
pub(crate) fn route(
    head: &RequestHead,
    zks: &ZooKeeperServer,
    cfg: &AdminServerConfig,
) -> Response {
    if head.method != "GET" && head.method != "HEAD" {
        let mut r = Response::text(
            405,
            &format!("HTTP method {} is not supported\n", head.method),
        );
        r.extra_headers.push(("Allow", "GET, HEAD".into()));
        return r;
    }
    let base = cfg.command_url.as_str();
    let Some(rest) = head.path.strip_prefix(base) else {
        return Response::text(404, "Not Found\n");
    };
    match rest {
        "" | "/" => Response {
            status: 200,
            content_type: "text/html;charset=utf-8",
            body: command_links(base).into_bytes(),
            extra_headers: Vec::new(),
        },
        _ => match rest.strip_prefix('/') {
            Some(name) if !name.is_empty() => {
                let value = commands::run(zks, name, &head.query);
                let mut body = serde_json::to_string_pretty(&value)
                    .unwrap_or_else(|_| {
                        "{\"error\": \"Exception writing command response to JSON\"}".into()
                    })
                    .into_bytes();
                body.push(b'\n');
                Response {
                    status: 200,
                    content_type: "application/json",
                    body,
                    extra_headers: Vec::new(),
                }
            }
            _ => Response::text(404, "Not Found\n"),
        },
    }
}

/// The index page: a link per primary command name, sorted.
fn command_links(base: &str) -> String {
    commands::primary_names()
        .into_iter()
        .map(|c| format!("<a href=\"{}/{}\">{}</a>\n<br/>\n", base, c, c))
        .collect()
}

fn write_response(conn: &mut AdminConnection, r: &Response, head_only: bool) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    for (k, v) in &r.extra_headers {
        out += &format!("{}: {}\r\n", k, v);
    }
    out += "\r\n";
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&r.body);
    }
    conn.write_all(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_head() {
        let h = parse_head(
            b"GET /commands/stat?a=1&b=x%20y&a=2 HTTP/1.1\r\nHost: x\r\nAccept:  */*\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.path, "/commands/stat");
        assert_eq!(h.query.get("a").map(String::as_str), Some("1"));
        assert_eq!(h.query.get("b").map(String::as_str), Some("x y"));
        assert_eq!(h.headers[1], ("accept".to_string(), "*/*".to_string()));
        // Bare LF line ends and the absolute form.
        let h = parse_head(b"GET http://host:8080/commands HTTP/1.0\n\n").unwrap();
        assert_eq!(h.path, "/commands");
    }

    #[test]
    fn refuses_malformed_heads() {
        let bad: &[(&[u8], u16)] = &[
            (b"\r\n", 400),
            (b"GET\r\n\r\n", 400),
            (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
            (b"get / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET / FTP/1.0\r\n\r\n", 400),
            (b"GET relative HTTP/1.1\r\n\r\n", 400),
            (b"GET /%zz HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nbad name: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\xff: x\r\n\r\n", 400),
        ];
        for (head, status) in bad {
            assert_eq!(
                parse_head(head).map_err(|e| e.0),
                Err(*status),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("h{}: v\r\n", i).as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&many).map_err(|e| e.0), Err(431));
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"),
            Some(24)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }

    #[test]
    fn config_from_properties() {
        let mut p = SystemProperties::new();
        let c = AdminServerConfig::from_properties(&p).unwrap().unwrap();
        assert_eq!(c.address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!((c.port, c.command_url.as_str()), (8080, "/commands"));
        p.set("zookeeper.admin.commandURL", "cmds/");
        p.set("zookeeper.admin.serverPort", "0");
        p.set("zookeeper.admin.serverAddress", "127.0.0.1");
        let c = AdminServerConfig::from_properties(&p).unwrap().unwrap();
        assert_eq!((c.port, c.command_url.as_str()), (0, "/cmds"));
        p.set("zookeeper.admin.serverPort", "70000");
        assert!(AdminServerConfig::from_properties(&p)
            .unwrap_err()
            .contains("serverPort"));
        p.set("zookeeper.admin.serverPort", "1");
        p.set("zookeeper.admin.serverAddress", "not-an-ip");
        assert!(AdminServerConfig::from_properties(&p)
            .unwrap_err()
            .contains("serverAddress"));
        p.set("zookeeper.admin.enableServer", "false");
        assert!(matches!(AdminServerConfig::from_properties(&p), Ok(None)));
    }

    #[test]
    fn index_links_every_primary_name() {
        let page = command_links("/commands");
        assert!(page.contains("<a href=\"/commands/monitor\">monitor</a>\n<br/>\n"));
        assert_eq!(page.matches("<a ").count(), commands::primary_names().len());
    }
}
