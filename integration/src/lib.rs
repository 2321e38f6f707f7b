//! # integration: end-to-end tests and tools
//!
//! A harness that starts real `zk-bin` processes (and Apache ZooKeeper 3.8,
//! where it is installed) on free loopback ports, and the tests that talk to
//! them with real clients.
