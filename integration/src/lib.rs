//! # integration: end-to-end tests and tools
//!
//! A harness that starts real `zk-bin` processes (and Apache ZooKeeper 3.8,
//! where it is installed) on free loopback ports, and the tests that talk to
//! them with real clients.
//!
//! ## Modules
//!
//! - [`ports`]: free loopback ports and self-removing temp dirs.
//! - [`apache`]: finds Java and Debian's Apache ZooKeeper 3.8 jars; starts a
//!   standalone server on a generated `zoo.cfg` (waiting until `srvr`
//!   answers), kills it, and runs `SnapshotFormatter` / `TxnLogToolkit`.
//! - [`tls`]: test certificates made with openssl/keytool (CA, per-node
//!   server certs, clients with known DNs, untrusted/expired/wrong-host
//!   certs) as PEM, PKCS12 and JKS, and the zoo.cfg / `-D` lines naming them.
//! - [`kdc`]: a throwaway MIT Kerberos KDC on loopback (Debian's krb5-kdc):
//!   its own realm, principals and keytabs in a temp dir, for the GSSAPI tests.
//! - [`tree_model`]: a tree as clients see it (path -> data, the eleven
//!   `Stat` fields, ACL), a diff that names the first differences, and a
//!   dumper that reads a live server with the `zookeeper-client` crate.
//! - [`tool_output`]: parsers turning the Java tools' text into comparable
//!   records, for checking our `snapshot-dump` / `txnlog-dump` against them.
//! - [`zk_bin`]: finds (or builds) this workspace's `zk-bin` to run it.
//! - [`zkcli`]: Apache's zkCli run on a script with a deadline, and its
//!   answers without log lines (ports normalised to compare ensembles).
//! - [`failpoints`]: builds a second `zk-bin` with its failpoints compiled
//!   in, for `tests/failpoints.rs`.
//! - [`bench`]: `zk-bench load`/`memory`: a cheap blocking client, the same
//!   closed-loop load and a 1M-znode fill against zk-bin and Apache 3.8.
//! - [`ensemble`]: replicated ensembles of Apache 3.8 and/or zk-bin nodes
//!   (observers too) on loopback: start/stop/kill -9/freeze/replace any
//!   node, `srvr` modes, waiting for a leader, a steady writer that keeps
//!   its acknowledged writes, DIFF/SNAP/TRUNC read from the learners' logs.
//! - [`fault`]: fault injection: nodes as their own users on their own
//!   loopback addresses, nftables partitions, torn log tails, recorded
//!   client workloads and the checks on them (a linearizability checker).
//! - [`kazoo`]: kazoo's own tests run by pytest with kazoo's harness,
//!   against Apache 3.8 or zk-bin (through a `java` shim).
//! - [`workload`]: the writes that produce an interesting data directory
//!   (every create mode, versions, multi, ACLs, binary, large and unicode
//!   values, several snapshots, fuzzy snapshots, a session left open).
//!
//! ## Data flow of the Apache interop test (`tests/apache_datadir.rs`)
//!
//! ```text
//! workload --client--> Apache server --fsync--> dataDir
//!                           |  dump_live                 |  SIGKILL, copy
//!                           v                            v
//!                      TreeModel (served)   ==   TreeModel (restored by zk-persistence)
//! ```
//!
//! The async client runs on a tokio runtime that the tests own; the server
//! processes and Java tools are plain child processes with deadlines.

#![deny(missing_docs)]

pub mod admin;
pub mod apache;
pub mod bench;
pub mod conformance;
pub mod ensemble;
pub mod failpoints;
pub mod fault;
pub mod kazoo;
pub mod kdc;
pub mod ports;
pub mod tls;
pub mod tool_output;
pub mod tree_model;
pub mod workload;
pub mod zk_bin;
pub mod zkcli;
