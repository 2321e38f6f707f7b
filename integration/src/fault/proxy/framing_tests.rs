//! The framer against bytes written by zk-quorum's own `QuorumPacket`
//! serializer and zk-persistence's snapshot writer (the two calls of
//! `ZKDatabase::serialize_snapshot`), the way a leader writes them.

use super::*;

use zk_persistence::data_tree::DataTree;
use zk_persistence::file_snap::{serialize_sessions, SessionMap};
use zk_persistence::jute::{OutputArchive, Record};
use zk_persistence::records::{Acl, Id};
use zk_persistence::zoo_defs::ids;
use zk_quorum::quorum_packet::{packet_type as zq, AuthInfo, QuorumPacket};

fn packet_bytes(qp: &QuorumPacket) -> Vec<u8> {
    let mut oa = OutputArchive::new(Vec::new());
    qp.serialize(&mut oa).unwrap();
    oa.into_inner()
}

fn packet(t: i32, zxid: i64, data: Option<&[u8]>) -> Vec<u8> {
    packet_bytes(&QuorumPacket::new(t, zxid, data.map(<[u8]>::to_vec)))
}

/// A database as a leader streams it after SNAP: sessions, ACL map and
/// nodes (several ACL lists, null and empty data), then the signature.
fn snapshot_bytes() -> Vec<u8> {
    let mut t = DataTree::new();
    let mut changes = Vec::new();
    let digest_acl = vec![Acl {
        perms: 31,
        id: Id {
            scheme: "digest".into(),
            id: "u:hash".into(),
        },
    }];
    type Node<'a> = (&'a str, Option<&'a [u8]>, &'a [Acl]);
    let nodes: [Node; 5] = [
        ("/a", Some(b"x"), &ids::open_acl_unsafe()),
        ("/a/b", None, &digest_acl),
        ("/a/b/c", Some(b""), &ids::open_acl_unsafe()),
        // Data that looks like a NEWLEADER frame must not confuse anyone.
        ("/n", Some(&packet(zq::NEWLEADER, 7, None)), &digest_acl),
        ("/big", Some(&[7u8; 70_000]), &ids::open_acl_unsafe()),
    ];
    for (i, (path, data, acl)) in nodes.into_iter().enumerate() {
        let z = i as i64 + 1;
        t.create_node(path, data, acl, 0, -1, z, z, &mut changes)
            .unwrap();
    }
    let sessions = SessionMap::from([(0x100, 4000), (0x200, 6000), (0x300, 30000)]);
    let mut oa = OutputArchive::new(Vec::new());
    serialize_sessions(&sessions, &mut oa).unwrap();
    t.serialize(&mut oa).unwrap();
    oa.write_string("BenWasHere").unwrap();
    oa.into_inner()
}

/// Frames `stream` fed in pieces of `chunk` bytes, as the proxy's reader
/// does (keeping what is not yet a whole unit).
fn frame(stream: &[u8], chunk: usize, snapshots: bool) -> (Vec<Unit>, Framer) {
    let mut f = Framer::new(snapshots);
    let mut units = Vec::new();
    let mut buf = Vec::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        let mut at = 0;
        while let Some(u) = f.next(&buf[at..]) {
            assert!(!u.is_empty(), "{u:?}");
            at += u.len();
            units.push(u);
        }
        buf.drain(..at);
    }
    assert!(buf.is_empty(), "{} bytes left unframed", buf.len());
    (units, f)
}

fn packets(units: &[Unit]) -> Vec<(i32, i64)> {
    units
        .iter()
        .filter_map(|u| match *u {
            Unit::Packet {
                packet_type, zxid, ..
            } => Some((packet_type, zxid)),
            Unit::Opaque { .. } => None,
        })
        .collect()
}

#[test]
fn a_diff_sync_frames_packet_by_packet_in_any_pieces() {
    let with_auth = QuorumPacket {
        packet_type: zq::REQUEST,
        zxid: 0,
        data: Some(vec![1, 2, 3]),
        authinfo: AuthInfo(Some(vec![
            Id {
                scheme: "digest".into(),
                id: "user:secret".into(),
            },
            Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into(),
            },
        ])),
    };
    let empty_auth = QuorumPacket {
        authinfo: AuthInfo(Some(Vec::new())),
        ..QuorumPacket::new(zq::PING, 5, Some(vec![0; 16]))
    };
    let sent = [
        packet(zq::LEADERINFO, 0x2_0000_0000, Some(&[0, 1, 0, 0])),
        packet(zq::DIFF, 0x1_0000_0003, None),
        packet(zq::PROPOSAL, 0x1_0000_0004, Some(&[9; 300])),
        packet(zq::COMMIT, 0x1_0000_0004, None),
        packet(zq::NEWLEADER, 0x2_0000_0000, Some(b"server.1=...")),
        packet(zq::UPTODATE, -1, None),
        packet_bytes(&with_auth),
        packet_bytes(&empty_auth),
    ];
    let stream = sent.concat();
    for chunk in [1, 3, 7, 64, stream.len()] {
        let (units, f) = frame(&stream, chunk, true);
        assert!(f.lost().is_none(), "{:?}", f.lost());
        let lens: Vec<usize> = units.iter().map(Unit::len).collect();
        let want: Vec<usize> = sent.iter().map(Vec::len).collect();
        assert_eq!(lens, want, "chunk {chunk}");
        assert_eq!(
            packets(&units),
            vec![
                (zq::LEADERINFO, 0x2_0000_0000),
                (zq::DIFF, 0x1_0000_0003),
                (zq::PROPOSAL, 0x1_0000_0004),
                (zq::COMMIT, 0x1_0000_0004),
                (zq::NEWLEADER, 0x2_0000_0000),
                (zq::UPTODATE, -1),
                (zq::REQUEST, 0),
                (zq::PING, 5),
            ]
        );
    }
}

