//! Apache ZooKeeper's own zkCli, unmodified, against zk-bin: the same
//! script against Apache ZooKeeper 3.8 and against us must print the same
//! thing (times and session ids aside).

use std::time::Duration;

use integration::apache::{ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::ZkBinServer;
use integration::zkcli::answers;

const SCRIPT: &str = "\
create /a x
addauth digest u:p
create -s -e /a/e- y
setAcl /a auth:u:p:cdrwa
getAcl /a
ls -s /a
ls -R /
get -s /a
set -v 0 /a z
get /a
set -v 0 /a stale
create -c /c
stat /c
sync /a
addWatch -m PERSISTENT_RECURSIVE /a
removewatches /a
delete /a
deleteall /a
ls /
quit
";

#[test]
fn zkcli_sees_the_same_answers_from_zk_bin_as_from_apache() {
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: zkCli needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let work = TempDir::new("zk-zkcli").unwrap();
    let script = work.join("script.txt");
    std::fs::write(&script, SCRIPT).unwrap();
    let timeout = Duration::from_secs(60);

    let ours_dir = TempDir::new("zk-zkcli-ours").unwrap();
    let ours =
        ZkBinServer::start(&ours_dir, free_port().unwrap(), "").unwrap_or_else(|e| panic!("{e}"));
    let ours_out = zk
        .zk_cli(&ours.addr.to_string(), &script, timeout)
        .unwrap_or_else(|e| panic!("{e}"));

    let apache_port = free_port().unwrap();
    let apache = zk
        .start(&ServerConfig::new(
            work.path(),
            &work.join("apache-data"),
            apache_port,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let theirs_out = zk
        .zk_cli(&apache.addr().to_string(), &script, timeout)
        .unwrap_or_else(|e| panic!("{e}"));

    let (ours_a, theirs_a) = (answers(&ours_out), answers(&theirs_out));
    // The script must really have run: spot-check a few answers.
    for expected in [
        "Created /a/e-0000000000",
        "'digest,'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=",
        "Sync is OK",
    ] {
        assert!(
            theirs_a.iter().any(|l| l == expected),
            "Apache's zkCli output lacks {expected:?}:\n{theirs_out}"
        );
    }
    assert_eq!(
        ours_a, theirs_a,
        "zkCli answered differently.\n--- zk-bin ---\n{ours_out}\n--- Apache ---\n{theirs_out}"
    );
    println!(
        "zkCli: {} answer lines, identical:\n{}",
        ours_a.len(),
        ours_a.join("\n")
    );
}
