//! The tree's part of a snapshot (`DataTree.serialize`/`deserialize`) and
//! the zxid digest written after it.
//!
//! Layout: the ACL cache (count, then id + ACL vector each), then every
//! node depth first from the root as `path` (ustring) followed by a
//! `DataNode` record (`data` buffer, `acl` long, `StatPersisted`), the root
//! as "", and finally the path "/" as terminator. Reading accepts any
//! parent-before-child order, as Java does.

use std::io::{self, Read, Write};

use log::{info, warn};

use super::{split_path, DataTree, DataTreeOptions};
use crate::acl_cache::{AclRef, ReferenceCountedAclCache};
use crate::digest::ZxidDigest;
use crate::jute::{InputArchive, JuteError, JuteErrorKind, JuteResult, OutputArchive, Record};
use crate::node_table::{NodeId, ROOT};
use crate::records::StatPersisted;

fn invalid(offset: u64, what: String) -> JuteError {
    JuteError {
        offset,
        kind: JuteErrorKind::Invalid(what),
    }
}

/// One `DataNode` record as a snapshot holds it.
struct NodeRecord {
    data: Option<Vec<u8>>,
    acl: i64,
    stat: StatPersisted,
}

impl NodeRecord {
    fn read<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<NodeRecord> {
        Ok(NodeRecord {
            data: ia.read_buffer_opt()?,
            acl: ia.read_long()?,
            stat: StatPersisted::deserialize(ia)?,
        })
    }
}

impl DataTree {
    fn write_node<W: Write>(&self, oa: &mut OutputArchive<W>, id: NodeId) -> io::Result<()> {
        let n = self.nodes.node(id);
        oa.write_buffer_opt(self.nodes.data(id))?;
        oa.write_long(self.acl_cache.id_of(n.acl))?;
        self.nodes.stat(id).serialize(oa)
    }

    /// Writes the ACL cache and every node, then the "/" terminator.
    pub fn serialize<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        self.acl_cache.serialize(oa)?;
        // Depth first with an explicit stack (trees can be deeper than the
        // thread stack); `path` is rebuilt in place as the walk moves.
        let mut path = String::new();
        let mut stack: Vec<(NodeId, usize)> = vec![(ROOT, 0)];
        while let Some((id, parent_len)) = stack.pop() {
            path.truncate(parent_len);
            if id != ROOT {
                path.push('/');
                path.push_str(self.nodes.name(id));
            }
            oa.write_string(&path)?;
            self.write_node(oa, id)?;
            let len = path.len();
            // Children come newest first; pushed in that order, the oldest
            // is written first.
            stack.extend(self.nodes.children(id).map(|c| (c, len)));
        }
        oa.write_string("/")
    }

    /// Reads a tree written by [`Self::serialize`] (or by ZooKeeper), with
    /// the process-wide options.
    pub fn deserialize<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<DataTree> {
        Self::deserialize_with_options(ia, DataTreeOptions::current())
    }

    /// Reads a tree, rebuilding children, ephemerals, containers, TTL nodes,
    /// ACL reference counts, the data size and the digest. Damage (a path
    /// whose parent was not seen, a duplicate path, a missing root, a null
    /// path, truncation) is an error naming the offset.
    pub fn deserialize_with_options<R: Read>(
        ia: &mut InputArchive<R>,
        options: DataTreeOptions,
    ) -> JuteResult<DataTree> {
        let acl_cache = ReferenceCountedAclCache::deserialize(ia)?;
        let at = ia.position();
        let first = ia.read_string_opt()?;
        if first.as_deref() != Some("") {
            return Err(invalid(
                at,
                format!(
                    "snapshot tree starts with path {:?}, not the root \"\"",
                    first
                ),
            ));
        }
        let root = NodeRecord::read(ia)?;
        let mut tree = DataTree::bare(
            options,
            root.data.as_deref(),
            &root.stat,
            AclRef::OPEN_UNSAFE,
        );
        tree.acl_cache = acl_cache;
        let r = tree.acl_cache.add_usage_by_id(root.acl);
        tree.nodes.node_mut(ROOT).acl = r;
        loop {
            let at = ia.position();
            let Some(path) = ia.read_string_opt()? else {
                return Err(invalid(at, "null path in snapshot tree".into()));
            };
            if path == "/" {
                break;
            }
            let rec = NodeRecord::read(ia)?;
            let Some((parent_path, name)) = split_path(&path) else {
                return Err(invalid(
                    at,
                    format!("path {:?} does not start with '/'", path),
                ));
            };
            let Some(parent) = tree.nodes.lookup(parent_path) else {
                return Err(invalid(
                    at,
                    format!(
                        "Invalid Datatree, unable to find parent {} of path {}",
                        parent_path, path
                    ),
                ));
            };
            if tree.nodes.child(parent, name).is_some() {
                return Err(invalid(
                    at,
                    format!("duplicate path {} in snapshot tree", path),
                ));
            }
            let acl = tree.acl_cache.add_usage_by_id(rec.acl);
            tree.insert_node(parent, &path, rec.data.as_deref(), &rec.stat, acl);
        }
        tree.acl_cache.purge_unused();
        tree.setup_quota();
        Ok(tree)
    }

    /// Writes the digest after the last applied txn (zeros if none), as 3.8
    /// writes it after the tree and sessions. Returns false, writing
    /// nothing, when digests are disabled.
    pub fn serialize_zxid_digest<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<bool> {
        if !self.options.digest_enabled {
            return Ok(false);
        }
        self.last_processed_zxid_digest
            .unwrap_or_default()
            .serialize(oa)?;
        Ok(true)
    }

    /// Reads the digest a snapshot ends with, to be checked once replay
    /// reaches its zxid. Returns false when digests are disabled or the
    /// snapshot predates digests (the input ends first). A digest older
    /// than the snapshot's first zxid cannot be checked and is dropped.
    pub fn deserialize_zxid_digest<R: Read>(
        &mut self,
        ia: &mut InputArchive<R>,
        start_zxid_of_snapshot: i64,
    ) -> JuteResult<bool> {
        if !self.options.digest_enabled {
            return Ok(false);
        }
        let zd = match ZxidDigest::deserialize(ia) {
            Ok(zd) => zd,
            Err(e) if matches!(e.kind, JuteErrorKind::Eof) => {
                warn!("Got EOF while reading the digest, likely due to reading an older snapshot.");
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        if zd.zxid > 0 {
            info!(
                "The digest in the snapshot has digest version of {}, with zxid as 0x{:x}, and digest value as {}",
                zd.digest_version, zd.zxid, zd.digest
            );
            self.digest_from_loaded_snapshot = Some(zd);
        } else {
            info!("The digest value is empty in snapshot");
            self.digest_from_loaded_snapshot = None;
        }
        if zd.zxid > 0 && zd.zxid < start_zxid_of_snapshot {
            info!(
                "The zxid of snapshot digest 0x{:x} is smaller than the known snapshot highest zxid 0x{:x}; not comparing it",
                zd.zxid, start_zxid_of_snapshot
            );
            self.digest_from_loaded_snapshot = None;
        }
        Ok(true)
    }
}
