//! TLS on the quorum (`sslQuorum`), zk-bin and Apache ZooKeeper 3.8 in one
//! ensemble, on loopback.
//!
//! - 3-node ensembles with `sslQuorum=true`: all zk-bin, 2 Apache + 1
//!   zk-bin, 1 Apache + 2 zk-bin. They elect, replicate (a write through
//!   every node reads back on every node) and fail over (the leader is
//!   killed, another is elected, writes go on, the old leader rejoins).
//! - The rolling move of a running mixed ensemble from plaintext to TLS,
//!   3.8's way: every node restarted with `portUnification=true`, then
//!   with `sslQuorum=true` too, then without `portUnification`, while a
//!   writer keeps writing: no acknowledged write is lost, and after each
//!   restart the ensemble serves again.
//! - A capture on lo of the quorum and election ports during a TLS run:
//!   every byte any node sent on them is inside a TLS record (tshark; the
//!   test prints `skipped` without it).
//!
//! Certificates: integration/src/tls.rs's CA and node identities (SAN
//! IP:127.0.0.1.. and DNS:localhost), made with openssl and keytool in the
//! test's directory; zk-bin nodes read PEM, PKCS12 or JKS stores, Apache
//! nodes JKS.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration::ensemble::{can_run_or_skip, Ensemble, EnsembleConfig, NodeKind, SteadyWriter};
use integration::tls::{is_missing_tool, StoreType, TlsFixture};

use NodeKind::{Apache, ZkBin};

const TIMEOUT: Duration = Duration::from_secs(90);

/// zk-bin nodes read a different store format each (myid 1 PEM, 2 PKCS12,
/// 3 JKS), Apache nodes JKS, so each format meets Java's TLS.
fn store_type(kind: NodeKind, sid: u64) -> StoreType {
    match (kind, sid % 3) {
        (Apache, _) => StoreType::Jks,
        (ZkBin, 1) => StoreType::Pem,
        (ZkBin, 2) => StoreType::Pkcs12,
        (ZkBin, _) => StoreType::Jks,
    }
}

/// Every node's zoo.cfg names its own certificate (TlsFixture's node
/// identities: SAN IP:127.0.0.1.. and DNS:localhost) and the CA.
fn configure_stores(tls: &TlsFixture, e: &mut Ensemble) {
    for i in 0..e.len() {
        let sid = e.sid(i);
        let node = u8::try_from(sid).expect("a small myid");
        for (k, v) in tls.quorum_cfg(tls.server(node), store_type(e.kind(i), sid)) {
            e.set_node_cfg(i, &k, &v);
        }
    }
}

/// An ensemble of `kinds` with every node's stores configured and
/// `settings` on every node; `None` (printed) when it cannot run here.
fn tls_ensemble(kinds: &[NodeKind], settings: &[(&str, &str)]) -> Option<Ensemble> {
    tls_ensemble_and_certs(kinds, settings).map(|(e, _)| e)
}

/// [`tls_ensemble`] and its certificates.
fn tls_ensemble_and_certs(
    kinds: &[NodeKind],
    settings: &[(&str, &str)],
) -> Option<(Ensemble, TlsFixture)> {
    if !can_run_or_skip(kinds) {
        return None;
    }
    let mut config = EnsembleConfig::new(kinds);
    config.extra_cfg = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut e = Ensemble::new_or_skip(config)?;
    let tls = match TlsFixture::generate(&e.work_dir().join("certs")) {
        Ok(tls) => tls,
        Err(err) if is_missing_tool(&err) => {
            println!("SKIPPED: {err}");
            return None;
        }
        Err(err) => panic!("test certificates: {err}"),
    };
    configure_stores(&tls, &mut e);
    Some((e, tls))
}

