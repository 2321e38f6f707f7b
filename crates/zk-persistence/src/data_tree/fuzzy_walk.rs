//! The tree's part of a fuzzy snapshot: a walk that looks at the tree a
//! slice at a time, so that txns go on being applied in between (3.8's
//! `DataTree.serialize` runs while `FinalRequestProcessor` keeps applying;
//! we get the same effect with a read lock taken per slice).
//!
//! The walk goes depth first by path, a node and then its children, as
//! `serializeNode` does. Between slices it keeps only paths, never node
//! ids: while the lock is released a node can be deleted and its slot
//! handed to another. A name whose node is gone by the time the walk
//! reaches it is skipped; a child created after its parent was written is
//! missed. Every node is recorded as it is when the walk reaches it, and
//! always after its parent (a child is found only through its parent's
//! child list), so the result is the fuzzy tree restore expects:
//! replaying the txns after the zxid of the walk's start makes it exact.
//!
//! The ACL map precedes the nodes in a snapshot, and the file is written
//! in one pass, so the walk writes the map as it is when the walk begins
//! (in the first slice, before the root). Two kinds of node can then need
//! a list the map lacks, and both are made right again by the txns restore
//! replays after the snapshot's zxid:
//! - a node created after that zxid is left out, with everything under
//!   it (its create txn is replayed; writing it would let replay's
//!   "node exists" keep whatever ACL the snapshot gave it);
//! - a node whose ACL was set after the walk began to a list newer than
//!   the map is written with the open ACL id (-1), which every loader
//!   knows without a map entry; its setACL txn is replayed over it.
//!
//! 3.8 instead writes such a node's new id, which its own loader then
//! fails to find. ACL ids are never reused, so "newer than the map" is
//! "higher than the last id handed out when the walk began". On a tree
//! nobody changes nothing is left out or replaced, the map is the cache's,
//! and the snapshot is byte for byte what `DataTree::serialize` gives.

use std::io;
use std::time::{Duration, Instant};

use super::{DataTree, NodeRef};
use crate::acl_cache::{serialize_acl_map, OPEN_UNSAFE_ACL_ID};
use crate::digest::ZxidDigest;
use crate::jute::{OutputArchive, Record};
use crate::node_table::{NodeId, ROOT};

/// How long one slice may hold the tree, and how long the walk then
/// leaves it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceLimits {
    /// A slice ends once it has run this long (checked every few nodes).
    pub max_time: Duration,
    /// ... or has written this many bytes (a node's data can be 1 MB).
    pub max_bytes: usize,
    /// ... or this many nodes.
    pub max_nodes: usize,
    /// After a slice that held the tree for `t`, the walk waits
    /// `t * rest_factor` before the next one.
    pub rest_factor: u32,
}

impl Default for SliceLimits {
    /// A tenth of a millisecond of holding the tree, then twice as long
    /// for the writers. Without the rest the applying thread got about
    /// one txn in between two slices (the walk's next read lock came
    /// right after the write lock was released); with longer slices, a
    /// walk descheduled while holding the lock (two busy cores) kept the
    /// writers waiting for milliseconds. Either doubled a create load's
    /// p99 while snapshots ran (`zk-bench load --ops create`: 7.4 ms,
    /// 3.0 ms with these limits; 3.8 gave 4.5 ms on the same machine).
    fn default() -> Self {
        SliceLimits {
            max_time: Duration::from_micros(100),
            max_bytes: 1 << 20,
            max_nodes: 20_000,
            rest_factor: 2,
        }
    }
}

/// The names still to visit under one node, oldest first.
struct Pending {
    /// Where the parent's path ends in [`FuzzyTreeWalk::path`].
    parent_len: usize,
    /// The names back to back, newest first; the next one is at the end.
    names: String,
    /// Where each name in `names` ends.
    ends: Vec<u32>,
    /// The parent's id and the slice it was resolved in: valid only
    /// within that slice.
    parent: Option<(u64, NodeId)>,
}

impl Pending {
    /// Removes the next name and appends it to `path` as a last component.
    fn pop_into(&mut self, path: &mut String) -> bool {
        let Some(_) = self.ends.pop() else {
            return false;
        };
        let start = self.ends.last().map_or(0, |&e| e as usize);
        path.truncate(self.parent_len);
        path.push('/');
        path.push_str(&self.names[start..]);
        self.names.truncate(start);
        true
    }
}

/// What a finished walk saw, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// How many slices (read-lock holds) the walk took.
    pub slices: u64,
    /// How many nodes it wrote.
    pub nodes_written: u64,
    /// Names listed by a parent whose node was gone when the walk reached
    /// it.
    pub nodes_skipped: u64,
    /// Nodes left out because they were created after the snapshot's
    /// zxid (their create txns are replayed).
    pub nodes_created_after: u64,
    /// Nodes written with the open ACL id because their list is newer
    /// than the walk (their setACL txns are replayed).
    pub acls_replaced: u64,
    /// The longest slice.
    pub longest_slice: Duration,
}

