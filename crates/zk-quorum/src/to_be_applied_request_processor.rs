//! `ToBeAppliedRequestProcessor` (3.8's `Leader.ToBeAppliedRequestProcessor`):
//! once FinalRequestProcessor has applied a committed txn, the leader drops
//! it, and every older one, from its `toBeApplied` list
//! (`Leader::applied`). Until then a learner that syncs gets the txn from
//! that list, since the tree it is synced from may not show it yet.
//!
//! As in 3.8 it has no thread of its own: it runs on Final's thread right
//! after each txn is applied, reached through the leader's
//! [`ServerRole::txn_applied`](zk_server::server_role::ServerRole::txn_applied).

use std::sync::{Arc, Weak};

use crate::leader::Leader;

/// See the module docs.
pub(crate) struct ToBeAppliedRequestProcessor {
    leader: Weak<Leader>,
}

impl ToBeAppliedRequestProcessor {
    /// The stage for `leader`'s chain.
    pub(crate) fn new(leader: &Arc<Leader>) -> Self {
        ToBeAppliedRequestProcessor {
            leader: Arc::downgrade(leader),
        }
    }

    /// Final applied `zxid`.
    pub(crate) fn process_request(&self, zxid: i64) {
        if let Some(l) = self.leader.upgrade() {
            l.applied(zxid);
        }
    }
}
