//! ZooKeeper's C client, unmodified: Debian's `cli_mt` (the multi-threaded
//! shell built on libzookeeper-mt) runs the same commands against zk-bin
//! and against Apache ZooKeeper 3.8, and must print the same answers
//! (times and session ids aside).
//!
//! Two ways of driving it, as users do:
//! - batch mode (`cli_mt HOST 'cmd:...'`): one session per command, which
//!   exits when the command's completion arrives;
//! - a shell session on stdin, for what needs one session across commands
//!   (watches firing, an ephemeral node living until the session closes,
//!   `exists`, which cli_mt answers synchronously and never exits on in
//!   batch mode).
//!
//! cli_mt prints from two threads (the shell thread echoes "Creating ...",
//! the completion thread prints answers), so the shell session sends one
//! command at a time and waits for a `sync /` after it to complete before
//! sending the next: replies come back in request order, so by then every
//! line of the command is out.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use integration::apache::{ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::ZkBinServer;

const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";

/// How long one cli_mt command may take, on a busy machine.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// First part, one `cli_mt HOST cmd:...` process (so one session) each:
/// every create mode the shell offers, errors, reads and writes.
const BATCH_BEFORE: &[&str] = &[
    "create /c",
    "create /c",
    "create +s /c/seq-",
    "create +s /c/seq-",
    "create +e /c/gone",
    "create2 +es /c/es-",
    "create2 /c/two",
    "create /missing/child",
    "create +t=5000 /ttl",
    "get /c",
    "set /c hello",
    "get /c",
    "get /missing",
    "ls /c",
    "ls2 /c",
    "ls /missing",
    "sync /c",
    "delete /c/seq-0000000000",
    "delete /c/seq-0000000000",
    "delete /c",
    "config",
];

/// Second part, one shell session: watches set by `exists`, `get`, `ls`
/// and `wexists` must fire (before the reply of the write that triggers
/// them), and the session's ephemeral node is there until it closes.
const SESSION: &[&str] = &[
    "exists /c",
    "exists /nope",
    "get /c",
    "ls /c",
    "create /nope",
    "set /c again",
    "create +e /c/live",
    "wexists /c/live",
    "ls2 /c",
    "exists /nope",
    "delete /nope",
    "create +c /cont",
    "create +es /c/eseq-",
    "ls /c",
];

/// Third part, new sessions again: the shell session's ephemerals are gone.
const BATCH_AFTER: &[&str] = &[
    "ls /c",
    "delete /c/seq-0000000001",
    "delete /c/two",
    "delete /c",
    "get /c",
    "delete /cont",
];

/// What a user would compare: cli_mt's answers without timings, session
/// ids, wall-clock times and the library's own log lines; children in name
/// order.
fn answers(output: &str) -> Vec<String> {
    sort_children(filtered(output))
}

/// The order of `getChildren` is unspecified: Apache's is its `HashSet`'s
/// iteration order, ours is not (see `ls` in the report of this test), so
/// each `ls`/`ls2` listing (the tab-indented names after `PATH: rc = 0`)
/// is compared as a sorted list.
fn sort_children(mut lines: Vec<String>) -> Vec<String> {
    let mut i = 0;
    while i < lines.len() {
        let header = lines[i].starts_with('/') && lines[i].ends_with(": rc = 0");
        i += 1;
        if header {
            let start = i;
            while i < lines.len() && lines[i].starts_with('\t') && !lines[i].contains('=') {
                i += 1;
            }
            lines[start..i].sort();
        }
    }
    lines
}

fn filtered(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim_end)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("time = ")
                && !l.starts_with("\tctime = ")
                && !l.starts_with("\tmtime=")
                && !l.starts_with("Got a new session id")
                // Arrives whenever the connection is up, racing the shell
                // thread's own lines.
                && !l.starts_with("Watcher SESSION_EVENT")
                && !l.contains(":ZOO_")
        })
        .map(|l| match l.strip_prefix("\tephemeralOwner = ") {
            Some(owner) if owner != "0" => "\tephemeralOwner = <session>".to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// A child's stdout and stderr, line by line, on one channel.
fn spawn_readers(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("stdout is piped"));
    let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("stderr is piped"));
    for pipe in [out, err] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Waits for the child to exit (killing it past `timeout`) and returns
/// every line it printed.
fn finish(mut child: Child, lines: Receiver<String>, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let mut text = String::new();
    loop {
        match lines.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {}
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Whatever is still in the pipes.
            while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
                text.push_str(&line);
                text.push('\n');
            }
            if !status.success() {
                return Err(format!("cli_mt exited with {status}; output:\n{text}"));
            }
            return Ok(text);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "cli_mt did not finish within {timeout:?}; output so far:\n{text}"
            ));
        }
    }
}

