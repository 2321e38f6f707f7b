//! `multi` and `multiRead` on the wire (Java's `MultiOperationRecord` and
//! `MultiResponse`, written by hand rather than by jute).
//!
//! Both are a list of ([`MultiHeader`], record) pairs ended by a header
//! with type -1, `done` true and err -1.

use std::io::Read;

use zk_persistence::jute::{InputArchive, JuteResult, OutputArchive, Record};
use zk_persistence::records::Stat;
use zk_persistence::zoo_defs::{CreateMode, OpCode};

use crate::proto::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteRequest, ErrorResponse, GetChildrenRequest, GetChildrenResponse, GetDataRequest,
    GetDataResponse, MultiHeader, SetDataRequest, SetDataResponse,
};

/// One op of a multi request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// `create`, `create2` or `createContainer` on the wire: Java rebuilds
    /// the op from its flags, so which of the three was sent is forgotten
    /// (see [`MultiOp::op_code`]).
    Create(CreateRequest),
    /// `createTTL` with a TTL mode.
    CreateTtl(CreateTtlRequest),
    /// `delete`.
    Delete(DeleteRequest),
    /// `setData`.
    SetData(SetDataRequest),
    /// `check`.
    Check(CheckVersionRequest),
    /// `getChildren` (multiRead only).
    GetChildren(GetChildrenRequest),
    /// `getData` (multiRead only).
    GetData(GetDataRequest),
}

/// The opcode `Op.create(path, data, acl, flags)` gives a create: from its
/// mode, unknown flags counting as persistent.
fn create_op_code(flags: i32) -> OpCode {
    match CreateMode::from_flag(flags) {
        Some(m) if m.is_container() => OpCode::CreateContainer,
        Some(m) if m.is_ttl() => OpCode::CreateTtl,
        _ => OpCode::Create,
    }
}

impl MultiOp {
    /// The opcode the op has once decoded, as Java's `Op.getType()`.
    pub fn op(&self) -> OpCode {
        match self {
            MultiOp::Create(r) => create_op_code(r.flags),
            MultiOp::CreateTtl(r) => create_op_code(r.flags),
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    /// [`MultiOp::op`]'s wire value.
    #[cfg(test)]
    pub fn op_code(&self) -> i32 {
        self.op().value()
    }

    /// Whether the op reads (`multiRead`) rather than writes (`multi`).
    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetChildren(_) | MultiOp::GetData(_))
    }

    /// The path the op is about.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(r) => &r.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) => &r.path,
            MultiOp::GetData(r) => &r.path,
        }
    }
}

/// A decoded `MultiOperationRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    /// The ops, in order.
    pub ops: Vec<MultiOp>,
}

impl MultiRequest {
    /// Reads ops until the `done` header. Unknown op types, and reads mixed
    /// with writes, are errors (Java: "Invalid type of op", "Mixing
    /// different kind of ops").
    pub fn read<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<MultiRequest> {
        let mut ops = Vec::new();
        let mut h = MultiHeader::deserialize(ia)?;
        while !h.done {
            let op = match OpCode::try_from(h.r#type) {
                Ok(OpCode::Create | OpCode::Create2 | OpCode::CreateContainer) => {
                    MultiOp::Create(ia.read_record()?)
                }
                Ok(OpCode::CreateTtl) => {
                    let r: CreateTtlRequest = ia.read_record()?;
                    if CreateMode::from_flag(r.flags).is_some_and(|m| m.is_ttl()) {
                        MultiOp::CreateTtl(r)
                    } else {
                        // `Op.create(.., ttl)` ignores the ttl of other modes.
                        MultiOp::Create(CreateRequest {
                            path: r.path,
                            data: r.data,
                            acl: r.acl,
                            flags: r.flags,
                        })
                    }
                }
                Ok(OpCode::Delete) => MultiOp::Delete(ia.read_record()?),
                Ok(OpCode::SetData) => MultiOp::SetData(ia.read_record()?),
                Ok(OpCode::Check) => MultiOp::Check(ia.read_record()?),
                Ok(OpCode::GetChildren) => MultiOp::GetChildren(ia.read_record()?),
                Ok(OpCode::GetData) => MultiOp::GetData(ia.read_record()?),
                // Any other opcode, known or not, cannot be part of a multi.
                Ok(_) | Err(_) => {
                    let t = h.r#type;
                    return Err(ia.invalid(format!("Invalid type of op {} in multi", t)));
                }
            };
            if let Some(first) = ops.first() {
                if MultiOp::is_read(first) != op.is_read() {
                    return Err(ia.invalid("Mixing different kind of ops"));
                }
            }
            ops.push(op);
            h = MultiHeader::deserialize(ia)?;
        }
        Ok(MultiRequest { ops })
    }

