//! `Vote` and `ServerState`, as `QuorumPeer` and `FastLeaderElection` of
//! ZooKeeper 3.8 define them, plus the vote order (`totalOrderPredicate`).

use std::fmt;

/// What a peer is doing. The discriminants are what goes on the wire in
/// the first int of a notification (Java's `ServerState.ordinal()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Electing a leader.
    Looking = 0,
    /// Following the elected leader.
    Following = 1,
    /// Leading.
    Leading = 2,
    /// Observing the elected leader (never votes).
    Observing = 3,
}

impl ServerState {
    /// The wire value back to a state; `None` for anything else (3.8 drops
    /// such a notification).
    pub(crate) fn from_wire(v: i32) -> Option<ServerState> {
        match v {
            0 => Some(ServerState::Looking),
            1 => Some(ServerState::Following),
            2 => Some(ServerState::Leading),
            3 => Some(ServerState::Observing),
            _ => None,
        }
    }

    /// The state's wire value.
    pub fn to_wire(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for ServerState {
    /// Upper case, as Java prints the enum (operators grep for these).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Looking => "LOOKING",
            ServerState::Following => "FOLLOWING",
            ServerState::Leading => "LEADING",
            ServerState::Observing => "OBSERVING",
        })
    }
}

/// A proposal of a leader: who (`id`), with which last zxid, in which
/// election round (`election_epoch`, the sender's logical clock) and which
/// accepted epoch (`peer_epoch`).
///
/// `PartialEq` compares every field; the election itself compares votes
/// with [`Vote::same_as`], which is Java's `Vote.equals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    /// Notification format version the vote arrived in (0 for votes built
    /// locally).
    pub version: i32,
    /// The proposed leader.
    pub id: i64,
    /// Its last zxid.
    pub zxid: i64,
    /// The election round.
    pub election_epoch: i64,
    /// Its accepted epoch.
    pub peer_epoch: i64,
    /// The state of the server that sent the vote.
    pub state: ServerState,
}

impl Vote {
    /// A LOOKING vote of format version 0, as Java's four-argument
    /// constructor.
    pub fn new(id: i64, zxid: i64, election_epoch: i64, peer_epoch: i64) -> Self {
        Vote {
            version: 0,
            id,
            zxid,
            election_epoch,
            peer_epoch,
            state: ServerState::Looking,
        }
    }

    /// The vote a peer starts with (`Vote(id, zxid, peerEpoch)`): no
    /// election round yet.
    pub fn initial(id: i64, zxid: i64, peer_epoch: i64) -> Self {
        Vote::new(id, zxid, -1, peer_epoch)
    }

    /// The vote as sent by a server in `state`.
    pub(crate) fn with_state(mut self, state: ServerState) -> Self {
        self.state = state;
        self
    }

    /// The vote as it arrived in format `version`.
    pub(crate) fn with_version(mut self, version: i32) -> Self {
        self.version = version;
        self
    }

    /// Java's `Vote.equals`, which decides whether two votes count for the
    /// same leader. While either side is LOOKING, the whole proposal must
    /// match (leader, zxid, round and epoch). Between settled servers only
    /// the leader and its epoch matter, and when exactly one of the two
    /// votes comes from a pre-reconfig peer (version 0) only the leader,
    /// since such a peer may report a different epoch.
    pub fn same_as(&self, other: &Vote) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            self.id == other.id
                && self.zxid == other.zxid
                && self.election_epoch == other.election_epoch
                && self.peer_epoch == other.peer_epoch
        } else if (self.version > 0) ^ (other.version > 0) {
            self.id == other.id
        } else {
            self.id == other.id && self.peer_epoch == other.peer_epoch
        }
    }
}

impl fmt::Display for Vote {
    /// `(id, zxid hex, peerEpoch hex)` as 3.8 logs a vote.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {:x}, {:x})", self.id, self.zxid, self.peer_epoch)
    }
}

