//! # zk-persistence: ZooKeeper's data on disk and in memory
//!
//! Everything an Apache ZooKeeper 3.8 data directory holds, byte for byte:
//!
//! - [`jute`]: the binary archive every record is written in.
//! - [`records`]: the on-disk records of `zookeeper.jute`.

pub mod jute;
pub mod records;
