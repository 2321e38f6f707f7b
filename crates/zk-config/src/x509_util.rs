//! `X509Util`: TLS contexts from the `zookeeper.ssl.*` properties (clients,
//! `ClientX509Util`) or `zookeeper.ssl.quorum.*` (quorum and election
//! ports, `QuorumX509Util`), as rustls configurations.
//!
//! The settings and their 3.8 defaults are listed on [`X509Util`].

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::SingleCertAndKey;
use rustls::{
    ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};

use crate::file_key_store_loader::{self, KeyMaterial, StoreFile};
use crate::java;
use crate::key_store_file_type::KeyStoreFileType;
use crate::system_properties::SystemProperties;
use crate::x509_exception::X509Exception;
use crate::x509_v1_certificate::certified_key;
use crate::zk_hostname_verifier::Host;
use crate::zk_trust_manager::{verify_host, ZKClientCertVerifier, ZKTrustManager};

/// The trust store used when none is configured (see the module docs).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// 3.8's `X509Util.DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS`.
pub const DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS: u64 = 5000;

/// The settings an [`X509Util`] reads, without their prefix; with either
/// prefix (`ssl.` or `ssl.quorum.` in zoo.cfg) they are honoured, or
/// refused when they ask for what zk-rs cannot do (`crl`, `ocsp`,
/// `context.supplier.class`).
pub(crate) const SSL_SETTINGS: &[&str] = &[
    "protocol",
    "enabledProtocols",
    "ciphersuites",
    "keyStore.location",
    "keyStore.password",
    "keyStore.passwordPath",
    "keyStore.type",
    "trustStore.location",
    "trustStore.password",
    "trustStore.passwordPath",
    "trustStore.type",
    "context.supplier.class",
    "hostnameVerification",
    "crl",
    "ocsp",
    "clientAuth",
    "handshakeDetectionTimeoutMillis",
];

/// The [`SSL_SETTINGS`] that name the key and trust stores (location,
/// password, password file, type): what another TLS context built from
/// the same stores (the admin server's) copies.
pub fn store_settings() -> impl Iterator<Item = &'static str> {
    SSL_SETTINGS
        .iter()
        .copied()
        .filter(|s| s.starts_with("keyStore.") || s.starts_with("trustStore."))
}

/// For a zoo.cfg key (a system property without `zookeeper.`): the
/// [`X509Util`] setting it is, without prefix, if it is one. 3.8 ignores
/// other `ssl.*` names, as it ignores every system property it does not
/// read.
pub(crate) fn ssl_setting(key: &str) -> Option<&str> {
    if key == "ssl.authProvider" {
        return Some("authProvider");
    }
    let suffix = key
        .strip_prefix("ssl.quorum.")
        .or_else(|| key.strip_prefix("ssl."))?;
    SSL_SETTINGS.contains(&suffix).then_some(suffix)
}

/// Whether a TLS server asks for, or insists on, a client certificate
/// (`ssl.clientAuth`, `X509Util.ClientAuth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Do not ask for a certificate.
    None,
    /// Ask; a client without one is still served (anonymously).
    Want,
    /// Insist: a client without a trusted certificate fails the handshake.
    /// 3.8's default.
    Need,
}

impl ClientAuth {
    /// `ClientAuth.fromPropertyValue`: unset or empty is `Need`; otherwise
    /// `none`/`want`/`need` in any case.
    pub fn from_property_value(value: Option<&str>) -> Result<ClientAuth, String> {
        match value.unwrap_or("").to_ascii_uppercase().as_str() {
            "" | "NEED" => Ok(ClientAuth::Need),
            "WANT" => Ok(ClientAuth::Want),
            "NONE" => Ok(ClientAuth::None),
            _ => Err("not a client auth mode (need, want or none)".to_string()),
        }
    }
}

