//! The `Listener`: accepts election connections on this server's election
//! address(es), one `ListenerHandler` per address, and hands each accepted
//! socket to `receiveConnection` on the same thread, or, with quorum SASL
//! on, to a connection thread (as 3.8 does), so that an authentication
//! never holds up the accepts.
//!
//! Binding is retried `zookeeper.electionPortBindRetry` times (default 3,
//! 0 = forever) one second apart; the retry count resets after every
//! accepted connection. When the handlers give up, the peer is told
//! ([`ElectionPeer::election_port_bind_failed`]): 3.8 exits the JVM there.
//!
//! `halt` shuts the listening sockets down, which wakes a blocked
//! `accept` (Linux returns EINVAL), much as closing a Java `ServerSocket`.
//!
//! [`ElectionPeer::election_port_bind_failed`]: crate::ElectionPeer::election_port_bind_failed

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use log::{debug, error, info};
use socket2::{Domain, Protocol, Socket, Type};

use crate::peer::ElectionPeerExt;
use crate::quorum_cnx_manager::{lock, Inner};

/// Java's `ServerSocket` default backlog.
const BACKLOG: i32 = 50;

#[derive(Default)]
pub(crate) struct ListenerState {
    sockets: Mutex<Vec<(SocketAddr, Arc<Socket>)>>,
    socket_exception: AtomicBool,
    /// Failed binds and accepts so far, over all addresses.
    errors: AtomicU64,
}

impl ListenerState {
    pub(crate) fn halt(&self) {
        for (addr, s) in lock(&self.sockets).drain(..) {
            debug!("Closing election listener on {addr}");
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::SeqCst)
    }

    pub(crate) fn bound_addresses(&self) -> Vec<SocketAddr> {
        lock(&self.sockets)
            .iter()
            .filter_map(|(_, s)| s.local_addr().ok()?.as_socket())
            .collect()
    }
}

/// 3.8's `QuorumCnxManager.Listener`: the `QuorumPeerListener` thread,
/// which runs one [`ListenerHandler`] per election address and reports
/// when they all gave up.
pub(crate) struct Listener {
    mgr: Arc<Inner>,
}

impl Listener {
    pub(crate) fn new(mgr: Arc<Inner>) -> Listener {
        Listener { mgr }
    }

    /// The thread body: resolves the addresses to listen on (the election
    /// ports on the wildcard address with `quorumListenOnAllIPs`), runs
    /// their handlers until each ends, then tells the peer if binding
    /// failed.
    pub(crate) fn run(&self) {
        let mgr = &self.mgr;
        if mgr.shutdown.is_set() {
            return;
        }
        let Some(me) = mgr.peer.my_server() else {
            error!(
                "server {} is not in its own configuration: no election address to listen on",
                mgr.my_sid
            );
            return;
        };
        debug!("Listener thread started, myId: {}", mgr.my_sid);
        // Unresolvable names stay as text; their bind fails and is retried.
        let targets: Vec<Result<SocketAddr, String>> = if mgr.config.listen_on_all_ips {
            let ports: BTreeSet<u16> = me.election_addrs.iter().map(|a| a.port).collect();
            ports
                .into_iter()
                .map(|p| Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), p)))
                .collect()
        } else {
            me.election_addrs
                .iter()
                .map(|a| a.resolve().map_err(|e| format!("{a}: {e}")))
                .collect()
        };
        std::thread::scope(|scope| {
            for target in &targets {
                let name = match target {
                    Ok(a) => format!("ListenerHandler-{a}"),
                    Err(t) => format!("ListenerHandler-{t}"),
                };
                let spawned = std::thread::Builder::new()
                    .name(name)
                    .spawn_scoped(scope, move || ListenerHandler { mgr, target }.run());
                if let Err(e) = spawned {
                    error!("cannot start a ListenerHandler thread: {e}");
                }
            }
        });
        info!("Leaving listener");
        if !mgr.shutdown.is_set() {
            let shown: Vec<String> = me.election_addrs.iter().map(|a| a.to_string()).collect();
            error!(
                "As I'm leaving the listener thread, I won't be able to participate in leader election any longer: {}",
                shown.join("|")
            );
            if mgr.listener.socket_exception.load(Ordering::SeqCst) {
                mgr.peer.election_port_bind_failed();
            }
        }
    }
}

