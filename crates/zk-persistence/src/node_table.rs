//! Where the tree's nodes live: the compact counterpart of ZooKeeper's
//! `NodeHashMapImpl` (path -> `DataNode`) and `DataNode` itself.
//!
//! Java keys a hash map by full path and gives every node its own
//! `HashSet` of child names; at a million nodes that costs several hundred
//! bytes a node before the data. Here:
//!
//! - Nodes sit in one `Vec<Node>` (a slab; freed slots are reused) and
//!   refer to each other by `u32` index. A [`Node`] is 88 bytes: the
//!   persisted stat, the ACL handle, and parent/first-child/sibling links,
//!   so children need no allocation of their own. `ephemeralOwner` is 0
//!   for most nodes, so it lives in a side map for the few that have one
//!   (a flag bit says which).
//! - Each node's name and data sit together in one byte arena, as
//!   `varint(name length) | name | data`. No per-node allocation, no
//!   allocator headers; space freed by deletes and grown data is reclaimed
//!   by sliding compaction once it passes a quarter of the live bytes.
//! - Lookup is an open-addressing table of node indexes keyed by
//!   (parent index, name), so a full path is never stored: `/a/b/c` is three
//!   probes. The hash is std's keyed SipHash with per-table random keys, so
//!   client-chosen names cannot be crafted to collide.
//!
//! Paths are rebuilt by walking parent links when they are needed (an
//! ephemeral's path when its session dies, the path of each node a snapshot
//! writes is built incrementally instead).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use crate::acl_cache::AclRef;
use crate::records::StatPersisted;

/// Index of a node in the table.
pub(crate) type NodeId = u32;
/// "No node" in a link.
pub(crate) const NIL: NodeId = u32::MAX;
/// The root is always slot 0.
pub(crate) const ROOT: NodeId = 0;

/// Marks a free slot's `blob`.
const FREE: u64 = u64::MAX;
/// High bit of `data_len`: the data is null, not empty.
const NULL_DATA: u32 = 1 << 31;
/// High bit of `num_children`: the node has a non-zero `ephemeralOwner`
/// in `owners`. (No node can have 2^31 children.)
const HAS_OWNER: u32 = 1 << 31;
/// Compaction never runs for less garbage than this.
const MIN_COMPACT_GARBAGE: usize = 1 << 20;

/// One znode: `DataNode` minus its data and children (see module docs).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub pzxid: i64,
    /// Offset of the node's entry in the arena, or `FREE`.
    blob: u64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub acl: AclRef,
    /// Data length, with `NULL_DATA` set for null data.
    data_len: u32,
    parent: NodeId,
    first_child: NodeId,
    next_sibling: NodeId,
    prev_sibling: NodeId,
    num_children: u32,
}

impl Node {
    fn new(stat: &StatPersisted, acl: AclRef) -> Node {
        let flag = if stat.ephemeral_owner != 0 {
            HAS_OWNER
        } else {
            0
        };
        Node {
            czxid: stat.czxid,
            mzxid: stat.mzxid,
            ctime: stat.ctime,
            mtime: stat.mtime,
            pzxid: stat.pzxid,
            blob: FREE,
            version: stat.version,
            cversion: stat.cversion,
            aversion: stat.aversion,
            acl,
            data_len: 0,
            parent: NIL,
            first_child: NIL,
            next_sibling: NIL,
            prev_sibling: NIL,
            num_children: flag,
        }
    }

    pub fn num_children(&self) -> u32 {
        self.num_children & !HAS_OWNER
    }

    /// Length of the data (0 for null).
    pub fn data_len(&self) -> usize {
        (self.data_len & !NULL_DATA) as usize
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8]) -> (usize, usize) {
    let mut v = 0usize;
    let mut shift = 0;
    for (i, &byte) in b.iter().enumerate() {
        v |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            return (v, i + 1);
        }
        shift += 7;
    }
    // The arena is only written by put_varint.
    unreachable!("truncated varint in the node arena")
}

