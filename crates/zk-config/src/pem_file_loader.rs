//! `PEMFileLoader`: PEM key stores (private key and certificate chain in one
//! file) and PEM trust stores (every certificate in the file is trusted).
//!
//! As 3.8's `PemReader`, the key store's key is the first `... PRIVATE KEY`
//! block and the chain is every `CERTIFICATE` block in file order. A
//! `ENCRYPTED PRIVATE KEY` (PKCS#8, as `openssl pkcs8 -topk8` writes) is
//! decrypted with the key store password; an unencrypted key is used even
//! when a password is set (3.8 fails then). Beyond 3.8, plain PKCS#1
//! (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) keys are accepted too;
//! OpenSSL's legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`) is refused
//! with a hint to convert it.

use base64::Engine;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use crate::file_key_store_loader::{KeyMaterial, StoreFile};
use crate::x509_exception::X509Exception;

/// One `-----BEGIN <label>-----` block.
struct PemBlock {
    label: String,
    /// Header lines (`Proc-Type: ...`) were present.
    has_headers: bool,
    der: Vec<u8>,
}

/// The blocks of `text`, in order. Text outside blocks is ignored, as
/// 3.8's patterns ignore it.
fn parse_pem(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut has_headers = false;
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                has_headers = true;
            } else {
                body.push_str(line);
            }
        }
        if !closed {
            return Err(format!("PEM block {label} has no END line"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("PEM block {label} is not valid base64: {e}"))?;
        blocks.push(PemBlock {
            label: label.to_string(),
            has_headers,
            der,
        });
    }
    Ok(blocks)
}

fn read_blocks(store: &StoreFile<'_>, bytes: &[u8]) -> Result<Vec<PemBlock>, X509Exception> {
    let text = String::from_utf8_lossy(bytes);
    parse_pem(&text).map_err(|e| store.error(e))
}

fn certificates(blocks: &[PemBlock]) -> Vec<CertificateDer<'static>> {
    blocks
        .iter()
        .filter(|b| b.label.ends_with("CERTIFICATE"))
        .map(|b| CertificateDer::from(b.der.clone()))
        .collect()
}

/// The key and chain of a PEM key store.
pub(crate) fn load_key_store(
    store: &StoreFile<'_>,
    data: &[u8],
) -> Result<KeyMaterial, X509Exception> {
    let blocks = read_blocks(store, data)?;
    let chain = certificates(&blocks);
    if chain.is_empty() {
        return Err(store.error("the PEM key store holds no CERTIFICATE"));
    }
    let block = blocks
        .iter()
        .find(|b| b.label.ends_with("PRIVATE KEY"))
        .ok_or_else(|| store.error("the PEM key store holds no PRIVATE KEY"))?;
    let key = private_key(store, block)?;
    Ok(KeyMaterial { chain, key })
}

fn private_key(
    store: &StoreFile<'_>,
    block: &PemBlock,
) -> Result<PrivateKeyDer<'static>, X509Exception> {
    if block.has_headers {
        return Err(store.error(format!(
            "the {} uses OpenSSL's legacy PEM encryption, which is not supported: convert it \
             with `openssl pkcs8 -topk8` (encrypted PKCS#8 is)",
            block.label
        )));
    }
    let der = block.der.clone();
    match block.label.as_str() {
        "PRIVATE KEY" => Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))),
        "RSA PRIVATE KEY" => Ok(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der))),
        "EC PRIVATE KEY" => Ok(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der))),
        "ENCRYPTED PRIVATE KEY" => decrypt_pkcs8(store, &der),
        other => Err(store.error(format!("unsupported key block {other}"))),
    }
}

fn decrypt_pkcs8(
    store: &StoreFile<'_>,
    der: &[u8],
) -> Result<PrivateKeyDer<'static>, X509Exception> {
    if store.password.is_empty() {
        return Err(store.error(format!(
            "the private key is encrypted and {} is not set",
            store.password_key
        )));
    }
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|e| store.error(format!("damaged ENCRYPTED PRIVATE KEY: {e}")))?;
    let plain = info
        .decrypt(store.password.as_bytes())
        .map_err(|e| store.wrong_password(e))?;
    // A wrong password that happens to unpad still gives garbage: check
    // that the result is a PKCS#8 structure before handing it on.
    pkcs8::PrivateKeyInfoRef::try_from(plain.as_bytes()).map_err(|e| store.wrong_password(e))?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}

/// The certificates of a PEM trust store (the password is not used, as in
/// 3.8).
pub(crate) fn load_trust_store(
    store: &StoreFile<'_>,
    data: &[u8],
) -> Result<Vec<CertificateDer<'static>>, X509Exception> {
    let certs = certificates(&read_blocks(store, data)?);
    if certs.is_empty() {
        return Err(store.error("the PEM trust store holds no CERTIFICATE"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_in_order_with_text_around() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n\
                    Bag Attributes\n-----BEGIN PRIVATE KEY-----\nAw==\n-----END PRIVATE KEY-----\n";
        let blocks = parse_pem(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[0].der, vec![0, 1, 2]);
        assert_eq!(blocks[1].label, "PRIVATE KEY");
        assert!(!blocks[1].has_headers);
    }

    #[test]
    fn unterminated_and_bad_base64_are_errors() {
        assert!(parse_pem("-----BEGIN CERTIFICATE-----\nAAEC\n").is_err());
        assert!(parse_pem("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----").is_err());
    }
}
