//! `CircularBlockingQueue`: a bounded FIFO whose `offer` never blocks and
//! never fails: when the queue is full the oldest element is discarded.
//!
//! The election only ever cares about the newest vote, so a slow peer must
//! not make the sender wait or pile up stale notifications. 3.8 uses this
//! for the per-peer send queues (capacity 1) and the receive queue
//! (capacity 100); with an unbounded capacity it also serves as the FLE's
//! `LinkedBlockingQueue`s.
//!
//! `interrupt` stands in for Java's `Thread.interrupt()` of a waiting
//! consumer: every thread blocked in `poll` returns `None` at once, so a
//! shutting-down worker is never stuck for a whole poll interval.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// See the module docs: a FIFO whose `offer` drops the oldest element
/// when full.
pub(crate) struct CircularBlockingQueue<T> {
    state: Mutex<State<T>>,
    not_empty: Condvar,
    capacity: usize,
}

struct State<T> {
    items: VecDeque<T>,
    dropped: u64,
    /// Bumped by `interrupt`; a waiter that sees it change gives up.
    interrupts: u64,
    /// Set by `close`: `poll` never waits again.
    closed: bool,
}

impl<T> CircularBlockingQueue<T> {
    /// A queue that keeps at most `capacity` elements (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        CircularBlockingQueue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                dropped: 0,
                interrupts: 0,
                closed: false,
            }),
            not_empty: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// A queue that never discards.
    pub(crate) fn unbounded() -> Self {
        Self::new(usize::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the deque
        // inconsistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `item`, discarding the oldest element if the queue is full.
    /// Returns the discarded element, if any.
    pub(crate) fn offer(&self, item: T) -> Option<T> {
        let mut st = self.lock();
        let discarded = if st.items.len() >= self.capacity {
            st.dropped += 1;
            st.items.pop_front()
        } else {
            None
        };
        st.items.push_back(item);
        drop(st);
        self.not_empty.notify_one();
        discarded
    }

    /// Takes the head, waiting up to `timeout` for one to arrive. `None` on
    /// timeout or when `interrupt` is called meanwhile.
    pub(crate) fn poll(&self, timeout: Duration) -> Option<T> {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.lock();
        let interrupts = st.interrupts;
        loop {
            if let Some(item) = st.items.pop_front() {
                return Some(item);
            }
            if st.interrupts != interrupts || st.closed {
                return None;
            }
            let wait = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    d - now
                }
                None => Duration::from_secs(3600),
            };
            st = self
                .not_empty
                .wait_timeout(st, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Takes the head without waiting.
    #[cfg(test)]
    pub(crate) fn try_poll(&self) -> Option<T> {
        self.lock().items.pop_front()
    }

    /// Wakes every thread blocked in `poll`; they return `None`.
    pub(crate) fn interrupt(&self) {
        self.lock().interrupts += 1;
        self.not_empty.notify_all();
    }

    /// Like `interrupt`, but for good: later `poll`s return what is left
    /// and then `None` without waiting. Used at shutdown, where a consumer
    /// may be just about to start waiting when the interrupt comes.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_all();
    }

    /// Items queued.
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops everything queued.
    pub(crate) fn clear(&self) {
        self.lock().items.clear();
    }

    /// How many elements `offer` has discarded so far.
    #[cfg(test)]
    pub(crate) fn dropped_count(&self) -> u64 {
        self.lock().dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn full_queue_drops_the_oldest() {
        let q = CircularBlockingQueue::new(2);
        assert_eq!(q.offer(1), None);
        assert_eq!(q.offer(2), None);
        assert_eq!(q.offer(3), Some(1));
        assert_eq!(q.dropped_count(), 1);
        assert_eq!(q.try_poll(), Some(2));
        assert_eq!(q.try_poll(), Some(3));
        assert_eq!(q.try_poll(), None);
    }

    #[test]
    fn capacity_one_keeps_only_the_newest() {
        let q = CircularBlockingQueue::new(1);
        for i in 0..10 {
            q.offer(i);
        }
        assert_eq!(q.len(), 1);
        assert_eq!(q.poll(Duration::from_millis(1)), Some(9));
    }

    #[test]
    fn poll_times_out_and_wakes_on_offer() {
        let q = Arc::new(CircularBlockingQueue::new(4));
        let start = Instant::now();
        assert_eq!(q.poll(Duration::from_millis(20)), None);
        assert!(start.elapsed() >= Duration::from_millis(20));

        let q2 = Arc::clone(&q);
        let t = std::thread::spawn(move || q2.poll(Duration::from_secs(30)));
        q.offer(7);
        assert_eq!(t.join().unwrap(), Some(7));
    }

    #[test]
    fn interrupt_releases_waiters() {
        let q: Arc<CircularBlockingQueue<u8>> = Arc::new(CircularBlockingQueue::new(1));
        let q2 = Arc::clone(&q);
        let start = Instant::now();
        let t = std::thread::spawn(move || q2.poll(Duration::from_secs(30)));
        // The waiter may not be waiting yet; keep interrupting until it returns.
        while !t.is_finished() {
            q.interrupt();
            std::thread::yield_now();
            assert!(start.elapsed() < Duration::from_secs(10));
        }
        assert_eq!(t.join().unwrap(), None);
    }

    #[test]
    fn closed_queue_never_waits() {
        let q = CircularBlockingQueue::unbounded();
        q.offer(1);
        q.close();
        let start = Instant::now();
        assert_eq!(q.poll(Duration::from_secs(30)), Some(1));
        assert_eq!(q.poll(Duration::from_secs(30)), None);
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
