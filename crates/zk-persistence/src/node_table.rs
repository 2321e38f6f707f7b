//! Where the tree's nodes live: the compact counterpart of ZooKeeper's
//! `NodeHashMapImpl` (path -> `DataNode`) and `DataNode` itself.
//!
//! Java keys a hash map by full path and gives every node its own
//! `HashSet` of child names and a `StatPersisted` object; at a million
//! nodes that costs several hundred bytes a node before the data. Here:
//!
//! - Nodes sit in one `Vec<Node>` (a slab; freed slots are reused) and
//!   refer to each other by `u32` index. A [`Node`] is 32 bytes: where its
//!   entry is in the arena, its ACL handle, its child count and the
//!   parent/first-child/sibling links, so children need no allocation of
//!   their own.
//! - Everything else about a node sits in one byte arena, as one entry:
//!   `varint(name length) | name | stat | varint(data header) | data`.
//!   The stat is nine zigzag varints, the zxids and times written as
//!   differences from `czxid` and `ctime`: most nodes are never touched
//!   after their creation, so `mzxid`, `pzxid` and `mtime` cost a byte each
//!   and a whole stat about 16 bytes instead of 60. No per-node allocation,
//!   no allocator headers.
//! - A change rewrites the node's entry in place when the new encoding fits
//!   in the old one, or appends it to the arena otherwise; space left
//!   behind is reclaimed by sliding compaction once it passes a quarter of
//!   the live bytes.
//! - Lookup is an open-addressing table of node indexes keyed by
//!   (parent index, name), so a full path is never stored: `/a/b/c` is three
//!   probes. The hash is std's keyed SipHash with per-table random keys, so
//!   client-chosen names cannot be crafted to collide. The name leads the
//!   entry so that a probe compares it without decoding anything else.
//!
//! Paths are rebuilt by walking parent links when they are needed (an
//! ephemeral's path when its session dies, the path of each node a snapshot
//! writes is built incrementally instead).

use std::collections::hash_map::RandomState;
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
/// Low bit of the data header: the data is null, not empty.
const NULL_DATA: u64 = 1;
/// Compaction never runs for less garbage than this.
const MIN_COMPACT_GARBAGE: usize = 1 << 20;

/// One znode's fixed part (see module docs); its name, stat and data are in
/// the arena.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Offset of the node's entry in the arena, or `FREE`.
    blob: u64,
    pub acl: AclRef,
    num_children: u32,
    parent: NodeId,
    first_child: NodeId,
    next_sibling: NodeId,
    prev_sibling: NodeId,
}

impl Node {
    fn new(acl: AclRef, parent: NodeId) -> Node {
        Node {
            blob: FREE,
            acl,
            num_children: 0,
            parent,
            first_child: NIL,
            next_sibling: NIL,
            prev_sibling: NIL,
        }
    }

