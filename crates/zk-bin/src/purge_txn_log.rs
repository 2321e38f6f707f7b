//! `purge`: ZooKeeper's `PurgeTxnLog`, the tool behind zkCleanup.sh. Keeps
//! the COUNT newest valid snapshots (at least 3) and the txn logs needed to
//! replay from the oldest of them, deletes the rest, and prints each
//! deleted file as `Removing file: <modified>\t<path>` like the Java tool.
//!
//! The arguments are DATADIR then DATALOGDIR, the order zoo.cfg's keys are
//! usually read in; PurgeTxnLog itself takes the log directory first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use zk_persistence::data_dir::{list_dir, VERSION_DIR};
use zk_persistence::purge_txn_log::{purge, MIN_SNAP_RETAIN_COUNT};

use crate::java_dates;

const USAGE: &str = "usage: zk-bin purge DATADIR [DATALOGDIR] -n COUNT
       DATADIR    the dataDir of zoo.cfg (snapshots in DATADIR/version-2)
       DATALOGDIR the dataLogDir, when it differs from DATADIR
       COUNT      how many of the newest snapshots to keep (3 or more)";

pub fn run(args: &[String]) -> Result<(), String> {
    let (data_dir, log_dir, count) = match args {
        [data, n, count] if n == "-n" => (data, data, count),
        [data, log, n, count] if n == "-n" => (data, log, count),
        _ => return Err(USAGE.to_string()),
    };
    let count: usize = match count.parse::<i32>() {
        Ok(n) if n >= MIN_SNAP_RETAIN_COUNT as i32 => n as usize,
        Ok(_) => {
            return Err(format!(
                "count should be greater than or equal to {MIN_SNAP_RETAIN_COUNT}\n{USAGE}"
            ))
        }
        Err(_) => return Err(format!("'{count}' can not be parsed to integer.\n{USAGE}")),
    };
    let (data_dir, log_dir) = (Path::new(data_dir), Path::new(log_dir));
    for dir in [data_dir, log_dir] {
        if !dir.exists() {
            let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            return Err(format!("Path '{}' does not exist.", shown.display()));
        }
    }
    // The times must be read before the files go.
    let mut modified = HashMap::new();
    for dir in [data_dir, log_dir] {
        modified.extend(modification_times(&dir.join(VERSION_DIR)));
    }
    // Files that could not be deleted are logged (as errors) by `purge`.
    let removed = purge(log_dir, data_dir, count)
        .map_err(|e| format!("purging {}: {e}", data_dir.display()))?;
    for file in &removed {
        let when = modified.get(file).copied().unwrap_or(0);
        println!(
            "Removing file: {}\t{}",
            java_dates::medium_medium(when),
            file.display()
        );
    }
    Ok(())
}

/// Each file's modification time in ms since the epoch.
fn modification_times(dir: &Path) -> Vec<(PathBuf, i64)> {
    let files = list_dir(dir).unwrap_or_default();
    files
        .into_iter()
        .filter_map(|f| {
            let t = f.metadata().and_then(|m| m.modified()).ok()?;
            let ms = t.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64;
            Some((f, ms))
        })
        .collect()
}
