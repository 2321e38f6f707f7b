//! Byte layouts of the election port, exactly as ZooKeeper 3.8 writes and
//! reads them (all integers big-endian, Java `DataOutputStream` style).
//!
//! Connection setup, sent once by the dialing side (`InitialMessage`):
//!
//! ```text
//! long  protocol version   -65536 (0xffff_ffff_ffff0000, V1) or -65535 (V2, multi-address)
//! long  sender sid
//! int   n                  length of the address text, 1..=2048 on receipt
//! n     "host:port"        UTF-8; V2 joins several with '|'; IPv6 as [addr]:port
//! ```
//!
//! Before 3.5 a peer sent only its sid (a non-negative long), which 3.8
//! still accepts: a first long >= 0 is taken as the sid and nothing else is
//! read.
//!
//! After that, both directions carry frames: `int length` (1..=512 KiB)
//! then `length` bytes. Each frame is one notification (`buildMsg`):
//!
//! ```text
//! int   state            ServerState ordinal (LOOKING 0 .. OBSERVING 3)
//! long  proposed leader
//! long  proposed zxid
//! long  election epoch   the sender's logical clock
//! long  peer epoch
//! int   version          0x2
//! int   config length    then that many bytes: QuorumVerifier.toString()
//! ```
//!
//! Receivers also take a 28-byte frame (no peer epoch: it is the zxid's
//! high half, no version) and a 40-byte frame (peer epoch, and a version
//! field that is not read), and a version 1 frame that has no config.

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};

use zk_config::HostPort;

use crate::vote::ServerState;

/// `PROTOCOL_VERSION_V1`: one election address in the initial message.
pub const PROTOCOL_VERSION_V1: i64 = -65536;
/// `PROTOCOL_VERSION_V2`: '|'-separated addresses (multi-address enabled).
pub const PROTOCOL_VERSION_V2: i64 = -65535;
/// `maxBuffer`: the largest address text accepted in an initial message.
pub const MAX_BUFFER: usize = 2048;
/// `PACKETMAXSIZE`: the largest frame a `RecvWorker` accepts.
pub const PACKETMAXSIZE: usize = 512 * 1024;
/// `Notification.CURRENTVERSION`.
pub const NOTIFICATION_CURRENT_VERSION: i32 = 0x2;

/// Why an initial message was refused. The connection is then closed.
#[derive(Debug)]
pub enum InitialMessageError {
    /// The first long is negative but neither V1 nor V2.
    UnrecognizedProtocolVersion(i64),
    /// The address length is <= 0 or > 2048.
    UnreasonableBufferLength(i32),
    /// The stream ended before `expected` address bytes arrived.
    ShortAddress {
        /// The sender, from the first long.
        sid: i64,
        /// How many address bytes it announced.
        expected: usize,
    },
    /// The address is not `host:port`.
    BadlyFormedAddress(String),
    /// The port is not a number.
    BadPortNumber(String),
    /// Reading failed.
    Io(io::Error),
}

impl fmt::Display for InitialMessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnrecognizedProtocolVersion(v) => {
                write!(f, "Got unrecognized protocol version {v}")
            }
            Self::UnreasonableBufferLength(n) => write!(f, "Unreasonable buffer length: {n}"),
            Self::ShortAddress { sid, expected } => write!(
                f,
                "connection closed before the {expected} address bytes sent by server {sid}"
            ),
            Self::BadlyFormedAddress(a) => write!(f, "Badly formed address: {a}"),
            Self::BadPortNumber(p) => write!(f, "Bad port number: {p}"),
            Self::Io(e) => write!(f, "reading the initial message: {e}"),
        }
    }
}

impl std::error::Error for InitialMessageError {}

impl From<io::Error> for InitialMessageError {
    fn from(e: io::Error) -> Self {
        InitialMessageError::Io(e)
    }
}

/// What the dialing peer told us about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialMessage {
    /// The sender's server id.
    pub sid: i64,
    /// Where to reach the sender's election port; empty for the pre-3.5
    /// form, and wildcard addresses (0.0.0.0, ::) are left out, so an empty
    /// list means "use the address from the configuration".
    pub election_addrs: Vec<HostPort>,
}

