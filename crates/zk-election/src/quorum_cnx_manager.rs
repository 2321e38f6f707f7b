//! `QuorumCnxManager`: one TCP connection per pair of servers on the
//! election port, carrying framed election messages.
//!
//! Two servers may dial each other at the same moment. To end with a single
//! connection, only a connection dialed by the larger sid survives: the
//! smaller sid sends its initial message and hangs up, and the larger one,
//! on receiving a connection from a smaller sid, closes it and dials back.
//!
//! Each live connection has a `SendWorker` (drains the peer's send queue
//! onto the socket) and a `RecvWorker` (reads frames into the shared
//! `recvQueue`), see `workers.rs`. The `Listener` (listener.rs) accepts
//! connections. Dialing happens on short-lived connection threads so the
//! caller never waits for a TCP connect.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use log::{debug, error, info, warn};
use zk_config::{HostPort, QuorumPeerConfig};

use crate::circular_queue::CircularBlockingQueue;
use crate::listener::{Listener, ListenerState};
use crate::null_quorum_auth_learner::NullQuorumAuthLearner;
use crate::null_quorum_auth_server::NullQuorumAuthServer;
use crate::peer::{ElectionPeer, ElectionPeerExt};
use crate::quorum_auth::{PeekableReader, QuorumAuth};
use crate::quorum_auth_learner::QuorumAuthLearner;
use crate::quorum_auth_server::QuorumAuthServer;
use crate::quorum_tls::QuorumTls;
use crate::unified_server_socket::UnifiedSocket;
use crate::wire::{format_host_port, InitialMessage};
use crate::workers::SendWorker;

/// `RECV_CAPACITY`: messages waiting for the election; the oldest go first.
pub(crate) const RECV_CAPACITY: usize = 100;
/// `SEND_CAPACITY`: per peer, only the newest unsent message is kept.
pub(crate) const SEND_CAPACITY: usize = 1;
/// `QuorumPeer.OBSERVER_ID`: the sid an observer without one announces.
pub(crate) const OBSERVER_ID: i64 = i64::MAX;

/// Tunables, with 3.8's defaults.
#[derive(Debug, Clone)]
pub struct QuorumCnxConfig {
    /// Read timeout while exchanging the initial message:
    /// `quorumCnxnTimeoutMs` if set, else `tickTime * syncLimit`.
    pub socket_timeout: Duration,
    /// `zookeeper.cnxTimeout`: TCP connect timeout (5000 ms).
    pub cnx_timeout: Duration,
    /// `quorumListenOnAllIPs`: listen on 0.0.0.0 at the election port.
    pub listen_on_all_ips: bool,
    /// `zookeeper.electionPortBindRetry` (3; 0 retries forever).
    pub port_bind_max_retry: u32,
    /// Pause between bind attempts (1 s in 3.8).
    pub port_bind_retry_interval: Duration,
    /// `zookeeper.tcpKeepAlive`.
    pub tcp_keep_alive: bool,
    /// `multiAddress.enabled`: send every election address (protocol V2).
    pub multi_address_enabled: bool,
    /// `sslQuorum` / `portUnification`: TLS on the connections dialed and
    /// accepted (plaintext by default; `from_config` leaves it so, the
    /// peer sets the one it built at startup).
    pub tls: Arc<QuorumTls>,
    /// `authServer`: run on every accepted connection after its initial
    /// message (`NullQuorumAuthServer` unless quorum SASL is on; the peer
    /// sets the one it built at startup).
    pub auth_server: Arc<dyn QuorumAuthServer>,
    /// `authLearner`: run on every dialed connection after our initial
    /// message.
    pub auth_learner: Arc<dyn QuorumAuthLearner>,
    /// `quorum.auth.enableSasl`: accepted connections are handled on
    /// connection threads, so a slow authentication never holds up the
    /// Listener's accept loop.
    pub quorum_sasl_auth_enabled: bool,
    /// `quorum.cnxn.threads.size` (at least 20): connection threads
    /// (dialing, and accepting with SASL) running at once; a connection
    /// beyond that is closed, as 3.8's executor rejects it.
    pub quorum_cnxn_threads_size: usize,
}

