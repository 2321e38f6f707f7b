//! One `server.N=...` entry: `QuorumPeer.QuorumServer` in ZooKeeper.
//!
//! Accepted forms (each address part may be repeated with `|` when
//! multi-address is enabled):
//!
//! ```text
//! host:quorumPort:electionPort
//! host:quorumPort:electionPort:participant|observer
//! ...;clientPort            (client host defaults to 0.0.0.0)
//! ...;clientHost:clientPort
//! [v6:addr]:quorumPort:electionPort
//! ```
//!
//! Host names are kept as written and resolved only when an address is
//! needed ([`HostPort::resolve`]), as Java keeps an unresolved
//! `InetSocketAddress` when DNS fails.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use crate::error::{ConfigError, ConfigErrorKind};
use crate::java;

/// The role of a server in the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LearnerType {
    /// Votes in elections and in the commit quorum.
    #[default]
    Participant,
    /// Receives the committed stream but never votes.
    Observer,
}

impl LearnerType {
    /// Parses "participant"/"observer" in any case, after trimming, as both
    /// `peerType` and the fourth field of a server line are read.
    pub fn parse(s: &str) -> Option<LearnerType> {
        match s.trim().to_lowercase().as_str() {
            "participant" => Some(LearnerType::Participant),
            "observer" => Some(LearnerType::Observer),
            _ => None,
        }
    }
}

impl fmt::Display for LearnerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        })
    }
}

/// A host as written in the config (name or literal, IPv6 without brackets)
/// and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// The host, as written.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl HostPort {
    /// `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// The address when the host is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Resolves the host (an IP literal needs no DNS). An empty host means
    /// the loopback address, as `InetAddress.getByName("")`. Like the JDK's
    /// default, an IPv4 address is preferred when a name has both.
    pub fn resolve(&self) -> io::Result<SocketAddr> {
        if self.host.is_empty() {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port));
        }
        if let Some(ip) = self.ip() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let all: Vec<SocketAddr> = (self.host.as_str(), self.port).to_socket_addrs()?.collect();
        all.iter()
            .find(|a| a.is_ipv4())
            .or_else(|| all.first())
            .copied()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{}: no address", self.host),
                )
            })
    }

    /// True for 0.0.0.0 / `::` written as a literal.
    pub fn is_any_local(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// One member of the ensemble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    /// The server's id (`server.<id>`).
    pub id: i64,
    /// Addresses followers use to reach this server when it leads, in the
    /// order written. More than one only with multi-address.
    pub addrs: Vec<HostPort>,
    /// Leader-election addresses, paired with `addrs` by position.
    pub election_addrs: Vec<HostPort>,
    /// Client address from the server line, or (when the line has none)
    /// this server's own `clientPortAddress` from zoo.cfg.
    pub client_addr: Option<HostPort>,
    /// The client address was copied from zoo.cfg rather than written on
    /// the server line; it is then left out of [`fmt::Display`], so the
    /// dynamic config stays as the operator wrote it.
    pub client_addr_from_static: bool,
    /// Participant or observer (the line's optional fourth field).
    pub learner_type: LearnerType,
    /// Host of the last address on the line (what Java keeps in `hostname`).
    pub hostname: String,
}

impl QuorumServer {
    /// The first quorum address.
    pub fn addr(&self) -> &HostPort {
        &self.addrs[0]
    }

    /// The first election address.
    pub fn election_addr(&self) -> &HostPort {
        &self.election_addrs[0]
    }

    /// Whether the server votes.
    pub fn is_participant(&self) -> bool {
        self.learner_type == LearnerType::Participant
    }

