//! Parsers for the text Apache's offline tools print, so that their output
//! and our tools' (`snapshot-dump`, `txnlog-dump`) can be compared field by
//! field rather than byte by byte.
//!
//! - [`parse_snapshot_text`]: `SnapshotFormatter [-d] FILE`: one block per
//!   node (path, the nine persisted stat fields, data in base64 or its
//!   length), then sessions, an optional digest line and the last zxid.
//! - [`parse_snapshot_json`]: `SnapshotFormatter -json FILE`: an ncdu-style
//!   nested array of names and sizes.
//! - [`parse_txn_log_text`]: `TxnLogToolkit --dump FILE`: a header line, one
//!   entry per txn (which may span lines: record text ends in newlines and
//!   node data is printed raw), and an `EOF reached` line.
//!
//! The parsers accept any amount of spacing around `=`, `,` and line ends,
//! and reject anything else they do not understand, naming the line.
//!
//! Apache prints children in hash-set order and sessions in hash-map order,
//! so comparisons should go by path / session id, not by position.

use std::collections::BTreeMap;

use crate::tree_model::{NodeModel, NodeStat, TreeModel};

/// A node as `SnapshotFormatter` prints it: the *persisted* stat (`cversion`
/// counts child creations only; TTL/container kinds are in
/// `ephemeral_owner`), not what a client would be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotNode {
    /// The znode's absolute path.
    pub path: String,
    /// zxid of the create.
    pub czxid: i64,
    /// `Date.toString()` text, e.g. `Thu Jan 01 00:00:00 UTC 1970`.
    pub ctime: String,
    /// zxid of the last setData (or of the create).
    pub mzxid: i64,
    /// `Date.toString()` text of the last modification.
    pub mtime: String,
    /// zxid of the last change to the children.
    pub pzxid: i64,
    /// Persisted `cversion` (see the note on the type).
    pub cversion: i32,
    /// `dataVersion`: setData calls.
    pub data_version: i32,
    /// `aclVersion`: setACL calls.
    pub acl_version: i32,
    /// Session of an ephemeral; for TTL and container nodes, their marker value; 0 otherwise.
    pub ephemeral_owner: i64,
    /// The data, or only its length.
    pub data: SnapshotData,
}

/// With `-d` the data itself, else only its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotData {
    /// The data bytes, printed with `-d`.
    Bytes(Vec<u8>),
    /// The data length in bytes, without `-d`.
    Length(usize),
}

impl SnapshotData {
    /// Data length in bytes.
    pub fn len(&self) -> usize {
        match self {
            SnapshotData::Bytes(b) => b.len(),
            SnapshotData::Length(n) => *n,
        }
    }

    /// True for empty data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One line of the session list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SnapshotSession {
    /// The session id.
    pub id: i64,
    /// The negotiated session timeout, in ms.
    pub timeout_ms: i32,
    /// How many ephemerals the session owns.
    pub ephemeral_count: usize,
}

/// All of `SnapshotFormatter`'s text output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotText {
    /// The `count=` of the header: the size of Apache's node map, which
    /// holds the root twice (as `""` and `"/"`), so one more than `nodes`.
    pub count: usize,
    /// In print order (depth first, children in hash order).
    pub nodes: Vec<SnapshotNode>,
    /// The session list, in print order.
    pub sessions: Vec<SnapshotSession>,
    /// `(zxid, digest)` the snapshot's trailing digest is for, when it has one.
    pub digest: Option<(i64, i64)>,
    /// The larger of the file name's zxid and the tree's highest zxid.
    pub last_zxid: i64,
}

impl SnapshotText {
    /// Nodes by path.
    pub fn by_path(&self) -> BTreeMap<&str, &SnapshotNode> {
        self.nodes.iter().map(|n| (n.path.as_str(), n)).collect()
    }

    /// Sessions sorted by id.
    pub fn sessions_sorted(&self) -> Vec<SnapshotSession> {
        let mut s = self.sessions.clone();
        s.sort();
        s
    }
}

