//! Proves that `Tape::to_dot` exports the graph that was recorded: parsing the DOT text
//! back gives one node per tape node with the right op, one edge per parent use, and
//! every edge between defined nodes; `tapegrad graph` prints the reference network's.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use tapegrad::experiment::{self, Setup};
use tapegrad::init::Init;
use tapegrad::prelude::*;

/// Node ids with the op named in their label, and edges, parsed from DOT text.
fn parse(dot: &str) -> (BTreeMap<usize, String>, Vec<(usize, usize)>) {
    assert!(dot.starts_with("digraph tape {") && dot.trim_end().ends_with('}'), "{dot}");
    let id = |s: &str| s.trim().trim_start_matches('n').trim_end_matches(';').parse::<usize>().unwrap();
    let (mut nodes, mut edges) = (BTreeMap::new(), Vec::new());
    for line in dot.lines().map(str::trim) {
        if let Some((from, to)) = line.split_once(" -> ") {
            edges.push((id(from), id(to)));
        } else if let Some((name, rest)) = line.split_once(" [label=\"") {
            // label starts with "#<index> <op> <shape>"
            let mut words = rest.split(' ');
            let index = words.next().unwrap();
            assert_eq!(index, format!("#{}", id(name)), "{line}");
            nodes.insert(id(name), words.next().unwrap().to_string());
        }
    }
    (nodes, edges)
}

fn op_counts(nodes: &BTreeMap<usize, String>) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for op in nodes.values() {
        *counts.entry(op.as_str()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_reference_loss_graph_has_one_node_per_op_and_one_edge_per_operand() {
    let setup = Setup { n_train: 20, ..Setup::default() };
    let (data, _) = experiment::moons(&setup, 0);
    let model = experiment::network(&Init::HeNormal, &setup, 0);
    let tape = Tape::new();
    let params = model.params.leaves(&tape);
    let loss = model.loss(model.forward_with(&params, tape.constant_from(&data.x)), &data.y);
    let grads = loss.backward();
    let (nodes, edges) = parse(&tape.to_dot_with(&grads));

    assert_eq!(nodes.len(), tape.len());
    // 6 parameters, the inputs and the targets; 3 dense layers (x·W + b); 2 ReLUs; the loss.
    let want = BTreeMap::from([("affine", 3), ("bce_with_logits", 1), ("constant", 2), ("leaf", 6), ("relu", 2)]);
    assert_eq!(op_counts(&nodes), want);
    // A dense layer has 3 operands (x, W, b), a ReLU 1, the loss 2 (logits and targets).
    assert_eq!(edges.len(), 3 * 3 + 2 + 2);
    let ids: BTreeSet<usize> = nodes.keys().copied().collect();
    assert!(edges.iter().all(|(a, b)| ids.contains(a) && ids.contains(b) && a < b), "edges point forward in time");
    assert_eq!(edges.iter().filter(|&&(_, b)| b == loss.index()).count(), 2);
    // After backward every non-constant node carries a gradient summary.
    let dot = tape.to_dot_with(&grads);
    assert_eq!(dot.matches("grad norm").count(), tape.len() - 2);
    assert_eq!(dot.matches("no gradient").count(), 2);
}

#[test]
fn the_graph_command_prints_the_same_structure() {
    let out = Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(["graph", "--samples", "10"]).output().unwrap();
    assert!(out.status.success());
    let (nodes, edges) = parse(&String::from_utf8(out.stdout).unwrap());
    assert_eq!((nodes.len(), edges.len()), (14, 13));
}
