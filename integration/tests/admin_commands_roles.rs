//! The admin commands in every role (issue 14's second acceptance line):
//! two mixed ensembles, one led by zk-bin (Apache, zk-bin, zk-bin leading;
//! observers Apache and zk-bin) and one led by Apache (zk-bin and two
//! Apache nodes, which elect one of themselves as zk-bin starts sooner and
//! cannot win alone; a zk-bin observer), every node with its admin server on.
//! For each role (leader, follower, observer) the answers of a zk-bin node
//! and of an Apache node to each command must have the same fields, key
//! by key down to the leaves (values may differ: counters, times, ports);
//! and within an ensemble every node must report the same leader and the
//! same voting view, whichever implementation it runs. The four-letter
//! words are compared by the keys of their lines.
//!
//! Left out: `monitor` (its metric set is issue 14's Prometheus work),
//! `environment` and `system_properties` (a JVM's properties), and the
//! commands that reset or set state.
//! Without Java or Debian's ZooKeeper the test prints `skipped: ...`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use integration::admin::command as admin;
use integration::ensemble::{Ensemble, EnsembleConfig, Mode, NodeKind};
use integration::ports::free_port_except;
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(60);

/// The commands compared, by their primary names.
const COMMANDS: &[&str] = &[
    "leader",
    "voting_view",
    "observers",
    "zabstate",
    "observer_connection_stat_reset",
    "server_stats",
    "stats",
    "is_read_only",
    "ruok",
    "connections",
    "configuration",
    "dirs",
    "last_snapshot",
    "hash",
    "initial_configuration",
    "get_trace_mask",
    "watch_summary",
    "watches",
    "watches_by_path",
    "dump",
];

/// The four-letter words compared (their lines' keys).
const FOUR_LETTER_WORDS: &[&str] = &[
    "srvr", "stat", "conf", "wchs", "isro", "ruok", "dirs", "gtmk", "cons", "wchc", "wchp",
];

/// The keys of a four-letter word's answer: each line's text before its
/// first `:` or `=`, when that is a name (letters, digits, spaces, `._/-`
/// and the like); other lines (values, connection lines) count as one
/// `<line>` key each kind, so that only the set of names is compared.
fn line_keys(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .map(|l| {
            let key = l.split([':', '=']).next().unwrap_or("");
            let name = !key.is_empty()
                && key.len() < l.len()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " ._/-".contains(c));
            if name {
                // Membership lines: the two ensembles differ in size.
                let key = key.trim();
                match key.strip_prefix("server.") {
                    Some(sid) if sid.parse::<u32>().is_ok() => "server.N".to_string(),
                    _ => key.to_string(),
                }
            } else {
                "<line>".to_string()
            }
        })
        .collect()
}

/// The shape of a JSON answer: objects keep their keys, leaves become
/// their type's name, an array the shape of its first element.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Null => Value::String("null".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::String(_) => Value::String("string".into()),
    }
}

/// Every key path of `a` missing from `b`, as `cmd.path` strings.
fn missing(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => missing(v, w, &p, out),
                    None => out.push(p),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if let (Some(v), Some(w)) = (x.first(), y.first()) {
                missing(v, w, &format!("{path}[]"), out);
            }
        }
        (x, y) if x != y => out.push(format!("{path} ({x} vs {y})")),
        _ => {}
    }
}

/// A running ensemble and each node's admin address.
struct Running {
    e: Ensemble,
    admin: Vec<SocketAddr>,
}

