//! Faults at chosen Zab packets (project issue 10, deliverable 3): each
//! learner reaches the leader through its own `fault::proxy::QuorumProxy`
//! (only that learner's zoo.cfg names the proxy as the leader's quorum
//! address), and a rule cuts or delays its link at one packet type while a
//! `SteadyWriter` keeps writing:
//!
//! - `cut_at_newleader_during_diff`, `cut_at_uptodate_during_diff`: a
//!   follower restarted after some writes (DIFF) loses its link just
//!   before NEWLEADER, or before UPTODATE (after it has logged the txns
//!   and acked NEWLEADER);
//! - `cut_after_snap`: one restarted after more writes than the leader's
//!   committed log keeps (700 > 500, `snapCount=100` so the txn logs on
//!   disk are no way out) loses it right after SNAP, before the snapshot;
//! - `ack_delay_within_then_beyond_sync_limit`: the follower's ACKs (and,
//!   behind them on the stream, all it sends) arrive 2 s late, within
//!   syncLimit (5 s): it stays; then 8 s late: the leader drops it and it
//!   syncs again on a new connection;
//! - `cut_at_trunc_of_an_old_leader`: the leader logs a txn whose
//!   PROPOSALs the proxies cut (on every reconnect too), is frozen and
//!   killed; myid 2 leads; the old leader, whose own link to myid 2 goes
//!   through a proxy, loses it just before TRUNC, then truncates on the
//!   next connection.
//!
//! At the end of each: every acknowledged write on every node, equal
//! zxids (after a final write) and equal trees (`/zookeeper/config`'s
//! times aside, as the conformance matrix does, and with the proxy's port
//! read as the leader's in the config a proxied node wrote itself).
//! Each prints what happened: the rule that fired, the learner's syncs
//! (DIFF/SNAP/TRUNC, from its log), the leader's lines, how long the
//! follower took to serve again.
//!
//! The leader is myid 3 (the highest myid wins on a fresh ensemble with
//! equal zxids; it is started first, and moved there if another node won).
//!
//! `ZK_PROXY_CONFIGS`: comma-separated configurations, one letter per node
//! in myid order, `o` zk-bin and `j` Apache 3.8; the follower faulted is
//! myid 1. Default `ooo` (CI); the long run is `ooo,joo,ooj,jjj` (an Apache
//! learner behind a zk-bin leader, zk-bin learners behind an Apache
//! leader, Apache alone as the control):
//!
//!     ZK_PROXY_CONFIGS=ooo,joo,ooj,jjj cargo test -p integration --test quorum_proxy_faults -- --nocapture --test-threads 1

use std::time::{Duration, Instant};

use integration::ensemble::{
    bounded, Ensemble, EnsembleConfig, Mode, NodeKind, SteadyWriter, SyncKind, OP_TIMEOUT,
};
use integration::fault::proxy::{packet_type, Action, Direction, QuorumProxy, Rule};
use integration::ports::free_port_except;
use integration::tree_model::dump_live;
use zk_persistence::file_txn_log::TxnLogReader;
use zookeeper_client::{Acls, CreateMode};

const TIMEOUT: Duration = Duration::from_secs(90);
const TICK_MS: u32 = 500;
/// syncLimit x tickTime = 5 s.
const SYNC_LIMIT: u32 = 10;
/// initLimit x tickTime = 10 s, for a SNAP on a slow disk.
const INIT_LIMIT: u32 = 20;
/// The follower faulted (myid 1); the leader is the last node.
const F: usize = 0;