    /// Parses the value of `server.<sid>`. The value is used untrimmed, as
    /// `QuorumMaj` uses it: trailing blanks after a port are refused.
    ///
    /// `multi_address_enabled` is 3.8's system property
    /// `zookeeper.multiAddress.enabled` (the zoo.cfg key `multiAddress.enabled`
    /// does not reach this check in 3.8).
    pub fn parse(sid: i64, value: &str, multi_address_enabled: bool) -> Result<Self, ConfigError> {
        let line = ServerLine {
            key: format!("server.{sid}"),
            value,
        };
        let server_client: Vec<&str> = java::split(value, ';');
        let server_part = server_client.first().copied().unwrap_or("");
        let server_addresses = java::split(server_part, '|');

        let client_addr = if server_client.len() == 2 {
            Some(line.client_address(server_client[1])?)
        } else {
            None
        };

        if !multi_address_enabled && server_addresses.len() > 1 {
            return Err(line.err(
                ConfigErrorKind::Unsupported,
                format!(
                    "Multiple address feature is disabled, but multiple addresses were specified for sid {sid} \
                     (3.8 reads the system property zookeeper.multiAddress.enabled here)"
                ),
            ));
        }
        if server_addresses.is_empty() {
            return Err(line.wrong_format());
        }

        let mut addrs = Vec::new();
        let mut election_addrs = Vec::new();
        let mut learner_type: Option<LearnerType> = None;
        let mut hostname = String::new();
        for address in &server_addresses {
            let (a, e, t) = line.server_address(address, server_client.len() > 2)?;
            match (learner_type, t) {
                (_, None) => {}
                (None, t) => learner_type = t,
                (Some(prev), Some(t)) if prev != t => {
                    return Err(line.err(
                        ConfigErrorKind::BadServerLine,
                        format!("Multiple addresses should have similar roles: {prev} vs {t}"),
                    ))
                }
                (Some(_), Some(_)) => {}
            }
            hostname = a.host.clone();
            // Java keeps the addresses in a set: a repeated one counts once.
            if !addrs.contains(&a) {
                addrs.push(a);
            }
            if !election_addrs.contains(&e) {
                election_addrs.push(e);
            }
        }

        Ok(QuorumServer {
            id: sid,
            addrs,
            election_addrs,
            client_addr,
            client_addr_from_static: false,
            learner_type: learner_type.unwrap_or_default(),
            hostname,
        })
    }
}

impl QuorumServer {
    /// `checkAddressDuplicate`: an error naming the clash when one of
    /// this server's addresses (quorum, election, client) is also one of
    /// `other`'s. As in 3.8, wildcard and loopback addresses never clash
    /// (every server of a one-host ensemble uses them); a host name is
    /// compared as written rather than resolved.
    pub fn check_address_duplicate(&self, other: &QuorumServer) -> Result<(), String> {
        fn comparable(s: &QuorumServer) -> Vec<&HostPort> {
            s.addrs
                .iter()
                .chain(s.election_addrs.iter())
                .chain(s.client_addr.iter())
                .filter(|a| {
                    let special = a
                        .ip()
                        .is_some_and(|ip| ip.is_unspecified() || ip.is_loopback());
                    !special && !a.host.eq_ignore_ascii_case("localhost") && !a.host.is_empty()
                })
                .collect()
        }
        let theirs = comparable(other);
        for my in comparable(self) {
            if let Some(o) = theirs
                .iter()
                .find(|o| o.host.eq_ignore_ascii_case(&my.host) && o.port == my.port)
            {
                return Err(format!(
                    "{my} of server.{} conflicts {o} of server.{}",
                    self.id, other.id
                ));
            }
        }
        Ok(())
    }
}

/// One `server.N` line being parsed, for its error messages.
struct ServerLine<'a> {
    key: String,
    value: &'a str,
}

impl ServerLine<'_> {
    fn err(&self, kind: ConfigErrorKind, reason: String) -> ConfigError {
        ConfigError::for_key(kind, &self.key, self.value, reason)
    }

    fn wrong_format(&self) -> ConfigError {
        self.err(
            ConfigErrorKind::BadServerLine,
            "does not have the form server_config or server_config;client_config where \
             server_config is the pipe separated list of host:port:port or host:port:port:type \
             and client_config is port or host:port"
                .to_string(),
        )
    }

    /// The client part after `;`: `port` (on 0.0.0.0) or `host:port`.
    fn client_address(&self, client_part: &str) -> Result<HostPort, ConfigError> {
        let client_parts =
            host_and_port(client_part).map_err(|r| self.err(ConfigErrorKind::BadServerLine, r))?;
        if client_parts.len() > 2 {
            return Err(self.wrong_format());
        }
        let host = if client_parts.len() == 2 {
            client_parts[0]
        } else {
            "0.0.0.0"
        };
        let port_str = client_parts.last().copied().unwrap_or("");
        let port = parse_port(port_str)
            .map_err(|r| self.err(ConfigErrorKind::BadAddress, format!("client port {r}")))?;
        Ok(HostPort::new(host, port))
    }

    /// One `host:quorumPort:electionPort[:type]` of the server part: the
    /// quorum and election addresses and the type, if given. A line
    /// with more than one `;` (`extra_parts`) is refused here, after the
    /// address itself was read, as in 3.8.
    fn server_address(
        &self,
        address: &str,
        extra_parts: bool,
    ) -> Result<(HostPort, HostPort, Option<LearnerType>), ConfigError> {
        let parts =
            host_and_port(address).map_err(|r| self.err(ConfigErrorKind::BadServerLine, r))?;
        if extra_parts || parts.len() < 3 || parts.len() > 4 {
            return Err(self.wrong_format());
        }
        let host = parts[0];
        let quorum_port = parse_port(parts[1]).map_err(|r| {
            self.err(
                ConfigErrorKind::BadAddress,
                format!("quorum port {r} (address unresolved: {host}:{})", parts[1]),
            )
        })?;
        let election_port = parse_port(parts[2]).map_err(|r| {
            self.err(
                ConfigErrorKind::BadAddress,
                format!(
                    "election port {r} (address unresolved: {host}:{})",
                    parts[2]
                ),
            )
        })?;
        if quorum_port == election_port {
            return Err(self.err(
                ConfigErrorKind::BadServerLine,
                "quorum and election port must be different".to_string(),
            ));
        }
        let learner_type = match parts.get(3) {
            Some(t) => Some(LearnerType::parse(t).ok_or_else(|| {
                self.err(
                    ConfigErrorKind::Unsupported,
                    format!("Unrecognised peertype: {t}"),
                )
            })?),
            None => None,
        };
        Ok((
            HostPort::new(host, quorum_port),
            HostPort::new(host, election_port),
            learner_type,
        ))
    }
}

