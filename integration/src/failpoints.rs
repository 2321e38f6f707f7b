//! A second `zk-bin`, built with its failpoints compiled in
//! (`--features failpoints`, see `zk_persistence::failpoint`), in a target
//! directory of its own (`<target>/failpoints`): built into the ordinary
//! target directory, the feature would also land in the zk-bin every
//! other test runs, since cargo unifies features per build.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The failpoint build of zk-bin, built once per test process (cargo
/// decides whether anything changed). `Err` says why it could not be
/// built; a test prints it as `skipped: ...`.
pub fn zk_bin_with_failpoints() -> Result<PathBuf, String> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(build).clone()
}

fn build() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // A test runs as <target>/<profile>/deps/<test>.
    let target = exe
        .ancestors()
        .nth(3)
        .ok_or("cannot tell the target directory from the test's path")?;
    let target_dir = target.join("failpoints");
    let out = Command::new(env!("CARGO"))
        .args(["build", "-p", "zk-bin", "--features", "failpoints"])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build -p zk-bin --features failpoints failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let bin = target_dir.join("debug").join("zk-bin");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} was not built", bin.display()))
    }
}

use std::time::Duration;

use crate::ensemble::{bounded, Ensemble, EnsembleConfig, NodeKind};

/// A 3-node zk-bin ensemble (the harness's timing: tickTime 1000,
/// initLimit 10, syncLimit 5) running the failpoint build; `None` after
/// printing `skipped: ...` when that cannot be built or run.
pub fn failpoint_ensemble() -> Option<Ensemble> {
    failpoint_ensemble_with_env(&[])
}

/// [`failpoint_ensemble`] with further environment for every node (e.g.
/// `JVMFLAGS=-Dzookeeper.forceSnapshotSync=true`).
pub fn failpoint_ensemble_with_env(env: &[(&str, &str)]) -> Option<Ensemble> {
    let bin = match zk_bin_with_failpoints() {
        Ok(bin) => bin,
        Err(why) => {
            println!("skipped: no zk-bin with failpoints: {why}");
            return None;
        }
    };
    let mut cfg = EnsembleConfig::uniform(NodeKind::ZkBin, 3);
    cfg.zk_bin = Some(bin);
    cfg.zk_bin_env = vec![("RUST_LOG".into(), "info".into())];
    cfg.zk_bin_env
        .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Ensemble::new_or_skip(cfg)
}

/// Creates `/{dir}/w-<n>` for `n` in `range` through node `i` alone, each
/// holding its own path (what [`Ensemble::check_acked`] checks); `dir`
/// itself is created if missing. Returns the acknowledged paths; any
/// failure is an error.
pub fn create_through(
    e: &Ensemble,
    i: usize,
    dir: &str,
    range: std::ops::Range<usize>,
) -> Result<Vec<String>, String> {
    let client = e.client(i)?;
    let dir = format!("/{}", dir.trim_start_matches('/'));
    e.block_on(async {
        let opts = zookeeper_client::CreateMode::Persistent
            .with_acls(zookeeper_client::Acls::anyone_all());
        match bounded(client.create(&dir, b"", &opts)).await {
            Ok(_) => {}
            Err(e) if e.contains("exist") => {}
            Err(e) => return Err(format!("create {dir}: {e}")),
        }
        let mut acked = Vec::new();
        for n in range {
            let path = format!("{dir}/w-{n:06}");
            bounded(client.create(&path, path.as_bytes(), &opts))
                .await
                .map_err(|e| format!("create {path} through node {}: {e}", i + 1))?;
            acked.push(path);
        }
        Ok(acked)
    })
}

/// The number in `dataDir/version-2/<name>` of node `i` (`currentEpoch`,
/// `acceptedEpoch`).
pub fn epoch_file(e: &Ensemble, i: usize, name: &str) -> Result<i64, String> {
    let path = e.data_dir(i).join("version-2").join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    text.trim()
        .parse()
        .map_err(|err| format!("{} holds {text:?}: {err}", path.display()))
}

/// Waits until node `i`'s log of this run contains `needle`.
pub fn wait_log(e: &Ensemble, i: usize, needle: &str, timeout: Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if e.log_text(i).contains(needle) {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "node {} did not log {needle:?} within {timeout:?}\n{}",
                i + 1,
                e.describe()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
