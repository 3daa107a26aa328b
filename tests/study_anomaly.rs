//! Proves that anomaly detection finds where a real divergence starts: the reference
//! network with normal:10 hidden weights and a learning rate of 1e50 overflows in its
//! third epoch, and the report names that epoch and the op (the second layer's `x·W + b`),
//! which an independent replay of the same run confirms; the CLI says the same and
//! exits with code 1.

use std::process::Command;

use tapegrad::experiment::{self, Setup};
use tapegrad::init::Init;
use tapegrad::prelude::*;
use tapegrad::train::TrainError;

fn divergent() -> Setup {
    Setup { lr: 1e50, epochs: 20, detect_anomaly: true, ..Setup::default() }
}

#[test]
fn the_first_overflow_is_named_with_its_epoch_and_op() {
    let setup = divergent();
    let err = experiment::run(Init::Normal(10.0), 0, &setup).expect_err("the run diverges");
    let TrainError::NonFinite { epoch, anomaly, history } = err else { panic!("expected a non-finite value: {err}") };
    assert_eq!(epoch, 3);
    assert_eq!(history.costs.len(), 3, "the costs of the epochs before are kept");
    assert!(history.costs.iter().all(|c| c.is_finite()));
    assert_eq!((anomaly.op, anomaly.in_gradient), ("affine", false));
    assert_eq!(anomaly.input_shapes, [Some((400, 12)), Some((12, 6)), Some((1, 6))]);

    // Replay without detection: after 3 updates every parameter is still finite, the
    // first layer's output is finite, and the second layer's pre-activation is not.
    let (train, _) = experiment::moons(&setup, 0);
    let mut model = experiment::network(&Init::Normal(10.0), &setup, 0);
    fit(&mut model, &train.x, &train.y, FitOptions::epochs(3), &mut GradientDescent { lr: setup.lr }).unwrap();
    assert!(model.params.iter().all(|(_, p)| p.is_finite()), "the updates themselves did not overflow");
    let tape = Tape::new();
    let params = model.params.leaves(&tape);
    let layers = model.dense_layers();
    let h1 = layers[0].forward(&params, tape.constant_from(&train.x));
    assert!(h1.value().is_finite());
    let product = layers[1].pre_activation(&params, h1);
    assert!(!product.value().is_finite());
    assert_eq!(product.index(), anomaly.node, "the same node on the same graph");
}

#[test]
fn a_parameter_that_an_update_overflowed_is_reported_as_a_leaf() {
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let w = tape.leaf(Tensor::from_vec(1, 2, vec![1.0, f64::INFINITY]));
    let _ = w * 2.0;
    let anomaly = tape.anomaly().expect("the infinite leaf is seen");
    assert_eq!((anomaly.op, anomaly.node, anomaly.in_gradient), ("leaf", w.index(), false));
}

#[test]
fn the_cli_reports_the_divergence_and_exits_with_code_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["compare", "--init", "normal:10", "--lr", "1e50", "--epochs", "20", "--detect-anomaly"])
        .args(["--out", concat!(env!("CARGO_TARGET_TMPDIR"), "/anomaly")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("hidden init normal:10, seed 0: epoch 3: first non-finite value of node"), "{err}");
    assert!(err.contains("(op `affine`, inputs [400x12, 12x6, 1x6])"), "{err}");
}