    pub fn num_children(&self) -> u32 {
        self.num_children
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*pos`, moving `*pos` past it.
fn get_varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*pos];
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends the stat as nine varints (see module docs).
fn put_stat(out: &mut Vec<u8>, s: &StatPersisted) {
    put_varint(out, zigzag(s.czxid));
    put_varint(out, zigzag(s.mzxid.wrapping_sub(s.czxid)));
    put_varint(out, zigzag(s.pzxid.wrapping_sub(s.czxid)));
    put_varint(out, zigzag(s.ctime));
    put_varint(out, zigzag(s.mtime.wrapping_sub(s.ctime)));
    put_varint(out, zigzag(s.version as i64));
    put_varint(out, zigzag(s.cversion as i64));
    put_varint(out, zigzag(s.aversion as i64));
    put_varint(out, zigzag(s.ephemeral_owner));
}

fn get_stat(b: &[u8], pos: &mut usize) -> StatPersisted {
    let mut next = || unzigzag(get_varint(b, pos));
    let czxid = next();
    let mzxid = czxid.wrapping_add(next());
    let pzxid = czxid.wrapping_add(next());
    let ctime = next();
    let mtime = ctime.wrapping_add(next());
    let version = next() as i32;
    let cversion = next() as i32;
    let aversion = next() as i32;
    let ephemeral_owner = next();
    StatPersisted {
        czxid,
        mzxid,
        ctime,
        mtime,
        version,
        cversion,
        aversion,
        ephemeral_owner,
        pzxid,
    }
}

/// The varint before a node's data: its length, and whether it is null.
fn data_header(data: Option<&[u8]>) -> u64 {
    match data {
        None => NULL_DATA,
        Some(d) => (d.len() as u64) << 1,
    }
}

/// Where the parts of one arena entry are.
struct Layout {
    off: usize,
    /// Start of the stat (just past the name).
    stat: usize,
    /// Start of the data (just past its header).
    data: usize,
    data_len: usize,
    null: bool,
}

impl Layout {
    fn len(&self) -> usize {
        self.data + self.data_len - self.off
    }
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
    /// Reused to build entries, so that rewriting one allocates nothing.
    scratch: Vec<u8>,
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
            scratch: Vec::new(),
        };
        let id = t.alloc_slot(Node::new(acl, NIL));
        debug_assert_eq!(id, ROOT);
        t.write_entry(id, b"", root_stat, root_data);
        t
    }

    /// Live nodes, the root included.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The ACL may be changed through this; links may not (they are
    /// private to this module).
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    fn layout(&self, id: NodeId) -> Layout {
        let off = self.nodes[id as usize].blob as usize;
        let b = &self.arena;
        let mut pos = off;
        let name_len = get_varint(b, &mut pos) as usize;
        pos += name_len;
        let stat = pos;
        for _ in 0..9 {
            get_varint(b, &mut pos);
        }
        let header = get_varint(b, &mut pos);
        Layout {
            off,
            stat,
            data: pos,
            data_len: (header >> 1) as usize,
            null: header & NULL_DATA != 0,
        }
    }

    /// The node's stat as persisted.
    pub fn stat(&self, id: NodeId) -> StatPersisted {
        let l = self.layout(id);
        let mut pos = l.stat;
        get_stat(&self.arena, &mut pos)
    }

    /// The node's `ephemeralOwner` (fixed at creation).
    pub fn ephemeral_owner(&self, id: NodeId) -> i64 {
        self.stat(id).ephemeral_owner
    }

    /// The node's own name (the last path component; "" for the root).
    pub fn name(&self, id: NodeId) -> &str {
        // Names are only ever copied in from a &str.
        std::str::from_utf8(self.name_bytes(id)).unwrap_or_default()
    }

    fn name_bytes(&self, id: NodeId) -> &[u8] {
        let mut pos = self.nodes[id as usize].blob as usize;
        let len = get_varint(&self.arena, &mut pos) as usize;
        &self.arena[pos..pos + len]
    }

    /// The node's data; `None` if it was created or set with null data.
    pub fn data(&self, id: NodeId) -> Option<&[u8]> {
        let l = self.layout(id);
        if l.null {
            return None;
        }
        Some(&self.arena[l.data..l.data + l.data_len])
    }

    /// Length of the data (0 for null).
    pub fn data_len(&self, id: NodeId) -> usize {
        self.layout(id).data_len
    }

    /// Appends a fresh entry for `id` (used for new nodes).
    fn write_entry(&mut self, id: NodeId, name: &[u8], stat: &StatPersisted, data: Option<&[u8]>) {
        let off = self.arena.len() as u64;
        let bytes = data.unwrap_or_default();
        put_varint(&mut self.arena, name.len() as u64);
        self.arena.extend_from_slice(name);
        put_stat(&mut self.arena, stat);
        put_varint(&mut self.arena, data_header(data));
        self.arena.extend_from_slice(bytes);
        self.nodes[id as usize].blob = off;
    }

    /// Rewrites a node's entry with a new stat and, if `data` is given, new
    /// data: in place when it fits, at the end of the arena otherwise.
    fn rewrite(&mut self, id: NodeId, stat: &StatPersisted, data: Option<Option<&[u8]>>) {
        let l = self.layout(id);
        let mut e = std::mem::take(&mut self.scratch);
        e.clear();
        e.extend_from_slice(&self.arena[l.off..l.stat]);
        put_stat(&mut e, stat);
        match data {
            Some(d) => {
                put_varint(&mut e, data_header(d));
                e.extend_from_slice(d.unwrap_or_default());
            }
            None => {
                let old = if l.null {
                    None
                } else {
                    Some(&self.arena[l.data..l.data + l.data_len])
                };
                put_varint(&mut e, data_header(old));
                e.extend_from_slice(old.unwrap_or_default());
            }
        }
        let old_len = l.len();
        if e.len() <= old_len {
            self.arena[l.off..l.off + e.len()].copy_from_slice(&e);
            self.garbage += old_len - e.len();
        } else {
            self.nodes[id as usize].blob = self.arena.len() as u64;
            self.arena.extend_from_slice(&e);
            self.garbage += old_len;
        }
        self.scratch = e;
        // A one-off big entry should not pin its size in the scratch.
        if self.scratch.capacity() > 64 * 1024 {
            self.scratch = Vec::new();
        }
        self.maybe_compact();
    }

    /// Replaces a node's data, leaving its stat alone (a quota's stats
    /// node, which 3.8 rewrites in place).
    pub fn set_data(&mut self, id: NodeId, data: Option<&[u8]>) {
        let stat = self.stat(id);
        self.rewrite(id, &stat, Some(data));
    }

    /// Replaces a node's data and stat in one rewrite.
    pub fn set_data_and_stat(&mut self, id: NodeId, data: Option<&[u8]>, stat: &StatPersisted) {
        self.rewrite(id, stat, Some(data));
    }

    /// Changes a node's stat through `f`.
    pub fn update_stat(&mut self, id: NodeId, f: impl FnOnce(&mut StatPersisted)) {
        let old = self.stat(id);
        let mut stat = old.clone();
        f(&mut stat);
        if stat != old {
            self.rewrite(id, &stat, None);
        }
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
        let mut node = Node::new(acl, parent);
        let first = self.nodes[parent as usize].first_child;
        node.next_sibling = first;
        let id = self.alloc_slot(node);
        if first != NIL {
            self.nodes[first as usize].prev_sibling = id;
        }
        let p = &mut self.nodes[parent as usize];
        p.first_child = id;
        p.num_children += 1;
        self.write_entry(id, name.as_bytes(), stat, data);
        self.index_insert(id);
        id
    }

    /// Removes a node that has no children. Not the root.
    pub fn remove_leaf(&mut self, id: NodeId) {
        assert!(id != ROOT, "the root is never removed");
        debug_assert_eq!(self.nodes[id as usize].num_children(), 0);
        self.index_remove(id);
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
        self.garbage += self.layout(id).len();
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
            let len = self.layout(id).len();
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
            + self.scratch.capacity()
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
    fn node_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Node>(), 32);
    }

    fn odd_stat(seed: i64) -> StatPersisted {
        StatPersisted {
            czxid: seed,
            mzxid: seed.wrapping_mul(7),
            ctime: seed.wrapping_add(1_700_000_000_000),
            mtime: i64::MIN.wrapping_add(seed),
            version: seed as i32,
            cversion: (seed as i32).wrapping_neg(),
            aversion: i32::MAX.wrapping_sub(seed as i32),
            ephemeral_owner: i64::MAX.wrapping_sub(seed),
            pzxid: seed.wrapping_neg(),
        }
    }

    #[test]
    fn every_stat_value_round_trips() {
        let mut t = table();
        for (i, seed) in [0i64, 1, -1, 63, 64, i64::MAX, i64::MIN, 0x1_0000_0001]
            .into_iter()
            .enumerate()
        {
            let s = odd_stat(seed);
            let id = t.add_child(ROOT, &format!("s{i}"), Some(b"d"), &s, AclRef::OPEN_UNSAFE);
            assert_eq!(t.stat(id), s, "seed {seed}");
            assert_eq!(t.ephemeral_owner(id), s.ephemeral_owner);
            assert_eq!(t.data(id), Some(&b"d"[..]));
        }
    }

    #[test]
    fn stat_updates_in_place_or_moved_keep_name_and_data() {
        let mut t = table();
        let a = t.add_child(ROOT, "a", Some(b"payload"), &stat(5), AclRef::OPEN_UNSAFE);
        let b = t.add_child(ROOT, "b", None, &stat(6), AclRef::OPEN_UNSAFE);
        let before = t.node(a).blob;
        // Same encoded size: stays where it is.
        t.update_stat(a, |s| s.version = 1);
        assert_eq!(t.node(a).blob, before);
        // Much bigger numbers: the entry moves.
        t.update_stat(a, |s| {
            s.mzxid = i64::MAX;
            s.cversion = i32::MIN;
        });
        assert_ne!(t.node(a).blob, before);
        let s = t.stat(a);
        assert_eq!(
            (s.czxid, s.mzxid, s.version, s.cversion),
            (5, i64::MAX, 1, i32::MIN)
        );
        assert_eq!(t.name(a), "a");
        assert_eq!(t.data(a), Some(&b"payload"[..]));
        assert_eq!(t.lookup("/a"), Some(a));
        // Null data stays null across a stat change.
        t.update_stat(b, |s| s.aversion = 3);
        assert_eq!(t.data(b), None);
        assert_eq!(t.stat(b).aversion, 3);
        t.set_data(b, Some(b""));
        assert_eq!(t.data(b), Some(&b""[..]));
        assert_eq!(t.stat(b).aversion, 3);
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
            t.update_stat(id, |s| s.mzxid = i64::MAX - i);
        }
        for i in 0..n {
            let got = t.lookup(&format!("/p/n{}", i));
            if i % 2 == 0 {
                assert_eq!(got, None, "n{}", i);
                continue;
            }
            let id = got.unwrap();
            assert_eq!(t.name(id), format!("n{}", i));
            assert_eq!(t.stat(id).czxid, i);
            if i % 4 == 3 {
                assert_eq!(t.stat(id).mzxid, i64::MAX - i);
            }
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
