//! Proves that the study tools measure every layer of a model beyond a dense stack: on a
//! network with a layer of one's own (GELU from ops, with a learnable scale), batch norm, a
//! residual block and dropout, the trace names every layer and its outputs equal the
//! layers run by hand with plain tensor loops; `grads` gives the gradients of `fit`'s first
//! step, which finite differences confirm; the diagnostics' weight-gradient norms are those
//! gradients' norms; the depth signal matches hand-computed moments and gradients; and LSUV
//! brings every dense layer, those inside the block included, to unit variance where it
//! sits, leaving the running statistics alone.

use tapegrad::init::streams;
use tapegrad::nn::{Forward, Traced};
use tapegrad::prelude::*;
use tapegrad::study::depth::layer_signals;
use tapegrad::study::diagnostics::Recorder;
use tapegrad::study::grads::pass;
use tapegrad::study::lsuv::{TOLERANCE, lsuv};
use tapegrad::study::trace;

mod common;
use common::ScaledGelu;

const NAMES: [&str; 8] =
    ["dense0", "module1", "batchnorm2", "residual3.dense0", "residual3.dense1", "residual3", "dropout4", "dense5"];

fn model(init: &Init) -> Sequential {
    let rng = &mut seeded_rng(0, 1);
    let mut m = Sequential::new(3);
    m.dense(8, Activation::Identity, init, rng);
    let scale = m.add_param("gelu1.scale", Tensor::full(1, 8, 1.5));
    m.module(Box::new(ScaledGelu { scale }));
    m.batch_norm();
    m.residual(None, rng, |b, rng| {
        b.dense(8, Activation::Relu, init, rng);
        b.dense(8, Activation::Identity, init, rng);
    });
    m.dropout(0.25);
    m.dense(1, Activation::Identity, init, rng);
    m
}

fn data() -> (Tensor, Tensor) {
    let x = Tensor::randn(32, 3, &mut seeded_rng(3, 0)).map(|v| 2.0 * v + 0.5);
    let y = Tensor::from_vec(32, 1, (0..32).map(|r| f64::from(u8::from(x.get(r, 0) > 0.5))).collect());
    (x, y)
}

/// `f` applied to every entry `(r, c)` of an `rows x cols` tensor.
fn build(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> Tensor {
    Tensor::from_vec(rows, cols, (0..rows * cols).map(|i| f(i / cols, i % cols)).collect())
}

fn affine(x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
    build(x.rows(), w.cols(), |r, c| b.get(0, c) + (0..x.cols()).map(|k| x.get(r, k) * w.get(k, c)).sum::<f64>())
}

fn column_mean_var(x: &Tensor, c: usize) -> (f64, f64) {
    let n = x.rows() as f64;
    let mean = (0..x.rows()).map(|r| x.get(r, c)).sum::<f64>() / n;
    (mean, (0..x.rows()).map(|r| (x.get(r, c) - mean).powi(2)).sum::<f64>() / n)
}

/// The model's layers by hand, batch norm in training mode, up to the dropout.
fn by_hand(m: &Sequential, x: &Tensor) -> Vec<Tensor> {
    let p = |name: &str| &m.params[name];
    let h0 = affine(x, p("dense0.weight"), p("dense0.bias"));
    let k = (2.0 / std::f64::consts::PI).sqrt();
    let s = p("gelu1.scale");
    let h1 = build(32, 8, |r, c| {
        let v = h0.get(r, c);
        0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh()) * s.get(0, c)
    });
    let (g, b) = (p("batchnorm2.gamma"), p("batchnorm2.beta"));
    let stats: Vec<(f64, f64)> = (0..8).map(|c| column_mean_var(&h1, c)).collect();
    let h2 = build(32, 8, |r, c| (h1.get(r, c) - stats[c].0) / (stats[c].1 + 1e-5).sqrt() * g.get(0, c) + b.get(0, c));
    let h30 = affine(&h2, p("residual3.dense0.weight"), p("residual3.dense0.bias")).map(|v| v.max(0.0));
    let h31 = affine(&h30, p("residual3.dense1.weight"), p("residual3.dense1.bias"));
    let h3 = build(32, 8, |r, c| h2.get(r, c) + h31.get(r, c));
    vec![h0, h1, h2, h30, h31, h3]
}

fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    for (x, y) in a.data().iter().zip(b.data()) {
        assert!((x - y).abs() <= 1e-10 * (1.0 + y.abs()), "{what}: {x} vs {y}");
    }
}

fn weight_names(m: &Sequential, l: &Traced<'_, '_>) -> Vec<String> {
    l.weights.iter().map(|&i| m.params.get_index(i).unwrap().0.to_string()).collect()
}

