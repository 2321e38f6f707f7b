//! The reverse acceptance check: Apache ZooKeeper 3.8's own tools
//! (SnapshotFormatter, TxnLogToolkit) read the files zk-persistence wrote
//! and print exactly what our tools print for them, line for line. Skipped,
//! with a "skipped: ..." line, where Java or Debian's zookeeper packages
//! are missing.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The Java classpath of Debian's Apache ZooKeeper 3.8 packages, or why
/// it cannot be used here.
fn java_classpath() -> Result<String, String> {
    let java = Command::new("java").arg("-version").output();
    if !matches!(java, Ok(ref o) if o.status.success()) {
        return Err("no working java on PATH".into());
    }
    let share = Path::new("/usr/share/java");
    let mut cp = Vec::new();
    for jar in ["zookeeper", "zookeeper-jute"] {
        let p = share.join(format!("{jar}.jar"));
        if !p.exists() {
            return Err(format!(
                "{} is missing (Debian package zookeeper)",
                p.display()
            ));
        }
        cp.push(p);
    }
    // What the two tools load: logging (slf4j, bound to nothing), the
    // command-line parser, Jackson for -json, and what ZooKeeper's static
    // initializers touch.
    for jar in [
        "slf4j-api",
        "slf4j-nop",
        "commons-cli",
        "commons-io",
        "jackson-annotations",
        "jackson-core",
        "jackson-databind",
        "metrics-core",
        "netty-buffer",
        "netty-codec",
        "netty-common",
        "netty-handler",
        "netty-resolver",
        "netty-transport",
        "snappy-java",
    ] {
        let p = share.join(format!("{jar}.jar"));
        if p.exists() {
            cp.push(p);
        }
    }
    Ok(cp
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":"))
}