impl Default for QuorumCnxConfig {
    fn default() -> Self {
        QuorumCnxConfig {
            // A common tickTime 2000 * syncLimit 5; `from_config` computes it.
            socket_timeout: Duration::from_millis(2000 * 5),
            cnx_timeout: Duration::from_millis(5000),
            listen_on_all_ips: false,
            port_bind_max_retry: 3,
            port_bind_retry_interval: Duration::from_millis(1000),
            tcp_keep_alive: false,
            multi_address_enabled: false,
            tls: Arc::new(QuorumTls::plaintext()),
            auth_server: Arc::new(NullQuorumAuthServer),
            auth_learner: Arc::new(NullQuorumAuthLearner),
            quorum_sasl_auth_enabled: false,
            quorum_cnxn_threads_size: QuorumAuth::QUORUM_CNXN_THREADS_SIZE_DEFAULT_VALUE,
        }
    }
}

impl QuorumCnxConfig {
    /// The values 3.8 derives from zoo.cfg and its `zookeeper.*` system
    /// properties. A `zookeeper.cnxTimeout` that is not a number is
    /// ignored (3.8 fails to start).
    pub fn from_config(config: &QuorumPeerConfig) -> Self {
        let sys = &config.system_properties;
        let cnx_timeout_ms = sys
            .get("zookeeper.cnxTimeout")
            .and_then(|v| v.trim().parse::<i32>().ok())
            .unwrap_or(5000);
        let quorum_cnxn_timeout_ms = sys.get_integer("zookeeper.quorumCnxnTimeoutMs", -1);
        let socket_timeout_ms = if quorum_cnxn_timeout_ms > 0 {
            i64::from(quorum_cnxn_timeout_ms)
        } else {
            i64::from(config.tick_time) * i64::from(config.sync_limit)
        };
        let retry = sys.get_integer("zookeeper.electionPortBindRetry", 3);
        QuorumCnxConfig {
            socket_timeout: Duration::from_millis(socket_timeout_ms.max(0) as u64),
            cnx_timeout: Duration::from_millis(cnx_timeout_ms.max(0) as u64),
            listen_on_all_ips: config.quorum_listen_on_all_ips,
            // A negative value falls back to the default, as in 3.8.
            port_bind_max_retry: if retry >= 0 { retry as u32 } else { 3 },
            port_bind_retry_interval: Duration::from_millis(1000),
            tcp_keep_alive: sys.get_boolean("zookeeper.tcpKeepAlive"),
            multi_address_enabled: config.multi_address_enabled,
            tls: Arc::new(QuorumTls::plaintext()),
            auth_server: Arc::new(NullQuorumAuthServer),
            auth_learner: Arc::new(NullQuorumAuthLearner),
            quorum_sasl_auth_enabled: config.quorum_enable_sasl,
            quorum_cnxn_threads_size: QuorumAuth::cnxn_threads_size(
                config.quorum_cnxn_threads_size,
            ),
        }
    }
}

/// One received frame and the sid of the connection it came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The server at the other end.
    pub sid: i64,
    /// The frame, without its length prefix.
    pub buffer: Vec<u8>,
}

/// A flag that threads can also wait on, so a retry pause ends as soon as
/// the manager halts.
pub(crate) struct ShutdownFlag {
    set: Mutex<bool>,
    cond: Condvar,
    fast: AtomicBool,
}

impl ShutdownFlag {
    fn new() -> Self {
        ShutdownFlag {
            set: Mutex::new(false),
            cond: Condvar::new(),
            fast: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.fast.load(Ordering::Acquire)
    }

    fn set(&self) {
        *self.set.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.fast.store(true, Ordering::Release);
        self.cond.notify_all();
    }

    /// Waits `d` unless shut down first; true if shut down.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        let g = self.set.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = self
            .cond
            .wait_timeout_while(g, d, |set| !*set)
            .unwrap_or_else(|e| e.into_inner());
        *g
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) type SendQueue = CircularBlockingQueue<Arc<Vec<u8>>>;

/// A connection's reading half: buffered, and able to give back what the
/// quorum auth server peeked at.
pub(crate) type ElectionReader = PeekableReader<BufReader<UnifiedSocket>>;

/// State shared by the manager handle and all its threads.
pub(crate) struct Inner {
    pub(crate) peer: Arc<dyn ElectionPeer>,
    pub(crate) my_sid: i64,
    pub(crate) config: QuorumCnxConfig,
    pub(crate) shutdown: ShutdownFlag,
    /// `senderWorkerMap`: the live connection per sid.
    pub(crate) sender_worker_map: Mutex<HashMap<i64, Arc<SendWorker>>>,
    /// `queueSendMap`: outgoing messages per sid; outlives connections.
    pub(crate) queue_send_map: Mutex<HashMap<i64, Arc<SendQueue>>>,
    /// `lastMessageSent`: resent when a new connection starts with an
    /// empty queue, in case the previous connection lost it.
    pub(crate) last_message_sent: Mutex<HashMap<i64, Arc<Vec<u8>>>>,
    pub(crate) recv_queue: CircularBlockingQueue<Message>,
    /// `inprogressConnections`: sids being dialed right now.
    inprogress: Mutex<HashSet<i64>>,
    observer_counter: AtomicI64,
    /// `connectOne` is `synchronized` in 3.8.
    connect_lock: Mutex<()>,
    /// Every thread started (listener, workers, connection threads), joined
    /// by `halt`.
    threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) thread_cnt: AtomicI64,
    pub(crate) next_worker_id: AtomicU64,
    connection_thread_index: AtomicU64,
    /// Connection threads running now, against `quorum_cnxn_threads_size`.
    connection_threads: Arc<AtomicUsize>,
    pub(crate) listener: ListenerState,
}

