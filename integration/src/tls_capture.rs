//! Loopback packet captures for the TLS tests, and the check that every
//! TCP payload byte on given ports is inside a TLS record (no plaintext
//! ZooKeeper packets on a port that should be encrypted).
//!
//! [`Capture::start`] runs `tshark` (and so `dumpcap`) on `lo` with a
//! filter for the ports and returns once it captures; [`Capture::stop`]
//! returns the pcap once everything sent before the call is in it.
//! [`non_tls_payloads`] reads a pcap with `tshark` (one line per segment: stream, endpoints, raw sequence number, payload), puts each
//! direction of each TCP connection back in sequence order, and walks it
//! as TLS records (content type 20..=24, version 3.x, length at most
//! 2^14 + 2048). Anything else is reported with where it starts and its
//! first bytes. The walk is ours rather than tshark's TLS dissector, whose
//! verdict on a segment depends on its reassembly settings.
//!
//! Capturing needs rights (root, or the `wireshark` group); without
//! them `start` fails with `PermissionDenied`, and without the tools
//! [`capture_available`] says why, for a test's `SKIPPED` line.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::apache::run_bounded;

/// How long dumpcap may take to start capturing, or tshark to read a pcap.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest TLS record length field (TLSCiphertext allows 2^14 + 2048).
const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Ok when `dumpcap` and `tshark` can run; otherwise why not.
pub fn capture_available() -> Result<(), String> {
    for tool in ["dumpcap", "tshark"] {
        let mut cmd = Command::new(tool);
        cmd.arg("-v");
        match run_bounded(cmd, TOOL_TIMEOUT) {
            Ok((status, _, _)) if status.success() => {}
            Ok((status, _, err)) => {
                return Err(format!(
                    "{tool} -v failed ({status}): {}",
                    String::from_utf8_lossy(&err).trim()
                ))
            }
            Err(e) => return Err(format!("cannot run {tool} ({e}): apt-get install tshark")),
        }
    }
    Ok(())
}

/// A running capture (`tshark -i lo -w PCAP`) on the loopback interface.
///
/// tshark also prints each packet's ports as it writes it: a probe
/// connection to a port of our own, seen in that output, is a barrier
/// (packets come out in order), so `start` returns only once the filter
/// is in place and `stop` only once everything before it is in the file.
/// (dumpcap's own "Capturing on" comes before its filter works, and on
/// SIGTERM it drops what the kernel has not handed over yet.)
#[derive(Debug)]
pub struct Capture {
    child: Option<Child>,
    pcap: PathBuf,
    probe: TcpListener,
    ports_seen: mpsc::Receiver<Option<(u16, u16)>>,
}

impl Capture {
    /// Starts capturing TCP on `lo` for `ports` (either end) into `pcap`.
    pub fn start(pcap: &Path, ports: &[u16]) -> io::Result<Capture> {
        assert!(!ports.is_empty(), "a capture needs at least one port");
        let probe = TcpListener::bind("127.0.0.1:0")?;
        let probe_port = probe.local_addr()?.port();
        let filter = ports
            .iter()
            .chain([&probe_port])
            .map(|p| format!("tcp port {p}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let mut child = Command::new("tshark")
            .args(["-i", "lo", "-f", &filter, "-w"])
            .arg(pcap)
            .args([
                "-P",
                "-l",
                "-T",
                "fields",
                "-e",
                "tcp.srcport",
                "-e",
                "tcp.dstport",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run tshark: {e}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, ports_seen) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut f = line.split('\t').map(|p| p.trim().parse::<u16>().ok());
                if let (Some(Some(src)), Some(Some(dst))) = (f.next(), f.next()) {
                    let _ = tx.send(Some((src, dst)));
                }
            }
            let _ = tx.send(None);
        });
        let err_text = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        let mut capture = Capture {
            child: Some(child),
            pcap: pcap.to_path_buf(),
            probe,
            ports_seen,
        };
        if let Err(e) = capture.barrier() {
            capture.kill();
            let text = err_text.join().unwrap_or_default();
            let kind = if text.contains("ermission") {
                io::ErrorKind::PermissionDenied
            } else {
                e.kind()
            };
            return Err(io::Error::new(
                kind,
                format!("{e}; tshark said: {}", text.trim()),
            ));
        }
        Ok(capture)
    }

    /// Probes (a connect and close to our own port) until tshark reports a
    /// packet of a probe sent by this call: told apart by the probe's own
    /// ephemeral port, since packets of earlier probes may still be on
    /// their way out of a busy tshark.
    fn barrier(&mut self) -> io::Result<()> {
        let probe_port = self.probe.local_addr()?.port();
        let mut mine = Vec::new();
        let deadline = Instant::now() + TOOL_TIMEOUT;
        loop {
            if let Ok(probe) = TcpStream::connect(("127.0.0.1", probe_port)) {
                mine.push(probe.local_addr()?.port());
            }
            let wait_until = Instant::now() + Duration::from_millis(100);
            while let Some(left) = wait_until.checked_duration_since(Instant::now()) {
                match self.ports_seen.recv_timeout(left) {
                    Ok(Some((src, dst))) if mine.contains(&src) || mine.contains(&dst) => {
                        return Ok(())
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(io::Error::other("tshark stopped capturing"));
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("tshark captured no probe packet within {TOOL_TIMEOUT:?}"),
                ));
            }
        }
    }

