//! The expected state of one client's subtree: what every read through any
//! node must answer once the client's own writes are in (after `sync` on
//! another node).
//!
//! Each script works in a subtree of its own, so its model is sequential
//! even while the scripts of the other nodes and a load writer run beside
//! it. The model is updated only from acknowledged writes, with 3.8's
//! rules: a child's creation or deletion bumps its parent's `cversion`, a
//! sequential name takes the parent's `cversion` before the create, a
//! `setData` bumps `version`, a `setACL` bumps `aversion`.

use std::collections::{BTreeMap, BTreeSet};

use zookeeper_client as zk;

use super::{bounded, Check};

/// One znode as the model expects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelNode {
    /// The znode's data.
    pub data: Vec<u8>,
    /// `dataVersion`: the number of setData calls on it.
    pub version: i32,
    /// `cversion`: creations and deletions of children.
    pub cversion: i32,
    /// `aversion`: the number of setACL calls on it.
    pub aversion: i32,
    /// The session of an ephemeral, 0 otherwise (containers and TTL nodes
    /// show 0 too).
    pub ephemeral_owner: i64,
    /// Set from the create's answer; the zxid is the server's to choose.
    pub czxid: i64,
    /// Names (not paths) of the children.
    pub children: BTreeSet<String>,
}

/// The subtree below one script's base path.
#[derive(Debug, Default, Clone)]
pub struct Model {
    nodes: BTreeMap<String, ModelNode>,
}

fn parent_and_name(path: &str) -> (&str, &str) {
    let i = path.rfind('/').expect("an absolute path");
    (if i == 0 { "/" } else { &path[..i] }, &path[i + 1..])
}

impl Model {
    /// The base of the subtree, created (with `data`) at `czxid`.
    pub fn root(path: &str, data: &[u8], czxid: i64) -> Model {
        let mut m = Model::default();
        m.nodes.insert(path.to_string(), node(data, 0, czxid));
        m
    }

    /// Whether the model has a znode at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
    }

    /// The expected znode at `path`.
    pub fn get(&self, path: &str) -> Option<&ModelNode> {
        self.nodes.get(path)
    }

    /// Every path of the subtree, in sorted order.
    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.nodes.keys()
    }

    /// The name a sequential create of `prefix` (a path ending in the name
    /// prefix) gets: the parent's `cversion`, ten digits.
    pub fn sequential_path(&self, prefix: &str) -> String {
        let (parent, _) = parent_and_name(prefix);
        let cversion = self.nodes[parent].cversion;
        format!("{prefix}{cversion:010}")
    }

    /// An acknowledged create of `path`.
    pub fn create(&mut self, path: &str, data: &[u8], ephemeral_owner: i64, czxid: i64) {
        let (parent, name) = parent_and_name(path);
        let p = self
            .nodes
            .get_mut(parent)
            .unwrap_or_else(|| panic!("model: create {path} without its parent"));
        p.cversion += 1;
        p.children.insert(name.to_string());
        let prev = self
            .nodes
            .insert(path.to_string(), node(data, ephemeral_owner, czxid));
        assert!(prev.is_none(), "model: {path} created twice");
    }

    /// An acknowledged setData of `path`: new data, `version` one higher.
    pub fn set_data(&mut self, path: &str, data: &[u8]) {
        let n = self
            .nodes
            .get_mut(path)
            .expect("model: set of a known node");
        n.data = data.to_vec();
        n.version += 1;
    }

    /// An acknowledged setACL of `path`: `aversion` one higher.
    pub fn set_acl(&mut self, path: &str) {
        self.nodes
            .get_mut(path)
            .expect("model: known node")
            .aversion += 1;
    }

    /// An acknowledged delete, or a session's ephemeral gone with it.
    pub fn delete(&mut self, path: &str) {
        let gone = self
            .nodes
            .remove(path)
            .expect("model: delete of a known node");
        assert!(
            gone.children.is_empty(),
            "model: {path} deleted with children"
        );
        let (parent, name) = parent_and_name(path);
        if let Some(p) = self.nodes.get_mut(parent) {
            p.cversion += 1;
            p.children.remove(name);
        }
    }

    /// Nodes below `path` (not itself), as getAllChildrenNumber counts.
    pub fn descendants(&self, path: &str) -> usize {
        let prefix = format!("{path}/");
        self.nodes.keys().filter(|p| p.starts_with(&prefix)).count()
    }

    /// Ephemerals of `session` below `path`, sorted, as getEphemerals
    /// lists them.
    pub fn ephemerals(&self, path: &str, session: i64) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(p, n)| n.ephemeral_owner == session && p.starts_with(path))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Reads every node of the model through `client` and compares data,
    /// versions, owner, length, children; then that nothing else is there.
    pub async fn check_all(&self, client: &zk::Client, check: &Check) -> Result<(), String> {
        for (path, want) in &self.nodes {
            let (data, stat) = bounded(client.get_data(path))
                .await
                .map_err(|e| check.fail(&format!("getData {path}"), &e))?;
            let children: BTreeSet<String> = bounded(client.list_children(path))
                .await
                .map_err(|e| check.fail(&format!("getChildren {path}"), &e))?
                .into_iter()
                .collect();
            let got = ModelNode {
                data,
                version: stat.version,
                cversion: stat.cversion,
                aversion: stat.aversion,
                ephemeral_owner: stat.ephemeral_owner,
                czxid: stat.czxid,
                children,
            };
            if &got != want {
                return Err(check.fail(
                    &format!("state of {path}"),
                    &format!("got {got:?}\n  want {want:?}"),
                ));
            }
            if stat.data_length as usize != want.data.len()
                || stat.num_children as usize != want.children.len()
            {
                return Err(check.fail(
                    &format!("stat of {path}"),
                    &format!(
                        "dataLength {} numChildren {}, want {} and {}",
                        stat.data_length,
                        stat.num_children,
                        want.data.len(),
                        want.children.len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn node(data: &[u8], ephemeral_owner: i64, czxid: i64) -> ModelNode {
    ModelNode {
        data: data.to_vec(),
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner,
        czxid,
        children: BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_3_8s_rules() {
        let mut m = Model::root("/b", b"", 1);
        assert_eq!(m.sequential_path("/b/s-"), "/b/s-0000000000");
        m.create("/b/s-0000000000", b"", 0, 2);
        m.create("/b/p", b"x", 0, 3);
        assert_eq!(m.sequential_path("/b/s-"), "/b/s-0000000002");
        m.delete("/b/p");
        assert_eq!(m.get("/b").unwrap().cversion, 3);
        assert_eq!(m.sequential_path("/b/s-"), "/b/s-0000000003");
        m.set_data("/b/s-0000000000", b"y");
        assert_eq!(m.get("/b/s-0000000000").unwrap().version, 1);
        m.create("/b/e", b"", 7, 4);
        assert_eq!(m.ephemerals("/b", 7), vec!["/b/e".to_string()]);
        assert_eq!(m.descendants("/b"), 2);
    }
}
