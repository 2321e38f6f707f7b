//! ZooKeeper's shared constants: opcodes (`ZooDefs.OpCode`), permission bits
//! (`ZooDefs.Perms`), the standard ACLs (`ZooDefs.Ids`), create modes
//! (`CreateMode`), error codes (`KeeperException.Code`) and how a node's
//! `ephemeralOwner` encodes what kind of node it is (`EphemeralType`).
//!
//! The numbers are protocol: they appear in txn logs, snapshots and on the
//! wire, and must match Apache ZooKeeper 3.8 exactly.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::records::{Acl, Id};

/// Request and txn types (`ZooDefs.OpCode`). Plain `i32` constants because
/// unknown values arrive from clients and logs and must be handled, not
/// rejected at decode time.
pub mod op_code {
    pub const NOTIFICATION: i32 = 0;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
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
}

/// `ZooDefs.OpCode` as a type: every request and txn type ZooKeeper 3.8
/// knows. The wire and the logs keep the plain `i32` (see [`op_code`]);
/// code that decides by type converts with `OpCode::try_from(i32)` and
/// matches exhaustively, so a new opcode cannot slip past a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum OpCode {
    /// `notification`: a watch event; never a request.
    Notification = op_code::NOTIFICATION,
    /// `create`.
    Create = op_code::CREATE,
    /// `delete`.
    Delete = op_code::DELETE,
    /// `exists`.
    Exists = op_code::EXISTS,
    /// `getData`.
    GetData = op_code::GET_DATA,
    /// `setData`.
    SetData = op_code::SET_DATA,
    /// `getACL`.
    GetAcl = op_code::GET_ACL,
    /// `setACL`.
    SetAcl = op_code::SET_ACL,
    /// `getChildren`.
    GetChildren = op_code::GET_CHILDREN,
    /// `sync`.
    Sync = op_code::SYNC,
    /// `ping`.
    Ping = op_code::PING,
    /// `getChildren2`.
    GetChildren2 = op_code::GET_CHILDREN2,
    /// `check` (a version check, on its own or inside a multi).
    Check = op_code::CHECK,
    /// `multi`.
    Multi = op_code::MULTI,
    /// `create2`.
    Create2 = op_code::CREATE2,
    /// `reconfig`.
    Reconfig = op_code::RECONFIG,
    /// `checkWatches`.
    CheckWatches = op_code::CHECK_WATCHES,
    /// `removeWatches`.
    RemoveWatches = op_code::REMOVE_WATCHES,
    /// `createContainer`.
    CreateContainer = op_code::CREATE_CONTAINER,
    /// `deleteContainer`.
    DeleteContainer = op_code::DELETE_CONTAINER,
    /// `createTTL`.
    CreateTtl = op_code::CREATE_TTL,
    /// `multiRead`.
    MultiRead = op_code::MULTI_READ,
    /// `auth`: answered by the connection, never enters the chain.
    Auth = op_code::AUTH,
    /// `setWatches`.
    SetWatches = op_code::SET_WATCHES,
    /// `sasl`: answered by the connection, never enters the chain.
    Sasl = op_code::SASL,
    /// `getEphemerals`.
    GetEphemerals = op_code::GET_EPHEMERALS,
    /// `getAllChildrenNumber`.
    GetAllChildrenNumber = op_code::GET_ALL_CHILDREN_NUMBER,
    /// `setWatches2`.
    SetWatches2 = op_code::SET_WATCHES2,
    /// `addWatch`.
    AddWatch = op_code::ADD_WATCH,
    /// `whoAmI`.
    WhoAmI = op_code::WHO_AM_I,
    /// `createSession`.
    CreateSession = op_code::CREATE_SESSION,
    /// `closeSession`.
    CloseSession = op_code::CLOSE_SESSION,
    /// `error`: the txn type of a request that failed; never a request.
    Error = op_code::ERROR,
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

/// Permission bits of an ACL entry (`ZooDefs.Perms`).
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 1 << 1;
    pub const CREATE: i32 = 1 << 2;
    pub const DELETE: i32 = 1 << 3;
    pub const ADMIN: i32 = 1 << 4;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// `/zookeeper/config`, which holds the dynamic configuration.
pub const CONFIG_NODE: &str = "/zookeeper/config";
/// Everything under this prefix is ZooKeeper's own and is left out of the
/// tree digest.
pub const ZOOKEEPER_NODE_SUBTREE: &str = "/zookeeper/";

/// The standard identities and ACLs (`ZooDefs.Ids`).
pub mod ids {
    use super::*;

    /// `world:anyone`.
    pub fn anyone_id_unsafe() -> Id {
        Id {
            scheme: "world".into(),
            id: "anyone".into(),
        }
    }

