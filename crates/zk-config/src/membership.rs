//! The membership half of `QuorumPeerConfig`: the dynamic file (or the
//! `server.N` lines of zoo.cfg in the backward compatible form), `myid`,
//! this server's client address and role, and the checks replicated mode
//! needs (3.8's `setupQuorumPeerConfig` and `parseDynamicConfig`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, ConfigErrorKind};
use crate::java;
use crate::properties::Properties;
use crate::quorum_peer_config::{QuorumPeerConfig, NEXT_DYNAMIC_CONFIG_FILE_SUFFIX};
use crate::quorum_server::{HostPort, LearnerType};
use crate::quorum_verifier::QuorumVerifier;

impl QuorumPeerConfig {
    /// Reads the dynamic file (and the proposed `.dynamic.next` one) when
    /// zoo.cfg names one.
    pub(crate) fn load_dynamic_files(&mut self) -> Result<(), ConfigError> {
        let Some(dynamic) = self.dynamic_config_file.clone() else {
            return Ok(());
        };
        let mut props = read_properties(&dynamic)?;
        if props.contains_key("version") {
            return Err(ConfigError::new(
                ConfigErrorKind::Inconsistent,
                "dynamic file shouldn't have version inside (the version is the file name's hex suffix)",
            )
            .in_file(&dynamic));
        }
        if let Some(version) = version_from_filename(&dynamic.to_string_lossy()) {
            props.set("version", version);
        }
        self.setup_quorum_peer_config(&props, false)
            .map_err(|e| e.in_file(&dynamic))?;

        if let Some(cfg) = &self.config_file {
            let mut next = cfg.clone().into_os_string();
            next.push(NEXT_DYNAMIC_CONFIG_FILE_SUFFIX);
            let next = PathBuf::from(next);
            if next.exists() {
                match fs::read(&next) {
                    Ok(bytes) => {
                        let props = Properties::from_bytes(&bytes).map_err(|e| {
                            ConfigError::new(ConfigErrorKind::Syntax, e.to_string()).in_file(&next)
                        })?;
                        let hierarchical = props.iter().any(|(k, _)| is_hierarchy_key(k.trim()));
                        let qv = QuorumVerifier::from_properties(
                            &props,
                            hierarchical,
                            self.multi_address_from_system(),
                        )
                        .map_err(|e| e.in_file(&next))?;
                        self.last_seen_quorum_verifier = Some(qv);
                    }
                    Err(e) => log::warn!(
                        "NextQuorumVerifier is initiated to null: cannot read {}: {e}",
                        next.display()
                    ),
                }
            }
        }
        Ok(())
    }

    /// 3.8 parses server lines against the system property, not the zoo.cfg
    /// key `multiAddress.enabled`.
    pub(crate) fn multi_address_from_system(&self) -> bool {
        self.system_properties
            .get_boolean_or("zookeeper.multiAddress.enabled", false)
    }

    /// 3.8's `setupQuorumPeerConfig`: membership, myid, client address,
    /// peer type, replicated-mode checks.
    pub(crate) fn setup_quorum_peer_config(
        &mut self,
        props: &Properties,
        backward_compatible: bool,
    ) -> Result<(), ConfigError> {
        self.quorum_verifier = self.parse_dynamic_config(props, backward_compatible)?;
        self.setup_my_id()?;
        self.setup_client_port()?;
        self.setup_peer_type();
        self.check_validity()
    }

    pub(crate) fn parse_dynamic_config(
        &self,
        props: &Properties,
        backward_compatible: bool,
    ) -> Result<QuorumVerifier, ConfigError> {
        let mut hierarchical = false;
        for (key, value) in props.iter() {
            let key = key.trim();
            if is_hierarchy_key(key) {
                hierarchical = true;
            } else if !backward_compatible && !key.starts_with("server.") && key != "version" {
                return Err(ConfigError::for_key(
                    ConfigErrorKind::Unsupported,
                    key,
                    value,
                    format!("Unrecognised parameter: {key}"),
                ));
            }
        }
        if self.oracle_path.is_some() {
            log::warn!(
                "oraclePath is set but QuorumOracleMaj is not implemented; using majority quorums"
            );
        }
        let qv =
            QuorumVerifier::from_properties(props, hierarchical, self.multi_address_from_system())?;

        let participants = qv.voting_members().len();
        let observers = qv.observing_members().len();
        if participants == 0 {
            if !self.standalone_enabled {
                return Err(ConfigError::new(
                    ConfigErrorKind::Inconsistent,
                    "standaloneEnabled = false then number of participants should be >0",
                ));
            }
            if observers > 0 {
                return Err(ConfigError::new(
                    ConfigErrorKind::Inconsistent,
                    "Observers w/o participants is an invalid configuration",
                ));
            }
        } else if participants == 1 && self.standalone_enabled {
            log::error!("Invalid configuration, only one server specified (ignoring)");
            if observers > 0 {
                return Err(ConfigError::new(
                    ConfigErrorKind::Inconsistent,
                    "Observers w/o quorum is an invalid configuration",
                ));
            }
        } else if participants <= 2 {
            log::warn!("No server failure will be tolerated. You need at least 3 servers.");
        } else if participants % 2 == 0 {
            log::warn!("Non-optimal configuration, consider an odd number of servers.");
        }
        Ok(qv)
    }

