//! # zk-persistence: ZooKeeper's data on disk and in memory
//!
//! Everything an Apache ZooKeeper 3.8 data directory holds, byte for byte:
//!
//! - [`jute`]: the binary archive every record is written in.
//! - [`records`]: the on-disk records of `zookeeper.jute`, txn bodies
//!   included.
//! - [`zoo_defs`]: ZooKeeper's constants: opcodes, permission bits,
//!   standard ACLs, create modes, error codes, `ephemeralOwner` encoding.
//! - [`txn`]: [`txn::Txn`], a txn body decoded by its header's type, and
//!   [`txn::TxnEntry`], one logged txn split into header, txn and digest.
//! - [`data_tree`]: `DataTree`, the znode tree in memory: applying txns
//!   (`process_txn`, which returns what changed for watches), reads, the
//!   tree digest, and the tree's part of a snapshot. Its nodes live in
//!   `node_table` (a slab, a name/data arena and a (parent, name) index:
//!   about 100 bytes a node plus its name and data); ACL lists are shared
//!   through [`acl_cache`]; [`digest`] is the per-node CRC and `ZxidDigest`.
//! - [`data_dir`]: file names in `version-2` directories (`log.<zxid>`,
//!   `snapshot.<zxid>`) and how they sort.
//! - [`txn_log`]: `FileTxnLog`, the write-ahead log: group-committed
//!   appends into preallocated files, and a `TxnIterator` that reads them
//!   back in zxid order.
//! - [`txn_iterator`]: reading logs back: `TxnIterator`, and how a torn
//!   tail is told from damage (`CorruptLog`, naming file and offset).
//! - [`epoch`]: the `currentEpoch`/`acceptedEpoch` files, written
//!   atomically, and the startup checks on them.
//! - [`snapshot`]: `FileSnap`, snapshot files: finding valid ones, writing
//!   and reading them; `serialize_fuzzy` writes one while txns go on,
//!   walking the tree (`data_tree::FuzzyTreeWalk`) a slice at a time.
//! - [`purge`]: `PurgeTxnLog` (keep the N newest snapshots and the logs
//!   they need) and `DatadirCleanupManager`, the "PurgeTask" thread that
//!   runs it every `autopurge.purgeInterval` hours.
//! - [`file_txn_snap_log`]: `FileTxnSnapLog`, the two together: opening and
//!   checking the data directories, `restore` (newest intact snapshot +
//!   replay of later txns), `save`, and the log operations.
//! - [`zk_database`]: `ZKDatabase`, the in-memory database: tree, sessions
//!   and the committed log of recent txns a leader uses for DIFF syncs.

pub mod failpoint;
pub mod jute;
pub mod records;
pub mod txn;
pub mod zoo_defs;

pub mod acl_cache;
pub mod data_tree;
pub mod digest;
mod node_table;

pub mod data_dir;
pub mod epoch;
pub mod file_txn_snap_log;
pub mod purge;
pub mod snapshot;
pub mod txn_iterator;
pub mod txn_log;
pub mod zk_database;

#[cfg(test)]
mod test_dir;
