//! `SaslQuorumAuthServer`: quorum SASL's accepting side
//! (`quorum.auth.enableSasl=true`).
//!
//! ```text
//! learner                                   server
//!   QuorumAuthPacket(IN_PROGRESS, first token) -->   (peeked: is it one?)
//!   <-- IN_PROGRESS(challenge)                        evaluateResponse, not complete
//!   IN_PROGRESS(response) -->                         ... at most 5 rounds
//!   <-- SUCCESS(last token)                           complete
//!   <-- ERROR(empty)                                  the mechanism refused
//! ```
//!
//! With `quorum.auth.serverRequireSasl=false` a peer that does not start
//! the exchange, or fails it, is let in all the same (logged at WARN):
//! the rolling-upgrade path. With it true both refuse the connection.

use std::collections::BTreeSet;
use std::fmt;
use std::io;

use log::{error, info, warn};
use zk_config::sasl::{
    create_sasl_server_with_handler, Login, SaslException, SaslServer, SaslServerCallbackHandler,
};

use crate::quorum_auth::Status;
use crate::quorum_auth::{next_packet_is_auth, remote_of, ExchangeDeadline, PeekRead, QuorumAuth};
use crate::quorum_auth_packet::QuorumAuthPacket;
use crate::quorum_auth_server::QuorumAuthServer;
use crate::unified_server_socket::UnifiedSocket;

/// 3.8's `MAX_RETRIES`: challenge rounds before the server gives up.
const MAX_RETRIES: u32 = 5;

/// Makes the mechanism's server side for one exchange (DIGEST-MD5 with
/// the QuorumServer section's `user_NAME` passwords, or GSSAPI with its
/// keytab).
pub type SaslServerFactory =
    Box<dyn Fn() -> Result<Box<dyn SaslServer>, SaslException> + Send + Sync>;

/// See the module docs.
pub struct SaslQuorumAuthServer {
    quorum_require_sasl: bool,
    login_context: String,
    new_sasl_server: SaslServerFactory,
}

impl fmt::Debug for SaslQuorumAuthServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslQuorumAuthServer")
            .field("quorum_require_sasl", &self.quorum_require_sasl)
            .field("login_context", &self.login_context)
            .finish_non_exhaustive()
    }
}

/// How an exchange ended without an I/O or mechanism error.
enum Outcome {
    Authenticated(Option<String>),
    NotTried,
}

impl SaslQuorumAuthServer {
    /// 3.8's constructor: the mechanism `login` (the QuorumServer section)
    /// speaks, DIGEST-MD5 with its `user_NAME` passwords or GSSAPI,
    /// accepting Kerberos peers only from `authz_hosts` (the host names of
    /// the ensemble's `server.N` lines).
    pub fn new(quorum_require_sasl: bool, login: Login, authz_hosts: BTreeSet<String>) -> Self {
        let context = login.context_name().to_string();
        Self::with_mechanism(
            quorum_require_sasl,
            &context,
            Box::new(move || {
                let handler = SaslServerCallbackHandler::quorum(&login)
                    .with_authorized_hosts(authz_hosts.clone());
                create_sasl_server_with_handler(
                    &login,
                    QuorumAuth::QUORUM_SERVER_PROTOCOL_NAME,
                    QuorumAuth::QUORUM_SERVER_SASL_DIGEST,
                    handler,
                )
            }),
        )
    }

    /// A server that runs the mechanism `new_sasl_server` makes, logged
    /// in with the JAAS section `login_context` (named in logs);
    /// `quorum_require_sasl` is `quorum.auth.serverRequireSasl`.
    pub fn with_mechanism(
        quorum_require_sasl: bool,
        login_context: &str,
        new_sasl_server: SaslServerFactory,
    ) -> Self {
        SaslQuorumAuthServer {
            quorum_require_sasl,
            login_context: login_context.to_string(),
            new_sasl_server,
        }
    }

    /// `quorum.auth.serverRequireSasl`.
    pub fn quorum_require_sasl(&self) -> bool {
        self.quorum_require_sasl
    }

