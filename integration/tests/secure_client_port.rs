//! The secure client port against real zk-bin processes on loopback, with
//! a ZooKeeper client of this test's own (jute frames over rustls) and the
//! certificates of `integration::tls` (JKS, PKCS12 and PEM stores):
//!
//! - a `secureClientPort`-only server opens no plaintext listener: a
//!   plaintext connect to the secure port gets no ZooKeeper answer and is
//!   closed with a logged reason; TLS clients connect, create and get;
//!   `ssl.clientAuth=need` refuses a client without a certificate and one
//!   whose certificate is not trusted; an x509 ACL admits only its subject;
//!   the superUser subject passes every ACL; handshakes count against
//!   `maxClientCnxns`;
//! - `client.portUnification=true` serves TLS and plaintext on one port;
//! - hostile input on the secure port (random bytes, plaintext frames, half
//!   a handshake, 1000 handshakes that never finish) while a TLS client
//!   keeps being served: each offender is closed with a logged reason.
//!
//! Without openssl/keytool the tests print SKIPPED.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration::ports::{free_port, TempDir};
use integration::tls::{Identity, StoreType, TlsFixture, CLIENT2_DN, CLIENT_DN};
use integration::zk_bin::ZkBinServer;
use zk_config::rustls::pki_types::pem::PemObject;
use zk_config::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use zk_config::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Any single wait.
const BOUND: Duration = Duration::from_secs(60);
const CREATE: i32 = 1;
const GET_DATA: i32 = 4;
const NOAUTH: i32 = -102;
const ALL: i32 = 31;

// ---- certificates ----

fn fixture(dir: &TempDir) -> Option<TlsFixture> {
    match TlsFixture::generate(dir.path()) {
        Ok(t) => Some(t),
        Err(e) if integration::tls::is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            None
        }
        Err(e) => panic!("cannot make the test certificates: {e}"),
    }
}

/// zoo.cfg lines for a TLS client port presenting node 1's certificate
/// from a `store` key store, trusting the test CA.
fn server_tls_cfg(tls: &TlsFixture, store: StoreType) -> String {
    integration::tls::cfg_text(&tls.client_port_cfg(tls.server(1), store))
}

/// A TLS client configuration trusting `ca` and presenting `id`.
fn client_config(ca: &Path, id: Option<&Identity>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match id {
        Some(id) => {
            let certs: Vec<_> = CertificateDer::pem_file_iter(&id.cert_pem)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_file(&id.key_pem).unwrap();
            b.with_client_auth_cert(certs, key).unwrap()
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(cfg)
}

// ---- a minimal ZooKeeper client over TLS ----

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A TCP connection to `addr` with its TLS handshake done.
fn tls_connect(addr: SocketAddr, cfg: &Arc<ClientConfig>) -> io::Result<Tls> {
    let tcp = TcpStream::connect_timeout(&addr, BOUND)?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(20)))?;
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(Arc::clone(cfg), name).map_err(io::Error::other)?;
    let mut s = StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as i32).to_be_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn connect_frame(timeout_ms: i32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0i32.to_be_bytes()); // protocolVersion
    b.extend_from_slice(&0i64.to_be_bytes()); // lastZxidSeen
    b.extend_from_slice(&timeout_ms.to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes()); // sessionId
    b.extend_from_slice(&16i32.to_be_bytes());
    b.extend_from_slice(&[0; 16]); // passwd
    b.push(0); // readOnly
    framed(&b)
}

fn read_frame(s: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    if !(0..=1 << 20).contains(&len) {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("length {len}"),
        ));
    }
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body)?;
    Ok(body)
}

/// A session over TLS.
struct ZkTls {
    s: Tls,
    xid: i32,
    session_id: i64,
}

impl ZkTls {
    /// Connects, and sets up a session.
    fn open(addr: SocketAddr, cfg: &Arc<ClientConfig>) -> io::Result<ZkTls> {
        let mut s = tls_connect(addr, cfg)?;
        s.write_all(&connect_frame(30_000))?;
        let body = read_frame(&mut s)?;
        let session_id = i64::from_be_bytes(body[8..16].try_into().unwrap());
        assert_ne!(session_id, 0, "a new session has an id");
        Ok(ZkTls {
            s,
            xid: 0,
            session_id,
        })
    }

