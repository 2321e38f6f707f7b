//! A server's tree as a client sees it, in a form two servers (or a server
//! and a restored data directory) can be compared by: every path with its
//! data, all eleven `Stat` fields and its ACL.
//!
//! The model holds the *client-visible* stat. A data directory stores less
//! (`StatPersisted`) and stores `cversion` differently; [`NodeStat::served`]
//! derives what a server shows from what it stores, the way Apache 3.8 does.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use zookeeper_client as zk;

/// The eleven fields of a `Stat` reply, in `zookeeper.jute` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeStat {
    /// zxid of the create.
    pub czxid: i64,
    /// zxid of the last setData (or of the create).
    pub mzxid: i64,
    /// Create time, ms since the epoch.
    pub ctime: i64,
    /// Last setData time, ms since the epoch.
    pub mtime: i64,
    /// `dataVersion`: setData calls.
    pub version: i32,
    /// `cversion`: changes to the children.
    pub cversion: i32,
    /// `aversion`: setACL calls.
    pub aversion: i32,
    /// Session id of an ephemeral's owner, 0 for other nodes.
    pub ephemeral_owner: i64,
    /// Data length in bytes.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// zxid of the last change to the children.
    pub pzxid: i64,
}

/// Top byte of `ephemeralOwner` marking a container (0x80) or TTL (0xFF)
/// node when extended types are on; such owners are not sessions.
const CONTAINER_OWNER: i64 = i64::MIN; // 0x8000_0000_0000_0000
const TTL_OWNER_MASK: i64 = 0xFF00_0000_0000_0000_u64 as i64;

impl NodeStat {
    /// The stat a server answers for a node stored with the given persisted
    /// fields. Two rules apply:
    /// - a snapshot counts in `cversion` only child creations, while clients
    ///   are shown creations plus deletions; every child no longer present
    ///   was deleted once, so shown = 2 * stored - present children;
    /// - container and TTL nodes keep their kind in `ephemeralOwner`, and a
    ///   client is shown 0 for them, as for any non-ephemeral node.
    #[allow(clippy::too_many_arguments)]
    pub fn served(
        czxid: i64,
        mzxid: i64,
        ctime: i64,
        mtime: i64,
        version: i32,
        stored_cversion: i32,
        aversion: i32,
        stored_ephemeral_owner: i64,
        pzxid: i64,
        data_length: usize,
        num_children: usize,
    ) -> NodeStat {
        NodeStat {
            czxid,
            mzxid,
            ctime,
            mtime,
            version,
            cversion: stored_cversion
                .wrapping_mul(2)
                .wrapping_sub(num_children as i32),
            aversion,
            ephemeral_owner: client_ephemeral_owner(stored_ephemeral_owner),
            data_length: data_length as i32,
            num_children: num_children as i32,
            pzxid,
        }
    }

    fn fields(&self) -> [(&'static str, i64, bool); 11] {
        [
            ("czxid", self.czxid, true),
            ("mzxid", self.mzxid, true),
            ("ctime", self.ctime, false),
            ("mtime", self.mtime, false),
            ("version", self.version.into(), false),
            ("cversion", self.cversion.into(), false),
            ("aversion", self.aversion.into(), false),
            ("ephemeralOwner", self.ephemeral_owner, true),
            ("dataLength", self.data_length.into(), false),
            ("numChildren", self.num_children.into(), false),
            ("pzxid", self.pzxid, true),
        ]
    }
}

/// What a client sees as a node's `ephemeralOwner`, given the stored one.
pub fn client_ephemeral_owner(stored: i64) -> i64 {
    if stored == CONTAINER_OWNER || stored & TTL_OWNER_MASK == TTL_OWNER_MASK {
        0
    } else {
        stored
    }
}

impl From<&zk::Stat> for NodeStat {
    fn from(s: &zk::Stat) -> NodeStat {
        NodeStat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            data_length: s.data_length,
            num_children: s.num_children,
            pzxid: s.pzxid,
        }
    }
}

/// One ACL entry: permission bits, scheme, id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclEntry {
    /// Permission bits (READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16).
    pub perms: i32,
    /// The scheme: `world`, `digest`, `ip`, `auth`, ...
    pub scheme: String,
    /// The id within the scheme, e.g. `anyone` or `user:base64(sha1)`.
    pub id: String,
}

impl AclEntry {
    /// The entry `perms` for `scheme:id`.
    pub fn new(perms: i32, scheme: &str, id: &str) -> AclEntry {
        AclEntry {
            perms,
            scheme: scheme.to_string(),
            id: id.to_string(),
        }
    }
}

impl fmt::Display for AclEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.scheme,
            self.id,
            perms_letters(self.perms)
        )
    }
}