/// The slab, arena and index (see module docs).
pub(crate) struct NodeTable {
    nodes: Vec<Node>,
    free_head: NodeId,
    live: usize,
    arena: Vec<u8>,
    garbage: usize,
    /// Open addressing, linear probing, power-of-two size; `NIL` = empty.
    slots: Vec<NodeId>,
    hasher: RandomState,
    /// `ephemeralOwner` of the nodes flagged `HAS_OWNER`.
    owners: HashMap<NodeId, i64>,
}

impl NodeTable {
    /// A table holding just a root with this data, stat and ACL.
    pub fn new(root_data: Option<&[u8]>, root_stat: &StatPersisted, acl: AclRef) -> NodeTable {
        let mut t = NodeTable {
            nodes: Vec::new(),
            free_head: NIL,
            live: 0,
            arena: Vec::new(),
            garbage: 0,
            slots: vec![NIL; 16],
            hasher: RandomState::new(),
            owners: HashMap::new(),
        };
        let id = t.alloc_slot(Node::new(root_stat, acl));
        debug_assert_eq!(id, ROOT);
        if root_stat.ephemeral_owner != 0 {
            t.owners.insert(id, root_stat.ephemeral_owner);
        }
        t.write_blob(id, b"", root_data);
        t
    }

    /// Live nodes, the root included.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// Stat fields and ACL may be changed through this; links may not
    /// (they are private to this module).
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    /// The node's `ephemeralOwner` (fixed at creation).
    pub fn ephemeral_owner(&self, id: NodeId) -> i64 {
        if self.nodes[id as usize].num_children & HAS_OWNER == 0 {
            return 0;
        }
        self.owners.get(&id).copied().unwrap_or(0)
    }

    /// The node's stat as persisted.
    pub fn stat(&self, id: NodeId) -> StatPersisted {
        let n = &self.nodes[id as usize];
        StatPersisted {
            czxid: n.czxid,
            mzxid: n.mzxid,
            ctime: n.ctime,
            mtime: n.mtime,
            version: n.version,
            cversion: n.cversion,
            aversion: n.aversion,
            ephemeral_owner: self.ephemeral_owner(id),
            pzxid: n.pzxid,
        }
    }

    fn entry(&self, id: NodeId) -> (usize, usize, usize) {
        let n = &self.nodes[id as usize];
        let off = n.blob as usize;
        let (name_len, hdr) = get_varint(&self.arena[off..]);
        (off, hdr, name_len)
    }

    /// The node's own name (the last path component; "" for the root).
    pub fn name(&self, id: NodeId) -> &str {
        let (off, hdr, name_len) = self.entry(id);
        let b = &self.arena[off + hdr..off + hdr + name_len];
        // Names are only ever copied in from a &str.
        std::str::from_utf8(b).unwrap_or_default()
    }

    fn name_bytes(&self, id: NodeId) -> &[u8] {
        let (off, hdr, name_len) = self.entry(id);
        &self.arena[off + hdr..off + hdr + name_len]
    }

    /// The node's data; `None` if it was created or set with null data.
    pub fn data(&self, id: NodeId) -> Option<&[u8]> {
        let n = &self.nodes[id as usize];
        if n.data_len & NULL_DATA != 0 {
            return None;
        }
        let (off, hdr, name_len) = self.entry(id);
        let start = off + hdr + name_len;
        Some(&self.arena[start..start + n.data_len()])
    }

    fn blob_len(&self, id: NodeId) -> usize {
        let (_, hdr, name_len) = self.entry(id);
        hdr + name_len + self.nodes[id as usize].data_len()
    }

    fn encode_data_len(data: Option<&[u8]>) -> u32 {
        match data {
            None => NULL_DATA,
            // Jute buffers are at most i32::MAX long, so the flag bit is free.
            Some(d) => d.len() as u32 & !NULL_DATA,
        }
    }

