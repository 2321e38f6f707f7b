//! # zk-config: the configuration an Apache ZooKeeper operator already has
//!
//! Reads `zoo.cfg` (Java properties syntax), the `myid` file and the dynamic
//! configuration file exactly as Apache ZooKeeper 3.8's `QuorumPeerConfig`
//! reads them, with the same defaults and the same refusals.
//!
//! This crate starts no threads; it is pure parsing and validation.
//!
//! ## Types
//!
//! - [`Properties`]: `java.util.Properties.load` (comments, `=`/`:`/blank
//!   separators, continuation lines, escapes, last value wins).
//! - [`QuorumPeerConfig`]: everything zoo.cfg says, after 3.8's defaults and
//!   checks; [`QuorumPeerConfig::is_distributed`] decides replicated vs
//!   standalone as `QuorumPeerMain` does.
//! - [`QuorumServer`] / [`LearnerType`] / [`HostPort`]: one `server.N` line.
//!   Host names are kept as written and resolved on demand.
//! - [`QuorumVerifier`]: the membership and its quorum rule,
//!   [`QuorumMaj`] or [`QuorumHierarchical`] (`group.G`, `weight.N`).
//! - [`ServerConfig`]: the standalone server's view, as `ServerConfig.readFrom`.
//! - [`SystemProperties`]: the `zookeeper.<key>` properties 3.8 derives from
//!   unknown zoo.cfg keys (`snapCount`, `4lw.commands.whitelist`, ...), with
//!   typed accessors that use 3.8's defaults and parsing.
//! - [`ConfigError`]: names the file, the key and the value refused.
//!
//! ## TLS (3.8's `org.apache.zookeeper.common` X.509 classes)
//!
//! - [`X509Util`]: `X509Util::client` reads `zookeeper.ssl.*` (zoo.cfg
//!   `ssl.*`, 3.8's `ClientX509Util`), `X509Util::quorum` reads
//!   `zookeeper.ssl.quorum.*` (`QuorumX509Util`). It builds the rustls
//!   [`rustls::ServerConfig`] / [`rustls::ClientConfig`] for a listener and
//!   a dialler, and answers [`ClientAuth`], the handshake detection
//!   timeout, `ssl.authProvider` and the quorum's client host name check.
//!   Its settings are listed on [`X509Util`]; in short: JKS, PKCS12
//!   and PEM stores ([`KeyStoreFileType`], inferred from `.jks`/`.p12`/`.pem`
//!   when the type is unset), `clientAuth` need (default)/want/none,
//!   TLSv1.2 (default) and TLSv1.3 by their Java names, Java cipher suite
//!   names, 3.8's host name rules (SAN, else CN), `crl`/`ocsp`=true and
//!   `context.supplier.class` refused. Without a trust store the system
//!   CA bundle ([`SYSTEM_CA_BUNDLE`]) stands in for the JVM's cacerts.
//! - [`subject_dn`]: a certificate's subject as Java's
//!   `X500Principal.getName()` prints it (the x509 auth id).
//! - [`X509Exception`]: names the setting and the file; never a password.
//!   [`describe_tls_error`] turns a handshake error into what to check.
//! - `pub use rustls`: the rustls (0.23, ring, TLS 1.2 on) these configs
//!   are built with, for the crates above.
//!
//! Keys only the JVM implementation understands (metrics classes, Netty,
//! JMX, ...) are accepted and listed by [`QuorumPeerConfig::ignored_keys`].
//! Security settings zk-rs does not serve yet (SASL, enforced or other
//! authentication, and the TLS switches until their listeners land:
//! `secureClientPort`, `sslQuorum`, port unification, HTTPS on the admin
//! server; and `ssl.crl`/`ssl.ocsp`=true, `ssl.context.supplier.class`)
//! are refused when they ask for security, with
//! [`ConfigErrorKind::UnsupportedSecurity`]: the server never runs less
//! secure than configured (see [`unsupported_security_settings`]). The
//! other `ssl.*` keys are read by [`X509Util`]; unknown `ssl.*` names have
//! no effect, as in 3.8, and are listed by
//! [`QuorumPeerConfig::ignored_keys`].
//!
//! ## Example
//!
//! ```
//! use std::collections::BTreeSet;
//! use zk_config::{Properties, QuorumPeerConfig, ServerConfig};
//!
//! let dir = std::env::temp_dir().join(format!("zk-config-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("myid"), "2\n").unwrap();
//! let zoo_cfg = format!(
//!     "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort=2181\n\
//!      server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
//!      server.3=127.0.0.1:2890:3890\n4lw.commands.whitelist=ruok, stat\n",
//!     dir.display()
//! );
//! let cfg_path = dir.join("zoo.cfg");
//! std::fs::write(&cfg_path, zoo_cfg).unwrap();
//!
//! let config = QuorumPeerConfig::parse(&cfg_path).unwrap();
//! assert!(config.is_distributed());
//! assert_eq!(config.server_id, Some(2));
//! assert_eq!(config.min_session_timeout, 4000);
//! assert_eq!(config.servers()[&3].addr().port, 2890);
//! assert!(config.quorum_verifier.contains_quorum(&BTreeSet::from([1, 3])));
//! assert!(!config.quorum_verifier.contains_quorum(&BTreeSet::from([2])));
//! assert!(config.system_properties.four_letter_word_whitelist().contains("ruok"));
//!
//! let standalone = ServerConfig::from(&config);
//! assert_eq!(standalone.client_port_address.unwrap().port(), 2181);
//!
//! // Bad values name the file, the key and the value.
//! std::fs::write(&cfg_path, "dataDir=/tmp\nclientPort=abc\n").unwrap();
//! let err = QuorumPeerConfig::parse(&cfg_path).unwrap_err();
//! assert_eq!(err.to_string(), format!("{}: clientPort=abc: not a number", cfg_path.display()));
//! # let _ = Properties::new();
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

