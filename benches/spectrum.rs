//! The work of `tapegrad jacobian --activation tanh --init orthogonal --layers 50
//! --width 256 --seeds 1`, split in its parts: the input-output Jacobian of the 50-layer,
//! 256-wide tanh network at one input (one reverse walk carrying all 256 seeds), the
//! SVD of that 256 × 256 Jacobian (nalgebra), and the whole spectrum (network built,
//! Jacobian, SVD). Criterion reports the median among its estimates.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tapegrad::init::Init;
use tapegrad::nn::Activation;
use tapegrad::study::spectrum::{SpectrumConfig, network_jacobian, singular_values, spectrum};

fn bench(c: &mut Criterion) {
    let config = SpectrumConfig { layers: 50, width: 256, activation: Activation::Tanh };
    let init = Init::Orthogonal(1.0);
    let mut group = c.benchmark_group("spectrum L=50 N=256 tanh");
    group.sample_size(10);
    group.bench_function("jacobian", |b| b.iter(|| black_box(network_jacobian(init, &config, 0))));
    let j = network_jacobian(init, &config, 0);
    group.bench_function("svd", |b| b.iter(|| black_box(singular_values(&j))));
    group.bench_function("spectrum (network, jacobian, svd)", |b| b.iter(|| black_box(spectrum(init, &config, 0))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
