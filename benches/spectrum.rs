//! The work of `tapegrad jacobian --activation tanh --init orthogonal --layers 50
//! --width 256 --seeds 1`, split in its parts: the input-output Jacobian of the 50-layer,
//! 256-wide tanh network at one input (one reverse walk carrying all 256 seeds), the
//! SVD of that 256 × 256 Jacobian (nalgebra), drawing the network's 50 orthogonal
//! weights, and the whole spectrum (network drawn, Jacobian, SVD). Criterion's middle
//! estimate is the figure to read.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tapegrad::Tensor;
use tapegrad::init::Init;
use tapegrad::init::{seeded_rng, streams};
use tapegrad::nn::Activation;
use tapegrad::study::spectrum::{SpectrumConfig, network, network_jacobian, singular_values, spectrum};

fn bench(c: &mut Criterion) {
    let config = SpectrumConfig { layers: 50, width: 256, activation: Activation::Tanh };
    let init = Init::Orthogonal(1.0);
    let mut group = c.benchmark_group("spectrum L=50 N=256 tanh");
    group.sample_size(10);
    let model = network(init, &config, 0);
    let x = Tensor::randn(1, config.width, &mut seeded_rng(0, streams::DATA));
    group.bench_function("jacobian", |b| b.iter(|| black_box(tapegrad::jacobian(|v| model.forward(v.tape(), v), &x))));
    group.bench_function("network (orthogonal weights drawn)", |b| b.iter(|| black_box(network(init, &config, 0))));
    let j = network_jacobian(init, &config, 0);
    group.bench_function("svd", |b| b.iter(|| black_box(singular_values(&j))));
    group.bench_function("spectrum (network, jacobian, svd)", |b| b.iter(|| black_box(spectrum(init, &config, 0))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
