//! Who is in the ensemble and which sets of servers form a quorum:
//! `QuorumVerifier` with its two rules, `QuorumMaj` (plain majority of the
//! voting members) and `QuorumHierarchical` (a majority of groups, each
//! with a majority of its weight).
//!
//! Both are built from the same properties (zoo.cfg in the backward
//! compatible form, or the dynamic file): `server.N`, `group.G`,
//! `weight.N` and the hex `version`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::java;
use crate::properties::Properties;
use crate::quorum_server::{LearnerType, QuorumServer};

/// The membership of one configuration version and its quorum rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumVerifier {
    /// `QuorumMaj`: a majority of the voting members.
    Majority(QuorumMaj),
    /// `QuorumHierarchical`: groups and weights.
    Hierarchical(QuorumHierarchical),
}

/// Members common to both rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Every member, by id.
    pub all: BTreeMap<i64, QuorumServer>,
    /// Config version (a zxid; 0 when the config was never reconfigured).
    pub version: i64,
}

impl Members {
    fn voting(&self) -> BTreeMap<i64, &QuorumServer> {
        self.all
            .iter()
            .filter(|(_, s)| s.learner_type == LearnerType::Participant)
            .map(|(&id, s)| (id, s))
            .collect()
    }

    fn observing(&self) -> BTreeMap<i64, &QuorumServer> {
        self.all
            .iter()
            .filter(|(_, s)| s.learner_type == LearnerType::Observer)
            .map(|(&id, s)| (id, s))
            .collect()
    }

    fn write_servers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (id, s) in &self.all {
            writeln!(f, "server.{id}={s}")?;
        }
        Ok(())
    }
}

/// A quorum is more than half of the voting members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumMaj {
    /// The members.
    pub members: Members,
}

impl QuorumMaj {
    /// The members `all`, at config version 0.
    pub fn new(all: BTreeMap<i64, QuorumServer>) -> Self {
        QuorumMaj {
            members: Members { all, version: 0 },
        }
    }

    /// Acks from ids that are not voting members are not counted (3.8's
    /// callers never pass such ids; counting them would be wrong anyway).
    pub fn contains_quorum(&self, set: &BTreeSet<i64>) -> bool {
        let voting = self.members.voting();
        let half = voting.len() / 2;
        set.iter().filter(|id| voting.contains_key(id)).count() > half
    }
}

/// Servers are split into disjoint groups, each server has a weight
/// (default 1 for participants), and a quorum needs more than half of the
/// weight in more than half of the groups. Groups of total weight zero do
/// not count as groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumHierarchical {
    /// The members.
    pub members: Members,
    /// Each server's weight (participants default to 1).
    pub server_weight: BTreeMap<i64, i64>,
    /// The group of each server.
    pub server_group: BTreeMap<i64, i64>,
    /// Each group's total weight.
    pub group_weight: BTreeMap<i64, i64>,
    /// `group.*` keys seen, less the zero-weight groups.
    pub num_groups: usize,
}

impl QuorumHierarchical {
    /// More than half of the weight in more than half of the groups.
    pub fn contains_quorum(&self, set: &BTreeSet<i64>) -> bool {
        if set.is_empty() {
            return false;
        }
        let mut expansion: BTreeMap<i64, i64> = BTreeMap::new();
        for sid in set {
            if let Some(gid) = self.server_group.get(sid) {
                *expansion.entry(*gid).or_insert(0) += self.server_weight[sid];
            }
        }
        let majority_groups = expansion
            .iter()
            .filter(|(gid, w)| **w > self.group_weight[gid] / 2)
            .count();
        majority_groups > self.num_groups / 2
    }
}

