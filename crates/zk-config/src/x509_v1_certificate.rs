//! X.509 version 1 end-entity certificates (no extensions), which Java's
//! PKIX validation, and so 3.8, accepts from a trusted CA, and which webpki
//! refuses outright (`UnsupportedCertVersion`). kazoo's test harness makes
//! its client and server certificates so (pyOpenSSL), as do old
//! `openssl x509 -req` recipes.
//!
//! The verifiers ([`crate::zk_trust_manager`]) send only version 1 leaves
//! here; everything else stays with webpki. A v1 leaf is accepted when it
//! is valid now and signed directly by a trust anchor whose subject is its
//! issuer (byte for byte, as webpki matches names); intermediates are not
//! followed. A v1 certificate carries no key usage or name constraints, so
//! there is nothing else to check; host names are checked by the callers.
//!
//! Signatures, on the certificate and on the handshake, are checked with
//! the provider's own [`SignatureVerificationAlgorithm`]s, chosen as
//! webpki chooses them: the algorithm whose identifiers equal the
//! certificate's (so the same algorithms as for v3 certificates: no SHA-1,
//! RSA of 2048 bits or more). The DER around the signed parts is read
//! with x509-parser's `asn1_rs`; malformed input is an error, never a
//! panic.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, SignatureVerificationAlgorithm, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, DigitallySignedStruct, Error, InconsistentKeys, PeerMisbehaved,
    RootCertStore, SignatureScheme,
};
use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::x509::X509Version;

/// Whether `cert` parses as a version 1 certificate. Anything else (v3,
/// or unparsable) is for webpki to accept or refuse.
pub(crate) fn is_v1(cert: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(cert.as_ref())
        .is_ok_and(|(rest, c)| rest.is_empty() && c.version() == X509Version::V1)
}

/// Our own key and chain as rustls' `CertifiedKey`, for our key store.
/// rustls' `with_single_cert` / `with_client_auth_cert` check that the key
/// is the leaf's by reading the leaf with webpki, which refuses a v1 leaf
/// (3.8 serves with one: kazoo's harness gives its servers one); for a v1
/// leaf the same check (equal SubjectPublicKeyInfo bytes) reads the leaf
/// with x509-parser.
pub(crate) fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, Error> {
    let leaf_spki = match chain.first() {
        Some(leaf) if is_v1(leaf) => x509_parser::parse_x509_certificate(leaf.as_ref())
            .map_err(|_| bad_encoding())?
            .1
            .public_key()
            .raw
            .to_vec(),
        _ => return CertifiedKey::from_der(chain, key, provider),
    };
    let signing_key = provider.key_provider.load_private_key(key)?;
    // A key that cannot say its public key: rustls accepts it unchecked too.
    if signing_key
        .public_key()
        .is_some_and(|spki| spki.as_ref() != leaf_spki.as_slice())
    {
        return Err(Error::InconsistentKeys(InconsistentKeys::KeyMismatch));
    }
    Ok(CertifiedKey::new(chain, signing_key))
}

/// The contents of the universal `tag` element at the start of `der`,
/// and what follows it.
fn element(der: &[u8], tag: Tag) -> Option<(&[u8], &[u8])> {
    let (rest, any) = Any::from_der(der).ok()?;
    (any.header.class() == Class::Universal && any.header.tag() == tag).then_some((any.data, rest))
}

/// A BIT STRING's bits, which must be whole bytes (as keys and signatures are).
fn whole_bytes(bits: &[u8]) -> Option<&[u8]> {
    bits.strip_prefix(&[0])
}

/// A SubjectPublicKeyInfo's contents (without its SEQUENCE header) as
/// webpki splits them: the algorithm identifier's contents and the key.
fn spki_parts(contents: &[u8]) -> Option<(&[u8], &[u8])> {
    let (algorithm, rest) = element(contents, Tag::Sequence)?;
    let (bits, rest) = element(rest, Tag::BitString)?;
    if !rest.is_empty() {
        return None;
    }
    Some((algorithm, whole_bytes(bits)?))
}

