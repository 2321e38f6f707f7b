//! A tiny TCP peer for the partition layer's own test
//! (`tests/fault_injection.rs`), run as a node's Unix user:
//!
//! - `zk-fault-probe listen ADDR`: listens on ADDR (port 0: any), prints
//!   `ready PORT`, and on every accepted connection writes `tick` every
//!   50 ms (each in its own segment), so a reader sees at once when the
//!   server's packets stop;
//! - `zk-fault-probe connect ADDR`: connects (1 s timeout), prints
//!   `connected` or `failed: ...`, then prints every line it receives.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr: Option<SocketAddr> = args.get(2).and_then(|a| a.parse().ok());
    match (args.get(1).map(String::as_str), addr) {
        (Some("listen"), Some(addr)) => listen(addr),
        (Some("connect"), Some(addr)) => connect(addr),
        _ => {
            eprintln!("usage: zk-fault-probe listen|connect ADDR");
            std::process::exit(2);
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn listen(addr: SocketAddr) {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| {
        say(&format!("failed: bind {addr}: {e}"));
        std::process::exit(1)
    });
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    say(&format!("ready {port}"));
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut stream = stream;
            // No Nagle: each tick is its own segment, sent without waiting
            // for the reader's ACKs, so a test sees whether the server's
            // own packets get through even when the reader's are dropped.
            let _ = stream.set_nodelay(true);
            while stream.write_all(b"tick\n").is_ok() {
                std::thread::sleep(Duration::from_millis(50));
            }
        });
    }
}

fn connect(addr: SocketAddr) {
    let stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        Ok(s) => s,
        Err(e) => {
            say(&format!("failed: {e}"));
            return;
        }
    };
    say("connected");
    for line in BufReader::new(stream).lines() {
        match line {
            Ok(l) => say(&l),
            Err(_) => return,
        }
    }
}