impl SnapshotText {
    /// The tree a server would serve from this snapshot alone, as far as
    /// `SnapshotFormatter -d` shows it: no ACLs (it prints none), times in
    /// whole seconds (it prints dates), stats converted to what clients see.
    /// Compare it with [`TreeModel::without_acls`] and
    /// [`TreeModel::times_in_seconds`] of a served tree.
    pub fn served_tree(&self) -> Result<TreeModel, String> {
        let mut children: BTreeMap<&str, usize> = BTreeMap::new();
        for node in &self.nodes {
            if node.path != "/" {
                let parent = match node.path.rfind('/') {
                    Some(0) => "/",
                    Some(i) => &node.path[..i],
                    None => return Err(format!("node path {:?} is not absolute", node.path)),
                };
                *children.entry(parent).or_default() += 1;
            }
        }
        let mut tree = TreeModel::default();
        for node in &self.nodes {
            let SnapshotData::Bytes(data) = &node.data else {
                return Err("served_tree needs SnapshotFormatter -d output (node data)".to_string());
            };
            let secs = |text: &str| {
                parse_java_date_utc(text).map(|s| s * 1000).ok_or_else(|| {
                    format!(
                        "node {}: cannot read the time {text:?} (not UTC?)",
                        node.path
                    )
                })
            };
            let stat = NodeStat::served(
                node.czxid,
                node.mzxid,
                secs(&node.ctime)?,
                secs(&node.mtime)?,
                node.data_version,
                node.cversion,
                node.acl_version,
                node.ephemeral_owner,
                node.pzxid,
                data.len(),
                children.get(node.path.as_str()).copied().unwrap_or(0),
            );
            let model = NodeModel {
                data: data.clone(),
                stat,
                acl: Vec::new(),
            };
            if tree.nodes.insert(node.path.clone(), model).is_some() {
                return Err(format!("node {} listed twice", node.path));
            }
        }
        Ok(tree)
    }
}

/// Parses `SnapshotFormatter [-d] FILE` output.
pub fn parse_snapshot_text(text: &str) -> Result<SnapshotText, String> {
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let mut at = 0;
    let next_line = |at: &mut usize| -> Option<(usize, &str)> {
        while *at < lines.len() {
            let n = *at;
            *at += 1;
            let line = lines[n].trim();
            if !line.is_empty() {
                return Some((n + 1, line));
            }
        }
        None
    };

    let (n, header) = next_line(&mut at).ok_or("empty SnapshotFormatter output")?;
    let count = header
        .strip_prefix("ZNode Details (count=")
        .and_then(|r| r.strip_suffix("):"))
        .ok_or_else(|| format!("line {n}: expected `ZNode Details (count=N):`, got {header:?}"))?;
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| format!("line {n}: bad node count {count:?}"))?;

    // Each node block opens with `----`; the block of the last node is
    // closed by one more `----`, after which the session list starts.
    let mut nodes = Vec::new();
    let (n, sep) = next_line(&mut at).ok_or("output ends before the first node")?;
    expect_separator(n, sep)?;
    let (n, session_header) = loop {
        let (n, line) = next_line(&mut at).ok_or("output ends inside the node list")?;
        if line.starts_with("Session Details") {
            break (n, line);
        }
        if !line.starts_with('/') {
            return Err(format!("line {n}: expected a node path, got {line:?}"));
        }
        let path = line.to_string();
        let mut fields: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
        loop {
            let (n, line) =
                next_line(&mut at).ok_or_else(|| format!("output ends inside node {path}"))?;
            if line == "----" {
                break;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| {
                format!("line {n}: expected `key = value` in node {path}, got {line:?}")
            })?;
            let key = key.trim();
            if fields.insert(key, (n, value.trim())).is_some() {
                return Err(format!("line {n}: {key} given twice for node {path}"));
            }
        }
        nodes.push(snapshot_node(path, fields)?);
    };
    if nodes.len() + 1 != count {
        return Err(format!(
            "header says count={count} (nodes + the root's alias) but {} nodes are listed",
            nodes.len()
        ));
    }
    if session_header.replace(' ', "") != "SessionDetails(sid,timeout,ephemeralCount):" {
        return Err(format!(
            "line {n}: expected the session list header, got {session_header:?}"
        ));
    }
    let mut sessions = Vec::new();
    let mut digest = None;
    loop {
        let (n, line) = next_line(&mut at).ok_or("output ends inside the session list")?;
        if line == "----" {
            break;
        }
        if let Some(rest) = line.strip_prefix("Target zxid digest is:") {
            let (zxid, value) = rest
                .split_once(',')
                .ok_or_else(|| format!("line {n}: expected `zxid, digest`, got {rest:?}"))?;
            // Printed with `toHexString`: hex without the `0x`.
            let zxid = zxid.trim();
            let zxid = parse_hex(&format!("0x{zxid}"))
                .ok_or_else(|| format!("line {n}: bad zxid {zxid:?}"))?;
            let value: i64 = value
                .trim()
                .parse()
                .map_err(|_| format!("line {n}: bad digest {value:?}"))?;
            digest = Some((zxid, value));
            continue;
        }
        if digest.is_some() {
            return Err(format!(
                "line {n}: session line after the digest line: {line:?}"
            ));
        }
        let parts: Vec<&str> = line.split(',').map(str::trim).collect();
        let [id, timeout, ephemerals] = parts[..] else {
            return Err(format!(
                "line {n}: expected `sid, timeout, ephemeralCount`, got {line:?}"
            ));
        };
        sessions.push(SnapshotSession {
            id: parse_hex(id).ok_or_else(|| format!("line {n}: bad session id {id:?}"))?,
            timeout_ms: timeout
                .parse()
                .map_err(|_| format!("line {n}: bad timeout {timeout:?}"))?,
            ephemeral_count: ephemerals
                .parse()
                .map_err(|_| format!("line {n}: bad ephemeral count {ephemerals:?}"))?,
        });
    }
    let (n, line) = next_line(&mut at).ok_or("output ends before `Last zxid`")?;
    let last = line
        .strip_prefix("Last zxid:")
        .ok_or_else(|| format!("line {n}: expected `Last zxid: 0x...`, got {line:?}"))?;
    let last_zxid = parse_hex(last.trim()).ok_or_else(|| format!("line {n}: bad zxid {last:?}"))?;
    if let Some((n, line)) = next_line(&mut at) {
        return Err(format!(
            "line {n}: unexpected text after `Last zxid`: {line:?}"
        ));
    }
    Ok(SnapshotText {
        count,
        nodes,
        sessions,
        digest,
        last_zxid,
    })
}