#![deny(missing_docs)]
#![deny(clippy::too_many_lines)]

pub mod dynamic_config;
mod error;
mod file_key_store_loader;
mod jaas_configuration;
mod java;
mod jks_file_loader;
mod key_store_file_type;
mod membership;
mod pem_file_loader;
mod pkcs12_file_loader;
mod properties;
mod quorum_peer_config;
mod quorum_server;
mod quorum_verifier;
pub mod sasl;
mod security_settings;
mod server_config;
mod ssl_context_and_options;
mod system_properties;
mod x500_principal;
mod x509_exception;
mod x509_util;
mod x509_v1_certificate;
mod zk_hostname_verifier;
mod zk_trust_manager;

pub use error::{ConfigError, ConfigErrorKind};
pub use jaas_configuration::{AppConfigurationEntry, JaasConfiguration, LoginModuleControlFlag};
pub use properties::{MalformedEscape, Properties};
pub use quorum_peer_config::{
    IgnoredKey, QuorumPeerConfig, DEFAULT_METRICS_PROVIDER, DEFAULT_TICK_TIME,
};
pub use quorum_server::{HostPort, LearnerType, QuorumServer};
pub use quorum_verifier::{
    Members, NewMembersError, QuorumHierarchical, QuorumMaj, QuorumVerifier,
};
pub use security_settings::{
    jaas_config_file, jaas_login_file, unsupported_security_settings, UnsupportedSecuritySetting,
};
pub use server_config::ServerConfig;
pub use system_properties::{is_secret, SystemProperties, ALL_FOUR_LETTER_WORDS, HIDDEN_VALUE};

pub use key_store_file_type::KeyStoreFileType;
/// The rustls zk-config builds its TLS configurations with (ring provider,
/// TLS 1.2 and 1.3): upper crates use it from here so the versions agree.
pub use rustls;
pub use x500_principal::subject_dn;
pub use x509_exception::X509Exception;
pub use x509_util::{
    describe_tls_error, store_settings, ClientAuth, X509Util,
    DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS, SYSTEM_CA_BUNDLE,
};
