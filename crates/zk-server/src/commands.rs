//! The admin commands, written once and rendered two ways: as
//! four-letter-word text on the client port (`command/*Command`) and as
//! JSON on the admin server (`admin/Commands`).
//!
//! Each command gathers what it reports into a [`Report`] (one snapshot
//! of the server), and the report renders itself either way:
//! [`Report::text`] exactly as Apache ZooKeeper 3.8 prints the word, and
//! [`Report::fields`] as the command's own JSON fields, which
//! [`run`] wraps with `command` and `error` as `CommandResponse` does.
//!
//! [`COMMANDS`] is the registry: names (the primary name first, then the
//! aliases), the four-letter word if there is one, and whether the
//! command needs a running server.
//!
//! - [`server`]: `srvr`/`stat`, `mntr`, `conf`, `cons`, `crst`, `srst`,
//!   `dirs`, `envi`, `isro`, `ruok`.
//! - `tree`: `dump`, `wchs`/`wchc`/`wchp`, `hash`, `last_snapshot`,
//!   `initial_configuration`.
//! - `standalone`: the quorum commands as a standalone server answers
//!   them, `system_properties`, and the trace mask.
//! - `connections`: one connection's line in `cons`/`stat`.
//! - [`java_fmt`]: the JVM's ways of printing numbers, dates, addresses.

mod connections;
pub mod java_fmt;
pub mod server;
mod standalone;
mod tree;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::zookeeper_server::{State, ZooKeeperServer};

/// The build stamp: git commit and build date ("unknown" until
/// [`set_build`]).
struct Build {
    version: String,
    date: String,
    full: String,
}

static BUILD: std::sync::OnceLock<Build> = std::sync::OnceLock::new();

fn build() -> &'static Build {
    BUILD.get_or_init(|| make_build("unknown", "unknown"))
}

fn make_build(commit: &str, date: &str) -> Build {
    let version = format!("3.8.0-zk-rs-{}-{commit}", env!("CARGO_PKG_VERSION"));
    Build {
        full: format!("{version}, built on {date}"),
        version,
        date: date.to_string(),
    }
}

/// Stamps the build: zk-bin calls this first, with its build script's git
/// commit and date (in zk-bin so that a commit does not rebuild this
/// crate). Later calls change nothing.
pub fn set_build(commit: &str, date: &str) {
    let _ = BUILD.set(make_build(commit, date));
}

/// The version proper (`Version.getVersionRevision`): 3.8.0 with our
/// name, crate version and git commit where Apache puts its git revision,
/// so that tools matching `3.8.` still recognise it.
pub fn version() -> &'static str {
    &build().version
}

/// `Info.BUILD_DATE`: the commit's date (or `SOURCE_DATE_EPOCH`) as
/// `yyyy-MM-dd HH:mm UTC`, or `unknown`.
pub fn build_date() -> &'static str {
    &build().date
}

/// `Version.getFullVersion`, as `srvr`, `mntr` and `envi` print it.
pub fn full_version() -> &'static str {
    &build().full
}

/// `AbstractFourLetterCommand.ZK_NOT_SERVING`.
pub const ZK_NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// A command's arguments (the admin server's query parameters).
pub type Kwargs = BTreeMap<String, String>;

/// What a command found, renderable as 4lw text or JSON fields.
pub trait Report {
    /// The four-letter-word answer.
    fn text(&self) -> String;
    /// The command's own fields in the admin server's JSON.
    fn fields(&self) -> Map<String, Value>;
}

/// One registered command.
pub struct CommandSpec {
    /// The primary name first (the one the JSON's `command` shows), then
    /// the aliases.
    pub names: &'static [&'static str],
    /// The four-letter word answering with this command's text.
    pub four_letter: Option<&'static str>,
    /// Refused (with [`ZK_NOT_SERVING`]) unless the server is running.
    pub server_required: bool,
    /// Runs the command (3.8's `Command.run`), giving its report, which
    /// renders as text or JSON.
    pub run: fn(&ZooKeeperServer, &Kwargs) -> Box<dyn Report>,
}

impl CommandSpec {
    /// The name the command is registered and reported under.
    pub fn primary_name(&self) -> &'static str {
        self.names[0]
    }
}

macro_rules! command {
    ([$($name:literal),+], $word:expr, $required:expr, $run:path) => {
        CommandSpec {
            names: &[$($name),+],
            four_letter: $word,
            server_required: $required,
            run: $run,
        }
    };
}

