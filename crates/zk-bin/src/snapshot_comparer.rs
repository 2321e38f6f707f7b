//! `snapshot-compare`: ZooKeeper 3.8's `SnapshotComparer`. Loads two
//! snapshots, prints each tree's node count, total data size, depth and
//! nodes per depth, then walks both trees depth by depth (or, with `-i`,
//! as the operator asks: a depth, or the children of a path) and prints
//! the nodes found in only one tree or whose subtree's data size or
//! descendant count differs by more than the thresholds.
//!
//! The output is the Java tool's line for line; only the two timing lines
//! (`Deserialized snapshot in ...`, `Processed data tree in ...`) carry
//! this run's own times. Nodes are compared by Java's `String.compareTo`
//! (UTF-16 order), so the order agrees for any path. Sessions are not
//! compared; ephemeral nodes are, as in the Java code.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use zk_persistence::data_dir;
use zk_persistence::data_tree::DataTree;
use zk_persistence::file_snap::{read_snapshot_file, StreamMode};

use crate::command_line::{self, OptionSpec};

const SYNTAX: &str = "zk-bin snapshot-compare";

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        'l',
        "left",
        "LEFT",
        true,
        "(Required) The left snapshot file.",
    ),
    OptionSpec::with_arg(
        'r',
        "right",
        "RIGHT",
        true,
        "(Required) The right snapshot file.",
    ),
    OptionSpec::with_arg(
        'b',
        "bytes",
        "BYTETHRESHOLD",
        true,
        "(Required) The node data delta size threshold, in bytes, for printing the node.",
    ),
    OptionSpec::with_arg(
        'n',
        "nodes",
        "NODETHRESHOLD",
        true,
        "(Required) The descendant node delta size threshold, in nodes, for printing the node.",
    ),
    OptionSpec::flag('d', "debug", "Use debug output."),
    OptionSpec::flag('i', "interactive", "Enter interactive mode."),
];

/// Runs the tool; returns the exit status: 2 for bad options (3.8's
/// INVALID_INVOCATION), 1 for a file that cannot be read or a threshold
/// that is not a number (the Java tool's uncaught exception).
pub fn main(args: &[String]) -> u8 {
    let line = match command_line::parse(OPTIONS, args) {
        Ok(line) => line,
        Err(e) => {
            eprintln!("{e}");
            print!("{}", command_line::help(SYNTAX, OPTIONS));
            return 2;
        }
    };
    match run(&line) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("zk-bin: {e}");
            1
        }
    }
}

fn run(line: &command_line::CommandLine) -> Result<(), String> {
    let value = |c| line.value(c).unwrap_or_default();
    let threshold = |c, what| {
        let v = value(c);
        v.parse::<i32>().map_err(|_| {
            format!("the {what} threshold must be a number: For input string: \"{v}\"")
        })
    };
    let options = CompareOptions {
        byte_threshold: threshold('b', "byte")?.into(),
        node_threshold: threshold('n', "node")?.into(),
        debug: line.has('d'),
        interactive: line.has('i'),
    };
    println!("Successfully parsed options!");
    let left = TreeInfo::from_file(Path::new(value('l')))?;
    let right = TreeInfo::from_file(Path::new(value('r')))?;
    println!("{}", left.summary());
    println!("{}", right.summary());
    let stdin = std::io::stdin();
    compare_trees(&left, &right, &options, &mut stdin.lock())
}

/// Reads a plain snapshot file into a tree, as the tools read one.
pub(crate) fn read_tree(path: &Path) -> Result<DataTree, String> {
    if StreamMode::of_path(path) != StreamMode::Checked {
        return Err(format!(
            "{}: compressed snapshots (.gz, .snappy) are not supported; \
             decompress it to a plain snapshot file first",
            path.display()
        ));
    }
    let zxid = data_dir::zxid_from_path(path, data_dir::SNAPSHOT_FILE_PREFIX);
    read_snapshot_file::<DataTree>(path, zxid)
        .map(|(tree, _)| tree)
        .map_err(|e| format!("{}: {e}", path.display()))
}

struct CompareOptions {
    byte_threshold: i64,
    node_threshold: i64,
    debug: bool,
    interactive: bool,
}

/// One znode as the comparer sees it: its path (`""` for the root, as
/// 3.8 labels it), its own data size, and its subtree's totals.
struct TreeNode {
    label: String,
    children: Vec<usize>,
    /// Data bytes of the node and all its descendants.
    descendant_size: i64,
    /// How many descendants the node has (itself not counted).
    descendant_count: i64,
}

/// A snapshot's tree reduced to what is compared.
struct TreeInfo {
    nodes: Vec<TreeNode>,
    /// Indices into `nodes` of the nodes at each depth (the root's is 0).
    at_depth: Vec<Vec<usize>>,
    by_label: HashMap<String, usize>,
}