/// Elect, replicate, fail over, rejoin; all over TLS.
fn elect_replicate_fail_over(kinds: &[NodeKind]) {
    let Some(mut e) = tls_ensemble(kinds, &[("sslQuorum", "true")]) else {
        return;
    };
    let label: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    let label = label.join("+");
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    let leader = e
        .wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let checked = e
        .check_writes_everywhere("before")
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    assert_eq!(checked, 9, "every node's write on every node");
    println!(
        "{label} over TLS: node {} ({}) leads; 3 writes read back on all 3 nodes",
        e.sid(leader),
        e.kind(leader)
    );
    // A znode near jute.maxbuffer: its proposal is one large TLS write.
    let big: Vec<u8> = (0..900 * 1024u32).map(|i| (i % 241) as u8).collect();
    write_and_read_everywhere(&e, "/big", &big);
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.kill_9(leader).unwrap_or_else(|m| panic!("{m}"));
    let (next, took) = e
        .wait_for_leader(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    assert_ne!(next, leader, "the killed node cannot lead");
    writer
        .wait_for_more(50, TIMEOUT)
        .unwrap_or_else(|m| panic!("after the fail-over: {m}\n{}", e.describe()));
    println!(
        "{label} over TLS: killed -9 leader node {}; node {} ({}) leads {took:?} later, writes go on",
        e.sid(leader),
        e.sid(next),
        e.kind(next)
    );
    e.start(leader).unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    wait_all_serving(&e);
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.check_writes_everywhere("after")
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "{label} over TLS: the old leader rejoined; all {} acknowledged writes on all 3 nodes",
        report.acked.len()
    );
}

/// Creates `path` holding `data` through the first node, then reads it
/// back on every node after a sync.
fn write_and_read_everywhere(e: &Ensemble, path: &str, data: &[u8]) {
    use zookeeper_client as zk;
    let first = e.client(0).unwrap_or_else(|m| panic!("{m}"));
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    e.block_on(first.create(path, data, &opts))
        .unwrap_or_else(|err| panic!("create {path} ({} bytes): {err}", data.len()));
    for i in 0..e.len() {
        let c = e.client(i).unwrap_or_else(|m| panic!("{m}"));
        e.block_on(c.sync(path))
            .unwrap_or_else(|err| panic!("sync {path} on node {}: {err}", e.sid(i)));
        let (got, _) = e
            .block_on(c.get_data(path))
            .unwrap_or_else(|err| panic!("{path} on node {}: {err}", e.sid(i)));
        assert!(got == data, "{path} on node {} differs", e.sid(i));
    }
}

