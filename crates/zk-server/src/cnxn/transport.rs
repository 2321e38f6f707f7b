//! What a `NIOServerCnxn` reads its frames from and writes its replies to:
//! the client's socket, plaintext or through TLS. In 3.8 this is the front
//! of the Netty channel pipeline: nothing on the plain port, an
//! [`SslHandler`] on the secure port, a [`DualModeSslHandler`] that becomes
//! one or the other on a unified port. The connection above sees the same
//! plaintext bytes in every case; `read` and `write` behave as a
//! non-blocking socket's (`Ok(0)` at end of stream, `WouldBlock` when it
//! must wait for the selector).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use zk_config::rustls::{self, ServerConfig};

use super::dual_mode_ssl_handler::{Detected, DualModeSslHandler};
use super::ssl_handler::{Handshake, SslHandler};

/// The socket and what is between it and the connection.
pub(crate) struct Transport {
    stream: TcpStream,
    mode: Mode,
}

enum Mode {
    /// Plaintext, the bytes as they are.
    Plain,
    /// A unified port's connection whose first bytes have not decided
    /// yet; it becomes `Plain` or `Tls`.
    Detecting(DualModeSslHandler, Arc<ServerConfig>),
    /// TLS.
    Tls(Box<SslHandler>),
}

/// How a connection's bytes travel, for the log and the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    /// Plaintext.
    Plain,
    /// Not decided yet (unified port).
    Detecting,
    /// TLS.
    Tls,
}

impl Transport {
    /// A plaintext connection.
    pub fn plain(stream: TcpStream) -> Transport {
        Transport {
            stream,
            mode: Mode::Plain,
        }
    }

    /// A TLS connection whose handshake must finish by `deadline`.
    pub fn tls(
        stream: TcpStream,
        config: Arc<ServerConfig>,
        deadline: Instant,
    ) -> Result<Transport, rustls::Error> {
        Ok(Transport {
            stream,
            mode: Mode::Tls(Box::new(SslHandler::new(config, deadline, Vec::new())?)),
        })
    }

    /// A unified port's connection: TLS or plaintext as its first bytes
    /// say, decided (and a TLS handshake finished) by `deadline`.
    pub fn dual_mode(stream: TcpStream, config: Arc<ServerConfig>, deadline: Instant) -> Transport {
        Transport {
            stream,
            mode: Mode::Detecting(DualModeSslHandler::new(deadline), config),
        }
    }

    /// The socket, to register and deregister.
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// How its bytes travel.
    pub fn kind(&self) -> TransportKind {
        match self.mode {
            Mode::Plain => TransportKind::Plain,
            Mode::Detecting(..) => TransportKind::Detecting,
            Mode::Tls(_) => TransportKind::Tls,
        }
    }

    /// The handshake deadline (or the deadline for the first bytes), while
    /// one runs.
    pub fn handshake_deadline(&self) -> Option<Instant> {
        match &self.mode {
            Mode::Plain => None,
            Mode::Detecting(d, _) => Some(d.deadline()),
            Mode::Tls(h) => h.handshake_deadline(),
        }
    }

    /// A TLS handshake that finished since the last call, once.
    pub fn take_finished_handshake(&mut self) -> Option<Handshake> {
        match &mut self.mode {
            Mode::Tls(h) => h.take_finished_handshake(),
            _ => None,
        }
    }