    /// `auth:` — stands for "whoever the creator authenticated as".
    pub fn auth_ids() -> Id {
        Id {
            scheme: "auth".into(),
            id: String::new(),
        }
    }

    /// Everyone may do everything.
    pub fn open_acl_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: anyone_id_unsafe(),
        }]
    }

    /// The creator's authenticated ids may do everything.
    pub fn creator_all_acl() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: auth_ids(),
        }]
    }

    /// Everyone may read.
    pub fn read_acl_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: perms::READ,
            id: anyone_id_unsafe(),
        }]
    }
}

/// How a node is created (`CreateMode`), as the `flags` of a create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// The mode for a request's `flags`, or `None` for a value ZooKeeper
    /// rejects with BADARGUMENTS.
    pub fn from_flag(flag: i32) -> Option<CreateMode> {
        Some(match flag {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            _ => return None,
        })
    }

    pub fn to_flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
            CreateMode::Container => 4,
            CreateMode::PersistentWithTtl => 5,
            CreateMode::PersistentSequentialWithTtl => 6,
        }
    }

    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

macro_rules! codes {
    ($( $(#[$m:meta])* $name:ident = $val:expr, $text:expr; )*) => {
        /// Error codes (`KeeperException.Code`): the `err` of a reply header
        /// and of an `ErrorTxn`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Code {
            $( $(#[$m])* $name = $val, )*
        }

        impl Code {
            /// The code for a number, or `None` for one 3.8 does not define.
            pub fn from_i32(v: i32) -> Option<Code> {
                match v {
                    $( $val => Some(Code::$name), )*
                    _ => None,
                }
            }

            /// The message `KeeperException.getCodeMessage` gives (its
            /// fallback text for the two codes it has no message for).
            pub fn message(self) -> &'static str {
                match self {
                    $( Code::$name => $text, )*
                }
            }
        }
    };
}

codes! {
    OK = 0, "ok";
    SYSTEMERROR = -1, "SystemError";
    RUNTIMEINCONSISTENCY = -2, "RuntimeInconsistency";
    DATAINCONSISTENCY = -3, "DataInconsistency";
    CONNECTIONLOSS = -4, "ConnectionLoss";
    MARSHALLINGERROR = -5, "MarshallingError";
    UNIMPLEMENTED = -6, "Unimplemented";
    OPERATIONTIMEOUT = -7, "OperationTimeout";
    BADARGUMENTS = -8, "BadArguments";
    UNKNOWNSESSION = -12, "Unknown error UNKNOWNSESSION";
    NEWCONFIGNOQUORUM = -13, "NewConfigNoQuorum";
    RECONFIGINPROGRESS = -14, "ReconfigInProgress";
    APIERROR = -100, "APIError";
    NONODE = -101, "NoNode";
    NOAUTH = -102, "NoAuth";
    BADVERSION = -103, "BadVersion";
    NOCHILDRENFOREPHEMERALS = -108, "NoChildrenForEphemerals";
    NODEEXISTS = -110, "NodeExists";
    NOTEMPTY = -111, "Directory not empty";
    SESSIONEXPIRED = -112, "Session expired";
    INVALIDCALLBACK = -113, "Invalid callback";
    INVALIDACL = -114, "InvalidACL";
    AUTHFAILED = -115, "AuthFailed";
    SESSIONMOVED = -118, "Session moved";
    NOTREADONLY = -119, "Not a read-only call";
    EPHEMERALONLOCALSESSION = -120, "Ephemeral node on local session";
    NOWATCHER = -121, "No such watcher";
    REQUESTTIMEOUT = -122, "Unknown error REQUESTTIMEOUT";
    RECONFIGDISABLED = -123, "Reconfig is disabled";
    SESSIONCLOSEDREQUIRESASLAUTH = -124, "Session closed because client failed to authenticate";
    QUOTAEXCEEDED = -125, "Quota has exceeded";
    THROTTLEDOP = -127, "Op throttled due to high load";
}

impl Code {
    pub fn int_value(self) -> i32 {
        self as i32
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message(), *self as i32)
    }
}

/// What a node's `ephemeralOwner` says about it (`EphemeralType`).
///
/// The field is overloaded: 0 is a plain persistent node, a session id is an
/// ephemeral, `Long.MIN_VALUE` is a container, and with extended types
/// enabled a high byte of 0xFF marks an "extended" node whose low bits carry
/// a value — for TTL nodes (extended feature 0) the TTL in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EphemeralType {
    /// Not ephemeral: `ephemeralOwner` is 0.
    Void,
    /// Owned by a session.
    Normal,
    Container,
    Ttl,
}