#[test]
fn the_trace_names_every_layer_and_equals_the_layers_run_by_hand() {
    let m = model(&Init::HeNormal);
    let (x, _) = data();
    let tape = Tape::new();
    let (_, t) = trace(&m, &tape, &x);
    assert_eq!(t.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), NAMES);
    assert_eq!(t.layers.iter().map(|l| l.depth).collect::<Vec<_>>(), [0, 0, 0, 1, 1, 0, 0, 0]);
    let hand = by_hand(&m, &x);
    for (l, h) in t.layers.iter().zip(&hand) {
        assert_close(&l.output.value(), h, &l.name);
    }
    // The block's first dense layer: its pre-activation is before the ReLU.
    let z = affine(&hand[2], &m.params["residual3.dense0.weight"], &m.params["residual3.dense0.bias"]);
    assert_close(&t.layers[3].pre_activation.unwrap().value(), &z, "residual3.dense0 pre-activation");
    assert!(t.layers.iter().all(|l| l.pre_activation.is_some() == l.name.contains("dense")));
    // Dropout: every element dropped or scaled by 1 / (1 - p).
    let d = t.layers[6].output.value();
    let dropped = d.data().iter().filter(|&&v| v == 0.0).count();
    assert!(dropped > 0 && dropped < d.len(), "{dropped} of {} dropped", d.len());
    for (v, h) in d.data().iter().zip(hand[5].data()) {
        assert!(*v == 0.0 || (v - h / 0.75).abs() < 1e-12, "{v} from {h}");
    }
    assert_close(&t.output.value(), &affine(&d, &m.params["dense5.weight"], &m.params["dense5.bias"]), "logits");
    // Each layer's weights: the dense weights, the module's own parameter, the norm's γ.
    let weights: Vec<Vec<String>> = t.layers.iter().map(|l| weight_names(&m, l)).collect();
    let expected: [&[&str]; 8] = [
        &["dense0.weight"],
        &["gelu1.scale"],
        &["batchnorm2.gamma"],
        &["residual3.dense0.weight"],
        &["residual3.dense1.weight"],
        &[],
        &[],
        &["dense5.weight"],
    ];
    assert_eq!(weights, expected);
    // The same ops as training: forward_train gives the same bits with fit's dropout stream.
    let mut trained = m.clone();
    let tape2 = Tape::new();
    let params = trained.params.leaves(&tape2);
    let y = trained.forward_train(&params, tape2.constant_from(&x), &mut seeded_rng(0, streams::DROPOUT));
    assert_eq!(y.value(), t.output.value());
    assert_ne!(trained.params, m.params, "training moved the running statistics ...");
    assert_eq!(model(&Init::HeNormal).params, m.params, "... the trace, on a copy, did not");
    // In evaluation mode the trace gives the model's logits.
    let params = m.params.leaves(&tape);
    let eval = m.forward_trace(tape.constant_from(&x), &mut Forward::eval(&params, &m.params));
    assert_eq!(eval.output.value(), m.logits(&x));
}

#[test]
fn grads_and_diagnostics_measure_every_layer_with_fits_gradients() {
    let m = model(&Init::HeNormal);
    let (x, y) = data();
    let p = pass(&m, &x, &y);
    assert_eq!(p.layers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), NAMES);
    // fit's first step computes the same loss and gradients, bit for bit.
    let mut first = None;
    let mut recorder = Recorder::new(x.clone(), 1, 1);
    let mut trained = m.clone();
    fit_with(&mut trained, &x, &y, FitOptions::epochs(1), &mut GradientDescent { lr: 0.1 }, |s| {
        first = Some((s.cost, s.params.iter().map(|&v| s.grads.wrt(v).clone()).collect::<Vec<_>>()));
        recorder.observe(s);
    })
    .unwrap();
    let (cost, grads) = first.unwrap();
    assert_eq!(cost, p.loss);
    for (pg, g) in p.params.iter().zip(&grads) {
        assert_eq!(&pg.grad, g, "{}", pg.name);
    }
    // Finite differences of the loss confirm the gradients of γ and of the module's scale.
    for name in ["batchnorm2.gamma", "gelu1.scale"] {
        let g = &p.params.iter().find(|q| q.name == name).unwrap().grad;
        for j in 0..8 {
            let loss_at = |delta: f64| {
                let mut moved = m.clone();
                moved.params.get_mut(name).unwrap().data_mut()[j] += delta;
                pass(&moved, &x, &y).loss
            };
            let h = 1e-6;
            let numeric = (loss_at(h) - loss_at(-h)) / (2.0 * h);
            assert!((numeric - g.data()[j]).abs() < 1e-7, "{name}[{j}]: {numeric} vs {}", g.data()[j]);
        }
    }
    // The diagnostics: one row per layer; weight-gradient norms from those gradients.
    let record = &recorder.records()[0];
    assert_eq!(record.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), NAMES);
    let tape = Tape::new();
    let (_, t) = trace(&m, &tape, &x);
    for (d, l) in record.layers.iter().zip(&t.layers) {
        let expected = (!l.weights.is_empty()).then(|| {
            let squares: f64 = l.weights.iter().map(|&i| p.params[i].grad.norm().powi(2)).sum();
            squares.sqrt()
        });
        match (d.grad_norm, expected) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-14 * b, "{}: {a} vs {b}", d.name),
            (a, b) => assert_eq!(a, b, "{}", d.name),
        }
        assert_eq!(d.activation_std, p.layers[d.layer].1.std(), "{}", d.name);
        assert_eq!(d.units, p.layers[d.layer].1.cols());
        assert_eq!(d.dead_fraction.is_some(), d.name == "residual3.dense0", "{}: only its output is a ReLU's", d.name);
        assert_eq!(d.distinct_units.is_some(), l.pre_activation.is_some(), "{}: dense layers only", d.name);
    }
    assert_eq!(record.layers[2].grad_norm, Some(p.params[3].grad.norm()), "batchnorm2: the norm of ∇γ");
}

