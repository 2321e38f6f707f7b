//! A linearizability checker for one compare-and-set register, in the
//! style of Wing & Gong as improved by Lowe (a depth-first search over the
//! history's call/return events, with a cache of (linearized set, state)
//! pairs already explored).
//!
//! The register is a znode: its state is the data (a `u64`) and its data
//! version. Ops: read (getData), write (setData, version -1) and CAS
//! (setData with an expected version). An op whose outcome is unknown
//! (connection loss, timeout) has no return event: it may take effect at
//! any point after its call, or never.

use std::collections::HashSet;

/// What a client asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegOp {
    /// getData of the register.
    Read,
    /// setData of the register to the value, any version.
    Write(u64),
    /// setData of the register to `value` if its version is still
    /// `expected_version`.
    Cas {
        /// The data version the write is conditional on.
        expected_version: i32,
        /// The value written.
        value: u64,
    },
}

/// What it was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A read's value and data version.
    Read {
        /// The register's value.
        value: u64,
        /// Its data version.
        version: i32,
    },
    /// A write or CAS that succeeded, with the node's new version.
    Written {
        /// The data version after the write.
        version: i32,
    },
    /// A CAS refused with BadVersion.
    CasFailed,
    /// No answer: it may or may not have taken effect.
    Unknown,
}

/// One op of the history; times are nanoseconds since the run began.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// What the client asked.
    pub op: RegOp,
    /// What it was told.
    pub outcome: Outcome,
    /// When the op was invoked, in ns since the run began.
    pub invoke: u64,
    /// `None` for an unknown outcome.
    pub complete: Option<u64>,
    /// Which client session, for messages.
    pub client: u64,
}

/// The register's state: (value, version). A new znode holds 0 at version 0.
type State = (u64, i32);

/// The state after `e` takes effect in `s`, or `None` if it cannot.
fn step(s: State, e: &Entry) -> Option<State> {
    match (e.op, e.outcome) {
        (RegOp::Read, Outcome::Read { value, version }) => (s == (value, version)).then_some(s),
        (RegOp::Write(v), Outcome::Written { version }) => {
            (s.1 + 1 == version).then_some((v, version))
        }
        (RegOp::Write(v), Outcome::Unknown) => Some((v, s.1 + 1)),
        (
            RegOp::Cas {
                expected_version,
                value,
            },
            Outcome::Written { version },
        ) => {
            (s.1 == expected_version && version == expected_version + 1).then_some((value, version))
        }
        (
            RegOp::Cas {
                expected_version, ..
            },
            Outcome::CasFailed,
        ) => (s.1 != expected_version).then_some(s),
        // An unknown CAS that did not apply is the same as one never
        // linearized, which the search tries anyway.
        (
            RegOp::Cas {
                expected_version,
                value,
            },
            Outcome::Unknown,
        ) => (s.1 == expected_version).then_some((value, s.1 + 1)),
        _ => None,
    }
}

/// The checker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the ops, consistent with their real-time order,
    /// explains every outcome.
    Linearizable,
    /// No linearization exists; the text names the op it got stuck on.
    NotLinearizable(String),
    /// The search gave up after its step budget.
    Undecided,
}

#[derive(Clone, Copy)]
enum Event {
    Call(usize),
    Return(usize),
}

/// Checks `history` (any order) from the state (0, 0), exploring at most
/// `budget` search steps.
pub fn check(history: &[Entry], budget: u64) -> Verdict {
    let ops: Vec<Entry> = history
        .iter()
        .filter(|e| !(e.op == RegOp::Read && e.outcome == Outcome::Unknown))
        .copied()
        .collect();
    // Events by time; at equal times calls first (the more permissive order).
    let mut events: Vec<(u64, u8, Event)> = Vec::new();
    for (i, e) in ops.iter().enumerate() {
        events.push((e.invoke, 0, Event::Call(i)));
        if let Some(c) = e.complete {
            events.push((c, 1, Event::Return(i)));
        }
    }
    events.sort_by_key(|&(t, order, _)| (t, order));
    let n = events.len();
    // A doubly linked list over the events, index n being the sentinel
    // both before the first and after the last (the list is circular).
    let end = n;
    let mut next: Vec<usize> = (1..=n).chain([if n == 0 { n } else { 0 }]).collect();
    let mut prev: Vec<usize> = (0..=n).map(|i| if i == 0 { n } else { i - 1 }).collect();
    let mut call_at = vec![0usize; ops.len()];
    let mut ret_at = vec![None; ops.len()];
    for (idx, &(_, _, ev)) in events.iter().enumerate() {
        match ev {
            Event::Call(i) => call_at[i] = idx,
            Event::Return(i) => ret_at[i] = Some(idx),
        }
    }
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        let (p, nx) = (prev[x], next[x]);
        next[p] = nx;
        if nx != end {
            prev[nx] = p;
        }
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        let (p, nx) = (prev[x], next[x]);
        next[p] = x;
        if nx != end {
            prev[nx] = x;
        }
    };
    let known_total = ops.iter().filter(|e| e.complete.is_some()).count();
    let words = ops.len().div_ceil(64);
    let mut done = vec![0u64; words];
    let mut cache: HashSet<(Vec<u64>, State)> = HashSet::new();
    let mut stack: Vec<(usize, State)> = Vec::new();
    let mut state: State = (0, 0);
    let mut known_done = 0;
    let mut best_depth = 0;
    let mut best_stuck: Option<usize> = None;
    let mut entry = next[end];
    let mut steps = 0u64;
    loop {
        if known_done == known_total {
            return Verdict::Linearizable;
        }
        steps += 1;
        if steps > budget {
            return Verdict::Undecided;
        }
        let stuck = entry == end || matches!(events[entry].2, Event::Return(_));
        if stuck {
            if known_done >= best_depth {
                best_depth = known_done;
                if let Some(Event::Return(i)) = (entry != end).then(|| events[entry].2) {
                    best_stuck = Some(i);
                }
            }
            let Some((op, old)) = stack.pop() else {
                return Verdict::NotLinearizable(describe_stuck(&ops, best_stuck, best_depth));
            };
            state = old;
            done[op / 64] &= !(1 << (op % 64));
            if let Some(r) = ret_at[op] {
                relink(&mut next, &mut prev, r);
                known_done -= 1;
            }
            relink(&mut next, &mut prev, call_at[op]);
            entry = next[call_at[op]];
            continue;
        }
        let Event::Call(op) = events[entry].2 else {
            unreachable!("returns handled above")
        };
        if let Some(new_state) = step(state, &ops[op]) {
            done[op / 64] |= 1 << (op % 64);
            if cache.insert((done.clone(), new_state)) {
                stack.push((op, state));
                state = new_state;
                unlink(&mut next, &mut prev, call_at[op]);
                if let Some(r) = ret_at[op] {
                    unlink(&mut next, &mut prev, r);
                    known_done += 1;
                }
                entry = next[end];
                continue;
            }
            done[op / 64] &= !(1 << (op % 64));
        }
        entry = next[entry];
    }
}

