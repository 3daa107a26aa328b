//! Proves the layers beyond `Dense` and the tasks: batch norm, layer norm and residual
//! blocks pass gradcheck in training mode (batch norm's gradient through the batch
//! statistics included); evaluation mode uses the running statistics, checked against
//! values computed by hand; dropout with p = 0 is the identity and its mask follows the
//! seed; a layer of one's own trains and saves like the built-in ones; a saved model
//! carries every parameter and buffer bit for bit; fit refuses targets that do not fit
//! the task; the optimizer takes one step in one call.

use std::cell::RefCell;

use tapegrad::gradcheck::gradcheck;
use tapegrad::init::SeededRng;
use tapegrad::io;
use tapegrad::prelude::*;
use tapegrad::train::TrainError;

mod common;
use common::ScaledGelu;

fn batch(rows: usize, cols: usize, seed: u64) -> Tensor {
    Tensor::randn(rows, cols, &mut seeded_rng(seed, 9))
}

/// Gradchecks the model's training-mode output with respect to its input and every
/// parameter (the weights perturbed through the model's own store).
fn check_training_mode(model: Sequential, x: Tensor) {
    let names: Vec<String> = model.params.iter().map(|(n, _)| n.to_string()).collect();
    let mut inputs = vec![x];
    inputs.extend(model.params.iter().map(|(_, t)| t.clone()));
    let model = RefCell::new(model);
    let result = gradcheck(&inputs, |v| {
        let mut m = model.borrow_mut();
        let params = v[1..].iter().copied().collect();
        // The dropout generator is re-seeded at every evaluation: the same mask each time.
        m.forward_train(&params, v[0], &mut seeded_rng(5, 5)).tanh()
    });
    if let Err(e) = result {
        let what = if e.input == 0 { "the input".to_string() } else { names[e.input - 1].clone() };
        panic!("{what}: {e}");
    }
}

#[test]
fn batch_norm_passes_gradcheck_through_the_batch_statistics() {
    let mut rng = seeded_rng(0, 1);
    let mut model = Sequential::new(3);
    model.push_spec("dense:4,batchnorm,relu,dense:2", &Init::HeNormal, &mut rng).unwrap();
    check_training_mode(model, batch(6, 3, 1));
}

#[test]
fn layer_norm_residual_and_projection_pass_gradcheck() {
    let mut rng = seeded_rng(0, 1);
    let mut model = Sequential::new(3);
    model
        .push_spec("dense:4,layernorm,tanh,residual(dense:5,tanh,layernorm),dropout:0.3", &Init::XavierNormal, &mut rng)
        .unwrap();
    assert!(model.params.get("residual3.projection.weight").is_some(), "4 -> 5 takes a projection");
    check_training_mode(model, batch(5, 3, 2));
}

#[test]
fn evaluation_uses_the_running_statistics() {
    let mut model = Sequential::new(2);
    model.batch_norm();
    let x = Tensor::from_rows(&[[1.0, 10.0], [3.0, 20.0], [8.0, 60.0]]);
    let tape = Tape::new();
    let params = model.params.leaves(&tape);
    // Training mode: the output is normalized by the batch's own statistics ...
    let y = model.forward_train(&params, tape.constant_from(&x), &mut seeded_rng(0, 0)).value();
    let col0 = [1.0, 3.0, 8.0];
    let (mean0, var0) = (4.0, col0.iter().map(|v: &f64| (v - 4.0).powi(2)).sum::<f64>() / 3.0);
    assert!((y.get(0, 0) - (1.0 - mean0) / (var0 + 1e-5).sqrt()).abs() < 1e-12);
    // ... and moves the running ones by momentum 0.1, the variance unbiased (n / (n - 1)).
    let running_mean = 0.1 * mean0;
    let running_var = 0.9 * 1.0 + 0.1 * var0 * 3.0 / 2.0;
    assert!((model.params.tensor("batchnorm0.running_mean").unwrap().get(0, 0) - running_mean).abs() < 1e-15);
    assert!((model.params.tensor("batchnorm0.running_var").unwrap().get(0, 0) - running_var).abs() < 1e-12);
    // Evaluation: the running statistics, whatever the batch.
    let p = model.logits(&Tensor::from_rows(&[[2.0, 0.0]]));
    assert!((p.get(0, 0) - (2.0 - running_mean) / (running_var + 1e-5).sqrt()).abs() < 1e-12);
    // The buffers are not parameters: an optimizer never sees them.
    assert_eq!(model.params.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["batchnorm0.gamma", "batchnorm0.beta"]);
}

