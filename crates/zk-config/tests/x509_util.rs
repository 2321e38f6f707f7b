//! X509Util against the committed fixtures of tests/data (made by
//! tests/data/gen.sh with keytool and openssl): store loading, errors, and
//! in-memory rustls handshakes between the server and client configs.

mod tls_common;

use std::net::IpAddr;

use tls_common::{client_props, configs, data, handshake, pem_cert, server_props};
use zk_config::rustls;
use zk_config::{subject_dn, ClientAuth, SystemProperties, X509Util};

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
            assert!(!text.contains("OtherError"), "{text}");
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

#[test]
fn subject_dns_as_java_prints_them() {
    let expected = std::fs::read_to_string(data("subject-dn.txt")).unwrap();
    for line in expected.lines() {
        let (file, dn) = line.split_once('\t').unwrap();
        assert_eq!(subject_dn(&pem_cert(file)).unwrap(), dn, "{file}");
    }
}

#[test]
fn debug_hides_passwords() {
    let mut p = SystemProperties::new();
    p.set("zookeeper.ssl.keyStore.password", "hunter2");
    p.set("zookeeper.ssl.trustStore.passwordPath", "/secret/path");
    p.set("zookeeper.ssl.clientAuth", "want");
    let shown = format!("{:?}", X509Util::client(&p));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("want"), "{shown}");
}
