//! A restarted node rejoins a mixed ensemble (Apache ZooKeeper 3.8 and
//! zk-bin) whose leader changed: the election vote every settled node
//! answers a LOOKING node with must carry the epoch now in force
//! (ZOOKEEPER-1732), on both implementations.
//!
//! A restarted node joins an established ensemble only once a quorum of
//! the settled nodes (FOLLOWING/LEADING) answer it with the same leader
//! and the same peer epoch, the leader among them. 3.8 moves its vote's
//! peer epoch to the new epoch once that epoch is established (leader)
//! or synced (learner); a node that keeps the epoch it was elected with
//! disagrees with its Apache peers, and the restarted node stays LOOKING
//! for as long as that lasts (a run of issue 10 took 26 s).
//!
//! Each test arranges, with no writes (so no node's zxid is above that of
//! a higher myid, and the highest myid wins each election):
//!
//! 1. nodes 1 and 3 start; node 3 leads; node 2 starts and follows;
//! 2. node 3 is killed (-9): node 2 leads a new epoch, node 1 follows;
//! 3. node 3 starts again and must follow within [`REJOIN_BOUND`]; then
//!    it is stopped (SIGTERM) and started again, and must do so again;
//! 4. the same twice for node 1.
//!
//! The first restart of a node could join on stale votes: on connecting,
//! each peer's election connection sends again the last notification it
//! sent that node, which was a LOOKING vote of the election the node
//! missed, one that agrees with the leader's answer. From the second
//! restart on, those last messages are the peers' settled answers, and
//! only the election vote counts.
//!
//! The kinds decide what is checked: `apache, zk-bin, apache` is a zk-bin
//! leader with Apache followers restarting; `zk-bin, apache, zk-bin` an
//! Apache leader with zk-bin followers restarting (each needs the other
//! zk-bin follower's vote to agree with the Apache leader's); all-Apache
//! is the control. Each rejoin time is printed, counted from the moment
//! the restarted node first answers on its client port (its election has
//! started, a JVM's start-up is left out) as well as from its start.
//! Where Java or Debian's ZooKeeper is missing the tests print
//! `skipped: ...`.

use std::time::{Duration, Instant};

use integration::ensemble::{parse_mode, Ensemble, EnsembleConfig, Mode, NodeKind};

use NodeKind::{Apache, ZkBin};

/// JVM starts, elections and syncs on a busy 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(90);

/// How long a restarted node may look for the established leader once
/// its election runs: an election among settled peers takes well under a
/// second, the 3.8 bug window is tens of seconds.
const REJOIN_BOUND: Duration = Duration::from_secs(10);

/// How long a restarted node rejoining took.
struct Rejoin {
    /// From [`Ensemble::start`] to following.
    since_start: Duration,
    /// From its first answer on the client port to following.
    since_up: Duration,
}

