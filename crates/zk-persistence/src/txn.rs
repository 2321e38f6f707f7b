//! Txns decoded: which record follows a `TxnHeader` (ZooKeeper's
//! `SerializeUtils.deserializeTxn`), and the bytes of one logged txn split
//! into header, txn and digest and joined back (`Util.marshallTxnEntry`).
//!
//! The header's `type` decides the record. Several opcodes share one record
//! (`create`/`create2`, `delete`/`deleteContainer`, `setData`/`reconfig`),
//! so [`Txn`] has a variant per opcode: the variant alone says what to write
//! in the header.

use std::io::{self, Write};

use crate::jute::{InputArchive, JuteErrorKind, JuteResult, OutputArchive, Record};
use crate::records::{
    CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, CreateTxnV0, DeleteTxn, ErrorTxn, MultiTxn, SetAclTxn, SetDataTxn, SubTxn,
    TxnDigest, TxnHeader,
};
use crate::zoo_defs::op_code;

/// The body of a txn, by opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txn {
    /// `createSession`.
    CreateSession(CreateSessionTxn),
    /// `None` for the body-less close of logs written before 3.6.
    CloseSession(Option<CloseSessionTxn>),
    /// `create`: a node, no stat in the result.
    Create(CreateTxn),
    /// `create2`: the same record as `create`; the result carries the
    /// new node's stat.
    Create2(CreateTxn),
    /// `createTTL`.
    CreateTtl(CreateTtlTxn),
    /// `createContainer`.
    CreateContainer(CreateContainerTxn),
    /// `delete`.
    Delete(DeleteTxn),
    /// `deleteContainer`: the container manager's delete of an empty
    /// container or expired TTL node.
    DeleteContainer(DeleteTxn),
    /// `setData`.
    SetData(SetDataTxn),
    /// A reconfig is logged as a `setData` of `/zookeeper/config`.
    Reconfig(SetDataTxn),
    /// `setACL`.
    SetAcl(SetAclTxn),
    /// Only inside a multi.
    Check(CheckVersionTxn),
    /// A failed request, or the failed (or rolled-back) op of a multi.
    Error(ErrorTxn),
    /// The ops in order. Each keeps its own opcode through its variant.
    Multi(Vec<Txn>),
}

/// The opcodes that may appear inside a multi (those `DataTree.processTxn`
/// knows how to apply there).
fn allowed_in_multi(t: i32) -> bool {
    matches!(
        t,
        op_code::CREATE
            | op_code::CREATE_TTL
            | op_code::CREATE_CONTAINER
            | op_code::DELETE
            | op_code::DELETE_CONTAINER
            | op_code::SET_DATA
            | op_code::ERROR
            | op_code::CHECK
    )
}

impl Txn {
    /// The opcode the `TxnHeader` in front of this txn carries.
    pub fn op_code(&self) -> i32 {
        match self {
            Txn::CreateSession(_) => op_code::CREATE_SESSION,
            Txn::CloseSession(_) => op_code::CLOSE_SESSION,
            Txn::Create(_) => op_code::CREATE,
            Txn::Create2(_) => op_code::CREATE2,
            Txn::CreateTtl(_) => op_code::CREATE_TTL,
            Txn::CreateContainer(_) => op_code::CREATE_CONTAINER,
            Txn::Delete(_) => op_code::DELETE,
            Txn::DeleteContainer(_) => op_code::DELETE_CONTAINER,
            Txn::SetData(_) => op_code::SET_DATA,
            Txn::Reconfig(_) => op_code::RECONFIG,
            Txn::SetAcl(_) => op_code::SET_ACL,
            Txn::Check(_) => op_code::CHECK,
            Txn::Error(_) => op_code::ERROR,
            Txn::Multi(_) => op_code::MULTI,
        }
    }

