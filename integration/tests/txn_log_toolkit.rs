//! `zk-bin txnlog-dump`'s recover and chop modes against Apache ZooKeeper
//! 3.8's `TxnLogToolkit` on the same files:
//!
//! - a txn log zk-bin wrote (a session, creates with data, setData, kill
//!   -9), and then one Apache wrote of the same, gets one byte of a
//!   middle record's data flipped; `-r -y` of both
//!   tools, each on its own copy, must write byte-identical `.fixed` files
//!   (with 3.8's 64 MB preallocation) and print the same lines; zk-bin
//!   then starts on the repaired data directory and serves every node,
//!   the damaged one with the flipped byte (recovery fixes the checksum,
//!   not the data);
//! - `-c -z ZXID` of both, at a zxid in the middle and at one past the
//!   end, must write identical `.chopped<ZXID>` files and print the same
//!   lines;
//! - answering `No` keeps the bad checksum, `Abort` stops with status 0;
//!   a missing file, a file that is not a log, and an existing `.fixed`
//!   give both tools' exit statuses.
//!
//! Without Java or the Apache jars it prints `skipped: ...` and passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use integration::apache::{run_bounded, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::tool_output::parse_txn_log_text;
use integration::workload::connect;
use integration::zk_bin::{zk_bin, ZkBinServer};
use zookeeper_client::{Acls, CreateMode};

const BOUND: Duration = Duration::from_secs(60);
const CREATES: usize = 20;
/// The node whose data gets the flipped byte (one never set again).
const DAMAGED: &str = "/d/n0011";
const TOOLKIT: &str = "org.apache.zookeeper.server.persistence.TxnLogToolkit";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A data directory zk-bin (or, given `apache`, Apache 3.8) wrote and was
/// killed on: `/d`, CREATES children with 100 bytes of `v` each, every
/// fifth set to `w`s.
fn written(apache: Option<&ApacheZk>, work: &TempDir, port: u16) {
    let mut kill: Box<dyn FnMut()> = match apache {
        None => {
            let mut server = ZkBinServer::start(work, port, "preAllocSize=64").unwrap();
            Box::new(move || server.kill_9())
        }
        Some(zk) => {
            let mut cfg = ServerConfig::new(work.path(), &work.join("data"), port);
            cfg.pre_alloc_kb = 64;
            let mut server = zk.start(&cfg).unwrap();
            Box::new(move || {
                server.kill().unwrap();
            })
        }
    };
    rt().block_on(async {
        let c = connect(&format!("127.0.0.1:{port}"), &[], None, false, BOUND)
            .await
            .unwrap();
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        c.create("/d", b"", &all).await.unwrap();
        for i in 0..CREATES {
            c.create(&format!("/d/n{i:04}"), &[b'v'; 100], &all)
                .await
                .unwrap();
        }
        for i in (0..CREATES).step_by(5) {
            c.set_data(&format!("/d/n{i:04}"), &[b'w'; 100], None)
                .await
                .unwrap();
        }
    });
    kill();
}

fn version2(work: &TempDir) -> PathBuf {
    work.join("data").join("version-2")
}

/// The one txn log of a data directory.
fn the_log(work: &TempDir) -> PathBuf {
    let logs: Vec<PathBuf> = std::fs::read_dir(version2(work))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("log."))
        .collect();
    assert_eq!(logs.len(), 1, "one txn log expected: {logs:?}");
    logs[0].clone()
}

/// Flips a byte in the middle of DAMAGED's data in its create record.
fn flip_a_data_byte(log: &Path) {
    let mut bytes = std::fs::read(log).unwrap();
    let path = DAMAGED.as_bytes();
    let at = bytes
        .windows(path.len())
        .position(|w| w == path)
        .unwrap_or_else(|| panic!("{DAMAGED} not in {}", log.display()));
    // The path, then the data's 4-byte length, then the data.
    let byte = at + path.len() + 4 + 50;
    assert_eq!(
        bytes[byte], b'v',
        "the create of {DAMAGED} carries its data here"
    );
    bytes[byte] = b'V';
    std::fs::write(log, bytes).unwrap();
}

struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn finish(cmd: Command, what: &str) -> Ran {
    let (status, out, err) = run_bounded(cmd, BOUND).unwrap_or_else(|e| panic!("{what}: {e}"));
    Ran {
        status,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Apache's toolkit with stable text settings (dates in UTC, US English).
fn apache(zk: &ApacheZk, args: &[&str], stdin: Stdio) -> Ran {
    apache_with(zk, None, args, stdin)
}

/// `apache` with `-Dzookeeper.preAllocSize=KB` when given.
fn apache_with(zk: &ApacheZk, prealloc_kb: Option<&str>, args: &[&str], stdin: Stdio) -> Ran {
    let mut cmd = Command::new(zk.java_path());
    if let Some(kb) = prealloc_kb {
        cmd.arg(format!("-Dzookeeper.preAllocSize={kb}"));
    }
    cmd.args(["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .args([
            "-Duser.timezone=UTC",
            "-Duser.language=en",
            "-Duser.country=US",
        ])
        .args(["-Dfile.encoding=UTF-8", "-Dsun.stdout.encoding=UTF-8"])
        .arg("-Dlog4j.configuration=file:/dev/null")
        .arg("-cp")
        .arg(zk.classpath())
        .arg(TOOLKIT)
        .args(args)
        .env("TZ", "UTC")
        .stdin(stdin);
    finish(cmd, &format!("TxnLogToolkit {}", args.join(" ")))
}

fn ours(args: &[&str], stdin: Stdio) -> Ran {
    ours_with(None, args, stdin)
}

/// `ours` with `JVMFLAGS=-Dzookeeper.preAllocSize=KB` when given, as
/// zkTxnLogToolkit.sh passes JVMFLAGS to the JVM.
fn ours_with(prealloc_kb: Option<&str>, args: &[&str], stdin: Stdio) -> Ran {
    let mut cmd = Command::new(zk_bin().unwrap());
    cmd.arg("txnlog-dump").args(args).stdin(stdin);
    match prealloc_kb {
        Some(kb) => cmd.env("JVMFLAGS", format!("-Dzookeeper.preAllocSize={kb}")),
        None => cmd.env_remove("JVMFLAGS"),
    };
    finish(cmd, &format!("zk-bin txnlog-dump {}", args.join(" ")))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh copy of `file` in a directory of its own, same name.
fn copy_into(file: &Path, dir: &TempDir) -> PathBuf {
    let to = dir.join(file.file_name().unwrap());
    std::fs::copy(file, &to).unwrap();
    to
}

/// Asserts two files are equal without printing 64 MB on failure.
fn assert_same_bytes(ours: &Path, theirs: &Path) {
    let (a, b) = (std::fs::read(ours).unwrap(), std::fs::read(theirs).unwrap());
    assert_eq!(
        a.len(),
        b.len(),
        "{} and {} differ in length",
        ours.display(),
        theirs.display()
    );
    if let Some(i) = a.iter().zip(&b).position(|(x, y)| x != y) {
        panic!(
            "{} and {} differ first at offset {i}: {:#04x} vs {:#04x}",
            ours.display(),
            theirs.display(),
            a[i],
            b[i]
        );
    }
}

/// stdout with the one thing that must differ, the directory each copy is
/// in, replaced.
fn without_dir(text: &str, dir: &Path) -> String {
    text.replace(s(dir), "<dir>")
}

#[test]
fn recover_and_chop_match_apache_byte_for_byte() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    // One after the other: a log zk-bin wrote, then one Apache wrote.
    recover_and_chop(&zk, false);
    recover_and_chop(&zk, true);
}

fn recover_and_chop(zk: &ApacheZk, apache_writes: bool) {
    println!(
        "--- a txn log written by {}",
        if apache_writes { "Apache" } else { "zk-bin" }
    );
    let work = TempDir::new("zk-toolkit").unwrap();
    let port = free_port().unwrap();
    written(apache_writes.then_some(zk), &work, port);
    let log = the_log(&work);
    flip_a_data_byte(&log);

    // Recover: each tool on its own copy.
    let (mine, theirs) = (
        TempDir::new("zk-fix-ours").unwrap(),
        TempDir::new("zk-fix-apache").unwrap(),
    );
    let (my_log, their_log) = (copy_into(&log, &mine), copy_into(&log, &theirs));
    let got = ours(&["-r", "-y", s(&my_log)], Stdio::null());
    let want = apache(zk, &["-r", "-y", s(&their_log)], Stdio::null());
    assert!(want.status.success(), "Apache: {}", want.stderr);
    assert!(got.status.success(), "zk-bin: {}", got.stderr);
    println!("zk-bin -r -y printed:\n{}", got.stdout);
    assert_eq!(
        without_dir(&got.stdout, mine.path()),
        without_dir(&want.stdout, theirs.path())
    );
    assert!(got.stdout.contains("CRC FIXED - "), "{}", got.stdout);
    assert!(
        got.stdout.contains("with 1 fixed CRC error(s)"),
        "{}",
        got.stdout
    );
    let fixed = PathBuf::from(format!("{}.fixed", s(&my_log)));
    assert_same_bytes(&fixed, Path::new(&format!("{}.fixed", s(&their_log))));

    // Verbose, and a 1 KB preallocation: the file grows before nearly
    // every entry, through both of FilePadding's cases.
    let (mine_v, theirs_v) = (
        TempDir::new("zk-fix-v-ours").unwrap(),
        TempDir::new("zk-fix-v-apache").unwrap(),
    );
    let (my_log_v, their_log_v) = (copy_into(&log, &mine_v), copy_into(&log, &theirs_v));
    let got = ours_with(Some("1"), &["-r", "-y", "-v", s(&my_log_v)], Stdio::null());
    let want = apache_with(
        zk,
        Some("1"),
        &["-r", "-y", "-v", s(&their_log_v)],
        Stdio::null(),
    );
    assert!(
        got.status.success() && want.status.success(),
        "{}\n{}",
        got.stderr,
        want.stderr
    );
    assert_eq!(
        without_dir(&got.stdout, mine_v.path()),
        without_dir(&want.stdout, theirs_v.path())
    );
    assert_eq!(
        got.stdout
            .lines()
            .filter(|l| l.contains(" zxid 0x"))
            .count(),
        27,
        "every entry and the fixed one again: {}",
        got.stdout
    );
    let fixed_v = format!("{}.fixed", s(&my_log_v));
    assert_same_bytes(
        Path::new(&fixed_v),
        Path::new(&format!("{}.fixed", s(&their_log_v))),
    );
    let size = std::fs::metadata(&fixed_v).unwrap().len();
    println!("the .fixed file with preAllocSize=1: {size} bytes");

    // The repaired log dumps clean and the server starts on it.
    let dump = ours(&[s(&fixed)], Stdio::null());
    assert!(dump.status.success(), "{}", dump.stderr);
    assert!(!dump.stdout.contains("CRC ERROR"), "{}", dump.stdout);
    std::fs::rename(&fixed, &log).unwrap();
    let mut server = ZkBinServer::start(&work, port, "preAllocSize=64")
        .unwrap_or_else(|e| panic!("zk-bin does not start on the repaired log: {e}"));
    let (children, data) = rt().block_on(async {
        let c = connect(&format!("127.0.0.1:{port}"), &[], None, false, BOUND)
            .await
            .unwrap();
        let children = c.list_children("/d").await.unwrap().len();
        (children, c.get_data(DAMAGED).await.unwrap().0)
    });
    server.kill_9();
    assert_eq!(children, CREATES);
    let mut expected = vec![b'v'; 100];
    expected[50] = b'V';
    assert_eq!(data, expected, "the repaired record keeps the flipped byte");

    // Chop the repaired log at a zxid in its middle, then at one past it.
    let txns = parse_txn_log_text(&dump.stdout).unwrap().txns;
    let middle = txns[txns.len() / 2].zxid;
    let past = txns.last().unwrap().zxid + 10;
    for (zxid, works) in [(middle, true), (past, false)] {
        let (mine, theirs) = (
            TempDir::new("zk-chop-ours").unwrap(),
            TempDir::new("zk-chop-apache").unwrap(),
        );
        let (my_log, their_log) = (copy_into(&log, &mine), copy_into(&log, &theirs));
        let arg = format!("{zxid:#x}");
        let got = ours(&["-c", "-z", &arg, s(&my_log)], Stdio::null());
        let want = apache(zk, &["-c", "-z", &arg, s(&their_log)], Stdio::null());
        println!("zk-bin -c -z {arg} printed:\n{}", got.stdout);
        assert_eq!(got.status.code(), want.status.code(), "{}", got.stderr);
        assert_eq!(got.stdout, want.stdout);
        assert_eq!(got.stdout.contains("Chopping at"), works, "{}", got.stdout);
        let name = format!(
            "{}.chopped{zxid}",
            my_log.file_name().unwrap().to_str().unwrap()
        );
        assert_same_bytes(&mine.join(&name), &theirs.join(&name));
    }
}

#[test]
fn interactive_answers_and_exit_statuses() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let work = TempDir::new("zk-toolkit-ask").unwrap();
    written(None, &work, free_port().unwrap());
    let log = the_log(&work);
    flip_a_data_byte(&log);

    // "no": the copy keeps the damaged checksum, as Apache's does.
    let (mine, theirs) = (
        TempDir::new("zk-ask-ours").unwrap(),
        TempDir::new("zk-ask-apache").unwrap(),
    );
    let (my_log, their_log) = (copy_into(&log, &mine), copy_into(&log, &theirs));
    let answer = |text: &str| {
        let dir = TempDir::new("zk-answer").unwrap();
        let path = dir.join("answers");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        (dir, std::fs::File::open(path).unwrap())
    };
    let (_a, input) = answer("maybe no\n");
    let got = ours(&["-r", s(&my_log)], Stdio::from(input));
    let (_b, input) = answer("maybe no\n");
    let want = apache(&zk, &["-r", s(&their_log)], Stdio::from(input));
    assert!(
        got.status.success() && want.status.success(),
        "{}\n{}",
        got.stderr,
        want.stderr
    );
    assert_eq!(
        without_dir(&got.stdout, mine.path()),
        without_dir(&want.stdout, theirs.path())
    );
    assert!(
        got.stdout.contains("(Yes/No/Abort) ? Would you like"),
        "asks again after 'maybe': {}",
        got.stdout
    );
    assert!(
        got.stdout.contains("with 0 fixed CRC error(s)"),
        "{}",
        got.stdout
    );
    let fixed = format!("{}.fixed", s(&my_log));
    assert_same_bytes(
        Path::new(&fixed),
        Path::new(&format!("{}.fixed", s(&their_log))),
    );
    let dump = ours(&[&fixed], Stdio::null());
    assert!(dump.stdout.contains("CRC ERROR - "), "{}", dump.stdout);

    // The .fixed file now exists: both refuse to overwrite it, status 1.
    let got = ours(&["-r", "-y", s(&my_log)], Stdio::null());
    let want = apache(&zk, &["-r", "-y", s(&their_log)], Stdio::null());
    assert_eq!((got.status.code(), want.status.code()), (Some(1), Some(1)));
    assert!(
        got.stderr.contains("already exists or not writable"),
        "{}",
        got.stderr
    );

    // "abort": status 0, "Recovery aborted." on stderr.
    std::fs::remove_file(&fixed).unwrap();
    let (_c, input) = answer("A\n");
    let got = ours(&["-r", s(&my_log)], Stdio::from(input));
    assert_eq!(got.status.code(), Some(0), "{}", got.stderr);
    assert!(got.stderr.contains("Recovery aborted."), "{}", got.stderr);

    // A missing file: 1; a snapshot, not a log: 2; no file at all: 1.
    let snapshot = std::fs::read_dir(version2(&work))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("snapshot.")
        })
        .expect("a snapshot");
    let missing = mine.join("no-such-log");
    for args in [
        vec![s(&missing)],
        vec![s(&snapshot)],
        vec![],
        vec!["-q", s(&log)],
    ] {
        let got = ours(&args, Stdio::null());
        let want = apache(&zk, &args, Stdio::null());
        println!(
            "{args:?}: zk-bin {:?}, Apache {:?}; zk-bin said {}",
            got.status.code(),
            want.status.code(),
            got.stderr.trim()
        );
        assert_eq!(
            got.status.code(),
            want.status.code(),
            "{args:?}: {}",
            got.stderr
        );
    }
}
