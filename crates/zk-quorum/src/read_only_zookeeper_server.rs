//! `ReadOnlyZooKeeperServer`: what a participant serves on its client
//! port while it has been LOOKING for a while with `readonlymode.enabled`
//! (a partition left it without a quorum).
//!
//! It is zk-server's `ZooKeeperServer` playing the role
//! [`ReadOnlyZooKeeperServer`] (given when it is built): read-only (only
//! clients that allow read-only mode get sessions), with the chain
//! `ReadOnlyRequestProcessor -> FinalRequestProcessor`: reads are served
//! from the peer's database as it is, writes are refused with NOTREADONLY,
//! and nothing is logged or applied, so the next election votes with the
//! same zxid. [`ReadOnlyServerStarter`] runs the delay beside the
//! election: `max(2000 ms, tickTime)` after LOOKING began, if the peer is
//! still LOOKING, the server starts and takes the client port; when the
//! election ends the peer stops it and the next role's server takes the
//! port (closing the read-only clients' connections).

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use log::{info, warn};
use zk_election::ServerState;
use zk_server::read_only_request_processor::read_only_chain;
use zk_server::server_role::ServerRole;
use zk_server::zookeeper_server::{Chain, ZooKeeperServer};

use crate::quorum_peer::QuorumPeer;

/// How long a peer stays LOOKING before it serves read-only.
pub(crate) fn read_only_delay(tick_time: i32) -> Duration {
    Duration::from_millis(tick_time.max(2000) as u64)
}

/// `ReadOnlyZooKeeperServer`'s overrides of `ZooKeeperServer`: read-only,
/// its own chain and mode. Sessions: the standalone tracker over the
/// database's sessions.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ReadOnlyZooKeeperServer;

impl ServerRole for ReadOnlyZooKeeperServer {
    fn setup_request_processors(&self, zks: &Arc<ZooKeeperServer>) -> io::Result<Chain> {
        read_only_chain(zks)
    }

    fn server_state(&self) -> &'static str {
        zk_server::commands::server::READ_ONLY_STATE
    }

    fn is_read_only(&self) -> bool {
        true
    }
}

/// Starts `zks` (a fresh server over the peer's database, built with
/// [`ReadOnlyZooKeeperServer`]): session tracker, chain, RUNNING.
pub(crate) fn start_read_only_server(zks: &Arc<ZooKeeperServer>) -> io::Result<()> {
    zks.load_data()?;
    zks.startup()?;
    info!("Read-only server started");
    Ok(())
}

/// The thread that starts the read-only server after the delay, unless
/// the election ends first. [`ReadOnlyServerStarter::finish`] stops it
/// and hands back the server it started, if any.
pub(crate) struct ReadOnlyServerStarter {
    stop: Sender<()>,
    thread: JoinHandle<Option<Arc<ZooKeeperServer>>>,
}

impl ReadOnlyServerStarter {
    /// `new_server` builds the server for the role it is given; `serve`
    /// hands it the client port and admin server once it runs.
    pub(crate) fn start(
        peer: Arc<QuorumPeer>,
        new_server: impl FnOnce(Arc<dyn ServerRole>) -> Arc<ZooKeeperServer> + Send + 'static,
        serve: impl FnOnce(&Arc<ZooKeeperServer>) + Send + 'static,
    ) -> io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let delay = read_only_delay(peer.tick_time());
        let thread = std::thread::Builder::new()
            .name("ReadOnlyServerStarter".into())
            .spawn(move || {
                match stopped.recv_timeout(delay) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return None,
                }
                if !peer.is_running() || peer.state() != ServerState::Looking {
                    return None;
                }
                info!(
                    "Still LOOKING after {} ms: serving clients read-only",
                    delay.as_millis()
                );
                let zks = new_server(Arc::new(ReadOnlyZooKeeperServer));
                if let Err(e) = start_read_only_server(&zks) {
                    warn!("Cannot start the read-only server: {e}");
                    zks.shutdown();
                    return None;
                }
                serve(&zks);
                Some(zks)
            })?;
        Ok(ReadOnlyServerStarter { stop, thread })
    }

    /// The election ended: no read-only server starts from now on; the
    /// one that did (if any) is returned, still serving.
    pub(crate) fn finish(self) -> Option<Arc<ZooKeeperServer>> {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_is_two_seconds_or_a_tick() {
        assert_eq!(read_only_delay(500), Duration::from_millis(2000));
        assert_eq!(read_only_delay(3000), Duration::from_millis(3000));
    }
}
