//! ZooKeeper's shared constants: opcodes (`ZooDefs.OpCode`), permission bits
//! (`ZooDefs.Perms`), the standard ACLs (`ZooDefs.Ids`), create modes
//! (`CreateMode`), error codes (`KeeperException.Code`) and how a node's
//! `ephemeralOwner` encodes what kind of node it is (`EphemeralType`).
//!
//! The numbers are protocol: they appear in txn logs, snapshots and on the
//! wire, and must match Apache ZooKeeper 3.8 exactly.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::records::{Acl, Id};

pub mod op_code;

pub use op_code::{OpCode, OpKind, UnknownOpCode};

/// Permission bits of an ACL entry (`ZooDefs.Perms`).
pub mod perms {
    /// May read the node's data and list its children.
    pub const READ: i32 = 1;
    /// May set the node's data.
    pub const WRITE: i32 = 1 << 1;
    /// May create children.
    pub const CREATE: i32 = 1 << 2;
    /// May delete children.
    pub const DELETE: i32 = 1 << 3;
    /// May set the node's ACL.
    pub const ADMIN: i32 = 1 << 4;
    /// Every permission.
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
    /// Stays until deleted (flag 0).
    Persistent,
    /// Deleted when its session ends (flag 1).
    Ephemeral,
    /// Persistent, with a 10-digit counter of the parent appended to
    /// its name (flag 2).
    PersistentSequential,
    /// Ephemeral and sequential (flag 3).
    EphemeralSequential,
    /// Deleted by the server once it had children and has none left
    /// (flag 4).
    Container,
    /// Persistent, deleted once unchanged and childless for its TTL
    /// (flag 5).
    PersistentWithTtl,
    /// Sequential with a TTL (flag 6).
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

    /// The `flags` value a create request carries for this mode.
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

    /// Whether the node ends with its session.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// Whether the server appends a sequence number to the name.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// Whether this is a container.
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    /// Whether the node has a TTL.
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
    /// Success.
    OK = 0, "ok";
    /// A server-side failure with no more specific code.
    SYSTEMERROR = -1, "SystemError";
    /// A multi's op after the one that failed: not applied.
    RUNTIMEINCONSISTENCY = -2, "RuntimeInconsistency";
    /// The server found its data inconsistent.
    DATAINCONSISTENCY = -3, "DataInconsistency";
    /// The connection to the server was lost (client side).
    CONNECTIONLOSS = -4, "ConnectionLoss";
    /// A request or reply could not be (de)serialized.
    MARSHALLINGERROR = -5, "MarshallingError";
    /// The operation is not implemented.
    UNIMPLEMENTED = -6, "Unimplemented";
    /// The operation timed out (client side).
    OPERATIONTIMEOUT = -7, "OperationTimeout";
    /// An invalid argument: bad create flags, a TTL out of range, ...
    BADARGUMENTS = -8, "BadArguments";
    /// The session is unknown to the server.
    UNKNOWNSESSION = -12, "Unknown error UNKNOWNSESSION";
    /// A reconfig's new configuration has no quorum of connected
    /// followers.
    NEWCONFIGNOQUORUM = -13, "NewConfigNoQuorum";
    /// Another reconfig is in progress.
    RECONFIGINPROGRESS = -14, "ReconfigInProgress";
    /// The boundary below which codes are API errors; not sent itself.
    APIERROR = -100, "APIError";
    /// The node (or, for a create, its parent) does not exist.
    NONODE = -101, "NoNode";
    /// The ACL does not grant the client the permission needed.
    NOAUTH = -102, "NoAuth";
    /// The expected version does not match the node's.
    BADVERSION = -103, "BadVersion";
    /// Ephemeral nodes may not have children.
    NOCHILDRENFOREPHEMERALS = -108, "NoChildrenForEphemerals";
    /// The node already exists.
    NODEEXISTS = -110, "NodeExists";
    /// The node has children and cannot be deleted.
    NOTEMPTY = -111, "Directory not empty";
    /// The session has expired.
    SESSIONEXPIRED = -112, "Session expired";
    /// An invalid callback (client side).
    INVALIDCALLBACK = -113, "Invalid callback";
    /// The ACL is empty or malformed, or names an unknown scheme.
    INVALIDACL = -114, "InvalidACL";
    /// Authentication failed.
    AUTHFAILED = -115, "AuthFailed";
    /// The session moved to another server.
    SESSIONMOVED = -118, "Session moved";
    /// A write sent to a read-only server.
    NOTREADONLY = -119, "Not a read-only call";
    /// An ephemeral create on a local session.
    EPHEMERALONLOCALSESSION = -120, "Ephemeral node on local session";
    /// No watcher to remove matches (`removeWatches`).
    NOWATCHER = -121, "No such watcher";
    /// The request timed out (client side).
    REQUESTTIMEOUT = -122, "Unknown error REQUESTTIMEOUT";
    /// Reconfig is disabled (`reconfigEnabled=false`).
    RECONFIGDISABLED = -123, "Reconfig is disabled";
    /// The session was closed because the client did not authenticate
    /// with SASL when the server requires it.
    SESSIONCLOSEDREQUIRESASLAUTH = -124, "Session closed because client failed to authenticate";
    /// A hard quota was exceeded.
    QUOTAEXCEEDED = -125, "Quota has exceeded";
    /// The operation was throttled because the server is overloaded.
    THROTTLEDOP = -127, "Op throttled due to high load";
}

impl Code {
    /// The code as the `int` sent in reply headers and `ErrorTxn`
    /// (`Code.intValue`).
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
    /// A container: `ephemeralOwner` is `Long.MIN_VALUE`.
    Container,
    /// A TTL node: the extended marker with the TTL in the low bits.
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
    /// `zookeeper.extendedTypesEnabled`: classify extended
    /// `ephemeralOwner` values (TTL nodes).
    pub enabled: bool,
    /// `zookeeper.emulate353TTLNodes`: also read 3.5.3's sign-bit TTL
    /// encoding.
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
