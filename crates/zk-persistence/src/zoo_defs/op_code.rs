//! Request and txn types (`ZooDefs.OpCode`): the plain `i32` constants
//! the wire and the logs carry, their names (`Request.op2String`), and
//! [`OpCode`], the same codes as a type with the one classification of
//! them ([`OpKind`]) that every processor decides by.
//!
//! The constants stay plain `i32` because unknown values arrive from
//! clients and logs and must be handled, not rejected at decode time.

/// `notification`: reserved by 3.8; no valid request carries it.
pub const NOTIFICATION: i32 = 0;
/// `create`: create a node.
pub const CREATE: i32 = 1;
/// `delete`: delete a node.
pub const DELETE: i32 = 2;
/// `exists`: a node's stat, optionally watching it.
pub const EXISTS: i32 = 3;
/// `getData`.
pub const GET_DATA: i32 = 4;
/// `setData`.
pub const SET_DATA: i32 = 5;
/// `getACL`.
pub const GET_ACL: i32 = 6;
/// `setACL`.
pub const SET_ACL: i32 = 7;
/// `getChildren`: child names only.
pub const GET_CHILDREN: i32 = 8;
/// `sync`: catch the server up with the leader.
pub const SYNC: i32 = 9;
/// A client's heartbeat.
pub const PING: i32 = 11;
/// `getChildren` with the parent's stat.
pub const GET_CHILDREN2: i32 = 12;
/// `check`: a multi op that checks a version.
pub const CHECK: i32 = 13;
/// `multi`: ops applied all or none.
pub const MULTI: i32 = 14;
/// `create` that returns the new node's stat.
pub const CREATE2: i32 = 15;
/// `reconfig`: change the ensemble's membership.
pub const RECONFIG: i32 = 16;
/// `checkWatches`: whether a watch is set.
pub const CHECK_WATCHES: i32 = 17;
/// `removeWatches`.
pub const REMOVE_WATCHES: i32 = 18;
/// `createContainer`.
pub const CREATE_CONTAINER: i32 = 19;
/// `deleteContainer`: the server's own delete of an empty
/// container or expired TTL node.
pub const DELETE_CONTAINER: i32 = 20;
/// `createTTL`.
pub const CREATE_TTL: i32 = 21;
/// `multiRead`: several reads in one request.
pub const MULTI_READ: i32 = 22;
/// `addAuth`: an auth packet.
pub const AUTH: i32 = 100;
/// `setWatches`: re-register watches after a reconnect.
pub const SET_WATCHES: i32 = 101;
/// A SASL auth packet.
pub const SASL: i32 = 102;
/// `getEphemerals`: the session's ephemerals under a path.
pub const GET_EPHEMERALS: i32 = 103;
/// `getAllChildrenNumber`: how many nodes lie under a path.
pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
/// `setWatches2`: `setWatches` including persistent watches.
pub const SET_WATCHES2: i32 = 105;
/// `addWatch`: a persistent (optionally recursive) watch.
pub const ADD_WATCH: i32 = 106;
/// `whoAmI`: the client's authenticated identities.
pub const WHO_AM_I: i32 = 107;
/// `createSession`: a new session (a connect request becomes this txn).
pub const CREATE_SESSION: i32 = -10;
/// `closeSession`.
pub const CLOSE_SESSION: i32 = -11;
/// An `ErrorTxn`: a request that failed after being given a zxid.
pub const ERROR: i32 = -1;

/// The name ZooKeeper prints for an opcode in logs and tool output
/// (`Request.op2String`), including its "unknown N" for codes it does
/// not name (3.8 forgot `addWatch`).
pub fn op2string(op: i32) -> String {
    let name = match op {
        NOTIFICATION => "notification",
        CREATE => "create",
        DELETE => "delete",
        EXISTS => "exists",
        GET_DATA => "getData",
        SET_DATA => "setData",
        GET_ACL => "getACL",
        SET_ACL => "setACL",
        GET_CHILDREN => "getChildren",
        SYNC => "sync",
        PING => "ping",
        GET_CHILDREN2 => "getChildren2",
        CHECK => "check",
        MULTI => "multi",
        CREATE2 => "create2",
        RECONFIG => "reconfig",
        CHECK_WATCHES => "checkWatches",
        REMOVE_WATCHES => "removeWatches",
        CREATE_CONTAINER => "createContainer",
        DELETE_CONTAINER => "deleteContainer",
        CREATE_TTL => "createTtl",
        MULTI_READ => "multiRead",
        AUTH => "auth",
        SET_WATCHES => "setWatches",
        SASL => "sasl",
        GET_EPHEMERALS => "getEphemerals",
        GET_ALL_CHILDREN_NUMBER => "getAllChildrenNumber",
        SET_WATCHES2 => "setWatches2",
        WHO_AM_I => "whoAmI",
        CREATE_SESSION => "createSession",
        CLOSE_SESSION => "closeSession",
        ERROR => "error",
        _ => return format!("unknown {}", op),
    };
    name.to_string()
}