/// Every command, as 3.8 registers them (plus the four-letter-only
/// ones 3.8 has no admin command for are mapped onto theirs).
pub static COMMANDS: &[CommandSpec] = &[
    command!(
        ["connection_stat_reset", "crst"],
        Some("crst"),
        true,
        server::crst
    ),
    command!(
        ["configuration", "conf", "config"],
        Some("conf"),
        true,
        server::conf
    ),
    command!(["connections", "cons"], Some("cons"), true, server::cons),
    command!(["hash"], Some("hash"), true, tree::hash),
    command!(["dirs"], Some("dirs"), true, server::dirs),
    command!(["dump"], Some("dump"), true, tree::dump),
    command!(
        ["environment", "env", "envi"],
        Some("envi"),
        false,
        server::envi
    ),
    command!(
        ["get_trace_mask", "gtmk"],
        Some("gtmk"),
        false,
        standalone::get_trace_mask
    ),
    command!(
        ["initial_configuration", "icfg"],
        None,
        true,
        tree::initial_configuration
    ),
    command!(["is_read_only", "isro"], Some("isro"), true, server::isro),
    command!(["last_snapshot", "lsnp"], None, true, tree::last_snapshot),
    command!(["leader", "lead"], None, true, standalone::leader),
    command!(["monitor", "mntr"], Some("mntr"), false, server::monitor),
    command!(
        ["observer_connection_stat_reset", "orst"],
        None,
        true,
        standalone::orst
    ),
    command!(["ruok"], Some("ruok"), true, server::ruok),
    command!(
        ["set_trace_mask", "stmk"],
        None,
        false,
        standalone::set_trace_mask
    ),
    command!(["server_stats", "srvr"], Some("srvr"), true, server::srvr),
    command!(["stats", "stat"], Some("stat"), true, server::stat),
    command!(["stat_reset", "srst"], Some("srst"), true, server::srst),
    command!(["observers", "obsr"], None, true, standalone::observers),
    command!(
        ["system_properties", "sysp"],
        None,
        false,
        standalone::system_properties
    ),
    command!(["voting_view"], None, true, standalone::voting_view),
    command!(["watches", "wchc"], Some("wchc"), true, tree::watches),
    command!(
        ["watches_by_path", "wchp"],
        Some("wchp"),
        true,
        tree::watches_by_path
    ),
    command!(
        ["watch_summary", "wchs"],
        Some("wchs"),
        true,
        tree::watch_summary
    ),
    command!(["zabstate"], None, false, standalone::zabstate),
];

/// The command with this name or alias.
pub fn lookup(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.names.contains(&name))
}

/// The primary names, sorted (the admin server's index page).
pub fn primary_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = COMMANDS.iter().map(|c| c.primary_name()).collect();
    v.sort_unstable();
    v
}

/// Runs the command named `name` for the admin server: the whole
/// `CommandResponse` as JSON (`command`, `error`, and the command's
/// fields).
pub fn run(zks: &ZooKeeperServer, name: &str, kwargs: &Kwargs) -> Value {
    let (command, result) = match lookup(name) {
        None => (name, Err(format!("Unknown command: {}", name))),
        Some(spec) if spec.server_required && zks.state() != State::Running => {
            (name, Err(ZK_NOT_SERVING.to_string()))
        }
        Some(spec) => (spec.primary_name(), Ok((spec.run)(zks, kwargs).fields())),
    };
    let mut m = Map::new();
    let error = match result {
        Ok(fields) => {
            m = fields;
            // A command may report its own error (e.g. `leader` on a
            // standalone server); it stays.
            m.remove("error").unwrap_or(Value::Null)
        }
        Err(e) => Value::String(e),
    };
    m.insert("command".into(), Value::String(command.into()));
    m.insert("error".into(), error);
    Value::Object(m)
}

/// The text answer to the four-letter word `word` (already checked
/// against the whitelist).
pub fn four_letter(zks: &ZooKeeperServer, word: &str) -> String {
    four_letter_on(zks, word, false)
}

/// [`four_letter`] asked on the secure client port (`secure`): `stat` and
/// `cons` list that port's connections.
pub(crate) fn four_letter_on(zks: &ZooKeeperServer, word: &str, secure: bool) -> String {
    let Some(spec) = COMMANDS.iter().find(|c| c.four_letter == Some(word)) else {
        return format!("{} is not supported by this server\n", word);
    };
    if zks.state() != State::Running {
        // Each word has its own way of saying the server is not up.
        match word {
            "ruok" | "envi" | "gtmk" => {}
            "isro" => return "null".into(),
            _ => return format!("{}\n", ZK_NOT_SERVING),
        }
    }
    let mut kw = Kwargs::new();
    if secure {
        kw.insert(server::FROM_SECURE_PORT.to_string(), String::new());
    }
    (spec.run)(zks, &kw).text()
}