fn expect_separator(n: usize, line: &str) -> Result<(), String> {
    if line == "----" {
        Ok(())
    } else {
        Err(format!("line {n}: expected `----`, got {line:?}"))
    }
}

fn snapshot_node(
    path: String,
    mut fields: BTreeMap<&str, (usize, &str)>,
) -> Result<SnapshotNode, String> {
    let mut take = |key: &str| {
        fields
            .remove(key)
            .ok_or_else(|| format!("node {path}: no `{key}` line"))
    };
    let hex = |(n, v): (usize, &str)| {
        parse_hex(v).ok_or_else(|| format!("line {n}: bad hex number {v:?}"))
    };
    let int = |(n, v): (usize, &str)| {
        v.parse::<i32>()
            .map_err(|_| format!("line {n}: bad number {v:?}"))
    };
    let czxid = hex(take("cZxid")?)?;
    let ctime = take("ctime")?.1.to_string();
    let mzxid = hex(take("mZxid")?)?;
    let mtime = take("mtime")?.1.to_string();
    let pzxid = hex(take("pZxid")?)?;
    let cversion = int(take("cversion")?)?;
    let data_version = int(take("dataVersion")?)?;
    let acl_version = int(take("aclVersion")?)?;
    let ephemeral_owner = hex(take("ephemeralOwner")?)?;
    let data = match (fields.remove("data"), fields.remove("dataLength")) {
        (Some((n, b64)), None) => SnapshotData::Bytes(
            base64_decode(b64).map_err(|e| format!("line {n}: node {path}: {e}"))?,
        ),
        (None, Some((n, len))) => SnapshotData::Length(
            len.parse()
                .map_err(|_| format!("line {n}: bad dataLength {len:?}"))?,
        ),
        (Some(_), Some(_)) => return Err(format!("node {path}: both `data` and `dataLength`")),
        (None, None) => return Err(format!("node {path}: neither `data` nor `dataLength`")),
    };
    if let Some((key, (n, _))) = fields.into_iter().next() {
        return Err(format!("line {n}: unknown field `{key}` in node {path}"));
    }
    Ok(SnapshotNode {
        path,
        czxid,
        ctime,
        mzxid,
        mtime,
        pzxid,
        cversion,
        data_version,
        acl_version,
        ephemeral_owner,
        data,
    })
}

