//! What the quorum admin commands read from a peer and its leader: 3.8's
//! `leader`, `voting_view`, `observers` and `observer_connection_stat_reset`
//! take these from `QuorumPeer`, `Leader` and `LearnerHandler`
//! (`getLeaderId`/`getLeaderAddress`, `getVotingView`,
//! `getObservingLearnersInfo`, `getLearnerHandlerInfo`,
//! `resetObserverConnectionStats`). The roles hand them to zk-server's
//! commands through `ServerRole`.

use std::sync::atomic::Ordering;
use std::time::UNIX_EPOCH;

use serde_json::{json, Map, Value};
use zk_config::{HostPort, LearnerType, QuorumServer};
use zk_election::ElectionPeer;

use crate::leader::Leader;
use crate::learner_handler::LearnerHandler;
use crate::quorum_peer::QuorumPeer;

impl QuorumPeer {
    /// The `leader` command: whether this peer leads, the leader's sid and
    /// the hosts of its quorum addresses joined by `|` (3.8's
    /// `setLeaderAddressAndId`), or -1 and "" when the committed config
    /// does not know the leader.
    pub(crate) fn leader_report(&self, is_leader: bool) -> Map<String, Value> {
        let leader = if is_leader {
            self.my_id()
        } else {
            self.current_vote().id
        };
        let qv = self.quorum_verifier();
        let (leader_id, leader_ip) = match qv.all_members().get(&leader) {
            Some(s) => (
                leader,
                s.addrs
                    .iter()
                    .map(|a| a.host.as_str())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            None => (-1, String::new()),
        };
        let mut m = Map::new();
        m.insert("is_leader".into(), json!(is_leader));
        m.insert("leader_id".into(), json!(leader_id));
        m.insert("leader_ip".into(), json!(leader_ip));
        m
    }

    /// What `QuorumZooKeeperServer.dumpConf` adds to `conf`: the limits,
    /// the election algorithm (always 3, FastLeaderElection), this peer's
    /// election and quorum ports (`|`-joined), its type (0 participant, 1
    /// observer) and the committed config with its version, no newline
    /// after it.
    pub(crate) fn dump_conf(&self) -> String {
        let qv = self.quorum_verifier();
        let me = qv.all_members().get(&self.my_id());
        let ports = |addrs: Option<&Vec<HostPort>>| {
            addrs.map_or_else(String::new, |v| {
                v.iter()
                    .map(|a| a.port.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            })
        };
        let peer_type = match self.learner_type() {
            LearnerType::Participant => 0,
            LearnerType::Observer => 1,
        };
        format!(
            "initLimit={}\nsyncLimit={}\nelectionAlg=3\nelectionPort={}\nquorumPort={}\n\
             peerType={peer_type}\nmembership: \n{qv}",
            self.settings().init_limit,
            self.settings().sync_limit,
            ports(me.map(|s| &s.election_addrs)),
            ports(me.map(|s| &s.addrs)),
        )
    }

    /// `voting_view`'s `current_config`: each voting member of the
    /// committed config by sid, with its addresses as 3.8's
    /// `QuorumServerView` lists them.
    pub(crate) fn voting_view_report(&self) -> Value {
        let qv = self.quorum_verifier();
        let view: Map<String, Value> = qv
            .voting_members()
            .iter()
            .map(|(sid, s)| (sid.to_string(), quorum_server_view(s)))
            .collect();
        Value::Object(view)
    }
}

/// 3.8's `QuorumServerView`: the quorum and election addresses, the
/// client address ("" when the server line has none) and the type, named
/// in snake case as 3.8's JSON outputter names every property.
fn quorum_server_view(s: &QuorumServer) -> Value {
    let addrs = |v: &[HostPort]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    json!({
        "server_addresses": addrs(&s.addrs),
        "election_addresses": addrs(&s.election_addrs),
        "client_address": s.client_addr.as_ref().map_or_else(String::new, ToString::to_string),
        "learner_type": match s.learner_type {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        },
    })
}

/// A `MultipleAddresses` as 3.8's JSON outputter writes it (`zabstate`'s
/// addresses): every bean getter, snake-cased. Every address counts as
/// reachable (3.8 probes them; a listed peer address that does not answer
/// changes only the `reachable` fields there).
pub(crate) fn multiple_addresses_json(addrs: &[HostPort]) -> Value {
    let all: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let first = all.first().cloned().unwrap_or_default();
    let wildcard: Vec<String> = addrs
        .iter()
        .map(|a| HostPort::new("0.0.0.0", a.port).to_string())
        .collect();
    json!({
        "all_addresses": all,
        "all_host_strings": addrs.iter().map(|a| a.host.clone()).collect::<Vec<_>>(),
        "all_ports": addrs.iter().map(|a| a.port).collect::<Vec<_>>(),
        "all_reachable_addresses": all,
        "all_reachable_addresses_or_all": all,
        "empty": addrs.is_empty(),
        "one": first,
        "reachable_address": first,
        "reachable_or_one": first,
        "wildcard_addresses": wildcard,
    })
}

impl Leader {
    /// The `observers` command: how many observers are synced and each
    /// one's `getLearnerHandlerInfo`.
    pub(crate) fn observers_report(&self) -> Map<String, Value> {
        let observers = self.observing_learners();
        let info: Vec<Value> = observers
            .iter()
            .map(|h| Value::Object(h.learner_handler_info()))
            .collect();
        let mut m = Map::new();
        m.insert("synced_observers".into(), json!(observers.len()));
        m.insert("observers".into(), Value::Array(info));
        m
    }

    /// `orst`: zero every observer connection's counters.
    pub(crate) fn reset_observer_connection_stats(&self) {
        for h in self.observing_learners() {
            h.reset_observer_connection_stats();
        }
    }
}

impl LearnerHandler {
    /// `getLearnerHandlerInfo`: the connection's address (as Java prints
    /// an `InetSocketAddress`, `/ip:port`), sid, when it was accepted (ms
    /// since the epoch, as Jackson writes a `Date`), its queue and its
    /// counters.
    pub(crate) fn learner_handler_info(&self) -> Map<String, Value> {
        let (queued, queued_bytes) = self.queued_packets_and_size();
        let established = self
            .established
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut m = Map::new();
        m.insert(
            "remote_socket_address".into(),
            json!(format!("/{}", self.remote_address())),
        );
        m.insert("sid".into(), json!(self.sid()));
        m.insert("established".into(), json!(established));
        m.insert("queued_packets".into(), json!(queued));
        m.insert("queued_packets_size".into(), json!(queued_bytes));
        m.insert("packets_received".into(), json!(self.packets_received()));
        m.insert("packets_sent".into(), json!(self.packets_sent()));
        m.insert(
            "requests".into(),
            json!(self.requests_received.load(Ordering::Relaxed)),
        );
        m.insert("last_zxid".into(), json!(self.last_zxid()));
        m
    }
}
