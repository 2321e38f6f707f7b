//! 3.8's `ZooKeeperSaslServer`, and `ZooKeeperServer.processSasl`: SASL
//! on the client port.
//!
//! When the JAAS login configuration (`-Djava.security.auth.login.config`)
//! has a `Server` section (`zookeeper.sasl.serverconfig` names another)
//! listing login modules, the client ports log in with it at startup
//! (3.8's `ServerCnxnFactory.configureSaslLogin`) and each connection gets
//! its own mechanism: DIGEST-MD5 for a `DigestLoginModule` section
//! (`user_NAME="password"` entries), GSSAPI for a Kerberos one, chosen by
//! zk-config's `create_sasl_server` with 3.8's protocol `zookeeper` and
//! server name `zk-sasl-md5`.
//!
//! A client sends `sasl` requests (opcode 102, a `GetSASLRequest` token)
//! after its session is set up; each is answered with the mechanism's next
//! token (`SetSASLResponse`, reply zxid 0). Once the exchange completes,
//! the session holds `sasl:<authorization id>`, and `super` too when a
//! system property `zookeeper.superUser` (or `zookeeper.superUser.<any>`)
//! names that id. A token the mechanism rejects is answered AUTHFAILED
//! (SESSIONCLOSEDREQUIRESASLAUTH when enforced authentication includes
//! `sasl`) with a null token, and the connection closes after it, unless
//! `zookeeper.allowSaslFailedClients=true` (and SASL is not required):
//! then the failure is answered as a success with a null token and the
//! session stays, unauthenticated. A server without a SASL login answers
//! every `sasl` request OK with a null token, as 3.8 does (it logs that
//! the connection has no SASL server). A request whose record does not
//! decode closes the connection.

use std::net::SocketAddr;
use std::sync::Arc;

use log::{debug, error, info, warn};
use zk_config::sasl::{create_sasl_server, Login, SaslException, SaslServer};
use zk_config::{JaasConfiguration, SystemProperties};
use zk_persistence::jute::Record;
use zk_persistence::records::Id;
use zk_persistence::zoo_defs::Code;

use crate::proto::{reply_frame, GetSaslRequest, ReplyHeader, SetSaslResponse};
use crate::zookeeper_server::ZooKeeperServer;

/// The system property naming the JAAS section of the server's login.
pub const LOGIN_CONTEXT_NAME_KEY: &str = "zookeeper.sasl.serverconfig";
/// The section read without it.
pub const DEFAULT_LOGIN_CONTEXT_NAME: &str = "Server";
/// SASL ids named by this property (or `<this>.<anything>`) are `super`.
pub const SASL_SUPER_USER: &str = "zookeeper.superUser";
/// Keeps a connection whose SASL exchange failed.
pub const ALLOW_SASL_FAILED_CLIENTS: &str = "zookeeper.allowSaslFailedClients";
/// The protocol and server name 3.8 creates every client-port mechanism
/// with (`zk-sasl-md5` is DIGEST-MD5's realm; GSSAPI takes its own from
/// the principal).
pub const SASL_PROTOCOL: &str = "zookeeper";
/// See [`SASL_PROTOCOL`].
pub const SASL_SERVER_NAME: &str = "zk-sasl-md5";

/// One connection's side of a SASL exchange.
pub struct ZooKeeperSaslServer {
    sasl_server: Box<dyn SaslServer>,
}

impl ZooKeeperSaslServer {
    /// A connection's exchange under the server's `login` (3.8's
    /// `createSaslServer`: DIGEST-MD5, or GSSAPI for a Kerberos login).
    pub fn new(login: &Login) -> Result<Self, SaslException> {
        create_sasl_server(login, SASL_PROTOCOL, SASL_SERVER_NAME).map(Self::from_mechanism)
    }

    /// A connection's exchange run by `sasl_server`.
    pub fn from_mechanism(sasl_server: Box<dyn SaslServer>) -> Self {
        ZooKeeperSaslServer { sasl_server }
    }

    /// The next token for the client's `response`; `Err`: authentication
    /// failed.
    pub fn evaluate_response(&mut self, response: &[u8]) -> Result<Vec<u8>, SaslException> {
        self.sasl_server.evaluate_response(response)
    }