#[test]
fn a_snapshot_after_snap_is_opaque_and_packets_resume_after_it() {
    let snapshot = snapshot_bytes();
    let before = packet(zq::LEADERINFO, 0x3_0000_0000, Some(&[0, 1, 0, 0]));
    let snap = packet(zq::SNAP, 0x2_0000_0005, None);
    let after = [
        packet(zq::PROPOSAL, 0x2_0000_0006, Some(&[1; 40])),
        packet(zq::COMMIT, 0x2_0000_0006, None),
        packet(zq::NEWLEADER, 0x3_0000_0000, Some(b"cfg")),
        packet(zq::UPTODATE, -1, None),
    ];
    let stream = [
        before.clone(),
        snap.clone(),
        snapshot.clone(),
        after.concat(),
    ]
    .concat();
    for chunk in [1, 5, 13, 4096, stream.len()] {
        let (units, f) = frame(&stream, chunk, true);
        assert!(f.lost().is_none(), "chunk {chunk}: {:?}", f.lost());
        assert!(!f.in_snapshot());
        assert_eq!(
            packets(&units),
            vec![
                (zq::LEADERINFO, 0x3_0000_0000),
                (zq::SNAP, 0x2_0000_0005),
                (zq::PROPOSAL, 0x2_0000_0006),
                (zq::COMMIT, 0x2_0000_0006),
                (zq::NEWLEADER, 0x3_0000_0000),
                (zq::UPTODATE, -1),
            ],
            "chunk {chunk}"
        );
        // Every opaque byte is the snapshot's, and all of it.
        let opaque: usize = units
            .iter()
            .filter(|u| matches!(u, Unit::Opaque { .. }))
            .map(Unit::len)
            .sum();
        assert_eq!(opaque, snapshot.len(), "chunk {chunk}");
        let snap_at = units
            .iter()
            .position(|u| matches!(u, Unit::Packet { packet_type, .. } if *packet_type == zq::SNAP))
            .unwrap();
        assert!(matches!(units[snap_at + 1], Unit::Opaque { .. }));
    }
}

#[test]
fn an_empty_database_still_frames() {
    let mut oa = OutputArchive::new(Vec::new());
    serialize_sessions(&SessionMap::new(), &mut oa).unwrap();
    DataTree::new().serialize(&mut oa).unwrap();
    oa.write_string("BenWasHere").unwrap();
    let stream = [
        packet(zq::SNAP, 0, None),
        oa.into_inner(),
        packet(zq::NEWLEADER, 0x1_0000_0000, None),
    ]
    .concat();
    let (units, f) = frame(&stream, 2, true);
    assert!(f.lost().is_none(), "{:?}", f.lost());
    assert_eq!(
        packets(&units),
        vec![(zq::SNAP, 0), (zq::NEWLEADER, 0x1_0000_0000)]
    );
}

#[test]
fn learner_to_leader_frames_have_no_snapshot() {
    // Only the leader writes a snapshot after SNAP; the other direction's
    // framer reads packets right after one (never sent, but the flag
    // must hold).
    let stream = [packet(zq::SNAP, 1, None), packet(zq::ACK, 2, None)].concat();
    let (units, f) = frame(&stream, 4, false);
    assert!(f.lost().is_none());
    assert_eq!(packets(&units), vec![(zq::SNAP, 1), (zq::ACK, 2)]);
}

#[test]
fn a_wrong_signature_loses_the_framing_but_no_bytes() {
    let mut snapshot = snapshot_bytes();
    let n = snapshot.len();
    snapshot[n - 1] = b'X';
    let stream = [
        packet(zq::SNAP, 1, None),
        snapshot,
        packet(zq::NEWLEADER, 2, None),
    ]
    .concat();
    let (units, f) = frame(&stream, 100, true);
    assert!(f.lost().unwrap().contains("signature"), "{:?}", f.lost());
    assert_eq!(packets(&units), vec![(zq::SNAP, 1)]);
    assert_eq!(units.iter().map(Unit::len).sum::<usize>(), stream.len());
}

#[test]
fn an_unknown_type_or_a_bad_length_loses_the_framing() {
    let mut bad_len = packet(zq::PROPOSAL, 1, Some(b"abc"));
    bad_len[12..16].copy_from_slice(&(-2i32).to_be_bytes());
    for (what, bytes) in [
        ("packet type 99", packet(99, 1, None)),
        ("data length -2", bad_len),
    ] {
        let stream = [packet(zq::PING, 0, None), bytes, packet(zq::ACK, 2, None)].concat();
        let (units, f) = frame(&stream, 3, true);
        assert!(f.lost().unwrap().contains(what), "{:?}", f.lost());
        assert_eq!(packets(&units), vec![(zq::PING, 0)]);
        assert_eq!(units.iter().map(Unit::len).sum::<usize>(), stream.len());
    }
}
