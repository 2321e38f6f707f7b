//! Disk faults at the process level: a txn log directory that fills up
//! under a write load. Acknowledgements stop, no write is acknowledged
//! that is not durable, and once space returns the server restarted on the
//! same directories has every acknowledged write. zk-bin and Apache
//! ZooKeeper 3.8 (the control) run the same test; what each did is
//! printed.
//!
//! The log directory is a small tmpfs, so the test needs root (`mount`);
//! without it, or without Java for the control, it prints `skipped: ...`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use integration::apache::{ApacheServer, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::workload::connect;
use integration::zk_bin::ZkBinServer;
use zookeeper_client::{Acls, CreateMode};

const BOUND: Duration = Duration::from_secs(30);
/// Small enough to fill in a few hundred 4 KiB creates.
const LOG_DISK_KB: u32 = 768;
const VALUE: usize = 4096;

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, kb: u32) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kb}k"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }

    fn grow(&self, kb: u32) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={kb}k")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remount {}: {out:?}",
            self.0.display()
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// One server under test, of either kind.
enum Server {
    ZkBin(ZkBinServer),
    Apache(ApacheServer),
}

impl Server {
    fn exited(&mut self) -> Option<String> {
        match self {
            Server::ZkBin(s) => s.try_wait().map(|st| format!("exited ({st})")),
            Server::Apache(s) => s.pid().is_none().then(|| "exited".to_string()).or_else(|| {
                // ApacheServer keeps its child; a dead JVM no longer
                // answers srvr.
                s.four_letter("srvr")
                    .is_err()
                    .then(|| "stopped answering".to_string())
            }),
        }
    }

    fn log(&self) -> String {
        match self {
            Server::ZkBin(s) => s.log_text(),
            Server::Apache(s) => s.log_text(),
        }
    }

    fn stop(&mut self) {
        match self {
            Server::ZkBin(s) => s.kill_9(),
            Server::Apache(s) => {
                let _ = s.kill();
            }
        }
    }
}

struct Setup {
    work: TempDir,
    port: u16,
    logs: PathBuf,
}

fn start(kind: &str, s: &Setup) -> Result<Server, String> {
    let extra = format!(
        "dataLogDir={}\npreAllocSize=64\nsnapCount=1000000\n",
        s.logs.display()
    );
    match kind {
        "zk-bin" => ZkBinServer::start(&s.work, s.port, &extra).map(Server::ZkBin),
        _ => {
            let zk = ApacheZk::find()?;
            let mut cfg = ServerConfig::new(s.work.path(), &s.work.join("data"), s.port);
            cfg.pre_alloc_kb = 64;
            cfg.snap_count = 1_000_000;
            cfg.extra_cfg
                .push(("dataLogDir".to_string(), s.logs.display().to_string()));
            zk.start(&cfg).map(Server::Apache)
        }
    }
}

/// Creates 4 KiB nodes until a create fails; returns the acknowledged
/// paths and the first failure.
fn write_until_full(rt: &tokio::runtime::Runtime, cs: &str) -> (Vec<String>, String) {
    rt.block_on(async {
        let c = connect(cs, &[], None, false, BOUND).await.unwrap();
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        c.create("/full", b"", &all).await.unwrap();
        let mut acked = Vec::new();
        let value = vec![b'x'; VALUE];
        for i in 0..100_000 {
            let path = format!("/full/n{i:06}");
            match tokio::time::timeout(Duration::from_secs(10), c.create(&path, &value, &all)).await
            {
                Ok(Ok(_)) => acked.push(path),
                Ok(Err(e)) => return (acked, format!("create {path}: {e}")),
                Err(_) => return (acked, format!("create {path}: no answer within 10 s")),
            }
        }
        panic!(
            "{} creates of 4 KiB fit on a {LOG_DISK_KB} KiB disk",
            acked.len()
        );
    })
}

fn check_acked(rt: &tokio::runtime::Runtime, cs: &str, acked: &[String]) -> Result<(), String> {
    rt.block_on(async {
        let c = connect(cs, &[], None, false, BOUND).await?;
        for p in acked {
            match c.get_data(p).await {
                Ok((data, _)) if data.len() == VALUE => {}
                other => return Err(format!("acknowledged {p} after restart: {other:?}")),
            }
        }
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        c.create("/full/after", b"ok", &all)
            .await
            .map_err(|e| format!("a write once space returned: {e}"))?;
        Ok(())
    })
}

fn full_log_disk(kind: &str) {
    if kind == "apache" {
        if let Err(why) = ApacheZk::available() {
            println!("skipped: {why}");
            return;
        }
    }
    let work = TempDir::new(&format!("zk-disk-full-{kind}")).unwrap();
    let logs = work.join("logs");
    let disk = match Tmpfs::mount(&logs, LOG_DISK_KB) {
        Ok(d) => d,
        Err(why) => {
            println!("skipped: cannot mount a small tmpfs for the txn log ({why})");
            return;
        }
    };
    let setup = Setup {
        port: free_port().unwrap(),
        work,
        logs,
    };
    let cs = format!("127.0.0.1:{}", setup.port);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut server = start(kind, &setup).unwrap_or_else(|e| panic!("{e}"));
    let (acked, failure) = write_until_full(&rt, &cs);
    assert!(
        acked.len() > 10,
        "{kind}: only {} creates before {failure}",
        acked.len()
    );

    // Once a create has failed, no later write may be acknowledged while
    // the disk is still full.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut state = None;
    while Instant::now() < deadline && state.is_none() {
        state = server.exited();
        std::thread::sleep(Duration::from_millis(100));
    }
    let late = rt.block_on(async {
        let Ok(c) = connect(&cs, &[], None, false, Duration::from_secs(3)).await else {
            return "no session".to_string();
        };
        let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
        match tokio::time::timeout(Duration::from_secs(5), c.create("/full/late", b"", &all)).await
        {
            Ok(Ok(_)) => "acknowledged".to_string(),
            Ok(Err(e)) => format!("{e}"),
            Err(_) => "no answer".to_string(),
        }
    });
    assert_ne!(
        late, "acknowledged",
        "{kind}: a write was acknowledged on a full log disk"
    );
    if kind == "zk-bin" {
        // 3.8's ExitCode.UNEXPECTED_ERROR, as its SyncThread reports it.
        assert_eq!(
            state.as_deref(),
            Some("exited (exit status: 1)"),
            "zk-bin on a full log disk"
        );
    }
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("No space left") || l.contains("Severe unrecoverable"))
        .unwrap_or("(no line about the disk)")
        .to_string();
    println!(
        "{kind}: {} acknowledged creates, then {failure}; the server {}; a later write: {late}; log: {line}",
        acked.len(),
        state.as_deref().unwrap_or("kept running")
    );

    // Space returns; the server on the same directories has them all.
    server.stop();
    disk.grow(65536);
    let mut server = start(kind, &setup).unwrap_or_else(|e| panic!("{kind}: restart: {e}"));
    check_acked(&rt, &cs, &acked).unwrap_or_else(|e| panic!("{kind}: {e}\n{}", server.log()));
    println!(
        "{kind}: after space returned, all {} acknowledged creates are there and writes work",
        acked.len()
    );
    server.stop();
}

#[test]
fn a_full_txn_log_disk_loses_no_acknowledged_write_zk_bin() {
    full_log_disk("zk-bin");
}

#[test]
fn a_full_txn_log_disk_loses_no_acknowledged_write_apache() {
    full_log_disk("apache");
}