/// `cdrwa`-style letters, as zkCli shows permissions.
pub fn perms_letters(perms: i32) -> String {
    let mut s = String::new();
    for (bit, c) in [(4, 'c'), (8, 'd'), (1, 'r'), (2, 'w'), (16, 'a')] {
        if perms & bit != 0 {
            s.push(c);
        }
    }
    if perms & !31 != 0 {
        s.push_str(&format!("+0x{:x}", perms & !31));
    }
    s
}

fn permission_bits(p: zk::Permission) -> i32 {
    [
        (zk::Permission::READ, 1),
        (zk::Permission::WRITE, 2),
        (zk::Permission::CREATE, 4),
        (zk::Permission::DELETE, 8),
        (zk::Permission::ADMIN, 16),
    ]
    .into_iter()
    .filter(|(perm, _)| p.has(*perm))
    .map(|(_, bit)| bit)
    .sum()
}

/// One node: its data, stat and ACL (in the server's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeModel {
    /// The znode's data.
    pub data: Vec<u8>,
    /// Its stat as a client sees it.
    pub stat: NodeStat,
    /// Its ACL, in the server's order.
    pub acl: Vec<AclEntry>,
}

/// A whole tree, by absolute path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeModel {
    /// Every node, by absolute path.
    pub nodes: BTreeMap<String, NodeModel>,
}

/// One way two trees differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeDiff {
    /// A path only the left tree has.
    OnlyLeft(String),
    /// A path only the right tree has.
    OnlyRight(String),
    /// Data differs.
    Data {
        /// The node's path.
        path: String,
        /// The left tree's data.
        left: Vec<u8>,
        /// The right tree's data.
        right: Vec<u8>,
    },
    /// One stat field differs.
    Stat {
        /// The node's path.
        path: String,
        /// The field's name.
        field: &'static str,
        /// The left tree's value.
        left: i64,
        /// The right tree's value.
        right: i64,
    },
    /// The ACLs differ.
    Acl {
        /// The node's path.
        path: String,
        /// The left tree's ACL.
        left: Vec<AclEntry>,
        /// The right tree's ACL.
        right: Vec<AclEntry>,
    },
}

impl fmt::Display for TreeDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeDiff::OnlyLeft(p) => write!(f, "{p}: only on the left"),
            TreeDiff::OnlyRight(p) => write!(f, "{p}: only on the right"),
            TreeDiff::Data { path, left, right } => write!(
                f,
                "{path}: data differs: left {} vs right {}",
                describe_bytes(left),
                describe_bytes(right)
            ),
            TreeDiff::Stat {
                path,
                field,
                left,
                right,
            } => {
                let hex = NodeStat::default()
                    .fields()
                    .iter()
                    .any(|(name, _, hex)| name == field && *hex);
                if hex {
                    write!(f, "{path}: {field} 0x{left:x} vs 0x{right:x}")
                } else {
                    write!(f, "{path}: {field} {left} vs {right}")
                }
            }
            TreeDiff::Acl { path, left, right } => write!(
                f,
                "{path}: acl [{}] vs [{}]",
                join_display(left),
                join_display(right)
            ),
        }
    }
}

fn join_display<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short description of a value: its length, and its head as text when it
/// is printable, else in hex.
pub fn describe_bytes(bytes: &[u8]) -> String {
    const HEAD: usize = 32;
    let head = &bytes[..bytes.len().min(HEAD)];
    let more = if bytes.len() > HEAD { "..." } else { "" };
    match std::str::from_utf8(head) {
        Ok(s) if !s.chars().any(char::is_control) => {
            format!("{} bytes {s:?}{more}", bytes.len())
        }
        _ => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("{} bytes 0x{hex}{more}", bytes.len())
        }
    }
}

impl TreeModel {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True for a tree of no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&NodeModel> {
        self.nodes.get(path)
    }

    /// Every difference between `self` (left) and `other` (right), in path
    /// order.
    pub fn diff(&self, other: &TreeModel) -> Vec<TreeDiff> {
        let mut out = Vec::new();
        for (path, left) in &self.nodes {
            let Some(right) = other.nodes.get(path) else {
                out.push(TreeDiff::OnlyLeft(path.clone()));
                continue;
            };
            if left.data != right.data {
                out.push(TreeDiff::Data {
                    path: path.clone(),
                    left: left.data.clone(),
                    right: right.data.clone(),
                });
            }
            for ((field, l, _), (_, r, _)) in
                left.stat.fields().into_iter().zip(right.stat.fields())
            {
                if l != r {
                    out.push(TreeDiff::Stat {
                        path: path.clone(),
                        field,
                        left: l,
                        right: r,
                    });
                }
            }
            if left.acl != right.acl {
                out.push(TreeDiff::Acl {
                    path: path.clone(),
                    left: left.acl.clone(),
                    right: right.acl.clone(),
                });
            }
        }
        for path in other.nodes.keys() {
            if !self.nodes.contains_key(path) {
                out.push(TreeDiff::OnlyRight(path.clone()));
            }
        }
        out.sort_by(|a, b| diff_path(a).cmp(diff_path(b)));
        out
    }

