//! `JKSFileLoader`: Java's proprietary JKS keystores (`keytool -storetype
//! JKS`, the JDK's default before 9).
//!
//! A small reader of its own, on the sha1 crate. The `jks` crate (0.3) was
//! evaluated and not used: it indexes unchecked into attacker-sized
//! buffers (malformed input panics), allocates whatever length a file
//! claims, and is a young single-author crate; a keystore is operator
//! input that must give a clear error, never a panic. The format is small
//! and fixed (it has not changed since JDK 1.2):
//!
//! ```text
//! u32 magic 0xFEEDFEED, u32 version (1 or 2), u32 entry count
//! entry: u32 tag (1 private key, 2 trusted certificate), UTF alias, u64 date,
//!   tag 1: u32 len + EncryptedPrivateKeyInfo (Sun key protector),
//!          u32 chain length, certificates
//!   tag 2: a certificate
//!   certificate: (version 2: UTF type "X.509"), u32 len + DER
//! 20 bytes: SHA-1(password as UTF-16BE, "Mighty Aphrodite", everything above)
//! ```
//!
//! The Sun key protector (OID 1.3.6.1.4.1.42.2.17.1.1) is
//! `salt(20) || key XOR stream || check(20)`, the stream being the chain
//! of SHA-1(password || previous), starting from the salt, and the check
//! SHA-1(password || key). As 3.8 uses the store password as the key's
//! password, so does this reader.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha1::{Digest, Sha1};

use crate::file_key_store_loader::{KeyMaterial, StoreFile};
use crate::x509_exception::X509Exception;

/// The JKS file signature.
pub(crate) const JKS_MAGIC: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];
/// JCEKS (the JDK's JCE keystore), which 3.8 does not list either.
pub(crate) const JCEKS_MAGIC: [u8; 4] = [0xce, 0xce, 0xce, 0xce];

const SUN_KEY_PROTECTOR_OID: &str = "1.3.6.1.4.1.42.2.17.1.1";
const DIGEST_LEN: usize = 20;

enum Entry {
    PrivateKey {
        alias: String,
        protected_key: Vec<u8>,
        chain: Vec<CertificateDer<'static>>,
    },
    Trusted(CertificateDer<'static>),
}

/// A bounds-checked cursor: every read fails cleanly past the end.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| format!("truncated at byte {} (wanted {n} more)", self.pos))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// Java's `DataInput.readUTF` (modified UTF-8; lossy is fine for an
    /// alias, which only appears in log lines).
    fn utf(&mut self) -> Result<String, String> {
        let len = usize::from(self.u16()?);
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn blob(&mut self) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn certificate(&mut self, version: u32) -> Result<CertificateDer<'static>, String> {
        if version == 2 {
            let kind = self.utf()?;
            if kind != "X.509" {
                return Err(format!("unsupported certificate type {kind:?}"));
            }
        }
        Ok(CertificateDer::from(self.blob()?.to_vec()))
    }
}

/// The password as Java's JKS code turns it into bytes: UTF-16BE.
fn password_bytes(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Checks the integrity digest, then parses the entries.
fn parse(store: &StoreFile<'_>, data: &[u8]) -> Result<Vec<Entry>, X509Exception> {
    if data.len() < 12 + DIGEST_LEN || data[..4] != JKS_MAGIC {
        return Err(store.error("not a JKS key store (no FEEDFEED signature)"));
    }
    let (body, digest) = data.split_at(data.len() - DIGEST_LEN);
    let mut sha = Sha1::new();
    sha.update(password_bytes(store.password));
    sha.update(b"Mighty Aphrodite");
    sha.update(body);
    if sha.finalize()[..] != *digest {
        return Err(store.wrong_password("the JKS integrity check failed"));
    }
    parse_entries(body).map_err(|e| store.error(format!("damaged JKS key store: {e}")))
}

fn parse_entries(body: &[u8]) -> Result<Vec<Entry>, String> {
    let mut r = Reader { data: body, pos: 4 };
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(format!("unknown JKS version {version}"));
    }
    let count = r.u32()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let tag = r.u32()?;
        let alias = r.utf()?;
        r.take(8)?; // creation date
        match tag {
            1 => {
                let protected_key = r.blob()?.to_vec();
                let n = r.u32()?;
                let mut chain = Vec::new();
                for _ in 0..n {
                    chain.push(r.certificate(version)?);
                }
                entries.push(Entry::PrivateKey {
                    alias,
                    protected_key,
                    chain,
                });
            }
            2 => entries.push(Entry::Trusted(r.certificate(version)?)),
            3 => {
                return Err(format!(
                    "entry {alias:?} is a secret key, which JKS cannot hold"
                ))
            }
            _ => return Err(format!("entry {alias:?} has unknown tag {tag}")),
        }
    }
    if r.pos != body.len() {
        return Err(format!("{} bytes after the last entry", body.len() - r.pos));
    }
    Ok(entries)
}

