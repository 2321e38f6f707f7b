//! Byte-for-byte checks against Apache ZooKeeper 3.8's own classes (from
//! Debian's packages): the packets both sides of Zab build, and the SNAP
//! stream, which a 3.8 learner must be able to read from our leader.
//! Skipped, with a line saying so, when Java or the jars are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::jute::{OutputArchive, Record};
use zk_persistence::records::{CreateTxn, Id, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::ids;
use zk_quorum::quorum_packet::{
    int_payload, make_zxid, packet_type, touches_payload, AuthInfo, ForwardedRequest, LearnerInfo,
    QuorumPacket, PROTOCOL_VERSION, SNAP_SIGNATURE,
};

const JARS: [&str; 2] = [
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/zookeeper-jute.jar",
];

/// The Java side: prints the hex of each packet as 3.8's Leader and
/// Learner build it, then reads the SNAP stream in the file given as its
/// argument the way `Learner.syncWithLeader` does and prints what it holds.
const JAVA: &str = r#"
import java.io.*;
import java.nio.ByteBuffer;
import java.util.*;
import org.apache.jute.*;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.util.SerializeUtils;
import org.apache.zookeeper.server.quorum.*;

public class ZabWire {
    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.toString();
    }
    static byte[] ser(org.apache.jute.Record r) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        BinaryOutputArchive.getArchive(bos).writeRecord(r, "packet");
        return bos.toByteArray();
    }
    public static void main(String[] args) throws Exception {
        byte[] ver = new byte[4];
        ByteBuffer.wrap(ver).putInt(0x10000);
        System.out.println("leaderinfo " + hex(ser(new QuorumPacket(17, 0x300000000L, ver, null))));
        LearnerInfo li = new LearnerInfo(2, 0x10000, 0L);
        ByteArrayOutputStream bsid = new ByteArrayOutputStream();
        BinaryOutputArchive.getArchive(bsid).writeRecord(li, "LearnerInfo");
        System.out.println("followerinfo " + hex(ser(new QuorumPacket(11, 0x200000000L, bsid.toByteArray(), null))));
        byte[] epoch = new byte[4];
        ByteBuffer.wrap(epoch).putInt(2);
        System.out.println("ackepoch " + hex(ser(new QuorumPacket(18, 0x200000007L, epoch, null))));
        System.out.println("newleader " + hex(ser(new QuorumPacket(10, 0x300000000L, "server.1=a\nversion=0".getBytes("UTF-8"), null))));
        System.out.println("uptodate " + hex(ser(new QuorumPacket(12, -1, null, null))));
        System.out.println("diff " + hex(ser(new QuorumPacket(13, 0x200000007L, null, null))));
        ByteArrayOutputStream touches = new ByteArrayOutputStream();
        DataOutputStream dos = new DataOutputStream(touches);
        dos.writeLong(0x1000000000001L); dos.writeInt(4000);
        dos.writeLong(-7L); dos.writeInt(30000);
        System.out.println("ping " + hex(ser(new QuorumPacket(5, 0x300000004L, touches.toByteArray(), null))));
        ByteArrayOutputStream req = new ByteArrayOutputStream();
        DataOutputStream ro = new DataOutputStream(req);
        ro.writeLong(0x1000000000001L); ro.writeInt(9); ro.writeInt(1); ro.write(new byte[]{1, 2, 3});
        List<Id> auth = new ArrayList<>();
        auth.add(new Id("ip", "127.0.0.1"));
        System.out.println("request " + hex(ser(new QuorumPacket(1, -1, req.toByteArray(), auth))));

        // The SNAP stream: sessions, tree, signature.
        BinaryInputArchive ia = BinaryInputArchive.getArchive(
            new BufferedInputStream(new FileInputStream(args[0])));
        QuorumPacket snap = new QuorumPacket();
        ia.readRecord(snap, "packet");
        DataTree dt = new DataTree();
        Map<Long, Integer> sessions = new HashMap<>();
        SerializeUtils.deserializeSnapshot(dt, ia, sessions);
        String sig = ia.readString("signature");
        QuorumPacket next = new QuorumPacket();
        ia.readRecord(next, "packet");
        System.out.println("snap type=" + snap.getType() + " zxid=" + Long.toHexString(snap.getZxid())
            + " sessions=" + new TreeMap<>(sessions)
            + " nodes=" + dt.getNodeCount()
            + " n1=" + new String(dt.getNode("/n1").getData(), "UTF-8")
            + " sig=" + sig + " next=" + next.getType());
    }
}
"#;