    /// `Ok` when both trees are equal; otherwise a report naming the two
    /// sides and the first `max` differences.
    pub fn compare(
        &self,
        left_name: &str,
        other: &TreeModel,
        right_name: &str,
        max: usize,
    ) -> Result<(), String> {
        let diffs = self.diff(other);
        if diffs.is_empty() {
            return Ok(());
        }
        let mut report = format!(
            "{} difference(s) between {left_name} (left, {} nodes) and {right_name} (right, {} nodes):\n",
            diffs.len(),
            self.len(),
            other.len()
        );
        for d in diffs.iter().take(max) {
            report.push_str(&format!("  {d}\n"));
        }
        if diffs.len() > max {
            report.push_str(&format!("  ... and {} more\n", diffs.len() - max));
        }
        Err(report)
    }

    /// Zeroes the times of `/zookeeper/config`: each node writes that node
    /// itself when it starts (not a txn), with its own clock, in 3.8 as in
    /// zk-bin, so between nodes only its data and versions compare.
    pub fn forget_config_node_times(&mut self) {
        if let Some(config) = self.nodes.get_mut("/zookeeper/config") {
            config.stat.ctime = 0;
            config.stat.mtime = 0;
        }
    }

    /// The same tree with every ACL emptied, to compare with a source that
    /// has none (`SnapshotFormatter`).
    pub fn without_acls(&self) -> TreeModel {
        let mut t = self.clone();
        t.nodes.values_mut().for_each(|n| n.acl.clear());
        t
    }

    /// The same tree with `ctime`/`mtime` cut to whole seconds, to compare
    /// with a source that prints dates.
    pub fn times_in_seconds(&self) -> TreeModel {
        let mut t = self.clone();
        for n in t.nodes.values_mut() {
            n.stat.ctime = n.stat.ctime.div_euclid(1000) * 1000;
            n.stat.mtime = n.stat.mtime.div_euclid(1000) * 1000;
        }
        t
    }

    /// The highest zxid any node carries (czxid, mzxid, pzxid).
    pub fn max_zxid(&self) -> i64 {
        self.nodes
            .values()
            .map(|n| n.stat.czxid.max(n.stat.mzxid).max(n.stat.pzxid))
            .max()
            .unwrap_or(0)
    }

    /// Ephemeral nodes by owning session.
    pub fn ephemerals(&self) -> BTreeMap<i64, Vec<String>> {
        let mut by_owner: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (path, node) in &self.nodes {
            if node.stat.ephemeral_owner != 0 {
                by_owner
                    .entry(node.stat.ephemeral_owner)
                    .or_default()
                    .push(path.clone());
            }
        }
        by_owner
    }
}

fn diff_path(d: &TreeDiff) -> &str {
    match d {
        TreeDiff::OnlyLeft(p) | TreeDiff::OnlyRight(p) => p,
        TreeDiff::Data { path, .. } | TreeDiff::Stat { path, .. } | TreeDiff::Acl { path, .. } => {
            path
        }
    }
}

