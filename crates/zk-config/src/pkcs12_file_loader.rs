//! `PKCS12FileLoader`: PKCS#12 key and trust stores as keytool writes them
//! (JDK 9+: PBES2/AES-256 with HMAC-SHA256; older JDKs and openssl:
//! PBE-SHA1-3DES / RC2-40 with HMAC-SHA1), read with the p12-keystore crate.
//!
//! As Java's PKCS12 `KeyStore`: the key store's key is a private key entry
//! with its certificate chain; a trust store's anchors are the
//! certificates keytool marked trusted (the Oracle trusted-key-usage bag
//! attribute, which `keytool -importcert` sets). Java ignores unmarked
//! certificate bags (those `openssl pkcs12 -export -nokeys` writes) when it
//! loads a PKCS12 trust store, and so does this loader.

use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12Archive, Pkcs12ImportPolicy};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::file_key_store_loader::{KeyMaterial, StoreFile};
use crate::x509_exception::X509Exception;

/// The first private key entry (by alias) and its chain.
pub(crate) fn load_key_store(
    store: &StoreFile<'_>,
    data: &[u8],
) -> Result<KeyMaterial, X509Exception> {
    let keystore = KeyStore::from_pkcs12(data, store.password, Pkcs12ImportPolicy::Strict)
        .map_err(|e| store.wrong_password(e))?;
    let keys: Vec<(&String, &p12_keystore::PrivateKeyChain)> = keystore
        .entries()
        .filter_map(|(alias, entry)| match entry {
            KeyStoreEntry::PrivateKeyChain(chain) => Some((alias, chain)),
            _ => None,
        })
        .collect();
    let Some((alias, chain)) = keys.first() else {
        return Err(
            store.error("the PKCS12 key store holds no private key entry with a certificate")
        );
    };
    if keys.len() > 1 {
        log::warn!(
            "{}: {} private key entries, using the first, alias {alias}",
            store.path().display(),
            keys.len()
        );
    }
    Ok(KeyMaterial {
        chain: chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
    })
}

/// The trusted certificate entries.
pub(crate) fn load_trust_store(
    store: &StoreFile<'_>,
    data: &[u8],
) -> Result<Vec<CertificateDer<'static>>, X509Exception> {
    let archive =
        Pkcs12Archive::from_pkcs12(data, store.password).map_err(|e| store.wrong_password(e))?;
    let certs: Vec<CertificateDer<'static>> = archive
        .certs
        .iter()
        .filter(|bag| bag.trusted)
        .map(|bag| CertificateDer::from(bag.cert.as_der().to_vec()))
        .collect();
    if certs.is_empty() {
        return Err(store.error(
            "the PKCS12 trust store holds no trusted certificate entry (Java ignores \
             certificates not imported with keytool -importcert, and so does zk-rs)",
        ));
    }
    Ok(certs)
}
