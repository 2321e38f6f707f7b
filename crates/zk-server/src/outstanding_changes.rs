//! The writes `PrepRequestProcessor` has accepted but `FinalRequestProcessor`
//! has not applied yet (`ZooKeeperServer.outstandingChanges`), and the
//! tree digest each of them will leave behind.
//!
//! Prep checks every write against the tree as it *will* be, so it looks
//! a path up here first ([`OutstandingChanges::record`]) and in the tree
//! only when no pending write touches it. Each record also carries the
//! node's digest and the whole tree's digest once its write is applied
//! (`PrecalculatedDigest`): the tree digest is additive, so the digest
//! after a write is the digest before it, less the node's old hash, plus
//! its new one. That is how a txn's `TxnDigest` is known before it is
//! logged, which must happen before it is applied.

use std::collections::{HashMap, VecDeque};

use zk_persistence::data_tree::DataTree;
use zk_persistence::digest::node_digest;
use zk_persistence::records::{Acl, StatPersisted};
use zk_persistence::zoo_defs::Code;

/// A node's digest and the tree's digest after the change that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrecalculatedDigest {
    pub node_digest: i64,
    pub tree_digest: i64,
}

/// What a znode will look like once the writes before it are applied
/// (`ChangeRecord`); `stat` is `None` for a node being deleted.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    /// The zxid of the write; -1 for a record read from the tree.
    pub zxid: i64,
    pub path: String,
    pub stat: Option<StatPersisted>,
    pub child_count: i32,
    pub acl: Vec<Acl>,
    /// Kept only while digests are enabled: the node's hash covers it.
    pub data: Option<Vec<u8>>,
    pub digest: Option<PrecalculatedDigest>,
    /// Identity, so that a newer record for the same path is not removed
    /// with an older one.
    seq: u64,
}

impl ChangeRecord {
    pub fn new(zxid: i64, path: String, stat: Option<StatPersisted>, child_count: i32) -> Self {
        ChangeRecord {
            zxid,
            path,
            stat,
            child_count,
            acl: Vec::new(),
            data: None,
            digest: None,
            seq: 0,
        }
    }

    /// `duplicate`: the record a new write at `zxid` starts from.
    pub fn duplicate(&self, zxid: i64) -> ChangeRecord {
        ChangeRecord {
            zxid,
            stat: Some(self.stat.clone().unwrap_or_default()),
            ..self.clone()
        }
    }
}

/// How a write changes one node's share of the digest (`DigestOpCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestOp {
    Add,
    Remove,
    Update,
}

/// The hash `DigestCalculator` gives a node.
pub fn stat_digest(path: &str, data: Option<&[u8]>, s: &StatPersisted) -> i64 {
    node_digest(
        path,
        data,
        s.czxid,
        s.mzxid,
        s.pzxid,
        s.ctime,
        s.mtime,
        s.version,
        s.cversion,
        s.aversion,
        s.ephemeral_owner,
    )
}

/// Change records not yet applied, oldest first, and the newest per path.
#[derive(Debug, Default)]
pub struct OutstandingChanges {
    pub(crate) queue: VecDeque<ChangeRecord>,
    pub(crate) for_path: HashMap<String, ChangeRecord>,
    next_seq: u64,
}

impl OutstandingChanges {
    /// `addChangeRecord`.
    pub fn add(&mut self, mut c: ChangeRecord) {
        self.next_seq += 1;
        c.seq = self.next_seq;
        self.for_path.insert(c.path.clone(), c.clone());
        self.queue.push_back(c);
    }

    /// Drops the records of every txn up to `zxid`, now applied.
    pub fn remove_applied(&mut self, zxid: i64) {
        while self.queue.front().is_some_and(|c| c.zxid <= zxid) {
            let c = self.queue.pop_front().expect("checked");
            if self.for_path.get(&c.path).is_some_and(|p| p.seq == c.seq) {
                self.for_path.remove(&c.path);
            }
        }
    }

    /// How many changes are outstanding (used by tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no change is outstanding (used by tests).
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// `getRecordForPath`: the pending record for `path`, else the node
    /// in `tree`; NONODE when neither has it (or it is being deleted).
    pub fn record(&self, tree: &DataTree, path: &str, digests: bool) -> Result<ChangeRecord, Code> {
        let rec = match self.for_path.get(path) {
            Some(c) => c.clone(),
            None => {
                let n = tree.get_node(path).ok_or(Code::NONODE)?;
                let stat = n.stat_persisted();
                let mut rec =
                    ChangeRecord::new(-1, path.to_string(), Some(stat), n.num_children() as i32);
                rec.acl = n.acl().to_vec();
                if digests {
                    rec.digest = Some(PrecalculatedDigest {
                        node_digest: stat_digest(path, n.data(), rec.stat.as_ref().expect("set")),
                        tree_digest: 0,
                    });
                    rec.data = n.data().map(<[u8]>::to_vec);
                }
                rec
            }
        };
        if rec.stat.is_none() {
            return Err(Code::NONODE);
        }
        Ok(rec)
    }

    /// `getCurrentTreeDigest`: the digest the tree will have once every
    /// pending write is applied.
    pub fn current_tree_digest(&self, tree: &DataTree) -> i64 {
        match self.queue.back().and_then(|c| c.digest) {
            Some(d) => d.tree_digest,
            None => tree.digest(),
        }
    }