impl InitialMessage {
    /// Reads an initial message (either form) from a freshly accepted
    /// connection.
    pub fn read_from(r: &mut impl Read) -> Result<InitialMessage, InitialMessageError> {
        let first = read_i64(r)?;
        if first >= 0 {
            return Ok(InitialMessage {
                sid: first,
                election_addrs: Vec::new(),
            });
        }
        if first != PROTOCOL_VERSION_V1 && first != PROTOCOL_VERSION_V2 {
            return Err(InitialMessageError::UnrecognizedProtocolVersion(first));
        }
        let sid = read_i64(r)?;
        let remaining = read_i32(r)?;
        if remaining <= 0 || remaining as usize > MAX_BUFFER {
            return Err(InitialMessageError::UnreasonableBufferLength(remaining));
        }
        let mut text = vec![0u8; remaining as usize];
        r.read_exact(&mut text).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                InitialMessageError::ShortAddress {
                    sid,
                    expected: text.len(),
                }
            } else {
                InitialMessageError::Io(e)
            }
        })?;
        let text = String::from_utf8_lossy(&text);
        let mut election_addrs = Vec::new();
        for addr in java_split(&text, '|') {
            let (host, port) = parse_host_port(addr)?;
            if !is_wildcard(&host) {
                election_addrs.push(HostPort::new(host, port));
            }
        }
        Ok(InitialMessage {
            sid,
            election_addrs,
        })
    }

    /// The bytes `startConnection` writes: V1 with the first address, or
    /// V2 with all of them. `addrs` are already in text form
    /// ([`format_inet_addr`] for resolved addresses).
    pub fn encode(sid: i64, addrs: &[String], multi_address: bool) -> Vec<u8> {
        let (version, addrs) = if multi_address {
            (PROTOCOL_VERSION_V2, addrs)
        } else {
            (PROTOCOL_VERSION_V1, &addrs[..addrs.len().min(1)])
        };
        let text = addrs.join("|");
        let mut out = Vec::with_capacity(20 + text.len());
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&sid.to_be_bytes());
        out.extend_from_slice(&(text.len() as i32).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }
}

/// An election address as the initial message carries it: resolved when
/// the name resolves, else `host:port` as written (Java's unresolved
/// `InetSocketAddress`).
pub fn format_host_port(addr: &HostPort) -> String {
    match addr.resolve() {
        Ok(a) => format_inet_addr(&a),
        Err(_) => format!("{}:{}", addr.host, addr.port),
    }
}

/// `NetUtils.formatInetAddr` for a resolved address: IPv6 in brackets and
/// in Java's uncompressed form (`0:0:0:0:0:0:0:1`), so our bytes match a
/// JVM's.
pub fn format_inet_addr(addr: &SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => {
            let segs: Vec<String> = ip.segments().iter().map(|s| format!("{s:x}")).collect();
            format!("[{}]:{}", segs.join(":"), addr.port())
        }
    }
}

/// `ConfigUtils.getHostAndPort` then the checks of `InitialMessage.parse`:
/// exactly a host and a port that `Integer.parseInt` and
/// `InetSocketAddress` accept.
fn parse_host_port(addr: &str) -> Result<(String, u16), InitialMessageError> {
    let bad = || InitialMessageError::BadlyFormedAddress(addr.to_string());
    let parts: Vec<&str> = if let Some(rest) = addr.strip_prefix('[') {
        let close = rest.find(']').ok_or_else(bad)?;
        let after = &rest[close + 1..];
        // Java skips the character after ']' whatever it is.
        let mut chars = after.chars();
        if chars.next().is_none() || chars.as_str().is_empty() {
            return Err(bad());
        }
        let mut v = vec![&rest[..close]];
        v.extend(java_split(chars.as_str(), ':'));
        v
    } else {
        java_split(addr, ':')
    };
    if parts.len() != 2 {
        return Err(bad());
    }
    let port_text = parts[1];
    let digits = port_text.strip_prefix('+').unwrap_or(port_text);
    let port = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<u16>().ok()
    } else {
        None
    };
    let port = port.ok_or_else(|| InitialMessageError::BadPortNumber(port_text.to_string()))?;
    Ok((parts[0].to_string(), port))
}

fn is_wildcard(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// Java's `String.split` with a one-character pattern: trailing empty
/// pieces are dropped.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

fn read_i64(r: &mut impl Read) -> io::Result<i64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(i64::from_be_bytes(b))
}

fn read_i32(r: &mut impl Read) -> io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_be_bytes(b))
}