/// A certificate's signed data: the TBS element, the outer signature
/// algorithm identifier's contents, and the signature.
fn signed_parts(cert: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (contents, rest) = element(cert, Tag::Sequence)?;
    let (_, after_tbs) = element(contents, Tag::Sequence)?;
    let tbs = &contents[..contents.len() - after_tbs.len()];
    let (algorithm, after_algorithm) = element(after_tbs, Tag::Sequence)?;
    let (bits, end) = element(after_algorithm, Tag::BitString)?;
    if !rest.is_empty() || !end.is_empty() {
        return None;
    }
    Some((tbs, algorithm, whole_bytes(bits)?))
}

/// Checks `signature` over `message` by `key` with the one algorithm of
/// `algorithms` whose identifiers are `key_algorithm` and
/// `signature_algorithm`.
fn verify_with(
    algorithms: &[&dyn SignatureVerificationAlgorithm],
    (key_algorithm, key): (&[u8], &[u8]),
    signature_algorithm: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let algorithm = algorithms
        .iter()
        .find(|a| {
            a.public_key_alg_id().as_ref() == key_algorithm
                && a.signature_alg_id().as_ref() == signature_algorithm
        })
        .ok_or_else(|| {
            Error::InvalidCertificate(
                CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    signature_algorithm_id: signature_algorithm.to_vec(),
                    public_key_algorithm_id: key_algorithm.to_vec(),
                },
            )
        })?;
    algorithm
        .verify_signature(key, message, signature)
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadSignature))
}

fn bad_encoding() -> Error {
    Error::InvalidCertificate(CertificateError::BadEncoding)
}

/// Verifies a version 1 leaf: valid at `now` and signed by an anchor of
/// `roots` whose subject is its issuer, with one of `algorithms`.
pub(crate) fn verify_leaf(
    cert: &CertificateDer<'_>,
    roots: &RootCertStore,
    now: UnixTime,
    algorithms: &[&dyn SignatureVerificationAlgorithm],
) -> Result<(), Error> {
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| bad_encoding())?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = parsed.validity();
    if now < validity.not_before.timestamp() {
        return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
    }
    if now > validity.not_after.timestamp() {
        return Err(Error::InvalidCertificate(CertificateError::Expired));
    }
    // The TBS names the algorithm too; both must agree (RFC 5280 4.1.1.2).
    if parsed.tbs_certificate.signature != parsed.signature_algorithm {
        return Err(bad_encoding());
    }
    let (tbs, signature_algorithm, signature) =
        signed_parts(cert.as_ref()).ok_or_else(bad_encoding)?;
    let (issuer, _) = element(parsed.issuer().as_raw(), Tag::Sequence).ok_or_else(bad_encoding)?;
    // Anchors keep their subject and key without the SEQUENCE headers.
    let mut result = Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
    for anchor in roots.roots.iter().filter(|a| a.subject.as_ref() == issuer) {
        let Some(key) = spki_parts(anchor.subject_public_key_info.as_ref()) else {
            continue;
        };
        result = verify_with(algorithms, key, signature_algorithm, tbs, signature);
        if result.is_ok() {
            break;
        }
    }
    result
}

