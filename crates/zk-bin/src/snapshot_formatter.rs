//! `snapshot-dump`: ZooKeeper's `SnapshotFormatter`. Prints the znodes of one
//! snapshot file depth first with their stat fields (and, with `-d`, their
//! data in base64), then the sessions, in the tool's own text layout so
//! that the two outputs can be compared; `--json` prints the tree in the
//! tool's ncdu-style JSON.
//!
//! Children are listed oldest first where the Java tool lists them in
//! HashSet order, and sessions by id where it uses HashMap order.

use std::path::Path;

use base64::Engine;
use zk_persistence::data_dir;
use zk_persistence::data_tree::DataTree;
use zk_persistence::records::StatPersisted;
use zk_persistence::snapshot::read_snapshot_file;
use zk_server::commands::java_fmt;

const USAGE: &str = "usage: zk-bin snapshot-dump [-d|--json] SNAPSHOT_FILE
       -d      dump the data of each znode (base64)
       --json  dump znode info in json format (also: -json)
Children are listed oldest first (SnapshotFormatter uses HashSet order).";

pub fn run(args: &[String]) -> Result<(), String> {
    let (mut dump_data, mut json, mut file) = (false, false, None);
    for arg in args {
        match arg.as_str() {
            "-d" => dump_data = true,
            "-json" | "--json" => json = true,
            _ if file.is_none() && !arg.starts_with('-') => file = Some(arg.as_str()),
            _ => return Err(USAGE.to_string()),
        }
    }
    let file = file.ok_or_else(|| USAGE.to_string())?;
    if dump_data && json {
        return Err(
            "Cannot specify both data dump (-d) and json mode (-json) in same call".to_string(),
        );
    }
    let path = Path::new(file);
    let file_zxid = data_dir::zxid_from_path(path, data_dir::SNAPSHOT_FILE_PREFIX);
    let (tree, sessions) = read_snapshot_file::<DataTree>(path, file_zxid)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = String::new();
    if json {
        print_json(&tree, &mut out);
    } else {
        print_details(&tree, &sessions, dump_data, file_zxid, &mut out);
    }
    print!("{out}");
    Ok(())
}

fn print_details(
    tree: &DataTree,
    sessions: &zk_persistence::snapshot::SessionMap,
    dump_data: bool,
    file_zxid: i64,
    out: &mut String,
) {
    out.push_str(&format!("ZNode Details (count={}):\n", tree.node_count()));
    let tree_zxid = print_znode(tree, "/", dump_data, out);
    out.push_str("----\n");
    out.push_str("Session Details (sid, timeout, ephemeralCount):\n");
    let mut ids: Vec<_> = sessions.iter().collect();
    ids.sort();
    for (sid, timeout) in ids {
        out.push_str(&format!(
            "{}, {}, {}\n",
            hex_016(*sid),
            timeout,
            tree.get_ephemerals(*sid).len()
        ));
    }
    // SnapshotFormatter 3.8.0 also has a "Target zxid digest" line, but
    // its single-file reader never loads the digest, so it never prints it.
    out.push_str(&format!(
        "----\nLast zxid: 0x{:x}\n",
        file_zxid.max(tree_zxid)
    ));
}

/// Prints one znode and its subtree; returns the highest mzxid/pzxid seen.
fn print_znode(tree: &DataTree, path: &str, dump_data: bool, out: &mut String) -> i64 {
    let Some(node) = tree.get_node(path) else {
        return 0;
    };
    out.push_str("----\n");
    out.push_str(path);
    out.push('\n');
    let stat = node.stat_persisted();
    print_stat(&stat, out);
    let mut zxid = stat.mzxid.max(stat.pzxid);
    let data = node.data().unwrap_or(&[]);
    if dump_data {
        out.push_str("  data = ");
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(data));
        out.push('\n');
    } else {
        out.push_str(&format!("  dataLength = {}\n", data.len()));
    }
    for child in node.children() {
        let child_path = if path == "/" {
            format!("/{child}")
        } else {
            format!("{path}/{child}")
        };
        zxid = zxid.max(print_znode(tree, &child_path, dump_data, out));
    }
    zxid
}

fn print_stat(stat: &StatPersisted, out: &mut String) {
    out.push_str(&format!("  cZxid = {}\n", hex_016(stat.czxid)));
    out.push_str(&format!("  ctime = {}\n", java_fmt::date(stat.ctime)));
    out.push_str(&format!("  mZxid = {}\n", hex_016(stat.mzxid)));
    out.push_str(&format!("  mtime = {}\n", java_fmt::date(stat.mtime)));
    out.push_str(&format!("  pZxid = {}\n", hex_016(stat.pzxid)));
    out.push_str(&format!("  cversion = {}\n", stat.cversion));
    out.push_str(&format!("  dataVersion = {}\n", stat.version));
    out.push_str(&format!("  aclVersion = {}\n", stat.aversion));
    out.push_str(&format!(
        "  ephemeralOwner = {}\n",
        hex_016(stat.ephemeral_owner)
    ));
}

/// Java's `%#016x`: the `0x` prefix counts toward the width of 16.
fn hex_016(v: i64) -> String {
    format!("{:#016x}", v)
}

/// The ncdu-style JSON of SnapshotFormatter's `-json`: a header array, then
/// each znode as `{name, asize, dsize, dev, ino}`, a node with children
/// as an array opening with its own object.
fn print_json(tree: &DataTree, out: &mut String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    out.push_str(&format!(
        "[1,0,{{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\",\"timestamp\":{now}}}"
    ));
    let mut inode = 0u64;
    print_znode_json(tree, "/", &mut inode, out);
    out.push(']');
}

fn print_znode_json(tree: &DataTree, path: &str, inode: &mut u64, out: &mut String) {
    let Some(node) = tree.get_node(path) else {
        return;
    };
    let name = if path == "/" {
        "/"
    } else {
        &path[path.rfind('/').map_or(0, |i| i + 1)..]
    };
    let len = node.data().map_or(0, <[u8]>::len);
    *inode += 1;
    let object = format!(
        "{{\"name\":{},\"asize\":{len},\"dsize\":{len},\"dev\":0,\"ino\":{}}}",
        serde_json::Value::from(name),
        inode
    );
    out.push(',');
    let children = node.children();
    if children.is_empty() {
        out.push_str(&object);
        return;
    }
    out.push('[');
    out.push_str(&object);
    for child in children {
        let child_path = if path == "/" {
            format!("/{child}")
        } else {
            format!("{path}/{child}")
        };
        print_znode_json(tree, &child_path, inode, out);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_padded_like_java() {
        assert_eq!(hex_016(0), "0x00000000000000");
        assert_eq!(hex_016(0x1a), "0x0000000000001a");
        assert_eq!(hex_016(-1), "0xffffffffffffffff");
    }
}