/// A frame's length prefix: `int length` then the payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads one frame, refusing a length outside 1..=`PACKETMAXSIZE` before
/// allocating anything.
pub fn read_frame(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let length = read_i32(r)?;
    if length <= 0 || length as usize > PACKETMAXSIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Received packet with invalid packet: {length}"),
        ));
    }
    let mut buf = vec![0u8; length as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// A notification as it was on the wire, before the receiver validates
/// the state and parses the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationMessage {
    /// Raw state: an unknown value is not an error here, as 3.8 still
    /// answers a non-voter before looking at the state.
    pub state: i32,
    /// The proposed leader.
    pub leader: i64,
    /// Its last zxid.
    pub zxid: i64,
    /// The sender's election round.
    pub election_epoch: i64,
    /// The proposed leader's epoch.
    pub peer_epoch: i64,
    /// 0 for the 28- and 40-byte forms.
    pub version: i32,
    /// The sender's `QuorumVerifier.toString()`, for version > 1.
    pub config: Option<Vec<u8>>,
}

/// Why a notification frame was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationError {
    /// Fewer than 28 bytes.
    TooShort(usize),
    /// The frame ended inside a field.
    Truncated(usize),
    /// The config length is negative or longer than the frame.
    InvalidConfigLength {
        /// The length announced.
        length: i32,
        /// What the frame holds after it.
        capacity: usize,
    },
}

impl fmt::Display for NotificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort(n) => write!(f, "short notification of {n} bytes"),
            Self::Truncated(n) => write!(f, "partial / malformed notification of {n} bytes"),
            Self::InvalidConfigLength { length, capacity } => write!(
                f,
                "invalid configLength {length} in a notification of {capacity} bytes"
            ),
        }
    }
}

impl std::error::Error for NotificationError {}

impl NotificationMessage {
    /// `buildMsg`: the version 2 layout with the config text.
    pub fn build(
        state: ServerState,
        leader: i64,
        zxid: i64,
        election_epoch: i64,
        peer_epoch: i64,
        config: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(44 + config.len());
        out.extend_from_slice(&state.to_wire().to_be_bytes());
        out.extend_from_slice(&leader.to_be_bytes());
        out.extend_from_slice(&zxid.to_be_bytes());
        out.extend_from_slice(&election_epoch.to_be_bytes());
        out.extend_from_slice(&peer_epoch.to_be_bytes());
        out.extend_from_slice(&NOTIFICATION_CURRENT_VERSION.to_be_bytes());
        out.extend_from_slice(&(config.len() as i32).to_be_bytes());
        out.extend_from_slice(config);
        out
    }