fn configs() -> Vec<String> {
    std::env::var("ZK_PROXY_CONFIGS")
        .unwrap_or_else(|_| "ooo".into())
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn kinds(config: &str) -> Vec<NodeKind> {
    config
        .chars()
        .map(|c| match c {
            'o' => NodeKind::ZkBin,
            'j' => NodeKind::Apache,
            _ => panic!("configuration {config}: {c} is neither o nor j"),
        })
        .collect()
}

/// An ensemble whose learners reach the leader through proxies.
struct Proxied {
    e: Ensemble,
    config: String,
    leader: usize,
    /// Index = node; the leader has none.
    proxies: Vec<Option<QuorumProxy>>,
    /// Further proxies: (node whose zoo.cfg names it, proxy).
    more: Vec<(usize, QuorumProxy)>,
}

fn or_fail<T>(r: Result<T, String>, e: &Ensemble) -> T {
    r.unwrap_or_else(|m| panic!("{m}\n{}", e.describe()))
}

impl Proxied {
    /// With `old_to_new`, the leader's own link to node `leader - 1` (its
    /// successor once it dies) goes through a proxy too.
    fn start(config: &str, snap_count: u32) -> Option<Proxied> {
        Self::start_with(config, snap_count, false)
    }

    fn start_with(config: &str, snap_count: u32, old_to_new: bool) -> Option<Proxied> {
        let mut cfg = EnsembleConfig::new(&kinds(config));
        cfg.tick_time_ms = TICK_MS;
        cfg.snap_count = snap_count;
        cfg.extra_cfg.extend([
            ("syncLimit".to_string(), SYNC_LIMIT.to_string()),
            ("initLimit".to_string(), INIT_LIMIT.to_string()),
        ]);
        let mut e = Ensemble::new_or_skip(cfg)?;
        let leader = e.len() - 1;
        let mut proxies = Vec::new();
        let mut used = e.ports();
        for i in 0..e.len() {
            if i == leader {
                proxies.push(None);
                continue;
            }
            let port = free_port_except(&used).expect("a free port");
            used.push(port);
            let proxy = QuorumProxy::start(([127, 0, 0, 1], port).into(), e.quorum_addr(leader))
                .expect("start a proxy");
            e.route_quorum(i, leader, proxy.addr());
            proxies.push(Some(proxy));
        }
        let mut more = Vec::new();
        if old_to_new {
            let port = free_port_except(&used).expect("a free port");
            let proxy =
                QuorumProxy::start(([127, 0, 0, 1], port).into(), e.quorum_addr(leader - 1))
                    .expect("start a proxy");
            e.route_quorum(leader, leader - 1, proxy.addr());
            more.push((leader, proxy));
        }
        // The leader first, so that the others find it in their election.
        or_fail(e.start(leader), &e);
        for i in 0..leader {
            or_fail(e.start(i), &e);
        }
        let mut p = Proxied {
            e,
            config: config.to_string(),
            leader,
            proxies,
            more,
        };
        p.ensure_leader();
        for i in 0..p.leader {
            let proxy = p.proxy(i);
            or_fail(proxy.wait_connections(1, TIMEOUT), &p.e);
        }
        p.write_once("/proxy-start");
        or_fail(p.e.wait_same_zxid(TIMEOUT), &p.e);
        Some(p)
    }

    fn proxy(&self, i: usize) -> &QuorumProxy {
        self.proxies[i].as_ref().expect("a learner's proxy")
    }

    /// Restarts whoever leads until the last node does (see
    /// conformance/matrix.rs `ensure_leader`: a write first, so that the
    /// zxids are equal and the myid decides).
    fn ensure_leader(&mut self) {
        for _ in 0..3 {
            let leader = or_fail(self.e.wait_serving(TIMEOUT), &self.e);
            if leader == self.leader {
                return;
            }
            self.write_once("/leader-moved");
            or_fail(self.e.wait_same_zxid(TIMEOUT), &self.e);
            or_fail(self.e.stop(leader), &self.e);
            or_fail(self.e.wait_for_leader(TIMEOUT), &self.e);
            println!(
                "{}: node {} led, not node {}: restarted it",
                self.config,
                self.e.sid(leader),
                self.e.sid(self.leader)
            );
            or_fail(self.e.start(leader), &self.e);
        }
        let now = or_fail(self.e.wait_serving(TIMEOUT), &self.e);
        assert_eq!(now, self.leader, "{}", self.e.describe());
    }

    /// One sequential create through whichever node leads.
    fn write_once(&self, prefix: &str) {
        let leader = or_fail(self.e.wait_for_leader(TIMEOUT).map(|l| l.0), &self.e);
        let c = or_fail(self.e.client(leader), &self.e);
        let open = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
        let r = self
            .e
            .block_on(bounded(c.create(&format!("{prefix}-"), b"", &open)));
        or_fail(r.map(|_| ()), &self.e);
    }

    /// The writer's connect string: every node but the faulted follower,
    /// so that its session is not the one a restart closes.
    fn writer(&self, dir: &str) -> SteadyWriter {
        let cs: Vec<String> = (0..self.e.len())
            .filter(|&i| i != F)
            .map(|i| self.e.connect_string(i))
            .collect();
        SteadyWriter::start(&cs.join(","), dir)
    }

    /// The syncs node `i`'s current run logged, oldest first.
    fn syncs(&self, i: usize) -> Vec<SyncKind> {
        self.e
            .log_text(i)
            .lines()
            .filter_map(SyncKind::from_learner_line)
            .collect()
    }

    /// The end checks: acknowledged writes, zxids, trees.
    fn finish(&self, writer: SteadyWriter, dir: &str) {
        let e = &self.e;
        let report = or_fail(writer.stop(), e);
        self.write_once("/proxy-final");
        let zxid = or_fail(e.wait_same_zxid(TIMEOUT), e);
        or_fail(e.check_acked(dir, &report.acked), e);
        let mut trees = Vec::new();
        for i in 0..e.len() {
            let c = or_fail(e.client(i), e);
            let tree = e.block_on(async {
                bounded(c.sync("/")).await?;
                tokio::time::timeout(OP_TIMEOUT * 4, dump_live(&c))
                    .await
                    .map_err(|_| "dump timed out".to_string())?
            });
            let mut tree = or_fail(tree, e);
            tree.forget_config_node_times();
            if let Some(config) = tree.nodes.get_mut("/zookeeper/config") {
                // Written by each node from its own zoo.cfg: a proxied node names the proxy.
                let routes = self.proxies[i]
                    .iter()
                    .chain(self.more.iter().filter(|(n, _)| *n == i).map(|(_, p)| p));
                for proxy in routes {
                    let text = String::from_utf8_lossy(&config.data).replace(
                        &format!("{}:", proxy.addr()),
                        &format!("{}:", proxy.target()),
                    );
                    config.data = text.into_bytes();
                }
            }
            trees.push(tree);
        }
        for i in 1..trees.len() {
            let r = trees[0].compare(
                &format!("node {}", e.sid(0)),
                &trees[i],
                &format!("node {}", e.sid(i)),
                10,
            );
            or_fail(r, e);
        }
        println!(
            "{}: {} acknowledged writes ({} failed attempts, longest gap {:?}) on all {} nodes, zxid 0x{zxid:x}, {} znodes equal everywhere",
            self.config,
            report.acked.len(),
            report.failures,
            report.longest_gap,
            e.len(),
            trees[0].len()
        );
        for (i, p) in self.proxies.iter().enumerate() {
            if let Some(p) = p {
                assert!(
                    p.lost().is_empty(),
                    "node {}'s proxy lost the framing: {:?}",
                    e.sid(i),
                    p.lost()
                );
            }
        }
    }
}

/// A follower restarted after `missed` writes loses its link at the first
/// `packet` of type `at` (leader to learner) of its sync.
fn cut_during_sync(config: &str, at: i32, action: Action, missed: usize, want: SyncKind) {
    let snap = want == SyncKind::Snap;
    let Some(p) = Proxied::start(config, if snap { 100 } else { 100_000 }) else {
        return;
    };
    let mut p = p;
    let dir = "/proxied";
    let w = p.writer(dir);
    or_fail(w.wait_for_more(50, TIMEOUT), &p.e);
    or_fail(p.e.stop(F), &p.e);
    or_fail(w.wait_for_more(missed, TIMEOUT), &p.e);
    let proxy = p.proxies[F].take().expect("proxied");
    let before = proxy.connections();
    proxy.add_rule(Rule::nth(Direction::LeaderToLearner, at, 1, action));
    let t0 = Instant::now();
    or_fail(p.e.start(F), &p.e);
    let fired = or_fail(proxy.wait_fired(1, TIMEOUT), &p.e);
    let cut_at = t0.elapsed();
    // The cut connection, then the one the follower syncs on again.
    or_fail(proxy.wait_connections(before + 2, TIMEOUT), &p.e);
    p.proxies[F] = Some(proxy);
    let leader = or_fail(p.e.wait_serving(TIMEOUT), &p.e);
    assert_eq!(leader, p.leader, "the leader changed\n{}", p.e.describe());
    assert_eq!(p.e.mode(F), Mode::Follower);
    let back = t0.elapsed();
    or_fail(w.wait_for_more(100, TIMEOUT), &p.e);
    let syncs = p.syncs(F);
    println!(
        "{config}: {:?} at {} ({}): fired [{}] {cut_at:?} after the restart; follower serving again after {back:?}, {} connection(s) in this run; its syncs {syncs:?}; leader: {:?}",
        action,
        integration::fault::proxy::framing::type_name(at),
        if snap { "SNAP sync" } else { "DIFF sync" },
        fired.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "),
        p.proxy(F).connections() - before,
        p.e.leader_sync_lines(p.leader, F),
    );
    assert_eq!(
        syncs.first(),
        Some(&want),
        "the restart did not sync as meant\n{}",
        p.e.describe()
    );
    assert!(syncs.len() >= 2, "the follower synced once only: {syncs:?}");
    p.finish(w, dir);
}

#[test]
fn cut_at_newleader_during_diff() {
    for c in configs() {
        cut_during_sync(&c, packet_type::NEWLEADER, Action::Cut, 100, SyncKind::Diff);
    }
}

#[test]
fn cut_at_uptodate_during_diff() {
    for c in configs() {
        cut_during_sync(&c, packet_type::UPTODATE, Action::Cut, 100, SyncKind::Diff);
    }
}

#[test]
fn cut_after_snap() {
    for c in configs() {
        cut_during_sync(&c, packet_type::SNAP, Action::CutAfter, 750, SyncKind::Snap);
    }
}

/// Waits `d` while the follower's link must hold: same connection,
/// follower serving.
fn holds_for(p: &Proxied, conn: u64, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        assert_eq!(
            p.proxy(F).connections(),
            conn,
            "{}: the follower was dropped with its ACKs late by less than syncLimit\n{}",
            p.config,
            p.e.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(p.e.mode(F), Mode::Follower, "{}", p.e.describe());
}

fn ack_delay(config: &str) {
    let Some(p) = Proxied::start(config, 100_000) else {
        return;
    };
    let dir = "/slow-acks";
    let w = p.writer(dir);
    or_fail(w.wait_for_more(50, TIMEOUT), &p.e);
    let limit = Duration::from_millis(u64::from(SYNC_LIMIT * TICK_MS));
    let proxy = p.proxy(F);
    let conn = proxy.connections();
    let ack = |d| {
        Rule::every(
            Direction::LearnerToLeader,
            packet_type::ACK,
            Action::Delay(d),
        )
        .on_connection(conn)
    };
    let within = Duration::from_secs(2);
    proxy.add_rule(ack(within));
    let acked = w.acked_count();
    holds_for(&p, conn, limit + Duration::from_secs(3));
    let delayed = proxy.fired().len();
    assert!(delayed > 0, "no ACK went through the delay");
    println!(
        "{config}: ACKs {within:?} late for {:?}: {delayed} delayed, still connected, {} writes meanwhile",
        limit + Duration::from_secs(3),
        w.acked_count() - acked
    );

    let beyond = limit + Duration::from_secs(3);
    proxy.clear_rules();
    proxy.add_rule(ack(beyond));
    let t0 = Instant::now();
    or_fail(proxy.wait_connections(conn + 1, TIMEOUT), &p.e);
    let dropped = t0.elapsed();
    let leader = or_fail(p.e.wait_serving(TIMEOUT), &p.e);
    assert_eq!(leader, p.leader, "the leader changed\n{}", p.e.describe());
    let back = t0.elapsed();
    or_fail(w.wait_for_more(100, TIMEOUT), &p.e);
    let leader_log = p.e.log_text(p.leader);
    let mut timeouts: Vec<&str> = leader_log
        .lines()
        .filter(|l| {
            [
                "transaction timeout",
                "timed out",
                "GOODBYE",
                "LearnerHandler for sid",
            ]
            .iter()
            .any(|s| l.contains(s))
        })
        .collect();
    // The drop's own lines, not those of the first election.
    timeouts.drain(..timeouts.len().saturating_sub(3));
    println!(
        "{config}: ACKs {beyond:?} late: a new connection {dropped:?} later, serving again after {back:?}; follower syncs {:?}; leader says {timeouts:?}",
        p.syncs(F)
    );
    assert!(
        p.syncs(F).len() >= 2,
        "the follower did not sync again: {:?}",
        p.syncs(F)
    );
    p.finish(w, dir);
}

#[test]
fn ack_delay_within_then_beyond_sync_limit() {
    for c in configs() {
        ack_delay(&c);
    }
}

/// The old leader, holding a txn it logged and no follower saw, rejoins
/// the new leader and loses its link just before TRUNC (the proxies cut
/// every PROPOSAL to the followers until the leader is killed, so that no
/// reconnect hands it to them).
fn cut_at_trunc(config: &str) {
    let Some(p) = Proxied::start_with(config, 100_000, true) else {
        return;
    };
    let old = p.leader;
    let new = old - 1;
    // The old leader's link to its successor: armed from now on, since it
    // may step down and join the new leader before it is killed.
    let to_new = &p.more[0].1;
    to_new.add_rule(Rule::nth(
        Direction::LeaderToLearner,
        packet_type::TRUNC,
        1,
        Action::Cut,
    ));
    let dir = "/before-trunc";
    let w = p.writer(dir);
    or_fail(w.wait_for_more(50, TIMEOUT), &p.e);
    // Nothing may be committed in the new epoch before the old leader is
    // back, or TRUNC is no longer the leader's choice.
    or_fail(w.pause(), &p.e);
    // The doomed write's session first: its createSession is a txn too.
    let c = or_fail(p.e.client(old), &p.e);
    let committed = or_fail(p.e.wait_same_zxid(TIMEOUT), &p.e);
    for i in 0..old {
        p.proxy(i).add_rule(Rule::every(
            Direction::LeaderToLearner,
            packet_type::PROPOSAL,
            Action::Cut,
        ));
    }
    let mut p = p;
    let c2 = c.clone();
    let doomed = "/doomed";
    // Sent, never awaited: it can only fail.
    p.e.block_on(async {
        let _detached = tokio::spawn(async move {
            let all = CreateMode::Persistent.with_acls(Acls::anyone_all());
            let _ = c2.create(doomed, b"never committed", &all).await;
        });
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let log_dir = p.e.data_dir(old).join("version-2");
    let logged = loop {
        let z = TxnLogReader::new(&log_dir).last_logged_zxid();
        if z > committed {
            break z;
        }
        assert!(Instant::now() < deadline, "the leader never logged it");
        std::thread::sleep(Duration::from_millis(5));
    };
    or_fail(p.e.freeze(old), &p.e);
    let syncs_before = p.syncs(old);
    or_fail(p.e.kill_9(old), &p.e);
    for i in 0..old {
        p.proxy(i).clear_rules();
        let z = TxnLogReader::new(p.e.data_dir(i).join("version-2")).last_logged_zxid();
        assert!(z <= committed, "node {} logged the doomed txn", p.e.sid(i));
    }
    let cut_proposals: Vec<String> = (0..old)
        .flat_map(|i| p.proxy(i).fired())
        .map(|f| f.to_string())
        .collect();
    let leader = or_fail(p.e.wait_serving(TIMEOUT), &p.e);
    assert_eq!(leader, new, "{}", p.e.describe());
    let t0 = Instant::now();
    or_fail(p.e.start(old), &p.e);
    let to_new = &p.more[0].1;
    let fired = or_fail(to_new.wait_fired(1, TIMEOUT), &p.e);
    or_fail(to_new.wait_connections(2, TIMEOUT), &p.e);
    or_fail(p.e.wait_serving(TIMEOUT).map(|_| ()), &p.e);
    let back = t0.elapsed();
    let syncs = [syncs_before, p.syncs(old)];
    println!(
        "{config}: old leader node {} logged 0x{logged:x} past 0x{committed:x} (PROPOSALs cut: [{}]); node {} leads; fired [{}]; the old leader serves again {back:?} after its restart; its syncs {syncs:?} (before the kill, after the restart); new leader: {:?}",
        p.e.sid(old),
        cut_proposals.join("; "),
        p.e.sid(new),
        fired.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "),
        p.e.leader_sync_lines(new, old),
    );
    assert_eq!(fired[0].packet_type, packet_type::TRUNC);
    assert!(
        syncs.concat().contains(&SyncKind::Trunc),
        "the old leader never truncated: {syncs:?}\n{}",
        p.e.describe()
    );
    drop(c);
    or_fail(p.e.check_absent(doomed), &p.e);
    let before = w.snapshot();
    or_fail(p.e.check_acked(dir, &before.acked), &p.e);
    w.resume();
    or_fail(w.wait_for_more(100, TIMEOUT), &p.e);
    p.finish(w, dir);
}

#[test]
fn cut_at_trunc_of_an_old_leader() {
    for c in configs() {
        cut_at_trunc(&c);
    }
}