/// The connection manager of one server. Cheap to clone (a handle).
#[derive(Clone)]
pub struct QuorumCnxManager {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for QuorumCnxManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuorumCnxManager")
            .field("my_sid", &self.inner.my_sid)
            .finish_non_exhaustive()
    }
}

impl QuorumCnxManager {
    /// Creates the manager; nothing runs until [`start_listener`] or the
    /// first [`to_send`].
    ///
    /// [`start_listener`]: QuorumCnxManager::start_listener
    /// [`to_send`]: QuorumCnxManager::to_send
    pub fn new(peer: Arc<dyn ElectionPeer>, config: QuorumCnxConfig) -> Self {
        let my_sid = peer.my_id();
        QuorumCnxManager {
            inner: Arc::new(Inner {
                peer,
                my_sid,
                config,
                shutdown: ShutdownFlag::new(),
                sender_worker_map: Mutex::new(HashMap::new()),
                queue_send_map: Mutex::new(HashMap::new()),
                last_message_sent: Mutex::new(HashMap::new()),
                recv_queue: CircularBlockingQueue::new(RECV_CAPACITY),
                inprogress: Mutex::new(HashSet::new()),
                observer_counter: AtomicI64::new(-1),
                connect_lock: Mutex::new(()),
                threads: Mutex::new(Vec::new()),
                thread_cnt: AtomicI64::new(0),
                next_worker_id: AtomicU64::new(1),
                connection_thread_index: AtomicU64::new(1),
                connection_threads: Arc::new(AtomicUsize::new(0)),
                listener: ListenerState::default(),
            }),
        }
    }

    /// This server's id.
    pub fn my_sid(&self) -> i64 {
        self.inner.my_sid
    }

    /// Starts the `Listener` thread on this server's election address(es).
    pub fn start_listener(&self) {
        let inner = Arc::clone(&self.inner);
        self.inner.spawn("QuorumPeerListener".to_string(), move || {
            Listener::new(inner).run()
        });
    }

    /// The addresses the listener is accepting on (empty until bound).
    pub fn listening_addresses(&self) -> Vec<SocketAddr> {
        self.inner.listener.bound_addresses()
    }

    /// How many times the Listener failed to bind (or accept) so far;
    /// each failure is retried `zookeeper.electionPortBindRetry` times.
    pub fn listener_errors(&self) -> u64 {
        self.inner.listener.errors()
    }

    /// `toSend`: queues `msg` for `sid` (replacing an unsent older one) and
    /// makes sure a connection is on its way. A message to ourselves goes
    /// straight to the receive queue.
    pub fn to_send(&self, sid: i64, msg: Vec<u8>) {
        self.inner.to_send(sid, msg)
    }

    /// `pollRecvQueue`.
    pub fn poll_recv_queue(&self, timeout: Duration) -> Option<Message> {
        self.inner.recv_queue.poll(timeout)
    }

    /// `connectOne(sid)`: dials `sid` unless connected or dialing already.
    pub fn connect_one(&self, sid: i64) {
        self.inner.connect_one(sid)
    }

    /// `connectAll`: dials every sid we have ever queued a message for.
    pub(crate) fn connect_all(&self) {
        let sids: Vec<i64> = lock(&self.inner.queue_send_map).keys().copied().collect();
        for sid in sids {
            self.inner.connect_one(sid);
        }
    }