fn java_available() -> Option<String> {
    if JARS.iter().any(|j| !Path::new(j).exists()) {
        return None;
    }
    Command::new("java").arg("-version").output().ok()?;
    let mut cp = JARS.join(":");
    for extra in ["slf4j-api", "slf4j-nop", "slf4j-simple"] {
        let p = format!("/usr/share/java/{extra}.jar");
        if Path::new(&p).exists() {
            cp.push(':');
            cp.push_str(&p);
        }
    }
    Some(cp)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zk-quorum-java-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SNAP stream our leader writes for a small database, followed by the
/// NEWLEADER that comes next on the wire.
fn our_snap_stream(dir: &Path) -> Vec<u8> {
    let log = FileTxnSnapLog::open(dir, dir).unwrap();
    let mut db: ZKDatabase = ZKDatabase::new(log);
    db.load_database().unwrap();
    for (i, path) in ["/n1", "/n2", "/n2/c"].iter().enumerate() {
        let zxid = make_zxid(1, i as i64 + 1);
        let hdr = TxnHeader {
            client_id: 0x1000000000001,
            cxid: i as i32,
            zxid,
            time: 1_700_000_000_000,
            txn_type: 1,
        };
        let txn = Txn::Create(CreateTxn {
            path: path.to_string(),
            data: Some(format!("data of {path}").into_bytes()),
            acl: ids::open_acl_unsafe(),
            ephemeral: false,
            parent_c_version: -1,
        });
        db.data_tree_mut().process_txn(&hdr, &txn);
        db.set_last_processed_zxid(zxid);
    }
    db.sessions_with_timeouts_mut()
        .insert(0x1000000000001, 30000);
    let mut oa = OutputArchive::new(Vec::new());
    QuorumPacket::new(packet_type::SNAP, db.data_tree_last_processed_zxid(), None)
        .serialize(&mut oa)
        .unwrap();
    db.serialize_snapshot(&mut oa).unwrap();
    oa.write_string(SNAP_SIGNATURE).unwrap();
    QuorumPacket::new(packet_type::NEWLEADER, make_zxid(2, 0), Some(b"x".to_vec()))
        .serialize(&mut oa)
        .unwrap();
    oa.into_inner()
}

/// The packets we build, named as ZabWire.java prints 3.8's.
fn our_packets() -> Vec<(&'static str, QuorumPacket)> {
    let li = LearnerInfo {
        serverid: 2,
        protocol_version: PROTOCOL_VERSION,
        config_version: 0,
    };
    vec![
        (
            "leaderinfo",
            QuorumPacket::new(
                packet_type::LEADERINFO,
                make_zxid(3, 0),
                Some(int_payload(PROTOCOL_VERSION)),
            ),
        ),
        (
            "followerinfo",
            QuorumPacket::new(
                packet_type::FOLLOWERINFO,
                make_zxid(2, 0),
                Some(li.to_bytes()),
            ),
        ),
        (
            "ackepoch",
            QuorumPacket::new(packet_type::ACKEPOCH, make_zxid(2, 7), Some(int_payload(2))),
        ),
        (
            "newleader",
            QuorumPacket::new(
                packet_type::NEWLEADER,
                make_zxid(3, 0),
                Some(b"server.1=a\nversion=0".to_vec()),
            ),
        ),
        (
            "uptodate",
            QuorumPacket::new(packet_type::UPTODATE, -1, None),
        ),
        (
            "diff",
            QuorumPacket::new(packet_type::DIFF, make_zxid(2, 7), None),
        ),
        (
            "ping",
            QuorumPacket::new(
                packet_type::PING,
                make_zxid(3, 4),
                Some(touches_payload(&[(0x1000000000001, 4000), (-7, 30000)])),
            ),
        ),
        (
            "request",
            QuorumPacket {
                packet_type: packet_type::REQUEST,
                zxid: -1,
                data: Some(
                    ForwardedRequest {
                        session_id: 0x1000000000001,
                        cxid: 9,
                        op_type: 1,
                        body: vec![1, 2, 3],
                    }
                    .to_bytes(),
                ),
                authinfo: AuthInfo(Some(vec![Id {
                    scheme: "ip".into(),
                    id: "127.0.0.1".into(),
                }])),
            },
        ),
    ]
}

#[test]
fn packets_and_snap_stream_match_apache_zookeeper_3_8() {
    let Some(cp) = java_available() else {
        println!("skipped: java or /usr/share/java/zookeeper{{,-jute}}.jar not found");
        return;
    };
    let dir = scratch("wire");
    std::fs::write(dir.join("ZabWire.java"), JAVA).unwrap();
    let snap_file = dir.join("snap.bin");
    std::fs::write(&snap_file, our_snap_stream(&dir.join("data"))).unwrap();
    let out = Command::new("java")
        .arg("-cp")
        .arg(&cp)
        .arg(dir.join("ZabWire.java"))
        .arg(&snap_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "java failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let java: std::collections::HashMap<&str, &str> =
        stdout.lines().filter_map(|l| l.split_once(' ')).collect();

    for (name, packet) in our_packets() {
        assert_eq!(
            java.get(name).copied(),
            Some(hex(&packet.to_bytes()).as_str()),
            "{name}"
        );
    }
    let snap = java.get("snap").copied().unwrap_or_default();
    assert!(snap.contains("type=15 zxid=100000003"), "{snap}");
    assert!(snap.contains("sessions={281474976710657=30000}"), "{snap}");
    // Java counts the root twice ("" and "/"), then /zookeeper,
    // /zookeeper/quota, /zookeeper/config and our three.
    assert!(snap.contains("nodes=8"), "{snap}");
    assert!(snap.contains("n1=data of /n1"), "{snap}");
    assert!(snap.contains("sig=BenWasHere next=10"), "{snap}");
    let _ = std::fs::remove_dir_all(&dir);
}
