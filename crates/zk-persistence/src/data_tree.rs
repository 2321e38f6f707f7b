//! `DataTree`: the znode tree in memory, and how each txn changes it
//! (ZooKeeper's `DataTree.processTxn`).
//!
//! The tree knows nothing of connections or watches: applying a txn
//! returns a [`ProcessTxnResult`] whose `changes` list what was created,
//! deleted or modified, in order, and the server fires watches from that.
//! Requests are validated before they become txns (`PrepRequestProcessor`),
//! so applying trusts the txn: versions are set, not checked.
//!
//! Storage is in `node_table`; snapshot (de)serialization is in
//! `serialize`, and the walk a snapshot taken while
//! txns go on makes is [`FuzzyTreeWalk`]; the digest kept alongside every
//! change is [`crate::digest`].
//!
//! Stat rules worth knowing (all as 3.8 has them):
//! - A node's persisted `cversion` counts creates of children only. The
//!   `Stat` clients see reports `cversion * 2 - numChildren`, which counts
//!   creates and deletes.
//! - A create sets the parent's cversion to the txn's `parentCVersion`
//!   (-1: one more than now) and its pzxid to the zxid, but only if that
//!   raises the cversion. A delete raises the parent's pzxid only.
//! - Replaying a `create` whose node already exists (possible after a
//!   fuzzy snapshot) still brings the parent's cversion and pzxid forward.

mod digest_check;
mod fuzzy_walk;
mod process_txn;
pub mod quota;
mod serialize;
#[cfg(test)]
mod tests;

pub use self::fuzzy_walk::{FuzzyTreeWalk, SliceLimits, WalkStats};

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};

use log::{debug, error, warn};

use crate::acl_cache::{AclRef, ReferenceCountedAclCache};
use crate::digest::{self, ZxidDigest};
use crate::node_table::{NodeId, NodeTable, ROOT};
use crate::records::{Acl, Stat, StatPersisted};
use crate::zoo_defs::{ids, Code, EphemeralType, ExtendedTypes, CONFIG_NODE};

/// `/zookeeper`.
pub const PROC_ZOOKEEPER: &str = "/zookeeper";
/// `/zookeeper/quota`.
pub const QUOTA_ZOOKEEPER: &str = "/zookeeper/quota";
/// Only every this many zxids goes into the digest log.
pub const DIGEST_LOG_INTERVAL: i64 = 128;
/// The digest log keeps at most this many entries.
pub const DIGEST_LOG_LIMIT: usize = 1024;

static DIGEST_ENABLED: AtomicBool = AtomicBool::new(true);

/// Settings Java reads from system properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataTreeOptions {
    /// `zookeeper.digest.enabled` (default true).
    pub digest_enabled: bool,
    /// `zookeeper.extendedTypesEnabled` / `zookeeper.emulate353TTLNodes`.
    pub extended_types: ExtendedTypes,
}

impl DataTreeOptions {
    /// The process-wide settings (see [`Self::set_current`]).
    pub fn current() -> DataTreeOptions {
        DataTreeOptions {
            digest_enabled: DIGEST_ENABLED.load(Ordering::Relaxed),
            extended_types: ExtendedTypes::current(),
        }
    }

    /// Sets the process-wide settings that [`DataTree::new`] and
    /// [`DataTree::deserialize`] use; the server calls it once at startup.
    pub fn set_current(o: DataTreeOptions) {
        DIGEST_ENABLED.store(o.digest_enabled, Ordering::Relaxed);
        ExtendedTypes::set_current(o.extended_types);
    }
}

impl Default for DataTreeOptions {
    fn default() -> Self {
        DataTreeOptions {
            digest_enabled: true,
            extended_types: ExtendedTypes::default(),
        }
    }
}

/// One change a txn made, for watches: the `EventType` and the path it
/// fires on. A deleted node fires both its data and its child watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `NodeCreated` on the new node's path.
    NodeCreated(String),
    /// `NodeDeleted` on the deleted node's path.
    NodeDeleted(String),
    /// `NodeDataChanged` on the node whose data was set.
    NodeDataChanged(String),
    /// On the parent ("/" for the root's children).
    NodeChildrenChanged(String),
}

