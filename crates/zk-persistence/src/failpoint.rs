//! Failpoints: named places where a test makes the server crash, stall or
//! fail an operation, set at process start through the `FAILPOINTS`
//! environment variable (the `fail` crate), e.g.
//! `FAILPOINTS=learner_after_newleader_ack=panic`.
//!
//! They exist only in a build with the `failpoints` feature (zk-bin's
//! turns on every crate's); in any other build the macros expand to
//! nothing. The actions:
//!
//! - `panic`: zk-bin (built with the feature) aborts the whole process on
//!   a failpoint's panic, as a kill -9 at that line would, rather than
//!   ending one thread;
//! - `return`: the operation fails with an I/O error naming the point
//!   (only at points in functions that return `io::Result`);
//! - `sleep(MS)`, `pause`, `print`, `N*action->action`, `P%action`: as the
//!   `fail` crate defines them.
//!
//! The points, by crate:
//!
//! | point | where |
//! |---|---|
//! | `txn_log_before_fsync`, `txn_log_after_fsync` | `FileTxnLog::commit`: before the flush and fsync of what was appended (a crash loses it, as a power cut would), after the fsync |
//! | `snapshot_before_rename` | `FileSnap::serialize`: the snapshot is complete (and fsynced) under its `.tmp` name |
//! | `leader_snap_send_mid` | a leader's SNAP: the sessions are sent (and flushed), the tree not yet |
//! | `learner_snap_recv_mid` | a learner's SNAP: the sessions are read, the tree not yet |
//! | `after_current_epoch_write`, `after_accepted_epoch_write` | zk-quorum's `QuorumPeer`, once the epoch file is written |
//! | `learner_before_newleader_ack`, `learner_after_newleader_ack` | zk-quorum's `Learner::sync_with_leader`, around the ACK of NEWLEADER |
//! | `leader_before_commit` | zk-quorum's leader, once a proposal has its quorum, before COMMIT is queued to anyone |

#[doc(hidden)]
pub use fail as __fail;

/// Whether a panic payload comes from a failpoint's `panic` action: the
/// `fail` crate panics with "failpoint NAME panic", or with the message
/// given as `panic(MSG)`, which for this reason should start with
/// "failpoint" too.
pub fn is_failpoint_panic(message: &str) -> bool {
    message.starts_with("failpoint")
}

/// A failpoint in a function returning `io::Result`: `return` makes the
/// function fail with an error naming the point.
#[macro_export]
macro_rules! fail_point_io {
    ($name:literal) => {
        $crate::failpoint::__fail::fail_point!($name, |_| {
            Err(::std::io::Error::other(concat!(
                "failpoint ",
                $name,
                " returned an error"
            )))
        })
    };
}

/// A failpoint anywhere (`panic`, `sleep`, `pause`; not `return`).
#[macro_export]
macro_rules! fail_point {
    ($name:literal) => {
        $crate::failpoint::__fail::fail_point!($name)
    };
}
