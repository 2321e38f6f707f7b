//! Quotas as 3.8's `DataTree` keeps them. A quota on `/p` is the znode
//! `/zookeeper/quota/p/zookeeper_limits` (its `StatsTrack` text: soft and
//! hard limits) beside `/zookeeper/quota/p/zookeeper_stats` (the counts:
//! znodes and data bytes in `/p`'s subtree). The tree records which paths
//! have a quota (`pTrie`), counts the subtree when the stats node is
//! created or a snapshot is loaded, and moves the counts on every create,
//! delete and setData under a quota path.
//!
//! As in 3.8 the stats node's data changes in place: no zxid, no stat
//! change, no watch, and neither the digest (which leaves `/zookeeper/`
//! out anyway) nor the approximate data size follows it, so that both
//! servers report the same numbers.

use log::{error, warn};

use super::{DataTree, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER};
use crate::stats_track::StatsTrack;

/// `Quotas.limitNode`.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// `Quotas.statNode`.
pub const STAT_NODE: &str = "zookeeper_stats";

/// `Quotas.statPath`.
pub fn stat_path(path: &str) -> String {
    format!("{QUOTA_ZOOKEEPER}{path}/{STAT_NODE}")
}

/// `Quotas.limitPath`.
pub fn limit_path(path: &str) -> String {
    format!("{QUOTA_ZOOKEEPER}{path}/{LIMIT_NODE}")
}

/// `Quotas.trimQuotaPath`: the quota'd path a `/zookeeper/quota/...` node
/// stands for.
fn trim_quota_path(quota_path: &str) -> &str {
    quota_path.get(QUOTA_ZOOKEEPER.len()..).unwrap_or("")
}

impl DataTree {
    /// `getMaxPrefixWithQuota`: the deepest path at or above `path` with a
    /// quota, if any (the root never has one).
    pub fn max_prefix_with_quota(&self, path: &str) -> Option<String> {
        // Every write asks; most trees have no quota at all.
        if self.p_trie.is_empty() {
            return None;
        }
        let p = self.p_trie.find_max_prefix(path);
        (p != "/" && !p.is_empty()).then_some(p)
    }

    /// The limits and the counts of the quota on `prefix` (a path
    /// [`Self::max_prefix_with_quota`] gave), None for a node that is
    /// missing (logged: the quota's znodes were removed by hand).
    pub fn quota_of(&self, prefix: &str) -> Option<(StatsTrack, StatsTrack)> {
        let get = |path: &str| {
            let id = self.nodes.lookup(path);
            if id.is_none() {
                error!("Missing quota node {path}");
            }
            id.map(|id| StatsTrack::parse(self.nodes.data(id)))
        };
        Some((get(&limit_path(prefix))?, get(&stat_path(prefix))?))
    }

