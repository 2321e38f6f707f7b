//! What the nodes' logs say: each run's own log file, how a learner was
//! synced ([`SyncKind`], from the learner's side, where 3.8 and zk-quorum
//! log all three kinds at INFO) and the leader's matching lines.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Ensemble, Node};

/// How a learner was brought up to date by its leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// `DIFF`: the leader sent the txns the learner missed.
    Diff,
    /// `SNAP`: the leader sent a whole snapshot.
    Snap,
    /// `TRUNC`: the learner cut its log back to the leader's zxid.
    Trunc,
}

impl SyncKind {
    /// The learner's log sentence for each kind (3.8's Learner and
    /// zk-quorum's learner.rs say the same).
    const LEARNER_LINES: [(&'static str, SyncKind); 3] = [
        ("Getting a diff from the leader", SyncKind::Diff),
        ("Getting a snapshot from leader", SyncKind::Snap),
        (
            "Truncating log to get in sync with the leader",
            SyncKind::Trunc,
        ),
    ];

    /// The kind a learner's log line announces, if any.
    pub fn from_learner_line(line: &str) -> Option<SyncKind> {
        Self::LEARNER_LINES
            .iter()
            .find(|(needle, _)| line.contains(needle))
            .map(|(_, kind)| *kind)
    }
}

impl Ensemble {
    /// The log of node `i`'s current (or last) run.
    pub fn log_text(&self, i: usize) -> String {
        read_log(self.nodes[i].log_path.as_deref())
    }

    /// How node `i` was synced in its current run, per its own log.
    pub fn learner_sync_kind(&self, i: usize) -> Option<SyncKind> {
        self.log_text(i)
            .lines()
            .rev()
            .find_map(SyncKind::from_learner_line)
    }

    /// Waits until node `i`'s log says how it was synced.
    pub fn wait_learner_synced(&self, i: usize, timeout: Duration) -> Result<SyncKind, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(kind) = self.learner_sync_kind(i) {
                return Ok(kind);
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                return Err(format!(
                    "node {} did not log a DIFF, SNAP or TRUNC within {timeout:?}\n{}",
                    self.nodes[i].sid,
                    self.describe()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The leader's log lines of its latest sync of `learner` (3.8's
    /// LearnerHandler and zk-quorum word them alike): from `Synchronizing
    /// with Learner sid: N` on, the `Sending DIFF` / `Sending TRUNC` naming
    /// the peer (3.8 logs the peer-ahead TRUNC only at DEBUG) and `Sending
    /// snapshot` (which names no peer).
    pub fn leader_sync_lines(&self, leader: usize, learner: usize) -> Vec<String> {
        let sid = self.nodes[learner].sid;
        let sync = format!("Synchronizing with Learner sid: {sid} ");
        let names_peer = |l: &str| {
            let l = l.trim_end();
            l.ends_with(&format!("peer sid: {sid}")) || l.ends_with(&format!("peer sid:{sid}"))
        };
        let text = self.log_text(leader);
        let lines: Vec<&str> = text.lines().collect();
        let Some(start) = lines.iter().rposition(|l| l.contains(&sync)) else {
            return Vec::new();
        };
        let mut out = vec![lines[start].to_string()];
        for l in &lines[start + 1..] {
            if l.contains("Synchronizing with Learner sid:") {
                // Another learner's sync: a snapshot line after it is not ours.
                break;
            }
            let sending = ["Sending DIFF", "Sending empty DIFF", "Sending TRUNC"]
                .iter()
                .any(|s| l.contains(s));
            if (sending && names_peer(l)) || l.contains("Sending snapshot") {
                out.push(l.to_string());
            }
        }
        out
    }
}

/// Once a node's process is gone, puts an Apache run's log (a file per
/// client port that the next start would truncate) under the run's name.
pub(super) fn settle_log(node: &Node) {
    if let Some(link) = node.log_path.as_ref().filter(|p| p.is_symlink()) {
        if let Ok(target) = std::fs::read_link(link) {
            let _ = std::fs::remove_file(link);
            let _ = std::fs::rename(&target, link);
        }
    }
}

pub(super) fn read_log(path: Option<&Path>) -> String {
    path.and_then(|p| std::fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub(super) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
