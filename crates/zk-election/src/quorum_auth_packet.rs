//! `QuorumAuthPacket` (zookeeper.jute): one step of quorum SASL, on the
//! election and quorum (Zab) connections before their own traffic.
//!
//! ```text
//! long   magic    QuorumAuth::QUORUM_AUTH_MAGIC_NUMBER (0x5f2435013501edcc)
//! int    status   IN_PROGRESS 0, SUCCESS 1, ERROR -1
//! buffer token    int length (-1: null), then the bytes
//! ```
//!
//! Big-endian, as jute's `BinaryOutputArchive` writes it, with no frame
//! around it: the reader knows the record's shape. 3.8 writes the magic
//! as `-0xa0dbcafecafe1234L`, meaning it to be negative; the hex literal
//! is already negative in Java, so the value is positive. What matters is
//! only that no other first long matches it: on the quorum port a
//! packet's type (a small int) and the top half of its zxid, on the
//! election port a frame's length and the first four bytes of a
//! notification.

use std::io::{self, Read, Write};

use crate::quorum_auth::{QuorumAuth, Status};

/// The longest token accepted: jute's default `jute.maxbuffer` (0xfffff)
/// plus its 1024 bytes of slack, which 3.8's `BinaryInputArchive`
/// enforces on every buffer. SASL tokens are a few hundred bytes
/// (DIGEST-MD5) to a few kilobytes (a Kerberos ticket).
pub const MAX_TOKEN_LENGTH: usize = 0xfffff + 1024;

/// One packet of the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumAuthPacket {
    /// Always [`QuorumAuth::QUORUM_AUTH_MAGIC_NUMBER`] when written here.
    pub magic: i64,
    /// The sender's view of the exchange: a raw value, so that an unknown
    /// one can be reported; see [`QuorumAuthPacket::status`].
    pub status: i32,
    /// The SASL token; `None` is jute's null buffer (length -1).
    pub token: Option<Vec<u8>>,
}

impl QuorumAuthPacket {
    /// `QuorumAuth.createPacket`: the magic, `status` and `token`.
    pub fn new(status: Status, token: Option<Vec<u8>>) -> QuorumAuthPacket {
        QuorumAuthPacket {
            magic: QuorumAuth::QUORUM_AUTH_MAGIC_NUMBER,
            status: status.status(),
            token,
        }
    }

    /// The status; `None` for a value 3.8 does not define.
    pub fn status(&self) -> Option<Status> {
        Status::from_status(self.status)
    }

    /// The token, a null one read as empty (3.8's mechanisms take either).
    pub fn token_bytes(&self) -> &[u8] {
        self.token.as_deref().unwrap_or(&[])
    }

    /// The packet's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let token = self.token_bytes();
        let mut out = Vec::with_capacity(16 + token.len());
        out.extend_from_slice(&self.magic.to_be_bytes());
        out.extend_from_slice(&self.status.to_be_bytes());
        match &self.token {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(t) => {
                out.extend_from_slice(&(t.len() as i32).to_be_bytes());
                out.extend_from_slice(t);
            }
        }
        out
    }

    /// Writes the packet and flushes it (3.8 flushes every packet).
    pub fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(&self.encode())?;
        w.flush()
    }

    /// Reads one packet. A wrong magic, or a token length below -1 or
    /// above [`MAX_TOKEN_LENGTH`], is `InvalidData` naming the value; the
    /// token is read only once its length is known to be sane, so a
    /// hostile length allocates nothing.
    pub fn read_from(r: &mut dyn Read) -> io::Result<QuorumAuthPacket> {
        let mut head = [0u8; 16];
        r.read_exact(&mut head)?;
        let magic = i64::from_be_bytes(head[0..8].try_into().expect("8 bytes"));
        let status = i32::from_be_bytes(head[8..12].try_into().expect("4 bytes"));
        let len = i32::from_be_bytes(head[12..16].try_into().expect("4 bytes"));
        if magic != QuorumAuth::QUORUM_AUTH_MAGIC_NUMBER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a quorum auth packet: magic 0x{magic:016x}"),
            ));
        }
        let token = match len {
            -1 => None,
            n if n < 0 || n as usize > MAX_TOKEN_LENGTH => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "quorum auth packet with token length {n} (at most {MAX_TOKEN_LENGTH})"
                    ),
                ))
            }
            n => {
                let mut t = vec![0u8; n as usize];
                r.read_exact(&mut t)?;
                Some(t)
            }
        };
        Ok(QuorumAuthPacket {
            magic,
            status,
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_each_status_and_null_token() {
        for (status, token) in [
            (Status::InProgress, Some(b"realm=\"x\"".to_vec())),
            (Status::Success, Some(Vec::new())),
            (Status::Error, None),
        ] {
            let p = QuorumAuthPacket::new(status, token);
            let bytes = p.encode();
            let back = QuorumAuthPacket::read_from(&mut bytes.as_slice()).unwrap();
            assert_eq!(back, p);
            assert_eq!(back.status(), Some(status));
        }
    }

    #[test]
    fn layout_is_jutes() {
        let bytes = QuorumAuthPacket::new(Status::Success, Some(vec![7, 8])).encode();
        // Java's -0xa0dbcafecafe1234L.
        assert_eq!(
            &bytes[..8],
            &[0x5f, 0x24, 0x35, 0x01, 0x35, 0x01, 0xed, 0xcc]
        );
        assert_eq!(&bytes[8..], &[0, 0, 0, 1, 0, 0, 0, 2, 7, 8]);
        let null = QuorumAuthPacket::new(Status::Error, None).encode();
        assert_eq!(
            &null[8..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn refuses_bad_magic_and_lengths_without_allocating() {
        let mut bad_magic = QuorumAuthPacket::new(Status::InProgress, None).encode();
        bad_magic[0] = 0;
        let e = QuorumAuthPacket::read_from(&mut bad_magic.as_slice()).unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
        for len in [-2i32, i32::MAX, (MAX_TOKEN_LENGTH + 1) as i32] {
            let mut b = QuorumAuthPacket::new(Status::InProgress, None).encode();
            b.truncate(12);
            b.extend_from_slice(&len.to_be_bytes());
            let e = QuorumAuthPacket::read_from(&mut b.as_slice()).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{len}");
            assert!(e.to_string().contains(&len.to_string()), "{e}");
        }
        // A length promising more than arrives is a short read.
        let mut short = QuorumAuthPacket::new(Status::InProgress, Some(vec![1; 10])).encode();
        short.truncate(20);
        let e = QuorumAuthPacket::read_from(&mut short.as_slice()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn unknown_status_is_none() {
        let mut p = QuorumAuthPacket::new(Status::Success, None);
        p.status = 7;
        assert_eq!(p.status(), None);
    }
}
