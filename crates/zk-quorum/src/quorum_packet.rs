//! What leader and learners say to each other on the quorum port: the
//! `QuorumPacket` and `LearnerInfo` records of `zookeeper.jute`, the packet
//! types of Zab, and the handful of payloads that are not jute records but
//! raw big-endian fields (LEADERINFO's protocol version, ACKEPOCH's epoch,
//! PING's session touches, REQUEST's header, REVALIDATE).
//!
//! A connection carries nothing but back-to-back `QuorumPacket`s, except
//! right after a SNAP packet, where the leader writes the sessions, the
//! tree and the string `"BenWasHere"` straight onto the stream.

use std::fmt;
use std::io::{self, Read, Write};

use zk_persistence::jute::{
    InputArchive, JuteField, JuteResult, OutputArchive, Record, DEFAULT_MAX_BUFFER,
};
use zk_persistence::jute_record;
use zk_persistence::records::Id;

/// The packet types (`Leader.REQUEST`, ...). The numbers are the wire's.
pub mod packet_type {
    /// A learner forwards a client write (or session check) to the leader.
    pub const REQUEST: i32 = 1;
    /// A txn the leader asks followers to log.
    pub const PROPOSAL: i32 = 2;
    /// A follower logged a proposal (or, with the new epoch's zxid, took
    /// NEWLEADER).
    pub const ACK: i32 = 3;
    /// A quorum acked; apply the proposal.
    pub const COMMIT: i32 = 4;
    /// Liveness both ways; the learner's reply carries session touches.
    pub const PING: i32 = 5;
    /// A learner asks whether a reconnecting session is still alive.
    pub const REVALIDATE: i32 = 6;
    /// A `sync()` from a client of this learner has reached the leader.
    pub const SYNC: i32 = 7;
    /// A committed txn, told to an observer (proposal and commit in one).
    pub const INFORM: i32 = 8;
    /// COMMIT of a reconfig, with the designated leader.
    pub const COMMITANDACTIVATE: i32 = 9;
    /// The leader's last word of the sync phase (Zab 1.0: carries the
    /// configuration).
    pub const NEWLEADER: i32 = 10;
    /// A follower's first packet: its accepted epoch and `LearnerInfo`.
    pub const FOLLOWERINFO: i32 = 11;
    /// Sync done; start serving.
    pub const UPTODATE: i32 = 12;
    /// Sync by replaying txns (possibly none).
    pub const DIFF: i32 = 13;
    /// Sync by first dropping logged txns past the given zxid.
    pub const TRUNC: i32 = 14;
    /// Sync by a whole snapshot, which follows on the stream.
    pub const SNAP: i32 = 15;
    /// An observer's first packet.
    pub const OBSERVERINFO: i32 = 16;
    /// The epoch the leader proposes, and its protocol version.
    pub const LEADERINFO: i32 = 17;
    /// A learner accepts the epoch and reports its current epoch and last
    /// zxid.
    pub const ACKEPOCH: i32 = 18;
    /// INFORM of a reconfig, with the designated leader.
    pub const INFORMANDACTIVATE: i32 = 19;
}

/// The Zab protocol version 3.4+ speaks (`0x10000`), sent in LEADERINFO
/// and `LearnerInfo`. Below it a peer is a pre-1.0 one, which skips the
/// LEADERINFO/ACKEPOCH exchange.
pub const PROTOCOL_VERSION: i32 = 0x10000;

/// What follows a snapshot on the stream, so that a learner can tell the
/// snapshot ended where the leader meant it to.
pub const SNAP_SIGNATURE: &str = "BenWasHere";

