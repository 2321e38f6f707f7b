//! The tree digest (ZooKeeper's `DigestCalculator`, `AdHash` and
//! `DataTree.ZxidDigest`).
//!
//! Every node hashes to a CRC-32 of its path, data and stat; the tree's
//! digest is the wrapping sum of those (an additive hash, so a change
//! subtracts the node's old value and adds its new one, and order never
//! matters). Leaders write the digest after each txn, and snapshots end with
//! the digest at some zxid, so followers and restarts can detect a tree that
//! diverged. Nodes under `/zookeeper/` are left out, as Java leaves them out.

use std::io::{self, Read, Write};

use crate::jute::{InputArchive, JuteErrorKind, JuteResult, OutputArchive};
use crate::zoo_defs::ZOOKEEPER_NODE_SUBTREE;

/// The digest version 3.8 writes; bump it whenever the calculation changes.
pub const DIGEST_VERSION: i32 = 2;

/// One node's contribution to the tree digest, or 0 if it has none.
#[allow(clippy::too_many_arguments)]
pub fn node_digest(
    path: &str,
    data: Option<&[u8]>,
    czxid: i64,
    mzxid: i64,
    pzxid: i64,
    ctime: i64,
    mtime: i64,
    version: i32,
    cversion: i32,
    aversion: i32,
    ephemeral_owner: i64,
) -> i64 {
    if path.starts_with(ZOOKEEPER_NODE_SUBTREE) {
        return 0;
    }
    // The root is reached as both "" and "/"; it must hash the same.
    let path = if path == "/" { "" } else { path };
    let mut stat = [0u8; 60];
    stat[0..8].copy_from_slice(&czxid.to_be_bytes());
    stat[8..16].copy_from_slice(&mzxid.to_be_bytes());
    stat[16..24].copy_from_slice(&pzxid.to_be_bytes());
    stat[24..32].copy_from_slice(&ctime.to_be_bytes());
    stat[32..40].copy_from_slice(&mtime.to_be_bytes());
    stat[40..44].copy_from_slice(&version.to_be_bytes());
    stat[44..48].copy_from_slice(&cversion.to_be_bytes());
    stat[48..52].copy_from_slice(&aversion.to_be_bytes());
    stat[52..60].copy_from_slice(&ephemeral_owner.to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    // Java's String.getBytes(): UTF-8 for every path a Rust string holds.
    crc.update(path.as_bytes());
    if let Some(d) = data {
        crc.update(d);
    }
    crc.update(&stat);
    crc.finalize() as i64
}

/// The digest at a zxid, as a snapshot stores it after the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    /// The zxid the digest was taken at.
    pub zxid: i64,
    /// The digest algorithm's version (`DigestCalculator.DIGEST_VERSION`).
    pub digest_version: i32,
    /// The tree digest: the sum of every node's digest.
    pub digest: i64,
}

impl Default for ZxidDigest {
    /// What Java writes when no txn has been applied yet.
    fn default() -> Self {
        ZxidDigest {
            zxid: 0,
            digest_version: DIGEST_VERSION,
            digest: 0,
        }
    }
}

impl ZxidDigest {
    /// Writes it as `ZxidDigest`: zxid, version, digest.
    pub fn serialize<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_long(self.zxid)?;
        oa.write_int(self.digest_version)?;
        oa.write_long(self.digest)
    }

    /// Version 1 stored the digest as a hex string; later ones as a long.
    pub fn deserialize<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<ZxidDigest> {
        let zxid = ia.read_long()?;
        let digest_version = ia.read_int()?;
        let digest = if digest_version < 2 {
            let at = ia.position();
            match ia.read_string_opt()? {
                None => 0,
                Some(hex) => u64::from_str_radix(&hex, 16)
                    .map(|v| v as i64)
                    .or_else(|_| i64::from_str_radix(&hex, 16))
                    .map_err(|_| crate::jute::JuteError {
                        offset: at,
                        kind: JuteErrorKind::Invalid(format!(
                            "digest {:?} is not a hex number",
                            hex
                        )),
                    })?,
            }
        } else {
            ia.read_long()?
        };
        Ok(ZxidDigest {
            zxid,
            digest_version,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_digest_is_crc32_of_path_data_and_stat() {
        // CRC-32 (IEEE) of "/a", "x" and 60 zero bytes, computed bytewise.
        fn crc(bytes: &[u8]) -> u32 {
            let mut c = 0xffff_ffffu32;
            for &b in bytes {
                c ^= b as u32;
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        (c >> 1) ^ 0xedb8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        let mut buf = b"/ax".to_vec();
        buf.extend([0u8; 60]);
        assert_eq!(
            node_digest("/a", Some(b"x"), 0, 0, 0, 0, 0, 0, 0, 0, 0),
            crc(&buf) as i64
        );
        assert_eq!(crc(b"123456789"), 0xcbf4_3926);
        // Root aliases hash alike; /zookeeper/ children not at all.
        assert_eq!(
            node_digest("/", None, 1, 2, 3, 4, 5, 6, 7, 8, 9),
            node_digest("", None, 1, 2, 3, 4, 5, 6, 7, 8, 9)
        );
        assert_eq!(
            node_digest("/zookeeper/quota", None, 1, 1, 1, 1, 1, 1, 1, 1, 1),
            0
        );
        assert_ne!(
            node_digest("/zookeeper", None, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            0
        );
        // Null and empty data hash alike.
        assert_eq!(
            node_digest("/a", None, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            node_digest("/a", Some(b""), 0, 0, 0, 0, 0, 0, 0, 0, 0)
        );
    }

    #[test]
    fn zxid_digest_layouts() {
        let d = ZxidDigest {
            zxid: 5,
            digest_version: 2,
            digest: -1,
        };
        let mut oa = OutputArchive::new(Vec::new());
        d.serialize(&mut oa).unwrap();
        let b = oa.into_inner();
        assert_eq!(b.len(), 20);
        assert_eq!(
            ZxidDigest::deserialize(&mut InputArchive::new(&b[..])).unwrap(),
            d
        );
        // Version 1: hex string.
        let mut oa = OutputArchive::new(Vec::new());
        oa.write_long(7).unwrap();
        oa.write_int(1).unwrap();
        oa.write_string("ff").unwrap();
        let b = oa.into_inner();
        let d1 = ZxidDigest::deserialize(&mut InputArchive::new(&b[..])).unwrap();
        assert_eq!((d1.zxid, d1.digest_version, d1.digest), (7, 1, 255));
        let mut bad = b[..12].to_vec();
        bad.extend([0, 0, 0, 2, b'z', b'z']);
        assert!(ZxidDigest::deserialize(&mut InputArchive::new(&bad[..])).is_err());
    }
}
