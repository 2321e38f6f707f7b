//! `zk-bin snapshot-compare` against Apache ZooKeeper 3.8's
//! `SnapshotComparer`, and `zk-bin snapshot-summary` (3.9's
//! `SnapshotRecursiveSummary`, which 3.8's jars lack) on a known tree.
//!
//! zk-bin and Apache each run the same writes and are restarted, so each
//! writes a snapshot holding them at startup; zk-bin then runs further,
//! different writes. Both comparers run on pairs of these snapshots (same
//! writes by the two servers, different writes, thresholds, `-d`, and an
//! interactive session fed on stdin) and must print the same text. Only
//! the two timing lines are normalised: they carry each run's own
//! wall-clock seconds. Bad options and unreadable files give both tools'
//! exit statuses.
//!
//! Without Java or the Apache jars it prints `skipped: ...` and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use integration::apache::{run_bounded, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::workload::connect;
use integration::zk_bin::{zk_bin, ZkBinServer};
use zookeeper_client::{Acls, Client, CreateMode};

const BOUND: Duration = Duration::from_secs(60);
const COMPARER: &str = "org.apache.zookeeper.server.SnapshotComparer";

/// The tree under /s whose summary the test knows, with data sizes.
const KNOWN: &[(&str, usize)] = &[
    ("/s", 1),
    ("/s/a", 2),
    ("/s/a/x", 7),
    ("/s/b", 4),
    ("/s/b/y", 6),
    ("/s/b/y/z", 0),
    ("/s/c", 0),
];

const KNOWN_SUMMARY: &str = " /s\n   children: 6\n   data: 20\n\
    -- /s/a\n--   children: 1\n--   data: 9\n\
    -- /s/b\n--   children: 2\n--   data: 10\n\
    ---- /s/b/y\n----   children: 1\n----   data: 6\n\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn first_writes(c: &Client) {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    for (path, size) in KNOWN {
        c.create(path, &vec![b'k'; *size], &all).await.unwrap();
    }
    c.create("/d", b"", &all).await.unwrap();
    for i in 0..10 {
        c.create(&format!("/d/n{i:02}"), &[b'v'; 100], &all)
            .await
            .unwrap();
    }
}

async fn second_writes(c: &Client) {
    let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.delete("/d/n03", None).await.unwrap();
    c.set_data("/d/n01", &[b'w'; 300], None).await.unwrap();
    c.create("/e", b"ee", &all).await.unwrap();
    for i in 0..5 {
        c.create(&format!("/e/m{i}"), &[b'm'; 50], &all)
            .await
            .unwrap();
    }
}

/// The newest snapshot of a data directory.
fn newest_snapshot(data: &Path) -> PathBuf {
    let mut snaps: Vec<(i64, PathBuf)> = std::fs::read_dir(data.join("version-2"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let zxid = p
                .file_name()?
                .to_str()?
                .strip_prefix("snapshot.")?
                .to_string();
            Some((i64::from_str_radix(&zxid, 16).ok()?, p))
        })
        .collect();
    snaps.sort();
    snaps.pop().expect("a snapshot").1
}

