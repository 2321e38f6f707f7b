//! What the reconfig tests (issue 13) need of an ensemble: every node with
//! `reconfigEnabled=true` and `super:test` as its super user (3.8 lets only
//! the super user, or a client with write permission on
//! `/zookeeper/config`, reconfig), each node's server line as 3.8 prints it
//! in `/zookeeper/config`, and a node's dynamic config file
//! (`zoo.cfg.dynamic.<version>` beside its zoo.cfg).

use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use super::{Ensemble, EnsembleConfig, Mode, Node, NodeKind};
use crate::apache::ApacheZk;
use crate::ports::free_port_except;
use crate::zkcli;
use crate::zkcli::super_digest_prop;

impl EnsembleConfig {
    /// `participants`, every node with `reconfigEnabled=true` and the
    /// `super:test` super digest (as a JVM flag for Apache; zk-bin reads
    /// the same flag from `SERVER_JVMFLAGS`, as zkServer.sh passes it).
    pub fn reconfig(participants: &[NodeKind]) -> EnsembleConfig {
        let mut cfg = EnsembleConfig::new(participants);
        cfg.extra_cfg
            .push(("reconfigEnabled".to_string(), "true".to_string()));
        cfg.apache_jvm_props.push(super_digest_prop());
        cfg.zk_bin_env
            .push(("SERVER_JVMFLAGS".to_string(), super_digest_prop()));
        cfg
    }
}

impl Ensemble {
    /// Node `i`'s `server.N=...` line with its client address, as a
    /// reconfig names it (`-add`, `-members`, `-file`) and as 3.8 prints it
    /// in `/zookeeper/config`:
    /// `server.N=IP:QUORUM:ELECTION:ROLE;IP:CLIENT`.
    pub fn reconfig_line(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let role = if n.observer {
            "observer"
        } else {
            "participant"
        };
        format!(
            "server.{}={}:{}:{}:{role};{}:{}",
            n.sid, n.ip, n.quorum_port, n.election_port, n.ip, n.client_port
        )
    }

    /// Node `i`'s zoo.cfg path: `zoo.cfg` for zk-bin, `zoo-<clientPort>.cfg`
    /// for Apache (where [`crate::apache::ApacheZk::spawn`] writes it).
    pub fn cfg_path(&self, i: usize) -> PathBuf {
        let n = &self.nodes[i];
        match n.kind {
            NodeKind::ZkBin => n.dir.join("zoo.cfg"),
            NodeKind::Apache => n.dir.join(format!("zoo-{}.cfg", n.client_port)),
        }
    }

    /// Node `i`'s dynamic config files (`<its zoo.cfg>.dynamic.<version>`
    /// beside its zoo.cfg, as 3.8 names them), as (`zoo.cfg.dynamic.<version>`,
    /// contents), sorted by name; empty before any reconfig wrote one. The
    /// name is given as for `zoo.cfg` so that both kinds compare.
    pub fn dynamic_config_files(&self, i: usize) -> Vec<(String, String)> {
        let cfg = self.cfg_path(i);
        let prefix = format!(
            "{}.dynamic.",
            cfg.file_name().unwrap_or_default().to_string_lossy()
        );
        let dir = cfg.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut found: Vec<(String, String)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let version = name.strip_prefix(&prefix)?;
                if version.ends_with(".next") || version.ends_with(".bak") {
                    return None;
                }
                let text = std::fs::read_to_string(e.path()).ok()?;
                Some((format!("zoo.cfg.dynamic.{version}"), text))
            })
            .collect();
        found.sort();
        found
    }

    /// Node `i`'s zoo.cfg as it is on disk now (3.8 rewrites it to point
    /// at the dynamic file on a node's first reconfig).
    pub fn zoo_cfg_on_disk(&self, i: usize) -> String {
        std::fs::read_to_string(self.cfg_path(i)).unwrap_or_default()
    }

    /// Adds a node of `kind` (an observer when `observer`) that is not yet
    /// a member and does not run: its own ports, dir and the next sid; its
    /// zoo.cfg will list the current members and itself, as 3.8's docs say
    /// a joining server's should. Start it with [`Ensemble::start`], add it
    /// by reconfig, then [`Ensemble::set_member`]. Returns its index.
    pub fn add_node(&mut self, kind: NodeKind, observer: bool) -> Result<usize, String> {
        let mut used = self.ports();
        let mut port = || -> Result<u16, String> {
            let p = free_port_except(&used).map_err(|e| format!("free port: {e}"))?;
            used.push(p);
            Ok(p)
        };
        let (client_port, quorum_port, election_port) = (port()?, port()?, port()?);
        let sid = self.nodes.iter().map(|n| n.sid).max().unwrap_or(0) + 1;
        let dir = self.work.join(format!("node-{sid}"));
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let template = &self.nodes[0];
        self.nodes.push(Node {
            sid,
            ip: template.ip,
            run_as: template.run_as,
            kind,
            observer,
            client_port,
            quorum_port,
            election_port,
            dir,
            data_dir,
            process: None,
            frozen: false,
            runs: 0,
            log_path: None,
            quorum_routes: Vec::new(),
            node_cfg: Vec::new(),
            jvm_props: Vec::new(),
            member: false,
        });
        Ok(self.nodes.len() - 1)
    }

    /// Whether node `i` is in the membership the harness writes into the
    /// zoo.cfg of a node that has no dynamic file yet: the test says so
    /// once a reconfig adding (or removing) it has been committed.
    pub fn set_member(&mut self, i: usize, member: bool) {
        self.nodes[i].member = member;
    }

    /// Whether node `i` is a member (see [`Ensemble::set_member`]).
    pub fn is_member(&self, i: usize) -> bool {
        self.nodes[i].member
    }
}