/// The name 3.8 logs for a packet type (`Leader.getPacketType`).
pub fn packet_type_name(t: i32) -> &'static str {
    use packet_type::*;
    match t {
        REQUEST => "REQUEST",
        PROPOSAL => "PROPOSAL",
        ACK => "ACK",
        COMMIT => "COMMIT",
        PING => "PING",
        REVALIDATE => "REVALIDATE",
        SYNC => "SYNC",
        INFORM => "INFORM",
        COMMITANDACTIVATE => "COMMITANDACTIVATE",
        NEWLEADER => "NEWLEADER",
        FOLLOWERINFO => "FOLLOWERINFO",
        UPTODATE => "UPTODATE",
        DIFF => "DIFF",
        TRUNC => "TRUNC",
        SNAP => "SNAP",
        OBSERVERINFO => "OBSERVERINFO",
        LEADERINFO => "LEADERINFO",
        ACKEPOCH => "ACKEPOCH",
        INFORMANDACTIVATE => "INFORMANDACTIVATE",
        _ => "UNKNOWN",
    }
}

/// jute `vector<Id>` that keeps null (-1) apart from empty: the leader
/// sends null auth info on everything it originates, and a byte-identical
/// stream needs that -1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthInfo(pub Option<Vec<Id>>);

impl JuteField for AuthInfo {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        match &self.0 {
            None => oa.write_int(-1),
            Some(ids) => oa.write_vec(ids, |oa, id| id.serialize(oa)),
        }
    }

    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        match ia.read_vec_len()? {
            None => Ok(AuthInfo(None)),
            Some(n) => {
                let mut ids = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    ids.push(Id::deserialize(ia)?);
                }
                Ok(AuthInfo(Some(ids)))
            }
        }
    }
}

jute_record! {
    /// jute `QuorumPacket`: every message on the quorum port.
    pub struct QuorumPacket {
        /// One of [`packet_type`].
        pub packet_type: i32,
        /// The zxid the packet is about (a proposal's, an epoch's zero zxid, -1 for none).
        pub zxid: i64,
        /// Null on most packets the leader originates.
        pub data: Option<Vec<u8>>,
        /// The identities of the client behind a REQUEST (empty otherwise).
        pub authinfo: AuthInfo,
    }
}

jute_record! {
    /// jute `LearnerInfo`: the payload of FOLLOWERINFO/OBSERVERINFO.
    pub struct LearnerInfo {
        /// The learner's server id.
        pub serverid: i64,
        /// The Zab protocol version it speaks ([`PROTOCOL_VERSION`]).
        pub protocol_version: i32,
        /// The version of the configuration the learner has activated.
        pub config_version: i64,
    }
}

impl QuorumPacket {
    /// A packet with no auth info (what both sides send, except REQUEST).
    pub fn new(packet_type: i32, zxid: i64, data: Option<Vec<u8>>) -> Self {
        QuorumPacket {
            packet_type,
            zxid,
            data,
            authinfo: AuthInfo(None),
        }
    }

    /// The payload; null reads as empty.
    pub fn data(&self) -> &[u8] {
        self.data.as_deref().unwrap_or(&[])
    }
}

impl fmt::Display for QuorumPacket {
    /// As 3.8 logs packets: type name and hex zxid.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} 0x{:x}",
            packet_type_name(self.packet_type),
            self.zxid
        )?;
        if self.packet_type == packet_type::REVALIDATE && self.data().len() >= 8 {
            write!(f, " sessionid = 0x{:x}", read_i64(self.data(), 0))?;
        }
        Ok(())
    }
}

/// Reads one packet, turning a decoding failure into an I/O error that
/// names `peer`.
pub(crate) fn read_packet<R: Read>(
    ia: &mut InputArchive<R>,
    peer: &str,
) -> io::Result<QuorumPacket> {
    QuorumPacket::deserialize(ia).map_err(|e| {
        let e = io::Error::from(e);
        io::Error::new(
            e.kind(),
            format!("reading a quorum packet from {peer}: {e}"),
        )
    })
}

/// An input archive over a quorum connection, checking lengths against
/// `jute.maxbuffer` as Java's `BinaryInputArchive` does.
pub(crate) fn input_archive<R: Read>(r: R, max_buffer: usize) -> InputArchive<R> {
    InputArchive::with_max_buffer(r, max_buffer.max(DEFAULT_MAX_BUFFER))
}