    /// Decodes a whole request body.
    pub fn from_bytes(bytes: &[u8], max_buffer: usize) -> JuteResult<MultiRequest> {
        Self::read(&mut InputArchive::with_max_buffer(bytes, max_buffer))
    }

    /// The bytes a client sends (used by tests).
    #[cfg(test)]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut oa = OutputArchive::new(Vec::new());
        for op in &self.ops {
            let h = MultiHeader {
                r#type: op.op().value(),
                done: false,
                err: -1,
            };
            h.serialize(&mut oa).expect("Vec write");
            match op {
                MultiOp::Create(r) => r.serialize(&mut oa),
                MultiOp::CreateTtl(r) => r.serialize(&mut oa),
                MultiOp::Delete(r) => r.serialize(&mut oa),
                MultiOp::SetData(r) => r.serialize(&mut oa),
                MultiOp::Check(r) => r.serialize(&mut oa),
                MultiOp::GetChildren(r) => r.serialize(&mut oa),
                MultiOp::GetData(r) => r.serialize(&mut oa),
            }
            .expect("Vec write");
        }
        end_header().serialize(&mut oa).expect("Vec write");
        oa.into_inner()
    }
}

fn end_header() -> MultiHeader {
    MultiHeader {
        r#type: -1,
        done: true,
        err: -1,
    }
}

/// One op's outcome in a `MultiResponse` (Java's `OpResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// A plain `create`: the path only.
    Create(String),
    /// create2, createTTL, createContainer: path and stat.
    Create2(String, Stat),
    /// A delete: nothing but success.
    Delete,
    /// A setData: the node's new stat.
    SetData(Stat),
    /// A version check that held.
    Check,
    /// A getChildren of a multiRead.
    GetChildren(Vec<String>),
    /// A getData of a multiRead.
    GetData(Option<Vec<u8>>, Stat),
    /// The op failed with this error code (or was not tried after an
    /// earlier one failed).
    Error(i32),
}

impl OpResult {
    fn op_code(&self) -> OpCode {
        match self {
            OpResult::Create(_) => OpCode::Create,
            OpResult::Create2(..) => OpCode::Create2,
            OpResult::Delete => OpCode::Delete,
            OpResult::SetData(_) => OpCode::SetData,
            OpResult::Check => OpCode::Check,
            OpResult::GetChildren(_) => OpCode::GetChildren,
            OpResult::GetData(..) => OpCode::GetData,
            OpResult::Error(_) => OpCode::Error,
        }
    }
}

/// A `MultiResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    /// One result per op, in order.
    pub results: Vec<OpResult>,
}

impl Record for MultiResponse {
    fn serialize<W: std::io::Write>(&self, oa: &mut OutputArchive<W>) -> std::io::Result<()> {
        for r in &self.results {
            let err = match r {
                OpResult::Error(e) => *e,
                _ => 0,
            };
            MultiHeader {
                r#type: r.op_code().value(),
                done: false,
                err,
            }
            .serialize(oa)?;
            match r {
                OpResult::Create(path) => CreateResponse { path: path.clone() }.serialize(oa)?,
                OpResult::Create2(path, stat) => Create2Response {
                    path: path.clone(),
                    stat: stat.clone(),
                }
                .serialize(oa)?,
                OpResult::Delete | OpResult::Check => {}
                OpResult::SetData(stat) => SetDataResponse { stat: stat.clone() }.serialize(oa)?,
                OpResult::GetChildren(children) => GetChildrenResponse {
                    children: children.clone(),
                }
                .serialize(oa)?,
                OpResult::GetData(data, stat) => GetDataResponse {
                    data: data.clone(),
                    stat: stat.clone(),
                }
                .serialize(oa)?,
                OpResult::Error(e) => ErrorResponse { err: *e }.serialize(oa)?,
            }
        }
        end_header().serialize(oa)
    }

