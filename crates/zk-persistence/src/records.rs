//! The records of `zookeeper.jute` that live on disk: data records (`Id`,
//! `ACL`, `Stat`, `StatPersisted`), file and txn headers, the txn digest, and
//! every txn body of `org.apache.zookeeper.txn`.
//! Field order is the wire order; do not reorder.

use std::io::{self, Read, Write};

use crate::jute::{InputArchive, JuteField, JuteResult, OutputArchive};
use crate::jute_record;

jute_record! {
    /// An identity: `scheme` is `world`, `auth`, `digest`, `ip`, `super`, ...
    #[derive(Hash)]
    pub struct Id {
        /// The auth scheme: `world`, `auth`, `digest`, `ip`, `super`, ...
        pub scheme: String,
        /// The identity within the scheme (`anyone`, `user:base64(sha1)`, an
        /// address, ...).
        pub id: String,
    }
}

jute_record! {
    /// One access-control entry: the permission bits granted to `id`.
    /// (Hashable: the ACL cache is keyed by whole ACL lists.)
    #[derive(Hash)]
    pub struct Acl {
        /// The granted permission bits (`ZooDefs.Perms`, see
        /// [`crate::zoo_defs::perms`]).
        pub perms: i32,
        /// Who the bits are granted to.
        pub id: Id,
    }
}

jute_record! {
    /// A znode's metadata as clients see it.
    pub struct Stat {
        /// The zxid of the txn that created the node.
        pub czxid: i64,
        /// The zxid of the txn that last changed its data.
        pub mzxid: i64,
        /// When the node was created, ms since the epoch (the txn's time).
        pub ctime: i64,
        /// When its data last changed, ms since the epoch.
        pub mtime: i64,
        /// How many times its data changed.
        pub version: i32,
        /// How many times its children changed.
        pub cversion: i32,
        /// How many times its ACL changed.
        pub aversion: i32,
        /// The owning session of an ephemeral, 0 for a persistent node; also
        /// encodes container and TTL nodes (`EphemeralType`).
        pub ephemeral_owner: i64,
        /// The length of its data.
        pub data_length: i32,
        /// How many children it has.
        pub num_children: i32,
        /// The zxid of the txn that last added or removed a child.
        pub pzxid: i64,
    }
}

jute_record! {
    /// A znode's metadata as snapshots store it: `Stat` without the two
    /// fields that are derived (data length, number of children).
    pub struct StatPersisted {
        /// The zxid of the txn that created the node.
        pub czxid: i64,
        /// The zxid of the txn that last changed its data.
        pub mzxid: i64,
        /// When the node was created, ms since the epoch.
        pub ctime: i64,
        /// When its data last changed, ms since the epoch.
        pub mtime: i64,
        /// How many times its data changed.
        pub version: i32,
        /// How many times its children changed.
        pub cversion: i32,
        /// How many times its ACL changed.
        pub aversion: i32,
        /// The owning session (or container/TTL encoding), 0 if persistent.
        pub ephemeral_owner: i64,
        /// The zxid of the txn that last added or removed a child.
        pub pzxid: i64,
    }
}

jute_record! {
    /// An authenticated identity as `whoAmI` reports it.
    pub struct ClientInfo {
        /// The scheme the identity was authenticated by.
        pub auth_scheme: String,
        /// The identity within that scheme.
        pub user: String,
    }
}

jute_record! {
    /// The first record of every txn log and snapshot file.
    pub struct FileHeader {
        /// `ZKLG` for a txn log, `ZKSN` for a snapshot.
        pub magic: i32,
        /// The file format version (2).
        pub version: i32,
        /// The database id: 0 in a txn log, -1 in a snapshot; read but not
        /// checked.
        pub dbid: i64,
    }
}

jute_record! {
    /// The header in front of every txn, on disk and in a quorum proposal.
    pub struct TxnHeader {
        /// The session that issued the request.
        pub client_id: i64,
        /// The client's xid of the request.
        pub cxid: i32,
        /// The txn's zxid (epoch in the high 32 bits, counter in the low).
        pub zxid: i64,
        /// When the leader (or standalone server) built the txn, ms since the
        /// epoch; becomes the node times it sets.
        pub time: i64,
        /// The opcode of the txn that follows (see `OpCode`).
        pub txn_type: i32,
    }
}

jute_record! {
    /// The tree digest after a txn, written after it when digests are on
    /// (3.8's default).
    pub struct TxnDigest {
        /// The digest algorithm's version (`DigestCalculator.DIGEST_VERSION`).
        pub version: i32,
        /// The digest of the whole tree after the txn.
        pub tree_digest: i64,
    }
}