    /// Whether the exchange has succeeded.
    pub fn is_complete(&self) -> bool {
        self.sasl_server.is_complete()
    }

    /// The id the session is authorized as, once complete.
    pub fn authorization_id(&self) -> Option<&str> {
        self.sasl_server.authorization_id()
    }

    /// The mechanism's name, for the log.
    pub fn mechanism_name(&self) -> &'static str {
        self.sasl_server.mechanism_name()
    }
}

/// How a `sasl` request went: the reply to queue, and whether the
/// connection closes after it (and why).
pub(crate) struct SaslReply {
    /// The reply frame, length prefix included.
    pub frame: Vec<u8>,
    /// `Some(reason)`: close once the reply is written.
    pub close: Option<String>,
}

/// `ServerCnxnFactory.configureSaslLogin`: the client ports' SASL login,
/// from the JAAS file's section `zookeeper.sasl.serverconfig` (default
/// `Server`); `None` when the file has no such section or it lists no
/// login module (3.8 then serves without SASL). `Err` (startup stops, as
/// 3.8's does) when `zookeeper.sasl.serverconfig` is set without a JAAS
/// file, the file cannot be read, the login fails (a login module zk-rs
/// cannot run) or no mechanism can be made from it; the message names
/// the file and section.
pub fn configure_sasl_login(props: &SystemProperties) -> Result<Option<Arc<Login>>, String> {
    let named = props.get(LOGIN_CONTEXT_NAME_KEY);
    let section = named.unwrap_or(DEFAULT_LOGIN_CONTEXT_NAME);
    let file = match zk_config::jaas_config_file(props) {
        Some(file) => file?,
        None if named.is_some() => {
            return Err(format!(
                "No JAAS configuration section named '{section}' was found: \
                 {LOGIN_CONTEXT_NAME_KEY} is set, but no JAAS login configuration \
                 (-Djava.security.auth.login.config)"
            ))
        }
        None => return Ok(None),
    };
    let jaas = JaasConfiguration::read(&file)
        .map_err(|e| format!("the JAAS login configuration {}: {e}", file.display()))?;
    if !jaas.has_entries(section) {
        return Ok(None);
    }
    let login = Login::new(section, &jaas, &file)
        .and_then(|l| l.with_system_properties(props))
        .map_err(|e| {
            format!("Could not configure server because SASL configuration did not allow the ZooKeeper server to authenticate itself properly: {e}")
        })?;
    let mechanism = ZooKeeperSaslServer::new(&login).map_err(|e| {
        format!(
            "SASL for clients (section '{section}' of {}) cannot run: {e}",
            file.display()
        )
    })?;
    info!(
        "SASL for clients: {} with the JAAS section '{section}' of {}",
        mechanism.mechanism_name(),
        file.display()
    );
    Ok(Some(Arc::new(login)))
}

/// `isSaslSuperUser`: whether a `zookeeper.superUser[.<x>]` property
/// names `id`.
pub fn is_sasl_super_user(id: &str, props: &SystemProperties) -> bool {
    !id.is_empty()
        && props.iter().any(|(k, v)| {
            k.strip_prefix(SASL_SUPER_USER)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                && v == id
        })
}

/// A connection's SASL state and ids, kept by `NIOServerCnxn`.
pub(crate) struct CnxnSasl<'a> {
    /// The session, for the log.
    pub session_id: i64,
    /// The client's address, for the log.
    pub peer: SocketAddr,
    /// The connection's exchange (3.8's `ServerCnxn.zooKeeperSaslServer`),
    /// made on its first `sasl` request rather than at accept, so idle
    /// connections cost nothing.
    pub server: &'a mut Option<ZooKeeperSaslServer>,
    /// The connection's authenticated ids; replaced by a fresh `Arc` when
    /// they change, so requests already in the chain keep theirs.
    pub auth: &'a mut Arc<Vec<Id>>,
}

