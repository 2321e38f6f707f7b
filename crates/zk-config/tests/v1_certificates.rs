//! X.509 version 1 certificates (tests/data/gen-v1.sh), which Java and so
//! 3.8 accept from a trusted CA and webpki alone refuses: kazoo's test
//! harness makes both its client and its server certificate so. In-memory
//! handshakes between X509Util's configs, over TLS 1.2 (3.8's default)
//! and TLS 1.3.

mod tls_common;

use tls_common::{client_props, configs, handshake, server_props};
use zk_config::rustls::{CertificateError, Error};
use zk_config::{subject_dn, SystemProperties};

const TLS13: (&str, &str) = ("enabledProtocols", "TLSv1.3");

/// Server and client properties with `extra` on both (the TLS version).
fn both(
    server_ks: &str,
    client_ks: Option<&str>,
    extra: &[(&str, &str)],
) -> (SystemProperties, SystemProperties) {
    (
        server_props(server_ks, extra),
        client_props(client_ks, extra),
    )
}

fn refusal(e: &Error) -> Option<&CertificateError> {
    match e {
        Error::InvalidCertificate(c) => Some(c),
        _ => None,
    }
}

#[test]
fn a_v1_client_certificate_from_the_trusted_ca_is_admitted_with_its_subject() {
    for extra in [&[][..], &[TLS13]] {
        for auth in ["need", "want"] {
            let mut extra = extra.to_vec();
            extra.push(("clientAuth", auth));
            let (s, c) = both("@server.p12", Some("@v1-client.pem"), &extra);
            let (s, c) = configs(&s, &c);
            let (server, _) = handshake(s, c, "localhost")
                .unwrap_or_else(|e| panic!("{extra:?}: v1 client refused: {e}"));
            let certs = server.peer_certificates().expect("a client certificate");
            assert_eq!(
                subject_dn(&certs[0]).unwrap(),
                "CN=client-v1,OU=clients,O=zk-rs",
                "{extra:?}"
            );
        }
    }
}

#[test]
fn v1_client_certificates_are_refused_as_v3_ones_are() {
    for extra in [&[][..], &[TLS13]] {
        for (ks, want) in [
            ("@v1-untrusted.pem", CertificateError::UnknownIssuer),
            // The trusted CA's name, another key: the signature fails.
            ("@v1-impostor.pem", CertificateError::BadSignature),
            ("@v1-expired.pem", CertificateError::Expired),
            ("@v1-notyet.pem", CertificateError::NotValidYet),
        ] {
            let (s, c) = both("@server.p12", Some(ks), extra);
            let (s, c) = configs(&s, &c);
            let e = handshake(s, c, "localhost").expect_err(ks);
            assert_eq!(refusal(&e), Some(&want), "{ks} {extra:?}: {e:?}");
        }
    }
}

/// A v1 server (`ssl.clientAuth=none`, `extra` on both sides) and a
/// certless client.
fn v1_server(extra: &[(&str, &str)], host: &str) -> Result<(), Error> {
    let mut server_extra = extra.to_vec();
    server_extra.push(("clientAuth", "none"));
    let (s, c) = configs(
        &server_props("@v1-server.pem", &server_extra),
        &client_props(None, extra),
    );
    handshake(s, c, host).map(|_| ())
}

#[test]
fn a_v1_server_certificate_is_accepted_for_its_common_name_only() {
    for extra in [&[][..], &[TLS13]] {
        v1_server(extra, "localhost")
            .unwrap_or_else(|e| panic!("{extra:?}: v1 server refused: {e}"));
        // With the v1 client too: kazoo's harness has both.
        let (s, c) = both("@v1-server.pem", Some("@v1-client.pem"), extra);
        let (s, c) = configs(&s, &c);
        handshake(s, c, "localhost")
            .unwrap_or_else(|e| panic!("{extra:?}: v1 server and client: {e}"));
        // No SAN: the CN is the only name, so any other is refused while
        // hostname verification is on (the default) and accepted when off.
        for host in ["otherhost", "127.0.0.1"] {
            let e = v1_server(extra, host).expect_err(host);
            assert!(
                e.to_string()
                    .contains("doesn't match the common name of its subject: localhost"),
                "{host} {extra:?}: {e}"
            );
            let mut off = extra.to_vec();
            off.push(("hostnameVerification", "false"));
            v1_server(&off, host).unwrap_or_else(|e| panic!("{host} {extra:?}: {e}"));
        }
    }
}

#[test]
fn a_v1_server_certificate_outside_the_trust_store_is_refused() {
    let s = server_props("@v1-server.pem", &[("clientAuth", "none")]);
    let c = tls_common::props(&[
        ("trustStore.location", "@selfsigned-trust.jks"),
        ("trustStore.password", "password"),
    ]);
    let (s, c) = configs(&s, &c);
    let e = handshake(s, c, "localhost").unwrap_err();
    assert_eq!(refusal(&e), Some(&CertificateError::UnknownIssuer), "{e:?}");
}

/// A client presenting the trusted v1 certificate but signing the
/// handshake with another key: the CertificateVerify signature is checked
/// against the v1 certificate's key (rustls' X509Util refuses to load such
/// a pair, so this client is put together by hand).
#[test]
fn a_v1_certificate_with_someone_elses_key_fails_the_handshake_signature() {
    use std::sync::Arc;
    use zk_config::rustls::pki_types::pem::PemObject;
    use zk_config::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use zk_config::rustls::sign::{CertifiedKey, SingleCertAndKey};
    use zk_config::rustls::{ClientConfig, RootCertStore};

    let provider = Arc::new(zk_config::rustls::crypto::ring::default_provider());
    let cert = CertificateDer::from_pem_file(tls_common::data("v1-client.crt")).unwrap();
    let other = PrivateKeyDer::from_pem_file(tls_common::data("v1-untrusted.pem")).unwrap();
    let other = provider.key_provider.load_private_key(other).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(tls_common::pem_cert("ca.pem")).unwrap();
    for versions in [
        &[&zk_config::rustls::version::TLS12][..],
        &[&zk_config::rustls::version::TLS13],
    ] {
        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(CertifiedKey::new(
                vec![cert.clone()],
                other.clone(),
            ))));
        let server = zk_config::X509Util::client(&server_props(
            "@server.p12",
            &[("enabledProtocols", "TLSv1.2,TLSv1.3")],
        ))
        .create_ssl_server_config()
        .unwrap();
        let e = handshake(server, Arc::new(client), "localhost").unwrap_err();
        assert_eq!(
            refusal(&e),
            Some(&CertificateError::BadSignature),
            "{versions:?}: {e:?}"
        );
    }
}
