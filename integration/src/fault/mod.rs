//! The fault-injection harness (project issue 10): nodes on their own
//! loopback addresses and Unix users, network partitions with nftables,
//! pauses, crashes and torn log tails, client workloads that record what
//! they were told, and the checks run on it at the end.
//!
//! - `users.rs`: the `zkfaultN` users nodes run as;
//! - `net.rs`: [`net::Net`], links cut and healed with nftables;
//! - `rng.rs`: the seeded random source of every choice;
//! - `proxy.rs`: [`proxy::QuorumProxy`], a learner's quorum link that
//!   delays or cuts at a chosen Zab packet;
//! - `torn.rs`: a txn log cut inside its last records;
//! - `nemesis.rs`: the fault schedule;
//! - `workload.rs`: registers, sequential ids, a grow-only set, ephemerals;
//! - `linearizable.rs`: a WGL-style checker for one CAS register;
//! - `check.rs`: the checks once the ensemble is healed;
//! - `signatures.rs`: known Apache 3.8 failure lines in its logs.

pub mod check;
pub mod linearizable;
pub mod nemesis;
pub mod net;
pub mod proxy;
pub mod rng;
pub mod signatures;
pub mod torn;
pub mod users;
pub mod workload;
