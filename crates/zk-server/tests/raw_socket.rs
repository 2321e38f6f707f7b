//! The selector against hand-written bytes: four-letter words, the
//! whitelist, and frames that must close only their own connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use zk_config::{Properties, QuorumPeerConfig, ServerConfig};
use zk_server::ZooKeeperServerMain;

fn start(dir: &Path) -> ZooKeeperServerMain {
    let text = format!("tickTime=200\ndataDir={}\n", dir.display());
    let qpc = QuorumPeerConfig::from_properties(&Properties::parse(&text).unwrap()).unwrap();
    let mut cfg = ServerConfig::from(&qpc);
    cfg.system_properties
        .set("zookeeper.admin.enableServer", "false");
    cfg.client_port_address = Some("127.0.0.1:0".parse().unwrap());
    ZooKeeperServerMain::run(&cfg).unwrap()
}

/// Sends `bytes` and reads until the server closes the connection.
fn exchange(server: &ZooKeeperServerMain, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(server.client_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("server should close the connection");
    out
}

#[test]
fn four_letter_words_bad_lengths_and_the_whitelist() {
    let dir = std::env::temp_dir().join(format!("zk-server-raw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(&dir);

    let srvr = String::from_utf8(exchange(&server, b"srvr")).unwrap();
    assert!(srvr.contains("Zookeeper version:"), "{}", srvr);
    assert!(srvr.contains("Mode: standalone"), "{}", srvr);

    let ruok = String::from_utf8(exchange(&server, b"ruok")).unwrap();
    assert_eq!(
        ruok,
        "ruok is not executed because it is not in the whitelist.\n"
    );

    // Negative and oversized lengths close the connection without a reply.
    assert!(exchange(&server, &(-5i32).to_be_bytes()).is_empty());
    assert!(exchange(&server, &(0x7fff_0000i32).to_be_bytes()).is_empty());

    // A connect request with a bad password gets a zeroed response and a
    // close; the server keeps serving.
    let mut req = Vec::new();
    req.extend_from_slice(&0i32.to_be_bytes()); // protocolVersion
    req.extend_from_slice(&0i64.to_be_bytes()); // lastZxidSeen
    req.extend_from_slice(&30000i32.to_be_bytes());
    req.extend_from_slice(&0x1234i64.to_be_bytes()); // sessionId
    req.extend_from_slice(&16i32.to_be_bytes());
    req.extend_from_slice(&[0u8; 16]);
    req.push(0); // readOnly
    let mut framed = (req.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&req);
    let rsp = exchange(&server, &framed);
    assert_eq!(rsp.len(), 4 + 36 + 1, "{:?}", rsp);
    // protocolVersion, timeOut and sessionId all 0; a 16-byte zero
    // password; readOnly false.
    assert!(rsp[4..20].iter().all(|&b| b == 0), "{:?}", rsp);
    assert_eq!(&rsp[20..24], &16i32.to_be_bytes());
    assert!(rsp[24..].iter().all(|&b| b == 0), "{:?}", rsp);

    assert!(String::from_utf8(exchange(&server, b"srvr"))
        .unwrap()
        .contains("Zxid:"));
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
