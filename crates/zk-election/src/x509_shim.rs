//! TEMPORARY stand-in for zk-config's `X509Util` (the x509 helper's API,
//! same signatures) until it lands in main: `git merge main`, then delete
//! this file and import `zk_config::{X509Util, X509Exception, ClientAuth}`.
//!
//! It serves only what the quorum needs for its tests: PEM key and trust
//! stores (`ssl.quorum.keyStore.location` holding the private key and the
//! certificate chain, `ssl.quorum.trustStore.location` the CA
//! certificates), `ssl.quorum.clientAuth`, `ssl.quorum.hostnameVerification`
//! and `ssl.quorum.handshakeDetectionTimeoutMillis`.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use zk_config::SystemProperties;

/// `ssl.clientAuth`: whether a TLS server asks for (and needs) a client
/// certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A client without a certificate is refused (3.8's default).
    Need,
    /// A certificate is asked for, not required.
    Want,
    /// None is asked for.
    None,
}

/// A TLS setting that cannot be used: names the key and the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Exception(pub String);

impl fmt::Display for X509Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for X509Exception {}

/// 3.8's `X509Util` for the `zookeeper.ssl.quorum.` prefix.
#[derive(Debug, Clone)]
pub struct X509Util {
    prefix: &'static str,
    props: SystemProperties,
}

impl X509Util {
    /// `QuorumX509Util`: the `zookeeper.ssl.quorum.*` properties.
    pub fn quorum(props: &SystemProperties) -> X509Util {
        X509Util {
            prefix: "zookeeper.ssl.quorum.",
            props: props.clone(),
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        self.props
            .get(&format!("{}{key}", self.prefix))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn key_name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// `ssl.quorum.clientAuth` (need by default).
    pub fn client_auth(&self) -> ClientAuth {
        match self.get("clientAuth").map(|v| v.to_ascii_lowercase()) {
            Some(v) if v == "want" => ClientAuth::Want,
            Some(v) if v == "none" => ClientAuth::None,
            _ => ClientAuth::Need,
        }
    }

    /// `ssl.quorum.handshakeDetectionTimeoutMillis` (5000 by default).
    pub fn handshake_detection_timeout(&self) -> Duration {
        let ms = self
            .get("handshakeDetectionTimeoutMillis")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&v| v > 0)
            .unwrap_or(5000);
        Duration::from_millis(ms)
    }

    fn hostname_verification(&self) -> bool {
        self.get("hostnameVerification")
            .map_or(true, |v| v.eq_ignore_ascii_case("true"))
    }

    fn pem_file(&self, key: &str) -> Result<(String, Vec<u8>), X509Exception> {
        let name = self.key_name(key);
        let path = self
            .get(key)
            .ok_or_else(|| X509Exception(format!("{name} is not set")))?;
        let bytes = std::fs::read(&path)
            .map_err(|e| X509Exception(format!("{name}: cannot read {path}: {e}")))?;
        Ok((path, bytes))
    }

    fn key_store(
        &self,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), X509Exception> {
        let (path, bytes) = self.pem_file("keyStore.location")?;
        let name = self.key_name("keyStore.location");
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| X509Exception(format!("{name}: {path}: bad PEM certificate: {e}")))?;
        if certs.is_empty() {
            return Err(X509Exception(format!("{name}: {path}: no certificate")));
        }
        let key = PrivateKeyDer::from_pem_slice(&bytes)
            .map_err(|e| X509Exception(format!("{name}: {path}: no usable private key: {e}")))?;
        Ok((certs, key))
    }

    fn trust_store(&self) -> Result<rustls::RootCertStore, X509Exception> {
        let (path, bytes) = self.pem_file("trustStore.location")?;
        let name = self.key_name("trustStore.location");
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&bytes) {
            let c = c.map_err(|e| X509Exception(format!("{name}: {path}: bad PEM: {e}")))?;
            roots
                .add(c)
                .map_err(|e| X509Exception(format!("{name}: {path}: {e}")))?;
        }
        if roots.is_empty() {
            return Err(X509Exception(format!("{name}: {path}: no certificate")));
        }
        Ok(roots)
    }

    /// The TLS server side: our key store, clients verified against the
    /// trust store as `clientAuth` says.
    pub fn create_ssl_server_config(&self) -> Result<Arc<rustls::ServerConfig>, X509Exception> {
        let (certs, key) = self.key_store()?;
        let roots = Arc::new(self.trust_store()?);
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| X509Exception(e.to_string()))?;
        let builder = match self.client_auth() {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let mut v =
                    rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider());
                if auth == ClientAuth::Want {
                    v = v.allow_unauthenticated();
                }
                let v = v.build().map_err(|e| X509Exception(e.to_string()))?;
                builder.with_client_cert_verifier(v)
            }
        };
        let cfg = builder
            .with_single_cert(certs, key)
            .map_err(|e| X509Exception(format!("{}: {e}", self.key_name("keyStore.location"))))?;
        Ok(Arc::new(cfg))
    }

    /// The TLS client side: servers verified against the trust store, our
    /// key store presented as the client certificate.
    pub fn create_ssl_client_config(&self) -> Result<Arc<rustls::ClientConfig>, X509Exception> {
        let (certs, key) = self.key_store()?;
        let roots = self.trust_store()?;
        let cfg = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| X509Exception(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| X509Exception(format!("{}: {e}", self.key_name("keyStore.location"))))?;
        Ok(Arc::new(cfg))
    }

    /// 3.8 verifies a quorum client's address against its certificate.
    pub fn verify_client_hostname(
        &self,
        peer_certs: &[CertificateDer<'_>],
        peer: IpAddr,
    ) -> Result<(), X509Exception> {
        if !self.hostname_verification() {
            return Ok(());
        }
        let Some(cert) = peer_certs.first() else {
            return Ok(());
        };
        let parsed = rustls::server::ParsedCertificate::try_from(cert)
            .map_err(|e| X509Exception(format!("client certificate: {e}")))?;
        rustls::client::verify_server_name(&parsed, &ServerName::IpAddress(peer.into()))
            .map_err(|e| X509Exception(format!("client certificate is not valid for {peer}: {e}")))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