    /// The path the txn acts on, if it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Txn::Create(t) | Txn::Create2(t) => Some(&t.path),
            Txn::CreateTtl(t) => Some(&t.path),
            Txn::CreateContainer(t) => Some(&t.path),
            Txn::Delete(t) | Txn::DeleteContainer(t) => Some(&t.path),
            Txn::SetData(t) | Txn::Reconfig(t) => Some(&t.path),
            Txn::SetAcl(t) => Some(&t.path),
            Txn::Check(t) => Some(&t.path),
            _ => None,
        }
    }

    /// Reads the record a header of type `txn_type` announces from the
    /// front of `bytes`, returning it and how many bytes it took (a digest
    /// may follow).
    ///
    /// As Java does: a `create` too short for a `CreateTxn` is re-read as a
    /// `CreateTxnV0` with parent cversion -1, and a `closeSession` without
    /// a body is `CloseSession(None)`.
    pub fn decode(txn_type: i32, bytes: &[u8]) -> JuteResult<(Txn, usize)> {
        let mut ia = InputArchive::new(bytes);
        let res = Self::read_body(txn_type, &mut ia);
        let txn = match res {
            Ok(t) => t,
            Err(e) if matches!(e.kind, JuteErrorKind::Eof) => match txn_type {
                op_code::CREATE => {
                    ia = InputArchive::new(bytes);
                    let v0: CreateTxnV0 = ia.read_record()?;
                    Txn::Create(CreateTxn {
                        path: v0.path,
                        data: v0.data,
                        acl: v0.acl,
                        ephemeral: v0.ephemeral,
                        parent_c_version: -1,
                    })
                }
                op_code::CLOSE_SESSION => {
                    ia = InputArchive::new(bytes);
                    Txn::CloseSession(None)
                }
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        Ok((txn, ia.position() as usize))
    }

    fn read_body<R: io::Read>(txn_type: i32, ia: &mut InputArchive<R>) -> JuteResult<Txn> {
        Ok(match txn_type {
            op_code::CREATE_SESSION => Txn::CreateSession(ia.read_record()?),
            op_code::CLOSE_SESSION => Txn::CloseSession(Some(ia.read_record()?)),
            op_code::CREATE => Txn::Create(ia.read_record()?),
            op_code::CREATE2 => Txn::Create2(ia.read_record()?),
            op_code::CREATE_TTL => Txn::CreateTtl(ia.read_record()?),
            op_code::CREATE_CONTAINER => Txn::CreateContainer(ia.read_record()?),
            op_code::DELETE => Txn::Delete(ia.read_record()?),
            op_code::DELETE_CONTAINER => Txn::DeleteContainer(ia.read_record()?),
            op_code::SET_DATA => Txn::SetData(ia.read_record()?),
            op_code::RECONFIG => Txn::Reconfig(ia.read_record()?),
            op_code::SET_ACL => Txn::SetAcl(ia.read_record()?),
            op_code::ERROR => Txn::Error(ia.read_record()?),
            op_code::MULTI => {
                let start = ia.position();
                let multi: MultiTxn = ia.read_record()?;
                Txn::Multi(Self::decode_multi_ops(&multi).map_err(|mut e| {
                    e.offset += start;
                    e
                })?)
            }
            // `check` only ever appears inside a multi.
            other => {
                return Err(ia.invalid(format!(
                    "unsupported txn type {} ({})",
                    other,
                    op_code::op2string(other)
                )))
            }
        })
    }

    /// Decodes the ops of a multi. Offsets in errors count from the start
    /// of the `MultiTxn` record. Trailing bytes inside an op's buffer are
    /// ignored, as Java ignores them.
    pub fn decode_multi_ops(multi: &MultiTxn) -> JuteResult<Vec<Txn>> {
        let mut ops = Vec::with_capacity(multi.txns.len());
        // Offset of the first op's data: vector count, then type + length.
        let mut offset = 4u64;
        for sub in &multi.txns {
            offset += 8;
            let fail = |kind| crate::jute::JuteError { offset, kind };
            if !allowed_in_multi(sub.txn_type) {
                return Err(fail(JuteErrorKind::Invalid(format!(
                    "invalid type of op in multi: {} ({})",
                    sub.txn_type,
                    op_code::op2string(sub.txn_type)
                ))));
            }
            let mut ia = InputArchive::new(&sub.data[..]);
            let op = match sub.txn_type {
                op_code::CHECK => ia.read_record().map(Txn::Check),
                t => Self::read_body(t, &mut ia),
            };
            ops.push(op.map_err(|mut e| {
                e.offset += offset;
                e
            })?);
            offset += sub.data.len() as u64;
        }
        Ok(ops)
    }

    /// Writes the record (nothing for a body-less close).
    pub fn serialize<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        match self {
            Txn::CreateSession(t) => t.serialize(oa),
            Txn::CloseSession(Some(t)) => t.serialize(oa),
            Txn::CloseSession(None) => Ok(()),
            Txn::Create(t) | Txn::Create2(t) => t.serialize(oa),
            Txn::CreateTtl(t) => t.serialize(oa),
            Txn::CreateContainer(t) => t.serialize(oa),
            Txn::Delete(t) | Txn::DeleteContainer(t) => t.serialize(oa),
            Txn::SetData(t) | Txn::Reconfig(t) => t.serialize(oa),
            Txn::SetAcl(t) => t.serialize(oa),
            Txn::Check(t) => t.serialize(oa),
            Txn::Error(t) => t.serialize(oa),
            Txn::Multi(ops) => Self::to_multi_txn(ops).serialize(oa),
        }
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut oa = OutputArchive::new(Vec::new());
        self.serialize(&mut oa)
            .expect("writing to a Vec cannot fail");
        oa.into_inner()
    }

    /// The jute `MultiTxn` for a list of ops: each op serialized into its
    /// own buffer, tagged with its opcode.
    pub fn to_multi_txn(ops: &[Txn]) -> MultiTxn {
        MultiTxn {
            txns: ops
                .iter()
                .map(|op| SubTxn {
                    txn_type: op.op_code(),
                    data: op.to_bytes(),
                })
                .collect(),
        }
    }
}

