//! `JKSFileLoader`: Java's proprietary JKS keystores.

use rustls::pki_types::CertificateDer;

use crate::file_key_store_loader::{KeyMaterial, StoreFile};
use crate::x509_exception::X509Exception;

/// The key store's first private key entry and its chain.
pub(crate) fn load_key_store(store: &StoreFile<'_>) -> Result<KeyMaterial, X509Exception> {
    Err(store
        .error("JKS stores are not supported yet: convert to PKCS12 with keytool -importkeystore"))
}

/// The trusted certificate entries.
pub(crate) fn load_trust_store(
    store: &StoreFile<'_>,
) -> Result<Vec<CertificateDer<'static>>, X509Exception> {
    Err(store
        .error("JKS stores are not supported yet: convert to PKCS12 with keytool -importkeystore"))
}
