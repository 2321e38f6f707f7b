//! # zk-persistence: ZooKeeper's data on disk and in memory
//!
//! Everything an Apache ZooKeeper 3.8 data directory holds, byte for byte:
//!
//! - [`jute`]: the binary archive every record is written in.

pub mod jute;