/// Starts node `i` again and waits (at most [`TIMEOUT`] after it came up,
/// well past [`REJOIN_BOUND`], so that a slow rejoin is measured rather
/// than only refused) until it follows the leader.
fn restart_and_rejoin(e: &mut Ensemble, i: usize) -> Result<Rejoin, String> {
    e.start(i)?;
    let started = Instant::now();
    let mut up: Option<Instant> = None;
    loop {
        // Any answer to `srvr` (even "not currently serving") means the
        // process is up and its election has started.
        let mode = match e.four_letter(i, "srvr") {
            Ok(answer) => {
                up.get_or_insert_with(Instant::now);
                parse_mode(&answer)
            }
            Err(_) => Mode::NotServing,
        };
        if mode == Mode::Follower {
            let up = up.expect("a node that follows has answered");
            return Ok(Rejoin {
                since_start: started.elapsed(),
                since_up: up.elapsed(),
            });
        }
        e.check_alive()?;
        let waited = up.map_or(started.elapsed(), |u| u.elapsed());
        if waited > TIMEOUT {
            return Err(format!(
                "node {} ({}) not following {:?} after its start ({}; mode {mode:?})\n{}",
                e.sid(i),
                e.kind(i),
                started.elapsed(),
                if up.is_some() {
                    "it answers on its client port"
                } else {
                    "it never answered on its client port"
                },
                e.describe()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rejoin_after_leader_change(kinds: [NodeKind; 3]) {
    let Some(mut e) = Ensemble::new_or_skip(EnsembleConfig::new(&kinds)) else {
        return;
    };
    let label = kinds.map(|k| k.to_string()).join("+");

    // 1. Node 3 leads the first epoch (nodes 1 and 3 elect it: same zxid,
    //    higher myid); node 2 joins it.
    e.start(0).unwrap_or_else(|m| panic!("{m}"));
    e.start(2).unwrap_or_else(|m| panic!("{m}"));
    let (first, _) = e.wait_for_leader(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(
        first,
        2,
        "{label}: node 3 should lead nodes 1 and 3, node {} does\n{}",
        e.sid(first),
        e.describe()
    );
    e.start(1).unwrap_or_else(|m| panic!("{m}"));
    e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    // Without writes node 2's zxid is at least node 1's (a learner that
    // joined an established leader reports the epoch's first zxid, one
    // synced with the leader's start may still report 0), and both have
    // the same epoch, so node 2 wins the next election either way.

    // 2. A leader change: node 2 leads the next epoch, node 1 follows.
    e.kill_9(2).unwrap_or_else(|m| panic!("{m}"));
    let killed = Instant::now();
    let leader = e.wait_serving(TIMEOUT).unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(
        leader,
        1,
        "{label}: node 2 should lead nodes 1 and 2, node {} does\n{}",
        e.sid(leader),
        e.describe()
    );
    println!(
        "{label}: node 3 ({}) killed -9; node 2 ({}) leads a new epoch {:?} later, node 1 ({}) \
         follows",
        e.kind(2),
        e.kind(1),
        killed.elapsed(),
        e.kind(0)
    );

    // 3. and 4. The followers start again, each twice: only the second
    //    time are the peers' last messages to it (which the election
    //    connections send again on connecting) their settled answers.
    let mut slow = Vec::new();
    let restarts = [
        (2, "killed -9 before"),
        (2, "stopped"),
        (0, "stopped"),
        (0, "stopped again"),
    ];
    for (i, how) in restarts {
        if how != "killed -9 before" {
            e.stop(i).unwrap_or_else(|m| panic!("{m}"));
        }
        let r = restart_and_rejoin(&mut e, i).unwrap_or_else(|m| panic!("{label}: {m}"));
        println!(
            "{label}: node {} ({}, {how}) follows node 2 ({}) {:?} after it came up ({:?} after \
             its start)",
            e.sid(i),
            e.kind(i),
            e.kind(1),
            r.since_up,
            r.since_start
        );
        if r.since_up > REJOIN_BOUND {
            slow.push(format!(
                "node {} ({}, {how}) looked for {:?}",
                e.sid(i),
                e.kind(i),
                r.since_up
            ));
        }
        e.wait_serving(TIMEOUT)
            .unwrap_or_else(|m| panic!("{label}: {m}"));
        assert_eq!(
            e.leader(),
            Some(1),
            "{label}: node 2 should still lead\n{}",
            e.describe()
        );
    }
    assert!(
        slow.is_empty(),
        "{label}: restarted nodes took longer than {REJOIN_BOUND:?} to rejoin: {}",
        slow.join("; ")
    );
}

/// The control: 3.8 alone.
#[test]
fn restarted_node_rejoins_3_apache() {
    rejoin_after_leader_change([Apache, Apache, Apache]);
}

/// A zk-bin leader of a new epoch, Apache followers restarting.
#[test]
fn restarted_apache_follower_rejoins_zk_bin_leader() {
    rejoin_after_leader_change([Apache, ZkBin, Apache]);
}

/// An Apache leader of a new epoch, zk-bin followers restarting.
#[test]
fn restarted_zk_bin_follower_rejoins_apache_leader() {
    rejoin_after_leader_change([ZkBin, Apache, ZkBin]);
}