/// `0x1f` (as Java's `%#x` or `0x` + `toHexString` print) as a two's
/// complement 64-bit value.
pub fn parse_hex(s: &str) -> Option<i64> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok().map(|v| v as i64)
}

/// Standard base64 with padding, as `java.util.Base64.getEncoder()` writes.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "base64 text of length {} is not a multiple of 4",
            bytes.len()
        ));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i == bytes.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err(format!("misplaced base64 padding at offset {}", i * 4));
        }
        let mut acc = 0u32;
        for (j, &c) in chunk[..4 - pad].iter().enumerate() {
            let v = value(c).ok_or_else(|| {
                format!(
                    "bad base64 character {:?} at offset {}",
                    c as char,
                    i * 4 + j
                )
            })?;
            acc |= v << (18 - 6 * j);
        }
        let three = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Ok(out)
}

/// One node of `SnapshotFormatter -json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonNode {
    /// The znode's absolute path.
    pub path: String,
    /// Data length (`dsize`; `asize` is always the same).
    pub size: u64,
}

/// Parses `SnapshotFormatter -json` output into nodes in print order.
pub fn parse_snapshot_json(text: &str) -> Result<Vec<JsonNode>, String> {
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("SnapshotFormatter -json output: {e}"))?;
    let top = value.as_array().ok_or("-json output is not an array")?;
    if top.len() != 4 || top[0] != 1 || top[1] != 0 || !top[2].is_object() {
        return Err(format!(
            "-json output does not start [1,0,{{header}},root]: {} elements",
            top.len()
        ));
    }
    let mut nodes = Vec::new();
    json_walk(&top[3], None, &mut nodes)?;
    Ok(nodes)
}

fn json_walk(
    v: &serde_json::Value,
    parent: Option<&str>,
    out: &mut Vec<JsonNode>,
) -> Result<(), String> {
    // A leaf is an object; a node with children is [object, child...].
    let (me, children) = match v {
        serde_json::Value::Object(_) => (v, &[][..]),
        serde_json::Value::Array(items) if !items.is_empty() => (&items[0], &items[1..]),
        other => return Err(format!("-json: expected a node, got {other}")),
    };
    let name = me
        .get("name")
        .and_then(|n| n.as_str())
        .ok_or_else(|| format!("-json: node without a name: {me}"))?;
    let size = me
        .get("dsize")
        .and_then(|n| n.as_u64())
        .ok_or_else(|| format!("-json: node {name} without dsize"))?;
    let path = match parent {
        None => name.to_string(),
        Some(p) => crate::tree_model::child_path(p, name),
    };
    out.push(JsonNode {
        path: path.clone(),
        size,
    });
    for child in children {
        json_walk(child, Some(&path), out)?;
    }
    Ok(())
}

/// One txn as `TxnLogToolkit --dump` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedTxn {
    /// The header's time as printed (short date, long time, in the JVM's
    /// locale and zone: `11/23/26, 12:50:22 AM UTC` under en_US/UTC).
    pub time_text: String,
    /// The session id of the txn header.
    pub session: i64,
    /// The client's xid of the request.
    pub cxid: i64,
    /// The zxid of the txn.
    pub zxid: i64,
    /// The op name as `Request.op2String` spells it (`create`, `setData`,
    /// `multi`, `createSession`, `error`, ...).
    pub op: String,
    /// The txn's text: Java's rendering of the txn record, lines joined with
    /// `\n`, without the final newline. Node data inside is UTF-8-decoded
    /// (binary data therefore lossy, the same way on both sides).
    pub body: String,
}

/// All of `TxnLogToolkit --dump`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLogText {
    /// The database id from the log file header.
    pub dbid: i64,
    /// The log format version from the file header.
    pub format_version: i32,
    /// Every txn, in log order.
    pub txns: Vec<LoggedTxn>,
    /// Entries printed with a `CRC ERROR - ` prefix (each is also in `txns`).
    pub crc_errors: Vec<LoggedTxn>,
    /// `N` of the closing `EOF reached after N txns.`
    pub eof_after: usize,
}