impl ZooKeeperServer {
    /// `processSasl`: answers one `sasl` request (`body` after the request
    /// header) on the selector thread. `new_server` makes the connection's
    /// exchange when it has none yet (`None`: the server has no SASL
    /// login). `Err`: the request does not decode; close at once.
    pub(crate) fn process_sasl(
        &self,
        cnxn: CnxnSasl<'_>,
        xid: i32,
        body: &[u8],
        new_server: impl FnOnce() -> Option<ZooKeeperSaslServer>,
    ) -> Result<SaslReply, String> {
        let CnxnSasl {
            session_id,
            peer,
            server: slot,
            auth,
        } = cnxn;
        let request = GetSaslRequest::from_bytes(body).map_err(|e| {
            format!("malformed SASL request from {peer} (session 0x{session_id:x}): {e}")
        })?;
        debug!(
            "Session 0x{:x}: responding to a client SASL token of {} bytes",
            session_id,
            request.token.len()
        );
        if slot.is_none() {
            *slot = new_server();
        }
        let Some(server) = slot.as_mut() else {
            error!(
                "Session 0x{:x} from {} sent a SASL token, but this server has no SASL login \
                 (no JAAS '{}' section): answered with no token",
                session_id,
                peer,
                self.config()
                    .system_properties
                    .get(LOGIN_CONTEXT_NAME_KEY)
                    .unwrap_or(DEFAULT_LOGIN_CONTEXT_NAME)
            );
            return Ok(sasl_reply(xid, Code::OK, None, None));
        };
        match server.evaluate_response(&request.token) {
            Ok(token) => {
                if server.is_complete() {
                    self.sasl_authenticated(session_id, peer, server, auth);
                }
                debug!(
                    "Session 0x{:x}: server SASL token of {} bytes",
                    session_id,
                    token.len()
                );
                // A mechanism done with nothing more to say (GSSAPI's last
                // step) answers with no token, as the JDK's server returns
                // null there: the Java client takes only a null token as
                // GSSAPI's final packet, and waits for one otherwise.
                let token = (!(server.is_complete() && token.is_empty())).then_some(token);
                Ok(sasl_reply(xid, Code::OK, token, None))
            }
            Err(e) => Ok(self.sasl_failed(session_id, peer, xid, &e)),
        }
    }

    /// The exchange completed: the session gets its `sasl` id (and
    /// `super`).
    fn sasl_authenticated(
        &self,
        session_id: i64,
        peer: SocketAddr,
        server: &ZooKeeperSaslServer,
        auth: &mut Arc<Vec<Id>>,
    ) {
        let Some(id) = server.authorization_id().map(str::to_string) else {
            return;
        };
        info!(
            "Session 0x{:x}: adding SASL authorization for authorizationID: {} ({}, {})",
            session_id,
            id,
            server.mechanism_name(),
            peer
        );
        let mut ids = (**auth).clone();
        ids.push(Id {
            scheme: "sasl".into(),
            id: id.clone(),
        });
        if is_sasl_super_user(&id, &self.config().system_properties) {
            ids.push(Id {
                scheme: "super".into(),
                id: String::new(),
            });
            info!(
                "Session 0x{:x}: Authenticated Id '{}' as super user",
                session_id, id
            );
        }
        *auth = Arc::new(ids);
    }

    /// The mechanism rejected the client's token: answered, and closed
    /// unless failed clients are allowed.
    fn sasl_failed(
        &self,
        session_id: i64,
        peer: SocketAddr,
        xid: i32,
        e: &SaslException,
    ) -> SaslReply {
        warn!("Client {peer} (session 0x{session_id:x}) failed to SASL authenticate: {e}");
        let required = self.auth_helper().is_sasl_auth_required();
        let props = &self.config().system_properties;
        if props.get_boolean(ALLOW_SASL_FAILED_CLIENTS) && !required {
            warn!(
                "Maintaining the connection of session 0x{session_id:x} despite its SASL \
                 authentication failure ({ALLOW_SASL_FAILED_CLIENTS}=true)"
            );
            return sasl_reply(xid, Code::OK, None, None);
        }
        let (code, why) = if required {
            (
                Code::SESSIONCLOSEDREQUIRESASLAUTH,
                "the server requires client SASL authentication and the client's failed",
            )
        } else {
            (Code::AUTHFAILED, "SASL authentication failed")
        };
        warn!("Closing the connection of session 0x{session_id:x} from {peer}: {why}");
        // The exception names the mechanism.
        sasl_reply(xid, code, None, Some(format!("{why} ({e})")))
    }
}