fn start(participants: &[NodeKind], observers: &[NodeKind]) -> Option<Running> {
    match integration::apache::ApacheZk::find() {
        Ok(zk) if zk.has_admin_server() => {}
        Ok(_) => {
            println!("skipped: Apache's admin server needs Jetty (apt-get install libjetty9-java libservlet-api-java)");
            return None;
        }
        Err(why) => {
            println!("skipped: {why}");
            return None;
        }
    }
    let mut e = Ensemble::new_or_skip(EnsembleConfig::new(participants).with_observers(observers))?;
    let mut ports = e.ports();
    let mut admin = Vec::new();
    for i in 0..e.len() {
        let port = free_port_except(&ports).unwrap();
        ports.push(port);
        e.set_node_cfg(i, "admin.enableServer", "true");
        e.set_node_cfg(i, "admin.serverAddress", "127.0.0.1");
        e.set_node_cfg(i, "admin.serverPort", &port.to_string());
        admin.push(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    e.start_all().unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    Some(Running { e, admin })
}

/// Every node's answers to every command, by role and kind, checking on
/// the way that the nodes agree on the leader and the voting view.
fn answers(r: &Running, out: &mut BTreeMap<(String, String), BTreeMap<String, Value>>) {
    let deadline = Instant::now() + TIMEOUT;
    let leader = r.e.leader().expect("a leader");
    let mut views = Vec::new();
    for i in 0..r.e.len() {
        let role = match r.e.mode(i) {
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            m => panic!("node {} is {m:?}:\n{}", r.e.sid(i), r.e.describe()),
        };
        let mut by_cmd = BTreeMap::new();
        for &cmd in COMMANDS {
            let v = loop {
                match admin(r.admin[i], cmd) {
                    Ok(v) => break v,
                    Err(m) if Instant::now() > deadline => panic!(
                        "node {} ({}): {m}\n{}",
                        r.e.sid(i),
                        r.e.kind(i),
                        r.e.describe()
                    ),
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            };
            by_cmd.insert(cmd.to_string(), v);
        }
        for &word in FOUR_LETTER_WORDS {
            let text =
                r.e.four_letter(i, word)
                    .unwrap_or_else(|m| panic!("node {} {word}: {m}", r.e.sid(i)));
            let keys: Vec<Value> = line_keys(&text).into_iter().map(Value::from).collect();
            by_cmd.insert(format!("4lw {word}"), Value::Array(keys));
        }
        let lead = &by_cmd["leader"];
        assert_eq!(
            lead["is_leader"],
            Value::Bool(i == leader),
            "node {} ({}): {lead}",
            r.e.sid(i),
            r.e.kind(i)
        );
        assert_eq!(
            lead["leader_id"],
            Value::from(r.e.sid(leader)),
            "node {} ({}): {lead}",
            r.e.sid(i),
            r.e.kind(i)
        );
        assert_eq!(lead["leader_ip"], Value::from("127.0.0.1"), "{lead}");
        // A server line without a client address: a node knows its own
        // (from its zoo.cfg), not its peers', in 3.8 as here.
        let mut view = by_cmd["voting_view"].clone();
        for (sid, entry) in view["current_config"]
            .as_object_mut()
            .expect("current_config")
        {
            let want = if *sid == r.e.sid(i).to_string() {
                r.e.client_addr(i).to_string()
            } else {
                String::new()
            };
            assert_eq!(
                entry["client_address"],
                Value::from(want),
                "node {} ({}) voting_view entry {sid}: {entry}",
                r.e.sid(i),
                r.e.kind(i)
            );
            entry["client_address"] = Value::from("");
        }
        views.push((i, view));
        out.insert((role.to_string(), r.e.kind(i).to_string()), by_cmd);
    }
    let (first, view) = &views[0];
    for (i, v) in &views[1..] {
        assert_eq!(
            v,
            view,
            "voting_view of node {} ({}) differs from node {}'s ({})",
            r.e.sid(*i),
            r.e.kind(*i),
            r.e.sid(*first),
            r.e.kind(*first)
        );
    }
    let n_voters = view["current_config"].as_object().map_or(0, |m| m.len());
    assert_eq!(
        n_voters,
        r.e.len() - (0..r.e.len()).filter(|&i| r.e.is_observer(i)).count(),
        "{view}"
    );
}

#[test]
fn admin_commands_answer_in_every_role_as_apache_does() {
    use NodeKind::{Apache, ZkBin};
    let mut all = BTreeMap::new();
    {
        let Some(r) = start(&[Apache, ZkBin, ZkBin], &[Apache, ZkBin]) else {
            return;
        };
        answers(&r, &mut all);
        let obs = admin(r.admin[r.e.leader().unwrap()], "observers").unwrap();
        assert_eq!(obs["synced_observers"], Value::from(2), "{obs}");
    }
    {
        let Some(r) = start(&[ZkBin, Apache, Apache], &[ZkBin]) else {
            return;
        };
        answers(&r, &mut all);
        let obs = admin(r.admin[r.e.leader().unwrap()], "observers").unwrap();
        assert_eq!(obs["synced_observers"], Value::from(1), "{obs}");
    }
    let mut problems = Vec::new();
    for role in ["leader", "follower", "observer"] {
        let ours = all.get(&(role.to_string(), ZkBin.to_string()));
        let theirs = all.get(&(role.to_string(), Apache.to_string()));
        let (Some(ours), Some(theirs)) = (ours, theirs) else {
            panic!(
                "no {role} of each kind to compare (the roles were {:?})",
                all.keys().collect::<Vec<_>>()
            );
        };
        for &word in FOUR_LETTER_WORDS {
            let key = format!("4lw {word}");
            if ours[&key] != theirs[&key] {
                problems.push(format!(
                    "{role} {key}: Apache's lines have the keys {}, zk-bin's {}",
                    theirs[&key], ours[&key]
                ));
            }
        }
        for &cmd in COMMANDS {
            let (o, t) = (shape(&ours[cmd]), shape(&theirs[cmd]));
            let mut only_apache = Vec::new();
            missing(&t, &o, cmd, &mut only_apache);
            let mut only_ours = Vec::new();
            missing(&o, &t, cmd, &mut only_ours);
            if !only_apache.is_empty() || !only_ours.is_empty() {
                problems.push(format!(
                    "{role} {cmd}: only Apache has {only_apache:?}; only zk-bin has {only_ours:?}\n  \
                     Apache: {}\n  zk-bin: {}",
                    theirs[cmd], ours[cmd]
                ));
            }
        }
        println!(
            "{role}: {} admin commands and {} four-letter words compared",
            COMMANDS.len(),
            FOUR_LETTER_WORDS.len()
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
