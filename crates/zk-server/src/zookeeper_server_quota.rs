//! `ZooKeeperServer.checkQuota`: with `enforceQuota=true`, a create or
//! setData that would take a quota'd subtree past a hard limit is refused
//! with QUOTAEXCEEDED before it becomes a txn, and going past a soft limit
//! is logged (at most once a second). With enforcement off (3.8's default)
//! nothing is checked or logged, as in 3.8; the counts are kept either
//! way (zk-persistence's `data_tree::quota`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use log::warn;
use zk_persistence::data_tree::DataTree;
use zk_persistence::zoo_defs::Code;

use crate::zookeeper_server::ZooKeeperServer;

/// 3.8's `RateLogger` for quota messages: one line a second at most, the
/// ones in between counted.
static LAST_LOGGED: Mutex<Option<(Instant, u64)>> = Mutex::new(None);

fn rate_limit_log(msg: &str) {
    let mut last = LAST_LOGGED.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    match &mut *last {
        Some((at, skipped)) if now.duration_since(*at) < Duration::from_secs(1) => *skipped += 1,
        _ => {
            let skipped = last.map_or(0, |(_, n)| n);
            if skipped > 0 {
                warn!("{msg} (and {skipped} more since the last one)");
            } else {
                warn!("{msg}");
            }
            *last = Some((now, 0));
        }
    }
}

impl ZooKeeperServer {
    /// `checkQuota` for a write at `path`: a create adds one znode of
    /// `new_len` bytes; a setData (`last_len` Some) changes the size from
    /// `last_len` to `new_len`.
    pub(crate) fn check_quota(
        &self,
        tree: &DataTree,
        path: &str,
        last_len: Option<usize>,
        new_len: usize,
    ) -> Result<(), Code> {
        if !self.enforce_quota {
            return Ok(());
        }
        let Some(prefix) = tree.max_prefix_with_quota(path) else {
            return Ok(());
        };
        let (bytes_diff, count_diff) = match last_len {
            None => (new_len as i64, 1),
            Some(last) => (new_len as i64 - last as i64, 0),
        };
        let Some((limits, current)) = tree.quota_of(&prefix) else {
            return Ok(());
        };
        let check_count =
            count_diff != 0 && (limits.count() > -1 || limits.count_hard_limit() > -1);
        if check_count {
            let new_count = current.count() + count_diff;
            let hard = limits.count_hard_limit() > -1;
            let limit = if hard {
                limits.count_hard_limit()
            } else {
                limits.count()
            };
            if new_count > limit {
                let kind = if hard { "hard" } else { "soft" };
                rate_limit_log(&format!(
                    "Quota exceeded: {prefix} [current count={new_count}, {kind}CountLimit={limit}]"
                ));
                if hard {
                    return Err(Code::QUOTAEXCEEDED);
                }
            }
        }
        let check_bytes = bytes_diff != 0 && (limits.bytes() > -1 || limits.byte_hard_limit() > -1);
        if check_bytes {
            let new_bytes = current.bytes() + bytes_diff;
            let hard = limits.byte_hard_limit() > -1;
            let limit = if hard {
                limits.byte_hard_limit()
            } else {
                limits.bytes()
            };
            if new_bytes > limit {
                let kind = if hard { "hard" } else { "soft" };
                rate_limit_log(&format!(
                    "Quota exceeded: {prefix} [current bytes={new_bytes}, {kind}ByteLimit={limit}]"
                ));
                if hard {
                    return Err(Code::QUOTAEXCEEDED);
                }
            }
        }
        Ok(())
    }
}
