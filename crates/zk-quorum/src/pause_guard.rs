//! `PauseGuard`: a leader that was paused (SIGSTOP, a VM freeze, a thread
//! starved of CPU) for about its sync limit serves nothing until a quorum
//! has been heard from again.
//!
//! Why: the leader counts time in ticks of its own loop (3.8's design,
//! kept in `Leader::tick_loop`), one per loop iteration, not by the clock.
//! A paused process counts no ticks, so on resuming it still takes its
//! followers for synced for up to syncLimit more ticks, while they, having
//! heard nothing for syncLimit × tickTime, may have elected another leader
//! that committed newer writes. In that window 3.8 answers reads from its
//! stale tree, and a `sync` at once (nothing is outstanding), so even
//! sync + read returns stale data.
//!
//! How a pause is seen: by the monotonic clock (which runs while the
//! process is stopped), as a gap longer than [`pause_threshold`] between
//! two tick-loop iterations, or between the last iteration and a request
//! arriving at the leader's chain (whichever thread runs first after the
//! resume sees it). Packets received after the resume prove nothing: the
//! socket buffers may hold what the followers sent before the pause.
//!
//! While the guard holds, `ProposalRequestProcessor` (which every client
//! and learner request passes, in order) waits in [`PauseGuard::admit`]:
//! reads, syncs and writes alike, so no answer computed on the stale tree
//! leaves the leader. The tick loop then pings every learner and releases
//! the guard once a quorum has answered a PING sent after the pause was
//! detected (`LearnerHandler::answered_ping_after_pause`), or steps down
//! when that has not happened within the sync limit; stepping down stops
//! the guard, the held requests are dropped unanswered and the clients'
//! connections close with the role, so they reconnect (maybe to another
//! node) and retry, as after any leader change.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use log::{error, warn};

/// The longest gap between two looks at the clock that is not a pause.
///
/// Followers give up on a leader they have heard nothing from for the
/// sync limit; its last PING before a pause may be up to half a tick
/// older than the pause, so a pause of one tick less than the sync limit
/// may already have lost them. The tick loop runs every half tick, so the
/// threshold is never below one tick, whatever the sync limit.
pub(crate) fn pause_threshold(tick_time_ms: u64, sync_limit_ticks: u64) -> Duration {
    let sync_limit_ms = tick_time_ms.saturating_mul(sync_limit_ticks);
    Duration::from_millis(sync_limit_ms.saturating_sub(tick_time_ms).max(tick_time_ms))
}

/// What the tick loop must do after [`PauseGuard::on_tick`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TickVerdict {
    /// No pause: carry on.
    Serving,
    /// A pause was detected (by this call or by a request): note each
    /// learner's PINGs sent so far, then ping them all.
    PauseDetected { gap: Duration },
    /// Still waiting for a quorum to answer a PING sent after the pause.
    Holding { waited: Duration },
    /// No quorum answered within the sync limit: step down.
    Expired { gap: Duration, waited: Duration },
}

/// Whether a request may go on down the leader's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted,
    /// The leader stopped while the request was held: drop it.
    Refused,
}

/// A pause being answered.
#[derive(Debug, Clone, Copy)]
struct Hold {
    detected_at: Instant,
    /// How long nothing ran.
    gap: Duration,
    /// The tick loop has noted every learner's PING count and pinged
    /// them; only then may answers be counted.
    pings_noted: bool,
}

struct GuardState {
    /// When the tick loop last looked at the clock.
    last_tick: Instant,
    hold: Option<Hold>,
    stopped: bool,
}

impl GuardState {
    /// Starts a hold, or starts it over, when nothing has run for longer
    /// than `threshold` since the tick loop last did. Starting over also
    /// covers a second pause while holding: answers to PINGs sent before
    /// it may have been buffered since, so they no longer count.
    fn hold_if_paused(&mut self, now: Instant, threshold: Duration) {
        let gap = now.saturating_duration_since(self.last_tick);
        if gap <= threshold {
            return;
        }
        warn!(
            "The leader did not run for {gap:?} (more than {threshold:?}): holding client \
             requests until a quorum answers a PING sent from now on"
        );
        self.hold = Some(Hold {
            detected_at: now,
            gap,
            pings_noted: false,
        });
        // Counted once: the next look measures from here.
        self.last_tick = now;
    }
}