    /// The receiving half of `WorkerReceiver`, field by field.
    pub fn decode(buf: &[u8]) -> Result<NotificationMessage, NotificationError> {
        let capacity = buf.len();
        if capacity < 28 {
            return Err(NotificationError::TooShort(capacity));
        }
        let mut c = Cursor { buf, pos: 0 };
        let truncated = || NotificationError::Truncated(capacity);
        let state = c.i32().ok_or_else(truncated)?;
        let leader = c.i64().ok_or_else(truncated)?;
        let zxid = c.i64().ok_or_else(truncated)?;
        let election_epoch = c.i64().ok_or_else(truncated)?;
        let mut version = 0;
        let peer_epoch;
        if capacity == 28 {
            peer_epoch = zxid >> 32;
        } else {
            peer_epoch = c.i64().ok_or_else(truncated)?;
            if capacity != 40 {
                version = c.i32().ok_or_else(truncated)?;
            }
        }
        let mut config = None;
        if version > 0x1 {
            let length = c.i32().ok_or_else(truncated)?;
            if length < 0 || length as usize > capacity {
                return Err(NotificationError::InvalidConfigLength { length, capacity });
            }
            config = Some(c.bytes(length as usize).ok_or_else(truncated)?.to_vec());
        }
        Ok(NotificationMessage {
            state,
            leader,
            zxid,
            election_epoch,
            peer_epoch,
            version,
            config,
        })
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.bytes(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.bytes(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Big-endian bytes from a hex string with spaces, written out by hand
    /// from 3.8's layout so the test does not reuse the encoder.
    fn hex(s: &str) -> Vec<u8> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn notification_v2_layout() {
        let config = b"server.1=127.0.0.1:2888:3888:participant\nversion=0";
        let got =
            NotificationMessage::build(ServerState::Following, 3, 0x1_0000_0002, 0x7, 0x1, config);
        let mut want = hex("00000001 \
             0000000000000003 \
             0000000100000002 \
             0000000000000007 \
             0000000000000001 \
             00000002");
        want.extend_from_slice(&(config.len() as i32).to_be_bytes());
        want.extend_from_slice(config);
        assert_eq!(got, want);
        assert_eq!(got.len(), 44 + config.len());

        let m = NotificationMessage::decode(&got).unwrap();
        assert_eq!(m.state, 1);
        assert_eq!(m.leader, 3);
        assert_eq!(m.zxid, 0x1_0000_0002);
        assert_eq!(m.election_epoch, 7);
        assert_eq!(m.peer_epoch, 1);
        assert_eq!(m.version, 2);
        assert_eq!(m.config.as_deref(), Some(&config[..]));
    }

    #[test]
    fn notification_old_forms() {
        // 28 bytes (before ZOOKEEPER-1732): no peer epoch, it is the
        // zxid's epoch half.
        let b28 = hex("00000000 0000000000000002 0000000500000009 0000000000000003");
        let m = NotificationMessage::decode(&b28).unwrap();
        assert_eq!((m.leader, m.zxid, m.election_epoch), (2, 0x5_0000_0009, 3));
        assert_eq!(m.peer_epoch, 5);
        assert_eq!(m.version, 0);
        assert_eq!(m.config, None);

        // 40 bytes: peer epoch present; the version field (0x1) is not read.
        let b40 = hex(
            "00000002 0000000000000002 0000000500000009 0000000000000003 \
             0000000000000004 00000001",
        );
        let m = NotificationMessage::decode(&b40).unwrap();
        assert_eq!((m.state, m.peer_epoch, m.version), (2, 4, 0));
        assert_eq!(m.config, None);

        // A longer frame of version 1 carries no config either.
        let mut v1 = b40.clone();
        v1.extend_from_slice(&[0xaa; 8]);
        let m = NotificationMessage::decode(&v1).unwrap();
        assert_eq!((m.version, m.config), (1, None));
    }

    #[test]
    fn notification_refusals() {
        assert_eq!(
            NotificationMessage::decode(&[0; 27]),
            Err(NotificationError::TooShort(27))
        );
        // Version 2 whose config length runs past the frame.
        let mut bad = NotificationMessage::build(ServerState::Looking, 1, 0, 1, 0, b"abc");
        let at = bad.len() - 3 - 4;
        bad[at..at + 4].copy_from_slice(&1000i32.to_be_bytes());
        assert_eq!(
            NotificationMessage::decode(&bad),
            Err(NotificationError::InvalidConfigLength {
                length: 1000,
                capacity: bad.len()
            })
        );
        // Negative config length.
        bad[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            NotificationMessage::decode(&bad),
            Err(NotificationError::InvalidConfigLength { length: -1, .. })
        ));
        // Length within capacity but past the end of the frame.
        bad[at..at + 4].copy_from_slice(&10i32.to_be_bytes());
        assert_eq!(
            NotificationMessage::decode(&bad),
            Err(NotificationError::Truncated(bad.len()))
        );
        // Unknown state values decode; the receiver drops them later.
        let odd = NotificationMessage::build(ServerState::Looking, 1, 0, 1, 0, b"");
        let mut odd = odd;
        odd[..4].copy_from_slice(&9i32.to_be_bytes());
        assert_eq!(NotificationMessage::decode(&odd).unwrap().state, 9);
    }

    #[test]
    fn initial_message_v1_and_v2_layouts() {
        let v1 = InitialMessage::encode(
            5,
            &["127.0.0.1:3888".to_string(), "10.0.0.1:3889".to_string()],
            false,
        );
        let mut want = hex("ffffffffffff0000 0000000000000005 0000000e");
        want.extend_from_slice(b"127.0.0.1:3888");
        assert_eq!(v1, want);

        let v2 = InitialMessage::encode(
            5,
            &["127.0.0.1:3888".to_string(), "10.0.0.1:3889".to_string()],
            true,
        );
        let text = b"127.0.0.1:3888|10.0.0.1:3889";
        let mut want = hex("ffffffffffff0001 0000000000000005");
        want.extend_from_slice(&(text.len() as i32).to_be_bytes());
        want.extend_from_slice(text);
        assert_eq!(v2, want);

        let m = InitialMessage::read_from(&mut &v2[..]).unwrap();
        assert_eq!(m.sid, 5);
        assert_eq!(
            m.election_addrs,
            vec![
                HostPort::new("127.0.0.1", 3888),
                HostPort::new("10.0.0.1", 3889)
            ]
        );
    }

    #[test]
    fn initial_message_accepted_forms() {
        // Before 3.5: just the sid.
        let old = 7i64.to_be_bytes();
        let m = InitialMessage::read_from(&mut &old[..]).unwrap();
        assert_eq!(m.sid, 7);
        assert!(m.election_addrs.is_empty());

        // IPv6 in brackets, and wildcard addresses left out.
        let text = "[0:0:0:0:0:0:0:1]:3888|0.0.0.0:3999";
        let mut b = hex("ffffffffffff0001 0000000000000002");
        b.extend_from_slice(&(text.len() as i32).to_be_bytes());
        b.extend_from_slice(text.as_bytes());
        let m = InitialMessage::read_from(&mut &b[..]).unwrap();
        assert_eq!(m.sid, 2);
        assert_eq!(
            m.election_addrs,
            vec![HostPort::new("0:0:0:0:0:0:0:1", 3888)]
        );

        // An observer with no id announces Long.MAX_VALUE.
        let b = InitialMessage::encode(i64::MAX, &["h:1".to_string()], false);
        assert_eq!(
            InitialMessage::read_from(&mut &b[..]).unwrap().sid,
            i64::MAX
        );
    }

    fn with_text(version: &str, len: i32, text: &[u8]) -> Vec<u8> {
        let mut b = hex(version);
        b.extend_from_slice(&9i64.to_be_bytes());
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(text);
        b
    }

    #[test]
    fn initial_message_refused_forms() {
        let bad_version = hex("fffffffffffffffe 0000000000000001");
        assert!(matches!(
            InitialMessage::read_from(&mut &bad_version[..]),
            Err(InitialMessageError::UnrecognizedProtocolVersion(-2))
        ));
        let huge = with_text("ffffffffffff0000", 2049, &[b'a'; 2049]);
        assert!(matches!(
            InitialMessage::read_from(&mut &huge[..]),
            Err(InitialMessageError::UnreasonableBufferLength(2049))
        ));
        // 2048 is still accepted (then fails on the address itself).
        let max = with_text("ffffffffffff0000", 2048, &[b'a'; 2048]);
        assert!(matches!(
            InitialMessage::read_from(&mut &max[..]),
            Err(InitialMessageError::BadlyFormedAddress(_))
        ));
        let empty = with_text("ffffffffffff0000", 0, b"");
        assert!(matches!(
            InitialMessage::read_from(&mut &empty[..]),
            Err(InitialMessageError::UnreasonableBufferLength(0))
        ));
        let short = with_text("ffffffffffff0000", 20, b"127.0.0.1:1");
        assert!(matches!(
            InitialMessage::read_from(&mut &short[..]),
            Err(InitialMessageError::ShortAddress {
                sid: 9,
                expected: 20
            })
        ));
        let port = with_text("ffffffffffff0000", 11, b"127.0.0.1:x");
        assert!(matches!(
            InitialMessage::read_from(&mut &port[..]),
            Err(InitialMessageError::BadPortNumber(p)) if p == "x"
        ));
        let three = with_text("ffffffffffff0000", 8, b"a:1:2:33");
        assert!(matches!(
            InitialMessage::read_from(&mut &three[..]),
            Err(InitialMessageError::BadlyFormedAddress(_))
        ));
        let cut = hex("ffffffffffff0000 00000000");
        assert!(matches!(
            InitialMessage::read_from(&mut &cut[..]),
            Err(InitialMessageError::Io(_))
        ));
    }

    #[test]
    fn frames() {
        let f = frame(b"abc");
        assert_eq!(f, hex("00000003 616263"));
        assert_eq!(read_frame(&mut &f[..]).unwrap(), b"abc");
        for len in [0i32, -1, (PACKETMAXSIZE + 1) as i32] {
            let b = len.to_be_bytes();
            let e = read_frame(&mut &b[..]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{len}");
        }
    }

    #[test]
    fn java_address_text() {
        let v6: SocketAddr = "[::1]:3888".parse().unwrap();
        assert_eq!(format_inet_addr(&v6), "[0:0:0:0:0:0:0:1]:3888");
        let v4: SocketAddr = "127.0.0.1:3888".parse().unwrap();
        assert_eq!(format_inet_addr(&v4), "127.0.0.1:3888");
    }
}
