//! Finds (building it if needed) the `zk-bin` executable of this workspace,
//! for tests that run it as a separate process.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `zk-bin` binary of the same build profile as the running test.
/// `cargo test --workspace` builds it already; otherwise it is built once.
pub fn zk_bin() -> Result<PathBuf, String> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // target/<profile>/deps/<test> -> target/<profile>/zk-bin
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .ok_or("cannot tell the target directory from the test's path")?;
        let bin = profile_dir.join("zk-bin");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "-p", "zk-bin"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        if release {
            build.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            build.env("CARGO_TARGET_DIR", target_dir);
        }
        // Cargo decides whether anything changed; this is quick when the
        // workspace build already made it.
        let out = build
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo build -p zk-bin failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if bin.exists() {
            Ok(bin)
        } else {
            Err(format!("{} was not built", bin.display()))
        }
    })
    .clone()
}

/// Runs `zk-bin ARGS` and returns its stdout, or stderr as the error.
pub fn run_zk_bin(args: &[&str]) -> Result<String, String> {
    let out = Command::new(zk_bin()?)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run zk-bin: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "zk-bin {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