fn describe_stuck(ops: &[Entry], stuck: Option<usize>, depth: usize) -> String {
    let Some(i) = stuck else {
        return format!("no linearization (deepest: {depth} completed ops)");
    };
    let e = &ops[i];
    let concurrent: Vec<String> = ops
        .iter()
        .filter(|o| {
            o.invoke <= e.complete.unwrap_or(u64::MAX) && o.complete.unwrap_or(u64::MAX) >= e.invoke
        })
        .take(12)
        .map(describe)
        .collect();
    format!(
        "after {depth} completed ops, no order admits {}; ops overlapping it:\n    {}",
        describe(e),
        concurrent.join("\n    ")
    )
}

/// One op as a line of a failure report.
pub fn describe(e: &Entry) -> String {
    let ms = |t: u64| format!("{:.3}", t as f64 / 1e9);
    format!(
        "client {} {:?} -> {:?} [{} .. {}]",
        e.client,
        e.op,
        e.outcome,
        ms(e.invoke),
        e.complete.map(ms).unwrap_or_else(|| "?".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(op: RegOp, outcome: Outcome, invoke: u64, complete: Option<u64>) -> Entry {
        Entry {
            op,
            outcome,
            invoke,
            complete,
            client: 0,
        }
    }
    fn read(v: u64, ver: i32, a: u64, b: u64) -> Entry {
        op(
            RegOp::Read,
            Outcome::Read {
                value: v,
                version: ver,
            },
            a,
            Some(b),
        )
    }
    fn write(v: u64, ver: i32, a: u64, b: u64) -> Entry {
        op(
            RegOp::Write(v),
            Outcome::Written { version: ver },
            a,
            Some(b),
        )
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let h = [
            write(5, 1, 0, 1),
            read(5, 1, 2, 3),
            write(6, 2, 4, 5),
            read(6, 2, 6, 7),
        ];
        assert_eq!(check(&h, 1_000_000), Verdict::Linearizable);
    }

    #[test]
    fn stale_read_after_a_completed_write_is_not() {
        let h = [write(5, 1, 0, 1), read(0, 0, 2, 3)];
        assert!(matches!(check(&h, 1_000_000), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn concurrent_ops_may_order_either_way() {
        // The read overlaps the write: either value is fine.
        let h = [write(5, 1, 0, 10), read(0, 0, 1, 2), read(5, 1, 3, 4)];
        assert_eq!(check(&h, 1_000_000), Verdict::Linearizable);
        // But not old after new within one real-time order.
        let h = [write(5, 1, 0, 10), read(5, 1, 1, 2), read(0, 0, 3, 4)];
        assert!(matches!(check(&h, 1_000_000), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn unknown_writes_may_or_may_not_apply() {
        let lost = op(RegOp::Write(7), Outcome::Unknown, 0, None);
        // Applied, seen late:
        let h = [lost, read(0, 0, 1, 2), read(7, 1, 3, 4)];
        assert_eq!(check(&h, 1_000_000), Verdict::Linearizable);
        // Never applied:
        let h = [lost, write(8, 1, 5, 6), read(8, 1, 7, 8)];
        assert_eq!(check(&h, 1_000_000), Verdict::Linearizable);
        // But it cannot apply before it was invoked.
        let late = op(RegOp::Write(7), Outcome::Unknown, 10, None);
        let h = [read(7, 1, 0, 1), late];
        assert!(matches!(check(&h, 1_000_000), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn cas_follows_versions() {
        let cas = |ev, v, outcome, a, b| {
            op(
                RegOp::Cas {
                    expected_version: ev,
                    value: v,
                },
                outcome,
                a,
                Some(b),
            )
        };
        let h = [
            write(1, 1, 0, 1),
            cas(1, 2, Outcome::Written { version: 2 }, 2, 3),
            cas(1, 3, Outcome::CasFailed, 4, 5),
            read(2, 2, 6, 7),
        ];
        assert_eq!(check(&h, 1_000_000), Verdict::Linearizable);
        // Two CAS from the same version cannot both succeed.
        let h = [
            write(1, 1, 0, 1),
            cas(1, 2, Outcome::Written { version: 2 }, 2, 5),
            cas(1, 3, Outcome::Written { version: 2 }, 3, 4),
        ];
        assert!(matches!(check(&h, 1_000_000), Verdict::NotLinearizable(_)));
    }
}