    /// The exchange, its reads bounded by the socket's read timeout as
    /// a whole; the timeout is put back however it ends.
    fn exchange(
        &self,
        sock: &UnifiedSocket,
        din: &mut dyn PeekRead,
        owe_error: &mut bool,
    ) -> io::Result<Outcome> {
        let deadline = ExchangeDeadline::start(sock)?;
        let outcome = self.rounds(sock, din, &deadline, owe_error);
        let restored = deadline.restore();
        let outcome = outcome?;
        restored?;
        Ok(outcome)
    }

    fn rounds(
        &self,
        sock: &UnifiedSocket,
        din: &mut dyn PeekRead,
        deadline: &ExchangeDeadline<'_>,
        owe_error: &mut bool,
    ) -> io::Result<Outcome> {
        deadline.arm()?;
        if !next_packet_is_auth(din)? {
            return Ok(Outcome::NotTried);
        }
        let mut token = receive(din, deadline)?;
        // From here on a failure is answered with ERROR, as 3.8 answers.
        *owe_error = true;
        let mut ss = (self.new_sasl_server)().map_err(sasl_error)?;
        let mut tries = 0;
        loop {
            let challenge = ss.evaluate_response(&token).map_err(sasl_error)?;
            if ss.is_complete() {
                *owe_error = false;
                send(sock, Status::Success, challenge)?;
                return Ok(Outcome::Authenticated(
                    ss.authorization_id().map(str::to_string),
                ));
            }
            tries += 1;
            if tries > MAX_RETRIES {
                // 3.8 lets the peer in here unless it is required (it
                // only leaves its loop); an exchange that never completed
                // is a failure here either way.
                *owe_error = false;
                send(sock, Status::Error, challenge)?;
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "retries={tries} exceeded without the {} exchange completing",
                        ss.mechanism_name()
                    ),
                ));
            }
            send(sock, Status::InProgress, challenge)?;
            token = receive(din, deadline)?;
        }
    }
}

impl QuorumAuthServer for SaslQuorumAuthServer {
    fn authenticate(&self, sock: &UnifiedSocket, din: &mut dyn PeekRead) -> io::Result<()> {
        let remote = remote_of(sock);
        let mut owe_error = false;
        let failure = match self.exchange(sock, din, &mut owe_error) {
            Ok(Outcome::Authenticated(id)) => {
                info!(
                    "Successfully completed the authentication using SASL. learner addr: {remote}, authorized id: {}",
                    id.as_deref().unwrap_or("?")
                );
                return Ok(());
            }
            Ok(Outcome::NotTried) if !self.quorum_require_sasl => return Ok(()),
            Ok(Outcome::NotTried) => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "Learner at {remote} not trying to authenticate and authentication is required ({}=true)",
                        QuorumAuth::QUORUM_SERVER_SASL_AUTH_REQUIRED
                    ),
                ));
            }
            Err(e) => e,
        };
        if owe_error {
            // The learner hears that it failed (never why).
            let _ = send(sock, Status::Error, Vec::new());
        }
        if self.quorum_require_sasl {
            error!("Failed to authenticate using SASL, learner addr: {remote}: {failure}");
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("Failed to authenticate using SASL: {failure}"),
            ))
        } else {
            warn!(
                "Maintaining learner connection despite SASL authentication failure. learner addr: {remote}, {}: false: {failure}",
                QuorumAuth::QUORUM_SERVER_SASL_AUTH_REQUIRED
            );
            Ok(())
        }
    }
}

fn receive(din: &mut dyn PeekRead, deadline: &ExchangeDeadline<'_>) -> io::Result<Vec<u8>> {
    deadline.arm()?;
    Ok(QuorumAuthPacket::read_from(din)?.token.unwrap_or_default())
}

fn send(sock: &UnifiedSocket, status: Status, token: Vec<u8>) -> io::Result<()> {
    let mut w = sock;
    QuorumAuthPacket::new(status, Some(token)).write_to(&mut w)
}

pub(crate) fn sasl_error(e: SaslException) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, e.message)
}
