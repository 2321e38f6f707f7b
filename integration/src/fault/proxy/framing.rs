//! Where one Zab message ends on a quorum connection, as 3.8 frames it,
//! without decoding more than the lengths.
//!
//! A quorum connection carries back-to-back jute `QuorumPacket`s from its
//! first byte (the learner's FOLLOWERINFO has no preamble): int type, long
//! zxid, buffer data (int length, -1 = null), `vector<Id>` authinfo (int
//! count, -1 = null, then each Id as two jute strings). The one exception
//! is SNAP, leader to learner: the leader writes the serialized database
//! straight after it (`ZKDatabase.serializeSnapshot`: the session table,
//! the ACL map, the nodes ending with the path "/") and then the string
//! "BenWasHere", and packets resume.
//!
//! The snapshot is walked by its own jute structure, item by item, rather
//! than skipped by scanning for the next NEWLEADER frame: a scan can match
//! bytes inside a znode's data, and it would also swallow the PROPOSAL and
//! COMMIT packets a leader sends between the snapshot and NEWLEADER
//! (rules could then never see them). The walk knows exactly where the
//! signature is, and checks it. Each item is passed on as
//! [`Unit::Opaque`] as soon as it is complete, so a large snapshot streams
//! through without being held whole.
//!
//! Anything that does not fit (a negative length, a length past
//! [`MAX_FIELD`], an unknown packet type, a wrong signature) puts the
//! framer in a lost state for the rest of the connection: every later
//! byte is opaque. The proxy then still forwards the stream unchanged,
//! only its rules stop matching, and [`Framer::lost`] says why.

/// The largest length field believed (jute.maxbuffer is 1 MB by default;
/// a snapshot node's data is bounded by it too).
pub const MAX_FIELD: usize = 64 << 20;

/// The packet types as numbered on the wire: zk-quorum's, which are 3.8's
/// `Leader.*`.
pub use zk_quorum::quorum_packet::packet_type;
/// The name 3.8 logs for a packet type.
pub use zk_quorum::quorum_packet::packet_type_name as type_name;

/// Types run 1 (REQUEST) to 19 (INFORMANDACTIVATE).
pub const MAX_PACKET_TYPE: i32 = packet_type::INFORMANDACTIVATE;

/// The signature after a snapshot on the stream.
const SNAP_SIGNATURE: &[u8] = b"BenWasHere";
/// A `StatPersisted`: czxid, mzxid, ctime, mtime (longs), version,
/// cversion, aversion (ints), ephemeralOwner, pzxid (longs).
const STAT_PERSISTED_LEN: usize = 4 * 8 + 3 * 4 + 2 * 8;
/// A session in the table: long id, int timeout.
const SESSION_LEN: usize = 12;

/// One complete piece of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A whole `QuorumPacket` of `len` bytes.
    Packet {
        /// `QuorumPacket.type` (e.g. PROPOSAL, COMMIT, SNAP).
        packet_type: i32,
        /// `QuorumPacket.zxid`.
        zxid: i64,
        /// Bytes of the whole packet on the wire.
        len: usize,
    },
    /// Bytes of a snapshot after SNAP (or of a lost stream), to pass on
    /// as they are.
    Opaque {
        /// Bytes of the piece.
        len: usize,
    },
}

impl Unit {
    /// Bytes of the unit on the wire.
    pub fn len(&self) -> usize {
        match *self {
            Unit::Packet { len, .. } | Unit::Opaque { len } => len,
        }
    }

    /// True for a unit of no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Packets,
    SessionCount,
    Sessions(u32),
    AclCount,
    AclEntries(u32),
    Nodes,
    Signature,
    Lost,
}

/// The framer of one direction of one connection.
#[derive(Debug)]
pub struct Framer {
    state: State,
    /// Leader to learner: a SNAP packet is followed by a snapshot.
    carries_snapshots: bool,
    lost: Option<String>,
}

/// Why a piece could not be read yet.
enum Stop {
    /// Not all of it has arrived.
    Short,
    /// It cannot be what 3.8 sends.
    Bad(String),
}

type Step<T> = Result<T, Stop>;

/// Reads fields off the front of a buffer.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Step<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(Stop::Short)?;
        let s = self.b.get(self.at..end).ok_or(Stop::Short)?;
        self.at = end;
        Ok(s)
    }

    fn int(&mut self) -> Step<i32> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn long(&mut self) -> Step<i64> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// A jute length: -1 is null (`None`).
    fn len_or_null(&mut self, what: &str) -> Step<Option<usize>> {
        match self.int()? {
            -1 => Ok(None),
            n if n < 0 || n as usize > MAX_FIELD => Err(Stop::Bad(format!("{what} length {n}"))),
            n => Ok(Some(n as usize)),
        }
    }

    /// A jute buffer or string (length-prefixed bytes, -1 = null).
    fn bytes(&mut self, what: &str) -> Step<&'a [u8]> {
        match self.len_or_null(what)? {
            None => Ok(&[]),
            Some(n) => self.take(n),
        }
    }

    /// A count of a vector or map, -1 (null) read as 0.
    fn count(&mut self, what: &str, max: usize) -> Step<u32> {
        match self.int()? {
            -1 => Ok(0),
            n if n < 0 || n as usize > max => Err(Stop::Bad(format!("{what} count {n}"))),
            n => Ok(n as u32),
        }
    }
}