    /// Waits until everything sent so far is captured, stops tshark
    /// (SIGTERM: it closes the file) and returns the pcap's path.
    pub fn stop(mut self) -> io::Result<PathBuf> {
        self.barrier()?;
        if let Some(mut child) = self.child.take() {
            crate::zk_bin::send_signal(child.id(), "TERM").map_err(io::Error::other)?;
            let deadline = Instant::now() + TOOL_TIMEOUT;
            while child.try_wait()?.is_none() {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "tshark did not exit after SIGTERM",
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(self.pcap.clone())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Bytes on the wire that are not inside a TLS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonTlsPayload {
    /// tshark's TCP stream index.
    pub stream: u32,
    /// Sender, `ip:port`.
    pub from: String,
    /// Receiver, `ip:port`.
    pub to: String,
    /// Offset in that direction's byte stream where the walk failed.
    pub offset: usize,
    /// Up to 16 bytes from there, in hex.
    pub head: String,
}

impl std::fmt::Display for NonTlsPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stream {} {} -> {}: byte {} is not a TLS record header ({}...)",
            self.stream, self.from, self.to, self.offset, self.head
        )
    }
}

/// One direction of a TCP connection: segments by raw sequence number.
type Direction = BTreeMap<u32, Vec<u8>>;

/// Every TCP payload in `pcap` on any of `ports` that is not a TLS
/// record, one per connection direction (where its walk first fails).
/// Empty when all of it is TLS (or there was no payload at all).
pub fn non_tls_payloads(pcap: &Path, ports: &[u16]) -> io::Result<Vec<NonTlsPayload>> {
    let filter = ports
        .iter()
        .map(|p| format!("tcp.port=={p}"))
        .collect::<Vec<_>>()
        .join(" || ");
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args([
        "-Y",
        &format!("tcp.len > 0 && ({filter})"),
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-e",
        "tcp.stream",
        "-e",
        "ip.src",
        "-e",
        "tcp.srcport",
        "-e",
        "ip.dst",
        "-e",
        "tcp.dstport",
        "-e",
        "tcp.seq_raw",
        "-e",
        "tcp.payload",
    ]);
    let (status, out, err) = run_bounded(cmd, TOOL_TIMEOUT)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run tshark: {e}")))?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "tshark -r {} failed ({status}): {}",
            pcap.display(),
            String::from_utf8_lossy(&err).trim()
        )));
    }
    let mut directions: BTreeMap<(u32, String, String), Direction> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [stream, src, sport, dst, dport, seq, payload] = f[..] else {
            return Err(io::Error::other(format!("unexpected tshark line {line:?}")));
        };
        let parse_err =
            |what: &str| io::Error::other(format!("bad {what} in tshark line {line:?}"));
        let stream: u32 = stream.parse().map_err(|_| parse_err("stream"))?;
        let seq: u32 = seq.parse().map_err(|_| parse_err("sequence number"))?;
        let bytes = hex_bytes(payload).ok_or_else(|| parse_err("payload"))?;
        directions
            .entry((stream, format!("{src}:{sport}"), format!("{dst}:{dport}")))
            .or_default()
            .entry(seq)
            .or_insert(bytes);
    }
    let mut found = Vec::new();
    for ((stream, from, to), segments) in directions {
        let bytes = in_order(&segments);
        if let Err(offset) = walk_tls_records(&bytes) {
            let head = bytes[offset..bytes.len().min(offset + 16)]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            found.push(NonTlsPayload {
                stream,
                from,
                to,
                offset,
                head,
            });
        }
    }
    Ok(found)
}

/// `16:03:01` or `160301` -> bytes.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// The direction's bytes in sequence order: retransmitted bytes are taken
/// once, and a gap (a segment the capture missed) ends the stream there.
/// Sequence numbers are compared relative to the first segment's, with
/// wrap-around.
fn in_order(segments: &Direction) -> Vec<u8> {
    let Some(&first) = segments.keys().next() else {
        return Vec::new();
    };
    // Order by distance from the lowest raw number; a connection that
    // wraps past 2^32 has its low numbers after its high ones, so pick as
    // the start the segment after the biggest hole between keys.
    let keys: Vec<u32> = segments.keys().copied().collect();
    let start = keys
        .windows(2)
        .max_by_key(|w| w[1].wrapping_sub(w[0]))
        .filter(|w| w[1].wrapping_sub(w[0]) > 1 << 31)
        .map_or(first, |w| w[1]);
    let mut sorted: Vec<(u32, &Vec<u8>)> = segments
        .iter()
        .map(|(seq, data)| (seq.wrapping_sub(start), data))
        .collect();
    sorted.sort_by_key(|(rel, _)| *rel);
    let mut out = Vec::new();
    for (rel, data) in sorted {
        let rel = rel as usize;
        if rel > out.len() {
            break;
        }
        let skip = out.len() - rel;
        if skip < data.len() {
            out.extend_from_slice(&data[skip..]);
        }
    }
    out
}

/// Ok when `bytes` is a sequence of TLS records (the last may be cut off
/// by the end of the capture); otherwise the offset of the first header
/// that is not one.
pub fn walk_tls_records(bytes: &[u8]) -> Result<(), usize> {
    let mut at = 0;
    while at < bytes.len() {
        let header = &bytes[at..bytes.len().min(at + 5)];
        let content_type_ok = (20..=24).contains(&header[0]);
        let version_ok = header.len() < 3 || (header[1] == 3 && header[2] <= 4);
        if !content_type_ok || !version_ok {
            return Err(at);
        }
        if header.len() < 5 {
            return Ok(());
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        // Empty records are legal (TLS 1.2 stacks send them); oversized are not.
        if len > MAX_RECORD_LEN {
            return Err(at);
        }
        at += 5 + len;
    }
    Ok(())
}

#[cfg(test)]
#[path = "tls_capture_tests.rs"]
mod tests;
