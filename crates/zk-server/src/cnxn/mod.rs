//! Client connections: the selector thread of [`nio_server_cnxn_factory`]
//! (Java's `NIOServerCnxnFactory`) driving one `NIOServerCnxn` per client
//! (`nio_server_cnxn`, which owns the connection protocol), the channel
//! the processor threads answer through ([`CnxnSink`]), and the
//! four-letter words (`four_letter`).
//!
//! TLS (the secure client port and `client.portUnification`, which 3.8
//! serves with its Netty factory): each connection reads and writes
//! through a `transport::Transport`: the socket itself, an
//! `ssl_handler::SslHandler` (Netty's `SslHandler`, rustls driven on the
//! non-blocking socket), or a `dual_mode_ssl_handler::DualModeSslHandler`
//! until the first bytes say which. `certificate_verifier` holds a port's
//! TLS settings and 3.8's `CertificateVerifier`, run once a handshake
//! finishes. A server with both ports has two factories; [`CnxnSink`] sends
//! each reply to the one that owns its connection.

mod certificate_verifier;
mod dual_mode_ssl_handler;
pub(crate) mod four_letter;
mod nio_server_cnxn;
pub mod nio_server_cnxn_factory;
mod ssl_handler;
mod transport;

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
    /// Accept on this listener from now on, closing the old one
    /// (`NIOServerCnxnFactory.reconfigure`: a reconfig moved the client
    /// address); connections already accepted stay.
    Reconfigure {
        /// The factory whose listener moves.
        factory: u64,
        /// The new listener, already bound.
        listener: ListenerSwap,
    },
}

/// The listener a [`CnxnCommand::Reconfigure`] switches to.
pub struct ListenerSwap(pub mio::net::TcpListener);

impl std::fmt::Debug for ListenerSwap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ListenerSwap({:?})", self.0.local_addr().ok())
    }
}

/// The server a [`CnxnCommand::SetServer`] switches to.
pub struct ServerSwap(pub Arc<crate::zookeeper_server::ZooKeeperServer>);

impl std::fmt::Debug for ServerSwap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerSwap({})", self.0.server_state())
    }
}

/// A connection id's bits above this name the factory that owns it (each
/// factory's selector numbers its own connections), so that a server
/// with a plain and a secure client port sends every reply to the right
/// selector.
pub const CNXN_ID_FACTORY_SHIFT: u32 = 40;

/// The factory a connection id belongs to.
pub fn factory_of(cnxn: CnxnId) -> u64 {
    cnxn >> CNXN_ID_FACTORY_SHIFT
}

/// One factory's selector: its channel and waker.
#[derive(Clone)]
struct Route {
    factory: u64,
    tx: Sender<CnxnCommand>,
    waker: Option<Arc<mio::Waker>>,
}

/// The processor threads' handle on the selectors: for each factory
/// serving the server (3.8's `cnxnFactory` and `secureCnxnFactory`), a
/// channel plus the waker that makes its selector look at it. A command
/// about one connection goes to the factory that owns it, one about a
/// session or the server to all of them. Cheap to clone.
#[derive(Clone)]
pub struct CnxnSink {
    routes: Vec<Route>,
}

impl CnxnSink {
    /// A sink sending on `tx` and waking the selector with `waker` (none
    /// in tests that read the channel themselves), for factory 0.
    pub fn new(tx: Sender<CnxnCommand>, waker: Option<Arc<mio::Waker>>) -> CnxnSink {
        Self::for_factory(0, tx, waker)
    }

    /// A sink for the factory numbered `factory` (see
    /// [`CNXN_ID_FACTORY_SHIFT`]).
    pub fn for_factory(
        factory: u64,
        tx: Sender<CnxnCommand>,
        waker: Option<Arc<mio::Waker>>,
    ) -> CnxnSink {
        CnxnSink {
            routes: vec![Route { factory, tx, waker }],
        }
    }

    /// This sink and `other`'s factories together; `other`'s route
    /// replaces this sink's for the same factory.
    pub fn merged(mut self, other: CnxnSink) -> CnxnSink {
        self.routes
            .retain(|r| other.routes.iter().all(|o| o.factory != r.factory));
        self.routes.extend(other.routes);
        self
    }

    /// Hands `cmd` to the selector of the connection it is about, or to
    /// every selector; dropped if the selector is gone.
    pub fn send(&self, cmd: CnxnCommand) {
        let owner = match &cmd {
            CnxnCommand::Send(id, _)
            | CnxnCommand::SendAndClose(id, _)
            | CnxnCommand::SessionEstablished { cnxn: id, .. } => Some(factory_of(*id)),
            CnxnCommand::Reconfigure { factory, .. } => Some(*factory),
            CnxnCommand::CloseSession(_) | CnxnCommand::Serving | CnxnCommand::SetServer(_) => None,
        };
        match owner {
            Some(f) => match self.routes.iter().find(|r| r.factory == f) {
                Some(r) => r.send(cmd),
                None => debug!("No selector for factory {}; dropping a reply", f),
            },
            None => {
                for r in &self.routes {
                    let copy = match &cmd {
                        CnxnCommand::CloseSession(s) => CnxnCommand::CloseSession(*s),
                        CnxnCommand::SetServer(ServerSwap(z)) => {
                            CnxnCommand::SetServer(ServerSwap(Arc::clone(z)))
                        }
                        _ => CnxnCommand::Serving,
                    };
                    r.send(copy);
                }
            }
        }
    }
}

impl Route {
    fn send(&self, cmd: CnxnCommand) {
        if self.tx.send(cmd).is_err() {
            debug!("Selector gone; dropping a reply");
            return;
        }
        if let Some(w) = &self.waker {
            let _ = w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn replies_go_to_the_owning_factory_and_session_commands_to_all() {
        let (tx0, rx0) = mpsc::channel();
        let (tx1, rx1) = mpsc::channel();
        let (tx1b, rx1b) = mpsc::channel();
        let sink = CnxnSink::for_factory(0, tx0, None)
            .merged(CnxnSink::for_factory(1, tx1, None))
            .merged(CnxnSink::for_factory(1, tx1b, None));
        let secure_cnxn = (1 << CNXN_ID_FACTORY_SHIFT) + 2;
        sink.send(CnxnCommand::Send(secure_cnxn, vec![1]));
        sink.send(CnxnCommand::Send(2, vec![2]));
        sink.send(CnxnCommand::CloseSession(7));
        assert!(matches!(rx1b.try_recv(), Ok(CnxnCommand::Send(id, _)) if id == secure_cnxn));
        assert!(rx1.try_recv().is_err(), "the replaced route gets nothing");
        assert!(matches!(rx0.try_recv(), Ok(CnxnCommand::Send(2, _))));
        assert!(matches!(rx0.try_recv(), Ok(CnxnCommand::CloseSession(7))));
        assert!(matches!(rx1b.try_recv(), Ok(CnxnCommand::CloseSession(7))));
    }
}
