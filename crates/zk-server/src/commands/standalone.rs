//! Commands whose subject is a quorum peer's (leader, observers, voting
//! view, ZAB state): the role answers where it has one, else the
//! standalone answer 3.8 gives; plus `system_properties` and the trace
//! mask.

use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::{json, Map, Value};

use super::{object, Kwargs, Report};
use crate::zookeeper_server::ZooKeeperServer;

/// `ZooTrace`'s default mask: client requests, server packets, sessions
/// and warnings. Kept only to be reported and set: this server writes no
/// ZooTrace lines.
const DEFAULT_TRACE_MASK: i64 = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 8);

static TRACE_MASK: AtomicI64 = AtomicI64::new(DEFAULT_TRACE_MASK);

/// Fixed JSON fields; as text, `key: value` lines (these commands have
/// no four-letter word, so the text is only for completeness).
pub struct Fields(pub Map<String, Value>);

impl Report for Fields {
    fn text(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{}: {}\n", k, v))
            .collect()
    }

    fn fields(&self) -> Map<String, Value> {
        self.0.clone()
    }
}

/// `gtmk`: the mask alone, without a newline.
pub struct TraceMaskReport(pub i64);

impl Report for TraceMaskReport {
    fn text(&self) -> String {
        self.0.to_string()
    }

    fn fields(&self) -> Map<String, Value> {
        object([("tracemask", json!(self.0))])
    }
}

pub fn get_trace_mask(_: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    Box::new(TraceMaskReport(TRACE_MASK.load(Ordering::Relaxed)))
}

pub fn set_trace_mask(_: &ZooKeeperServer, kwargs: &Kwargs) -> Box<dyn Report> {
    let error = match kwargs.get("traceMask") {
        None => "setTraceMask requires long traceMask argument".to_string(),
        Some(v) => match v.parse::<i64>() {
            Ok(mask) => {
                TRACE_MASK.store(mask, Ordering::Relaxed);
                return Box::new(TraceMaskReport(mask));
            }
            Err(_) => format!("setTraceMask requires long traceMask argument, got {}", v),
        },
    };
    Box::new(Fields(object([("error", json!(error))])))
}

/// `leader`: who leads, from a quorum peer's role; a standalone server
/// answers that it is not initialized, as 3.8 does.
pub fn leader(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    if let Some(fields) = zks.role().leader_report() {
        return Box::new(Fields(fields));
    }
    Box::new(Fields(object([(
        "error",
        json!("server is not initialized"),
    )])))
}

/// `observer_connection_stat_reset`: a leader zeroes its observers'
/// counters; the answer has no fields in any role.
pub fn orst(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    zks.role().reset_observer_connection_stats();
    Box::new(Fields(Map::new()))
}

/// `observers`: a leader's synced observers; none in any other role.
pub fn observers(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    if let Some(fields) = zks.role().observers_report() {
        return Box::new(Fields(fields));
    }
    Box::new(Fields(object([
        ("synced_observers", json!(0)),
        ("observers", json!([])),
    ])))
}

/// `voting_view`: the voting members of a quorum peer's config.
pub fn voting_view(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let view = zks.role().voting_view().unwrap_or_else(|| json!({}));
    Box::new(Fields(object([("current_config", view)])))
}

/// `zabstate`: a replicated role reports its peer's Zab phase; a
/// standalone server (or a peer between roles) has none.
pub fn zabstate(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    if let Some(fields) = zks.role_zab_state() {
        return Box::new(Fields(fields));
    }
    Box::new(Fields(object([
        ("voting", json!(false)),
        ("zabstate", json!("")),
    ])))
}

/// `system_properties`: the JVM-style properties this server was given
/// (zoo.cfg's `zookeeper.*` keys and the like), sorted. 3.8 prints every
/// value; here passwords and the super digest show as `<hidden>`
/// ([`zk_config::is_secret`]).
pub fn system_properties(zks: &ZooKeeperServer, _: &Kwargs) -> Box<dyn Report> {
    let mut pairs: Vec<(&str, &str)> = zks.config().system_properties.iter_shown().collect();
    pairs.sort_unstable();
    Box::new(Fields(object(
        pairs.into_iter().map(|(k, v)| (k.to_string(), json!(v))),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_mask_defaults_to_zootraces() {
        assert_eq!(DEFAULT_TRACE_MASK, 306);
        assert_eq!(TraceMaskReport(306).text(), "306");
        assert_eq!(TraceMaskReport(306).fields()["tracemask"], 306);
    }

    #[test]
    fn fields_render_as_lines() {
        let f = Fields(object([("a", json!(1)), ("b", json!("x"))]));
        assert_eq!(f.text(), "a: 1\nb: \"x\"\n");
    }
}