impl Framer {
    /// The framer for leader-to-learner bytes (`carries_snapshots`) or
    /// learner-to-leader bytes.
    pub fn new(carries_snapshots: bool) -> Framer {
        Framer {
            state: State::Packets,
            carries_snapshots,
            lost: None,
        }
    }

    /// Why the framing was given up, if it was.
    pub fn lost(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    /// Whether the framer is inside a snapshot.
    pub fn in_snapshot(&self) -> bool {
        !matches!(self.state, State::Packets | State::Lost)
    }

    /// The next complete unit at the start of `buf`, or `None` until more
    /// bytes arrive. The caller drops `unit.len()` bytes before asking
    /// again.
    pub fn next(&mut self, buf: &[u8]) -> Option<Unit> {
        loop {
            if buf.is_empty() {
                return None;
            }
            if self.state == State::Lost {
                return Some(Unit::Opaque { len: buf.len() });
            }
            let mut c = Cursor { b: buf, at: 0 };
            match self.step(&mut c) {
                Ok(Some(packet)) => return Some(packet),
                // A state change that consumed nothing (an empty table).
                Ok(None) if c.at == 0 => continue,
                Ok(None) => return Some(Unit::Opaque { len: c.at }),
                Err(Stop::Short) => return None,
                Err(Stop::Bad(why)) => {
                    let at = match self.state {
                        State::Packets => "a packet",
                        _ => "the snapshot after SNAP",
                    };
                    self.lost = Some(format!("{why} in {at}"));
                    self.state = State::Lost;
                }
            }
        }
    }

    /// Reads one piece in the current state; moves to the next state only
    /// when the piece is whole (a short read leaves the state as it was).
    fn step(&mut self, c: &mut Cursor<'_>) -> Step<Option<Unit>> {
        match self.state {
            State::Packets => {
                let packet_type = c.int()?;
                if !(1..=MAX_PACKET_TYPE).contains(&packet_type) {
                    return Err(Stop::Bad(format!("packet type {packet_type}")));
                }
                let zxid = c.long()?;
                c.bytes("data")?;
                for _ in 0..c.count("authinfo", 1024)? {
                    c.bytes("Id scheme")?;
                    c.bytes("Id id")?;
                }
                if packet_type == packet_type::SNAP && self.carries_snapshots {
                    self.state = State::SessionCount;
                }
                Ok(Some(Unit::Packet {
                    packet_type,
                    zxid,
                    len: c.at,
                }))
            }
            State::SessionCount => {
                let n = c.count("session", MAX_FIELD)?;
                self.state = State::Sessions(n);
                Ok(None)
            }
            State::Sessions(0) => {
                self.state = State::AclCount;
                Ok(None)
            }
            State::Sessions(n) => {
                // As many whole sessions as have arrived.
                let whole = (c.b.len() / SESSION_LEN).min(n as usize);
                if whole == 0 {
                    return Err(Stop::Short);
                }
                c.take(whole * SESSION_LEN)?;
                self.state = State::Sessions(n - whole as u32);
                Ok(None)
            }
            State::AclCount => {
                let n = c.count("ACL map", MAX_FIELD)?;
                self.state = State::AclEntries(n);
                Ok(None)
            }
            State::AclEntries(0) => {
                self.state = State::Nodes;
                Ok(None)
            }
            State::AclEntries(n) => {
                c.long()?;
                for _ in 0..c.count("ACL list", MAX_FIELD)? {
                    c.int()?;
                    c.bytes("ACL scheme")?;
                    c.bytes("ACL id")?;
                }
                self.state = State::AclEntries(n - 1);
                Ok(None)
            }
            State::Nodes => {
                // The root is written with the path ""; "/" ends the nodes.
                if c.bytes("path")? == b"/" {
                    self.state = State::Signature;
                    return Ok(None);
                }
                c.bytes("node data")?;
                c.long()?;
                c.take(STAT_PERSISTED_LEN)?;
                Ok(None)
            }
            State::Signature => {
                let s = c.bytes("signature")?;
                if s != SNAP_SIGNATURE {
                    return Err(Stop::Bad(format!(
                        "signature {:?}",
                        String::from_utf8_lossy(s)
                    )));
                }
                self.state = State::Packets;
                Ok(None)
            }
            State::Lost => unreachable!("handled by next"),
        }
    }
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
