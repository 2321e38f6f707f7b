//! Can this machine run an ensemble of the given kinds? Apache nodes need
//! Java and Debian's ZooKeeper 3.8; zk-bin nodes need a zk-bin that runs
//! replicated configs, which one short probe per process finds out.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{EnsembleError, NodeKind, ZK_BIN_NOT_REPLICATED};
use crate::apache::{ApacheZk, ServerConfig};
use crate::ports::{free_port_except, TempDir};
use crate::zk_bin::{zk_bin, ZkBinServer};

/// Whether this workspace's `zk-bin` runs a config with server lines
/// (checked once per process): `Ok(false)` when it exits 2 with its
/// refusal, `Ok(true)` when it keeps running and opens its ports.
pub fn zk_bin_runs_replicated() -> Result<bool, String> {
    static ANSWER: OnceLock<Result<bool, String>> = OnceLock::new();
    ANSWER.get_or_init(probe_zk_bin).clone()
}

fn probe_zk_bin() -> Result<bool, String> {
    zk_bin()?;
    let work = TempDir::new("zk-ens-probe").map_err(|e| format!("temp dir: {e}"))?;
    let mut used = Vec::new();
    let mut port = || -> Result<u16, String> {
        let p = free_port_except(&used).map_err(|e| format!("no free port: {e}"))?;
        used.push(p);
        Ok(p)
    };
    let mut servers = Vec::new();
    let mut client_port = 0;
    let mut election_port = 0;
    for sid in 1..=3u64 {
        let (cp, qp, ep) = (port()?, port()?, port()?);
        if sid == 1 {
            (client_port, election_port) = (cp, ep);
        }
        servers.push((sid, format!("127.0.0.1:{qp}:{ep}:participant")));
    }
    let data = work.join("data");
    let mut cfg = ServerConfig::new(work.path(), &data, client_port);
    cfg.servers = servers;
    cfg.pre_alloc_kb = 64;
    std::fs::create_dir_all(&data).map_err(|e| format!("mkdir {}: {e}", data.display()))?;
    std::fs::write(data.join("myid"), "1\n").map_err(|e| format!("write myid: {e}"))?;
    let cfg_path = work.join("zoo.cfg");
    std::fs::write(&cfg_path, cfg.zoo_cfg()).map_err(|e| format!("write zoo.cfg: {e}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], client_port));
    let mut server = ZkBinServer::spawn(&cfg_path, addr, &work.join("probe.log"), &[])?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait() {
            let log = server.log_text();
            return if status.code() == Some(2) && log.contains("replicated mode") {
                Ok(false)
            } else {
                Err(format!(
                    "zk-bin exited with {status} on a replicated config; log:\n{log}"
                ))
            };
        }
        let listening = [client_port, election_port].iter().any(|&p| {
            std::net::TcpStream::connect_timeout(
                &SocketAddr::from(([127, 0, 0, 1], p)),
                Duration::from_millis(200),
            )
            .is_ok()
        });
        if listening || Instant::now() >= deadline {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ok when this machine can run nodes of every one of `kinds`: Java and
/// Debian's ZooKeeper 3.8 for Apache nodes, a `zk-bin` that runs replicated
/// configs for ours. A test that will [`Ensemble::replace`](super::Ensemble::replace) nodes by
/// another kind checks that kind here first.
pub fn can_run(kinds: &[NodeKind]) -> Result<(), EnsembleError> {
    if kinds.contains(&NodeKind::Apache) {
        ApacheZk::available().map_err(EnsembleError::Skipped)?;
    }
    if kinds.contains(&NodeKind::ZkBin) {
        match zk_bin_runs_replicated() {
            Ok(true) => {}
            Ok(false) => return Err(EnsembleError::Skipped(ZK_BIN_NOT_REPLICATED.into())),
            Err(e) => return Err(EnsembleError::Failed(e)),
        }
    }
    Ok(())
}

/// [`can_run`] for a test: prints `skipped: ...` and gives false when the
/// machine cannot, panics on a real failure.
pub fn can_run_or_skip(kinds: &[NodeKind]) -> bool {
    match can_run(kinds) {
        Ok(()) => true,
        Err(EnsembleError::Skipped(why)) => {
            println!("skipped: {why}");
            false
        }
        Err(EnsembleError::Failed(why)) => panic!("{why}"),
    }
}