/// Parses `TxnLogToolkit --dump` output.
pub fn parse_txn_log_text(text: &str) -> Result<TxnLogText, String> {
    // Split on '\n' only: raw node data may hold '\r'.
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    let (n, header) = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or("empty TxnLogToolkit output")?;
    let rest = header
        .trim()
        .strip_prefix("ZooKeeper Transactional Log File with dbid")
        .ok_or_else(|| format!("line {n}: expected the txn log header, got {header:?}"))?;
    let (dbid, version) = rest
        .split_once("txnlog format version")
        .ok_or_else(|| format!("line {n}: no format version in {header:?}"))?;
    let dbid = dbid
        .trim()
        .parse()
        .map_err(|_| format!("line {n}: bad dbid {dbid:?}"))?;
    let format_version = version
        .trim()
        .parse()
        .map_err(|_| format!("line {n}: bad format version {version:?}"))?;

    let mut txns: Vec<LoggedTxn> = Vec::new();
    let mut crc_errors: Vec<LoggedTxn> = Vec::new();
    // Which list the entry being continued belongs to.
    let mut continuing: Option<bool> = None;
    let mut eof_after = None;
    for (n, line) in lines {
        if eof_after.is_some() {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format!("line {n}: text after the EOF line: {line:?}"));
        }
        if let Some(count) = line
            .trim()
            .strip_prefix("EOF reached after ")
            .and_then(|r| r.strip_suffix(" txns."))
        {
            eof_after = Some(
                count
                    .parse()
                    .map_err(|_| format!("line {n}: bad txn count {count:?}"))?,
            );
            continue;
        }
        let (crc, entry_text) = match line.strip_prefix("CRC ERROR - ") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        if let Some(txn) = parse_txn_header_line(entry_text) {
            if crc {
                crc_errors.push(txn);
            } else {
                txns.push(txn);
            }
            continuing = Some(crc);
            continue;
        }
        // A continuation of the previous entry's text.
        let target = match continuing {
            Some(true) => crc_errors.last_mut(),
            Some(false) => txns.last_mut(),
            None => None,
        };
        match target {
            Some(txn) => {
                txn.body.push('\n');
                txn.body.push_str(line);
            }
            None if line.trim().is_empty() => {}
            None => return Err(format!("line {n}: expected a txn, got {line:?}")),
        }
    }
    let eof_after = eof_after.ok_or("no `EOF reached after N txns.` line: output cut short?")?;
    if eof_after != txns.len() {
        return Err(format!(
            "EOF line says {eof_after} txns but {} are listed",
            txns.len()
        ));
    }
    Ok(TxnLogText {
        dbid,
        format_version,
        txns,
        crc_errors,
        eof_after,
    })
}

/// `<time> session 0x.. cxid 0x.. zxid 0x.. <op> <text>`, or None when the
/// line is not the start of a txn.
fn parse_txn_header_line(line: &str) -> Option<LoggedTxn> {
    let at = line.find(" session 0x")?;
    let time_text = line[..at].trim().to_string();
    if time_text.is_empty() {
        return None;
    }
    let rest = &line[at + " session ".len()..];
    let mut parts = rest.splitn(6, ' ');
    let session = parse_hex(parts.next()?)?;
    (parts.next()? == "cxid").then_some(())?;
    let cxid = parse_hex(parts.next()?)?;
    (parts.next()? == "zxid").then_some(())?;
    let zxid = parse_hex(parts.next()?)?;
    let last = parts.next()?;
    let (op, body) = last.split_once(' ').unwrap_or((last, ""));
    if op.is_empty() || !op.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(LoggedTxn {
        time_text,
        session,
        cxid,
        zxid,
        op: op.to_string(),
        body: body.trim_end_matches('\r').to_string(),
    })
}

/// Seconds since the epoch of `Date.toString()` text in UTC
/// (`Thu Jan 01 00:00:00 UTC 1970`), as `SnapshotFormatter` prints times
/// when run with `-Duser.timezone=UTC`.
pub fn parse_java_date_utc(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_weekday, month, day, time, zone, year] = parts[..] else {
        return None;
    };
    if zone != "UTC" && zone != "GMT" {
        return None;
    }
    let month = month_number(month)?;
    let (h, m, sec) = parse_hms(time)?;
    Some(epoch_secs(
        year.parse().ok()?,
        month,
        day.parse().ok()?,
        h,
        m,
        sec,
    ))
}

