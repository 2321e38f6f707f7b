//! Network partitions between nodes on loopback, with nftables.
//!
//! Every node listens on its own loopback address (127.0.0.11, .12, ...)
//! and runs as its own Unix user. A node's outgoing connections are not
//! bound to its address, so their source is 127.0.0.1 for every node and
//! cannot tell nodes apart; the owner of the sending socket can. The table
//! therefore marks each new connection, in the output hook, with the uid of
//! the socket that opened it (`ct mark`), and cutting the link between
//! nodes i and j drops, in the output hook:
//!
//! - packets from uid_i to j's address and from uid_j to i's address (new
//!   connections and the requests on old ones), and
//! - packets from uid_j on connections uid_i opened, and from uid_i on
//!   connections uid_j opened (the replies, which go to 127.0.0.1).
//!
//! Packets of any other socket (the test's clients, running as root) are
//! untouched. The rules are rewritten as a whole in one `nft -f`
//! transaction on every change; the table (`inet zkfault<pid>_<n>`) is
//! deleted on drop, and tables of dead test processes are deleted on
//! creation, so a crashed run leaves nothing behind for long.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian installs nft; PATH is searched too.
const NFT: &str = "/usr/sbin/nft";
const TABLE_PREFIX: &str = "zkfault";

/// One node as the partition layer sees it.
#[derive(Debug, Clone, Copy)]
pub struct NetNode {
    /// The node's own loopback address (127.0.0.x).
    pub ip: Ipv4Addr,
    /// The Unix uid its process runs as, by which nftables matches its packets.
    pub uid: u32,
}

/// The partition layer: one nftables table, and the links cut in it.
pub struct Net {
    table: String,
    nodes: Vec<NetNode>,
    /// Cut links as `(i, j)` with `i < j`.
    cuts: BTreeSet<(usize, usize)>,
}

fn nft_path() -> String {
    if std::path::Path::new(NFT).exists() {
        NFT.to_string()
    } else {
        "nft".to_string()
    }
}