    fn deserialize<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        let mut results = Vec::new();
        let mut h = MultiHeader::deserialize(ia)?;
        while !h.done {
            let r = match OpCode::try_from(h.r#type) {
                Ok(OpCode::Create) => OpResult::Create(CreateResponse::deserialize(ia)?.path),
                Ok(OpCode::Create2) => {
                    let c = Create2Response::deserialize(ia)?;
                    OpResult::Create2(c.path, c.stat)
                }
                Ok(OpCode::Delete) => OpResult::Delete,
                Ok(OpCode::SetData) => OpResult::SetData(SetDataResponse::deserialize(ia)?.stat),
                Ok(OpCode::Check) => OpResult::Check,
                Ok(OpCode::GetChildren) => {
                    OpResult::GetChildren(GetChildrenResponse::deserialize(ia)?.children)
                }
                Ok(OpCode::GetData) => {
                    let g = GetDataResponse::deserialize(ia)?;
                    OpResult::GetData(g.data, g.stat)
                }
                Ok(OpCode::Error) => OpResult::Error(ErrorResponse::deserialize(ia)?.err),
                // No other opcode has a result in a multi.
                Ok(_) | Err(_) => {
                    let t = h.r#type;
                    return Err(ia.invalid(format!("Invalid type {} in MultiResponse", t)));
                }
            };
            results.push(r);
            h = MultiHeader::deserialize(ia)?;
        }
        Ok(MultiResponse { results })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::zoo_defs::op_code;

    const END: [u8; 9] = [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff];

    #[test]
    fn request_bytes_match_multi_operation_record() {
        let req = MultiRequest {
            ops: vec![
                MultiOp::Check(CheckVersionRequest {
                    path: "/a".into(),
                    version: 3,
                }),
                MultiOp::Delete(DeleteRequest {
                    path: "/a".into(),
                    version: -1,
                }),
            ],
        };
        let b = req.to_bytes();
        let mut expect = vec![0, 0, 0, 13, 0, 0xff, 0xff, 0xff, 0xff];
        expect.extend_from_slice(&[0, 0, 0, 2, b'/', b'a', 0, 0, 0, 3]);
        expect.extend_from_slice(&[0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff]);
        expect.extend_from_slice(&[0, 0, 0, 2, b'/', b'a', 0xff, 0xff, 0xff, 0xff]);
        expect.extend_from_slice(&END);
        assert_eq!(b, expect);
        assert_eq!(MultiRequest::from_bytes(&b, 0xfffff).unwrap(), req);
    }

    #[test]
    fn create2_in_a_multi_becomes_create_or_container_by_flags() {
        let mut b = vec![0, 0, 0, 15, 0, 0xff, 0xff, 0xff, 0xff];
        b.extend_from_slice(
            &CreateRequest {
                path: "/c".into(),
                data: None,
                acl: vec![],
                flags: 4,
            }
            .to_bytes(),
        );
        b.extend_from_slice(&END);
        let req = MultiRequest::from_bytes(&b, 0xfffff).unwrap();
        assert_eq!(req.ops[0].op_code(), op_code::CREATE_CONTAINER);
    }

    #[test]
    fn mixing_reads_and_writes_is_refused() {
        let req = MultiRequest {
            ops: vec![
                MultiOp::GetData(GetDataRequest {
                    path: "/a".into(),
                    watch: false,
                }),
                MultiOp::Delete(DeleteRequest {
                    path: "/a".into(),
                    version: -1,
                }),
            ],
        };
        assert!(MultiRequest::from_bytes(&req.to_bytes(), 0xfffff).is_err());
    }

    #[test]
    fn response_bytes_match_multi_response() {
        let rsp = MultiResponse {
            results: vec![
                OpResult::Create("/x".into()),
                OpResult::Delete,
                OpResult::Error(-101),
            ],
        };
        let b = rsp.to_bytes();
        let mut expect = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, b'/', b'x'];
        expect.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0]);
        expect.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x9b]);
        expect.extend_from_slice(&[0xff, 0xff, 0xff, 0x9b]);
        expect.extend_from_slice(&END);
        assert_eq!(b, expect);
        assert_eq!(MultiResponse::from_bytes(&b).unwrap(), rsp);
    }
}
