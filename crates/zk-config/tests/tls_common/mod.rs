//! Helpers of zk-config's TLS tests: the fixtures of tests/data/tls and
//! in-memory rustls handshakes.
#![allow(dead_code)]

use std::sync::Arc;

use zk_config::rustls::pki_types::{CertificateDer, ServerName};
use zk_config::rustls::{self, ClientConfig, ClientConnection, ServerConfig, ServerConnection};
use zk_config::{SystemProperties, X509Util};

pub fn data(name: &str) -> String {
    format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Client-port properties: `ssl.<k>=<v>` for each pair; `@file` values
/// name a fixture.
pub fn props(pairs: &[(&str, &str)]) -> SystemProperties {
    let mut p = SystemProperties::new();
    for (k, v) in pairs {
        let v = match v.strip_prefix('@') {
            Some(file) => data(file),
            None => v.to_string(),
        };
        p.set(format!("zookeeper.ssl.{k}"), v);
    }
    p
}

pub fn server_props(keystore: &str, extra: &[(&str, &str)]) -> SystemProperties {
    let mut pairs = vec![
        ("keyStore.location", keystore),
        ("keyStore.password", "password"),
        ("trustStore.location", "@truststore.p12"),
        ("trustStore.password", "password"),
    ];
    pairs.extend_from_slice(extra);
    props(&pairs)
}

/// Runs the handshake to the end in memory; the first error either side
/// reports.
pub fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    host: &str,
) -> Result<(ServerConnection, ClientConnection), rustls::Error> {
    let name = ServerName::try_from(host.to_string()).unwrap();
    let mut c = ClientConnection::new(client, name)?;
    let mut s = ServerConnection::new(server)?;
    for _ in 0..20 {
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok((s, c));
        }
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
            s.process_new_packets()?;
        }
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
            c.process_new_packets()?;
        }
    }
    panic!("handshake did not finish in 20 rounds");
}

pub fn configs(
    server: &SystemProperties,
    client: &SystemProperties,
) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let s = X509Util::client(server).create_ssl_server_config().unwrap();
    let c = X509Util::client(client).create_ssl_client_config().unwrap();
    (s, c)
}

pub fn client_props(keystore: Option<&str>, extra: &[(&str, &str)]) -> SystemProperties {
    let mut pairs = vec![("trustStore.location", "@truststore.pem")];
    if let Some(ks) = keystore {
        pairs.push(("keyStore.location", ks));
        pairs.push(("keyStore.password", "password"));
    }
    pairs.extend_from_slice(extra);
    props(&pairs)
}

pub fn pem_cert(name: &str) -> CertificateDer<'static> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    CertificateDer::from(base64_decode(&b64))
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