impl Change {
    /// Java's `Watcher.Event.EventType` value.
    pub fn event_type(&self) -> i32 {
        match self {
            Change::NodeCreated(_) => 1,
            Change::NodeDeleted(_) => 2,
            Change::NodeDataChanged(_) => 3,
            Change::NodeChildrenChanged(_) => 4,
        }
    }

    /// The path the event fires on.
    pub fn path(&self) -> &str {
        match self {
            Change::NodeCreated(p)
            | Change::NodeDeleted(p)
            | Change::NodeDataChanged(p)
            | Change::NodeChildrenChanged(p) => p,
        }
    }
}

/// What applying one txn did (`DataTree.ProcessTxnResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessTxnResult {
    /// The session of the txn (its header's `clientId`).
    pub client_id: i64,
    /// The client's xid of the request.
    pub cxid: i32,
    /// The txn's zxid.
    pub zxid: i64,
    /// The header's opcode.
    pub txn_type: i32,
    /// 0, or a [`Code`] value (an `ErrorTxn` carries any int).
    pub err: i32,
    /// The path acted on ("" when the txn has none).
    pub path: String,
    /// The node's stat after a create2/createTTL/createContainer, setData
    /// or setACL.
    pub stat: Option<Stat>,
    /// One result per op of a multi; empty otherwise.
    pub multi_result: Vec<ProcessTxnResult>,
    /// Everything the txn changed, in order (for a multi, all its ops';
    /// the per-op results carry none).
    pub changes: Vec<Change>,
}

/// A read-only view of one node.
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    tree: &'a DataTree,
    id: NodeId,
}

impl<'a> NodeRef<'a> {
    /// The data; `None` when it is null (not the same as empty on the wire).
    pub fn data(&self) -> Option<&'a [u8]> {
        self.tree.nodes.data(self.id)
    }

    /// The stat clients see (`DataNode.copyStat`).
    pub fn stat(&self) -> Stat {
        self.tree.client_stat(self.id)
    }

    /// The stat as persisted (cversion counting creates only, the raw
    /// `ephemeralOwner`).
    pub fn stat_persisted(&self) -> StatPersisted {
        self.tree.nodes.stat(self.id)
    }

    /// The node's ACL list, from the tree's ACL cache.
    pub fn acl(&self) -> &'a [Acl] {
        self.tree
            .acl_cache
            .convert_ref(self.tree.nodes.node(self.id).acl)
    }

    /// The ACL id a snapshot records for this node.
    pub fn acl_id(&self) -> i64 {
        self.tree.acl_cache.id_of(self.tree.nodes.node(self.id).acl)
    }

    /// How many children the node has.
    pub fn num_children(&self) -> usize {
        self.tree.nodes.node(self.id).num_children() as usize
    }

    /// Child names, oldest first.
    pub fn children(&self) -> Vec<String> {
        self.tree.child_names(self.id)
    }
}

/// See the module docs.
pub struct DataTree {
    nodes: NodeTable,
    acl_cache: ReferenceCountedAclCache,
    /// Session id -> its ephemeral nodes. Like Java, a session stays here
    /// (possibly with no nodes) until it is closed.
    ephemerals: HashMap<i64, HashSet<NodeId>>,
    containers: HashSet<NodeId>,
    ttls: HashSet<NodeId>,
    /// Sum of path length (UTF-16 units) plus data length over all nodes,
    /// counting the root's "/" alias, as Java's `nodeDataSize`.
    node_data_size: i64,
    tree_digest: i64,
    options: DataTreeOptions,
    /// The last zxid applied (`lastProcessedZxid`).
    pub last_processed_zxid: i64,
    last_processed_zxid_digest: Option<ZxidDigest>,
    digest_from_loaded_snapshot: Option<ZxidDigest>,
    digest_log: VecDeque<ZxidDigest>,
    first_mismatch_txn: bool,
    digest_mismatches: u64,
    /// `pTrie`: the paths with a quota ([`quota`]).
    p_trie: crate::path_trie::PathTrie,
}