    /// Reads `dataDir/myid` when it exists. Unlike 3.8, blanks around the
    /// number are tolerated.
    pub(crate) fn setup_my_id(&mut self) -> Result<(), ConfigError> {
        let path = self.data_dir.join("myid");
        if !path.is_file() {
            return Ok(());
        }
        let bad =
            |reason: String| ConfigError::new(ConfigErrorKind::BadMyid, reason).in_file(&path);
        let text = fs::read(&path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let text = String::from_utf8_lossy(&text);
        let first = text.lines().next().unwrap_or("").trim();
        match java::parse_long(first) {
            Some(id) if id >= 0 => {
                self.server_id = Some(id);
                Ok(())
            }
            Some(_) => Err(bad(format!(
                "serverid {first} is negative, which is not supported"
            ))),
            None => Err(bad(format!("serverid {first:?} is not a number"))),
        }
    }

    /// This server's client address: the server line's wins, but must not
    /// contradict zoo.cfg's `clientPortAddress`/`clientPort`.
    pub(crate) fn setup_client_port(&mut self) -> Result<(), ConfigError> {
        let Some(id) = self.server_id else {
            return Ok(());
        };
        let static_addr = self.client_port_address;
        let Some(qs) = self.quorum_verifier.all_members_mut().get_mut(&id) else {
            return Ok(());
        };
        match &qs.client_addr {
            Some(line_addr) => {
                let resolved = line_addr.resolve().map_err(|e| {
                    ConfigError::for_key(
                        ConfigErrorKind::BadAddress,
                        &format!("server.{id}"),
                        &qs.to_string(),
                        format!("cannot resolve client address {line_addr}: {e}"),
                    )
                })?;
                if let Some(s) = static_addr {
                    let conflict = if s.ip().is_unspecified() {
                        s.port() != resolved.port()
                    } else {
                        s != resolved
                    };
                    if conflict {
                        return Err(ConfigError::new(
                            ConfigErrorKind::Inconsistent,
                            format!(
                                "client address for this server (id = {id}) in static config file is {s} \
                                 is different from client address found in dynamic file: {line_addr}"
                            ),
                        ));
                    }
                }
                self.client_port_address = Some(resolved);
            }
            None => {
                qs.client_addr = static_addr.map(|a| HostPort::new(a.ip().to_string(), a.port()));
                qs.client_addr_from_static = true;
            }
        }
        Ok(())
    }

    /// The server list decides the role; a differing `peerType` is
    /// overruled with a warning.
    pub(crate) fn setup_peer_type(&mut self) {
        let by_list = match self.server_id {
            Some(id) if self.quorum_verifier.observing_members().contains_key(&id) => {
                LearnerType::Observer
            }
            _ => LearnerType::Participant,
        };
        if by_list != self.peer_type {
            log::warn!(
                "Peer type from servers list ({by_list}) doesn't match peerType ({}). Defaulting to servers list.",
                self.peer_type
            );
            self.peer_type = by_list;
        }
    }

    /// What replicated mode requires. The last check is 3.8's
    /// `QuorumPeer.start` ("My id N not in the peer list"), made here so the
    /// operator hears it before anything starts.
    pub(crate) fn check_validity(&self) -> Result<(), ConfigError> {
        if !self.is_distributed() {
            return Ok(());
        }
        if self.init_limit == 0 {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                "initLimit is not set",
            ));
        }
        if self.sync_limit == 0 {
            return Err(ConfigError::new(
                ConfigErrorKind::Missing,
                "syncLimit is not set",
            ));
        }
        let Some(id) = self.server_id else {
            return Err(ConfigError::new(
                ConfigErrorKind::BadMyid,
                format!(
                    "myid file is missing ({} must hold this server's id in replicated mode)",
                    self.data_dir.join("myid").display()
                ),
            ));
        };
        if !self.servers().contains_key(&id) {
            return Err(ConfigError::new(
                ConfigErrorKind::BadMyid,
                format!("My id {id} not in the peer list"),
            ));
        }
        Ok(())
    }
}

fn is_hierarchy_key(key: &str) -> bool {
    key.starts_with("group") || key.starts_with("weight")
}

fn read_properties(path: &Path) -> Result<Properties, ConfigError> {
    let bytes = fs::read(path).map_err(|e| {
        ConfigError::new(ConfigErrorKind::Io, format!("cannot read: {e}")).in_file(path)
    })?;
    Properties::from_bytes(&bytes)
        .map_err(|e| ConfigError::new(ConfigErrorKind::Syntax, e.to_string()).in_file(path))
}

/// The config version encoded as the hex suffix of a dynamic file name
/// (`zoo.cfg.dynamic.100000000` → `100000000`), normalised as
/// `Long.toHexString` would; `None` when the suffix is not hex.
pub(crate) fn version_from_filename(name: &str) -> Option<String> {
    let i = name.rfind('.')?;
    let v = java::parse_long_hex(&name[i + 1..])?;
    Some(format!("{:x}", v as u64))
}

#[cfg(test)]
mod tests {
    use super::version_from_filename;

    #[test]
    fn version_is_the_hex_suffix() {
        assert_eq!(
            version_from_filename("/c/zoo.cfg.dynamic.100000000").as_deref(),
            Some("100000000")
        );
        assert_eq!(
            version_from_filename("zoo.cfg.dynamic.0").as_deref(),
            Some("0")
        );
        assert_eq!(
            version_from_filename("zoo.cfg.dynamic.00A").as_deref(),
            Some("a")
        );
        assert_eq!(version_from_filename("zoo.cfg.dynamic"), None);
        assert_eq!(version_from_filename("dynamic"), None);
        assert_eq!(version_from_filename("zoo.cfg.dynamic."), None);
    }
}
