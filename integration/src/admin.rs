//! The admin server's `/commands/<name>` over plain HTTP, as a test
//! asks it (zk-bin's or Apache 3.8's Jetty one).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// GET `/commands/<cmd>` from the admin server at `addr`, as JSON; an
/// error names the address and the command.
pub fn command(addr: SocketAddr, cmd: &str) -> Result<Value, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| format!("{addr}: {e}"))?;
    write!(
        s,
        "GET /commands/{cmd} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{addr}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("{addr} {cmd}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or_else(|| format!("{addr} {cmd}: no HTTP body in {text:?}"))?;
    serde_json::from_str(body).map_err(|e| format!("{addr} {cmd}: {e} in {body:?}"))
}
