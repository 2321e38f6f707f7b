//! The commands about sessions, watches and the data on disk: `dump`,
//! `wchs`/`wchc`/`wchp`, `hash`, `last_snapshot`,
//! `initial_configuration`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Map, Value};
use zk_persistence::data_dir::zxid_from_name;
use zk_persistence::digest::ZxidDigest;

use super::connections::CnxnInfo;
use super::{java_fmt, object, Kwargs, Report};
use crate::expiry_queue::elapsed_ms;
use crate::server_stats::{wall_clock_ms, SESSIONLESS_CNXN_TIMEOUT_MS};
use crate::zookeeper_server::ZooKeeperServer;

/// Wall-clock ms of a time on the expiry queues' monotonic clock
/// (`Time.elapsedTimeToDate`).
fn to_wall_clock(elapsed: i64) -> i64 {
    wall_clock_ms() + (elapsed - elapsed_ms())
}

/// `ExpiryQueue.dump`: `Sets (buckets)/(elements):`, then each bucket,
/// soonest first.
fn dump_expiry<T>(
    out: &mut String,
    label: &str,
    buckets: &[(i64, Vec<T>)],
    item: impl Fn(&T) -> String,
) {
    let elements: usize = buckets.iter().map(|(_, v)| v.len()).sum();
    let _ = writeln!(out, "{} Sets ({})/({}):", label, buckets.len(), elements);
    for (time, items) in buckets {
        let _ = writeln!(
            out,
            "{} expire at {}:",
            items.len(),
            java_fmt::date(to_wall_clock(*time))
        );
        for i in items {
            let _ = writeln!(out, "\t{}", item(i));
        }
    }
}

/// `dump`: sessions by expiry, ephemerals by session, connections by
/// expiry.
pub struct DumpReport {
    /// (expiry time on the monotonic clock, session ids).
    pub sessions: Vec<(i64, Vec<i64>)>,
    pub ephemerals: BTreeMap<i64, Vec<String>>,
    pub connections: Vec<(i64, Vec<CnxnInfo>)>,
}

/// When an idle connection would be dropped, rounded up to the next
/// bucket as the connection expiry queue does (a connection without a
/// session gets `sessionlessCnxnTimeout`).
fn cnxn_expiry(c: &CnxnInfo) -> i64 {
    let timeout = if c.c.session_id != 0 {
        i64::from(c.c.session_timeout)
    } else {
        SESSIONLESS_CNXN_TIMEOUT_MS
    };
    ((c.c.last_activity + timeout) / SESSIONLESS_CNXN_TIMEOUT_MS + 1) * SESSIONLESS_CNXN_TIMEOUT_MS
}

impl Report for DumpReport {
    fn text(&self) -> String {
        let mut out = "SessionTracker dump:\n".to_string();
        dump_expiry(&mut out, "Session", &self.sessions, |id| {
            format!("0x{:x}", id)
        });
        out += "ephemeral nodes dump:\n";
        let _ = writeln!(out, "Sessions with Ephemerals ({}):", self.ephemerals.len());
        for (session, paths) in &self.ephemerals {
            let _ = writeln!(out, "0x{:x}:", session);
            for p in paths {
                let _ = writeln!(out, "\t{}", p);
            }
        }
        out += "Connections dump:\n";
        dump_expiry(&mut out, "Connections", &self.connections, |c| {
            c.text(false)
        });
        out
    }

    fn fields(&self) -> Map<String, Value> {
        let expiry: Map<String, Value> = self
            .sessions
            .iter()
            .map(|(t, ids)| (t.to_string(), json!(ids)))
            .collect();
        let ephemerals: Map<String, Value> = self
            .ephemerals
            .iter()
            .map(|(s, paths)| (s.to_string(), json!(paths)))
            .collect();
        object([
            ("expiry_time_to_session_ids", Value::Object(expiry)),
            ("session_id_to_ephemeral_paths", Value::Object(ephemerals)),
        ])
    }
}

pub fn dump(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let mut sessions = zks.session_tracker().expiry_buckets();
    for (_, ids) in &mut sessions {
        ids.sort_unstable();
    }
    let ephemerals: BTreeMap<i64, Vec<String>> = {
        let db = zks.db().read().unwrap();
        db.data_tree()
            .get_all_ephemerals()
            .into_iter()
            .map(|(s, mut paths)| {
                paths.sort();
                (s, paths)
            })
            .collect()
    };
    let mut by_expiry: BTreeMap<i64, Vec<CnxnInfo>> = BTreeMap::new();
    for c in zks.stats.connections() {
        let info = CnxnInfo::of(&c);
        by_expiry.entry(cnxn_expiry(&info)).or_default().push(info);
    }
    Box::new(DumpReport {
        sessions,
        ephemerals,
        connections: by_expiry.into_iter().collect(),
    })
}