    /// One request; its error code and the rest of the reply.
    fn call(&mut self, op: i32, record: &[u8]) -> io::Result<(i32, Vec<u8>)> {
        self.xid += 1;
        let mut b = self.xid.to_be_bytes().to_vec();
        b.extend_from_slice(&op.to_be_bytes());
        b.extend_from_slice(record);
        self.s.write_all(&framed(&b))?;
        loop {
            let reply = read_frame(&mut self.s)?;
            let xid = i32::from_be_bytes(reply[0..4].try_into().unwrap());
            if xid == self.xid {
                let err = i32::from_be_bytes(reply[12..16].try_into().unwrap());
                return Ok((err, reply[16..].to_vec()));
            }
        }
    }

    /// `addauth scheme auth`: the error code of the reply (xid -4).
    fn add_auth(&mut self, scheme: &str, auth: &[u8]) -> io::Result<i32> {
        let mut b = (-4i32).to_be_bytes().to_vec();
        b.extend_from_slice(&100i32.to_be_bytes()); // OpCode.auth
        b.extend_from_slice(&0i32.to_be_bytes()); // AuthPacket.type
        put_str(&mut b, scheme);
        b.extend_from_slice(&(auth.len() as i32).to_be_bytes());
        b.extend_from_slice(auth);
        self.s.write_all(&framed(&b))?;
        loop {
            let reply = read_frame(&mut self.s)?;
            if i32::from_be_bytes(reply[0..4].try_into().unwrap()) == -4 {
                return Ok(i32::from_be_bytes(reply[12..16].try_into().unwrap()));
            }
        }
    }

    /// `create` with one ACL entry `perms scheme:id`; the error code.
    fn create(&mut self, path: &str, data: &[u8], acl: (&str, &str)) -> io::Result<i32> {
        let mut r = Vec::new();
        put_str(&mut r, path);
        r.extend_from_slice(&(data.len() as i32).to_be_bytes());
        r.extend_from_slice(data);
        r.extend_from_slice(&1i32.to_be_bytes());
        r.extend_from_slice(&ALL.to_be_bytes());
        put_str(&mut r, acl.0);
        put_str(&mut r, acl.1);
        r.extend_from_slice(&0i32.to_be_bytes()); // persistent
        Ok(self.call(CREATE, &r)?.0)
    }

    /// `getData`: the error code and the data.
    fn get(&mut self, path: &str) -> io::Result<(i32, Vec<u8>)> {
        let mut r = Vec::new();
        put_str(&mut r, path);
        r.push(0);
        let (err, rest) = self.call(GET_DATA, &r)?;
        if err != 0 {
            return Ok((err, Vec::new()));
        }
        let len = i32::from_be_bytes(rest[0..4].try_into().unwrap()).max(0) as usize;
        Ok((err, rest[4..4 + len].to_vec()))
    }
}

