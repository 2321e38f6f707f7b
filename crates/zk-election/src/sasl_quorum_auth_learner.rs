//! `SaslQuorumAuthLearner`: quorum SASL's dialing side
//! (`quorum.auth.enableSasl=true`).
//!
//! With `quorum.auth.learnerRequireSasl=false` it sends nothing (the first
//! rolling step: servers accept either). With it true it always starts
//! the exchange (an empty first token for DIGEST-MD5, which the server
//! answers with its challenge) and fails the connection unless the server
//! ends it with SUCCESS.

use std::fmt;
use std::io;

use log::{debug, info};
use zk_config::sasl::{create_sasl_client, Login, SaslClient, SaslException};

use crate::quorum_auth::{remote_of, ExchangeDeadline, QuorumAuth, Status};
use crate::quorum_auth_learner::QuorumAuthLearner;
use crate::quorum_auth_packet::QuorumAuthPacket;
use crate::sasl_quorum_auth_server::sasl_error;
use crate::unified_server_socket::UnifiedSocket;

/// Makes the mechanism's client side for one exchange with the server
/// whose `server.N` line names the given host (DIGEST-MD5 with the
/// QuorumLearner section's user name and password, or GSSAPI asking for
/// `quorum.auth.kerberos.servicePrincipal` with `_HOST` replaced).
pub type SaslClientFactory =
    Box<dyn Fn(&str) -> Result<Box<dyn SaslClient>, SaslException> + Send + Sync>;

/// See the module docs.
pub struct SaslQuorumAuthLearner {
    quorum_require_sasl: bool,
    login_context: String,
    new_sasl_client: SaslClientFactory,
}

impl fmt::Debug for SaslQuorumAuthLearner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslQuorumAuthLearner")
            .field("quorum_require_sasl", &self.quorum_require_sasl)
            .field("login_context", &self.login_context)
            .finish_non_exhaustive()
    }
}

impl SaslQuorumAuthLearner {
    /// 3.8's constructor: the mechanism `login` (the QuorumLearner
    /// section) speaks: DIGEST-MD5 with its `username`/`password`, or
    /// GSSAPI asking for `quorum_service_principal` (`_HOST` replaced by
    /// the server's host name).
    pub fn new(quorum_require_sasl: bool, quorum_service_principal: &str, login: Login) -> Self {
        let context = login.context_name().to_string();
        let principal = quorum_service_principal.to_string();
        Self::with_mechanism(
            quorum_require_sasl,
            &context,
            Box::new(move |host| {
                if login.kerberos_principal().is_none() {
                    return create_sasl_client(
                        &login,
                        QuorumAuth::QUORUM_SERVER_PROTOCOL_NAME,
                        QuorumAuth::QUORUM_SERVER_SASL_DIGEST,
                    );
                }
                let service = server_principal(&principal, host);
                let (name, host) = service_name_and_host(&service);
                create_sasl_client(&login, name, host)
            }),
        )
    }

    /// A learner that runs the mechanism `new_sasl_client` makes, logged
    /// in with the JAAS section `login_context` (named in logs);
    /// `quorum_require_sasl` is `quorum.auth.learnerRequireSasl`.
    pub fn with_mechanism(
        quorum_require_sasl: bool,
        login_context: &str,
        new_sasl_client: SaslClientFactory,
    ) -> Self {
        SaslQuorumAuthLearner {
            quorum_require_sasl,
            login_context: login_context.to_string(),
            new_sasl_client,
        }
    }

    /// `quorum.auth.learnerRequireSasl`.
    pub fn quorum_require_sasl(&self) -> bool {
        self.quorum_require_sasl
    }

