//! `ZKTrustManager`: how a client-side TLS connection checks the server.
//!
//! The chain must lead to the trust store's anchors and be valid now
//! (webpki, through rustls); then, unless `ssl.hostnameVerification=false`,
//! the certificate must name the host dialled by 3.8's rules
//! ([`crate::zk_hostname_verifier`]). With verification off the chain is
//! still checked, as in 3.8.
//!
//! The host is the `ServerName` the caller hands rustls: an IP address
//! (what quorum peers and most clients dial) or a DNS name. 3.8 falls back
//! to the reverse-DNS name of the peer address when the address does not
//! match; zk-rs does not do reverse lookups (they would block a selector
//! thread mid-handshake), so a certificate must name the address or name
//! actually dialled.
//!
//! Version 1 leaf certificates, which webpki refuses and Java accepts, are
//! checked by [`crate::x509_v1_certificate`] on both sides: here, and in
//! [`ZKClientCertVerifier`] (3.8's `checkClientTrusted`) around rustls'
//! client verifier.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, OtherError, RootCertStore,
    SignatureScheme,
};

use crate::x509_exception::X509Exception;
use crate::x509_v1_certificate as v1;
use crate::zk_hostname_verifier::{self, Host};

/// Server certificate verification as 3.8's `ZKTrustManager.checkServerTrusted`.
#[derive(Debug)]
pub(crate) struct ZKTrustManager {
    roots: Arc<RootCertStore>,
    supported: WebPkiSupportedAlgorithms,
    hostname_verification: bool,
}

impl ZKTrustManager {
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        supported: WebPkiSupportedAlgorithms,
        hostname_verification: bool,
    ) -> Self {
        ZKTrustManager {
            roots,
            supported,
            hostname_verification,
        }
    }
}

/// A certificate refusal carrying our own explanation.
pub(crate) fn certificate_refused(message: String) -> Error {
    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
        X509Exception::new(message),
    ))))
}

/// Checks that `cert` names `host` by 3.8's rules.
pub(crate) fn verify_host(host: Host<'_>, cert: &CertificateDer<'_>) -> Result<(), String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| format!("cannot parse the peer certificate: {e}"))?;
    zk_hostname_verifier::verify(host, &parsed)
}

impl ServerCertVerifier for ZKTrustManager {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if v1::is_v1(end_entity) {
            v1::verify_leaf(end_entity, &self.roots, now, self.supported.all)?;
        } else {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                &self.roots,
                intermediates,
                now,
                self.supported.all,
            )?;
        }
        // x509-parser, not webpki: this reads v1 certificates too.
        if self.hostname_verification {
            let host = match server_name {
                ServerName::IpAddress(ip) => Host::Ip(IpAddr::from(*ip)),
                ServerName::DnsName(name) => Host::Dns(name.as_ref()),
                other => {
                    return Err(certificate_refused(format!(
                        "cannot verify the host name {other:?}"
                    )))
                }
            };
            verify_host(host, end_entity).map_err(certificate_refused)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if v1::is_v1(cert) {
            return v1::verify_signature(message, cert, dss, &self.supported, false);
        }
        verify_tls12_signature(message, cert, dss, &self.supported)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if v1::is_v1(cert) {
            return v1::verify_signature(message, cert, dss, &self.supported, true);
        }
        verify_tls13_signature(message, cert, dss, &self.supported)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.supported.supported_schemes()
    }
}

/// Client certificate verification on our servers: rustls' webpki
/// verifier (`inner`, which also holds the anonymous-client policy of
/// `ssl.clientAuth`), except for version 1 leaves, which it would refuse.
#[derive(Debug)]
pub(crate) struct ZKClientCertVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    roots: Arc<RootCertStore>,
    supported: WebPkiSupportedAlgorithms,
}

impl ZKClientCertVerifier {
    pub(crate) fn new(
        inner: Arc<dyn ClientCertVerifier>,
        roots: Arc<RootCertStore>,
        supported: WebPkiSupportedAlgorithms,
    ) -> Self {
        ZKClientCertVerifier {
            inner,
            roots,
            supported,
        }
    }
}

impl ClientCertVerifier for ZKClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        if v1::is_v1(end_entity) {
            v1::verify_leaf(end_entity, &self.roots, now, self.supported.all)?;
            return Ok(ClientCertVerified::assertion());
        }
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if v1::is_v1(cert) {
            return v1::verify_signature(message, cert, dss, &self.supported, false);
        }
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if v1::is_v1(cert) {
            return v1::verify_signature(message, cert, dss, &self.supported, true);
        }
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