/// One logged txn, decoded: what `SerializeUtils.deserializeTxn` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnEntry {
    /// Who, when and which zxid, and the opcode.
    pub header: TxnHeader,
    /// The body, decoded by the header's opcode.
    pub txn: Txn,
    /// Present when the writer had digests enabled (3.8's default).
    pub digest: Option<TxnDigest>,
}

impl TxnEntry {
    /// Splits the bytes of one log entry (or proposal): header, the txn
    /// its type announces, and a digest if one follows. Bytes after the
    /// digest, or too few for a whole digest, are ignored as Java ignores
    /// them.
    pub fn from_bytes(bytes: &[u8]) -> JuteResult<TxnEntry> {
        let mut ia = InputArchive::new(bytes);
        let header: TxnHeader = ia.read_record()?;
        let start = ia.position() as usize;
        let (txn, used) = Txn::decode(header.txn_type, &bytes[start..]).map_err(|mut e| {
            e.offset += start as u64;
            e
        })?;
        let rest = &bytes[start + used..];
        let digest = TxnDigest::from_bytes(rest).ok();
        Ok(TxnEntry {
            header,
            txn,
            digest,
        })
    }

    /// The bytes Java logs for this entry: header, txn, digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut oa = OutputArchive::new(Vec::with_capacity(64));
        self.serialize(&mut oa)
            .expect("writing to a Vec cannot fail");
        oa.into_inner()
    }

    /// Writes header, txn and (if present) digest, as
    /// `Util.marshallTxnEntry` lays them out.
    pub fn serialize<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        self.header.serialize(oa)?;
        self.txn.serialize(oa)?;
        if let Some(d) = &self.digest {
            d.serialize(oa)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Acl, SetMaxChildrenTxn};
    use crate::zoo_defs::ids;

    fn hdr(t: i32) -> TxnHeader {
        TxnHeader {
            client_id: 0x1234,
            cxid: 7,
            zxid: 0x1_0000_0005,
            time: 1_700_000_000_000,
            txn_type: t,
        }
    }

    fn create(path: &str) -> CreateTxn {
        CreateTxn {
            path: path.into(),
            data: Some(b"v".to_vec()),
            acl: ids::open_acl_unsafe(),
            ephemeral: false,
            parent_c_version: 3,
        }
    }

    #[test]
    fn create_txn_bytes_match_java_layout() {
        let t = create("/a");
        let mut expect = vec![0, 0, 0, 2, b'/', b'a', 0, 0, 0, 1, b'v', 0, 0, 0, 1];
        expect.extend_from_slice(&Acl::to_bytes(&ids::open_acl_unsafe()[0]));
        expect.extend_from_slice(&[0, 0, 0, 0, 3]);
        assert_eq!(t.to_bytes(), expect);
        // A null data buffer is length -1 and survives the round trip.
        let n = CreateTxn { data: None, ..t };
        let b = n.to_bytes();
        assert_eq!(&b[6..10], &[0xff; 4]);
        assert_eq!(CreateTxn::from_bytes(&b).unwrap(), n);
    }

    #[test]
    fn small_records_layouts() {
        assert_eq!(
            SetDataTxn {
                path: "/x".into(),
                data: Some(vec![9]),
                version: 2
            }
            .to_bytes(),
            vec![0, 0, 0, 2, b'/', b'x', 0, 0, 0, 1, 9, 0, 0, 0, 2]
        );
        assert_eq!(
            CreateTtlTxn {
                path: "/t".into(),
                data: Some(vec![]),
                acl: vec![],
                parent_c_version: -1,
                ttl: 5
            }
            .to_bytes(),
            vec![
                0, 0, 0, 2, b'/', b't', 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
                0, 0, 0, 5
            ]
        );
        assert_eq!(
            CloseSessionTxn {
                paths2_delete: vec!["/e".into()]
            }
            .to_bytes(),
            vec![0, 0, 0, 1, 0, 0, 0, 2, b'/', b'e']
        );
        assert_eq!(
            CreateSessionTxn { time_out: 30000 }.to_bytes(),
            30000i32.to_be_bytes()
        );
        assert_eq!(ErrorTxn { err: -101 }.to_bytes(), (-101i32).to_be_bytes());
        assert_eq!(
            SubTxn {
                txn_type: 2,
                data: vec![1, 2]
            }
            .to_bytes(),
            vec![0, 0, 0, 2, 0, 0, 0, 2, 1, 2]
        );
        assert_eq!(
            SetMaxChildrenTxn::default().to_bytes(),
            vec![0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn entries_round_trip_with_and_without_digest() {
        let txns = vec![
            Txn::CreateSession(CreateSessionTxn { time_out: 4000 }),
            Txn::CloseSession(Some(CloseSessionTxn {
                paths2_delete: vec!["/a".into()],
            })),
            Txn::Create(create("/a")),
            Txn::Create2(create("/b")),
            Txn::CreateTtl(CreateTtlTxn {
                path: "/t".into(),
                data: None,
                acl: ids::open_acl_unsafe(),
                parent_c_version: 1,
                ttl: 100,
            }),
            Txn::CreateContainer(CreateContainerTxn {
                path: "/c".into(),
                data: Some(vec![]),
                acl: ids::creator_all_acl(),
                parent_c_version: 2,
            }),
            Txn::Delete(DeleteTxn { path: "/a".into() }),
            Txn::DeleteContainer(DeleteTxn { path: "/c".into() }),
            Txn::SetData(SetDataTxn {
                path: "/b".into(),
                data: Some(b"x".to_vec()),
                version: 1,
            }),
            Txn::Reconfig(SetDataTxn {
                path: "/zookeeper/config".into(),
                data: Some(b"server.1=...".to_vec()),
                version: 4,
            }),
            Txn::SetAcl(SetAclTxn {
                path: "/b".into(),
                acl: ids::read_acl_unsafe(),
                version: 1,
            }),
            Txn::Error(ErrorTxn { err: -110 }),
            Txn::Multi(vec![
                Txn::Create(create("/m")),
                Txn::Check(CheckVersionTxn {
                    path: "/m".into(),
                    version: 0,
                }),
                Txn::SetData(SetDataTxn {
                    path: "/m".into(),
                    data: None,
                    version: 1,
                }),
                Txn::Delete(DeleteTxn { path: "/m".into() }),
            ]),
        ];
        for txn in txns {
            for digest in [
                None,
                Some(TxnDigest {
                    version: 2,
                    tree_digest: -77,
                }),
            ] {
                let e = TxnEntry {
                    header: hdr(txn.op_code()),
                    txn: txn.clone(),
                    digest,
                };
                let b = e.to_bytes();
                assert_eq!(TxnEntry::from_bytes(&b).unwrap(), e, "{:?}", txn);
                let mut expect = e.header.to_bytes();
                expect.extend(txn.to_bytes());
                if let Some(d) = &e.digest {
                    expect.extend(d.to_bytes());
                }
                assert_eq!(b, expect);
            }
        }
    }

    #[test]
    fn multi_layout_is_vector_of_type_and_buffer() {
        let m = Txn::Multi(vec![Txn::Delete(DeleteTxn { path: "/q".into() })]);
        assert_eq!(
            m.to_bytes(),
            vec![0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 2, b'/', b'q']
        );
    }

    #[test]
    fn old_create_falls_back_to_v0() {
        let v0 = CreateTxnV0 {
            path: "/old".into(),
            data: Some(b"d".to_vec()),
            acl: ids::open_acl_unsafe(),
            ephemeral: true,
        };
        let mut b = hdr(op_code::CREATE).to_bytes();
        b.extend(v0.to_bytes());
        let e = TxnEntry::from_bytes(&b).unwrap();
        assert_eq!(
            e.txn,
            Txn::Create(CreateTxn {
                path: "/old".into(),
                data: Some(b"d".to_vec()),
                acl: ids::open_acl_unsafe(),
                ephemeral: true,
                parent_c_version: -1,
            })
        );
        assert_eq!(e.digest, None);
        // create2 never had a V0 form.
        let mut b2 = hdr(op_code::CREATE2).to_bytes();
        b2.extend(v0.to_bytes());
        assert!(TxnEntry::from_bytes(&b2).is_err());
    }

    #[test]
    fn bodyless_close_session_is_none() {
        let b = hdr(op_code::CLOSE_SESSION).to_bytes();
        let e = TxnEntry::from_bytes(&b).unwrap();
        assert_eq!(e.txn, Txn::CloseSession(None));
        assert_eq!(e.to_bytes(), b);
    }

    #[test]
    fn bad_types_are_errors_with_offsets() {
        let b = hdr(op_code::GET_DATA).to_bytes();
        let err = TxnEntry::from_bytes(&b).unwrap_err();
        assert_eq!(err.offset, 32);
        assert!(
            err.to_string().contains("unsupported txn type 4"),
            "{}",
            err
        );
        let multi = MultiTxn {
            txns: vec![SubTxn {
                txn_type: op_code::SET_ACL,
                data: vec![],
            }],
        };
        let mut b = hdr(op_code::MULTI).to_bytes();
        b.extend(multi.to_bytes());
        let err = TxnEntry::from_bytes(&b).unwrap_err();
        assert!(err.to_string().contains("invalid type of op"), "{}", err);
        assert_eq!(err.offset, 32 + 12);
        // Truncated record inside a multi op.
        let multi = MultiTxn {
            txns: vec![SubTxn {
                txn_type: op_code::DELETE,
                data: vec![0, 0, 0, 9, b'/'],
            }],
        };
        let mut b = hdr(op_code::MULTI).to_bytes();
        b.extend(multi.to_bytes());
        let err = TxnEntry::from_bytes(&b).unwrap_err();
        assert!(matches!(err.kind, JuteErrorKind::Eof));
        assert_eq!(err.offset, 32 + 12 + 4);
    }

    /// A small xorshift generator: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let types = [-11, -10, -1, 1, 2, 5, 7, 13, 14, 15, 16, 19, 20, 21, 99];
        let valid = Txn::Multi(vec![
            Txn::Create(create("/a/b")),
            Txn::SetData(SetDataTxn {
                path: "/a".into(),
                data: Some(vec![1; 20]),
                version: 3,
            }),
        ])
        .to_bytes();
        for i in 0..20_000 {
            let t = types[(rng.next() % types.len() as u64) as usize];
            let bytes: Vec<u8> = if i % 2 == 0 {
                let n = (rng.next() % 64) as usize;
                (0..n).map(|_| rng.next() as u8).collect()
            } else {
                // Mutate a valid multi so that decoding gets deep.
                let mut v = valid.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let p = (rng.next() % v.len() as u64) as usize;
                    v[p] = rng.next() as u8;
                }
                v.truncate((rng.next() % (v.len() as u64 + 1)) as usize);
                v
            };
            let _ = Txn::decode(t, &bytes);
            let mut e = hdr(t).to_bytes();
            e.extend_from_slice(&bytes);
            let _ = TxnEntry::from_bytes(&e);
        }
    }
}