    /// `precalculateDigest` for a record about to be added: its node hash
    /// and the tree digest after it. `None` when digests are off.
    pub fn precalculate(
        &self,
        tree: &DataTree,
        op: DigestOp,
        rec: &ChangeRecord,
        digests: bool,
    ) -> Result<Option<PrecalculatedDigest>, Code> {
        if !digests {
            return Ok(None);
        }
        let prev = match op {
            DigestOp::Add => 0,
            DigestOp::Remove | DigestOp::Update => self
                .record(tree, &rec.path, digests)?
                .digest
                .map_or(0, |d| d.node_digest),
        };
        let new = match (op, &rec.stat) {
            (DigestOp::Remove, _) | (_, None) => 0,
            (_, Some(s)) => stat_digest(&rec.path, rec.data.as_deref(), s),
        };
        let tree_digest = self
            .current_tree_digest(tree)
            .wrapping_sub(prev)
            .wrapping_add(new);
        Ok(Some(PrecalculatedDigest {
            node_digest: new,
            tree_digest,
        }))
    }

    /// The newest records for `paths`, to put back if a multi fails
    /// (`getPendingChanges`).
    pub fn pending_for(&self, paths: impl IntoIterator<Item = String>) -> PendingChanges {
        PendingChanges(
            paths
                .into_iter()
                .filter_map(|p| self.for_path.get(&p).cloned())
                .map(|c| (c.path.clone(), c))
                .collect(),
        )
    }

    /// `rollbackPendingChanges`: drops every record of the failed multi at
    /// `zxid` (newest first, with the per-path entry of each, including
    /// sequential paths nobody saved), then puts back the saved records
    /// that are still pending.
    pub fn rollback(&mut self, zxid: i64, pending: &PendingChanges) {
        while self.queue.back().is_some_and(|c| c.zxid == zxid) {
            let c = self.queue.pop_back().expect("checked");
            self.for_path.remove(&c.path);
        }
        let Some(first) = self.queue.front().map(|c| c.zxid) else {
            return;
        };
        for c in pending.0.values() {
            if c.zxid >= first {
                self.for_path.insert(c.path.clone(), c.clone());
            }
        }
    }
}

/// See [`OutstandingChanges::pending_for`].
#[derive(Debug)]
pub struct PendingChanges(HashMap<String, ChangeRecord>);

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(zxid: i64, path: &str) -> ChangeRecord {
        ChangeRecord::new(zxid, path.into(), Some(StatPersisted::default()), 0)
    }

    #[test]
    fn applied_records_go_but_newer_ones_for_the_same_path_stay() {
        let mut oc = OutstandingChanges::default();
        oc.add(rec(1, "/a"));
        oc.add(rec(2, "/a"));
        oc.add(rec(2, "/b"));
        oc.remove_applied(1);
        assert_eq!(oc.len(), 2);
        assert_eq!(oc.for_path["/a"].zxid, 2);
        oc.remove_applied(2);
        assert!(oc.is_empty());
        assert!(oc.for_path.is_empty());
    }

    #[test]
    fn rollback_restores_the_records_a_multi_replaced() {
        let mut oc = OutstandingChanges::default();
        oc.add(rec(1, "/a"));
        let pending = oc.pending_for(["/a".to_string(), "/b".to_string()]);
        oc.add(rec(2, "/a"));
        oc.add(rec(2, "/b"));
        oc.add(rec(2, "/s0000000001"));
        oc.rollback(2, &pending);
        assert_eq!(oc.len(), 1);
        assert_eq!(oc.for_path["/a"].zxid, 1);
        assert!(!oc.for_path.contains_key("/b"));
        assert!(!oc.for_path.contains_key("/s0000000001"));
        // A saved record applied meanwhile is not brought back.
        let pending = oc.pending_for(["/a".to_string()]);
        oc.remove_applied(1);
        oc.add(rec(3, "/a"));
        oc.rollback(3, &pending);
        assert!(oc.is_empty());
        assert!(oc.for_path.is_empty());
    }

    #[test]
    fn digests_add_up_like_the_tree_does() {
        let tree = DataTree::new();
        let mut oc = OutstandingChanges::default();
        let base = oc.current_tree_digest(&tree);
        assert_eq!(base, tree.digest());
        let mut r = rec(5, "/x");
        r.data = Some(b"d".to_vec());
        let d = oc
            .precalculate(&tree, DigestOp::Add, &r, true)
            .unwrap()
            .unwrap();
        let h = stat_digest("/x", Some(b"d"), &StatPersisted::default());
        assert_eq!(d.node_digest, h);
        assert_eq!(d.tree_digest, base.wrapping_add(h));
        r.digest = Some(d);
        oc.add(r.clone());
        let gone = ChangeRecord::new(6, "/x".into(), None, -1);
        let d2 = oc
            .precalculate(&tree, DigestOp::Remove, &gone, true)
            .unwrap()
            .unwrap();
        assert_eq!(d2.tree_digest, base);
        assert_eq!(oc.precalculate(&tree, DigestOp::Add, &r, false), Ok(None));
    }
}
