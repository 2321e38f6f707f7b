//! SASL as ZooKeeper uses it from the JDK (`javax.security.sasl`): a
//! mechanism's server and client sides, each a state machine that turns
//! the peer's token into the next one to send.
//!
//! ZooKeeper runs SASL in two places, both framed by ZooKeeper itself:
//! on the client port (the `sasl` request, opcode 102, carrying
//! `GetSASLRequest`/`SetSASLResponse` tokens) and on quorum connections
//! (`QuorumAuthPacket`s, before election and learner traffic). Which
//! mechanism runs is decided by the JAAS login, as 3.8's `SecurityUtils`
//! decides it: a login holding a Kerberos principal speaks GSSAPI,
//! any other DIGEST-MD5.

use std::fmt;

mod digest_md5_base;
pub mod digest_md5_client;
pub mod digest_md5_server;
pub mod gss;
mod gssapi_client;
mod gssapi_server;
pub mod kerberos_name;
mod krb5_login_module;
pub mod login;
pub mod sasl_server_callback_handler;
pub mod security_utils;

pub use digest_md5_client::DigestMd5Client;
pub use digest_md5_server::DigestMd5Server;
pub use gssapi_client::GssapiClient;
pub use gssapi_server::{Authorizer, GssapiServer};
pub use kerberos_name::{AuthToLocalRules, KerberosName};
pub use krb5_login_module::Krb5LoginModule;
pub use login::{Login, DIGEST_LOGIN_MODULE, KRB5_LOGIN_MODULES};
pub use sasl_server_callback_handler::SaslServerCallbackHandler;
pub use security_utils::{
    create_sasl_client, create_sasl_client_for_service, create_sasl_server,
    create_sasl_server_with_handler, QUORUM_PROTOCOL, QUORUM_SERVER_NAME, ZOOKEEPER_PROTOCOL,
    ZOOKEEPER_SERVER_NAME,
};

/// `javax.security.sasl.SaslServer`, as far as ZooKeeper calls it.
pub trait SaslServer: Send {
    /// The IANA mechanism name: `DIGEST-MD5` or `GSSAPI`.
    fn mechanism_name(&self) -> &'static str;
    /// Takes the client's token (empty for the first call when the
    /// mechanism starts with a server challenge) and returns the token to
    /// send back; an error ends the exchange: authentication failed.
    fn evaluate_response(&mut self, response: &[u8]) -> Result<Vec<u8>, SaslException>;
    /// Whether the exchange succeeded and no further token is expected.
    fn is_complete(&self) -> bool;
    /// The identity authenticated, once complete: the DIGEST-MD5 user
    /// name, or the Kerberos principal after the server's rewriting.
    fn authorization_id(&self) -> Option<&str>;
}

/// `javax.security.sasl.SaslClient`, as far as ZooKeeper calls it.
pub trait SaslClient: Send {
    /// The IANA mechanism name: `DIGEST-MD5` or `GSSAPI`.
    fn mechanism_name(&self) -> &'static str;
    /// Whether the client speaks first (GSSAPI does, DIGEST-MD5 does not):
    /// then the first call to [`SaslClient::evaluate_challenge`] gets an
    /// empty challenge.
    fn has_initial_response(&self) -> bool;
    /// Takes the server's token and returns the one to send back.
    fn evaluate_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslException>;
    /// Whether the exchange succeeded.
    fn is_complete(&self) -> bool;
}

/// Why a SASL exchange failed; the message names what was wrong with the
/// peer's token or the local credentials, never a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslException {
    /// What failed, for the log and the peer-facing error.
    pub message: String,
}

impl SaslException {
    /// An exception saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        SaslException {
            message: message.into(),
        }
    }
}

impl fmt::Display for SaslException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SaslException {}
