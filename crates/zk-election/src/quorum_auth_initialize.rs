//! 3.8's `QuorumPeer.initialize`: the quorum's auth server and learner,
//! made once at startup from zoo.cfg's `quorum.auth.*` and the JAAS
//! login configuration.

use std::collections::BTreeSet;
use std::sync::Arc;

use log::info;
use zk_config::sasl::Login;
use zk_config::{jaas_login_file, JaasConfiguration, QuorumPeerConfig};

use crate::null_quorum_auth_learner::NullQuorumAuthLearner;
use crate::null_quorum_auth_server::NullQuorumAuthServer;
use crate::quorum_auth::QuorumAuth;
use crate::quorum_auth_learner::QuorumAuthLearner;
use crate::quorum_auth_server::QuorumAuthServer;
use crate::sasl_quorum_auth_learner::SaslQuorumAuthLearner;
use crate::sasl_quorum_auth_server::SaslQuorumAuthServer;

/// A peer's `authServer` and `authLearner`.
pub type QuorumAuthPair = (Arc<dyn QuorumAuthServer>, Arc<dyn QuorumAuthLearner>);

/// The auth server and learner `config` asks for: the Null pair without
/// `quorum.auth.enableSasl`, else the SASL pair logged in with the
/// `quorum.auth.server.saslLoginContext` and
/// `quorum.auth.learner.saslLoginContext` sections. `Err` (startup stops)
/// names what is missing: the JAAS file, a section, a login module.
pub fn initialize_quorum_auth(config: &QuorumPeerConfig) -> Result<QuorumAuthPair, String> {
    if !config.quorum_enable_sasl {
        info!("QuorumPeer communication is not secured! (SASL auth disabled)");
        return Ok((
            Arc::new(NullQuorumAuthServer),
            Arc::new(NullQuorumAuthLearner),
        ));
    }
    info!("{} set to true", QuorumAuth::QUORUM_SASL_AUTH_ENABLED);
    info!(
        "{} set to {}",
        QuorumAuth::QUORUM_SERVER_SASL_AUTH_REQUIRED,
        config.quorum_server_require_sasl
    );
    info!(
        "{} set to {}",
        QuorumAuth::QUORUM_LEARNER_SASL_AUTH_REQUIRED,
        config.quorum_learner_require_sasl
    );
    info!(
        "{} set to {}",
        QuorumAuth::QUORUM_KERBEROS_SERVICE_PRINCIPAL,
        config.quorum_service_principal
    );
    let failed =
        |e: String| format!("Failed to initialize authentication mechanism using SASL: {e}");
    let file = jaas_login_file(config).map_err(failed)?.ok_or_else(|| {
        failed(format!(
            "{}=true needs a JAAS login configuration \
             (-Djava.security.auth.login.config=FILE in SERVER_JVMFLAGS or JVMFLAGS)",
            QuorumAuth::QUORUM_SASL_AUTH_ENABLED
        ))
    })?;
    let jaas = JaasConfiguration::read(&file).map_err(|e| {
        failed(format!(
            "the JAAS login configuration {} {e}",
            file.display()
        ))
    })?;
    let login = |key: &str, name: &str| {
        info!("{key} set to {name}");
        Login::new(name, &jaas, &file)
            .and_then(|l| l.with_system_properties(&config.system_properties))
            .map_err(|e| failed(format!("{e} ({key}={name})")))
    };
    let server_login = login(
        QuorumAuth::QUORUM_SERVER_SASL_LOGIN_CONTEXT,
        &config.quorum_server_login_context,
    )?;
    let learner_login = login(
        QuorumAuth::QUORUM_LEARNER_SASL_LOGIN_CONTEXT,
        &config.quorum_learner_login_context,
    )?;
    // 3.8's authzHosts: the host of every server in the view.
    let authz_hosts: BTreeSet<String> = config
        .quorum_verifier
        .all_members()
        .values()
        .map(|s| s.hostname.clone())
        .collect();
    let server =
        SaslQuorumAuthServer::new(config.quorum_server_require_sasl, server_login, authz_hosts);
    let learner = SaslQuorumAuthLearner::new(
        config.quorum_learner_require_sasl,
        &config.quorum_service_principal,
        learner_login,
    );
    Ok((Arc::new(server), Arc::new(learner)))
}