/// `ZooDefs.OpCode` as a type: every request and txn type ZooKeeper 3.8
/// knows. The wire and the logs keep the plain `i32` (the constants of this module);
/// code that decides by type converts with `OpCode::try_from(i32)` and
/// matches exhaustively, so a new opcode cannot slip past a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum OpCode {
    /// `notification`: a watch event; never a request.
    Notification = NOTIFICATION,
    /// `create`.
    Create = CREATE,
    /// `delete`.
    Delete = DELETE,
    /// `exists`.
    Exists = EXISTS,
    /// `getData`.
    GetData = GET_DATA,
    /// `setData`.
    SetData = SET_DATA,
    /// `getACL`.
    GetAcl = GET_ACL,
    /// `setACL`.
    SetAcl = SET_ACL,
    /// `getChildren`.
    GetChildren = GET_CHILDREN,
    /// `sync`.
    Sync = SYNC,
    /// `ping`.
    Ping = PING,
    /// `getChildren2`.
    GetChildren2 = GET_CHILDREN2,
    /// `check` (a version check, on its own or inside a multi).
    Check = CHECK,
    /// `multi`.
    Multi = MULTI,
    /// `create2`.
    Create2 = CREATE2,
    /// `reconfig`.
    Reconfig = RECONFIG,
    /// `checkWatches`.
    CheckWatches = CHECK_WATCHES,
    /// `removeWatches`.
    RemoveWatches = REMOVE_WATCHES,
    /// `createContainer`.
    CreateContainer = CREATE_CONTAINER,
    /// `deleteContainer`.
    DeleteContainer = DELETE_CONTAINER,
    /// `createTTL`.
    CreateTtl = CREATE_TTL,
    /// `multiRead`.
    MultiRead = MULTI_READ,
    /// `auth`: answered by the connection, never enters the chain.
    Auth = AUTH,
    /// `setWatches`.
    SetWatches = SET_WATCHES,
    /// `sasl`: answered by the connection, never enters the chain.
    Sasl = SASL,
    /// `getEphemerals`.
    GetEphemerals = GET_EPHEMERALS,
    /// `getAllChildrenNumber`.
    GetAllChildrenNumber = GET_ALL_CHILDREN_NUMBER,
    /// `setWatches2`.
    SetWatches2 = SET_WATCHES2,
    /// `addWatch`.
    AddWatch = ADD_WATCH,
    /// `whoAmI`.
    WhoAmI = WHO_AM_I,
    /// `createSession`.
    CreateSession = CREATE_SESSION,
    /// `closeSession`.
    CloseSession = CLOSE_SESSION,
    /// `error`: the txn type of a request that failed; never a request.
    Error = ERROR,
}

/// How the server treats a request of some [`OpCode`]: the one
/// classification behind 3.8's `Request.isValid`, `Request.isQuorum`,
/// `PrepRequestProcessor.pRequest`'s and `ReadOnlyRequestProcessor`'s
/// switches and the `CommitProcessor`'s wait for the quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Changes the tree, so it becomes a txn that the quorum must commit
    /// and that a read-only server refuses: create (every kind), delete
    /// (every kind), setData, setACL, check, multi, reconfig.
    Write,
    /// createSession and closeSession: a txn too (a global session's),
    /// though a read-only server handles its own sessions locally.
    Session,
    /// `sync`: no txn, but it waits for the leader's commits (so a
    /// read-only server, with no leader, refuses it).
    Sync,
    /// Served from this server's tree and watch tables alone: the reads,
    /// `multiRead`, `whoAmI`, `ping` and the watch requests.
    Read,
    /// `auth` and `sasl`: the connection answers them itself.
    Connection,
    /// `notification` and `error`: the server's own types, never sent by
    /// a client.
    ServerOnly,
}

