//! Stamps the build, as Apache's Maven build stamps `Info.REVISION_HASH`
//! and `Info.BUILD_DATE`: the git commit (short) and a build date in 3.8's
//! `yyyy-MM-dd HH:mm UTC` form, which `main` hands to zk-server's
//! `commands::set_build` before anything runs. Stamped here, in the top
//! crate, so that a commit rebuilds only zk-bin, not zk-server and
//! everything built on it.
//!
//! The date is `SOURCE_DATE_EPOCH` when set (reproducible builds), else the
//! commit's date, never the wall clock: the same commit builds the same
//! binary, and cargo reruns this only when HEAD moves, not on every build.
//! Without git (a source tarball) both fall back to "unknown".

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn build_date(epoch: i64) -> String {
    let (y, m, d) = civil_from_days(epoch.div_euclid(86_400));
    let secs = epoch.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // HEAD (per worktree) and the branch it names (in the common dir) move
    // on every commit; packed-refs when a gc packs the branch.
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        println!(
            "cargo:rerun-if-changed={}",
            PathBuf::from(&git_dir).join("HEAD").display()
        );
    }
    if let (Some(common), Some(head_ref)) = (
        git(&["rev-parse", "--git-common-dir"]),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ) {
        let common = PathBuf::from(common);
        // Only paths that exist: cargo reruns a build script on every
        // build while a path it watches is missing (an unpacked repository
        // has no packed-refs, a packed branch no loose ref file). A packed
        // branch's next commit writes its loose file: watch the directory
        // that will hold it until then.
        let loose = common.join(&head_ref);
        let watched = if loose.exists() {
            Some(loose)
        } else {
            loose.parent().map(PathBuf::from)
        };
        for path in watched.into_iter().chain([common.join("packed-refs")]) {
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .or_else(|| git(&["log", "-1", "--format=%ct"]).and_then(|s| s.parse().ok()));
    let date = epoch.map_or_else(|| "unknown".to_string(), build_date);
    println!("cargo:rustc-env=ZK_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=ZK_BUILD_DATE={date}");
}