    /// `haveDelivered`: true as soon as one peer's send queue is empty
    /// (3.8's rule, kept as is: the election then resends notifications
    /// rather than only redialing).
    pub(crate) fn have_delivered(&self) -> bool {
        lock(&self.inner.queue_send_map)
            .values()
            .any(|q| q.is_empty())
    }

    /// `connectedToPeer`.
    pub fn connected_to_peer(&self, sid: i64) -> bool {
        lock(&self.inner.sender_worker_map).contains_key(&sid)
    }

    /// Sids with a live connection.
    pub fn connected_peers(&self) -> Vec<i64> {
        let mut v: Vec<i64> = lock(&self.inner.sender_worker_map)
            .keys()
            .copied()
            .collect();
        v.sort_unstable();
        v
    }

    /// `getThreadCount`: running Send/RecvWorkers.
    pub fn thread_count(&self) -> i64 {
        self.inner.thread_cnt.load(Ordering::SeqCst)
    }

    /// Whether `halt` was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shutdown.is_set()
    }

    /// `softHalt`: closes every connection, keeps listening.
    pub fn soft_halt(&self) {
        self.inner.soft_halt()
    }

    /// `halt`: stops the listener, closes every connection and joins every
    /// thread the manager started. Idempotent.
    pub fn halt(&self) {
        let inner = &self.inner;
        {
            // Under the threads lock, so no thread is spawned after the
            // drain below without being seen.
            let _g = lock(&inner.threads);
            inner.shutdown.set();
        }
        debug!("Halting listener of server {}", inner.my_sid);
        inner.listener.halt();
        inner.soft_halt();
        inner.recv_queue.close();
        loop {
            let handles: Vec<JoinHandle<()>> = std::mem::take(&mut *lock(&inner.threads));
            if handles.is_empty() {
                break;
            }
            for h in handles {
                if h.thread().id() == std::thread::current().id() {
                    continue;
                }
                let _ = h.join();
            }
        }
        lock(&inner.inprogress).clear();
    }
}

impl Inner {
    /// Spawns a thread that `halt` will join; refused once halted.
    pub(crate) fn spawn(&self, name: String, f: impl FnOnce() + Send + 'static) -> bool {
        let mut threads = lock(&self.threads);
        if self.shutdown.is_set() {
            return false;
        }
        threads.retain(|h| !h.is_finished());
        match std::thread::Builder::new().name(name.clone()).spawn(f) {
            Ok(h) => {
                threads.push(h);
                true
            }
            Err(e) => {
                error!("cannot start thread {name}: {e}");
                false
            }
        }
    }

    fn to_send(self: &Arc<Self>, sid: i64, msg: Vec<u8>) {
        if sid == self.my_sid {
            self.recv_queue.offer(Message { sid, buffer: msg });
            return;
        }
        self.send_queue(sid).offer(Arc::new(msg));
        self.connect_one(sid);
    }

    pub(crate) fn send_queue(&self, sid: i64) -> Arc<SendQueue> {
        Arc::clone(
            lock(&self.queue_send_map)
                .entry(sid)
                .or_insert_with(|| Arc::new(CircularBlockingQueue::new(SEND_CAPACITY))),
        )
    }

    fn connect_one(self: &Arc<Self>, sid: i64) {
        let _g = lock(&self.connect_lock);
        if lock(&self.sender_worker_map).contains_key(&sid) {
            debug!("There is a connection already for server {sid}");
            return;
        }
        let known = self.peer.election_addresses(sid);
        match known.into_iter().next() {
            Some(addrs) => {
                self.initiate_connection_async(addrs, sid);
            }
            None => warn!("Invalid server id: {sid}"),
        }
    }

    /// `connectOne(sid, electionAddr)`: dial the address the peer announced.
    fn connect_one_to(self: &Arc<Self>, sid: i64, addrs: Vec<HostPort>) {
        let _g = lock(&self.connect_lock);
        if lock(&self.sender_worker_map).contains_key(&sid) {
            debug!("There is a connection already for server {sid}");
            return;
        }
        self.initiate_connection_async(addrs, sid);
    }

    fn initiate_connection_async(self: &Arc<Self>, addrs: Vec<HostPort>, sid: i64) {
        if !lock(&self.inprogress).insert(sid) {
            debug!("Connection request to server id: {sid} is already in progress, so skipping this request");
            return;
        }
        let inner = Arc::clone(self);
        let started = self.spawn_connection_thread(move || {
            inner.initiate_connection(&addrs, sid);
            lock(&inner.inprogress).remove(&sid);
        });
        if !started {
            error!("Exception while submitting quorum connection request to server {sid}");
            lock(&self.inprogress).remove(&sid);
        }
    }

