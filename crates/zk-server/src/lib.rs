//! # zk-server: the standalone ZooKeeperServer
//!
//! The server that answers clients, as Apache ZooKeeper 3.8 runs it
//! standalone. So far:
//!
//! - [`proto`]: the client protocol records (`org.apache.zookeeper.proto`)
//!   and [`multi`]: the hand-written multi request/response encodings.
//! - [`java_random`]: `java.util.Random`, which session passwords come from.

pub mod java_random;
pub mod multi;
pub mod proto;
