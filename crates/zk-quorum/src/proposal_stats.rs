//! `ProposalStats`: the sizes of the leader's proposals (the txn bytes a
//! PROPOSAL carries), for the `last_proposal_size`, `min_proposal_size`
//! and `max_proposal_size` gauges; -1 until the first proposal, as 3.8's.

use std::sync::atomic::{AtomicI64, Ordering};

/// Last, smallest and largest proposal size in bytes.
#[derive(Debug)]
pub(crate) struct ProposalStats {
    last: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
}

impl Default for ProposalStats {
    fn default() -> Self {
        ProposalStats {
            last: AtomicI64::new(-1),
            min: AtomicI64::new(-1),
            max: AtomicI64::new(-1),
        }
    }
}

impl ProposalStats {
    /// A proposal of `size` bytes went out.
    pub(crate) fn record(&self, size: usize) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        self.last.store(size, Ordering::Relaxed);
        // -1 is "none yet": the first size replaces it.
        let _ = self
            .min
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                (m < 0 || size < m).then_some(size)
            });
        self.max.fetch_max(size, Ordering::Relaxed);
    }

    /// (last, min, max).
    pub(crate) fn sizes(&self) -> (i64, i64, i64) {
        (
            self.last.load(Ordering::Relaxed),
            self.min.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_one_until_the_first_then_last_min_max() {
        let s = ProposalStats::default();
        assert_eq!(s.sizes(), (-1, -1, -1));
        s.record(10);
        s.record(3);
        s.record(7);
        assert_eq!(s.sizes(), (7, 3, 10));
    }
}
