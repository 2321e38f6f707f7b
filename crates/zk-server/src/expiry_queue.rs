//! `ExpiryQueue`: things (sessions) that expire unless touched, grouped in
//! buckets `expiration_interval` (tickTime) wide so that the expirer wakes
//! once per tick, not once per session.
//!
//! Times are milliseconds on a monotonic clock ([`elapsed_ms`]); callers
//! pass `now` so tests can drive the clock.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::OnceLock;
use std::time::Instant;

/// Milliseconds since the first call: Java's `Time.currentElapsedTime`.
pub fn elapsed_ms() -> i64 {
    static START: OnceLock<Instant> = OnceLock::new();
    // Start at one interval-sized offset above zero so that bucket
    // arithmetic never sees time 0.
    START.get_or_init(Instant::now).elapsed().as_millis() as i64 + 1
}

#[derive(Debug)]
pub struct ExpiryQueue<E: Eq + Hash + Copy> {
    elem_map: HashMap<E, i64>,
    expiry_map: HashMap<i64, HashSet<E>>,
    next_expiration_time: i64,
    expiration_interval: i64,
}

impl<E: Eq + Hash + Copy> ExpiryQueue<E> {
    pub fn new(expiration_interval: i32, now: i64) -> Self {
        let interval = expiration_interval.max(1) as i64;
        ExpiryQueue {
            elem_map: HashMap::new(),
            expiry_map: HashMap::new(),
            next_expiration_time: (now / interval + 1) * interval,
            expiration_interval: interval,
        }
    }

    fn round_to_next_interval(&self, time: i64) -> i64 {
        (time / self.expiration_interval + 1) * self.expiration_interval
    }

    /// Forgets `elem`; returns the bucket it was in.
    pub fn remove(&mut self, elem: &E) -> Option<i64> {
        let t = self.elem_map.remove(elem)?;
        if let Some(set) = self.expiry_map.get_mut(&t) {
            set.remove(elem);
        }
        Some(t)
    }

    /// Moves `elem` to the bucket for `now + timeout`; returns the new
    /// expiry time, or `None` when it was already in that bucket.
    pub fn update(&mut self, elem: E, timeout: i32, now: i64) -> Option<i64> {
        let new_time = self.round_to_next_interval(now + timeout as i64);
        let prev = self.elem_map.insert(elem, new_time);
        if prev == Some(new_time) {
            return None;
        }
        self.expiry_map.entry(new_time).or_default().insert(elem);
        if let Some(p) = prev {
            if let Some(set) = self.expiry_map.get_mut(&p) {
                set.remove(&elem);
            }
        }
        Some(new_time)
    }

    /// How long until the next bucket is due (0: poll now).
    pub fn wait_time(&self, now: i64) -> i64 {
        (self.next_expiration_time - now).max(0)
    }

    /// The elements of the bucket that is due, if one is; advances to the
    /// next bucket.
    pub fn poll(&mut self, now: i64) -> Vec<E> {
        if now < self.next_expiration_time {
            return Vec::new();
        }
        let t = self.next_expiration_time;
        self.next_expiration_time += self.expiration_interval;
        let Some(set) = self.expiry_map.remove(&t) else {
            return Vec::new();
        };
        for e in &set {
            if self.elem_map.get(e) == Some(&t) {
                self.elem_map.remove(e);
            }
        }
        set.into_iter().collect()
    }

    /// Buckets and their sizes, soonest first (for `dump`).
    pub fn buckets(&self) -> Vec<(i64, Vec<E>)> {
        let mut v: Vec<(i64, Vec<E>)> = self
            .expiry_map
            .iter()
            .map(|(t, s)| (*t, s.iter().copied().collect()))
            .collect();
        v.sort_by_key(|(t, _)| *t);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_rounded_up_to_the_next_interval() {
        let mut q = ExpiryQueue::new(100, 1050);
        assert_eq!(q.wait_time(1050), 50);
        assert_eq!(q.update(7i64, 300, 1050), Some(1400));
        assert_eq!(q.update(7, 300, 1060), None, "same bucket");
        assert!(q.poll(1099).is_empty());
        for now in [1100, 1200, 1300] {
            assert!(q.poll(now).is_empty());
        }
        assert_eq!(q.poll(1400), vec![7]);
        assert!(q.poll(1500).is_empty());
    }

    #[test]
    fn touching_moves_and_removing_forgets() {
        let mut q = ExpiryQueue::new(10, 0);
        q.update(1i64, 20, 0);
        q.update(2i64, 20, 0);
        q.update(1, 20, 15);
        assert_eq!(q.remove(&2), Some(30));
        for now in [10, 20, 30] {
            assert!(q.poll(now).is_empty());
        }
        assert_eq!(q.poll(40), vec![1]);
    }
}
