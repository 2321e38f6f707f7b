//! The records of `zookeeper.jute` that live on disk: data records (`Id`,
//! `ACL`, `Stat`, `StatPersisted`), file and txn headers, and the txn digest.
//! Field order is the wire order; do not reorder.

use crate::jute_record;

jute_record! {
    /// An identity: `scheme` is `world`, `auth`, `digest`, `ip`, `super`, ...
    pub struct Id {
        pub scheme: String,
        pub id: String,
    }
}

jute_record! {
    /// One access-control entry: the permission bits granted to `id`.
    pub struct Acl {
        pub perms: i32,
        pub id: Id,
    }
}

jute_record! {
    /// A znode's metadata as clients see it.
    pub struct Stat {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: i64,
    }
}

jute_record! {
    /// A znode's metadata as snapshots store it: `Stat` without the two
    /// fields that are derived (data length, number of children).
    pub struct StatPersisted {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub pzxid: i64,
    }
}

jute_record! {
    /// An authenticated identity as `whoAmI` reports it.
    pub struct ClientInfo {
        pub auth_scheme: String,
        pub user: String,
    }
}

jute_record! {
    /// The first record of every txn log and snapshot file.
    pub struct FileHeader {
        pub magic: i32,
        pub version: i32,
        pub dbid: i64,
    }
}

jute_record! {
    /// The header in front of every txn, on disk and in a quorum proposal.
    pub struct TxnHeader {
        pub client_id: i64,
        pub cxid: i32,
        pub zxid: i64,
        pub time: i64,
        /// The opcode of the txn that follows (see `OpCode`).
        pub txn_type: i32,
    }
}

jute_record! {
    /// The tree digest after a txn, written after it when digests are on
    /// (3.8's default).
    pub struct TxnDigest {
        pub version: i32,
        pub tree_digest: i64,
    }
}

impl StatPersisted {
    /// The client-visible `Stat`, given the two derived fields.
    pub fn to_stat(&self, data_length: i32, num_children: i32) -> Stat {
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion,
            aversion: self.aversion,
            ephemeral_owner: self.ephemeral_owner,
            data_length,
            num_children,
            pzxid: self.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::Record;

    #[test]
    fn acl_bytes_match_java_layout() {
        let acl = Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        };
        let b = acl.to_bytes();
        let mut expect = vec![0, 0, 0, 31, 0, 0, 0, 5];
        expect.extend_from_slice(b"world");
        expect.extend_from_slice(&[0, 0, 0, 6]);
        expect.extend_from_slice(b"anyone");
        assert_eq!(b, expect);
        assert_eq!(Acl::from_bytes(&b).unwrap(), acl);
    }

    #[test]
    fn stat_is_68_bytes() {
        assert_eq!(Stat::default().to_bytes().len(), 68);
        assert_eq!(StatPersisted::default().to_bytes().len(), 60);
        assert_eq!(TxnHeader::default().to_bytes().len(), 32);
    }
}
