//! `purge`: ZooKeeper's `PurgeTxnLog` / zkCleanup.sh. Keeps the COUNT
//! newest snapshots (at least 3) and the txn logs needed to replay from the
//! oldest of them; deletes the rest and lists what it deleted.

use std::path::Path;

use zk_persistence::purge::{purge, MIN_SNAP_RETAIN_COUNT};

const USAGE: &str = "usage: zk-bin purge DATADIR [DATALOGDIR] -n COUNT
       DATADIR    the dataDir of zoo.cfg (holding version-2/snapshot.*)
       DATALOGDIR the dataLogDir, when it differs from DATADIR
       COUNT      how many of the newest snapshots to keep (3 or more)";

pub fn run(args: &[String]) -> Result<(), String> {
    let (dirs, count) = match args {
        [data, n, count] if n == "-n" => ([data, data], count),
        [data, log, n, count] if n == "-n" => ([data, log], count),
        _ => return Err(USAGE.to_string()),
    };
    let count: usize = count
        .parse()
        .map_err(|_| format!("'{count}' is not a valid number of files to retain\n{USAGE}"))?;
    if count < MIN_SNAP_RETAIN_COUNT {
        return Err(format!(
            "Number of files to retain should be at least {MIN_SNAP_RETAIN_COUNT}"
        ));
    }
    let (data_dir, log_dir) = (Path::new(dirs[0]), Path::new(dirs[1]));
    for dir in [data_dir, log_dir] {
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
    }
    let removed = purge(log_dir, data_dir, count)
        .map_err(|e| format!("purging {}: {e}", data_dir.display()))?;
    for file in &removed {
        println!("Removing file: {}", file.display());
    }
    println!("Removed {} files", removed.len());
    Ok(())
}