/// Undoes the Sun key protector: the PKCS#8 key.
fn recover_key(protected: &[u8], password: &str) -> Result<Vec<u8>, String> {
    use pkcs8::der::asn1::AnyRef;
    use pkcs8::der::{Decode, Tag, Tagged};
    let parts: Vec<AnyRef<'_>> =
        Vec::from_der(protected).map_err(|e| format!("damaged protected key: {e}"))?;
    let [alg, data] = parts.as_slice() else {
        return Err("damaged protected key: not two fields".to_string());
    };
    let alg = alg
        .decode_as::<pkcs8::AlgorithmIdentifierRef<'_>>()
        .map_err(|e| format!("damaged protected key: {e}"))?;
    if alg.oid.to_string() != SUN_KEY_PROTECTOR_OID || data.tag() != Tag::OctetString {
        return Err(format!(
            "the key is protected with {}, not the JKS key protector",
            alg.oid
        ));
    }
    let data = data.value();
    if data.len() < 2 * DIGEST_LEN {
        return Err("damaged protected key: too short".to_string());
    }
    let (salt, rest) = data.split_at(DIGEST_LEN);
    let (encrypted, check) = rest.split_at(rest.len() - DIGEST_LEN);
    let password = password_bytes(password);
    let mut key = Vec::with_capacity(encrypted.len());
    let mut block = salt.to_vec();
    for chunk in encrypted.chunks(DIGEST_LEN) {
        let mut sha = Sha1::new();
        sha.update(&password);
        sha.update(&block);
        block = sha.finalize().to_vec();
        key.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
    }
    let mut sha = Sha1::new();
    sha.update(&password);
    sha.update(&key);
    if sha.finalize()[..] != *check {
        return Err("cannot recover the key".to_string());
    }
    Ok(key)
}

/// The first private key entry and its chain.
pub(crate) fn load_key_store(
    store: &StoreFile<'_>,
    data: &[u8],
) -> Result<KeyMaterial, X509Exception> {
    let entries = parse(store, data)?;
    let mut keys = entries.into_iter().filter_map(|e| match e {
        Entry::PrivateKey {
            alias,
            protected_key,
            chain,
        } => Some((alias, protected_key, chain)),
        Entry::Trusted(_) => None,
    });
    let Some((alias, protected_key, chain)) = keys.next() else {
        return Err(store.error("the JKS key store holds no private key entry"));
    };
    if keys.next().is_some() {
        log::warn!(
            "{}: more than one private key entry, using the first, alias {alias}",
            store.path().display()
        );
    }
    if chain.is_empty() {
        return Err(store.error(format!("the key entry {alias:?} has no certificate")));
    }
    let key = recover_key(&protected_key, store.password).map_err(|e| {
        store.wrong_password(format!(
            "key entry {alias:?}: {e}; its password must be the store password"
        ))
    })?;
    Ok(KeyMaterial {
        chain,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    })
}

/// The trusted certificate entries.
pub(crate) fn load_trust_store(
    store: &StoreFile<'_>,
    data: &[u8],
) -> Result<Vec<CertificateDer<'static>>, X509Exception> {
    let certs: Vec<CertificateDer<'static>> = parse(store, data)?
        .into_iter()
        .filter_map(|e| match e {
            Entry::Trusted(cert) => Some(cert),
            Entry::PrivateKey { .. } => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(store.error("the JKS trust store holds no trusted certificate entry"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut r = Reader {
            data: &[0, 0, 0, 9, 1],
            pos: 0,
        };
        assert!(r.blob().is_err());
        let mut body = JKS_MAGIC.to_vec();
        body.extend([0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff]);
        assert!(parse_entries(&body).is_err());
        assert!(parse_entries(&JKS_MAGIC).is_err());
        assert!(recover_key(&[0x30, 0x00], "x").is_err());
        assert!(recover_key(&[], "x").is_err());
    }

    #[test]
    fn password_is_utf16_big_endian() {
        assert_eq!(password_bytes("aé"), vec![0, b'a', 0, 0xe9]);
    }
}
