//! Quotas (issue 14): zkCli's `setquota` / `listquota` / `delquota`, the
//! `zookeeper_stats` counts the server keeps, and with `enforceQuota=true`
//! the writes a hard limit refuses (QUOTAEXCEEDED), against zk-bin and
//! against Apache ZooKeeper 3.8 with the same script: the answers must be
//! the same, line for line, with enforcement on and off.
//! Without Java or Debian's ZooKeeper the test prints `skipped: ...`.

use std::time::Duration;

use integration::apache::{ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::ZkBinServer;
use integration::zkcli::answers;

/// Soft and hard count and byte limits, each crossed once; the counts
/// read back after every kind of write, a quota nested in another, and
/// the quota removed.
const SCRIPT: &str = "\
create /q x
create /q/a 12345
setquota -n 3 /q
listquota /q
create /q/b y
create /q/c z
get /zookeeper/quota/q/zookeeper_stats
delquota -n /q
setquota -N 4 /q
create /q/d w
create /q/c/e v
listquota /q
delete /q/c
create /q/d w
listquota /q
delquota /q
setquota -B 10 /q
set /q/a 1234567890123
set /q/a 12
listquota /q
create /q/a/n 1
setquota -b 2 /q/a/n
set /q/a/n 12345
listquota /q/a/n
listquota /q
deleteall /q
listquota /q
ls /zookeeper/quota
quit
";

fn run(zk: &ApacheZk, enforce: bool) -> (Vec<String>, Vec<String>) {
    let work = TempDir::new("zk-quota").unwrap();
    let script = work.join("script.txt");
    std::fs::write(&script, SCRIPT).unwrap();
    let timeout = Duration::from_secs(60);
    let extra = if enforce { "enforceQuota=true\n" } else { "" };

    let ours_dir = TempDir::new("zk-quota-ours").unwrap();
    let ours = ZkBinServer::start(&ours_dir, free_port().unwrap(), extra)
        .unwrap_or_else(|e| panic!("{e}"));
    let ours_out = zk
        .zk_cli(&ours.addr.to_string(), &script, timeout)
        .unwrap_or_else(|e| panic!("{e}"));

    let mut cfg = ServerConfig::new(work.path(), &work.join("apache-data"), free_port().unwrap());
    if enforce {
        cfg.extra_cfg.push(("enforceQuota".into(), "true".into()));
    }
    let apache = zk.start(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let theirs_out = zk
        .zk_cli(&apache.addr().to_string(), &script, timeout)
        .unwrap_or_else(|e| panic!("{e}"));
    let (ours_a, theirs_a) = (answers(&ours_out), answers(&theirs_out));
    assert_eq!(
        ours_a, theirs_a,
        "zkCli answered differently (enforceQuota={enforce}).\n--- zk-bin ---\n{ours_out}\n\
         --- Apache ---\n{theirs_out}"
    );
    (ours_a, theirs_a)
}

#[test]
fn quotas_answer_as_apache_with_and_without_enforcement() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let (enforced, _) = run(&zk, true);
    let text = enforced.join("\n");
    // The script must really have crossed the limits: a hard count limit
    // and a hard byte limit each refused a write.
    assert!(
        enforced
            .iter()
            .filter(|l| l.contains("Quota has exceeded"))
            .count()
            >= 2,
        "no QUOTAEXCEEDED in:\n{text}"
    );
    assert!(text.contains("count=4,bytes="), "{text}");
    let (free, _) = run(&zk, false);
    assert!(
        !free.iter().any(|l| l.contains("Quota has exceeded")),
        "{}",
        free.join("\n")
    );
    println!(
        "quotas: {} answer lines enforced, {} not, identical to Apache's:\n{text}",
        enforced.len(),
        free.len()
    );
}
