//! Apache's zkCli (`ZooKeeperMain`, from Debian's 3.8 jars) as a test
//! runs it: a script given as text, fed on stdin, bounded in time, and
//! its answers with the log lines, stack traces, times and session ids a
//! user would not compare taken out. Shared by the tests that compare
//! zkCli's answers from zk-bin and from Apache (`tests/zkcli.rs`,
//! `tests/zkcli_reconfig.rs`, `tests/reconfig_bad_input.rs`).

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::apache::ApacheZk;

/// A JVM start, a connection and a handful of commands: far less than
/// this on a busy 2-core box.
pub const ZKCLI_TIMEOUT: Duration = Duration::from_secs(60);

/// The super user's digest for `super:test` (kazoo's harness uses the
/// same), for `-Dzookeeper.DigestAuthenticationProvider.superDigest`:
/// 3.8 lets only the super user (or a client with write permission on
/// `/zookeeper/config`) reconfig.
pub const SUPER_DIGEST: &str = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

/// The JVM flag that makes `super:test` the super user of a server.
pub fn super_digest_prop() -> String {
    format!("-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}")
}

/// Runs zkCli against `server` (a connect string) with `script` (one
/// command per line) on stdin, `jvm_props` added to its JVM; the script
/// is written into `dir` first. Returns stdout then stderr.
pub fn run(
    zk: &ApacheZk,
    dir: &Path,
    server: &str,
    script: &str,
    jvm_props: &[String],
) -> Result<String, String> {
    // Unique per call: tests of one binary run zkCli on parallel threads.
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let file = dir.join(format!(
        "zkcli-script-{}-{}.txt",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&file, script).map_err(|e| format!("{}: {e}", file.display()))?;
    let out = zk.zk_cli_with_props(server, &file, ZKCLI_TIMEOUT, jvm_props);
    let _ = std::fs::remove_file(&file);
    out
}

/// What a user would compare in zkCli's output: its answers, without log
/// lines, stack traces, times, session ids, watcher events and banners.
pub fn answers(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim_end)
        .filter(|l| {
            !l.is_empty()
                && !l.contains(" - WARN ")
                && !l.contains(" - INFO ")
                && !l.contains(" - ERROR ")
                && !l.contains(" - DEBUG ")
                && !l.starts_with('\t')
                && !l.contains("Exception")
                && !l.starts_with("ctime")
                && !l.starts_with("mtime")
                && !l.starts_with("Connecting to")
                && !l.starts_with("WATCHER::")
                && !l.starts_with("WatchedEvent")
                && !l.starts_with("JLine")
        })
        .map(str::to_string)
        .collect()
}

/// `answers` with every port in `ports` replaced by `P<index>` and every
/// `from` path replaced by its `to`, so that two ensembles of the same
/// shape on different ports give the same text.
pub fn normalise(lines: &[String], ports: &[u16], paths: &[(&str, &str)]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let mut l = l.clone();
            for (from, to) in paths {
                l = l.replace(from, to);
            }
            replace_ports(&l, ports)
        })
        .collect()
}

/// Replaces each whole number in `line` that is one of `ports` by `P<i>`.
fn replace_ports(line: &str, ports: &[u16]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        match digits
            .parse::<u16>()
            .ok()
            .and_then(|p| ports.iter().position(|&q| q == p))
        {
            Some(i) => out.push_str(&format!("P{i}")),
            None => out.push_str(digits),
        }
        digits.clear();
    };
    for c in line.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_drop_log_lines_and_keep_the_answers() {
        let out = "Connecting to 127.0.0.1:2181\n\
                   2026-12-03 07:00:00,000 [myid:] - INFO  [main:...] - hello\n\
                   WATCHER::\n\
                   server.1=127.0.0.1:3001:3002:participant;0.0.0.0:2181\n\
                   version=100000000\n";
        assert_eq!(
            answers(out),
            vec![
                "server.1=127.0.0.1:3001:3002:participant;0.0.0.0:2181",
                "version=100000000"
            ]
        );
    }

    #[test]
    fn normalise_replaces_whole_ports_only() {
        let lines = vec!["server.1=127.0.0.1:3001:30012;0.0.0.0:2181".to_string()];
        assert_eq!(
            normalise(&lines, &[2181, 3001], &[]),
            vec!["server.1=127.0.0.1:P1:30012;0.0.0.0:P0"]
        );
    }
}
