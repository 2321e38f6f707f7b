//! `SessionTrackerImpl`: which sessions are alive, their timeouts, and the
//! expirer thread that closes those whose clients went quiet.
//!
//! Every packet from a session touches it, moving it to the expiry bucket
//! `timeout` from now. The expirer wakes once per tickTime bucket, marks
//! each session of the due bucket closing and hands it to the server,
//! which submits a `closeSession` through the processor chain.
//!
//! In a replicated ensemble the leader's tracker is this one (it decides
//! every global session's expiry); a learner's
//! ([`SessionTracker::new_learner`], 3.8's `LearnerSessionTracker`) never
//! expires anything: it hands out ids for new sessions and records each
//! touch for the next PING to the leader.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use log::info;
use zk_persistence::zoo_defs::{Code, CONTAINER_EPHEMERAL_OWNER};

use crate::expiry_queue::{elapsed_ms, ExpiryQueue};

/// The first session id of a server (`initializeNextSessionId`): the
/// server id in the top byte, then 40 bits of the clock in milliseconds
/// (shifted up 24 then logically down 8), so that ids from different
/// servers and different runs do not collide.
pub fn initialize_next_session_id(server_id: i64, now_ms: i64) -> i64 {
    let mut next = ((now_ms << 24) as u64 >> 8) as i64;
    next |= server_id << 56;
    if next == CONTAINER_EPHEMERAL_OWNER {
        next += 1;
    }
    next
}

#[derive(Debug, Clone, Copy)]
struct Session {
    timeout: i32,
    closing: bool,
}

struct Inner {
    sessions: HashMap<i64, Session>,
    queue: ExpiryQueue<i64>,
    next_session_id: i64,
    running: bool,
    /// Learner mode: sessions touched since the last PING (id → timeout).
    touches: Option<HashMap<i64, i32>>,
}