/// `ephemeralOwner` of every container node.
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;
/// With extended types on, server ids must fit below the 0xFF marker byte.
pub const MAX_EXTENDED_SERVER_ID: i64 = 0xfe;
const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000u64 as i64;
const EXTENDED_BIT_TTL: i64 = 0x0000;
const RESERVED_BITS_MASK: i64 = 0x00ff_ff00_0000_0000;
const RESERVED_BITS_SHIFT: u32 = 40;
const EXTENDED_FEATURE_VALUE_MASK: i64 = !(EXTENDED_MASK | RESERVED_BITS_MASK);
/// 3.5.3 marked TTL nodes with just the sign bit.
const TTL_MASK_353: i64 = i64::MIN;
const MAX_TTL_353: i64 = 0x0fff_ffff_ffff_ffff;

// Java reads these from system properties on every call; the server sets
// them once at startup from the same property names.
static EXTENDED_TYPES_ENABLED: AtomicBool = AtomicBool::new(false);
static EMULATE_353_TTL: AtomicBool = AtomicBool::new(false);

/// Whether `ephemeralOwner` values are classified with extended types
/// (`zookeeper.extendedTypesEnabled`) and whether 3.5.3's TTL encoding is
/// also recognised (`zookeeper.emulate353TTLNodes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtendedTypes {
    pub enabled: bool,
    pub emulate_353_ttl: bool,
}

impl ExtendedTypes {
    /// The process-wide setting (Java's system properties).
    pub fn current() -> ExtendedTypes {
        ExtendedTypes {
            enabled: EXTENDED_TYPES_ENABLED.load(Ordering::Relaxed),
            emulate_353_ttl: EMULATE_353_TTL.load(Ordering::Relaxed),
        }
    }

    /// Sets the process-wide setting; call once at startup.
    pub fn set_current(v: ExtendedTypes) {
        EXTENDED_TYPES_ENABLED.store(v.enabled, Ordering::Relaxed);
        EMULATE_353_TTL.store(v.emulate_353_ttl, Ordering::Relaxed);
    }
}

impl EphemeralType {
    /// Classifies an `ephemeralOwner` under the process-wide setting.
    pub fn get(ephemeral_owner: i64) -> EphemeralType {
        Self::get_with(ephemeral_owner, ExtendedTypes::current())
    }

    /// Classifies an `ephemeralOwner`. An extended marker with an unknown
    /// feature bit is an error (Java throws `IllegalArgumentException`).
    pub fn try_get_with(ephemeral_owner: i64, ext: ExtendedTypes) -> Result<EphemeralType, String> {
        if ext.enabled {
            if ext.emulate_353_ttl
                && ephemeral_owner != CONTAINER_EPHEMERAL_OWNER
                && ephemeral_owner < 0
            {
                return Ok(EphemeralType::Ttl);
            }
            if ephemeral_owner & EXTENDED_MASK == EXTENDED_MASK {
                let feature = (ephemeral_owner & RESERVED_BITS_MASK) >> RESERVED_BITS_SHIFT;
                return if feature == EXTENDED_BIT_TTL {
                    Ok(EphemeralType::Ttl)
                } else {
                    Err(format!(
                        "Invalid ephemeralOwner. [{:x}]",
                        ephemeral_owner as u64
                    ))
                };
            }
        }
        Ok(if ephemeral_owner == CONTAINER_EPHEMERAL_OWNER {
            EphemeralType::Container
        } else if ephemeral_owner == 0 {
            EphemeralType::Void
        } else {
            EphemeralType::Normal
        })
    }

    /// Like [`Self::try_get_with`], but an unknown extended feature counts
    /// as a session owner: the tree must keep working on odd snapshots.
    pub fn get_with(ephemeral_owner: i64, ext: ExtendedTypes) -> EphemeralType {
        Self::try_get_with(ephemeral_owner, ext).unwrap_or(EphemeralType::Normal)
    }

    /// Largest value an owner of this type can carry (TTL: about 34 years
    /// of milliseconds).
    pub fn max_value(self) -> i64 {
        match self {
            EphemeralType::Ttl => EXTENDED_FEATURE_VALUE_MASK,
            _ => 0,
        }
    }

    /// The `ephemeralOwner` of a TTL node, or `None` if `ttl` is not in
    /// `1..=max_value()`.
    pub fn ttl_to_ephemeral_owner(ttl: i64) -> Option<i64> {
        if ttl <= 0 || ttl > EphemeralType::Ttl.max_value() {
            return None;
        }
        Some(EXTENDED_MASK | EXTENDED_BIT_TTL | ttl)
    }