impl TreeInfo {
    fn from_file(path: &Path) -> Result<TreeInfo, String> {
        let started = Instant::now();
        let tree = read_tree(path)?;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        println!(
            "Deserialized snapshot in {name} in {:.6} seconds",
            started.elapsed().as_secs_f64()
        );
        let started = Instant::now();
        let info = TreeInfo::new(&tree);
        println!(
            "Processed data tree in {:.6} seconds",
            started.elapsed().as_secs_f64()
        );
        Ok(info)
    }

    fn new(tree: &DataTree) -> TreeInfo {
        let mut info = TreeInfo {
            nodes: Vec::new(),
            at_depth: Vec::new(),
            by_label: HashMap::new(),
        };
        // Depth first with a stack (a tree can be deeper than our thread
        // stack); a node's totals are summed once all its children are done,
        // i.e. when it comes off the stack the second time.
        let mut stack: Vec<(usize, usize, bool)> =
            vec![(info.push(tree, String::new(), 0), 0, false)];
        while let Some((index, depth, children_done)) = stack.pop() {
            if children_done {
                let (size, count) = info.nodes[index]
                    .children
                    .iter()
                    .fold((0, 0), |(s, c), &i| {
                        let child = &info.nodes[i];
                        (s + child.descendant_size, c + child.descendant_count)
                    });
                let node = &mut info.nodes[index];
                node.descendant_size += size;
                node.descendant_count = count + node.children.len() as i64;
                continue;
            }
            stack.push((index, depth, true));
            let label = info.nodes[index].label.clone();
            let names = tree
                .get_node(tree_path(&label))
                .map(|n| n.children())
                .unwrap_or_default();
            for name in names {
                let child = info.push(tree, format!("{label}/{name}"), depth + 1);
                info.nodes[index].children.push(child);
                stack.push((child, depth + 1, false));
            }
        }
        info
    }

    /// Adds a node with its own data size as its running subtree size.
    fn push(&mut self, tree: &DataTree, label: String, depth: usize) -> usize {
        let size = tree
            .get_node(tree_path(&label))
            .and_then(|n| n.data())
            .map_or(0, <[u8]>::len);
        let index = self.nodes.len();
        if self.at_depth.len() <= depth {
            self.at_depth.resize_with(depth + 1, Vec::new);
        }
        self.at_depth[depth].push(index);
        self.by_label.insert(label.clone(), index);
        self.nodes.push(TreeNode {
            label,
            children: Vec::new(),
            descendant_size: size as i64,
            descendant_count: 0,
        });
        index
    }

    /// `TreeInfo.toString`: ends with a newline, which `println` doubles.
    fn summary(&self) -> String {
        let root = &self.nodes[0];
        let mut out = format!(
            "Node count: {}\nTotal size: {}\nMax depth: {}\n",
            self.nodes.len(),
            root.descendant_size,
            self.at_depth.len()
        );
        for (depth, nodes) in self.at_depth.iter().enumerate() {
            out.push_str(&format!(
                "Count of nodes at depth {depth}: {}\n",
                nodes.len()
            ));
        }
        out
    }
}

/// The tree's path of a 3.8 label (the root's label is empty).
fn tree_path(label: &str) -> &str {
    if label.is_empty() {
        "/"
    } else {
        label
    }
}

/// Java's `String.compareTo`: UTF-16 code units, not code points.
fn java_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn threshold_info(o: &CompareOptions) {
    println!(
        "Printing analysis for nodes difference larger than {} bytes or node count difference larger than {}.",
        o.byte_threshold, o.node_threshold
    );
}

fn compare_trees(
    left: &TreeInfo,
    right: &TreeInfo,
    o: &CompareOptions,
    input: &mut impl BufRead,
) -> Result<(), String> {
    let max_depth = left.at_depth.len().max(right.at_depth.len());
    if !o.interactive {
        threshold_info(o);
        for depth in 0..max_depth {
            println!("Analysis for depth {depth}");
            compare_depth(left, right, depth, o);
        }
        println!("All layers compared.");
        return Ok(());
    }
    let mut current = 0;
    while current < max_depth {
        println!("Current depth is {current}");
        println!(
            "- Press enter to move to print current depth layer;\n\
             - Type a number to jump to and print all nodes at a given depth;\n\
             - Enter an ABSOLUTE path to print the immediate subtree of a node. Path must start with '/'."
        );
        let mut answer = String::new();
        match input.read_line(&mut answer) {
            Ok(0) | Err(_) => return Err("no more input on standard input".to_string()),
            Ok(_) => {}
        }
        let answer = answer.strip_suffix('\n').unwrap_or(&answer);
        let answer = answer.strip_suffix('\r').unwrap_or(answer);
        threshold_info(o);
        if answer.is_empty() {
            println!("Analysis for depth {current}");
            compare_depth(left, right, current, o);
            current += 1;
        } else if answer.starts_with('/') {
            println!("Analysis for node {answer}");
            compare_subtree(left, right, answer, o);
        } else {
            let last = max_depth as i64 - 1;
            match answer.parse::<i32>() {
                Ok(depth) if depth < 0 || i64::from(depth) > last => {
                    println!("Depth must be in range [0, {last}]");
                    continue;
                }
                Ok(depth) => {
                    current = depth as usize;
                    println!("Analysis for depth {current}");
                    compare_depth(left, right, current, o);
                }
                Err(_) => println!(
                    "Input {answer} is not valid. Depth must be in range [0, {last}]. \
                     Path must be an absolute path which starts with '/'."
                ),
            }
        }
        println!();
    }
    println!("All layers compared.");
    Ok(())
}