/// Runs `nft -f -` on `script`.
fn nft_script(script: &str) -> Result<(), String> {
    let mut child = Command::new(nft_path())
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .map_err(|e| format!("cannot write to nft: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft -f failed ({}): {}\nscript:\n{script}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Ok when nft can create a table here (root, nftables present, a kernel
/// with nf_tables and conntrack); otherwise why not, for `skipped: ...`.
pub fn available() -> Result<(), String> {
    if !super::users::is_root() {
        return Err("fault injection needs root (nftables, users)".into());
    }
    let probe = format!("{TABLE_PREFIX}probe{}", std::process::id());
    nft_script(&format!(
        "table inet {probe} {{\n chain out {{\n  type filter hook output priority 0; policy accept;\n  ct state new meta skuid 0 ct mark set 0\n }}\n}}\n"
    ))
    .map_err(|e| format!("nftables unavailable: {e}"))?;
    let _ = nft_script(&format!("delete table inet {probe}\n"));
    Ok(())
}

/// Deletes `zkfault<pid>...` tables whose test process is gone.
fn delete_stale_tables() {
    let Ok(out) = Command::new(nft_path()).args(["list", "tables"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.trim().strip_prefix("table inet ") else {
            continue;
        };
        let Some(rest) = name.strip_prefix(TABLE_PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let alive = !pid.is_empty() && std::path::Path::new(&format!("/proc/{pid}")).exists();
        if !pid.is_empty() && !alive {
            let _ = nft_script(&format!("delete table inet {name}\n"));
        }
    }
}

impl Net {
    /// A table for `nodes` (node `i` at index `i`) with no link cut.
    pub fn new(nodes: Vec<NetNode>) -> Result<Net, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        delete_stale_tables();
        let table = format!(
            "{TABLE_PREFIX}{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let net = Net {
            table,
            nodes,
            cuts: BTreeSet::new(),
        };
        net.apply()?;
        Ok(net)
    }

    /// The name of the nftables table (in the `inet` family) that holds the cuts.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The links currently cut, as `(i, j)` with `i < j`.
    pub fn cuts(&self) -> Vec<(usize, usize)> {
        self.cuts.iter().copied().collect()
    }

    /// Cuts the link between nodes `i` and `j` (both directions).
    pub fn cut(&mut self, i: usize, j: usize) -> Result<(), String> {
        self.add_cut(i, j);
        self.apply()
    }

    /// Cuts node `i` off from every other node.
    pub fn isolate(&mut self, i: usize) -> Result<(), String> {
        for j in 0..self.nodes.len() {
            self.add_cut(i, j);
        }
        self.apply()
    }

    /// Cuts every link between a node of `a` and a node of `b`.
    pub fn partition(&mut self, a: &[usize], b: &[usize]) -> Result<(), String> {
        for &i in a {
            for &j in b {
                self.add_cut(i, j);
            }
        }
        self.apply()
    }

    /// Restores every link.
    pub fn heal_all(&mut self) -> Result<(), String> {
        self.cuts.clear();
        self.apply()
    }

    fn add_cut(&mut self, i: usize, j: usize) {
        if i != j {
            self.cuts.insert((i.min(j), i.max(j)));
        }
    }

    /// The whole table as an nft script that replaces any previous one in
    /// one transaction (`table` + `delete table` make the delete valid
    /// whether or not it existed).
    fn script(&self) -> String {
        let t = &self.table;
        let mut s = format!("table inet {t}\ndelete table inet {t}\ntable inet {t} {{\n");
        s.push_str(" chain out {\n  type filter hook output priority 0; policy accept;\n");
        // Marks first: a connection's first packet is marked even if a
        // rule below then drops it.
        let uids: BTreeSet<u32> = self.nodes.iter().map(|n| n.uid).collect();
        for uid in uids {
            s.push_str(&format!(
                "  ct state new meta skuid {uid} ct mark set {uid}\n"
            ));
        }
        for &(i, j) in &self.cuts {
            let (a, b) = (self.nodes[i], self.nodes[j]);
            s.push_str(&format!("  meta skuid {} ip daddr {} drop\n", a.uid, b.ip));
            s.push_str(&format!("  meta skuid {} ip daddr {} drop\n", b.uid, a.ip));
            // Counted, so a test can see that these rules (and not only
            // the dropped ACKs of the other side) stop the replies.
            s.push_str(&format!(
                "  meta skuid {} ct mark {} counter drop\n",
                b.uid, a.uid
            ));
            s.push_str(&format!(
                "  meta skuid {} ct mark {} counter drop\n",
                a.uid, b.uid
            ));
        }
        s.push_str(" }\n}\n");
        s
    }

    /// How many packets sent by `sender_uid` on connections `opener_uid`
    /// opened the table has dropped since the last change; `None` when no
    /// such rule is in place.
    pub fn mark_drops(&self, sender_uid: u32, opener_uid: u32) -> Option<u64> {
        let out = Command::new(nft_path())
            .args(["list", "table", "inet", &self.table])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let skuid = format!("meta skuid {sender_uid} ");
        let mark = format!("ct mark 0x{opener_uid:08x} ");
        let line = text
            .lines()
            .find(|l| l.contains(&skuid) && l.contains(&mark) && l.contains("drop"))?;
        let after = line.split("packets ").nth(1)?;
        after.split_whitespace().next()?.parse().ok()
    }

    fn apply(&self) -> Result<(), String> {
        nft_script(&self.script())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = nft_script(&format!("delete table inet {}\n", self.table));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_cuts_both_directions_and_both_openers() {
        let nodes = vec![
            NetNode {
                ip: Ipv4Addr::new(127, 0, 0, 11),
                uid: 901,
            },
            NetNode {
                ip: Ipv4Addr::new(127, 0, 0, 12),
                uid: 902,
            },
        ];
        let mut net = Net {
            table: "zkfault_test".into(),
            nodes,
            cuts: BTreeSet::new(),
        };
        net.add_cut(1, 0);
        let s = net.script();
        for line in [
            "ct state new meta skuid 901 ct mark set 901",
            "ct state new meta skuid 902 ct mark set 902",
            "meta skuid 901 ip daddr 127.0.0.12 drop",
            "meta skuid 902 ip daddr 127.0.0.11 drop",
            "meta skuid 902 ct mark 901 counter drop",
            "meta skuid 901 ct mark 902 counter drop",
        ] {
            assert!(s.lines().any(|l| l.trim() == line), "{line} in\n{s}");
        }
        // Nothing is cut until asked, and no table is left behind.
        net.cuts.clear();
        assert!(!net.script().contains("drop"));
        std::mem::forget(net);
    }
}