    fn write_blob(&mut self, id: NodeId, name: &[u8], data: Option<&[u8]>) {
        let off = self.arena.len() as u64;
        put_varint(&mut self.arena, name.len());
        self.arena.extend_from_slice(name);
        self.arena.extend_from_slice(data.unwrap_or_default());
        let n = &mut self.nodes[id as usize];
        n.blob = off;
        n.data_len = Self::encode_data_len(data);
    }

    /// Replaces a node's data, in place when it fits.
    pub fn set_data(&mut self, id: NodeId, data: Option<&[u8]>) {
        let (off, hdr, name_len) = self.entry(id);
        let old_len = self.blob_len(id);
        let bytes = data.unwrap_or_default();
        let new_len = hdr + name_len + bytes.len();
        if new_len <= old_len {
            let start = off + hdr + name_len;
            self.arena[start..start + bytes.len()].copy_from_slice(bytes);
            self.garbage += old_len - new_len;
        } else {
            let new_off = self.arena.len();
            self.arena.extend_from_within(off..off + hdr + name_len);
            self.arena.extend_from_slice(bytes);
            self.nodes[id as usize].blob = new_off as u64;
            self.garbage += old_len;
        }
        self.nodes[id as usize].data_len = Self::encode_data_len(data);
        self.maybe_compact();
    }

    fn alloc_slot(&mut self, node: Node) -> NodeId {
        self.live += 1;
        if self.free_head != NIL {
            let id = self.free_head;
            self.free_head = self.nodes[id as usize].next_sibling;
            self.nodes[id as usize] = node;
            return id;
        }
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    fn hash(&self, parent: NodeId, name: &[u8]) -> usize {
        let mut h = self.hasher.build_hasher();
        h.write_u32(parent);
        h.write(name);
        h.finish() as usize
    }

    fn home(&self, id: NodeId) -> usize {
        self.hash(self.nodes[id as usize].parent, self.name_bytes(id)) & (self.slots.len() - 1)
    }

    /// The child of `parent` called `name`.
    pub fn child(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        let mask = self.slots.len() - 1;
        let mut i = self.hash(parent, name.as_bytes()) & mask;
        loop {
            let id = self.slots[i];
            if id == NIL {
                return None;
            }
            if self.nodes[id as usize].parent == parent && self.name_bytes(id) == name.as_bytes() {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    /// The node at `path`. "" and "/" are both the root, as in ZooKeeper;
    /// anything else must start with '/'.
    pub fn lookup(&self, path: &str) -> Option<NodeId> {
        if path.is_empty() || path == "/" {
            return Some(ROOT);
        }
        let rest = path.strip_prefix('/')?;
        let mut id = ROOT;
        for part in rest.split('/') {
            id = self.child(id, part)?;
        }
        Some(id)
    }

    fn index_insert(&mut self, id: NodeId) {
        // Keep the load at or under 3/4 (the root is not indexed).
        if self.live * 4 > self.slots.len() * 3 {
            let new_len = self.slots.len() * 2;
            let old = std::mem::replace(&mut self.slots, vec![NIL; new_len]);
            for other in old.into_iter().filter(|&s| s != NIL) {
                self.place(other);
            }
        }
        self.place(id);
    }

    fn place(&mut self, id: NodeId) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(id);
        while self.slots[i] != NIL {
            i = (i + 1) & mask;
        }
        self.slots[i] = id;
    }

    fn index_remove(&mut self, id: NodeId) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(id);
        while self.slots[i] != id {
            debug_assert!(self.slots[i] != NIL, "node {} missing from the index", id);
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: pull later entries of the probe run
        // into the hole when their home slot allows it, so lookups never
        // need tombstones.
        self.slots[i] = NIL;
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let other = self.slots[j];
            if other == NIL {
                return;
            }
            let home = self.home(other);
            // `other` may move to `hole` unless its home lies cyclically in
            // (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = other;
                self.slots[j] = NIL;
                hole = j;
            }
        }
    }

    /// Adds a child (the caller has checked `name` is free under
    /// `parent`).
    pub fn add_child(
        &mut self,
        parent: NodeId,
        name: &str,
        data: Option<&[u8]>,
        stat: &StatPersisted,
        acl: AclRef,
    ) -> NodeId {
        let mut node = Node::new(stat, acl);
        node.parent = parent;
        let first = self.nodes[parent as usize].first_child;
        node.next_sibling = first;
        let id = self.alloc_slot(node);
        if stat.ephemeral_owner != 0 {
            self.owners.insert(id, stat.ephemeral_owner);
        }
        if first != NIL {
            self.nodes[first as usize].prev_sibling = id;
        }
        let p = &mut self.nodes[parent as usize];
        p.first_child = id;
        p.num_children += 1;
        self.write_blob(id, name.as_bytes(), data);
        self.index_insert(id);
        id
    }

    /// Removes a node that has no children. Not the root.
    pub fn remove_leaf(&mut self, id: NodeId) {
        assert!(id != ROOT, "the root is never removed");
        debug_assert_eq!(self.nodes[id as usize].num_children(), 0);
        self.index_remove(id);
        if self.nodes[id as usize].num_children & HAS_OWNER != 0 {
            self.owners.remove(&id);
        }
        let n = &self.nodes[id as usize];
        let (parent, prev, next) = (n.parent, n.prev_sibling, n.next_sibling);
        if prev == NIL {
            self.nodes[parent as usize].first_child = next;
        } else {
            self.nodes[prev as usize].next_sibling = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev_sibling = prev;
        }
        self.nodes[parent as usize].num_children -= 1;
        self.garbage += self.blob_len(id);
        let n = &mut self.nodes[id as usize];
        n.blob = FREE;
        n.parent = NIL;
        n.next_sibling = self.free_head;
        self.free_head = id;
        self.live -= 1;
        self.maybe_compact();
    }

    /// Children of a node, newest first.
    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children {
            table: self,
            next: self.nodes[id as usize].first_child,
        }
    }

