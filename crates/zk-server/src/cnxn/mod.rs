//! Client connections: the selector thread of [`nio_server_cnxn_factory`]
//! (Java's `NIOServerCnxnFactory`) driving one `NIOServerCnxn` per client
//! (`nio_server_cnxn`, which owns the connection protocol), the channel
//! the processor threads answer through ([`CnxnSink`]), and the
//! four-letter words (`four_letter`).

pub(crate) mod four_letter;
mod nio_server_cnxn;
pub mod nio_server_cnxn_factory;

use std::sync::mpsc::Sender;
use std::sync::Arc;

use log::debug;

use crate::request::CnxnId;

/// What the processor threads ask of the selector thread.
#[derive(Debug)]
pub enum CnxnCommand {
    /// Queue a frame (length prefix included) on a connection.
    Send(CnxnId, Vec<u8>),
    /// Queue a frame, then close once everything queued is written.
    SendAndClose(CnxnId, Vec<u8>),
    /// A new session is set up: queue the connect response and start
    /// reading requests.
    SessionEstablished {
        /// The connection that asked for the session.
        cnxn: CnxnId,
        /// The new session.
        session_id: i64,
        /// The `ConnectResponse` frame.
        frame: Vec<u8>,
    },
    /// Close whatever connection holds this session (it expired or was
    /// closed).
    CloseSession(i64),
    /// The server is RUNNING: serve the connections held while it started.
    Serving,
    /// Serve another server from now on (a quorum peer changed role):
    /// every connection is closed, as 3.8 closes them, and clients
    /// reconnect to the new one.
    SetServer(ServerSwap),
}

/// The server a [`CnxnCommand::SetServer`] switches to.
pub struct ServerSwap(pub Arc<crate::zookeeper_server::ZooKeeperServer>);

impl std::fmt::Debug for ServerSwap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerSwap({})", self.0.server_state())
    }
}

/// The processor threads' handle on the selector: a channel plus the waker
/// that makes the selector look at it. Cheap to clone.
#[derive(Clone)]
pub struct CnxnSink {
    tx: Sender<CnxnCommand>,
    waker: Option<Arc<mio::Waker>>,
}

impl CnxnSink {
    /// A sink sending on `tx` and waking the selector with `waker` (none
    /// in tests that read the channel themselves).
    pub fn new(tx: Sender<CnxnCommand>, waker: Option<Arc<mio::Waker>>) -> CnxnSink {
        CnxnSink { tx, waker }
    }

    /// Hands `cmd` to the selector; dropped if the selector is gone.
    pub fn send(&self, cmd: CnxnCommand) {
        if self.tx.send(cmd).is_err() {
            debug!("Selector gone; dropping a reply");
            return;
        }
        if let Some(w) = &self.waker {
            let _ = w.wake();
        }
    }
}
