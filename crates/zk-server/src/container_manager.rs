//! `ContainerManager`: removes container nodes that have emptied and TTL
//! nodes whose time is up.
//!
//! Its thread ("ContainerManagerTask") wakes every
//! `znode.container.checkIntervalMs`, lists the candidates from the tree,
//! and submits a `deleteContainer` request for each through the normal
//! processor chain, so the deletion is checked against pending writes
//! (a container that gained a child meanwhile gets NOTEMPTY), logged and
//! replicated like any write. Requests are spaced so that at most
//! `znode.container.maxPerMinute` go out per minute.
//!
//! A container is a candidate once it has had children (a stored
//! cversion above 0) and has none now, or, with `znode.container.maxNeverUsedIntervalMs`
//! set, when it has never had any for that long. A TTL node is a
//! candidate when it has no children and was last modified more than its
//! TTL ago.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use log::{error, info};
use zk_config::SystemProperties;
use zk_persistence::data_tree::DataTree;
use zk_persistence::zoo_defs::{op_code, EphemeralType};

use crate::prep_request_processor::wall_time_ms;
use crate::request::Request;
use crate::zookeeper_server::ZooKeeperServer;

/// The three `znode.container.*` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerSettings {
    /// `znode.container.checkIntervalMs`: how often the tree is checked
    /// (default one minute).
    pub check_interval_ms: i32,
    /// `znode.container.maxPerMinute`: at most this many deletes a minute,
    /// so a check cannot flood the chain (default 10000).
    pub max_per_minute: i32,
    /// `znode.container.maxNeverUsedIntervalMs`: a container that never
    /// had a child is deleted once this old (0, the default: never).
    pub max_never_used_interval_ms: i64,
}

impl ContainerSettings {
    /// The settings from the system properties, with 3.8's defaults.
    pub fn from_properties(p: &SystemProperties) -> Self {
        ContainerSettings {
            check_interval_ms: p.container_check_interval_ms(),
            max_per_minute: p.container_max_per_minute(),
            max_never_used_interval_ms: p.container_max_never_used_interval_ms(),
        }
    }

    /// `getMinIntervalMs`: the spacing between two deletions.
    pub fn min_interval(&self) -> Duration {
        Duration::from_millis(60_000 / self.max_per_minute.max(1) as u64)
    }
}

/// `getCandidates`: the containers and TTL nodes to delete as of `now_ms`
/// (wall clock), in path order.
pub fn candidates(tree: &DataTree, s: &ContainerSettings, now_ms: i64) -> Vec<String> {
    let mut out = BTreeSet::new();
    for path in tree.get_containers() {
        let Some(n) = tree.get_node(&path) else {
            continue;
        };
        if n.num_children() != 0 {
            continue;
        }
        let st = n.stat_persisted();
        let never_used_too_long =
            s.max_never_used_interval_ms != 0 && now_ms - st.mtime > s.max_never_used_interval_ms;
        if st.cversion > 0 || never_used_too_long {
            out.insert(path);
        }
    }
    for path in tree.get_ttls() {
        let Some(n) = tree.get_node(&path) else {
            continue;
        };
        if n.num_children() != 0 {
            continue;
        }
        let st = n.stat_persisted();
        if EphemeralType::get(st.ephemeral_owner) == EphemeralType::Ttl {
            let ttl = EphemeralType::Ttl.get_value(st.ephemeral_owner);
            if ttl != 0 && now_ms - st.mtime > ttl {
                out.insert(path);
            }
        }
    }
    out.into_iter().collect()
}

