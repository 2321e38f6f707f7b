//! The commands behind the four-letter words (`FourLetterCommands`,
//! `command/*`), rendered as 4lw text.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::zookeeper_server::ZooKeeperServer;

/// The version string `srvr`/`stat` print.
pub const VERSION: &str = concat!("3.8.0-zk-rs-", env!("CARGO_PKG_VERSION"));

/// The text answer to `cmd` (already checked against the whitelist).
pub fn four_letter(zks: &ZooKeeperServer, cmd: &str) -> String {
    match cmd {
        "ruok" => "imok".into(),
        "isro" => "rw".into(),
        "srvr" | "stat" => srvr(zks),
        "conf" => conf(zks),
        _ => format!("{} is not yet implemented by this server\n", cmd),
    }
}

fn srvr(zks: &ZooKeeperServer) -> String {
    let (zxid, nodes) = {
        let db = zks.db().read().unwrap();
        (
            db.data_tree_last_processed_zxid(),
            db.data_tree().node_count(),
        )
    };
    let mut s = String::new();
    let _ = writeln!(s, "Zookeeper version: {}", VERSION);
    let _ = writeln!(s, "Latency min/avg/max: 0/0.0/0");
    let _ = writeln!(
        s,
        "Received: {}",
        zks.stats.packets_received.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        s,
        "Sent: {}",
        zks.stats.packets_sent.load(Ordering::Relaxed)
    );
    let _ = writeln!(s, "Connections: 0");
    let _ = writeln!(s, "Outstanding: {}", zks.outstanding.lock().unwrap().len());
    let _ = writeln!(s, "Zxid: 0x{:x}", zxid);
    let _ = writeln!(s, "Mode: standalone");
    let _ = writeln!(s, "Node count: {}", nodes);
    s
}

fn conf(zks: &ZooKeeperServer) -> String {
    let c = zks.config();
    let mut s = String::new();
    let _ = writeln!(s, "tickTime={}", c.tick_time);
    let _ = writeln!(s, "minSessionTimeout={}", c.min_session_timeout);
    let _ = writeln!(s, "maxSessionTimeout={}", c.max_session_timeout);
    let _ = writeln!(s, "serverId={}", c.server_id);
    s
}
