//! The client side of SASL GSSAPI (RFC 4752) over Kerberos V5, as the
//! JDK's `GssKrb5Client` runs it for ZooKeeper's clients and quorum
//! learners: establish a context with the service (mutual
//! authentication), then pick "no security layer" from the server's offer
//! and send the authorization id (the client's own principal, as 3.8
//! passes it).

use super::gss::{Credential, CredentialUsage, Name, SecurityContext};
use super::gssapi_server::NO_SECURITY_LAYER;
use super::krb5_login_module::Krb5LoginModule;
use super::{SaslClient, SaslException};

enum State {
    /// Exchanging context tokens.
    Context,
    /// Context established; the server's wrapped layer offer comes next.
    Negotiating,
    /// The choice was sent: done.
    Complete,
    /// Failed; every further token is refused.
    Failed,
}

/// `GssKrb5Client`: one GSSAPI exchange with a service.
pub struct GssapiClient {
    service: Name,
    service_principal: String,
    credential: Credential,
    context: SecurityContext,
    authorization_id: String,
    state: State,
}

impl GssapiClient {
    /// A client logged in as `login` (its principal and keytab or ticket
    /// cache, see [`Krb5LoginModule::credential_store`]) for the service
    /// `service_principal` (`zookeeper/localhost`, a realm after `@` is
    /// ignored): as 3.8 and the JDK do, it is asked for as the host-based
    /// service `zookeeper@localhost`, its realm the host's (krb5.conf
    /// `domain_realm`, else the default realm).
    ///
    /// Fails when the GSSAPI library is missing or the login's credential
    /// cannot be had (the ticket itself is fetched on the first token).
    pub fn new(
        login: &Krb5LoginModule,
        service_principal: &str,
    ) -> Result<GssapiClient, SaslException> {
        let (service, host) = service_and_host(service_principal)?;
        let store = login
            .credential_store(CredentialUsage::Initiate)
            .map_err(SaslException::new)?;
        let store: Vec<(&str, &str)> = store.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let own = login.principal().map(Name::principal).transpose()?;
        let credential = Credential::acquire(own.as_ref(), CredentialUsage::Initiate, &store)
            .map_err(|e| {
                SaslException::new(format!(
                    "{e} (keytab {})",
                    login.key_tab().unwrap_or("none: the ticket cache")
                ))
            })?;
        // Empty when the ticket cache's principal is used: the server then
        // takes the authenticated principal itself.
        let authorization_id = own
            .as_ref()
            .map(Name::display)
            .transpose()?
            .unwrap_or_default();
        Ok(GssapiClient {
            service: Name::host_based_service(service, host)?,
            service_principal: service_principal.to_string(),
            credential,
            context: SecurityContext::new()?,
            authorization_id,
            state: State::Context,
        })
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslException> {
        match self.state {
            State::Context => {
                let step = self
                    .context
                    .initiate(&self.credential, &self.service, challenge)
                    .map_err(|e| {
                        SaslException::new(format!("{e} (service {})", self.service_principal))
                    })?;
                if step.established {
                    self.state = State::Negotiating;
                }
                Ok(step.token)
            }
            State::Negotiating => {
                let offer = self.context.unwrap(challenge)?;
                if offer.len() != 4 {
                    return Err(SaslException::new(format!(
                        "GSSAPI: the server's layer offer is {} bytes, not 4",
                        offer.len()
                    )));
                }
                if offer[0] & NO_SECURITY_LAYER == 0 {
                    return Err(SaslException::new(format!(
                        "GSSAPI: the server offers security layers 0x{:02x} without 0x01 (none), \
                         the only one zk-rs speaks",
                        offer[0]
                    )));
                }
                // No layer: the maximum size we receive must be 0.
                let mut choice = vec![NO_SECURITY_LAYER, 0, 0, 0];
                choice.extend_from_slice(self.authorization_id.as_bytes());
                let token = self.context.wrap(&choice)?;
                self.state = State::Complete;
                Ok(token)
            }
            State::Complete => Err(SaslException::new("GSSAPI: exchange already complete")),
            State::Failed => Err(SaslException::new("GSSAPI: exchange already failed")),
        }
    }
}

/// `zookeeper/host@REALM` split as 3.8's `KerberosName` does: the service
/// name and the host name (the realm is not used: the JDK drops it too).
fn service_and_host(principal: &str) -> Result<(&str, &str), SaslException> {
    let without_realm = principal.split('@').next().unwrap_or(principal);
    match without_realm.split_once('/') {
        Some((service, host)) if !service.is_empty() && !host.is_empty() && !host.contains('/') => {
            Ok((service, host))
        }
        _ => Err(SaslException::new(format!(
            "GSSAPI: service principal {principal} is not of the form service/host[@REALM]"
        ))),
    }
}

impl SaslClient for GssapiClient {
    fn mechanism_name(&self) -> &'static str {
        "GSSAPI"
    }

    fn has_initial_response(&self) -> bool {
        true
    }

    fn evaluate_challenge(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslException> {
        let result = self.step(challenge);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_principal_splits_as_kerberos_name() {
        assert_eq!(
            service_and_host("zookeeper/localhost").unwrap(),
            ("zookeeper", "localhost")
        );
        assert_eq!(
            service_and_host("zkquorum/zk1.example.com@EXAMPLE.COM").unwrap(),
            ("zkquorum", "zk1.example.com")
        );
        for bad in ["zookeeper", "zookeeper@EXAMPLE.COM", "/host", "a/b/c"] {
            let e = service_and_host(bad).unwrap_err();
            assert!(e.message.contains(bad), "{e}");
        }
    }
}