/// See the module docs.
pub struct SessionTracker {
    inner: Mutex<Inner>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl SessionTracker {
    /// A tracker holding `sessions` (id → timeout, as restored from disk),
    /// each due to expire one timeout from now.
    pub fn new(tick_time: i32, server_id: i64, sessions: &HashMap<i64, i32>) -> Arc<Self> {
        let now = elapsed_ms();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut inner = Inner {
            sessions: HashMap::new(),
            queue: ExpiryQueue::new(tick_time, now),
            next_session_id: initialize_next_session_id(server_id, wall),
            running: true,
            touches: None,
        };
        for (&id, &timeout) in sessions {
            inner.sessions.insert(
                id,
                Session {
                    timeout,
                    closing: false,
                },
            );
            inner.queue.update(id, timeout, now);
        }
        Arc::new(SessionTracker {
            inner: Mutex::new(inner),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        })
    }

    /// A learner's tracker: never expires, records touches for the leader
    /// (see the module docs).
    pub fn new_learner(tick_time: i32, server_id: i64) -> Arc<Self> {
        let t = Self::new(tick_time, server_id, &HashMap::new());
        t.inner.lock().unwrap().touches = Some(HashMap::new());
        t
    }

    /// Whether this is a learner's tracker (made by `new_learner`): it
    /// records touches for the leader and expires nothing itself.
    pub fn is_learner(&self) -> bool {
        self.inner.lock().unwrap().touches.is_some()
    }

    /// Learner mode: the sessions touched since the last call, for the
    /// PING reply; empty otherwise.
    pub fn take_touches(&self) -> Vec<(i64, i32)> {
        match self.inner.lock().unwrap().touches.as_mut() {
            Some(t) => t.drain().collect(),
            None => Vec::new(),
        }
    }

    /// Starts the expirer thread ("SessionTracker"); `expire` is called,
    /// without locks held, for each session that timed out. A learner's
    /// tracker starts no thread.
    pub fn start<F>(self: &Arc<Self>, expire: F)
    where
        F: Fn(i64, i32) + Send + 'static,
    {
        if self.is_learner() {
            return;
        }
        let me = Arc::clone(self);
        let t = std::thread::Builder::new()
            .name("SessionTracker".into())
            .spawn(move || me.run(expire))
            .expect("spawn SessionTracker");
        *self.thread.lock().unwrap() = Some(t);
    }

    fn run<F: Fn(i64, i32)>(&self, expire: F) {
        let mut g = self.inner.lock().unwrap();
        while g.running {
            let now = elapsed_ms();
            let wait = g.queue.wait_time(now);
            if wait > 0 {
                g = self
                    .wake
                    .wait_timeout(g, Duration::from_millis(wait as u64))
                    .unwrap()
                    .0;
                continue;
            }
            let due = g.queue.poll(now);
            let mut expired = Vec::new();
            for id in due {
                if let Some(s) = g.sessions.get_mut(&id) {
                    s.closing = true;
                    expired.push((id, s.timeout));
                }
            }
            drop(g);
            for (id, timeout) in expired {
                expire(id, timeout);
            }
            g = self.inner.lock().unwrap();
        }
    }

    /// Stops the `SessionTracker` thread (`SessionTracker.shutdown`).
    pub fn shutdown(&self) {
        self.inner.lock().unwrap().running = false;
        self.wake.notify_all();
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
        info!("Shutdown SessionTrackerImpl!");
    }

    /// A new session id, tracked with `timeout`.
    pub fn create_session(&self, timeout: i32) -> i64 {
        let mut g = self.inner.lock().unwrap();
        let id = g.next_session_id;
        g.next_session_id = g.next_session_id.wrapping_add(1);
        drop(g);
        self.track_session(id, timeout);
        id
    }

    /// Tracks a session (again); false if it was already tracked.
    pub fn track_session(&self, id: i64, timeout: i32) -> bool {
        let mut g = self.inner.lock().unwrap();
        let added = !g.sessions.contains_key(&id);
        g.sessions.entry(id).or_insert(Session {
            timeout,
            closing: false,
        });
        g.queue.update(id, timeout, elapsed_ms());
        added
    }

    /// Pushes the session's expiry out by its timeout; false if it is
    /// unknown or already closing.
    pub fn touch_session(&self, id: i64, timeout: i32) -> bool {
        let mut g = self.inner.lock().unwrap();
        if let Some(t) = g.touches.as_mut() {
            // The leader decides; 3.8's learner says yes to any session.
            t.insert(id, timeout);
            return true;
        }
        match g.sessions.get(&id) {
            Some(s) if !s.closing => {
                g.queue.update(id, timeout, elapsed_ms());
                true
            }
            _ => false,
        }
    }

    /// Marks a session closing (`setSessionClosing`): it no longer
    /// counts as alive for touches and checks, while its closeSession
    /// goes through the chain.
    pub fn set_session_closing(&self, id: i64) {
        if let Some(s) = self.inner.lock().unwrap().sessions.get_mut(&id) {
            s.closing = true;
        }
    }

    /// Forgets a session (`removeSession`), once its closeSession is
    /// applied.
    pub fn remove_session(&self, id: i64) {
        let mut g = self.inner.lock().unwrap();
        g.sessions.remove(&id);
        g.queue.remove(&id);
    }

    /// `checkSession`: UNKNOWNSESSION if not tracked, SESSIONEXPIRED if
    /// closing.
    pub fn check_session(&self, id: i64) -> Result<(), Code> {
        match self.inner.lock().unwrap().sessions.get(&id) {
            None => Err(Code::UNKNOWNSESSION),
            Some(s) if s.closing => Err(Code::SESSIONEXPIRED),
            Some(_) => Ok(()),
        }
    }

    /// A tracked session's timeout, ms.
    pub fn session_timeout(&self, id: i64) -> Option<i32> {
        self.inner
            .lock()
            .unwrap()
            .sessions
            .get(&id)
            .map(|s| s.timeout)
    }

    /// How many sessions are tracked.
    pub fn session_count(&self) -> usize {
        self.inner.lock().unwrap().sessions.len()
    }

    /// Expiry buckets, soonest first, as (elapsed ms, session ids).
    pub fn expiry_buckets(&self) -> Vec<(i64, Vec<i64>)> {
        self.inner.lock().unwrap().queue.buckets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn session_ids_carry_server_id_and_clock() {
        let id = initialize_next_session_id(1, 0x17f_5a3b_0000);
        assert_eq!(id >> 56, 1);
        assert_eq!(id & 0xffff, 0, "low 16 bits start at zero");
        assert_eq!(initialize_next_session_id(0, 1) as u64, 1 << 16);
    }

    #[test]
    fn a_learner_records_touches_and_never_expires() {
        let t = SessionTracker::new_learner(10, 2);
        t.start(|id, _| panic!("learner expired 0x{id:x}"));
        let id = t.create_session(40);
        assert_eq!(id >> 56, 2);
        assert!(t.touch_session(id, 40));
        assert!(
            t.touch_session(77, 30),
            "a global session of another server"
        );
        let mut touched = t.take_touches();
        touched.sort_unstable();
        let mut want = vec![(id, 40), (77, 30)];
        want.sort_unstable();
        assert_eq!(touched, want);
        assert!(t.take_touches().is_empty());
        assert_eq!(t.check_session(id), Ok(()));
        t.shutdown();
    }

    #[test]
    fn untouched_sessions_expire_and_touched_ones_do_not() {
        let t = SessionTracker::new(10, 0, &HashMap::new());
        let (tx, rx) = mpsc::channel();
        t.start(move |id, _| tx.send(id).unwrap());
        let quiet = t.create_session(40);
        let busy = t.create_session(40);
        assert_ne!(quiet, busy);
        assert_eq!(t.check_session(quiet), Ok(()));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let expired = loop {
            assert!(t.touch_session(busy, 40));
            if let Ok(id) = rx.recv_timeout(Duration::from_millis(5)) {
                break id;
            }
            assert!(std::time::Instant::now() < deadline, "nothing expired");
        };
        assert_eq!(expired, quiet);
        assert_eq!(t.check_session(quiet), Err(Code::SESSIONEXPIRED));
        assert!(!t.touch_session(quiet, 40));
        t.remove_session(quiet);
        assert_eq!(t.check_session(quiet), Err(Code::UNKNOWNSESSION));
        assert_eq!(t.check_session(busy), Ok(()));
        t.shutdown();
    }
}
