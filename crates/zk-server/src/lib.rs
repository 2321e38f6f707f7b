//! # zk-server: the standalone ZooKeeperServer
//!
//! Will hold the server that answers clients, as Apache ZooKeeper 3.8 runs it
//! standalone: the `NIOServerCnxnFactory` selector thread, sessions and the
//! `SessionTracker`, the request processor chain (`PrepRequestProcessor` →
//! `SyncRequestProcessor` → `FinalRequestProcessor`, a thread each), the
//! `WatchManager`, auth providers, `ServerStats`, the four-letter words and
//! the admin server, and the `ContainerManager`.
//!
//! Nothing is implemented here yet: the standalone-server work builds it.
