//! The speed of the mean-field theory: `theory --critical` (the σ_w² where χ_1 = 1 for
//! tanh at σ_b² = 0.05, with the command's 150 Gauss–Hermite nodes) and the 50 × 50
//! `phase` grid of tanh (σ_w² 1..4, σ_b² 0..0.3, 64 nodes, with its critical line), each
//! targeted at under 100 ms.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tapegrad::nn::Activation;
use tapegrad::study::quadrature::MAX_NODES;
use tapegrad::study::theory::{DEFAULT_NODES, MeanField, critical_line, phase_grid};

fn theory(c: &mut Criterion) {
    let critical = MeanField::with_nodes(Activation::Tanh, 1.0, 0.05, MAX_NODES);
    c.bench_function("theory --critical (tanh, sb2 0.05)", |b| {
        b.iter(|| {
            let sw2 = black_box(&critical).critical_sw2().unwrap();
            critical.at(sw2, 0.05).fixed_point()
        })
    });
    let base = MeanField::with_nodes(Activation::Tanh, 1.0, 0.0, DEFAULT_NODES);
    let sw2s: Vec<f64> = (0..50).map(|i| 1.0 + 3.0 * i as f64 / 49.0).collect();
    let sb2s: Vec<f64> = (0..50).map(|i| 0.3 * i as f64 / 49.0).collect();
    let mut group = c.benchmark_group("phase 50x50 (tanh)");
    group.sample_size(20);
    group.bench_function("grid", |b| b.iter(|| phase_grid(black_box(&base), &sw2s, &sb2s)));
    group.bench_function("grid + critical line", |b| {
        b.iter(|| {
            let grid = phase_grid(black_box(&base), &sw2s, &sb2s);
            (grid, critical_line(&base, &sb2s))
        })
    });
    group.finish();
}

criterion_group!(benches, theory);
criterion_main!(benches);