impl QuorumVerifier {
    /// Builds the verifier from `server.N` / `group.G` / `weight.N` /
    /// `version` entries; other keys are skipped (zoo.cfg in the backward
    /// compatible form carries all its other keys too).
    pub fn from_properties(
        props: &Properties,
        hierarchical: bool,
        multi_address_enabled: bool,
    ) -> Result<Self, ConfigError> {
        let mut members = Members::default();
        let mut h = QuorumHierarchical::default();
        let mut group_keys = 0usize;
        for (key, value) in props.iter() {
            if let Some(id) = key.strip_prefix("server.") {
                let sid = parse_id(key, value, id)?;
                let server = QuorumServer::parse(sid, value, multi_address_enabled)?;
                members.all.insert(sid, server);
            } else if key == "version" {
                members.version = java::parse_long_hex(value).ok_or_else(|| {
                    ConfigError::for_key(
                        ConfigErrorKind::NotANumber,
                        key,
                        value,
                        "not a hex number",
                    )
                })?;
            } else if hierarchical && key.starts_with("group") {
                let gid = parse_id(key, value, after_dot(key))?;
                group_keys += 1;
                for s in java::split(value, ':') {
                    let sid = java::parse_long(s).filter(|v| *v >= 0).ok_or_else(|| {
                        ConfigError::for_key(
                            ConfigErrorKind::BadHierarchy,
                            key,
                            value,
                            format!("server id {s:?} is not a number"),
                        )
                    })?;
                    if h.server_group.insert(sid, gid).is_some() {
                        return Err(ConfigError::for_key(
                            ConfigErrorKind::BadHierarchy,
                            key,
                            value,
                            format!("Server {sid} is in multiple groups"),
                        ));
                    }
                }
            } else if hierarchical && key.starts_with("weight") {
                let sid = parse_id(key, value, after_dot(key))?;
                let w = java::parse_long(value).ok_or_else(|| {
                    ConfigError::for_key(
                        ConfigErrorKind::BadHierarchy,
                        key,
                        value,
                        "weight is not a number",
                    )
                })?;
                h.server_weight.insert(sid, w);
            }
        }

        if !hierarchical {
            return Ok(QuorumVerifier::Majority(QuorumMaj { members }));
        }

        for (id, s) in &members.all {
            if s.learner_type == LearnerType::Participant {
                if !h.server_group.contains_key(id) {
                    return Err(ConfigError::new(
                        ConfigErrorKind::BadHierarchy,
                        format!("Server {id} is not in a group"),
                    ));
                }
                h.server_weight.entry(*id).or_insert(1);
            }
        }
        for (sid, gid) in &h.server_group {
            // 3.8 dies with a NullPointerException here; say why instead.
            let Some(w) = h.server_weight.get(sid) else {
                return Err(ConfigError::new(
                    ConfigErrorKind::BadHierarchy,
                    format!(
                        "server {sid} of group.{gid} has no weight: it needs a weight.{sid} line, \
                         or a server.{sid} line as a participant"
                    ),
                ));
            };
            *h.group_weight.entry(*gid).or_insert(0) += w;
        }
        let zero_groups = h.group_weight.values().filter(|&&w| w == 0).count();
        h.num_groups = group_keys.saturating_sub(zero_groups);
        h.members = members;
        Ok(QuorumVerifier::Hierarchical(h))
    }

    fn members(&self) -> &Members {
        match self {
            QuorumVerifier::Majority(m) => &m.members,
            QuorumVerifier::Hierarchical(h) => &h.members,
        }
    }

    fn members_mut(&mut self) -> &mut Members {
        match self {
            QuorumVerifier::Majority(m) => &mut m.members,
            QuorumVerifier::Hierarchical(h) => &mut h.members,
        }
    }

    /// Does `set` (server ids) form a quorum?
    pub fn contains_quorum(&self, set: &BTreeSet<i64>) -> bool {
        match self {
            QuorumVerifier::Majority(m) => m.contains_quorum(set),
            QuorumVerifier::Hierarchical(h) => h.contains_quorum(set),
        }
    }

    /// Participants and observers.
    pub fn all_members(&self) -> &BTreeMap<i64, QuorumServer> {
        &self.members().all
    }

    pub(crate) fn all_members_mut(&mut self) -> &mut BTreeMap<i64, QuorumServer> {
        &mut self.members_mut().all
    }

    /// The participants, by id.
    pub fn voting_members(&self) -> BTreeMap<i64, &QuorumServer> {
        self.members().voting()
    }

    /// The observers, by id.
    pub fn observing_members(&self) -> BTreeMap<i64, &QuorumServer> {
        self.members().observing()
    }

    /// 1 for every server under majority; the configured (or default)
    /// weight under hierarchy, `None` for a server that has none.
    pub fn weight(&self, sid: i64) -> Option<i64> {
        match self {
            QuorumVerifier::Majority(_) => Some(1),
            QuorumVerifier::Hierarchical(h) => h.server_weight.get(&sid).copied(),
        }
    }

