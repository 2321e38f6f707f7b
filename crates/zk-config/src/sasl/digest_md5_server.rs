//! The server side of SASL DIGEST-MD5 (RFC 2831), as the JDK's
//! `com.sun.security.sasl.digest.DigestMD5Server` runs it for ZooKeeper:
//! authentication only (`qop=auth`), `charset=utf-8`, `algorithm=md5-sess`,
//! the server name as the one realm, and no reauthentication.
//!
//! The exchange: the server's first token is its digest-challenge,
//! whatever the client sent first (ZooKeeper clients send an empty token,
//! some a placeholder); the client's digest-response is checked against
//! the [`SaslServerCallbackHandler`]'s password for its user; the server
//! then sends `rspauth=...` and is complete. Any further token is refused.

use super::digest_md5_base::{
    digests_equal, error, generate_nonce, write_quoted, DigestInputs, Directives,
    MAX_RESPONSE_LENGTH, MECHANISM,
};
use super::sasl_server_callback_handler::SaslServerCallbackHandler;
use super::{SaslException, SaslServer};

/// Where the exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The next token gets the challenge.
    Challenge,
    /// The next token must be the digest-response.
    Response,
    Complete,
    /// A token was refused: the exchange is over.
    Failed,
}

/// A DIGEST-MD5 server for one exchange.
pub struct DigestMd5Server {
    protocol: String,
    server_name: String,
    handler: SaslServerCallbackHandler,
    step: Step,
    nonce: String,
    authorization_id: Option<String>,
}

impl std::fmt::Debug for DigestMd5Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestMd5Server")
            .field("protocol", &self.protocol)
            .field("server_name", &self.server_name)
            .field("step", &self.step)
            .field("authorization_id", &self.authorization_id)
            .finish_non_exhaustive()
    }
}

impl DigestMd5Server {
    /// A server for `protocol` (`zookeeper`, `zookeeper-quorum`) named
    /// `server_name` (`zk-sasl-md5`, `zk-quorum-sasl-md5`): the realm it
    /// offers, and with `protocol` the digest-uri it expects.
    pub fn new(protocol: &str, server_name: &str, handler: SaslServerCallbackHandler) -> Self {
        DigestMd5Server {
            protocol: protocol.to_string(),
            server_name: server_name.to_string(),
            handler,
            step: Step::Challenge,
            nonce: String::new(),
            authorization_id: None,
        }
    }

    /// Uses `nonce` instead of a random one (RFC 2831's worked example).
    #[cfg(test)]
    pub(crate) fn with_nonce(mut self, nonce: &str) -> Self {
        self.nonce = nonce.to_string();
        self
    }

    fn challenge(&mut self) -> Result<Vec<u8>, SaslException> {
        if self.nonce.is_empty() {
            self.nonce = generate_nonce()?;
        }
        let mut out = String::new();
        write_quoted(&mut out, "realm", &self.server_name);
        write_quoted(&mut out, "nonce", &self.nonce);
        // No qop: `auth` alone is the default, and the JDK leaves it out.
        out.push_str("charset=utf-8,algorithm=md5-sess");
        Ok(out.into_bytes())
    }

    /// Checks a digest-response; the `rspauth` to send back.
    fn check_response(&mut self, token: &[u8]) -> Result<Vec<u8>, SaslException> {
        if token.len() > MAX_RESPONSE_LENGTH {
            return Err(error(format!(
                "Invalid digest response length. Got: {} Expected < {MAX_RESPONSE_LENGTH}",
                token.len()
            )));
        }
        let d = Directives::parse(token, &[])?;
        let what = "digest response";
        if let Some(charset) = d.get("charset") {
            if !charset.eq_ignore_ascii_case("utf-8") {
                return Err(error(format!(
                    "{what} format violation. Incompatible charset value: {charset}"
                )));
            }
        }
        let utf8 = d.get("charset").is_some();
        let username = d.require("username", what)?;
        let realm = d.get("realm").unwrap_or("");
        if !realm.is_empty() && realm != self.server_name {
            return Err(error(format!(
                "{what} format violation. Nonexistent realm: {realm}"
            )));
        }
        if d.require("nonce", what)? != self.nonce {
            return Err(error(format!("{what} format violation. Mismatched nonce.")));
        }
        let cnonce = d.require("cnonce", what)?;
        let nc = d.require("nc", what)?;
        if nc.len() != 8 || u32::from_str_radix(nc, 16) != Ok(1) {
            return Err(error(format!(
                "{what} format violation. Nonce count does not match: {nc}"
            )));
        }
        let qop = d.get("qop").unwrap_or("auth");
        if qop != "auth" {
            return Err(error(format!(
                "{what} format violation. Invalid QOP: {qop}"
            )));
        }
        if let Some(maxbuf) = d.get("maxbuf") {
            if maxbuf.parse::<u32>().map_or(true, |m| m == 0) {
                return Err(error(format!(
                    "{what} format violation. Invalid maxbuf: {maxbuf}"
                )));
            }
        }
        if d.get("cipher").is_some() {
            return Err(error(format!(
                "{what} format violation. cipher without qop=auth-conf"
            )));
        }
        let digest_uri = d.require("digest-uri", what)?;
        let expected_uri = format!("{}/{}", self.protocol, self.server_name);
        if !digest_uri.eq_ignore_ascii_case(&expected_uri) {
            return Err(error(format!(
                "{what} format violation. Mismatched URI: {digest_uri}; expecting: {expected_uri}"
            )));
        }
        let response = d.require("response", what)?;
        let authzid = d.get("authzid");
        let Some(password) = self.handler.password(username) else {
            return Err(error(format!(
                "cannot acquire password for {username} in realm : {realm}"
            )));
        };
        let inputs = DigestInputs {
            username,
            realm,
            password,
            nonce: &self.nonce,
            cnonce,
            nc,
            digest_uri,
            authzid,
            utf8,
        };
        if !digests_equal(&inputs.response(), response) {
            return Err(error(format!(
                "{what} format violation. Mismatched response."
            )));
        }
        let rspauth = inputs.rspauth();
        let id = self
            .handler
            .authorize(username, authzid.unwrap_or(username))
            .map_err(|e| error(format!("{username} is not authorized: {e}")))?;
        self.authorization_id = Some(id);
        Ok(format!("rspauth={rspauth}").into_bytes())
    }
}

impl SaslServer for DigestMd5Server {
    fn mechanism_name(&self) -> &'static str {
        MECHANISM
    }

    fn evaluate_response(&mut self, response: &[u8]) -> Result<Vec<u8>, SaslException> {
        match self.step {
            Step::Challenge => {
                // Whatever the client sent first: the JDK's clients send
                // nothing, others a placeholder the challenge answers.
                let challenge = self.challenge();
                self.step = if challenge.is_ok() {
                    Step::Response
                } else {
                    Step::Failed
                };
                challenge
            }
            Step::Response => {
                let result = self.check_response(response);
                self.step = if result.is_ok() {
                    Step::Complete
                } else {
                    Step::Failed
                };
                result
            }
            Step::Complete => Err(error(
                "Server at illegal state: authentication already complete, no more tokens",
            )),
            Step::Failed => Err(error("authentication failed: no more tokens")),
        }
    }

    fn is_complete(&self) -> bool {
        self.step == Step::Complete
    }

    fn authorization_id(&self) -> Option<&str> {
        self.authorization_id
            .as_deref()
            .filter(|_| self.is_complete())
    }
}

#[cfg(test)]
#[path = "digest_md5_tests.rs"]
mod tests;
