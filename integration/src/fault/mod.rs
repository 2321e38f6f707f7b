//! The fault-injection harness (project issue 10): nodes on their own
//! loopback addresses and Unix users, network partitions with nftables,
//! and the checks run on what clients saw.
//!
//! - `users.rs`: the `zkfaultN` users nodes run as;
//! - `net.rs`: [`net::Net`], links cut and healed with nftables.

pub mod net;
pub mod users;
