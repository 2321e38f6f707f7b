//! # zk-quorum: QuorumPeer and Zab
//!
//! Will hold the replicated server, as Apache ZooKeeper 3.8 runs it:
//! `QuorumPeer` and its state loop (LOOKING, LEADING, FOLLOWING, OBSERVING),
//! the `Leader` with its `LearnerCnxAcceptor` and a `LearnerHandler` per
//! learner, `Follower` and `Observer`, the sync by DIFF/TRUNC/SNAP, and each
//! role's request processor chain.
//!
//! Nothing is implemented here yet: the replicated-mode work builds it.
