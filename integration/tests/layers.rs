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
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
