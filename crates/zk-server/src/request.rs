//! `Request`: one client request on its way through the processor chain.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use zk_persistence::records::{Id, TxnDigest, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::{op_code, Code, OpCode, UnknownOpCode};

/// Names a client connection for as long as the server runs (never
/// reused, so a late reply can never reach the wrong client).
pub type CnxnId = u64;

/// Whoever handed a request in on behalf of someone else (Java's
/// `Request.owner`, an `Object`): on a leader, the learner connection a
/// forwarded request came through. zk-server only carries it; the layer
/// that set it looks inside.
pub type RequestOwner = Arc<dyn Any + Send + Sync>;

/// What a `createSession` request carries besides its timeout: how to
/// answer the connection that asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectInfo {
    /// The negotiated session timeout in ms.
    pub timeout: i32,
    /// The client's trailing `readOnly` flag; `None` for old clients, who
    /// get no flag back.
    pub read_only: Option<bool>,
}

/// One request: what the client sent, who sent it, and what the stages
/// found out about it on the way (3.8's `Request`).
#[derive(Debug, Clone)]
pub struct Request {
    /// The session it belongs to.
    pub session_id: i64,
    /// The client's xid.
    pub cxid: i32,
    /// The opcode as on the wire (see [`Request::op_code`]); unknown values
    /// are carried so they can be answered as 3.8 answers them.
    pub op: i32,
    /// The record after the request header.
    pub body: Vec<u8>,
    /// The connection to answer; `None` for requests the server makes
    /// itself (closing an expired session).
    pub cnxn: Option<CnxnId>,
    /// The connection's authenticated ids when the request arrived.
    pub auth_info: Arc<Vec<Id>>,
    /// Set on a `createSession` made from a connect request.
    pub connect: Option<ConnectInfo>,
    /// Set by `PrepRequestProcessor` for writes: the txn to log and apply.
    pub hdr: Option<TxnHeader>,
    /// The txn `hdr` heads.
    pub txn: Option<Txn>,
    /// The tree digest once `txn` is applied (`digest.enabled`), logged
    /// after it.
    pub txn_digest: Option<TxnDigest>,
    /// Why preparing the request failed (Java's `request.getException()`).
    pub err: Option<Code>,
    /// When the request arrived (`createTime`): its latency runs from here.
    pub create_time: Instant,
    /// See [`RequestOwner`]; `None` for a request of a local client.
    pub owner: Option<RequestOwner>,
}

impl Request {
    /// A request as it arrives: no connection, no auth, no txn yet.
    pub fn new(session_id: i64, cxid: i32, op: i32, body: Vec<u8>) -> Request {
        Request {
            session_id,
            cxid,
            op,
            body,
            cnxn: None,
            auth_info: Arc::new(Vec::new()),
            connect: None,
            hdr: None,
            txn: None,
            txn_digest: None,
            err: None,
            create_time: Instant::now(),
            owner: None,
        }
    }

    /// The request's opcode as an [`OpCode`], or the unknown value.
    pub fn op_code(&self) -> Result<OpCode, UnknownOpCode> {
        OpCode::try_from(self.op)
    }

    /// `Request.isValid`: opcodes a client may send into the chain (see
    /// [`OpCode::is_valid_request`]).
    pub fn is_valid(op: i32) -> bool {
        OpCode::try_from(op).is_ok_and(OpCode::is_valid_request)
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sessionid:0x{:x} type:{} cxid:0x{:x} zxid:0x{:x}",
            self.session_id,
            op_code::op2string(self.op),
            self.cxid,
            self.hdr.as_ref().map_or(-2, |h| h.zxid)
        )
    }
}