/// Every node serves (the rejoined one synced), within `TIMEOUT`.
fn wait_all_serving(e: &Ensemble) {
    let start = Instant::now();
    while (0..e.len()).any(|i| e.mode(i) == integration::ensemble::Mode::NotServing) {
        assert!(
            start.elapsed() < TIMEOUT,
            "not every node serves after {TIMEOUT:?}\n{}",
            e.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ssl_quorum_3_zk_bin() {
    elect_replicate_fail_over(&[ZkBin, ZkBin, ZkBin]);
}

#[test]
fn ssl_quorum_2_apache_1_zk_bin() {
    elect_replicate_fail_over(&[Apache, Apache, ZkBin]);
}

#[test]
fn ssl_quorum_1_apache_2_zk_bin() {
    elect_replicate_fail_over(&[ZkBin, Apache, ZkBin]);
}

#[test]
fn ssl_quorum_3_apache_control() {
    elect_replicate_fail_over(&[Apache, Apache, Apache]);
}

/// How many lines of node `i`'s log (this run) contain every one of `words`.
fn log_lines(e: &Ensemble, i: usize, words: &[&str]) -> usize {
    e.log_text(i)
        .lines()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .count()
}

/// A peer that cannot pass the TLS handshake (a certificate for another
/// host, from an untrusted CA, expired; or no TLS at all) does not join:
/// the other two keep serving and log each refusal naming it, it keeps
/// running (no panic), and, given a good certificate again, it joins.
#[test]
fn a_peer_failing_the_handshake_is_refused_and_logged() {
    let Some((mut e, tls)) =
        tls_ensemble_and_certs(&[ZkBin, ZkBin, ZkBin], &[("sslQuorum", "true")])
    else {
        return;
    };
    e.start(0).unwrap_or_else(|m| panic!("{m}"));
    e.start(1).unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let bad: [(&str, Vec<(String, String)>); 4] = [
        (
            "a certificate for another host",
            tls.quorum_cfg(&tls.wrong_host, StoreType::Pem),
        ),
        (
            "a certificate from an untrusted CA",
            tls.quorum_cfg(&tls.untrusted, StoreType::Pem),
        ),
        (
            "an expired certificate",
            tls.quorum_cfg(&tls.expired, StoreType::Pem),
        ),
        (
            "no TLS",
            vec![("sslQuorum".to_string(), "false".to_string())],
        ),
    ];
    // Nodes 1 and 2 are settled and do not dial; they refuse node 3's
    // connections, naming its address.
    let refusal = ["Refusing election connection from 127.0.0.1:", "TLS"];
    for (what, cfg) in &bad {
        let before = log_lines(&e, 0, &refusal) + log_lines(&e, 1, &refusal);
        for (k, v) in cfg {
            e.set_node_cfg(2, k, v);
        }
        e.start(2).unwrap_or_else(|m| panic!("{m}"));
        let start = Instant::now();
        while log_lines(&e, 0, &refusal) + log_lines(&e, 1, &refusal) <= before {
            assert!(
                start.elapsed() < TIMEOUT,
                "node 3 with {what}: no refusal logged\n{}",
                e.describe()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        e.check_alive()
            .unwrap_or_else(|m| panic!("node 3 with {what}: {m}"));
        assert_eq!(
            e.mode(2),
            integration::ensemble::Mode::NotServing,
            "node 3 with {what} joined"
        );
        e.check_writes_everywhere(&format!("without-3-{}", what.len()))
            .unwrap_or_else(|m| panic!("node 3 with {what}: {m}\n{}", e.describe()));
        let logs = [e.log_text(0), e.log_text(1)].concat();
        let line = logs
            .lines()
            .rfind(|l| refusal.iter().all(|w| l.contains(w)))
            .unwrap_or_default()
            .to_string();
        println!(
            "node 3 with {what}: refused; e.g. {}",
            &line[line.find("WARN").unwrap_or(0)..]
        );
        e.stop(2).unwrap_or_else(|m| panic!("{m}"));
    }
    // Its own certificate again: it joins.
    for (k, v) in tls.quorum_cfg(tls.server(3), StoreType::Pem) {
        e.set_node_cfg(2, &k, &v);
    }
    e.set_node_cfg(2, "sslQuorum", "true");
    e.start(2).unwrap_or_else(|m| panic!("{m}"));
    wait_all_serving(&e);
    e.check_writes_everywhere("with-3")
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
}

/// 3.8's rolling move to TLS on a running mixed ensemble under load.
#[test]
fn rolling_move_to_tls_loses_no_acknowledged_write() {
    // Apache has the highest myid: it takes over when a zk-bin leader
    // restarts, and a zk-bin node when it does, so both lead in each phase.
    let kinds = [ZkBin, ZkBin, Apache];
    let Some(mut e) = tls_ensemble(&kinds, &[]) else {
        return;
    };
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let writer = SteadyWriter::start(&e.connect_string_all(), "acked");
    writer
        .wait_for_more(100, TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let phases: [&[(&str, &str)]; 3] = [
        &[("portUnification", "true")],
        &[("portUnification", "true"), ("sslQuorum", "true")],
        &[("portUnification", "false"), ("sslQuorum", "true")],
    ];
    for (phase, settings) in phases.iter().enumerate() {
        for i in 0..e.len() {
            let leader_before = e.leader();
            let was_leader = leader_before == Some(i);
            e.stop(i).unwrap_or_else(|m| panic!("{m}"));
            for (k, v) in *settings {
                e.set_node_cfg(i, k, v);
            }
            e.start(i).unwrap_or_else(|m| panic!("{m}"));
            let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| {
                panic!("phase {phase}, node {}: {m}\n{}", e.sid(i), e.describe())
            });
            wait_all_serving(&e);
            // A follower's restart costs no election: the leader stays.
            if !was_leader {
                assert_eq!(
                    Some(leader),
                    leader_before,
                    "phase {phase}: restarting follower node {} changed the leader\n{}",
                    e.sid(i),
                    e.describe()
                );
            }
            writer.wait_for_more(50, TIMEOUT).unwrap_or_else(|m| {
                panic!(
                    "phase {phase}, after node {}: {m}\n{}",
                    e.sid(i),
                    e.describe()
                )
            });
            let gap = writer.take_longest_gap();
            println!(
                "phase {phase} {settings:?}: node {} ({}, {}) restarted; node {} ({}) leads; \
                 longest time without an ack meanwhile {gap:?}",
                e.sid(i),
                e.kind(i),
                if was_leader {
                    "was the leader"
                } else {
                    "a follower"
                },
                e.sid(leader),
                e.kind(leader),
            );
        }
    }
    let report = writer.stop().unwrap_or_else(|m| panic!("{m}"));
    e.check_acked("/acked", &report.acked)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.check_writes_everywhere("tls")
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    println!(
        "plaintext -> TLS in three rolling restarts: all {} acknowledged writes on all 3 nodes \
         ({} failed attempts, longest time without an ack {:?})",
        report.acked.len(),
        report.failures,
        report.longest_gap
    );
}

/// A running `tshark -i lo` writing the packets of `ports` to a file.
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    fn start(file: &Path, ports: &[u16]) -> Result<Capture, String> {
        let filter: Vec<String> = ports.iter().map(|p| format!("tcp port {p}")).collect();
        let mut child = Command::new("tshark")
            .args(["-i", "lo", "-f", &filter.join(" or "), "-w"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run tshark: {e}"))?;
        // It says so on stderr once the capture is on.
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Capturing on") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            return Err("tshark did not start capturing within 30 s".into());
        }
        Ok(Capture {
            child,
            file: file.to_path_buf(),
        })
    }

    fn stop(mut self) -> PathBuf {
        // SIGINT lets tshark flush the file.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.file.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// Every direction of every TCP connection in `pcap` on `ports`,
/// reassembled by sequence number: the bytes each node sent.
fn tcp_directions(pcap: &Path) -> Result<BTreeMap<(u32, u16), Vec<u8>>, String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-o",
            "tcp.desegment_tcp_streams:FALSE",
            "-Y",
            "tcp.len > 0",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.payload",
        ])
        .output()
        .map_err(|e| format!("tshark -r: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tshark -r: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut segments: BTreeMap<(u32, u16), BTreeMap<u64, Vec<u8>>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [stream, port, seq, payload] = f[..] else {
            continue;
        };
        let (Ok(stream), Ok(port), Ok(seq)) = (stream.parse(), port.parse(), seq.parse()) else {
            continue;
        };
        let bytes = hex(&payload.replace(':', ""));
        segments
            .entry((stream, port))
            .or_default()
            .insert(seq, bytes);
    }
    let mut directions = BTreeMap::new();
    for (key, segs) in segments {
        let mut bytes = Vec::new();
        let mut next: Option<u64> = None;
        for (seq, seg) in segs {
            let start = next.map_or(0, |n| n.saturating_sub(seq) as usize);
            if start < seg.len() {
                bytes.extend_from_slice(&seg[start..]);
            }
            next = Some(next.map_or(seq + seg.len() as u64, |n| n.max(seq + seg.len() as u64)));
        }
        directions.insert(key, bytes);
    }
    Ok(directions)
}

/// Walks `bytes` as TLS records; `Err` at the first byte that is not a
/// record header (content type 20..=23, version 3.x).
fn tls_records(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut types = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let h = &bytes[at..bytes.len().min(at + 5)];
        if h.len() < 5 {
            // A record cut short by the end of the capture.
            break;
        }
        if !(20..=23).contains(&h[0]) || h[1] != 3 {
            return Err(format!(
                "offset {at}: not a TLS record: {:02x?}",
                &bytes[at..bytes.len().min(at + 16)]
            ));
        }
        types.push(h[0]);
        at += 5 + usize::from(u16::from_be_bytes([h[3], h[4]]));
    }
    Ok(types)
}

/// Runs a mixed ensemble with `settings` under a capture of its quorum and
/// election ports on lo, from before the first connection until a write
/// through every node was read back on every node; returns what each
/// direction of each connection carried, or `None` (printed) without
/// tshark.
fn captured_quorum_traffic(settings: &[(&str, &str)]) -> Option<BTreeMap<(u32, u16), Vec<u8>>> {
    if Command::new("tshark").arg("-v").output().is_err() {
        println!("SKIPPED: tshark is not installed (apt-get install -y tshark)");
        return None;
    }
    let mut e = tls_ensemble(&[ZkBin, Apache, ZkBin], settings)?;
    let ports: Vec<u16> = (0..e.len())
        .flat_map(|i| [e.quorum_addr(i).port(), e.election_port(i)])
        .collect();
    let capture =
        Capture::start(&e.work_dir().join("quorum.pcap"), &ports).unwrap_or_else(|m| panic!("{m}"));
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT)
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    e.check_writes_everywhere("captured")
        .unwrap_or_else(|m| panic!("{m}\n{}", e.describe()));
    let pcap = capture.stop();
    Some(tcp_directions(&pcap).unwrap_or_else(|m| panic!("{m}")))
}

/// (Directions that are not TLS from their first byte, with why; the
/// number of TLS application-data records.)
fn non_tls_directions(directions: &BTreeMap<(u32, u16), Vec<u8>>) -> (Vec<String>, usize) {
    let mut app_data = 0;
    let mut failures = Vec::new();
    for ((stream, port), bytes) in directions {
        match tls_records(bytes) {
            Ok(types) if types.first() == Some(&22) => {
                app_data += types.iter().filter(|&&t| t == 23).count();
            }
            Ok(_) => failures.push(format!(
                "stream {stream} from port {port}: no TLS handshake first"
            )),
            Err(m) => failures.push(format!("stream {stream} from port {port}: {m}")),
        }
    }
    (failures, app_data)
}

/// With tshark: a mixed ensemble (zk-bin, Apache, zk-bin) over TLS; every
/// byte sent on a quorum or election port is inside a TLS record.
#[test]
fn no_plaintext_on_quorum_ports_under_ssl_quorum() {
    let Some(directions) = captured_quorum_traffic(&[("sslQuorum", "true")]) else {
        return;
    };
    let (failures, app_data) = non_tls_directions(&directions);
    assert!(
        failures.is_empty(),
        "plaintext on a quorum port:\n{}",
        failures.join("\n")
    );
    assert!(
        directions.len() >= 4 && app_data > 0,
        "the capture saw too little to judge: {} directions, {app_data} application records",
        directions.len()
    );
    println!(
        "tshark: {} directions of quorum/election connections, {app_data} TLS application-data \
         records, not one byte outside a TLS record",
        directions.len()
    );
}

/// The control: the same capture and check on the same ensemble without
/// sslQuorum finds every connection plaintext.
#[test]
fn the_capture_check_finds_plaintext_without_ssl_quorum() {
    let Some(directions) = captured_quorum_traffic(&[]) else {
        return;
    };
    let (failures, _) = non_tls_directions(&directions);
    assert!(
        !directions.is_empty() && failures.len() == directions.len(),
        "{} of {} directions judged plaintext",
        failures.len(),
        directions.len()
    );
    println!(
        "control: all {} directions of a plaintext quorum judged plaintext",
        directions.len()
    );
}
