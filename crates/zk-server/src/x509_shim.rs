//! TEMPORARY stand-in for zk-config's `X509Util` (being written beside
//! this branch), with exactly the signatures the admin server uses from
//! it, so that the switch is one `use` line. PEM key stores only, no
//! trust store (the admin server asks for no client certificate).
//! Removed when zk-config's `X509Util` is merged.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zk_config::SystemProperties;

/// Why a TLS context could not be built; names the key and the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Exception(pub String);

impl fmt::Display for X509Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for X509Exception {}

/// `X509Util` with `QuorumX509Util`'s prefix.
pub struct X509Util {
    prefix: &'static str,
    props: SystemProperties,
}

impl X509Util {
    /// `QuorumX509Util`: `zookeeper.ssl.quorum.*`.
    pub fn quorum(props: &SystemProperties) -> X509Util {
        X509Util {
            prefix: "zookeeper.ssl.quorum.",
            props: props.clone(),
        }
    }

    /// A server context with the key store's key and chain, asking for no
    /// client certificate.
    pub fn create_ssl_server_config(&self) -> Result<Arc<rustls::ServerConfig>, X509Exception> {
        let key = format!("{}keyStore.location", self.prefix);
        let Some(path) = self.props.get(&key).filter(|p| !p.is_empty()) else {
            return Err(X509Exception(format!("{key} is not set")));
        };
        let err = |what: String| X509Exception(format!("{key}={path}: {what}"));
        let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| err(format!("not a PEM key store: {e}")))?;
        if certs.is_empty() {
            return Err(err("no certificate in the PEM key store".into()));
        }
        let private = PrivateKeyDer::from_pem_slice(&bytes)
            .map_err(|e| err(format!("no private key in the PEM key store: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| err(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, private)
            .map(Arc::new)
            .map_err(|e| err(format!("the key does not match the certificate: {e}")))
    }
}