#[test]
fn the_depth_signal_of_every_layer_matches_hand_computed_moments_and_gradients() {
    let m = model(&Init::HeNormal);
    let (x, _) = data();
    let (signals, anomaly) = layer_signals(&m, &x);
    assert_eq!(anomaly, None);
    assert_eq!(signals.len(), NAMES.len());
    let hand = by_hand(&m, &x);
    for (s, h) in signals.iter().zip(&hand) {
        let rms = (h.data().iter().map(|v| v * v).sum::<f64>() / h.len() as f64).sqrt();
        assert!((s.rms - rms).abs() < 1e-10 * rms, "{} vs {rms}", s.rms);
    }
    // The mean of 32 logits: ∂/∂logit = 1/32 each, a norm of 1/√32; the output weight's
    // gradient is the column means of the dropout's output.
    let last = signals.last().unwrap();
    assert!((last.grad_norm - 32f64.sqrt().recip()).abs() < 1e-15);
    let tape = Tape::new();
    let (_, t) = trace(&m, &tape, &x);
    let d = t.layers[6].output.value();
    let w_grad = (0..8).map(|c| column_mean_var(&d, c).0.powi(2)).sum::<f64>().sqrt();
    assert!((last.weight_grad_norm.unwrap() - w_grad).abs() < 1e-12 * w_grad);
    let with_weights: Vec<bool> = signals.iter().map(|s| s.weight_grad_norm.is_some()).collect();
    assert_eq!(with_weights, [true, true, true, true, true, false, false, true]);
}

#[test]
fn lsuv_brings_every_dense_layer_to_unit_variance_where_it_sits() {
    let mut m = model(&Init::Orthogonal(1.0));
    let (x, _) = data();
    let buffers: Vec<Tensor> = m.params.buffers().map(|(_, t)| t.clone()).collect();
    let report = lsuv(&mut m, &x).unwrap();
    let names: Vec<&str> = report.layers.iter().map(|l| l.weight.as_str()).collect();
    assert_eq!(names, ["dense0.weight", "residual3.dense0.weight", "residual3.dense1.weight", "dense5.weight"]);
    assert!(report.layers.iter().all(|l| l.converged && (l.variance - 1.0).abs() <= TOLERANCE), "{report:?}");
    assert!(report.layers.iter().any(|l| l.iterations > 0 && (l.initial_variance - 1.0).abs() > TOLERANCE));
    // By hand: the block's layers read the batch norm's output, normalized by the batch.
    let hand = by_hand(&m, &x);
    let z0 = affine(&hand[2], &m.params["residual3.dense0.weight"], &m.params["residual3.dense0.bias"]);
    assert!((z0.std().powi(2) - report.layers[1].variance).abs() < 1e-12);
    assert!((hand[4].std().powi(2) - report.layers[2].variance).abs() < 1e-12);
    assert!((hand[0].std().powi(2) - report.layers[0].variance).abs() < 1e-12);
    let after: Vec<Tensor> = m.params.buffers().map(|(_, t)| t.clone()).collect();
    assert_eq!(after, buffers, "the running statistics are left alone");
}
