//! One client connection as `cons` and `stat` list it
//! (`ServerCnxn.dumpConnectionInfo` / `getConnectionInfo`).

use serde_json::{json, Map, Value};

use super::java_fmt;
use crate::server_stats::{CnxnCounters, CnxnStats};

/// A snapshot of one connection's statistics.
#[derive(Debug, Clone)]
pub struct CnxnInfo {
    pub remote: std::net::SocketAddr,
    /// The selection-key interest the JVM would show: reading (1).
    pub interest_ops: i32,
    pub outstanding: i64,
    pub received: u64,
    pub sent: u64,
    pub established: i64,
    pub c: CnxnCounters,
}

impl CnxnInfo {
    pub fn of(s: &CnxnStats) -> CnxnInfo {
        CnxnInfo {
            remote: s.remote,
            interest_ops: 1,
            outstanding: s.outstanding_requests(),
            received: s.packets_received(),
            sent: s.packets_sent(),
            established: s.established,
            c: s.counters(),
        }
    }

    /// The text line (without its newline); `brief` leaves out the
    /// session part, as `stat` does.
    pub fn text(&self, brief: bool) -> String {
        let ops = if self.interest_ops == 0 {
            "0".to_string()
        } else {
            format!("{:x}", self.interest_ops)
        };
        let mut s = format!(
            " {}[{}](queued={},recved={},sent={}",
            java_fmt::socket_address(self.remote),
            ops,
            self.outstanding,
            self.received,
            self.sent
        );
        let c = &self.c;
        if !brief && c.session_id != 0 {
            s += &format!(
                ",sid=0x{:x},lop={},est={},to={}",
                c.session_id, c.last_op, self.established, c.session_timeout
            );
            if c.last_cxid >= 0 {
                s += &format!(",lcxid=0x{:x}", c.last_cxid);
            }
            s += &format!(
                ",lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                c.last_zxid,
                c.last_response_time,
                c.last_latency,
                c.min_latency(),
                c.avg_latency(),
                c.max_latency
            );
        }
        s.push(')');
        s
    }

    pub fn json(&self, brief: bool) -> Value {
        let mut m = Map::new();
        m.insert(
            "remote_socket_address".into(),
            json!(java_fmt::socket_address_json(self.remote)),
        );
        m.insert("interest_ops".into(), json!(self.interest_ops));
        m.insert("outstanding_requests".into(), json!(self.outstanding));
        m.insert("packets_received".into(), json!(self.received));
        m.insert("packets_sent".into(), json!(self.sent));
        if !brief {
            let c = &self.c;
            m.insert("session_id".into(), json!(c.session_id));
            m.insert("last_operation".into(), json!(c.last_op));
            m.insert("established".into(), json!(self.established));
            m.insert("session_timeout".into(), json!(c.session_timeout));
            m.insert("last_cxid".into(), json!(c.last_cxid));
            m.insert("last_zxid".into(), json!(c.last_zxid));
            m.insert("last_response_time".into(), json!(c.last_response_time));
            m.insert("last_latency".into(), json!(c.last_latency));
            m.insert("min_latency".into(), json!(c.min_latency()));
            m.insert("avg_latency".into(), json!(c.avg_latency()));
            m.insert("max_latency".into(), json!(c.max_latency));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CnxnInfo {
        let s = CnxnStats::new(3, "127.0.0.1:40000".parse().unwrap());
        let mut i = CnxnInfo::of(&s);
        i.established = 1_000;
        i.received = 3;
        i.sent = 2;
        i
    }

    #[test]
    fn a_connection_without_a_session_shows_only_counts() {
        let i = sample();
        assert_eq!(
            i.text(false),
            " /127.0.0.1:40000[1](queued=0,recved=3,sent=2)"
        );
        assert_eq!(i.text(true), i.text(false));
    }

    #[test]
    fn a_session_adds_its_details() {
        let mut i = sample();
        i.c.session_id = 0x1000;
        i.c.session_timeout = 4000;
        assert_eq!(
            i.text(false),
            " /127.0.0.1:40000[1](queued=0,recved=3,sent=2,sid=0x1000,lop=NA,est=1000,to=4000,\
             lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)"
        );
        i.c.last_cxid = 10;
        assert!(i.text(false).contains(",lcxid=0xa,lzxid="));
        assert_eq!(
            i.text(true),
            " /127.0.0.1:40000[1](queued=0,recved=3,sent=2)"
        );
        let j = i.json(false);
        assert_eq!(j["remote_socket_address"], "127.0.0.1:40000");
        assert_eq!(j["session_id"], 0x1000);
        assert_eq!(j["last_operation"], "NA");
        assert_eq!(j["last_cxid"], 10);
        assert!(i.json(true).get("session_id").is_none());
    }
}
