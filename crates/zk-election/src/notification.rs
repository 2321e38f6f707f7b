//! `Notification` (a vote received, as the election loop sees it) and
//! `ToSend` (a vote to send), the two message types between the
//! `Messenger` and `lookForLeader`.

use std::fmt;
use std::sync::Arc;

use zk_config::{Properties, QuorumVerifier};

use crate::vote::ServerState;

/// A decoded vote from `sid`.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Format version of the message (0 for the 28/40-byte forms).
    pub version: i32,
    /// Proposed leader.
    pub leader: i64,
    /// The proposed leader's last zxid.
    pub zxid: i64,
    /// The sender's logical clock.
    pub election_epoch: i64,
    /// The sender's state.
    pub state: ServerState,
    /// Who sent it.
    pub sid: i64,
    /// The proposed leader's epoch.
    pub peer_epoch: i64,
    /// The sender's configuration, when it sent a parsable one.
    pub qv: Option<Arc<QuorumVerifier>>,
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n.sid:{}, n.state:{}, n.leader:{}, n.round:0x{:x}, n.peerEpoch:0x{:x}, n.zxid:0x{:x}, \
             message format version:0x{:x}, n.config version:0x{}",
            self.sid,
            self.state,
            self.leader,
            self.election_epoch,
            self.peer_epoch,
            self.zxid,
            self.version,
            self.qv
                .as_ref()
                .map_or_else(|| "0".to_string(), |q| format!("{:x}", q.version()))
        )
    }
}

/// A vote to send to `sid` (Java's `ToSend` of type notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToSend {
    /// Proposed leader.
    pub leader: i64,
    /// The proposed leader's last zxid.
    pub zxid: i64,
    /// Our logical clock.
    pub election_epoch: i64,
    /// Our state.
    pub state: ServerState,
    /// Recipient.
    pub sid: i64,
    /// The proposed leader's epoch.
    pub peer_epoch: i64,
    /// Our `QuorumVerifier.toString()`.
    pub config_data: Vec<u8>,
}

/// Why a received configuration text was not usable.
#[derive(Debug)]
pub struct ConfigParseError(pub String);

impl fmt::Display for ConfigParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `QuorumPeer.configFromString`: the dynamic-config text a peer sends in
/// its notifications, parsed as 3.8's `parseDynamicConfig` (hierarchical
/// when it has `group`/`weight` keys; no keys other than `server.N` and
/// `version`).
pub fn config_from_string(text: &str) -> Result<QuorumVerifier, ConfigParseError> {
    let props = Properties::parse(text).map_err(|e| ConfigParseError(format!("{e:?}")))?;
    let mut hierarchical = false;
    for (key, _) in props.iter() {
        let key = key.trim();
        if key.starts_with("group") || key.starts_with("weight") {
            hierarchical = true;
        } else if !key.starts_with("server.") && key != "version" {
            return Err(ConfigParseError(format!("Unrecognised parameter: {key}")));
        }
    }
    QuorumVerifier::from_properties(&props, hierarchical, true)
        .map_err(|e| ConfigParseError(e.to_string()))
}
