//! Per-op micro-benches on the shapes of the reference network (400 samples,
//! 2 → 12 → 6 → 1). Each op is recorded on a reset tape with its inputs as leaves
//! (`forward`), then also back-propagated (`forward+backward`, seeded with ones):
//! the difference is the backward rule. The data input of the first layer is a
//! constant, as in training, so its matmul computes only the weight gradient.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tapegrad::prelude::*;

fn tensor(r: usize, c: usize) -> Tensor {
    Tensor::from_vec(r, c, (0..r * c).map(|i| ((i as f64) * 0.618_034).fract() - 0.5).collect())
}

/// Records `inputs` (leaves, or constants where the flag is false) and `op` on `tape`.
fn record<'t>(tape: &'t Tape, inputs: &[(Tensor, bool)], op: for<'a> fn(&[Var<'a>]) -> Var<'a>) -> Var<'t> {
    let vars: Vec<Var<'t>> =
        inputs.iter().map(|(t, leaf)| if *leaf { tape.leaf_from(t) } else { tape.constant_from(t) }).collect();
    op(&vars)
}

/// Benches `op` forward, then forward and backward, under `name`.
fn bench_op(c: &mut Criterion, name: &str, inputs: &[(Tensor, bool)], op: for<'t> fn(&[Var<'t>]) -> Var<'t>) {
    let mut group = c.benchmark_group(name);
    let mut tape = Tape::new();
    group.bench_function("forward", |b| {
        b.iter(|| {
            tape.reset();
            black_box(record(&tape, inputs, op).index())
        })
    });
    group.bench_function("forward+backward", |b| {
        b.iter(|| {
            tape.reset();
            let y = record(&tape, inputs, op);
            black_box(y.backward().wrt(y).len())
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let n = 400;
    // x·W1 (x constant), a1·W2, a2·W3: forward shapes; backward computes G·Wᵀ and aᵀ·G.
    bench_op(c, "matmul 400x2·2x12", &[(tensor(n, 2), false), (tensor(2, 12), true)], |v| v[0].matmul(v[1]));
    bench_op(c, "matmul 400x12·12x6", &[(tensor(n, 12), true), (tensor(12, 6), true)], |v| v[0].matmul(v[1]));
    bench_op(c, "matmul 400x6·6x1", &[(tensor(n, 6), true), (tensor(6, 1), true)], |v| v[0].matmul(v[1]));
    bench_op(c, "add 400x12 + 1x12", &[(tensor(n, 12), true), (tensor(1, 12), true)], |v| v[0] + v[1]);
    bench_op(c, "add 400x1 + 1x1", &[(tensor(n, 1), true), (tensor(1, 1), true)], |v| v[0] + v[1]);
    bench_op(c, "relu 400x12", &[(tensor(n, 12), true)], |v| v[0].relu());
    bench_op(c, "sigmoid 400x1", &[(tensor(n, 1), true)], |v| v[0].sigmoid());
    let targets = Tensor::from_vec(n, 1, (0..n).map(|i| (i % 2) as f64).collect());
    let mut group = c.benchmark_group("bce_with_logits 400x1");
    let mut tape = Tape::new();
    let z = tensor(n, 1);
    group.bench_function("forward+backward", |b| {
        b.iter(|| {
            tape.reset();
            let z = tape.leaf_from(&z);
            black_box(z.bce_with_logits(&targets).backward().wrt(z).len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
