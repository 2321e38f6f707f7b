//! # zk-election: QuorumCnxManager and FastLeaderElection
//!
//! Will hold the election layer of a replicated ensemble, as Apache ZooKeeper
//! 3.8 runs it:
//!
//! - `QuorumCnxManager`: a `Listener` thread on the election port, and a
//!   `SendWorker`/`RecvWorker` thread pair per peer. Of two peers, only the
//!   one with the larger server id keeps the connection.
//! - `FastLeaderElection` and its `Messenger` (`WorkerSender`,
//!   `WorkerReceiver` threads): votes ordered by (epoch, zxid, sid), a
//!   logical clock per election round, and the quorum test through the
//!   `QuorumVerifier` of zk-config.
//!
//! Nothing is implemented here yet: the replicated-mode work builds it.