/// See the module docs.
pub(crate) struct PauseGuard {
    threshold: Duration,
    /// How long a hold may last before the leader steps down.
    reconfirm_within: Duration,
    state: Mutex<GuardState>,
    changed: Condvar,
}

impl PauseGuard {
    pub(crate) fn new(tick_time_ms: u64, sync_limit_ticks: u64, now: Instant) -> PauseGuard {
        let threshold = pause_threshold(tick_time_ms, sync_limit_ticks);
        let reconfirm_within =
            Duration::from_millis(tick_time_ms.saturating_mul(sync_limit_ticks)).max(threshold);
        PauseGuard {
            threshold,
            reconfirm_within,
            state: Mutex::new(GuardState {
                last_tick: now,
                hold: None,
                stopped: false,
            }),
            changed: Condvar::new(),
        }
    }

    pub(crate) fn threshold(&self) -> Duration {
        self.threshold
    }

    /// Starts watching from `last_heard`, when a quorum last confirmed this
    /// leader (its NEWLEADER ACKs), so a pause between then and serving
    /// counts too.
    pub(crate) fn start(&self, last_heard: Instant) {
        let mut s = self.state.lock().unwrap();
        s.last_tick = last_heard;
    }

    /// The tick loop's look at the clock, first thing in each iteration.
    pub(crate) fn on_tick(&self, now: Instant) -> TickVerdict {
        let mut s = self.state.lock().unwrap();
        // The hold is set before `last_tick` moves, under the same lock,
        // so a request never sees a fresh `last_tick` without the hold.
        s.hold_if_paused(now, self.threshold);
        s.last_tick = now;
        match s.hold {
            None => TickVerdict::Serving,
            Some(h) if !h.pings_noted => TickVerdict::PauseDetected { gap: h.gap },
            Some(h) => {
                let waited = now.saturating_duration_since(h.detected_at);
                if waited > self.reconfirm_within {
                    TickVerdict::Expired { gap: h.gap, waited }
                } else {
                    TickVerdict::Holding { waited }
                }
            }
        }
    }

    /// The tick loop has noted what each learner was sent before this
    /// point and is about to ping them: answers may be counted from now.
    pub(crate) fn pings_noted(&self) {
        let mut s = self.state.lock().unwrap();
        let since_tick = s.last_tick.elapsed();
        // Only `release` ends a hold, and it needs the PINGs noted first.
        let h = s.hold.as_mut().unwrap_or_else(|| {
            panic!("PINGs noted with no pause being held (last tick {since_tick:?} ago)")
        });
        h.pings_noted = true;
    }

    /// Whether answers to PINGs may now release the hold.
    pub(crate) fn awaiting_answers(&self) -> bool {
        self.state
            .lock()
            .unwrap()
            .hold
            .is_some_and(|h| h.pings_noted)
    }

    #[cfg(test)]
    pub(crate) fn is_holding(&self) -> bool {
        self.state.lock().unwrap().hold.is_some()
    }

    /// A quorum answered PINGs sent after the pause: serve again. Returns
    /// how long the hold lasted, if there was one.
    pub(crate) fn release(&self, now: Instant) -> Option<Duration> {
        let mut s = self.state.lock().unwrap();
        // Paused again since the tick loop last ran: the answers counted
        // may be from before that pause.
        s.hold_if_paused(now, self.threshold);
        let h = s.hold?;
        if !h.pings_noted {
            return None;
        }
        s.hold = None;
        // The heard-from quorum is as good as a tick at `now`.
        s.last_tick = now;
        self.changed.notify_all();
        Some(now.saturating_duration_since(h.detected_at))
    }

    /// Moves the last tick back by `d`, as if nothing had run for that
    /// long.
    #[cfg(test)]
    pub(crate) fn pretend_paused_for(&self, d: Duration) {
        let mut s = self.state.lock().unwrap();
        s.last_tick -= d;
    }

    /// The leader stops: held requests (and any held later) are refused.
    pub(crate) fn stop(&self) {
        self.state.lock().unwrap().stopped = true;
        self.changed.notify_all();
    }