/// Java's `String.length()`: UTF-16 code units.
fn java_len(s: &str) -> i64 {
    if s.is_ascii() {
        s.len() as i64
    } else {
        s.encode_utf16().count() as i64
    }
}

/// The path a sequential create gets: the requested path followed by the
/// parent's persisted cversion as `%010d` (as `PrepRequestProcessor`
/// names it).
pub fn sequential_path(path: &str, parent_cversion: i32) -> String {
    format!("{}{:010}", path, parent_cversion)
}

fn split_path(path: &str) -> Option<(&str, &str)> {
    let i = path.rfind('/')?;
    Some((&path[..i], &path[i + 1..]))
}

fn parent_event_path(parent: &str) -> String {
    if parent.is_empty() {
        "/".to_string()
    } else {
        parent.to_string()
    }
}

impl std::fmt::Debug for DataTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataTree")
            .field("node_count", &self.node_count())
            .field(
                "last_processed_zxid",
                &format_args!("0x{:x}", self.last_processed_zxid),
            )
            .field("digest", &self.tree_digest)
            .finish_non_exhaustive()
    }
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// An empty tree as 3.8 starts: the root, `/zookeeper`,
    /// `/zookeeper/quota` and `/zookeeper/config` (readable by anyone, aversion
    /// -1), all with zero stats. Uses the process-wide options.
    pub fn new() -> DataTree {
        Self::with_options(DataTreeOptions::current())
    }

    /// An empty tree as [`Self::new`] makes it, with the given options
    /// instead of the process-wide ones.
    pub fn with_options(options: DataTreeOptions) -> DataTree {
        let mut t = Self::bare(
            options,
            Some(&[]),
            &StatPersisted::default(),
            AclRef::OPEN_UNSAFE,
        );
        let zero = StatPersisted::default();
        t.insert_node(ROOT, PROC_ZOOKEEPER, Some(&[]), &zero, AclRef::OPEN_UNSAFE);
        let zk = t.nodes.lookup(PROC_ZOOKEEPER).expect("just added");
        t.insert_node(zk, QUOTA_ZOOKEEPER, Some(&[]), &zero, AclRef::OPEN_UNSAFE);
        t.add_config_node();
        t
    }

    /// A tree holding only a root, for deserialization.
    fn bare(
        options: DataTreeOptions,
        root_data: Option<&[u8]>,
        root_stat: &StatPersisted,
        root_acl: AclRef,
    ) -> DataTree {
        let mut t = DataTree {
            nodes: NodeTable::new(root_data, root_stat, root_acl),
            acl_cache: ReferenceCountedAclCache::new(),
            ephemerals: HashMap::new(),
            containers: HashSet::new(),
            ttls: HashSet::new(),
            // The root counts twice: as "" and as "/".
            node_data_size: 1 + root_data.map_or(0, |d| 2 * d.len() as i64),
            tree_digest: 0,
            options,
            last_processed_zxid: 0,
            last_processed_zxid_digest: None,
            digest_from_loaded_snapshot: None,
            digest_log: VecDeque::new(),
            first_mismatch_txn: true,
            digest_mismatches: 0,
            p_trie: Default::default(),
        };
        t.tree_digest = t.digest_of("", ROOT);
        t
    }

    /// Adds `/zookeeper/config` (empty, world-readable, aversion -1) if
    /// `/zookeeper` exists and it does not.
    pub fn add_config_node(&mut self) {
        let Some(zk) = self.nodes.lookup(PROC_ZOOKEEPER) else {
            error!(
                "There is no {} znode; cannot add {}",
                PROC_ZOOKEEPER, CONFIG_NODE
            );
            return;
        };
        if self.nodes.lookup(CONFIG_NODE).is_some() {
            return;
        }
        let zero = StatPersisted::default();
        self.insert_node(zk, CONFIG_NODE, Some(&[]), &zero, AclRef::OPEN_UNSAFE);
        let _ = self.set_acl(CONFIG_NODE, &ids::read_acl_unsafe(), -1);
    }

    /// The options the tree was made with.
    pub fn options(&self) -> DataTreeOptions {
        self.options
    }

    fn eph_type(&self, owner: i64) -> EphemeralType {
        EphemeralType::get_with(owner, self.options.extended_types)
    }

    fn digest_of(&self, path: &str, id: NodeId) -> i64 {
        if !self.options.digest_enabled {
            return 0;
        }
        let n = self.nodes.stat(id);
        digest::node_digest(
            path,
            self.nodes.data(id),
            n.czxid,
            n.mzxid,
            n.pzxid,
            n.ctime,
            n.mtime,
            n.version,
            n.cversion,
            n.aversion,
            n.ephemeral_owner,
        )
    }

    /// Adds a node under `parent` at `path` and does all the bookkeeping
    /// except the parent's stat: digest, size, ephemeral/container/TTL sets.
    fn insert_node(
        &mut self,
        parent: NodeId,
        path: &str,
        data: Option<&[u8]>,
        stat: &StatPersisted,
        acl: AclRef,
    ) -> NodeId {
        let name = split_path(path).map_or(path, |(_, n)| n);
        let id = self.nodes.add_child(parent, name, data, stat, acl);
        self.tree_digest = self.tree_digest.wrapping_add(self.digest_of(path, id));
        self.node_data_size += java_len(path) + data.map_or(0, |d| d.len() as i64);
        let owner = stat.ephemeral_owner;
        match self.eph_type(owner) {
            EphemeralType::Container => {
                self.containers.insert(id);
            }
            EphemeralType::Ttl => {
                self.ttls.insert(id);
            }
            _ if owner != 0 => {
                self.ephemerals.entry(owner).or_default().insert(id);
            }
            _ => {}
        }
        id
    }

    /// Applies `f` to a node's stat/ACL, keeping the digest current.
    fn change_node<F: FnOnce(&mut DataTree, NodeId)>(&mut self, path: &str, id: NodeId, f: F) {
        let before = self.digest_of(path, id);
        f(self, id);
        let after = self.digest_of(path, id);
        self.tree_digest = self.tree_digest.wrapping_sub(before).wrapping_add(after);
    }

    fn client_stat(&self, id: NodeId) -> Stat {
        let num_children = self.nodes.node(id).num_children() as i32;
        let n = self.nodes.stat(id);
        let raw_owner = n.ephemeral_owner;
        let owner = match self.eph_type(raw_owner) {
            EphemeralType::Normal => raw_owner,
            _ => 0,
        };
        Stat {
            czxid: n.czxid,
            mzxid: n.mzxid,
            ctime: n.ctime,
            mtime: n.mtime,
            version: n.version,
            cversion: n.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: n.aversion,
            ephemeral_owner: owner,
            data_length: self.nodes.data_len(id) as i32,
            num_children,
            pzxid: n.pzxid,
        }
    }

    fn child_names(&self, id: NodeId) -> Vec<String> {
        let mut v: Vec<String> = self
            .nodes
            .children(id)
            .map(|c| self.nodes.name(c).to_string())
            .collect();
        v.reverse();
        v
    }

    // ---- writes (each as DataTree.java names it) ----

    /// `createNode`. Returns the new node's stat.
    #[allow(clippy::too_many_arguments)]
    pub fn create_node(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: &[Acl],
        ephemeral_owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
        changes: &mut Vec<Change>,
    ) -> Result<Stat, Code> {
        let (parent_path, name) = split_path(path).ok_or(Code::NONODE)?;
        let parent = self.nodes.lookup(parent_path).ok_or(Code::NONODE)?;
        if self.nodes.child(parent, name).is_some() || path == "/" {
            return Err(Code::NODEEXISTS);
        }
        self.change_node(parent_path, parent, |t, p| {
            t.nodes.update_stat(p, |n| {
                let cv = if parent_cversion == -1 {
                    n.cversion.wrapping_add(1)
                } else {
                    parent_cversion
                };
                if cv > n.cversion {
                    n.cversion = cv;
                    n.pzxid = zxid;
                }
            });
        });
        let acl_ref = self.acl_cache.convert_acls(acl);
        let stat = StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
            pzxid: zxid,
        };
        let id = self.insert_node(parent, path, data, &stat, acl_ref);
        self.quota_after_create(parent_path, name, path, data.map_or(0, |d| d.len() as i64));
        changes.push(Change::NodeCreated(path.to_string()));
        changes.push(Change::NodeChildrenChanged(parent_event_path(parent_path)));
        Ok(self.client_stat(id))
    }

    /// `deleteNode`. As in Java the parent's pzxid moves forward even when
    /// the child turns out not to exist. A node that still has children
    /// (only possible while replaying over a fuzzy snapshot) takes its
    /// subtree with it.
    pub fn delete_node(
        &mut self,
        path: &str,
        zxid: i64,
        changes: &mut Vec<Change>,
    ) -> Result<(), Code> {
        let (parent_path, name) = split_path(path).ok_or(Code::NONODE)?;
        let parent = self.nodes.lookup(parent_path).ok_or(Code::NONODE)?;
        self.change_node(parent_path, parent, |t, p| {
            t.nodes.update_stat(p, |n| {
                if zxid > n.pzxid {
                    n.pzxid = zxid;
                }
            });
        });
        let id = self.nodes.child(parent, name).ok_or(Code::NONODE)?;
        if self.nodes.node(id).num_children() > 0 {
            warn!(
                "Deleting {} at zxid 0x{:x} while it still has {} children; removing them too",
                path,
                zxid,
                self.nodes.node(id).num_children()
            );
            // Deepest first, without recursion: trees can be very deep.
            let mut below = Vec::new();
            let mut stack = vec![(id, path.to_string())];
            while let Some((n, p)) = stack.pop() {
                for c in self.nodes.children(n) {
                    let cp = format!("{}/{}", p, self.nodes.name(c));
                    below.push(cp.clone());
                    stack.push((c, cp));
                }
            }
            below.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
            for p in below {
                let _ = self.delete_node(&p, zxid, changes);
            }
        }
        self.tree_digest = self.tree_digest.wrapping_sub(self.digest_of(path, id));
        let (acl, dlen) = (self.nodes.node(id).acl, self.nodes.data_len(id) as i64);
        let owner = self.nodes.ephemeral_owner(id);
        self.acl_cache.remove_usage(acl);
        self.node_data_size -= java_len(path) + dlen;
        match self.eph_type(owner) {
            EphemeralType::Container => {
                self.containers.remove(&id);
            }
            EphemeralType::Ttl => {
                self.ttls.remove(&id);
            }
            _ if owner != 0 => {
                if let Some(set) = self.ephemerals.get_mut(&owner) {
                    set.remove(&id);
                }
            }
            _ => {}
        }
        self.nodes.remove_leaf(id);
        self.quota_after_delete(parent_path, name, path, dlen);
        changes.push(Change::NodeDeleted(path.to_string()));
        changes.push(Change::NodeChildrenChanged(parent_event_path(parent_path)));
        Ok(())
    }

    /// `setData`: the txn's version becomes the node's.
    pub fn set_data(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        version: i32,
        zxid: i64,
        time: i64,
        changes: &mut Vec<Change>,
    ) -> Result<Stat, Code> {
        let id = self.nodes.lookup(path).ok_or(Code::NONODE)?;
        let old_len = self.nodes.data_len(id) as i64;
        self.change_node(path, id, |t, id| {
            let mut stat = t.nodes.stat(id);
            stat.mtime = time;
            stat.mzxid = zxid;
            stat.version = version;
            t.nodes.set_data_and_stat(id, data, &stat);
        });
        let new_len = data.map_or(0, |d| d.len() as i64);
        self.node_data_size += new_len - old_len;
        self.quota_after_set_data(path, new_len - old_len);
        changes.push(Change::NodeDataChanged(path.to_string()));
        Ok(self.client_stat(id))
    }

    /// `setACL`: the txn's version becomes the node's aversion.
    pub fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, Code> {
        let id = self.nodes.lookup(path).ok_or(Code::NONODE)?;
        // Release first, as Java does: re-setting a list only this node
        // uses gives it a fresh id.
        self.acl_cache.remove_usage(self.nodes.node(id).acl);
        self.change_node(path, id, |t, id| {
            let r = t.acl_cache.convert_acls(acl);
            t.nodes.node_mut(id).acl = r;
            t.nodes.update_stat(id, |n| n.aversion = version);
        });
        Ok(self.client_stat(id))
    }

    /// `setCversionPzxid`: raises a node's cversion (-1: by one) and sets
    /// its pzxid, if that raises the cversion. A trailing '/' is ignored.
    pub fn set_cversion_pzxid(
        &mut self,
        path: &str,
        new_cversion: i32,
        zxid: i64,
    ) -> Result<(), Code> {
        let path = path.strip_suffix('/').unwrap_or(path);
        let id = self.nodes.lookup(path).ok_or(Code::NONODE)?;
        let n = self.nodes.stat(id);
        let cv = if new_cversion == -1 {
            n.cversion.wrapping_add(1)
        } else {
            new_cversion
        };
        if cv > n.cversion {
            self.change_node(path, id, |t, id| {
                t.nodes.update_stat(id, |n| {
                    n.cversion = cv;
                    n.pzxid = zxid;
                });
            });
        }
        Ok(())
    }

    /// `killSession`: deletes the paths the close txn lists, then whatever
    /// else the session still owns.
    fn kill_session(
        &mut self,
        session: i64,
        zxid: i64,
        in_txn: Option<&[String]>,
        changes: &mut Vec<Change>,
    ) {
        let local: Option<Vec<String>> = self.ephemerals.remove(&session).map(|set| {
            let mut v: Vec<String> = set.iter().map(|&id| self.nodes.path_of(id)).collect();
            v.sort();
            v
        });
        if let Some(paths) = in_txn {
            self.delete_nodes(session, zxid, paths, changes);
        }
        let Some(mut local) = local else { return };
        if let Some(paths) = in_txn {
            let listed: HashSet<&str> = paths.iter().map(|s| s.as_str()).collect();
            local.retain(|p| !listed.contains(p.as_str()));
            if !local.is_empty() {
                warn!(
                    "Unexpected extra paths under session 0x{:x} which are not in txn 0x{:x}: {:?}",
                    session, zxid, local
                );
            }
        }
        self.delete_nodes(session, zxid, &local, changes);
    }

    fn delete_nodes(&mut self, session: i64, zxid: i64, paths: &[String], ch: &mut Vec<Change>) {
        for p in paths {
            match self.delete_node(p, zxid, ch) {
                Ok(()) => debug!("Deleting ephemeral node {} for session 0x{:x}", p, session),
                Err(_) => warn!(
                    "Ignoring NoNodeException for path {} while removing ephemeral for dead session 0x{:x}",
                    p, session
                ),
            }
        }
    }

    // ---- reads ----

    /// The node at `path` ("" and "/" are the root).
    pub fn get_node(&self, path: &str) -> Option<NodeRef<'_>> {
        self.nodes.lookup(path).map(|id| NodeRef { tree: self, id })
    }

    /// `getData`: data (`None` = null) and stat.
    pub fn get_data(&self, path: &str) -> Result<(Option<&[u8]>, Stat), Code> {
        let n = self.get_node(path).ok_or(Code::NONODE)?;
        Ok((n.data(), n.stat()))
    }

    /// `statNode`.
    pub fn stat_node(&self, path: &str) -> Result<Stat, Code> {
        Ok(self.get_node(path).ok_or(Code::NONODE)?.stat())
    }

    /// `getChildren`: names (oldest first) and the parent's stat.
    pub fn get_children(&self, path: &str) -> Result<(Vec<String>, Stat), Code> {
        let n = self.get_node(path).ok_or(Code::NONODE)?;
        Ok((n.children(), n.stat()))
    }

    /// `getACL`.
    pub fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), Code> {
        let n = self.get_node(path).ok_or(Code::NONODE)?;
        Ok((n.acl().to_vec(), n.stat()))
    }

    /// `getAllChildrenNumber`: every node below `path`, at any depth.
    pub fn get_all_children_number(&self, path: &str) -> usize {
        if path == "/" {
            // Java: the node map's size less its two root entries.
            return self.nodes.len() - 1;
        }
        let Some(start) = self.nodes.lookup(path) else {
            return 0;
        };
        let mut count = 0;
        let mut stack: Vec<NodeId> = self.nodes.children(start).collect();
        while let Some(id) = stack.pop() {
            count += 1;
            stack.extend(self.nodes.children(id));
        }
        count
    }

    /// Paths of a session's ephemerals, sorted.
    pub fn get_ephemerals(&self, session: i64) -> Vec<String> {
        let mut v: Vec<String> = self
            .ephemerals
            .get(&session)
            .map(|s| s.iter().map(|&id| self.nodes.path_of(id)).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Every session with ephemerals, and their paths (`getEphemerals()`).
    pub fn get_all_ephemerals(&self) -> HashMap<i64, Vec<String>> {
        self.ephemerals
            .keys()
            .map(|&s| (s, self.get_ephemerals(s)))
            .collect()
    }

    /// Sessions that own (or owned, until closed) ephemerals.
    pub fn sessions_with_ephemerals(&self) -> Vec<i64> {
        self.ephemerals.keys().copied().collect()
    }

    fn paths(&self, ids: &HashSet<NodeId>) -> Vec<String> {
        let mut v: Vec<String> = ids.iter().map(|&id| self.nodes.path_of(id)).collect();
        v.sort();
        v
    }

    /// Paths of container nodes, sorted.
    pub fn get_containers(&self) -> Vec<String> {
        self.paths(&self.containers)
    }

    /// Paths of TTL nodes, sorted.
    pub fn get_ttls(&self) -> Vec<String> {
        self.paths(&self.ttls)
    }

    /// `getNodeCount`: Java counts the root twice ("" and "/"), so a fresh
    /// tree has 5; `mntr`'s `zk_znode_count` shows this number.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// `getEphemeralsCount`.
    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(|s| s.len()).sum()
    }

    /// `approximateDataSize`: path lengths plus data lengths.
    pub fn approximate_data_size(&self) -> i64 {
        self.node_data_size
    }

    /// Distinct ACL lists in use.
    pub fn acl_cache_size(&self) -> usize {
        self.acl_cache.size()
    }

    /// The shared ACL lists (`ReferenceCountedACLCache`) nodes refer to
    /// by id.
    pub fn acl_cache(&self) -> &ReferenceCountedAclCache {
        &self.acl_cache
    }

    /// `/`, `/zookeeper`, `/zookeeper/quota` or `/zookeeper/config`.
    pub fn is_special_path(path: &str) -> bool {
        matches!(path, "/" | PROC_ZOOKEEPER | QUOTA_ZOOKEEPER | CONFIG_NODE)
    }

    /// Bytes the node storage holds (slab, arena, index).
    pub fn storage_bytes(&self) -> usize {
        self.nodes.heap_bytes()
    }

    /// The zxid of the last txn applied (`lastProcessedZxid`).
    pub fn last_processed_zxid(&self) -> i64 {
        self.last_processed_zxid
    }

    /// Sets [`Self::last_processed_zxid`] (restore sets it to the
    /// snapshot's zxid).
    pub fn set_last_processed_zxid(&mut self, zxid: i64) {
        self.last_processed_zxid = zxid;
    }
}