/// `(epoch << 32) | counter` (`ZxidUtils.makeZxid`).
pub fn make_zxid(epoch: i64, counter: i64) -> i64 {
    (epoch << 32) | (counter & 0xffff_ffff)
}

/// The high 32 bits of a zxid.
pub(crate) fn epoch_of_zxid(zxid: i64) -> i64 {
    zxid >> 32
}

/// The low 32 bits of a zxid (the txn counter within its epoch).
pub(crate) fn counter_of_zxid(zxid: i64) -> i64 {
    zxid & 0xffff_ffff
}

fn read_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

fn read_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}

/// The four bytes of a big-endian int (LEADERINFO's version, ACKEPOCH's
/// epoch).
pub fn int_payload(v: i32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// Reads the int at the front of a payload; `what` names the packet in the
/// error.
pub(crate) fn parse_int_payload(data: &[u8], what: &str) -> io::Result<i32> {
    if data.len() < 4 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} carries {} bytes, expected 4", data.len()),
        ));
    }
    Ok(read_i32(data, 0))
}

/// Who a learner says it is, read from its FOLLOWERINFO/OBSERVERINFO data
/// the lenient way 3.8 reads it: as many of the three fields as the bytes
/// hold (older learners sent only the sid). `None` when there is no data at
/// all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LearnerInfoFields {
    /// The learner's server id.
    pub sid: Option<i64>,
    /// The protocol version it speaks.
    pub protocol_version: Option<i32>,
    /// The version of the configuration it has activated.
    pub config_version: Option<i64>,
}

/// Reads a FOLLOWERINFO/OBSERVERINFO payload into [`LearnerInfoFields`].
pub(crate) fn parse_learner_info(data: &[u8]) -> LearnerInfoFields {
    LearnerInfoFields {
        sid: (data.len() >= 8).then(|| read_i64(data, 0)),
        protocol_version: (data.len() >= 12).then(|| read_i32(data, 8)),
        config_version: (data.len() >= 20).then(|| read_i64(data, 12)),
    }
}

/// PING's payload from a learner: `(session id, timeout)` pairs back to
/// back. A trailing partial pair is an error naming its offset.
pub(crate) fn parse_touches(data: &[u8]) -> io::Result<Vec<(i64, i32)>> {
    if data.len() % 12 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "PING payload of {} bytes is not a list of (session, timeout) pairs: {} stray bytes at offset {}",
                data.len(),
                data.len() % 12,
                data.len() - data.len() % 12
            ),
        ));
    }
    Ok(data
        .chunks_exact(12)
        .map(|c| (read_i64(c, 0), read_i32(c, 8)))
        .collect())
}

/// The PING payload a learner sends: its session touches.
pub fn touches_payload(touches: &[(i64, i32)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(touches.len() * 12);
    for (id, to) in touches {
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&to.to_be_bytes());
    }
    b
}

/// A REQUEST's payload: `sessionId`, `cxid`, `type`, then the client's
/// request record as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedRequest {
    /// The client's session.
    pub session_id: i64,
    /// The client's request number.
    pub cxid: i32,
    /// The request's op code.
    pub op_type: i32,
    /// The request record, serialized.
    pub body: Vec<u8>,
}

impl ForwardedRequest {
    /// The payload as the REQUEST carries it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(16 + self.body.len());
        b.extend_from_slice(&self.session_id.to_be_bytes());
        b.extend_from_slice(&self.cxid.to_be_bytes());
        b.extend_from_slice(&self.op_type.to_be_bytes());
        b.extend_from_slice(&self.body);
        b
    }

    /// Reads a REQUEST payload.
    pub fn parse(data: &[u8]) -> io::Result<ForwardedRequest> {
        if data.len() < 16 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "REQUEST payload of {} bytes is shorter than its 16-byte header",
                    data.len()
                ),
            ));
        }
        Ok(ForwardedRequest {
            session_id: read_i64(data, 0),
            cxid: read_i32(data, 8),
            op_type: read_i32(data, 12),
            body: data[16..].to_vec(),
        })
    }
}