impl OpCode {
    /// The opcode's classification (see [`OpKind`]).
    pub fn kind(self) -> OpKind {
        use OpCode::*;
        match self {
            Create | Create2 | CreateTtl | CreateContainer | Delete | DeleteContainer | SetData
            | SetAcl | Check | Multi | Reconfig => OpKind::Write,
            CreateSession | CloseSession => OpKind::Session,
            Sync => OpKind::Sync,
            Exists | GetData | GetAcl | GetChildren | GetChildren2 | GetAllChildrenNumber
            | GetEphemerals | MultiRead | WhoAmI | Ping | SetWatches | SetWatches2
            | CheckWatches | RemoveWatches | AddWatch => OpKind::Read,
            Auth | Sasl => OpKind::Connection,
            Notification | Error => OpKind::ServerOnly,
        }
    }

    /// `Request.isValid`: a client may send it into the processor chain.
    pub fn is_valid_request(self) -> bool {
        matches!(
            self.kind(),
            OpKind::Write | OpKind::Session | OpKind::Sync | OpKind::Read
        )
    }

    /// Whether it becomes a txn the quorum commits (3.8's `isQuorum` for
    /// global sessions, less `error`, which is only ever a txn type).
    pub fn is_txn_request(self) -> bool {
        matches!(self.kind(), OpKind::Write | OpKind::Session)
    }

    /// The opcode's wire value.
    pub fn value(self) -> i32 {
        self as i32
    }
}

/// An `i32` that is no opcode ZooKeeper 3.8 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownOpCode(pub i32);

impl std::fmt::Display for UnknownOpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown opcode {}", self.0)
    }
}

impl std::error::Error for UnknownOpCode {}

impl TryFrom<i32> for OpCode {
    type Error = UnknownOpCode;

    fn try_from(v: i32) -> Result<OpCode, UnknownOpCode> {
        use OpCode::*;
        const ALL: [OpCode; 33] = [
            Notification,
            Create,
            Delete,
            Exists,
            GetData,
            SetData,
            GetAcl,
            SetAcl,
            GetChildren,
            Sync,
            Ping,
            GetChildren2,
            Check,
            Multi,
            Create2,
            Reconfig,
            CheckWatches,
            RemoveWatches,
            CreateContainer,
            DeleteContainer,
            CreateTtl,
            MultiRead,
            Auth,
            SetWatches,
            Sasl,
            GetEphemerals,
            GetAllChildrenNumber,
            SetWatches2,
            AddWatch,
            WhoAmI,
            CreateSession,
            CloseSession,
            Error,
        ];
        ALL.into_iter()
            .find(|op| *op as i32 == v)
            .ok_or(UnknownOpCode(v))
    }
}

impl From<OpCode> for i32 {
    fn from(op: OpCode) -> i32 {
        op as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_enum_round_trips_every_code_and_names_unknown_ones() {
        let known: Vec<OpCode> = (-20..200)
            .filter_map(|v| OpCode::try_from(v).ok())
            .collect();
        assert_eq!(known.len(), 33, "{known:?}");
        for op in &known {
            assert_eq!(OpCode::try_from(op.value()), Ok(*op));
            if *op == OpCode::AddWatch {
                continue; // 3.8's op2String forgot it
            }
            assert_ne!(
                op2string(op.value()),
                format!("unknown {}", op.value()),
                "{op:?}"
            );
        }
        assert_eq!(OpCode::try_from(10), Err(UnknownOpCode(10)));
        assert_eq!(UnknownOpCode(999).to_string(), "unknown opcode 999");
        assert_eq!(i32::from(OpCode::CreateTtl), 21);
        assert_eq!(OpCode::CreateSession.value(), -10);
    }

    #[test]
    fn opcode_classes_match_request_is_valid() {
        use OpCode::*;
        for op in [Notification, Auth, Sasl, Error] {
            assert!(!op.is_valid_request(), "{op:?}");
            assert!(!op.is_txn_request(), "{op:?}");
        }
        for op in [
            Create,
            Create2,
            CreateTtl,
            CreateContainer,
            Delete,
            DeleteContainer,
        ] {
            assert_eq!(op.kind(), OpKind::Write, "{op:?}");
        }
        for op in [
            SetData,
            SetAcl,
            Check,
            Multi,
            Reconfig,
            CreateSession,
            CloseSession,
        ] {
            assert!(op.is_txn_request(), "{op:?}");
        }
        for op in [
            Sync,
            Ping,
            GetData,
            MultiRead,
            WhoAmI,
            SetWatches2,
            AddWatch,
        ] {
            assert!(op.is_valid_request() && !op.is_txn_request(), "{op:?}");
        }
    }
}
