//! Digest bookkeeping (3.8's `digest.enabled`): what the tree's digest was
//! after each txn, and the checks against the digests logged with txns and
//! stored in snapshots.

use log::{debug, error, warn};

use super::{DataTree, DIGEST_LOG_INTERVAL, DIGEST_LOG_LIMIT};
use crate::digest::{ZxidDigest, DIGEST_VERSION};
use crate::records::{TxnDigest, TxnHeader};
use crate::zoo_defs::op_code;

impl DataTree {
    /// The tree digest (`getTreeDigest`); 0 when digests are disabled.
    pub fn digest(&self) -> i64 {
        self.tree_digest
    }

    /// The digest after the last applied txn (`lastProcessedZxidDigest`).
    pub fn last_processed_zxid_digest(&self) -> Option<ZxidDigest> {
        self.last_processed_zxid_digest
    }

    /// The digest a loaded snapshot recorded, until the txn it belongs to
    /// has been replayed and compared.
    pub fn digest_from_loaded_snapshot(&self) -> Option<ZxidDigest> {
        self.digest_from_loaded_snapshot
    }

    /// Digests of recent zxids divisible by 128 (`getDigestLog`).
    pub fn digest_log(&self) -> Vec<ZxidDigest> {
        self.digest_log.iter().copied().collect()
    }

    /// How many digest mismatches were seen (`digest_mismatches_count`).
    pub fn digest_mismatches(&self) -> u64 {
        self.digest_mismatches
    }

    pub(super) fn log_zxid_digest(&mut self, zxid: i64, digest: i64) {
        let zd = ZxidDigest {
            zxid,
            digest_version: DIGEST_VERSION,
            digest,
        };
        self.last_processed_zxid_digest = Some(zd);
        if zxid % DIGEST_LOG_INTERVAL == 0 {
            self.digest_log.push_back(zd);
            if self.digest_log.len() > DIGEST_LOG_LIMIT {
                self.digest_log.pop_front();
            }
        }
    }

    fn report_digest_mismatch(&mut self, zxid: i64) {
        self.digest_mismatches += 1;
        warn!("Digests are not matching. Value is Zxid. 0x{:x}", zxid);
    }

    /// `compareSnapshotDigests`: once the txn the snapshot's digest was
    /// taken at has been replayed, the tree must match it. Public so that
    /// restore can compare right after loading a snapshot whose digest is
    /// for the snapshot's own zxid (FileSnap does so in ZooKeeper).
    pub fn compare_snapshot_digests(&mut self, zxid: i64) {
        let Some(snap) = self.digest_from_loaded_snapshot else {
            return;
        };
        if zxid == snap.zxid {
            if snap.digest_version != DIGEST_VERSION {
                debug!(
                    "Digest version changed, local: {}, new: {}, skip comparing digest now.",
                    snap.digest_version, DIGEST_VERSION
                );
            } else if self.digest() != snap.digest {
                self.report_digest_mismatch(zxid);
            }
            self.digest_from_loaded_snapshot = None;
        } else if snap.zxid != 0 && zxid > snap.zxid {
            debug!(
                "The txn 0x{:x} of snapshot digest does not exist.",
                snap.zxid
            );
        }
    }

    /// `compareDigest`: after applying a txn, does the tree match the
    /// digest logged with it? True when there is nothing to compare
    /// (digests off, none logged, still inside a fuzzy snapshot, another
    /// digest version).
    pub fn compare_digest(&mut self, hdr: &TxnHeader, digest: Option<&TxnDigest>) -> bool {
        let Some(d) = digest else { return true };
        if !self.options.digest_enabled || self.digest_from_loaded_snapshot.is_some() {
            return true;
        }
        if d.version != DIGEST_VERSION {
            debug!("Digest version not the same on zxid 0x{:x}", hdr.zxid);
            return true;
        }
        let actual = self.digest();
        if d.tree_digest != actual {
            self.report_digest_mismatch(hdr.zxid);
            if self.first_mismatch_txn {
                error!(
                    "First digest mismatch on txn 0x{:x} ({}), expected digest is {}, actual digest is {}",
                    hdr.zxid,
                    op_code::op2string(hdr.txn_type),
                    d.tree_digest,
                    actual
                );
                self.first_mismatch_txn = false;
            }
            return false;
        }
        true
    }
}
