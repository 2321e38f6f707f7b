//! Why a running server (or a quorum peer) has to stop, as a type.
//!
//! 3.8 ends the process on the spot, with a number from its `ExitCode`.
//! Here the thread that meets the failure reports a [`FatalError`] to its
//! `ZooKeeperServer` (which stops taking requests and passes it on, to a
//! quorum peer when there is one), the error travels up to whoever runs
//! the server, and only zk-bin turns it into the process exit status. So
//! a library never exits, and the numbers live in one place.

use std::fmt;

/// A failure the server cannot carry on after. Each variant is one of
/// 3.8's `ExitCode` reasons; zk-bin maps it to that code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FatalError {
    /// The txn log could not be written, synced or rolled. Nothing after
    /// the failure is acknowledged; the log holds every txn acknowledged
    /// before it. 3.8's SyncThread dies with it as a critical thread
    /// (`ZooKeeperCriticalThread`: `ExitCode.UNEXPECTED_ERROR`).
    TxnLogError(String),
    /// A snapshot could not be written (3.8's `ZooKeeperServer.takeSnapshot`:
    /// `ExitCode.TXNLOG_ERROR_TAKING_SNAPSHOT`).
    TxnLogErrorTakingSnapshot(String),
    /// A COMMIT from the leader for a txn that is not the next one logged
    /// (3.8's `FollowerZooKeeperServer.commit`:
    /// `ExitCode.UNMATCHED_TXN_COMMIT`).
    UnmatchedTxnCommit(String),
    /// A packet from the leader that a learner cannot act on while
    /// syncing (3.8's `Learner.syncWithLeader`:
    /// `ExitCode.QUORUM_PACKET_ERROR`).
    QuorumPacketError(String),
    /// The election listener gave up binding its address (3.8's
    /// `QuorumCnxManager.Listener`: `ExitCode.UNABLE_TO_BIND_QUORUM_PORT`).
    UnableToBindQuorumPort(String),
}

impl FatalError {
    /// What happened, for the log and the operator.
    pub fn message(&self) -> &str {
        match self {
            FatalError::TxnLogError(m)
            | FatalError::TxnLogErrorTakingSnapshot(m)
            | FatalError::UnmatchedTxnCommit(m)
            | FatalError::QuorumPacketError(m)
            | FatalError::UnableToBindQuorumPort(m) => m,
        }
    }
}

impl fmt::Display for FatalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for FatalError {}
