//! `PathTrie`: the paths that have a quota, and for any path the longest
//! of them it lies under (3.8 keeps a trie of path components; a set of
//! whole paths answers the same questions, walking a path's prefixes from
//! the longest, which is as many lookups as the path has components).

use std::collections::HashSet;

/// The quota paths of a [`crate::data_tree::DataTree`].
#[derive(Debug, Clone, Default)]
pub struct PathTrie {
    paths: HashSet<String>,
}

impl PathTrie {
    /// `addPath`: `path` has a quota from now on.
    pub fn add_path(&mut self, path: &str) {
        if path.starts_with('/') && path.len() > 1 {
            self.paths.insert(path.trim_end_matches('/').to_string());
        }
    }

    /// `deletePath`: `path` has no quota any more.
    pub fn delete_path(&mut self, path: &str) {
        self.paths.remove(path.trim_end_matches('/'));
    }

    /// Whether `path` has a quota.
    pub fn exists_node(&self, path: &str) -> bool {
        self.paths.contains(path)
    }

    /// `findMaxPrefix`: the longest quota path that is `path` or one of
    /// its ancestors, component-wise (`/ab` is not under `/a`); `/` when
    /// there is none.
    pub fn find_max_prefix(&self, path: &str) -> String {
        let mut p = path.trim_end_matches('/');
        while !p.is_empty() {
            if self.paths.contains(p) {
                return p.to_string();
            }
            p = &p[..p.rfind('/').unwrap_or(0)];
        }
        "/".to_string()
    }

    /// `clear`.
    pub fn clear(&mut self) {
        self.paths.clear();
    }

    /// How many paths have a quota.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// No path has a quota.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_quota_prefix_by_components() {
        let mut t = PathTrie::default();
        assert_eq!(t.find_max_prefix("/a/b"), "/");
        t.add_path("/a");
        t.add_path("/a/b/c");
        assert_eq!(t.find_max_prefix("/a"), "/a");
        assert_eq!(t.find_max_prefix("/a/b"), "/a");
        assert_eq!(t.find_max_prefix("/a/b/c/d"), "/a/b/c");
        assert_eq!(t.find_max_prefix("/ab"), "/");
        assert_eq!(t.find_max_prefix("/"), "/");
        t.delete_path("/a");
        assert_eq!(t.find_max_prefix("/a/b"), "/");
        assert!(t.exists_node("/a/b/c"));
        assert_eq!(t.len(), 1);
        t.clear();
        assert!(t.is_empty());
    }
}
