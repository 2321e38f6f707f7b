//! ARCHITECTURE.md's tables that map ZooKeeper 3.8 names to Rust items
//! stay true: every row of a table with a "Rust item" and a "file" column
//! names an item that the file defines, and the glossary covers every name
//! of 3.8's startup flow.
//!
//! An item is written `Name` (a struct, enum, trait, type alias, const,
//! static, fn or module of that name anywhere in the file, nested modules
//! included) or `Type::method` (a fn in an `impl Type` or
//! `impl Trait for Type` block in the file). The file is parsed with `syn`,
//! so a name in a comment or a string does not count.

use std::path::Path;

use syn::visit::Visit;

/// The names the issue that introduced the glossary asks it to cover:
/// 3.8's startup and request flow, in the words of its classes.
const MUST_COVER: &[&str] = &[
    "QuorumPeerMain",
    "QuorumPeerConfig",
    "DatadirCleanupManager",
    "ZooKeeperServerMain",
    "ServerStats",
    "FileTxnSnapLog",
    "ServerCnxnFactory",
    "NIOServerCnxnFactory",
    "NIOServerCnxn",
    "ZKDatabase",
    "SessionTracker",
    "PrepRequestProcessor",
    "SyncRequestProcessor",
    "FinalRequestProcessor",
    "ProposalRequestProcessor",
    "CommitProcessor",
    "Leader.ToBeAppliedRequestProcessor",
    "AckRequestProcessor",
    "FollowerRequestProcessor",
    "SendAckRequestProcessor",
    "ObserverRequestProcessor",
    "QuorumPeer",
    "QuorumPeer.start",
    "QuorumPeer.run",
    "QuorumPeer.loadDataBase",
    "QuorumPeer.startServerCnxnFactory",
    "QuorumPeer.startLeaderElection",
    "QuorumCnxManager",
    "QuorumCnxManager.Listener",
    "QuorumCnxManager.SendWorker",
    "QuorumCnxManager.RecvWorker",
    "FastLeaderElection",
    "FastLeaderElection.Messenger.WorkerSender",
    "FastLeaderElection.Messenger.WorkerReceiver",
    "Leader",
    "Leader.LearnerCnxAcceptor",
    "LearnerHandler",
    "Learner",
    "Follower",
    "Observer",
];

fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// One row of a mapping table: the 3.8 name, the Rust item, the file.
#[derive(Debug)]
struct Row {
    line: usize,
    zookeeper: String,
    item: String,
    file: String,
}

fn cells(line: &str) -> Vec<String> {
    let trimmed = line.trim().trim_start_matches('|').trim_end_matches('|');
    trimmed
        .split('|')
        .map(|c| c.trim().trim_matches('`').trim().to_string())
        .collect()
}

/// Every row of every table whose header has a "Rust item" and a "file"
/// column (case-insensitive); the first column is the 3.8 name.
fn mapping_rows(markdown: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut columns: Option<(usize, usize)> = None;
    for (i, line) in markdown.lines().enumerate() {
        if !line.trim_start().starts_with('|') {
            columns = None;
            continue;
        }
        let cs = cells(line);
        if cs
            .iter()
            .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
        {
            continue;
        }
        match columns {
            None => {
                let item = cs.iter().position(|c| c.eq_ignore_ascii_case("rust item"));
                let file = cs.iter().position(|c| c.eq_ignore_ascii_case("file"));
                // A table without both columns is some other table.
                columns = Some((item.unwrap_or(usize::MAX), file.unwrap_or(usize::MAX)));
            }
            Some((item, file)) if item != usize::MAX && file != usize::MAX => {
                assert!(
                    cs.len() > item.max(file),
                    "ARCHITECTURE.md line {}: row has {} cells, the table has a column {}",
                    i + 1,
                    cs.len(),
                    item.max(file) + 1
                );
                rows.push(Row {
                    line: i + 1,
                    zookeeper: cs[0].clone(),
                    item: cs[item].clone(),
                    file: cs[file].clone(),
                });
            }
            Some(_) => {}
        }
    }
    rows
}

/// What a file defines: top-level-or-nested named items, and the fns of
/// each impl block keyed by the impl's self type.
#[derive(Default)]
struct Defined {
    items: Vec<String>,
    methods: Vec<(String, String)>,
}

