//! `WatchManager`: which connection watches which path, and who to tell
//! when a change fires.
//!
//! The server keeps two of these, as `DataTree` does: data watches
//! (getData, exists, and persistent watches) and child watches
//! (getChildren, and non-recursive persistent watches). A watch is
//! one-shot (removed when it fires), persistent (stays; fires on the
//! watched path only) or persistent-recursive (stays; fires for every node
//! below too, except for child-list changes). Setting a watch of another
//! mode on the same path replaces the mode, as 3.8 does.

use std::collections::{HashMap, HashSet};

use crate::request::CnxnId;

/// `WatcherMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherMode {
    Standard,
    Persistent,
    PersistentRecursive,
}

impl WatcherMode {
    /// From `AddWatchRequest.mode` (`AddWatchMode`): 0 persistent, 1
    /// recursive.
    pub fn from_add_watch_mode(mode: i32) -> Option<WatcherMode> {
        match mode {
            0 => Some(WatcherMode::Persistent),
            1 => Some(WatcherMode::PersistentRecursive),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct WatchManager {
    watch_table: HashMap<String, HashSet<CnxnId>>,
    watch_to_paths: HashMap<CnxnId, HashSet<String>>,
    /// Modes other than `Standard`.
    modes: HashMap<(CnxnId, String), WatcherMode>,
    recursive_count: usize,
}

/// "/a/b" → "/a" → "/" (the path itself first).
fn path_and_parents(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let cur = next?;
        next = if cur == "/" || cur.is_empty() {
            None
        } else {
            match cur.rfind('/') {
                Some(0) => Some("/"),
                Some(i) => Some(&cur[..i]),
                None => None,
            }
        };
        Some(cur)
    })
}

impl WatchManager {
    pub fn new() -> Self {
        Self::default()
    }

    fn set_mode(&mut self, w: CnxnId, path: &str, mode: WatcherMode) {
        let key = (w, path.to_string());
        let old = if mode == WatcherMode::Standard {
            self.modes.remove(&key)
        } else {
            self.modes.insert(key, mode)
        };
        if old == Some(WatcherMode::PersistentRecursive) {
            self.recursive_count -= 1;
        }
        if mode == WatcherMode::PersistentRecursive {
            self.recursive_count += 1;
        }
    }

    fn mode(&self, w: CnxnId, path: &str) -> WatcherMode {
        if self.modes.is_empty() {
            return WatcherMode::Standard;
        }
        self.modes
            .get(&(w, path.to_string()))
            .copied()
            .unwrap_or(WatcherMode::Standard)
    }

    /// Adds (or re-moded) a watch; false if it was already there.
    pub fn add_watch(&mut self, path: &str, w: CnxnId, mode: WatcherMode) -> bool {
        self.watch_table
            .entry(path.to_string())
            .or_default()
            .insert(w);
        self.set_mode(w, path, mode);
        self.watch_to_paths
            .entry(w)
            .or_default()
            .insert(path.to_string())
    }

    /// Fires `path`: returns the connections to notify, removing one-shot
    /// watches. `suppress` (watchers already told of this change) are left
    /// out of the result.
    pub fn trigger_watch(
        &mut self,
        path: &str,
        is_child_change: bool,
        suppress: &HashSet<CnxnId>,
    ) -> HashSet<CnxnId> {
        let mut out = HashSet::new();
        let only_self = self.recursive_count == 0;
        for (depth, p) in path_and_parents(path).enumerate() {
            if only_self && depth > 0 {
                break;
            }
            let Some(set) = self.watch_table.get(p) else {
                continue;
            };
            let mut fired_once = Vec::new();
            for &w in set {
                match self.mode(w, p) {
                    WatcherMode::PersistentRecursive if !is_child_change => {
                        out.insert(w);
                    }
                    WatcherMode::PersistentRecursive => {}
                    m if depth == 0 => {
                        out.insert(w);
                        if m == WatcherMode::Standard {
                            fired_once.push(w);
                        }
                    }
                    _ => {}
                }
            }
            for w in fired_once {
                self.remove_one(p, w);
            }
        }
        out.retain(|w| !suppress.contains(w));
        out
    }

    fn remove_one(&mut self, path: &str, w: CnxnId) {
        if let Some(set) = self.watch_table.get_mut(path) {
            set.remove(&w);
            if set.is_empty() {
                self.watch_table.remove(path);
            }
        }
        if let Some(paths) = self.watch_to_paths.get_mut(&w) {
            paths.remove(path);
            if paths.is_empty() {
                self.watch_to_paths.remove(&w);
            }
        }
        self.set_mode(w, path, WatcherMode::Standard);
    }

