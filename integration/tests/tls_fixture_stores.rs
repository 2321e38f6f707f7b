//! The test certificates (integration/src/tls.rs, made by openssl and
//! keytool) through zk-config's X509Util, the code zk-bin's secure ports
//! use: every store format loads, and in-memory rustls handshakes between
//! a server and a client config admit what Apache 3.8 admits (a trusted
//! client, a v1 certificate from the trusted CA, as kazoo's harness makes)
//! and refuse what it refuses (untrusted CA, expired, no certificate),
//! with the session's subject DN as Java's X500Principal spells it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use integration::tls::{is_missing_tool, Identity, StoreType, TlsFixture};
use zk_config::rustls::pki_types::ServerName;
use zk_config::rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};
use zk_config::{subject_dn, SystemProperties, X509Util};

/// The fixture, shared by the test binaries under the target dir.
fn fixture() -> Option<TlsFixture> {
    match TlsFixture::cached(std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(tls) => Some(tls),
        Err(e) if is_missing_tool(&e) => {
            println!("SKIPPED: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// System properties as zk-bin would have them from zoo.cfg's `ssl.*`.
fn props(tls: &TlsFixture, id: Option<&Identity>, store: StoreType) -> SystemProperties {
    let mut props = SystemProperties::new();
    for (k, v) in tls.store_settings("zookeeper.ssl.", id, store) {
        props.set(k, v);
    }
    props.set("zookeeper.ssl.clientAuth", "need");
    props
}

fn server_config(tls: &TlsFixture, store: StoreType) -> Arc<ServerConfig> {
    X509Util::client(&props(tls, Some(tls.server(1)), store))
        .create_ssl_server_config()
        .unwrap_or_else(|e| panic!("{} server store: {e}", store.config_name()))
}

fn client_config(tls: &TlsFixture, id: Option<&Identity>, store: StoreType) -> Arc<ClientConfig> {
    X509Util::client(&props(tls, id, store))
        .create_ssl_client_config()
        .unwrap_or_else(|e| panic!("{} client store: {e}", store.config_name()))
}

/// Runs a handshake in memory; Ok with the subject DN of the client's
/// certificate as the server saw it.
fn handshake(server: Arc<ServerConfig>, client: Arc<ClientConfig>) -> Result<String, String> {
    let mut s = ServerConnection::new(server).map_err(|e| e.to_string())?;
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let mut c = ClientConnection::new(client, name).map_err(|e| e.to_string())?;
    for _ in 0..20 {
        let mut buf = Vec::new();
        c.write_tls(&mut buf).map_err(|e| e.to_string())?;
        if !buf.is_empty() {
            s.read_tls(&mut &buf[..]).map_err(|e| e.to_string())?;
            s.process_new_packets()
                .map_err(|e| format!("server: {e}"))?;
        }
        buf.clear();
        s.write_tls(&mut buf).map_err(|e| e.to_string())?;
        if !buf.is_empty() {
            c.read_tls(&mut &buf[..]).map_err(|e| e.to_string())?;
            c.process_new_packets()
                .map_err(|e| format!("client: {e}"))?;
        }
        if !s.is_handshaking() && !c.is_handshaking() {
            let certs = s.peer_certificates().ok_or("no client certificate")?;
            return subject_dn(&certs[0]).map_err(|e| e.to_string());
        }
    }
    Err("the handshake did not finish in 20 rounds".into())
}

#[test]
fn every_store_format_loads_and_a_trusted_client_is_admitted() {
    let Some(tls) = fixture() else {
        return;
    };
    for server_store in StoreType::ALL {
        for client_store in StoreType::ALL {
            let dn = handshake(
                server_config(&tls, server_store),
                client_config(&tls, Some(&tls.client), client_store),
            )
            .unwrap_or_else(|e| {
                panic!(
                    "{} server, {} client: {e}",
                    server_store.config_name(),
                    client_store.config_name()
                )
            });
            assert_eq!(dn, tls.client.subject_dn);
        }
    }
}

#[test]
fn refused_clients_are_refused() {
    let Some(tls) = fixture() else {
        return;
    };
    let server = server_config(&tls, StoreType::Pkcs12);
    for (who, id) in [
        ("no certificate", None),
        ("untrusted CA", Some(&tls.untrusted)),
        ("expired", Some(&tls.expired)),
    ] {
        let result = handshake(server.clone(), client_config(&tls, id, StoreType::Pkcs12));
        assert!(result.is_err(), "{who}: admitted as {result:?}");
        println!("{who}: refused: {}", result.unwrap_err());
    }
}

/// Apache 3.8 (Java's PKIX) admits a version 1 certificate from a trusted
/// CA (tests/tls_clients.rs checks it); kazoo's test harness makes its
/// client certificate so. webpki, rustls' default verifier, accepts only
/// version 3.
#[test]
fn a_v1_client_certificate_from_the_trusted_ca_is_admitted_as_3_8_does() {
    let Some(tls) = fixture() else {
        return;
    };
    let dn = handshake(
        server_config(&tls, StoreType::Pkcs12),
        client_config(&tls, Some(&tls.v1_client), StoreType::Pkcs12),
    )
    .unwrap_or_else(|e| panic!("a v1 client certificate was refused: {e}"));
    assert_eq!(dn, tls.v1_client.subject_dn);
}

/// kazoo's harness also gives the server a v1 certificate (`CN=localhost`,
/// no extensions) in its JKS keystore; 3.8 serves with it. Hostname
/// verification is off here as a v1 certificate has no SAN (kazoo's
/// client does not check host names).
#[test]
fn a_v1_server_certificate_serves_as_3_8_serves_it() {
    let Some(tls) = fixture() else {
        return;
    };
    let mut server_props = props(&tls, Some(&tls.v1_client), StoreType::Jks);
    server_props.set("zookeeper.ssl.clientAuth", "none");
    let server = X509Util::client(&server_props)
        .create_ssl_server_config()
        .unwrap_or_else(|e| panic!("a v1 server certificate does not load: {e}"));
    let mut client_props = props(&tls, None, StoreType::Jks);
    client_props.set("zookeeper.ssl.hostnameVerification", "false");
    let client = X509Util::client(&client_props)
        .create_ssl_client_config()
        .unwrap_or_else(|e| panic!("{e}"));
    // `handshake` reports a finished handshake without a client
    // certificate as this error; any other is a failed handshake.
    match handshake(server, client) {
        Err(e) if e == "no client certificate" => {}
        other => panic!("expected a handshake without a client certificate, got {other:?}"),
    }
}
