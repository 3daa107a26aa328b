//! The reference workload, shared by `benches/reference.rs` and the tests that check it:
//! the 2 → 12 ReLU → 6 ReLU → 1 network trained on the moons data from He initial
//! weights (`benches/data/`, the same numbers as the numpy reference), full-batch
//! gradient descent, loss `bce_with_logits` on the logits.
//!
//! Two trainers: [`tape_epoch`] records every epoch on one reused tape, and
//! [`fused_epoch`] is the hand-written backprop loop without a tape that the tape is
//! measured against.

// The hand-written trainer indexes several arrays by the same unit index, as the maths does.
#![allow(clippy::needless_range_loop)]

use std::fs;
use std::path::PathBuf;

use tapegrad::prelude::*;

/// Learning rate of the reference run.
pub const LR: f64 = 0.01;
/// Epochs of the reference run.
pub const EPOCHS: usize = 15_000;
/// Final cost of the numpy reference (He, unclipped loss), printed to 10 decimals.
pub const FINAL_COST: f64 = 0.0911195472;

/// The training set: `x` is `(400, 2)`, `y` is `(400, 1)` of 0/1 labels.
pub struct Moons {
    pub x: Tensor,
    pub y: Tensor,
}

/// Weights `(in, out)` and biases `(1, out)` of the three dense layers.
#[derive(Clone)]
pub struct Params {
    pub w: [Tensor; 3],
    pub b: [Tensor; 3],
}

fn data_file(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "benches", "data", name].iter().collect();
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The 400 training points of `benches/data/moons.csv` (`x1,x2,y,split`).
pub fn load_moons() -> Moons {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in data_file("moons.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[3] == "train" {
            x.extend([f[0].parse::<f64>().unwrap(), f[1].parse().unwrap()]);
            y.push(f[2].parse().unwrap());
        }
    }
    let n = y.len();
    Moons { x: Tensor::from_vec(n, 2, x), y: Tensor::from_vec(n, 1, y) }
}

/// The He initial weights of `benches/data/init_he.csv`, which stores `W` as
/// `(out, in)`: transposed here to `(in, out)`. Biases start at zero.
pub fn load_he() -> Params {
    let mut w = Vec::new();
    for line in data_file("init_he.csv").lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f[0].starts_with('W') {
            let (out, inp): (usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            let values: Vec<f64> = f[3..].iter().map(|v| v.parse().unwrap()).collect();
            w.push(Tensor::from_vec(out, inp, values).transpose());
        }
    }
    let w: [Tensor; 3] = w.try_into().expect("init_he.csv: expected W1, W2, W3");
    let b = w.each_ref().map(|w| Tensor::zeros(1, w.cols()));
    Params { w, b }
}

/// `p -= lr · g`, elementwise.
fn step(p: &mut Tensor, g: &Tensor, lr: f64) {
    p.data_mut().iter_mut().zip(g.data()).for_each(|(p, g)| *p -= lr * g);
}

/// One epoch through the tape: reset, record the forward pass, back-propagate, update.
/// Returns the cost before the update.
pub fn tape_epoch(tape: &mut Tape, data: &Moons, p: &mut Params, lr: f64) -> f64 {
    tape.reset();
    let tape = &*tape;
    let x = tape.constant_from(&data.x);
    let w = p.w.each_ref().map(|w| tape.leaf_from(w));
    let b = p.b.each_ref().map(|b| tape.leaf_from(b));
    let a1 = x.affine(w[0], b[0]).relu();
    let a2 = a1.affine(w[1], b[1]).relu();
    let z3 = a2.affine(w[2], b[2]);
    let loss = z3.bce_with_logits(&data.y);
    let cost = loss.item();
    let grads = loss.backward();
    for i in 0..3 {
        step(&mut p.w[i], grads.wrt(w[i]), lr);
        step(&mut p.b[i], grads.wrt(b[i]), lr);
    }
    cost
}

/// Trains `epochs` epochs through one reused tape; returns the last epoch's cost.
pub fn train_tape(data: &Moons, p: &mut Params, epochs: usize) -> f64 {
    let mut tape = Tape::new();
    (0..epochs).fold(f64::NAN, |_, _| tape_epoch(&mut tape, data, p, LR))
}

/// Layer widths of the reference network, fixed at compile time in the hand-written
/// trainer so that its per-sample loops are fully unrolled.
const IN: usize = 2;
const H1: usize = 12;
const H2: usize = 6;