/// `wchs` (`WatchManager.toString`, `WatchesSummary`): data watches
/// only, as 3.8 counts them.
pub struct WatchSummaryReport {
    pub num_connections: usize,
    pub num_paths: usize,
    pub num_total_watches: usize,
}

impl Report for WatchSummaryReport {
    fn text(&self) -> String {
        format!(
            "{} connections watching {} paths\nTotal watches:{}\n",
            self.num_connections, self.num_paths, self.num_total_watches
        )
    }

    fn fields(&self) -> Map<String, Value> {
        object([
            ("num_connections", json!(self.num_connections)),
            ("num_paths", json!(self.num_paths)),
            ("num_total_watches", json!(self.num_total_watches)),
        ])
    }
}

pub fn watch_summary(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let w = zks.watches.lock().unwrap();
    let by_watcher = w.data.by_watcher();
    Box::new(WatchSummaryReport {
        num_connections: by_watcher.len(),
        num_paths: w.data.by_path().len(),
        num_total_watches: by_watcher.values().map(|p| p.len()).sum(),
    })
}

/// `wchc`: the paths each session's connection watches.
pub struct WatchesReport {
    /// (session id, paths), one entry per watching connection.
    pub by_session: Vec<(i64, Vec<String>)>,
}

impl Report for WatchesReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for (session, paths) in &self.by_session {
            let _ = writeln!(out, "0x{:x}", session);
            for p in paths {
                let _ = writeln!(out, "\t{}", p);
            }
        }
        out.push('\n');
        out
    }

    fn fields(&self) -> Map<String, Value> {
        let m: Map<String, Value> = self
            .by_session
            .iter()
            .map(|(s, paths)| (s.to_string(), json!(paths)))
            .collect();
        object([("session_id_to_watched_paths", Value::Object(m))])
    }
}

pub fn watches(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let by_cnxn: BTreeMap<u64, Vec<String>> = {
        let w = zks.watches.lock().unwrap();
        w.data
            .by_watcher()
            .iter()
            .map(|(c, paths)| {
                let mut p: Vec<String> = paths.iter().cloned().collect();
                p.sort();
                (*c, p)
            })
            .collect()
    };
    let by_session = by_cnxn
        .into_iter()
        .map(|(c, paths)| (zks.stats.session_of(c), paths))
        .collect();
    Box::new(WatchesReport { by_session })
}

/// `wchp`: the sessions watching each path.
pub struct WatchesByPathReport {
    pub by_path: BTreeMap<String, Vec<i64>>,
}

impl Report for WatchesByPathReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for (path, sessions) in &self.by_path {
            let _ = writeln!(out, "{}", path);
            for s in sessions {
                let _ = writeln!(out, "\t0x{:x}", s);
            }
        }
        out.push('\n');
        out
    }

    fn fields(&self) -> Map<String, Value> {
        let m: Map<String, Value> = self
            .by_path
            .iter()
            .map(|(p, ids)| (p.clone(), json!(ids)))
            .collect();
        object([("path_to_session_ids", Value::Object(m))])
    }
}

pub fn watches_by_path(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let by_path: BTreeMap<String, Vec<u64>> = {
        let w = zks.watches.lock().unwrap();
        w.data
            .by_path()
            .iter()
            .map(|(p, cnxns)| (p.clone(), cnxns.iter().copied().collect()))
            .collect()
    };
    let by_path = by_path
        .into_iter()
        .map(|(p, cnxns)| {
            let mut ids: Vec<i64> = cnxns.iter().map(|c| zks.stats.session_of(*c)).collect();
            ids.sort_unstable();
            (p, ids)
        })
        .collect();
    Box::new(WatchesByPathReport { by_path })
}

/// `hash`: the tree digests logged at recent zxids.
pub struct HashReport {
    pub digests: Vec<ZxidDigest>,
}

impl Report for HashReport {
    fn text(&self) -> String {
        let mut out = String::new();
        for d in &self.digests {
            let _ = writeln!(out, "{:x}: {}", d.zxid, d.digest);
        }
        out
    }

    fn fields(&self) -> Map<String, Value> {
        let list: Vec<Value> = self
            .digests
            .iter()
            .map(
                |d| json!({"zxid": d.zxid, "digest_version": d.digest_version, "digest": d.digest}),
            )
            .collect();
        object([("digests", Value::Array(list))])
    }
}

pub fn hash(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let digests = zks.db().read().unwrap().data_tree().digest_log();
    Box::new(HashReport { digests })
}

/// `last_snapshot`: the newest snapshot file's zxid (hex, as 3.8 writes
/// it) and its time in seconds; -1 for both when there is none.
pub struct LastSnapshotReport {
    pub zxid: i64,
    pub timestamp: i64,
}

impl Report for LastSnapshotReport {
    fn text(&self) -> String {
        format!("zxid: {:x}\ntimestamp: {}\n", self.zxid, self.timestamp)
    }