/// 3.8's `X509Util` (as `ClientX509Util` or `QuorumX509Util`): reads one
/// prefix's TLS settings and builds rustls configurations from them.
///
/// Settings, each read with 3.8's default (`<p>` is the prefix):
///
/// | property | meaning |
/// | --- | --- |
/// | `<p>keyStore.location`, `.password`, `.passwordPath`, `.type` | our key and certificate chain (JKS, PKCS12, PEM) |
/// | `<p>trustStore.location`, `.password`, `.passwordPath`, `.type` | the CAs we trust; unset: the system CA bundle |
/// | `<p>clientAuth` | `need` (default), `want`, `none` |
/// | `<p>protocol`, `<p>enabledProtocols`, `<p>ciphersuites` | TLSv1.2 only by default (3.8: `protocol` defaults to TLSv1.2 and is the only one enabled); TLSv1.3 too; TLSv1/TLSv1.1/SSLv3 refused; Java suite names, default 3.8's GCM suites then the TLS 1.3 ones |
/// | `<p>hostnameVerification` | default true: the server's certificate must name the host dialled; on the quorum also the client's |
/// | `<p>handshakeDetectionTimeoutMillis` | default 5000 |
/// | `<p>crl`, `<p>ocsp` | `true` is refused (no revocation checking); `false` is what happens |
/// | `<p>context.supplier.class` | refused (a Java class) |
/// | `zookeeper.ssl.authProvider` | the scheme TLS clients authenticate as, default `x509` |
///
/// Passwords: `.passwordPath` (a file; one trailing newline removed) wins
/// over `.password`, as 3.8. They are never printed.
///
/// No trust store: 3.8 trusts the JVM's `cacerts`; Debian builds that file
/// from the system's CA bundle, so zk-rs trusts
/// `/etc/ssl/certs/ca-certificates.crt` (and fails, naming both, if that
/// file is missing).
///
/// Version 1 certificates (no extensions, as kazoo's test harness and
/// plain `openssl x509 -req` make them) are accepted, as Java accepts
/// them, as our own certificate and as a peer's when a trust store
/// certificate signed them directly; webpki alone would refuse them.
///
/// Host names on the client side are checked against the `ServerName`
/// the caller gives rustls (an IP address or the DNS name it dialled);
/// 3.8's fallback to the reverse-DNS name of the address is not made (no
/// blocking lookups mid-handshake). `Debug` hides the passwords.
#[derive(Clone)]
pub struct X509Util {
    prefix: &'static str,
    /// `QuorumX509Util.shouldVerifyClientHostname()`: true on the quorum.
    verify_client_hostname: bool,
    props: SystemProperties,
}

impl std::fmt::Debug for X509Util {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings: Vec<(&str, &str)> = self
            .props
            .iter()
            .filter(|(name, _)| name.starts_with(self.prefix))
            .map(|(name, value)| {
                if name.to_ascii_lowercase().contains("password") {
                    (name, "<hidden>")
                } else {
                    (name, value)
                }
            })
            .collect();
        f.debug_struct("X509Util")
            .field("prefix", &self.prefix)
            .field("settings", &settings)
            .finish()
    }
}

impl X509Util {
    /// `ClientX509Util`: the client port's settings, `zookeeper.ssl.*`
    /// (zoo.cfg's `ssl.x` is the property `zookeeper.ssl.x`).
    pub fn client(props: &SystemProperties) -> X509Util {
        X509Util {
            prefix: "zookeeper.ssl.",
            verify_client_hostname: false,
            props: props.clone(),
        }
    }

    /// `QuorumX509Util`: the quorum and election ports' settings,
    /// `zookeeper.ssl.quorum.*`.
    pub fn quorum(props: &SystemProperties) -> X509Util {
        X509Util {
            prefix: "zookeeper.ssl.quorum.",
            verify_client_hostname: true,
            props: props.clone(),
        }
    }

