//! X509Util against the committed fixtures of tests/data (made by
//! tests/data/gen.sh with keytool and openssl): store loading, errors, and
//! in-memory rustls handshakes between the server and client configs.

use std::net::IpAddr;
use std::sync::Arc;

use zk_config::rustls::pki_types::{CertificateDer, ServerName};
use zk_config::rustls::{self, ClientConfig, ClientConnection, ServerConfig, ServerConnection};
use zk_config::{subject_dn, ClientAuth, SystemProperties, X509Util};

fn data(name: &str) -> String {
    format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Client-port properties: `ssl.<k>=<v>` for each pair; `@file` values
/// name a fixture.
fn props(pairs: &[(&str, &str)]) -> SystemProperties {
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

fn server_props(keystore: &str, extra: &[(&str, &str)]) -> SystemProperties {
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
fn handshake(
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

fn configs(
    server: &SystemProperties,
    client: &SystemProperties,
) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let s = X509Util::client(server).create_ssl_server_config().unwrap();
    let c = X509Util::client(client).create_ssl_client_config().unwrap();
    (s, c)
}

fn client_props(keystore: Option<&str>, extra: &[(&str, &str)]) -> SystemProperties {
    let mut pairs = vec![("trustStore.location", "@truststore.pem")];
    if let Some(ks) = keystore {
        pairs.push(("keyStore.location", ks));
        pairs.push(("keyStore.password", "password"));
    }
    pairs.extend_from_slice(extra);
    props(&pairs)
}

#[test]
fn handshake_with_client_certificate_gives_its_subject() {
    for (server_ks, client_ks) in [
        ("@server.p12", "@client.p12"),
        ("@server.pem", "@client-encrypted.pem"),
        ("@server-encrypted.pem", "@client.pem"),
        ("@legacy-3des.p12", "@client.p12"),
    ] {
        let (s, c) = configs(
            &server_props(server_ks, &[]),
            &client_props(Some(client_ks), &[]),
        );
        let (server, _) = handshake(s, c, "127.0.0.1")
            .unwrap_or_else(|e| panic!("{server_ks} / {client_ks}: {e}"));
        let certs = server.peer_certificates().expect("client certificate");
        assert_eq!(
            subject_dn(&certs[0]).unwrap(),
            "CN=client,OU=clients,O=zk-rs,C=US"
        );
        assert_eq!(
            server.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );
    }
}

#[test]
fn client_auth_need_want_none() {
    let certless = client_props(None, &[]);
    let untrusted = client_props(Some("@untrusted.p12"), &[]);
    // Need (the default) refuses both.
    let (s, c) = configs(&server_props("@server.p12", &[]), &certless);
    let e = handshake(s, c, "127.0.0.1").unwrap_err();
    assert_eq!(e, rustls::Error::NoCertificatesPresented, "{e}");
    let (s, c) = configs(&server_props("@server.p12", &[]), &untrusted);
    let e = handshake(s, c, "127.0.0.1").unwrap_err();
    assert!(
        matches!(
            e,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{e:?}"
    );
    assert!(zk_config::describe_tls_error(&e).contains("not issued by a CA in our trust store"));
    // Want admits a certless client (anonymous) but still refuses an
    // untrusted certificate; None never asks.
    let want = server_props("@server.p12", &[("clientAuth", "want")]);
    assert_eq!(X509Util::client(&want).client_auth(), ClientAuth::Want);
    let (s, c) = configs(&want, &certless);
    let (server, _) = handshake(s, c, "127.0.0.1").unwrap();
    assert!(server.peer_certificates().is_none());
    let (s, c) = configs(&want, &untrusted);
    assert!(handshake(s, c, "127.0.0.1").is_err());
    let none = server_props("@server.p12", &[("clientAuth", "NONE")]);
    let (s, c) = configs(&none, &untrusted);
    let (server, _) = handshake(s, c, "127.0.0.1").unwrap();
    assert!(server.peer_certificates().is_none());
}

#[test]
fn bad_client_auth_names_the_key() {
    let p = server_props("@server.p12", &[("clientAuth", "sometimes")]);
    let u = X509Util::client(&p);
    assert_eq!(u.client_auth(), ClientAuth::Need);
    let e = u.create_ssl_server_config().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("zookeeper.ssl.clientAuth=sometimes: "),
        "{e}"
    );
}

#[test]
fn server_hostname_verification() {
    let server = server_props("@server.p12", &[("clientAuth", "none")]);
    for (host, ok) in [
        ("127.0.0.1", true),
        ("localhost", true),
        ("LOCALHOST", true),
        ("127.0.0.2", false),
        ("other", false),
    ] {
        let (s, c) = configs(&server, &client_props(None, &[]));
        let result = handshake(s, c, host);
        assert_eq!(result.is_ok(), ok, "{host}: {:?}", result.err());
        if let Err(e) = result {
            let text = zk_config::describe_tls_error(&e);
            assert!(text.contains(&format!("<{host}>")), "{text}");
        }
    }
    // Off: any name, but the chain is still checked.
    let off = client_props(None, &[("hostnameVerification", "false")]);
    let (s, c) = configs(&server, &off);
    assert!(handshake(s, c, "127.0.0.2").is_ok());
    let rogue = server_props("@untrusted.p12", &[("clientAuth", "none")]);
    let (s, c) = configs(&rogue, &off);
    assert!(handshake(s, c, "127.0.0.1").is_err());
    // A certificate without SANs is matched on its CN, as 3.8 does.
    let cn_only = server_props("@cnonly.p12", &[("clientAuth", "none")]);
    let (s, c) = configs(&cn_only, &client_props(None, &[]));
    assert!(handshake(s, c, "localhost").is_ok());
    let (s, c) = configs(&cn_only, &client_props(None, &[]));
    assert!(handshake(s, c, "127.0.0.1").is_err());
}

#[test]
fn expired_and_not_yet_valid_are_refused() {
    for (ks, word) in [
        ("@expired.p12", "expired"),
        ("@notyet.p12", "not valid yet"),
    ] {
        let server = server_props(ks, &[("clientAuth", "none")]);
        let (s, c) = configs(&server, &client_props(None, &[]));
        let e = handshake(s, c, "127.0.0.1").unwrap_err();
        let text = zk_config::describe_tls_error(&e);
        assert!(text.contains(word), "{ks}: {text}");
    }
}

#[test]
fn quorum_verifies_client_host_names_client_port_does_not() {
    let cert = pem_cert("client.crt");
    let here: IpAddr = "127.0.0.1".parse().unwrap();
    let elsewhere: IpAddr = "10.1.2.3".parse().unwrap();
    let mut p = SystemProperties::new();
    let client = X509Util::client(&p);
    assert!(client
        .verify_client_hostname(std::slice::from_ref(&cert), elsewhere)
        .is_ok());
    let quorum = X509Util::quorum(&p);
    assert!(quorum
        .verify_client_hostname(std::slice::from_ref(&cert), here)
        .is_ok());
    assert!(quorum
        .verify_client_hostname(
            std::slice::from_ref(&cert),
            "::ffff:127.0.0.1".parse().unwrap()
        )
        .is_ok());
    let e = quorum
        .verify_client_hostname(std::slice::from_ref(&cert), elsewhere)
        .unwrap_err();
    assert!(e.to_string().contains("10.1.2.3"), "{e}");
    assert!(quorum.verify_client_hostname(&[], elsewhere).is_ok());
    p.set("zookeeper.ssl.quorum.hostnameVerification", "false");
    assert!(X509Util::quorum(&p)
        .verify_client_hostname(&[cert], elsewhere)
        .is_ok());
}

fn pem_cert(name: &str) -> CertificateDer<'static> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    CertificateDer::from(base64_decode(&b64))
}

fn base64_decode(s: &str) -> Vec<u8> {
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

#[test]
fn subject_dns_as_java_prints_them() {
    let expected = std::fs::read_to_string(data("subject-dn.txt")).unwrap();
    for line in expected.lines() {
        let (file, dn) = line.split_once('\t').unwrap();
        assert_eq!(subject_dn(&pem_cert(file)).unwrap(), dn, "{file}");
    }
}
