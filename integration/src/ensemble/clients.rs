//! Client-side checks of an [`Ensemble`]: sessions with one node or all,
//! writes through every node read back on every node, and acknowledged
//! writes present everywhere. Every operation is bounded by [`OP_TIMEOUT`].

use std::collections::HashSet;
use std::time::Duration;

use zookeeper_client as zk;

use super::{Ensemble, Mode, OP_TIMEOUT};

impl Ensemble {
    /// Runs a future on the ensemble's tokio runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// A session with node `i` alone.
    pub fn client(&self, i: usize) -> Result<zk::Client, String> {
        let cs = self.connect_string(i);
        self.block_on(connect(&cs, OP_TIMEOUT))
    }

    /// Through each serving node in turn, creates `/{dir}/from-<sid>`; then
    /// on every serving node, after `sync()`, reads them all back. Returns
    /// how many (write, read) pairs were checked.
    pub fn check_writes_everywhere(&self, dir: &str) -> Result<usize, String> {
        let addrs: Vec<(u64, String)> = (0..self.len())
            .filter(|&i| self.mode(i) != Mode::NotServing)
            .map(|i| (self.sid(i), self.connect_string(i)))
            .collect();
        let dir = format!("/{}", dir.trim_start_matches('/'));
        self.block_on(async move {
            let mut clients = Vec::new();
            for (sid, cs) in &addrs {
                clients.push((*sid, connect(cs, OP_TIMEOUT).await?));
            }
            let (_, first) = clients.first().ok_or("no node serves")?;
            create_ignoring_exists(first, &dir, b"").await?;
            for (sid, c) in &clients {
                let path = format!("{dir}/from-{sid}");
                bounded(c.create(&path, path.as_bytes(), &persistent()))
                    .await
                    .map_err(|e| format!("create {path} through node {sid}: {e}"))?;
            }
            let mut checked = 0;
            for (reader, c) in &clients {
                bounded(c.sync(&dir))
                    .await
                    .map_err(|e| format!("sync on node {reader}: {e}"))?;
                for (writer, _) in &clients {
                    let path = format!("{dir}/from-{writer}");
                    let (data, _) = bounded(c.get_data(&path)).await.map_err(|e| {
                        format!("{path} (written through node {writer}) on node {reader}: {e}")
                    })?;
                    if data != path.as_bytes() {
                        return Err(format!("{path} on node {reader} holds {data:?}"));
                    }
                    checked += 1;
                }
            }
            Ok(checked)
        })
    }

    /// On every serving node, after `sync()`, every path in `acked` (all
    /// children of `dir`, each holding its own path as data) is there.
    pub fn check_acked(&self, dir: &str, acked: &[String]) -> Result<(), String> {
        let mut serving = 0;
        for i in 0..self.len() {
            if self.mode(i) == Mode::NotServing {
                continue;
            }
            serving += 1;
            let sid = self.sid(i);
            let cs = self.connect_string(i);
            self.block_on(async {
                let c = connect(&cs, OP_TIMEOUT).await?;
                bounded(c.sync(dir))
                    .await
                    .map_err(|e| format!("sync {dir} on node {sid}: {e}"))?;
                let children: HashSet<String> = bounded(c.list_children(dir))
                    .await
                    .map_err(|e| format!("children of {dir} on node {sid}: {e}"))?
                    .into_iter()
                    .collect();
                let missing: Vec<&String> = acked
                    .iter()
                    .filter(|p| !children.contains(p.rsplit('/').next().unwrap_or(p)))
                    .collect();
                if !missing.is_empty() {
                    return Err(format!(
                        "node {sid} lacks {} of {} acknowledged writes, e.g. {:?}",
                        missing.len(),
                        acked.len(),
                        &missing[..missing.len().min(5)]
                    ));
                }
                // The data of a sample, the last one included.
                let step = (acked.len() / 20).max(1);
                for p in acked.iter().step_by(step).chain(acked.last()) {
                    let (data, _) = bounded(c.get_data(p))
                        .await
                        .map_err(|e| format!("{p} on node {sid}: {e}"))?;
                    if data != p.as_bytes() {
                        return Err(format!("{p} on node {sid} holds {data:?}"));
                    }
                }
                Ok::<(), String>(())
            })?;
        }
        if serving == 0 {
            return Err("no node serves to check the acknowledged writes".into());
        }
        Ok(())
    }

    /// On every serving node, after `sync()`, `path` does not exist.
    pub fn check_absent(&self, path: &str) -> Result<(), String> {
        for i in 0..self.len() {
            if self.mode(i) == Mode::NotServing {
                continue;
            }
            let (sid, cs) = (self.sid(i), self.connect_string(i));
            self.block_on(async {
                let c = connect(&cs, OP_TIMEOUT).await?;
                bounded(c.sync("/"))
                    .await
                    .map_err(|e| format!("sync on node {sid}: {e}"))?;
                match bounded(c.check_stat(path)).await {
                    Ok(None) => Ok(()),
                    Ok(Some(stat)) => Err(format!(
                        "{path} exists on node {sid} (czxid 0x{:x})",
                        stat.czxid
                    )),
                    Err(e) => Err(format!("exists {path} on node {sid}: {e}")),
                }
            })?;
        }
        Ok(())
    }
}

pub(super) fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// `op` within the harness's bound on one operation (15 s), its error as text.
pub async fn bounded<T>(
    op: impl std::future::Future<Output = Result<T, zk::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {OP_TIMEOUT:?}")),
    }
}

pub(super) async fn create_ignoring_exists(
    c: &zk::Client,
    path: &str,
    data: &[u8],
) -> Result<(), String> {
    match tokio::time::timeout(OP_TIMEOUT, c.create(path, data, &persistent())).await {
        Ok(Ok(_)) | Ok(Err(zk::Error::NodeExists)) => Ok(()),
        Ok(Err(e)) => Err(format!("create {path}: {e}")),
        Err(_) => Err(format!("create {path}: no answer within {OP_TIMEOUT:?}")),
    }
}

/// A session with `connect_string` (one or more servers), with a 20 s
/// session timeout so it outlives a leader change.
pub async fn connect(connect_string: &str, timeout: Duration) -> Result<zk::Client, String> {
    crate::workload::connect(
        connect_string,
        &[],
        Some(Duration::from_secs(20)),
        false,
        timeout,
    )
    .await
}