/// See the module docs. Feed it the tree once per slice with
/// [`Self::next_slice`] until that returns true.
pub struct FuzzyTreeWalk {
    limits: SliceLimits,
    started: bool,
    finished: bool,
    /// The path of the node last written; pending names are appended to a
    /// prefix of it.
    path: String,
    stack: Vec<Pending>,
    /// The zxid the snapshot is named after; later creates are replayed.
    zxid: i64,
    /// The highest ACL id handed out when the walk began: the map written
    /// holds no list above it.
    acl_ids_before: i64,
    zxid_digest: Option<ZxidDigest>,
    stats: WalkStats,
}

impl FuzzyTreeWalk {
    /// A walk for a snapshot named after `zxid` (read, with the sessions,
    /// before the walk starts).
    pub fn new(limits: SliceLimits, zxid: i64) -> Self {
        FuzzyTreeWalk {
            limits,
            started: false,
            finished: false,
            path: String::new(),
            stack: Vec::new(),
            zxid,
            acl_ids_before: 0,
            zxid_digest: None,
            stats: WalkStats::default(),
        }
    }

    /// Appends the next part of the snapshot after its sessions to `out`
    /// (the first time the ACL map, then node records: path, then the
    /// `DataNode` record), looking at `tree` for at most one slice.
    /// Returns true once every node has been written; the "/" terminator
    /// is left to the caller.
    pub fn next_slice(&mut self, tree: &DataTree, out: &mut Vec<u8>) -> io::Result<bool> {
        if self.finished {
            return Ok(true);
        }
        let began = Instant::now();
        self.stats.slices += 1;
        let slice = self.stats.slices;
        let start_len = out.len();
        let mut oa = OutputArchive::new(out);
        let mut written = 0usize;
        // Names looked at, written or not: skipping costs time too.
        let mut steps = 0usize;
        if !self.started {
            self.started = true;
            self.acl_ids_before = tree.acl_cache.last_id();
            serialize_acl_map(&mut oa, tree.acl_cache.entries().into_iter())?;
            if self.write_node(tree, ROOT, slice, &mut oa)? {
                written += 1;
            }
        }
        loop {
            let Some(top) = self.stack.last_mut() else {
                self.finished = true;
                // As 3.8: the digest after the last txn applied when the
                // walk ends, zeros if none.
                self.zxid_digest = tree
                    .options
                    .digest_enabled
                    .then(|| tree.last_processed_zxid_digest().unwrap_or_default());
                break;
            };
            let parent = match top.parent {
                Some((s, id)) if s == slice => Some(id),
                _ => tree.nodes.lookup(&self.path[..top.parent_len]),
            };
            let Some(parent) = parent else {
                // The parent went (and with it every child it listed).
                self.stats.nodes_skipped += top.ends.len() as u64;
                self.stack.pop();
                continue;
            };
            top.parent = Some((slice, parent));
            if !top.pop_into(&mut self.path) {
                self.stack.pop();
                continue;
            }
            steps += 1;
            let name = &self.path[top.parent_len + 1..];
            match tree.nodes.child(parent, name) {
                Some(id) => {
                    if self.write_node(tree, id, slice, &mut oa)? {
                        written += 1;
                    }
                }
                None => self.stats.nodes_skipped += 1,
            }
            if written >= self.limits.max_nodes
                || oa.get_ref().len() - start_len >= self.limits.max_bytes
                || (steps % 16 == 0 && began.elapsed() >= self.limits.max_time)
            {
                break;
            }
        }
        self.stats.nodes_written += written as u64;
        self.stats.longest_slice = self.stats.longest_slice.max(began.elapsed());
        Ok(self.finished)
    }

    /// Writes the node at [`Self::path`] and lists its children to visit;
    /// false when the node is left out (created after the snapshot's zxid).
    fn write_node(
        &mut self,
        tree: &DataTree,
        id: NodeId,
        slice: u64,
        oa: &mut OutputArchive<&mut Vec<u8>>,
    ) -> io::Result<bool> {
        let node = NodeRef { tree, id };
        let stat = node.stat_persisted();
        if stat.czxid > self.zxid && id != ROOT {
            self.stats.nodes_created_after += 1;
            return Ok(false);
        }
        let mut acl_id = node.acl_id();
        if acl_id > self.acl_ids_before {
            acl_id = OPEN_UNSAFE_ACL_ID;
            self.stats.acls_replaced += 1;
        }
        oa.write_string(&self.path)?;
        oa.write_buffer_opt(node.data())?;
        oa.write_long(acl_id)?;
        stat.serialize(oa)?;
        let mut next = Pending {
            parent_len: self.path.len(),
            names: String::new(),
            ends: Vec::new(),
            parent: Some((slice, id)),
        };
        // Newest first, so the oldest ends up last and is visited first.
        for c in tree.nodes.children(id) {
            next.names.push_str(tree.nodes.name(c));
            next.ends.push(next.names.len() as u32);
        }
        if !next.ends.is_empty() {
            self.stack.push(next);
        }
        Ok(true)
    }

    /// The zxid digest to write after the tree (`None` with digests off);
    /// taken in the last slice.
    pub fn zxid_digest(&self) -> Option<ZxidDigest> {
        self.zxid_digest
    }

    /// What the walk has seen so far.
    pub fn stats(&self) -> WalkStats {
        self.stats
    }
}
