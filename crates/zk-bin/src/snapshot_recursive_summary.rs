//! `snapshot-summary`: ZooKeeper 3.9's `SnapshotRecursiveSummary`
//! (zkSnapshotRecursiveSummaryToolkit.sh; 3.8 has no such tool). For the
//! starting node and each node with children below it, prints how many
//! descendants it has and the data bytes of its whole subtree, indented
//! two dashes per level:
//!
//! ```text
//!  /s
//!    children: 4
//!    data: 20
//! -- /s/a
//! --   children: 1
//! --   data: 9
//! ```
//!
//! MAX_DEPTH limits only what is printed (0: everything; 1: the starting
//! node and its children; ...), never the sums. Leaves print nothing, a
//! leaf starting node an empty line. Children come in the order 3.9's
//! `HashSet` lists them ([`crate::java_hash_order`]), so the output is the
//! Java tool's byte for byte.

use std::path::Path;

use zk_persistence::data_tree::DataTree;

use crate::java_hash_order::{order_strings, CHILDREN_CAPACITY};
use crate::snapshot_comparer::read_tree;

const USAGE: &str = "USAGE:\n\n\n\
zk-bin snapshot-summary  <snapshot_file>  <starting_node>  <max_depth>\n\n\n\
snapshot_file:    path to the zookeeper snapshot\n\
starting_node:    the path in the zookeeper tree where the traversal should begin\n\
max_depth:        defines the depth where the tool still writes to the output. \
0 means there is no depth limit, every non-leaf node's stats will be displayed, \
1 means it will only contain the starting node's and it's children's stats, \
2 ads another level and so on. This ONLY affects the level of details displayed, \
NOT the calculation.";

/// Runs the tool; returns the exit status: 2 for bad arguments (as 3.9),
/// 1 for a snapshot that cannot be read or a starting node it lacks.
pub fn main(args: &[String]) -> u8 {
    let [file, start, depth] = args else {
        eprintln!("{USAGE}");
        return 2;
    };
    let Ok(max_depth) = depth.parse::<i32>() else {
        eprintln!("{USAGE}");
        return 2;
    };
    let summary = read_tree(Path::new(file)).and_then(|tree| summarize(&tree, start, max_depth));
    match summary {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => {
            eprintln!("zk-bin: {e}");
            1
        }
    }
}

/// The subtree totals of a node: itself plus its descendants, and their
/// data bytes.
struct Totals {
    nodes: u64,
    data: u64,
}

/// The whole report, without the final newline `println` adds.
fn summarize(tree: &DataTree, start: &str, max_depth: i32) -> Result<String, String> {
    // 3.9 names the root "/" or "" alike.
    let lookup = |path: &str| tree.get_node(if path.is_empty() { "/" } else { path });
    if lookup(start).is_none() {
        return Err(format!("{start}: no such node in the snapshot"));
    }
    // First every subtree's totals, bottom up; then the report, top down.
    // Both walk with a stack: a tree can be deeper than our thread stack.
    struct Visit {
        path: String,
        level: i32,
        children: Vec<String>,
    }
    let mut order: Vec<Visit> = Vec::new();
    let mut stack = vec![(start.to_string(), 0)];
    while let Some((path, level)) = stack.pop() {
        let names = lookup(&path).map(|n| n.children()).unwrap_or_default();
        let prefix = if path == "/" { "" } else { path.as_str() };
        let children: Vec<String> = order_strings(names, CHILDREN_CAPACITY)
            .into_iter()
            .map(|c| format!("{prefix}/{c}"))
            .collect();
        stack.extend(children.iter().rev().map(|c| (c.clone(), level + 1)));
        order.push(Visit {
            path,
            level,
            children,
        });
    }
    // `order` is pre-order: each node before its descendants.
    let mut totals: std::collections::HashMap<&str, Totals> = std::collections::HashMap::new();
    for visit in order.iter().rev() {
        let own = lookup(&visit.path)
            .and_then(|n| n.data())
            .map_or(0, <[u8]>::len) as u64;
        let mut t = Totals {
            nodes: 1,
            data: own,
        };
        for child in &visit.children {
            let c = &totals[child.as_str()];
            t.nodes += c.nodes;
            t.data += c.data;
        }
        totals.insert(&visit.path, t);
    }
    let mut out = String::new();
    for visit in &order {
        if visit.children.is_empty() || (max_depth != 0 && visit.level > max_depth) {
            continue;
        }
        let t = &totals[visit.path.as_str()];
        let tab = "--".repeat(visit.level.max(0) as usize);
        out.push_str(&format!(
            "{tab} {}\n{tab}   children: {}\n{tab}   data: {}\n",
            visit.path,
            t.nodes - 1,
            t.data
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_trees::tree;

    fn known() -> DataTree {
        tree(&[
            ("/s", 1),
            ("/s/a", 2),
            ("/s/a/x", 7),
            ("/s/b", 4),
            ("/s/b/y", 6),
            ("/s/b/y/z", 0),
            ("/s/c", 0),
        ])
    }

    #[test]
    fn sums_every_subtree_and_prints_only_inner_nodes() {
        assert_eq!(
            summarize(&known(), "/s", 0).unwrap(),
            " /s\n   children: 6\n   data: 20\n\
             -- /s/a\n--   children: 1\n--   data: 9\n\
             -- /s/b\n--   children: 2\n--   data: 10\n\
             ---- /s/b/y\n----   children: 1\n----   data: 6\n"
        );
    }

    #[test]
    fn max_depth_limits_the_output_not_the_sums() {
        assert_eq!(
            summarize(&known(), "/s", 1).unwrap(),
            " /s\n   children: 6\n   data: 20\n\
             -- /s/a\n--   children: 1\n--   data: 9\n\
             -- /s/b\n--   children: 2\n--   data: 10\n"
        );
        assert_eq!(summarize(&known(), "/s/c", 0).unwrap(), "");
        assert!(summarize(&known(), "/nope", 0).is_err());
        let root = summarize(&known(), "/", 1).unwrap();
        // The root counts /zookeeper and its two children as well.
        assert!(
            root.starts_with(" /\n   children: 10\n   data: 20\n"),
            "{root}"
        );
    }
}