fn compare_subtree(left: &TreeInfo, right: &TreeInfo, path: &str, o: &CompareOptions) {
    match (left.children_of(path), right.children_of(path)) {
        (None, None) => println!("Path {path} is neither found in left tree nor right tree."),
        (l, r) => compare_nodes(l.unwrap_or_default(), r.unwrap_or_default(), o),
    }
}

fn compare_depth(left: &TreeInfo, right: &TreeInfo, depth: usize, o: &CompareOptions) {
    compare_nodes(left.at(depth), right.at(depth), o);
}

impl TreeInfo {
    /// The children of the node labelled `path`, if the tree has it.
    fn children_of(&self, path: &str) -> Option<Vec<&TreeNode>> {
        let &index = self.by_label.get(path)?;
        Some(
            self.nodes[index]
                .children
                .iter()
                .map(|&c| &self.nodes[c])
                .collect(),
        )
    }

    /// The nodes at `depth` (none below the deepest).
    fn at(&self, depth: usize) -> Vec<&TreeNode> {
        self.at_depth
            .get(depth)
            .map(|level| level.iter().map(|&i| &self.nodes[i]).collect())
            .unwrap_or_default()
    }
}

/// Merges the two sorted lists, printing each node in one list only and
/// each pair whose totals differ beyond the thresholds.
fn compare_nodes(mut left: Vec<&TreeNode>, mut right: Vec<&TreeNode>, o: &CompareOptions) {
    left.sort_by(|a, b| java_order(&a.label, &b.label));
    right.sort_by(|a, b| java_order(&a.label, &b.label));
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    loop {
        match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => {
                if o.debug {
                    println!("Comparing {} to {}", a.label, b.label);
                }
                match java_order(&a.label, &b.label) {
                    std::cmp::Ordering::Less => {
                        if o.debug {
                            println!("left is less");
                        }
                        print_one_side(a, "left", o);
                        l.next();
                    }
                    std::cmp::Ordering::Greater => {
                        if o.debug {
                            println!("right is less");
                        }
                        print_one_side(b, "right", o);
                        r.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if o.debug {
                            println!("same");
                        }
                        print_both(a, b, o);
                        l.next();
                        r.next();
                    }
                }
            }
            (Some(a), None) => {
                print_one_side(a, "left", o);
                l.next();
            }
            (None, Some(b)) => {
                print_one_side(b, "right", o);
                r.next();
            }
            (None, None) => break,
        }
    }
}

fn print_one_side(node: &TreeNode, side: &str, o: &CompareOptions) {
    if node.descendant_size > o.byte_threshold || node.descendant_count > o.node_threshold {
        println!(
            "Node {} found only in {side} tree. Descendant size: {}. Descendant count: {}",
            node.label, node.descendant_size, node.descendant_count
        );
    } else if o.debug || o.interactive {
        println!(
            "Filtered {side} node {} of size {}",
            node.label, node.descendant_size
        );
    }
}

fn print_both(left: &TreeNode, right: &TreeNode, o: &CompareOptions) {
    let size_delta = right.descendant_size - left.descendant_size;
    let count_delta = right.descendant_count - left.descendant_count;
    if size_delta.abs() > o.byte_threshold || count_delta.abs() > o.node_threshold {
        println!(
            "Node {} found in both trees. Delta: {size_delta} bytes, {count_delta} descendants",
            left.label
        );
    } else if o.debug || o.interactive {
        println!(
            "Filtered node {} of left size {}, right size {}",
            left.label, left.descendant_size, right.descendant_size
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_trees::tree;

    #[test]
    fn totals_count_descendants_and_their_data() {
        let info = TreeInfo::new(&tree(&[("/a", 3), ("/a/b", 5), ("/a/b/c", 7), ("/d", 1)]));
        let a = &info.nodes[info.by_label["/a"]];
        assert_eq!((a.descendant_size, a.descendant_count), (15, 2));
        let root = &info.nodes[info.by_label[""]];
        // /zookeeper, /zookeeper/quota and /zookeeper/config too.
        assert_eq!((root.descendant_size, root.descendant_count), (16, 7));
        assert!(info.summary().starts_with(
            "Node count: 8\nTotal size: 16\nMax depth: 4\nCount of nodes at depth 0: 1\n\
             Count of nodes at depth 1: 3\n"
        ));
    }

    #[test]
    fn java_order_is_utf16_order() {
        // U+FF5E sorts after U+1F600 by code point, before it in UTF-16.
        assert_eq!(
            java_order("/\u{ff5e}", "/\u{1f600}"),
            std::cmp::Ordering::Greater
        );
        assert_eq!(java_order("/a", "/b"), std::cmp::Ordering::Less);
        assert_eq!(java_order("", "/a"), std::cmp::Ordering::Less);
    }
}