/// REVALIDATE from a learner: session id and timeout.
pub(crate) fn revalidate_request_payload(session_id: i64, timeout: i32) -> Vec<u8> {
    touches_payload(&[(session_id, timeout)])
}

/// REVALIDATE from the leader: session id and whether it is still valid.
pub(crate) fn revalidate_reply_payload(session_id: i64, valid: bool) -> Vec<u8> {
    let mut b = session_id.to_be_bytes().to_vec();
    b.push(valid as u8);
    b
}

/// Parses [`revalidate_request_payload`].
pub(crate) fn parse_revalidate_request(data: &[u8]) -> io::Result<(i64, i32)> {
    if data.len() < 12 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("REVALIDATE payload of {} bytes, expected 12", data.len()),
        ));
    }
    Ok((read_i64(data, 0), read_i32(data, 8)))
}

/// Parses [`revalidate_reply_payload`].
pub(crate) fn parse_revalidate_reply(data: &[u8]) -> io::Result<(i64, bool)> {
    if data.len() < 9 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("REVALIDATE reply of {} bytes, expected 9", data.len()),
        ));
    }
    Ok((read_i64(data, 0), data[8] != 0))
}

/// A peer's epoch and last zxid, compared during epoch negotiation
/// (`StateSummary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StateSummary {
    /// The epoch of the last NEWLEADER acked (`currentEpoch`).
    pub(crate) current_epoch: i64,
    /// The last zxid logged.
    pub(crate) last_zxid: i64,
}