/// Runs `writes` on a zk-bin in `work`, kills it, and restarts it once so
/// that it writes a snapshot of them; returns that snapshot.
fn zk_bin_snapshot(work: &TempDir, writes: u8) -> PathBuf {
    let port = free_port().unwrap();
    let mut server = ZkBinServer::start(work, port, "").unwrap();
    rt().block_on(async {
        let c = connect(&format!("127.0.0.1:{port}"), &[], None, false, BOUND)
            .await
            .unwrap();
        match writes {
            1 => first_writes(&c).await,
            _ => second_writes(&c).await,
        }
    });
    server.kill_9();
    ZkBinServer::start(work, port, "").unwrap().kill_9();
    // A copy: the next writes and restart add newer snapshots beside it.
    let snap = newest_snapshot(&work.join("data"));
    let copy = work.join(format!(
        "w{writes}-{}",
        snap.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::copy(&snap, &copy).unwrap();
    copy
}

fn apache_snapshot(zk: &ApacheZk, work: &TempDir) -> PathBuf {
    let cfg = ServerConfig::new(work.path(), &work.join("data"), free_port().unwrap());
    let mut server = zk.start(&cfg).unwrap();
    rt().block_on(async {
        let c = connect(&server.connect_string(), &[], None, false, BOUND)
            .await
            .unwrap();
        first_writes(&c).await;
    });
    server.kill().unwrap();
    zk.start(&cfg).unwrap().kill().unwrap();
    newest_snapshot(&work.join("data"))
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

fn apache(zk: &ApacheZk, args: &[&str], stdin: Stdio) -> Ran {
    let mut cmd = Command::new(zk.java_path());
    cmd.args(["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .args(["-Duser.timezone=UTC", "-Dfile.encoding=UTF-8"])
        .arg("-Dsun.stdout.encoding=UTF-8")
        .arg("-Dlog4j.configuration=file:/dev/null")
        .arg("-cp")
        .arg(zk.classpath())
        .arg(COMPARER)
        .args(args)
        .stdin(stdin);
    finish(cmd, &format!("SnapshotComparer {}", args.join(" ")))
}

fn ours(tool: &str, args: &[&str], stdin: Stdio) -> Ran {
    let mut cmd = Command::new(zk_bin().unwrap());
    cmd.arg(tool).args(args).stdin(stdin);
    finish(cmd, &format!("zk-bin {tool} {}", args.join(" ")))
}

/// The comparer's text with its two timing lines' seconds blanked: they
/// are this run's wall-clock times, different on every run of either tool.
fn without_times(text: &str) -> String {
    text.lines()
        .map(|line| {
            let timed = line.starts_with("Deserialized snapshot in ")
                || line.starts_with("Processed data tree in ");
            match line.rsplit_once(" in ") {
                Some((head, _)) if timed => format!("{head} in <t> seconds"),
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdin_text(dir: &TempDir, text: &str) -> Stdio {
    let path = dir.join("stdin");
    std::fs::write(&path, text).unwrap();
    Stdio::from(std::fs::File::open(path).unwrap())
}

#[test]
fn compare_matches_apache_and_summary_matches_the_known_tree() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let (ours_dir, apache_dir) = (
        TempDir::new("zk-snap-ours").unwrap(),
        TempDir::new("zk-snap-apache").unwrap(),
    );
    let z1 = zk_bin_snapshot(&ours_dir, 1);
    let z2 = zk_bin_snapshot(&ours_dir, 2);
    let a1 = apache_snapshot(&zk, &apache_dir);

    let runs: Vec<Vec<&str>> = vec![
        vec!["-l", s(&z1), "-r", s(&a1), "-b", "0", "-n", "0"],
        vec!["-l", s(&a1), "-r", s(&z1), "-b", "0", "-n", "0", "-d"],
        vec!["-l", s(&z1), "-r", s(&z2), "-b", "0", "-n", "0", "-d"],
        vec![
            "--left",
            s(&a1),
            "--right",
            s(&z2),
            "--bytes",
            "150",
            "--nodes",
            "2",
        ],
        vec!["-l", s(&z2), "-r", s(&a1), "-b", "0", "-n", "0"],
    ];
    for args in &runs {
        let got = ours("snapshot-compare", args, Stdio::null());
        let want = apache(&zk, args, Stdio::null());
        assert!(want.status.success(), "Apache {args:?}: {}", want.stderr);
        assert!(got.status.success(), "zk-bin {args:?}: {}", got.stderr);
        println!(
            "zk-bin snapshot-compare {}:\n{}",
            args.join(" "),
            got.stdout
        );
        assert_eq!(
            without_times(&got.stdout),
            without_times(&want.stdout),
            "{args:?}"
        );
    }
    let different = ours("snapshot-compare", &runs[2], Stdio::null()).stdout;
    assert!(
        different.contains("Node /e found only in right tree."),
        "{different}"
    );
    assert!(
        different.contains("Node /d found in both trees. Delta: 100 bytes, -1 descendants"),
        "{different}"
    );

    // Interactive: a path, a depth out of range, garbage, a depth, then
    // Enter until every layer is shown.
    let input_dir = TempDir::new("zk-snap-stdin").unwrap();
    let input = "/d\n/nowhere\n99\nabc\n1\n\n\n\n\n\n\n";
    let args = ["-l", s(&z1), "-r", s(&z2), "-b", "0", "-n", "0", "-i"];
    let got = ours("snapshot-compare", &args, stdin_text(&input_dir, input));
    let want = apache(&zk, &args, stdin_text(&input_dir, input));
    assert!(
        want.status.success() && got.status.success(),
        "{}\n{}",
        want.stderr,
        got.stderr
    );
    assert_eq!(without_times(&got.stdout), without_times(&want.stdout));
    assert!(
        got.stdout.contains("Path /nowhere is neither found"),
        "{}",
        got.stdout
    );

    // Bad invocations: missing options 2, a threshold not a number 1, a
    // missing file 1.
    let missing = ours_dir.join("no-such-snapshot");
    let bad: Vec<Vec<&str>> = vec![
        vec!["-l", s(&z1)],
        vec!["-l", s(&z1), "-r", s(&z2), "-b", "x", "-n", "0"],
        vec!["-l", s(&missing), "-r", s(&z2), "-b", "0", "-n", "0"],
    ];
    for args in &bad {
        let got = ours("snapshot-compare", args, Stdio::null());
        let want = apache(&zk, args, Stdio::null());
        println!(
            "{args:?}: zk-bin {:?}, Apache {:?}: {}",
            got.status.code(),
            want.status.code(),
            got.stderr.trim()
        );
        assert_eq!(got.status.code(), want.status.code(), "{args:?}");
    }

    // The summary of the known tree, from either server's snapshot.
    for snap in [&z1, &a1] {
        let got = ours("snapshot-summary", &[s(snap), "/s", "0"], Stdio::null());
        assert!(got.status.success(), "{}", got.stderr);
        assert_eq!(got.stdout, KNOWN_SUMMARY, "{}", snap.display());
        let got = ours("snapshot-summary", &[s(snap), "/s", "1"], Stdio::null());
        let depth_one = KNOWN_SUMMARY.split("---- ").next().unwrap();
        assert_eq!(got.stdout, format!("{depth_one}\n"));
    }
    let got = ours("snapshot-summary", &[s(&z2), "/", "1"], Stdio::null());
    println!("zk-bin snapshot-summary {} / 1:\n{}", s(&z2), got.stdout);
    assert!(
        got.stdout
            .contains("-- /e\n--   children: 5\n--   data: 252\n"),
        "{}",
        got.stdout
    );
    for args in [vec![s(&z1), "/s"], vec![s(&z1), "/s", "deep"]] {
        let got = ours("snapshot-summary", &args, Stdio::null());
        assert_eq!(got.status.code(), Some(2), "{args:?}");
        assert!(got.stderr.starts_with("USAGE:"), "{}", got.stderr);
    }
    let got = ours("snapshot-summary", &[s(&z1), "/nope", "0"], Stdio::null());
    assert_eq!(got.status.code(), Some(1), "{}", got.stderr);
}
