//! The fault schedule: one fault at a time, chosen by the run's seed, held
//! for a random while, then undone; before the next one the ensemble must
//! serve again (every node in its role), so faults never pile up into a
//! double failure the protocol is not meant to survive (e.g. a torn tail
//! on one node and then a crash of the only other holder of an
//! acknowledged write before it resynced).

use std::time::{Duration, Instant};

use super::net::Net;
use super::rng::Rng;
use super::torn;
use crate::ensemble::Ensemble;

/// How long the ensemble may take to serve again after a fault is undone.
pub const RECOVERY: Duration = Duration::from_secs(90);

/// The faults the schedule draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A random minority cut off from the rest.
    Halves,
    /// The leader cut off from everyone.
    IsolateLeader,
    /// Five nodes: each sees its two ring neighbours, a majority, but no
    /// two nodes see the same majority.
    MajoritiesRing,
    /// SIGSTOP longer than syncLimit, then SIGCONT.
    Pause,
    /// kill -9, then a restart.
    Kill,
    /// kill -9, the newest txn log cut inside its last records, restart.
    TornTail,
}

/// Runs faults until `until`; each line of the returned log says what was
/// done when. `pause_past` is syncLimit × tickTime.
pub fn run(
    e: &mut Ensemble,
    net: &mut Net,
    rng: &mut Rng,
    until: Instant,
    pause_past: Duration,
    t0: Instant,
) -> Result<Vec<String>, (String, Vec<String>)> {
    let mut log = Vec::new();
    while Instant::now() < until {
        let mut faults = vec![
            Fault::Halves,
            Fault::IsolateLeader,
            Fault::Pause,
            Fault::Kill,
            Fault::TornTail,
        ];
        if e.len() == 5 {
            faults.push(Fault::MajoritiesRing);
        }
        let fault = *rng.pick(&faults);
        let stamp = format!("{:7.1}s", t0.elapsed().as_secs_f64());
        match one(e, net, rng, fault, pause_past) {
            Ok(what) => log.push(format!("{stamp} {what}")),
            Err(why) => {
                log.push(format!("{stamp} {fault:?}: {why}"));
                return Err((why, log));
            }
        }
        if let Err(why) = e.wait_serving(RECOVERY) {
            let why = format!("no recovery within {RECOVERY:?} after {fault:?}: {why}");
            return Err((why, log));
        }
        std::thread::sleep(Duration::from_millis(rng.between(500, 2000)));
    }
    Ok(log)
}

/// A node: the leader with probability 1/2 (when there is one), else any.
fn target(e: &Ensemble, rng: &mut Rng) -> usize {
    let leader = e.leader();
    match leader {
        Some(l) if rng.percent(50) => l,
        _ => rng.below(e.len() as u64) as usize,
    }
}

fn hold(rng: &mut Rng, lo_ms: u64, hi_ms: u64) -> Duration {
    let d = Duration::from_millis(rng.between(lo_ms, hi_ms));
    std::thread::sleep(d);
    d
}

fn one(
    e: &mut Ensemble,
    net: &mut Net,
    rng: &mut Rng,
    fault: Fault,
    pause_past: Duration,
) -> Result<String, String> {
    let n = e.len();
    let sid = |i: usize| i + 1;
    let what = match fault {
        Fault::Halves => {
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            let k = rng.between(1, ((n - 1) / 2) as u64) as usize;
            let (a, b) = order.split_at(k);
            net.partition(a, b)?;
            let d = hold(rng, 2000, 8000);
            let names = |g: &[usize]| g.iter().map(|&i| sid(i).to_string()).collect::<Vec<_>>();
            format!("partition {:?} | {:?} for {d:?}", names(a), names(b))
        }
        Fault::IsolateLeader => {
            let l = e.leader().unwrap_or_else(|| rng.below(n as u64) as usize);
            net.isolate(l)?;
            let d = hold(rng, 3000, 8000);
            format!("isolate leader {} for {d:?}", sid(l))
        }
        Fault::MajoritiesRing => {
            for i in 0..n {
                net.cut(i, (i + 2) % n)?;
            }
            let d = hold(rng, 3000, 8000);
            format!("majorities ring for {d:?}")
        }
        Fault::Pause => {
            let i = target(e, rng);
            e.freeze(i)?;
            let extra = rng.between(500, 2500);
            std::thread::sleep(pause_past + Duration::from_millis(extra));
            e.thaw(i)?;
            format!(
                "SIGSTOP node {} for {:?}",
                sid(i),
                pause_past + Duration::from_millis(extra)
            )
        }
        Fault::Kill => {
            let i = target(e, rng);
            e.kill_9(i)?;
            let d = hold(rng, 500, 3000);
            e.start(i)?;
            format!("kill -9 node {}, restarted after {d:?}", sid(i))
        }
        Fault::TornTail => {
            let i = target(e, rng);
            e.kill_9(i)?;
            let torn = torn::tear(e.data_dir(i), rng)?;
            e.start(i)?;
            format!(
                "kill -9 node {}, torn tail: {}",
                sid(i),
                torn.unwrap_or_else(|| "no record to tear".into())
            )
        }
    };
    net.heal_all()?;
    Ok(what)
}
