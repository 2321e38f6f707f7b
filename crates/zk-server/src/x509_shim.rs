//! TEMPORARY stand-in for zk-config's `X509Util` (the x509 helper's API),
//! with exactly its signatures, so the secure client port can be built and
//! tested before that lands. PEM key and trust stores only. Removed once
//! `zk_config::X509Util` is merged.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use zk_config::SystemProperties;

/// `ssl.clientAuth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A client certificate is required.
    Need,
    /// A client certificate is asked for, not required.
    Want,
    /// No client certificate is asked for.
    None,
}

/// A key or trust store that cannot be used.
#[derive(Debug, Clone)]
pub struct X509Exception(pub String);

impl fmt::Display for X509Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for X509Exception {}

/// 3.8's `ClientX509Util` (the `zookeeper.ssl.` prefix).
pub struct X509Util {
    prefix: &'static str,
    props: SystemProperties,
}

impl X509Util {
    /// `ClientX509Util`: `zookeeper.ssl.*`.
    pub fn client(props: &SystemProperties) -> X509Util {
        X509Util {
            prefix: "zookeeper.ssl.",
            props: props.clone(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.props
            .get(&format!("{}{}", self.prefix, key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// `ssl.clientAuth` (3.8's default: need).
    pub fn client_auth(&self) -> ClientAuth {
        match self
            .get("clientAuth")
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("WANT") => ClientAuth::Want,
            Some("NONE") => ClientAuth::None,
            _ => ClientAuth::Need,
        }
    }

    /// `ssl.handshakeDetectionTimeoutMillis` (default 5000).
    pub fn handshake_detection_timeout(&self) -> Duration {
        let ms = self
            .get("handshakeDetectionTimeoutMillis")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|v| *v > 0)
            .unwrap_or(5000);
        Duration::from_millis(ms)
    }

    /// `ssl.authProvider` (default x509).
    pub fn ssl_auth_provider(&self) -> String {
        self.get("authProvider").unwrap_or("x509").to_string()
    }

    /// Client host name verification (off in this stand-in).
    pub fn verify_client_hostname(
        &self,
        _peer_certs: &[CertificateDer<'_>],
        _peer: IpAddr,
    ) -> Result<(), X509Exception> {
        Ok(())
    }

    /// The server's TLS configuration from the PEM key and trust stores.
    pub fn create_ssl_server_config(&self) -> Result<Arc<ServerConfig>, X509Exception> {
        let ks = self
            .get("keyStore.location")
            .ok_or_else(|| X509Exception(format!("{}keyStore.location is not set", self.prefix)))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ks)
            .and_then(|i| i.collect::<Result<_, _>>())
            .map_err(|e| X509Exception(format!("Failed to load keystore {ks}: {e}")))?;
        let key = PrivateKeyDer::from_pem_file(ks)
            .map_err(|e| X509Exception(format!("Failed to load keystore {ks}: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| X509Exception(e.to_string()))?;
        let auth = self.client_auth();
        let builder = if auth == ClientAuth::None {
            builder.with_no_client_auth()
        } else {
            let ts = self.get("trustStore.location").ok_or_else(|| {
                X509Exception(format!("{}trustStore.location is not set", self.prefix))
            })?;
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ts)
                .map_err(|e| X509Exception(format!("Failed to load truststore {ts}: {e}")))?
            {
                let c = c.map_err(|e| X509Exception(format!("truststore {ts}: {e}")))?;
                roots
                    .add(c)
                    .map_err(|e| X509Exception(format!("truststore {ts}: {e}")))?;
            }
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let v = if auth == ClientAuth::Want {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(
                v.build()
                    .map_err(|e| X509Exception(format!("truststore {ts}: {e}")))?,
            )
        };
        let cfg = builder
            .with_single_cert(certs, key)
            .map_err(|e| X509Exception(format!("keystore {ks}: {e}")))?;
        Ok(Arc::new(cfg))
    }
}

/// The certificate's subject as Java's `X500Principal.getName()` (RFC 2253:
/// most specific RDN first, no spaces).
pub fn subject_dn(cert: &CertificateDer<'_>) -> Result<String, X509Exception> {
    let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| X509Exception(format!("bad certificate: {e}")))?;
    let mut rdns: Vec<String> = Vec::new();
    for rdn in c.subject().iter() {
        let parts: Vec<String> = rdn
            .iter()
            .map(|a| {
                let key = match a.attr_type().to_id_string().as_str() {
                    "2.5.4.3" => "CN".to_string(),
                    "2.5.4.10" => "O".to_string(),
                    "2.5.4.11" => "OU".to_string(),
                    "2.5.4.6" => "C".to_string(),
                    "2.5.4.7" => "L".to_string(),
                    "2.5.4.8" => "ST".to_string(),
                    other => other.to_string(),
                };
                format!("{}={}", key, a.as_str().unwrap_or(""))
            })
            .collect();
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}
