//! Fuzzy snapshots: written from a tree that txns keep changing, as 3.8's
//! "Snapshot Thread" writes them, without stopping the writers.
//!
//! The caller reads the zxid and the sessions once, at the start (the
//! snapshot is named after that zxid and restore replays every txn after
//! it). [`FileSnap::serialize_fuzzy`] then walks the tree a slice at a
//! time through [`SharedTree`] (a read lock per slice, see
//! [`FuzzyTreeWalk`]) and writes the node records to
//! `snapshot-<zxid>.nodes.tmp` outside the lock. Once the walk is done it
//! knows the complete ACL map, and assembles the real file, under the
//! same tmp-then-rename scheme as [`FileSnap::serialize`]:
//!
//! ```text
//! header, sessions (from the start), ACL map (from the walk),
//! node records (copied from the .nodes.tmp file), "/", seal,
//! zxid digest (from the walk's last slice), seal
//! ```
//!
//! Memory stays bounded by one slice's records, the walk's pending
//! names and the ACL map; the cost is writing the node records twice.
//! Both tmp names match [`is_snapshot_tmp_name`], so a crash leaves
//! nothing that startup does not remove.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Instant;

use log::info;

use super::{
    make_snapshot_tmp_name, modified_secs, seal, serialize_sessions, CheckedWriter, FileSnap,
    SessionMap, SnapshotInfo, SNAP_DB_ID, SNAP_MAGIC, SNAP_VERSION,
};
use crate::acl_cache::serialize_acl_map;
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

/// Where the node records wait while the walk runs.
pub fn make_snapshot_nodes_tmp_name(zxid: i64) -> String {
    format!("{}-{:x}.nodes.tmp", SNAPSHOT_FILE_PREFIX, zxid)
}

/// What [`FileSnap::serialize_fuzzy`] wrote.
#[derive(Debug, Clone)]
pub struct FuzzySnapshot {
    pub path: PathBuf,
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
        let nodes_tmp = self.snap_dir.join(make_snapshot_nodes_tmp_name(zxid));
        let result = (|| -> io::Result<WalkStats> {
            let mut nodes = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&nodes_tmp)?;
            let walk = walk_into(tree, &mut nodes, limits)?;
            nodes.seek(SeekFrom::Start(0))?;
            write_snapshot_file(&tmp, sessions, &walk, nodes, fsync)?;
            fs::remove_file(&nodes_tmp)?;
            fs::rename(&tmp, &path)?;
            if fsync {
                sync_dir(&self.snap_dir);
            }
            Ok(walk.stats())
        })();
        let stats = match result {
            Ok(stats) => stats,
            Err(e) => {
                let _ = fs::remove_file(&nodes_tmp);
                let _ = fs::remove_file(&tmp);
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot write snapshot {}: {}", path.display(), e),
                ));
            }
        };
        info!(
            "Snapshot {} written in {} ms: {} nodes in {} slices (longest {} us), {} gone before the walk reached them, {} ACL lists added during the walk",
            path.display(),
            began.elapsed().as_millis(),
            stats.nodes_written,
            stats.slices,
            stats.longest_slice.as_micros(),
            stats.nodes_skipped,
            stats.acls_added
        );
        self.last_snapshot_info = Some(SnapshotInfo {
            zxid,
            timestamp: modified_secs(&path),
            path: path.clone(),
        });
        Ok(FuzzySnapshot { path, walk: stats })
    }
}

/// Runs the walk to its end, appending the node records to `nodes`. Only
/// the walk holds the tree; the file is written between slices.
fn walk_into<S: SharedTree>(
    tree: &S,
    nodes: &mut File,
    limits: SliceLimits,
) -> io::Result<FuzzyTreeWalk> {
    let mut walk = FuzzyTreeWalk::new(limits);
    let mut slice = Vec::with_capacity(limits.max_bytes.min(1 << 20) + 4096);
    loop {
        slice.clear();
        let done = tree.with_tree(|t| walk.next_slice(t, &mut slice))?;
        nodes.write_all(&slice)?;
        if done {
            return Ok(walk);
        }
    }
}

/// Writes the whole snapshot to `tmp`, taking the node records from
/// `nodes`.
fn write_snapshot_file(
    tmp: &Path,
    sessions: &SessionMap,
    walk: &FuzzyTreeWalk,
    nodes: File,
    fsync: bool,
) -> io::Result<()> {
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
    serialize_acl_map(&mut oa, walk.acl_map().into_iter())?;
    // Through the checksumming writer: the seal covers these bytes too.
    io::copy(
        &mut BufReader::with_capacity(256 * 1024, nodes),
        oa.get_mut(),
    )?;
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
    Ok(())
}

#[cfg(test)]
#[path = "fuzzy_snapshot_tests.rs"]
mod tests;