/// `totalOrderPredicate`: does the proposal (`new_id`, `new_zxid`,
/// `new_epoch`) beat the current one? Higher epoch first, then higher
/// zxid, then higher server id. A server of weight 0 (possible only under
/// hierarchical quorums) can never be elected; `new_weight` is its weight,
/// `None` when the verifier knows no weight for it (3.8 would fail on a
/// null weight there; such a server cannot be elected either).
pub(crate) fn total_order_predicate(
    new_id: i64,
    new_zxid: i64,
    new_epoch: i64,
    cur_id: i64,
    cur_zxid: i64,
    cur_epoch: i64,
    new_weight: Option<i64>,
) -> bool {
    if new_weight.unwrap_or(0) == 0 {
        return false;
    }
    (new_epoch, new_zxid, new_id) > (cur_epoch, cur_zxid, cur_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_wire_values() {
        for (v, s) in [
            (0, ServerState::Looking),
            (1, ServerState::Following),
            (2, ServerState::Leading),
            (3, ServerState::Observing),
        ] {
            assert_eq!(ServerState::from_wire(v), Some(s));
            assert_eq!(s.to_wire(), v);
        }
        assert_eq!(ServerState::from_wire(4), None);
        assert_eq!(ServerState::from_wire(-1), None);
    }

    #[test]
    fn same_as_follows_java_equals() {
        let looking = Vote::new(3, 0x100, 2, 1);
        assert!(looking.same_as(&Vote::new(3, 0x100, 2, 1)));
        assert!(!looking.same_as(&Vote::new(3, 0x100, 3, 1)));
        // A settled vote against a looking one still compares everything.
        let following = Vote::new(3, 0x100, 2, 1).with_state(ServerState::Following);
        assert!(looking.same_as(&following));
        // Settled votes: leader and epoch only.
        let a = Vote::new(3, 0x100, 2, 1)
            .with_state(ServerState::Following)
            .with_version(2);
        let b = Vote::new(3, 0x999, 7, 1)
            .with_state(ServerState::Leading)
            .with_version(2);
        assert!(a.same_as(&b));
        let c = Vote::new(3, 0x999, 7, 5)
            .with_state(ServerState::Leading)
            .with_version(2);
        assert!(!a.same_as(&c));
        // One pre-reconfig side: leader only.
        assert!(a.same_as(&c.with_version(0)));
        assert!(!a.same_as(&Vote::new(4, 0, 0, 1).with_state(ServerState::Leading)));
    }

    #[test]
    fn display_is_hex() {
        assert_eq!(
            Vote::initial(2, 0x100000003, 1).to_string(),
            "(2, 100000003, 1)"
        );
    }

    #[test]
    fn total_order_epoch_then_zxid_then_sid() {
        let beats = |new: (i64, i64, i64), cur: (i64, i64, i64)| {
            total_order_predicate(new.0, new.1, new.2, cur.0, cur.1, cur.2, Some(1))
        };
        // (id, zxid, epoch)
        assert!(beats((1, 0, 2), (3, 0x5_0000_0000, 1)), "epoch first");
        assert!(beats((1, 0x101, 1), (3, 0x100, 1)), "then zxid");
        assert!(beats((3, 0x100, 1), (2, 0x100, 1)), "then sid");
        assert!(!beats((2, 0x100, 1), (2, 0x100, 1)), "not against itself");
        assert!(!beats((2, 0x100, 1), (3, 0x100, 1)));
        assert!(!beats((9, 0x100, 0), (1, 0, 1)));
        // Observers start with Long.MIN_VALUE everywhere: any voter beats it.
        assert!(beats((1, 0, 0), (i64::MIN, i64::MIN, i64::MIN)));
        // A zero (or unknown) weight is never elected.
        assert!(!total_order_predicate(9, 9, 9, 1, 0, 0, Some(0)));
        assert!(!total_order_predicate(9, 9, 9, 1, 0, 0, None));
    }
}