/// `server.N` value as 3.8 writes it into the dynamic file and the
/// `/zookeeper/config` znode.
impl fmt::Display for QuorumServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut addrs = self.addrs.clone();
        let mut elections = self.election_addrs.clone();
        addrs.sort_by(|a, b| a.host.cmp(&b.host));
        elections.sort_by(|a, b| a.host.cmp(&b.host));
        let joined: Vec<String> = addrs
            .iter()
            .zip(elections.iter())
            .map(|(a, e)| format!("{}:{}", a, e.port))
            .collect();
        write!(f, "{}:{}", joined.join("|"), self.learner_type)?;
        if let (Some(c), false) = (&self.client_addr, self.client_addr_from_static) {
            write!(f, ";{c}")?;
        }
        Ok(())
    }
}

/// `ConfigUtils.getHostAndPort`: splits `host:port[:...]`, where the host
/// may be a bracketed IPv6 literal. Like Java, the character right after
/// `]` is skipped whatever it is.
fn host_and_port(s: &str) -> Result<Vec<&str>, String> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(format!("{s} starts with '[' but has no matching ']:'"));
        };
        let i = close + 1; // index of ']' in s
        if i + 2 == s.len() {
            return Err(format!("{s} doesn't have a port after colon"));
        }
        if i + 2 < s.len() {
            let after = s[i + 1..].chars().next().map_or(0, char::len_utf8);
            let mut out = vec![&s[1..i]];
            out.extend(java::split(&s[i + 1 + after..], ':'));
            return Ok(out);
        }
        return Ok(vec![&s[1..i]]);
    }
    Ok(java::split(s, ':'))
}

