//! # zk-config: the configuration an Apache ZooKeeper operator already has
//!
//! Reads `zoo.cfg` (Java properties syntax), the `myid` file and the dynamic
//! configuration file exactly as Apache ZooKeeper 3.8's `QuorumPeerConfig`
//! reads them, with the same defaults and the same refusals.
//!
//! This crate starts no threads; it is pure parsing and validation.