/// The absolute path of `child` under `parent`.
pub fn child_path(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// Reads the whole tree a live server serves, `/zookeeper` included. The
/// tree must hold still meanwhile: each node is read with three requests
/// (data+stat, ACL, children) that are not atomic together.
pub async fn dump_live(client: &zk::Client) -> Result<TreeModel, String> {
    let mut tree = TreeModel::default();
    let mut pending = vec!["/".to_string()];
    while let Some(path) = pending.pop() {
        // Issue the three reads before awaiting any: the client pipelines them.
        let data = client.get_data(&path);
        let acl = client.get_acl(&path);
        let children = client.list_children(&path);
        let (data, stat) = data.await.map_err(|e| format!("getData {path}: {e}"))?;
        let (acl, _) = acl.await.map_err(|e| format!("getACL {path}: {e}"))?;
        let children = children
            .await
            .map_err(|e| format!("getChildren {path}: {e}"))?;
        for child in children {
            pending.push(child_path(&path, &child));
        }
        let acl = acl
            .iter()
            .map(|a| AclEntry::new(permission_bits(a.permission()), a.scheme(), a.id()))
            .collect();
        tree.nodes.insert(
            path,
            NodeModel {
                data,
                stat: NodeStat::from(&stat),
                acl,
            },
        );
    }
    Ok(tree)
}

/// Connects to `server` with the given `(scheme, credential)` auths, dumps
/// the tree, and closes the session (waiting until the server has let it
/// go, so the dump leaves no live session behind); all within `timeout`.
pub async fn dump_server(
    server: std::net::SocketAddr,
    auths: &[(&str, &[u8])],
    timeout: Duration,
) -> Result<TreeModel, String> {
    let work = async {
        let client =
            crate::workload::connect(&server.to_string(), auths, None, false, timeout).await?;
        let tree = dump_live(&client).await;
        crate::workload::close_and_wait(client, server, timeout).await?;
        tree
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("dumping the tree of {server} took longer than {timeout:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(data: &[u8], czxid: i64) -> NodeModel {
        NodeModel {
            data: data.to_vec(),
            stat: NodeStat {
                czxid,
                data_length: data.len() as i32,
                ..NodeStat::default()
            },
            acl: vec![AclEntry::new(31, "world", "anyone")],
        }
    }

    #[test]
    fn equal_trees_compare_ok() {
        let mut a = TreeModel::default();
        a.nodes.insert("/".into(), node(b"", 0));
        a.nodes.insert("/x".into(), node(b"v", 5));
        assert!(a.compare("a", &a.clone(), "b", 10).is_ok());
    }

    #[test]
    fn diff_names_each_kind_of_difference() {
        let mut a = TreeModel::default();
        let mut b = TreeModel::default();
        a.nodes.insert("/only-a".into(), node(b"", 1));
        b.nodes.insert("/only-b".into(), node(b"", 1));
        a.nodes.insert("/d".into(), node(b"one", 2));
        b.nodes.insert("/d".into(), node(b"two", 2));
        a.nodes.insert("/s".into(), node(b"", 0x10));
        b.nodes.insert("/s".into(), node(b"", 0x11));
        let mut acl_node = node(b"", 3);
        a.nodes.insert("/acl".into(), acl_node.clone());
        acl_node.acl = vec![AclEntry::new(1, "world", "anyone")];
        b.nodes.insert("/acl".into(), acl_node);
        let text: Vec<String> = a.diff(&b).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "/acl: acl [world:anyone:cdrwa] vs [world:anyone:r]",
                "/d: data differs: left 3 bytes \"one\" vs right 3 bytes \"two\"",
                "/only-a: only on the left",
                "/only-b: only on the right",
                "/s: czxid 0x10 vs 0x11",
            ]
        );
    }

    #[test]
    fn compare_limits_the_report() {
        let mut a = TreeModel::default();
        for i in 0..30 {
            a.nodes.insert(format!("/n{i:02}"), node(b"", i));
        }
        let err = TreeModel::default()
            .compare("empty", &a, "full", 5)
            .unwrap_err();
        assert!(err.starts_with("30 difference(s)"), "{err}");
        assert!(err.contains("... and 25 more"), "{err}");
        assert_eq!(err.lines().count(), 7, "{err}");
    }

    #[test]
    fn served_stat_follows_apache_rules() {
        // 3 children created, 1 deleted again: stored cversion 3, shown 4.
        let s = NodeStat::served(1, 2, 3, 4, 5, 3, 6, 0, 7, 10, 2);
        assert_eq!(s.cversion, 4);
        assert_eq!(s.num_children, 2);
        assert_eq!(s.data_length, 10);
        // TTL and container owners read as 0; a session owner stays.
        assert_eq!(client_ephemeral_owner(0xFF00_0000_0001_86A0_u64 as i64), 0);
        assert_eq!(client_ephemeral_owner(i64::MIN), 0);
        assert_eq!(
            client_ephemeral_owner(0x1000_0123_4567_0000),
            0x1000_0123_4567_0000
        );
    }

    #[test]
    fn describe_bytes_shows_text_or_hex() {
        assert_eq!(describe_bytes(b"abc"), "3 bytes \"abc\"");
        assert_eq!(describe_bytes(&[0, 1, 0xff]), "3 bytes 0x0001ff");
        let long = vec![b'a'; 40];
        assert!(describe_bytes(&long).ends_with("...\"") || describe_bytes(&long).ends_with("..."));
    }

    #[test]
    fn perms_letters_match_zkcli() {
        assert_eq!(perms_letters(31), "cdrwa");
        assert_eq!(perms_letters(1), "r");
        assert_eq!(perms_letters(5), "cr");
    }

    #[test]
    fn child_path_joins_under_root_and_below() {
        assert_eq!(child_path("/", "a"), "/a");
        assert_eq!(child_path("/a", "b"), "/a/b");
    }
}
