//! `snapshot-dump`: ZooKeeper's `SnapshotFormatter`. Prints the znodes of one
//! snapshot file depth first with their stat fields (and, with `-d`, their
//! data in base64), then the sessions and the last zxid, in the tool's own
//! text layout; `--json` prints the tree in the tool's ncdu-style JSON.
//!
//! The Java tool lists children in `HashSet` order and sessions in
//! `HashMap` order. Both depend only on the order the snapshot file holds
//! them in, so we replay it ([`crate::java_hash_order`]) and the two
//! outputs compare line by line. Times print in UTC, as the Java tool does
//! under `-Duser.timezone=UTC`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use base64::Engine;
use zk_persistence::data_dir;
use zk_persistence::data_tree::DataTree;
use zk_persistence::file_snap::{read_snapshot_file, StreamMode};
use zk_persistence::jute::InputArchive;
use zk_persistence::records::{FileHeader, StatPersisted};
use zk_server::commands::java_fmt;

use crate::java_hash_order::{order_by_long_key, order_strings, CHILDREN_CAPACITY};

const USAGE: &str = "usage: zk-bin snapshot-dump [-d|--json] SNAPSHOT_FILE
       -d      dump the data of each znode (base64)
       --json  dump znode info in json format (also: -json)
Nodes and sessions come in the order SnapshotFormatter 3.8 prints them;
times are in UTC.";

/// ncdu needs a distinct inode per entry; the Java tool numbers them from
/// 1001 on.
const FIRST_INODE: u64 = 1001;

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
    let fail = |e: io::Error| format!("{}: {e}", path.display());
    if StreamMode::of_path(path) != StreamMode::Checked {
        return Err(format!(
            "{}: compressed snapshots (.gz, .snappy) are not supported; \
             decompress it to a plain snapshot file first",
            path.display()
        ));
    }
    let file_zxid = data_dir::zxid_from_path(path, data_dir::SNAPSHOT_FILE_PREFIX);
    let (tree, _) = read_snapshot_file::<DataTree>(path, file_zxid).map_err(fail)?;
    let sessions = sessions_in_file_order(path).map_err(fail)?;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = if json {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        print_json(&tree, now, &mut out)
    } else {
        print_details(&tree, &sessions, dump_data, file_zxid, &mut out)
    };
    match written.and_then(|()| out.flush()) {
        // A closed pipe (`| head`) ends the dump quietly.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("stdout: {e}")),
        _ => Ok(()),
    }
}

/// The session table as the file holds it (the loaded map forgets the
/// order, which decides where Java's map lists each session).
fn sessions_in_file_order(path: &Path) -> io::Result<Vec<(i64, i32)>> {
    let mut ia = InputArchive::new(BufReader::new(File::open(path)?));
    let _: FileHeader = ia.read_record()?;
    let count = ia.read_int()?;
    let mut sessions = Vec::with_capacity(count.clamp(0, 1 << 16) as usize);
    for _ in 0..count.max(0) {
        sessions.push((ia.read_long()?, ia.read_int()?));
    }
    Ok(sessions)
}

/// A node's children in the Java tool's order, with their full paths.
fn child_paths(tree: &DataTree, path: &str) -> Vec<String> {
    let Some(node) = tree.get_node(path) else {
        return Vec::new();
    };
    let prefix = if path == "/" { "" } else { path };
    order_strings(node.children(), CHILDREN_CAPACITY)
        .into_iter()
        .map(|child| format!("{prefix}/{child}"))
        .collect()
}

fn print_details(
    tree: &DataTree,
    sessions: &[(i64, i32)],
    dump_data: bool,
    file_zxid: i64,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "ZNode Details (count={}):", tree.node_count())?;
    // Depth first, children in the Java order; a stack rather than
    // recursion because a tree can be deeper than our thread stack.
    let mut tree_zxid = 0;
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        let Some(node) = tree.get_node(&path) else {
            continue;
        };
        let stat = node.stat_persisted();
        tree_zxid = tree_zxid.max(stat.mzxid.max(stat.pzxid));
        let data = node.data().unwrap_or(&[]);
        writeln!(out, "----\n{path}")?;
        write_stat(&stat, out)?;
        if dump_data {
            let encoded = base64::engine::general_purpose::STANDARD.encode(data);
            writeln!(out, "  data = {encoded}")?;
        } else {
            writeln!(out, "  dataLength = {}", data.len())?;
        }
        stack.extend(child_paths(tree, &path).into_iter().rev());
    }
    writeln!(out, "----")?;
    writeln!(out, "Session Details (sid, timeout, ephemeralCount):")?;
    for (sid, timeout) in order_by_long_key(sessions.to_vec()) {
        let ephemerals = tree.get_ephemerals(sid).len();
        writeln!(out, "{}, {timeout}, {ephemerals}", hex_016(sid))?;
    }
    // SnapshotFormatter 3.8 also has a "Target zxid digest" line, but its
    // reader stops before the digest, so it never prints it.
    writeln!(out, "----\nLast zxid: 0x{:x}", file_zxid.max(tree_zxid))
}

fn write_stat(stat: &StatPersisted, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "  cZxid = {}", hex_016(stat.czxid))?;
    writeln!(out, "  ctime = {}", java_fmt::date(stat.ctime))?;
    writeln!(out, "  mZxid = {}", hex_016(stat.mzxid))?;
    writeln!(out, "  mtime = {}", java_fmt::date(stat.mtime))?;
    writeln!(out, "  pZxid = {}", hex_016(stat.pzxid))?;
    writeln!(out, "  cversion = {}", stat.cversion)?;
    writeln!(out, "  dataVersion = {}", stat.version)?;
    writeln!(out, "  aclVersion = {}", stat.aversion)?;
    writeln!(out, "  ephemeralOwner = {}", hex_016(stat.ephemeral_owner))
}