impl Ensemble {
    /// `reconfig ARGS` by zkCli as the super user, through the current
    /// leader (waited for up to `timeout`); returns the config 3.8 printed
    /// (`server.N=...` lines and `version=...`), or zkCli's output when it
    /// did not commit one.
    pub fn zkcli_reconfig(
        &self,
        zk: &ApacheZk,
        args: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, String> {
        let leader = self.wait_serving(timeout)?;
        let script = format!("addauth digest super:test\nreconfig {args}\nquit\n");
        let out = zkcli::run(
            zk,
            self.work_dir(),
            &self.connect_string(leader),
            &script,
            &[],
        )?;
        let answers = zkcli::answers(&out);
        let Some(at) = answers
            .iter()
            .position(|l| l == "Committed new configuration:")
        else {
            return Err(format!(
                "reconfig {args} through node {}: nothing committed:\n{out}",
                self.sid(leader)
            ));
        };
        let config: Vec<String> = answers[at + 1..]
            .iter()
            .take_while(|l| l.starts_with("server.") || l.starts_with("version="))
            .cloned()
            .collect();
        log::info!(
            "reconfig {args} through node {}: committed {}",
            self.sid(leader),
            config.last().map_or("", String::as_str)
        );
        Ok(config)
    }

    /// Waits until node `i` (a joining node) serves as a learner
    /// (following or observing), up to `timeout`.
    pub fn wait_learning(&self, i: usize, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if matches!(self.mode(i), Mode::Follower | Mode::Observer) {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                return Err(format!(
                    "node {} not learning within {timeout:?}\n{}",
                    self.sid(i),
                    self.describe()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The connect string of every node, running or not, members or not:
    /// for a writer that must follow the membership as nodes are added
    /// ([`Ensemble::add_node`] them first) and removed.
    pub fn connect_string_every_node(&self) -> String {
        (0..self.len())
            .map(|i| self.client_addr(i).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits until every running node's newest dynamic file is the same
    /// (name and contents), up to `timeout`; returns it.
    pub fn wait_same_dynamic_config(&self, timeout: Duration) -> Result<(String, String), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let newest: Vec<Option<(String, String)>> = (0..self.len())
                .filter(|&i| self.is_running(i))
                .map(|i| self.dynamic_config_files(i).pop())
                .collect();
            if let Some(Some(first)) = newest.first() {
                if newest.iter().all(|n| n.as_ref() == Some(first)) {
                    return Ok(first.clone());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the running nodes' newest dynamic files differ after {timeout:?}: {newest:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The `dynamicConfigFile=` value of a zoo.cfg's text, if it has one.
pub(super) fn dynamic_config_file_of(zoo_cfg: &str) -> Option<String> {
    zoo_cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("dynamicConfigFile="))
        .map(|v| v.trim().to_string())
}

impl Ensemble {
    /// Established TCP connections between node `i`'s and node `j`'s
    /// processes with either end on `i`'s or `j`'s election port: the
    /// election connections (QuorumCnxManager) between the two, whoever
    /// dialed. Read from `/proc` (each process's socket inodes matched in
    /// `/proc/net/tcp{,6}`), so it sees what the kernel holds, not what a
    /// log says. An error when either node does not run or `/proc` cannot
    /// be read (not Linux, another user's process).
    pub fn election_connections(&self, i: usize, j: usize) -> Result<usize, String> {
        let ports = [self.nodes[i].election_port, self.nodes[j].election_port];
        let of = |n: usize| -> Result<Vec<(String, String)>, String> {
            let pid = self
                .pid(n)
                .ok_or_else(|| format!("node {} does not run", self.sid(n)))?;
            established_of(pid)
        };
        let (mine, theirs) = (of(i)?, of(j)?);
        Ok(mine
            .iter()
            .filter(|(l, r)| {
                [l, r].iter().any(|a| ports.contains(&port_of(a)))
                    && theirs.iter().any(|(tl, tr)| tl == r && tr == l)
            })
            .count())
    }

    /// Waits until [`Ensemble::election_connections`] between `i` and `j`
    /// satisfies `cond`, up to `timeout`; returns the last count.
    pub fn wait_election_connections(
        &self,
        i: usize,
        j: usize,
        what: &str,
        timeout: Duration,
        cond: impl Fn(usize) -> bool,
    ) -> Result<usize, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.election_connections(i, j)?;
            if cond(n) {
                return Ok(n);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "nodes {} and {}: {n} election connections after {timeout:?}, wanted {what}",
                    self.sid(i),
                    self.sid(j)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Node `i`'s election port becomes `port` (a reconfig moved it):
    /// [`Ensemble::reconfig_line`] and the connection checks use it.
    pub fn set_election_port(&mut self, i: usize, port: u16) {
        self.nodes[i].election_port = port;
    }
}

/// The ESTABLISHED TCP connections of process `pid`, as (local, remote)
/// in `/proc/net/tcp`'s hex notation.
fn established_of(pid: u32) -> Result<Vec<(String, String)>, String> {
    let fd_dir = format!("/proc/{pid}/fd");
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(&fd_dir)
        .map_err(|e| format!("{fd_dir}: {e}"))?
        .flatten()
        .filter_map(|e| {
            let link = std::fs::read_link(e.path()).ok()?;
            let link = link.to_string_lossy();
            Some(
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for table in ["tcp", "tcp6"] {
        let path = format!("/proc/{pid}/net/{table}");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() > 9 && f[3] == "01" && inodes.contains(f[9]) {
                out.push((f[1].to_string(), f[2].to_string()));
            }
        }
    }
    Ok(out)
}

/// The port of a `/proc/net/tcp` address (`HEXIP:HEXPORT`).
fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| u16::from_str_radix(p, 16).ok())
        .unwrap_or(0)
}

impl Ensemble {
    /// Node `i` is an observer (`true`) or a participant from now on, as a
    /// reconfig made it: [`Ensemble::reconfig_line`] names that role and
    /// [`Ensemble::wait_serving`] expects it.
    pub fn set_observer(&mut self, i: usize, observer: bool) {
        self.nodes[i].observer = observer;
    }

    /// Waits until node `i` serves in `mode`, up to `timeout`.
    pub fn wait_mode(&self, i: usize, mode: Mode, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.mode(i) == mode {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                return Err(format!(
                    "node {} not {mode:?} within {timeout:?}\n{}",
                    self.sid(i),
                    self.describe()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Ensemble {
    /// Node `i`'s client port becomes `port` (a reconfig moved it): its
    /// [`Ensemble::reconfig_line`], connect string and `srvr` use it. An
    /// Apache node's zoo.cfg is named after its port
    /// ([`Ensemble::cfg_path`]): read its files before this.
    pub fn set_client_port(&mut self, i: usize, port: u16) {
        self.nodes[i].client_port = port;
    }
}