jute_record! {
    /// `CreateTxn` as ZooKeeper before 3.3 wrote it (no parent cversion).
    /// Only read, as a fallback, when a `create` txn is too short to be a
    /// `CreateTxn`.
    pub struct CreateTxnV0 {
        /// The znode's full path.
        pub path: String,
        /// The node's data; `None` is a null buffer, kept apart from empty.
        pub data: Option<Vec<u8>>,
        /// The node's ACL list.
        pub acl: Vec<Acl>,
        /// Whether the node is owned by the txn's session.
        pub ephemeral: bool,
    }
}

jute_record! {
    /// `create` and `create2`.
    pub struct CreateTxn {
        /// The znode's full path.
        pub path: String,
        /// The node's data; `None` is a null buffer, kept apart from empty.
        pub data: Option<Vec<u8>>,
        /// The node's ACL list.
        pub acl: Vec<Acl>,
        /// Whether the node is owned by the txn's session.
        pub ephemeral: bool,
        /// The parent's cversion after this create, or -1 to mean "one more
        /// than it is now".
        pub parent_c_version: i32,
    }
}

jute_record! {
    /// jute `CreateTTLTxn`: a persistent node that expires `ttl` ms after
    /// its last change once it has no children.
    pub struct CreateTtlTxn {
        /// The znode's full path.
        pub path: String,
        /// The node's data; `None` is a null buffer, kept apart from empty.
        pub data: Option<Vec<u8>>,
        /// The node's ACL list.
        pub acl: Vec<Acl>,
        /// The parent's cversion after this create, or -1 to mean "one more
        /// than it is now".
        pub parent_c_version: i32,
        /// The time to live, ms.
        pub ttl: i64,
    }
}

jute_record! {
    /// A container node: deleted by the server once its last child goes.
    pub struct CreateContainerTxn {
        /// The znode's full path.
        pub path: String,
        /// The node's data; `None` is a null buffer, kept apart from empty.
        pub data: Option<Vec<u8>>,
        /// The node's ACL list.
        pub acl: Vec<Acl>,
        /// The parent's cversion after this create, or -1 to mean "one more
        /// than it is now".
        pub parent_c_version: i32,
    }
}

jute_record! {
    /// `delete` and `deleteContainer`.
    pub struct DeleteTxn {
        /// The path of the node deleted.
        pub path: String,
    }
}

jute_record! {
    /// `setData`, and `reconfig` (which sets `/zookeeper/config`).
    pub struct SetDataTxn {
        /// The znode's full path.
        pub path: String,
        /// The new data; `None` is a null buffer.
        pub data: Option<Vec<u8>>,
        /// The node's new version (the request's version check is done
        /// before the txn is logged).
        pub version: i32,
    }
}

jute_record! {
    /// The `check` op of a multi; changes nothing.
    pub struct CheckVersionTxn {
        /// The path whose version was checked.
        pub path: String,
        /// The version the request expected.
        pub version: i32,
    }
}

jute_record! {
    /// jute `SetACLTxn`.
    pub struct SetAclTxn {
        /// The znode's full path.
        pub path: String,
        /// The new ACL list.
        pub acl: Vec<Acl>,
        /// The node's new aversion.
        pub version: i32,
    }
}

jute_record! {
    /// Declared by `zookeeper.jute` but never logged by 3.x.
    pub struct SetMaxChildrenTxn {
        /// The znode's full path.
        pub path: String,
        /// The child limit it would have set.
        pub max: i32,
    }
}

jute_record! {
    /// `createSession`: a new session and its timeout.
    pub struct CreateSessionTxn {
        /// The negotiated session timeout, ms.
        pub time_out: i32,
    }
}

jute_record! {
    /// The ephemerals the leader saw for the session when it closed it
    /// (3.6+; older logs have no body).
    pub struct CloseSessionTxn {
        /// Paths of the session's ephemerals, deleted with it.
        pub paths2_delete: Vec<String>,
    }
}

jute_record! {
    /// A failed request (or failed op of a multi): only its error code.
    pub struct ErrorTxn {
        /// The `KeeperException.Code` the request failed with.
        pub err: i32,
    }
}

jute_record! {
    /// jute `org.apache.zookeeper.txn.Txn`: one op of a `MultiTxn`, its
    /// record already serialized. (Named `SubTxn` here so that
    /// [`crate::txn::Txn`] can be the decoded form.)
    pub struct SubTxn {
        /// The op's opcode.
        pub txn_type: i32,
        /// The op's txn record, serialized.
        pub data: Vec<u8>,
    }
}

jute_record! {
    /// `multi`: the ops of a multi, logged as one txn and applied as a unit.
    pub struct MultiTxn {
        /// The ops, in order.
        pub txns: Vec<SubTxn>,
    }
}

/// A jute `buffer` that keeps null apart from empty. Znode data needs it:
/// a node created with null data answers `getData` with a null buffer
/// (length -1) and is snapshotted that way, and clients can tell.
impl JuteField for Option<Vec<u8>> {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_buffer_opt(self.as_deref())
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_buffer_opt()
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
