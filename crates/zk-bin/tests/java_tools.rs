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