#[test]
fn dropout_is_seeded_inverted_and_off_in_evaluation() {
    let x = Tensor::full(40, 5, 1.0);
    let run = |p: f64, seed: u64| {
        let mut model = Sequential::new(5);
        model.dropout(p);
        let tape = Tape::new();
        let params = model.params.leaves(&tape);
        let y = model.forward_train(&params, tape.constant_from(&x), &mut seeded_rng(seed, 4)).value();
        (y, model.logits(&x))
    };
    let (identity, eval) = run(0.0, 1);
    assert_eq!(identity, x);
    assert_eq!(eval, x);
    let (a, eval) = run(0.25, 1);
    assert_eq!(eval, x, "evaluation: no dropout");
    assert_eq!(a, run(0.25, 1).0, "the same seed gives the same mask");
    assert_ne!(a, run(0.25, 2).0, "another seed another mask");
    assert!(a.data().iter().all(|&v| v == 0.0 || v == 1.0 / 0.75), "kept elements are scaled by 1/(1-p)");
    let dropped = a.data().iter().filter(|&&v| v == 0.0).count();
    // 200 draws at p = 0.25: 50 ± 6 expected; 25..75 is over four standard deviations.
    assert!((25..75).contains(&dropped), "{dropped} of 200 dropped");
}

fn moons_model(rng: &mut SeededRng) -> Sequential {
    let mut model = Sequential::new(2);
    model.dense(16, Activation::Identity, &Init::HeNormal, rng);
    let scale = model.add_param("gelu1.scale", Tensor::full(1, 16, 1.0));
    model.module(Box::new(ScaledGelu { scale }));
    model.batch_norm();
    model.dense(1, Activation::Identity, &Init::XavierNormal, rng);
    model
}

#[test]
fn a_layer_of_ones_own_trains_evaluates_and_saves() {
    let data = make_moons(200, Noise { std: 0.1, shuffle: true }, &mut seeded_rng(0, 0));
    let mut model = moons_model(&mut seeded_rng(0, 1));
    let history = fit(&mut model, &data.x, &data.y, FitOptions::epochs(300), &mut Adam::new(0.01)).unwrap();
    assert!(history.last().unwrap() < 0.5 * history.costs[0], "{:?}", (history.costs[0], history.last()));
    let eval = evaluate(&model, &data.x, &data.y);
    assert!(eval.accuracy > 0.9, "accuracy {}", eval.accuracy);
    assert_ne!(model.params["gelu1.scale"], Tensor::full(1, 16, 1.0), "its parameter was trained");

    // Every parameter and buffer round-trips bit for bit.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    io::save_params(&path, &model.params, &Default::default()).unwrap();
    let mut fresh = moons_model(&mut seeded_rng(7, 1));
    io::load_params(&path).unwrap().restore_into(&mut fresh.params).unwrap();
    assert_eq!(fresh.params, model.params);
    assert_eq!(fresh.predict(&data.x), model.predict(&data.x));

    // Another architecture: every difference is listed, nothing changes.
    let mut other = Sequential::new(2);
    other.dense(16, Activation::Relu, &Init::HeNormal, &mut seeded_rng(0, 1));
    other.layer_norm();
    let before = other.params.clone();
    let err = io::load_params(&path).unwrap().restore_into(&mut other.params).unwrap_err().to_string();
    for name in ["layernorm1.gamma", "gelu1.scale", "batchnorm2.running_var", "dense3.weight"] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
    assert_eq!(other.params, before);
}