/// `Integer.parseInt` then the `InetSocketAddress` range check.
fn parse_port(s: &str) -> Result<u16, String> {
    match java::parse_int(s) {
        None if s != s.trim() => Err(format!("{s:?} is not a number (blanks are not allowed)")),
        None => Err(format!("{s:?} is not a number")),
        Some(p) => u16::try_from(p).map_err(|_| format!("out of range: {p}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qs(v: &str) -> QuorumServer {
        QuorumServer::parse(1, v, false).unwrap()
    }

    fn bad(v: &str) -> String {
        QuorumServer::parse(1, v, false).unwrap_err().to_string()
    }

    #[test]
    fn basic_form() {
        let s = qs("127.0.0.1:2888:3888");
        assert_eq!(s.addr(), &HostPort::new("127.0.0.1", 2888));
        assert_eq!(s.election_addr(), &HostPort::new("127.0.0.1", 3888));
        assert_eq!(s.client_addr, None);
        assert_eq!(s.learner_type, LearnerType::Participant);
        assert_eq!(s.hostname, "127.0.0.1");
        assert_eq!(s.to_string(), "127.0.0.1:2888:3888:participant");
    }

    #[test]
    fn type_forms() {
        assert_eq!(qs("h:1:2:observer").learner_type, LearnerType::Observer);
        assert_eq!(qs("h:1:2:OBSERVER").learner_type, LearnerType::Observer);
        assert_eq!(
            qs("h:1:2:participant").learner_type,
            LearnerType::Participant
        );
        assert_eq!(qs("h:1:2:observer ").learner_type, LearnerType::Observer);
        assert!(bad("h:1:2:watcher").contains("Unrecognised peertype: watcher"));
    }

    #[test]
    fn client_forms() {
        let s = qs("localhost:2888:3888;2181");
        assert_eq!(s.client_addr, Some(HostPort::new("0.0.0.0", 2181)));
        assert_eq!(
            s.to_string(),
            "localhost:2888:3888:participant;0.0.0.0:2181"
        );
        let s = qs("localhost:2888:3888:observer;127.0.0.1:2181");
        assert_eq!(s.client_addr, Some(HostPort::new("127.0.0.1", 2181)));
        assert_eq!(s.learner_type, LearnerType::Observer);
        let s = qs("[::1]:2888:3888;[::1]:2181");
        assert_eq!(s.client_addr, Some(HostPort::new("::1", 2181)));
        assert_eq!(s.to_string(), "[::1]:2888:3888:participant;[::1]:2181");
        // A trailing ';' has an empty client part, which Java's split drops.
        assert_eq!(qs("h:1:2;").client_addr, None);
    }

    #[test]
    fn ipv6() {
        let s = qs("[::1]:2888:3888");
        assert_eq!(s.addr(), &HostPort::new("::1", 2888));
        assert_eq!(s.addr().ip(), Some("::1".parse().unwrap()));
        let s = qs("[fe80::1%lo]:2888:3888:observer");
        assert_eq!(s.addr().host, "fe80::1%lo");
        assert_eq!(s.learner_type, LearnerType::Observer);
        assert!(bad("[::1:2888:3888").contains("no matching ']:'"));
        assert!(bad("[::1]:").contains("doesn't have a port after colon"));
        assert!(bad("[::1]").contains("does not have the form"));
    }

    #[test]
    fn multi_address() {
        let v = "10.0.0.2:2888:3888|127.0.0.1:2889:3889;2181";
        assert!(bad(v).contains("Multiple address feature is disabled"));
        let s = QuorumServer::parse(1, v, true).unwrap();
        assert_eq!(s.addrs.len(), 2);
        assert_eq!(s.election_addrs[1], HostPort::new("127.0.0.1", 3889));
        assert_eq!(s.hostname, "127.0.0.1");
        assert_eq!(
            s.to_string(),
            "10.0.0.2:2888:3888|127.0.0.1:2889:3889:participant;0.0.0.0:2181"
        );
        let mixed = "a:1:2:observer|b:1:2:participant";
        let e = QuorumServer::parse(1, mixed, true).unwrap_err().to_string();
        assert!(e.contains("similar roles"), "{e}");
    }

    #[test]
    fn refused_forms() {
        assert!(bad("h:2888").contains("does not have the form"));
        assert!(bad("h").contains("does not have the form"));
        assert!(bad("").contains("does not have the form"));
        assert!(bad("h:1:2:observer:x").contains("does not have the form"));
        assert!(bad("h:1:2;3;4").contains("does not have the form"));
        assert!(bad("h:1:2;a:b:3").contains("does not have the form"));
        assert!(bad("h:x:2").contains("quorum port \"x\" is not a number"));
        assert!(bad("h:1:y").contains("election port \"y\" is not a number"));
        assert!(bad("h:1:2;z").contains("client port \"z\" is not a number"));
        assert!(bad("h:70000:2").contains("out of range: 70000"));
        assert!(bad("h:-1:2").contains("out of range: -1"));
        assert!(bad("h:1:1").contains("must be different"));
        let e = bad("127.0.0.1:2888:3888 ");
        assert!(e.contains("blanks are not allowed"), "{e}");
        assert!(
            e.starts_with("<properties>: server.1=127.0.0.1:2888:3888 : "),
            "{e}"
        );
    }

    #[test]
    fn resolve_literals_and_localhost() {
        assert_eq!(
            HostPort::new("127.0.0.1", 5).resolve().unwrap(),
            "127.0.0.1:5".parse().unwrap()
        );
        assert_eq!(
            HostPort::new("::1", 5).resolve().unwrap(),
            "[::1]:5".parse().unwrap()
        );
        assert_eq!(
            HostPort::new("", 5).resolve().unwrap(),
            "127.0.0.1:5".parse().unwrap()
        );
        assert!(HostPort::new("localhost", 5)
            .resolve()
            .unwrap()
            .ip()
            .is_loopback());
        assert!(HostPort::new("0.0.0.0", 1).is_any_local());
    }
}