    /// The config version (a zxid; 0 when never reconfigured).
    pub fn version(&self) -> i64 {
        self.members().version
    }

    /// Sets the config version.
    pub fn set_version(&mut self, version: i64) {
        self.members_mut().version = version;
    }

    /// Whether the rule is hierarchical (groups and weights).
    pub fn is_hierarchical(&self) -> bool {
        matches!(self, QuorumVerifier::Hierarchical(_))
    }
}

/// The text 3.8 stores in `/zookeeper/config` and the dynamic file:
/// server lines, then (hierarchical) groups and weights, then the version
/// in hex without a trailing newline.
impl fmt::Display for QuorumVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.members().write_servers(f)?;
        if let QuorumVerifier::Hierarchical(h) = self {
            let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for (sid, gid) in &h.server_group {
                groups.entry(*gid).or_default().push(sid.to_string());
            }
            for (gid, sids) in groups {
                writeln!(f, "group.{gid}={}", sids.join(":"))?;
            }
            for (sid, w) in &h.server_weight {
                writeln!(f, "weight.{sid}={w}")?;
            }
        }
        write!(f, "version={:x}", self.version())
    }
}

/// `key.substring(key.indexOf('.') + 1)`: the whole key when it has no dot.
fn after_dot(key: &str) -> &str {
    key.find('.').map_or(key, |i| &key[i + 1..])
}

fn parse_id(key: &str, value: &str, id: &str) -> Result<i64, ConfigError> {
    match java::parse_long(id) {
        Some(v) if v >= 0 => Ok(v),
        Some(_) => Err(ConfigError::for_key(
            ConfigErrorKind::Unsupported,
            key,
            value,
            "negative ids are not supported",
        )),
        None => Err(ConfigError::for_key(
            ConfigErrorKind::NotANumber,
            key,
            value,
            format!("id {id:?} is not a number"),
        )),
    }
}

/// Why [`QuorumVerifier::parse_new_members`] refused a member list: 3.8
/// throws a `ConfigException` for some (a client sees BADARGUMENTS) and
/// an `IllegalArgumentException` for others (which escapes the reconfig
/// code and reaches the client as MARSHALLINGERROR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewMembersError {
    /// A malformed line or an unknown key (`ConfigException`).
    Config(ConfigError),
    /// A member list no ensemble can run (`IllegalArgumentException`).
    Invalid(String),
}

impl QuorumVerifier {
    /// `parseDynamicConfig` as the leader runs it on a non-incremental
    /// reconfig's member list (never in backward compatible mode, so any
    /// key but `server.N`, `group`, `weight` and `version` is refused).
    pub fn parse_new_members(
        props: &Properties,
        standalone_enabled: bool,
        multi_address_enabled: bool,
    ) -> Result<QuorumVerifier, NewMembersError> {
        let mut hierarchical = false;
        for (key, value) in props.iter() {
            let key = key.trim();
            if key.starts_with("group") || key.starts_with("weight") {
                hierarchical = true;
            } else if !key.starts_with("server.") && key != "version" {
                return Err(NewMembersError::Config(ConfigError::for_key(
                    ConfigErrorKind::Unsupported,
                    key,
                    value,
                    format!("Unrecognised parameter: {key}"),
                )));
            }
        }
        let qv = QuorumVerifier::from_properties(props, hierarchical, multi_address_enabled)
            .map_err(NewMembersError::Config)?;
        let participants = qv.voting_members().len();
        let observers = qv.observing_members().len();
        let invalid = |m: &str| Err(NewMembersError::Invalid(m.to_string()));
        if participants == 0 {
            if !standalone_enabled {
                return invalid(
                    "standaloneEnabled = false then number of participants should be >0",
                );
            }
            if observers > 0 {
                return invalid("Observers w/o participants is an invalid configuration");
            }
        } else if participants == 1 && standalone_enabled {
            log::error!("Invalid configuration, only one server specified (ignoring)");
            if observers > 0 {
                return invalid("Observers w/o quorum is an invalid configuration");
            }
        }
        Ok(qv)
    }
}
