//! The Unix users fault-injection nodes run as (`zkfault1`, `zkfault2`,
//! ...): one per node, so that nftables can match a node's packets by the
//! owner of the socket that sent them. Created with `useradd --system` when
//! missing; that needs root, which the partition layer needs anyway.

use std::process::Command;

use crate::ensemble::RunAs;

/// The name of the user node `i` (0-based) runs as.
pub fn user_name(i: usize) -> String {
    format!("zkfault{}", i + 1)
}

/// The uid and gid of `name`, if such a user exists.
pub fn lookup(name: &str) -> Option<RunAs> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some(RunAs {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}

/// Users for `n` nodes, created when missing. Errors say why in a sentence
/// fit for `skipped: ...` (not root, no useradd).
pub fn ensure_users(n: usize) -> Result<Vec<RunAs>, String> {
    let mut users = Vec::new();
    for i in 0..n {
        let name = user_name(i);
        if let Some(user) = lookup(&name) {
            users.push(user);
            continue;
        }
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(&name)
            .output()
            .map_err(|e| format!("cannot run useradd to create user {name}: {e}"))?;
        // Another test may have created it meanwhile: look again either way.
        match lookup(&name) {
            Some(user) => users.push(user),
            None => {
                return Err(format!(
                    "cannot create user {name}: useradd said {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        }
    }
    Ok(users)
}

/// Whether this process runs as root (reads `/proc/self/status`, keeping
/// the crate free of libc).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
