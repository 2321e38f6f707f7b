//! Fuzzy snapshots: written from a tree that txns keep changing, as 3.8's
//! "Snapshot Thread" writes them, without stopping the writers.
//!
//! The caller reads the zxid and the sessions once, at the start (the
//! snapshot is named after that zxid and restore replays every txn after
//! it). [`FileSnap::serialize_fuzzy`] then writes the file in one pass,
//! under the same tmp-then-rename scheme as [`FileSnap::serialize`]:
//!
//! ```text
//! header, sessions (from the start),
//! ACL map, node records    <- FuzzyTreeWalk, a slice at a time
//! "/", seal, zxid digest (from the walk's last slice), seal
//! ```
//!
//! Each slice is taken through [`SharedTree`] (a read lock per slice, see
//! [`FuzzyTreeWalk`]) into a buffer, which is written out after the lock
//! is released. Memory stays bounded by one slice's records and the walk's
//! pending names. The file is written once and nothing is deleted: a
//! snapshot competes with the txn log's fsyncs for the disk, and every
//! extra megabyte written or freed (a discard, on some mounts) is felt as
//! client latency. The tmp name matches [`is_snapshot_tmp_name`], so a
//! crash leaves nothing that startup does not remove.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Instant;

use log::info;

use super::{
    make_snapshot_tmp_name, modified_secs, seal, serialize_sessions, CheckedWriter, FileSnap,
    SessionMap, SnapshotInfo, SNAP_DB_ID, SNAP_MAGIC, SNAP_VERSION,
};
use crate::data_dir::{make_snapshot_name, sync_dir, SNAPSHOT_FILE_PREFIX};
use crate::data_tree::{DataTree, FuzzyTreeWalk, SliceLimits, WalkStats};
use crate::jute::{OutputArchive, Record};
use crate::records::FileHeader;
use crate::zk_database::ZKDatabase;

#[cfg(doc)]
use super::is_snapshot_tmp_name;

/// A tree others keep changing, looked at for a moment at a time.
pub trait SharedTree {
    /// Runs `f` on the tree, holding it (a read lock, say) only for as
    /// long as `f` runs.
    fn with_tree<R>(&self, f: impl FnOnce(&DataTree) -> R) -> R;
}

impl SharedTree for RwLock<DataTree> {
    fn with_tree<R>(&self, f: impl FnOnce(&DataTree) -> R) -> R {
        f(&self.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl SharedTree for RwLock<ZKDatabase> {
    fn with_tree<R>(&self, f: impl FnOnce(&DataTree) -> R) -> R {
        f(self.read().unwrap_or_else(|e| e.into_inner()).data_tree())
    }
}

/// Where earlier versions of this writer kept the node records while the
/// walk ran; startup still removes one left by a crash.
pub fn make_snapshot_nodes_tmp_name(zxid: i64) -> String {
    format!("{}-{:x}.nodes.tmp", SNAPSHOT_FILE_PREFIX, zxid)
}

/// What [`FileSnap::serialize_fuzzy`] wrote.
#[derive(Debug, Clone)]
pub struct FuzzySnapshot {
    /// The snapshot file written.
    pub path: PathBuf,
    /// What the walk of the tree saw.
    pub walk: WalkStats,
}

impl FileSnap {
    /// Writes `snapshot.<zxid>` from a tree that may change while this
    /// runs; `zxid` and `sessions` must have been read together, before
    /// the walk starts. See the module docs.
    pub fn serialize_fuzzy<S: SharedTree>(
        &mut self,
        tree: &S,
        sessions: &SessionMap,
        zxid: i64,
        fsync: bool,
        limits: SliceLimits,
    ) -> io::Result<FuzzySnapshot> {
        let began = Instant::now();
        let path = self.snap_dir.join(make_snapshot_name(zxid));
        let tmp = self.snap_dir.join(make_snapshot_tmp_name(zxid));
        let result = (|| -> io::Result<WalkStats> {
            let walk = write_snapshot_file(&tmp, tree, sessions, zxid, limits, fsync)?;
            fs::rename(&tmp, &path)?;
            if fsync {
                sync_dir(&self.snap_dir);
            }
            Ok(walk)
        })();
        let stats = match result {
            Ok(stats) => stats,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot write snapshot {}: {}", path.display(), e),
                ));
            }
        };
        info!(
            "Snapshot {} written in {} ms: {} nodes in {} slices (longest {} us), {} gone before the walk reached them, {} created after 0x{:x} left to the log, {} with an ACL newer than the walk written open until the log's setACL",
            path.display(),
            began.elapsed().as_millis(),
            stats.nodes_written,
            stats.slices,
            stats.longest_slice.as_micros(),
            stats.nodes_skipped,
            stats.nodes_created_after,
            zxid,
            stats.acls_replaced
        );
        self.last_snapshot_info = Some(SnapshotInfo {
            zxid,
            timestamp: modified_secs(&path),
            path: path.clone(),
        });
        Ok(FuzzySnapshot { path, walk: stats })
    }
}

/// Writes the whole snapshot to `tmp`, walking `tree` a slice at a time.
fn write_snapshot_file<S: SharedTree>(
    tmp: &Path,
    tree: &S,
    sessions: &SessionMap,
    zxid: i64,
    limits: SliceLimits,
    fsync: bool,
) -> io::Result<WalkStats> {
    let mut oa = OutputArchive::new(CheckedWriter {
        inner: BufWriter::with_capacity(256 * 1024, File::create(tmp)?),
        adler: adler2::Adler32::new(),
    });
    FileHeader {
        magic: SNAP_MAGIC,
        version: SNAP_VERSION,
        dbid: SNAP_DB_ID,
    }
    .serialize(&mut oa)?;
    serialize_sessions(sessions, &mut oa)?;
    let mut walk = FuzzyTreeWalk::new(limits, zxid);
    let mut slice = Vec::with_capacity(limits.max_bytes.min(1 << 20) + 4096);
    loop {
        slice.clear();
        let began = Instant::now();
        let done = tree.with_tree(|t| walk.next_slice(t, &mut slice))?;
        let held = began.elapsed();
        // Through the checksumming writer, outside the lock: the seal
        // covers these bytes too.
        oa.get_mut().write_all(&slice)?;
        if done {
            break;
        }
        let rest = (held * limits.rest_factor).saturating_sub(began.elapsed() - held);
        if !rest.is_zero() {
            std::thread::sleep(rest);
        }
    }
    oa.write_string("/")?;
    seal(&mut oa)?;
    if let Some(zd) = walk.zxid_digest() {
        zd.serialize(&mut oa)?;
        seal(&mut oa)?;
    }
    let file = oa
        .into_inner()
        .inner
        .into_inner()
        .map_err(|e| e.into_error())?;
    if fsync {
        file.sync_all()?;
    }
    Ok(walk.stats())
}

#[cfg(test)]
#[path = "fuzzy_snapshot_tests.rs"]
mod tests;
