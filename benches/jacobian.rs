//! The Jacobian of a deep network at one input, by four strategies side by side: the
//! 256 x 256 Jacobian of a 50-layer, 256-wide tanh network (weights N(0, σ_w²/256) with
//! σ_w² = 1, biases 0, drawn from `seeded_rng(SEED, 0)`) at one 1 x 256 input.
//!
//! - `per-row backward_with`: the forward pass recorded once, then one `backward_with`
//!   per output element (256 reverse walks of matrix-vector products);
//! - `batched copies`: the input repeated as 256 rows, one forward pass and one
//!   `backward_with` of the identity (matrix products, but the forward pass is done 256
//!   times over);
//! - `tapegrad::jacobian`: the forward pass once, then one reverse walk carrying all 256
//!   seeds (JAX's `jacrev`), in one band of seeds per core;
//! - `tapegrad::Jacobian::at`: the same walk, with the network recorded once before
//!   timing and each call replaying it at the input (JAX's `jit(jacrev)` traces once the
//!   same way), so the weights are not copied onto the tape at every call.
//!
//! Before timing, the four are checked to agree to 1e-10 (the last two exactly).
//! `benches/jax_jacobian.py` is the same network under `jax.jit(jax.jacrev(f))`.
//!
//! Run: `cargo bench --bench jacobian`; medians in
//! `target/criterion/jacobian 50x256 tanh/*/new/estimates.json`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tapegrad::Jacobian;
use tapegrad::prelude::*;

const DEPTH: usize = 50;
const WIDTH: usize = 256;
/// The weights' variance times the fan-in.
const SIGMA_W2: f64 = 1.0;
const SEED: u64 = 15;

struct Net {
    weights: Vec<Tensor>,
    bias: Tensor,
}

impl Net {
    fn new() -> Net {
        let mut rng = seeded_rng(SEED, 0);
        let std = (SIGMA_W2 / WIDTH as f64).sqrt();
        let weights = (0..DEPTH).map(|_| Init::Normal(std).init(ParamShape::weight(WIDTH, WIDTH), &mut rng)).collect();
        Net { weights, bias: Tensor::zeros(1, WIDTH) }
    }

    /// `tanh(... tanh(x·W₁ + b) ...)`, applied to each row of `x`.
    fn apply<'t>(&self, x: Var<'t>) -> Var<'t> {
        let tape = x.tape();
        let b = tape.constant_from(&self.bias);
        self.weights.iter().fold(x, |h, w| h.affine(tape.constant_from(w), b).tanh())
    }
}

fn input() -> Tensor {
    Tensor::from_vec(1, WIDTH, (0..WIDTH).map(|i| ((i as f64 + 1.0) * 0.618_034).fract() * 2.0 - 1.0).collect())
}

/// (a) One reverse walk per output element over one recorded forward pass.
fn per_row(net: &Net, x: &Tensor, tape: &mut Tape) -> Tensor {
    tape.reset();
    let xv = tape.leaf_from(x);
    let y = net.apply(xv);
    let mut jac = Tensor::zeros(WIDTH, WIDTH);
    let mut seed = Tensor::zeros(1, WIDTH);
    for i in 0..WIDTH {
        seed.data_mut().fill(0.0);
        seed.data_mut()[i] = 1.0;
        let grads = y.backward_with(&seed);
        jac.data_mut()[i * WIDTH..(i + 1) * WIDTH].copy_from_slice(grads.wrt(xv).data());
    }
    jac
}

/// (b) The input repeated as rows, one forward pass, one reverse walk seeded with the
/// identity: row `i` of the input's gradient is row `i` of the Jacobian.
fn batched(net: &Net, x: &Tensor, eye: &Tensor, tape: &mut Tape) -> Tensor {
    tape.reset();
    let copies = Tensor::from_vec(WIDTH, WIDTH, x.data().repeat(WIDTH));
    let xv = tape.leaf(copies);
    let y = net.apply(xv);
    y.backward_with(eye).wrt(xv).clone()
}

fn bench(c: &mut Criterion) {
    let net = Net::new();
    let x = input();
    let eye =
        Tensor::from_vec(WIDTH, WIDTH, (0..WIDTH * WIDTH).map(|i| (i / WIDTH == i % WIDTH) as u8 as f64).collect());
    let mut tape = Tape::new();

    let a = per_row(&net, &x, &mut tape);
    let b = batched(&net, &x, &eye, &mut tape);
    let j = tapegrad::jacobian(|v| net.apply(v), &x);
    let recorded = Jacobian::new(|v| net.apply(v), &Tensor::zeros(1, WIDTH));
    assert_eq!(recorded.at(&x), j, "Jacobian::at differs from jacobian");
    for (name, other) in [("batched copies", &b), ("tapegrad::jacobian", &j)] {
        let worst = a.data().iter().zip(other.data()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-10, "{name} differs from per-row backward_with by {worst:e}");
    }
    println!("Jacobian 256x256: the four strategies agree to 1e-10; norm {:.6}", a.norm());

    let mut group = c.benchmark_group("jacobian 50x256 tanh");
    group.sample_size(10).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(15));
    group.bench_function("per-row backward_with", |bch| bch.iter(|| black_box(per_row(&net, &x, &mut tape))));
    group.bench_function("batched copies", |bch| bch.iter(|| black_box(batched(&net, &x, &eye, &mut tape))));
    group.bench_function("tapegrad::jacobian", |bch| bch.iter(|| black_box(tapegrad::jacobian(|v| net.apply(v), &x))));
    group.bench_function("tapegrad::Jacobian::at", |bch| bch.iter(|| black_box(recorded.at(&x))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