    /// The node's full path ("/" for the root).
    pub fn path_of(&self, mut id: NodeId) -> String {
        if id == ROOT {
            return "/".to_string();
        }
        let mut parts = Vec::new();
        while id != ROOT {
            parts.push(self.name(id));
            id = self.nodes[id as usize].parent;
        }
        let mut path = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
        for p in parts.iter().rev() {
            path.push('/');
            path.push_str(p);
        }
        path
    }

    fn maybe_compact(&mut self) {
        let live_bytes = self.arena.len() - self.garbage;
        if self.garbage >= MIN_COMPACT_GARBAGE && self.garbage * 4 > live_bytes {
            self.compact();
        }
    }

    /// Slides every live entry down over the garbage, in arena order.
    fn compact(&mut self) {
        let mut order: Vec<(u64, NodeId)> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.blob != FREE)
            .map(|(i, n)| (n.blob, i as NodeId))
            .collect();
        order.sort_unstable();
        let mut write = 0usize;
        for (off, id) in order {
            let len = self.blob_len(id);
            let off = off as usize;
            self.arena.copy_within(off..off + len, write);
            self.nodes[id as usize].blob = write as u64;
            write += len;
        }
        self.arena.truncate(write);
        self.garbage = 0;
        if self.arena.capacity() > write * 2 + 4096 {
            self.arena.shrink_to(write + write / 4);
        }
    }

    /// Bytes held by the slab, arena and index (for tests and `mntr`-like
    /// diagnostics).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.arena.capacity()
            + self.slots.capacity() * 4
    }
}