/// Parameter gradients of the hand-written trainer, summed over samples.
pub struct Fused {
    dw1: [[f64; H1]; IN],
    db1: [f64; H1],
    dw2: [[f64; H2]; H1],
    db2: [f64; H2],
    dw3: [f64; H2],
    db3: f64,
}

impl Fused {
    pub fn new(p: &Params) -> Fused {
        let shapes = [p.w[0].shape(), p.w[1].shape(), p.w[2].shape()];
        assert_eq!(shapes, [(IN, H1), (H1, H2), (H2, 1)], "the hand-written trainer is for 2-12-6-1 only");
        Fused { dw1: [[0.0; H1]; IN], db1: [0.0; H1], dw2: [[0.0; H2]; H1], db2: [0.0; H2], dw3: [0.0; H2], db3: 0.0 }
    }
}

/// One epoch of hand-written backprop, no tape: each sample goes forward and backward
/// while its activations are in registers, and the parameter gradients are summed over
/// samples. Returns the cost before the update.
pub fn fused_epoch(f: &mut Fused, data: &Moons, p: &mut Params, lr: f64) -> f64 {
    let n = data.x.rows();
    let inv_n = 1.0 / n as f64;
    let w1: &[f64; IN * H1] = p.w[0].data().try_into().unwrap();
    let w2: &[f64; H1 * H2] = p.w[1].data().try_into().unwrap();
    let w3: &[f64; H2] = p.w[2].data().try_into().unwrap();
    let b1: &[f64; H1] = p.b[0].data().try_into().unwrap();
    let b2: &[f64; H2] = p.b[1].data().try_into().unwrap();
    let b3 = p.b[2].data()[0];
    *f = Fused::new(p);
    let mut cost = 0.0;
    for (x, &y) in data.x.data().chunks_exact(IN).zip(data.y.data()) {
        // forward
        let mut z1 = *b1;
        for i in 0..IN {
            (0..H1).for_each(|j| z1[j] += x[i] * w1[i * H1 + j]);
        }
        let a1 = z1.map(|z| z.max(0.0));
        let mut z2 = *b2;
        for j in 0..H1 {
            (0..H2).for_each(|k| z2[k] += a1[j] * w2[j * H2 + k]);
        }
        let a2 = z2.map(|z| z.max(0.0));
        let z3 = b3 + (0..H2).map(|k| a2[k] * w3[k]).sum::<f64>();
        cost += z3.max(0.0) - z3 * y + (-z3.abs()).exp().ln_1p();
        // backward: dz3 = (σ(z3) - y) / n, then through each layer
        let dz3 = (1.0 / (1.0 + (-z3).exp()) - y) * inv_n;
        f.db3 += dz3;
        let mut dz2 = [0.0; H2];
        for k in 0..H2 {
            f.dw3[k] += a2[k] * dz3;
            dz2[k] = if z2[k] > 0.0 { w3[k] * dz3 } else { 0.0 };
            f.db2[k] += dz2[k];
        }
        let mut dz1 = [0.0; H1];
        for j in 0..H1 {
            let mut da1 = 0.0;
            for k in 0..H2 {
                f.dw2[j][k] += a1[j] * dz2[k];
                da1 += w2[j * H2 + k] * dz2[k];
            }
            dz1[j] = if z1[j] > 0.0 { da1 } else { 0.0 };
            f.db1[j] += dz1[j];
        }
        for i in 0..IN {
            (0..H1).for_each(|j| f.dw1[i][j] += x[i] * dz1[j]);
        }
    }
    let sgd = |p: &mut Tensor, g: &[f64]| p.data_mut().iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
    sgd(&mut p.w[0], f.dw1.as_flattened());
    sgd(&mut p.b[0], &f.db1);
    sgd(&mut p.w[1], f.dw2.as_flattened());
    sgd(&mut p.b[1], &f.db2);
    sgd(&mut p.w[2], &f.dw3);
    sgd(&mut p.b[2], &[f.db3]);
    cost * inv_n
}

/// Trains `epochs` epochs by hand-written backprop; returns the last epoch's cost.
pub fn train_fused(data: &Moons, p: &mut Params, epochs: usize) -> f64 {
    let mut f = Fused::new(p);
    (0..epochs).fold(f64::NAN, |_, _| fused_epoch(&mut f, data, p, LR))
}