    /// A node was created at `path` under `parent_path` with `bytes` of
    /// data: a limits node starts a quota, a stats node gets its subtree's
    /// counts, and the quota `path` lies under counts it.
    pub(super) fn quota_after_create(
        &mut self,
        parent_path: &str,
        name: &str,
        path: &str,
        bytes: i64,
    ) {
        if parent_path.starts_with(QUOTA_ZOOKEEPER) {
            if name == LIMIT_NODE {
                self.p_trie.add_path(trim_quota_path(parent_path));
            }
            if name == STAT_NODE {
                let quota_path = trim_quota_path(parent_path).to_string();
                self.update_quota_for_path(&quota_path);
            }
        }
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, bytes, 1);
        }
    }

    /// The node at `path` (with `bytes` of data) was deleted.
    pub(super) fn quota_after_delete(
        &mut self,
        parent_path: &str,
        name: &str,
        path: &str,
        bytes: i64,
    ) {
        if parent_path.starts_with(PROC_ZOOKEEPER) && name == LIMIT_NODE {
            self.p_trie.delete_path(trim_quota_path(parent_path));
        }
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, -bytes, -1);
        }
    }

    /// The data at `path` changed size by `bytes_diff`.
    pub(super) fn quota_after_set_data(&mut self, path: &str, bytes_diff: i64) {
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, bytes_diff, 0);
        }
    }

    /// `updateQuotaStat`: moves the counts of the quota on `prefix`.
    fn update_quota_stat(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let path = stat_path(prefix);
        let Some(id) = self.nodes.lookup(&path) else {
            error!("Missing node for stat {path}");
            return;
        };
        let mut stats = StatsTrack::parse(self.nodes.data(id));
        stats.set_count(stats.count() + count_diff);
        stats.set_bytes(stats.bytes() + bytes_diff);
        self.nodes.set_data(id, Some(&stats.to_bytes()));
    }

    /// `updateQuotaForPath`: counts `path`'s subtree (itself included)
    /// into its stats node.
    fn update_quota_for_path(&mut self, path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        if let Some(top) = self.nodes.lookup(path) {
            let mut stack = vec![top];
            while let Some(id) = stack.pop() {
                count += 1;
                bytes += self.nodes.data_len(id) as i64;
                stack.extend(self.nodes.children(id));
            }
        }
        let stat = stat_path(path);
        let Some(id) = self.nodes.lookup(&stat) else {
            warn!("Missing quota stat node {stat}");
            return;
        };
        let mut stats = StatsTrack::default();
        stats.set_bytes(bytes);
        stats.set_count(count);
        self.nodes.set_data(id, Some(&stats.to_bytes()));
    }

    /// `setupQuota`, after a snapshot is read: every limits node under
    /// `/zookeeper/quota` starts its quota and has its subtree counted.
    pub(super) fn setup_quota(&mut self) {
        self.p_trie.clear();
        let Some(top) = self.nodes.lookup(QUOTA_ZOOKEEPER) else {
            return;
        };
        let end = format!("/{LIMIT_NODE}");
        let mut stack = vec![(top, QUOTA_ZOOKEEPER.to_string())];
        let mut quotas = Vec::new();
        while let Some((id, path)) = stack.pop() {
            let mut leaf = true;
            for c in self.nodes.children(id) {
                leaf = false;
                stack.push((c, format!("{path}/{}", self.nodes.name(c))));
            }
            if leaf && path.ends_with(&end) {
                if let Some(at) = path.find(&end) {
                    quotas.push(path[QUOTA_ZOOKEEPER.len()..at].to_string());
                }
            }
        }
        for q in quotas {
            self.update_quota_for_path(&q);
            self.p_trie.add_path(&q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{InputArchive, OutputArchive};
    use crate::records::{CreateTxn, DeleteTxn, SetDataTxn, TxnHeader};
    use crate::txn::Txn;
    use crate::zoo_defs::ids;

    fn apply(t: &mut DataTree, zxid: i64, txn: Txn) {
        let hdr = TxnHeader {
            client_id: 1,
            cxid: zxid as i32,
            zxid,
            time: 1000 + zxid,
            txn_type: txn.op_code(),
        };
        let r = t.process_txn(&hdr, &txn);
        assert_eq!(r.err, 0, "txn 0x{zxid:x} {txn:?}");
    }

    fn create(t: &mut DataTree, zxid: i64, path: &str, data: &[u8]) {
        let txn = Txn::Create(CreateTxn {
            path: path.into(),
            data: Some(data.to_vec()),
            acl: ids::open_acl_unsafe(),
            ephemeral: false,
            parent_c_version: -1,
        });
        apply(t, zxid, txn);
    }

    fn stats(t: &DataTree, path: &str) -> String {
        let (data, _) = t.get_data(&stat_path(path)).expect("stats node");
        String::from_utf8(data.unwrap_or_default().to_vec()).unwrap()
    }

    /// The znodes zkCli's `setquota -n 3 /a` creates, after `/a` and a
    /// child exist.
    fn quota_tree() -> DataTree {
        let mut t = DataTree::new();
        create(&mut t, 1, "/a", b"12345");
        create(&mut t, 2, "/a/b", b"xy");
        create(&mut t, 3, "/zookeeper/quota/a", b"");
        create(
            &mut t,
            4,
            &limit_path("/a"),
            b"count=-1,bytes=-1=;countHardLimit=3",
        );
        create(&mut t, 5, &stat_path("/a"), b"count=0,bytes=0");
        t
    }

    #[test]
    fn the_stats_node_counts_the_subtree_and_follows_every_change() {
        let mut t = quota_tree();
        assert_eq!(t.max_prefix_with_quota("/a/b").as_deref(), Some("/a"));
        assert_eq!(t.max_prefix_with_quota("/ab"), None);
        assert_eq!(stats(&t, "/a"), "count=2,bytes=7");
        create(&mut t, 6, "/a/c", b"abc");
        assert_eq!(stats(&t, "/a"), "count=3,bytes=10");
        let set = Txn::SetData(SetDataTxn {
            path: "/a/c".into(),
            data: Some(b"a".to_vec()),
            version: 1,
        });
        apply(&mut t, 7, set);
        assert_eq!(stats(&t, "/a"), "count=3,bytes=8");
        apply(
            &mut t,
            8,
            Txn::Delete(DeleteTxn {
                path: "/a/b".into(),
            }),
        );
        assert_eq!(stats(&t, "/a"), "count=2,bytes=6");
        // Outside the quota nothing moves.
        create(&mut t, 9, "/x", b"zzz");
        assert_eq!(stats(&t, "/a"), "count=2,bytes=6");
        let (limits, counts) = t.quota_of("/a").unwrap();
        assert_eq!((limits.count_hard_limit(), counts.count()), (3, 2));
        // delquota: the limits node goes, and with it the quota.
        apply(
            &mut t,
            10,
            Txn::Delete(DeleteTxn {
                path: limit_path("/a"),
            }),
        );
        assert_eq!(t.max_prefix_with_quota("/a/c"), None);
    }

    #[test]
    fn a_loaded_snapshot_recounts_its_quotas() {
        let t = quota_tree();
        let mut buf = Vec::new();
        t.serialize(&mut OutputArchive::new(&mut buf)).unwrap();
        let mut loaded = DataTree::deserialize(&mut InputArchive::new(&buf[..])).unwrap();
        assert_eq!(loaded.max_prefix_with_quota("/a/b").as_deref(), Some("/a"));
        assert_eq!(stats(&loaded, "/a"), "count=2,bytes=7");
        create(&mut loaded, 6, "/a/d", b"");
        assert_eq!(stats(&loaded, "/a"), "count=3,bytes=7");
    }
}