/// The handshake signature (`CertificateVerify`, `ServerKeyExchange`) by a
/// version 1 certificate's key, as rustls' `verify_tls12_signature` /
/// `verify_tls13_signature` check it for v3: TLS 1.2 tries each
/// algorithm `supported` maps the scheme to, TLS 1.3 only the first.
pub(crate) fn verify_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    supported: &WebPkiSupportedAlgorithms,
    tls13: bool,
) -> Result<HandshakeSignatureValid, Error> {
    let unadvertised =
        || Error::PeerMisbehaved(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme);
    let scheme: SignatureScheme = dss.scheme;
    // RFC 8446 4.2.3: no PKCS#1 v1.5 or SHA-1 signatures in TLS 1.3 (the
    // check rustls makes before its own TLS 1.3 verification).
    let not_in_tls13 = matches!(
        scheme,
        SignatureScheme::RSA_PKCS1_SHA1
            | SignatureScheme::RSA_PKCS1_SHA256
            | SignatureScheme::RSA_PKCS1_SHA384
            | SignatureScheme::RSA_PKCS1_SHA512
            | SignatureScheme::ECDSA_SHA1_Legacy
    );
    if tls13 && not_in_tls13 {
        return Err(unadvertised());
    }
    let candidates = supported
        .mapping
        .iter()
        .find(|(s, _)| *s == scheme)
        .map(|(_, algorithms)| *algorithms)
        .ok_or_else(unadvertised)?;
    let candidates = if tls13 {
        candidates.get(..1).unwrap_or_default()
    } else {
        candidates
    };
    let (_, parsed) = X509Certificate::from_der(cert.as_ref()).map_err(|_| bad_encoding())?;
    let spki = parsed.public_key().raw;
    let (contents, _) = element(spki, Tag::Sequence).ok_or_else(bad_encoding)?;
    let (key_algorithm, key) = spki_parts(contents).ok_or_else(bad_encoding)?;
    let mut error = None;
    for algorithm in candidates {
        if algorithm.public_key_alg_id().as_ref() != key_algorithm {
            continue;
        }
        match algorithm.verify_signature(key, message, dss.signature()) {
            Ok(()) => return Ok(HandshakeSignatureValid::assertion()),
            Err(_) => error = Some(Error::InvalidCertificate(CertificateError::BadSignature)),
        }
    }
    // No candidate for this key type: as webpki says it.
    Err(error.unwrap_or_else(|| {
        Error::InvalidCertificate(
            CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                signature_algorithm_id: candidates
                    .first()
                    .map(|a| a.signature_alg_id().as_ref().to_vec())
                    .unwrap_or_default(),
                public_key_algorithm_id: key_algorithm.to_vec(),
            },
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    fn cert(name: &str) -> CertificateDer<'static> {
        let path = format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"));
        CertificateDer::from_pem_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn check(der: &[u8]) -> Result<(), Error> {
        let mut roots = RootCertStore::empty();
        roots.add(cert("ca.pem")).unwrap();
        let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        verify_leaf(
            &CertificateDer::from(der),
            &roots,
            UnixTime::now(),
            algorithms.all,
        )
    }

    #[test]
    fn only_version_1_takes_this_path() {
        assert!(is_v1(&cert("v1-client.crt")));
        assert!(is_v1(&cert("v1-server.crt")));
        assert!(!is_v1(&cert("client.crt")));
        assert!(!is_v1(&cert("ca.pem")));
        assert!(!is_v1(&CertificateDer::from(&b"not a certificate"[..])));
    }

    #[test]
    fn a_v1_key_store_must_hold_the_certificate_s_key() {
        let provider = rustls::crypto::ring::default_provider();
        let key = |name: &str| {
            let path = format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"));
            PrivateKeyDer::from_pem_file(&path).unwrap()
        };
        let chain = vec![cert("v1-client.crt")];
        assert!(certified_key(chain.clone(), key("v1-client.pem"), &provider).is_ok());
        let e = certified_key(chain, key("v1-untrusted.pem"), &provider).unwrap_err();
        assert_eq!(e, Error::InconsistentKeys(InconsistentKeys::KeyMismatch));
    }

    #[test]
    fn damaged_v1_certificates_are_refused_without_panicking() {
        let good = cert("v1-client.crt").to_vec();
        assert_eq!(check(&good), Ok(()));
        // A flipped bit in the signature, then in the signed subject.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        let bad_signature = Err(Error::InvalidCertificate(CertificateError::BadSignature));
        assert_eq!(check(&bad), bad_signature);
        let mut bad = good.clone();
        let cn = bad.windows(9).position(|w| w == b"client-v1").unwrap();
        bad[cn] ^= 1;
        assert_eq!(check(&bad), bad_signature);
        // Every truncation and trailing garbage: an error, never a panic.
        for len in 0..good.len() {
            assert!(check(&good[..len]).is_err(), "{len} bytes accepted");
            assert!(signed_parts(&good[..len]).is_none());
        }
        let mut long = good.clone();
        long.push(0);
        assert!(check(&long).is_err());
        assert!(!is_v1(&CertificateDer::from(long)));
    }
}
