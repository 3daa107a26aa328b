//! One SGD step of a 784 → 256 ReLU → 256 ReLU → 10 softmax cross-entropy network on a
//! batch of 256, through the tape: record the forward pass on a reset tape,
//! back-propagate, update. Each layer is `affine` (`x·W + b`, one op), then ReLU, as
//! `Dense` records it. Data and weights are synthetic and deterministic;
//! `benches/mlp_ref.py` does the same step from the same numbers in NumPy and in
//! PyTorch.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tapegrad::prelude::*;

const SIZES: [usize; 4] = [784, 256, 256, 10];
const BATCH: usize = 256;
const LR: f64 = 0.01;

/// Deterministic values in [-0.5, 0.5), different for each `seed`.
fn values(len: usize, seed: u64) -> impl Iterator<Item = f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len).map(move |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    })
}

fn bench(c: &mut Criterion) {
    let x = Tensor::from_vec(BATCH, SIZES[0], values(BATCH * SIZES[0], 1).collect());
    let classes = SIZES[3];
    let t = Tensor::from_vec(
        BATCH,
        classes,
        (0..BATCH * classes).map(|i| f64::from(i % classes == (i / classes) % 7)).collect(),
    );
    // Uniform weights with He's variance: 2 / fan_in = var of U(-a, a) = a²/3.
    let mut params: Vec<(Tensor, Tensor)> = SIZES
        .windows(2)
        .enumerate()
        .map(|(l, io)| {
            let scale = 2.0 * (6.0 / io[0] as f64).sqrt();
            let w = Tensor::from_vec(io[0], io[1], values(io[0] * io[1], 10 + l as u64).map(|v| v * scale).collect());
            (w, Tensor::zeros(1, io[1]))
        })
        .collect();
    let mut tape = Tape::new();
    c.bench_function("mlp_step 784-256-256-10 batch 256", |b| {
        b.iter(|| {
            tape.reset();
            let tape = &tape;
            let vars: Vec<(Var<'_>, Var<'_>)> =
                params.iter().map(|(w, b)| (tape.leaf_from(w), tape.leaf_from(b))).collect();
            let mut h = tape.constant_from(&x);
            for (l, &(w, b)) in vars.iter().enumerate() {
                h = h.affine(w, b);
                if l + 1 < vars.len() {
                    h = h.relu();
                }
            }
            let loss = h.softmax_cross_entropy(&t);
            let cost = loss.item();
            let grads = loss.backward();
            for ((w, b), &(vw, vb)) in params.iter_mut().zip(&vars) {
                w.data_mut().iter_mut().zip(grads.wrt(vw).data()).for_each(|(p, g)| *p -= LR * g);
                b.data_mut().iter_mut().zip(grads.wrt(vb).data()).for_each(|(p, g)| *p -= LR * g);
            }
            black_box(cost)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
