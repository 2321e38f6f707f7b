//! What the store loaders share (3.8's `FileKeyStoreLoader`): which file,
//! under which setting, with which password; and what a loaded store gives
//! rustls.
//!
//! 3.8 builds a `java.security.KeyStore` and lets the JSSE key and trust
//! managers pick from it. rustls wants the pieces themselves: one private
//! key with its certificate chain (the key manager's choice), and the
//! trusted certificates (a PKIX trust manager's anchors: the store's
//! trusted-certificate entries only).

use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::jks_file_loader::{JCEKS_MAGIC, JKS_MAGIC};
use crate::key_store_file_type::KeyStoreFileType;
use crate::x509_exception::X509Exception;
use crate::{jks_file_loader, pem_file_loader, pkcs12_file_loader};

/// A key store or trust store file, as the settings name it.
pub(crate) struct StoreFile<'a> {
    /// The location property, e.g. `zookeeper.ssl.keyStore.location`:
    /// errors name it with the path.
    pub location_key: &'a str,
    /// The password property, named (never its value) when the password
    /// is wrong.
    pub password_key: &'a str,
    /// The file.
    pub path: PathBuf,
    /// The store password ("" when unset).
    pub password: &'a str,
    /// The format, from the type property or the extension.
    pub file_type: KeyStoreFileType,
}

impl StoreFile<'_> {
    /// An error about this file.
    pub fn error(&self, problem: impl Into<String>) -> X509Exception {
        X509Exception::for_file(self.location_key, &self.path, problem)
    }

    /// The error for a store that fails its integrity check or does not
    /// decrypt: with these formats a wrong password and a damaged file
    /// look the same.
    pub fn wrong_password(&self, detail: impl std::fmt::Display) -> X509Exception {
        let password = if self.password.is_empty() {
            format!("{} is not set", self.password_key)
        } else {
            format!("check {}", self.password_key)
        };
        self.error(format!(
            "cannot open the {} store: wrong password ({password}) or damaged file ({detail})",
            self.file_type
        ))
    }

    /// The file's bytes.
    pub fn read(&self) -> Result<Vec<u8>, X509Exception> {
        std::fs::read(&self.path).map_err(|e| self.error(format!("cannot read the file: {e}")))
    }

    /// The path, for log lines.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A key store's private key and its certificate chain (leaf first).
pub(crate) struct KeyMaterial {
    /// Leaf certificate first, then its issuers as the store holds them.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("chain", &self.chain.len())
            .field("key", &"<hidden>")
            .finish()
    }
}

/// The key as ring accepts it. Java (keytool, and so JKS and PKCS12
/// stores) writes EC private keys without the optional public key, which
/// ring insists on; for P-256 and P-384 keys the public key is derived and
/// the PKCS#8 re-encoded with it. Other keys are returned as they are.
pub(crate) fn with_public_key(key: PrivateKeyDer<'static>) -> PrivateKeyDer<'static> {
    use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let PrivateKeyDer::Pkcs8(pkcs8) = &key else {
        return key;
    };
    let der = pkcs8.secret_pkcs8_der();
    let reencoded = if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
        k.to_pkcs8_der().ok()
    } else if let Ok(k) = p384::SecretKey::from_pkcs8_der(der) {
        k.to_pkcs8_der().ok()
    } else {
        None
    };
    match reencoded {
        Some(doc) => PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
            doc.as_bytes().to_vec(),
        )),
        None => key,
    }
}

/// The reader for a file's actual format. Since JDK 9 a `JKS` or `PKCS12`
/// Java `KeyStore` reads either format (`keystore.type.compat`), so a
/// 3.8 node on a current JDK accepts a PKCS12 file typed JKS and the other
/// way round; so does zk-rs, telling them apart by JKS's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pem,
    Pkcs12,
    Jks,
}

fn format(store: &StoreFile<'_>, data: &[u8]) -> Result<Format, X509Exception> {
    match store.file_type {
        KeyStoreFileType::Pem => Ok(Format::Pem),
        KeyStoreFileType::Bcfks => Err(store.error(
            "BCFKS (Bouncy Castle FIPS) stores are not supported by zk-rs: convert it to \
             PKCS12 with keytool -importkeystore",
        )),
        KeyStoreFileType::Jks | KeyStoreFileType::Pkcs12 => {
            if data.starts_with(&JKS_MAGIC) {
                Ok(Format::Jks)
            } else if data.starts_with(&JCEKS_MAGIC) {
                Err(store.error(
                    "JCEKS stores are not supported: convert it to PKCS12 with keytool \
                     -importkeystore",
                ))
            } else {
                Ok(Format::Pkcs12)
            }
        }
    }
}

/// Reads a key store: its (first) private key and that key's chain.
pub(crate) fn load_key_store(store: &StoreFile<'_>) -> Result<KeyMaterial, X509Exception> {
    let data = store.read()?;
    let material = match format(store, &data)? {
        Format::Pem => pem_file_loader::load_key_store(store, &data),
        Format::Pkcs12 => pkcs12_file_loader::load_key_store(store, &data),
        Format::Jks => jks_file_loader::load_key_store(store, &data),
    }?;
    Ok(KeyMaterial {
        chain: material.chain,
        key: with_public_key(material.key),
    })
}

/// Reads a trust store: its trusted certificates.
pub(crate) fn load_trust_store(
    store: &StoreFile<'_>,
) -> Result<Vec<CertificateDer<'static>>, X509Exception> {
    let data = store.read()?;
    match format(store, &data)? {
        Format::Pem => pem_file_loader::load_trust_store(store, &data),
        Format::Pkcs12 => pkcs12_file_loader::load_trust_store(store, &data),
        Format::Jks => jks_file_loader::load_trust_store(store, &data),
    }
}
