//! The mixed-ensemble conformance matrix: every client operation of 3.8
//! issued through every node of an ensemble whose leader, followers and
//! observers are any mix of Apache ZooKeeper 3.8 and zk-bin, each answer
//! checked against a model, while a load writer runs beside it; then the
//! trees of all nodes compared node by node.
//!
//! ## Shape
//!
//! - [`Combo`] names an ensemble as letters in myid order, `j` for an
//!   Apache node and `o` for zk-bin, observers after a `+`: `jjo` is two
//!   Apache followers of a zk-bin leader (on a fresh ensemble the highest
//!   myid leads; [`Combo`] says which node should lead and the test makes
//!   sure it does), `ooj+o` a zk-bin observer of an Apache leader.
//! - [`script::run`] is one node's script: in a subtree of its own
//!   (`/conformance/n<myid>`), every create mode and error, versioned
//!   set/delete, exists, both getChildren, getAllChildrenNumber,
//!   getEphemerals, ACLs and digest auth, multi (committed and rolled
//!   back), multiRead, sync, whoAmI, getConfig, and watches (data, exists,
//!   child, persistent, recursive) set through another node than the
//!   write that fires them; ephemerals vanish everywhere with their
//!   session. Each answer is compared with [`model::Model`]; the model is
//!   read back through every node after `sync`.
//! - The scripts of all nodes run at once, so every node serves reads,
//!   forwards writes and delivers watches while the others do.

pub mod matrix;
pub mod model;
pub mod script;

use std::fmt::Display;

use crate::ensemble::NodeKind;

pub use crate::ensemble::bounded;

/// An ensemble of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combo {
    /// Voting members, in myid order.
    pub participants: Vec<NodeKind>,
    /// Observers, numbered after the participants.
    pub observers: Vec<NodeKind>,
}

impl Combo {
    /// `jjo`, `ooj+o`, ...: `j` Apache, `o` zk-bin, in myid order.
    pub fn parse(s: &str) -> Result<Combo, String> {
        let kinds = |part: &str| -> Result<Vec<NodeKind>, String> {
            part.chars()
                .map(|c| match c {
                    'j' => Ok(NodeKind::Apache),
                    'o' => Ok(NodeKind::ZkBin),
                    _ => Err(format!("{s:?}: {c:?} is neither j (Apache) nor o (zk-bin)")),
                })
                .collect()
        };
        let (p, o) = s.split_once('+').unwrap_or((s, ""));
        let combo = Combo {
            participants: kinds(p)?,
            observers: kinds(o)?,
        };
        if combo.participants.len() < 3 {
            return Err(format!("{s:?}: at least 3 participants"));
        }
        Ok(combo)
    }

    /// The node meant to lead: the highest myid, which a fresh ensemble
    /// elects when every zxid is equal.
    pub fn leader(&self) -> usize {
        self.participants.len() - 1
    }

    /// The kind of node `i` (0-based, participants first, then observers).
    pub fn kind(&self, i: usize) -> NodeKind {
        *self
            .participants
            .iter()
            .chain(&self.observers)
            .nth(i)
            .expect("a node of the combo")
    }

    /// Number of nodes, observers included.
    pub fn len(&self) -> usize {
        self.participants.len() + self.observers.len()
    }

    /// True when the combination has no node at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Node `i`'s role and kind, e.g. `apache follower`.
    pub fn role(&self, i: usize) -> String {
        let role = if i == self.leader() {
            "leader"
        } else if i < self.participants.len() {
            "follower"
        } else {
            "observer"
        };
        format!("{} {role}", self.kind(i))
    }
}

impl Display for Combo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let letters = |kinds: &[NodeKind]| -> String {
            kinds
                .iter()
                .map(|k| if *k == NodeKind::Apache { 'j' } else { 'o' })
                .collect()
        };
        f.write_str(&letters(&self.participants))?;
        if !self.observers.is_empty() {
            write!(f, "+{}", letters(&self.observers))?;
        }
        Ok(())
    }
}

/// Names a check for its failure message: which node, in which role, and
/// which node's client was used.
#[derive(Debug, Clone)]
pub struct Check {
    /// e.g. `jjo node 1 (apache follower)`.
    pub node: String,
}

impl Check {
    /// The failure message `node: what: why`.
    pub fn fail(&self, what: &str, why: &dyn Display) -> String {
        format!("{}: {what}: {why}", self.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combos_parse_and_print() {
        let c = Combo::parse("jjo+o").unwrap();
        assert_eq!(c.to_string(), "jjo+o");
        assert_eq!(c.len(), 4);
        assert_eq!(c.leader(), 2);
        assert_eq!(c.role(0), "apache follower");
        assert_eq!(c.role(2), "zk-bin leader");
        assert_eq!(c.role(3), "zk-bin observer");
        assert!(Combo::parse("jx").is_err());
        assert!(Combo::parse("jo").is_err());
    }
}
