//! One combination of the matrix from start to verdict: the ensemble up
//! with the intended leader, the scripts of all nodes at once beside a
//! load writer, then every model read through every node, every
//! acknowledged load write on every node, equal zxids and equal trees.

use std::time::{Duration, Instant};

use super::script::{self, Node};
use super::{Check, Combo};
use crate::ensemble::{connect, Ensemble, EnsembleConfig, EnsembleError, SteadyWriter, OP_TIMEOUT};
use crate::tree_model::dump_live;

const TIMEOUT: Duration = Duration::from_secs(90);

/// What a passing combination did.
#[derive(Debug)]
pub struct ComboReport {
    /// Wall time the combination took, ensemble start-up included.
    pub elapsed: Duration,
    /// Load writes acknowledged while the scripts ran.
    pub load_writes: usize,
    /// Nodes in the trees compared.
    pub tree_nodes: usize,
}

/// Runs `combo`; `Err(Skipped)` when this machine cannot.
pub fn run_combo(combo: &Combo) -> Result<ComboReport, EnsembleError> {
    let start = Instant::now();
    let failed = EnsembleError::Failed;
    let mut config = EnsembleConfig::new(&combo.participants).with_observers(&combo.observers);
    config
        .extra_cfg
        .push(("extendedTypesEnabled".to_string(), "true".to_string()));
    let mut e = Ensemble::new(config)?;
    e.start_all().map_err(failed)?;
    ensure_leader(&mut e, combo.leader())
        .map_err(|m| failed(format!("{combo}: {m}\n{}", e.describe())))?;

    let writer = SteadyWriter::start(&e.connect_string_all(), "load");
    let nodes: Vec<Node> = (0..e.len())
        .map(|i| {
            let cs = e.connect_string(i);
            let client = e.block_on(connect(&cs, OP_TIMEOUT))?;
            Ok(Node {
                check: Check {
                    node: format!("{combo} node {} ({})", e.sid(i), combo.role(i)),
                },
                client,
                connect_string: cs,
            })
        })
        .collect::<Result<_, String>>()
        .map_err(failed)?;
    let bases = e.block_on(async {
        let first = &nodes[0].client;
        crate::ensemble::bounded(
            first.create(
                "/conformance",
                b"",
                &zookeeper_client::CreateMode::Persistent
                    .with_acls(zookeeper_client::Acls::anyone_all()),
            ),
        )
        .await
        .map_err(|m| format!("create /conformance: {m}"))?;
        let mut tasks = tokio::task::JoinSet::new();
        for (i, actor) in nodes.iter().enumerate() {
            let (actor, peer) = (actor.clone(), nodes[(i + 1) % nodes.len()].clone());
            let sid = e.sid(i);
            tasks.spawn(async move { script::run(&actor, &peer, sid).await });
        }
        let mut models = Vec::new();
        let mut failures = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(model)) => models.push(model),
                Ok(Err(m)) => failures.push(m),
                Err(panic) => failures.push(format!("a script panicked: {panic}")),
            }
        }
        if failures.is_empty() {
            Ok(models)
        } else {
            Err(failures.join("\n"))
        }
    });
    let models = bases.map_err(|m| failed(format!("{m}\n{}", e.describe())))?;

    writer
        .wait_for_more(20, TIMEOUT)
        .map_err(|m| failed(format!("{combo}: the load stalled after the scripts: {m}")))?;
    let report = writer.stop().map_err(failed)?;
    e.check_acked("/load", &report.acked)
        .map_err(|m| failed(format!("{combo}: {m}")))?;
    e.wait_same_zxid(TIMEOUT)
        .map_err(|m| failed(format!("{combo}: {m}\n{}", e.describe())))?;

    // Every script's model through every node, then the trees.
    let mut trees = Vec::new();
    for i in 0..e.len() {
        let check = Check {
            node: format!("{combo} node {} ({}), final read", e.sid(i), combo.role(i)),
        };
        let cs = e.connect_string(i);
        let tree = e.block_on(async {
            let c = script::connect_reader(&cs).await?;
            crate::ensemble::bounded(c.sync("/")).await?;
            for m in &models {
                m.check_all(&c, &check).await?;
            }
            dump_live(&c).await
        });
        let mut tree = tree.map_err(failed)?;
        tree.forget_config_node_times();
        trees.push(tree);
    }
    for i in 1..trees.len() {
        trees[0]
            .compare(
                &format!("node {}", e.sid(0)),
                &trees[i],
                &format!("node {}", e.sid(i)),
                10,
            )
            .map_err(|m| failed(format!("{combo}: final trees differ: {m}")))?;
    }
    Ok(ComboReport {
        elapsed: start.elapsed(),
        load_writes: report.acked.len(),
        tree_nodes: trees[0].len(),
    })
}

/// Makes node `want` the leader: on a fresh ensemble the highest myid
/// normally wins, but a node that started late may find a leader already
/// there. Then the one leading is restarted until `want` takes over (it
/// has the highest myid, and the zxids are made equal first).
///
/// Before any write the zxids differ, in 3.8 too: a learner synced before
/// the leader had its quorum got an empty DIFF and reports 0x0, one that
/// came later got a SNAP at 0x100000000 (see tests/ensemble_first_zxid.rs).
/// One committed write brings every node to the same zxid, so the
/// election's tie-break by myid decides.
fn ensure_leader(e: &mut Ensemble, want: usize) -> Result<(), String> {
    for _ in 0..3 {
        let leader = e.wait_serving(TIMEOUT)?;
        if leader == want {
            return Ok(());
        }
        // A write first: right after an election a learner synced as the
        // leader started may still show zxid 0 (3.8's do too), so equal
        // zxids are only to be had once a txn is committed everywhere.
        let cs = e.connect_string(leader);
        e.block_on(async {
            let c = connect(&cs, OP_TIMEOUT).await?;
            let open = zookeeper_client::CreateMode::PersistentSequential
                .with_acls(zookeeper_client::Acls::anyone_all());
            crate::ensemble::bounded(c.create("/leader-moved-", b"", &open)).await
        })?;
        e.wait_same_zxid(TIMEOUT)?;
        e.stop(leader)?;
        let (next, _) = e.wait_for_leader(TIMEOUT)?;
        println!(
            "node {} led, not node {}: stopped it, node {} leads, node {} restarts",
            e.sid(leader),
            e.sid(want),
            e.sid(next),
            e.sid(leader)
        );
        e.start(leader)?;
    }
    Err(format!(
        "node {} does not lead after 3 restarts",
        e.sid(want)
    ))
}