/// Seconds since the epoch of en_US short-date long-time text in UTC
/// (`11/23/26, 12:50:22 AM UTC`), as `TxnLogToolkit` prints txn times.
pub fn parse_toolkit_time_utc(s: &str) -> Option<i64> {
    // Newer JDKs put U+202F before AM/PM.
    let normalized = s.replace(['\u{202f}', '\u{a0}'], " ");
    let (date, time) = normalized.split_once(',')?;
    let parts: Vec<&str> = time.split_whitespace().collect();
    let [hms, ampm, zone] = parts[..] else {
        return None;
    };
    if zone != "UTC" && zone != "GMT" {
        return None;
    }
    let d: Vec<&str> = date.trim().split('/').collect();
    let [month, day, year] = d[..] else {
        return None;
    };
    let year: i64 = year.parse().ok()?;
    let year = if year < 100 { 2000 + year } else { year };
    let (mut h, m, sec) = parse_hms(hms)?;
    match ampm {
        "AM" if h == 12 => h = 0,
        "AM" => {}
        "PM" if h == 12 => {}
        "PM" => h += 12,
        _ => return None,
    }
    Some(epoch_secs(
        year,
        month.parse().ok()?,
        day.parse().ok()?,
        h,
        m,
        sec,
    ))
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

fn parse_hms(s: &str) -> Option<(i64, i64, i64)> {
    let p: Vec<&str> = s.split(':').collect();
    let [h, m, sec] = p[..] else {
        return None;
    };
    Some((h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?))
}

/// Days-from-civil (proleptic Gregorian) to epoch seconds.
fn epoch_secs(year: i64, month: u32, day: u32, h: i64, m: i64, s: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + m * 60 + s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT_D: &str = "ZNode Details (count=4):
----
/
  cZxid = 0x00000000000000
  ctime = Thu Jan 01 00:00:00 UTC 1970
  mZxid = 0x00000000000000
  mtime = Thu Jan 01 00:00:00 UTC 1970
  pZxid = 0x00000000000003
  cversion = 1
  dataVersion = 0
  aclVersion = 0
  ephemeralOwner = 0x00000000000000
  data = 
----
/eph
  cZxid = 0x00000000000003
  ctime = Mon Nov 23 00:50:22 UTC 2026
  mZxid = 0x00000000000003
  mtime = Mon Nov 23 00:50:22 UTC 2026
  pZxid = 0x00000000000003
  cversion = 0
  dataVersion = 0
  aclVersion = 0
  ephemeralOwner = 0x1000011c3c80000
  data = aGVsbG8=
----
/ttl
  cZxid = 0x00000000000004
  ctime = Mon Nov 23 00:50:22 UTC 2026
  mZxid = 0x00000000000004
  mtime = Mon Nov 23 00:50:22 UTC 2026
  pZxid = 0x00000000000004
  cversion = 0
  dataVersion = 0
  aclVersion = 0
  ephemeralOwner = 0xff000000000186a0
  data = AP8=
----
Session Details (sid, timeout, ephemeralCount):
0x1000011c3c80000, 30000, 1
0x1000011c3c80001, 4000, 0
Target zxid digest is: 1f, 1234567890123
----
Last zxid: 0x4
";

    #[test]
    fn parses_snapshot_formatter_with_data() {
        let s = parse_snapshot_text(SNAPSHOT_D).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.nodes.len(), 3);
        let eph = s.by_path()["/eph"];
        assert_eq!(eph.ephemeral_owner, 0x1000011c3c80000);
        assert_eq!(eph.data, SnapshotData::Bytes(b"hello".to_vec()));
        assert_eq!(eph.ctime, "Mon Nov 23 00:50:22 UTC 2026");
        let ttl = s.by_path()["/ttl"];
        assert_eq!(ttl.ephemeral_owner, 0xff00_0000_0001_86a0_u64 as i64);
        assert_eq!(ttl.data, SnapshotData::Bytes(vec![0, 0xff]));
        assert_eq!(s.by_path()["/"].data, SnapshotData::Bytes(vec![]));
        assert_eq!(
            s.sessions,
            vec![
                SnapshotSession {
                    id: 0x1000011c3c80000,
                    timeout_ms: 30000,
                    ephemeral_count: 1
                },
                SnapshotSession {
                    id: 0x1000011c3c80001,
                    timeout_ms: 4000,
                    ephemeral_count: 0
                },
            ]
        );
        assert_eq!(s.digest, Some((0x1f, 1234567890123)));
        assert_eq!(s.last_zxid, 4);
    }

    #[test]
    fn served_tree_converts_stats_like_a_server() {
        let tree = parse_snapshot_text(SNAPSHOT_D)
            .unwrap()
            .served_tree()
            .unwrap();
        let root = tree.get("/").unwrap();
        // Stored cversion 1 with two children present: shown as 2*1-2 = 0.
        assert_eq!(root.stat.num_children, 2);
        assert_eq!(root.stat.cversion, 0);
        assert!(root.acl.is_empty());
        let eph = tree.get("/eph").unwrap();
        assert_eq!(eph.stat.ephemeral_owner, 0x1000011c3c80000);
        assert_eq!(eph.stat.ctime, 1_795_395_022_000);
        assert_eq!(eph.stat.data_length, 5);
        // A TTL owner is not shown to clients.
        assert_eq!(tree.get("/ttl").unwrap().stat.ephemeral_owner, 0);
        let plain = SNAPSHOT_D.replace("  data = aGVsbG8=", "  dataLength = 5");
        assert!(parse_snapshot_text(&plain).unwrap().served_tree().is_err());
    }

    #[test]
    fn parses_plain_snapshot_formatter_and_tolerates_spacing() {
        let text = SNAPSHOT_D
            .replace("  data = aGVsbG8=", "\tdataLength=5  ")
            .replace("  data = AP8=", "  dataLength =   2")
            .replace("  data = \n", "  dataLength = 0\n")
            .replace("30000, 1", "30000 ,1");
        let s = parse_snapshot_text(&text).unwrap();
        assert_eq!(s.by_path()["/eph"].data, SnapshotData::Length(5));
        assert_eq!(s.by_path()["/ttl"].data.len(), 2);
        assert_eq!(s.sessions[0].ephemeral_count, 1);
    }

    #[test]
    fn snapshot_parser_rejects_what_it_does_not_know() {
        let wrong_count = SNAPSHOT_D.replace("count=4", "count=3");
        assert!(parse_snapshot_text(&wrong_count)
            .unwrap_err()
            .contains("count=3"));
        let unknown = SNAPSHOT_D.replace(
            "  aclVersion = 0\n  ephemeralOwner = 0x1000011c3c80000",
            "  aclVersion = 0\n  colour = blue\n  ephemeralOwner = 0x1000011c3c80000",
        );
        assert!(parse_snapshot_text(&unknown)
            .unwrap_err()
            .contains("colour"));
        let missing = SNAPSHOT_D.replacen("  pZxid = 0x00000000000003\n", "", 1);
        assert!(parse_snapshot_text(&missing).unwrap_err().contains("pZxid"));
        let bad_b64 = SNAPSHOT_D.replace("aGVsbG8=", "aGVs*G8=");
        assert!(parse_snapshot_text(&bad_b64)
            .unwrap_err()
            .contains("base64"));
        let cut = &SNAPSHOT_D[..SNAPSHOT_D.find("Session").unwrap()];
        assert!(parse_snapshot_text(cut).is_err());
        let trailing = format!("{SNAPSHOT_D}junk\n");
        assert!(parse_snapshot_text(&trailing).unwrap_err().contains("junk"));
    }

    #[test]
    fn base64_round_trips_java_encodings() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("AAEC/w==").unwrap(), vec![0, 1, 2, 255]);
        assert!(base64_decode("YQ=").is_err());
        assert!(base64_decode("YQ==YWJj").is_err());
    }

    #[test]
    fn parses_snapshot_json_into_paths() {
        let text = r#"[1,0,{"progname":"SnapshotFormatter.java","progver":"0.01","timestamp":1},[{"name":"/","asize":0,"dsize":0,"dev":0,"ino":1001},[{"name":"zookeeper","asize":0,"dsize":0,"dev":0,"ino":1002},{"name":"config","asize":0,"dsize":0,"dev":0,"ino":1003}],{"name":"a","asize":5,"dsize":5,"dev":0,"ino":1004}]]"#;
        let nodes = parse_snapshot_json(text).unwrap();
        let paths: Vec<(&str, u64)> = nodes.iter().map(|n| (n.path.as_str(), n.size)).collect();
        assert_eq!(
            paths,
            vec![
                ("/", 0),
                ("/zookeeper", 0),
                ("/zookeeper/config", 0),
                ("/a", 5)
            ]
        );
        assert!(parse_snapshot_json("[1,0]").is_err());
    }

    const TXNLOG: &str = "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2