#[test]
fn targets_that_do_not_fit_the_task_are_refused() {
    let data = make_moons(20, Noise { std: 0.1, shuffle: true }, &mut seeded_rng(0, 0));
    let mut model = moons_model(&mut seeded_rng(0, 1));
    let one_hot = Tensor::one_hot(&data.y.data().iter().map(|&v| v as usize).collect::<Vec<_>>(), 2);
    let before = model.clone();
    let err = fit(&mut model, &data.x, &one_hot, FitOptions::epochs(5), &mut GradientDescent { lr: 0.1 }).unwrap_err();
    assert!(matches!(&err, TrainError::Targets(why) if why.contains("20x2")), "{err}");
    assert_eq!(model, before, "nothing was trained");
    model.task = Task::MultiClass { classes: 3 };
    let err = fit(&mut model, &data.x, &data.y, FitOptions::epochs(5), &mut GradientDescent { lr: 0.1 }).unwrap_err();
    assert!(err.to_string().contains("3 classes need 3 outputs; the model has 1"), "{err}");
}

#[test]
fn multi_class_and_regression_train_and_report() {
    // Three classes: three well-separated blobs.
    let mut rng = seeded_rng(3, 0);
    let centres = [[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]];
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for i in 0..150 {
        let c = centres[i % 3];
        let noise = Tensor::randn(1, 2, &mut rng);
        x.extend([c[0] + noise.data()[0], c[1] + noise.data()[1]]);
        labels.push((i % 3) as f64);
    }
    let (x, y) = (Tensor::from_vec(150, 2, x), Tensor::from_vec(150, 1, labels));
    let mut model = Sequential::new(2);
    model.push_spec("dense:16,relu", &Init::HeNormal, &mut seeded_rng(0, 1)).unwrap();
    model.dense(3, Activation::Identity, &Init::XavierNormal, &mut seeded_rng(0, 1));
    model.task = Task::MultiClass { classes: 3 };
    fit(&mut model, &x, &y, FitOptions::epochs(200), &mut Adam::new(0.02)).unwrap();
    let eval = evaluate(&model, &x, &y);
    let confusion = eval.confusion.clone().unwrap();
    assert_eq!(confusion.iter().map(|r| r.iter().sum::<usize>()).collect::<Vec<_>>(), [50, 50, 50]);
    let diagonal: usize = (0..3).map(|c| confusion[c][c]).sum();
    assert_eq!(eval.accuracy, diagonal as f64 / 150.0);
    assert!(eval.accuracy > 0.95, "{confusion:?}");
    let p = model.predict(&x);
    assert!(p.data().chunks(3).all(|r| (r.iter().sum::<f64>() - 1.0).abs() < 1e-12), "rows of probabilities");

    // Regression: y = sin(x1) + x2 / 2.
    let y = Tensor::from_vec(150, 1, x.data().chunks(2).map(|r| r[0].sin() + r[1] / 2.0).collect());
    let mut model = Sequential::new(2);
    model.push_spec("dense:32,tanh,dense:32,tanh", &Init::XavierNormal, &mut seeded_rng(0, 1)).unwrap();
    model.dense(1, Activation::Identity, &Init::XavierNormal, &mut seeded_rng(0, 1));
    model.task = Task::Regression;
    fit(&mut model, &x, &y, FitOptions::epochs(500), &mut Adam::new(0.01)).unwrap();
    let eval = evaluate(&model, &x, &y);
    assert!(eval.r2.unwrap() > 0.95, "R² {:?}, RMSE {:?}", eval.r2, eval.rmse);
    assert!(eval.accuracy.is_nan() && eval.confusion.is_none());
}

#[test]
fn norm_parameters_take_initializers() {
    let mut model = Sequential::new(3);
    model.batch_norm_with(&Init::Zeros, &Init::Constant(0.5), &mut seeded_rng(0, 1));
    model.layer_norm_with(&Init::Normal(1.0), &Init::Zeros, &mut seeded_rng(0, 1));
    assert_eq!(model.params["batchnorm0.gamma"], Tensor::zeros(1, 3));
    assert_eq!(model.params["layernorm1.gamma"], Init::Normal(1.0).init(ParamShape::bias(3, 3), &mut seeded_rng(0, 1)));
    // γ = 0: the batch norm outputs β whatever the input, and a layer norm of a constant
    // row is β again (0 here).
    let y = model.logits(&batch(4, 3, 1));
    assert!(y.data().iter().all(|&v| v == 0.0), "{y:?}");
}