    /// 3.8's `connectionExecutor.execute`: runs `f` on a
    /// `QuorumConnectionThread-[myid=N]-i` unless
    /// `quorum.cnxn.threads.size` of them are running (false then).
    fn spawn_connection_thread(&self, f: impl FnOnce() + Send + 'static) -> bool {
        let limit = self.config.quorum_cnxn_threads_size.max(1);
        let running = &self.connection_threads;
        let taken = running.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < limit).then_some(n + 1)
        });
        if taken.is_err() {
            warn!("All {limit} quorum connection threads are busy (quorum.cnxn.threads.size)");
            return false;
        }
        let index = self.connection_thread_index.fetch_add(1, Ordering::Relaxed);
        let name = format!("QuorumConnectionThread-[myid={}]-{index}", self.my_sid);
        let counter = Arc::clone(running);
        let started = self.spawn(name, move || {
            f();
            counter.fetch_sub(1, Ordering::SeqCst);
        });
        if !started {
            running.fetch_sub(1, Ordering::SeqCst);
        }
        started
    }

    /// `receiveConnectionAsync`: with quorum SASL the connection is
    /// handled on a connection thread (its authentication may take
    /// seconds); one beyond the thread limit is closed.
    pub(crate) fn receive_connection_async(self: &Arc<Self>, stream: TcpStream, remote: &str) {
        debug!("Async handling of connection request received from: {remote}");
        let inner = Arc::clone(self);
        if !self.spawn_connection_thread(move || inner.receive_connection(stream)) {
            error!("Exception handling connection, addr: {remote}, closing server connection");
        }
    }

    /// `initiateConnection`: TCP connect within `cnx_timeout`, then the
    /// initial message.
    fn initiate_connection(self: &Arc<Self>, addrs: &[HostPort], sid: i64) {
        let shown = show_addrs(addrs);
        debug!("Opening channel to server {sid} at {shown}");
        // MultipleAddresses.getReachableOrOne without the ICMP probe: the
        // first address that resolves.
        let Some((host, target)) = addrs
            .iter()
            .find_map(|a| a.resolve().ok().map(|t| (a.host.as_str(), t)))
        else {
            warn!("Cannot open channel to {sid} at election address {shown}: address does not resolve");
            return;
        };
        let mut dial = || {
            let stream = TcpStream::connect_timeout(&target, self.config.cnx_timeout)?;
            self.set_sock_opts(&stream)?;
            Ok(stream)
        };
        // sslQuorum: the handshake (bounded by the socket timeout, as the
        // initial message is) before anything else; a failure is only
        // this attempt's: the election dials again as usual.
        let timeout = self.handshake_timeout();
        let stream = match self
            .config
            .tls
            .connect_to_host(&mut dial, target.ip(), host, timeout)
        {
            Ok(s) => s,
            Err(e) => {
                warn!("Cannot open channel to {sid} at election address {target}: {e}");
                return;
            }
        };
        if stream.is_tls() {
            info!(
                "TLS handshake complete with server {sid} at {target}: {}",
                stream.tls_description()
            );
        }
        debug!("Connected to server {sid} using election address: {target}");
        self.start_connection(stream, sid);
    }

    /// The TLS handshake gets the time the initial message gets (3.8's
    /// socket timeout applies to its handshake the same way).
    pub(crate) fn handshake_timeout(&self) -> Duration {
        Some(self.config.socket_timeout)
            .filter(|d| !d.is_zero())
            .unwrap_or(self.config.cnx_timeout)
    }

    pub(crate) fn set_sock_opts(&self, stream: &TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        socket2::SockRef::from(stream).set_keepalive(self.config.tcp_keep_alive)?;
        stream.set_read_timeout(Some(self.config.socket_timeout).filter(|d| !d.is_zero()))
    }

    /// `startConnection`: announce ourselves, then keep the connection
    /// only if our sid is the larger.
    fn start_connection(self: &Arc<Self>, stream: UnifiedSocket, sid: i64) {
        let my = self.my_sid;
        debug!("startConnection (myId:{my} --> sid:{sid})");
        let Some(me) = self.peer.my_server() else {
            error!("server {my} is not in its own configuration: no election address to announce to {sid}");
            return;
        };
        let addrs: Vec<String> = me.election_addrs.iter().map(format_host_port).collect();
        let hello = InitialMessage::encode(my, &addrs, self.config.multi_address_enabled);
        if let Err(e) = (&stream).write_all(&hello).and_then(|_| (&stream).flush()) {
            warn!("Ignoring exception reading or writing challenge to server {sid}: {e}");
            return;
        }
        // Even a connection about to be dropped authenticates: a 3.8
        // server that requires SASL would otherwise refuse it and not dial
        // back. 3.8 asks the voting view only, so no authentication runs
        // towards an observer.
        let host = self
            .peer
            .quorum_verifier()
            .voting_members()
            .get(&sid)
            .map(|s| s.hostname.clone());
        if let Some(host) = host {
            if let Err(e) = self.config.auth_learner.authenticate(&stream, &host) {
                error!(
                    "Exception while connecting, id: {sid}, addr: {}, closing learner connection: {e}",
                    stream
                        .peer_addr()
                        .map_or_else(|_| "?".to_string(), |a| a.to_string())
                );
                return;
            }
        }
        if sid > my {
            info!("Have smaller server identifier, so dropping the connection: (myId:{my} --> sid:{sid})");
            return;
        }
        debug!(
            "Have larger server identifier, so keeping the connection: (myId:{my} --> sid:{sid})"
        );
        match stream.try_clone() {
            Ok(read_half) => {
                self.start_workers(stream, PeekableReader::new(BufReader::new(read_half)), sid)
            }
            Err(e) => warn!("cannot use the connection to server {sid}: {e}"),
        }
    }

    /// `receiveConnection`/`handleConnection`, on the listener thread (or,
    /// with quorum SASL, a connection thread).
    pub(crate) fn receive_connection(self: &Arc<Self>, stream: TcpStream) {
        let remote = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".to_string());
        // sslQuorum / portUnification: TLS (or plaintext, as the peer
        // opens) before the initial message; a failed handshake drops
        // only this connection, the peer dials again.
        let stream = match self.config.tls.accept(stream, self.handshake_timeout()) {
            Ok(s) => s,
            Err(e) => {
                warn!("Refusing election connection from {remote}: {e}");
                return;
            }
        };
        if stream.is_tls() {
            debug!(
                "TLS handshake complete with {remote}: {}",
                stream.tls_description()
            );
        } else if self.config.tls.port_unification() {
            debug!("Plaintext election connection from {remote} (portUnification)");
        }
        let read_half = match stream.try_clone() {
            Ok(s) => s,
            Err(e) => {
                error!(
                    "Exception handling connection, addr: {remote}, closing server connection: {e}"
                );
                return;
            }
        };
        let mut reader = PeekableReader::new(BufReader::new(read_half));
        let init = match InitialMessage::read_from(&mut reader) {
            Ok(m) => m,
            Err(e) => {
                error!("Initial message parsing error from {remote}: {e}");
                return;
            }
        };
        debug!("Initial message parsed by {}: {init:?}", self.my_sid);
        if let Err(e) = self.config.auth_server.authenticate(&stream, &mut reader) {
            error!(
                "Refusing election connection from server {} at {remote}: {e}",
                init.sid
            );
            return;
        }
        let mut sid = init.sid;
        if sid == OBSERVER_ID {
            sid = self.observer_counter.fetch_sub(1, Ordering::SeqCst);
            info!("Setting arbitrary identifier to observer at {remote}: {sid}");
        }
        if sid < self.my_sid {
            // The larger sid dials: drop this one and call back.
            let existing = lock(&self.sender_worker_map).get(&sid).cloned();
            if let Some(sw) = existing {
                sw.finish(self);
            }
            debug!("Create new connection to server: {sid} (it dialed us from {remote})");
            drop(stream);
            drop(reader);
            if init.election_addrs.is_empty() {
                self.connect_one(sid);
            } else {
                self.connect_one_to(sid, init.election_addrs);
            }
        } else if sid == self.my_sid {
            warn!(
                "We got a connection request from a server with our own ID ({sid}, from {remote}). \
                 This should be either a configuration error, or a bug."
            );
        } else {
            self.start_workers(stream, reader, sid);
        }
    }

    fn soft_halt(&self) {
        let workers: Vec<Arc<SendWorker>> =
            lock(&self.sender_worker_map).values().cloned().collect();
        for sw in workers {
            debug!(
                "Server {} is soft-halting sender towards: {}",
                self.my_sid, sw.sid
            );
            sw.finish(self);
        }
    }
}

fn show_addrs(addrs: &[HostPort]) -> String {
    let v: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    v.join("|")
}
