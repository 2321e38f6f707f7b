//! The workspace's layering: each zk-* crate depends (normally or at build
//! time) only on zk-* crates below it. Dev-dependencies may point anywhere.

use std::process::Command;

const LAYERS: [&str; 6] = [
    "zk-config",
    "zk-persistence",
    "zk-election",
    "zk-server",
    "zk-quorum",
    "zk-bin",
];

#[test]
fn crates_depend_only_on_lower_layers() {
    let meta = workspace_metadata();
    let packages = meta["packages"].as_array().unwrap();
    let mut bad = Vec::new();
    for layer in LAYERS {
        let pkg = packages
            .iter()
            .find(|p| p["name"] == layer)
            .unwrap_or_else(|| panic!("crate {layer} is missing from the workspace"));
        let rank = LAYERS.iter().position(|l| *l == layer).unwrap();
        for dep in pkg["dependencies"].as_array().unwrap() {
            if dep["kind"] == "dev" {
                continue;
            }
            let name = dep["name"].as_str().unwrap();
            if let Some(dep_rank) = LAYERS.iter().position(|l| *l == name) {
                if dep_rank >= rank {
                    bad.push(format!("{layer} -> {name}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "edges pointing up the stack: {bad:?}");
}

/// The library target's name of package `name`, if the metadata lists it.
fn lib_name(meta: &serde_json::Value, name: &str) -> Option<String> {
    meta["packages"]
        .as_array()?
        .iter()
        .filter(|p| p["name"] == name)
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib" || k == "rlib"))
        })
        .and_then(|t| t["name"].as_str().map(str::to_string))
}

/// Every normal dependency a workspace crate declares is used by its
/// code, so the layering above checks edges that exist (an unused
/// `zk-*` dependency would hold a layer in place for nothing).
#[test]
fn declared_dependencies_are_used() {
    let meta = workspace_metadata();
    // Every package this host builds, dependencies too: their library
    // targets' names (other platforms' crates need not be downloaded).
    let all = metadata(&["--filter-platform", &host_triple()]);
    let mut unused = Vec::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let manifest = std::path::Path::new(pkg["manifest_path"].as_str().unwrap());
        let dir = manifest.parent().unwrap();
        let mut sources = String::new();
        collect_rs(&dir.join("src"), &mut sources);
        for dep in pkg["dependencies"].as_array().unwrap() {
            if dep["kind"] == "dev" || dep["kind"] == "build" {
                continue;
            }
            // The name code uses: a rename, else the library target's
            // name (md-5's is md5), else the package's.
            let ident = dep["rename"]
                .as_str()
                .map(str::to_string)
                .or_else(|| lib_name(&all, dep["name"].as_str().unwrap()))
                .unwrap_or_else(|| dep["name"].as_str().unwrap().to_string())
                .replace('-', "_");
            let used = sources.contains(&format!("{ident}::"))
                || sources.contains(&format!("use {ident}"))
                || sources.contains(&format!("{ident}!"));
            if !used {
                unused.push(format!("{} -> {}", pkg["name"], dep["name"]));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "dependencies declared but not used in src/: {unused:?}"
    );
}

fn collect_rs(dir: &std::path::Path, into: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

/// `cargo metadata` of the workspace's own packages.
fn workspace_metadata() -> serde_json::Value {
    metadata(&["--no-deps"])
}

/// The host's target triple, as rustc names it.
fn host_triple() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host")
}

/// `cargo metadata` with `extra` arguments.
fn metadata(extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(extra)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta
}
