//! What the reconfig tests (issue 13) need of an ensemble: every node with
//! `reconfigEnabled=true` and `super:test` as its super user (3.8 lets only
//! the super user, or a client with write permission on
//! `/zookeeper/config`, reconfig), each node's server line as 3.8 prints it
//! in `/zookeeper/config`, and a node's dynamic config file
//! (`zoo.cfg.dynamic.<version>` beside its zoo.cfg).

use std::path::{Path, PathBuf};

use super::{Ensemble, EnsembleConfig, NodeKind};
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
}
