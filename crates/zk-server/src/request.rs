//! `Request`: one client request on its way through the processor chain.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use zk_persistence::records::{Id, TxnDigest, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::{op_code, Code};

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
    pub timeout: i32,
    /// The client's trailing `readOnly` flag; `None` for old clients, who
    /// get no flag back.
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub session_id: i64,
    /// The client's xid.
    pub cxid: i32,
    /// The opcode.
    pub op: i32,
    /// The record after the request header.
    pub body: Vec<u8>,
    /// The connection to answer; `None` for requests the server makes
    /// itself (closing an expired session).
    pub cnxn: Option<CnxnId>,
    /// The connection's authenticated ids when the request arrived.
    pub auth_info: Arc<Vec<Id>>,
    pub connect: Option<ConnectInfo>,
    /// Set by `PrepRequestProcessor` for writes: the txn to log and apply.
    pub hdr: Option<TxnHeader>,
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

    /// `Request.isValid`: opcodes a client may send (a notification is
    /// the server's, never a request).
    pub fn is_valid(op: i32) -> bool {
        use op_code::*;
        op != NOTIFICATION
            && matches!(
                op,
                CHECK
                    | CLOSE_SESSION
                    | CREATE
                    | CREATE2
                    | CREATE_TTL
                    | CREATE_CONTAINER
                    | CREATE_SESSION
                    | DELETE
                    | DELETE_CONTAINER
                    | EXISTS
                    | GET_ACL
                    | GET_CHILDREN
                    | GET_ALL_CHILDREN_NUMBER
                    | GET_CHILDREN2
                    | GET_DATA
                    | GET_EPHEMERALS
                    | MULTI
                    | MULTI_READ
                    | PING
                    | RECONFIG
                    | SET_ACL
                    | SET_DATA
                    | SET_WATCHES
                    | SET_WATCHES2
                    | SYNC
                    | CHECK_WATCHES
                    | REMOVE_WATCHES
                    | ADD_WATCH
                    | WHO_AM_I
            )
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
