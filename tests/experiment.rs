//! The initialization experiment end to end: zero init is stuck at exactly ln 2 with
//! every hidden-weight gradient exactly 0, He beats standard normal × 10 over ten
//! seeds, and the gradients at initialization are snapshotted (and gradchecked).

use tapegrad::experiment::{self, Setup, moons, network};
use tapegrad::gradcheck::gradcheck;
use tapegrad::init::Init;
use tapegrad::nn::BinaryLoss;
use tapegrad::prelude::*;
use tapegrad::snapshot::format_gradients;

/// The reference network's gradients at initialization, by parameter name.
fn gradients_at_init(init: Init, seed: u64) -> Vec<(String, Tensor)> {
    let setup = Setup::default();
    let (train, _) = moons(&setup, seed);
    let model = network(&init, &setup, seed);
    let tape = Tape::new();
    let params = model.params.leaves(&tape);
    let loss = model.loss(model.forward_with(&params, tape.constant(train.x.clone())), &train.y);
    let grads = loss.backward();
    model.params.iter().zip(&params).map(|((name, _), &v)| (name.to_string(), grads.wrt(v).clone())).collect()
}

/// Gradchecks the reference network's loss with respect to every parameter.
fn check_against_finite_differences(init: Init, seed: u64) {
    let setup = Setup::default();
    let (train, _) = moons(&setup, seed);
    let model = network(&init, &setup, seed);
    let values: Vec<Tensor> = model.params.iter().map(|(_, t)| t.clone()).collect();
    gradcheck(&values, |p| {
        let params = p.iter().copied().collect();
        let x = p[0].tape().constant(train.x.clone());
        model.loss(model.forward_with(&params, x), &train.y)
    })
    .unwrap_or_else(|e| panic!("{init}: {e}"));
}

#[test]
fn zero_init_gradients_vanish_exactly() {
    let grads = gradients_at_init(Init::Zeros, 0);
    // Hidden activations are 0, so every weight gradient aᵀ·dz is 0; relu'(0) = 0 stops
    // every path into the hidden layers, so their biases get 0 too. Only the output bias
    // sees mean(p - y) = 0.5 - mean(y): 0 on the balanced moons, up to the rounding of
    // the sum.
    for (name, g) in &grads {
        if name == "dense2.bias" {
            assert!(g.item().abs() < 1e-15, "{name} = {g:?}");
        } else {
            assert!(g.data().iter().all(|&v| v == 0.0), "{name} = {g:?}");
        }
    }
    insta::assert_snapshot!("zero_init_gradients", format_gradients(grads.iter().map(|(n, g)| (n, g))));
    check_against_finite_differences(Init::Zeros, 0);
}

#[test]
fn he_init_gradients_reach_every_layer() {
    let grads = gradients_at_init(Init::HeNormal, 0);
    for (name, g) in &grads {
        assert!(g.norm() > 1e-6, "{name} has a vanishing gradient: {g:?}");
    }
    insta::assert_snapshot!("he_init_gradients", format_gradients(grads.iter().map(|(n, g)| (n, g))));
    check_against_finite_differences(Init::HeNormal, 0);
}

#[test]
fn zero_init_is_stuck_at_ln2_with_half_accuracy() {
    let setup = Setup { epochs: 15_000, ..Setup::default() };
    let run = experiment::run(Init::Zeros, 0, &setup).unwrap();
    // ln 2 at every epoch, up to the rounding of sums of 400 terms (the output bias
    // gradient, 0.5 - mean(y), is 0 only up to that rounding).
    for (epoch, &c) in run.history.costs.iter().enumerate() {
        assert!((c - std::f64::consts::LN_2).abs() < 1e-12, "epoch {epoch}: {c}");
    }
    assert_eq!((run.train.accuracy, run.test.accuracy), (0.5, 0.5));

    // The clipped loss reproduces the classic experiment's printed cost,
    // -ln(0.5 + 1e-5) = 0.6931271807599427, at every epoch.
    let clipped = Setup { epochs: 2_000, loss: BinaryLoss::REFERENCE_CLIPPED, ..Setup::default() };
    let run = experiment::run(Init::Zeros, 0, &clipped).unwrap();
    for &c in &run.history.costs {
        assert!((c - 0.693_127_180_759_942_7).abs() < 1e-15, "{c}");
    }
}

#[test]
fn he_beats_large_normal_over_ten_seeds() {
    let setup = Setup::default();
    let mean = |init: Init, f: fn(&experiment::Run) -> f64| {
        (0..10).map(|seed| f(&experiment::run(init, seed, &setup).unwrap())).sum::<f64>() / 10.0
    };
    let he_train = mean(Init::HeNormal, |r| r.train.accuracy);
    let he_test = mean(Init::HeNormal, |r| r.test.accuracy);
    let big_test = mean(Init::Normal(10.0), |r| r.test.accuracy);
    assert!(he_train >= 0.95, "He mean train accuracy {he_train}");
    assert!(he_test >= 0.93, "He mean test accuracy {he_test}");
    assert!(he_test > big_test, "He {he_test} vs normal:10 {big_test}");
}

#[test]
fn runs_are_reproducible_from_their_seed() {
    let setup = Setup { epochs: 50, ..Setup::default() };
    let a = experiment::run(Init::HeNormal, 3, &setup).unwrap();
    let b = experiment::run(Init::HeNormal, 3, &setup).unwrap();
    assert_eq!(a.history, b.history);
    assert_eq!(a.model, b.model);
}