impl<'ast> Visit<'ast> for Defined {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let name = match item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            syn::Item::Trait(t) => Some(t.ident.to_string()),
            syn::Item::Type(t) => Some(t.ident.to_string()),
            syn::Item::Const(c) => Some(c.ident.to_string()),
            syn::Item::Static(s) => Some(s.ident.to_string()),
            syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
            syn::Item::Mod(m) => Some(m.ident.to_string()),
            _ => None,
        };
        self.items.extend(name);
        if let syn::Item::Macro(m) = item {
            // A record declared through a macro (`jute_record! { pub struct
            // QuorumPacket { .. } }`) is defined by the macro's expansion.
            let tokens = m.mac.tokens.to_string();
            let words: Vec<&str> = tokens.split_whitespace().collect();
            for pair in words.windows(2) {
                if matches!(pair[0], "struct" | "enum" | "fn") {
                    self.items.push(pair[1].to_string());
                }
            }
        }
        if let syn::Item::Trait(t) = item {
            for it in &t.items {
                if let syn::TraitItem::Fn(f) = it {
                    self.methods
                        .push((t.ident.to_string(), f.sig.ident.to_string()));
                }
            }
        }
        if let syn::Item::Impl(imp) = item {
            if let syn::Type::Path(p) = &*imp.self_ty {
                if let Some(last) = p.path.segments.last() {
                    for it in &imp.items {
                        if let syn::ImplItem::Fn(f) = it {
                            self.methods
                                .push((last.ident.to_string(), f.sig.ident.to_string()));
                        }
                    }
                }
            }
        }
        syn::visit::visit_item(self, item);
    }
}

fn defined(source: &str) -> Result<Defined, String> {
    let file = syn::parse_file(source).map_err(|e| e.to_string())?;
    let mut d = Defined::default();
    d.visit_file(&file);
    Ok(d)
}

/// Whether `item` (`Name` or `Type::method`) is defined in `source`.
fn defines(source: &str, item: &str) -> Result<bool, String> {
    let d = defined(source)?;
    Ok(match item.split_once("::") {
        Some((ty, method)) => d.methods.iter().any(|(t, m)| t == ty && m == method),
        None => d.items.iter().any(|i| i == item),
    })
}

#[test]
fn the_checker_tells_present_from_absent() {
    let src = "mod a { pub struct Leader; impl Leader { fn lead(&self) {} } }\n\
               // struct Follower\n\
               fn run() {}\n\
               trait Role { fn setup(&self); }\n\
               macro_rules! rec { ($($t:tt)*) => {} }\n\
               rec! { pub struct Packet { a: i32 } }\n\
               impl std::fmt::Display for Leader { fn fmt(&self, _: &mut std::fmt::Formatter) -> std::fmt::Result { Ok(()) } }";
    assert!(defines(src, "Leader").unwrap());
    assert!(defines(src, "Leader::lead").unwrap());
    assert!(defines(src, "Leader::fmt").unwrap());
    assert!(defines(src, "run").unwrap());
    assert!(defines(src, "Role::setup").unwrap(), "a trait's method");
    assert!(
        !defines(src, "setup").unwrap(),
        "a trait's method is not a free fn"
    );
    assert!(
        defines(src, "Packet").unwrap(),
        "a struct declared in a macro call"
    );
    assert!(
        !defines(src, "Follower").unwrap(),
        "a comment is not a definition"
    );
    assert!(!defines(src, "Leader::follow").unwrap());
    assert!(!defines(src, "a::Leader::lead").unwrap());
    let rows = mapping_rows(
        "| ZooKeeper 3.8 | Rust item | file |\n|---|---|---|\n| `Leader` | `Leader` | `x.rs` |\n\n| a | b |\n|---|---|\n| c | d |\n",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].item.as_str(), rows[0].file.as_str()),
        ("Leader", "x.rs")
    );
}

#[test]
fn every_glossary_item_exists_where_it_says() {
    let arch = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md is readable");
    let rows = mapping_rows(&arch);
    assert!(
        rows.len() >= MUST_COVER.len(),
        "ARCHITECTURE.md has only {} mapping rows",
        rows.len()
    );
    let mut missing = Vec::new();
    for row in &rows {
        let path = workspace_root().join(&row.file);
        let source = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                missing.push(format!("line {}: {} — {e}", row.line, row.file));
                continue;
            }
        };
        match defines(&source, &row.item) {
            Ok(true) => {}
            Ok(false) => missing.push(format!(
                "line {}: {} (for {}) is not defined in {}",
                row.line, row.item, row.zookeeper, row.file
            )),
            Err(e) => missing.push(format!(
                "line {}: {} does not parse: {e}",
                row.line, row.file
            )),
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names items that are not there:\n{}",
        missing.join("\n")
    );

    let named: Vec<&str> = rows.iter().map(|r| r.zookeeper.as_str()).collect();
    let uncovered: Vec<&&str> = MUST_COVER.iter().filter(|n| !named.contains(n)).collect();
    assert!(
        uncovered.is_empty(),
        "the glossary lacks rows for {uncovered:?}"
    );
}