/// Runs a tool in the zone and locale our tools print in.
fn java_tool(cp: &str, class: &str, args: &[&str]) -> String {
    let out = Command::new("java")
        .args([
            "-cp",
            cp,
            "-Duser.timezone=UTC",
            "-Duser.language=en",
            "-Duser.country=US",
            class,
        ])
        .args(args)
        .output()
        .expect("java runs");
    assert!(
        out.status.success(),
        "{class} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ours(args: &[&str]) -> String {
    let out = zk_bin(args);
    assert!(out.status.success(), "zk-bin {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Line by line, so that a difference shows where it is.
fn assert_same(what: &str, ours: &str, theirs: &str) {
    let (o, t): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    for (i, (a, b)) in o.iter().zip(&t).enumerate() {
        assert_eq!(a, b, "{what}: line {} differs", i + 1);
    }
    assert_eq!(
        o.len(),
        t.len(),
        "{what}: line counts differ\nours:\n{ours}\ntheirs:\n{theirs}"
    );
    assert_eq!(ours, theirs, "{what}: line ends differ");
}

/// The ncdu header carries the time of the run.
fn without_timestamp(json: &str) -> String {
    let start = json.find("\"timestamp\":").expect("a timestamp");
    let end = start + json[start..].find('}').unwrap();
    format!("{}{}", &json[..start], &json[end..])
}

#[test]
fn java_tools_print_the_same_as_ours_for_files_zk_persistence_wrote() {
    let cp = match java_classpath() {
        Ok(cp) => cp,
        Err(why) => {
            println!("skipped: Apache ZooKeeper's tools are not available: {why}");
            return;
        }
    };
    let dir = TempDir::new("java");
    let files = write_data_dir(&dir.0);
    let (snap, log) = (
        files.snapshot.to_str().unwrap(),
        files.log.to_str().unwrap(),
    );
    const FORMATTER: &str = "org.apache.zookeeper.server.SnapshotFormatter";
    const TOOLKIT: &str = "org.apache.zookeeper.server.persistence.TxnLogToolkit";

    for flags in [&["-d"][..], &[]] {
        let theirs = java_tool(&cp, FORMATTER, &[flags, &[snap]].concat());
        let mine = ours(&[&["snapshot-dump"], flags, &[snap]].concat());
        assert_same(&format!("snapshot {flags:?}"), &mine, &theirs);
    }
    let theirs = java_tool(&cp, FORMATTER, &["-json", snap]);
    let mine = ours(&["snapshot-dump", "--json", snap]);
    assert_eq!(without_timestamp(&mine), without_timestamp(&theirs));

    let theirs = java_tool(&cp, TOOLKIT, &["--dump", log]);
    assert_same("txn log", &ours(&["txnlog-dump", log]), &theirs);

    // A damaged checksum: both flag the entry, then print it.
    let mut bytes = std::fs::read(&files.log).unwrap();
    let hello = bytes.windows(5).position(|w| w == b"hello").unwrap();
    bytes[hello] = b'j';
    let offsets = log_entry_offsets(&bytes);
    std::fs::write(&files.log, &bytes).unwrap();
    let theirs = java_tool(&cp, TOOLKIT, &["--dump", log]);
    assert!(theirs.contains("CRC ERROR - "), "{theirs}");
    assert_same("log with a bad CRC", &ours(&["txnlog-dump", log]), &theirs);

    // Cut inside an entry: both stop there as at the end of the log.
    std::fs::write(&files.log, &bytes[..offsets[7] + 30]).unwrap();
    let theirs = java_tool(&cp, TOOLKIT, &["--dump", log]);
    assert!(theirs.ends_with("EOF reached after 7 txns.\n"), "{theirs}");
    assert_same("cut log", &ours(&["txnlog-dump", log]), &theirs);
}

#[test]
fn java_purge_and_ours_remove_the_same_files() {
    let cp = match java_classpath() {
        Ok(cp) => cp,
        Err(why) => {
            println!("skipped: Apache ZooKeeper's tools are not available: {why}");
            return;
        }
    };
    let (theirs_dir, ours_dir) = (TempDir::new("purge-java"), TempDir::new("purge-ours"));
    write_snapshots(&theirs_dir.0);
    write_snapshots(&ours_dir.0);
    // Both lists, as file names, with the "Removing file: <date>\t" layout
    // checked on the way.
    let removed = |text: &str| -> Vec<String> {
        let mut names: Vec<String> = text
            .lines()
            .map(|l| {
                let rest = l.strip_prefix("Removing file: ").expect(l);
                let (_, path) = rest.split_once('\t').expect(l);
                Path::new(path)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    };
    let d = theirs_dir.0.to_str().unwrap();
    let theirs = java_tool(
        &cp,
        "org.apache.zookeeper.server.PurgeTxnLog",
        &[d, d, "-n", "3"],
    );
    let d = ours_dir.0.to_str().unwrap();
    let mine = ours(&["purge", d, d, "-n", "3"]);
    assert_eq!(
        removed(&mine),
        removed(&theirs),
        "ours:\n{mine}\ntheirs:\n{theirs}"
    );
    assert_eq!(removed(&mine).len(), 4);
    // The same layout, down to the date format, once paths are aligned.
    let mine_lines: Vec<String> = mine.lines().map(|l| l.replace(d, "DIR")).collect();
    let theirs_lines: Vec<String> = theirs
        .lines()
        .map(|l| l.replace(theirs_dir.0.to_str().unwrap(), "DIR"))
        .collect();
    for line in &mine_lines {
        let name = line.rsplit('/').next().unwrap();
        let twin = theirs_lines
            .iter()
            .find(|t| t.ends_with(&format!("/{name}")))
            .unwrap();
        // Same layout; the modification times may differ by a second.
        // (each run of digits as one 9, AM/PM as one word).
        let shape = |s: &str| {
            let mut out = String::new();
            for c in s.replace(" PM", " AM").chars() {
                if !c.is_ascii_digit() {
                    out.push(c);
                } else if !out.ends_with('9') {
                    out.push('9');
                }
            }
            out
        };
        assert_eq!(shape(line), shape(twin));
    }
}
