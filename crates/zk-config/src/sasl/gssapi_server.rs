//! The server side of SASL GSSAPI (RFC 4752) over Kerberos V5, as the
//! JDK's `GssKrb5Server` runs it for ZooKeeper: accept the client's
//! context tokens, then offer the security layers (only "none": ZooKeeper
//! uses SASL to authenticate, not to protect the stream), read the
//! client's choice and authorization id, and ask the callback handler to
//! authorize it.

use super::gss::{Credential, CredentialUsage, Name, SecurityContext};
use super::krb5_login_module::Krb5LoginModule;
use super::{SaslException, SaslServer};

/// RFC 4752's security layer bits: only "no security layer" is offered.
pub(crate) const NO_SECURITY_LAYER: u8 = 1;

/// Decides whether `authentication_id` (the client's Kerberos principal)
/// may act as `authorization_id` (what the client asked for, or its
/// principal) and returns the id the session gets. ZooKeeper's
/// `SaslServerCallbackHandler::authorize` fits it.
pub type Authorizer = Box<dyn FnMut(&str, &str) -> Result<String, SaslException> + Send>;

enum State {
    /// Accepting context tokens.
    Context,
    /// Context established with a last token sent; the client answers it
    /// with an empty response.
    AwaitEmpty,
    /// The wrapped layer offer was sent; the client's choice comes next.
    Negotiating,
    /// Authenticated and authorized.
    Complete,
    /// Failed; every further token is refused.
    Failed,
}

/// `GssKrb5Server`: one client's GSSAPI exchange.
pub struct GssapiServer {
    principal: String,
    credential: Credential,
    context: SecurityContext,
    state: State,
    peer: Option<String>,
    authorization_id: Option<String>,
    authorize: Authorizer,
}

impl GssapiServer {
    /// A server accepting for `login`'s principal with its keytab (see
    /// [`Krb5LoginModule::credential_store`]). Fails when the GSSAPI
    /// library is missing, the login has no principal, or the keytab holds
    /// no key for it.
    pub fn new(
        login: &Krb5LoginModule,
        authorize: Authorizer,
    ) -> Result<GssapiServer, SaslException> {
        let principal = login.principal().ok_or_else(|| {
            SaslException::new(format!(
                "{} has no principal option: the server's Kerberos principal is unknown",
                Krb5LoginModule::NAME
            ))
        })?;
        let store = login
            .credential_store(CredentialUsage::Accept)
            .map_err(SaslException::new)?;
        let store: Vec<(&str, &str)> = store.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let name = Name::principal(principal)?;
        let credential = Credential::acquire(Some(&name), CredentialUsage::Accept, &store)
            .map_err(|e| {
                SaslException::new(format!(
                    "{e} (keytab {})",
                    login.key_tab().unwrap_or("from KRB5_KTNAME or the default")
                ))
            })?;
        Ok(GssapiServer {
            principal: principal.to_string(),
            credential,
            context: SecurityContext::new()?,
            state: State::Context,
            peer: None,
            authorization_id: None,
            authorize,
        })
    }

    /// The service principal this server accepts for.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The layer offer: "no security layer" and a maximum message size of
    /// 0, which RFC 4752 requires when no layer protects messages.
    fn offer(&mut self) -> Result<Vec<u8>, SaslException> {
        self.state = State::Negotiating;
        self.context.wrap(&[NO_SECURITY_LAYER, 0, 0, 0])
    }

    fn step(&mut self, response: &[u8]) -> Result<Vec<u8>, SaslException> {
        match self.state {
            State::Context => {
                let (step, peer) = self.context.accept(&self.credential, response)?;
                if !step.established {
                    return Ok(step.token);
                }
                self.peer = peer;
                if step.token.is_empty() {
                    self.offer()
                } else {
                    self.state = State::AwaitEmpty;
                    Ok(step.token)
                }
            }
            State::AwaitEmpty => {
                if !response.is_empty() {
                    return Err(SaslException::new(
                        "GSSAPI: the client's answer to the last context token must be empty",
                    ));
                }
                self.offer()
            }
            State::Negotiating => self.choice(response).map(|()| Vec::new()),
            State::Complete => Err(SaslException::new("GSSAPI: exchange already complete")),
            State::Failed => Err(SaslException::new("GSSAPI: exchange already failed")),
        }
    }

    /// The client's wrapped choice: layer byte, maximum size, then the
    /// UTF-8 authorization id (empty: its own principal).
    fn choice(&mut self, response: &[u8]) -> Result<(), SaslException> {
        let message = self.context.unwrap(response)?;
        if message.len() < 4 {
            return Err(SaslException::new(format!(
                "GSSAPI: the client's layer choice is {} bytes, not at least 4",
                message.len()
            )));
        }
        if message[0] != NO_SECURITY_LAYER {
            return Err(SaslException::new(format!(
                "GSSAPI: the client chose security layer 0x{:02x}; only 0x01 (none) was offered",
                message[0]
            )));
        }
        let requested = std::str::from_utf8(&message[4..]).map_err(|_| {
            SaslException::new("GSSAPI: the client's authorization id is not UTF-8")
        })?;
        let peer = self
            .peer
            .clone()
            .ok_or_else(|| SaslException::new("GSSAPI: the context named no client principal"))?;
        let requested = if requested.is_empty() {
            peer.as_str()
        } else {
            requested
        };
        let authorized = (self.authorize)(&peer, requested)?;
        self.authorization_id = Some(authorized);
        self.state = State::Complete;
        Ok(())
    }
}

impl SaslServer for GssapiServer {
    fn mechanism_name(&self) -> &'static str {
        "GSSAPI"
    }

    fn evaluate_response(&mut self, response: &[u8]) -> Result<Vec<u8>, SaslException> {
        let result = self.step(response);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    fn authorization_id(&self) -> Option<&str> {
        self.authorization_id.as_deref()
    }
}
