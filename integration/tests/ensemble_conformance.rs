//! The mixed-ensemble conformance matrix (see `integration::conformance`):
//! every 3.8 client operation through every node of every combination of
//! leader, followers and observers of Apache ZooKeeper 3.8 (`j`) and
//! zk-bin (`o`), under a load writer, answers checked against a model,
//! final trees compared node by node. The run time of each combination and
//! of the whole matrix is printed.
//!
//! `ZK_CONFORMANCE_COMBOS=jjo,ooj` runs only those (letters in myid order;
//! the last participant leads; observers after `+`). Combinations with an
//! Apache node print `skipped: ...` where Java or Debian's ZooKeeper is
//! missing.

use std::time::Instant;

use integration::conformance::matrix::run_combo;
use integration::conformance::Combo;
use integration::ensemble::EnsembleError;

/// Each kind leads followers of each mix, and observes the other kind's
/// leader.
const COMBOS: &str = "ooo,jjj,jjo,joo,ooj,ojj,ooo+j,jjj+o";

#[test]
fn conformance_matrix() {
    let list = std::env::var("ZK_CONFORMANCE_COMBOS").unwrap_or_else(|_| COMBOS.to_string());
    let combos: Vec<Combo> = list
        .split(',')
        .map(|s| Combo::parse(s.trim()).unwrap_or_else(|m| panic!("ZK_CONFORMANCE_COMBOS: {m}")))
        .collect();
    let start = Instant::now();
    let mut failures = Vec::new();
    for combo in &combos {
        match run_combo(combo) {
            Ok(r) => println!(
                "{combo}: every answer as the model says on every node, {} load writes acknowledged, \
                 {} nodes equal on all trees, in {:.1?}",
                r.load_writes, r.tree_nodes, r.elapsed
            ),
            Err(EnsembleError::Skipped(why)) => println!("{combo}: skipped: {why}"),
            Err(EnsembleError::Failed(why)) => {
                println!("{combo}: FAILED: {why}");
                failures.push(format!("{combo}: {why}"));
            }
        }
    }
    println!(
        "conformance matrix: {} combination(s) in {:.1?}",
        combos.len(),
        start.elapsed()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