    fn rounds(
        &self,
        sock: &UnifiedSocket,
        hostname: &str,
        remote: &str,
        deadline: &ExchangeDeadline<'_>,
    ) -> io::Result<()> {
        let mut sc = (self.new_sasl_client)(hostname).map_err(sasl_error)?;
        let first = if sc.has_initial_response() {
            sc.evaluate_challenge(&[]).map_err(sasl_error)?
        } else {
            Vec::new()
        };
        send(sock, first)?;
        let mut packet = receive(sock, deadline)?;
        let failed = |status: Option<Status>| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "Authentication failed against server addr: {remote} (section '{}'), qpStatus: {}",
                    self.login_context,
                    packet_status_name(status)
                ),
            )
        };
        while !sc.is_complete() {
            match packet.status() {
                Some(Status::Success) => {
                    let last = sc
                        .evaluate_challenge(packet.token_bytes())
                        .map_err(sasl_error)?;
                    if !last.is_empty() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("Protocol error with server addr {remote}: attempting to send response after completion"),
                        ));
                    }
                    if !sc.is_complete() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("server addr {remote} said SUCCESS before the {} exchange completed", sc.mechanism_name()),
                        ));
                    }
                }
                Some(Status::InProgress) => {
                    debug!(
                        "saslClient.evaluateChallenge(len={})",
                        packet.token_bytes().len()
                    );
                    let response = sc
                        .evaluate_challenge(packet.token_bytes())
                        .map_err(sasl_error)?;
                    send(sock, response)?;
                    packet = receive(sock, deadline)?;
                }
                status => return Err(failed(status)),
            }
        }
        // The exchange may complete on our side before the server's verdict.
        match packet.status() {
            Some(Status::Success) => Ok(()),
            status => Err(failed(status)),
        }
    }
}

impl QuorumAuthLearner for SaslQuorumAuthLearner {
    fn authenticate(&self, sock: &UnifiedSocket, hostname: &str) -> io::Result<()> {
        if !self.quorum_require_sasl {
            debug!(
                "Skipping SASL authentication as {}=false",
                QuorumAuth::QUORUM_LEARNER_SASL_AUTH_REQUIRED
            );
            return Ok(());
        }
        let remote = remote_of(sock);
        let deadline = ExchangeDeadline::start(sock)?;
        let result = self.rounds(sock, hostname, &remote, &deadline);
        let restored = deadline.restore();
        result?;
        restored?;
        info!(
            "Successfully completed the authentication using SASL. server addr: {remote}, status: SUCCESS"
        );
        Ok(())
    }
}

/// `SecurityUtils.getServerPrincipal`: `service/_HOST` becomes
/// `service/<host in lower case>`; anything else (a realm after `_HOST`
/// included) is kept as written.
pub(crate) fn server_principal(principal: &str, host: &str) -> String {
    match principal.split('/').collect::<Vec<_>>()[..] {
        [service, "_HOST"] => format!("{service}/{}", host.to_lowercase()),
        _ => principal.to_string(),
    }
}

/// The service name and host of `service/host[@REALM]` (a principal
/// without a host is its own service name, on no host).
fn service_name_and_host(principal: &str) -> (&str, &str) {
    let no_realm = principal.split('@').next().unwrap_or(principal);
    no_realm.split_once('/').unwrap_or((no_realm, ""))
}

fn packet_status_name(s: Option<Status>) -> String {
    match s {
        Some(Status::Success) => "SUCCESS".to_string(),
        Some(Status::InProgress) => "IN_PROGRESS".to_string(),
        Some(Status::Error) => "ERROR".to_string(),
        None => "unknown".to_string(),
    }
}

fn receive(sock: &UnifiedSocket, deadline: &ExchangeDeadline<'_>) -> io::Result<QuorumAuthPacket> {
    deadline.arm()?;
    let mut r = sock;
    QuorumAuthPacket::read_from(&mut r)
}

/// Every learner packet says IN_PROGRESS, as 3.8's do.
fn send(sock: &UnifiedSocket, token: Vec<u8>) -> io::Result<()> {
    let mut w = sock;
    QuorumAuthPacket::new(Status::InProgress, Some(token)).write_to(&mut w)
}