fn cli_mt(server: &str) -> Command {
    let mut cmd = Command::new(CLI_MT);
    cmd.arg(server)
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `cli_mt SERVER cmd:COMMAND`: one session, one command.
fn batch(server: &str, command: &str) -> Result<String, String> {
    let mut child = cli_mt(server)
        .arg(format!("cmd:{command}"))
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {CLI_MT}: {e}"))?;
    let lines = spawn_readers(&mut child);
    finish(child, lines, STEP_TIMEOUT).map_err(|e| format!("cmd:{command}: {e}"))
}

/// One shell session: each command followed by `sync /`, the next sent
/// only once that sync's answer is out, then `quit`.
fn session(server: &str, commands: &[&str]) -> Result<String, String> {
    let mut child = cli_mt(server)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {CLI_MT}: {e}"))?;
    let lines = spawn_readers(&mut child);
    let mut stdin: ChildStdin = child.stdin.take().expect("stdin is piped");
    let mut text = String::new();
    let result = (|| {
        for command in commands {
            writeln!(stdin, "{command}\nsync /")
                .map_err(|e| format!("cannot send {command:?}: {e}"))?;
            let deadline = Instant::now() + STEP_TIMEOUT;
            let mut synced = false;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let line = lines.recv_timeout(left).map_err(|_| {
                    format!("no answer to {command:?} within {STEP_TIMEOUT:?}; output:\n{text}")
                })?;
                text.push_str(&line);
                text.push('\n');
                // The sync's answer is two lines, printed by the client's
                // completion thread; the next command (or `quit`, whose
                // "Quitting..." the main thread prints) waits for the
                // second, or their lines may come out in either order.
                if line == "[/]: rc = 0" {
                    synced = true;
                } else if synced && line == "\tname = /" {
                    break;
                }
            }
        }
        writeln!(stdin, "quit").map_err(|e| format!("cannot send quit: {e}"))
    })();
    drop(stdin);
    if let Err(e) = result {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let rest = finish(child, lines, STEP_TIMEOUT)?;
    Ok(text + &rest)
}

/// The whole script against one server, as one text.
fn run_script(server: &str) -> Result<String, String> {
    let mut text = String::new();
    for command in BATCH_BEFORE {
        text.push_str(&batch(server, command)?);
    }
    text.push_str("--- session ---\n");
    text.push_str(&session(server, SESSION)?);
    text.push_str("--- after the session ---\n");
    for command in BATCH_AFTER {
        text.push_str(&batch(server, command)?);
    }
    Ok(text)
}

#[test]
fn cli_mt_sees_the_same_answers_from_zk_bin_as_from_apache() {
    if !Path::new(CLI_MT).is_file() {
        println!("skipped: the C client {CLI_MT} is missing (apt-get install zookeeper-bin)");
        return;
    }
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: the Apache control needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };

    let ours_dir = TempDir::new("zk-cclient-ours").unwrap();
    let ours =
        ZkBinServer::start(&ours_dir, free_port().unwrap(), "").unwrap_or_else(|e| panic!("{e}"));
    let ours_out = run_script(&ours.addr.to_string()).unwrap_or_else(|e| panic!("zk-bin: {e}"));
    drop(ours);

    let work = TempDir::new("zk-cclient-apache").unwrap();
    let apache = zk
        .start(&ServerConfig::new(
            work.path(),
            &work.join("data"),
            free_port().unwrap(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let theirs_out = run_script(&apache.connect_string()).unwrap_or_else(|e| panic!("Apache: {e}"));

    let (ours_a, theirs_a) = (answers(&ours_out), answers(&theirs_out));
    // The script must really have run: spot-check answers from each part.
    for expected in [
        "\tname = /c/seq-0000000001",
        "[/c]: rc = -110",
        "[/ttl]: rc = -6",
        "/c: rc = -111",
        "hello",
        "Error -101 for /nope",
        "Watcher CREATED_EVENT state = CONNECTED_STATE for path /nope",
        "Watcher CHANGED_EVENT state = CONNECTED_STATE for path /c",
        "Watcher CHILD_EVENT state = CONNECTED_STATE for path /c",
        "Watcher DELETED_EVENT state = CONNECTED_STATE for path /nope",
        "\tlive",
        "\tephemeralOwner = <session>",
        "/c: rc = -101",
    ] {
        assert!(
            theirs_a.iter().any(|l| l == expected),
            "Apache's cli_mt output lacks {expected:?}:\n{theirs_out}"
        );
    }
    let diff: Vec<String> = ours_a
        .iter()
        .zip(&theirs_a)
        .enumerate()
        .filter(|(_, (o, t))| o != t)
        .take(5)
        .map(|(i, (o, t))| format!("line {i}: zk-bin {o:?}, Apache {t:?}"))
        .collect();
    assert!(
        ours_a == theirs_a,
        "cli_mt answered differently ({} vs {} lines; first differences: {diff:#?}).\n\
         --- zk-bin ---\n{ours_out}\n--- Apache ---\n{theirs_out}",
        ours_a.len(),
        theirs_a.len()
    );
    println!(
        "cli_mt: {} answer lines, identical:\n{}",
        ours_a.len(),
        ours_a.join("\n")
    );
}
