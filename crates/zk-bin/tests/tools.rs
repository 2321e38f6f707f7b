//! The data-directory tools run as a binary on files zk-persistence wrote:
//! snapshot-dump, txnlog-dump (also on damaged logs), purge, and help.

mod common;

use common::*;

#[test]
fn snapshot_dump_lists_nodes_stats_data_and_sessions() {
    let dir = TempDir::new("snap");
    let files = write_data_dir(&dir.0);
    let snap = files.snapshot.to_str().unwrap();
    let text = stdout(&zk_bin(&["snapshot-dump", "-d", snap]));
    // 47 znodes plus Java's double count of the root.
    assert!(
        text.starts_with("ZNode Details (count=48):\n----\n/\n"),
        "{text}"
    );
    let paths: Vec<&str> = text.lines().filter(|l| l.starts_with('/')).collect();
    assert_eq!(paths.len(), 47, "{paths:?}");
    assert!(text.contains("\n/deep/a/b/c\n  cZxid = "), "{text}");
    assert!(text.contains("  data = AAH+/w==\n"), "{text}");
    assert!(
        text.contains("----\n/app/eph\n  cZxid = 0x00000000000017\n"),
        "{text}"
    );
    assert!(
        text.contains("  ephemeralOwner = 0x1000000000000abc\n"),
        "{text}"
    );
    // Each session once, with its timeout and ephemeral count.
    let sessions = text
        .split("Session Details (sid, timeout, ephemeralCount):\n")
        .nth(1)
        .unwrap();
    let lines: Vec<&str> = sessions.lines().take_while(|l| *l != "----").collect();
    assert_eq!(lines.len(), SESSIONS, "{sessions}");
    assert!(
        lines.contains(&"0x1000000000000abc, 30000, 1"),
        "{sessions}"
    );
    assert!(
        lines.contains(&"0x1000030000030abf, 33000, 1"),
        "{sessions}"
    );
    let snap_zxid = files.snapshot.extension().unwrap().to_str().unwrap();
    assert!(
        text.ends_with(&format!("----\nLast zxid: 0x{snap_zxid}\n")),
        "{text}"
    );

    // Without -d, lengths instead of data.
    let text = stdout(&zk_bin(&["snapshot-dump", snap]));
    assert!(text.contains("\n/app/ünï,cödé}\n"), "{text}");
    assert!(text.contains("  dataLength = 4\n"), "{text}");
    assert!(!text.contains("  data = "), "{text}");
}

#[test]
fn snapshot_dump_json_is_a_nested_ncdu_tree() {
    let dir = TempDir::new("json");
    let files = write_data_dir(&dir.0);
    let json = stdout(&zk_bin(&[
        "snapshot-dump",
        "--json",
        files.snapshot.to_str().unwrap(),
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v[0], 1);
    assert_eq!(v[2]["progname"], "SnapshotFormatter.java");
    let root = &v[3];
    assert_eq!(root[0]["name"], "/");
    assert_eq!(root[0]["ino"], 1001);
    // Every znode once, with distinct inodes.
    fn walk(v: &serde_json::Value, names: &mut Vec<String>, inodes: &mut Vec<u64>) {
        match v {
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, names, inodes)),
            serde_json::Value::Object(o) => {
                names.push(o["name"].as_str().unwrap().to_string());
                inodes.push(o["ino"].as_u64().unwrap());
            }
            _ => panic!("unexpected {v}"),
        }
    }
    let (mut names, mut inodes) = (Vec::new(), Vec::new());
    walk(root, &mut names, &mut inodes);
    assert_eq!(names.len(), 47);
    assert!(
        names.contains(&"q\"uote\\ ctl\u{1f}".to_string()),
        "{names:?}"
    );
    assert!(json.contains("q\\\"uote\\\\ ctl\\u001F"), "{json}");
    inodes.sort();
    inodes.dedup();
    assert_eq!(inodes.len(), 47);
    assert!(!json.ends_with('\n'));
}