/// A four-letter word over TLS.
fn tls_four_letter(addr: SocketAddr, cfg: &Arc<ClientConfig>, cmd: &str) -> io::Result<String> {
    let mut s = tls_connect(addr, cfg)?;
    s.write_all(cmd.as_bytes())?;
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

// ---- servers and their logs ----

/// A zk-bin whose zoo.cfg is `body` plus the data dir, started and
/// waited for with `srvr` over TLS on `secure`.
fn start_secure_only(
    work: &TempDir,
    secure: SocketAddr,
    body: &str,
    cfg: &Arc<ClientConfig>,
) -> ZkBinServer {
    let zoo = work.join("zoo.cfg");
    std::fs::write(
        &zoo,
        format!(
            "tickTime=2000\ndataDir={}\nadmin.enableServer=false\n{body}\n",
            work.join("data").display()
        ),
    )
    .unwrap();
    let mut server = ZkBinServer::spawn(&zoo, secure, &work.join("server.log"), &[]).unwrap();
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(status) = server.try_wait() {
            panic!("zk-bin exited with {status}; log:\n{}", server.log_text());
        }
        if tls_four_letter(secure, cfg, "srvr").is_ok_and(|a| a.starts_with("Zookeeper version")) {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "zk-bin did not serve TLS on {secure}; log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Why the server closed each connection, by the client's port (from the
/// "Closed socket connection for client 127.0.0.1:<port> ...: <why>" lines).
fn close_reasons(server: &ZkBinServer) -> HashMap<u16, String> {
    let mut reasons = HashMap::new();
    for line in server.log_text().lines() {
        let Some((_, rest)) = line.split_once("Closed socket connection for client 127.0.0.1:")
        else {
            continue;
        };
        let Some((port, rest)) = rest.split_once(' ') else {
            continue;
        };
        if let (Ok(port), Some((_, why))) = (port.parse(), rest.split_once(": ")) {
            reasons.insert(port, why.to_string());
        }
    }
    reasons
}

/// Waits until the server logged why it closed the connection from
/// `port`; the reason.
fn close_reason(server: &ZkBinServer, port: u16) -> String {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(why) = close_reasons(server).remove(&port) {
            return why;
        }
        assert!(
            Instant::now() < deadline,
            "no close logged for 127.0.0.1:{port}; log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads until the server closes the connection (EOF or reset); false if
/// it is still open at `deadline`. What came is returned through `got`.
fn closed_by_server(s: &mut TcpStream, deadline: Instant, got: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(200))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return true,
        }
    }
}

/// The first bytes a TLS client sends (its ClientHello).
fn client_hello(cfg: &Arc<ClientConfig>) -> Vec<u8> {
    let mut c =
        ClientConnection::new(Arc::clone(cfg), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut out = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut out).unwrap();
    }
    out
}

fn raw(addr: SocketAddr, bytes: &[u8]) -> (TcpStream, u16) {
    let mut s = TcpStream::connect_timeout(&addr, BOUND).unwrap();
    let port = s.local_addr().unwrap().port();
    if !bytes.is_empty() {
        s.write_all(bytes).unwrap();
    }
    (s, port)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

// ---- the tests ----

#[test]
fn a_secure_only_server_serves_tls_clients_and_their_x509_identities() {
    let work = TempDir::new("zk-secure-only").unwrap();
    let Some(tls) = fixture(&work) else { return };
    let secure = loopback(free_port().unwrap());
    let client = client_config(&tls.ca_pem, Some(&tls.client));
    let body = format!(
        "secureClientPortAddress=127.0.0.1\nsecureClientPort={}\nmaxClientCnxns=8\n4lw.commands.whitelist=srvr,conf,cons\n\
         X509AuthenticationProvider.superUser={CLIENT2_DN}\n{}",
        secure.port(),
        server_tls_cfg(&tls, StoreType::Jks)
    );
    let server = start_secure_only(&work, secure, &body, &client);
    let log = server.log_text();
    assert!(
        !log.contains("binding to port 0.0.0.0:2181"),
        "a plaintext port was opened:\n{log}"
    );
    assert_eq!(
        log.matches("binding to port").count(),
        1,
        "one listener only:\n{log}"
    );

    // A plaintext client on the secure port gets no ZooKeeper answer.
    let (mut plain, port) = raw(secure, &connect_frame(30_000));
    let mut got = Vec::new();
    assert!(closed_by_server(
        &mut plain,
        Instant::now() + BOUND,
        &mut got
    ));
    assert!(
        got.first() != Some(&0),
        "a ZooKeeper answer came back: {got:?}"
    );
    let why = close_reason(&server, port);
    assert!(why.contains("TLS"), "{why}");

    // TLS: connect, create, get.
    let mut zk = ZkTls::open(secure, &client).unwrap();
    assert_eq!(
        zk.create("/tls", b"over tls", ("world", "anyone")).unwrap(),
        0
    );
    assert_eq!(zk.get("/tls").unwrap(), (0, b"over tls".to_vec()));

    // An x509 ACL admits only its subject ...
    assert_eq!(
        zk.create("/mine", b"secret", ("x509", CLIENT_DN)).unwrap(),
        0
    );
    assert_eq!(zk.get("/mine").unwrap(), (0, b"secret".to_vec()));
    // addauth x509 authenticates the connection's certificate again.
    assert_eq!(zk.add_auth("x509", b"").unwrap(), 0);
    assert_eq!(zk.get("/mine").unwrap(), (0, b"secret".to_vec()));
    let mut other = ZkTls::open(secure, &client_config(&tls.ca_pem, Some(&tls.client2))).unwrap();
    // ... but CLIENT2 is the super user, which every ACL admits.
    assert_eq!(other.get("/mine").unwrap(), (0, b"secret".to_vec()));
    assert_eq!(
        other.create("/theirs", b"x", ("x509", CLIENT2_DN)).unwrap(),
        0
    );
    assert_eq!(
        zk.get("/theirs").unwrap().0,
        NOAUTH,
        "another subject is refused"
    );
    drop(other);

    // ssl.clientAuth=need (the default): no certificate, no session.
    for (what, cfg) in [
        ("no certificate", client_config(&tls.ca_pem, None)),
        (
            "an untrusted certificate",
            client_config(&tls.ca_pem, Some(&tls.untrusted)),
        ),
        (
            "an expired certificate",
            client_config(&tls.ca_pem, Some(&tls.expired)),
        ),
    ] {
        let refused = ZkTls::open(secure, &cfg);
        assert!(refused.is_err(), "a client with {what} got a session");
    }
    assert!(
        server.log_text().contains("TLS handshake failed"),
        "the refusals are not logged:\n{}",
        server.log_text()
    );

    // The four-letter words over TLS: conf names the secure port, cons
    // lists this port's connections.
    let conf = tls_four_letter(secure, &client, "conf").unwrap();
    assert!(
        conf.contains(&format!("secureClientPort={}\n", secure.port())),
        "{conf}"
    );
    assert!(conf.starts_with("clientPort=-1\n"), "no plain port: {conf}");
    let cons = tls_four_letter(secure, &client, "cons").unwrap();
    let mine = zk.s.sock.local_addr().unwrap().port();
    assert!(cons.contains(&format!("/127.0.0.1:{mine}[")), "{cons}");

    // Handshakes count against maxClientCnxns (8, one held by `zk`).
    let held: Vec<_> = (0..7).map(|_| raw(secure, &[])).collect();
    let deadline = Instant::now() + BOUND;
    loop {
        let (mut extra, port) = raw(secure, &client_hello(&client));
        let mut got = Vec::new();
        if closed_by_server(
            &mut extra,
            Instant::now() + Duration::from_secs(5),
            &mut got,
        ) && got.is_empty()
        {
            assert!(!close_reasons(&server).contains_key(&port));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a ninth connection was still taken"
        );
    }
    assert!(server
        .log_text()
        .contains("Too many connections from 127.0.0.1 - max is 8"));
    drop(held);
    assert_eq!(
        zk.get("/tls").unwrap().0,
        0,
        "the established session is still served"
    );
    let _ = zk.session_id;
}

#[test]
fn port_unification_serves_tls_and_plaintext_on_one_port() {
    let work = TempDir::new("zk-unified").unwrap();
    let Some(tls) = fixture(&work) else { return };
    let port = free_port().unwrap();
    let extra = format!(
        "client.portUnification=true\nssl.clientAuth=want\n{}",
        server_tls_cfg(&tls, StoreType::Pkcs12)
    );
    // Started and waited for with a plaintext srvr.
    let server = ZkBinServer::start(&work, port, &extra).unwrap();
    let addr = loopback(port);
    let mut secure = ZkTls::open(addr, &client_config(&tls.ca_pem, Some(&tls.client))).unwrap();
    assert_eq!(secure.create("/a", b"tls", ("x509", CLIENT_DN)).unwrap(), 0);
    // want: a client without a certificate is served, without x509 id.
    let mut anon = ZkTls::open(addr, &client_config(&tls.ca_pem, None)).unwrap();
    assert_eq!(anon.get("/a").unwrap().0, NOAUTH);
    assert_eq!(anon.create("/b", b"anon", ("world", "anyone")).unwrap(), 0);

    // Plaintext, raw frames, on the same port.
    let (mut plain, _) = raw(addr, &connect_frame(30_000));
    plain.set_read_timeout(Some(BOUND)).unwrap();
    let body = read_frame(&mut plain).unwrap();
    assert_ne!(i64::from_be_bytes(body[8..16].try_into().unwrap()), 0);
    let mut r = 1i32.to_be_bytes().to_vec();
    r.extend_from_slice(&GET_DATA.to_be_bytes());
    put_str(&mut r, "/b");
    r.push(0);
    plain.write_all(&framed(&r)).unwrap();
    let reply = read_frame(&mut plain).unwrap();
    assert_eq!(i32::from_be_bytes(reply[12..16].try_into().unwrap()), 0);
    assert_eq!(&reply[20..24], b"anon");
    assert_eq!(secure.get("/a").unwrap(), (0, b"tls".to_vec()));
    let srvr = integration::apache::four_letter(addr, "srvr", BOUND).unwrap();
    assert!(srvr.starts_with("Zookeeper version"), "{srvr}");
    drop(server);
}

#[test]
fn hostile_input_on_the_secure_port_is_closed_while_others_are_served() {
    let work = TempDir::new("zk-secure-hostile").unwrap();
    let Some(tls) = fixture(&work) else { return };
    const NEVER_FINISHING: usize = 1000;
    raise_open_file_limit(NEVER_FINISHING as u64 + 256);
    let port = free_port().unwrap();
    let secure = loopback(free_port().unwrap());
    let extra = format!(
        "secureClientPortAddress=127.0.0.1\nsecureClientPort={}\nmaxClientCnxns=0\n\
         ssl.handshakeDetectionTimeoutMillis=3000\n{}",
        secure.port(),
        server_tls_cfg(&tls, StoreType::Pem)
    );
    let server = ZkBinServer::start(&work, port, &extra).unwrap();
    let client = client_config(&tls.ca_pem, Some(&tls.client));
    let mut good = ZkTls::open(secure, &client).unwrap();
    assert_eq!(good.create("/good", b"1", ("world", "anyone")).unwrap(), 0);

    let hello = client_hello(&client);
    let mut noise = vec![0u8; 4096];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 56) as u8;
    }
    let mut get = 1i32.to_be_bytes().to_vec();
    get.extend_from_slice(&GET_DATA.to_be_bytes());
    put_str(&mut get, "/good");
    get.push(0);
    let mut frames = connect_frame(30_000);
    frames.extend_from_slice(&framed(&get));
    // Closed at once: the bytes are not TLS.
    let at_once = [
        ("random bytes", noise.clone()),
        ("plaintext frames", frames),
    ];
    // Closed at the handshake deadline.
    let half = hello[..hello.len() / 2].to_vec();
    let mut slow: Vec<(String, TcpStream, u16)> = (0..NEVER_FINISHING)
        .map(|i| {
            let (what, bytes) = match i % 3 {
                0 => ("nothing", Vec::new()),
                1 => ("half a ClientHello", half.clone()),
                _ => ("a ClientHello, then nothing", hello.clone()),
            };
            let (s, port) = raw(secure, &bytes);
            (what.to_string(), s, port)
        })
        .collect();

    for (what, bytes) in at_once {
        let (mut s, port) = raw(secure, &bytes);
        let mut got = Vec::new();
        assert!(
            closed_by_server(&mut s, Instant::now() + BOUND, &mut got),
            "{what}: not closed"
        );
        let why = close_reason(&server, port);
        assert!(why.contains("TLS"), "{what}: {why}");
    }

    // The well-behaved client is served while the handshakes hang.
    let mut worst = Duration::ZERO;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let t = Instant::now();
        assert_eq!(good.get("/good").unwrap(), (0, b"1".to_vec()));
        worst = worst.max(t.elapsed());
    }
    assert!(
        worst < Duration::from_secs(5),
        "a get took {worst:?} beside the handshakes"
    );
    let plain = integration::apache::four_letter(server.addr, "srvr", BOUND).unwrap();
    assert!(
        plain.starts_with("Zookeeper version"),
        "the plain port is served too: {plain}"
    );

    let deadline = Instant::now() + BOUND;
    for (what, s, port) in &mut slow {
        let mut got = Vec::new();
        assert!(
            closed_by_server(s, deadline, &mut got),
            "{what} from port {port}: not closed"
        );
    }
    let reasons = close_reasons(&server);
    for (what, _, port) in &slow {
        let why = reasons
            .get(port)
            .unwrap_or_else(|| panic!("{what} from port {port}: no reason logged"));
        assert!(
            why.contains("TLS handshake not completed within 3000 ms"),
            "{what} from port {port}: {why}"
        );
    }
    assert_eq!(good.get("/good").unwrap(), (0, b"1".to_vec()));
}

