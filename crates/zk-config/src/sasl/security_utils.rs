//! 3.8's `org.apache.zookeeper.util.SecurityUtils`: the SASL server or
//! client a login speaks. A login holding a Kerberos principal speaks
//! GSSAPI; any other DIGEST-MD5, with the server name as realm and
//! `protocol/server_name` as digest-uri.

use super::digest_md5_client::DigestMd5Client;
use super::digest_md5_server::DigestMd5Server;
#[cfg(test)]
use super::gss;
use super::gssapi_client::GssapiClient;
use super::gssapi_server::GssapiServer;
use super::krb5_login_module::Krb5LoginModule;
use super::login::Login;
use super::sasl_server_callback_handler::SaslServerCallbackHandler;
use super::{SaslClient, SaslException, SaslServer};

/// The client port's protocol name (ZooKeeperSaslServer).
pub const ZOOKEEPER_PROTOCOL: &str = "zookeeper";
/// The client port's DIGEST-MD5 server name, its realm.
pub const ZOOKEEPER_SERVER_NAME: &str = "zk-sasl-md5";
/// The quorum's protocol name (QuorumAuth.QUORUM_SERVER_PROTOCOL_NAME).
pub const QUORUM_PROTOCOL: &str = "zookeeper-quorum";
/// The quorum's DIGEST-MD5 server name (QuorumAuth.QUORUM_SERVER_SASL_DIGEST).
pub const QUORUM_SERVER_NAME: &str = "zk-quorum-sasl-md5";

/// The SASL server for one exchange under `login`: its handler is the
/// quorum's ([`SaslServerCallbackHandler::quorum`]) for
/// [`QUORUM_PROTOCOL`], the client port's otherwise.
pub fn create_sasl_server(
    login: &Login,
    protocol: &str,
    server_name: &str,
) -> Result<Box<dyn SaslServer>, SaslException> {
    let handler = if protocol == QUORUM_PROTOCOL {
        SaslServerCallbackHandler::quorum(login)
    } else {
        SaslServerCallbackHandler::new(login)
    };
    create_sasl_server_with_handler(login, protocol, server_name, handler)
}

/// [`create_sasl_server`] with a handler of the caller's (the quorum's,
/// with its authorized hosts).
pub fn create_sasl_server_with_handler(
    login: &Login,
    protocol: &str,
    server_name: &str,
    handler: SaslServerCallbackHandler,
) -> Result<Box<dyn SaslServer>, SaslException> {
    if let Some(krb5) = kerberos_login(login) {
        let server = GssapiServer::new(
            &krb5,
            Box::new(move |authn: &str, authz: &str| handler.authorize(authn, authz)),
        )
        .map_err(|e| in_section(login, e))?;
        log::debug!(
            "creating GSSAPI SASL server for principal {}, section '{}'",
            server.principal(),
            login.context_name()
        );
        return Ok(Box::new(server));
    }
    log::debug!(
        "creating DIGEST-MD5 SASL server for protocol {protocol}, server name {server_name}, section '{}'",
        login.context_name()
    );
    Ok(Box::new(DigestMd5Server::new(
        protocol,
        server_name,
        handler,
    )))
}

/// The Krb5LoginModule of a login holding a Kerberos principal: such a
/// login speaks GSSAPI (3.8: its subject has principals).
fn kerberos_login(login: &Login) -> Option<Krb5LoginModule> {
    login.kerberos_principal()?;
    Krb5LoginModule::from_login(login)
}

fn in_section(login: &Login, e: SaslException) -> SaslException {
    SaslException::new(format!(
        "{e} (JAAS section '{}' of '{}')",
        login.context_name(),
        login.jaas_file().display()
    ))
}

/// The SASL client for one exchange under `login`: DIGEST-MD5 with
/// DigestLoginModule's `username`/`password`; GSSAPI when the login holds
/// a Kerberos principal, for the service `protocol/server_name` (callers
/// with a Kerberos login pass the service name and its host, e.g.
/// `zookeeper` and `localhost`; [`create_sasl_client_for_service`] takes
/// the service principal separately, as 3.8's `createSaslClient` does).
pub fn create_sasl_client(
    login: &Login,
    protocol: &str,
    server_name: &str,
) -> Result<Box<dyn SaslClient>, SaslException> {
    create_sasl_client_for_service(
        login,
        &format!("{protocol}/{server_name}"),
        protocol,
        server_name,
    )
}

