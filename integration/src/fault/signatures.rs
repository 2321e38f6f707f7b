//! Known failure signatures of Apache ZooKeeper 3.8 in its log, so that a
//! failing run with Apache nodes says when one of them misbehaved in a way
//! it is known to. The sentences are those of 3.8.4's sources (checked in
//! `git show release-3.8.4:...`), named with where they are logged.

/// (needles that must all be on one line, what it means)
const SIGNATURES: &[(&[&str], &str)] = &[
    (
        &["Committing zxid 0x", "but next pending txn 0x"],
        "FollowerZooKeeperServer.commit: a COMMIT for another zxid than the oldest pending proposal (the follower exits)",
    ),
    (
        &["First digest mismatch on txn"],
        "DataTree.compareDigest: the node's tree digest differs from the leader's",
    ),
    (
        &["Severe unrecoverable error"],
        "ZooKeeperCriticalThread/ZooKeeperServer: a critical thread died",
    ),
    (
        &["Unable to load database on disk"],
        "QuorumPeer.loadDataBase: the dataDir could not be restored",
    ),
    (
        &["Not able to truncate the log"],
        "Learner.syncWithLeader: a TRUNC from the leader could not be applied",
    ),
];

/// A NullPointerException whose stack passes through
/// `Learner.syncWithLeader` (the brief's ZOOKEEPER-4394 example).
const NPE_IN_SYNC: &str = "NullPointerException in Learner.syncWithLeader";

/// Each signature found in `log`, with its first line.
pub fn scan(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    let mut found = Vec::new();
    for (needles, meaning) in SIGNATURES {
        if let Some(l) = lines.iter().find(|l| needles.iter().all(|n| l.contains(n))) {
            found.push(format!("{meaning}: {}", l.trim()));
        }
    }
    for (i, l) in lines.iter().enumerate() {
        if l.contains("java.lang.NullPointerException")
            && lines[i + 1..lines.len().min(i + 8)]
                .iter()
                .any(|s| s.contains("Learner.syncWithLeader"))
        {
            found.push(format!("{NPE_IN_SYNC}: {}", l.trim()));
            break;
        }
    }
    found
}

/// Every signature in the logs of every run of the Apache nodes of `e`
/// (`node-N/apache-runK.log`), each naming its node.
pub fn scan_ensemble(e: &crate::ensemble::Ensemble) -> Vec<String> {
    let mut found = Vec::new();
    for i in 0..e.len() {
        let dir = e.work_dir().join(format!("node-{}", i + 1));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut logs: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("apache-run") && n.ends_with(".log"))
            })
            .collect();
        logs.sort();
        for log in logs {
            let text = std::fs::read(&log)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            for s in scan(&text) {
                found.push(format!("node {} (apache), {}: {s}", i + 1, log.display()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_commit_mismatch_and_an_npe_in_sync() {
        let log = "2026 - ERROR [x] - Committing zxid 0x100000005 but next pending txn 0x100000004\n\
                   java.lang.NullPointerException\n\tat org.apache.zookeeper.server.quorum.Learner.syncWithLeader(Learner.java:600)\n";
        let found = scan(log);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(scan("all fine\n").is_empty());
    }
}