    /// Reads plaintext into `buf` (see the module doc).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.mode {
                Mode::Plain => return self.stream.read(buf),
                Mode::Tls(h) => return h.read(&mut self.stream, buf),
                Mode::Detecting(d, config) => match d.detect(&mut self.stream)? {
                    Detected::Pending => return Err(io::ErrorKind::WouldBlock.into()),
                    Detected::Eof => return Ok(0),
                    Detected::Plaintext(first) => {
                        assert!(
                            buf.len() >= first.len(),
                            "a read buffer of {} bytes cannot take the {} detection bytes",
                            buf.len(),
                            first.len()
                        );
                        buf[..first.len()].copy_from_slice(&first);
                        self.mode = Mode::Plain;
                        return Ok(first.len());
                    }
                    Detected::Tls(first) => {
                        let handler = SslHandler::new(Arc::clone(config), d.deadline(), first)
                            .map_err(|e| io::Error::other(format!("TLS setup failed: {e}")))?;
                        self.mode = Mode::Tls(Box::new(handler));
                    }
                },
            }
        }
    }

    /// Writes some of `data` (see the module doc).
    pub fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.mode {
            Mode::Tls(h) => h.write(&mut self.stream, data),
            // Nothing is written to an undecided connection: it has sent
            // no request yet.
            Mode::Plain | Mode::Detecting(..) => self.stream.write(data),
        }
    }

    /// Sends what TLS has waiting (handshake messages, records).
    pub fn flush_pending(&mut self) -> io::Result<()> {
        match &mut self.mode {
            Mode::Tls(h) => h.flush(&mut self.stream),
            _ => Ok(()),
        }
    }

    /// Whether bytes wait in TLS for the socket.
    pub fn has_pending_output(&self) -> bool {
        match &self.mode {
            Mode::Tls(h) => h.has_pending_output(),
            _ => false,
        }
    }

    /// Ends the connection: TLS says goodbye as far as the socket takes it
    /// now, then the socket is shut down.
    pub fn shutdown(&mut self) {
        if let Mode::Tls(h) = &mut self.mode {
            h.close(&mut self.stream);
        }
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    //! A rustls client on a blocking loopback socket against the server's
    //! non-blocking `Transport`, driven the way the selector drives it.

    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use std::time::Duration;
    use zk_config::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName};
    use zk_config::rustls::server::WebPkiClientVerifier;
    use zk_config::rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

    struct Pki {
        ca: CertificateDer<'static>,
        server: (Vec<CertificateDer<'static>>, PrivatePkcs8KeyDer<'static>),
        client: (Vec<CertificateDer<'static>>, PrivatePkcs8KeyDer<'static>),
    }

    fn pki() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test ca");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>, cn: &str| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(names).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            let cert = p.signed_by(&key, &issuer).unwrap();
            (
                vec![cert.der().clone()],
                PrivatePkcs8KeyDer::from(key.serialize_der()),
            )
        };
        Pki {
            ca: ca.der().clone(),
            server: leaf(vec!["localhost".into()], "server"),
            client: leaf(vec![], "client"),
        }
    }

    fn server_config(pki: &Pki) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca.clone()).unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .unwrap();
        let cfg = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.server.0.clone(), pki.server.1.clone_key().into())
            .unwrap();
        Arc::new(cfg)
    }

    fn client(
        pki: &Pki,
        stream: std::net::TcpStream,
    ) -> StreamOwned<ClientConnection, std::net::TcpStream> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca.clone()).unwrap();
        let cfg = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(pki.client.0.clone(), pki.client.1.clone_key().into())
            .unwrap();
        let conn = ClientConnection::new(Arc::new(cfg), ServerName::try_from("localhost").unwrap())
            .unwrap();
        StreamOwned::new(conn, stream)
    }

    fn pair() -> (TcpStream, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        (TcpStream::from_std(s), c)
    }

    /// Reads until `want` bytes came, as the selector would on each
    /// readable event (here: retrying on `WouldBlock` until a deadline).
    fn read_exactly(t: &mut Transport, want: usize) -> io::Result<Vec<u8>> {
        let until = Instant::now() + Duration::from_secs(20);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < want {
            match t.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < until, "no data within 20 s");
                    std::thread::yield_now();
                }
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    fn write_all(t: &mut Transport, mut data: &[u8]) {
        let until = Instant::now() + Duration::from_secs(20);
        while !data.is_empty() || t.has_pending_output() {
            match t.write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < until, "socket took nothing for 20 s");
                    std::thread::yield_now();
                }
                Err(e) => panic!("write failed: {e}"),
            }
            if data.is_empty() {
                t.flush_pending().unwrap();
            }
        }
    }

    /// A frame in both directions, bigger than one TLS record, arrives as
    /// the same bytes; the handshake is reported once with the client's
    /// certificate, and its deadline goes.
    fn round_trip(mut t: Transport, c: std::net::TcpStream, pki: &Pki) {
        let frame: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let sent = frame.clone();
        let client_pki = Pki {
            ca: pki.ca.clone(),
            server: (pki.server.0.clone(), pki.server.1.clone_key()),
            client: (pki.client.0.clone(), pki.client.1.clone_key()),
        };
        let peer = std::thread::spawn(move || {
            let mut tls = client(&client_pki, c);
            tls.write_all(&sent).unwrap();
            let mut back = vec![0u8; sent.len()];
            tls.read_exactly_into(&mut back);
            back
        });
        assert!(t.handshake_deadline().is_some());
        let got = read_exactly(&mut t, frame.len()).unwrap();
        assert_eq!(got, frame, "the plaintext frames are the client's bytes");
        assert_eq!(t.kind(), TransportKind::Tls);
        let hs = t.take_finished_handshake().expect("the handshake finished");
        assert_eq!(hs.peer_certs, pki.client.0);
        assert!(t.take_finished_handshake().is_none(), "reported once");
        assert!(t.handshake_deadline().is_none());
        write_all(&mut t, &frame);
        assert_eq!(peer.join().unwrap(), frame);
        t.shutdown();
    }

    trait ReadExactly {
        fn read_exactly_into(&mut self, buf: &mut [u8]);
    }
    impl<R: Read> ReadExactly for R {
        fn read_exactly_into(&mut self, buf: &mut [u8]) {
            self.read_exact(buf).unwrap();
        }
    }

    #[test]
    fn tls_carries_the_same_bytes_both_ways() {
        let pki = pki();
        let (s, c) = pair();
        let t = Transport::tls(
            s,
            server_config(&pki),
            Instant::now() + Duration::from_secs(30),
        )
        .unwrap();
        round_trip(t, c, &pki);
    }

    #[test]
    fn a_unified_port_serves_tls_and_plaintext() {
        let pki = pki();
        let (s, c) = pair();
        let deadline = Instant::now() + Duration::from_secs(30);
        round_trip(
            Transport::dual_mode(s, server_config(&pki), deadline),
            c,
            &pki,
        );

        let (s, mut c) = pair();
        let mut t = Transport::dual_mode(s, server_config(&pki), deadline);
        assert_eq!(t.kind(), TransportKind::Detecting);
        let mut connect = 44i32.to_be_bytes().to_vec();
        connect.extend_from_slice(&[7; 44]);
        c.write_all(&connect).unwrap();
        assert_eq!(read_exactly(&mut t, connect.len()).unwrap(), connect);
        assert_eq!(t.kind(), TransportKind::Plain);
        assert!(t.handshake_deadline().is_none());
        write_all(&mut t, b"reply");
        let mut back = [0u8; 5];
        c.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"reply");
    }

    #[test]
    fn bytes_that_are_not_tls_fail_with_a_reason() {
        let pki = pki();
        for junk in [
            // A plaintext ConnectRequest on the secure port.
            [0u8, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0, 0].to_vec(),
            // Random-looking bytes after a handshake record header.
            vec![0x16, 3, 1, 0, 8, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4],
        ] {
            let (s, mut c) = pair();
            let mut t = Transport::tls(s, server_config(&pki), Instant::now()).unwrap();
            c.write_all(&junk).unwrap();
            let e = read_exactly(&mut t, 1).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
            assert!(e.to_string().contains("TLS handshake failed"), "{e}");
        }
    }
}
