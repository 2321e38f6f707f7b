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
//!   through `acl_cache`; [`digest`] is the per-node CRC and `ZxidDigest`.
//! - [`data_dir`]: file names in `version-2` directories (`log.<zxid>`,
//!   `snapshot.<zxid>`) and how they sort.
//! - [`file_txn_log`]: `FileTxnLog`, the write-ahead log: group-committed
//!   appends into preallocated files, and a `TxnIterator` that reads them
//!   back in zxid order.
//! - `txn_iterator`: reading logs back: `TxnIterator`, and how a torn
//!   tail is told from damage (`CorruptLog`, naming file and offset).
//! - [`epoch`]: the `currentEpoch`/`acceptedEpoch` files, written
//!   atomically, and the startup checks on them.
//! - [`file_snap`]: `FileSnap`, snapshot files: finding valid ones, writing
//!   and reading them; `serialize_fuzzy` writes one while txns go on,
//!   walking the tree (`data_tree::FuzzyTreeWalk`) a slice at a time.
//! - [`purge_txn_log`]: `PurgeTxnLog` (keep the N newest snapshots and the
//!   logs they need); [`datadir_cleanup_manager`]: `DatadirCleanupManager`,
//!   the "PurgeTask" thread that runs it every `autopurge.purgeInterval`
//!   hours.
//! - [`file_txn_snap_log`]: `FileTxnSnapLog`, the two together: opening and
//!   checking the data directories, `restore` (newest intact snapshot +
//!   replay of later txns), `save`, and the log operations.
//! - [`zk_database`]: `ZKDatabase`, the in-memory database: tree, sessions
//!   and the committed log of recent txns a leader uses for DIFF syncs.
//!
//! ## One writer of the txn log
//!
//! A server has one `FileTxnLog` that writes: the one inside the
//! `FileTxnSnapLog` its `ZKDatabase` owns, made by
//! [`zk_database::ZKDatabase::open`] (through
//! [`file_txn_snap_log::FileTxnSnapLog::open_with`]), the only place
//! non-test code makes one. Every append, commit (fsync), roll, close and
//! truncate goes through that log and its mutex
//! ([`file_txn_snap_log::TxnLogWriter`]): the request pipeline's
//! `SyncRequestProcessor` and a learner syncing with its leader write the
//! same files, one after the other, never two writers side by side.
//! Whatever only reads a log directory (the tools, restore, a leader
//! reading txns for a DIFF, tests) uses a [`file_txn_log::TxnLogReader`],
//! which cannot write and takes no lock; zk-bin's start-up check of the
//! directories ([`file_txn_snap_log::FileTxnSnapLog::check_data_dirs`])
//! opens nothing.
//!
//! ## Who holds which lock
//!
//! | lock | held by | for |
//! |---|---|---|
//! | the database lock: the server's `RwLock<ZKDatabase>` (a quorum peer shares one across its roles) | write: `FinalRequestProcessor` applying a txn; restore; a learner's sync (SNAP, TRUNC, the txns it logs before UPTODATE, its snapshot); shutdown | one txn, or one sync step |
//! | | read: reads of the tree; the `Snapshot Thread`, a slice (about 1 ms) at a time; a leader preparing a DIFF | one read, one slice |
//! | the txn log lock: the `Mutex<FileTxnLog>` in `TxnLogWriter` | `SyncThread`, once per batch, *without* the database lock | the batch's appends, a roll at `snapCount`, the commit's one fsync |
//! | | `ZKDatabase::append`/`append_entry`/`commit`/`roll_log`/`close`/`truncate_log`, under the database's write lock | one call |
//!
//! The order is the database lock, then the txn log lock, never the other
//! way: the `SyncThread` holds only the log lock, and the `Snapshot
//! Thread` only the database lock, so an fsync never holds up applying or
//! reading txns, and a snapshot never holds up the log.
//!
//! The write path (zk-server's and zk-quorum's threads above, this crate
//! below):
//!
//! ```text
//!  client write                              leader's PROPOSAL, before UPTODATE
//!       |                                         |
//!  PrepRequestProcessor                      Learner::sync_with_leader
//!       | Request {hdr, txn}                      | RwLock<ZKDatabase>.write()
//!  SyncRequestProcessor ("SyncThread")           | ZKDatabase::append_entry, commit
//!       | per batch: TxnLogWriter::lock() ---+    |
//!       |   append_txn, append_txn, ...      |    |
//!       |   (at snapCount: roll_log, and     v    v
//!       |    start the "Snapshot Thread")   Mutex<FileTxnLog>   the one writer, in
//!       |   commit: one fsync                     |             FileTxnSnapLog, in
//!       | unlock                                  v             ZKDatabase
//!       |                               dataLogDir/version-2/log.<zxid>
//!  FinalRequestProcessor
//!       | RwLock<ZKDatabase>.write(): DataTree::process_txn_with_digest,
//!       |                             ZKDatabase::add_committed_txn
//!       v
//!  reply; watches
//!
//!  "Snapshot Thread": RwLock<ZKDatabase>.read() a slice at a time
//!       -> FileSnap::serialize_fuzzy -> dataDir/version-2/snapshot.<zxid>
//! ```
//!
//! The restore path (start-up, and a learner's TRUNC, which cuts the log
//! under the txn log lock first):
//!
//! ```text
//!  ZooKeeperServer::load_data / QuorumPeer::load_data_base
//!       | RwLock<ZKDatabase>.write()
//!  ZKDatabase::load_database
//!       |
//!  FileTxnSnapLog::restore
//!       |-- FileSnap: newest valid dataDir/version-2/snapshot.<zxid>
//!       |             -> DataTree, sessions
//!       |-- TxnLogReader (no lock): each txn after that zxid
//!       |             -> process_transaction (tree and sessions)
//!       |             -> ZKDatabase's committed log (for DIFFs)
//!       v
//!  the highest zxid restored
//! ```

#![deny(missing_docs)]
#![deny(clippy::too_many_lines)]

pub mod failpoint;
pub mod jute;
pub mod records;
pub mod txn;
pub mod zoo_defs;

mod acl_cache;
pub mod data_tree;
pub mod digest;
mod node_table;
pub mod path_trie;
pub mod stats_track;

pub mod data_dir;
pub mod datadir_cleanup_manager;
pub mod epoch;
pub mod file_snap;
pub mod file_txn_log;
pub mod file_txn_snap_log;
pub mod purge_txn_log;
mod txn_iterator;
pub mod zk_database;

#[cfg(test)]
mod test_dir;