11/23/26, 12:50:22 AM UTC session 0x1000011c3c80000 cxid 0x0 zxid 0x1 createSession 30000
11/23/26, 12:50:22 AM UTC session 0x1000011c3c80000 cxid 0x1 zxid 0x2 create /a,hello,[31,s{'world,'anyone}
],false,1
11/23/26, 12:50:22 PM UTC session 0x1000011c3c80000 cxid 0xc zxid 0xd setData /a,line1
line2\r,1
11/23/26, 12:50:22 PM UTC session 0x1000011c3c80000 cxid 0xd zxid 0xe delete '/a/b
11/23/26, 12:50:23 PM UTC session 0xffffffffffffffff cxid 0xffffffffffffffff zxid 0xf closeSession 
EOF reached after 5 txns.
";

    #[test]
    fn parses_txn_log_toolkit_dump() {
        let t = parse_txn_log_text(TXNLOG).unwrap();
        assert_eq!((t.dbid, t.format_version, t.eof_after), (0, 2, 5));
        assert_eq!(t.txns.len(), 5);
        let create = &t.txns[1];
        assert_eq!(create.op, "create");
        assert_eq!(create.zxid, 2);
        assert_eq!(create.cxid, 1);
        assert_eq!(create.session, 0x1000011c3c80000);
        assert_eq!(create.body, "/a,hello,[31,s{'world,'anyone}\n],false,1");
        assert_eq!(t.txns[0].body, "30000");
        assert_eq!(t.txns[2].body, "/a,line1\nline2\r,1");
        assert_eq!(t.txns[3].body, "'/a/b");
        assert_eq!(t.txns[4].op, "closeSession");
        assert_eq!(t.txns[4].body, "");
        assert_eq!(t.txns[4].session, -1);
        assert_eq!(t.txns[4].cxid, -1);
        assert_eq!(t.txns[0].time_text, "11/23/26, 12:50:22 AM UTC");
        assert!(t.crc_errors.is_empty());
    }

    #[test]
    fn txn_log_parser_is_strict_about_counts_and_headers() {
        let wrong = TXNLOG.replace("after 5 txns", "after 6 txns");
        assert!(parse_txn_log_text(&wrong).unwrap_err().contains("6"));
        let cut = TXNLOG.replace("EOF reached after 5 txns.\n", "");
        assert!(parse_txn_log_text(&cut).unwrap_err().contains("EOF"));
        assert!(parse_txn_log_text("hello\n").is_err());
        let crc = TXNLOG.replace(
            "11/23/26, 12:50:22 PM UTC session 0x1000011c3c80000 cxid 0xd",
            "CRC ERROR - 11/23/26, 12:50:22 PM UTC session 0x1000011c3c80000 cxid 0xd zxid 0xe delete '/a/b\n11/23/26, 12:50:22 PM UTC session 0x1000011c3c80000 cxid 0xd",
        );
        let t = parse_txn_log_text(&crc).unwrap();
        assert_eq!(t.crc_errors.len(), 1);
        assert_eq!(t.crc_errors[0].zxid, 0xe);
        assert_eq!(t.txns.len(), 5);
    }

    #[test]
    fn java_times_parse_to_epoch_seconds() {
        assert_eq!(parse_java_date_utc("Thu Jan 01 00:00:00 UTC 1970"), Some(0));
        assert_eq!(
            parse_java_date_utc("Mon Nov 23 00:50:22 UTC 2026"),
            Some(1_795_395_022)
        );
        assert_eq!(parse_java_date_utc("Mon Nov 23 00:50:22 CET 2026"), None);
        assert_eq!(
            parse_toolkit_time_utc("11/23/26, 12:50:22 AM UTC"),
            Some(1_795_395_022)
        );
        assert_eq!(
            parse_toolkit_time_utc("11/23/26, 12:50:22\u{202f}PM UTC"),
            Some(1_795_395_022 + 12 * 3600)
        );
        assert_eq!(
            parse_toolkit_time_utc("2/29/24, 11:59:59 PM UTC"),
            Some(1_709_251_199)
        );
    }
}