    /// The value an owner of this type carries (TTL: the ttl in ms).
    pub fn get_value(self, ephemeral_owner: i64) -> i64 {
        match self {
            EphemeralType::Ttl => ephemeral_owner & EXTENDED_FEATURE_VALUE_MASK,
            _ => 0,
        }
    }

    /// The 3.5.3 encoding of a TTL, or `None` when out of range.
    pub fn ttl_to_ephemeral_owner_353(ttl: i64) -> Option<i64> {
        if ttl <= 0 || ttl > MAX_TTL_353 {
            return None;
        }
        Some(TTL_MASK_353 | ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::Record;

    #[test]
    fn opcodes_and_perms_match_zoo_defs() {
        assert_eq!(op_code::CREATE_TTL, 21);
        assert_eq!(op_code::WHO_AM_I, 107);
        assert_eq!(op_code::CLOSE_SESSION, -11);
        assert_eq!(op_code::op2string(op_code::CREATE2), "create2");
        assert_eq!(op_code::op2string(op_code::ADD_WATCH), "unknown 106");
        assert_eq!(perms::ALL, 31);
        assert_eq!(perms::ADMIN, 16);
    }

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
                op_code::op2string(op.value()),
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

    #[test]
    fn standard_acls_serialize_like_java() {
        let b = ids::read_acl_unsafe()[0].to_bytes();
        let mut expect = vec![0, 0, 0, 1, 0, 0, 0, 5];
        expect.extend_from_slice(b"world");
        expect.extend_from_slice(&[0, 0, 0, 6]);
        expect.extend_from_slice(b"anyone");
        assert_eq!(b, expect);
        assert_eq!(
            ids::creator_all_acl()[0].to_bytes(),
            [&[0, 0, 0, 31, 0, 0, 0, 4][..], b"auth", &[0, 0, 0, 0]].concat()
        );
    }

    #[test]
    fn create_mode_flags_round_trip() {
        for f in 0..7 {
            assert_eq!(CreateMode::from_flag(f).unwrap().to_flag(), f);
        }
        assert_eq!(CreateMode::from_flag(7), None);
        assert!(CreateMode::from_flag(6).unwrap().is_ttl());
        assert!(CreateMode::from_flag(6).unwrap().is_sequential());
        assert!(CreateMode::from_flag(4).unwrap().is_container());
        assert!(CreateMode::from_flag(3).unwrap().is_ephemeral());
    }

    #[test]
    fn codes_round_trip() {
        for v in -200..10 {
            if let Some(c) = Code::from_i32(v) {
                assert_eq!(c as i32, v);
            }
        }
        assert_eq!(Code::from_i32(-127), Some(Code::THROTTLEDOP));
        assert_eq!(Code::from_i32(-126), None);
        assert_eq!(Code::NODEEXISTS.int_value(), -110);
        assert_eq!(Code::UNKNOWNSESSION as i32, -12);
    }

    #[test]
    fn ephemeral_owner_encoding() {
        let off = ExtendedTypes::default();
        let on = ExtendedTypes {
            enabled: true,
            emulate_353_ttl: false,
        };
        let ttl_owner = EphemeralType::ttl_to_ephemeral_owner(1000).unwrap();
        assert_eq!(ttl_owner as u64, 0xff00_0000_0000_03e8);
        assert_eq!(EphemeralType::get_with(ttl_owner, on), EphemeralType::Ttl);
        assert_eq!(EphemeralType::Ttl.get_value(ttl_owner), 1000);
        // Without extended types a TTL owner looks like a session.
        assert_eq!(
            EphemeralType::get_with(ttl_owner, off),
            EphemeralType::Normal
        );
        assert_eq!(
            EphemeralType::get_with(i64::MIN, on),
            EphemeralType::Container
        );
        assert_eq!(EphemeralType::get_with(0, on), EphemeralType::Void);
        assert_eq!(EphemeralType::get_with(0x1234, off), EphemeralType::Normal);
        assert!(EphemeralType::try_get_with(0xff01_0000_0000_0001u64 as i64, on).is_err());
        assert_eq!(EphemeralType::ttl_to_ephemeral_owner(0), None);
        assert_eq!(
            EphemeralType::ttl_to_ephemeral_owner(EphemeralType::Ttl.max_value() + 1),
            None
        );
        assert_eq!(EphemeralType::Ttl.max_value(), 0x0000_00ff_ffff_ffff);
        let emu = ExtendedTypes {
            enabled: true,
            emulate_353_ttl: true,
        };
        let old = EphemeralType::ttl_to_ephemeral_owner_353(5).unwrap();
        assert_eq!(EphemeralType::get_with(old, emu), EphemeralType::Ttl);
    }
}
