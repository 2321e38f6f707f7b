//! Unit tests of `tls_capture.rs`: the record walk and reassembly on
//! made-up bytes, and a real loopback capture when dumpcap may run.

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use super::*;
use crate::ports::TempDir;

/// A TLS-looking record: type, version 3.3, length, body.
fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// The start of a ZooKeeper ConnectRequest frame: a 4-byte length, then
/// protocolVersion 0.
const ZK_CONNECT: &[u8] = &[0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn walk_accepts_records_and_finds_plaintext() {
    let mut bytes = record(22, &[1; 300]);
    bytes.extend(record(23, &[]));
    bytes.extend(record(23, &[7; 40]));
    assert_eq!(walk_tls_records(&bytes), Ok(()));
    // Cut off mid-record or mid-header by the end of the capture: fine.
    assert_eq!(walk_tls_records(&bytes[..bytes.len() - 3]), Ok(()));
    assert_eq!(walk_tls_records(&bytes[..302]), Ok(()));
    let good = bytes.len();
    bytes.extend_from_slice(ZK_CONNECT);
    assert_eq!(walk_tls_records(&bytes), Err(good));
    assert_eq!(walk_tls_records(b"srvr"), Err(0));
    // A length no TLS record can have.
    assert_eq!(walk_tls_records(&[23, 3, 3, 0xff, 0xff]), Err(0));
}

#[test]
fn reassembly_drops_retransmits_and_survives_wrap() {
    let mut d = Direction::new();
    d.insert(u32::MAX - 1, b"ab".to_vec());
    d.insert(0, b"cd".to_vec());
    // A retransmission overlapping what came before.
    d.insert(1, b"de".to_vec());
    d.insert(3, b"f".to_vec());
    assert_eq!(in_order(&d), b"abcdef");
    // A gap ends the stream there.
    d.insert(10, b"zz".to_vec());
    assert_eq!(in_order(&d), b"abcdef");
    assert_eq!(hex_bytes("16:03:01"), Some(vec![0x16, 3, 1]));
    assert_eq!(hex_bytes("1603"), Some(vec![0x16, 3]));
    assert_eq!(hex_bytes("163"), None);
}

#[test]
fn capture_tells_tls_from_plaintext() {
    if let Err(why) = capture_available() {
        println!("SKIPPED: {why}");
        return;
    }
    let dir = TempDir::new("zk-tls-capture").unwrap();
    // Ports are known only after binding: capture a range by binding first.
    let tls_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tls_port = tls_listener.local_addr().unwrap().port();
    let plain_port = plain_listener.local_addr().unwrap().port();
    let capture = match Capture::start(&dir.join("lo.pcap"), &[tls_port, plain_port]) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            println!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    for (listener, port) in [(tls_listener, tls_port), (plain_listener, plain_port)] {
        let reader = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let _ = std::io::copy(&mut conn, &mut std::io::sink());
        });
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.set_nodelay(true).unwrap();
        let big = record(23, &[9; 3000]);
        // A record split over writes, then more records: all TLS.
        c.write_all(&record(22, &[1; 200])).unwrap();
        c.write_all(&big[..1000]).unwrap();
        c.write_all(&big[1000..]).unwrap();
        if port == plain_port {
            c.write_all(ZK_CONNECT).unwrap();
        }
        drop(c);
        reader.join().unwrap();
    }
    let pcap = capture.stop().unwrap();
    assert_eq!(non_tls_payloads(&pcap, &[tls_port]).unwrap(), vec![]);
    let found = non_tls_payloads(&pcap, &[tls_port, plain_port]).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].to.ends_with(&format!(":{plain_port}")),
        "{}",
        found[0]
    );
    assert_eq!(found[0].offset, 205 + 3005, "{}", found[0]);
    assert!(found[0].head.starts_with("0000002c"), "{}", found[0]);
}
