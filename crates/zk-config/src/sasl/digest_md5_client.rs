//! The client side of SASL DIGEST-MD5 (RFC 2831), as the JDK's
//! `com.sun.security.sasl.digest.DigestMD5Client` runs it for a ZooKeeper
//! client or quorum learner: authentication only (`qop=auth`), the
//! challenge's first realm, `charset=utf-8` when the server offers it.
//!
//! The exchange: the server's challenge gets the digest-response; the
//! server's `rspauth` is checked (a server that does not know the password
//! cannot make it) and the client is complete.

use super::digest_md5_base::{
    digests_equal, error, generate_nonce, write_quoted, DigestInputs, Directives, DEFAULT_MAXBUF,
    MAX_CHALLENGE_LENGTH, MECHANISM,
};
use super::{SaslClient, SaslException};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Challenge,
    ResponseAuth,
    Complete,
    Failed,
}

/// A DIGEST-MD5 client for one exchange.
pub struct DigestMd5Client {
    protocol: String,
    server_name: String,
    username: String,
    password: String,
    authorization_id: Option<String>,
    cnonce: String,
    step: Step,
    /// The `rspauth` the server must send.
    expected_rspauth: String,
}

impl std::fmt::Debug for DigestMd5Client {
    // Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestMd5Client")
            .field("protocol", &self.protocol)
            .field("server_name", &self.server_name)
            .field("username", &self.username)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl DigestMd5Client {
    /// A client of `protocol` to `server_name` (digest-uri
    /// `protocol/server_name`) proving `username`'s `password`, asking to
    /// be authorized as `username` (3.8's `SecurityUtils` passes the user
    /// name as the authorization id, which the JDK client then sends).
    pub fn new(protocol: &str, server_name: &str, username: &str, password: &str) -> Self {
        DigestMd5Client {
            protocol: protocol.to_string(),
            server_name: server_name.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            authorization_id: Some(username.to_string()),
            cnonce: String::new(),
            step: Step::Challenge,
            expected_rspauth: String::new(),
        }
    }

    /// The same client asking to be authorized as `id` (`None`: sends no
    /// `authzid`, and is authorized as the user name).
    pub fn with_authorization_id(mut self, id: Option<&str>) -> Self {
        self.authorization_id = id.map(str::to_string);
        self
    }

    /// Uses `cnonce` instead of a random one (RFC 2831's worked example).
    #[cfg(test)]
    pub(crate) fn with_cnonce(mut self, cnonce: &str) -> Self {
        self.cnonce = cnonce.to_string();
        self
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslException> {
        if challenge.len() > MAX_CHALLENGE_LENGTH {
            return Err(error(format!(
                "Invalid digest-challenge length. Got: {} Expected < {MAX_CHALLENGE_LENGTH}",
                challenge.len()
            )));
        }
        let what = "digest-challenge";
        let d = Directives::parse(challenge, &["realm"])?;
        let nonce = d.require("nonce", what)?;
        let algorithm = d.require("algorithm", what)?;
        if !algorithm.eq_ignore_ascii_case("md5-sess") {
            return Err(error(format!(
                "{what} format violation. Invalid value for 'algorithm' directive: {algorithm}"
            )));
        }
        let qops = d.get("qop").unwrap_or("auth");
        if !qops
            .split(',')
            .any(|q| q.trim().eq_ignore_ascii_case("auth"))
        {
            return Err(error(format!(
                "No common protection layer between client and server: server offers {qops}"
            )));
        }
        let utf8 = match d.get("charset") {
            None => false,
            Some(c) if c.eq_ignore_ascii_case("utf-8") => true,
            Some(c) => {
                return Err(error(format!(
                    "{what} format violation. Unrecognised charset value: {c}"
                )))
            }
        };
        let realm = d.all("realm").next();
        if self.cnonce.is_empty() {
            self.cnonce = generate_nonce()?;
        }
        let digest_uri = format!("{}/{}", self.protocol, self.server_name);
        let inputs = DigestInputs {
            username: &self.username,
            realm: realm.unwrap_or(""),
            password: &self.password,
            nonce,
            cnonce: &self.cnonce,
            nc: "00000001",
            digest_uri: &digest_uri,
            authzid: self.authorization_id.as_deref(),
            utf8,
        };
        let mut out = String::new();
        if utf8 {
            out.push_str("charset=utf-8,");
        }
        write_quoted(&mut out, "username", &self.username);
        if let Some(realm) = realm {
            write_quoted(&mut out, "realm", realm);
        }
        write_quoted(&mut out, "nonce", nonce);
        out.push_str("nc=00000001,");
        write_quoted(&mut out, "cnonce", &self.cnonce);
        write_quoted(&mut out, "digest-uri", &digest_uri);
        out.push_str(&format!("maxbuf={DEFAULT_MAXBUF},"));
        out.push_str(&format!("response={},qop=auth", inputs.response()));
        if let Some(id) = &self.authorization_id {
            out.push(',');
            write_quoted(&mut out, "authzid", id);
            out.pop();
        }
        self.expected_rspauth = inputs.rspauth();
        Ok(out.into_bytes())
    }

    fn check_rspauth(&self, token: &[u8]) -> Result<(), SaslException> {
        let d = Directives::parse(token, &[])?;
        let rspauth = d.require("rspauth", "response-auth")?;
        if !digests_equal(&self.expected_rspauth, rspauth) {
            return Err(error(
                "Could not validate response-auth value from server: the server does not know the password",
            ));
        }
        Ok(())
    }
}

impl SaslClient for DigestMd5Client {
    fn mechanism_name(&self) -> &'static str {
        MECHANISM
    }

    fn has_initial_response(&self) -> bool {
        false
    }

    fn evaluate_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslException> {
        let (result, next) = match self.step {
            Step::Challenge => {
                let r = self.respond(challenge);
                let next = if r.is_ok() {
                    Step::ResponseAuth
                } else {
                    Step::Failed
                };
                (r, next)
            }
            Step::ResponseAuth => {
                let r = self.check_rspauth(challenge).map(|()| Vec::new());
                let next = if r.is_ok() {
                    Step::Complete
                } else {
                    Step::Failed
                };
                (r, next)
            }
            Step::Complete => (
                Err(error("authentication already complete: no more tokens")),
                Step::Complete,
            ),
            Step::Failed => (
                Err(error("authentication failed: no more tokens")),
                Step::Failed,
            ),
        };
        self.step = next;
        result
    }

    fn is_complete(&self) -> bool {
        self.step == Step::Complete
    }
}