pub(crate) struct Children<'a> {
    table: &'a NodeTable,
    next: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next == NIL {
            return None;
        }
        let id = self.next;
        self.next = self.table.nodes[id as usize].next_sibling;
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> NodeTable {
        NodeTable::new(Some(b""), &StatPersisted::default(), AclRef::OPEN_UNSAFE)
    }

    fn stat(z: i64) -> StatPersisted {
        StatPersisted {
            czxid: z,
            ..Default::default()
        }
    }

    #[test]
    fn node_is_88_bytes() {
        assert_eq!(std::mem::size_of::<Node>(), 88);
    }

    #[test]
    fn add_lookup_remove() {
        let mut t = table();
        let a = t.add_child(ROOT, "a", Some(b"1"), &stat(1), AclRef::OPEN_UNSAFE);
        let owned = StatPersisted {
            ephemeral_owner: 42,
            ..stat(2)
        };
        let b = t.add_child(a, "b", None, &owned, AclRef::OPEN_UNSAFE);
        assert_eq!(t.ephemeral_owner(b), 42);
        assert_eq!(t.stat(b).ephemeral_owner, 42);
        assert_eq!(t.ephemeral_owner(a), 0);
        assert_eq!(t.lookup("/a/b"), Some(b));
        assert_eq!(t.lookup("/a"), Some(a));
        assert_eq!(t.lookup("/"), Some(ROOT));
        assert_eq!(t.lookup(""), Some(ROOT));
        assert_eq!(t.lookup("a"), None);
        assert_eq!(t.lookup("/a/c"), None);
        assert_eq!(t.data(b), None);
        assert_eq!(t.data(a), Some(&b"1"[..]));
        assert_eq!(t.path_of(b), "/a/b");
        assert_eq!(t.name(b), "b");
        assert_eq!(t.node(a).num_children(), 1);
        t.remove_leaf(b);
        assert_eq!(t.lookup("/a/b"), None);
        assert_eq!(t.node(a).num_children(), 0);
        assert_eq!(t.len(), 2);
        // The slot is reused.
        let c = t.add_child(a, "c", Some(b""), &stat(3), AclRef::OPEN_UNSAFE);
        assert_eq!(c, b);
        assert_eq!(t.data(c), Some(&b""[..]));
        assert_eq!(t.ephemeral_owner(c), 0);
        assert!(t.owners.is_empty());
    }

    #[test]
    fn many_nodes_survive_growth_removal_and_compaction() {
        let mut t = table();
        let p = t.add_child(ROOT, "p", None, &stat(0), AclRef::OPEN_UNSAFE);
        let n = 20_000;
        let data = vec![7u8; 100];
        for i in 0..n {
            t.add_child(
                p,
                &format!("n{}", i),
                Some(&data),
                &stat(i),
                AclRef::OPEN_UNSAFE,
            );
        }
        assert_eq!(t.node(p).num_children(), n as u32);
        // Remove every other node, grow some, shrink others.
        for i in (0..n).step_by(2) {
            let id = t.lookup(&format!("/p/n{}", i)).unwrap();
            t.remove_leaf(id);
        }
        for i in (1..n).step_by(4) {
            let id = t.lookup(&format!("/p/n{}", i)).unwrap();
            t.set_data(id, Some(&vec![i as u8; 300]));
        }
        for i in (3..n).step_by(4) {
            let id = t.lookup(&format!("/p/n{}", i)).unwrap();
            t.set_data(id, Some(b"x"));
        }
        for i in 0..n {
            let got = t.lookup(&format!("/p/n{}", i));
            if i % 2 == 0 {
                assert_eq!(got, None, "n{}", i);
                continue;
            }
            let id = got.unwrap();
            assert_eq!(t.name(id), format!("n{}", i));
            assert_eq!(t.node(id).czxid, i);
            let want: Vec<u8> = if i % 4 == 1 {
                vec![i as u8; 300]
            } else {
                b"x".to_vec()
            };
            assert_eq!(t.data(id).unwrap(), &want[..]);
        }
        assert_eq!(t.children(p).count(), n as usize / 2);
        // Compaction kept garbage bounded.
        assert!(t.garbage * 4 <= t.arena.len() || t.garbage < MIN_COMPACT_GARBAGE);
    }
}