impl StateSummary {
    /// A later epoch, or the same epoch with a later zxid.
    pub(crate) fn is_more_recent_than(&self, other: &StateSummary) -> bool {
        self.current_epoch > other.current_epoch
            || (self.current_epoch == other.current_epoch && self.last_zxid > other.last_zxid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn packet_types_are_the_wire_numbers() {
        use packet_type::*;
        let all = [
            (REQUEST, 1),
            (PROPOSAL, 2),
            (ACK, 3),
            (COMMIT, 4),
            (PING, 5),
            (REVALIDATE, 6),
            (SYNC, 7),
            (INFORM, 8),
            (COMMITANDACTIVATE, 9),
            (NEWLEADER, 10),
            (FOLLOWERINFO, 11),
            (UPTODATE, 12),
            (DIFF, 13),
            (TRUNC, 14),
            (SNAP, 15),
            (OBSERVERINFO, 16),
            (LEADERINFO, 17),
            (ACKEPOCH, 18),
            (INFORMANDACTIVATE, 19),
        ];
        for (t, n) in all {
            assert_eq!(t, n);
            assert_ne!(packet_type_name(t), "UNKNOWN");
        }
        assert_eq!(packet_type_name(20), "UNKNOWN");
    }

    #[test]
    fn leaderinfo_bytes_are_java_layout() {
        // type 17, zxid 0x300000000, data = int 0x10000, authinfo null.
        let p = QuorumPacket::new(
            packet_type::LEADERINFO,
            make_zxid(3, 0),
            Some(int_payload(PROTOCOL_VERSION)),
        );
        let b = p.to_bytes();
        assert_eq!(
            b,
            hex("00000011 0000000300000000 00000004 00010000 ffffffff")
        );
        assert_eq!(QuorumPacket::from_bytes(&b).unwrap(), p);
    }

    #[test]
    fn null_data_and_null_authinfo_are_minus_one() {
        let p = QuorumPacket::new(packet_type::UPTODATE, -1, None);
        assert_eq!(
            p.to_bytes(),
            hex("0000000c ffffffffffffffff ffffffff ffffffff")
        );
        let empty = QuorumPacket {
            data: Some(Vec::new()),
            authinfo: AuthInfo(Some(Vec::new())),
            ..p.clone()
        };
        assert_eq!(
            empty.to_bytes(),
            hex("0000000c ffffffffffffffff 00000000 00000000")
        );
        assert_eq!(QuorumPacket::from_bytes(&p.to_bytes()).unwrap(), p);
        assert_eq!(QuorumPacket::from_bytes(&empty.to_bytes()).unwrap(), empty);
    }

    #[test]
    fn request_with_authinfo_is_java_layout() {
        let req = ForwardedRequest {
            session_id: 0x1000_0000_0000_0001,
            cxid: 7,
            op_type: 1,
            body: vec![0xab],
        };
        let p = QuorumPacket {
            packet_type: packet_type::REQUEST,
            zxid: -1,
            data: Some(req.to_bytes()),
            authinfo: AuthInfo(Some(vec![Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into(),
            }])),
        };
        let mut want = hex("00000001 ffffffffffffffff 00000011");
        want.extend(hex("1000000000000001 00000007 00000001 ab"));
        want.extend(hex("00000001 00000002"));
        want.extend(b"ip");
        want.extend(hex("00000009"));
        want.extend(b"127.0.0.1");
        assert_eq!(p.to_bytes(), want);
        let back = QuorumPacket::from_bytes(&want).unwrap();
        assert_eq!(back, p);
        assert_eq!(ForwardedRequest::parse(back.data()).unwrap(), req);
    }

    #[test]
    fn learner_info_is_20_bytes_and_read_leniently() {
        let li = LearnerInfo {
            serverid: 2,
            protocol_version: PROTOCOL_VERSION,
            config_version: 0x1_0000_0000,
        };
        let b = li.to_bytes();
        assert_eq!(b, hex("0000000000000002 00010000 0000000100000000"));
        let f = parse_learner_info(&b);
        assert_eq!(f.sid, Some(2));
        assert_eq!(f.protocol_version, Some(PROTOCOL_VERSION));
        assert_eq!(f.config_version, Some(0x1_0000_0000));
        // A 3.3-era learner sends its sid alone.
        let old = parse_learner_info(&b[..8]);
        assert_eq!((old.sid, old.protocol_version), (Some(2), None));
        assert_eq!(parse_learner_info(&[]).sid, None);
    }

    #[test]
    fn touches_round_trip_and_reject_stray_bytes() {
        let t = vec![(0x100, 4000), (-5, 30000)];
        let b = touches_payload(&t);
        assert_eq!(b.len(), 24);
        assert_eq!(parse_touches(&b).unwrap(), t);
        let err = parse_touches(&b[..13]).unwrap_err();
        assert!(err.to_string().contains("offset 12"), "{err}");
        assert_eq!(
            parse_revalidate_reply(&revalidate_reply_payload(9, true)).unwrap(),
            (9, true)
        );
        assert_eq!(
            parse_revalidate_request(&revalidate_request_payload(9, 4000)).unwrap(),
            (9, 4000)
        );
    }

    #[test]
    fn truncated_packet_is_an_error_not_a_panic() {
        let b = QuorumPacket::new(packet_type::PING, 5, Some(vec![1, 2, 3])).to_bytes();
        for cut in 0..b.len() {
            let mut ia = input_archive(&b[..cut], DEFAULT_MAX_BUFFER);
            assert!(read_packet(&mut ia, "test").is_err());
        }
        // A huge data length is refused before allocating.
        let mut bad = hex("00000005 0000000000000005 7fffffff");
        bad.extend([0; 8]);
        let mut ia = input_archive(&bad[..], DEFAULT_MAX_BUFFER);
        let err = read_packet(&mut ia, "peer 3").unwrap_err();
        assert!(err.to_string().contains("peer 3"), "{err}");
    }

    #[test]
    fn zxid_parts() {
        assert_eq!(make_zxid(2, 5), 0x2_0000_0005);
        assert_eq!(epoch_of_zxid(0x2_0000_0005), 2);
        assert_eq!(counter_of_zxid(0x2_0000_0005), 5);
        let a = StateSummary {
            current_epoch: 2,
            last_zxid: 5,
        };
        let b = StateSummary {
            current_epoch: 2,
            last_zxid: 6,
        };
        assert!(b.is_more_recent_than(&a));
        assert!(!a.is_more_recent_than(&a));
    }
}