    fn fields(&self) -> Map<String, Value> {
        object([
            ("zxid", json!(format!("{:x}", self.zxid))),
            ("timestamp", json!(self.timestamp)),
        ])
    }
}

pub fn last_snapshot(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    // Snapshots are written by a background thread straight to the snap
    // directory, so the directory, not the loader's record, is the truth.
    let newest = zks
        .db()
        .read()
        .unwrap()
        .snap_log()
        .find_most_recent_snapshot();
    let report = match newest {
        Ok(Some(path)) => {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let timestamp = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(-1, |d| d.as_secs() as i64);
            LastSnapshotReport {
                zxid: zxid_from_name(&name, "snapshot"),
                timestamp,
            }
        }
        _ => LastSnapshotReport {
            zxid: -1,
            timestamp: -1,
        },
    };
    Box::new(report)
}

/// `initial_configuration`: the configuration text the server started
/// from.
pub struct InitialConfigReport(pub String);

impl Report for InitialConfigReport {
    fn text(&self) -> String {
        self.0.clone()
    }

    /// A quorum peer's server has none (3.8's `QuorumPeer` never gets
    /// its config text), which 3.8 answers as null; a standalone server's
    /// is its zoo.cfg, never empty.
    fn fields(&self) -> Map<String, Value> {
        let text = if self.0.is_empty() {
            Value::Null
        } else {
            json!(self.0)
        };
        object([("initial_configuration", text)])
    }
}

pub fn initial_configuration(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    Box::new(InitialConfigReport(zks.stats.facts().initial_config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_reports_render_as_3_8() {
        let s = WatchSummaryReport {
            num_connections: 2,
            num_paths: 3,
            num_total_watches: 4,
        };
        assert_eq!(
            s.text(),
            "2 connections watching 3 paths\nTotal watches:4\n"
        );
        assert_eq!(s.fields()["num_total_watches"], 4);

        let c = WatchesReport {
            by_session: vec![(0x10, vec!["/a".into(), "/b".into()])],
        };
        assert_eq!(c.text(), "0x10\n\t/a\n\t/b\n\n");
        assert_eq!(
            c.fields()["session_id_to_watched_paths"]["16"],
            json!(["/a", "/b"])
        );

        let p = WatchesByPathReport {
            by_path: BTreeMap::from([("/a".to_string(), vec![0x10, 0x11])]),
        };
        assert_eq!(p.text(), "/a\n\t0x10\n\t0x11\n\n");
        assert_eq!(p.fields()["path_to_session_ids"]["/a"], json!([16, 17]));
    }

    #[test]
    fn dump_renders_sessions_ephemerals_and_connections() {
        let cnxn = crate::server_stats::CnxnStats::new(2, "127.0.0.1:6000".parse().unwrap());
        let info = CnxnInfo::of(&cnxn);
        let r = DumpReport {
            sessions: vec![(elapsed_ms() + 4000, vec![0x5, 0x6])],
            ephemerals: BTreeMap::from([(0x5, vec!["/e".to_string()])]),
            connections: vec![(cnxn_expiry(&info), vec![info])],
        };
        let t = r.text();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "SessionTracker dump:");
        assert_eq!(lines[1], "Session Sets (1)/(2):");
        assert!(
            lines[2].starts_with("2 expire at ") && lines[2].ends_with(':'),
            "{}",
            t
        );
        assert!(lines[2].contains(" UTC "), "{}", t);
        assert_eq!(&lines[3..5], &["\t0x5", "\t0x6"]);
        assert_eq!(lines[5], "ephemeral nodes dump:");
        assert_eq!(
            &lines[6..9],
            &["Sessions with Ephemerals (1):", "0x5:", "\t/e"]
        );
        assert_eq!(lines[9], "Connections dump:");
        assert_eq!(lines[10], "Connections Sets (1)/(1):");
        assert_eq!(lines[12], "\t /127.0.0.1:6000[1](queued=0,recved=0,sent=0)");
        let f = r.fields();
        assert_eq!(f["session_id_to_ephemeral_paths"]["5"], json!(["/e"]));
        assert_eq!(
            f["expiry_time_to_session_ids"].as_object().unwrap().len(),
            1
        );
    }

    #[test]
    fn hash_and_last_snapshot() {
        let h = HashReport {
            digests: vec![ZxidDigest {
                zxid: 0x80,
                digest_version: 2,
                digest: 12345,
            }],
        };
        assert_eq!(h.text(), "80: 12345\n");
        assert_eq!(h.fields()["digests"][0]["digest_version"], 2);
        let l = LastSnapshotReport {
            zxid: -1,
            timestamp: -1,
        };
        assert_eq!(l.fields()["zxid"], "ffffffffffffffff");
        assert_eq!(l.fields()["timestamp"], -1);
    }
}