/// Java's `%#016x`: the `0x` prefix counts toward the width of 16.
fn hex_016(v: i64) -> String {
    format!("{:#016x}", v)
}

/// The ncdu-style JSON of `-json`: a header array, then each znode as
/// `{name, asize, dsize, dev, ino}`, a node with children as an array
/// opening with its own object. No trailing newline, as in Java.
fn print_json(tree: &DataTree, timestamp_ms: u128, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        "[1,0,{{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\",\"timestamp\":{timestamp_ms}}}"
    )?;
    enum Step {
        Node(String),
        Close,
    }
    let mut inode = FIRST_INODE;
    let mut stack = vec![Step::Node("/".to_string())];
    while let Some(step) = stack.pop() {
        let path = match step {
            Step::Close => {
                out.write_all(b"]")?;
                continue;
            }
            Step::Node(path) => path,
        };
        let Some(node) = tree.get_node(&path) else {
            continue;
        };
        let name = match path.rfind('/') {
            Some(i) if path != "/" => &path[i + 1..],
            _ => path.as_str(),
        };
        let len = node.data().map_or(0, <[u8]>::len);
        let object = format!(
            "{{\"name\":\"{}\",\"asize\":{len},\"dsize\":{len},\"dev\":0,\"ino\":{inode}}}",
            json_quote(name)
        );
        inode += 1;
        let children = child_paths(tree, &path);
        if children.is_empty() {
            write!(out, ",{object}")?;
        } else {
            write!(out, ",[{object}")?;
            stack.push(Step::Close);
            stack.extend(children.into_iter().rev().map(Step::Node));
        }
    }
    out.write_all(b"]")
}

/// A JSON string body escaped as Jackson's `JsonStringEncoder` does it
/// (short escapes where JSON has them, `\u00XX` in upper case for other
/// control characters, everything else verbatim), so that names compare
/// byte for byte with the Java tool; serde_json would write lower-case
/// hex.
fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::records::{CreateTxn, TxnHeader};
    use zk_persistence::txn::Txn;
    use zk_persistence::zoo_defs::{ids, op_code};

    #[test]
    fn hex_is_padded_like_java() {
        assert_eq!(hex_016(0), "0x00000000000000");
        assert_eq!(hex_016(0x1a), "0x0000000000001a");
        assert_eq!(hex_016(-1), "0xffffffffffffffff");
    }

    #[test]
    fn json_names_are_escaped_like_jackson() {
        assert_eq!(json_quote("plain ünï"), "plain ünï");
        assert_eq!(json_quote("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(json_quote("\n\t\u{1f}\u{7f}"), "\\n\\t\\u001F\u{7f}");
        let v: serde_json::Value =
            serde_json::from_str(&format!("\"{}\"", json_quote("x\u{1}\"/"))).unwrap();
        assert_eq!(v, "x\u{1}\"/");
    }

    fn small_tree() -> DataTree {
        let mut tree = DataTree::new();
        for (zxid, (path, data)) in [("/b", &b"xy"[..]), ("/a", b""), ("/a/c", b"\xff")]
            .into_iter()
            .enumerate()
        {
            let hdr = TxnHeader {
                client_id: 1,
                cxid: 0,
                zxid: zxid as i64 + 1,
                time: 86_400_000,
                txn_type: op_code::CREATE,
            };
            let txn = Txn::Create(CreateTxn {
                path: path.into(),
                data: Some(data.to_vec()),
                acl: ids::open_acl_unsafe(),
                ephemeral: false,
                parent_c_version: -1,
            });
            assert_eq!(tree.process_txn(&hdr, &txn).err, 0);
        }
        tree
    }

    #[test]
    fn details_list_every_node_then_sessions_and_the_last_zxid() {
        let mut out = Vec::new();
        print_details(&small_tree(), &[(5, 4000), (-1, 30000)], true, 2, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let paths: Vec<&str> = text.lines().filter(|l| l.starts_with('/')).collect();
        // Java's order: "a" and "b" share nothing but their hash buckets.
        assert_eq!(
            paths,
            [
                "/",
                "/a",
                "/a/c",
                "/b",
                "/zookeeper",
                "/zookeeper/config",
                "/zookeeper/quota"
            ]
        );
        assert!(text.starts_with("ZNode Details (count=8):\n----\n/\n  cZxid = 0x00000000000000\n"));
        assert!(text.contains(
            "----\n/b\n  cZxid = 0x00000000000001\n  ctime = Fri Jan 02 00:00:00 UTC 1970\n"
        ));
        assert!(text.contains("  data = eHk=\n"), "{text}");
        assert!(text.ends_with(
            "----\nSession Details (sid, timeout, ephemeralCount):\n\
             0xffffffffffffffff, 30000, 0\n0x00000000000005, 4000, 0\n----\nLast zxid: 0x3\n"
        ));
    }

    #[test]
    fn json_nests_children_in_arrays() {
        let mut out = Vec::new();
        print_json(&small_tree(), 7, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "[1,0,{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\",\"timestamp\":7},\
             [{\"name\":\"/\",\"asize\":0,\"dsize\":0,\"dev\":0,\"ino\":1001},\
             [{\"name\":\"a\",\"asize\":0,\"dsize\":0,\"dev\":0,\"ino\":1002},\
             {\"name\":\"c\",\"asize\":1,\"dsize\":1,\"dev\":0,\"ino\":1003}],\
             {\"name\":\"b\",\"asize\":2,\"dsize\":2,\"dev\":0,\"ino\":1004},"
        ), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v[3][0]["name"], "/");
    }
}