#[test]
fn snapshot_dump_refuses_bad_arguments_and_files() {
    let out = zk_bin(&["snapshot-dump", "-d", "-json", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Cannot specify both"),
        "{}",
        stderr(&out)
    );
    let out = zk_bin(&["snapshot-dump"]);
    assert!(stderr(&out).contains("usage: zk-bin snapshot-dump"));

    let dir = TempDir::new("badsnap");
    let bad = dir.0.join("snapshot.5");
    std::fs::write(&bad, b"not a snapshot at all").unwrap();
    let out = zk_bin(&["snapshot-dump", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("snapshot.5"), "{}", stderr(&out));
    assert!(stderr(&out).contains("magic"), "{}", stderr(&out));
    let gz = dir.0.join("snapshot.5.gz");
    std::fs::write(&gz, b"\x1f\x8b").unwrap();
    let out = zk_bin(&["snapshot-dump", gz.to_str().unwrap()]);
    assert!(stderr(&out).contains("compressed"), "{}", stderr(&out));
}

#[test]
fn txnlog_dump_lists_every_txn() {
    let dir = TempDir::new("log");
    let files = write_data_dir(&dir.0);
    let text = stdout(&zk_bin(&["txnlog-dump", files.log.to_str().unwrap()]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2"
    );
    assert_eq!(
        lines[1],
        "11/23/26, 2:14:21 AM UTC session 0x1000000000000abc cxid 0x0 zxid 0x1 createSession 30000"
    );
    assert!(
        text.contains(" cxid 0xfffffffffffffffe zxid 0x3 createSession 32000\n"),
        "{text}"
    );
    assert!(
        text.contains(" create /app,hello, world,[31,s{'world,'anyone}\n],false,-1\n"),
        "{text}"
    );
    assert!(text.contains(" delete '/pct%25%2C%7D%0A\n"), "{text}");
    assert!(text.contains(" setData /app,,2\n"), "{text}");
    assert!(
        text.contains(" setACL '/c2,v{s{17,s{'digest,'user:abc%2Cdef=}}},1\n"),
        "{text}"
    );
    assert!(
        text.contains(" createTtl /ttl,,[31,s{'world,'anyone}\n],8,5000\n"),
        "{text}"
    );
    assert!(text.contains(" error -101\n"), "{text}");
    assert!(
        text.contains(" closeSession v{'/app/eph2,'/x%2Cy}\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(" zxid 0x{:x} closeSession \n", files.txns)),
        "{text}"
    );
    assert_eq!(
        *lines.last().unwrap(),
        format!("EOF reached after {} txns.", files.txns)
    );
}

#[test]
fn damaged_log_entry_is_reported_with_its_offset() {
    let dir = TempDir::new("damage");
    let files = write_data_dir(&dir.0);
    let mut bytes = std::fs::read(&files.log).unwrap();
    let offsets = log_entry_offsets(&bytes);
    // An absurd length in the third entry.
    let at = offsets[2];
    bytes[at + 8..at + 12].copy_from_slice(&0x7fff_fff0_i32.to_be_bytes());
    std::fs::write(&files.log, &bytes).unwrap();
    let out = zk_bin(&["txnlog-dump", files.log.to_str().unwrap()]);
    // 1, as the toolkit exits on its "Unreasonable length" exception.
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("entry at offset {at}")), "{err}");
    assert!(err.contains("log.1"), "{err}");
    // What came before the damage was printed.
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn crc_errors_are_flagged_and_located() {
    let dir = TempDir::new("crc");
    let files = write_data_dir(&dir.0);
    let mut bytes = std::fs::read(&files.log).unwrap();
    let hello = bytes.windows(5).position(|w| w == b"hello").unwrap();
    bytes[hello] = b'j';
    std::fs::write(&files.log, &bytes).unwrap();
    let at = log_entry_offsets(&bytes)
        .into_iter()
        .rev()
        .find(|&o| o < hello)
        .unwrap();
    let out = zk_bin(&["txnlog-dump", files.log.to_str().unwrap()]);
    let text = stdout(&out);
    let bad = text
        .lines()
        .find(|l| l.contains("/app,jello") && !l.starts_with("CRC"))
        .expect("the damaged txn is still printed");
    // The ACL list ends its first line, as in the toolkit.
    let rest = "],false,-1";
    assert!(
        text.contains(&format!("CRC ERROR - {bad}\n{rest}\n{bad}\n{rest}\n")),
        "{text}"
    );
    assert_eq!(text.matches("CRC ERROR").count(), 1);
    assert!(
        stderr(&out).contains(&format!("CRC error in the entry at offset {at}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_log_cut_inside_an_entry_ends_like_eof() {
    let dir = TempDir::new("cut");
    let files = write_data_dir(&dir.0);
    let bytes = std::fs::read(&files.log).unwrap();
    let offsets = log_entry_offsets(&bytes);
    std::fs::write(&files.log, &bytes[..offsets[5] + 20]).unwrap();
    let text = stdout(&zk_bin(&["txnlog-dump", files.log.to_str().unwrap()]));
    assert!(text.ends_with("\nEOF reached after 5 txns.\n"), "{text}");
}

#[test]
fn txnlog_dump_refuses_a_snapshot() {
    let dir = TempDir::new("notlog");
    let files = write_data_dir(&dir.0);
    let out = zk_bin(&["txnlog-dump", files.snapshot.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Invalid magic number"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn purge_keeps_the_newest_and_lists_what_it_removes() {
    let dir = TempDir::new("purge");
    write_snapshots(&dir.0);
    let d = dir.0.to_str().unwrap();
    let v2 = dir.0.join("version-2");
    for (count, why) in [
        ("2", "greater than or equal to 3"),
        ("x", "can not be parsed"),
    ] {
        let out = zk_bin(&["purge", d, "-n", count]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }
    let out = zk_bin(&["purge", "/no/such/dir", "-n", "3"]);
    assert!(stderr(&out).contains("Path '/no/such/dir' does not exist."));

    let text = stdout(&zk_bin(&["purge", d, d, "-n", "3"]));
    let mut removed: Vec<&str> = text
        .lines()
        .map(|l| {
            assert!(l.starts_with("Removing file: "), "{l}");
            let (when, path) = l["Removing file: ".len()..].split_once('\t').unwrap();
            assert!(when.ends_with(" AM") || when.ends_with(" PM"), "{when}");
            path
        })
        .collect();
    removed.sort();
    let expect: Vec<String> = ["log.1", "log.2", "snapshot.1", "snapshot.2"]
        .iter()
        .map(|f| v2.join(f).display().to_string())
        .collect();
    assert_eq!(removed, expect);
    for kept in [
        "snapshot.3",
        "snapshot.4",
        "snapshot.5",
        "log.3",
        "log.4",
        "log.5",
    ] {
        assert!(v2.join(kept).exists(), "{kept} kept");
    }
    assert!(!v2.join("snapshot.2").exists());
    // Nothing more to do: no output.
    assert_eq!(stdout(&zk_bin(&["purge", d, "-n", "3"])), "");
}

#[test]
fn help_describes_every_mode() {
    for arg in ["help", "--help", "-h"] {
        let text = stdout(&zk_bin(&[arg]));
        for mode in [
            "zk-bin [CFG]",
            "snapshot-dump",
            "txnlog-dump",
            "txnlog-dump -r",
            "txnlog-dump -c -z ZXID",
            "snapshot-compare -l LEFT -r RIGHT -b BYTES -n NODES",
            "snapshot-summary FILE NODE MAX_DEPTH",
            "purge",
            "RUST_LOG",
        ] {
            assert!(text.contains(mode), "{arg}: {mode} missing from\n{text}");
        }
    }
    let out = zk_bin(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown option --bogus"));
}