    /// `containsWatcher` (checkWatches) as 3.8 answers it: true when any
    /// connection watches `path` itself, not only `w` (3.8 looks at the
    /// path's watcher set without looking for `w` in it; a recursive watch
    /// of `w` on `path` is in that set too).
    pub fn contains_watcher(&self, path: &str, _w: CnxnId) -> bool {
        self.watch_table.contains_key(path)
    }

    /// Whether `w` itself watches `path` (any mode).
    pub fn has_watch(&self, path: &str, w: CnxnId) -> bool {
        self.watch_to_paths
            .get(&w)
            .is_some_and(|p| p.contains(path))
    }

    /// Removes `w`'s watch on `path`; false if there was none.
    pub fn remove_watcher(&mut self, path: &str, w: CnxnId) -> bool {
        if !self.has_watch(path, w) {
            return false;
        }
        self.remove_one(path, w);
        true
    }

    /// Forgets every watch of a closed connection.
    pub fn remove_cnxn(&mut self, w: CnxnId) {
        let Some(paths) = self.watch_to_paths.remove(&w) else {
            return;
        };
        for p in paths {
            if let Some(set) = self.watch_table.get_mut(&p) {
                set.remove(&w);
                if set.is_empty() {
                    self.watch_table.remove(&p);
                }
            }
            self.set_mode(w, &p, WatcherMode::Standard);
        }
    }

    /// Number of (path, watcher) pairs.
    pub fn size(&self) -> usize {
        self.watch_table.values().map(|s| s.len()).sum()
    }

    /// Path → watchers (`wchp`).
    pub fn by_path(&self) -> &HashMap<String, HashSet<CnxnId>> {
        &self.watch_table
    }

    /// Watcher → paths (`wchc`).
    pub fn by_watcher(&self) -> &HashMap<CnxnId, HashSet<String>> {
        &self.watch_to_paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> HashSet<CnxnId> {
        HashSet::new()
    }

    #[test]
    fn parents_are_walked_up_to_the_root() {
        let v: Vec<&str> = path_and_parents("/a/b/c").collect();
        assert_eq!(v, vec!["/a/b/c", "/a/b", "/a", "/"]);
        assert_eq!(path_and_parents("/").collect::<Vec<_>>(), vec!["/"]);
    }

    #[test]
    fn standard_watches_fire_once() {
        let mut m = WatchManager::new();
        assert!(m.add_watch("/a", 1, WatcherMode::Standard));
        assert!(!m.add_watch("/a", 1, WatcherMode::Standard));
        m.add_watch("/a", 2, WatcherMode::Standard);
        let fired = m.trigger_watch("/a", false, &none());
        assert_eq!(fired, HashSet::from([1, 2]));
        assert!(m.trigger_watch("/a", false, &none()).is_empty());
        assert_eq!(m.size(), 0);
    }

    #[test]
    fn persistent_stays_and_recursive_sees_descendants_but_not_child_lists() {
        let mut m = WatchManager::new();
        m.add_watch("/a", 1, WatcherMode::Persistent);
        m.add_watch("/a", 2, WatcherMode::PersistentRecursive);
        m.add_watch("/a/b", 3, WatcherMode::Standard);
        assert_eq!(
            m.trigger_watch("/a/b", false, &none()),
            HashSet::from([2, 3])
        );
        assert_eq!(m.trigger_watch("/a/b", false, &none()), HashSet::from([2]));
        assert_eq!(m.trigger_watch("/a", true, &none()), HashSet::from([1]));
        assert_eq!(m.trigger_watch("/a", false, &none()), HashSet::from([1, 2]));
        assert!(m.contains_watcher("/a", 1));
        assert!(
            m.contains_watcher("/a", 9),
            "3.8 asks whether anyone watches"
        );
        assert!(!m.contains_watcher("/a/b", 1));
        assert!(m.remove_watcher("/a", 1));
        assert!(!m.remove_watcher("/a", 1));
        m.remove_cnxn(2);
        assert!(m.trigger_watch("/a", false, &none()).is_empty());
        assert_eq!(m.recursive_count, 0);
    }

    #[test]
    fn suppressed_watchers_are_not_told_twice() {
        let mut m = WatchManager::new();
        m.add_watch("/x", 1, WatcherMode::Standard);
        m.add_watch("/x", 2, WatcherMode::Standard);
        let fired = m.trigger_watch("/x", false, &HashSet::from([1]));
        assert_eq!(fired, HashSet::from([2]));
        assert!(!m.has_watch("/x", 1), "still consumed");
    }
}