    /// Waits while a pause is being answered. Bounded: the tick loop
    /// releases the hold or steps down (stopping the guard) within
    /// `reconfirm_within`; should it not, the request is refused a tick
    /// after that.
    pub(crate) fn admit(&self) -> Admission {
        let mut s = self.state.lock().unwrap();
        loop {
            let now = Instant::now();
            if s.hold.is_none() {
                // The tick loop may not have run since before a pause:
                // then this request is the first to see it. (A second
                // pause while holding is for the tick loop and `release`
                // to see; here it would only push the bound back.)
                s.hold_if_paused(now, self.threshold);
            }
            match s.hold {
                None => return Admission::Admitted,
                Some(h) => {
                    if s.stopped {
                        return Admission::Refused;
                    }
                    let waited = now.saturating_duration_since(h.detected_at);
                    let give_up_after = self.reconfirm_within + self.threshold;
                    if waited > give_up_after {
                        error!(
                            "A request held {waited:?} after a {:?} pause is refused: the \
                             leader neither heard from a quorum nor stepped down",
                            h.gap
                        );
                        return Admission::Refused;
                    }
                    let wait = (give_up_after - waited).min(Duration::from_millis(100));
                    s = self.changed.wait_timeout(s, wait).unwrap().0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    const TICK: u64 = 1000;
    const SYNC_LIMIT: u64 = 5;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_threshold_is_a_tick_below_the_sync_limit_and_never_below_a_tick() {
        assert_eq!(pause_threshold(1000, 5), ms(4000));
        assert_eq!(pause_threshold(2000, 10), ms(18_000));
        assert_eq!(pause_threshold(1000, 2), ms(1000));
        assert_eq!(pause_threshold(1000, 1), ms(1000));
        assert_eq!(pause_threshold(1000, 0), ms(1000));
    }

    #[test]
    fn half_tick_iterations_are_no_pause() {
        let t0 = Instant::now();
        let g = PauseGuard::new(TICK, SYNC_LIMIT, t0);
        for i in 1..=40 {
            assert_eq!(g.on_tick(t0 + ms(500 * i)), TickVerdict::Serving);
        }
        // A slow iteration, still under the threshold.
        assert_eq!(g.on_tick(t0 + ms(20_000 + 3900)), TickVerdict::Serving);
        assert!(!g.is_holding());
    }

    #[test]
    fn a_gap_longer_than_the_threshold_holds_until_released() {
        let t0 = Instant::now();
        let g = PauseGuard::new(TICK, SYNC_LIMIT, t0);
        assert_eq!(g.on_tick(t0 + ms(500)), TickVerdict::Serving);
        let resumed = t0 + ms(500 + 6000);
        assert_eq!(
            g.on_tick(resumed),
            TickVerdict::PauseDetected { gap: ms(6000) }
        );
        // Until the PINGs are noted, the tick loop is told again.
        assert_eq!(
            g.on_tick(resumed + ms(1)),
            TickVerdict::PauseDetected { gap: ms(6000) }
        );
        assert!(!g.awaiting_answers());
        g.pings_noted();
        assert!(g.awaiting_answers());
        assert_eq!(
            g.on_tick(resumed + ms(500)),
            TickVerdict::Holding { waited: ms(500) }
        );
        assert_eq!(g.release(resumed + ms(600)), Some(ms(600)));
        assert!(!g.is_holding());
        assert_eq!(g.on_tick(resumed + ms(1000)), TickVerdict::Serving);
        assert_eq!(g.release(resumed + ms(1001)), None);
    }

    #[test]
    fn a_second_pause_while_holding_starts_the_hold_over() {
        let t0 = Instant::now();
        let g = PauseGuard::new(TICK, SYNC_LIMIT, t0);
        let resumed = t0 + ms(6000);
        assert!(matches!(
            g.on_tick(resumed),
            TickVerdict::PauseDetected { .. }
        ));
        g.pings_noted();
        // Paused again before the answers were read: a release attempted
        // on answers read after the second pause is refused...
        let resumed_again = resumed + ms(7000);
        assert_eq!(g.release(resumed_again), None);
        assert!(g.is_holding());
        assert!(!g.awaiting_answers(), "answers counted across a pause");
        // ...and the tick loop notes the PINGs again.
        assert_eq!(
            g.on_tick(resumed_again + ms(1)),
            TickVerdict::PauseDetected { gap: ms(7000) }
        );
        g.pings_noted();
        assert_eq!(g.release(resumed_again + ms(50)), Some(ms(50)));
    }

    #[test]
    fn a_release_before_the_pings_are_noted_is_ignored() {
        let t0 = Instant::now();
        let g = PauseGuard::new(TICK, SYNC_LIMIT, t0);
        assert!(matches!(
            g.on_tick(t0 + ms(6000)),
            TickVerdict::PauseDetected { .. }
        ));
        assert_eq!(g.release(t0 + ms(6001)), None);
        assert!(g.is_holding());
    }

    #[test]
    fn a_hold_expires_after_the_sync_limit() {
        let t0 = Instant::now();
        let g = PauseGuard::new(TICK, SYNC_LIMIT, t0);
        let resumed = t0 + ms(10_000);
        assert!(matches!(
            g.on_tick(resumed),
            TickVerdict::PauseDetected { .. }
        ));
        g.pings_noted();
        for i in 1..=10 {
            assert_eq!(
                g.on_tick(resumed + ms(500 * i)),
                TickVerdict::Holding {
                    waited: ms(500 * i)
                }
            );
        }
        assert_eq!(
            g.on_tick(resumed + ms(5001)),
            TickVerdict::Expired {
                gap: ms(10_000),
                waited: ms(5001)
            }
        );
    }

    #[test]
    fn a_pause_before_serving_counts_from_the_quorum_that_elected_us() {
        let t0 = Instant::now();
        let g = PauseGuard::new(TICK, SYNC_LIMIT, t0);
        g.start(t0 + ms(100));
        assert!(matches!(
            g.on_tick(t0 + ms(100 + 4500)),
            TickVerdict::PauseDetected { .. }
        ));
    }

    #[test]
    fn requests_pass_while_the_tick_loop_runs() {
        let g = PauseGuard::new(TICK, SYNC_LIMIT, Instant::now());
        assert_eq!(g.admit(), Admission::Admitted);
        assert!(!g.is_holding());
    }

    #[test]
    fn a_request_that_sees_the_stale_tick_holds_and_the_tick_loop_learns_of_it() {
        // The tick loop last ran 6 s ago: the process was stopped since.
        let t0 = Instant::now() - ms(6000);
        let g = Arc::new(PauseGuard::new(TICK, SYNC_LIMIT, t0));
        let g2 = g.clone();
        let request = thread::spawn(move || g2.admit());
        while !g.is_holding() {
            thread::sleep(ms(1));
        }
        assert!(!request.is_finished(), "a request passed a pause");
        // The tick loop runs next and must not treat the hold as news it
        // may skip: it notes the learners' PINGs first.
        match g.on_tick(Instant::now()) {
            TickVerdict::PauseDetected { gap } => assert!(gap >= ms(6000), "gap {gap:?}"),
            v => panic!("tick loop told {v:?}"),
        }
        g.pings_noted();
        thread::sleep(ms(50));
        assert!(
            !request.is_finished(),
            "a request passed before the release"
        );
        g.release(Instant::now());
        assert_eq!(request.join().unwrap(), Admission::Admitted);
        assert_eq!(g.admit(), Admission::Admitted);
    }

    #[test]
    fn held_requests_are_refused_when_the_leader_stops() {
        let g = Arc::new(PauseGuard::new(TICK, SYNC_LIMIT, Instant::now() - ms(6000)));
        let g2 = g.clone();
        let request = thread::spawn(move || g2.admit());
        while !g.is_holding() {
            thread::sleep(ms(1));
        }
        g.stop();
        assert_eq!(request.join().unwrap(), Admission::Refused);
        assert_eq!(g.admit(), Admission::Refused);
    }

    #[test]
    fn a_hold_is_bounded_even_if_no_one_ends_it() {
        // tickTime 50, syncLimit 2: threshold 50 ms, reconfirmation 100 ms.
        let g = PauseGuard::new(50, 2, Instant::now() - ms(200));
        let started = Instant::now();
        assert_eq!(g.admit(), Admission::Refused);
        let waited = started.elapsed();
        assert!(waited >= ms(150), "refused after {waited:?}");
        assert!(waited < ms(5000), "held {waited:?}");
    }
}
