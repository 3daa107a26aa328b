//! Per-op micro-benches on the shapes of the reference network (400 samples,
//! 2 → 12 → 6 → 1). Each op is recorded on a reset tape with its inputs as leaves
//! (`forward`), then also back-propagated (`forward+backward`, seeded with ones):
//! the difference is the backward rule. The data input of the first layer is a
//! constant, as in training, so its matmul computes only the weight gradient.
//!
//! The ops beyond the reference network (axis reductions, the softmax family, the
//! elementwise and structure ops, cross-entropy on labels) are timed forward+backward at
//! the reference network's shapes (400x12, 400x6, 400x1) and at 256x256, under
//! `new ops/<op>/<shape>`: `cargo bench --bench ops -- "new ops"`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tapegrad::prelude::*;

fn tensor(r: usize, c: usize) -> Tensor {
    Tensor::from_vec(r, c, (0..r * c).map(|i| ((i as f64) * 0.618_034).fract() - 0.5).collect())
}

/// Records `inputs` (leaves, or constants where the flag is false) and `op` on `tape`.
fn record<'t, F>(tape: &'t Tape, inputs: &[(Tensor, bool)], op: &F) -> Var<'t>
where
    F: for<'a> Fn(&[Var<'a>]) -> Var<'a>,
{
    let vars: Vec<Var<'t>> =
        inputs.iter().map(|(t, leaf)| if *leaf { tape.leaf_from(t) } else { tape.constant_from(t) }).collect();
    op(&vars)
}

/// Benches `op` forward, then forward and backward, under `name`.
fn bench_op<F>(c: &mut Criterion, name: &str, inputs: &[(Tensor, bool)], op: F)
where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let mut group = c.benchmark_group(name);
    let mut tape = Tape::new();
    group.bench_function("forward", |b| {
        b.iter(|| {
            tape.reset();
            black_box(record(&tape, inputs, &op).index())
        })
    });
    group.bench_function("forward+backward", |b| {
        b.iter(|| {
            tape.reset();
            let y = record(&tape, inputs, &op);
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

/// One new op, forward+backward, at every shape in `shapes`; `op` gets the leaves of
/// `inputs(shape)`.
fn bench_new<F>(
    c: &mut Criterion,
    name: &str,
    shapes: &[(usize, usize)],
    inputs: fn((usize, usize)) -> Vec<Tensor>,
    op: F,
) where
    F: for<'t> Fn(&[Var<'t>]) -> Var<'t>,
{
    let mut group = c.benchmark_group(format!("new ops/{name}"));
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    let mut tape = Tape::new();
    for &(r, cols) in shapes {
        let leaves = inputs((r, cols));
        group.bench_function(format!("{r}x{cols}"), |b| {
            b.iter(|| {
                tape.reset();
                let vars: Vec<Var<'_>> = leaves.iter().map(|t| tape.leaf_from(t)).collect();
                let y = op(&vars);
                black_box(y.backward().wrt(vars[0]).len())
            })
        });
    }
    group.finish();
}

fn bench_new_ops(c: &mut Criterion) {
    let shapes = [(400, 12), (400, 6), (400, 1), (256, 256)];
    let one: fn((usize, usize)) -> Vec<Tensor> = |(r, c)| vec![tensor(r, c)];
    let positive: fn((usize, usize)) -> Vec<Tensor> = |(r, c)| vec![tensor(r, c).map(|v| v + 1.0)];
    // The second operand a row, broadcast over the rows as a bias is.
    let with_row: fn((usize, usize)) -> Vec<Tensor> = |(r, c)| vec![tensor(r, c), tensor(1, c).map(|v| -v)];
    bench_new(c, "sum_axis(0)", &shapes, one, |v| v[0].sum_axis(0));
    bench_new(c, "sum_axis(1)", &shapes, one, |v| v[0].sum_axis(1));
    bench_new(c, "mean_axis(1)", &shapes, one, |v| v[0].mean_axis(1));
    bench_new(c, "max_axis(1)", &shapes, one, |v| v[0].max_axis(1));
    bench_new(c, "var_axis(0)", &shapes, one, |v| v[0].var_axis(0));
    bench_new(c, "var_axis(1)", &shapes, one, |v| v[0].var_axis(1));
    bench_new(c, "softmax(1)", &shapes, one, |v| v[0].softmax(1));
    bench_new(c, "log_softmax(1)", &shapes, one, |v| v[0].log_softmax(1));
    bench_new(c, "logsumexp(1)", &shapes, one, |v| v[0].logsumexp(1));
    bench_new(c, "cross_entropy", &shapes, one, |v| {
        let (r, c) = v[0].shape();
        let labels: Vec<usize> = (0..r).map(|i| (i * 7) % c).collect();
        v[0].cross_entropy(&labels)
    });
    bench_new(c, "abs", &shapes, one, |v| v[0].abs());
    bench_new(c, "sqrt", &shapes, positive, |v| v[0].sqrt());
    bench_new(c, "square", &shapes, one, |v| v[0].square());
    bench_new(c, "clamp", &shapes, one, |v| v[0].clamp(-0.25, 0.25));
    bench_new(c, "maximum with a row", &shapes, with_row, |v| v[0].maximum(v[1]));
    bench_new(c, "minimum with a row", &shapes, with_row, |v| v[0].minimum(v[1]));
    bench_new(c, "slice_rows(half)", &shapes, one, |v| v[0].slice_rows(0..v[0].shape().0 / 2));
    bench_new(c, "slice_cols(half)", &shapes, one, |v| v[0].slice_cols(0..v[0].shape().1.div_ceil(2)));
    bench_new(c, "concat(x, x; 0)", &shapes, one, |v| Var::concat(&[v[0], v[0]], 0));
    bench_new(c, "concat(x, x; 1)", &shapes, one, |v| Var::concat(&[v[0], v[0]], 1));
    bench_new(c, "gather_rows(all, reversed)", &shapes, one, |v| {
        let r = v[0].shape().0;
        let rows: Vec<usize> = (0..r).rev().collect();
        v[0].gather_rows(&rows)
    });
    bench_new(c, "reshape(cols, rows)", &shapes, one, |v| {
        let (r, c) = v[0].shape();
        v[0].reshape(c, r)
    });
}

criterion_group!(benches, bench);
criterion_group!(new_ops, bench_new_ops);
criterion_main!(benches, new_ops);