/// The running manager; [`ContainerManager::stop`] ends its thread.
pub struct ContainerManager {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl ContainerManager {
    /// Starts the `ContainerManagerTask` thread, which checks every
    /// `check_interval_ms` and submits `deleteContainer` requests through
    /// the server's chain (`ContainerManager.start`).
    pub fn start(zks: Arc<ZooKeeperServer>, s: ContainerSettings) -> std::io::Result<Self> {
        info!(
            "Using checkIntervalMs={} maxPerMinute={} maxNeverUsedIntervalMs={}",
            s.check_interval_ms, s.max_per_minute, s.max_never_used_interval_ms
        );
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("ContainerManagerTask".into())
            .spawn(move || run(&zks, &s, &stop2))?;
        Ok(ContainerManager {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it (`ContainerManager.stop`).
    pub fn stop(&mut self) {
        *self.stop.0.lock().unwrap() = true;
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ContainerManager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleeps until `until` or a stop; true if stopped.
fn sleep_until(stop: &(Mutex<bool>, Condvar), until: Instant) -> bool {
    let mut stopped = stop.0.lock().unwrap();
    while !*stopped {
        let now = Instant::now();
        if now >= until {
            return false;
        }
        stopped = stop.1.wait_timeout(stopped, until - now).unwrap().0;
    }
    true
}

fn run(zks: &ZooKeeperServer, s: &ContainerSettings, stop: &(Mutex<bool>, Condvar)) {
    // A fixed rate, as `Timer.scheduleAtFixedRate`: the first check one
    // interval after start.
    let period = Duration::from_millis(s.check_interval_ms.max(1) as u64);
    let mut next = Instant::now() + period;
    loop {
        if sleep_until(stop, next) {
            return;
        }
        next += period;
        let paths = {
            let db = zks.db().read().unwrap();
            candidates(db.data_tree(), s, wall_time_ms())
        };
        for path in paths {
            let start = Instant::now();
            info!("Attempting to delete candidate container: {}", path);
            let r = Request::new(0, 0, op_code::DELETE_CONTAINER, path.clone().into_bytes());
            if !zks.submit_to_first_processor(r) {
                error!("Could not delete container: {}: server not running", path);
            }
            if sleep_until(stop, start + s.min_interval()) {
                return;
            }
        }
        // A check that overran its period does not queue up more checks.
        next = next.max(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::records::{CreateContainerTxn, CreateTtlTxn, CreateTxn, TxnHeader};
    use zk_persistence::txn::Txn;
    use zk_persistence::zoo_defs::ids;

    fn apply(t: &mut DataTree, zxid: i64, time: i64, txn: Txn) {
        let hdr = TxnHeader {
            client_id: 1,
            cxid: 0,
            zxid,
            time,
            txn_type: txn.op_code(),
        };
        let rc = t.process_txn(&hdr, &txn);
        assert_eq!(rc.err, 0, "{:?}", txn);
    }

    #[test]
    fn used_empty_containers_and_expired_ttls_are_candidates() {
        // Process-wide, and the same in every test of this binary.
        zk_persistence::data_tree::DataTreeOptions::set_current(
            zk_persistence::data_tree::DataTreeOptions {
                digest_enabled: true,
                extended_types: zk_persistence::zoo_defs::ExtendedTypes {
                    enabled: true,
                    emulate_353_ttl: false,
                },
            },
        );
        let mut t = DataTree::new();
        let acl = ids::open_acl_unsafe();
        let container = |p: &str, cv| {
            Txn::CreateContainer(CreateContainerTxn {
                path: p.into(),
                data: None,
                acl: acl.clone(),
                parent_c_version: cv,
            })
        };
        apply(&mut t, 1, 1000, container("/used", 1));
        apply(&mut t, 2, 1000, container("/fresh", 2));
        apply(&mut t, 3, 1000, container("/busy", 3));
        let child = |p: &str, cv| {
            Txn::Create(CreateTxn {
                path: p.into(),
                data: None,
                acl: acl.clone(),
                ephemeral: false,
                parent_c_version: cv,
            })
        };
        apply(&mut t, 4, 1000, child("/used/c", 1));
        apply(
            &mut t,
            5,
            1000,
            Txn::Delete(zk_persistence::records::DeleteTxn {
                path: "/used/c".into(),
            }),
        );
        apply(&mut t, 6, 1000, child("/busy/c", 1));
        let ttl = |p: &str, cv, ttl| {
            Txn::CreateTtl(CreateTtlTxn {
                path: p.into(),
                data: None,
                acl: acl.clone(),
                parent_c_version: cv,
                ttl,
            })
        };
        apply(&mut t, 7, 1000, ttl("/ttl-short", 4, 100));
        apply(&mut t, 8, 1000, ttl("/ttl-long", 5, 100_000));
        let s = ContainerSettings {
            check_interval_ms: 10,
            max_per_minute: 10_000,
            max_never_used_interval_ms: 0,
        };
        assert_eq!(candidates(&t, &s, 1050), vec!["/used".to_string()]);
        assert_eq!(
            candidates(&t, &s, 1101),
            vec!["/ttl-short".to_string(), "/used".to_string()]
        );
        let never = ContainerSettings {
            max_never_used_interval_ms: 500,
            ..s
        };
        assert_eq!(
            candidates(&t, &never, 1501),
            vec![
                "/fresh".to_string(),
                "/ttl-short".to_string(),
                "/used".to_string()
            ]
        );
        assert_eq!(s.min_interval(), Duration::from_millis(6));
    }
}