/// A `SetSASLResponse` reply: zxid 0, as 3.8 answers.
fn sasl_reply(xid: i32, code: Code, token: Option<Vec<u8>>, close: Option<String>) -> SaslReply {
    let frame = reply_frame(
        &ReplyHeader {
            xid,
            zxid: 0,
            err: code as i32,
        },
        Some(&SetSaslResponse { token }),
    );
    SaslReply { frame, close }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_harness::TempDir;
    use crate::zookeeper_server::ZooKeeperServerConfig;
    use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
    use zk_persistence::zk_database::ZKDatabase;

    /// A mechanism with DIGEST-MD5's shape: a challenge for the empty
    /// first token, then `user:secret` completes it as `user`.
    struct Toy {
        round: u8,
        user: Option<String>,
    }

    impl SaslServer for Toy {
        fn mechanism_name(&self) -> &'static str {
            "TOY"
        }
        fn evaluate_response(&mut self, response: &[u8]) -> Result<Vec<u8>, SaslException> {
            self.round += 1;
            match (self.round, response) {
                (1, b"") => Ok(b"challenge".to_vec()),
                (2, r) => match std::str::from_utf8(r).ok().and_then(|r| r.split_once(':')) {
                    Some((user, "secret")) => {
                        self.user = Some(user.to_string());
                        Ok(Vec::new())
                    }
                    _ => Err(SaslException::new("TOY: wrong credentials")),
                },
                _ => Err(SaslException::new("TOY: unexpected token")),
            }
        }
        fn is_complete(&self) -> bool {
            self.user.is_some()
        }
        fn authorization_id(&self) -> Option<&str> {
            self.user.as_deref()
        }
    }

    fn server(props: &[(&str, &str)]) -> (TempDir, Arc<ZooKeeperServer>) {
        let dir = TempDir::new("sasl");
        let mut cfg = ZooKeeperServerConfig::with_tick_time(1000);
        for (k, v) in props {
            cfg.system_properties.set(*k, *v);
        }
        let db = ZKDatabase::new(FileTxnSnapLog::open(&dir.0, &dir.0).unwrap());
        (dir, ZooKeeperServer::new(cfg, db))
    }

    fn token(t: &[u8]) -> Vec<u8> {
        GetSaslRequest { token: t.to_vec() }.to_bytes()
    }

    /// (xid, err, token) of a reply frame.
    fn parse(frame: &[u8]) -> (i32, i64, i32, Option<Vec<u8>>) {
        let h = ReplyHeader::from_bytes(&frame[4..]).unwrap();
        let r = SetSaslResponse::from_bytes(&frame[4 + 16..]).unwrap();
        (h.xid, h.zxid, h.err, r.token)
    }

    struct Cnxn {
        server: Option<ZooKeeperSaslServer>,
        auth: Arc<Vec<Id>>,
    }

    impl Cnxn {
        fn new() -> Self {
            Cnxn {
                server: None,
                auth: Arc::new(vec![Id {
                    scheme: "ip".into(),
                    id: "127.0.0.1".into(),
                }]),
            }
        }

        fn send(
            &mut self,
            zks: &ZooKeeperServer,
            xid: i32,
            body: &[u8],
        ) -> Result<SaslReply, String> {
            let cnxn = CnxnSasl {
                session_id: 0x42,
                peer: "127.0.0.1:5000".parse().unwrap(),
                server: &mut self.server,
                auth: &mut self.auth,
            };
            zks.process_sasl(cnxn, xid, body, || {
                Some(ZooKeeperSaslServer::from_mechanism(Box::new(Toy {
                    round: 0,
                    user: None,
                })))
            })
        }

        fn schemes(&self) -> Vec<(String, String)> {
            self.auth
                .iter()
                .map(|i| (i.scheme.clone(), i.id.clone()))
                .collect()
        }
    }

    #[test]
    fn an_exchange_that_completes_adds_the_sasl_id_and_super() {
        let (_d, zks) = server(&[("zookeeper.superUser", "root")]);
        for (user, super_too) in [("alice", false), ("root", true)] {
            let mut c = Cnxn::new();
            let r = c.send(&zks, 1, &token(b"")).unwrap();
            assert_eq!(parse(&r.frame), (1, 0, 0, Some(b"challenge".to_vec())));
            assert!(r.close.is_none());
            let r = c
                .send(&zks, 2, &token(format!("{user}:secret").as_bytes()))
                .unwrap();
            // Complete with nothing more to send: no token (null), as the
            // JDK's GSSAPI server answers and the Java client waits for.
            assert_eq!(parse(&r.frame), (2, 0, 0, None));
            let mut want = vec![
                ("ip".to_string(), "127.0.0.1".to_string()),
                ("sasl".to_string(), user.to_string()),
            ];
            if super_too {
                want.push(("super".to_string(), String::new()));
            }
            assert_eq!(c.schemes(), want);
        }
    }

    #[test]
    fn a_failed_exchange_is_authfailed_then_closed_unless_allowed() {
        let (_d, zks) = server(&[]);
        let mut c = Cnxn::new();
        c.send(&zks, 1, &token(b"")).unwrap();
        let r = c.send(&zks, 2, &token(b"alice:wrong")).unwrap();
        assert_eq!(parse(&r.frame), (2, 0, Code::AUTHFAILED as i32, None));
        let why = r.close.expect("closed");
        assert!(
            why.contains("SASL authentication failed") && why.contains("TOY"),
            "{why}"
        );
        assert_eq!(c.auth.len(), 1, "no id added");

        let (_d, zks) = server(&[(ALLOW_SASL_FAILED_CLIENTS, "true")]);
        let mut c = Cnxn::new();
        let r = c.send(&zks, 1, &token(b"garbage")).unwrap();
        assert_eq!(parse(&r.frame), (1, 0, 0, None));
        assert!(r.close.is_none(), "kept by allowSaslFailedClients");
    }

    #[test]
    fn with_sasl_required_a_failure_is_sessionclosedrequiresaslauth_and_always_closes() {
        let (_d, zks) = server(&[
            ("zookeeper.sessionRequireClientSASLAuth", "true"),
            (ALLOW_SASL_FAILED_CLIENTS, "true"),
        ]);
        let mut c = Cnxn::new();
        let r = c.send(&zks, 1, &token(b"garbage")).unwrap();
        assert_eq!(
            parse(&r.frame),
            (1, 0, Code::SESSIONCLOSEDREQUIRESASLAUTH as i32, None)
        );
        assert!(r.close.is_some());
    }

    #[test]
    fn no_login_answers_ok_without_a_token_and_bad_records_close() {
        let (_d, zks) = server(&[]);
        let mut c = Cnxn::new();
        let cnxn = CnxnSasl {
            session_id: 1,
            peer: "127.0.0.1:5000".parse().unwrap(),
            server: &mut c.server,
            auth: &mut c.auth,
        };
        let r = zks.process_sasl(cnxn, 7, &token(b"x"), || None).unwrap();
        assert_eq!(parse(&r.frame), (7, 0, 0, None));
        assert!(r.close.is_none());
        // A length past the bytes sent.
        let e = c.send(&zks, 8, &[0, 0, 0, 9, 1]).err().expect("malformed");
        assert!(
            e.contains("malformed SASL request") && e.contains("0x42"),
            "{e}"
        );
    }

    #[test]
    fn super_users_are_named_by_the_property_or_its_dotted_children() {
        let mut p = SystemProperties::new();
        p.set("zookeeper.superUser", "a");
        p.set("zookeeper.superUser.2", "b");
        p.set("zookeeper.superUserX", "c");
        assert!(is_sasl_super_user("a", &p) && is_sasl_super_user("b", &p));
        assert!(!is_sasl_super_user("c", &p) && !is_sasl_super_user("", &p));
    }
}