/// 3.8's `createSaslClient(subject, servicePrincipal, protocol,
/// serverName)`: GSSAPI to `service_principal` (`zookeeper/host`,
/// `zkquorum/host@REALM`) when `login` holds a Kerberos principal, else
/// DIGEST-MD5 with `protocol` and `server_name`.
pub fn create_sasl_client_for_service(
    login: &Login,
    service_principal: &str,
    protocol: &str,
    server_name: &str,
) -> Result<Box<dyn SaslClient>, SaslException> {
    if let Some(krb5) = kerberos_login(login) {
        log::info!(
            "{} will use GSSAPI as SASL mechanism.",
            login.context_name()
        );
        log::debug!(
            "creating sasl client: {}={};service={service_principal}",
            login.context_name(),
            krb5.principal().unwrap_or("")
        );
        let client =
            GssapiClient::new(&krb5, service_principal).map_err(|e| in_section(login, e))?;
        return Ok(Box::new(client));
    }
    let Some((username, password)) = login.digest_credentials() else {
        return Err(SaslException::new(format!(
            "DIGEST-MD5: section '{}' of '{}' has no {} with a username option",
            login.context_name(),
            login.jaas_file().display(),
            super::login::DIGEST_LOGIN_MODULE
        )));
    };
    log::info!(
        "{} will use DIGEST-MD5 as SASL mechanism.",
        login.context_name()
    );
    Ok(Box::new(DigestMd5Client::new(
        protocol,
        server_name,
        username,
        password,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JaasConfiguration;
    use std::path::Path;

    fn login(text: &str, section: &str) -> Login {
        let jaas = JaasConfiguration::parse(text).unwrap();
        Login::new(section, &jaas, Path::new("/etc/zk/jaas.conf")).unwrap()
    }

    // These load MIT's library when it is installed, but ask no KDC: the
    // keytab is read (and missing) before any ticket is wanted.
    #[test]
    fn a_kerberos_server_login_speaks_gssapi_and_fails_closed_on_its_keytab() {
        let login = login(
            "Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true \
             keyTab=\"/nonexistent/zk.keytab\" principal=\"zookeeper/localhost@EXAMPLE.COM\"; };",
            "Server",
        );
        let e = create_sasl_server(&login, ZOOKEEPER_PROTOCOL, ZOOKEEPER_SERVER_NAME)
            .err()
            .expect("a keytab that does not exist gives no acceptor");
        if gss::available().is_err() {
            assert!(e.message.contains(gss::GSSAPI_LIBRARY), "{e}");
            return;
        }
        for part in [
            "acquire_cred",
            "zookeeper/localhost@EXAMPLE.COM",
            "/nonexistent/zk.keytab",
            "'Server'",
            "/etc/zk/jaas.conf",
        ] {
            assert!(e.message.contains(part), "{part} not in {e}");
        }
    }

    #[test]
    fn a_kerberos_client_without_keytab_or_cache_is_refused() {
        let login = login(
            "Client { com.sun.security.auth.module.Krb5LoginModule required \
             principal=\"client@EXAMPLE.COM\"; };",
            "Client",
        );
        let e = create_sasl_client(&login, "zookeeper", "localhost")
            .err()
            .expect("no credential to use");
        assert!(e.message.contains("useKeyTab=true"), "{e}");
        assert!(e.message.contains("'Client'"), "{e}");
    }

    #[test]
    fn a_kerberos_client_needs_a_service_of_the_form_service_host() {
        let login = login(
            "Client { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true \
             keyTab=\"/nonexistent/client.keytab\" principal=\"client@EXAMPLE.COM\"; };",
            "Client",
        );
        if gss::available().is_err() {
            return;
        }
        let e = create_sasl_client_for_service(&login, "zookeeper", "p", "s")
            .err()
            .expect("no host in the service principal");
        assert!(e.message.contains("service/host"), "{e}");
    }
}