/// A JSON object from (key, value) pairs.
pub(crate) fn object<I, K>(pairs: I) -> Map<String, Value>
where
    I: IntoIterator<Item = (K, Value)>,
    K: Into<String>,
{
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_words_are_unique_and_resolve() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            for n in c.names {
                assert!(seen.insert(*n), "{} registered twice", n);
                assert_eq!(lookup(n).unwrap().primary_name(), c.primary_name());
            }
        }
        for w in zk_config::ALL_FOUR_LETTER_WORDS {
            if *w != "stmk" {
                assert!(
                    COMMANDS.iter().any(|c| c.four_letter == Some(w)),
                    "{} has no command",
                    w
                );
            }
        }
        assert_eq!(lookup("mntr").unwrap().primary_name(), "monitor");
        assert_eq!(lookup("srvr").unwrap().primary_name(), "server_stats");
        assert_eq!(lookup("wchs").unwrap().primary_name(), "watch_summary");
        assert!(lookup("nope").is_none());
        let names = primary_names();
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        assert!(names.contains(&"is_read_only") && names.contains(&"last_snapshot"));
    }

    #[test]
    fn a_server_that_is_not_running_says_so() {
        use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
        use zk_persistence::zk_database::ZKDatabase;

        use crate::zookeeper_server::ZooKeeperServerConfig;

        let dir = std::env::temp_dir().join(format!("zk-commands-idle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = ZKDatabase::new(FileTxnSnapLog::open(&dir, &dir).unwrap());
        // Never started: state INITIAL.
        let zks = ZooKeeperServer::new(ZooKeeperServerConfig::with_tick_time(2000), db);
        let not_serving = format!("{}\n", ZK_NOT_SERVING);
        assert_eq!(four_letter(&zks, "srvr"), not_serving);
        assert_eq!(four_letter(&zks, "wchs"), not_serving);
        assert_eq!(four_letter(&zks, "mntr"), not_serving);
        assert_eq!(four_letter(&zks, "ruok"), "imok");
        assert_eq!(four_letter(&zks, "isro"), "null");
        assert!(four_letter(&zks, "envi").starts_with("Environment:\n"));
        assert_eq!(
            four_letter(&zks, "stmk"),
            "stmk is not supported by this server\n"
        );

        let v = run(&zks, "stat", &Kwargs::new());
        assert_eq!(v["command"], "stat");
        assert_eq!(v["error"], ZK_NOT_SERVING);
        // Commands that need no running server still answer.
        let v = run(&zks, "monitor", &Kwargs::new());
        assert_eq!(
            (v["command"].as_str(), v["error"].is_null()),
            (Some("monitor"), true)
        );
        assert_eq!(v["server_state"], "standalone");
        let v = run(&zks, "nope", &Kwargs::new());
        assert_eq!(v["error"], "Unknown command: nope");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_command_prints_a_password_or_the_super_digest() {
        const PASSWORD: &str = "Pa55-unit-keystore";
        const DIGEST: &str = "super:UnitDigestXyZ0123456789abcdefgh=";
        let h = crate::test_harness::Harness::new(&[
            ("zookeeper.ssl.keyStore.password", PASSWORD),
            ("zookeeper.ssl.quorum.trustStore.password", PASSWORD),
            ("zookeeper.DigestAuthenticationProvider.superDigest", DIGEST),
            ("zookeeper.ssl.keyStore.location", "/visible/keystore.p12"),
        ]);
        for spec in COMMANDS {
            let json = run(&h.zks, spec.primary_name(), &Kwargs::new()).to_string();
            let text = (spec.run)(&h.zks, &Kwargs::new()).text();
            for out in [&json, &text] {
                assert!(
                    !out.contains(PASSWORD) && !out.contains(DIGEST),
                    "{} printed a secret: {out}",
                    spec.primary_name()
                );
            }
        }
        // The keys are still listed, and what is no secret is shown.
        let v = run(&h.zks, "system_properties", &Kwargs::new());
        assert_eq!(v["zookeeper.ssl.keyStore.password"], "<hidden>");
        assert_eq!(
            v["zookeeper.DigestAuthenticationProvider.superDigest"],
            "<hidden>"
        );
        assert_eq!(
            v["zookeeper.ssl.keyStore.location"],
            "/visible/keystore.p12"
        );
    }

    #[test]
    fn version_looks_like_apache_zookeeper_3_8() {
        let b = make_build("abc1234", "2026-12-03 10:00 UTC");
        assert!(b.full.starts_with("3.8.0-zk-rs-"));
        assert!(b.version.ends_with("-abc1234"));
        assert_eq!(
            b.full,
            format!("{}, built on 2026-12-03 10:00 UTC", b.version)
        );
        assert!(full_version().starts_with(version()));
        assert!(full_version().ends_with(build_date()));
    }
}