    /// The property prefix, `zookeeper.ssl.` or `zookeeper.ssl.quorum.`.
    pub fn config_prefix(&self) -> &'static str {
        self.prefix
    }

    /// The full property name of `suffix`, e.g. `zookeeper.ssl.clientAuth`.
    pub fn property(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    fn get(&self, suffix: &str) -> Option<&str> {
        self.props.get(&self.property(suffix))
    }

    /// `ssl.clientAuth`; a value that is not need/want/none reads as
    /// `Need` here and makes [`X509Util::create_ssl_server_config`] fail.
    pub fn client_auth(&self) -> ClientAuth {
        ClientAuth::from_property_value(self.get("clientAuth")).unwrap_or(ClientAuth::Need)
    }

    fn checked_client_auth(&self) -> Result<ClientAuth, X509Exception> {
        let value = self.get("clientAuth");
        ClientAuth::from_property_value(value).map_err(|e| {
            X509Exception::for_key(&self.property("clientAuth"), value.unwrap_or(""), e)
        })
    }

    /// `ssl.handshakeDetectionTimeoutMillis` (default 5000 ms; a value
    /// below 1 is replaced by the default with a warning, as 3.8; an
    /// unparsable one gives the default here and makes the `create_*`
    /// functions fail).
    pub fn handshake_detection_timeout(&self) -> Duration {
        Duration::from_millis(
            self.checked_handshake_detection_timeout()
                .unwrap_or(DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS),
        )
    }

    fn checked_handshake_detection_timeout(&self) -> Result<u64, X509Exception> {
        let key = self.property("handshakeDetectionTimeoutMillis");
        let Some(value) = self.props.get(&key) else {
            return Ok(DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS);
        };
        let millis = java::parse_int(value)
            .ok_or_else(|| X509Exception::for_key(&key, value, "not a number"))?;
        if millis < 1 {
            log::warn!(
                "Invalid value for {key}: {millis}, using the default value of \
                 {DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS}"
            );
            return Ok(DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS);
        }
        Ok(millis as u64)
    }

    /// `zookeeper.ssl.authProvider` (default `x509`): the scheme of the
    /// authentication provider a verified client certificate is handed
    /// to. 3.8 has this setting for the client port only; both prefixes
    /// read it.
    pub fn ssl_auth_provider(&self) -> String {
        self.props
            .get("zookeeper.ssl.authProvider")
            .unwrap_or("x509")
            .to_string()
    }

    /// `ssl.hostnameVerification` (default true).
    pub fn hostname_verification(&self) -> bool {
        self.get("hostnameVerification")
            .is_none_or(|v| java::parse_boolean(v.trim()))
    }

    /// Whether a server checks that a client's certificate names the
    /// client's address: `ssl.quorum.hostnameVerification` on the quorum;
    /// never on the client port (3.8's `ClientX509Util`).
    pub fn client_hostname_verification(&self) -> bool {
        self.verify_client_hostname && self.hostname_verification()
    }

    /// Server side, after the handshake: 3.8's client host name check
    /// (`ZKTrustManager.checkClientTrusted`). `Ok` when it is off (client
    /// port, or `ssl.quorum.hostnameVerification=false`) or the client sent
    /// no certificate; otherwise the client's leaf certificate must name
    /// `peer` (IP subject alternative names, or the CN when it has no
    /// DNS/IP names). No reverse DNS lookup is made.
    pub fn verify_client_hostname(
        &self,
        peer_certs: &[CertificateDer<'_>],
        peer: IpAddr,
    ) -> Result<(), X509Exception> {
        if !self.client_hostname_verification() {
            return Ok(());
        }
        let Some(leaf) = peer_certs.first() else {
            return Ok(());
        };
        verify_host(Host::Ip(peer), leaf).map_err(|e| {
            X509Exception::new(format!(
                "client {peer}: {e} ({} is on)",
                self.property("hostnameVerification")
            ))
        })
    }

    /// Settings zk-rs cannot serve: refused when asked for.
    fn refuse_unsupported(&self) -> Result<(), X509Exception> {
        let supplier = self.property("context.supplier.class");
        if let Some(class) = self.props.get(&supplier) {
            return Err(X509Exception::for_key(
                &supplier,
                class,
                "a Java SSLContext supplier class cannot be loaded by zk-rs: configure the key \
                 and trust stores instead",
            ));
        }
        for (suffix, what) in [("crl", "certificate revocation lists"), ("ocsp", "OCSP")] {
            let key = self.property(suffix);
            if let Some(value) = self.props.get(&key) {
                if java::parse_boolean(value.trim()) {
                    return Err(X509Exception::for_key(
                        &key,
                        value,
                        format!("revocation checking by {what} is not supported by zk-rs"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `ssl.keyStore.password` or the contents of `ssl.keyStore.passwordPath`.
    fn password(&self, store: &str) -> Result<String, X509Exception> {
        let path_key = self.property(&format!("{store}.passwordPath"));
        match self.props.get(&path_key).filter(|p| !p.is_empty()) {
            Some(path) => {
                let secret = std::fs::read_to_string(path).map_err(|e| {
                    X509Exception::for_file(
                        &path_key,
                        Path::new(path),
                        format!("cannot read the password file: {e}"),
                    )
                })?;
                Ok(secret.strip_suffix('\n').unwrap_or(&secret).to_string())
            }
            None => Ok(self
                .get(&format!("{store}.password"))
                .unwrap_or("")
                .to_string()),
        }
    }

    fn with_store<T>(
        &self,
        store: &str,
        load: impl FnOnce(&StoreFile<'_>) -> Result<T, X509Exception>,
    ) -> Result<Option<T>, X509Exception> {
        let location_key = self.property(&format!("{store}.location"));
        let location = self.props.get(&location_key).unwrap_or("");
        if location.is_empty() {
            log::warn!("{location_key} not specified");
            return Ok(None);
        }
        let type_key = self.property(&format!("{store}.type"));
        let type_value = self.props.get(&type_key).unwrap_or("");
        let file_type = match KeyStoreFileType::from_property_value(type_value) {
            Ok(Some(t)) => t,
            Ok(None) => KeyStoreFileType::from_file_name(location)
                .map_err(|e| X509Exception::for_key(&type_key, type_value, e))?,
            Err(e) => return Err(X509Exception::for_key(&type_key, type_value, e)),
        };
        let password = self.password(store)?;
        let password_key = self.property(&format!("{store}.password"));
        let file = StoreFile {
            location_key: &location_key,
            password_key: &password_key,
            path: PathBuf::from(location),
            password: &password,
            file_type,
        };
        load(&file).map(Some)
    }

    fn key_material(&self) -> Result<Option<KeyMaterial>, X509Exception> {
        self.with_store("keyStore", file_key_store_loader::load_key_store)
    }

    /// The trust anchors: the trust store's, or the system CA bundle's.
    fn trust_roots(&self) -> Result<Arc<RootCertStore>, X509Exception> {
        let loaded = self.with_store("trustStore", |file| {
            let certs = file_key_store_loader::load_trust_store(file)?;
            roots_from(&certs, |e| file.error(e))
        })?;
        if let Some(roots) = loaded {
            return Ok(roots);
        }
        let key = self.property("trustStore.location");
        let bundle = StoreFile {
            location_key: &key,
            password_key: "",
            path: PathBuf::from(SYSTEM_CA_BUNDLE),
            password: "",
            file_type: KeyStoreFileType::Pem,
        };
        log::warn!(
            "{key} not set: trusting the system CA bundle {SYSTEM_CA_BUNDLE} (as 3.8 trusts \
             the JVM's default trust store)"
        );
        let certs = file_key_store_loader::load_trust_store(&bundle).map_err(|e| {
            X509Exception::for_file(
                &key,
                Path::new(SYSTEM_CA_BUNDLE),
                format!(
                    "not set, and the system CA bundle is unusable: {}",
                    e.problem()
                ),
            )
        })?;
        roots_from(&certs, |e| bundle.error(e))
    }

    /// Versions, suites and the provider that offers exactly those suites.
    fn protocols_and_provider(
        &self,
    ) -> Result<(Vec<&'static SupportedProtocolVersion>, Arc<CryptoProvider>), X509Exception> {
        self.refuse_unsupported()?;
        self.checked_handshake_detection_timeout()?;
        let (protocol_key, enabled_key) =
            (self.property("protocol"), self.property("enabledProtocols"));
        let versions = crate::ssl_context_and_options::protocol_versions(
            &protocol_key,
            self.props.get(&protocol_key),
            &enabled_key,
            self.props.get(&enabled_key),
        )?;
        let suites_key = self.property("ciphersuites");
        let suites: Vec<SupportedCipherSuite> = crate::ssl_context_and_options::cipher_suites(
            &suites_key,
            self.props.get(&suites_key),
        )?;
        crate::ssl_context_and_options::check_suites_for_versions(
            &versions,
            &suites,
            &enabled_key,
            &suites_key,
        )?;
        let provider = CryptoProvider {
            cipher_suites: suites,
            ..rustls::crypto::ring::default_provider()
        };
        Ok((versions, Arc::new(provider)))
    }

    /// The server side (our listening socket): our key store's key and
    /// chain (required), client certificates per [`X509Util::client_auth`]
    /// checked against the trust store.
    pub fn create_ssl_server_config(&self) -> Result<Arc<ServerConfig>, X509Exception> {
        let (versions, provider) = self.protocols_and_provider()?;
        let client_auth = self.checked_client_auth()?;
        let location_key = self.property("keyStore.location");
        let key = self.key_material()?.ok_or_else(|| {
            X509Exception::for_setting(
                &location_key,
                "not set: a TLS server needs a key store with its key and certificate",
            )
        })?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| X509Exception::new(format!("{}: {e}", self.prefix)))?;
        let builder = match client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Want | ClientAuth::Need => {
                let roots = self.trust_roots()?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
                let verifier = if client_auth == ClientAuth::Want {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| X509Exception::new(format!("{}trustStore: {e}", self.prefix)))?;
                builder.with_client_cert_verifier(Arc::new(ZKClientCertVerifier::new(
                    verifier,
                    roots,
                    provider.signature_verification_algorithms,
                )))
            }
        };
        let location = self.props.get(&location_key).unwrap_or("");
        let certified = certified_key(key.chain, key.key, &provider)
            .map_err(|e| key_refused(&location_key, location, &e))?;
        let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        // 3.8 (JDK 11+ servers) picks by its own suite order.
        config.ignore_client_order = true;
        Ok(Arc::new(config))
    }

    /// The client side (dialling a server or a peer): the server's chain
    /// checked against the trust store and, with
    /// `ssl.hostnameVerification`, its name against the `ServerName` the
    /// caller connects with; our key store's key and chain offered when
    /// one is configured.
    pub fn create_ssl_client_config(&self) -> Result<Arc<ClientConfig>, X509Exception> {
        let (versions, provider) = self.protocols_and_provider()?;
        let verifier = ZKTrustManager::new(
            self.trust_roots()?,
            provider.signature_verification_algorithms,
            self.hostname_verification(),
        );
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| X509Exception::new(format!("{}: {e}", self.prefix)))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let config = match self.key_material()? {
            None => builder.with_no_client_auth(),
            Some(key) => {
                let location_key = self.property("keyStore.location");
                let location = self.props.get(&location_key).unwrap_or("");
                let certified = certified_key(key.chain, key.key, &provider)
                    .map_err(|e| key_refused(&location_key, location, &e))?;
                builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
            }
        };
        Ok(Arc::new(config))
    }
}

fn key_refused(location_key: &str, location: &str, e: &rustls::Error) -> X509Exception {
    X509Exception::for_file(
        location_key,
        Path::new(location),
        format!(
            "the key store's key cannot be used ({e}); usable keys are RSA of 2048 bits or \
             more, ECDSA P-256 or P-384, and Ed25519"
        ),
    )
}

fn roots_from(
    certs: &[CertificateDer<'static>],
    error: impl Fn(String) -> X509Exception,
) -> Result<Arc<RootCertStore>, X509Exception> {
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(error(format!(
            "none of its {ignored} certificate(s) can be used as a trust anchor"
        )));
    }
    if ignored > 0 {
        log::warn!("{ignored} certificate(s) in the trust store cannot be used as trust anchors");
    }
    Ok(Arc::new(roots))
}

/// An operator-readable account of a handshake failure: what rustls
/// reports, with what to check.
pub fn describe_tls_error(error: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let hint = match error {
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the peer's certificate has expired"
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the peer's certificate is not valid yet (check the clocks)"
        }
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the peer's certificate is not issued by a CA in our trust store"
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the peer's certificate does not name the host (ssl.hostnameVerification)"
        }
        E::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. }) => {
            "the peer's certificate is not for this use (extended key usage)"
        }
        E::InvalidCertificate(C::Other(_)) => "the peer's certificate was refused",
        E::InvalidCertificate(_) => "the peer's certificate is invalid",
        E::NoCertificatesPresented => {
            "the client sent no certificate and ssl.clientAuth requires one"
        }
        E::AlertReceived(A::BadCertificate | A::UnknownCA | A::CertificateExpired
            | A::CertificateUnknown | A::CertificateRequired | A::UnsupportedCertificate) => {
            "the peer refused our certificate (see its log; check our key store and its trust store)"
        }
        E::AlertReceived(A::ProtocolVersion) => {
            "no TLS version in common (ssl.protocol / ssl.enabledProtocols)"
        }
        E::AlertReceived(A::HandshakeFailure) => {
            "the peer refused the handshake (no cipher suite or version in common, or a certificate problem)"
        }
        E::AlertReceived(_) => "the peer ended the handshake",
        E::PeerIncompatible(_) => {
            "no TLS version or cipher suite in common (ssl.enabledProtocols / ssl.ciphersuites)"
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the peer does not speak TLS (plaintext on a TLS port?) or sent damaged data"
        }
        _ => "TLS handshake failed",
    };
    match error {
        // Our own refusals (host name checks) carry their explanation;
        // rustls would print it through Debug.
        E::InvalidCertificate(C::Other(other)) => format!("{hint}: {}", other.0),
        _ => format!("{hint}: {error}"),
    }
}