/// This process needs `needed` descriptors for its connections.
fn raise_open_file_limit(needed: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct we pass, valid for the call.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    assert!(
        lim.rlim_max >= needed,
        "this test needs {needed} open files; the hard limit is {}",
        lim.rlim_max
    );
    if lim.rlim_cur < needed {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads only the struct we pass, valid for the call.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
}

/// The TLS `srvr` mode of a node ("leader", "follower"), once it serves.
fn tls_mode(addr: SocketAddr, cfg: &Arc<ClientConfig>) -> Option<String> {
    let srvr = tls_four_letter(addr, cfg, "srvr").ok()?;
    srvr.lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(str::to_string)
}

/// Waits until the running nodes (`addrs`) serve over TLS with one leader;
/// its index.
fn wait_for_tls_leader(addrs: &[SocketAddr], cfg: &Arc<ClientConfig>) -> usize {
    let deadline = Instant::now() + BOUND;
    loop {
        let modes: Vec<Option<String>> = addrs.iter().map(|a| tls_mode(*a, cfg)).collect();
        let leaders: Vec<usize> = (0..addrs.len())
            .filter(|i| modes[*i].as_deref() == Some("leader"))
            .collect();
        if leaders.len() == 1 && modes.iter().all(Option::is_some) {
            return leaders[0];
        }
        assert!(Instant::now() < deadline, "no leader over TLS: {modes:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `get` on a new TLS session to `addr` until `path` has `data`.
fn wait_for_data(addr: SocketAddr, cfg: &Arc<ClientConfig>, path: &str, data: &[u8]) {
    let mut zk = ZkTls::open(addr, cfg).unwrap();
    let deadline = Instant::now() + BOUND;
    loop {
        let (err, got) = zk.get(path).unwrap();
        if err == 0 {
            assert_eq!(got, data);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never reached {addr} (error {err})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Each member of a 3-node ensemble serves only a secure client port: its
/// TLS clients' writes replicate, x509 ACLs hold on every node, and after
/// the leader is killed the new roles serve the same port.
#[test]
fn an_ensemble_serves_its_secure_client_ports_across_role_changes() {
    let work = TempDir::new("zk-secure-ensemble").unwrap();
    let Some(tls) = fixture(&work) else { return };
    let mut used = Vec::new();
    let mut port = || {
        let p = integration::ports::free_port_except(&used).unwrap();
        used.push(p);
        p
    };
    let ports: Vec<(u16, u16, u16)> = (0..3).map(|_| (port(), port(), port())).collect();
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(i, (_, q, e))| format!("server.{}=127.0.0.1:{q}:{e}\n", i + 1))
        .collect();
    let addrs: Vec<SocketAddr> = ports.iter().map(|(c, _, _)| loopback(*c)).collect();
    let mut nodes: Vec<Option<ZkBinServer>> = (1..=3usize)
        .map(|id| {
            let data = work.join(format!("data{id}"));
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("myid"), format!("{id}\n")).unwrap();
            let cfg = work.join(format!("zoo{id}.cfg"));
            std::fs::write(
                &cfg,
                format!(
                    "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir={}\n\
                     secureClientPortAddress=127.0.0.1\nsecureClientPort={}\n\
                     admin.enableServer=false\n{}{servers}",
                    data.display(),
                    addrs[id - 1].port(),
                    server_tls_cfg(&tls, StoreType::Pem)
                ),
            )
            .unwrap();
            let log = work.join(format!("server{id}.log"));
            Some(ZkBinServer::spawn(&cfg, addrs[id - 1], &log, &[]).unwrap())
        })
        .collect();
    let client = client_config(&tls.ca_pem, Some(&tls.client));
    let other = client_config(&tls.ca_pem, Some(&tls.client2));
    let leader = wait_for_tls_leader(&addrs, &client);
    let follower = (leader + 1) % 3;
    let mut zk = ZkTls::open(addrs[follower], &client).unwrap();
    assert_eq!(
        zk.create("/ens", b"replicated", ("x509", CLIENT_DN))
            .unwrap(),
        0
    );
    drop(zk);
    wait_for_data(addrs[leader], &client, "/ens", b"replicated");
    let mut stranger = ZkTls::open(addrs[leader], &other).unwrap();
    assert_eq!(stranger.get("/ens").unwrap().0, NOAUTH);
    drop(stranger);

    nodes[leader].take().unwrap().kill_9();
    let alive: Vec<SocketAddr> = (0..3).filter(|i| *i != leader).map(|i| addrs[i]).collect();
    let new_leader = alive[wait_for_tls_leader(&alive, &client)];
    let survivor = *alive.iter().find(|a| **a != new_leader).unwrap();
    let mut zk = ZkTls::open(survivor, &client).unwrap();
    assert_eq!(
        zk.create("/after", b"failover", ("world", "anyone"))
            .unwrap(),
        0
    );
    wait_for_data(new_leader, &client, "/after", b"failover");
    wait_for_data(new_leader, &client, "/ens", b"replicated");
}