/// 3.8's `QuorumCnxManager.Listener.ListenerHandler`: the
/// `ListenerHandler-<addr>` thread that binds one election address
/// (retrying) and hands every accepted socket to `receiveConnection`.
struct ListenerHandler<'a> {
    mgr: &'a Arc<Inner>,
    target: &'a Result<SocketAddr, String>,
}

impl ListenerHandler<'_> {
    /// The thread body: bind, accept until an error or shutdown, rebind,
    /// up to `zookeeper.electionPortBindRetry` failures in a row.
    fn run(&self) {
        let (mgr, target) = (self.mgr, self.target);
        let max = mgr.config.port_bind_max_retry;
        let shown = match target {
            Ok(a) => a.to_string(),
            Err(t) => t.clone(),
        };
        let mut num_retries = 0u32;
        while !mgr.shutdown.is_set() && (max == 0 || num_retries < max) {
            let bound = match target {
                Ok(addr) => create_server_socket(*addr),
                Err(t) => Err(io::Error::new(io::ErrorKind::NotFound, t.clone())),
            };
            let socket = match bound {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    if mgr.shutdown.is_set() {
                        break;
                    }
                    error!("Exception while listening to address {shown}: {e}");
                    mgr.listener.socket_exception.store(true, Ordering::SeqCst);
                    mgr.listener.errors.fetch_add(1, Ordering::SeqCst);
                    num_retries += 1;
                    mgr.shutdown.wait(mgr.config.port_bind_retry_interval);
                    continue;
                }
            };
            {
                let mut sockets = lock(&mgr.listener.sockets);
                if mgr.shutdown.is_set() {
                    break;
                }
                if let Ok(a) = target {
                    sockets.push((*a, Arc::clone(&socket)));
                }
            }
            info!(
                "{} is accepting connections now, my election bind port: {shown}",
                mgr.my_sid
            );
            while !mgr.shutdown.is_set() {
                match socket.accept() {
                    Ok((client, _)) => {
                        let stream: TcpStream = client.into();
                        let remote = stream
                            .peer_addr()
                            .map(|a| a.to_string())
                            .unwrap_or_else(|_| "?".to_string());
                        if let Err(e) = mgr.set_sock_opts(&stream) {
                            error!("Exception handling connection, addr: {remote}: {e}");
                            continue;
                        }
                        info!("Received connection request from {remote}");
                        // Quorum SASL may take seconds per peer: the
                        // accept loop hands the connection off.
                        if mgr.config.quorum_sasl_auth_enabled {
                            mgr.receive_connection_async(stream, &remote);
                        } else {
                            mgr.receive_connection(stream);
                        }
                        num_retries = 0;
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                        ) => {}
                    Err(e) => {
                        if mgr.shutdown.is_set() {
                            break;
                        }
                        error!("Exception while listening to address {shown}: {e}");
                        mgr.listener.socket_exception.store(true, Ordering::SeqCst);
                        mgr.listener.errors.fetch_add(1, Ordering::SeqCst);
                        num_retries += 1;
                        let _ = socket.shutdown(Shutdown::Both);
                        lock(&mgr.listener.sockets).retain(|(_, s)| !Arc::ptr_eq(s, &socket));
                        mgr.shutdown.wait(mgr.config.port_bind_retry_interval);
                        break;
                    }
                }
            }
        }
        if !mgr.shutdown.is_set() {
            error!(
                "Leaving listener thread for address {shown} after {num_retries} errors. \
                 Use zookeeper.electionPortBindRetry property to increase retry count."
            );
        }
    }
}

fn create_server_socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket)
}
